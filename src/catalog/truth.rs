//! Three-valued evaluation of a rule condition over *abstract* step states, for the lints.
//!
//! Why: "can this rule ever fire?", "is any rule TRUE at start?", "is this `NOT SUCCEEDED`
//! guarded?" are questions about every state the steps could be in. A condition only depends
//! on the steps it mentions, and only on a few distinguishable states of each (not started,
//! succeeded, stopped, failed with each error code the condition compares against ±1, …), so we
//! enumerate those combinations and evaluate with SQL three-valued logic, exactly as the
//! engine does (NULL error code before a step completes; a rule fires only on TRUE): the
//! connectives and the comparison of known values are the shared ones of [`crate::lang::logic`],
//! lifted to sets of truth values.
//!
//! Time-dependent predicates (`:A.end_date > SYSTIMESTAMP - ...`) cannot be decided statically;
//! they evaluate to a *set* of possible truth values, which keeps every answer conservative:
//! "can be TRUE" is never wrongly denied. Enumeration is bounded ([`DEFAULT_LIMIT`]); beyond the
//! bound the answer is "don't know" and lints stay silent.

use super::model::{Condition, Operand, StepIdx};
use crate::lang::ast::{CmpOp, SqlAttr, StateTest};
use crate::lang::logic::{compare_values, holds, SqlValue, Truth};

/// At most this many state combinations are enumerated for one question.
pub const DEFAULT_LIMIT: usize = 20_000;

/// The error code of a STOPPED step (semantics.md).
pub const STOPPED_CODE: i64 = 1013;

/// The states of a step as rules see them (the core's `StepState`, without depending on core).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    NotStarted,
    Scheduled,
    Running,
    RetryScheduled,
    Paused,
    Stalled,
    Succeeded,
    Failed,
    Stopped,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::NotStarted => "NOT_STARTED",
            Phase::Scheduled => "SCHEDULED",
            Phase::Running => "RUNNING",
            Phase::RetryScheduled => "RETRY SCHEDULED",
            Phase::Paused => "PAUSED",
            Phase::Stalled => "STALLED",
            Phase::Succeeded => "SUCCEEDED",
            Phase::Failed => "FAILED",
            Phase::Stopped => "STOPPED",
        }
    }

    pub fn completed(self) -> bool {
        matches!(self, Phase::Succeeded | Phase::Failed | Phase::Stopped)
    }
}

/// One abstract state of a step: its phase and, when completed, its error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbsState {
    pub phase: Phase,
    pub code: i64,
}

impl AbsState {
    pub const NOT_STARTED: AbsState = AbsState {
        phase: Phase::NotStarted,
        code: 0,
    };
    pub const SUCCEEDED: AbsState = AbsState {
        phase: Phase::Succeeded,
        code: 0,
    };
    pub const STOPPED: AbsState = AbsState {
        phase: Phase::Stopped,
        code: STOPPED_CODE,
    };

    pub fn failed(code: i64) -> Self {
        AbsState {
            phase: Phase::Failed,
            code,
        }
    }

    pub fn waiting(phase: Phase) -> Self {
        AbsState { phase, code: 0 }
    }

    /// NULL until the step completes.
    pub fn error_code(self) -> Option<i64> {
        self.phase.completed().then_some(self.code)
    }
}

/// A set of possible truth values (TRUE, FALSE, UNKNOWN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truths(u8);

impl Truths {
    pub const TRUE: Truths = Truths(1);
    pub const FALSE: Truths = Truths(2);
    pub const UNKNOWN: Truths = Truths(4);
    pub const TRUE_OR_FALSE: Truths = Truths(3);
    pub const ANY: Truths = Truths(7);

    pub fn of(b: bool) -> Self {
        Truth::from_bool(b).into()
    }

    pub fn can_be_true(self) -> bool {
        self.0 & 1 != 0
    }

    pub fn can_be_false(self) -> bool {
        self.0 & 2 != 0
    }

    /// Can the value be something other than TRUE (FALSE or UNKNOWN)?
    pub fn can_be_non_true(self) -> bool {
        self.0 & 6 != 0
    }

    /// Every truth value in the set.
    pub fn values(self) -> impl Iterator<Item = Truth> {
        [Truth::True, Truth::False, Truth::Unknown]
            .into_iter()
            .filter(move |t| self.0 & Truths::from(*t).0 != 0)
    }

