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
//! A predicate whose inputs are all known in an abstract state is evaluated exactly, by the
//! engine's own evaluator ([`super::sqleval`]). Time-dependent values (`:A.end_date`,
//! `SYSTIMESTAMP - INTERVAL '1' HOUR`, `SYSDATE - :A.end_date`) cannot be decided statically:
//! they *vary*, and a comparison with them is a *set* of possible truth values. A value built
//! from a varying one by anything but `+ - * /` (a function, a CASE), and an error code the
//! condition computes with (`:A.error_code / 100 = 201`, which no sample of codes can decide),
//! is *opaque*: any value, NULL or an error, so its predicates can be anything. That keeps every
//! answer conservative: "can be TRUE" is never wrongly denied. Enumeration is bounded
//! ([`DEFAULT_LIMIT`]); beyond the bound the answer is "don't know" and lints stay silent.

use super::model::{Condition, Operand, StepIdx};
use super::sqleval::{self, Env, Outcome, StepView};
use crate::lang::ast::{CmpOp, SqlAttr};
use crate::lang::logic::{holds, Truth};
use crate::lang::sql::{value as sqlv, BinOp, SqlError, Value};

/// At most this many state combinations are enumerated for one question.
pub const DEFAULT_LIMIT: usize = 20_000;

/// The error code of a STOPPED step (docs/evaluator.md).
pub const STOPPED_CODE: i64 = 1013;

/// The error code of an abstract FAILED state whose code is not pinned down (any code > 0):
/// used for steps whose error code a condition computes with.
pub const OPAQUE_CODE: i64 = i64::MIN;

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

    fn opaque_code(self) -> bool {
        self.phase == Phase::Failed && self.code == OPAQUE_CODE
    }

    /// What the shared evaluator sees of the step (its instants are unknown: only used when
    /// the predicate does not read them, or they are NULL).
    fn view(self) -> StepView {
        StepView {
            state: self.phase.as_str(),
            outcome: match self.phase {
                Phase::Succeeded => Outcome::Succeeded,
                Phase::Failed => Outcome::Failed,
                Phase::Stopped => Outcome::Stopped,
                _ => Outcome::Pending,
            },
            error_code: self.error_code(),
            started_at: None,
            ended_at: None,
        }
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

/// The abstract state of every step, as the shared evaluator reads it.
struct AbsEnv<'s, F: Fn(StepIdx) -> AbsState>(&'s F);

impl<F: Fn(StepIdx) -> AbsState> Env for AbsEnv<'_, F> {
    fn step(&self, step: StepIdx) -> Option<StepView> {
        Some((self.0)(step).view())
    }
    fn now(&self) -> i64 {
        0
    }
}

/// Is `:step.attr` known exactly in this state?
fn attr_known(s: AbsState, attr: SqlAttr) -> bool {
    match attr {
        SqlAttr::State | SqlAttr::Completed => true,
        SqlAttr::ErrorCode => !s.opaque_code(),
        // NULL until they exist; otherwise they vary.
        SqlAttr::StartDate | SqlAttr::Duration => s.phase == Phase::NotStarted,
        SqlAttr::EndDate => matches!(
            s.phase,
            Phase::NotStarted | Phase::Scheduled | Phase::Running
        ),
    }
}

/// Is the value of `o` known exactly in this state (no clock, no varying attribute)?
fn operand_known(o: &Operand, state: &impl Fn(StepIdx) -> AbsState) -> bool {
    let own = match o {
        Operand::Attr { step, attr } => attr_known(state(*step), *attr),
        // A job variable can hold anything (or be unset) whatever the steps' states.
        Operand::Now { .. } | Operand::Clock(_) | Operand::Var(_) => false,
        Operand::Call { func, .. } => !func.reads_now(),
        _ => true,
    };
    own && {
        let (ops, conds) = o.children();
        ops.into_iter().all(|x| operand_known(x, state))
            && conds.into_iter().all(|c| cond_known(c, state))
    }
}

fn cond_known(c: &Condition, state: &impl Fn(StepIdx) -> AbsState) -> bool {
    match c {
        Condition::Const(_) | Condition::StepState { .. } => true,
        Condition::ErrorCodeIn { step, .. } | Condition::ErrorCodeCmp { step, .. } => {
            !state(*step).opaque_code()
        }
        Condition::And(a, b) | Condition::Or(a, b) => cond_known(a, state) && cond_known(b, state),
        Condition::Not(a) => cond_known(a, state),
        sql => sql.operands().into_iter().all(|o| operand_known(o, state)),
    }
}

