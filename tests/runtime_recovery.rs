//! Recovery through the library: an engine shuts down with a job mid-way (a handler step
//! running, an event step waiting, an AFTER delay pending); the next engine on the same store
//! restarts the handler step (RECOVERY_RUN), keeps the event step waiting, fires the delay at its
//! stored due time, and the job ends.

use chainsched::catalog::load_sources;
use chainsched::core::types::{JobState, Outcome, RunOperation, StartRequest, StepState};
use chainsched::runtime::{Engine, EngineOptions, HandlerRegistry};
use std::time::Duration;

const RULES: &str = r#"
program WORK { handler 'work'; }
program OK { builtin noop; }
chain REC {
  step W event GO;
  step H program WORK with restart_on_recovery;
  step T program OK;
  rule R1 when TRUE then START W, H;
  rule R2 when TRUE then AFTER 00:00:05 START T;
  rule R3 when W SUCCEEDED AND H SUCCEEDED AND T SUCCEEDED then END;
}
"#;

fn options(handlers: HandlerRegistry) -> EngineOptions {
    EngineOptions {
        catalog: Some(
            load_sources(&[("r.chain".into(), RULES.into())])
                .catalog
                .unwrap(),
        ),
        time_scale: 10.0,
        kill_grace: Duration::from_millis(100),
        handlers,
        ..EngineOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_continues_in_the_next_engine() {
    let dir = tempfile::tempdir().unwrap();
    let started_at;
    {
        let handlers = HandlerRegistry::default();
        handlers.register("work", |ctx| async move {
            ctx.cancelled().await;
            Outcome::Stopped
        });
        let engine = Engine::open(dir.path(), options(handlers)).await.unwrap();
        let job = engine
            .start(StartRequest {
                job: Some("J".into()),
                chain: "REC".into(),
                ..StartRequest::default()
            })
            .await
            .unwrap();
        started_at = engine.job(&job).unwrap().unwrap().started_at;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let steps = engine.steps("J").unwrap();
        assert_eq!(steps[0].state, StepState::Running, "W waits");
        assert_eq!(steps[1].state, StepState::Running, "H runs");
        assert_eq!(
            steps[2].state,
            StepState::Scheduled,
            "T waits for its delay"
        );
        engine.shutdown().await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;

    let handlers = HandlerRegistry::default();
    handlers.register("work", |_ctx| async { Outcome::Succeeded });
    let engine = Engine::open(dir.path(), options(handlers)).await.unwrap();
    assert_eq!(engine.recovery().recovered, vec!["J".to_string()]);
    assert!(engine.recovery().failed.is_empty());
    // The event step still waits: raise its event.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        engine
            .raise_event("GO", serde_json::Value::Null, Some("J"))
            .await
            .unwrap(),
        1
    );
    let rec = tokio::time::timeout(Duration::from_secs(20), engine.wait("J"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.state, JobState::Succeeded, "{rec:?}");
    let log = engine.job_log("J").unwrap();
    let h: Vec<_> = log
        .iter()
        .filter(|r| r.subname.as_deref() == Some("H"))
        .collect();
    assert_eq!(h.len(), 1, "{log:?}");
    assert_eq!(h[0].operation, RunOperation::RecoveryRun);
    assert_eq!(h[0].status, StepState::Succeeded);
    let t = engine
        .steps("J")
        .unwrap()
        .into_iter()
        .find(|s| s.subname == "T")
        .unwrap();
    assert!(
        t.started_at.unwrap() >= started_at + 5_000,
        "the AFTER delay kept its due time: T started {} ms after the job",
        t.started_at.unwrap() - started_at
    );
    // Log ids continue; the job row is last.
    let ids: Vec<u64> = log.iter().map(|r| r.log_id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert!(log.last().unwrap().subname.is_none());
}
