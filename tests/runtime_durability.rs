//! Durability modes: in sync mode every state change is flushed before it is acted on, and one
//! flush serves every change ready at that moment (group commit); relaxed mode does not wait
//! for flushes. Both leave a store the next engine reads.

use chainsched::catalog::{load_sources, Catalog};
use chainsched::core::types::{JobState, StartRequest};
use chainsched::runtime::{Durability, Engine, EngineOptions};
use chainsched::store::sled_store::{SledOptions, SledStore};
use chainsched::store::{ChainStore, KvStore, Pair, StoreError, WriteBatch};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn catalog() -> Catalog {
    load_sources(&[(
        "t.chain".into(),
        "program OK { builtin noop; }
         chain C { step A program OK; step B program OK;
           rule R1 when TRUE then START A;
           rule R2 when A SUCCEEDED then START B;
           rule R3 when B SUCCEEDED then END; }"
            .into(),
    )])
    .catalog
    .expect("catalog")
}

/// A store that counts batches and flushes, and checks that no batch stays unflushed while the
/// engine acts (every `apply` in sync mode is followed by a flush before the next turn).
struct Counting {
    inner: SledStore,
    applies: AtomicUsize,
    flushes: AtomicUsize,
}

impl KvStore for Counting {
    fn apply(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.applies.fetch_add(1, Ordering::SeqCst);
        self.inner.apply(batch)
    }
    fn flush(&self) -> Result<(), StoreError> {
        self.flushes.fetch_add(1, Ordering::SeqCst);
        self.inner.flush()
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_mode_shares_flushes_between_ready_changes() {
    let dir = tempfile::tempdir().unwrap();
    let kv = Arc::new(Counting {
        inner: SledStore::open(dir.path(), &SledOptions::default()).unwrap(),
        applies: AtomicUsize::new(0),
        flushes: AtomicUsize::new(0),
    });
    let store = ChainStore::from_kv(kv.clone(), "counting").unwrap();
    let engine = Engine::open_with_store(
        store,
        EngineOptions {
            catalog: Some(catalog()),
            ..EngineOptions::default()
        },
    )
    .await
    .unwrap();
    let before = kv.flushes.load(Ordering::SeqCst);
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let e = engine.clone();
        tasks.push(tokio::spawn(async move {
            let job = e
                .start(StartRequest {
                    chain: "C".into(),
                    ..StartRequest::default()
                })
                .await
                .unwrap();
            e.wait(&job).await.unwrap()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().state, JobState::Succeeded);
    }
    let flushes = kv.flushes.load(Ordering::SeqCst) - before;
    // 100 jobs × (start + 2 step ends) = 300 state changes at least.
    assert!(flushes > 0);
    assert!(
        flushes < 300,
        "group commit: {flushes} flushes for 300+ state changes"
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relaxed_mode_runs_and_the_store_is_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let job = {
        let engine = Engine::open(
            dir.path(),
            EngineOptions {
                catalog: Some(catalog()),
                durability: Durability::Relaxed { flush_every_ms: 50 },
                ..EngineOptions::default()
            },
        )
        .await
        .unwrap();
        let job = engine
            .start(StartRequest {
                chain: "C".into(),
                ..StartRequest::default()
            })
            .await
            .unwrap();
        assert_eq!(engine.wait(&job).await.unwrap().state, JobState::Succeeded);
        engine.shutdown().await;
        job
    };
    // Wait for the engine to release the store.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let engine = Engine::open(dir.path(), EngineOptions::default())
        .await
        .unwrap();
    assert_eq!(
        engine.job(&job).unwrap().unwrap().state,
        JobState::Succeeded
    );
    assert_eq!(engine.job_log(&job).unwrap().len(), 3);
    // The catalog was stored: a new job starts without giving it again.
    let again = engine
        .start(StartRequest {
            chain: "C".into(),
            ..StartRequest::default()
        })
        .await
        .unwrap();
    assert_ne!(again, job, "generated names are not reused");
    assert_eq!(
        engine.wait(&again).await.unwrap().state,
        JobState::Succeeded
    );
    let ids: Vec<u64> = engine
        .log(0, usize::MAX)
        .unwrap()
        .iter()
        .map(|r| r.log_id)
        .collect();
    assert_eq!(
        ids,
        vec![1, 2, 3, 4, 5, 6],
        "log ids continue after a reopen"
    );
}

/// A store whose flush fails from the n-th call on.
struct Failing {
    inner: chainsched::store::MemoryStore,
    flushes_left: AtomicUsize,
}

impl KvStore for Failing {
    fn apply(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.inner.apply(batch)
    }
    fn flush(&self) -> Result<(), StoreError> {
        if self.flushes_left.load(Ordering::SeqCst) == 0 {
            return Err(StoreError::Io("disk full".into()));
        }
        self.flushes_left.fetch_sub(1, Ordering::SeqCst);
        Ok(())
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_store_fails_nothing_more_is_acted_on() {
    let kv = Arc::new(Failing {
        inner: chainsched::store::MemoryStore::default(),
        flushes_left: AtomicUsize::new(3),
    });
    let store = ChainStore::from_kv(kv.clone(), "failing").unwrap();
    let engine = Engine::open_with_store(
        store,
        EngineOptions {
            catalog: Some(catalog()),
            ..EngineOptions::default()
        },
    )
    .await
    .unwrap();
    kv.flushes_left.store(0, Ordering::SeqCst);
    let err = engine
        .start(StartRequest {
            chain: "C".into(),
            ..StartRequest::default()
        })
        .await
        .unwrap_err();
    assert!(err.to_string().contains("disk full"), "{err}");
    // The engine refuses everything afterwards, with the reason.
    let err = engine.evaluate("ANY").await.unwrap_err();
    assert!(err.to_string().contains("disk full"), "{err}");
}
