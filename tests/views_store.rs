//! The views read through `StoreViews` from records written the way the runtime writes them
//! (one `StateBatch` per change), without an engine: step order, progress, job definitions,
//! log paging, stall reasons and explain over nested chains.

use chainsched::catalog::load_sources;
use chainsched::core::types::{
    JobRecord, JobState, LogRow, RunOperation, StepRecord, StepState, TimelineEntry, TimelineKind,
};
use chainsched::store::{ChainStore, Progress, RunDetails, StateBatch};
use chainsched::views::store_source::StoreViews;
use chainsched::views::{query, render, JobFilter, LogFilter, ViewSource};
use std::collections::BTreeMap;

const RULES: &str = r#"
program P { builtin noop; }
chain INNER {
    step I1 program P;
    step I2 program P;
    rule when TRUE then START I1;
    rule when I1 SUCCEEDED then START I2;
    rule when I2 COMPLETED then END;
}
chain OUTER {
    step A program P;
    step N chain INNER;
    rule R1 when TRUE then START A;
    rule R2 when A SUCCEEDED then START N;
    rule R3 when N COMPLETED then END;
}
group FINANCE { max_running 4; }
group FINANCE.LOANS { max_running 1; }
job NIGHTLY { chain OUTER; group FINANCE.LOANS; parameters DEPTNO = '10'; serialize by DEPTNO; }
"#;

const T0: u64 = 1_714_566_896_000;

fn step(
    job_chain: &str,
    sub: &str,
    parent: Option<&str>,
    state: StepState,
    code: Option<i64>,
) -> StepRecord {
    StepRecord {
        subname: sub.into(),
        parent_subname: parent.map(String::from),
        chain: job_chain.into(),
        step: sub.rsplit('.').next().unwrap().into(),
        state,
        error_code: code,
        attempts: u32::from(state != StepState::NotStarted),
        started_at: (state != StepState::NotStarted).then_some(T0 + 1_000),
        ended_at: state.is_completed().then_some(T0 + 3_000),
        skip: false,
        pause: false,
        pause_before: false,
        restart_on_recovery: false,
        restart_on_failure: false,
        log_id: None,
    }
}

fn store() -> ChainStore {
    let loaded = load_sources(&[("t.chain".to_string(), RULES.to_string())]);
    let catalog = loaded.catalog.expect("rules load");
    let store = ChainStore::in_memory();
    let mut b = StateBatch::default();
    b.put_catalog(&catalog);
    // NIGHTLY: stalled inside its nested chain; the core recorded no reason here.
    b.put_job(&JobRecord {
        job: "NIGHTLY".into(),
        chain: "OUTER".into(),
        state: JobState::ChainStalled,
        error_code: None,
        parameters: BTreeMap::from([("DEPTNO".into(), "10".into())]),
        started_at: T0,
        ended_at: None,
        stall_reason: None,
        group: None,
        serialize_key: None,
        enqueued_at: None,
        requested_by: Some("ops".into()),
    });
    let steps = [
        step("OUTER", "A", None, StepState::Succeeded, Some(0)),
        step("OUTER", "N", None, StepState::Stalled, None),
        step("INNER", "N.I1", Some("N"), StepState::Failed, Some(3)),
        step("INNER", "N.I2", Some("N"), StepState::NotStarted, None),
    ];
    for s in &steps {
        b.put_step("NIGHTLY", s);
    }
    // Store order of keys is by subname; the definition order comes from `ord/`.
    b.put_order(
        "NIGHTLY",
        &["A".into(), "N".into(), "N.I1".into(), "N.I2".into()],
    );
    b.put_progress(
        "NIGHTLY",
        "N.I1",
        &Progress {
            sofar: Some(4),
            totalwork: Some(8),
            status_message: Some("half".into()),
            updated_at: T0 + 2_000,
        },
    );
    for (seq, (sub, kind, detail)) in [
        (None, TimelineKind::JobStarted, "chain OUTER"),
        (None, TimelineKind::RuleFired, "R1: START A"),
        (None, TimelineKind::RuleFired, "R2: START N"),
        (Some("N"), TimelineKind::RuleFired, "RULE$1: START I1"),
    ]
    .into_iter()
    .enumerate()
    {
        b.put_timeline(
            seq as u64 + 1,
            &TimelineEntry {
                time: T0 + seq as u64,
                job: "NIGHTLY".into(),
                subname: sub.map(String::from),
                kind,
                detail: detail.into(),
                started_by: None,
            },
        );
    }
    b.put_timeline(
        0,
        &TimelineEntry {
            time: T0 - 2_000,
            job: "NIGHTLY".into(),
            subname: None,
            kind: TimelineKind::JobEnqueued,
            detail: "requested".into(),
            started_by: None,
        },
    );
    for id in 1..=10u64 {
        b.put_log(&LogRow {
            log_id: id,
            time: T0 + id * 1_000,
            job: if id % 2 == 0 {
                "NIGHTLY".into()
            } else {
                "OTHER".into()
            },
            subname: Some("A".into()),
            chain: "OUTER".into(),
            step: Some("A".into()),
            operation: RunOperation::Run,
            status: StepState::Succeeded,
            error_code: 0,
            started_at: Some(T0 + id * 1_000 - 500),
            additional_info: None,
            run: 1,
        });
    }
    b.put_run_details(&RunDetails {
        log_id: 2,
        job: "NIGHTLY".into(),
        subname: Some("A".into()),
        status: StepState::Succeeded,
        error_code: 0,
        req_start: Some(T0),
        actual_start: Some(T0 + 20),
        run_duration: Some(480),
        pid: Some(77),
        output: "line 1\nline 2\n".into(),
        errors: String::new(),
        variables: vec![("REGION".into(), "EU".into())],
    });
    store.apply(b).unwrap();
    store.flush().unwrap();
    store
}

