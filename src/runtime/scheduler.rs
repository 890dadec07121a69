//! The scheduler: fires each scheduled job definition (`job NAME { schedule '...'; }`) at its
//! due times, by starting a run of the definition named like the definition — the same path as
//! `start --definition NAME --job NAME`. Opt-in ([`EngineOptions::schedules`](super::EngineOptions),
//! on in `serve`); `run` and `resume` never fire schedules.
//!
//! Why this shape: the schedule arithmetic is pure (`crate::schedule`); this task only keeps,
//! per definition, the next due time — DURABLE under `sched/<definition>` so a restarted engine
//! neither loses nor repeats a fire — sleeps on the engine clock until the earliest one, and
//! fires. Decisions (docs/scheduling.md):
//! * one job never runs twice at once: if the previous run (same job name) has not ended when
//!   an occurrence is due, the occurrence is skipped (logged at info), as Oracle does;
//! * no catch-up: due times missed while the engine was down fire ONCE when it opens, then the
//!   next occurrence after now is computed (Airflow `catchup=False`, Oracle's behaviour);
//! * a fire is recorded as `firing` before the run is started and cleared after: after a crash
//!   in between, the next engine looks at the job record to tell whether the run started, so
//!   the occurrence is started exactly once;
//! * a catalog reload picks up new schedules (first fire: the next occurrence after now),
//!   changed schedule strings, time zones, start or end dates (recomputed from now) and removed
//!   ones (forgotten);
//! * Oracle's job attributes (docs/scheduling.md, "Job attributes"): a disabled definition is
//!   not started (its due times pass unstarted); `max_runs` runs started end the schedule
//!   (COMPLETED), and so does an end date with no occurrence before it; `max_failures` failed
//!   runs in a row end it (BROKEN). The scheduler counts the runs it started, and their
//!   failures when they end (it watches the engine's job events);
//! * event-based definitions (`on event NAME [where ...]`) are started by the events raised
//!   through this engine, with the same rules (not twice at once, enabled, max_runs).

use super::clock::EngineClock;
use super::engine::WeakEngine;
use super::error::EngineError;
use crate::catalog::Catalog;
use crate::catalog::EventTrigger;
use crate::core::types::JobState;
use crate::core::types::StartRequest;
use crate::lang::duration::Millis;
use crate::schedule::zone::JobSchedule;
use crate::schedule::Next;
use crate::store::records::encode;
use crate::store::{layout, ChainStore, StoreError, WriteBatch};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::watch;

// The record and its decoding live in the store, so that the views can read them without
// depending on the runtime (docs/ARCHITECTURE.md).
use super::events::EngineEvent;
use crate::store::schedules::{enabled_overrides, EnabledOverride};
pub use crate::store::schedules::{schedule_states, ScheduleState};
use tokio::sync::broadcast;

fn save(store: &ChainStore, state: &ScheduleState) -> Result<(), StoreError> {
    let mut b = WriteBatch::default();
    b.put(layout::schedule_key(&state.job), encode(state));
    store.kv().commit(b)
}

fn forget(store: &ChainStore, job: &str) -> Result<(), StoreError> {
    let mut b = WriteBatch::default();
    b.delete(layout::schedule_key(job));
    store.kv().commit(b)
}

/// Start the scheduler task. It ends when the engine is gone or has shut down.
pub(crate) fn spawn(
    engine: WeakEngine,
    store: ChainStore,
    clock: EngineClock,
    catalog_changed: watch::Receiver<u64>,
    raised: broadcast::Receiver<(String, serde_json::Value)>,
) {
    tokio::spawn(run(engine, store, clock, catalog_changed, raised));
}

struct Entry {
    /// `None` for an event-based definition.
    schedule: Option<JobSchedule>,
    /// The rule file's `enabled` setting.
    file_enabled: bool,
    trigger: Option<EventTrigger>,
    max_runs: Option<u64>,
    max_failures: Option<u64>,
    state: ScheduleState,
}

impl Entry {
    /// Whether the scheduler may start a run now (enabled, not ended).
    fn active(&self) -> bool {
        self.state.enabled && self.state.ended.is_none()
    }

