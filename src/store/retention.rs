//! Retention: which ended jobs to remove, everything that belongs to each of them, and the
//! check that makes removing them safe while an engine runs.
//!
//! Why this shape. A store with 100,000 ended jobs must be purged without reading its whole
//! history in one go and without holding the engine for the duration, so the work is cut in
//! three:
//!
//! * [`horizon`] decides, from the `jend/` index alone (ended jobs by end time), where this
//!   pass stops: every ended job whose `jend/` key sorts below the stop key goes, i.e. jobs that
//!   ended before `now - max_age`, and jobs beyond the `keep_jobs` most recently ended;
//! * [`next_chunk`] walks `jend/` from the oldest entry and gathers, job by job, every key that
//!   belongs to the job (its record and index entries, steps, order, progress, timeline,
//!   timers, process groups, and its log rows with their run details through `jlog/`) until a
//!   chunk holds about [`CHUNK_KEYS`] keys. This is the expensive part and it runs outside the
//!   engine;
//! * [`still_purgeable`] is the safety check, made right before a job's deletes are applied: the
//!   stored record must still be the very ended run that was gathered (same record, same newest
//!   log row). A job name can be reused by a new run at any moment (a scheduled job runs under
//!   its definition's name each time); the runtime makes this check inside its actor's turn,
//!   where no start can interleave, and puts the deletes in that turn's batch
//!   (`runtime::retention`); the offline `chainsched purge` makes it directly (the store's lock
//!   excludes any engine).
//!
//! One job's deletes are always applied together, in one atomic batch, so a reader sees a job
//! either complete or gone. Log rows of earlier runs of a reused job name (the record of the
//! current run replaced theirs) are found by [`superseded_rows_chunk`] once they are older
//! than the horizon; no run can ever claim them again, so they need no check. [`apply_chunk`]
//! turns a chunk into deletes, for the runtime's actor and for the offline purge alike.

use super::chain_store::job_instant;
use super::layout;
use super::records::decode;
use super::{ChainStore, StateBatch, StoreError};
use crate::core::types::{JobRecord, LogRow};
use crate::lang::duration::Millis;
use std::collections::HashMap;

/// Aim for chunks of about this many deletes (a single job with more goes alone: its deletes
/// are never split).
pub const CHUNK_KEYS: usize = 500;

/// `jend/` entries read per page while gathering a chunk.
const SCAN_PAGE: usize = 64;

/// What to keep. `None` in a field: no limit of that kind. A job goes when it is older than
/// `max_age` OR beyond the `keep_jobs` most recently ended jobs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Keep ended jobs that ended less than this long ago (engine milliseconds).
    pub max_age: Option<Millis>,
    /// Keep at most this many ended jobs (the most recently ended).
    pub keep_jobs: Option<usize>,
}

impl RetentionPolicy {
    pub fn keeps_everything(&self) -> bool {
        self.max_age.is_none() && self.keep_jobs.is_none()
    }
}

/// Where one purge pass stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Horizon {
    /// Ended jobs whose `jend/` key is below this go.
    stop: Vec<u8>,
    /// Log rows of earlier runs (see [`superseded_rows_chunk`]) logged before this go.
    pub rows_before: Millis,
}

impl Horizon {
    /// The cursor a pass over `jend/` starts from.
    pub fn start(&self) -> Vec<u8> {
        layout::ENDED.as_bytes().to_vec()
    }
}

/// What a purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeStats {
    /// Ended jobs removed (with everything of theirs).
    pub jobs: usize,
    /// Job-log rows removed (of those jobs, and of earlier runs of reused names).
    pub log_rows: usize,
    /// Keys deleted in all (records and index entries).
    pub keys: usize,
}

impl PurgeStats {
    pub fn add(&mut self, other: PurgeStats) {
        self.jobs += other.jobs;
        self.log_rows += other.log_rows;
        self.keys += other.keys;
    }
    pub fn is_empty(&self) -> bool {
        self.keys == 0
    }
}

/// One ended job to remove, as it was when its keys were gathered.
#[derive(Debug, Clone, PartialEq)]
pub struct PurgeJob {
    pub record: JobRecord,
    /// The job's newest log row then (a later run of the name would have a newer one).
    pub last_log_id: Option<u64>,
    /// Every key of the job: record, index entries, per-job records, log rows, run details.
    pub keys: Vec<Vec<u8>>,
    pub log_rows: usize,
}

impl PurgeJob {
    pub fn stats(&self) -> PurgeStats {
        PurgeStats {
            jobs: 1,
            log_rows: self.log_rows,
            keys: self.keys.len(),
        }
    }
}

