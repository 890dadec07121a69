//! The durable store: a narrow key-value trait ([`KvStore`]), three implementations (sled on
//! disk, PostgreSQL for a shared database — docs/scale-out.md —, a `BTreeMap` in memory for
//! tests), the key layout ([`layout`]), a typed layer ([`ChainStore`]) that the runtime writes
//! and the views read, and [`open`], which picks the implementation from `--db`.
//!
//! Why a trait this small: the engine needs exactly four things from storage — apply one batch
//! atomically, make everything applied durable (one flush shared by many batches: group
//! commit), point reads and ordered prefix scans (forward, and backward for "the newest N").
//! Keeping the trait that small keeps sled replaceable (PostgreSQL implements it with one
//! table) and lets tests run the engine against memory. Every implementation passes the same
//! contract ([`contract::check_contract`]).

pub mod chain_edits;
pub mod chain_store;
pub mod check;
#[doc(hidden)]
pub mod contract;
pub mod holder;
pub mod layout;
pub mod memory;
pub mod open;
pub mod outbox;
pub mod pg_store;
pub mod records;
pub mod retention;
pub mod schedules;
mod sled_chunks;
pub mod sled_store;
#[cfg(test)]
pub(crate) mod test_fixtures;

pub use chain_store::{ChainStore, StateBatch};
pub use memory::MemoryStore;
pub use open::{Access, DbLocation, OpenOptions};
pub use pg_store::{PgOptions, PgStore};
pub use records::{JobEntry, LivePid, Progress, RunDetails, TimerEntry};
pub use retention::{PurgeStats, RetentionPolicy};
pub use sled_store::{install_quiet_panic_hook, SledStore};

/// A key and its value.
pub type Pair = (Vec<u8>, Vec<u8>);

/// One write of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOp {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
}

/// Writes applied together: after a crash either all of them are there or none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteBatch {
    pub ops: Vec<WriteOp>,
    /// Engines sharing a database: the leases this batch's writes depend on. A store shared by
    /// several engines applies the batch only if every lease is still held (all or nothing,
    /// in the same transaction); a store one engine owns has nothing to check.
    pub fence: Option<Fence>,
}

/// The lease check of a batch (docs/scale-out.md, "Fencing"): `owner` must hold each job of
/// `hold` at exactly its epoch, unexpired; the leases of `release` (jobs that ended in this
/// batch, a subset of `hold`) are given up with the batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fence {
    pub owner: String,
    pub hold: Vec<(String, i64)>,
    pub release: Vec<String>,
}

impl WriteBatch {
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.ops.push(WriteOp::Put(key, value));
    }
    pub fn delete(&mut self, key: Vec<u8>) {
        self.ops.push(WriteOp::Delete(key));
    }
    /// Nothing to write: no operation, and no lease to give up (a fence that releases leases
    /// must reach the store even when the batch writes nothing else).
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty() && self.fence.as_ref().is_none_or(|f| f.release.is_empty())
    }
    pub fn len(&self) -> usize {
        self.ops.len()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store at {path}: {message}")]
    Open { path: String, message: String },
    #[error(
        "the store at {path} has format version '{found}', but this chainsched reads \
         '{expected}'; use a matching chainsched version or a new --db path"
    )]
    FormatVersion {
        path: String,
        found: String,
        expected: String,
    },
    /// A PostgreSQL database whose chainsched schema is newer than this build knows.
    #[error(
        "the database {path} has chainsched schema version {found}, but this chainsched knows \
         versions up to {known}; use a chainsched at least as new as the one that migrated it"
    )]
    SchemaVersion {
        path: String,
        found: i32,
        known: i32,
    },
    #[error("store I/O error: {0}")]
    Io(String),
    #[error("corrupt store record at key '{key}': {message}")]
    Corrupt { key: String, message: String },
    /// The store's files or one of its records are damaged (sled refused them or failed on
    /// them, or a record's checksum does not match): the operation is refused.
    #[error(
        "the store at {path} is damaged: {message}. Restore the store from a backup; \
         `chainsched store check --db {path}` reports what is damaged"
    )]
    Damaged { path: String, message: String },
    /// A fenced batch was refused: this engine no longer holds the lease of a job it wrote
    /// (another engine took the job over). Nothing of the batch was written.
    #[error("lease lost: {0}")]
    LeaseLost(String),
}

impl StoreError {
    /// Attach the store's path: a damaged record becomes a [`StoreError::Damaged`] naming the
    /// store, the key and what to do.
    pub fn in_store(self, path: &str) -> StoreError {
        match self {
            StoreError::Corrupt { key, message } => StoreError::Damaged {
                path: path.to_string(),
                message: format!("record '{key}': {message}"),
            },
            other => other,
        }
    }
}

