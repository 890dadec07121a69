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
