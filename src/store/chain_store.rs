//! The typed store: what the runtime writes (one [`StateBatch`] per state change) and what the
//! views read (jobs, steps in definition order, progress, job log, run details, timeline).
//!
//! It hides the key layout (`layout`) and the codec (`records`), checks the format version when
//! a store is opened, and implements retention (pruning finished jobs).

use super::layout::{self, FORMAT_KEY, FORMAT_VERSION};
use super::records::{
    decode, decode_compact, encode, encode_compact, JobEntry, LivePid, Progress, RunDetails,
    TimerEntry,
};
use super::sled_store::SledOptions;
use super::{KvStore, MemoryStore, SledStore, StoreError, WriteBatch};
use crate::catalog::Catalog;
use crate::core::journal::{JobChanges, JobRecords};
use crate::core::types::{JobRecord, LogRow, StepRecord, TimelineEntry, TimerKey};
use crate::lang::duration::Millis;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

/// A cheap-to-clone handle on the store.
#[derive(Clone)]
pub struct ChainStore {
    kv: Arc<dyn KvStore>,
    path: String,
}

impl std::fmt::Debug for ChainStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainStore")
            .field("path", &self.path)
            .finish()
    }
}

/// What [`ChainStore::prune_finished_before`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneStats {
    pub jobs: usize,
    pub log_rows: usize,
}

impl ChainStore {
    /// Open (or create) a sled store at `path`.
    pub fn open_sled(path: &Path, options: &SledOptions) -> Result<ChainStore, StoreError> {
        let kv = SledStore::open(path, options)?;
        let used = kv.was_used();
        ChainStore::wrap(Arc::new(kv), &path.display().to_string(), used)
    }

    /// A fresh store in memory.
    pub fn in_memory() -> ChainStore {
        ChainStore {
            kv: Arc::new(MemoryStore::default()),
            path: "(memory)".into(),
        }
    }

    /// Wrap any [`KvStore`]: a new store is stamped with the format version; an existing one
    /// must carry this build's version.
    pub fn from_kv(kv: Arc<dyn KvStore>, path: &str) -> Result<ChainStore, StoreError> {
        ChainStore::wrap(kv, path, false)
    }

    /// [`ChainStore::from_kv`]; `used`: the store is known to have held data before (the sled
    /// store's witness), so a missing format record is damage, not a new store.
    fn wrap(kv: Arc<dyn KvStore>, path: &str, used: bool) -> Result<ChainStore, StoreError> {
        match kv.get(FORMAT_KEY)? {
            Some(found) if found == FORMAT_VERSION.as_bytes() => {}
            Some(found) => {
                return Err(StoreError::FormatVersion {
                    path: path.to_string(),
                    found: String::from_utf8_lossy(&found).into_owned(),
                    expected: FORMAT_VERSION.to_string(),
                })
            }
            None if used => {
                return Err(StoreError::Damaged {
                    path: path.to_string(),
                    message: "it has no format record (meta/format), though it held data \
                              before: sled lost records it had made durable"
                        .into(),
                })
            }
            None => {
                let mut b = WriteBatch::default();
                b.put(FORMAT_KEY.to_vec(), FORMAT_VERSION.as_bytes().to_vec());
                kv.commit(b)?;
            }
        }
        if kv.get(layout::STORE_ID_KEY)?.is_none() {
            let mut b = WriteBatch::default();
            b.put(layout::STORE_ID_KEY.to_vec(), encode(&new_store_id()));
            kv.commit(b)?;
        }
        Ok(ChainStore {
            kv,
            path: path.to_string(),
        })
    }