/// Where a pass with `policy` at engine time `now` stops; `None` when nothing is to go.
pub fn horizon(
    store: &ChainStore,
    now: Millis,
    policy: &RetentionPolicy,
) -> Result<Option<Horizon>, StoreError> {
    let ended = layout::ENDED.as_bytes();
    let mut best: Option<Horizon> = None;
    let mut consider = |stop: Vec<u8>, rows_before: Millis| {
        if best.as_ref().is_none_or(|b| stop > b.stop) {
            best = Some(Horizon { stop, rows_before });
        }
    };
    if let Some(age) = policy.max_age {
        let cutoff = now.saturating_sub(age);
        consider(layout::ended_from(cutoff), cutoff);
    }
    match policy.keep_jobs {
        Some(0) => consider(
            layout::prefix_end(ended).unwrap_or_else(|| ended.to_vec()),
            now,
        ),
        Some(n) => {
            // The n-th most recently ended job is the oldest one kept: everything below goes.
            let newest = store.kv().scan_back(ended, None, n)?;
            if newest.len() == n {
                if let Some((key, _)) = newest.last() {
                    let at = layout::split_time_key(layout::ENDED, key).map_or(0, |(t, _)| t);
                    consider(key.clone(), at);
                }
            }
        }
        None => {}
    }
    Ok(best)
}

/// Every key of one ended job (see [`PurgeJob::keys`]).
pub fn gather(store: &ChainStore, record: JobRecord) -> Result<PurgeJob, StoreError> {
    let job = record.job.as_str();
    let kv = store.kv();
    let mut keys: Vec<Vec<u8>> = layout::PER_JOB_KEYS
        .iter()
        .map(|tag| {
            let mut k = tag.as_bytes().to_vec();
            k.extend_from_slice(job.as_bytes());
            k
        })
        .collect();
    keys.push(layout::job_by_time_key(job_instant(&record), job));
    if let Some(end) = record.ended_at {
        keys.push(layout::ended_key(end, job));
    }
    for tag in layout::PER_JOB_PREFIXES {
        keys.extend(
            kv.scan_prefix(&layout::job_prefix(tag, job))?
                .into_iter()
                .map(|(k, _)| k),
        );
    }
    let mut last_log_id = None;
    let mut log_rows = 0;
    for (k, _) in kv.scan_prefix(&layout::job_prefix(layout::JOB_LOG, job))? {
        if let Some(id) = layout::trailing_u64(&k) {
            keys.push(layout::log_key(id));
            keys.push(layout::run_key(id));
            last_log_id = Some(id);
            log_rows += 1;
        }
        keys.push(k);
    }
    Ok(PurgeJob {
        record,
        last_log_id,
        keys,
        log_rows,
    })
}

/// The next ended jobs to remove, oldest end first, starting at `cursor` (begin with
/// [`Horizon::start`]; it is moved past what was read). Stops at about [`CHUNK_KEYS`] keys;
/// an empty result means the pass is done.
pub fn next_chunk(
    store: &ChainStore,
    horizon: &Horizon,
    cursor: &mut Vec<u8>,
) -> Result<Vec<PurgeJob>, StoreError> {
    let ended = layout::ENDED.as_bytes();
    let mut chunk: Vec<PurgeJob> = Vec::new();
    let mut keys = 0;
    loop {
        let page = store.kv().scan_from(ended, cursor, SCAN_PAGE)?;
        let full = page.len() == SCAN_PAGE;
        for (k, _) in page {
            if k >= horizon.stop {
                *cursor = horizon.stop.clone();
                return Ok(chunk);
            }
            let mut next = k.clone();
            next.push(0);
            *cursor = next;
            let Some((ended_at, job)) = layout::split_time_key(layout::ENDED, &k) else {
                continue;
            };
            // Only the ended run this entry was written for (a stale entry is skipped).
            let Some(record) = store.job(&job)? else {
                continue;
            };
            if !record.state.is_finished() || record.ended_at != Some(ended_at) {
                continue;
            }
            let gathered = gather(store, record)?;
            keys += gathered.keys.len();
            chunk.push(gathered);
            if keys >= CHUNK_KEYS {
                return Ok(chunk);
            }
        }
        if !full {
            *cursor = horizon.stop.clone();
            return Ok(chunk);
        }
    }
}

/// Whether `job` is still the ended run that was gathered: the stored record is the same and
/// no newer log row of the name exists. The caller must make sure no engine can start a run
/// of the name between this check and applying the deletes (the runtime checks inside its
/// actor; the offline purge holds the store's lock).
pub fn still_purgeable(store: &ChainStore, job: &PurgeJob) -> Result<bool, StoreError> {
    let name = &job.record.job;
    Ok(store.job(name)?.as_ref() == Some(&job.record)
        && store.last_log_id_of(name)? == job.last_log_id)
}

/// A piece of purge work: ended jobs (each checked before it goes) and log rows of earlier
/// runs (no check needed: no run can claim them again).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PurgeChunk {
    pub jobs: Vec<PurgeJob>,
    /// Log rows of earlier runs of reused job names: (log id, job).
    pub rows: Vec<(u64, String)>,
}

impl PurgeChunk {
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty() && self.rows.is_empty()
    }
}

