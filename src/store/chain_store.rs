//! The typed store: what the runtime writes (one [`StateBatch`] per state change) and what the
//! views read (jobs, steps in definition order, progress, job log, run details, timeline).
//!
//! It hides the key layout (`layout`) and the codec (`records`), checks the format version when
//! a store is opened, and keeps the indexes the views and retention read (`jt/`, `jend/`,
//! `jact/`, `jlog/`: see `layout`) in the same batch as the records they index. Retention
//! itself (which ended jobs to remove) is `super::retention`.

use super::layout::{self, FORMAT_KEY, FORMAT_VERSION};
use super::records::{
    decode, decode_compact, encode, encode_compact, JobEntry, LivePid, Progress, RunDetails,
    TimerEntry,
};
use super::sled_store::SledOptions;
use super::{KvStore, MemoryStore, SledStore, StoreError, WriteBatch};
use crate::catalog::Catalog;
use crate::core::journal::{JobChanges, JobRecords};
use crate::core::types::{JobRecord, LogRow, StepRecord, TimelineEntry, TimerKey, Variable};
use crate::lang::duration::Millis;
use serde::Serialize;
use std::collections::BTreeMap;
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

/// Keys read per page when a read walks an index.
const PAGE: usize = 256;

/// The instant a job is listed by (newest first): when it was requested (ENQUEUED_AT), else
/// when it started. It does not change during a run.
pub fn job_instant(record: &JobRecord) -> Millis {
    record.enqueued_at.unwrap_or(record.started_at)
}