    /// The store's random id (see `layout`, `meta/store_id`).
    pub fn store_id(&self) -> Result<String, StoreError> {
        Ok(self
            .get_as::<String>(layout::STORE_ID_KEY)?
            .unwrap_or_default())
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn kv(&self) -> &Arc<dyn KvStore> {
        &self.kv
    }

    /// Apply one state change atomically (not yet durable: see [`ChainStore::flush`]).
    pub fn apply(&self, batch: StateBatch) -> Result<(), StoreError> {
        if batch.inner.is_empty() {
            return Ok(());
        }
        self.kv.apply(batch.inner)
    }

    /// Make everything applied so far durable.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.kv.flush()
    }

    // ---- reads ----

    /// Decode a sealed JSON value read from this store; a damaged one is an error naming the
    /// store, the key and what to do ([`StoreError::in_store`]).
    pub fn decode<T: serde::de::DeserializeOwned>(
        &self,
        key: &[u8],
        bytes: &[u8],
    ) -> Result<T, StoreError> {
        decode(key, bytes).map_err(|e| e.in_store(&self.path))
    }

    fn get_as<T: serde::de::DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, StoreError> {
        match self.kv.get(key)? {
            Some(bytes) => self.decode(key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn scan_as<T: serde::de::DeserializeOwned>(&self, prefix: &[u8]) -> Result<Vec<T>, StoreError> {
        self.kv
            .scan_prefix(prefix)?
            .into_iter()
            .map(|(k, v)| self.decode(&k, &v))
            .collect()
    }

    /// The catalog last loaded into the engine (used by `resume`, which has no rule files).
    pub fn catalog(&self) -> Result<Option<Catalog>, StoreError> {
        self.get_as(layout::CATALOG_KEY)
    }

    /// Every job (running and finished), in name order.
    pub fn jobs(&self) -> Result<Vec<JobRecord>, StoreError> {
        Ok(self
            .scan_as::<JobEntry>(layout::JOB.as_bytes())?
            .into_iter()
            .map(|e| e.record)
            .collect())
    }

    pub fn job(&self, job: &str) -> Result<Option<JobRecord>, StoreError> {
        Ok(self
            .get_as::<JobEntry>(&layout::job_key(job))?
            .map(|e| e.record))
    }

    /// Names of the jobs that have not finished (they have core records, `jh/<job>`).
    pub fn unfinished_jobs(&self) -> Result<Vec<String>, StoreError> {
        Ok(self
            .kv
            .scan_prefix(layout::JOB_HEADER.as_bytes())?
            .into_iter()
            .filter_map(|(k, _)| {
                let rest = k.strip_prefix(layout::JOB_HEADER.as_bytes())?;
                String::from_utf8(rest.to_vec()).ok()
            })
            .collect())
    }

    /// Every core record of an unfinished job (`jh/`, `ji/`, `js/`), to rebuild it.
    pub fn job_records(&self, job: &str) -> Result<JobRecords, StoreError> {
        let header_key = layout::job_header_key(job);
        let mut records = JobRecords {
            header: match self.kv.get(&header_key)? {
                Some(v) => Some(decode_compact(&header_key, &v)?),
                None => None,
            },
            ..JobRecords::default()
        };
        for (k, v) in self
            .kv
            .scan_prefix(&layout::job_prefix(layout::JOB_INSTANCE, job))?
        {
            let i = layout::job_instance_of(&k).ok_or_else(|| bad_key(&k))?;
            records.instances.insert(i, decode_compact(&k, &v)?);
        }
        for (k, v) in self
            .kv
            .scan_prefix(&layout::job_prefix(layout::JOB_STEP, job))?
        {
            let at = layout::job_step_of(&k).ok_or_else(|| bad_key(&k))?;
            records.steps.insert(at, decode_compact(&k, &v)?);
        }
        Ok(records)
    }

    /// Every key of a job's core records and definitions (deleted when the job ends).
    pub fn job_state_keys(&self, job: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut keys = vec![layout::job_header_key(job), layout::definitions_key(job)];
        for tag in [layout::JOB_INSTANCE, layout::JOB_STEP] {
            for (k, _) in self.kv.scan_prefix(&layout::job_prefix(tag, job))? {
                keys.push(k);
            }
        }
        Ok(keys)
    }

    /// The chain definitions of an unfinished job, as JSON (the type belongs to the core).
    pub fn definitions_json(&self, job: &str) -> Result<Option<serde_json::Value>, StoreError> {
        self.get_as(&layout::definitions_key(job))
    }

    /// The job's step records, in definition order (nested steps right after their outer step).
    pub fn steps(&self, job: &str) -> Result<Vec<StepRecord>, StoreError> {
        let mut by_subname: BTreeMap<String, StepRecord> = self
            .scan_as::<StepRecord>(&layout::job_prefix(layout::STEP, job))?
            .into_iter()
            .map(|s| (s.subname.clone(), s))
            .collect();
        let order: Vec<String> = self.get_as(&layout::order_key(job))?.unwrap_or_default();
        let mut out = Vec::with_capacity(by_subname.len());
        for sub in order {
            if let Some(s) = by_subname.remove(&sub) {
                out.push(s);
            }
        }
        out.extend(by_subname.into_values());
        Ok(out)
    }

    /// Progress per subname (SOFAR, TOTALWORK, STATUS_MESSAGE).
    pub fn progress(&self, job: &str) -> Result<BTreeMap<String, Progress>, StoreError> {
        let prefix = layout::job_prefix(layout::PROGRESS, job);
        self.kv
            .scan_prefix(&prefix)?
            .into_iter()
            .map(|(k, v)| {
                let sub = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
                self.decode::<Progress>(&k, &v).map(|p| (sub, p))
            })
            .collect()
    }

    pub fn timers(&self, job: &str) -> Result<Vec<TimerEntry>, StoreError> {
        self.scan_as(&layout::job_prefix(layout::TIMER, job))
    }

    /// Process groups of external steps that were running (subname → pid).
    pub fn live_pids(&self, job: &str) -> Result<Vec<(String, LivePid)>, StoreError> {
        let prefix = layout::job_prefix(layout::PID, job);
        self.kv
            .scan_prefix(&prefix)?
            .into_iter()
            .map(|(k, v)| {
                let sub = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
                self.decode::<LivePid>(&k, &v).map(|p| (sub, p))
            })
            .collect()
    }

    /// Every stored process group, of any job: (job, subname, pid).
    pub fn all_live_pids(&self) -> Result<Vec<(String, String, LivePid)>, StoreError> {
        let tag = layout::PID.as_bytes();
        self.kv
            .scan_prefix(tag)?
            .into_iter()
            .map(|(k, v)| {
                let rest = &k[tag.len()..];
                let cut = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
                let job = String::from_utf8_lossy(&rest[..cut]).into_owned();
                let sub = String::from_utf8_lossy(rest.get(cut + 1..).unwrap_or(&[])).into_owned();
                self.decode::<LivePid>(&k, &v).map(|p| (job, sub, p))
            })
            .collect()
    }

    /// The keys of a job's previous run that a new run of the same name replaces: steps, their
    /// order, progress, timeline, timers, process groups (not the job record, not log rows).
    pub fn job_keys_of_run(&self, job: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut keys = vec![layout::order_key(job)];
        for tag in [
            layout::STEP,
            layout::PROGRESS,
            layout::TIMELINE,
            layout::TIMER,
            layout::PID,
            layout::JOB_INSTANCE,
            layout::JOB_STEP,
        ] {
            for (k, _) in self.kv.scan_prefix(&layout::job_prefix(tag, job))? {
                keys.push(k);
            }
        }
        Ok(keys)
    }

    /// Job-log rows with `log_id >= since_id`, at most `limit`, in log-id order.
    pub fn log(&self, since_id: u64, limit: usize) -> Result<Vec<LogRow>, StoreError> {
        self.kv
            .scan_from(layout::LOG.as_bytes(), &layout::log_key(since_id), limit)?
            .into_iter()
            .map(|(k, v)| self.decode(&k, &v))
            .collect()
    }

    /// Every job-log row of one job, in log-id order.
    pub fn job_log(&self, job: &str) -> Result<Vec<LogRow>, StoreError> {
        Ok(self
            .scan_as::<LogRow>(layout::LOG.as_bytes())?
            .into_iter()
            .filter(|r| r.job == job)
            .collect())
    }

    pub fn log_row(&self, log_id: u64) -> Result<Option<LogRow>, StoreError> {
        self.get_as(&layout::log_key(log_id))
    }

    pub fn run_details(&self, log_id: u64) -> Result<Option<RunDetails>, StoreError> {
        self.get_as(&layout::run_key(log_id))
    }

    pub fn timeline(&self, job: &str) -> Result<Vec<TimelineEntry>, StoreError> {
        self.scan_as(&layout::job_prefix(layout::TIMELINE, job))
    }

    pub fn next_log_id(&self) -> Result<u64, StoreError> {
        self.kv.next_id(layout::LOG.as_bytes())
    }

    pub fn next_timeline_seq(&self, job: &str) -> Result<u64, StoreError> {
        self.kv.next_id(&layout::job_prefix(layout::TIMELINE, job))
    }

    // ---- retention ----

    /// Remove finished jobs that ended before `cutoff` (with their steps, progress and
    /// timeline) and job-log rows (with their run details) older than `cutoff` that do not
    /// belong to an unfinished job. Returns what was removed. One atomic batch.
    pub fn prune_finished_before(&self, cutoff: Millis) -> Result<PruneStats, StoreError> {
        let unfinished: BTreeSet<String> = self.unfinished_jobs()?.into_iter().collect();
        let mut batch = WriteBatch::default();
        let mut stats = PruneStats::default();
        for record in self.jobs()? {
            let old = record.state.is_finished()
                && record.ended_at.is_some_and(|t| t < cutoff)
                && !unfinished.contains(&record.job);
            if !old {
                continue;
            }
            stats.jobs += 1;
            let job = record.job.as_str();
            batch.delete(layout::job_key(job));
            batch.delete(layout::order_key(job));
            for k in self.job_state_keys(job)? {
                batch.delete(k);
            }
            for tag in [
                layout::STEP,
                layout::PROGRESS,
                layout::TIMELINE,
                layout::TIMER,
                layout::PID,
            ] {
                for (k, _) in self.kv.scan_prefix(&layout::job_prefix(tag, job))? {
                    batch.delete(k);
                }
            }
        }
        for (k, v) in self.kv.scan_prefix(layout::LOG.as_bytes())? {
            let row: LogRow = self.decode(&k, &v)?;
            if row.time >= cutoff {
                // Log ids grow with time: everything after this row is newer.
                break;
            }
            if unfinished.contains(&row.job) {
                continue;
            }
            stats.log_rows += 1;
            batch.delete(k);
            batch.delete(layout::run_key(row.log_id));
        }
        self.kv.commit(batch)?;
        Ok(stats)
    }
}

/// The writes of one state change, applied atomically by [`ChainStore::apply`].
#[derive(Debug, Default)]
pub struct StateBatch {
    inner: WriteBatch,
}

impl StateBatch {
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }
    pub fn len(&self) -> usize {
        self.inner.len()
    }
    fn put<T: Serialize>(&mut self, key: Vec<u8>, value: &T) {
        self.inner.put(key, encode(value));
    }
    pub fn put_catalog(&mut self, catalog: &Catalog) {
        self.put(layout::CATALOG_KEY.to_vec(), catalog);
    }
    pub fn put_job(&mut self, record: &JobRecord) {
        self.put(
            layout::job_key(&record.job),
            &JobEntry {
                record: record.clone(),
            },
        );
    }
    /// The core records that changed in one job (`Core::take_changes`), for a job that has
    /// not ended (an ended job's records are deleted: [`ChainStore::job_state_keys`]).
    pub fn put_job_changes(&mut self, changes: &JobChanges) {
        let job = changes.job.as_str();
        if let Some(h) = &changes.header {
            self.inner
                .put(layout::job_header_key(job), encode_compact(h));
        }
        for (i, r) in &changes.instances {
            self.inner
                .put(layout::job_instance_key(job, *i), encode_compact(r));
        }
        for (i, s, r) in &changes.steps {
            self.inner
                .put(layout::job_step_key(job, *i, *s), encode_compact(r));
        }
    }
    pub fn put_definitions<T: Serialize>(&mut self, job: &str, definitions: &T) {
        self.put(layout::definitions_key(job), definitions);
    }
    pub fn put_step(&mut self, job: &str, step: &StepRecord) {
        self.put(layout::step_key(job, &step.subname), step);
    }
    pub fn put_order(&mut self, job: &str, subnames: &[String]) {
        self.put(layout::order_key(job), &subnames);
    }
    pub fn put_progress(&mut self, job: &str, subname: &str, progress: &Progress) {
        self.put(layout::progress_key(job, subname), progress);
    }
    pub fn put_timer(&mut self, entry: &TimerEntry) {
        self.put(
            layout::timer_key(&entry.job, &timer_json(&entry.timer)),
            entry,
        );
    }
    pub fn delete_timer(&mut self, job: &str, timer: &TimerKey) {
        self.inner
            .delete(layout::timer_key(job, &timer_json(timer)));
    }
    /// Delete keys found by a scan (e.g. every timer of a job that ended).
    pub fn delete_raw(&mut self, key: Vec<u8>) {
        self.inner.delete(key);
    }
    pub fn put_log(&mut self, row: &LogRow) {
        self.put(layout::log_key(row.log_id), row);
    }
    pub fn put_run_details(&mut self, details: &RunDetails) {
        self.put(layout::run_key(details.log_id), details);
    }
    pub fn put_timeline(&mut self, seq: u64, entry: &TimelineEntry) {
        self.put(layout::timeline_key(&entry.job, seq), entry);
    }
    pub fn put_pid(&mut self, job: &str, subname: &str, pid: &LivePid) {
        self.put(layout::pid_key(job, subname), pid);
    }
    pub fn delete_pid(&mut self, job: &str, subname: &str) {
        self.inner.delete(layout::pid_key(job, subname));
    }
    /// Append another batch's writes after this one's.
    pub fn extend(&mut self, other: StateBatch) {
        self.inner.ops.extend(other.inner.ops);
    }
}

fn bad_key(key: &[u8]) -> StoreError {
    StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        message: "malformed key".into(),
    }
}

/// A timer's part of its key: its JSON form (plain JSON, not a sealed value: keys carry no
/// envelope).
fn timer_json(timer: &TimerKey) -> String {
    serde_json::to_string(timer).unwrap_or_default()
}

/// Every timer key of a job (to delete them when it ends).
pub fn timer_keys(store: &ChainStore, job: &str) -> Result<Vec<Vec<u8>>, StoreError> {
    Ok(store
        .kv
        .scan_prefix(&layout::job_prefix(layout::TIMER, job))?
        .into_iter()
        .map(|(k, _)| k)
        .collect())
}

/// Every pid key of a job.
pub fn pid_keys(store: &ChainStore, job: &str) -> Result<Vec<Vec<u8>>, StoreError> {
    Ok(store
        .kv
        .scan_prefix(&layout::job_prefix(layout::PID, job))?
        .into_iter()
        .map(|(k, _)| k)
        .collect())
}

/// 64 random-enough bits as hex: the clock's nanoseconds, the process id and a stack address
/// mixed (no randomness crate needed; uniqueness across stores is all that matters).
fn new_store_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let local = 0u8;
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(nanos);
    h.write_u32(std::process::id());
    h.write_usize(&local as *const u8 as usize);
    format!("{:016x}", h.finish())
}
