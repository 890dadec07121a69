//! What `explain` needs to talk about rule conditions: the truth of a condition against the
//! step records the store holds, and predicates and actions written back in the rule language.
//!
//! Why no evaluator here: `explain` must show exactly what the engine sees, so it adapts the
//! job's step records into the engine's [`StepFacts`] and calls the engine's own evaluator
//! ([`crate::core::eval::evaluate_condition`], SQL three-valued logic, docs/evaluator.md)
//! on the whole condition and on each predicate. Whether a rule actually *fired* is not decided
//! here: it is read from the job's timeline (what the engine did).

use crate::catalog::sqleval::LeafResult;
use crate::catalog::{CaseWhen, Chain, Condition, EndAction, Operand, Rule, RuleAction, StepIdx};
use crate::core::eval::{evaluate_condition_vars, evaluate_predicate, StepFacts};
use crate::core::types::{StepRecord, StepState};
use crate::core::Truth;
use crate::lang::ast::{CmpOp, SqlAttr, StateTest};
use crate::lang::duration::Millis;
use crate::lang::sql::value::number_text;
use crate::lang::sql::{Func, TrimSide, Value};
use std::cmp::Ordering;

/// The states of one chain instance's steps, by step index (`None`: no record yet, i.e. the
/// step has not started).
pub struct InstanceStates<'a> {
    pub by_index: Vec<Option<&'a StepRecord>>,
    pub now: Millis,
    /// The job's variables (parameters and what steps set), as the engine sees them.
    pub vars: std::collections::BTreeMap<String, String>,
}

impl<'a> InstanceStates<'a> {
    /// Match step records of one chain instance (`parent`: the outer step's subname, `None` at
    /// top level) to the chain's steps by name.
    pub fn new(chain: &Chain, parent: Option<&str>, steps: &'a [StepRecord], now: Millis) -> Self {
        let by_index = chain
            .steps
            .iter()
            .map(|s| {
                steps.iter().find(|r| {
                    r.parent_subname.as_deref() == parent
                        && r.step == s.name
                        && r.chain == chain.name
                })
            })
            .collect();
        InstanceStates {
            by_index,
            now,
            vars: Default::default(),
        }
    }

    /// What the engine's evaluator sees of step `idx`: a step with no record has not started
    /// (the engine keeps every step of an instance, starting NOT_STARTED); `None` for an index
    /// the chain does not have.
    pub fn facts(&self, idx: StepIdx) -> Option<StepFacts> {
        let record = *self.by_index.get(idx)?;
        Some(match record {
            Some(r) => StepFacts {
                state: r.state,
                error_code: r.error_code,
                started_at: r.started_at,
                ended_at: r.ended_at,
            },
            None => StepFacts {
                state: StepState::NotStarted,
                error_code: None,
                started_at: None,
                ended_at: None,
            },
        })
    }

    /// The truth of `cond` (a whole condition or one predicate) as the engine evaluates it now.
    pub fn truth(&self, cond: &Condition) -> Truth {
        evaluate_condition_vars(cond, &|idx| self.facts(idx), &|n| self.var(n), self.now)
    }

    /// One predicate as the engine evaluates it now, with the error that made it UNKNOWN.
    pub fn predicate(&self, leaf: &Condition) -> LeafResult {
        evaluate_predicate(leaf, &|idx| self.facts(idx), &|n| self.var(n), self.now)
    }

    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }
}

/// Every leaf predicate of `cond` in reading order (an explicit stack: conditions that join
/// thousands of steps must not exhaust the call stack).
pub fn leaves(cond: &Condition) -> Vec<&Condition> {
    let mut out = Vec::new();
    let mut stack = vec![cond];
    while let Some(c) = stack.pop() {
        match c {
            Condition::And(a, b) | Condition::Or(a, b) => {
                stack.push(b);
                stack.push(a);
            }
            Condition::Not(a) => stack.push(a),
            leaf => out.push(leaf),
        }
    }
    out
}

// ---------------------------------------------------------------- text

fn op_text(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "=",
        CmpOp::Ne => "!=",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
    }
}

