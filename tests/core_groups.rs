//! Resource groups, `serialize by`, the FIFO queue of ENQUEUED jobs and `max_run_duration`,
//! driven through the core's public API with a virtual clock (tests/core_support).

mod core_support;
use chainsched::core::*;
use core_support::*;

const SRC: &str = r#"
program P { executable '/bin/true'; }
chain C {
    step W program P;
    rule R1 when TRUE then START W;
    rule R2 when W COMPLETED then END;
}
group FINANCE       { max_running 2; }
group FINANCE.LOANS { max_running 1; }
job NIGHTLY_LOANS { chain C; group FINANCE.LOANS; serialize by DEPTNO; parameters DEPTNO = '10'; }
job LONG { chain C; max_run_duration 2s; }
"#;

fn req(job: &str, definition: Option<&str>, group: Option<&str>) -> StartRequest {
    StartRequest {
        job: Some(job.to_string()),
        chain: if definition.is_some() {
            String::new()
        } else {
            "C".to_string()
        },
        definition: definition.map(str::to_string),
        group: group.map(str::to_string),
        ..Default::default()
    }
}

fn with_dept(mut r: StartRequest, dept: &str) -> StartRequest {
    r.parameters.insert("DEPTNO".into(), dept.into());
    r
}

#[test]
fn a_child_group_counts_against_its_parent_and_the_queue_is_fifo() {
    let mut d = Driver::new(SRC);
    // Launch order: L1 1s, F1 10s, then L2 (admitted at 1s) 2s, F2 (admitted at 3s) 1s.
    d.script(
        "W",
        vec![ok_after(S), ok_after(10 * S), ok_after(2 * S), ok()],
    );
    d.start_req(req("L1", None, Some("FINANCE.LOANS")));
    d.start_req(req("L2", None, Some("FINANCE.LOANS")));
    d.start_req(req("F1", None, Some("FINANCE")));
    d.start_req(req("F2", None, Some("FINANCE")));
    assert_eq!(d.state("L1"), JobState::Running);
    assert_eq!(
        d.state("L2"),
        JobState::Enqueued,
        "FINANCE.LOANS has 1 slot"
    );
    assert_eq!(
        d.state("F1"),
        JobState::Running,
        "FINANCE has 2 slots: L1 + F1"
    );
    assert_eq!(
        d.state("F2"),
        JobState::Enqueued,
        "FINANCE is full (L1 counts in it)"
    );
    assert_eq!(d.launched("L2", "W"), 0);
    assert_eq!(d.job("L2").enqueued_at, Some(0));
    assert_eq!(d.job("L1").enqueued_at, None);
    assert_eq!(d.timeline("L2", TimelineKind::JobEnqueued).len(), 1);
    assert_eq!(d.timeline("L2", TimelineKind::JobStarted).len(), 0);

    d.run_until(S);
    // L1 ended: L2 is first in the queue and takes the LOANS slot and the FINANCE slot.
    assert_eq!(d.state("L1"), JobState::Succeeded);
    assert_eq!(d.state("L2"), JobState::Running);
    assert_eq!(d.job("L2").started_at, S);
    assert_eq!(d.state("F2"), JobState::Enqueued, "F1 + L2 fill FINANCE");
    assert_eq!(d.timeline("L2", TimelineKind::JobStarted).len(), 1);
    assert_eq!(
        d.launched("L2", "W"),
        1,
        "an admitted job has its first evaluation at once"
    );

    d.run();
    assert_eq!(d.job("F2").started_at, 3 * S, "admitted when L2 ended");
    assert_eq!(d.job("F2").enqueued_at, Some(0));
    for j in ["L1", "L2", "F1", "F2"] {
        assert_eq!(d.state(j), JobState::Succeeded, "{j}");
    }
}

#[test]
fn a_later_job_does_not_overtake_an_earlier_one_waiting_for_the_same_group() {
    let mut d = Driver::new(SRC);
    d.script(
        "W",
        vec![ok_after(5 * S), ok_after(5 * S), ok_after(S), ok(), ok()],
    );
    d.start_req(req("A", None, Some("FINANCE")));
    d.start_req(req("B", None, Some("FINANCE")));
    d.start_req(req("Q1", None, Some("FINANCE")));
    d.start_req(req("Q2", None, Some("FINANCE")));
    // An ungrouped job never waits.
    d.start_req(req("FREE", None, None));
    assert_eq!(d.state("FREE"), JobState::Running);
    d.run_until(5 * S);
    assert_eq!(d.state("Q1"), JobState::Running);
    assert_eq!(d.state("Q2"), JobState::Running);
    d.run();
    assert!(d.job("Q1").started_at <= d.job("Q2").started_at);
}

