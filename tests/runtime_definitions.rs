//! A running job keeps the chain definitions it started with (as altered since) across an
//! engine restart, even when the catalog changed meanwhile. The store keeps them apart from the
//! job's state (`jdef/<job>` next to its records `jh/`, `ji/`, `js/`): the state records are
//! written when they change, the definitions only when an alter chain changes them.

use chainsched::catalog::{load_sources, Catalog};
use chainsched::core::types::{AlterChange, JobState, StartRequest, StepState};
use chainsched::runtime::{Engine, EngineOptions};
use std::path::Path;
use std::time::{Duration, Instant};

fn catalog(text: &str) -> Catalog {
    let loaded = load_sources(&[("test.chain".to_string(), text.to_string())]);
    match loaded.catalog {
        Some(c) => c,
        None => panic!("catalog has errors: {:?}", loaded.diagnostics),
    }
}

const V1: &str = r#"
program NAP { builtin sleep 1500ms; }
program OK  { builtin noop; }
program BAD { builtin fail 7; }
chain C {
  step A program NAP with restart_on_recovery;
  step B program BAD;
  rule R1 when TRUE then START A;
  rule R2 when A SUCCEEDED then START B;
  rule R3 when B SUCCEEDED then END;
  rule R4 when B FAILED then END B.ERROR_CODE;
}
"#;

/// The same chain name, another shape: a restarted engine must not run the old job with it.
/// (Programs are looked up by name when a step runs, as in Oracle, so they stay.)
const V2: &str = r#"
program NAP { builtin sleep 1500ms; }
program OK  { builtin noop; }
program BAD { builtin fail 7; }
chain C {
  step X program OK;
  rule R1 when TRUE then START X;
  rule R2 when X COMPLETED then END 99;
}
"#;

async fn open(db: &Path, text: &str) -> Engine {
    Engine::open(
        db,
        EngineOptions {
            catalog: Some(catalog(text)),
            kill_grace: Duration::from_millis(300),
            ..EngineOptions::default()
        },
    )
    .await
    .unwrap()
}

fn state_of(e: &Engine, job: &str, step: &str) -> Option<StepState> {
    e.steps(job)
        .unwrap()
        .into_iter()
        .find(|s| s.subname == step)
        .map(|s| s.state)
}

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recovered_job_runs_the_definitions_it_started_with_as_altered() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");

    let engine = open(&db, V1).await;
    let job = engine
        .start(StartRequest {
            job: Some("J".into()),
            chain: "C".into(),
            ..StartRequest::default()
        })
        .await
        .unwrap();
    until("A running", || {
        state_of(&engine, &job, "A") == Some(StepState::Running)
    })
    .await;
    let stored = engine.store().definitions_json(&job).unwrap();
    let first = stored.expect("definitions stored when the job started");
    let records = engine.store().job_records(&job).unwrap();
    assert!(records.header.is_some(), "the job's own record is stored");
    assert_eq!(records.steps.len(), 2, "one record per step: {records:?}");
    let text = format!("{records:?}");
    assert!(
        !text.contains("R2"),
        "the state records carry no chain definitions: {text}"
    );

    // Alter chain: B will be skipped (so the job SUCCEEDS instead of failing with 7).
    engine
        .alter_chain(
            "C",
            Some("B"),
            AlterChange {
                skip: Some(true),
                ..AlterChange::default()
            },
        )
        .await
        .unwrap();
    let second = engine.store().definitions_json(&job).unwrap().unwrap();
    assert_ne!(first["version"], second["version"], "rewritten on alter");

    // Shut down with A still running (left for recovery), reopen with a different catalog.
    engine.shutdown().await;
    drop(engine);
    let engine = open(&db, V2).await;
    assert_eq!(engine.recovery().recovered, vec![job.clone()]);
    assert!(engine.recovery().failed.is_empty());
    let end = tokio::time::timeout(Duration::from_secs(30), engine.wait(&job))
        .await
        .expect("the recovered job ends")
        .unwrap();
    // A was RUNNING at the shutdown: restarted (restart_on_recovery), then B — skipped by the
    // alter chain — succeeds at once: the job SUCCEEDS. Under V2 it would end with 99, and
    // without the alteration B would fail it with 7.
    assert_eq!(
        (end.state, end.error_code),
        (JobState::Succeeded, Some(0)),
        "{end:?}"
    );
    let steps: Vec<(String, StepState)> = engine
        .steps(&job)
        .unwrap()
        .into_iter()
        .map(|s| (s.subname, s.state))
        .collect();
    assert_eq!(
        steps,
        vec![
            ("A".to_string(), StepState::Succeeded),
            ("B".to_string(), StepState::Succeeded)
        ]
    );
    assert!(
        engine.store().definitions_json(&job).unwrap().is_none(),
        "removed with the job's records when it ended"
    );
    engine.shutdown().await;
}