/// A name as the rule language writes it: bare when it is a plain upper-case identifier,
/// double-quoted otherwise.
pub fn name_text(name: &str) -> String {
    let mut chars = name.chars();
    let plain = chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || "_$#".contains(c));
    if plain {
        name.to_string()
    } else {
        format!("\"{name}\"")
    }
}

fn step_name(chain: &Chain, idx: StepIdx) -> String {
    chain
        .steps
        .get(idx)
        .map_or_else(|| format!("#{idx}"), |s| name_text(&s.name))
}

fn interval_text(ms: i64) -> String {
    let (n, unit) = if ms % 86_400_000 == 0 && ms != 0 {
        (ms / 86_400_000, "DAY")
    } else if ms % 3_600_000 == 0 && ms != 0 {
        (ms / 3_600_000, "HOUR")
    } else if ms % 60_000 == 0 && ms != 0 {
        (ms / 60_000, "MINUTE")
    } else if ms % 1000 == 0 {
        (ms / 1000, "SECOND")
    } else {
        return format!("INTERVAL '{}' SECOND", ms as f64 / 1000.0);
    };
    format!("INTERVAL '{n}' {unit}")
}

fn operand_text(chain: &Chain, op: &Operand) -> String {
    write_operand(chain, op, 0)
}

/// A value written back in the rule language, parenthesised where `* /` must bind before
/// `+ - ||` (`min` is the binding strength the context needs).
fn write_operand(chain: &Chain, op: &Operand, min: u8) -> String {
    match op {
        Operand::Attr { step, attr } => {
            let a = match attr {
                SqlAttr::State => "state",
                SqlAttr::Completed => "completed",
                SqlAttr::ErrorCode => "error_code",
                SqlAttr::StartDate => "start_date",
                SqlAttr::EndDate => "end_date",
                SqlAttr::Duration => "duration",
            };
            format!(":{}.{a}", step_name(chain, *step))
        }
        Operand::Var(name) => format!(":VAR.{}", name_text(name)),
        Operand::Str(s) => format!("'{}'", s.replace('\'', "''")),
        Operand::Num(n) => n.to_string(),
        Operand::Number(d) => number_text(*d),
        Operand::Null => "NULL".to_string(),
        Operand::Interval(ms) => interval_text(i64::try_from(*ms).unwrap_or(i64::MAX)),
        Operand::Now { offset_millis } => match offset_millis.cmp(&0) {
            Ordering::Equal => "SYSTIMESTAMP".to_string(),
            Ordering::Less => format!("SYSTIMESTAMP - {}", interval_text(-offset_millis)),
            Ordering::Greater => format!("SYSTIMESTAMP + {}", interval_text(*offset_millis)),
        },
        Operand::DateLit { ms, timestamp } => if *timestamp {
            Value::Timestamp(*ms)
        } else {
            Value::Date(*ms)
        }
        .literal(),
        Operand::Clock(c) => c.as_str().to_string(),
        Operand::Neg(x) => format!("-{}", write_operand(chain, x, 3)),
        Operand::Binary { op, left, right } => {
            let p = op.precedence();
            let text = format!(
                "{} {} {}",
                write_operand(chain, left, p),
                op.as_str(),
                write_operand(chain, right, p + 1)
            );
            if p < min {
                format!("({text})")
            } else {
                text
            }
        }
        Operand::Call { func, args } => {
            let arg = |i: usize| {
                args.get(i)
                    .map_or_else(String::new, |a| write_operand(chain, a, 0))
            };
            match func {
                Func::Extract(field) => format!("EXTRACT({} FROM {})", field.as_str(), arg(0)),
                Func::Trim(side) => {
                    let side = match side {
                        TrimSide::Both => "",
                        TrimSide::Leading => "LEADING ",
                        TrimSide::Trailing => "TRAILING ",
                    };
                    match args.len() {
                        1 if side.is_empty() => format!("TRIM({})", arg(0)),
                        1 => format!("TRIM({side}FROM {})", arg(0)),
                        _ => format!("TRIM({side}{} FROM {})", arg(1), arg(0)),
                    }
                }
                f => format!(
                    "{}({})",
                    f.name(),
                    (0..args.len()).map(arg).collect::<Vec<_>>().join(", ")
                ),
            }
        }
        Operand::Case(case) => {
            let (subject, arms, otherwise) = (&case.subject, &case.arms, &case.otherwise);
            let mut out = "CASE".to_string();
            if let Some(s) = subject {
                out.push(' ');
                out.push_str(&write_operand(chain, s, 0));
            }
            for arm in arms {
                let when = match &arm.when {
                    CaseWhen::Cond(c) => predicate_text(chain, c),
                    CaseWhen::Value(v) => write_operand(chain, v, 0),
                };
                out.push_str(&format!(
                    " WHEN {when} THEN {}",
                    write_operand(chain, &arm.then, 0)
                ));
            }
            if let Some(e) = otherwise {
                out.push_str(&format!(" ELSE {}", write_operand(chain, e, 0)));
            }
            out.push_str(" END");
            out
        }
    }
}