    /// The set of `f(a, b)` for every `a` in `self` and `b` in `other`.
    fn lift2(self, other: Truths, f: fn(Truth, Truth) -> Truth) -> Truths {
        let mut out = Truths(0);
        for a in self.values() {
            for b in other.values() {
                out = out.union(Truths::from(f(a, b)));
            }
        }
        out
    }

    pub fn union(self, other: Truths) -> Truths {
        Truths(self.0 | other.0)
    }

    pub fn and(self, other: Truths) -> Truths {
        self.lift2(other, Truth::and)
    }

    pub fn or(self, other: Truths) -> Truths {
        self.lift2(other, Truth::or)
    }

    pub fn negate(self) -> Truths {
        self.values()
            .fold(Truths(0), |out, t| out.union(Truths::from(!t)))
    }

    /// `negate()` when `negated`.
    fn negate_if(self, negated: bool) -> Truths {
        if negated {
            self.negate()
        } else {
            self
        }
    }
}

impl From<Truth> for Truths {
    fn from(t: Truth) -> Truths {
        match t {
            Truth::True => Truths::TRUE,
            Truth::False => Truths::FALSE,
            Truth::Unknown => Truths::UNKNOWN,
        }
    }
}

/// The abstract value of a SQL operand: `value` itself when known statically. A date or
/// interval whose magnitude depends on when steps ran or on SYSTIMESTAMP `varies`: `value` is
/// then some value of its kind, which decides what it compares with. `maybe_null`: NULL in some
/// histories of the step.
#[derive(Debug, Clone, Copy)]
struct Value<'a> {
    value: SqlValue<'a>,
    varies: bool,
    maybe_null: bool,
}

fn known(value: SqlValue<'_>) -> Value<'_> {
    Value {
        value,
        varies: false,
        maybe_null: false,
    }
}

fn varies(like: SqlValue<'static>, maybe_null: bool) -> Value<'static> {
    Value {
        value: like,
        varies: true,
        maybe_null,
    }
}

fn operand<'a>(o: &'a Operand, state: &impl Fn(StepIdx) -> AbsState) -> Value<'a> {
    let (time, interval) = (SqlValue::Time(0), SqlValue::Interval(0));
    match o {
        Operand::Attr { step, attr } => {
            let s = state(*step);
            match attr {
                SqlAttr::State => known(SqlValue::Str(s.phase.as_str())),
                SqlAttr::Completed => known(SqlValue::Str(if s.phase.completed() {
                    "TRUE"
                } else {
                    "FALSE"
                })),
                SqlAttr::ErrorCode => known(
                    s.error_code()
                        .map_or(SqlValue::Null, |c| SqlValue::Int(c.into())),
                ),
                SqlAttr::StartDate | SqlAttr::Duration => {
                    let like = if *attr == SqlAttr::Duration {
                        interval
                    } else {
                        time
                    };
                    match s.phase {
                        Phase::NotStarted => known(SqlValue::Null),
                        Phase::Running | Phase::Succeeded | Phase::Failed | Phase::Stopped => {
                            varies(like, false)
                        }
                        _ => varies(like, true),
                    }
                }
                SqlAttr::EndDate => match s.phase {
                    Phase::NotStarted | Phase::Scheduled | Phase::Running => known(SqlValue::Null),
                    Phase::Succeeded | Phase::Failed | Phase::Stopped => varies(time, false),
                    _ => varies(time, true),
                },
            }
        }
        Operand::Str(s) => known(SqlValue::Str(s.as_str())),
        Operand::Num(n) => known(SqlValue::Int((*n).into())),
        Operand::Interval(ms) => known(SqlValue::Interval((*ms).into())),
        Operand::Now { .. } => varies(time, false),
    }
}

/// The possible truths of `l op r`: the engine's comparison ([`compare_values`]) when both
/// values are known; when one varies, TRUE or FALSE if the kinds compare (UNKNOWN if not); and
/// UNKNOWN too when one may be NULL.
fn compare(l: Value, op: CmpOp, r: Value) -> Truths {
    let t = match compare_values(&l.value, &r.value) {
        None => Truths::UNKNOWN,
        Some(_) if l.varies || r.varies => Truths::TRUE_OR_FALSE,
        ord => Truth::of_comparison(op, ord).into(),
    };
    if l.maybe_null || r.maybe_null {
        t.union(Truths::UNKNOWN)
    } else {
        t
    }
}

