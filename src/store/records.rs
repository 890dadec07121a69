//! Values kept in the store besides the core's own records, and their codec.
//!
//! Two codecs. JSON (serde_json) for the rows the views read: every value is small (a record, a
//! log row), the store can be inspected with ordinary tools when something goes wrong, and
//! serde's defaults let a later version add optional fields without a migration. postcard
//! (compact binary) for the core's journal records written on every state change (`jh/`,
//! `ji/`, `js/`), which only the engine reads and which are versioned by the core's record
//! format. Keys, where order matters, are binary (see `layout`).

use super::StoreError;
use crate::core::types::{JobRecord, StepState, TimerKey};
use crate::lang::duration::Millis;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Output and error output are kept bounded: the last 64 KiB of each.
pub const OUTPUT_LIMIT: usize = 64 * 1024;

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising our own plain data types to JSON cannot fail (no maps with non-string keys,
    // no custom serialisers that error); fall back to `null` rather than panic.
    serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec())
}

/// The compact binary codec of the records written on every state change (the core's journal
/// records: `jh/`, `ji/`, `js/`): postcard, a few dozen bytes per step.
pub fn encode_compact<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).unwrap_or_default()
}

pub fn decode_compact<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    postcard::from_bytes(bytes).map_err(|e| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        message: e.to_string(),
    })
}

pub fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        message: e.to_string(),
    })
}

/// `job/<job>`: the job record, as the core last reported it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobEntry {
    pub record: JobRecord,
}

/// `prog/<job>\0<subname>`: progress reported by a running step (`::progress`, `::status`, or a
/// handler's context). Kept after the step ends so views show the last value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub sofar: Option<u64>,
    pub totalwork: Option<u64>,
    pub status_message: Option<String>,
    pub updated_at: Millis,
}

/// `timer/<job>\0<timer>`: a timer the core asked for, with its absolute due time (engine
/// milliseconds since the Unix epoch) so recovery re-arms it at the same instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimerEntry {
    pub job: String,
    pub timer: TimerKey,
    pub due: Millis,
}

/// `run/<log_id>`: details of one job-log row (views.md, job_run_details).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDetails {
    pub log_id: u64,
    pub job: String,
    pub subname: Option<String>,
    pub status: StepState,
    pub error_code: i64,
    /// When the engine asked for the run (the step became RUNNING / the job started).
    pub req_start: Option<Millis>,
    /// When the process or handler actually started.
    pub actual_start: Option<Millis>,
    pub run_duration: Option<Millis>,
    /// Process id of an external program.
    pub pid: Option<u32>,
    /// Last 64 KiB of standard output (control lines `::progress`, `::status`, `::error-code`
    /// excluded).
    pub output: String,
    /// Last 64 KiB of standard error, plus engine notes (a timeout, a launch error).
    pub errors: String,
}

/// `pid/<job>\0<subname>`: the process group of a running external step, so that recovery can
/// kill what is left of it (grandchildren do not get the parent-death signal) before the step is
/// restarted or marked STOPPED.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LivePid {
    pub pid: u32,
    pub attempt: u32,
}

/// Keep only the last `OUTPUT_LIMIT` bytes of `text`, cut at a character boundary.
pub fn bounded_tail(text: &str) -> String {
    if text.len() <= OUTPUT_LIMIT {
        return text.to_string();
    }
    let mut start = text.len() - OUTPUT_LIMIT;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_is_bounded_and_keeps_the_end() {
        let text = format!("{}END", "é".repeat(40_000));
        let tail = bounded_tail(&text);
        assert!(tail.len() <= OUTPUT_LIMIT);
        assert!(tail.ends_with("END"));
    }

    #[test]
    fn a_corrupt_value_is_an_error_naming_the_key() {
        let err = decode::<Progress>(b"prog/J\0A", b"{not json").unwrap_err();
        assert!(err.to_string().contains("prog/J"), "{err}");
    }
}
