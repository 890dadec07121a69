//! explain: why a running chain is where it is.
//!
//! For each chain instance of a job (the job's chain and every nested chain that started) and
//! each of its rules: the condition, the truth value of every predicate against the current
//! step states, the value of the whole condition, and whether the rule fired (read from the
//! timeline: what the engine did, not what we recompute). For a stalled job, a plain-language
//! paragraph naming the step(s) and outcome(s) nobody reacts to, the rules still waiting, and
//! paused or stalled steps — what an operator needs to decide on an alter + evaluate.

use super::rows::{ExplainRuleRow, Explanation, PredicateTruth};
use super::truth::{self, InstanceStates};
use crate::catalog::{Catalog, Chain, RuleAction, StepTarget};
use crate::core::types::{JobRecord, JobState, StepRecord, StepState, TimelineEntry, TimelineKind};
use crate::core::Truth;
use crate::lang::duration::Millis;

/// One chain instance of a job: the job's chain (`parent: None`) or a nested chain run by the
/// outer step `parent`.
struct Instance<'c> {
    chain: &'c Chain,
    parent: Option<String>,
}

/// The chain instances of a job in tree order: the top chain, then nested chains that started.
fn instances<'c>(job: &JobRecord, catalog: &'c Catalog, steps: &[StepRecord]) -> Vec<Instance<'c>> {
    let mut out = Vec::new();
    if let Some(chain) = catalog.chains.get(&job.chain) {
        out.push(Instance {
            chain,
            parent: None,
        });
    }
    for r in steps {
        if r.state == StepState::NotStarted {
            continue;
        }
        let nested = catalog
            .chains
            .get(&r.chain)
            .and_then(|c| c.steps.iter().find(|s| s.name == r.step))
            .and_then(|s| match &s.kind {
                StepTarget::Chain(name) => catalog.chains.get(name),
                _ => None,
            });
        if let Some(chain) = nested {
            out.push(Instance {
                chain,
                parent: Some(r.subname.clone()),
            });
        }
    }
    out
}

/// Whether the timeline shows `rule` of the instance at `parent` firing.
fn fired(timeline: &[TimelineEntry], parent: Option<&str>, rule: &str) -> bool {
    timeline.iter().any(|e| {
        e.kind == TimelineKind::RuleFired
            && e.subname.as_deref() == parent
            && e.detail.strip_prefix(rule).is_some_and(|rest| {
                rest.is_empty() || rest.starts_with(':') || rest.starts_with(' ')
            })
    })
}

/// The explain view of one job, its conditions reading its parameters as its variables.
pub fn explain(
    job: &JobRecord,
    catalog: &Catalog,
    steps: &[StepRecord],
    timeline: &[TimelineEntry],
    now: Millis,
) -> Explanation {
    explain_vars(job, catalog, steps, timeline, &job.parameters, now)
}

/// The explain view of one job whose variables (parameters overridden by what steps set) are
/// `vars`: conditions reading `VAR(X)` are evaluated as the engine does.
pub fn explain_vars(
    job: &JobRecord,
    catalog: &Catalog,
    steps: &[StepRecord],
    timeline: &[TimelineEntry],
    vars: &std::collections::BTreeMap<String, String>,
    now: Millis,
) -> Explanation {
    let mut rules = Vec::new();
    for inst in instances(job, catalog, steps) {
        let mut st = InstanceStates::new(inst.chain, inst.parent.as_deref(), steps, now);
        st.vars = vars.clone();
        for rule in &inst.chain.rules {
            let predicates = truth::leaves(&rule.condition)
                .into_iter()
                .map(|leaf| {
                    let r = st.predicate(leaf);
                    PredicateTruth {
                        predicate: truth::predicate_text(inst.chain, leaf),
                        value: r.truth.as_str().to_string(),
                        error: r.error.map(|e| e.to_string()),
                    }
                })
                .collect();
            rules.push(ExplainRuleRow {
                job_name: job.job.clone(),
                job_subname: inst.parent.clone(),
                chain_name: inst.chain.name.clone(),
                rule_name: rule.name.clone(),
                position: rule.position,
                condition: if rule.condition_text.is_empty() {
                    truth::predicate_text(inst.chain, &rule.condition)
                } else {
                    rule.condition_text.clone()
                },
                predicates,
                value: st.truth(&rule.condition).as_str().to_string(),
                fired: fired(timeline, inst.parent.as_deref(), &rule.name),
                action: truth::action_text(inst.chain, rule),
            });
        }
    }
    Explanation {
        job_name: job.job.clone(),
        chain_name: job.chain.clone(),
        state: job.state.as_str().to_string(),
        reason: stall_reason(job, catalog, steps, now),
        rules,
    }
}

