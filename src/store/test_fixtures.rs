//! Records and stores for the store layer's unit tests: every test of the indexes and of
//! retention runs against both implementations (memory and sled), which must agree.

use super::sled_store::SledOptions;
use super::{ChainStore, StateBatch};
use crate::core::types::{
    JobRecord, JobState, LogRow, RunOperation, StepRecord, StepState, TimelineEntry, TimelineKind,
};
use std::collections::BTreeMap;

/// A fresh memory store and a fresh sled store (with the directory that holds it).
pub fn backends() -> Vec<(&'static str, ChainStore, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let sled = ChainStore::open_sled(dir.path(), &SledOptions::default()).unwrap();
    vec![
        ("memory", ChainStore::in_memory(), None),
        ("sled", sled, Some(dir)),
    ]
}

pub fn job(name: &str, state: JobState, started: u64, ended: Option<u64>) -> JobRecord {
    JobRecord {
        job: name.into(),
        chain: "C".into(),
        state,
        error_code: state.is_finished().then_some(0),
        parameters: BTreeMap::new(),
        started_at: started,
        ended_at: ended,
        stall_reason: None,
        group: None,
        serialize_key: None,
        enqueued_at: None,
        requested_by: None,
    }
}

pub fn step(sub: &str) -> StepRecord {
    StepRecord {
        subname: sub.into(),
        parent_subname: None,
        chain: "C".into(),
        step: sub.into(),
        state: StepState::Succeeded,
        error_code: Some(0),
        attempts: 1,
        started_at: Some(1),
        ended_at: Some(2),
        skip: false,
        pause: false,
        pause_before: false,
        restart_on_recovery: false,
        restart_on_failure: false,
        log_id: None,
    }
}

pub fn row(id: u64, job: &str, time: u64) -> LogRow {
    LogRow {
        log_id: id,
        time,
        job: job.into(),
        subname: Some("A".into()),
        chain: "C".into(),
        step: Some("A".into()),
        operation: RunOperation::Run,
        status: StepState::Succeeded,
        error_code: 0,
        started_at: Some(time),
        additional_info: None,
        run: 1,
    }
}

pub fn timeline(job: &str, time: u64) -> TimelineEntry {
    TimelineEntry {
        time,
        job: job.into(),
        subname: None,
        kind: TimelineKind::JobStarted,
        detail: "chain C".into(),
        started_by: None,
    }
}

/// One ended job the way the runtime leaves it: record, a step with progress and order, two
/// timeline rows, and `rows` log rows (ids from `first_id`) with run details.
pub fn ended_job(
    b: &mut StateBatch,
    name: &str,
    started: u64,
    ended: u64,
    first_id: u64,
    rows: u64,
) {
    b.put_job(&job(name, JobState::Running, started, None));
    b.put_job(&job(name, JobState::Succeeded, started, Some(ended)));
    b.put_step(name, &step("A"));
    b.put_order(name, &["A".to_string()]);
    b.put_progress(name, "A", &super::Progress::default());
    b.put_timeline(1, &timeline(name, started));
    b.put_timeline(2, &timeline(name, ended));
    for i in 0..rows {
        let r = row(first_id + i, name, ended);
        b.put_log(&r);
        b.put_run_details(&super::RunDetails {
            log_id: r.log_id,
            job: name.into(),
            subname: None,
            status: StepState::Succeeded,
            error_code: 0,
            req_start: None,
            actual_start: None,
            run_duration: None,
            pid: None,
            output: String::new(),
            errors: String::new(),
            variables: Vec::new(),
        });
    }
    b.put_variables(
        name,
        &[(
            "REGION".into(),
            crate::core::types::Variable {
                value: "EU".into(),
                set_by: "A".into(),
                set_at: ended,
            },
        )],
    );
}

/// Every key of the store that mentions `job` (to check that nothing of a purged job is left).
pub fn keys_mentioning(store: &ChainStore, job: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in store.kv().scan_prefix(b"").unwrap() {
        let key = String::from_utf8_lossy(&k).into_owned();
        let value = String::from_utf8_lossy(&v).into_owned();
        let needle = format!("\"{job}\"");
        let in_key = key
            .split(['\0', '/'])
            .any(|part| part == job || part.ends_with(job));
        if in_key || value.contains(&needle) {
            out.push(key);
        }
    }
    out
}