/// One predicate written back in the rule language (`A SUCCEEDED`, `B ERROR_CODE != 20100`,
/// `:A.error_code IS NULL`). For a compound condition, the whole condition.
pub fn predicate_text(chain: &Chain, cond: &Condition) -> String {
    let list = |items: Vec<String>| items.join(", ");
    match cond {
        Condition::Const(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Condition::StepState {
            step,
            negated,
            test,
        } => {
            let t = match test {
                StateTest::Succeeded => "SUCCEEDED",
                StateTest::Failed => "FAILED",
                StateTest::Stopped => "STOPPED",
                StateTest::Completed => "COMPLETED",
            };
            let not = if *negated { "NOT " } else { "" };
            format!("{} {not}{t}", step_name(chain, *step))
        }
        Condition::ErrorCodeIn {
            step,
            negated,
            codes,
        } => format!(
            "{} ERROR_CODE {}IN ({})",
            step_name(chain, *step),
            if *negated { "NOT " } else { "" },
            list(codes.iter().map(|c| c.to_string()).collect())
        ),
        Condition::ErrorCodeCmp { step, op, value } => {
            format!(
                "{} ERROR_CODE {} {value}",
                step_name(chain, *step),
                op_text(*op)
            )
        }
        Condition::SqlCompare { left, op, right } => format!(
            "{} {} {}",
            operand_text(chain, left),
            op_text(*op),
            operand_text(chain, right)
        ),
        Condition::SqlIn {
            left,
            negated,
            list: items,
        } => format!(
            "{} {}IN ({})",
            operand_text(chain, left),
            if *negated { "NOT " } else { "" },
            list(items.iter().map(|o| operand_text(chain, o)).collect())
        ),
        Condition::SqlIsNull { operand, negated } => format!(
            "{} IS {}NULL",
            operand_text(chain, operand),
            if *negated { "NOT " } else { "" }
        ),
        Condition::SqlLike(l) => format!(
            "{} {}LIKE {}{}",
            operand_text(chain, &l.value),
            if l.negated { "NOT " } else { "" },
            operand_text(chain, &l.pattern),
            l.escape
                .as_ref()
                .map(|e| format!(" ESCAPE {}", operand_text(chain, e)))
                .unwrap_or_default()
        ),
        Condition::SqlBetween(b) => format!(
            "{} {}BETWEEN {} AND {}",
            operand_text(chain, &b.value),
            if b.negated { "NOT " } else { "" },
            operand_text(chain, &b.low),
            operand_text(chain, &b.high)
        ),
        Condition::And(a, b) => format!(
            "{} AND {}",
            predicate_text(chain, a),
            predicate_text(chain, b)
        ),
        Condition::Or(a, b) => format!(
            "({} OR {})",
            predicate_text(chain, a),
            predicate_text(chain, b)
        ),
        Condition::Not(a) => format!("NOT ({})", predicate_text(chain, a)),
    }
}

/// The action of a rule in words, for explanations: `START C`, `END 0`, `STOP B`.
pub fn action_text(chain: &Chain, rule: &Rule) -> String {
    if !rule.action_text.is_empty() {
        return rule.action_text.clone();
    }
    let names = |steps: &[StepIdx]| {
        steps
            .iter()
            .map(|s| step_name(chain, *s))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match &rule.action {
        RuleAction::Start { steps, .. } => format!("START {}", names(steps)),
        RuleAction::Stop { steps } => format!("STOP {}", names(steps)),
        RuleAction::End(EndAction::Code(n)) => format!("END {n}"),
        RuleAction::End(EndAction::StepErrorCode(s)) => {
            format!("END {}.ERROR_CODE", step_name(chain, *s))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Step, StepAttributes, StepTarget};

    fn eval(cond: &Condition, st: &InstanceStates<'_>) -> Truth {
        st.truth(cond)
    }

    fn chain() -> Chain {
        let step = |n: &str| Step {
            name: n.into(),
            kind: StepTarget::Program("P".into()),
            attrs: StepAttributes::default(),
        };
        Chain {
            name: "C".into(),
            comment: None,
            evaluation_interval: None,
            steps: vec![step("A"), step("B"), step("lower")],
            rules: vec![],
            source: "c.chain:1".into(),
        }
    }

    fn rec(step: &str, state: StepState, code: Option<i64>) -> StepRecord {
        StepRecord {
            subname: step.into(),
            parent_subname: None,
            chain: "C".into(),
            step: step.into(),
            state,
            error_code: code,
            attempts: 1,
            started_at: Some(1_000),
            ended_at: if state.is_completed() {
                Some(5_000)
            } else {
                None
            },
            skip: false,
            pause: false,
            pause_before: false,
            restart_on_recovery: false,
            restart_on_failure: false,
            log_id: None,
        }
    }

    #[test]
    fn error_code_tests_are_unknown_until_the_step_completes() {
        let c = chain();
        let recs = vec![rec("A", StepState::Running, None)];
        let st = InstanceStates::new(&c, None, &recs, 10_000);
        let ne = Condition::ErrorCodeCmp {
            step: 0,
            op: CmpOp::Ne,
            value: 20100,
        };
        assert_eq!(eval(&ne, &st), Truth::Unknown);
        assert_eq!(
            eval(&Condition::Not(Box::new(ne.clone())), &st),
            Truth::Unknown
        );
        // NOT SUCCEEDED is two-valued: TRUE while A runs.
        let not_ok = Condition::StepState {
            step: 0,
            negated: true,
            test: StateTest::Succeeded,
        };
        assert_eq!(eval(&not_ok, &st), Truth::True);
        // UNKNOWN OR TRUE is TRUE; UNKNOWN AND TRUE is UNKNOWN.
        assert_eq!(
            eval(
                &Condition::Or(Box::new(ne.clone()), Box::new(not_ok.clone())),
                &st
            ),
            Truth::True
        );
        assert_eq!(
            eval(&Condition::And(Box::new(ne), Box::new(not_ok)), &st),
            Truth::Unknown
        );
    }

    #[test]
    fn succeeded_step_makes_error_code_ne_true_and_missing_steps_are_not_started() {
        let c = chain();
        let recs = vec![rec("A", StepState::Succeeded, Some(0))];
        let st = InstanceStates::new(&c, None, &recs, 10_000);
        let ne = Condition::ErrorCodeCmp {
            step: 0,
            op: CmpOp::Ne,
            value: 20100,
        };
        assert_eq!(eval(&ne, &st), Truth::True);
        let b_completed = Condition::StepState {
            step: 1,
            negated: false,
            test: StateTest::Completed,
        };
        assert_eq!(eval(&b_completed, &st), Truth::False);
        let b_null = Condition::SqlIsNull {
            operand: Operand::Attr {
                step: 1,
                attr: SqlAttr::ErrorCode,
            },
            negated: false,
        };
        assert_eq!(eval(&b_null, &st), Truth::True);
    }

    #[test]
    fn sql_attributes_compare_with_literals_and_time() {
        let c = chain();
        let recs = vec![rec("A", StepState::Failed, Some(3))];
        let st = InstanceStates::new(&c, None, &recs, 10_000);
        let state_is = Condition::SqlCompare {
            left: Operand::Attr {
                step: 0,
                attr: SqlAttr::State,
            },
            op: CmpOp::Eq,
            right: Operand::Str("FAILED".into()),
        };
        assert_eq!(eval(&state_is, &st), Truth::True);
        let in_list = Condition::SqlIn {
            left: Operand::Attr {
                step: 0,
                attr: SqlAttr::ErrorCode,
            },
            negated: false,
            list: vec![Operand::Num(1), Operand::Num(3)],
        };
        assert_eq!(eval(&in_list, &st), Truth::True);
        let long = Condition::SqlCompare {
            left: Operand::Attr {
                step: 0,
                attr: SqlAttr::Duration,
            },
            op: CmpOp::Gt,
            right: Operand::Interval(3_000),
        };
        assert_eq!(eval(&long, &st), Truth::True, "ran 4 s");
        let recent = Condition::SqlCompare {
            left: Operand::Attr {
                step: 0,
                attr: SqlAttr::EndDate,
            },
            op: CmpOp::Gt,
            right: Operand::Now {
                offset_millis: -3_600_000,
            },
        };
        // now - 1 h is long before A ended.
        assert_eq!(eval(&recent, &st), Truth::True);
        assert_eq!(
            predicate_text(&c, &recent),
            ":A.end_date > SYSTIMESTAMP - INTERVAL '1' HOUR"
        );
        assert_eq!(predicate_text(&c, &in_list), ":A.error_code IN (1, 3)");
    }

    #[test]
    fn explain_sees_what_the_engine_sees() {
        // The engine converts '2.5' to a number (3 = 2.5 is FALSE, not UNKNOWN), and a step the
        // chain does not have is UNKNOWN, never NOT_STARTED.
        let c = chain();
        let recs = vec![rec("A", StepState::Failed, Some(3))];
        let st = InstanceStates::new(&c, None, &recs, 10_000);
        let cond = Condition::SqlCompare {
            left: Operand::Attr {
                step: 0,
                attr: SqlAttr::ErrorCode,
            },
            op: CmpOp::Eq,
            right: Operand::Str("2.5".into()),
        };
        assert_eq!(eval(&cond, &st), Truth::False);
        let ghost = Condition::StepState {
            step: 99,
            negated: true,
            test: StateTest::Succeeded,
        };
        assert_eq!(eval(&ghost, &st), Truth::Unknown);
        assert_eq!(st.facts(1).map(|f| f.state), Some(StepState::NotStarted));
    }

    #[test]
    fn leaves_of_a_very_long_chain_do_not_recurse() {
        let leaf = |s| Condition::StepState {
            step: s,
            negated: false,
            test: StateTest::Succeeded,
        };
        let mut cond = leaf(0);
        for i in 1..50_000 {
            cond = Condition::And(Box::new(cond), Box::new(leaf(i % 3)));
        }
        let found = leaves(&cond);
        assert_eq!(found.len(), 50_000);
        assert_eq!(found[1], &leaf(1));
        // Dismantle iteratively so the test itself does not overflow on drop.
        let mut cur = cond;
        while let Condition::And(a, _) = cur {
            cur = *a;
        }
    }

    #[test]
    fn predicates_are_written_back_in_the_rule_language() {
        let c = chain();
        let cond = Condition::And(
            Box::new(Condition::StepState {
                step: 2,
                negated: true,
                test: StateTest::Failed,
            }),
            Box::new(Condition::ErrorCodeIn {
                step: 1,
                negated: true,
                codes: vec![1, 2],
            }),
        );
        let texts: Vec<String> = leaves(&cond)
            .iter()
            .map(|l| predicate_text(&c, l))
            .collect();
        assert_eq!(
            texts,
            vec!["\"lower\" NOT FAILED", "B ERROR_CODE NOT IN (1, 2)"]
        );
    }
}