/// Log rows of earlier runs of a job name — rows whose job has no record any more, or whose
/// job's current run started after them — logged before `horizon.rows_before`, from `cursor`
/// (a `log/` key; begin with `log/`), at most `max_rows` rows read. Returns them and whether the
/// pass reached the horizon.
pub fn superseded_rows_chunk(
    store: &ChainStore,
    horizon: &Horizon,
    cursor: &mut Vec<u8>,
    max_rows: usize,
) -> Result<(Vec<(u64, String)>, bool), StoreError> {
    let prefix = layout::LOG.as_bytes();
    let page = store.kv().scan_from(prefix, cursor, max_rows)?;
    let full = page.len() == max_rows;
    let mut rows = Vec::new();
    // The current run's start of each job seen in this chunk (None: no record).
    let mut runs: HashMap<String, Option<Millis>> = HashMap::new();
    for (k, v) in page {
        let row: LogRow = decode(&k, &v)?;
        if row.time >= horizon.rows_before {
            // Log ids grow with time: every later row is newer.
            return Ok((rows, true));
        }
        let mut next = k.clone();
        next.push(0);
        *cursor = next;
        let started = match runs.get(&row.job) {
            Some(s) => *s,
            None => {
                let s = store.job(&row.job)?.map(|r| r.started_at);
                runs.insert(row.job.clone(), s);
                s
            }
        };
        if started.is_some_and(|s| row.time >= s) {
            continue;
        }
        rows.push((row.log_id, row.job));
    }
    Ok((rows, !full))
}

/// Put the deletes of `chunk` into `batch`: each job only if `running` says no run of its name
/// is in progress and [`still_purgeable`] holds; `removed` is told of each job that goes. When
/// log rows go, the next free log id is kept (`meta/next_log_id`) so that ids are never given
/// out twice, also when the newest rows were removed.
pub fn apply_chunk(
    store: &ChainStore,
    chunk: PurgeChunk,
    batch: &mut StateBatch,
    running: &dyn Fn(&str) -> bool,
    removed: &mut dyn FnMut(&JobRecord),
) -> Result<PurgeStats, StoreError> {
    // Every read first, so that an error leaves `batch` as it was. The next free log id is
    // read before these deletes apply, so it is past every id being removed.
    let next_log_id = store.next_log_id()?;
    let mut going = Vec::with_capacity(chunk.jobs.len());
    for job in chunk.jobs {
        if !running(&job.record.job) && still_purgeable(store, &job)? {
            going.push(job);
        }
    }
    let mut stats = PurgeStats::default();
    for job in going {
        removed(&job.record);
        stats.add(job.stats());
        for k in job.keys {
            batch.delete_raw(k);
        }
    }
    for (id, job) in chunk.rows {
        batch.delete_raw(layout::log_key(id));
        batch.delete_raw(layout::run_key(id));
        batch.delete_raw(layout::job_log_key(&job, id));
        stats.log_rows += 1;
        stats.keys += 3;
    }
    if stats.log_rows > 0 {
        batch.put_next_log_id(next_log_id);
    }
    Ok(stats)
}

/// A whole purge on a store no engine has open (`chainsched purge`): chunk by chunk, each
/// checked ([`apply_chunk`]) and applied as one batch, then flushed. `removed` is called with
/// each removed job (`dry_run`: each job that would be removed, and nothing is deleted).
pub fn purge_offline(
    store: &ChainStore,
    now: Millis,
    policy: &RetentionPolicy,
    dry_run: bool,
    removed: &mut dyn FnMut(&JobRecord),
) -> Result<PurgeStats, StoreError> {
    let mut stats = PurgeStats::default();
    let Some(h) = horizon(store, now, policy)? else {
        return Ok(stats);
    };
    let mut cursor = h.start();
    loop {
        let jobs = next_chunk(store, &h, &mut cursor)?;
        if jobs.is_empty() {
            break;
        }
        let chunk = PurgeChunk {
            jobs,
            rows: Vec::new(),
        };
        stats.add(apply(store, chunk, dry_run, removed)?);
    }
    let mut cursor = layout::LOG.as_bytes().to_vec();
    loop {
        let (rows, done) = superseded_rows_chunk(store, &h, &mut cursor, CHUNK_KEYS / 3)?;
        let chunk = PurgeChunk {
            jobs: Vec::new(),
            rows,
        };
        stats.add(apply(store, chunk, dry_run, removed)?);
        if done {
            break;
        }
    }
    store.flush()?;
    Ok(stats)
}

fn apply(
    store: &ChainStore,
    chunk: PurgeChunk,
    dry_run: bool,
    removed: &mut dyn FnMut(&JobRecord),
) -> Result<PurgeStats, StoreError> {
    let mut batch = StateBatch::default();
    let stats = apply_chunk(store, chunk, &mut batch, &|_| false, removed)?;
    if !dry_run {
        store.apply(batch)?;
    }
    Ok(stats)
}