/// For a CHAIN_STALLED job, why (the engine's own reason when it recorded one, else ours);
/// for a RUNNING job of a chain with an `evaluation_interval` that is idle for good, why it
/// will not move ([`idle_reason`]).
pub fn stall_reason(
    job: &JobRecord,
    catalog: &Catalog,
    steps: &[StepRecord],
    now: Millis,
) -> Option<String> {
    if job.state == JobState::Running {
        return idle_reason(job, catalog, steps, now);
    }
    if job.state != JobState::ChainStalled {
        return None;
    }
    if let Some(r) = job.stall_reason.as_ref().filter(|r| !r.trim().is_empty()) {
        return Some(r.clone());
    }
    let Some(chain) = catalog.chains.get(&job.chain) else {
        return Some(format!(
            "chain {} is no longer in the catalog; nothing is running, so the job is CHAIN_STALLED",
            job.chain
        ));
    };
    let parts = instance_reasons(chain, None, catalog, steps, now, 0);
    let mut text = parts.join("; ");
    if !text.is_empty() {
        text.push_str(". ");
    }
    text.push_str(
        "Nothing is running, scheduled or waiting for a retry, so the job is CHAIN_STALLED until \
         a step is altered and the chain evaluated, or the job is stopped",
    );
    Some(text)
}

/// A chain with an `evaluation_interval` is never CHAIN_STALLED (it keeps re-evaluating, as
/// Oracle documents), so a failure no rule handles leaves it RUNNING. Such a job is idle for
/// good when nothing in it is active (no step RUNNING, SCHEDULED, RETRY SCHEDULED or STALLED)
/// and no rule that reads the clock (SYSTIMESTAMP, SYSDATE, …, not a step's `duration`, which
/// is fixed once the step ended) could still act: an END always could, a START while one of its
/// steps is NOT_STARTED, a STOP while one of its steps is PAUSED. Then the reason is said here,
/// in `explain` (docs/evaluator.md, "Stalls").
fn idle_reason(
    job: &JobRecord,
    catalog: &Catalog,
    steps: &[StepRecord],
    now: Millis,
) -> Option<String> {
    let chain = catalog.chains.get(&job.chain)?;
    let interval = chain.evaluation_interval?;
    let st = InstanceStates::new(chain, None, steps, now);
    let state = |i: usize| {
        st.by_index
            .get(i)
            .copied()
            .flatten()
            .map_or(StepState::NotStarted, |r| r.state)
    };
    let active = (0..chain.steps.len()).any(|i| {
        matches!(
            state(i),
            StepState::Running
                | StepState::Scheduled
                | StepState::RetryScheduled
                | StepState::Stalled
        )
    });
    if active {
        return None;
    }
    let clock_can_act = chain.rules.iter().any(|rule| {
        rule.condition.reads_clock()
            && match &rule.action {
                RuleAction::End(_) => true,
                RuleAction::Start { steps, .. } => {
                    steps.iter().any(|&s| state(s) == StepState::NotStarted)
                }
                RuleAction::Stop { steps } => steps.iter().any(|&s| state(s) == StepState::Paused),
            }
    });
    if clock_can_act {
        return None;
    }
    let parts = instance_reasons(chain, None, catalog, steps, now, 0);
    let mut text = parts.join("; ");
    if !text.is_empty() {
        text.push_str(". ");
    }
    text.push_str(&format!(
        "Nothing is running and no rule that reads the clock can act, so the job will not move \
         on by itself; it stays RUNNING (not CHAIN_STALLED) because chain {} has an \
         evaluation_interval ({}) and keeps re-evaluating: alter a step and evaluate, change a \
         rule, or stop the job",
        chain.name,
        crate::lang::duration::format_duration(interval)
    ));
    Some(text)
}

fn outcome_text(r: &StepRecord) -> (String, &'static str) {
    match r.state {
        StepState::Failed => (
            format!(
                "FAILED with {}",
                r.error_code
                    .map_or("no error code".to_string(), |c| c.to_string())
            ),
            "failing",
        ),
        StepState::Stopped => ("STOPPED".to_string(), "stopping"),
        _ => ("SUCCEEDED".to_string(), "succeeding"),
    }
}

