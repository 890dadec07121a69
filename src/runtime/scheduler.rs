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
//!   changed schedule strings (recomputed from now) and removed ones (forgotten).

use super::clock::EngineClock;
use super::engine::WeakEngine;
use super::error::EngineError;
use crate::catalog::Catalog;
use crate::core::types::StartRequest;
use crate::lang::duration::Millis;
use crate::schedule::Schedule;
use crate::store::records::encode;
use crate::store::{layout, ChainStore, StoreError, WriteBatch};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::watch;

// The record and its decoding live in the store, so that the views can read them without
// depending on the runtime (docs/ARCHITECTURE.md).
pub use crate::store::schedules::{schedule_states, ScheduleState};

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
) {
    tokio::spawn(run(engine, store, clock, catalog_changed));
}

struct Entry {
    schedule: Schedule,
    state: ScheduleState,
}

async fn run(
    engine: WeakEngine,
    store: ChainStore,
    clock: EngineClock,
    mut catalog_changed: watch::Receiver<u64>,
) {
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
        // Wake at the earliest due time, on a catalog change, or after a minute at most (a
        // long sleep is re-measured against the clock rather than trusted).
        let wait = earliest
            .map(|due| clock.until(due))
            .unwrap_or(Duration::from_secs(60))
            .min(Duration::from_secs(60));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            changed = catalog_changed.changed() => match changed {
                Ok(()) => reload = true,
                Err(_) => return, // the engine is gone
            },
        }
        if engine.upgrade().is_none() {
            return;
        }
    }
}

/// Bring the entries in line with the catalog and the store: keep what is unchanged (including
/// a due time that passed while the engine was down: it fires once), compute new or changed
/// schedules from `now`, forget removed ones.
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
    let mut out = BTreeMap::new();
    for (name, def) in &catalog.jobs {
        let Some(text) = &def.schedule else { continue };
        let schedule = match Schedule::parse(text) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("scheduler: job {name}: invalid schedule '{text}': {e}");
                continue;
            }
        };
        let kept = old
            .remove(name)
            .map(|e| e.state)
            .or_else(|| stored.remove(name))
            .filter(|s| s.schedule == *text);
        let before = kept.clone();
        let mut state = match kept {
            Some(s) => s,
            None => {
                let s = ScheduleState {
                    job: name.clone(),
                    chain: def.chain.clone(),
                    schedule: text.clone(),
                    next_run: schedule.next_after(now),
                    last_start: None,
                    firing: None,
                    skipped: 0,
                };
                tracing::info!(
                    job = %name,
                    next_run = %s.next_run.map_or_else(|| "never".to_string(), crate::views::time::rfc3339),
                    "scheduler: schedule loaded"
                );
                s
            }
        };
        state.chain = def.chain.clone();
        if before.as_ref() != Some(&state) {
            // New, recomputed, or its chain changed; an unchanged state is not rewritten.
            persist(store, &state);
        }
        out.insert(name.clone(), Entry { schedule, state });
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
    entry.state.next_run = entry.schedule.next_after(now.max(due));
    if already_started {
        tracing::info!(job = %name, due = %crate::views::time::rfc3339(due), "scheduler: the occurrence was started before a restart");
        entry.state.firing = None;
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
        let request = StartRequest {
            job: Some(name.clone()),
            definition: Some(name.clone()),
            requested_by: Some("SCHEDULER".into()),
            ..StartRequest::default()
        };
        match engine.start(request).await {
            Ok(_) => {
                entry.state.last_start = Some(now);
                tracing::info!(job = %name, due = %crate::views::time::rfc3339(due), "scheduler: started a scheduled run");
            }
            Err(EngineError::NotRunning(m)) => return Err(EngineError::NotRunning(m)),
            Err(e) => {
                tracing::warn!(job = %name, due = %crate::views::time::rfc3339(due), "scheduler: cannot start a scheduled run: {e}")
            }
        }
        entry.state.firing = None;
    }
    persist(store, &entry.state);
    Ok(())
}

fn persist(store: &ChainStore, state: &ScheduleState) {
    if let Err(e) = save(store, state) {
        tracing::warn!(job = %state.job, "scheduler: cannot save the schedule state: {e}");
    }
}
