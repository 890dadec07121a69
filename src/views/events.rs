//! The events view: the events kept for steps that start waiting later (`chainsched event NAME
//! --keep 10m`), oldest first, with their payload and expiry.
//!
//! Why a view: a kept event is state an operator must be able to see — an event raised "too
//! early" waits here until a step takes it or it expires — from the CLI (the embedded store or
//! `--server`) and the HTTP API, with the same rows. Expired events are left out (the engine
//! deletes them at its next delivery).

use super::rows::ViewRow;
use super::time::rfc3339;
use super::ViewError;
use crate::core::KeptEvent;
use crate::lang::duration::Millis;
use crate::store::ChainStore;
use serde::{Deserialize, Serialize};

/// events: one row per kept event, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptEventRow {
    /// Raise order.
    pub event_id: u64,
    pub event_name: String,
    /// Only this job's steps may take it (null: any job's).
    pub job_name: Option<String>,
    /// The payload as JSON text (null when the event had none).
    pub payload: Option<String>,
    /// RFC 3339, UTC.
    pub raised_at: String,
    /// RFC 3339, UTC: dropped from then on.
    pub expires_at: String,
}

impl ViewRow for KeptEventRow {
    const COLUMNS: &'static [&'static str] = &[
        "EVENT_ID",
        "EVENT_NAME",
        "JOB_NAME",
        "PAYLOAD",
        "RAISED_AT",
        "EXPIRES_AT",
    ];
}

/// The row of one kept event.
pub fn kept_event_row(e: &KeptEvent) -> KeptEventRow {
    KeptEventRow {
        event_id: e.id,
        event_name: e.name.clone(),
        job_name: e.job.clone(),
        payload: (!e.payload.is_null()).then(|| e.payload.to_string()),
        raised_at: rfc3339(e.raised_at),
        expires_at: rfc3339(e.expires_at),
    }
}

/// The unexpired kept events of `store` at `now`, oldest first.
pub fn kept_event_rows(store: &ChainStore, now: Millis) -> Result<Vec<KeptEventRow>, ViewError> {
    Ok(store
        .kept_events()?
        .iter()
        .filter(|e| e.expires_at > now)
        .map(kept_event_row)
        .collect())
}
