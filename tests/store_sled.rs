//! The sled store: data survives a reopen, the format version is checked, retention prunes
//! finished jobs, readers see complete batches only, and an engine's state is recovered from it.

use chainsched::core::types::{
    JobRecord, JobState, LogRow, RunOperation, StepRecord, StepState, TimelineEntry, TimelineKind,
};
use chainsched::store::layout;
use chainsched::store::retention::purge_offline;
use chainsched::store::sled_store::{SledOptions, SledStore};
use chainsched::store::{ChainStore, KvStore, RetentionPolicy, StateBatch, StoreError, WriteBatch};
use std::collections::BTreeMap;
use std::sync::Arc;

fn job(name: &str, state: JobState, ended: Option<u64>) -> JobRecord {
    JobRecord {
        job: name.into(),
        chain: "C".into(),
        state,
        error_code: if state.is_finished() { Some(0) } else { None },
        parameters: BTreeMap::new(),
        started_at: 1_000,
        ended_at: ended,
        stall_reason: None,
        group: None,
        serialize_key: None,
        enqueued_at: None,
        requested_by: None,
    }
}

fn step(sub: &str) -> StepRecord {
    StepRecord {
        subname: sub.into(),
        parent_subname: None,
        chain: "C".into(),
        step: sub.into(),
        state: StepState::Succeeded,
        error_code: Some(0),
        attempts: 1,
        started_at: Some(1_000),
        ended_at: Some(2_000),
        skip: false,
        pause: false,
        pause_before: false,
        restart_on_recovery: false,
        restart_on_failure: false,
        log_id: None,
    }
}

fn log_row(id: u64, job: &str, time: u64) -> LogRow {
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

#[test]
fn data_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = ChainStore::open_sled(dir.path(), &SledOptions::default()).unwrap();
        let mut b = StateBatch::default();
        b.put_job(&job("J1", JobState::Running, None));
        b.put_step("J1", &step("B"));
        b.put_step("J1", &step("A"));
        b.put_order("J1", &["B".to_string(), "A".to_string()]);
        b.put_log(&log_row(7, "J1", 5_000));
        b.put_timeline(
            1,
            &TimelineEntry {
                time: 1_000,
                job: "J1".into(),
                subname: None,
                kind: TimelineKind::JobStarted,
                detail: "chain C".into(),
                started_by: None,
            },
        );
        store.apply(b).unwrap();
        store.flush().unwrap();
    }
    let store = ChainStore::open_sled(dir.path(), &SledOptions::default()).unwrap();
    assert_eq!(store.job("J1").unwrap().unwrap().state, JobState::Running);
    let order: Vec<String> = store
        .steps("J1")
        .unwrap()
        .into_iter()
        .map(|s| s.subname)
        .collect();
    assert_eq!(
        order,
        vec!["B", "A"],
        "steps come back in the stored definition order"
    );
    assert_eq!(store.next_log_id().unwrap(), 8);
    assert_eq!(store.next_timeline_seq("J1").unwrap(), 2);
    assert_eq!(store.timeline("J1").unwrap().len(), 1);
    assert!(!store.store_id().unwrap().is_empty());
}

#[test]
fn a_store_of_another_format_version_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    {
        let kv = SledStore::open(dir.path(), &SledOptions::default()).unwrap();
        let mut b = WriteBatch::default();
        b.put(
            layout::FORMAT_KEY.to_vec(),
            b"chainsched-store-999".to_vec(),
        );
        kv.commit(b).unwrap();
    }
    let err = ChainStore::open_sled(dir.path(), &SledOptions::default()).unwrap_err();
    assert!(matches!(err, StoreError::FormatVersion { .. }));
    let msg = err.to_string();
    assert!(msg.contains("chainsched-store-999"), "{msg}");
    assert!(msg.contains(layout::FORMAT_VERSION), "{msg}");
}

#[test]
fn a_store_in_use_by_another_process_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let _held = ChainStore::open_sled(dir.path(), &SledOptions::default()).unwrap();
    // sled's lock is per process: open it from a child process.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chainsched"))
        .args(["resume", "--db"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot open the store"), "{err}");
}

#[test]
fn retention_prunes_old_finished_jobs_only() {
    let store = ChainStore::in_memory();
    let mut b = StateBatch::default();
    b.put_job(&job("OLD", JobState::Succeeded, Some(2_000)));
    b.put_step("OLD", &step("A"));
    b.put_log(&log_row(1, "OLD", 2_000));
    b.put_job(&job("NEW", JobState::Succeeded, Some(9_000)));
    b.put_log(&log_row(2, "NEW", 9_000));
    b.put_job(&job("LIVE", JobState::Running, None));
    // An unfinished job: it has the core's records (here its header only).
    b.put_job_changes(&chainsched::core::JobChanges {
        job: "LIVE".into(),
        ended: false,
        header: Some(chainsched::core::JobHeaderRecord {
            format: chainsched::core::JobHeaderRecord::FORMAT,
            record: job("LIVE", JobState::Running, None),
            request: chainsched::core::StartRequest::default(),
            defs_version: 1,
            first_eval_only: None,
            pending_presets: Default::default(),
            queue_seq: 0,
            max_run_duration: None,
            over_duration: false,
            instances: 0,
            run: 1,
        }),
        instances: Vec::new(),
        steps: Vec::new(),
        variables: Vec::new(),
    });
    b.put_log(&log_row(3, "LIVE", 1_500));
    store.apply(b).unwrap();

    // Ended more than 3 s before 8 000: OLD only.
    let policy = RetentionPolicy {
        max_age: Some(3_000),
        keep_jobs: None,
    };
    let mut removed = Vec::new();
    let stats = purge_offline(&store, 8_000, &policy, false, &mut |r| {
        removed.push(r.job.clone())
    })
    .unwrap();
    assert_eq!((stats.jobs, stats.log_rows), (1, 1));
    assert_eq!(removed, vec!["OLD"]);
    assert!(store.job("OLD").unwrap().is_none());
    assert!(store.steps("OLD").unwrap().is_empty());
    assert!(store.log_row(1).unwrap().is_none());
    assert!(store.job("NEW").unwrap().is_some());
    assert!(store.job("LIVE").unwrap().is_some());
    assert!(
        store.log_row(3).unwrap().is_some(),
        "rows of unfinished jobs are kept"
    );
}

#[test]
fn readers_never_see_half_a_batch() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(ChainStore::open_sled(dir.path(), &SledOptions::default()).unwrap());
    let writer = {
        let store = store.clone();
        std::thread::spawn(move || {
            for i in 0..300u64 {
                // Each batch writes the job record and its step together: same attempt count.
                let mut b = StateBatch::default();
                let mut j = job("J", JobState::Running, None);
                j.started_at = i;
                let mut s = step("A");
                s.attempts = i as u32;
                b.put_job(&j);
                b.put_step("J", &s);
                store.apply(b).unwrap();
            }
        })
    };
    for _ in 0..2000 {
        let j = store.job("J").unwrap();
        let s = store.steps("J").unwrap();
        if let (Some(j), Some(s)) = (j, s.first()) {
            // The job record is read first, so the step is at least as new.
            assert!(
                s.attempts as u64 >= j.started_at,
                "{} < {}",
                s.attempts,
                j.started_at
            );
        }
    }
    writer.join().unwrap();
}
