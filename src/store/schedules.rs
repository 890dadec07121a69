//! The scheduler's durable record of one scheduled job definition (`sched/<definition>`), and
//! reading all of them back.
//!
//! Why here and not in `runtime::scheduler`: the scheduler (runtime) writes these records and
//! the views read them (the `schedules` view, from `serve` or from an embedded store opened by
//! the CLI). Both layers depend on the store, and the views must not depend on the runtime
//! (docs/ARCHITECTURE.md), so the record type and its decoding live in the store.

use super::{layout, ChainStore, StoreError};
use crate::lang::duration::Millis;
use serde::{Deserialize, Serialize};

/// The durable state of one scheduled job definition (`sched/<definition>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleState {
    /// The job definition (and the name of the jobs it starts).
    pub job: String,
    pub chain: Option<String>,
    /// The schedule string as written; a different string on reload means "recompute".
    pub schedule: String,
    /// The next due time (engine ms); `None`: the schedule has no further occurrence.
    pub next_run: Option<Millis>,
    /// When the scheduler last started a run of it.
    pub last_start: Option<Millis>,
    /// Set while an occurrence is being started (the due time): see `runtime::scheduler`.
    #[serde(default)]
    pub firing: Option<Millis>,
    /// Occurrences skipped because the previous run had not ended.
    #[serde(default)]
    pub skipped: u64,
    /// The definition's time zone, start and end dates as written (a change recomputes the
    /// next due time, as a changed schedule string does).
    #[serde(default)]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub start_date: Option<String>,
    #[serde(default)]
    pub end_date: Option<String>,
    /// Whether the scheduler starts it: the file's `enabled`, or `chainsched enable|disable`.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Runs the scheduler (or an event) started, and how many of them failed.
    #[serde(default)]
    pub run_count: u64,
    #[serde(default)]
    pub failure_count: u64,
    /// Failures in a row (`max_failures` counts these; a run that succeeds resets it).
    #[serde(default)]
    pub consecutive_failures: u64,
    /// The start time of the last run started whose outcome is not counted yet.
    #[serde(default)]
    pub counting: Option<Millis>,
    /// Why the scheduler stopped for good: `COMPLETED` (end date or `max_runs` reached) or
    /// `BROKEN` (`max_failures` reached), with the reason. `enable` starts it again.
    #[serde(default)]
    pub ended: Option<String>,
    /// When the last `enable` this state applied was given (an older one is not applied
    /// twice).
    #[serde(default)]
    pub enabled_at: Option<Millis>,
    /// `on event NAME`: the event that starts it (no time schedule).
    #[serde(default)]
    pub on_event: Option<String>,
}

fn yes() -> bool {
    true
}

impl ScheduleState {
    /// Oracle's job state as the schedules view shows it: SCHEDULED, DISABLED, COMPLETED or
    /// BROKEN.
    pub fn state(&self) -> &'static str {
        match &self.ended {
            Some(r) if r.starts_with("BROKEN") => "BROKEN",
            Some(_) => "COMPLETED",
            None if !self.enabled => "DISABLED",
            None => "SCHEDULED",
        }
    }
}

/// `chainsched enable|disable JOB` (`schen/<job definition>`): the operator's word, which
/// holds until the rule file's own `enabled` setting changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnabledOverride {
    pub job: String,
    pub enabled: bool,
    /// The file's `enabled` setting when the command was given.
    pub file_enabled: bool,
    /// When it was given (engine ms).
    pub at: Millis,
}

/// Every enable/disable override in the store.
pub fn enabled_overrides(store: &ChainStore) -> Result<Vec<EnabledOverride>, StoreError> {
    store
        .kv()
        .scan_prefix(layout::SCHEDULE_ENABLED.as_bytes())?
        .into_iter()
        .map(|(k, v)| store.decode(&k, &v))
        .collect()
}

/// Record `chainsched enable|disable JOB` for job definition `job` of `catalog` (refused for
/// a job the catalog does not define).
pub fn set_enabled(
    store: &ChainStore,
    catalog: &crate::catalog::Catalog,
    job: &str,
    enabled: bool,
    now: Millis,
) -> Result<(), String> {
    let def = catalog.jobs.get(job).ok_or_else(|| {
        let near =
            crate::lang::diagnostic::nearest_name(job, catalog.jobs.keys().map(|k| k.as_str()));
        match near {
            Some(n) => format!("unknown job definition {job}; did you mean {n}?"),
            None => format!("unknown job definition {job}"),
        }
    })?;
    let o = EnabledOverride {
        job: job.to_string(),
        enabled,
        file_enabled: def.enabled,
        at: now,
    };
    let mut b = super::WriteBatch::default();
    b.put(
        layout::schedule_enabled_key(job),
        super::records::encode(&o),
    );
    store.kv().commit(b).map_err(|e| e.to_string())
}

/// Every schedule state in the store, in definition-name order (empty for a store on which
/// `serve` never ran).
pub fn schedule_states(store: &ChainStore) -> Result<Vec<ScheduleState>, StoreError> {
    store
        .kv()
        .scan_prefix(layout::SCHEDULE.as_bytes())?
        .into_iter()
        .map(|(k, v)| store.decode(&k, &v))
        .collect()
}