#[test]
fn steps_come_in_definition_order_with_progress_and_nested_links() {
    let v = StoreViews::new(store(), None);
    let rows = query::running_chains(&v, Some("NIGHTLY"), false, T0 + 10_000).unwrap();
    let subs: Vec<&str> = rows.iter().map(|r| r.step_job_subname.as_str()).collect();
    assert_eq!(subs, vec!["A", "N", "N.I1", "N.I2"]);
    assert_eq!(rows[2].job_subname.as_deref(), Some("N"));
    assert_eq!((rows[2].sofar, rows[2].totalwork), (Some(4), Some(8)));
    assert_eq!(rows[2].status_message.as_deref(), Some("half"));
    assert_eq!(
        rows[0].start_date.as_deref(),
        Some("2024-05-01T12:34:57.000Z")
    );
    assert_eq!(rows[0].duration, Some(2.0));
    // Every running job at once gives the same rows here.
    assert_eq!(
        query::running_chains(&v, None, false, T0 + 10_000).unwrap(),
        rows
    );
}

#[test]
fn jobs_take_group_and_serialize_key_from_the_job_definition_and_explain_the_stall() {
    let v = StoreViews::new(store(), None);
    let rows = query::jobs(&v, &JobFilter::default(), T0 + 10_000).unwrap();
    assert_eq!(rows.len(), 1);
    let j = &rows[0];
    assert_eq!(j.group.as_deref(), Some("FINANCE.LOANS"));
    assert_eq!(j.serialize_key.as_deref(), Some("10"));
    assert_eq!(
        j.requested_by.as_deref(),
        Some("ops"),
        "kept from the start request"
    );
    assert_eq!(j.run_duration, Some(10.0));
    assert_eq!(
        j.wait_duration,
        Some(2.0),
        "from the timeline's job_enqueued entry"
    );
    assert_eq!(j.enqueued_at.as_deref(), Some("2024-05-01T12:34:54.000Z"));
    assert_eq!((j.sofar, j.totalwork), (Some(4), Some(8)));
    assert!(j.current_steps.is_empty());
    let reason = j
        .stall_reason
        .as_deref()
        .expect("a stalled job has a reason");
    assert!(
        reason.contains(
            "N is STALLED: in its nested chain, I1 FAILED with 3; no rule reacts to I1 failing"
        ),
        "{reason}"
    );

    let e = query::explain(&v, "NIGHTLY", T0 + 10_000).unwrap();
    assert_eq!(e.reason.as_deref(), Some(reason));
    let nested: Vec<_> = e
        .rules
        .iter()
        .filter(|r| r.job_subname.as_deref() == Some("N"))
        .collect();
    assert_eq!(
        nested.len(),
        3,
        "the nested chain's rules are explained too"
    );
    assert_eq!(nested[0].chain_name, "INNER");
    assert!(nested[0].fired, "RULE$1 of the nested chain fired");
    assert!(!nested[1].fired);
    assert_eq!(nested[1].predicates[0].value, "FALSE");
    let top: Vec<_> = e.rules.iter().filter(|r| r.job_subname.is_none()).collect();
    assert!(top[0].fired && top[1].fired && !top[2].fired);
    // The table rendering starts with the state and the reason.
    let t = render::explanation(&e, render::Format::Table);
    assert!(
        t.starts_with("JOB NIGHTLY (chain OUTER) is CHAIN_STALLED\n\nWhy it is stalled: "),
        "{t}"
    );
}