    /// Read `chainsched enable|disable` again before starting a run: another engine sharing
    /// the database may have been told since this one last synchronised.
    fn refresh_enabled(&mut self, store: &ChainStore) {
        let key = layout::schedule_enabled_key(&self.state.job);
        let o: Option<EnabledOverride> = match store.kv().get(&key) {
            Ok(Some(v)) => store.decode(&key, &v).ok(),
            _ => None,
        };
        self.state.enabled = o
            .filter(|o| o.file_enabled == self.file_enabled)
            .map_or(self.file_enabled, |o| o.enabled);
    }
}

async fn run(
    engine: WeakEngine,
    store: ChainStore,
    clock: EngineClock,
    mut catalog_changed: watch::Receiver<u64>,
    mut raised: broadcast::Receiver<(String, serde_json::Value)>,
) {
    let Some(mut job_events) = engine.upgrade().map(|e| e.subscribe()) else {
        return;
    };
    let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
    let mut reload = true;
    loop {
        if reload {
            catalog_changed.borrow_and_update();
            let catalog = match store.catalog() {
                Ok(c) => c.unwrap_or_default(),
                Err(e) => {
                    tracing::warn!("scheduler: cannot read the catalog: {e}");
                    Catalog::default()
                }
            };
            entries = sync(&store, &catalog, clock.now(), entries);
            reload = false;
        }
        {
            let Some(e) = engine.upgrade() else { return };
            for entry in entries.values_mut() {
                count_outcome(&e, &store, entry);
            }
        }
        let now = clock.now();
        for entry in entries.values_mut() {
            if entry.state.next_run.is_some_and(|due| due <= now) {
                let Some(e) = engine.upgrade() else { return };
                if fire(&e, &store, entry, clock).await.is_err() {
                    return; // the engine has shut down
                }
            }
        }
        let earliest = entries.values().filter_map(|e| e.state.next_run).min();
        // Wake at the earliest due time, on a catalog change, on an event, when a job ends, or
        // after a minute at most (a long sleep is re-measured against the clock rather than
        // trusted).
        let wait = earliest
            .map(|due| clock.until(due))
            .unwrap_or(Duration::from_secs(60))
            .min(Duration::from_secs(60));
        let deadline = tokio::time::sleep(wait);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = &mut deadline => break,
                changed = catalog_changed.changed() => match changed {
                    Ok(()) => {
                        reload = true;
                        break;
                    }
                    Err(_) => return, // the engine is gone
                },
                ev = raised.recv() => match ev {
                    Ok((name, payload)) => {
                        let Some(e) = engine.upgrade() else { return };
                        for entry in entries.values_mut() {
                            if on_event(&e, &store, entry, &name, &payload, clock).await.is_err() {
                                return;
                            }
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!("scheduler: {n} raised events were not looked at (too many at once)");
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                ev = job_events.recv() => match ev {
                    // A run the scheduler started has ended: count its outcome. Other events
                    // (steps, log rows, other jobs) only cost this match.
                    Ok(EngineEvent::Job(rec)) if rec.state.is_finished() => {
                        if let Some(entry) = entries.get_mut(&rec.job).filter(|e| e.state.counting.is_some()) {
                            let Some(e) = engine.upgrade() else { return };
                            count_outcome(&e, &store, entry);
                        }
                    }
                    // Missed events: the outcomes are counted at the top of the loop.
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
        if engine.upgrade().is_none() {
            return;
        }
    }
}

/// Bring the entries in line with the catalog and the store: keep what is unchanged (including
/// a due time that passed while the engine was down: it fires once), compute new or changed
/// schedules from `now`, forget removed ones; apply `enable`/`disable`.
fn sync(
    store: &ChainStore,
    catalog: &Catalog,
    now: Millis,
    mut old: BTreeMap<String, Entry>,
) -> BTreeMap<String, Entry> {
    let mut stored: BTreeMap<String, ScheduleState> = match schedule_states(store) {
        Ok(v) => v.into_iter().map(|s| (s.job.clone(), s)).collect(),
        Err(e) => {
            tracing::warn!("scheduler: cannot read the schedule states: {e}");
            BTreeMap::new()
        }
    };
    let overrides: BTreeMap<String, EnabledOverride> = match enabled_overrides(store) {
        Ok(v) => v.into_iter().map(|o| (o.job.clone(), o)).collect(),
        Err(e) => {
            tracing::warn!("scheduler: cannot read enable/disable: {e}");
            BTreeMap::new()
        }
    };
    let mut out = BTreeMap::new();
    for (name, def) in &catalog.jobs {
        let (schedule, text) = match (&def.schedule, &def.on_event) {
            (Some(text), _) => match catalog.job_schedule(name) {
                Some(Ok(s)) => (Some(s), text.clone()),
                Some(Err(e)) => {
                    tracing::warn!("scheduler: job {name}: invalid schedule '{text}': {e}");
                    continue;
                }
                None => continue,
            },
            (None, Some(t)) => (None, format!("on event {}", t.event)),
            (None, None) => continue,
        };
        let prev = old
            .remove(name)
            .map(|e| e.state)
            .or_else(|| stored.remove(name));
        let same = |s: &ScheduleState| {
            s.schedule == text
                && s.time_zone == def.time_zone
                && s.start_date == def.start_date
                && s.end_date == def.end_date
        };
        let before = prev.clone();
        let mut state = match prev {
            Some(s) if same(&s) => s,
            prev => {
                // New, or its schedule changed: the next due time from now; the counts stay.
                let mut s = prev.unwrap_or_else(|| ScheduleState {
                    job: name.clone(),
                    chain: def.chain.clone(),
                    schedule: text.clone(),
                    next_run: None,
                    last_start: None,
                    firing: None,
                    skipped: 0,
                    time_zone: None,
                    start_date: None,
                    end_date: None,
                    enabled: true,
                    run_count: 0,
                    failure_count: 0,
                    consecutive_failures: 0,
                    counting: None,
                    ended: None,
                    enabled_at: None,
                    on_event: None,
                });
                s.schedule = text.clone();
                s.time_zone = def.time_zone.clone();
                s.start_date = def.start_date.clone();
                s.end_date = def.end_date.clone();
                s.firing = None;
                if s.ended.as_deref().is_some_and(|r| r.contains("end date")) {
                    s.ended = None;
                }
                s.next_run = None;
                if let Some(sch) = &schedule {
                    next_due(&mut s, sch, now, def.max_runs);
                }
                tracing::info!(
                    job = %name,
                    next_run = %s.next_run.map_or_else(|| "never".to_string(), crate::views::time::rfc3339),
                    "scheduler: schedule loaded"
                );
                s
            }
        };
        state.chain = def.chain.clone();
        state.on_event = def.on_event.as_ref().map(|t| t.event.clone());
        // The operator's enable/disable holds until the file's own setting changes.
        let o = overrides
            .get(name)
            .filter(|o| o.file_enabled == def.enabled);
        if overrides.contains_key(name) && o.is_none() {
            let mut b = WriteBatch::default();
            b.delete(layout::schedule_enabled_key(name));
            if let Err(e) = store.kv().commit(b) {
                tracing::warn!("scheduler: cannot remove the enable/disable of {name}: {e}");
            }
        }
        state.enabled = o.map_or(def.enabled, |o| o.enabled);
        if let Some(o) = o.filter(|o| o.enabled && state.enabled_at.is_none_or(|at| at < o.at)) {
            // `enable` starts a schedule the scheduler stopped again.
            state.enabled_at = Some(o.at);
            if state.ended.take().is_some() {
                tracing::info!(job = %name, "scheduler: enabled again");
            }
            state.consecutive_failures = 0;
            if def.max_runs.is_some_and(|m| state.run_count >= m) {
                state.run_count = 0;
            }
            if let Some(sch) = &schedule {
                next_due(&mut state, sch, now, def.max_runs);
            }
        }
        if before.as_ref() != Some(&state) {
            // New, recomputed, or changed; an unchanged state is not rewritten.
            persist(store, &state);
        }
        out.insert(
            name.clone(),
            Entry {
                schedule,
                file_enabled: def.enabled,
                trigger: def.on_event.clone(),
                max_runs: def.max_runs,
                max_failures: def.max_failures,
                state,
            },
        );
    }
    for name in overrides.keys() {
        if !catalog.jobs.contains_key(name) {
            // The definition is gone: so is the operator's word about it.
            let mut b = WriteBatch::default();
            b.delete(layout::schedule_enabled_key(name));
            if let Err(e) = store.kv().commit(b) {
                tracing::warn!("scheduler: cannot remove the enable/disable of {name}: {e}");
            }
        }
    }
    // A name both stored and in memory is removed once (and logged once).
    let gone: std::collections::BTreeSet<&String> = stored.keys().chain(old.keys()).collect();
    for name in gone {
        if !out.contains_key(name) {
            tracing::info!(job = %name, "scheduler: schedule removed");
            if let Err(e) = forget(store, name) {
                tracing::warn!("scheduler: cannot remove the schedule of {name}: {e}");
            }
        }
    }
    out
}

/// Set the next due time of `state` to the first occurrence after `after`; an end date with no
/// occurrence before it ends the schedule (COMPLETED).
fn next_due(
    state: &mut ScheduleState,
    schedule: &JobSchedule,
    after: Millis,
    max_runs: Option<u64>,
) {
    if max_runs.is_some_and(|m| state.run_count >= m) {
        state.next_run = None;
        state.ended = Some(format!(
            "COMPLETED: max_runs {} reached",
            max_runs.unwrap_or_default()
        ));
        return;
    }
    state.next_run = match schedule.next(after) {
        Next::At(t) => Some(t),
        Next::Never(n) => {
            if schedule.timing().end.is_some() && n.reason.contains("end date") {
                state.ended = Some("COMPLETED: the end date is reached".into());
            }
            None
        }
        Next::Undecided { .. } => None,
    };
}

/// Count the outcome of the last run the scheduler started, once it has ended: a failure
/// (FAILED or STOPPED) counts towards `max_failures`, a success resets the count.
fn count_outcome(engine: &super::Engine, store: &ChainStore, entry: &mut Entry) {
    let Some(started) = entry.state.counting else {
        return;
    };
    let Some(rec) = engine.job(&entry.state.job).ok().flatten() else {
        return;
    };
    if rec.enqueued_at.unwrap_or(rec.started_at) < started.saturating_sub(1_000) {
        return; // not the run it started (yet)
    }
    if !rec.state.is_finished() {
        return;
    }
    entry.state.counting = None;
    if matches!(rec.state, JobState::Failed | JobState::Stopped) {
        entry.state.failure_count += 1;
        entry.state.consecutive_failures += 1;
        if let Some(m) = entry
            .max_failures
            .filter(|m| entry.state.consecutive_failures >= *m)
        {
            tracing::warn!(job = %entry.state.job, "scheduler: max_failures {m} reached; the job is BROKEN until enabled again");
            entry.state.ended = Some(format!("BROKEN: max_failures {m} reached"));
            entry.state.next_run = None;
        }
    } else {
        entry.state.consecutive_failures = 0;
    }
    persist(store, &entry.state);
}

/// Fire one due occurrence: start a run unless the previous one is still going, then move the
/// due time to the next occurrence after now. `Err` only when the engine has shut down.
async fn fire(
    engine: &super::Engine,
    store: &ChainStore,
    entry: &mut Entry,
    clock: EngineClock,
) -> Result<(), EngineError> {
    let name = entry.state.job.clone();
    let due = entry.state.next_run.unwrap_or_default();
    let now = clock.now();
    let last_run = engine.job(&name).ok().flatten();
    // A previous engine crashed while starting this occurrence: did the run start?
    let already_started = entry.state.firing == Some(due)
        && last_run
            .as_ref()
            .is_some_and(|r| r.enqueued_at.unwrap_or(r.started_at) >= due);
    let running = last_run.is_some_and(|r| !r.state.is_finished());
    // Whether this occurrence may start is decided before the next one is computed: the last
    // occurrence before the end date runs, then the schedule is COMPLETED.
    entry.refresh_enabled(store);
    let active = entry.active();
    if let Some(s) = &entry.schedule {
        next_due(&mut entry.state, s, now.max(due), None);
    }
    if already_started {
        tracing::info!(job = %name, due = %crate::views::time::rfc3339(due), "scheduler: the occurrence was started before a restart");
        entry.state.firing = None;
    } else if !active {
        entry.state.firing = None;
        tracing::info!(job = %name, due = %crate::views::time::rfc3339(due), "scheduler: the job is disabled; occurrence not started");
    } else if running {
        entry.state.skipped += 1;
        entry.state.firing = None;
        tracing::info!(job = %name, due = %crate::views::time::rfc3339(due), "scheduler: the previous run has not ended; occurrence skipped");
    } else if !engine.claim_occurrence(&name, due).await.unwrap_or(false) {
        // Engines sharing a database: another one started this occurrence (or the claim
        // could not be made, and then nobody starts it twice).
        entry.state.firing = None;
        tracing::info!(job = %name, due = %crate::views::time::rfc3339(due), "scheduler: occurrence started by another engine");
    } else {
        entry.state.firing = Some(due);
        persist(store, &entry.state);
        start_run(engine, entry, now, due).await?;
        entry.state.firing = None;
    }
    persist(store, &entry.state);
    Ok(())
}

/// Start a run of the entry's definition (named like it) and count it; `max_runs` reached ends
/// the schedule. `Err` only when the engine has shut down.
async fn start_run(
    engine: &super::Engine,
    entry: &mut Entry,
    now: Millis,
    due: Millis,
) -> Result<(), EngineError> {
    let name = entry.state.job.clone();
    let request = StartRequest {
        job: Some(name.clone()),
        definition: Some(name.clone()),
        requested_by: Some("SCHEDULER".into()),
        ..StartRequest::default()
    };
    match engine.start(request).await {
        Ok(_) => {
            entry.state.last_start = Some(now);
            entry.state.run_count += 1;
            entry.state.counting = Some(now);
            tracing::info!(job = %name, due = %crate::views::time::rfc3339(due), "scheduler: started a scheduled run");
            if let Some(m) = entry.max_runs.filter(|m| entry.state.run_count >= *m) {
                tracing::info!(job = %name, "scheduler: max_runs {m} reached; the job is COMPLETED");
                entry.state.ended = Some(format!("COMPLETED: max_runs {m} reached"));
                entry.state.next_run = None;
            }
        }
        Err(EngineError::NotRunning(m)) => return Err(EngineError::NotRunning(m)),
        Err(e) => {
            tracing::warn!(job = %name, due = %crate::views::time::rfc3339(due), "scheduler: cannot start a scheduled run: {e}")
        }
    }
    Ok(())
}

/// An event was raised: start the entry's definition if it is an event-based one waiting for
/// it (and its payload passes the condition). `Err` only when the engine has shut down.
async fn on_event(
    engine: &super::Engine,
    store: &ChainStore,
    entry: &mut Entry,
    name: &str,
    payload: &serde_json::Value,
    clock: EngineClock,
) -> Result<(), EngineError> {
    let Some(trigger) = &entry.trigger else {
        return Ok(());
    };
    if !crate::core::event_name_matches(&trigger.event, name) {
        return Ok(());
    }
    if let Some(c) = &trigger.condition {
        if crate::core::payload::payload_matches(c, payload) != crate::lang::logic::Truth::True {
            return Ok(());
        }
    }
    let job = entry.state.job.clone();
    entry.refresh_enabled(store);
    if !entry.active() {
        tracing::info!(job = %job, event = %name, "scheduler: the job is disabled; event ignored");
        return Ok(());
    }
    if engine
        .job(&job)
        .ok()
        .flatten()
        .is_some_and(|r| !r.state.is_finished())
    {
        entry.state.skipped += 1;
        tracing::info!(job = %job, event = %name, "scheduler: the previous run has not ended; event ignored");
        persist(store, &entry.state);
        return Ok(());
    }
    let now = clock.now();
    start_run(engine, entry, now, now).await?;
    persist(store, &entry.state);
    Ok(())
}

fn persist(store: &ChainStore, state: &ScheduleState) {
    if let Err(e) = save(store, state) {
        tracing::warn!(job = %state.job, "scheduler: cannot save the schedule state: {e}");
    }
}
