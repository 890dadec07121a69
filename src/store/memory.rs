//! An in-memory [`KvStore`] for tests and for embedding without persistence. Same ordering and
//! atomicity as the sled store; `flush` does nothing (there is nothing to make durable).

use super::{KvStore, Pair, StoreError, WriteBatch, WriteOp};
use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct MemoryStore {
    map: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl MemoryStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Vec<u8>, Vec<u8>>> {
        // A panic while holding the lock cannot leave the map half-updated (every batch is
        // applied by infallible inserts), so a poisoned lock is still usable.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl KvStore for MemoryStore {
    fn apply(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut map = self.lock();
        for op in batch.ops {
            match op {
                WriteOp::Put(k, v) => {
                    map.insert(k, v);
                }
                WriteOp::Delete(k) => {
                    map.remove(&k);
                }
            }
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().get(key).cloned())
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<Pair>, StoreError> {
        Ok(self
            .lock()
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn scan_from(&self, prefix: &[u8], from: &[u8], limit: usize) -> Result<Vec<Pair>, StoreError> {
        let start = std::cmp::max(prefix.to_vec(), from.to_vec());
        Ok(self
            .lock()
            .range(start..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn last_with_prefix(&self, prefix: &[u8]) -> Result<Option<Pair>, StoreError> {
        Ok(self
            .lock()
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .last()
            .map(|(k, v)| (k.clone(), v.clone())))
    }

    fn scan_back(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Pair>, StoreError> {
        use std::ops::Bound;
        let upper = bounded_end(prefix, before);
        if upper.as_deref().is_some_and(|u| u <= prefix) {
            // BTreeMap::range panics on an empty or inverted range.
            return Ok(Vec::new());
        }
        let map = self.lock();
        let range = map.range::<Vec<u8>, _>((
            Bound::Included(prefix.to_vec()),
            match &upper {
                Some(u) => Bound::Excluded(u.clone()),
                None => Bound::Unbounded,
            },
        ));
        Ok(range
            .rev()
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

/// The exclusive upper bound of a backward scan: `before`, but never past the prefix's keys.
pub(super) fn bounded_end(prefix: &[u8], before: Option<&[u8]>) -> Option<Vec<u8>> {
    let end = super::layout::prefix_end(prefix);
    match (before, end) {
        (Some(b), Some(e)) => Some(std::cmp::min(b.to_vec(), e)),
        (Some(b), None) => Some(b.to_vec()),
        (None, e) => e,
    }
}
