//! Which notifications a turn owes (`notify` declarations, docs/notifications.md), written into
//! the turn's batch beside the state change that causes them (`store::outbox`).
//!
//! Transitions are seen in the core's effects: a job record reaching SUCCEEDED, FAILED,
//! STOPPED or CHAIN_STALLED, a job ENQUEUED (its "enqueued longer than" row is due at
//! enqueue time + D and is sent only if the job is still ENQUEUED then), a step record reaching
//! FAILED, the `max_run_duration` timeline row. A job record is reported again after recovery
//! and on every change, so each job's last notified state is remembered (seeded from the
//! restored jobs); a step failure counts once, and only when it ended in this engine's
//! lifetime.

use super::{Actor, Turn};
use crate::catalog::model::{NotifyDef, NotifyOn};
use crate::core::types::{Effect, JobRecord, JobState, StepRecord, StepState, TimelineKind};
use crate::lang::duration::Millis;
use crate::store::outbox::{outbox_key, Channel, DeliveryStatus, Notification};
use crate::views::time::rfc3339;
use serde_json::json;
use std::collections::{HashMap, HashSet};

#[derive(Default)]
pub(crate) struct Outbox {
    /// Per unfinished job, the state last seen (notifications are sent on a change).
    pub seen: HashMap<String, JobState>,
    pub seq: u32,
    pub notifier: Option<tokio::sync::mpsc::UnboundedSender<crate::runtime::notifier::NotifierMsg>>,
    pub owner: Option<String>,
    /// When this engine started: step failures before it were notified by the engine before.
    pub since: Millis,
    /// (job, step, end) of the step failures already notified.
    pub failed_steps: HashSet<(String, String, Millis)>,
}

impl Outbox {
    /// A restored job's state: a report of the same state is no transition.
    pub fn seed(&mut self, job: &str, state: JobState) {
        self.seen.insert(job.to_string(), state);
    }
    pub fn forget(&mut self, job: &str) {
        self.seen.remove(job);
        self.failed_steps.retain(|(j, _, _)| j != job);
    }
}

enum What<'a> {
    Job(&'a JobRecord, NotifyOn),
    Step(&'a str, &'a StepRecord),
    MaxRun(&'a str),
}

impl Actor {
    /// The notifications one effect owes, into the turn's batch.
    pub(super) fn outbox_effect(&mut self, e: &Effect, now: Millis, turn: &mut Turn) {
        if self.catalog.notifications.is_empty() {
            return;
        }
        match e {
            Effect::JobChanged { job } => {
                let before = self.outbox.seen.insert(job.job.clone(), job.state);
                if before == Some(job.state) {
                    return;
                }
                // A transition (the restored jobs' states are seeded, ended jobs are never
                // restored): each is seen once.
                let on = match job.state {
                    JobState::Succeeded => NotifyOn::Succeeded,
                    JobState::Failed => NotifyOn::Failed,
                    JobState::Stopped => NotifyOn::Stopped,
                    JobState::ChainStalled => NotifyOn::ChainStalled,
                    JobState::Enqueued => NotifyOn::EnqueuedLongerThan(0),
                    JobState::Running => return,
                };
                self.owe(What::Job(job, on), now, turn);
            }
            // A failure of this engine's lifetime (a step record reported again after
            // recovery ended before it), once per end.
            Effect::StepChanged { job, step }
                if step.state == StepState::Failed
                    && step.ended_at.is_some_and(|t| t >= self.outbox.since) =>
            {
                let key = (
                    job.clone(),
                    step.subname.clone(),
                    step.ended_at.unwrap_or_default(),
                );
                if self.outbox.failed_steps.insert(key) {
                    self.owe(What::Step(job, step), now, turn);
                }
            }
            Effect::Timeline(t) if t.kind == TimelineKind::MaxRunDuration => {
                self.owe(What::MaxRun(&t.job), now, turn);
            }
            _ => {}
        }
    }

    fn owe(&mut self, what: What, now: Millis, turn: &mut Turn) {
        let job_name = match &what {
            What::Job(r, _) => r.job.as_str(),
            What::Step(j, _) | What::MaxRun(j) => j,
        };
        let Some(record) = self.core.job_record(job_name) else {
            return;
        };
        let definition = self.core.job_definition(job_name);
        let defs: Vec<NotifyDef> = self
            .catalog
            .notifications
            .values()
            .filter(|n| n.applies_to(&record.chain, definition.as_deref()))
            .cloned()
            .collect();
        for def in defs {
            for on in &def.on {
                let (event, due, only_if_enqueued, step) = match (&what, on) {
                    (
                        What::Job(_, NotifyOn::EnqueuedLongerThan(_)),
                        NotifyOn::EnqueuedLongerThan(d),
                    ) => (on.text(), now.saturating_add(*d), true, None),
                    (What::Job(_, got), want) if got == want => (on.text(), now, false, None),
                    (What::Step(_, s), NotifyOn::StepFailed) => (on.text(), now, false, Some(*s)),
                    (What::MaxRun(_), NotifyOn::MaxRunDuration) => (on.text(), now, false, None),
                    _ => continue,
                };
                let message = message(&def, &event, &record, definition.as_deref(), step, now);
                let mut channels = Vec::new();
                if let Some(url) = &def.webhook {
                    channels.push(Channel::Webhook(url.clone()));
                }
                if let Some(cmd) = &def.command {
                    channels.push(Channel::Command(cmd.clone()));
                }
                for channel in channels {
                    self.outbox.seq = self.outbox.seq.wrapping_add(1);
                    let key = outbox_key(now, self.outbox.seq, &record.job);
                    let n = Notification {
                        id: String::new(),
                        notify: def.name.clone(),
                        event: event.clone(),
                        job: record.job.clone(),
                        chain: record.chain.clone(),
                        definition: definition.clone(),
                        subname: step.map(|s| s.subname.clone()),
                        channel,
                        message: message.clone(),
                        created_at: now,
                        only_if_enqueued,
                        status: DeliveryStatus::Pending,
                        attempts: 0,
                        max_attempts: def.retries.saturating_add(1),
                        delay: def.delay,
                        next_attempt_at: due,
                        last_error: None,
                        sent_at: None,
                        owner: self.outbox.owner.clone(),
                    };
                    turn.notices.push(crate::store::outbox::id_of_key(&key));
                    turn.batch.put_notification(key, &n);
                }
            }
        }
    }
}

/// The JSON message (docs/notifications.md lists its members).
fn message(
    def: &NotifyDef,
    event: &str,
    r: &JobRecord,
    definition: Option<&str>,
    step: Option<&StepRecord>,
    now: Millis,
) -> serde_json::Value {
    json!({
        "notification": def.name,
        "event": event,
        "time": rfc3339(now),
        "job_name": r.job,
        "chain_name": r.chain,
        "job_definition": definition,
        "state": r.state.as_str(),
        "error_code": r.error_code,
        "parameters": r.parameters,
        "group": r.group,
        "enqueued_at": r.enqueued_at.map(rfc3339),
        "started_at": (r.state != JobState::Enqueued).then(|| rfc3339(r.started_at)),
        "ended_at": r.ended_at.map(rfc3339),
        "stall_reason": r.stall_reason,
        "step_name": step.map(|s| s.step.clone()),
        "step_job_subname": step.map(|s| s.subname.clone()),
        "step_error_code": step.and_then(|s| s.error_code),
    })
}
