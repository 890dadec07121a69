//! Three-valued (SQL) evaluation of resolved rule conditions.
//!
//! Rule conditions follow SQL logic: a comparison with NULL is UNKNOWN, `NOT (UNKNOWN)` is
//! UNKNOWN, and a rule fires only when its condition is TRUE. Conditions are first compiled into
//! an [`Expr`] whose AND/OR chains are flattened (n-ary), so a rule that joins thousands of steps
//! (`B1 SUCCEEDED AND B2 SUCCEEDED AND ...`) is evaluated without deep recursion.
//!
//! This module is public so views (`explain`) can evaluate a condition exactly as the engine does.
//! Each leaf (a chain-syntax test or a SQL predicate with its values) is evaluated by
//! `catalog::sqleval`, which the lints use too; the value rules themselves (NULL, numeric
//! strings, functions) are `lang::sql` and the Kleene connectives `lang::logic`.

use super::types::StepState;
use crate::catalog::sqleval::{self, Env, LeafResult, Outcome, StepView};
use crate::catalog::{Condition, StepIdx};
use crate::lang::duration::Millis;
pub use crate::lang::logic::Truth;

/// What a condition can see of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepFacts {
    pub state: StepState,
    /// NULL until the step completes.
    pub error_code: Option<i64>,
    pub started_at: Option<Millis>,
    pub ended_at: Option<Millis>,
}

impl StepFacts {
    /// What the shared evaluator sees of the step.
    pub fn view(&self) -> StepView {
        StepView {
            state: self.state.as_str(),
            outcome: match self.state {
                StepState::Succeeded => Outcome::Succeeded,
                StepState::Failed => Outcome::Failed,
                StepState::Stopped => Outcome::Stopped,
                _ => Outcome::Pending,
            },
            error_code: self.error_code,
            started_at: self.started_at.map(clamp_ms),
            ended_at: self.ended_at.map(clamp_ms),
        }
    }
}

fn clamp_ms(t: Millis) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

/// The job variables an evaluation sees: name (upper-cased) → value, `None` when unset.
pub type Vars<'a> = &'a dyn Fn(&str) -> Option<String>;

/// No variable is set (conditions evaluated outside a job).
pub fn no_vars(_: &str) -> Option<String> {
    None
}

/// The step facts of one evaluation, as the shared evaluator reads them.
struct FactsEnv<'f> {
    facts: &'f dyn Fn(StepIdx) -> Option<StepFacts>,
    vars: Vars<'f>,
    now: Millis,
}

impl Env for FactsEnv<'_> {
    fn step(&self, step: StepIdx) -> Option<StepView> {
        (self.facts)(step).map(|f| f.view())
    }
    fn now(&self) -> i64 {
        clamp_ms(self.now)
    }
    fn variable(&self, name: &str) -> Option<String> {
        (self.vars)(name)
    }
}

/// A compiled condition: flattened AND/OR, leaves kept as the catalog wrote them.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Const(bool),
    Leaf(Condition),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
}

#[derive(Clone, Copy, PartialEq)]
enum Junction {
    And,
    Or,
}

impl Expr {
    /// Compile a resolved condition. Chains of AND (or of OR) become one n-ary node, collected
    /// with an explicit stack, so deep left-associated chains do not recurse.
    pub fn compile(cond: &Condition) -> Expr {
        match cond {
            Condition::Const(b) => Expr::Const(*b),
            Condition::And(..) => Expr::And(Self::flatten(cond, Junction::And)),
            Condition::Or(..) => Expr::Or(Self::flatten(cond, Junction::Or)),
            Condition::Not(inner) => Expr::Not(Box::new(Expr::compile(inner))),
            leaf => Expr::Leaf(leaf.clone()),
        }
    }

    fn flatten(cond: &Condition, junction: Junction) -> Vec<Expr> {
        let mut out = Vec::new();
        let mut stack = vec![cond];
        while let Some(c) = stack.pop() {
            match (c, junction) {
                (Condition::And(a, b), Junction::And) | (Condition::Or(a, b), Junction::Or) => {
                    stack.push(b);
                    stack.push(a);
                }
                _ => out.push(Expr::compile(c)),
            }
        }
        out
    }

