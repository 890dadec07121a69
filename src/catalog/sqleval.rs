//! Evaluation of one resolved predicate, and of the values it reads, against the facts of the
//! steps at one instant: the one evaluator of conditions.
//!
//! Why here: the engine (`core::eval`, which adds the compiled n-ary AND/OR, the watched
//! operands and incremental evaluation on top), `explain` (through the engine) and the lints
//! (`catalog::truth`, for every abstract step state in which a predicate's inputs are known)
//! must agree on every predicate; the catalog is the lowest layer that knows resolved
//! conditions, so the evaluation lives here once. The values and operators themselves are
//! `lang::sql`; the connectives `lang::logic`.
//!
//! Errors (docs/evaluator.md, "Conditions"): an error Oracle would raise while computing a
//! value (`TO_NUMBER('abc')`, a division by zero, a date format that does not match) makes the
//! predicate that reads the value UNKNOWN, and is reported with it (`explain`). Because AND, OR
//! and NOT are Kleene's, a rule then fires only when it would fire whatever that predicate's
//! value were. Inside a CASE, an error in a WHEN condition is an error of the CASE's value (it
//! does not fall through to the next WHEN), for the same reason.

use super::model::{CaseExpr, CaseWhen, Condition, Operand, StepIdx};
use crate::lang::ast::{CmpOp, SqlAttr, StateTest};
use crate::lang::logic::{in_list, Truth};
use crate::lang::sql::{self, value, SqlError, SqlResult, Value};
use std::borrow::Cow;
use std::cmp::Ordering;

/// How a step completed, if it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pending,
    Succeeded,
    Failed,
    Stopped,
}

/// What a condition can see of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepView {
    /// The state's name (`'SUCCEEDED'`, `'RETRY SCHEDULED'`, …).
    pub state: &'static str,
    pub outcome: Outcome,
    /// NULL until the step completes.
    pub error_code: Option<i64>,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
}

/// The facts a condition is evaluated against.
pub trait Env {
    /// `None`: no such step (its predicates are UNKNOWN).
    fn step(&self, step: StepIdx) -> Option<StepView>;
    /// The evaluation's instant (ms since the epoch, UTC): SYSDATE, running durations.
    fn now(&self) -> i64;
    /// The value of job variable `name` (upper-cased); `None` while it is unset.
    fn variable(&self, _name: &str) -> Option<String> {
        None
    }
}

/// The value of `:step.attribute`.
pub fn attribute(v: Option<StepView>, attr: SqlAttr, now: i64) -> Value<'static> {
    let Some(f) = v else {
        return Value::Null;
    };
    match attr {
        SqlAttr::State => Value::Str(Cow::Borrowed(f.state)),
        SqlAttr::Completed => Value::Str(Cow::Borrowed(if f.outcome == Outcome::Pending {
            "FALSE"
        } else {
            "TRUE"
        })),
        SqlAttr::ErrorCode => f.error_code.map_or(Value::Null, Value::int),
        SqlAttr::StartDate => f.started_at.map_or(Value::Null, Value::Timestamp),
        SqlAttr::EndDate => f.ended_at.map_or(Value::Null, Value::Timestamp),
        // end − start once ended, now − start while running, NULL if never started.
        SqlAttr::Duration => match f.started_at {
            None => Value::Null,
            Some(s) => Value::Interval((f.ended_at.unwrap_or(now) - s).max(0)),
        },
    }
}

