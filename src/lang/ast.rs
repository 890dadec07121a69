//! The typed syntax tree of a rule file, exactly as written (names not yet resolved).
//!
//! Every node carries a [`Span`]. Identifiers are already normalised by Oracle's rules
//! (unquoted → upper case, quoted → exact), so later stages compare names with `==`.
//! The catalog (`crate::catalog`) resolves names and builds the per-chain graphs.

use super::duration::Millis;
use super::span::Span;
pub use super::sql::{BinOp, Clock, DtField, Func, TrimSide};
use rust_decimal::Decimal;
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

// A file holds a few declarations, built once: the size of the largest (a job with every
// attribute) does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Item {
    Program(ProgramDecl),
    Chain(ChainDecl),
    Job(JobDecl),
    Group(GroupDecl),
    Notify(NotifyDecl),
    Schedule(ScheduleDecl),
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
    /// `sets NAME, ...;` — the job variables the program may set with `::set NAME=VALUE`
    /// (upper-cased). Only `check` reads it: a step may set any variable at run time.
    #[serde(default)]
    pub sets: Vec<Ident>,
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
    /// `serialize by PARAM [on conflict wait|error];`: every run of the chain (ad-hoc runs
    /// included) is serialized on that parameter's value.
    pub serialize_by: Option<SerializeBy>,
    pub span: Span,
}

/// `serialize by PARAM [on conflict wait|error]` (jobs and chains).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SerializeBy {
    /// Upper-cased parameter name.
    pub param: Ident,
    /// `on conflict error`: a second run with a busy key is refused instead of waiting.
    pub refuse: bool,
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
    /// The whole condition, parentheses included.
    #[serde(default)]
    pub condition_span: Span,
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
/// `:A.error_code IS NULL`, `:A.end_date > SYSTIMESTAMP - INTERVAL '1' HOUR`, `1=1`,
/// `:A.state LIKE 'SUCC%'`, `NVL(:A.error_code, 0) BETWEEN 1 AND 99`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SqlPred {
    Compare {
        left: SqlExpr,
        op: CmpOp,
        right: SqlExpr,
        span: Span,
    },
    In {
        left: SqlExpr,
        negated: bool,
        list: Vec<SqlExpr>,
        span: Span,
    },
    IsNull {
        operand: SqlExpr,
        negated: bool,
        span: Span,
    },
    /// `value [NOT] LIKE pattern [ESCAPE 'c']` (values boxed: conditions nest deep, and every
    /// clone and drop pays for the largest variant).
    Like {
        value: Box<SqlExpr>,
        negated: bool,
        pattern: Box<SqlExpr>,
        escape: Option<Box<SqlExpr>>,
        span: Span,
    },
    /// `value [NOT] BETWEEN low AND high`
    Between {
        value: Box<SqlExpr>,
        negated: bool,
        low: Box<SqlExpr>,
        high: Box<SqlExpr>,
        span: Span,
    },
}

/// A value of a SQL-syntax condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SqlExpr {
    /// `:step.attribute`
    Attr {
        step: Ident,
        attr: SqlAttr,
        span: Span,
    },
    /// A job variable: `VAR(NAME)` (chain syntax) or `:VAR.NAME` (SQL syntax). The name is
    /// upper-cased (variable names are case-insensitive, like parameters).
    Var {
        name: String,
        span: Span,
    },
    /// A non-empty string (`''` is [`SqlExpr::Null`], as in Oracle).
    Str(StringLit),
    /// An integer literal.
    Num(i64, Span),
    /// A number literal that is not an integer (`1.5`, `2e3` too large for `Num`).
    Dec(Decimal, Span),
    Null(Span),
    /// `INTERVAL '…' unit [TO unit]`, in milliseconds.
    Interval(Millis, Span),
    /// `DATE 'YYYY-MM-DD'` or `TIMESTAMP 'YYYY-MM-DD HH24:MI:SS[.FF]'` (ms since the epoch).
    DateLit {
        ms: i64,
        timestamp: bool,
        span: Span,
    },
    /// `SYSDATE`, `SYSTIMESTAMP`, `CURRENT_DATE`, `CURRENT_TIMESTAMP`, `LOCALTIMESTAMP`.
    Clock(Clock, Span),
    /// Unary minus.
    Neg(Box<SqlExpr>, Span),
    Binary {
        op: BinOp,
        left: Box<SqlExpr>,
        right: Box<SqlExpr>,
        span: Span,
    },
    /// A function call (argument count checked by the parser).
    Call {
        func: Func,
        args: Vec<SqlExpr>,
        span: Span,
    },
    /// `CASE [subject] WHEN … THEN … [ELSE …] END`
    Case {
        subject: Option<Box<SqlExpr>>,
        arms: Vec<CaseArm>,
        otherwise: Option<Box<SqlExpr>>,
        span: Span,
    },
}

