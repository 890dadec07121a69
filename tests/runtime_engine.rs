//! The engine through its library API: chains run with real processes, handlers and builtins;
//! state, log, run details, timeline and progress end up in the store.

use chainsched::catalog::{load_sources, Catalog};
use chainsched::core::types::{
    AlterChange, JobState, Outcome, PresetState, StartRequest, StepState,
};
use chainsched::runtime::{Engine, EngineError, EngineOptions};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn catalog(text: &str) -> Catalog {
    let loaded = load_sources(&[("test.chain".to_string(), text.to_string())]);
    match loaded.catalog {
        Some(c) => c,
        None => panic!("catalog has errors: {:?}", loaded.diagnostics),
    }
}

async fn engine(text: &str, scale: f64) -> Engine {
    Engine::open_in_memory(EngineOptions {
        catalog: Some(catalog(text)),
        time_scale: scale,
        kill_grace: Duration::from_millis(300),
        ..EngineOptions::default()
    })
    .await
    .unwrap()
}

fn start(chain: &str) -> StartRequest {
    StartRequest {
        chain: chain.to_string(),
        ..StartRequest::default()
    }
}

fn states(e: &Engine, job: &str) -> BTreeMap<String, (StepState, Option<i64>)> {
    e.steps(job)
        .unwrap()
        .into_iter()
        .map(|s| (s.subname, (s.state, s.error_code)))
        .collect()
}

async fn wait(e: &Engine, job: &str) -> chainsched::core::types::JobRecord {
    tokio::time::timeout(Duration::from_secs(30), e.wait(job))
        .await
        .expect("job did not end in time")
        .unwrap()
}