#[test]
fn serialize_by_allows_one_running_job_per_parameter_value() {
    let mut d = Driver::new(SRC.replace("max_running 1", "max_running 5").as_str());
    d.script("W", vec![ok_after(4 * S), ok_after(S), ok()]);
    d.start_req(with_dept(req("N10A", Some("NIGHTLY_LOANS"), None), "10"));
    d.start_req(with_dept(req("N20", Some("NIGHTLY_LOANS"), None), "20"));
    d.start_req(req("N10B", Some("NIGHTLY_LOANS"), None)); // DEPTNO = '10' by default
    assert_eq!(d.state("N10A"), JobState::Running);
    assert_eq!(
        d.state("N20"),
        JobState::Running,
        "another key runs at once"
    );
    assert_eq!(d.state("N10B"), JobState::Enqueued);
    let rec = d.job("N10B");
    assert_eq!(rec.serialize_key.as_deref(), Some("10"));
    assert_eq!(rec.group.as_deref(), Some("FINANCE.LOANS"));
    assert_eq!(rec.parameters.get("DEPTNO").map(String::as_str), Some("10"));
    assert_eq!(rec.chain, "C", "the definition's chain");
    d.run();
    assert_eq!(d.job("N10B").started_at, 4 * S);
    assert_eq!(d.state("N10B"), JobState::Succeeded);
}

#[test]
fn the_job_named_after_a_definition_runs_it() {
    let mut d = Driver::new(SRC);
    d.start_req(StartRequest {
        job: Some("NIGHTLY_LOANS".into()),
        chain: String::new(),
        ..Default::default()
    });
    let rec = d.job("NIGHTLY_LOANS");
    assert_eq!(rec.group.as_deref(), Some("FINANCE.LOANS"));
    assert_eq!(rec.serialize_key.as_deref(), Some("10"));
}

#[test]
fn an_unknown_definition_is_refused_and_changes_nothing() {
    let mut d = Driver::new(SRC);
    let r = d.input(Input::StartJob(req("X", Some("NOPE"), None)));
    assert!(matches!(r, Err(CoreError::Invalid(_))), "{r:?}");
    assert!(d.core.job_names().is_empty());
}

#[test]
fn stopping_an_enqueued_job_stops_it_without_running() {
    let mut d = Driver::new(SRC);
    d.script("W", vec![ok_after(3 * S), ok()]);
    d.start_req(req("L1", None, Some("FINANCE.LOANS")));
    d.start_req(req("L2", None, Some("FINANCE.LOANS")));
    d.run_until(S);
    d.input(Input::Stop {
        job: "L2".into(),
        step: None,
    })
    .unwrap();
    let rec = d.job("L2");
    assert_eq!(rec.state, JobState::Stopped);
    assert_eq!(rec.error_code, Some(1013));
    assert_eq!(rec.ended_at, Some(S));
    let lines = d.log_lines("L2");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("STOPPED"), "{lines:?}");
    d.run();
    assert_eq!(d.launched("L2", "W"), 0, "never ran");
    assert_eq!(d.state("L1"), JobState::Succeeded);
}

#[test]
fn max_run_duration_is_logged_and_does_not_stop_the_job() {
    let mut d = Driver::new(SRC);
    d.script("W", vec![ok_after(5 * S), ok_after(S)]);
    d.start_req(req("SLOW", Some("LONG"), None));
    d.start_req(req("QUICK", Some("LONG"), None));
    d.run_until(2 * S);
    assert_eq!(d.state("SLOW"), JobState::Running, "never stopped");
    assert_eq!(d.timeline("SLOW", TimelineKind::MaxRunDuration).len(), 1);
    d.run();
    assert_eq!(d.state("SLOW"), JobState::Succeeded);
    assert_eq!(d.job("SLOW").ended_at, Some(5 * S));
    let chain_row = |job: &str| {
        d.logs()
            .into_iter()
            .find(|r| r.job == job && r.subname.is_none())
            .cloned()
            .expect("chain job row")
    };
    assert_eq!(
        chain_row("SLOW").additional_info.as_deref(),
        Some("MAX_RUN_DURATION_EXCEEDED")
    );
    assert_eq!(chain_row("QUICK").additional_info, None);
    assert!(d.timeline("QUICK", TimelineKind::MaxRunDuration).is_empty());
    assert!(
        d.timers.is_empty(),
        "QUICK's timer was cancelled: {:?}",
        d.timers
    );
}