    /// Every step the expression mentions (may repeat).
    pub fn steps(&self, out: &mut Vec<StepIdx>) {
        let mut stack = vec![self];
        while let Some(e) = stack.pop() {
            match e {
                Expr::Const(_) => {}
                Expr::Leaf(c) => c.steps(out),
                Expr::And(v) | Expr::Or(v) => stack.extend(v.iter()),
                Expr::Not(x) => stack.push(x),
            }
        }
    }

    /// True when the value can change with time alone.
    pub fn is_time_dependent(&self) -> bool {
        match self {
            Expr::Const(_) => false,
            Expr::Leaf(c) => c.is_time_dependent(),
            Expr::And(v) | Expr::Or(v) => v.iter().any(|e| e.is_time_dependent()),
            Expr::Not(x) => x.is_time_dependent(),
        }
    }

    /// Like [`Expr::eval`], but for a top-level n-ary AND (OR) starts with the operand that was
    /// FALSE (TRUE) last time, kept in `watch`, and scans on from there. The result is the
    /// same (AND/OR are order-independent in three-valued logic); the cost of re-evaluating a
    /// fan-in rule `B1 SUCCEEDED AND ... AND Bn SUCCEEDED` after each Bi completes drops from
    /// O(n) to O(1) amortised, because the watched operand usually still decides the result.
    pub fn eval_watched(
        &self,
        facts: &dyn Fn(StepIdx) -> Option<StepFacts>,
        vars: Vars<'_>,
        now: Millis,
        watch: &mut u32,
    ) -> Truth {
        let (operands, decisive) = match self {
            Expr::And(v) => (v, Truth::False),
            Expr::Or(v) => (v, Truth::True),
            other => return other.eval_vars(facts, vars, now),
        };
        let n = operands.len();
        if n == 0 {
            return self.eval_vars(facts, vars, now);
        }
        let start = (*watch as usize).min(n - 1);
        let mut unknown = false;
        for k in 0..n {
            let j = (start + k) % n;
            match operands[j].eval_vars(facts, vars, now) {
                t if t == decisive => {
                    *watch = j as u32;
                    return decisive;
                }
                Truth::Unknown => unknown = true,
                _ => {}
            }
        }
        if unknown {
            Truth::Unknown
        } else {
            !decisive
        }
    }

    /// Evaluate against step facts at instant `now` (SYSTIMESTAMP, running durations), with no
    /// job variable set.
    pub fn eval(&self, facts: &dyn Fn(StepIdx) -> Option<StepFacts>, now: Millis) -> Truth {
        self.eval_vars(facts, &no_vars, now)
    }

    /// Evaluate against step facts and job variables at instant `now`.
    pub fn eval_vars(
        &self,
        facts: &dyn Fn(StepIdx) -> Option<StepFacts>,
        vars: Vars<'_>,
        now: Millis,
    ) -> Truth {
        match self {
            Expr::Const(b) => Truth::from_bool(*b),
            Expr::Leaf(c) => eval_leaf(c, facts, vars, now),
            Expr::And(v) => {
                let mut acc = Truth::True;
                for e in v {
                    match e.eval_vars(facts, vars, now) {
                        Truth::False => return Truth::False,
                        Truth::Unknown => acc = Truth::Unknown,
                        Truth::True => {}
                    }
                }
                acc
            }
            Expr::Or(v) => {
                let mut acc = Truth::False;
                for e in v {
                    match e.eval_vars(facts, vars, now) {
                        Truth::True => return Truth::True,
                        Truth::Unknown => acc = Truth::Unknown,
                        Truth::False => {}
                    }
                }
                acc
            }
            Expr::Not(x) => !x.eval_vars(facts, vars, now),
        }
    }
}