const BASIC: &str = r#"
program OK   { builtin noop; }
program SAY  { shell 'echo hello; echo "::progress 1/2 half way"; echo "::status nearly"; echo err >&2'; }
program BAD  { shell 'echo "::error-code 20100"; exit 3'; }
chain C1 {
  step A program OK;
  step B program SAY;
  step F program BAD;
  rule R1 when TRUE then START A;
  rule R2 when A SUCCEEDED then START B;
  rule R3 when B SUCCEEDED then START F;
  rule R4 when F FAILED then END F.ERROR_CODE;
  rule R5 when F SUCCEEDED then END;
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_runs_to_its_end_and_everything_is_recorded() {
    let e = engine(BASIC, 1.0).await;
    let job = e.start(start("C1")).await.unwrap();
    assert!(job.starts_with("RUN_CHAIN$_C1"), "{job}");
    let rec = wait(&e, &job).await;
    assert_eq!(rec.state, JobState::Failed);
    assert_eq!(rec.error_code, Some(20100));

    let s = states(&e, &job);
    assert_eq!(s["A"], (StepState::Succeeded, Some(0)));
    assert_eq!(s["B"], (StepState::Succeeded, Some(0)));
    assert_eq!(s["F"], (StepState::Failed, Some(20100)));
    let order: Vec<String> = e
        .steps(&job)
        .unwrap()
        .into_iter()
        .map(|s| s.subname)
        .collect();
    assert_eq!(order, vec!["A", "B", "F"], "definition order");

    // One row per step run and one for the chain job, ids increasing.
    let log = e.job_log(&job).unwrap();
    let rows: Vec<(Option<String>, StepState, i64)> = log
        .iter()
        .map(|r| (r.subname.clone(), r.status, r.error_code))
        .collect();
    assert_eq!(
        rows,
        vec![
            (Some("A".into()), StepState::Succeeded, 0),
            (Some("B".into()), StepState::Succeeded, 0),
            (Some("F".into()), StepState::Failed, 20100),
            (None, StepState::Failed, 20100),
        ]
    );
    assert!(log.windows(2).all(|w| w[0].log_id < w[1].log_id));

    // Run details: output without control lines, errors, pid.
    let b = e.run_details(log[1].log_id).unwrap().unwrap();
    assert_eq!(b.output, "hello\n");
    assert_eq!(b.errors, "err\n");
    assert!(b.pid.is_some());
    assert!(b.actual_start.is_some() && b.run_duration.is_some());

    // Progress is kept for the views.
    let views = e.step_views(&job).unwrap();
    let pb = &views
        .iter()
        .find(|v| v.record.subname == "B")
        .unwrap()
        .progress;
    assert_eq!((pb.sofar, pb.totalwork), (Some(1), Some(2)));
    assert_eq!(pb.status_message.as_deref(), Some("nearly"));

    let tl = e.timeline(&job).unwrap();
    assert!(!tl.is_empty());
    assert!(tl.windows(2).all(|w| w[0].time <= w[1].time));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_parameter_refuses_the_start_and_names_it() {
    let e = engine(
        r#"
program LOAD { executable '/bin/echo'; arguments '--date' '${RUN_DATE}'; }
chain C { step L program LOAD; rule R1 when TRUE then START L; rule R2 when L COMPLETED then END; }
"#,
        1.0,
    )
    .await;
    let err = e.start(start("C")).await.unwrap_err();
    assert!(err.to_string().contains("RUN_DATE"), "{err}");
    assert!(
        e.jobs().unwrap().is_empty(),
        "a refused start changes nothing"
    );

    let mut req = start("C");
    req.job = Some("J".into());
    req.parameters
        .insert("run_date".into(), "2024-02-29".into());
    let job = e.start(req).await.unwrap();
    assert_eq!(job, "J");
    assert_eq!(wait(&e, "J").await.state, JobState::Succeeded);
    let log = e.job_log("J").unwrap();
    let d = e.run_details(log[0].log_id).unwrap().unwrap();
    assert_eq!(d.output, "--date 2024-02-29\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_raised_while_the_job_waits_completes_the_step() {
    let e = engine(
        r#"
program OK { builtin noop; }
chain EV {
  step W event FILE_ARRIVED where file = 'sales.csv';
  step B program OK;
  rule R1 when TRUE then START W;
  rule R2 when W SUCCEEDED then START B;
  rule R3 when B COMPLETED then END;
}
"#,
        1.0,
    )
    .await;
    let job = e.start(start("EV")).await.unwrap();
    // A payload that does not match completes nothing.
    let n = e
        .raise_event(
            "FILE_ARRIVED",
            serde_json::json!({"file": "other.csv"}),
            None,
        )
        .await
        .unwrap();
    assert_eq!(n, 0);
    assert_eq!(states(&e, &job)["W"].0, StepState::Running);
    let n = e
        .raise_event(
            "FILE_ARRIVED",
            serde_json::json!({"file": "sales.csv"}),
            None,
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(wait(&e, &job).await.state, JobState::Succeeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_delays_and_retries_follow_the_engine_clock() {
    // time scale 1000: AFTER 00:00:30 is 30 ms; retry delays 2 s, 4 s are 2 ms, 4 ms.
    let e = engine(
        r#"
program FLAKY { handler 'flaky'; }
program OK { builtin noop; }
chain T {
  step A program OK;
  step R program FLAKY with restart_on_failure(retries 3, delay 2s, backoff 2);
  rule R1 when TRUE then AFTER 00:00:30 START A;
  rule R2 when A SUCCEEDED then START R;
  rule R3 when R COMPLETED then END R.ERROR_CODE;
}
"#,
        1000.0,
    )
    .await;
    e.register_handler("flaky", |ctx| async move {
        if ctx.attempt() < 3 {
            Outcome::Failed(20001)
        } else {
            Outcome::Succeeded
        }
    });
    let t0 = Instant::now();
    let job = e.start(start("T")).await.unwrap();
    let rec = wait(&e, &job).await;
    assert!(t0.elapsed() < Duration::from_secs(10));
    assert_eq!(rec.state, JobState::Succeeded, "{rec:?}");
    let steps = e.steps(&job).unwrap();
    let a = steps.iter().find(|s| s.subname == "A").unwrap();
    assert!(
        a.started_at.unwrap() >= rec.started_at + 30_000,
        "A started {} ms after the job",
        a.started_at.unwrap() - rec.started_at
    );
    let r = steps.iter().find(|s| s.subname == "R").unwrap();
    assert_eq!(r.attempts, 3);
    let ops: Vec<&str> = e
        .job_log(&job)
        .unwrap()
        .iter()
        .filter(|l| l.subname.as_deref() == Some("R"))
        .map(|l| l.operation.as_str())
        .collect();
    assert_eq!(ops, vec!["RUN", "RETRY_RUN", "RETRY_RUN"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_a_job_stops_its_processes() {
    let e = engine(
        r#"
program LONG { shell 'sleep 30'; }
chain S {
  step A program LONG;
  step B program LONG;
  rule R1 when TRUE then START A, B;
  rule R2 when A COMPLETED AND B COMPLETED then END;
}
"#,
        1.0,
    )
    .await;
    let job = e.start(start("S")).await.unwrap();
    // Wait until both processes run.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log_pids = e.store().live_pids(&job).unwrap();
        if log_pids.len() == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "processes did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let t0 = Instant::now();
    e.stop(&job, None).await.unwrap();
    let rec = wait(&e, &job).await;
    assert_eq!(rec.state, JobState::Stopped);
    assert!(t0.elapsed() < Duration::from_secs(5));
    let s = states(&e, &job);
    assert_eq!(s["A"].0, StepState::Stopped);
    assert_eq!(s["B"].0, StepState::Stopped);
    // The processes are reaped and their run details completed.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !e.store().live_pids(&job).unwrap().is_empty() {
        assert!(Instant::now() < deadline, "processes not reaped");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let log = e.job_log(&job).unwrap();
    assert_eq!(log.len(), 3);
    for row in log.iter().filter(|r| r.subname.is_some()) {
        assert_eq!(row.status, StepState::Stopped);
        let d = e.run_details(row.log_id).unwrap().unwrap();
        assert!(d.pid.is_some(), "{d:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_jobs_of_one_chain_run_at_once() {
    let e = engine(
        r#"
program NAP { builtin sleep 200ms; }
chain P { step A program NAP; step B program NAP;
  rule R1 when TRUE then START A;
  rule R2 when A SUCCEEDED then START B;
  rule R3 when B SUCCEEDED then END; }
"#,
        1.0,
    )
    .await;
    let t0 = Instant::now();
    let mut jobs = Vec::new();
    for _ in 0..20 {
        jobs.push(e.start(start("P")).await.unwrap());
    }
    let distinct: std::collections::BTreeSet<_> = jobs.iter().collect();
    assert_eq!(distinct.len(), 20);
    for j in &jobs {
        assert_eq!(wait(&e, j).await.state, JobState::Succeeded);
    }
    // 20 jobs × 400 ms in sequence would be 8 s; concurrently well under that.
    assert!(t0.elapsed() < Duration::from_secs(4), "{:?}", t0.elapsed());
    assert_eq!(e.log(0, usize::MAX).unwrap().len(), 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_change_nothing() {
    let e = engine(
        r#"
program LONG { shell 'sleep 30'; }
chain S { step A program LONG; step B program LONG;
  rule R1 when TRUE then START A;
  rule R2 when A COMPLETED then END; }
"#,
        1.0,
    )
    .await;
    let job = e.start(start("S")).await.unwrap();
    let err = e
        .alter(
            &job,
            Some("A"),
            AlterChange {
                state: Some(PresetState::Succeeded),
                ..AlterChange::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Core(_)), "{err}");
    assert!(err.to_string().contains("RUNNING"), "{err}");
    assert_eq!(states(&e, &job)["A"].0, StepState::Running);
    assert!(e.start(start("NOPE")).await.is_err());
    let mut dup = start("S");
    dup.job = Some(job.clone());
    assert!(e.start(dup).await.is_err());
    e.stop(&job, None).await.unwrap();
    wait(&e, &job).await;
    // Ended jobs refuse further changes with a clear error.
    let err = e.evaluate(&job).await.unwrap_err();
    assert!(err.to_string().contains("ended"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_definition_gives_default_parameters() {
    let e = engine(
        r#"
program LOAD { executable '/bin/echo'; arguments '${RUN_DATE}' '${MODE}'; }
chain C { step L program LOAD; rule R1 when TRUE then START L; rule R2 when L COMPLETED then END; }
job NIGHTLY { chain C; parameters RUN_DATE = 'today', MODE = 'full'; }
"#,
        1.0,
    )
    .await;
    let mut req = start("C");
    req.job = Some("NIGHTLY".into());
    req.parameters.insert("MODE".into(), "delta".into());
    let job = e.start(req).await.unwrap();
    assert_eq!(wait(&e, &job).await.state, JobState::Succeeded);
    let rec = e.job(&job).unwrap().unwrap();
    assert_eq!(rec.parameters["RUN_DATE"], "today");
    assert_eq!(
        rec.parameters["MODE"], "delta",
        "the request overrides the definition"
    );
    let log = e.job_log(&job).unwrap();
    let d = e.run_details(log[0].log_id).unwrap().unwrap();
    assert_eq!(d.output, "today delta\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_timeout_fails_the_step_with_124() {
    let e = engine(
        r#"
program SLOW { shell 'echo begun; sleep 30'; timeout 1s; }
chain TO { step S program SLOW;
  rule R1 when TRUE then START S;
  rule R2 when S FAILED then END S.ERROR_CODE;
  rule R3 when S SUCCEEDED then END; }
"#,
        1.0,
    )
    .await;
    let t0 = Instant::now();
    let job = e.start(start("TO")).await.unwrap();
    let rec = wait(&e, &job).await;
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert_eq!((rec.state, rec.error_code), (JobState::Failed, Some(124)));
    let log = e.job_log(&job).unwrap();
    assert_eq!(log[0].error_code, 124);
    let d = e.run_details(log[0].log_id).unwrap().unwrap();
    assert_eq!(d.output, "begun\n");
    assert!(d.errors.contains("timed out"), "{}", d.errors);
}