/// The value of an operand.
pub fn value<'a, E: Env>(op: &'a Operand, env: &E) -> SqlResult<Value<'a>> {
    Ok(match op {
        Operand::Attr { step, attr } => attribute(env.step(*step), *attr, env.now()),
        // Oracle: '' is NULL, so an empty variable is NULL too.
        Operand::Var(name) => match env.variable(name) {
            Some(v) if !v.is_empty() => Value::Str(Cow::Owned(v)),
            _ => Value::Null,
        },
        Operand::Str(s) => Value::text(Cow::Borrowed(s.as_str())),
        Operand::Num(n) => Value::int(*n),
        Operand::Number(d) => Value::Num(*d),
        Operand::Null => Value::Null,
        Operand::Interval(ms) => Value::Interval(i64::try_from(*ms).unwrap_or(i64::MAX)),
        Operand::Now { offset_millis } => {
            Value::Timestamp(env.now().saturating_add(*offset_millis))
        }
        Operand::DateLit { ms, timestamp } => {
            if *timestamp {
                Value::Timestamp(*ms)
            } else {
                Value::Date(*ms)
            }
        }
        Operand::Clock(c) => c.value(env.now()),
        Operand::Neg(x) => value::negate(&value(x, env)?)?,
        Operand::Binary { op, left, right } => {
            value::binary(*op, &value(left, env)?, &value(right, env)?)?
        }
        Operand::Call { func, args } => sql::call::<SqlError>(
            *func,
            args.len(),
            &mut |i| match args.get(i) {
                Some(a) => value(a, env).map(Value::into_owned),
                None => Ok(Value::Null),
            },
            env.now(),
        )?,
        Operand::Case(case) => {
            let CaseExpr {
                subject,
                arms,
                otherwise,
            } = &**case;
            let subject = match subject {
                Some(s) => Some(value(s, env)?),
                None => None,
            };
            for arm in arms {
                let hit = match (&arm.when, &subject) {
                    (CaseWhen::Cond(c), _) => strict(c, env)? == Truth::True,
                    (CaseWhen::Value(w), Some(s)) => value::equal(s, &value(w, env)?, false)?,
                    (CaseWhen::Value(_), None) => false,
                };
                if hit {
                    return value(&arm.then, env);
                }
            }
            match otherwise {
                Some(e) => value(e, env)?,
                None => Value::Null,
            }
        }
    })
}

/// The truth of a predicate and the first error met computing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafResult {
    pub truth: Truth,
    pub error: Option<SqlError>,
}

/// `l op r` from values that may have failed: an error (or values that do not compare) is
/// UNKNOWN; the error is kept.
fn comparison(
    l: &SqlResult<Value<'_>>,
    op: CmpOp,
    r: &SqlResult<Value<'_>>,
    error: &mut Option<SqlError>,
) -> Truth {
    let ord = match (l, r) {
        (Ok(a), Ok(b)) => value::compare(a, b),
        (Err(e), _) | (_, Err(e)) => Err(e.clone()),
    };
    match ord {
        Ok(o) => Truth::of_comparison(op, o),
        Err(e) => {
            error.get_or_insert(e);
            Truth::Unknown
        }
    }
}

/// Evaluate one leaf of a condition (a chain-syntax test or a SQL predicate).
pub fn leaf<E: Env>(c: &Condition, env: &E) -> LeafResult {
    let mut error = None;
    let truth = match c {
        Condition::Const(b) => Truth::from_bool(*b),
        Condition::StepState {
            step,
            negated,
            test,
        } => match env.step(*step) {
            None => Truth::Unknown,
            Some(f) => {
                let holds = match test {
                    StateTest::Succeeded => f.outcome == Outcome::Succeeded,
                    StateTest::Failed => f.outcome == Outcome::Failed,
                    StateTest::Stopped => f.outcome == Outcome::Stopped,
                    StateTest::Completed => f.outcome != Outcome::Pending,
                };
                Truth::from_bool(holds != *negated)
            }
        },
        Condition::ErrorCodeIn {
            step,
            negated,
            codes,
        } => match env.step(*step).and_then(|f| f.error_code) {
            None => Truth::Unknown,
            Some(code) => Truth::from_bool(codes.contains(&code) != *negated),
        },
        Condition::ErrorCodeCmp { step, op, value } => {
            let code = env.step(*step).and_then(|f| f.error_code);
            Truth::of_comparison(*op, code.map(|c| c.cmp(value)))
        }
        Condition::SqlCompare { left, op, right } => {
            comparison(&value(left, env), *op, &value(right, env), &mut error)
        }
        Condition::SqlIn {
            left,
            negated,
            list,
        } => {
            // x IN (a, b) is x = a OR x = b: TRUE as soon as one is, UNKNOWN for a NULL or an
            // error among the others.
            let l = value(left, env);
            let t = in_list(list.iter().map(|item| {
                let r = value(item, env);
                match comparison(&l, CmpOp::Eq, &r, &mut error) {
                    Truth::True => Some(Ordering::Equal),
                    Truth::False => Some(Ordering::Less),
                    Truth::Unknown => None,
                }
            }));
            t.negate_if(*negated)
        }
        Condition::SqlIsNull { operand, negated } => match value(operand, env) {
            Ok(v) => Truth::from_bool(v.is_null() != *negated),
            Err(e) => {
                error = Some(e);
                Truth::Unknown
            }
        },
        Condition::SqlBetween(b) => {
            let x = value(&b.value, env);
            let ge = comparison(&x, CmpOp::Ge, &value(&b.low, env), &mut error);
            let le = comparison(&x, CmpOp::Le, &value(&b.high, env), &mut error);
            ge.and(le).negate_if(b.negated)
        }
        Condition::SqlLike(l) => match like(&l.value, &l.pattern, l.escape.as_ref(), env) {
            Ok(Some(m)) => Truth::from_bool(m != l.negated),
            Ok(None) => Truth::Unknown,
            Err(e) => {
                error = Some(e);
                Truth::Unknown
            }
        },
        // Junctions are normally compiled by the engine; evaluated here, as Kleene's.
        Condition::And(a, b) | Condition::Or(a, b) => {
            let (x, y) = (leaf(a, env), leaf(b, env));
            error = x.error.or(y.error);
            if matches!(c, Condition::And(..)) {
                x.truth.and(y.truth)
            } else {
                x.truth.or(y.truth)
            }
        }
        Condition::Not(a) => {
            let x = leaf(a, env);
            error = x.error;
            !x.truth
        }
    };
    LeafResult { truth, error }
}

