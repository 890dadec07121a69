//! Event delivery: which waiting event steps an event completes, why the others did not take it,
//! and the events kept for steps that start waiting later (`event NAME --keep 10m`).
//!
//! Why one module: an event used to be lost silently (a misspelt name, a payload no `where`
//! accepts, an event raised a moment before its step started waiting all printed "0 waiting
//! step(s) completed"). Every raise now goes through [`Core::deliver_event`], which refuses a
//! name no chain declares and a payload that is not an object, says why nothing was completed,
//! and keeps the event when asked. Other ways of reacting to an event (a job definition started
//! by one) hook in here: [`Core::known_event_names`] is the set of names a raise may use, and
//! [`Core::deliver_event`] the one place an event is delivered.
//!
//! Kept events: an event raised with `keep` that completes no waiting step is kept, in raise
//! order, until `now + keep`. When a step starts waiting for that name (and the event's `job`, if
//! any, is its job) and the payload satisfies the step's `where`, the oldest such event completes
//! it and is consumed. Expired events are dropped at the next delivery or raise. Kept events are
//! state like any other: the driver persists [`Effect::EventKept`] / [`Effect::KeptEventGone`]
//! (store keys `kev/`), and recovery gives them back with [`Core::restore_kept_events`].

use super::job::Ctx;
use super::triggers::{complete_waiting, event_name_matches};
use super::types::{CoreError, Effect};
use super::Core;
use crate::catalog::StepTarget;
use crate::lang::diagnostic::{did_you_mean, nearest_name};
use crate::lang::duration::Millis;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// An event kept for a step that is not waiting yet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptEvent {
    /// Raise order (never reused within a store).
    pub id: u64,
    /// The name as raised.
    pub name: String,
    pub payload: serde_json::Value,
    /// Only this job's steps may take it.
    pub job: Option<String>,
    pub raised_at: Millis,
    pub expires_at: Millis,
}

/// What one raise did, for the answer (`completed_steps` and the sentence that explains it).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EventDelivery {
    /// Event steps the event completed.
    pub completed: usize,
    /// Event steps that were waiting for this name (in the addressed jobs) when it was raised.
    pub waiting: usize,
    /// Why each waiting step that did not take it refused it:
    /// `job J step W: where size > 0 is FALSE`.
    pub unmatched: Vec<String>,
    /// The event, when it was kept for later.
    pub kept: Option<KeptEvent>,
}

impl EventDelivery {
    /// One line for people: `event X: 0 waiting step(s) completed (no job waits for X; kept
    /// until …)`.
    pub fn sentence(&self, name: &str, fmt_time: impl Fn(Millis) -> String) -> String {
        let mut line = format!("event {name}: {} waiting step(s) completed", self.completed);
        if self.completed == 0 {
            let why = if self.waiting == 0 {
                format!("no step is waiting for {name}")
            } else {
                format!(
                    "{} step(s) waiting, none matched: {}",
                    self.waiting,
                    self.unmatched.join("; ")
                )
            };
            line.push_str(&format!(" ({why})"));
        }
        if let Some(k) = &self.kept {
            line.push_str(&format!(
                "; kept until {} for a step that starts waiting (event #{})",
                fmt_time(k.expires_at),
                k.id
            ));
        }
        line
    }
}

/// A payload must be a JSON object (or absent: `null`), whose members `where` conditions name.
pub fn check_payload(payload: &serde_json::Value) -> Result<(), CoreError> {
    match payload {
        serde_json::Value::Object(_) | serde_json::Value::Null => Ok(()),
        other => Err(CoreError::Invalid(format!(
            "payload: an event's payload is a JSON object (its members are what `where` \
             conditions test), not {}",
            match other {
                serde_json::Value::Array(_) => "an array",
                serde_json::Value::String(_) => "a string",
                serde_json::Value::Number(_) => "a number",
                _ => "a boolean",
            }
        ))),
    }
}