/// The storage the engine needs. Implementations must be safe to share between the engine
/// task and readers (views read while the engine writes).
pub trait KvStore: Send + Sync + 'static {
    /// Apply every write of `batch` atomically (all visible or none, also after a crash).
    /// Not necessarily durable until [`KvStore::flush`] returns.
    fn apply(&self, batch: WriteBatch) -> Result<(), StoreError>;
    /// Make every batch applied so far durable.
    fn flush(&self) -> Result<(), StoreError>;
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Every pair whose key starts with `prefix`, in key order.
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<Pair>, StoreError>;
    /// At most `limit` pairs whose key starts with `prefix` and is `>= from`, in key order.
    fn scan_from(&self, prefix: &[u8], from: &[u8], limit: usize) -> Result<Vec<Pair>, StoreError>;
    /// The pair with the greatest key starting with `prefix`.
    fn last_with_prefix(&self, prefix: &[u8]) -> Result<Option<Pair>, StoreError>;

    /// The database several engines share, when this store is one (PostgreSQL): the cluster
    /// (`runtime::cluster`) runs its lease protocol on it. `None` for a store one process owns.
    fn shared(&self) -> Option<&PgStore> {
        None
    }

    /// At most `limit` pairs whose key starts with `prefix` and is `< before` (every key of
    /// the prefix when `None`), greatest key first. Implementations should read only what they
    /// return (the views page backwards through the history with it); this default reads the
    /// whole prefix.
    fn scan_back(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Pair>, StoreError> {
        let mut all = self.scan_prefix(prefix)?;
        if let Some(b) = before {
            all.retain(|(k, _)| k.as_slice() < b);
        }
        all.reverse();
        all.truncate(limit);
        Ok(all)
    }

    /// Apply and flush: one durable commit.
    fn commit(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.apply(batch)?;
        self.flush()
    }

    /// The next free id under `prefix` for keys ending in a big-endian u64 (1 when none).
    fn next_id(&self, prefix: &[u8]) -> Result<u64, StoreError> {
        Ok(self
            .last_with_prefix(prefix)?
            .and_then(|(k, _)| layout::trailing_u64(&k))
            .map_or(1, |n| n.saturating_add(1)))
    }
}

#[cfg(test)]
mod contract_tests {
    //! The same contract checked on the sled and memory implementations (PostgreSQL:
    //! tests/store_pg.rs).
    use super::contract::check_contract;
    use super::*;

    #[test]
    fn memory_store_meets_the_contract() {
        check_contract(&MemoryStore::default());
    }

    #[test]
    fn sled_store_meets_the_contract() {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path(), &sled_store::SledOptions::default()).unwrap();
        check_contract(&store);
    }

    #[test]
    fn sled_store_chunks_large_values_and_keeps_no_stale_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let opts = sled_store::SledOptions::default();
        let big: Vec<u8> = (0..50_000u32).map(|i| (i % 13) as u8).collect();
        {
            let store = SledStore::open(dir.path(), &opts).unwrap();
            let mut b = WriteBatch::default();
            b.put(b"jdef/J".to_vec(), big.clone());
            store.commit(b).unwrap();
            assert_eq!(store.raw_keys_with_prefix(sled_chunks::REGION), 13);
        }
        // Reopened: the chunk counts are known again, so a shorter value removes the rest.
        let store = SledStore::open(dir.path(), &opts).unwrap();
        assert_eq!(store.get(b"jdef/J").unwrap(), Some(big.clone()));
        let mut b = WriteBatch::default();
        b.put(b"jdef/J".to_vec(), big[..9000].to_vec());
        store.commit(b).unwrap();
        assert_eq!(store.raw_keys_with_prefix(sled_chunks::REGION), 3);
        let mut b = WriteBatch::default();
        b.put(b"jdef/J".to_vec(), b"now small".to_vec());
        store.commit(b).unwrap();
        assert_eq!(store.raw_keys_with_prefix(sled_chunks::REGION), 0);
        assert_eq!(store.get(b"jdef/J").unwrap(), Some(b"now small".to_vec()));
        // A marker whose chunks are gone is damage, named by key, not a short value.
        let mut b = WriteBatch::default();
        b.put(b"jdef/K".to_vec(), big.clone());
        store.commit(b).unwrap();
        store.remove_raw_for_test(&{
            let mut k = sled_chunks::chunk_prefix(b"jdef/K");
            k.extend_from_slice(&5u32.to_be_bytes());
            k
        });
        let err = store.get(b"jdef/K").unwrap_err().to_string();
        assert!(err.contains("jdef/K") && err.contains("chunks"), "{err}");
    }
}