/// LIKE: `None` when a value is NULL. Values that are not text are converted to text.
fn like<E: Env>(
    v: &Operand,
    pattern: &Operand,
    escape: Option<&Operand>,
    env: &E,
) -> SqlResult<Option<bool>> {
    let v = value(v, env)?;
    let p = value(pattern, env)?;
    let esc = match escape {
        None => None,
        Some(e) => match value(e, env)? {
            Value::Null => return Ok(None),
            e => Some(sql::like::escape_char(
                &value::to_text(&e).unwrap_or_default(),
            )?),
        },
    };
    match (value::to_text(&v), value::to_text(&p)) {
        (Some(v), Some(p)) => sql::like::like(&v, &p, esc).map(Some),
        _ => Ok(None),
    }
}

/// A condition inside a value (a searched CASE's WHEN): any error is an error of the value.
pub fn strict<E: Env>(c: &Condition, env: &E) -> SqlResult<Truth> {
    match c {
        Condition::And(..) | Condition::Or(..) | Condition::Not(_) => strict_junction(c, env),
        leaf_cond => {
            let r = leaf(leaf_cond, env);
            match r.error {
                Some(e) => Err(e),
                None => Ok(r.truth),
            }
        }
    }
}

fn strict_junction<E: Env>(c: &Condition, env: &E) -> SqlResult<Truth> {
    Ok(match c {
        Condition::And(a, b) => strict(a, env)?.and(strict(b, env)?),
        Condition::Or(a, b) => strict(a, env)?.or(strict(b, env)?),
        Condition::Not(a) => !strict(a, env)?,
        other => strict(other, env)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::model::{BetweenPred, CaseArm, LikePred};
    use crate::lang::sql::{BinOp, Clock, Func};

    struct Facts(Vec<StepView>, i64);

    impl Env for Facts {
        fn step(&self, step: StepIdx) -> Option<StepView> {
            self.0.get(step).copied()
        }
        fn now(&self) -> i64 {
            self.1
        }
    }

    fn failed(code: i64) -> StepView {
        StepView {
            state: "FAILED",
            outcome: Outcome::Failed,
            error_code: Some(code),
            started_at: Some(1_000),
            ended_at: Some(61_000),
        }
    }

    const WAITING: StepView = StepView {
        state: "NOT_STARTED",
        outcome: Outcome::Pending,
        error_code: None,
        started_at: None,
        ended_at: None,
    };

    fn code() -> Operand {
        Operand::Attr {
            step: 0,
            attr: SqlAttr::ErrorCode,
        }
    }

    fn s(t: &str) -> Operand {
        Operand::Str(t.to_string())
    }

    fn call(func: Func, args: Vec<Operand>) -> Operand {
        Operand::Call { func, args }
    }

    fn truth(c: &Condition, f: &Facts) -> Truth {
        leaf(c, f).truth
    }

    #[test]
    fn nvl_and_arithmetic_follow_nulls() {
        let c = Condition::SqlCompare {
            left: call(Func::Nvl, vec![code(), Operand::Num(0)]),
            op: CmpOp::Eq,
            right: Operand::Num(0),
        };
        assert_eq!(truth(&c, &Facts(vec![WAITING], 0)), Truth::True);
        assert_eq!(truth(&c, &Facts(vec![failed(3)], 0)), Truth::False);
        let plus = Condition::SqlCompare {
            left: Operand::Binary {
                op: BinOp::Add,
                left: Box::new(code()),
                right: Box::new(Operand::Num(1)),
            },
            op: CmpOp::Eq,
            right: Operand::Num(4),
        };
        assert_eq!(truth(&plus, &Facts(vec![failed(3)], 0)), Truth::True);
        assert_eq!(truth(&plus, &Facts(vec![WAITING], 0)), Truth::Unknown);
    }

    #[test]
    fn errors_make_the_predicate_unknown_and_are_reported() {
        let bad = Condition::SqlCompare {
            left: call(Func::ToNumber, vec![s("abc")]),
            op: CmpOp::Eq,
            right: Operand::Num(1),
        };
        let r = leaf(&bad, &Facts(vec![], 0));
        assert_eq!(r.truth, Truth::Unknown);
        assert_eq!(r.error.map(|e| e.code), Some("ORA-01722"));
        // NVL does not catch the error (it evaluates both arguments, as Oracle does).
        let nvl = Condition::SqlIsNull {
            operand: call(
                Func::Nvl,
                vec![Operand::Num(1), call(Func::ToNumber, vec![s("x")])],
            ),
            negated: false,
        };
        assert_eq!(truth(&nvl, &Facts(vec![], 0)), Truth::Unknown);
        // IN: a match wins over an erroring item; otherwise UNKNOWN.
        let in_list = |x| Condition::SqlIn {
            left: Operand::Num(x),
            negated: false,
            list: vec![Operand::Num(1), call(Func::ToNumber, vec![s("x")])],
        };
        assert_eq!(truth(&in_list(1), &Facts(vec![], 0)), Truth::True);
        assert_eq!(truth(&in_list(2), &Facts(vec![], 0)), Truth::Unknown);
    }

    #[test]
    fn between_and_like() {
        let between = |negated| {
            Condition::SqlBetween(Box::new(BetweenPred {
                value: code(),
                negated,
                low: Operand::Num(1),
                high: Operand::Num(99),
            }))
        };
        assert_eq!(
            truth(&between(false), &Facts(vec![failed(99)], 0)),
            Truth::True
        );
        assert_eq!(
            truth(&between(false), &Facts(vec![failed(100)], 0)),
            Truth::False
        );
        assert_eq!(
            truth(&between(true), &Facts(vec![failed(100)], 0)),
            Truth::True
        );
        assert_eq!(
            truth(&between(true), &Facts(vec![WAITING], 0)),
            Truth::Unknown
        );
        let like = |pattern: &str, escape: Option<&str>| {
            Condition::SqlLike(Box::new(LikePred {
                value: Operand::Attr {
                    step: 0,
                    attr: SqlAttr::State,
                },
                negated: false,
                pattern: s(pattern),
                escape: escape.map(s),
            }))
        };
        assert_eq!(
            truth(&like("FAIL%", None), &Facts(vec![failed(1)], 0)),
            Truth::True
        );
        assert_eq!(
            truth(&like("fail%", None), &Facts(vec![failed(1)], 0)),
            Truth::False
        );
        let bad = leaf(&like("F!", Some("!")), &Facts(vec![failed(1)], 0));
        assert_eq!(bad.error.map(|e| e.code), Some("ORA-01424"));
        let null_pattern = Condition::SqlLike(Box::new(LikePred {
            value: s("x"),
            negated: true,
            pattern: Operand::Null,
            escape: None,
        }));
        assert_eq!(truth(&null_pattern, &Facts(vec![], 0)), Truth::Unknown);
    }

    #[test]
    fn case_takes_the_first_true_arm_and_errors_do_not_fall_through() {
        let when_code = |n| {
            CaseWhen::Cond(Condition::SqlCompare {
                left: code(),
                op: CmpOp::Gt,
                right: Operand::Num(n),
            })
        };
        let case = Operand::Case(Box::new(CaseExpr {
            subject: None,
            arms: vec![
                CaseArm {
                    when: when_code(100),
                    then: s("big"),
                },
                CaseArm {
                    when: when_code(0),
                    then: s("small"),
                },
            ],
            otherwise: Some(s("none")),
        }));
        let is = |t: &str| Condition::SqlCompare {
            left: case.clone(),
            op: CmpOp::Eq,
            right: s(t),
        };
        assert_eq!(truth(&is("big"), &Facts(vec![failed(200)], 0)), Truth::True);
        assert_eq!(truth(&is("small"), &Facts(vec![failed(2)], 0)), Truth::True);
        assert_eq!(
            truth(&is("none"), &Facts(vec![WAITING], 0)),
            Truth::True,
            "UNKNOWN is not TRUE"
        );
        let erroring = Operand::Case(Box::new(CaseExpr {
            subject: None,
            arms: vec![CaseArm {
                when: CaseWhen::Cond(Condition::SqlCompare {
                    left: call(Func::ToNumber, vec![s("x")]),
                    op: CmpOp::Eq,
                    right: Operand::Num(1),
                }),
                then: s("a"),
            }],
            otherwise: Some(s("b")),
        }));
        let c = Condition::SqlCompare {
            left: erroring,
            op: CmpOp::Eq,
            right: s("b"),
        };
        assert_eq!(leaf(&c, &Facts(vec![], 0)).truth, Truth::Unknown);
        // Simple CASE: NULL never matches.
        let simple = Operand::Case(Box::new(CaseExpr {
            subject: Some(code()),
            arms: vec![CaseArm {
                when: CaseWhen::Value(Operand::Null),
                then: s("null"),
            }],
            otherwise: None,
        }));
        let c = Condition::SqlIsNull {
            operand: simple,
            negated: false,
        };
        assert_eq!(truth(&c, &Facts(vec![WAITING], 0)), Truth::True);
    }

    /// Catalogs stored by earlier versions (`meta/catalog`, JSON) still read and evaluate:
    /// `SYSTIMESTAMP - INTERVAL '1' HOUR` was stored as `Now { offset_millis }`.
    #[test]
    fn stored_conditions_of_earlier_versions_still_evaluate() {
        let old = r#"{"SqlCompare":{"left":{"Attr":{"step":0,"attr":"EndDate"}},"op":"Gt","right":{"Now":{"offset_millis":-3600000}}}}"#;
        let c: Condition = serde_json::from_str(old).expect("old JSON decodes");
        let ended = |now| Facts(vec![failed(1)], now);
        assert_eq!(truth(&c, &ended(61_000 + 3_599_999)), Truth::True);
        assert_eq!(truth(&c, &ended(61_000 + 3_600_000)), Truth::False);
        let round = serde_json::to_string(&c).expect("encodes");
        assert_eq!(round, old);
    }

    #[test]
    fn clocks_read_the_evaluation_instant() {
        let now = 86_400_000 * 3 + 1_500;
        let f = Facts(vec![failed(1)], now);
        assert_eq!(
            value(&Operand::Clock(Clock::Sysdate), &f),
            Ok(Value::Date(86_400_000 * 3 + 1_000))
        );
        assert_eq!(
            value(&Operand::Clock(Clock::Systimestamp), &f),
            Ok(Value::Timestamp(now))
        );
        let duration = Operand::Attr {
            step: 0,
            attr: SqlAttr::Duration,
        };
        assert_eq!(value(&duration, &f), Ok(Value::Interval(60_000)));
    }
}