#[test]
fn queued_jobs_survive_a_snapshot_and_restore() {
    let mut d = Driver::new(SRC);
    d.script("W", vec![ok_after(2 * S)]);
    d.start_req(req("L1", None, Some("FINANCE.LOANS")));
    d.start_req(req("L2", None, Some("FINANCE.LOANS")));
    d.start_req(req("L3", None, Some("FINANCE.LOANS")));
    // "Crash": a new core restored from snapshots, L3 first to show order is not insertion.
    let mut core = Core::new(catalog(SRC));
    for j in ["L3", "L2", "L1"] {
        core.restore_job(d.core.snapshot_job(j).expect("snapshot"));
    }
    assert!(
        core.admit_waiting_jobs(0).is_empty(),
        "L1 still holds the slot"
    );
    let mut e = Driver::with_core(core);
    e.now = 0;
    // L1's step was RUNNING at the crash: without restart_on_recovery it is STOPPED and the
    // chain ends (R2: W COMPLETED); then the queue moves, L2 before L3.
    let fx = e.core.recover_job(0, "L1", false).unwrap_or_default();
    e.effects_apply(fx);
    assert_eq!(
        e.state("L2"),
        JobState::Enqueued,
        "recover_job does not admit"
    );
    for j in ["L2", "L3"] {
        assert!(e
            .core
            .recover_job(0, j, false)
            .unwrap_or_default()
            .is_empty());
    }
    let fx = e.core.admit_waiting_jobs(0);
    e.effects_apply(fx);
    assert_eq!(e.state("L1"), JobState::Succeeded);
    assert_eq!(e.state("L2"), JobState::Running);
    assert_eq!(e.state("L3"), JobState::Enqueued);
    e.run();
    assert_eq!(e.state("L3"), JobState::Succeeded);
    assert_eq!(e.job("L3").enqueued_at, Some(0));
}

#[test]
fn the_jobs_view_shows_group_key_enqueue_time_and_wait() {
    use chainsched::views::{jobs::job_row, time::rfc3339, JobInfo};
    let mut d = Driver::new(SRC);
    d.script("W", vec![ok_after(4 * S), ok()]);
    d.start_req(with_dept(req("A", Some("NIGHTLY_LOANS"), None), "10"));
    d.start_req(with_dept(req("B", Some("NIGHTLY_LOANS"), None), "20"));
    let waiting = job_row(&JobInfo::from_record(d.job("B")), &[], None, 3 * S);
    assert_eq!(waiting.state, "ENQUEUED");
    assert_eq!(waiting.group.as_deref(), Some("FINANCE.LOANS"));
    assert_eq!(waiting.serialize_key.as_deref(), Some("20"));
    assert_eq!(waiting.enqueued_at, Some(rfc3339(0)));
    assert_eq!(waiting.started_at, None);
    assert_eq!(waiting.wait_duration, Some(3.0), "still waiting: up to now");
    d.run();
    let done = job_row(&JobInfo::from_record(d.job("B")), &[], None, 60 * S);
    assert_eq!(done.state, "SUCCEEDED");
    assert_eq!(done.started_at, Some(rfc3339(4 * S)));
    assert_eq!(
        done.wait_duration,
        Some(4.0),
        "admitted 4s after it was enqueued"
    );
    assert_eq!(done.run_duration, Some(1.0));
    let a = job_row(&JobInfo::from_record(d.job("A")), &[], None, 60 * S);
    assert_eq!(a.wait_duration, Some(0.0), "never waited");
}

#[test]
fn inputs_aimed_at_an_enqueued_job_do_not_start_it() {
    let mut d = Driver::new(SRC);
    d.start_req(req("L1", None, Some("FINANCE.LOANS")));
    d.start_req(req("L2", None, Some("FINANCE.LOANS")));
    let _ = d.input(Input::Evaluate { job: "L2".into() });
    let _ = d.input(Input::Alter {
        job: "L2".into(),
        step: None,
        change: AlterChange {
            pause: Some(true),
            ..Default::default()
        },
    });
    let _ = d.input(Input::RaiseEvent {
        name: "GO".into(),
        payload: serde_json::Value::Null,
        job: Some("L2".into()),
    });
    let dup = d.input(Input::StartJob(req("L2", None, None)));
    assert!(matches!(dup, Err(CoreError::DuplicateJob(_))), "{dup:?}");
    assert_eq!(d.state("L2"), JobState::Enqueued);
    assert_eq!(d.launched("L2", "W"), 0);
    assert!(!d.core.forget_job("L2"), "a queued job is not forgotten");
    d.run();
    assert_eq!(d.state("L2"), JobState::Succeeded);
}