/// The abstract value of an operand.
#[derive(Debug, Clone)]
enum Abs {
    /// Known exactly (or the error computing it).
    Known(Result<Value<'static>, SqlError>),
    /// A value of `like`'s kind whose magnitude is not known; NULL in some histories when
    /// `maybe_null`.
    Varies {
        like: Value<'static>,
        maybe_null: bool,
    },
    /// Anything: any value, NULL or an error.
    Opaque,
}

fn abs(o: &Operand, state: &impl Fn(StepIdx) -> AbsState) -> Abs {
    if operand_known(o, state) {
        return Abs::Known(sqleval::value(o, &AbsEnv(state)).map(Value::into_owned));
    }
    let varies = |like, maybe_null| Abs::Varies { like, maybe_null };
    match o {
        Operand::Attr { step, attr } => {
            let s = state(*step);
            match attr {
                SqlAttr::ErrorCode => varies(Value::int(1), false),
                SqlAttr::StartDate | SqlAttr::Duration => {
                    let like = if *attr == SqlAttr::Duration {
                        Value::Interval(0)
                    } else {
                        Value::Timestamp(0)
                    };
                    let sure = matches!(
                        s.phase,
                        Phase::Running | Phase::Succeeded | Phase::Failed | Phase::Stopped
                    );
                    varies(like, !sure)
                }
                SqlAttr::EndDate => varies(Value::Timestamp(0), !s.phase.completed()),
                SqlAttr::State | SqlAttr::Completed => Abs::Opaque,
            }
        }
        Operand::Now { .. } => varies(Value::Timestamp(0), false),
        Operand::Clock(c) => varies(c.value(0), false),
        Operand::Neg(x) => match abs(x, state) {
            Abs::Varies { like, maybe_null } => match sqlv::negate(&like) {
                Ok(like) => varies(like, maybe_null),
                Err(_) => Abs::Opaque,
            },
            Abs::Known(Err(e)) => Abs::Known(Err(e)),
            _ => Abs::Opaque,
        },
        // Arithmetic on varying dates, intervals and numbers varies too (computed on
        // representatives); a division by a varying number may fail, so it is opaque.
        Operand::Binary { op, left, right } if *op != BinOp::Concat => {
            let (l, r) = (abs(left, state), abs(right, state));
            let rep = |a: &Abs| -> Option<(Value<'static>, bool)> {
                match a {
                    Abs::Known(Ok(v)) => Some((v.clone(), false)),
                    Abs::Varies { like, maybe_null } => Some((like.clone(), *maybe_null)),
                    _ => None,
                }
            };
            match (&l, &r) {
                (Abs::Known(Err(e)), _) | (_, Abs::Known(Err(e))) => Abs::Known(Err(e.clone())),
                (Abs::Known(Ok(Value::Null)), _) | (_, Abs::Known(Ok(Value::Null))) => {
                    Abs::Known(Ok(Value::Null))
                }
                (_, Abs::Varies { .. }) if matches!(op, BinOp::Mul | BinOp::Div) => Abs::Opaque,
                _ => match (rep(&l), rep(&r)) {
                    (Some((a, na)), Some((b, nb))) => match sqlv::binary(*op, &a, &b) {
                        Ok(like) if !like.is_null() => varies(like, na || nb),
                        _ => Abs::Opaque,
                    },
                    _ => Abs::Opaque,
                },
            }
        }
        _ => Abs::Opaque,
    }
}

/// The possible truths of `l op r`: exact when both are known; when one varies, TRUE or FALSE
/// if the kinds compare (UNKNOWN if not), and UNKNOWN too when one may be NULL; anything when
/// one is opaque.
fn compare(l: &Abs, op: CmpOp, r: &Abs) -> Truths {
    let rep = |a: &Abs| match a {
        Abs::Known(Ok(v)) => Some((v.clone(), false, false)),
        Abs::Varies { like, maybe_null } => Some((like.clone(), true, *maybe_null)),
        _ => None,
    };
    match (l, r) {
        (Abs::Opaque, _) | (_, Abs::Opaque) => Truths::ANY,
        (Abs::Known(Err(_)), _) | (_, Abs::Known(Err(_))) => Truths::UNKNOWN,
        _ => {
            let (Some((a, va, na)), Some((b, vb, nb))) = (rep(l), rep(r)) else {
                return Truths::ANY;
            };
            let t = match sqlv::compare(&a, &b) {
                Ok(None) | Err(_) => Truths::UNKNOWN,
                Ok(Some(_)) if va || vb => Truths::TRUE_OR_FALSE,
                Ok(ord) => Truth::of_comparison(op, ord).into(),
            };
            if na || nb {
                t.union(Truths::UNKNOWN)
            } else {
                t
            }
        }
    }
}

fn error_code_test(s: AbsState, f: impl Fn(i64) -> bool) -> Truths {
    if s.opaque_code() {
        return Truths::TRUE_OR_FALSE;
    }
    match s.error_code() {
        None => Truths::UNKNOWN,
        Some(c) => Truths::of(f(c)),
    }
}

/// Evaluate `cond` with every step in the state `state` gives it.
pub fn eval(cond: &Condition, state: &impl Fn(StepIdx) -> AbsState) -> Truths {
    match cond {
        Condition::Const(b) => Truths::of(*b),
        Condition::And(a, b) => eval(a, state).and(eval(b, state)),
        Condition::Or(a, b) => eval(a, state).or(eval(b, state)),
        Condition::Not(a) => eval(a, state).negate(),
        leaf if cond_known(leaf, state) => sqleval::leaf(leaf, &AbsEnv(state)).truth.into(),
        Condition::StepState { .. } => sqleval::leaf(cond, &AbsEnv(state)).truth.into(),
        Condition::ErrorCodeIn {
            step,
            negated,
            codes,
        } => error_code_test(state(*step), |c| codes.contains(&c) != *negated),
        Condition::ErrorCodeCmp { step, op, value } => {
            error_code_test(state(*step), |c| holds(*op, c.cmp(value)))
        }
        Condition::SqlCompare { left, op, right } => {
            compare(&abs(left, state), *op, &abs(right, state))
        }
        Condition::SqlIn {
            left,
            negated,
            list,
        } => {
            let l = abs(left, state);
            // x IN (a, b) is x = a OR x = b (as the engine evaluates it), over sets.
            let mut t = Truths::FALSE;
            for item in list {
                t = t.or(compare(&l, CmpOp::Eq, &abs(item, state)));
            }
            t.negate_if(*negated)
        }
        Condition::SqlIsNull {
            operand: o,
            negated,
        } => {
            let t = match abs(o, state) {
                Abs::Known(Ok(v)) => Truths::of(v.is_null()),
                Abs::Known(Err(_)) => Truths::UNKNOWN,
                Abs::Varies {
                    maybe_null: true, ..
                } => Truths::TRUE_OR_FALSE,
                Abs::Varies { .. } => Truths::FALSE,
                Abs::Opaque => Truths::ANY,
            };
            t.negate_if(*negated)
        }
        Condition::SqlBetween(b) => {
            let v = abs(&b.value, state);
            compare(&v, CmpOp::Ge, &abs(&b.low, state))
                .and(compare(&v, CmpOp::Le, &abs(&b.high, state)))
                .negate_if(b.negated)
        }
        // LIKE on a value that is not known: anything.
        Condition::SqlLike(_) => Truths::ANY,
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
    /// The condition computes with the error code (or matches it as text): no sample of
    /// codes decides it, so a FAILED state with an unknown code is tried too.
    opaque: bool,
}

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

/// The integer a constant operand is (for `'2.5'`, 2: the ±1 around it covers both sides, as
/// the engine converts the string to the number 2.5). `Err(())` when the operand is not a
/// constant (it reads a step or the clock).
fn constant_number(o: &Operand) -> Result<Option<i64>, ()> {
    struct NoSteps;
    impl Env for NoSteps {
        fn step(&self, _: StepIdx) -> Option<StepView> {
            None
        }
        fn now(&self) -> i64 {
            0
        }
    }
    let mut steps = Vec::new();
    o.steps(&mut steps);
    if !steps.is_empty() || o.is_time_dependent() {
        return Err(());
    }
    let v = sqleval::value(o, &NoSteps).ok();
    Ok(v.and_then(|v| sqlv::to_number(&v).ok().flatten()).map(|d| {
        use rust_decimal::prelude::ToPrimitive;
        // Saturates: huge values become i64::MIN/MAX.
        d.floor().to_i64().unwrap_or(if d.is_sign_negative() {
            i64::MIN
        } else {
            i64::MAX
        })
    }))
}

/// Every step a value reads: through the SQL syntax; an error code read anywhere but as the
/// operand of a comparison is opaque.
fn operand_facts(out: &mut Vec<(StepIdx, StepFacts)>, o: &Operand, direct: bool) {
    if let Operand::Attr { step, attr } = o {
        let f = entry(out, *step);
        f.sql = true;
        if *attr == SqlAttr::ErrorCode && !direct {
            f.opaque = true;
        }
    }
    let (ops, conds) = o.children();
    for x in ops {
        operand_facts(out, x, false);
    }
    for c in conds {
        facts(c, out);
    }
}

/// `against` are compared with `o`: constants give the error codes worth trying.
fn compared(out: &mut Vec<(StepIdx, StepFacts)>, o: &Operand, against: &[&Operand]) {
    operand_facts(out, o, true);
    if let Operand::Attr {
        step,
        attr: SqlAttr::ErrorCode,
    } = o
    {
        for a in against {
            match constant_number(a) {
                Ok(n) => entry(out, *step).literals.extend(n),
                Err(()) => entry(out, *step).opaque = true,
            }
        }
    }
}

/// Collect, in one pass, the facts about every step `cond` mentions (sorted by step).
fn facts(cond: &Condition, out: &mut Vec<(StepIdx, StepFacts)>) {
    match cond {
        Condition::Const(_) => {}
        Condition::StepState { step, .. } => {
            entry(out, *step);
        }
        Condition::ErrorCodeIn { step, codes, .. } => entry(out, *step).literals.extend(codes),
        Condition::ErrorCodeCmp { step, value, .. } => entry(out, *step).literals.push(*value),
        Condition::SqlCompare { left, right, .. } => {
            compared(out, left, &[right]);
            compared(out, right, &[left]);
        }
        Condition::SqlIn { left, list, .. } => {
            let others: Vec<&Operand> = list.iter().collect();
            compared(out, left, &others);
            for o in list {
                compared(out, o, &[left]);
            }
        }
        Condition::SqlBetween(b) => {
            compared(out, &b.value, &[&b.low, &b.high]);
            compared(out, &b.low, &[&b.value]);
            compared(out, &b.high, &[&b.value]);
        }
        Condition::SqlIsNull { operand, .. } => operand_facts(out, operand, true),
        Condition::SqlLike(_) => {
            for o in cond.operands() {
                operand_facts(out, o, false);
            }
        }
        Condition::And(a, b) | Condition::Or(a, b) => {
            facts(a, out);
            facts(b, out);
        }
        Condition::Not(a) => facts(a, out),
    }
}

/// Does the value `o` read step `s`?
fn operand_mentions(o: &Operand, s: StepIdx) -> bool {
    if matches!(o, Operand::Attr { step, .. } if *step == s) {
        return true;
    }
    let (ops, conds) = o.children();
    ops.into_iter().any(|x| operand_mentions(x, s)) || conds.into_iter().any(|c| mentions(c, s))
}

/// Does `cond` mention step `s`? (No allocation for the chain syntax: used on many small
/// guards.)
pub fn mentions(cond: &Condition, s: StepIdx) -> bool {
    match cond {
        Condition::Const(_) => false,
        Condition::StepState { step, .. }
        | Condition::ErrorCodeIn { step, .. }
        | Condition::ErrorCodeCmp { step, .. } => *step == s,
        Condition::And(a, b) | Condition::Or(a, b) => mentions(a, s) || mentions(b, s),
        Condition::Not(a) => mentions(a, s),
        sql => sql.operands().into_iter().any(|o| operand_mentions(o, s)),
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
                    if f.opaque {
                        states.push(AbsState::failed(OPAQUE_CODE));
                    }
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
    use crate::lang::ast::StateTest;

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

    fn code_of(step: StepIdx) -> Operand {
        Operand::Attr {
            step,
            attr: SqlAttr::ErrorCode,
        }
    }

    fn binary(op: BinOp, l: Operand, r: Operand) -> Operand {
        Operand::Binary {
            op,
            left: Box::new(l),
            right: Box::new(r),
        }
    }

    #[test]
    fn computed_error_codes_are_not_sampled() {
        // `:A.error_code / 100 = 201` holds for 20100..=20199 only: no code near the literals
        // (1, 100, 201) satisfies it, so the analysis must not conclude "never TRUE".
        let c = Condition::SqlCompare {
            left: binary(BinOp::Div, code_of(0), Operand::Num(100)),
            op: CmpOp::Eq,
            right: Operand::Num(201),
        };
        assert!(satisfiable(&c));
        let d = Domains::for_condition(&c, &can_fail);
        assert!(d
            .states(0)
            .is_some_and(|s| s.contains(&AbsState::failed(OPAQUE_CODE))));
        // Still exact where the code is known: before A completes it is NULL.
        assert_eq!(eval(&c, &|_| AbsState::NOT_STARTED), Truths::UNKNOWN);
        assert_eq!(eval(&c, &|_| AbsState::SUCCEEDED), Truths::FALSE);
        // A constant expression gives a code worth trying: `= 5 + 5` tries 10.
        let ten = Condition::SqlCompare {
            left: code_of(0),
            op: CmpOp::Eq,
            right: binary(BinOp::Add, Operand::Num(5), Operand::Num(5)),
        };
        let d = Domains::for_condition(&ten, &can_fail);
        assert!(d
            .states(0)
            .is_some_and(|s| s.contains(&AbsState::failed(10))));
        assert!(satisfiable(&ten));
        // BETWEEN bounds are tried too.
        let range = Condition::SqlBetween(Box::new(super::super::model::BetweenPred {
            value: code_of(0),
            negated: false,
            low: Operand::Num(500),
            high: Operand::Num(500),
        }));
        assert!(satisfiable(&range));
    }

    #[test]
    fn functions_of_known_values_are_exact() {
        // NVL(:A.error_code, -1) = -1 only before A completes.
        let c = Condition::SqlCompare {
            left: Operand::Call {
                func: crate::lang::sql::Func::Nvl,
                args: vec![code_of(0), Operand::Num(-1)],
            },
            op: CmpOp::Eq,
            right: Operand::Num(-1),
        };
        assert_eq!(eval(&c, &|_| AbsState::NOT_STARTED), Truths::TRUE);
        assert_eq!(eval(&c, &|_| AbsState::SUCCEEDED), Truths::FALSE);
        // Once A completed, a code the condition computes with is any code (conservative).
        let both = Condition::And(Box::new(c), Box::new(st(0, StateTest::Completed, false)));
        assert!(satisfiable(&both));
        // The state name is always known: LOWER(:A.state) = 'succeeded' AND A FAILED never is.
        let lower = Condition::SqlCompare {
            left: Operand::Call {
                func: crate::lang::sql::Func::Lower,
                args: vec![Operand::Attr {
                    step: 0,
                    attr: SqlAttr::State,
                }],
            },
            op: CmpOp::Eq,
            right: Operand::Str("succeeded".into()),
        };
        assert!(satisfiable(&lower));
        let never = Condition::And(Box::new(lower), Box::new(st(0, StateTest::Failed, false)));
        assert!(!satisfiable(&never));
        // LIKE on the state name: no state starts with 'X'.
        let like = Condition::SqlLike(Box::new(super::super::model::LikePred {
            value: Operand::Attr {
                step: 0,
                attr: SqlAttr::State,
            },
            negated: false,
            pattern: Operand::Str("X%".into()),
            escape: None,
        }));
        assert!(!satisfiable(&like));
        // An error is UNKNOWN in every state, and so is its NOT.
        let bad = Condition::Not(Box::new(Condition::SqlCompare {
            left: Operand::Call {
                func: crate::lang::sql::Func::ToNumber,
                args: vec![Operand::Attr {
                    step: 0,
                    attr: SqlAttr::State,
                }],
            },
            op: CmpOp::Eq,
            right: Operand::Num(1),
        }));
        assert!(!satisfiable(&bad));
    }

    #[test]
    fn clock_arithmetic_varies() {
        use crate::lang::sql::Clock;
        // SYSDATE - 1/24 >= :A.end_date: TRUE or FALSE once A ended, UNKNOWN before.
        let c = Condition::SqlCompare {
            left: binary(
                BinOp::Sub,
                Operand::Clock(Clock::Sysdate),
                binary(BinOp::Div, Operand::Num(1), Operand::Num(24)),
            ),
            op: CmpOp::Ge,
            right: Operand::Attr {
                step: 0,
                attr: SqlAttr::EndDate,
            },
        };
        assert_eq!(eval(&c, &|_| AbsState::SUCCEEDED), Truths::TRUE_OR_FALSE);
        assert_eq!(eval(&c, &|_| AbsState::NOT_STARTED), Truths::UNKNOWN);
        // A date compared with a number never compares, whatever the clock says.
        let crossed = Condition::SqlCompare {
            left: Operand::Clock(Clock::Systimestamp),
            op: CmpOp::Gt,
            right: Operand::Num(3),
        };
        assert_eq!(eval(&crossed, &|_| AbsState::SUCCEEDED), Truths::UNKNOWN);
        // A function of the clock is opaque: anything.
        let hour = Condition::SqlCompare {
            left: Operand::Call {
                func: crate::lang::sql::Func::Extract(crate::lang::sql::DtField::Hour),
                args: vec![Operand::Clock(Clock::Systimestamp)],
            },
            op: CmpOp::Ge,
            right: Operand::Num(2),
        };
        assert_eq!(eval(&hour, &|_| AbsState::SUCCEEDED), Truths::ANY);
        assert!(!mentions(&hour, 0));
        assert!(mentions(&c, 0));
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