/// Evaluate one resolved condition (convenience for views; the engine caches compiled forms).
pub fn evaluate_condition(
    cond: &Condition,
    facts: &dyn Fn(StepIdx) -> Option<StepFacts>,
    now: Millis,
) -> Truth {
    Expr::compile(cond).eval(facts, now)
}

/// [`evaluate_condition`] with the job's variables.
pub fn evaluate_condition_vars(
    cond: &Condition,
    facts: &dyn Fn(StepIdx) -> Option<StepFacts>,
    vars: Vars<'_>,
    now: Millis,
) -> Truth {
    Expr::compile(cond).eval_vars(facts, vars, now)
}

fn eval_leaf(
    c: &Condition,
    facts: &dyn Fn(StepIdx) -> Option<StepFacts>,
    vars: Vars<'_>,
    now: Millis,
) -> Truth {
    match c {
        // Junctions are compiled away; evaluate defensively if one arrives here.
        Condition::And(..) | Condition::Or(..) | Condition::Not(_) => {
            Expr::compile(c).eval_vars(facts, vars, now)
        }
        leaf => sqleval::leaf(leaf, &FactsEnv { facts, vars, now }).truth,
    }
}

/// One predicate as the engine evaluates it, with the error (if any) that made it UNKNOWN
/// (`explain` shows it).
pub fn evaluate_predicate(
    cond: &Condition,
    facts: &dyn Fn(StepIdx) -> Option<StepFacts>,
    vars: Vars<'_>,
    now: Millis,
) -> LeafResult {
    sqleval::leaf(cond, &FactsEnv { facts, vars, now })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Operand;
    use crate::lang::ast::{CmpOp, SqlAttr, StateTest};

    fn facts_of(state: StepState, code: Option<i64>) -> impl Fn(StepIdx) -> Option<StepFacts> {
        move |_| {
            Some(StepFacts {
                state,
                error_code: code,
                started_at: Some(1000),
                ended_at: if state.is_completed() {
                    Some(4000)
                } else {
                    None
                },
            })
        }
    }

    fn attr(attr: SqlAttr) -> Operand {
        Operand::Attr { step: 0, attr }
    }

    #[test]
    fn error_code_is_null_until_completed() {
        let c = Condition::ErrorCodeCmp {
            step: 0,
            op: CmpOp::Ne,
            value: 20100,
        };
        assert_eq!(
            evaluate_condition(&c, &facts_of(StepState::Running, None), 0),
            Truth::Unknown
        );
        assert_eq!(
            evaluate_condition(&c, &facts_of(StepState::Succeeded, Some(0)), 0),
            Truth::True
        );
        let not = Condition::Not(Box::new(c));
        assert_eq!(
            evaluate_condition(&not, &facts_of(StepState::Running, None), 0),
            Truth::Unknown
        );
    }

    #[test]
    fn not_succeeded_is_true_before_running() {
        let c = Condition::StepState {
            step: 0,
            negated: true,
            test: StateTest::Succeeded,
        };
        assert_eq!(
            evaluate_condition(&c, &facts_of(StepState::NotStarted, None), 0),
            Truth::True
        );
    }

    #[test]
    fn sql_numbers_and_strings_coerce() {
        let c = Condition::SqlCompare {
            left: attr(SqlAttr::ErrorCode),
            op: CmpOp::Eq,
            right: Operand::Str("20100".into()),
        };
        let f = facts_of(StepState::Failed, Some(20100));
        assert_eq!(evaluate_condition(&c, &f, 0), Truth::True);
        let bad = Condition::SqlCompare {
            left: attr(SqlAttr::ErrorCode),
            op: CmpOp::Eq,
            right: Operand::Str("abc".into()),
        };
        assert_eq!(evaluate_condition(&bad, &f, 0), Truth::Unknown);
        let state = Condition::SqlCompare {
            left: attr(SqlAttr::State),
            op: CmpOp::Eq,
            right: Operand::Str("FAILED".into()),
        };
        assert_eq!(evaluate_condition(&state, &f, 0), Truth::True);
        let completed = Condition::SqlCompare {
            left: attr(SqlAttr::Completed),
            op: CmpOp::Eq,
            right: Operand::Str("TRUE".into()),
        };
        assert_eq!(evaluate_condition(&completed, &f, 0), Truth::True);
    }

    #[test]
    fn durations_and_systimestamp() {
        let running = facts_of(StepState::Running, None);
        let long = Condition::SqlCompare {
            left: attr(SqlAttr::Duration),
            op: CmpOp::Gt,
            right: Operand::Interval(5000),
        };
        assert_eq!(evaluate_condition(&long, &running, 3000), Truth::False);
        assert_eq!(evaluate_condition(&long, &running, 7000), Truth::True);
        let recent = Condition::SqlCompare {
            left: attr(SqlAttr::EndDate),
            op: CmpOp::Gt,
            right: Operand::Now {
                offset_millis: -3_600_000,
            },
        };
        let done = facts_of(StepState::Succeeded, Some(0));
        assert_eq!(evaluate_condition(&recent, &done, 5000), Truth::True);
        assert_eq!(
            evaluate_condition(&recent, &done, 4000 + 3_600_001),
            Truth::False
        );
        assert_eq!(evaluate_condition(&recent, &running, 5000), Truth::Unknown);
    }

    #[test]
    fn in_lists_follow_sql() {
        let f = facts_of(StepState::Failed, Some(3));
        let c = |negated, list: Vec<i64>| Condition::SqlIn {
            left: attr(SqlAttr::ErrorCode),
            negated,
            list: list.into_iter().map(Operand::Num).collect(),
        };
        assert_eq!(
            evaluate_condition(&c(false, vec![1, 3]), &f, 0),
            Truth::True
        );
        assert_eq!(
            evaluate_condition(&c(true, vec![1, 3]), &f, 0),
            Truth::False
        );
        assert_eq!(evaluate_condition(&c(true, vec![1, 2]), &f, 0), Truth::True);
        let running = facts_of(StepState::Running, None);
        assert_eq!(
            evaluate_condition(&c(true, vec![1, 2]), &running, 0),
            Truth::Unknown
        );
    }

    #[test]
    fn watched_evaluation_equals_plain_evaluation() {
        let leaf = |step| Condition::StepState {
            step,
            negated: false,
            test: StateTest::Succeeded,
        };
        let unknown = |step| Condition::ErrorCodeCmp {
            step,
            op: CmpOp::Eq,
            value: 0,
        };
        let mut and = leaf(0);
        let mut or = unknown(0);
        for s in 1..6 {
            and = Condition::And(
                Box::new(and),
                Box::new(if s % 2 == 0 { leaf(s) } else { unknown(s) }),
            );
            or = Condition::Or(Box::new(or), Box::new(leaf(s)));
        }
        let states = [StepState::Succeeded, StepState::Failed, StepState::Running];
        for e in [Expr::compile(&and), Expr::compile(&or)] {
            let mut watch = 0;
            for mask in 0..729u32 {
                let facts = move |idx: usize| {
                    let state = states[(mask / 3u32.pow(idx as u32) % 3) as usize];
                    Some(StepFacts {
                        state,
                        error_code: match state {
                            StepState::Succeeded => Some(0),
                            StepState::Failed => Some(1),
                            _ => None,
                        },
                        started_at: None,
                        ended_at: None,
                    })
                };
                assert_eq!(
                    e.eval_watched(&facts, &no_vars, 0, &mut watch),
                    e.eval(&facts, 0)
                );
            }
        }
    }

    #[test]
    fn deep_and_chains_do_not_recurse() {
        let mut c = Condition::Const(true);
        for _ in 0..100_000 {
            c = Condition::And(Box::new(c), Box::new(Condition::Const(true)));
        }
        let e = Expr::compile(&c);
        assert_eq!(e.eval(&|_| None, 0), Truth::True);
        // Dismantle iteratively so the test itself does not overflow on drop.
        let mut cur = c;
        while let Condition::And(a, _) = cur {
            cur = *a;
        }
    }
}
