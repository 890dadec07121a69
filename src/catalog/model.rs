//! The resolved catalog model: what the core consumes.
//!
//! Names are resolved to indices (`StepIdx` within a chain), defaults are applied (the Oracle
//! retry policy, `RULE$N` names), and each type is `Serialize + Deserialize` so the store can
//! keep the definition a running job started with.

use crate::lang::ast::{CmpOp, PayloadCond, SqlAttr, StateTest};
use crate::lang::duration::Millis;
use crate::lang::sql::{BinOp, Clock, Func};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub type StepIdx = usize;
pub type RuleIdx = usize;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Catalog {
    pub programs: BTreeMap<String, Program>,
    pub chains: BTreeMap<String, Chain>,
    pub jobs: BTreeMap<String, JobDef>,
    pub groups: BTreeMap<String, GroupDef>,
    /// `serialize by` declared on chains (chain name → setting): applies to every run of the
    /// chain whose job definition has no `serialize by` of its own, ad-hoc runs included.
    #[serde(default)]
    pub chain_serialize: BTreeMap<String, SerializeDef>,
    /// `notify NAME { … }` declarations, by name.
    #[serde(default)]
    pub notifications: BTreeMap<String, NotifyDef>,
    /// Named schedules (`schedule NAME '...';`), by name.
    #[serde(default)]
    pub schedules: BTreeMap<String, ScheduleDef>,
}

/// A chain's `serialize by PARAM [on conflict error]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SerializeDef {
    /// Upper-cased parameter name.
    pub param: String,
    /// `on conflict error`: a run whose key is busy is refused instead of queued.
    pub refuse: bool,
}

pub use crate::lang::ast::NotifyOn;

/// A resolved `notify` declaration (docs/rule-language.md, "Notifications").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotifyDef {
    pub name: String,
    pub on: Vec<NotifyOn>,
    /// Only jobs of these chains (empty: no chain filter).
    pub chains: Vec<String>,
    /// Only runs of these job definitions (empty: no definition filter). With both lists
    /// given, a job matching either is notified.
    pub jobs: Vec<String>,
    pub webhook: Option<String>,
    /// Program and arguments.
    pub command: Option<Vec<String>>,
    /// Attempts after the first.
    pub retries: u32,
    /// Wait before the first retry; doubled after each further failure (capped at 1 hour).
    pub delay: Millis,
    pub source: String,
}

impl NotifyDef {
    /// Default retries after the first attempt.
    pub const DEFAULT_RETRIES: u32 = 8;
    /// Default first retry delay.
    pub const DEFAULT_DELAY: Millis = 5_000;

    /// Whether a job of `chain`, run of `definition`, is one this notification is about.
    pub fn applies_to(&self, chain: &str, definition: Option<&str>) -> bool {
        if self.chains.is_empty() && self.jobs.is_empty() {
            return true;
        }
        self.chains.iter().any(|c| c == chain)
            || definition.is_some_and(|d| self.jobs.iter().any(|j| j == d))
    }
}

/// A named schedule: a schedule string jobs refer to by name (`schedule NIGHTLY;`, or in
/// another schedule's INCLUDE, EXCLUDE or INTERSECT).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleDef {
    pub name: String,
    pub text: String,
    pub source: String,
}

impl Catalog {
    /// The event names event-based job definitions (`on event NAME`) wait for: raising one of
    /// them starts a job, so it is a known event even when no event step waits for it.
    pub fn job_events(&self) -> impl Iterator<Item = &str> {
        self.jobs
            .values()
            .filter_map(|j| j.on_event.as_ref().map(|e| e.event.as_str()))
    }

    /// The text of named schedule `name` (upper-cased), for [`crate::schedule::zone::JobSchedule::build`].
    pub fn named_schedule(&self, name: &str) -> Option<String> {
        self.schedules.get(name).map(|s| s.text.clone())
    }

