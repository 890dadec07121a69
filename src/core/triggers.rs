//! Inputs that arrive from outside a job's own evaluation: timers coming due (AFTER delays,
//! retries, evaluation_interval ticks) and raised events. Both are checked against the job's
//! current state first, so a stale timer or an event nobody waits for changes nothing.

use super::eval::Truth;
use super::job::*;
use super::payload::payload_matches;
use super::types::*;
use crate::catalog::{StepIdx, StepTarget};

/// The rule whose `AFTER d START` scheduled step `s` of instance `i`, when only one AFTER rule
/// targets it. With several, `None`: the step's SCHEDULED row names the rule that scheduled it
/// (the start itself is not persisted, and the engine's cached truth values differ after a
/// recovery, so nothing else would name the same rule in every case).
fn after_rule(j: &Job, i: InstId, s: StepIdx) -> Option<String> {
    let def = &j.instances[i].def;
    let mut candidates = def
        .action_index
        .get(s)
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .copied()
        .filter(|&r| {
            matches!(
                &def.chain.rules[r].action,
                crate::catalog::RuleAction::Start { after: Some(_), .. }
            )
        });
    match (candidates.next(), candidates.next()) {
        (Some(r), None) => Some(def.chain.rules[r].name.clone()),
        _ => None,
    }
}

/// A timer is due. Stale or unknown timers are ignored (returns false).
pub(crate) fn timer_fired(j: &mut Job, timer: TimerKey, ctx: &mut Ctx) -> bool {
    if j.ended() {
        return false;
    }
    match &timer {
        TimerKey::AfterDelay { subname } | TimerKey::Retry { subname, .. } => {
            let Some((i, s)) = j.locate(subname) else {
                return false;
            };
            let st = &j.instances[i].step(s);
            let matches = st.timer.as_ref().is_some_and(|t| t.0 == timer);
            if !j.instances[i].live() || !matches {
                return false;
            }
            match (st.state, &timer) {
                (StepState::Scheduled, TimerKey::AfterDelay { .. }) => {
                    let cause = StartedBy {
                        how: StartHow::After,
                        rule: after_rule(j, i, s),
                    };
                    j.starting(cause, |j| j.begin(i, s, ctx))
                }
                (StepState::RetryScheduled, TimerKey::Retry { .. }) => {
                    let cause = StartedBy {
                        how: StartHow::Retry,
                        rule: None,
                    };
                    j.starting(cause, |j| j.run(i, s, RunOperation::RetryRun, ctx))
                }
                _ => return false,
            }
            true
        }
        // Handled by `admission::max_run_duration_fired` before reaching here.
        TimerKey::MaxRunDuration => false,
        TimerKey::StepTimeout { subname, attempt } => {
            let Some((i, s)) = j.locate(subname) else {
                return false;
            };
            let st = j.instances[i].step(s);
            let current = st.timer.as_ref().is_some_and(|t| t.0 == timer);
            if !j.instances[i].live()
                || !current
                || st.state != StepState::Running
                || st.attempts != *attempt
            {
                return false;
            }
            let sub = st.subname.clone();
            let is_program = matches!(j.step_def(i, s).kind, StepTarget::Program(_));
            j.instances[i].step_mut(s).timer = None;
            let limit = j.instances[i]
                .step(s)
                .attrs
                .timeout
                .map(crate::lang::duration::format_duration)
                .unwrap_or_default();
            j.timeline(
                ctx,
                Some(sub.clone()),
                TimelineKind::StepState,
                format!("{sub} timed out after {limit}: FAILED {STEP_TIMED_OUT}"),
            );
            if is_program {
                // The driver kills the attempt's process group; its late report is stale.
                ctx.effects.push(Effect::Kill {
                    job: j.name().to_string(),
                    subname: sub,
                    attempt: *attempt,
                });
            }
            j.attempt_finished(i, s, Outcome::Failed(STEP_TIMED_OUT), ctx);
            true
        }
        TimerKey::Interval { subname } => {
            let inst = if subname.is_empty() {
                Some(0)
            } else {
                j.locate(subname)
                    .and_then(|(i, s)| j.instances[i].step(s).nested)
            };
            let Some(i) = inst.filter(|&i| i < j.instances.len() && j.instances[i].live()) else {
                return false;
            };
            let Some(every) = j.instances[i]
                .def
                .chain
                .evaluation_interval
                .filter(|m| *m > 0)
            else {
                return false;
            };
            if j.instances[i].interval_due().is_none() {
                return false;
            }
            let due = ctx.now.saturating_add(every);
            j.instances[i].set_interval_due(Some(due));
            ctx.effects.push(Effect::SetTimer {
                job: j.name().to_string(),
                timer: j.instances[i].interval_key(),
                due,
            });
            if !j.eval_queue.contains(&i) {
                j.eval_queue.insert(i);
                j.quiet.insert(i);
            }
            true
        }
    }
}

/// Does a raised event name match a step's event name? Names follow identifier rules: an
/// unquoted raised name also matches the upper-cased step name; `"x"` matches exactly.
pub(crate) fn event_name_matches(step_event: &str, raised: &str) -> bool {
    let raised = raised.trim();
    if raised.len() >= 2 && raised.starts_with('"') && raised.ends_with('"') {
        return step_event == &raised[1..raised.len() - 1];
    }
    step_event == raised || step_event == raised.to_uppercase()
}

/// Complete every event step of `j` waiting for `name` whose payload condition holds.
pub(crate) fn complete_waiting(
    j: &mut Job,
    name: &str,
    payload: &serde_json::Value,
    ctx: &mut Ctx,
    mut report: Option<&mut super::events::EventDelivery>,
) -> usize {
    if j.ended() {
        return 0;
    }
    let candidates: Vec<(InstId, StepIdx)> = j.waiting.iter().copied().collect();
    let mut n = 0;
    for (i, s) in candidates {
        if j.instances[i].step(s).state != StepState::Running {
            continue;
        }
        let matches = match &j.step_def(i, s).kind {
            StepTarget::Event {
                name: ev,
                condition,
                condition_text,
            } if event_name_matches(ev, name) => {
                let truth = condition
                    .as_ref()
                    .map_or(Truth::True, |c| payload_matches(c, payload));
                if let Some(r) = report.as_deref_mut() {
                    r.waiting += 1;
                    if truth != Truth::True {
                        r.unmatched.push(format!(
                            "job {} step {}: where {} is {}",
                            j.name(),
                            j.instances[i].step(s).subname,
                            condition_text.as_deref().unwrap_or("(condition)"),
                            match truth {
                                Truth::False => "FALSE",
                                _ => "UNKNOWN (a member it tests is missing or of another type)",
                            }
                        ));
                    }
                }
                truth == Truth::True
            }
            _ => false,
        };
        if !matches {
            continue;
        }
        n += 1;
        let sub = j.instances[i].step(s).subname.clone();
        let ev = j.event_step_name(i, s).unwrap_or(name).to_string();
        j.timeline(
            ctx,
            Some(sub.clone()),
            TimelineKind::EventRaised,
            format!("{ev} completed {sub}"),
        );
        j.finish_run(i, s, Outcome::Succeeded, Some(format!("event {ev}")), ctx);
        // The STARTs of the evaluation this completion causes are the event's doing.
        j.after_event = true;
    }
    n
}