/// The key right after `key` in key order (to continue a scan after it).
fn after(key: &[u8]) -> Vec<u8> {
    let mut k = key.to_vec();
    k.push(0);
    k
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
                // A new store: stamped, with its id, and with (empty) indexes, in one commit.
                let mut b = WriteBatch::default();
                b.put(FORMAT_KEY.to_vec(), FORMAT_VERSION.as_bytes().to_vec());
                b.put(layout::STORE_ID_KEY.to_vec(), encode(&new_store_id()));
                b.put(
                    layout::INDEX_KEY.to_vec(),
                    layout::INDEX_VERSION.as_bytes().to_vec(),
                );
                kv.commit(b)?;
            }
        }
        if kv.get(layout::STORE_ID_KEY)?.is_none() {
            let mut b = WriteBatch::default();
            b.put(layout::STORE_ID_KEY.to_vec(), encode(&new_store_id()));
            kv.commit(b)?;
        }
        let store = ChainStore {
            kv,
            path: path.to_string(),
        };
        store.ensure_indexes()?;
        Ok(store)
    }

    /// Build the indexes of a store written before they existed (once: `meta/indexes` marks
    /// them built). Page by page, each page one batch; the marker is written last, so an
    /// interrupted build is simply done again at the next open.
    fn ensure_indexes(&self) -> Result<(), StoreError> {
        if self.kv.get(layout::INDEX_KEY)?.as_deref() == Some(layout::INDEX_VERSION.as_bytes()) {
            return Ok(());
        }
        for tag in [layout::JOB, layout::LOG] {
            let mut from = tag.as_bytes().to_vec();
            loop {
                let page = self.kv.scan_from(tag.as_bytes(), &from, PAGE)?;
                let Some((last, _)) = page.last() else {
                    break;
                };
                from = after(last);
                let mut batch = StateBatch::default();
                for (k, v) in &page {
                    if tag == layout::JOB {
                        let entry: JobEntry = decode(k, v)?;
                        batch.index_job(&entry.record);
                    } else {
                        let row: LogRow = decode(k, v)?;
                        batch.index_log(&row);
                    }
                }
                self.kv.apply(batch.inner)?;
                if page.len() < PAGE {
                    break;
                }
            }
        }
        let mut b = WriteBatch::default();
        b.put(
            layout::INDEX_KEY.to_vec(),
            layout::INDEX_VERSION.as_bytes().to_vec(),
        );
        self.kv.commit(b)
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

    pub(crate) fn get_as<T: serde::de::DeserializeOwned>(
        &self,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
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

    /// The events kept for steps that start waiting later, oldest first (expired ones
    /// included until the engine drops them: compare `expires_at` with the time).
    pub fn kept_events(&self) -> Result<Vec<crate::core::KeptEvent>, StoreError> {
        self.scan_as(layout::KEPT_EVENT.as_bytes())
    }

    /// Every job (running and finished), in name order. Reads the whole history: the views
    /// use [`ChainStore::visit_jobs_newest`] and [`ChainStore::active_jobs`] instead.
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

    /// Jobs newest first (by [`job_instant`], then name), from those whose instant is before
    /// `until` (all when `None`), through the `jt/` index, reading `page` index entries at a
    /// time: `visit` is called with each record until it returns `false`, so a caller that
    /// wants 50 reads about 50 records whatever the size of the history.
    pub fn visit_jobs_newest(
        &self,
        until: Option<Millis>,
        page: usize,
        visit: &mut dyn FnMut(JobRecord) -> bool,
    ) -> Result<(), StoreError> {
        let page_size = page.clamp(1, PAGE);
        let prefix = layout::JOB_BY_TIME.as_bytes();
        let mut from = match until {
            Some(0) => return Ok(()),
            Some(u) => layout::job_by_time_from(u - 1),
            None => prefix.to_vec(),
        };
        loop {
            let page = self.kv.scan_from(prefix, &from, page_size)?;
            let Some((last, _)) = page.last() else {
                return Ok(());
            };
            from = after(last);
            for (k, _) in &page {
                let Some((instant, job)) = layout::split_time_key(layout::JOB_BY_TIME, k) else {
                    continue;
                };
                // An entry left by an earlier run of the name is not this record's.
                let Some(r) = self.job(&job)?.filter(|r| job_instant(r) == instant) else {
                    continue;
                };
                if !visit(r) {
                    return Ok(());
                }
            }
            if page.len() < page_size {
                return Ok(());
            }
        }
    }

    /// The unfinished jobs (ENQUEUED, RUNNING, CHAIN_STALLED), through the `jact/` index, in
    /// name order.
    pub fn active_jobs(&self) -> Result<Vec<JobRecord>, StoreError> {
        let mut out = Vec::new();
        for (k, _) in self.kv.scan_prefix(layout::ACTIVE.as_bytes())? {
            let Some(job) = layout::name_after(layout::ACTIVE, &k) else {
                continue;
            };
            if let Some(r) = self.job(&job)? {
                if !r.state.is_finished() {
                    out.push(r);
                }
            }
        }
        Ok(out)
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
                Some(v) => Some(decode_job_header(&header_key, &v)?),
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
        records.variables = self.variables(job)?;
        Ok(records)
    }

    /// The variables steps of the job set (`jv/`), by name; also for an ended job.
    pub fn variables(&self, job: &str) -> Result<BTreeMap<String, Variable>, StoreError> {
        let prefix = layout::job_prefix(layout::VARIABLE, job);
        let mut out = BTreeMap::new();
        for (k, v) in self.kv.scan_prefix(&prefix)? {
            let name = String::from_utf8(k[prefix.len()..].to_vec()).map_err(|_| bad_key(&k))?;
            out.insert(name, decode(&k, &v)?);
        }
        Ok(out)
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
    /// order, progress, timeline, timers, process groups, and the previous record's `jt/` and
    /// `jend/` index entries (not the job record, which the new run overwrites, not log rows).
    pub fn job_keys_of_run(&self, job: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut keys = vec![layout::order_key(job)];
        if let Some(old) = self.job(job)? {
            keys.push(layout::job_by_time_key(job_instant(&old), job));
            if let Some(end) = old.ended_at {
                keys.push(layout::ended_key(end, job));
            }
        }
        for tag in layout::PER_JOB_PREFIXES {
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

    /// Job-log rows with `log_id < before` (all when `None`), newest first, at most `limit`.
    pub fn log_back(&self, before: Option<u64>, limit: usize) -> Result<Vec<LogRow>, StoreError> {
        let before = before.map(layout::log_key);
        self.kv
            .scan_back(layout::LOG.as_bytes(), before.as_deref(), limit)?
            .into_iter()
            .map(|(k, v)| decode(&k, &v))
            .collect()
    }

    /// The log rows `jlog/` entries point to, page after page from `next_page` until `limit`
    /// rows are found or the entries run out. A missing row, or one of another job, is
    /// skipped (never the case when the index is kept as `StateBatch` keeps it).
    fn rows_of(
        &self,
        job: &str,
        limit: usize,
        next_page: &mut dyn FnMut(usize) -> Result<Vec<crate::store::Pair>, StoreError>,
    ) -> Result<Vec<LogRow>, StoreError> {
        let mut out = Vec::new();
        while out.len() < limit {
            let want = (limit - out.len()).min(PAGE);
            let page = next_page(want)?;
            let n = page.len();
            for (k, _) in page {
                let Some(id) = layout::trailing_u64(&k) else {
                    continue;
                };
                if let Some(row) = self.log_row(id)? {
                    if row.job == job {
                        out.push(row);
                    }
                }
            }
            if n < want {
                break;
            }
        }
        Ok(out)
    }

    /// One job's log rows with `log_id >= from_id`, at most `limit`, in log-id order (`jlog/`).
    pub fn job_log_from(
        &self,
        job: &str,
        from_id: u64,
        limit: usize,
    ) -> Result<Vec<LogRow>, StoreError> {
        let prefix = layout::job_prefix(layout::JOB_LOG, job);
        let mut from = layout::job_log_key(job, from_id);
        self.rows_of(job, limit, &mut |want| {
            let page = self.kv.scan_from(&prefix, &from, want)?;
            if let Some((last, _)) = page.last() {
                from = after(last);
            }
            Ok(page)
        })
    }

    /// One job's log rows with `log_id < before` (all when `None`), newest first, at most
    /// `limit` (`jlog/`).
    pub fn job_log_back(
        &self,
        job: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<LogRow>, StoreError> {
        let prefix = layout::job_prefix(layout::JOB_LOG, job);
        let mut before = before.map(|id| layout::job_log_key(job, id));
        self.rows_of(job, limit, &mut |want| {
            let page = self.kv.scan_back(&prefix, before.as_deref(), want)?;
            if let Some((oldest, _)) = page.last() {
                before = Some(oldest.clone());
            }
            Ok(page)
        })
    }

    /// Every job-log row of one job (every run of that name still kept), in log-id order.
    pub fn job_log(&self, job: &str) -> Result<Vec<LogRow>, StoreError> {
        self.job_log_from(job, 0, usize::MAX)
    }

    /// The id of the newest log row of one job (`jlog/`).
    pub fn last_log_id_of(&self, job: &str) -> Result<Option<u64>, StoreError> {
        let prefix = layout::job_prefix(layout::JOB_LOG, job);
        Ok(self
            .kv
            .scan_back(&prefix, None, 1)?
            .first()
            .and_then(|(k, _)| layout::trailing_u64(k)))
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

    /// The next free log id: after the newest row, and never below what retention recorded
    /// when it removed the newest rows (`meta/next_log_id`), so an id is never given out twice.
    pub fn next_log_id(&self) -> Result<u64, StoreError> {
        let after_rows = self.kv.next_id(layout::LOG.as_bytes())?;
        let kept: Option<u64> = self.get_as(layout::NEXT_LOG_ID_KEY)?;
        Ok(after_rows.max(kept.unwrap_or(0)))
    }

    pub fn next_timeline_seq(&self, job: &str) -> Result<u64, StoreError> {
        self.kv.next_id(&layout::job_prefix(layout::TIMELINE, job))
    }
}

/// The writes of one state change, applied atomically by [`ChainStore::apply`].
#[derive(Debug, Default)]
pub struct StateBatch {
    inner: WriteBatch,
}

impl StateBatch {
    /// Fence the batch with the leases its writes depend on (engines sharing a database).
    pub fn set_fence(&mut self, fence: crate::store::Fence) {
        self.inner.fence = Some(fence);
    }

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
    pub fn put_chain_edit(&mut self, edit: &super::chain_edits::ChainEdit) {
        self.put(layout::chain_edit_key(&edit.base.name), edit);
    }
    pub fn delete_chain_edit(&mut self, chain: &str) {
        self.delete_raw(layout::chain_edit_key(chain));
    }
    /// The job record, with its index entries: `jt/` always, `jend/` once it has ended,
    /// `jact/` while it has not.
    pub fn put_job(&mut self, record: &JobRecord) {
        self.put(
            layout::job_key(&record.job),
            &JobEntry {
                record: record.clone(),
            },
        );
        self.index_job(record);
    }
    fn index_job(&mut self, record: &JobRecord) {
        let job = &record.job;
        self.inner.put(
            layout::job_by_time_key(job_instant(record), job),
            Vec::new(),
        );
        match (record.state.is_finished(), record.ended_at) {
            (true, end) => {
                if let Some(end) = end {
                    self.inner.put(layout::ended_key(end, job), Vec::new());
                }
                self.inner.delete(layout::active_key(job));
            }
            (false, _) => self.inner.put(layout::active_key(job), Vec::new()),
        }
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
        self.put_variables(job, &changes.variables);
    }

    /// Variables a step set (`jv/`): written with the step's outcome, also when it ended the
    /// job (they outlive the job's core records).
    pub fn put_variables(&mut self, job: &str, variables: &[(String, Variable)]) {
        for (name, v) in variables {
            self.put(layout::variable_key(job, name), v);
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
    /// An event kept for a step that starts waiting later (`core::events`).
    pub fn put_kept_event(&mut self, event: &crate::core::KeptEvent) {
        self.put(layout::kept_event_key(event.id), event);
    }
    pub fn delete_kept_event(&mut self, id: u64) {
        self.inner.delete(layout::kept_event_key(id));
    }
    pub fn delete_timer(&mut self, job: &str, timer: &TimerKey) {
        self.inner
            .delete(layout::timer_key(job, &timer_json(timer)));
    }
    /// Record the next free log id (retention, when it removes log rows).
    pub fn put_next_log_id(&mut self, next: u64) {
        self.put(layout::NEXT_LOG_ID_KEY.to_vec(), &next);
    }
    /// Put a sealed value under a key built elsewhere (`store::outbox`).
    pub(crate) fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.inner.put(key, value);
    }
    /// Delete keys found by a scan (e.g. every timer of a job that ended).
    pub fn delete_raw(&mut self, key: Vec<u8>) {
        self.inner.delete(key);
    }
    /// The log row, with its `jlog/` index entry.
    pub fn put_log(&mut self, row: &LogRow) {
        self.put(layout::log_key(row.log_id), row);
        self.index_log(row);
    }
    fn index_log(&mut self, row: &LogRow) {
        self.inner
            .put(layout::job_log_key(&row.job, row.log_id), Vec::new());
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

/// A `jh/` record: the current format, else format 1 (written before run numbers), which is
/// read as run 1 (see `core::JobHeaderRecordV1`).
pub fn decode_job_header(
    key: &[u8],
    bytes: &[u8],
) -> Result<crate::core::JobHeaderRecord, StoreError> {
    match decode_compact::<crate::core::JobHeaderRecord>(key, bytes) {
        Ok(h) => Ok(h),
        Err(e) => match decode_compact::<crate::core::JobHeaderRecordV1>(key, bytes) {
            Ok(v1) if v1.format == 1 => Ok(v1.into()),
            _ => Err(e),
        },
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

#[cfg(test)]
mod index_tests {
    //! The indexes (`jt/`, `jend/`, `jact/`, `jlog/`) and the paged reads over them, on both
    //! implementations.
    use super::*;
    use crate::core::types::JobState;
    use crate::store::test_fixtures::{backends, ended_job, job, row};

    fn names_newest(store: &ChainStore, until: Option<Millis>, limit: usize) -> Vec<String> {
        let mut out = Vec::new();
        store
            .visit_jobs_newest(until, 2, &mut |r| {
                out.push(r.job);
                out.len() < limit
            })
            .unwrap();
        out
    }

    #[test]
    fn jobs_are_listed_newest_first_then_by_name_and_stop_at_the_limit() {
        for (name, store, _dir) in backends() {
            let mut b = StateBatch::default();
            b.put_job(&job("OLD", JobState::Succeeded, 1_000, Some(2_000)));
            b.put_job(&job("B", JobState::Running, 5_000, None));
            b.put_job(&job("A", JobState::Failed, 5_000, Some(6_000)));
            let mut queued = job("Q", JobState::Enqueued, 9_000, None);
            queued.enqueued_at = Some(3_000);
            b.put_job(&queued);
            store.apply(b).unwrap();
            assert_eq!(
                names_newest(&store, None, usize::MAX),
                vec!["A", "B", "Q", "OLD"],
                "{name}: by ENQUEUED_AT else STARTED_AT, newest first, then name"
            );
            assert_eq!(names_newest(&store, None, 2), vec!["A", "B"], "{name}");
            assert_eq!(
                names_newest(&store, Some(5_000), usize::MAX),
                vec!["Q", "OLD"],
                "{name}: until is exclusive"
            );
            assert!(names_newest(&store, Some(0), 5).is_empty(), "{name}");
        }
    }

    #[test]
    fn active_and_ended_indexes_follow_the_job_state() {
        for (name, store, _dir) in backends() {
            let mut b = StateBatch::default();
            b.put_job(&job("J", JobState::Running, 1_000, None));
            b.put_job(&job("K", JobState::ChainStalled, 1_000, None));
            store.apply(b).unwrap();
            let active: Vec<String> = store
                .active_jobs()
                .unwrap()
                .into_iter()
                .map(|r| r.job)
                .collect();
            assert_eq!(active, vec!["J", "K"], "{name}");
            assert!(store
                .kv()
                .scan_prefix(layout::ENDED.as_bytes())
                .unwrap()
                .is_empty());

            let mut b = StateBatch::default();
            b.put_job(&job("J", JobState::Succeeded, 1_000, Some(4_000)));
            store.apply(b).unwrap();
            let active: Vec<String> = store
                .active_jobs()
                .unwrap()
                .into_iter()
                .map(|r| r.job)
                .collect();
            assert_eq!(active, vec!["K"], "{name}: an ended job leaves jact/");
            let ended = store.kv().scan_prefix(layout::ENDED.as_bytes()).unwrap();
            assert_eq!(ended.len(), 1, "{name}");
            assert_eq!(
                layout::split_time_key(layout::ENDED, &ended[0].0),
                Some((4_000, "J".to_string()))
            );
        }
    }

    #[test]
    fn a_reused_name_is_listed_once_at_its_new_instant() {
        for (name, store, _dir) in backends() {
            let mut b = StateBatch::default();
            b.put_job(&job("J", JobState::Succeeded, 1_000, Some(2_000)));
            b.put_job(&job("OTHER", JobState::Succeeded, 1_500, Some(2_000)));
            store.apply(b).unwrap();
            // A new run of J, the way the runtime starts it: the old run's keys go first.
            let mut b = StateBatch::default();
            for k in store.job_keys_of_run("J").unwrap() {
                b.delete_raw(k);
            }
            b.put_job(&job("J", JobState::Running, 7_000, None));
            store.apply(b).unwrap();
            assert_eq!(names_newest(&store, None, 10), vec!["J", "OTHER"], "{name}");
            assert_eq!(
                store
                    .kv()
                    .scan_prefix(layout::JOB_BY_TIME.as_bytes())
                    .unwrap()
                    .len(),
                2,
                "{name}: the old run's jt/ entry is gone"
            );
            assert_eq!(
                store
                    .kv()
                    .scan_prefix(layout::ENDED.as_bytes())
                    .unwrap()
                    .len(),
                1,
                "{name}: only OTHER has ended"
            );
            // An entry that no longer matches its record (never written by StateBatch, but
            // reads must not trust it) is skipped.
            let mut b = StateBatch::default();
            b.inner
                .put(layout::job_by_time_key(9_000, "OTHER"), Vec::new());
            store.apply(b).unwrap();
            assert_eq!(names_newest(&store, None, 10), vec!["J", "OTHER"], "{name}");
        }
    }

    #[test]
    fn log_pages_backwards_and_per_job() {
        for (name, store, _dir) in backends() {
            let mut b = StateBatch::default();
            for id in 1..=700u64 {
                b.put_log(&row(id, if id % 3 == 0 { "T" } else { "O" }, id * 10));
            }
            store.apply(b).unwrap();
            let ids = |rows: Vec<LogRow>| rows.into_iter().map(|r| r.log_id).collect::<Vec<_>>();
            assert_eq!(
                ids(store.log_back(None, 3).unwrap()),
                vec![700, 699, 698],
                "{name}"
            );
            assert_eq!(
                ids(store.log_back(Some(3), 5).unwrap()),
                vec![2, 1],
                "{name}"
            );
            assert_eq!(
                ids(store.job_log_back("T", None, 2).unwrap()),
                vec![699, 696]
            );
            assert_eq!(
                ids(store.job_log_back("T", Some(9), 5).unwrap()),
                vec![6, 3]
            );
            assert_eq!(ids(store.job_log_from("T", 4, 2).unwrap()), vec![6, 9]);
            let all = store.job_log("T").unwrap();
            assert_eq!(all.len(), 233, "{name}: more than one index page");
            assert!(all.windows(2).all(|w| w[0].log_id < w[1].log_id));
            assert!(all.iter().all(|r| r.job == "T"));
            assert_eq!(store.last_log_id_of("T").unwrap(), Some(699));
            assert_eq!(store.last_log_id_of("NONE").unwrap(), None);
        }
    }

    #[test]
    fn next_log_id_never_goes_back_when_the_newest_rows_are_removed() {
        for (name, store, _dir) in backends() {
            let mut b = StateBatch::default();
            b.put_log(&row(1, "J", 10));
            b.put_log(&row(2, "J", 20));
            store.apply(b).unwrap();
            assert_eq!(store.next_log_id().unwrap(), 3, "{name}");
            let mut b = StateBatch::default();
            b.put_next_log_id(store.next_log_id().unwrap());
            b.delete_raw(layout::log_key(2));
            store.apply(b).unwrap();
            assert_eq!(store.next_log_id().unwrap(), 3, "{name}");
        }
    }

    #[test]
    fn the_indexes_of_an_older_store_are_built_when_it_is_opened() {
        let dir = tempfile::tempdir().unwrap();
        {
            // Records written without their index entries, as an older build wrote them.
            let kv = SledStore::open(dir.path(), &SledOptions::default()).unwrap();
            let mut b = WriteBatch::default();
            b.put(FORMAT_KEY.to_vec(), FORMAT_VERSION.as_bytes().to_vec());
            for i in 0..300u64 {
                let name = format!("J{i:03}");
                let record = job(&name, JobState::Succeeded, i, Some(i + 1));
                b.put(layout::job_key(&name), encode(&JobEntry { record }));
                b.put(layout::log_key(i + 1), encode(&row(i + 1, &name, i + 1)));
            }
            b.put(
                layout::job_key("LIVE"),
                encode(&JobEntry {
                    record: job("LIVE", JobState::Running, 1_000, None),
                }),
            );
            kv.commit(b).unwrap();
        }
        let store = ChainStore::open_sled(dir.path(), &SledOptions::default()).unwrap();
        assert_eq!(
            store.kv().get(layout::INDEX_KEY).unwrap().as_deref(),
            Some(layout::INDEX_VERSION.as_bytes())
        );
        let mut newest = Vec::new();
        store
            .visit_jobs_newest(None, PAGE, &mut |r| {
                newest.push(r.job);
                newest.len() < 3
            })
            .unwrap();
        assert_eq!(newest, vec!["LIVE", "J299", "J298"]);
        assert_eq!(
            store
                .kv()
                .scan_prefix(layout::ENDED.as_bytes())
                .unwrap()
                .len(),
            300
        );
        assert_eq!(store.active_jobs().unwrap().len(), 1);
        assert_eq!(store.job_log("J007").unwrap().len(), 1);
    }

    #[test]
    fn an_ended_job_fixture_has_every_kind_of_record() {
        // Guards the retention tests: the fixture must cover the per-job prefixes.
        let store = ChainStore::in_memory();
        let mut b = StateBatch::default();
        ended_job(&mut b, "J", 1, 2, 1, 2);
        store.apply(b).unwrap();
        for tag in [
            layout::STEP,
            layout::PROGRESS,
            layout::TIMELINE,
            layout::JOB_LOG,
        ] {
            assert!(
                !store
                    .kv()
                    .scan_prefix(&layout::job_prefix(tag, "J"))
                    .unwrap()
                    .is_empty(),
                "{tag}"
            );
        }
    }
}

#[cfg(test)]
mod header_format_tests {
    //! `jh/` records written before run numbers (format 1) still read back, as run 1.
    use super::*;
    use crate::core::types::{JobState, StartRequest};
    use crate::core::{JobHeaderRecord, JobHeaderRecordV1};
    use crate::store::test_fixtures::job;

    fn v1() -> JobHeaderRecordV1 {
        JobHeaderRecordV1 {
            format: 1,
            record: job("OLD", JobState::Running, 1_000, None),
            request: StartRequest::default(),
            defs_version: 3,
            first_eval_only: None,
            pending_presets: Default::default(),
            queue_seq: 7,
            max_run_duration: None,
            over_duration: false,
            instances: 2,
        }
    }

    #[test]
    fn a_format_1_header_reads_as_run_1_and_the_current_one_round_trips() {
        let key = layout::job_header_key("OLD");
        let old = decode_job_header(&key, &encode_compact(&v1())).unwrap();
        assert_eq!(old.format, JobHeaderRecord::FORMAT);
        assert_eq!((old.run, old.instances, old.queue_seq), (1, 2, 7));
        let mut now: JobHeaderRecord = v1().into();
        now.run = 4;
        let back = decode_job_header(&key, &encode_compact(&now)).unwrap();
        assert_eq!(back, now);
        // Damage is still damage.
        let mut bad = encode_compact(&now);
        bad.truncate(bad.len() - 3);
        assert!(decode_job_header(&key, &bad).is_err());
    }
}