fn error_code_test(s: AbsState, f: impl Fn(i64) -> bool) -> Truths {
    match s.error_code() {
        None => Truths::UNKNOWN,
        Some(c) => Truths::of(f(c)),
    }
}

/// Evaluate `cond` with every step in the state `state` gives it.
pub fn eval(cond: &Condition, state: &impl Fn(StepIdx) -> AbsState) -> Truths {
    match cond {
        Condition::Const(b) => Truths::of(*b),
        Condition::StepState {
            step,
            negated,
            test,
        } => {
            let p = state(*step).phase;
            let base = match test {
                StateTest::Succeeded => p == Phase::Succeeded,
                StateTest::Failed => p == Phase::Failed,
                StateTest::Stopped => p == Phase::Stopped,
                StateTest::Completed => p.completed(),
            };
            Truths::of(base != *negated)
        }
        Condition::ErrorCodeIn {
            step,
            negated,
            codes,
        } => error_code_test(state(*step), |c| codes.contains(&c) != *negated),
        Condition::ErrorCodeCmp { step, op, value } => {
            error_code_test(state(*step), |c| holds(*op, c.cmp(value)))
        }
        Condition::SqlCompare { left, op, right } => {
            compare(operand(left, state), *op, operand(right, state))
        }
        Condition::SqlIn {
            left,
            negated,
            list,
        } => {
            let l = operand(left, state);
            // x IN (a, b) is x = a OR x = b (lang::logic::in_list), over sets.
            let mut t = Truths::FALSE;
            for item in list {
                t = t.or(compare(l, CmpOp::Eq, operand(item, state)));
            }
            t.negate_if(*negated)
        }
        Condition::SqlIsNull {
            operand: o,
            negated,
        } => {
            let v = operand(o, state);
            let t = match v.value {
                SqlValue::Null => Truths::TRUE,
                _ if v.maybe_null => Truths::TRUE_OR_FALSE,
                _ => Truths::FALSE,
            };
            t.negate_if(*negated)
        }
        Condition::And(a, b) => eval(a, state).and(eval(b, state)),
        Condition::Or(a, b) => eval(a, state).or(eval(b, state)),
        Condition::Not(a) => eval(a, state).negate(),
    }
}

/// What a step can do, as far as the analysis is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepAbility {
    /// False for event steps: they succeed or are stopped, never fail.
    pub can_fail: bool,
}

/// For each step a condition mentions, the abstract states worth trying.
#[derive(Debug, Clone)]
pub struct Domains {
    entries: Vec<(StepIdx, Vec<AbsState>)>,
}

/// What one pass over a condition learns about each step it mentions.
#[derive(Debug, Default)]
struct StepFacts {
    /// Error codes the condition compares the step's error code against.
    literals: Vec<i64>,
    /// Looked at through the SQL syntax (state names, dates): every phase matters.
    sql: bool,
}

/// Collect, in one pass, the facts about every step `cond` mentions (sorted by step).
fn facts(cond: &Condition, out: &mut Vec<(StepIdx, StepFacts)>) {
    fn entry(out: &mut Vec<(StepIdx, StepFacts)>, s: StepIdx) -> &mut StepFacts {
        let i = match out.binary_search_by_key(&s, |(st, _)| *st) {
            Ok(i) => i,
            Err(i) => {
                out.insert(i, (s, StepFacts::default()));
                i
            }
        };
        &mut out[i].1
    }
    /// The integer an error code is compared against (for `'2.5'`, 2: the ±1 around it
    /// covers both sides, as the engine converts the string to the number 2.5).
    fn num(o: &Operand) -> Option<i64> {
        match o {
            Operand::Num(n) => Some(*n),
            Operand::Str(t) => {
                let t = t.trim();
                t.parse().ok().or_else(|| {
                    let f: f64 = t.parse().ok()?;
                    // `as` saturates: huge values become i64::MIN/MAX.
                    f.is_finite().then(|| f.floor() as i64)
                })
            }
            _ => None,
        }
    }
    fn sql_operand(out: &mut Vec<(StepIdx, StepFacts)>, o: &Operand, against: &[&Operand]) {
        if let Operand::Attr { step, attr } = o {
            let f = entry(out, *step);
            f.sql = true;
            if *attr == SqlAttr::ErrorCode {
                f.literals.extend(against.iter().filter_map(|o| num(o)));
            }
        }
    }
    match cond {
        Condition::Const(_) => {}
        Condition::StepState { step, .. } => {
            entry(out, *step);
        }
        Condition::ErrorCodeIn { step, codes, .. } => entry(out, *step).literals.extend(codes),
        Condition::ErrorCodeCmp { step, value, .. } => entry(out, *step).literals.push(*value),
        Condition::SqlCompare { left, right, .. } => {
            sql_operand(out, left, &[right]);
            sql_operand(out, right, &[left]);
        }
        Condition::SqlIn { left, list, .. } => {
            let others: Vec<&Operand> = list.iter().collect();
            sql_operand(out, left, &others);
            for o in list {
                sql_operand(out, o, &[left]);
            }
        }
        Condition::SqlIsNull { operand, .. } => sql_operand(out, operand, &[]),
        Condition::And(a, b) | Condition::Or(a, b) => {
            facts(a, out);
            facts(b, out);
        }
        Condition::Not(a) => facts(a, out),
    }
}

