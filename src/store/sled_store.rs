//! The on-disk [`KvStore`]: one sled tree, one `sled::Batch` per [`WriteBatch`].
//!
//! sled applies a batch atomically within one tree, which is why the whole layout lives in the
//! default tree (see `layout`). `flush` calls sled's flush, which writes the dirty log buffers and
//! waits for them with `sync_file_range` on Linux (not a full `fsync` of the disk cache): see
//! docs/durability.md for what that guarantees.

use super::{KvStore, Pair, StoreError, WriteBatch, WriteOp};
use std::path::Path;

/// Tuning of the sled database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SledOptions {
    /// Page-cache size in bytes (sled's `cache_capacity`).
    pub cache_capacity: u64,
    /// sled's background flush period; `None` disables it (then only explicit flushes persist).
    pub flush_every_ms: Option<u64>,
}

impl Default for SledOptions {
    fn default() -> Self {
        SledOptions {
            cache_capacity: 64 * 1024 * 1024,
            flush_every_ms: Some(500),
        }
    }
}

#[derive(Debug, Clone)]
pub struct SledStore {
    db: sled::Db,
}

fn io(e: sled::Error) -> StoreError {
    StoreError::Io(e.to_string())
}

fn to_vec(pair: sled::Result<(sled::IVec, sled::IVec)>) -> Result<Pair, StoreError> {
    pair.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(io)
}

fn is_lock_error(io: &std::io::Error) -> bool {
    io.kind() == std::io::ErrorKind::WouldBlock || io.to_string().contains("lock")
}

impl SledStore {
    pub fn open(path: &Path, options: &SledOptions) -> Result<SledStore, StoreError> {
        let config = sled::Config::new()
            .path(path)
            .cache_capacity(options.cache_capacity)
            .flush_every_ms(options.flush_every_ms);
        // After a `Db` in this process is dropped, sled's flusher thread can hold the file lock
        // for a moment longer; an immediate reopen (recovery in an embedding service, tests)
        // then fails with a lock error. Retry lock errors briefly before giving up: another
        // *process* holding the store still gets the clear error below after ~2 s.
        let mut attempt = 0;
        let opened = loop {
            match config.open() {
                Err(sled::Error::Io(io)) if is_lock_error(&io) && attempt < 100 => {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => break other,
            }
        };
        let db = opened.map_err(|e| {
            let message = match &e {
                sled::Error::Io(io) if is_lock_error(io) => format!(
                    "{io} (is another chainsched process using this store? only one \
                         process can open it at a time)"
                ),
                other => other.to_string(),
            };
            StoreError::Open {
                path: path.display().to_string(),
                message,
            }
        })?;
        Ok(SledStore { db })
    }

    /// Bytes the database uses on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.db.size_on_disk().map_err(io)
    }
}

impl KvStore for SledStore {
    fn apply(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut b = sled::Batch::default();
        for op in batch.ops {
            match op {
                WriteOp::Put(k, v) => b.insert(k, v),
                WriteOp::Delete(k) => b.remove(k),
            }
        }
        self.db.apply_batch(b).map_err(io)
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(|_| ()).map_err(io)
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.db.get(key).map(|v| v.map(|v| v.to_vec())).map_err(io)
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<Pair>, StoreError> {
        self.db.scan_prefix(prefix).map(to_vec).collect()
    }

    fn scan_from(&self, prefix: &[u8], from: &[u8], limit: usize) -> Result<Vec<Pair>, StoreError> {
        let start = std::cmp::max(prefix.to_vec(), from.to_vec());
        self.db
            .range(start..)
            .take_while(|r| r.as_ref().map_or(true, |(k, _)| k.starts_with(prefix)))
            .take(limit)
            .map(to_vec)
            .collect()
    }

    fn last_with_prefix(&self, prefix: &[u8]) -> Result<Option<Pair>, StoreError> {
        self.db
            .scan_prefix(prefix)
            .next_back()
            .map(to_vec)
            .transpose()
    }

    fn scan_back(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Pair>, StoreError> {
        let start = prefix.to_vec();
        let iter = match super::memory::bounded_end(prefix, before) {
            Some(end) if end <= start => return Ok(Vec::new()),
            Some(end) => self.db.range(start..end),
            None => self.db.range(start..),
        };
        iter.rev().take(limit).map(to_vec).collect()
    }
}