impl Core {
    /// Every event name a raise may use: the events of the catalog's event steps and of the
    /// event steps of running jobs (which may run older definitions).
    pub fn known_event_names(&self) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        for chain in self.catalog.chains.values() {
            for step in &chain.steps {
                if let StepTarget::Event { name, .. } = &step.kind {
                    names.insert(name.clone());
                }
            }
        }
        // Event-based job definitions (`on event NAME`): raising one starts a job.
        names.extend(self.catalog.job_events().map(str::to_string));
        for job in self.jobs.values().filter(|j| !j.ended()) {
            for &(i, s) in &job.waiting {
                if let Some(n) = job.event_step_name(i, s) {
                    names.insert(n.to_string());
                }
            }
        }
        names
    }

    /// Refuse a name no chain declares, with the nearest declared one.
    pub fn check_event_name(&self, name: &str) -> Result<(), CoreError> {
        let names = self.known_event_names();
        if names.iter().any(|n| event_name_matches(n, name)) {
            return Ok(());
        }
        let nearest = nearest_name(name.trim(), names.iter().map(String::as_str)).or_else(|| {
            nearest_name(
                &name.trim().to_uppercase(),
                names.iter().map(String::as_str),
            )
        });
        Err(CoreError::Invalid(format!(
            "name: no chain declares event {name}{}{}",
            did_you_mean(nearest.as_deref()),
            if names.is_empty() {
                " (no chain has an event step)".to_string()
            } else {
                String::new()
            }
        )))
    }

    /// The kept events, oldest first.
    pub fn kept_events(&self) -> Vec<KeptEvent> {
        self.kept.values().cloned().collect()
    }

    /// Give back the kept events of a store (recovery).
    pub fn restore_kept_events(&mut self, events: Vec<KeptEvent>) {
        for e in events {
            self.next_kept_id = self.next_kept_id.max(e.id + 1);
            self.kept.insert(e.id, e);
        }
    }

    /// Deliver a raised event: check it, complete the waiting event steps it matches (every
    /// job, or `target`'s), keep it for `keep` when it completed none, and record what happened
    /// ([`Core::last_event`]). `affected` receives the jobs to settle.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn deliver_event(
        &mut self,
        now: Millis,
        name: &str,
        payload: &serde_json::Value,
        target: Option<&str>,
        keep: Option<Millis>,
        effects: &mut Vec<Effect>,
        affected: &mut Vec<String>,
    ) -> Result<(), CoreError> {
        check_payload(payload)?;
        self.check_event_name(name)?;
        let jobs: Vec<String> = match target {
            Some(j) if self.jobs.contains_key(j) => vec![j.to_string()],
            // A job that has not started yet may still take a kept event.
            Some(_) if keep.is_some_and(|k| k > 0) => Vec::new(),
            Some(j) => return Err(CoreError::UnknownJob(j.to_string())),
            None => self
                .jobs
                .iter()
                .filter(|(_, j)| !j.ended() && !j.waiting.is_empty())
                .map(|(n, _)| n.clone())
                .collect(),
        };
        self.drop_expired(now, effects);
        let mut report = EventDelivery::default();
        for job in jobs {
            let n = self.with_job(&job, now, effects, |j, ctx| {
                Ok(complete_waiting(j, name, payload, ctx, Some(&mut report)))
            })?;
            if n > 0 {
                report.completed += n;
                affected.push(job);
            }
        }
        if let (0, Some(keep)) = (report.completed, keep.filter(|k| *k > 0)) {
            let event = KeptEvent {
                id: self.next_kept_id,
                name: name.trim().to_string(),
                payload: payload.clone(),
                job: target.map(str::to_string),
                raised_at: now,
                expires_at: now.saturating_add(keep),
            };
            self.next_kept_id += 1;
            effects.push(Effect::EventKept(event.clone()));
            self.kept.insert(event.id, event.clone());
            report.kept = Some(event);
        }
        self.last_event = report;
        Ok(())
    }

    /// Drop the kept events that have expired.
    fn drop_expired(&mut self, now: Millis, effects: &mut Vec<Effect>) {
        let expired: Vec<u64> = self
            .kept
            .values()
            .filter(|e| e.expires_at <= now)
            .map(|e| e.id)
            .collect();
        for id in expired {
            if let Some(e) = self.kept.remove(&id) {
                effects.push(Effect::KeptEventGone {
                    id,
                    name: e.name,
                    taken_by: None,
                });
            }
        }
    }

    /// Offer the kept events to the steps of `jobs` that wait now (after a settle); returns the
    /// jobs whose steps took one (to settle again).
    pub(crate) fn offer_kept_events(
        &mut self,
        now: Millis,
        jobs: &[String],
        effects: &mut Vec<Effect>,
    ) -> Vec<String> {
        if self.kept.is_empty() {
            return Vec::new();
        }
        self.drop_expired(now, effects);
        let mut took = Vec::new();
        for job in jobs {
            let waits = self
                .jobs
                .get(job)
                .is_some_and(|j| !j.ended() && !j.waiting.is_empty());
            if !waits {
                continue;
            }
            let offers: Vec<KeptEvent> = self
                .kept
                .values()
                .filter(|e| e.job.as_deref().is_none_or(|t| t == job))
                .cloned()
                .collect();
            for e in offers {
                let n = self
                    .with_job(job, now, effects, |j, ctx: &mut Ctx| {
                        Ok(complete_waiting(j, &e.name, &e.payload, ctx, None))
                    })
                    .unwrap_or(0);
                if n > 0 {
                    self.kept.remove(&e.id);
                    effects.push(Effect::KeptEventGone {
                        id: e.id,
                        name: e.name.clone(),
                        taken_by: Some(job.clone()),
                    });
                    if !took.contains(job) {
                        took.push(job.clone());
                    }
                }
            }
        }
        took
    }
}