/// Does `cond` mention step `s`? (No allocation: used on many small guards.)
pub fn mentions(cond: &Condition, s: StepIdx) -> bool {
    let op = |o: &Operand| matches!(o, Operand::Attr { step, .. } if *step == s);
    match cond {
        Condition::Const(_) => false,
        Condition::StepState { step, .. }
        | Condition::ErrorCodeIn { step, .. }
        | Condition::ErrorCodeCmp { step, .. } => *step == s,
        Condition::SqlCompare { left, right, .. } => op(left) || op(right),
        Condition::SqlIn { left, list, .. } => op(left) || list.iter().any(op),
        Condition::SqlIsNull { operand, .. } => op(operand),
        Condition::And(a, b) | Condition::Or(a, b) => mentions(a, s) || mentions(b, s),
        Condition::Not(a) => mentions(a, s),
    }
}

impl Domains {
    /// The states worth trying for each step `cond` mentions.
    pub fn for_condition(cond: &Condition, ability: &impl Fn(StepIdx) -> StepAbility) -> Self {
        let mut found = Vec::new();
        facts(cond, &mut found);
        let entries = found
            .into_iter()
            .map(|(s, f)| {
                let mut states = vec![AbsState::NOT_STARTED];
                if f.sql {
                    states.extend(
                        [
                            Phase::Scheduled,
                            Phase::Running,
                            Phase::RetryScheduled,
                            Phase::Paused,
                            Phase::Stalled,
                        ]
                        .map(AbsState::waiting),
                    );
                }
                states.push(AbsState::SUCCEEDED);
                states.push(AbsState::STOPPED);
                if ability(s).can_fail {
                    let mut codes = vec![1];
                    for n in &f.literals {
                        codes.extend([n.saturating_sub(1), *n, n.saturating_add(1)]);
                    }
                    let fresh = f
                        .literals
                        .iter()
                        .copied()
                        .max()
                        .unwrap_or(1)
                        .saturating_add(2);
                    codes.push(fresh);
                    codes.retain(|c| *c > 0);
                    codes.sort_unstable();
                    codes.dedup();
                    states.extend(codes.into_iter().map(AbsState::failed));
                }
                (s, states)
            })
            .collect();
        Domains { entries }
    }

    fn position(&self, s: StepIdx) -> Option<usize> {
        self.entries.binary_search_by_key(&s, |(st, _)| *st).ok()
    }

    /// Restrict step `s` to the given states (no effect if the condition does not mention it).
    pub fn fix(&mut self, s: StepIdx, states: &[AbsState]) {
        if let Some(i) = self.position(s) {
            let dom = &mut self.entries[i].1;
            dom.retain(|st| states.contains(st));
            if dom.is_empty() {
                dom.extend_from_slice(states);
            }
        }
    }

    /// Keep only the states `keep` accepts, for step `s`.
    pub fn retain(&mut self, s: StepIdx, keep: impl Fn(&AbsState) -> bool) {
        if let Some(i) = self.position(s) {
            self.entries[i].1.retain(keep);
        }
    }

