//! A panic inside the engine's actor (a bug; once, tracing-subscriber panicking on a closed
//! stderr while the actor logged) is an engine failure: `Engine::failure()` resolves with the
//! reason, so `serve` exits for its supervisor and `run` stops following the engine, instead
//! of every caller waiting for ever. Issue 12 point 9.

use chainsched::catalog::load_sources;
use chainsched::core::types::StartRequest;
use chainsched::runtime::{Engine, EngineOptions};
use std::time::Duration;

/// A log sink that panics on every write, as the subscriber's internal error report did.
struct Exploding;

impl std::io::Write for Exploding {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        panic!("the log sink exploded");
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_panic_in_the_actor_is_an_engine_failure_not_a_hang() {
    // Only the actor's per-job `debug!` reaches this sink (the current thread runs every task).
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "chainsched::runtime::actor=debug",
        ))
        .with_writer(|| Exploding)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let loaded = load_sources(&[(
        "t.chain".to_string(),
        "program OK { builtin noop; }\nchain C { step A program OK; rule when TRUE then START A; rule when A COMPLETED then END; }\n".to_string(),
    )]);
    let engine = Engine::open_in_memory(EngineOptions {
        catalog: loaded.catalog,
        ..EngineOptions::default()
    })
    .await
    .expect("engine");
    let failure = engine.failure();
    let _ = engine
        .start(StartRequest {
            chain: "C".into(),
            ..StartRequest::default()
        })
        .await;
    let why = tokio::time::timeout(Duration::from_secs(30), failure)
        .await
        .expect("the engine's failure is reported, not a hang");
    assert!(
        why.contains("panicked") && why.contains("the log sink exploded"),
        "{why}"
    );
    assert!(engine.failed().is_some());
}