impl SqlExpr {
    pub fn span(&self) -> Span {
        match self {
            SqlExpr::Attr { span, .. }
            | SqlExpr::Var { span, .. }
            | SqlExpr::Num(_, span)
            | SqlExpr::Dec(_, span)
            | SqlExpr::Null(span)
            | SqlExpr::Interval(_, span)
            | SqlExpr::DateLit { span, .. }
            | SqlExpr::Clock(_, span)
            | SqlExpr::Neg(_, span)
            | SqlExpr::Binary { span, .. }
            | SqlExpr::Call { span, .. }
            | SqlExpr::Case { span, .. } => *span,
            SqlExpr::Str(s) => s.span,
        }
    }
}

/// One `WHEN … THEN …` of a CASE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseArm {
    pub when: CaseWhen,
    pub then: SqlExpr,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CaseWhen {
    /// Searched CASE: `WHEN condition`.
    Cond(Box<Cond>),
    /// Simple CASE: `WHEN value` (compared with the subject).
    Value(SqlExpr),
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
    /// `on conflict error` after `serialize by`.
    pub serialize_refuse: bool,
    pub restartable: bool,
    pub max_run_duration: Option<DurationLit>,
    /// `start_date '2026-03-01 09:00'`: local time in the job's time zone.
    #[serde(default)]
    pub start_date: Option<StringLit>,
    #[serde(default)]
    pub end_date: Option<StringLit>,
    /// `time_zone 'Europe/Paris'`.
    #[serde(default)]
    pub time_zone: Option<StringLit>,
    /// `enabled false`: the scheduler and events do not start it.
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub max_runs: Option<i64>,
    #[serde(default)]
    pub max_failures: Option<i64>,
    #[serde(default)]
    pub comment: Option<StringLit>,
    /// `on event NAME [where ...]`: an event-based job.
    #[serde(default)]
    pub on_event: Option<JobEvent>,
    pub span: Span,
}

/// `on event NAME [where PAYLOAD-CONDITION]` of a job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobEvent {
    pub name: Ident,
    pub condition: Option<PayloadCond>,
}

/// `schedule NAME 'calendar string';`: a named schedule (Oracle's CREATE_SCHEDULE).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScheduleDecl {
    pub name: Ident,
    pub text: StringLit,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupDecl {
    /// Dotted path (`FINANCE.LOANS`): a child counts against its parents too.
    pub path: Vec<Ident>,
    pub max_running: Option<i64>,
    pub span: Span,
}

/// `notify NAME { on …; for chain …|for job …; webhook '…'; command '…' …; retries n; delay d; }`
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NotifyDecl {
    pub name: Ident,
    pub on: Vec<(NotifyOn, Span)>,
    /// `for chain A, B;`
    pub chains: Vec<Ident>,
    /// `for job J;` (job definitions)
    pub jobs: Vec<Ident>,
    pub webhook: Option<StringLit>,
    /// Program and its arguments.
    pub command: Option<Vec<StringLit>>,
    pub retries: Option<i64>,
    pub delay: Option<DurationLit>,
    pub span: Span,
}

/// What a notification is sent on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NotifyOn {
    Succeeded,
    Failed,
    Stopped,
    ChainStalled,
    /// `ENQUEUED LONGER THAN d` (ms).
    EnqueuedLongerThan(u64),
    /// The job runs longer than its `max_run_duration`.
    MaxRunDuration,
    /// `STEP FAILED`: a step of the job ends FAILED.
    StepFailed,
}

impl NotifyOn {
    /// As written in a `notify … on` list (`ENQUEUED LONGER THAN 10m`).
    pub fn text(self) -> String {
        match self {
            NotifyOn::Succeeded => "SUCCEEDED".into(),
            NotifyOn::Failed => "FAILED".into(),
            NotifyOn::Stopped => "STOPPED".into(),
            NotifyOn::ChainStalled => "CHAIN_STALLED".into(),
            NotifyOn::EnqueuedLongerThan(d) => format!(
                "ENQUEUED LONGER THAN {}",
                crate::lang::duration::format_duration(d)
            ),
            NotifyOn::MaxRunDuration => "MAX_RUN_DURATION".into(),
            NotifyOn::StepFailed => "STEP FAILED".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    /// Conditions nest up to 1000 predicates deep: the SQL forms must not make every level
    /// larger than the comparison already is.
    #[test]
    fn conditions_stay_small() {
        assert!(std::mem::size_of::<super::Cond>() <= 208);
    }
}