    pub fn steps(&self) -> impl Iterator<Item = StepIdx> + '_ {
        self.entries.iter().map(|(s, _)| *s)
    }

    /// The states step `s` is tried in, if the condition mentions it.
    pub fn states(&self, s: StepIdx) -> Option<&[AbsState]> {
        self.position(s).map(|i| self.entries[i].1.as_slice())
    }

    /// How many combinations [`Domains::exists`] would try (saturating).
    pub fn combinations(&self) -> usize {
        self.entries
            .iter()
            .fold(1usize, |acc, (_, d)| acc.saturating_mul(d.len()))
    }

    /// Is there a combination of states for which `want(eval(cond))` holds?
    /// `None` when there are more than `limit` combinations (not examined).
    pub fn exists(
        &self,
        cond: &Condition,
        limit: usize,
        want: impl Fn(Truths) -> bool,
    ) -> Option<bool> {
        let total = self.combinations();
        if total > limit {
            return None;
        }
        if total == 0 {
            return Some(false);
        }
        let mut odometer = vec![0usize; self.entries.len()];
        loop {
            let state = |s: StepIdx| -> AbsState {
                self.position(s)
                    .map(|i| self.entries[i].1[odometer[i]])
                    .unwrap_or(AbsState::NOT_STARTED)
            };
            if want(eval(cond, &state)) {
                return Some(true);
            }
            // Advance the odometer.
            let mut k = 0;
            loop {
                if k == odometer.len() {
                    return Some(false);
                }
                odometer[k] += 1;
                if odometer[k] < self.entries[k].1.len() {
                    break;
                }
                odometer[k] = 0;
                k += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(step: StepIdx, test: StateTest, negated: bool) -> Condition {
        Condition::StepState {
            step,
            negated,
            test,
        }
    }

    fn can_fail(_: StepIdx) -> StepAbility {
        StepAbility { can_fail: true }
    }

    fn satisfiable(c: &Condition) -> bool {
        Domains::for_condition(c, &can_fail)
            .exists(c, DEFAULT_LIMIT, Truths::can_be_true)
            .unwrap()
    }

    #[test]
    fn three_valued_connectives() {
        assert_eq!(Truths::UNKNOWN.negate(), Truths::UNKNOWN);
        assert_eq!(Truths::UNKNOWN.and(Truths::FALSE), Truths::FALSE);
        assert_eq!(Truths::UNKNOWN.or(Truths::TRUE), Truths::TRUE);
        assert_eq!(Truths::UNKNOWN.and(Truths::TRUE), Truths::UNKNOWN);
        assert_eq!(Truths::TRUE_OR_FALSE.negate(), Truths::TRUE_OR_FALSE);
    }

    #[test]
    fn succeeded_and_failed_is_unsatisfiable() {
        let c = Condition::And(
            Box::new(st(0, StateTest::Succeeded, false)),
            Box::new(st(0, StateTest::Failed, false)),
        );
        assert!(!satisfiable(&c));
        assert!(!satisfiable(&Condition::Const(false)));
        let ok = Condition::And(
            Box::new(st(0, StateTest::Succeeded, false)),
            Box::new(st(1, StateTest::Failed, false)),
        );
        assert!(satisfiable(&ok));
    }

    #[test]
    fn error_code_ranges() {
        // A ERROR_CODE > 5 AND A ERROR_CODE < 6: no integer.
        let c = Condition::And(
            Box::new(Condition::ErrorCodeCmp {
                step: 0,
                op: CmpOp::Gt,
                value: 5,
            }),
            Box::new(Condition::ErrorCodeCmp {
                step: 0,
                op: CmpOp::Lt,
                value: 6,
            }),
        );
        assert!(!satisfiable(&c));
        // A ERROR_CODE = 20100 AND A FAILED: fine.
        let c = Condition::And(
            Box::new(Condition::ErrorCodeCmp {
                step: 0,
                op: CmpOp::Eq,
                value: 20100,
            }),
            Box::new(st(0, StateTest::Failed, false)),
        );
        assert!(satisfiable(&c));
        // A ERROR_CODE = 1013 is satisfiable by STOPPED even when A cannot fail.
        let c = Condition::ErrorCodeCmp {
            step: 0,
            op: CmpOp::Eq,
            value: STOPPED_CODE,
        };
        let d = Domains::for_condition(&c, &|_| StepAbility { can_fail: false });
        assert_eq!(d.exists(&c, DEFAULT_LIMIT, Truths::can_be_true), Some(true));
    }

    #[test]
    fn null_error_code_is_unknown_before_completion() {
        let c = Condition::ErrorCodeCmp {
            step: 0,
            op: CmpOp::Ne,
            value: 20100,
        };
        assert_eq!(eval(&c, &|_| AbsState::NOT_STARTED), Truths::UNKNOWN);
        assert_eq!(eval(&c, &|_| AbsState::SUCCEEDED), Truths::TRUE);
        assert_eq!(
            eval(&st(0, StateTest::Succeeded, true), &|_| {
                AbsState::NOT_STARTED
            }),
            Truths::TRUE
        );
    }

    #[test]
    fn sql_state_and_dates() {
        let c = Condition::SqlCompare {
            left: Operand::Attr {
                step: 0,
                attr: SqlAttr::State,
            },
            op: CmpOp::Eq,
            right: Operand::Str("RUNNING".into()),
        };
        assert!(satisfiable(&c));
        let c = Condition::And(Box::new(c), Box::new(st(0, StateTest::Completed, false)));
        assert!(!satisfiable(&c));
        let late = Condition::SqlCompare {
            left: Operand::Attr {
                step: 0,
                attr: SqlAttr::EndDate,
            },
            op: CmpOp::Gt,
            right: Operand::Now {
                offset_millis: -3_600_000,
            },
        };
        assert_eq!(eval(&late, &|_| AbsState::NOT_STARTED), Truths::UNKNOWN);
        assert_eq!(eval(&late, &|_| AbsState::SUCCEEDED), Truths::TRUE_OR_FALSE);
    }

    #[test]
    fn comparisons_follow_the_engine() {
        let attr = |attr| Operand::Attr { step: 0, attr };
        let cmp = |left, op, right| Condition::SqlCompare { left, op, right };
        let failed_3 = |_| AbsState::failed(3);
        // Strings compare exactly: a lower-case state name never matches.
        let lower = cmp(
            attr(SqlAttr::State),
            CmpOp::Eq,
            Operand::Str("running".into()),
        );
        assert!(!satisfiable(&lower));
        // A number meets a numeric string as a number; a non-number string is UNKNOWN.
        let half = cmp(
            attr(SqlAttr::ErrorCode),
            CmpOp::Gt,
            Operand::Str("2.5".into()),
        );
        assert_eq!(eval(&half, &failed_3), Truths::TRUE);
        let between = Condition::And(
            Box::new(half),
            Box::new(cmp(
                attr(SqlAttr::ErrorCode),
                CmpOp::Lt,
                Operand::Str("3.5".into()),
            )),
        );
        assert!(satisfiable(&between));
        let word = cmp(
            attr(SqlAttr::ErrorCode),
            CmpOp::Ne,
            Operand::Str("abc".into()),
        );
        assert_eq!(eval(&word, &failed_3), Truths::UNKNOWN);
        assert!(!satisfiable(&word));
        // Dates compare with dates, durations with intervals, never across.
        let crossed = cmp(attr(SqlAttr::EndDate), CmpOp::Gt, Operand::Interval(1_000));
        assert_eq!(eval(&crossed, &failed_3), Truths::UNKNOWN);
        let long = cmp(attr(SqlAttr::Duration), CmpOp::Gt, Operand::Interval(1_000));
        assert_eq!(eval(&long, &failed_3), Truths::TRUE_OR_FALSE);
        let paused = |_| AbsState::waiting(Phase::Paused);
        assert_eq!(eval(&long, &paused), Truths::ANY);
        // Two literals are known: compared exactly.
        let fixed = cmp(
            Operand::Interval(3_600_000),
            CmpOp::Gt,
            Operand::Interval(60_000),
        );
        assert_eq!(eval(&fixed, &failed_3), Truths::TRUE);
    }

    #[test]
    fn limit_is_respected() {
        let mut c = st(0, StateTest::Succeeded, false);
        for i in 1..12 {
            c = Condition::And(Box::new(c), Box::new(st(i, StateTest::Succeeded, false)));
        }
        let d = Domains::for_condition(&c, &can_fail);
        assert_eq!(d.exists(&c, DEFAULT_LIMIT, Truths::can_be_true), None);
    }
}
