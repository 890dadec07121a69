//! Health of the service after a store write failure (issue 12, point 1): `/healthz` and
//! `/readyz` answer 503 with the reason, `/metrics` shows `chainsched_engine_up 0`, and the
//! service (`serve_engine`, what `chainsched serve` runs) stops with the reason so that the
//! process exits non-zero and a supervisor restarts it.
//!
//! The write failure is injected with a store wrapper (a disk cannot be filled portably in a
//! test); the service is driven over real HTTP.

use chainsched::catalog::{load_sources, Catalog};
use chainsched::runtime::{Engine, EngineOptions};
use chainsched::server::state::AppState;
use chainsched::server::{router, serve_engine, ServeConfig, ServeError};
use chainsched::store::{ChainStore, KvStore, MemoryStore, Pair, StoreError, WriteBatch};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "health-token";

fn catalog() -> Catalog {
    load_sources(&[(
        "t.chain".into(),
        "program OK { builtin noop; }
         chain C { step A program OK; rule R1 when TRUE then START A;
           rule R2 when A SUCCEEDED then END; }"
            .into(),
    )])
    .catalog
    .expect("catalog")
}

/// A store whose writes fail ("disk full") once `failing` is set; reads keep working.
#[derive(Default)]
struct Breakable {
    inner: MemoryStore,
    failing: AtomicBool,
}

impl Breakable {
    fn check(&self) -> Result<(), StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::Io("No space left on device (disk full)".into()));
        }
        Ok(())
    }
}

impl KvStore for Breakable {
    fn apply(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.check()?;
        self.inner.apply(batch)
    }
    fn flush(&self) -> Result<(), StoreError> {
        self.check()
    }
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key)
    }
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<Pair>, StoreError> {
        self.inner.scan_prefix(prefix)
    }
    fn scan_from(&self, prefix: &[u8], from: &[u8], limit: usize) -> Result<Vec<Pair>, StoreError> {
        self.inner.scan_from(prefix, from, limit)
    }
    fn last_with_prefix(&self, prefix: &[u8]) -> Result<Option<Pair>, StoreError> {
        self.inner.last_with_prefix(prefix)
    }
}

async fn engine() -> (Engine, Arc<Breakable>) {
    let kv = Arc::new(Breakable::default());
    let store = ChainStore::from_kv(kv.clone(), "breakable").expect("store");
    let engine = Engine::open_with_store(
        store,
        EngineOptions {
            catalog: Some(catalog()),
            ..EngineOptions::default()
        },
    )
    .await
    .expect("engine");
    (engine, kv)
}

/// A blocking HTTP call off the async threads: (status, body text).
async fn call(method: &'static str, url: String, body: Option<Value>) -> (u16, String) {
    tokio::task::spawn_blocking(move || {
        let req = ureq::request(method, &url).set("Authorization", &format!("Bearer {TOKEN}"));
        let answer = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        match answer {
            Ok(r) | Err(ureq::Error::Status(_, r)) => {
                (r.status(), r.into_string().unwrap_or_default())
            }
            Err(e) => panic!("{method} {url}: {e}"),
        }
    })
    .await
    .expect("http task")
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_metrics_report_an_engine_stopped_by_a_write_failure() {
    let (engine, kv) = engine().await;
    let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let state = Arc::new(AppState::new(
        engine.clone(),
        catalog(),
        "rules".into(),
        Some(TOKEN.into()),
        true,
        None,
        stop_rx,
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let app = router(state, 1 << 20);
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });

    assert_eq!(
        call("GET", format!("{url}/healthz"), None).await,
        (200, r#"{"status":"ok"}"#.to_string())
    );
    assert_eq!(
        call("GET", format!("{url}/readyz"), None).await,
        (200, r#"{"status":"ok"}"#.to_string())
    );
    let (_, metrics) = call("GET", format!("{url}/metrics"), None).await;
    assert!(metrics.contains("chainsched_engine_up 1\n"), "{metrics}");
    assert!(metrics.contains("chainsched_store_up 1\n"), "{metrics}");

    kv.failing.store(true, Ordering::SeqCst);
    let (status, body) = call(
        "POST",
        format!("{url}/api/v1/jobs"),
        Some(json!({ "chain": "C" })),
    )
    .await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("disk full"), "{body}");

    // Writes succeed again: the engine stays stopped (it never acts on state it could not
    // make durable); health says so, with the reason.
    kv.failing.store(false, Ordering::SeqCst);
    for path in ["/healthz", "/readyz"] {
        let (status, body) = call("GET", format!("{url}{path}"), None).await;
        assert_eq!(status, 503, "{path}: {body}");
        let v = json_of(&body);
        assert_eq!(v["status"], "unavailable", "{path}: {body}");
        let reasons = v["reasons"].to_string();
        assert!(
            reasons.contains("the engine stopped") && reasons.contains("disk full"),
            "{path}: {body}"
        );
    }
    let (status, metrics) = call("GET", format!("{url}/metrics"), None).await;
    assert_eq!(status, 200);
    assert!(metrics.contains("chainsched_engine_up 0\n"), "{metrics}");
    assert_eq!(
        engine.failed().as_deref().map(|w| w.contains("disk full")),
        Some(true)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_stops_with_the_reason_when_a_store_write_fails() {
    let (engine, kv) = engine().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let config = ServeConfig {
        rules: "rules".into(),
        db: "memory".into(),
        durability: chainsched::runtime::Durability::Sync,
        listen: "127.0.0.1:0".into(),
        token: Some(TOKEN.into()),
        insecure_no_auth: false,
        read_only: false,
        rate_limit: 0,
        max_body_bytes: 1 << 20,
        time_scale: 1.0,
        retention: None,
        lease: Duration::from_secs(30),
        limits: Default::default(),
    };
    let served = tokio::spawn(async move {
        serve_engine(listener, engine, catalog(), &config, std::future::pending()).await
    });

    let (status, body) = call(
        "POST",
        format!("{url}/api/v1/jobs"),
        Some(json!({ "chain": "C", "job": "BEFORE" })),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    kv.failing.store(true, Ordering::SeqCst);
    // The start that hits the failing store answers 503 — or, when the service is already
    // shutting down on the failure it caused, the connection closes first (the health test
    // above checks the 503 itself).
    let url2 = format!("{url}/api/v1/jobs");
    let answer = tokio::task::spawn_blocking(move || {
        let sent = ureq::request("POST", &url2)
            .set("Authorization", &format!("Bearer {TOKEN}"))
            .send_json(json!({ "chain": "C" }));
        match sent {
            Ok(r) | Err(ureq::Error::Status(_, r)) => {
                Some((r.status(), r.into_string().unwrap_or_default()))
            }
            Err(ureq::Error::Transport(_)) => None,
        }
    })
    .await
    .expect("http task");
    if let Some((status, body)) = answer {
        assert_eq!(status, 503, "{body}");
    }

    // The service ends by itself with the reason (`chainsched serve` then exits 1).
    let result = tokio::time::timeout(Duration::from_secs(20), served)
        .await
        .expect("serve did not stop after the engine failed")
        .expect("serve task");
    match result {
        Err(ServeError::Failed(why)) => {
            assert!(
                why.contains("the engine stopped") && why.contains("disk full"),
                "{why}"
            )
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}