#[test]
fn log_pages_forward_and_shows_the_most_recent() {
    let s = store();
    let v = StoreViews::new(s.clone(), None);
    let ids = |f: LogFilter| -> Vec<u64> {
        query::job_log(&v, &f)
            .unwrap()
            .iter()
            .map(|r| r.log_id)
            .collect()
    };
    assert_eq!(
        ids(LogFilter {
            limit: Some(3),
            ..Default::default()
        }),
        vec![8, 9, 10]
    );
    assert_eq!(
        ids(LogFilter {
            since_id: Some(4),
            limit: Some(2),
            ..Default::default()
        }),
        vec![5, 6]
    );
    assert_eq!(
        ids(LogFilter {
            job: Some("NIGHTLY".into()),
            limit: Some(2),
            ..Default::default()
        }),
        vec![8, 10]
    );
    assert_eq!(
        ids(LogFilter {
            since: Some(T0 + 9_000),
            ..Default::default()
        }),
        vec![9, 10]
    );
    let d = query::run_details(&v, 2).unwrap();
    assert_eq!((d.pid, d.run_duration), (Some(77), Some(0.48)));
    assert!(query::run_details(&v, 3).is_err(), "no details for row 3");
    assert_eq!(v.details(2).unwrap().unwrap().output, "line 1\nline 2\n");
    // After a purge removed the oldest rows of OTHER (a job with no record any more), the
    // most recent rows are still found across the gaps.
    let policy = chainsched::store::RetentionPolicy {
        max_age: Some(0),
        keep_jobs: None,
    };
    chainsched::store::retention::purge_offline(&s, T0 + 5_500, &policy, false, &mut |_| {})
        .unwrap();
    assert_eq!(ids(LogFilter::default()), vec![2, 4, 6, 7, 8, 9, 10]);
    assert_eq!(
        ids(LogFilter {
            job: Some("NIGHTLY".into()),
            since_id: Some(0),
            limit: Some(2),
            ..Default::default()
        }),
        vec![2, 4],
        "the rows of the running job's current run are kept"
    );
    assert_eq!(
        ids(LogFilter {
            limit: Some(2),
            ..Default::default()
        }),
        vec![9, 10]
    );
}

#[test]
fn unknown_names_are_not_found_errors() {
    let v = StoreViews::new(store(), None);
    for e in [
        query::job(&v, "NOPE", 0).unwrap_err(),
        query::timeline(&v, "NOPE").unwrap_err(),
        query::explain(&v, "NOPE", 0).unwrap_err(),
        query::chain_rules(&v, Some("NOPE")).unwrap_err(),
    ] {
        assert!(
            matches!(e, chainsched::views::ViewError::NotFound { .. }),
            "{e:?}"
        );
        assert!(e.to_string().contains("NOPE"));
    }
}

/// The views over the whole history, the way they were read before the indexes: every job,
/// every log row, then filtered by the query layer. The indexed reads must give the same rows.
struct FullScan(StoreViews);