    /// Job definition `name`'s schedule, evaluated in its time zone between its start and end
    /// dates; `None` when it has no schedule, `Err` when it does not parse (`check` refuses
    /// such a catalog).
    pub fn job_schedule(
        &self,
        name: &str,
    ) -> Option<Result<crate::schedule::zone::JobSchedule, String>> {
        let def = self.jobs.get(name)?;
        let text = def.schedule.as_ref()?;
        Some(
            crate::schedule::zone::Timing::new(
                def.time_zone.as_deref(),
                def.start_date.as_deref(),
                def.end_date.as_deref(),
            )
            .and_then(|timing| {
                crate::schedule::zone::JobSchedule::build(text, timing, &|n| self.named_schedule(n))
                    .map_err(|e| e.to_string())
            }),
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Program {
    pub name: String,
    pub kind: ProgramKind,
    pub arguments: Vec<String>,
    pub environment: Vec<(String, String)>,
    pub working_directory: Option<String>,
    pub timeout: Option<Millis>,
    /// The job variables the program declares it may set (`sets NAME, ...;`, upper-cased).
    #[serde(default)]
    pub sets: Vec<String>,
    /// `file:line` of the declaration.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ProgramKind {
    Executable(String),
    Shell(String),
    Handler(String),
    Builtin(Builtin),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Builtin {
    Noop,
    Sleep(Millis),
    Fail(i64),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chain {
    pub name: String,
    pub comment: Option<String>,
    pub evaluation_interval: Option<Millis>,
    /// In definition order.
    pub steps: Vec<Step>,
    /// In rule order (position = index + 1).
    pub rules: Vec<Rule>,
    /// `file:line` of the declaration.
    pub source: String,
}

impl Chain {
    pub fn step_index(&self, name: &str) -> Option<StepIdx> {
        self.steps.iter().position(|s| s.name == name)
    }
    pub fn rule_index(&self, name: &str) -> Option<RuleIdx> {
        self.rules.iter().position(|r| r.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub name: String,
    pub kind: StepTarget,
    pub attrs: StepAttributes,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StepTarget {
    Program(String),
    /// A nested chain (by name; resolved, acyclic).
    Chain(String),
    Event {
        name: String,
        condition: Option<PayloadCond>,
        condition_text: Option<String>,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepAttributes {
    pub skip: bool,
    pub pause: bool,
    pub pause_before: bool,
    pub restart_on_recovery: bool,
    pub restart_on_failure: Option<RetryPolicy>,
    /// An event step that waits longer, or a program step that runs longer, ends FAILED with
    /// error code 124 (`STEP_TIMED_OUT`); the program's process group is killed.
    #[serde(default)]
    pub timeout: Option<Millis>,
}

/// Retry policy. `RetryPolicy::oracle()` is the default: up to 6 retries after 1 s, 10 s, 100 s, …
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    pub retries: u32,
    pub delay: Millis,
    pub backoff: f64,
}

impl RetryPolicy {
    pub fn oracle() -> Self {
        RetryPolicy {
            retries: 6,
            delay: 1000,
            backoff: 10.0,
        }
    }

    /// Delay before retry number `n` (1-based): `delay * backoff^(n-1)`, saturating.
    pub fn delay_before_retry(&self, n: u32) -> Millis {
        let factor = self.backoff.powi(n.saturating_sub(1) as i32);
        let ms = self.delay as f64 * factor;
        if !ms.is_finite() || ms >= u64::MAX as f64 {
            u64::MAX / 4
        } else {
            ms.round() as Millis
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// Written name, or `RULE$N`.
    pub name: String,
    /// 1-based position in the chain.
    pub position: usize,
    pub condition: Condition,
    pub action: RuleAction,
    pub comment: Option<String>,
    pub condition_text: String,
    pub action_text: String,
}

/// A resolved condition (steps as indices into the chain's `steps`).
///
/// New variants go at the end (stored catalogs name variants; keep old ones readable).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Condition {
    Const(bool),
    StepState {
        step: StepIdx,
        negated: bool,
        test: StateTest,
    },
    ErrorCodeIn {
        step: StepIdx,
        negated: bool,
        codes: Vec<i64>,
    },
    ErrorCodeCmp {
        step: StepIdx,
        op: CmpOp,
        value: i64,
    },
    SqlCompare {
        left: Operand,
        op: CmpOp,
        right: Operand,
    },
    SqlIn {
        left: Operand,
        negated: bool,
        list: Vec<Operand>,
    },
    SqlIsNull {
        operand: Operand,
        negated: bool,
    },
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
    Not(Box<Condition>),
    /// `value [NOT] LIKE pattern [ESCAPE e]` (boxed: conditions nest thousands deep, and
    /// every recursive walk, clone and drop pays for the largest variant).
    SqlLike(Box<LikePred>),
    /// `value [NOT] BETWEEN low AND high`
    SqlBetween(Box<BetweenPred>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LikePred {
    pub value: Operand,
    pub negated: bool,
    pub pattern: Operand,
    pub escape: Option<Operand>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BetweenPred {
    pub value: Operand,
    pub negated: bool,
    pub low: Operand,
    pub high: Operand,
}

impl Condition {
    /// The values a SQL predicate reads (empty for the other conditions).
    pub fn operands(&self) -> Vec<&Operand> {
        match self {
            Condition::SqlCompare { left, right, .. } => vec![left, right],
            Condition::SqlIn { left, list, .. } => std::iter::once(left).chain(list).collect(),
            Condition::SqlIsNull { operand, .. } => vec![operand],
            Condition::SqlLike(l) => std::iter::once(&l.value)
                .chain(std::iter::once(&l.pattern))
                .chain(&l.escape)
                .collect(),
            Condition::SqlBetween(b) => vec![&b.value, &b.low, &b.high],
            _ => Vec::new(),
        }
    }

    /// Every step the condition mentions (may repeat). An explicit stack: conditions that
    /// join thousands of steps must not exhaust the call stack.
    pub fn steps(&self, out: &mut Vec<StepIdx>) {
        let mut stack = vec![self];
        while let Some(c) = stack.pop() {
            match c {
                Condition::Const(_) => {}
                Condition::StepState { step, .. }
                | Condition::ErrorCodeIn { step, .. }
                | Condition::ErrorCodeCmp { step, .. } => out.push(*step),
                Condition::And(a, b) | Condition::Or(a, b) => {
                    stack.push(b);
                    stack.push(a);
                }
                Condition::Not(a) => stack.push(a),
                sql => sql.operands().into_iter().for_each(|o| o.steps(out)),
            }
        }
    }

    /// Every job variable the condition reads (may repeat).
    pub fn variables(&self, out: &mut Vec<String>) {
        let mut stack = vec![self];
        while let Some(c) = stack.pop() {
            match c {
                Condition::And(a, b) | Condition::Or(a, b) => {
                    stack.push(b);
                    stack.push(a);
                }
                Condition::Not(a) => stack.push(a),
                sql => sql.operands().into_iter().for_each(|o| o.variables(out)),
            }
        }
    }

    /// Whether the condition reads a job variable.
    pub fn reads_variables(&self) -> bool {
        let mut v = Vec::new();
        self.variables(&mut v);
        !v.is_empty()
    }

    /// True when the value can change with time alone (SYSTIMESTAMP, a running step's
    /// duration, TO_DATE of a text without a year).
    pub fn is_time_dependent(&self) -> bool {
        self.any_operand(Operand::is_time_dependent)
    }

    /// True when the value can change with the clock even while no step runs: it reads the
    /// time (SYSTIMESTAMP, SYSDATE, CURRENT_DATE, a function of them) other than through a
    /// step's `duration`, which is fixed once the step has ended. Decides whether a RUNNING chain
    /// with an `evaluation_interval` is idle for good (`explain`; docs/evaluator.md, "Stalls").
    pub fn reads_clock(&self) -> bool {
        self.any_operand(Operand::reads_clock)
    }

    /// Whether `f` holds for an operand of some predicate of the condition. An explicit stack,
    /// as for `steps`.
    fn any_operand(&self, f: impl Fn(&Operand) -> bool) -> bool {
        let mut stack = vec![self];
        while let Some(c) = stack.pop() {
            match c {
                Condition::And(a, b) | Condition::Or(a, b) => {
                    stack.push(b);
                    stack.push(a);
                }
                Condition::Not(a) => stack.push(a),
                sql => {
                    if sql.operands().into_iter().any(&f) {
                        return true;
                    }
                }
            }
        }
        false
    }
}

/// A value of a SQL condition. New variants go at the end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Operand {
    Attr {
        step: StepIdx,
        attr: SqlAttr,
    },
    /// A non-empty string.
    Str(String),
    Num(i64),
    Interval(Millis),
    /// SYSTIMESTAMP plus a signed offset (written by earlier versions; the parser now writes
    /// `Clock` and `Binary`).
    Now {
        offset_millis: i64,
    },
    Null,
    /// A number that is not an integer literal.
    Number(Decimal),
    /// `DATE '…'` / `TIMESTAMP '…'` (ms since the epoch).
    DateLit {
        ms: i64,
        timestamp: bool,
    },
    Clock(Clock),
    Neg(Box<Operand>),
    Binary {
        op: BinOp,
        left: Box<Operand>,
        right: Box<Operand>,
    },
    Call {
        func: Func,
        args: Vec<Operand>,
    },
    Case(Box<CaseExpr>),
    /// A job variable (`VAR(NAME)`, `:VAR.NAME`), upper-cased; NULL while unset or empty.
    Var(String),
}

/// `CASE [subject] WHEN … THEN … [ELSE otherwise] END`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseExpr {
    pub subject: Option<Operand>,
    pub arms: Vec<CaseArm>,
    pub otherwise: Option<Operand>,
}

/// One `WHEN … THEN …` of a CASE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseArm {
    pub when: CaseWhen,
    pub then: Operand,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CaseWhen {
    Cond(Condition),
    Value(Operand),
}

impl Operand {
    /// The values directly inside this one, and the conditions of a searched CASE.
    pub fn children(&self) -> (Vec<&Operand>, Vec<&Condition>) {
        match self {
            Operand::Neg(x) => (vec![x], Vec::new()),
            Operand::Binary { left, right, .. } => (vec![left, right], Vec::new()),
            Operand::Call { args, .. } => (args.iter().collect(), Vec::new()),
            Operand::Case(case) => {
                let CaseExpr {
                    subject,
                    arms,
                    otherwise,
                } = &**case;
                let mut ops: Vec<&Operand> = subject.iter().collect();
                let mut conds = Vec::new();
                for arm in arms {
                    match &arm.when {
                        CaseWhen::Cond(c) => conds.push(c),
                        CaseWhen::Value(v) => ops.push(v),
                    }
                    ops.push(&arm.then);
                }
                ops.extend(otherwise.iter());
                (ops, conds)
            }
            _ => (Vec::new(), Vec::new()),
        }
    }

    /// Every job variable the value reads (may repeat).
    pub fn variables(&self, out: &mut Vec<String>) {
        if let Operand::Var(name) = self {
            out.push(name.clone());
        }
        let (ops, conds) = self.children();
        ops.into_iter().for_each(|o| o.variables(out));
        conds.into_iter().for_each(|c| c.variables(out));
    }

    pub fn steps(&self, out: &mut Vec<StepIdx>) {
        if let Operand::Attr { step, .. } = self {
            out.push(*step);
        }
        let (ops, conds) = self.children();
        ops.into_iter().for_each(|o| o.steps(out));
        conds.into_iter().for_each(|c| c.steps(out));
    }

    pub fn is_time_dependent(&self) -> bool {
        self.reads_time(true)
    }

    /// Like [`Operand::is_time_dependent`], without a step's `duration` (see
    /// [`Condition::reads_clock`]).
    pub fn reads_clock(&self) -> bool {
        self.reads_time(false)
    }

    /// Whether the value reads the clock, counting a step's `duration` when `with_duration`.
    fn reads_time(&self, with_duration: bool) -> bool {
        let own = match self {
            Operand::Now { .. } | Operand::Clock(_) => true,
            Operand::Attr {
                attr: SqlAttr::Duration,
                ..
            } => with_duration,
            Operand::Call { func, .. } => func.reads_now(),
            _ => false,
        };
        own || {
            let (ops, conds) = self.children();
            ops.into_iter().any(|o| o.reads_time(with_duration))
                || conds
                    .into_iter()
                    .any(|c| c.any_operand(|o| o.reads_time(with_duration)))
        }
    }

    /// Is this a constant written in the rule (no step, no clock)?
    pub fn is_literal(&self) -> bool {
        matches!(
            self,
            Operand::Str(_)
                | Operand::Num(_)
                | Operand::Number(_)
                | Operand::Interval(_)
                | Operand::Null
                | Operand::DateLit { .. }
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RuleAction {
    Start {
        after: Option<Millis>,
        steps: Vec<StepIdx>,
    },
    Stop {
        steps: Vec<StepIdx>,
    },
    End(EndAction),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EndAction {
    /// `END` / `END n` (0 = SUCCEEDED).
    Code(i64),
    /// `END s.ERROR_CODE` (27435 if s has not completed).
    StepErrorCode(StepIdx),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobDef {
    pub name: String,
    pub chain: Option<String>,
    /// Dotted group path joined with `.` (`FINANCE.LOANS`).
    pub group: Option<String>,
    pub schedule: Option<String>,
    /// Upper-cased parameter names.
    pub parameters: BTreeMap<String, String>,
    pub serialize_by: Option<String>,
    /// `serialize by … on conflict error`: a run whose key is busy is refused.
    #[serde(default)]
    pub serialize_refuse: bool,
    pub restartable: bool,
    pub max_run_duration: Option<Millis>,
    pub source: String,
    /// Local start date in the job's time zone (`YYYY-MM-DD HH:MM:SS`): no scheduled run
    /// before it, and the anchor of its calendar string.
    #[serde(default)]
    pub start_date: Option<String>,
    /// Local end date: no scheduled run after it.
    #[serde(default)]
    pub end_date: Option<String>,
    /// IANA time-zone name (or UTC, or an offset) the schedule is evaluated in; `None`: UTC.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Whether the scheduler and events start it (`chainsched enable|disable` change it).
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// Scheduled (or event-started) runs after which the scheduler stops (state COMPLETED).
    #[serde(default)]
    pub max_runs: Option<u64>,
    /// Failed runs in a row after which the scheduler stops (state BROKEN).
    #[serde(default)]
    pub max_failures: Option<u64>,
    #[serde(default)]
    pub comment: Option<String>,
    /// `on event NAME [where ...]`: raising the event starts a run.
    #[serde(default)]
    pub on_event: Option<EventTrigger>,
}

/// What starts an event-based job: an event name and an optional payload condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventTrigger {
    pub event: String,
    pub condition: Option<crate::lang::ast::PayloadCond>,
}

fn enabled_by_default() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupDef {
    /// Dotted path joined with `.`.
    pub name: String,
    pub max_running: Option<u32>,
    pub source: String,
}

impl Condition {
    /// The same condition with every step index passed through `f` (`None`: a step the
    /// target list lacks, and then the whole condition is `None`).
    pub fn remap_steps(&self, f: &dyn Fn(StepIdx) -> Option<StepIdx>) -> Option<Condition> {
        Some(match self {
            Condition::Const(b) => Condition::Const(*b),
            Condition::StepState {
                step,
                negated,
                test,
            } => Condition::StepState {
                step: f(*step)?,
                negated: *negated,
                test: *test,
            },
            Condition::ErrorCodeIn {
                step,
                negated,
                codes,
            } => Condition::ErrorCodeIn {
                step: f(*step)?,
                negated: *negated,
                codes: codes.clone(),
            },
            Condition::ErrorCodeCmp { step, op, value } => Condition::ErrorCodeCmp {
                step: f(*step)?,
                op: *op,
                value: *value,
            },
            Condition::SqlCompare { left, op, right } => Condition::SqlCompare {
                left: left.remap_steps(f)?,
                op: *op,
                right: right.remap_steps(f)?,
            },
            Condition::SqlIn {
                left,
                negated,
                list,
            } => Condition::SqlIn {
                left: left.remap_steps(f)?,
                negated: *negated,
                list: list
                    .iter()
                    .map(|o| o.remap_steps(f))
                    .collect::<Option<Vec<_>>>()?,
            },
            Condition::SqlIsNull { operand, negated } => Condition::SqlIsNull {
                operand: operand.remap_steps(f)?,
                negated: *negated,
            },
            Condition::And(a, b) => {
                Condition::And(Box::new(a.remap_steps(f)?), Box::new(b.remap_steps(f)?))
            }
            Condition::Or(a, b) => {
                Condition::Or(Box::new(a.remap_steps(f)?), Box::new(b.remap_steps(f)?))
            }
            Condition::Not(a) => Condition::Not(Box::new(a.remap_steps(f)?)),
            Condition::SqlLike(p) => Condition::SqlLike(Box::new(LikePred {
                value: p.value.remap_steps(f)?,
                negated: p.negated,
                pattern: p.pattern.remap_steps(f)?,
                escape: match &p.escape {
                    Some(e) => Some(e.remap_steps(f)?),
                    None => None,
                },
            })),
            Condition::SqlBetween(p) => Condition::SqlBetween(Box::new(BetweenPred {
                value: p.value.remap_steps(f)?,
                negated: p.negated,
                low: p.low.remap_steps(f)?,
                high: p.high.remap_steps(f)?,
            })),
        })
    }
}

impl Operand {
    fn remap_steps(&self, f: &dyn Fn(StepIdx) -> Option<StepIdx>) -> Option<Operand> {
        let opt = |o: &Option<Operand>| match o {
            Some(o) => o.remap_steps(f).map(Some),
            None => Some(None),
        };
        Some(match self {
            Operand::Attr { step, attr } => Operand::Attr {
                step: f(*step)?,
                attr: *attr,
            },
            Operand::Neg(x) => Operand::Neg(Box::new(x.remap_steps(f)?)),
            Operand::Binary { op, left, right } => Operand::Binary {
                op: *op,
                left: Box::new(left.remap_steps(f)?),
                right: Box::new(right.remap_steps(f)?),
            },
            Operand::Call { func, args } => Operand::Call {
                func: *func,
                args: args
                    .iter()
                    .map(|a| a.remap_steps(f))
                    .collect::<Option<Vec<_>>>()?,
            },
            Operand::Case(c) => Operand::Case(Box::new(CaseExpr {
                subject: opt(&c.subject)?,
                arms: c
                    .arms
                    .iter()
                    .map(|arm| {
                        Some(CaseArm {
                            when: match &arm.when {
                                CaseWhen::Cond(c) => CaseWhen::Cond(c.remap_steps(f)?),
                                CaseWhen::Value(v) => CaseWhen::Value(v.remap_steps(f)?),
                            },
                            then: arm.then.remap_steps(f)?,
                        })
                    })
                    .collect::<Option<Vec<_>>>()?,
                otherwise: opt(&c.otherwise)?,
            })),
            // Values that name no step (listed, so that a new variant must be decided here).
            Operand::Str(_)
            | Operand::Num(_)
            | Operand::Interval(_)
            | Operand::Now { .. }
            | Operand::Null
            | Operand::Number(_)
            | Operand::DateLit { .. }
            | Operand::Clock(_)
            | Operand::Var(_) => self.clone(),
        })
    }
}

impl Rule {
    /// Every step the rule names, in its condition or its action (may repeat).
    pub fn steps(&self) -> Vec<StepIdx> {
        let mut out = Vec::new();
        self.condition.steps(&mut out);
        match &self.action {
            RuleAction::Start { steps, .. } | RuleAction::Stop { steps } => {
                out.extend(steps.iter().copied())
            }
            RuleAction::End(EndAction::StepErrorCode(s)) => out.push(*s),
            RuleAction::End(EndAction::Code(_)) => {}
        }
        out
    }

    /// The same rule for another list of steps: every step index passed through `f`; `None`
    /// when it names a step `f` does not map.
    pub fn remap_steps(&self, f: &dyn Fn(StepIdx) -> Option<StepIdx>) -> Option<Rule> {
        let action = match &self.action {
            RuleAction::Start { after, steps } => RuleAction::Start {
                after: *after,
                steps: steps.iter().map(|s| f(*s)).collect::<Option<Vec<_>>>()?,
            },
            RuleAction::Stop { steps } => RuleAction::Stop {
                steps: steps.iter().map(|s| f(*s)).collect::<Option<Vec<_>>>()?,
            },
            RuleAction::End(EndAction::StepErrorCode(s)) => {
                RuleAction::End(EndAction::StepErrorCode(f(*s)?))
            }
            RuleAction::End(EndAction::Code(c)) => RuleAction::End(EndAction::Code(*c)),
        };
        Some(Rule {
            condition: self.condition.remap_steps(f)?,
            action,
            ..self.clone()
        })
    }
}

impl Chain {
    /// `rules` (resolved against `from`'s steps) resolved against this chain's steps by step
    /// name; rules naming a step this chain lacks are left out (returned by name).
    pub fn rules_by_step_name(&self, from: &Chain, rules: &[Rule]) -> (Vec<Rule>, Vec<String>) {
        let map = |s: StepIdx| from.steps.get(s).and_then(|st| self.step_index(&st.name));
        let mut kept = Vec::new();
        let mut left_out = Vec::new();
        for r in rules {
            match r.remap_steps(&map) {
                Some(mut r) => {
                    r.position = kept.len() + 1;
                    kept.push(r);
                }
                None => left_out.push(r.name.clone()),
            }
        }
        (kept, left_out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Conditions nest thousands deep (`B1 SUCCEEDED AND … AND B2000 SUCCEEDED`), and clone,
    /// drop and the recursive walks pay for the largest variant at every level: the SQL forms
    /// must stay boxed so that conditions stay as small as before them.
    /// Renumbering steps (a rule moved to a chain whose steps differ) reaches step references
    /// nested inside SQL expressions, not only the top-level ones.
    #[test]
    fn remapping_reaches_steps_inside_expressions() {
        let attr = |step| Operand::Attr {
            step,
            attr: SqlAttr::ErrorCode,
        };
        let nested = Condition::SqlBetween(Box::new(BetweenPred {
            value: Operand::Binary {
                op: crate::lang::sql::BinOp::Add,
                left: Box::new(attr(2)),
                right: Box::new(Operand::Num(1)),
            },
            negated: false,
            low: Operand::Call {
                func: crate::lang::sql::func::Func::Nvl,
                args: vec![attr(2), Operand::Num(0)],
            },
            high: Operand::Num(9),
        }));
        let moved = nested.remap_steps(&|s| (s == 2).then_some(0)).unwrap();
        let mut steps = Vec::new();
        moved.steps(&mut steps);
        assert_eq!(steps, vec![0, 0], "{moved:?}");
        assert!(nested.remap_steps(&|_| None).is_none());
    }

    #[test]
    fn conditions_stay_small() {
        assert!(
            std::mem::size_of::<Operand>() <= 32,
            "{}",
            std::mem::size_of::<Operand>()
        );
        assert!(
            std::mem::size_of::<Condition>() <= 72,
            "{}",
            std::mem::size_of::<Condition>()
        );
    }
}
