//! The notifications a turn owes (decided by `core::notify`, as the simulator decides them),
//! written as outbox rows into the turn's batch beside the state change that causes them
//! (`store::outbox`): one row per channel (webhook, command).

use super::{Actor, Turn};
use crate::core::notify::{NotifyWatch, Owed};
use crate::core::types::{Effect, JobState};
use crate::lang::duration::Millis;
use crate::store::outbox::{outbox_key, Channel, DeliveryStatus, Notification};
use crate::views::time::rfc3339;
use serde_json::json;

#[derive(Default)]
pub(crate) struct Outbox {
    /// Which effects owe notifications (`core::notify`).
    pub watch: NotifyWatch,
    pub seq: u32,
    pub notifier: Option<tokio::sync::mpsc::UnboundedSender<crate::runtime::notifier::NotifierMsg>>,
    pub owner: Option<String>,
}

impl Actor {
    /// The notifications one effect owes, into the turn's batch.
    pub(super) fn outbox_effect(&mut self, e: &Effect, now: Millis, turn: &mut Turn) {
        for owed in self.outbox.watch.owed(&self.core, e, now) {
            let message = message(&owed);
            let def = &owed.def;
            let mut channels = Vec::new();
            if let Some(url) = &def.webhook {
                channels.push(Channel::Webhook(url.clone()));
            }
            if let Some(cmd) = &def.command {
                channels.push(Channel::Command(cmd.clone()));
            }
            for channel in channels {
                self.outbox.seq = self.outbox.seq.wrapping_add(1);
                let key = outbox_key(owed.at, self.outbox.seq, &owed.job.job);
                let n = Notification {
                    id: String::new(),
                    notify: def.name.clone(),
                    event: owed.event.clone(),
                    job: owed.job.job.clone(),
                    chain: owed.job.chain.clone(),
                    definition: owed.definition.clone(),
                    subname: owed.step.as_ref().map(|s| s.subname.clone()),
                    channel,
                    message: message.clone(),
                    created_at: owed.at,
                    only_if_enqueued: owed.only_if_enqueued,
                    status: DeliveryStatus::Pending,
                    attempts: 0,
                    max_attempts: def.retries.saturating_add(1),
                    delay: def.delay,
                    next_attempt_at: owed.due,
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

/// The JSON message (docs/notifications.md lists its members).
fn message(o: &Owed) -> serde_json::Value {
    let r = &o.job;
    let step = o.step.as_ref();
    json!({
        "notification": o.def.name,
        "event": o.event,
        "time": rfc3339(o.at),
        "job_name": r.job,
        "chain_name": r.chain,
        "job_definition": o.definition,
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
