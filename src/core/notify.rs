//! Which notifications the core's effects owe (`notify` declarations; docs/notifications.md).
//!
//! Pure, like the rest of the core, so that the runtime (which writes an outbox row for each,
//! in the batch of the state change: `runtime::actor::outbox`) and the simulator (which lists
//! them for `[expect]` checks) cannot disagree on when a notification is owed.
//!
//! Transitions are seen in the effects: a job record reaching SUCCEEDED, FAILED, STOPPED or
//! CHAIN_STALLED, a job ENQUEUED (its "enqueued longer than D" notification is due D later and
//! holds only if the job is still ENQUEUED then), a step record reaching FAILED, the
//! `max_run_duration` timeline row. A job record is reported again after recovery and on every
//! change, so each job's last state is remembered (drivers seed it with restored jobs); a step
//! failure counts once, and only when it ended after `since` (the driver's start: failures
//! before it were owed by the driver before).

use super::types::{Effect, JobRecord, JobState, StepRecord, StepState, TimelineKind};
use super::Core;
use crate::catalog::model::{NotifyDef, NotifyOn};
use crate::lang::duration::Millis;
use std::collections::{HashMap, HashSet};

/// One notification owed (per `notify` declaration and event; channels are the driver's).
#[derive(Debug, Clone, PartialEq)]
pub struct Owed {
    pub def: NotifyDef,
    pub on: NotifyOn,
    /// The event as written (`ENQUEUED LONGER THAN 10m`).
    pub event: String,
    /// The job as it is now.
    pub job: JobRecord,
    pub definition: Option<String>,
    /// The failed step (`STEP FAILED`).
    pub step: Option<StepRecord>,
    pub at: Millis,
    /// When it is due (`at`, or `at + D` for ENQUEUED LONGER THAN D).
    pub due: Millis,
    /// Owed only if the job is still ENQUEUED at `due`.
    pub only_if_enqueued: bool,
}

/// What a driver remembers between effects.
#[derive(Debug, Clone, Default)]
pub struct NotifyWatch {
    seen: HashMap<String, JobState>,
    failed_steps: HashSet<(String, String, Millis)>,
    since: Millis,
}

enum What<'a> {
    Job(NotifyOn),
    Step(&'a StepRecord),
    MaxRun,
}

impl NotifyWatch {
    /// A watch for a driver that starts at `since`.
    pub fn new(since: Millis) -> NotifyWatch {
        NotifyWatch {
            since,
            ..NotifyWatch::default()
        }
    }

    /// A restored job's state: a report of the same state is no transition.
    pub fn seed(&mut self, job: &str, state: JobState) {
        self.seen.insert(job.to_string(), state);
    }

    /// The job has ended and is forgotten (or a new run takes its name).
    pub fn forget(&mut self, job: &str) {
        self.seen.remove(job);
        self.failed_steps.retain(|(j, _, _)| j != job);
    }

    /// The notifications `effect` owes (`now`: the instant of the input that produced it).
    pub fn owed(&mut self, core: &Core, effect: &Effect, now: Millis) -> Vec<Owed> {
        if core.catalog.notifications.is_empty() {
            return Vec::new();
        }
        let (job, what) = match effect {
            Effect::JobChanged { job } => {
                if self.seen.insert(job.job.clone(), job.state) == Some(job.state) {
                    return Vec::new();
                }
                let on = match job.state {
                    JobState::Succeeded => NotifyOn::Succeeded,
                    JobState::Failed => NotifyOn::Failed,
                    JobState::Stopped => NotifyOn::Stopped,
                    JobState::ChainStalled => NotifyOn::ChainStalled,
                    JobState::Enqueued => NotifyOn::EnqueuedLongerThan(0),
                    JobState::Running => return Vec::new(),
                };
                (job.job.as_str(), What::Job(on))
            }
            Effect::StepChanged { job, step }
                if step.state == StepState::Failed
                    && step.ended_at.is_some_and(|t| t >= self.since) =>
            {
                let key = (
                    job.clone(),
                    step.subname.clone(),
                    step.ended_at.unwrap_or_default(),
                );
                if !self.failed_steps.insert(key) {
                    return Vec::new();
                }
                (job.as_str(), What::Step(step))
            }
            Effect::Timeline(t) if t.kind == TimelineKind::MaxRunDuration => {
                (t.job.as_str(), What::MaxRun)
            }
            _ => return Vec::new(),
        };
        let Some(record) = core.job_record(job) else {
            return Vec::new();
        };
        let definition = core.job_definition(job);
        let mut out = Vec::new();
        for def in core
            .catalog
            .notifications
            .values()
            .filter(|n| n.applies_to(&record.chain, definition.as_deref()))
        {
            for on in &def.on {
                let (due, only_if_enqueued, step) = match (&what, on) {
                    (
                        What::Job(NotifyOn::EnqueuedLongerThan(_)),
                        NotifyOn::EnqueuedLongerThan(d),
                    ) => (now.saturating_add(*d), true, None),
                    (What::Job(got), want) if got == want => (now, false, None),
                    (What::Step(s), NotifyOn::StepFailed) => (now, false, Some((*s).clone())),
                    (What::MaxRun, NotifyOn::MaxRunDuration) => (now, false, None),
                    _ => continue,
                };
                out.push(Owed {
                    def: def.clone(),
                    on: *on,
                    event: on.text(),
                    job: record.clone(),
                    definition: definition.clone(),
                    step,
                    at: now,
                    due,
                    only_if_enqueued,
                });
            }
        }
        out
    }
}
