//! The typed syntax tree of a rule file, exactly as written (names not yet resolved).
//!
//! Every node carries a [`Span`]. Identifiers are already normalised by Oracle's rules
//! (unquoted → upper case, quoted → exact), so later stages compare names with `==`.
//! The catalog (`crate::catalog`) resolves names and builds the per-chain graphs.

use super::duration::Millis;
use super::span::Span;
use serde::{Deserialize, Serialize};

/// A name: unquoted identifiers are upper-cased; `"quoted"` ones are kept exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ident {
    /// The normalised name (`load_sales` → `LOAD_SALES`, `"step1"` → `step1`).
    pub name: String,
    pub quoted: bool,
    pub span: Span,
}

/// A whole file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct File {
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Item {
    Program(ProgramDecl),
    Chain(ChainDecl),
    Job(JobDecl),
    Group(GroupDecl),
}

// ---------------------------------------------------------------- programs

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProgramDecl {
    pub name: Ident,
    pub kind: ProgramKind,
    /// `arguments 'a' 'b';` — may contain `${PARAM}` references.
    pub arguments: Vec<StringLit>,
    /// `environment K = 'v', ...;` — the keys keep their written case (environment variables
    /// are case-sensitive), stored without quotes.
    pub environment: Vec<(String, StringLit)>,
    pub working_directory: Option<StringLit>,
    pub timeout: Option<DurationLit>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ProgramKind {
    /// Run directly, no shell.
    Executable(StringLit),
    /// Run by `/bin/sh -c`.
    Shell(StringLit),
    /// An in-process handler registered by the embedding service.
    Handler(StringLit),
    Builtin(Builtin),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Builtin {
    Noop,
    Sleep(DurationLit),
    Fail(i64),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StringLit {
    /// The value with SQL quoting undone (`'it''s'` → `it's`).
    pub value: String,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DurationLit {
    pub millis: Millis,
    pub span: Span,
}

// ---------------------------------------------------------------- chains

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChainDecl {
    pub name: Ident,
    pub comment: Option<StringLit>,
    pub evaluation_interval: Option<DurationLit>,
    pub steps: Vec<StepDecl>,
    /// In file order; that order decides which END wins.
    pub rules: Vec<RuleDecl>,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepDecl {
    pub name: Ident,
    pub kind: StepKind,
    pub attrs: StepAttrs,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum StepKind {
    Program(Ident),
    Chain(Ident),
    Event {
        event: Ident,
        /// `where ...`: a condition on the event's JSON payload.
        condition: Option<PayloadCond>,
        /// The condition's source text, for views.
        condition_text: Option<String>,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepAttrs {
    pub skip: bool,
    pub pause: bool,
    pub pause_before: bool,
    pub restart_on_recovery: bool,
    /// `restart_on_failure` (Oracle policy: `RetryPolicyLit::default()` fields all None)
    /// or `restart_on_failure(retries 3, delay 30s, backoff 2)`.
    pub restart_on_failure: Option<RetryPolicyLit>,
    /// `timeout DURATION`: an event step that waits longer, or a program step that runs
    /// longer, ends FAILED (error code 124).
    #[serde(default)]
    pub timeout: Option<crate::lang::duration::Millis>,
    /// Span of each attribute written, for diagnostics (attribute name, span).
    pub spans: Vec<(String, Span)>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicyLit {
    pub retries: Option<i64>,
    pub delay: Option<DurationLit>,
    /// Multiplier applied to the delay after each retry (written as a number, may be decimal).
    pub backoff: Option<f64>,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleDecl {
    /// `None` for an unnamed rule; the catalog names it `RULE$N` (N = position from 1).
    pub name: Option<Ident>,
    pub condition: Cond,
    pub action: Action,
    pub comment: Option<StringLit>,
    /// Source text of the condition and the action, whitespace-collapsed, for views/graphs.
    pub condition_text: String,
    pub action_text: String,
    pub span: Span,
}

// ---------------------------------------------------------------- conditions

/// A rule condition. Both Oracle syntaxes (chain syntax and SQL `:step.attr`) may be mixed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Cond {
    /// `TRUE`, `FALSE`.
    Const(bool, Span),
    /// `A [NOT] SUCCEEDED|FAILED|STOPPED|COMPLETED`.
    StepState {
        step: Ident,
        negated: bool,
        test: StateTest,
        span: Span,
    },
    /// `A ERROR_CODE [NOT] IN (1, 2)`.
    ErrorCodeIn {
        step: Ident,
        negated: bool,
        codes: Vec<i64>,
        span: Span,
    },
    /// `A ERROR_CODE op n`.
    ErrorCodeCmp {
        step: Ident,
        op: CmpOp,
        value: i64,
        span: Span,
    },
    /// A SQL-syntax predicate.
    Sql(SqlPred),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    /// `NOT ( cond )` — the parenthesis is required.
    Not(Box<Cond>, Span),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StateTest {
    Succeeded,
    Failed,
    Stopped,
    Completed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CmpOp {
    Eq,
    /// `!=` and `<>`.
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// SQL-syntax predicates: `:A.state = 'SUCCEEDED'`, `:A.error_code IN (1, 3)`,
/// `:A.error_code IS NULL`, `:A.end_date > SYSTIMESTAMP - INTERVAL '1' HOUR`, `1=1`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SqlPred {
    Compare {
        left: SqlOperand,
        op: CmpOp,
        right: SqlOperand,
        span: Span,
    },
    In {
        left: SqlOperand,
        negated: bool,
        list: Vec<SqlOperand>,
        span: Span,
    },
    IsNull {
        operand: SqlOperand,
        negated: bool,
        span: Span,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SqlOperand {
    /// `:step.attribute`
    Attr {
        step: Ident,
        attr: SqlAttr,
        span: Span,
    },
    Str(StringLit),
    Num(i64, Span),
    /// `INTERVAL 'n' unit`
    Interval(Millis, Span),
    /// `SYSTIMESTAMP` / `SYSDATE`, optionally `± INTERVAL ...` (signed offset in ms).
    Now {
        offset_millis: i64,
        span: Span,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SqlAttr {
    State,
    Completed,
    ErrorCode,
    StartDate,
    EndDate,
    Duration,
}

// ---------------------------------------------------------------- actions

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Action {
    /// `[AFTER HH:MM:SS] START a, b`
    Start {
        after: Option<DurationLit>,
        steps: Vec<Ident>,
        span: Span,
    },
    /// `STOP a, b`
    Stop { steps: Vec<Ident>, span: Span },
    /// `END`, `END n`, `END step.ERROR_CODE`
    End { value: EndValue, span: Span },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EndValue {
    /// `END` (same as `END 0`).
    Default,
    Code(i64),
    StepErrorCode(Ident),
}

// ---------------------------------------------------------------- event payload conditions

/// `where file = 'sales.csv' AND size > 0` — field names are exact (not upper-cased).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PayloadCond {
    Compare {
        field: String,
        op: CmpOp,
        value: Literal,
        span: Span,
    },
    In {
        field: String,
        negated: bool,
        values: Vec<Literal>,
        span: Span,
    },
    IsNull {
        field: String,
        negated: bool,
        span: Span,
    },
    And(Box<PayloadCond>, Box<PayloadCond>),
    Or(Box<PayloadCond>, Box<PayloadCond>),
    Not(Box<PayloadCond>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Literal {
    Str(String),
    Num(f64),
}

// ---------------------------------------------------------------- jobs and groups

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobDecl {
    pub name: Ident,
    pub chain: Option<Ident>,
    /// Dotted group path, each part an identifier (`FINANCE.LOANS`).
    pub group: Option<Vec<Ident>>,
    pub schedule: Option<StringLit>,
    /// Parameter names are case-insensitive: stored upper-cased.
    pub parameters: Vec<(Ident, StringLit)>,
    pub serialize_by: Option<Ident>,
    pub restartable: bool,
    pub max_run_duration: Option<DurationLit>,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupDecl {
    /// Dotted path (`FINANCE.LOANS`): a child counts against its parents too.
    pub path: Vec<Ident>,
    pub max_running: Option<i64>,
    pub span: Span,
}