impl ViewSource for FullScan {
    fn jobs(&self) -> Result<Vec<chainsched::views::JobInfo>, chainsched::views::ViewError> {
        self.0.jobs()
    }
    fn job(
        &self,
        job: &str,
    ) -> Result<Option<chainsched::views::JobInfo>, chainsched::views::ViewError> {
        self.0.job(job)
    }
    fn steps(
        &self,
        job: &str,
    ) -> Result<Vec<chainsched::views::StepInfo>, chainsched::views::ViewError> {
        self.0.steps(job)
    }
    fn log(&self, _: &LogFilter) -> Result<Vec<LogRow>, chainsched::views::ViewError> {
        Ok(self.0.store().log(0, usize::MAX)?)
    }
    fn details(&self, log_id: u64) -> Result<Option<RunDetails>, chainsched::views::ViewError> {
        self.0.details(log_id)
    }
    fn timeline(&self, job: &str) -> Result<Vec<TimelineEntry>, chainsched::views::ViewError> {
        self.0.timeline(job)
    }
    fn catalog(
        &self,
    ) -> Result<std::sync::Arc<chainsched::catalog::Catalog>, chainsched::views::ViewError> {
        self.0.catalog()
    }
}

#[test]
fn indexed_reads_give_the_same_rows_as_reading_everything() {
    let s = store();
    // 400 more jobs: ties in time, three chains, every state, some enqueued first; and a log
    // with gaps (rows of no job, rows of several jobs interleaved).
    let mut b = StateBatch::default();
    let states = [
        JobState::Succeeded,
        JobState::Failed,
        JobState::Running,
        JobState::Stopped,
        JobState::Enqueued,
        JobState::ChainStalled,
    ];
    for i in 0..400u64 {
        let state = states[(i % 6) as usize];
        let started = T0 + (i * 7919 % 97) * 1_000;
        b.put_job(&JobRecord {
            // 300 names, 100 of them written twice at another instant (a reused name).
            job: format!("J{:03}", (i * 37) % 300),
            chain: ["OUTER", "INNER", "OTHER"][(i % 3) as usize].into(),
            state,
            error_code: state.is_finished().then_some(0),
            parameters: BTreeMap::new(),
            started_at: started,
            ended_at: state.is_finished().then_some(started + 500),
            stall_reason: None,
            group: None,
            serialize_key: None,
            enqueued_at: (i % 5 == 0).then_some(started - 3_000),
            requested_by: None,
        });
    }
    for id in 11..=900u64 {
        if id % 11 == 0 {
            continue;
        }
        b.put_log(&LogRow {
            log_id: id,
            time: T0 + id * 100,
            job: format!("J{:03}", id % 13),
            subname: None,
            chain: ["OUTER", "INNER"][(id % 2) as usize].into(),
            step: None,
            operation: RunOperation::Run,
            status: StepState::Succeeded,
            error_code: 0,
            started_at: None,
            additional_info: None,
            run: 1,
        });
    }
    s.apply(b).unwrap();
    let indexed = StoreViews::new(s.clone(), None);
    let full = FullScan(StoreViews::new(s, None));
    let now = T0 + 200_000;
    let mut job_filters = vec![JobFilter::default()];
    for limit in [None, Some(0), Some(1), Some(7), Some(50), Some(1_000)] {
        for chain in [None, Some("INNER")] {
            for states in [vec![], vec![JobState::Running, JobState::Failed]] {
                for (since, until) in [(None, None), (Some(T0 + 20_000), Some(T0 + 60_000))] {
                    job_filters.push(JobFilter {
                        job: None,
                        chain: chain.map(String::from),
                        states: states.clone(),
                        since,
                        until,
                        limit,
                    });
                }
            }
        }
    }
    for f in &job_filters {
        assert_eq!(
            query::jobs(&indexed, f, now).unwrap(),
            query::jobs(&full, f, now).unwrap(),
            "{f:?}"
        );
    }
    assert_eq!(
        query::running_chains(&indexed, None, false, now).unwrap(),
        query::running_chains(&full, None, false, now).unwrap()
    );
    let mut log_filters = vec![];
    for limit in [None, Some(0), Some(1), Some(50), Some(300)] {
        for job in [None, Some("J003")] {
            for chain in [None, Some("INNER")] {
                for since_id in [None, Some(0), Some(450)] {
                    for (since, until) in [(None, None), (Some(T0 + 30_000), Some(T0 + 70_000))] {
                        log_filters.push(LogFilter {
                            job: job.map(String::from),
                            chain: chain.map(String::from),
                            since_id,
                            since,
                            until,
                            limit,
                        });
                    }
                }
            }
        }
    }
    for f in &log_filters {
        assert_eq!(
            query::job_log(&indexed, f).unwrap(),
            query::job_log(&full, f).unwrap(),
            "{f:?}"
        );
    }
}
