//! Resource groups through the real runtime: a second job of a full group is ENQUEUED (and
//! stored so), starts when the first ends, a stopped ENQUEUED job never runs, and queued jobs
//! survive a restart of the engine.

use chainsched::catalog::{load_sources, Catalog};
use chainsched::core::types::{JobState, StartRequest};
use chainsched::runtime::{Engine, EngineOptions};
use std::time::Duration;

const SRC: &str = r#"
program NAP { builtin sleep 400ms; }
chain NAPPING {
    step W program NAP;
    rule GO   when TRUE then START W;
    rule DONE when W COMPLETED then END;
}
group BATCH { max_running 1; }
job NAPPER { chain NAPPING; group BATCH; }
"#;

fn catalog() -> Catalog {
    let loaded = load_sources(&[("test.chain".to_string(), SRC.to_string())]);
    loaded.catalog.expect("catalog loads")
}

fn options() -> EngineOptions {
    EngineOptions {
        catalog: Some(catalog()),
        kill_grace: Duration::from_millis(100),
        ..EngineOptions::default()
    }
}

fn run_of(job: &str) -> StartRequest {
    StartRequest {
        job: Some(job.to_string()),
        definition: Some("NAPPER".into()),
        ..StartRequest::default()
    }
}

async fn wait(e: &Engine, job: &str) -> chainsched::core::types::JobRecord {
    tokio::time::timeout(Duration::from_secs(30), e.wait(job))
        .await
        .expect("job did not end in time")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_group_queues_jobs_in_order() {
    let e = Engine::open_in_memory(options()).await.unwrap();
    e.start(run_of("A")).await.unwrap();
    e.start(run_of("B")).await.unwrap();
    e.start(run_of("C")).await.unwrap();
    let b = e.job("B").unwrap().unwrap();
    assert_eq!(b.state, JobState::Enqueued, "stored as ENQUEUED");
    assert_eq!(b.group.as_deref(), Some("BATCH"));
    assert!(b.enqueued_at.is_some());
    e.stop("C", None).await.unwrap();
    let c = wait(&e, "C").await;
    assert_eq!(c.state, JobState::Stopped);
    assert!(
        e.steps("C").unwrap().iter().all(|s| s.attempts == 0),
        "C never ran"
    );
    let a = wait(&e, "A").await;
    let b = wait(&e, "B").await;
    assert_eq!(b.state, JobState::Succeeded);
    assert!(
        b.started_at >= a.ended_at.unwrap(),
        "B started when A ended"
    );
    assert!(b.started_at > b.enqueued_at.unwrap(), "B waited");
    let kinds: Vec<_> = e
        .timeline("B")
        .unwrap()
        .into_iter()
        .map(|t| t.kind)
        .collect();
    use chainsched::core::types::TimelineKind::*;
    assert_eq!(kinds.first(), Some(&JobEnqueued));
    assert!(kinds.contains(&JobStarted));
    e.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_jobs_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let e = Engine::open(dir.path(), options()).await.unwrap();
        e.start(run_of("A")).await.unwrap();
        e.start(run_of("B")).await.unwrap();
        assert_eq!(e.job("B").unwrap().unwrap().state, JobState::Enqueued);
        e.shutdown().await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let e = Engine::open(dir.path(), options()).await.unwrap();
    // A's step was RUNNING at the crash (no restart_on_recovery): STOPPED, and DONE ends A;
    // B, still queued, then runs.
    let a = wait(&e, "A").await;
    assert!(a.state.is_finished());
    let b = wait(&e, "B").await;
    assert_eq!(b.state, JobState::Succeeded);
    assert!(b.enqueued_at.is_some());
    e.shutdown().await;
}