/// The reasons one chain instance cannot move on.
fn instance_reasons(
    chain: &Chain,
    parent: Option<&str>,
    catalog: &Catalog,
    steps: &[StepRecord],
    now: Millis,
    depth: usize,
) -> Vec<String> {
    let st = InstanceStates::new(chain, parent, steps, now);
    let values: Vec<Truth> = chain.rules.iter().map(|r| st.truth(&r.condition)).collect();
    let mentions = |rule_idx: usize, step_idx: usize| {
        let mut v = Vec::new();
        chain.rules[rule_idx].condition.steps(&mut v);
        v.contains(&step_idx)
    };
    let mut parts = Vec::new();

    let nothing_started = st
        .by_index
        .iter()
        .all(|r| r.is_none_or(|r| r.state == StepState::NotStarted));
    if nothing_started && !values.contains(&Truth::True) {
        parts.push(format!(
            "no rule of chain {} is TRUE, so no step has started",
            chain.name
        ));
    }

    // Completed steps whose outcome no TRUE rule looks at: failures and stops first.
    let mut unreacted_bad = Vec::new();
    let mut unreacted_ok = Vec::new();
    for (idx, rec) in st.by_index.iter().enumerate() {
        let Some(rec) = rec else { continue };
        if !rec.state.is_completed() {
            continue;
        }
        let reacted =
            (0..chain.rules.len()).any(|ri| values[ri] == Truth::True && mentions(ri, idx));
        if reacted {
            continue;
        }
        let (outcome, verb) = outcome_text(rec);
        let name = truth::name_text(&rec.step);
        let text = format!("{name} {outcome}; no rule reacts to {name} {verb}");
        if rec.state == StepState::Succeeded {
            unreacted_ok.push(text);
        } else {
            unreacted_bad.push(text);
        }
    }
    if unreacted_bad.is_empty() {
        parts.extend(unreacted_ok.into_iter().take(3));
    } else {
        parts.extend(unreacted_bad);
    }

    // Rules that would start a step that has not started, but are not TRUE.
    let mut waiting = 0;
    for (ri, rule) in chain.rules.iter().enumerate() {
        if values[ri] == Truth::True || waiting >= 3 {
            continue;
        }
        let RuleAction::Start { steps: targets, .. } = &rule.action else {
            continue;
        };
        let pending: Vec<String> = targets
            .iter()
            .filter(|t| {
                st.by_index
                    .get(**t)
                    .copied()
                    .flatten()
                    .is_none_or(|r| r.state == StepState::NotStarted)
            })
            .filter_map(|t| chain.steps.get(*t).map(|s| truth::name_text(&s.name)))
            .collect();
        if pending.is_empty() {
            continue;
        }
        let blocking: Vec<String> = truth::leaves(&rule.condition)
            .into_iter()
            .filter_map(|leaf| {
                let v = st.truth(leaf);
                (v != Truth::True)
                    .then(|| format!("{} is {}", truth::predicate_text(chain, leaf), v.as_str()))
            })
            .collect();
        waiting += 1;
        parts.push(format!(
            "{} waits for rule {} ({}), which is {}{}",
            pending.join(", "),
            rule.name,
            if rule.condition_text.is_empty() {
                truth::predicate_text(chain, &rule.condition)
            } else {
                rule.condition_text.clone()
            },
            values[ri].as_str(),
            if blocking.is_empty() {
                String::new()
            } else {
                format!(" because {}", blocking.join(" and "))
            }
        ));
    }

    // Paused and stalled steps.
    for rec in st.by_index.iter().flatten() {
        let name = truth::name_text(&rec.step);
        match rec.state {
            StepState::Paused if rec.pause_before => parts.push(format!(
                "{name} is PAUSED before running (pause_before); clear pause_before and evaluate to run it"
            )),
            StepState::Paused => parts.push(format!(
                "{name} is PAUSED (pause): its outcome is held until pause is cleared"
            )),
            StepState::Stalled => {
                let nested = catalog
                    .chains
                    .get(&chain.name)
                    .and_then(|c| c.steps.iter().find(|s| s.name == rec.step))
                    .and_then(|s| match &s.kind {
                        StepTarget::Chain(n) => catalog.chains.get(n),
                        _ => None,
                    });
                let inner = match nested {
                    Some(nc) if depth < 16 => {
                        instance_reasons(nc, Some(&rec.subname), catalog, steps, now, depth + 1).join("; ")
                    }
                    _ => String::new(),
                };
                parts.push(if inner.is_empty() {
                    format!("{name} is STALLED: its nested chain stalled")
                } else {
                    format!("{name} is STALLED: in its nested chain, {inner}")
                });
            }
            _ => {}
        }
    }

    let all_completed = !st.by_index.is_empty()
        && st
            .by_index
            .iter()
            .all(|r| r.is_some_and(|r| r.state.is_completed()));
    let end_true = chain
        .rules
        .iter()
        .zip(&values)
        .any(|(r, v)| *v == Truth::True && matches!(r.action, RuleAction::End(_)));
    if all_completed && !end_true {
        parts.push(format!(
            "every step of chain {} has completed and no END rule is TRUE",
            chain.name
        ));
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Condition, EndAction, Rule, Step, StepAttributes};
    use crate::lang::ast::StateTest;
    use std::collections::BTreeMap;

    fn rule(
        name: &str,
        pos: usize,
        cond: Condition,
        text: &str,
        action: RuleAction,
        atext: &str,
    ) -> Rule {
        Rule {
            name: name.into(),
            position: pos,
            condition: cond,
            action,
            comment: None,
            condition_text: text.into(),
            action_text: atext.into(),
        }
    }

    fn catalog() -> Catalog {
        let step = |n: &str| Step {
            name: n.into(),
            kind: StepTarget::Program("P".into()),
            attrs: StepAttributes::default(),
        };
        let ok = |s| Condition::StepState {
            step: s,
            negated: false,
            test: StateTest::Succeeded,
        };
        let chain = Chain {
            name: "C".into(),
            comment: None,
            evaluation_interval: None,
            steps: vec![step("A"), step("B")],
            rules: vec![
                rule(
                    "R1",
                    1,
                    Condition::Const(true),
                    "TRUE",
                    RuleAction::Start {
                        after: None,
                        steps: vec![0],
                    },
                    "START A",
                ),
                rule(
                    "R2",
                    2,
                    ok(0),
                    "A SUCCEEDED",
                    RuleAction::Start {
                        after: None,
                        steps: vec![1],
                    },
                    "START B",
                ),
                rule(
                    "R3",
                    3,
                    ok(1),
                    "B SUCCEEDED",
                    RuleAction::End(EndAction::Code(0)),
                    "END",
                ),
            ],
            source: "c.chain:1".into(),
        };
        let mut cat = Catalog::default();
        cat.chains.insert("C".into(), chain);
        cat
    }

    fn job(state: JobState) -> JobRecord {
        JobRecord {
            job: "J1".into(),
            chain: "C".into(),
            state,
            error_code: None,
            parameters: BTreeMap::new(),
            started_at: 0,
            ended_at: None,
            stall_reason: None,
            group: None,
            serialize_key: None,
            enqueued_at: None,
            requested_by: None,
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
            started_at: Some(0),
            ended_at: Some(1),
            skip: false,
            pause: false,
            pause_before: false,
            restart_on_recovery: false,
            restart_on_failure: false,
            log_id: None,
        }
    }

    #[test]
    fn a_failed_step_nobody_reacts_to_is_named_with_its_code() {
        let cat = catalog();
        let steps = vec![
            rec("A", StepState::Failed, Some(20001)),
            rec("B", StepState::NotStarted, None),
        ];
        let timeline = vec![TimelineEntry {
            time: 0,
            job: "J1".into(),
            subname: None,
            kind: TimelineKind::RuleFired,
            detail: "R1: START A".into(),
            started_by: None,
        }];
        let e = explain(&job(JobState::ChainStalled), &cat, &steps, &timeline, 10);
        let reason = e.reason.expect("stalled jobs have a reason");
        assert!(
            reason.contains("A FAILED with 20001; no rule reacts to A failing"),
            "{reason}"
        );
        assert!(
            reason.contains("B waits for rule R2 (A SUCCEEDED), which is FALSE"),
            "{reason}"
        );
        assert_eq!(e.rules.len(), 3);
        assert!(e.rules[0].fired);
        assert!(!e.rules[1].fired);
        assert_eq!(e.rules[1].value, "FALSE");
        assert_eq!(e.rules[1].predicates[0].predicate, "A SUCCEEDED");
        assert_eq!(e.rules[1].predicates[0].value, "FALSE");
        assert_eq!(e.rules[0].value, "TRUE");
    }

    #[test]
    fn sql_predicates_are_written_back_and_errors_named() {
        use crate::catalog::Operand;
        use crate::lang::ast::{CmpOp, SqlAttr};
        use crate::lang::sql::Func;
        let mut cat = catalog();
        let attr = |attr| Operand::Attr { step: 0, attr };
        let bad = Condition::SqlCompare {
            left: Operand::Call {
                func: Func::ToNumber,
                args: vec![attr(SqlAttr::State)],
            },
            op: CmpOp::Eq,
            right: Operand::Num(1),
        };
        let range = Condition::SqlBetween(Box::new(crate::catalog::BetweenPred {
            value: attr(SqlAttr::ErrorCode),
            negated: false,
            low: Operand::Num(20000),
            high: Operand::Num(20999),
        }));
        if let Some(c) = cat.chains.get_mut("C") {
            c.rules.push(rule(
                "R4",
                4,
                Condition::Or(Box::new(bad), Box::new(range)),
                "",
                RuleAction::End(EndAction::Code(1)),
                "END 1",
            ));
        }
        let steps = vec![
            rec("A", StepState::Failed, Some(20001)),
            rec("B", StepState::NotStarted, None),
        ];
        let e = explain(&job(JobState::Running), &cat, &steps, &[], 10);
        let r4 = &e.rules[3];
        assert_eq!(
            r4.condition,
            "(TO_NUMBER(:A.state) = 1 OR :A.error_code BETWEEN 20000 AND 20999)"
        );
        assert_eq!(r4.value, "TRUE", "the error is UNKNOWN, OR TRUE is TRUE");
        assert_eq!(r4.predicates[0].value, "UNKNOWN");
        let err = r4.predicates[0].error.as_deref().unwrap_or("");
        assert!(
            err.contains("ORA-01722") && err.contains("'FAILED'"),
            "{err}"
        );
        assert_eq!(
            r4.predicates[1].predicate,
            ":A.error_code BETWEEN 20000 AND 20999"
        );
        assert_eq!(
            (r4.predicates[1].value.as_str(), &r4.predicates[1].error),
            ("TRUE", &None)
        );
    }

    #[test]
    fn running_jobs_have_no_reason_and_the_engine_reason_wins() {
        let cat = catalog();
        let steps = vec![rec("A", StepState::Running, None)];
        assert_eq!(
            explain(&job(JobState::Running), &cat, &steps, &[], 10).reason,
            None
        );
        let mut j = job(JobState::ChainStalled);
        j.stall_reason = Some("engine says so".into());
        assert_eq!(
            stall_reason(&j, &cat, &steps, 10).as_deref(),
            Some("engine says so")
        );
    }

    #[test]
    fn a_paused_step_is_named() {
        let cat = catalog();
        let mut b = rec("B", StepState::Paused, None);
        b.pause_before = true;
        let steps = vec![rec("A", StepState::Succeeded, Some(0)), b];
        let reason = stall_reason(&job(JobState::ChainStalled), &cat, &steps, 10).unwrap();
        assert!(reason.contains("B is PAUSED before running"), "{reason}");
    }

    #[test]
    fn an_idle_running_job_of_a_chain_with_an_interval_is_explained() {
        let mut cat = catalog();
        if let Some(c) = cat.chains.get_mut("C") {
            c.evaluation_interval = Some(60_000);
        }
        let idle = vec![
            rec("A", StepState::Failed, Some(20001)),
            rec("B", StepState::NotStarted, None),
        ];
        let reason = explain(&job(JobState::Running), &cat, &idle, &[], 10)
            .reason
            .unwrap_or_default();
        assert!(reason.contains("A FAILED with 20001"), "{reason}");
        assert!(
            reason.contains("stays RUNNING (not CHAIN_STALLED)") && reason.contains("1m"),
            "{reason}"
        );
        // Something still active: no reason.
        let busy = vec![rec("A", StepState::Running, None)];
        assert_eq!(
            explain(&job(JobState::Running), &cat, &busy, &[], 10).reason,
            None
        );
        // Without an interval a RUNNING job never has one (it would stall instead).
        let plain = catalog();
        assert_eq!(
            explain(&job(JobState::Running), &plain, &idle, &[], 10).reason,
            None
        );
    }
}
