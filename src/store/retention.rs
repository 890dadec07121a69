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
/// What a purge outside an engine must respect when engines share the database (they may
/// start a new run of an ended job's name while its keys are being deleted): each job is
/// claimed before it goes, and each chunk's batch is sealed (fenced with those claims, which it
/// releases). `runtime::cluster` implements it with job leases.
pub trait PurgeGuard {
    /// Whether the ended job may be removed now (claimed); `false` skips it.
    fn claim(&self, job: &str) -> bool;
    /// Seal a chunk's batch before it is applied.
    fn seal(&self, batch: &mut StateBatch);
}

pub fn purge_offline(
    store: &ChainStore,
    now: Millis,
    policy: &RetentionPolicy,
    dry_run: bool,
    removed: &mut dyn FnMut(&JobRecord),
) -> Result<PurgeStats, StoreError> {
    purge_offline_guarded(store, now, policy, dry_run, removed, None)
}

/// [`purge_offline`] beside engines sharing the database (see [`PurgeGuard`]).
pub fn purge_offline_guarded(
    store: &ChainStore,
    now: Millis,
    policy: &RetentionPolicy,
    dry_run: bool,
    removed: &mut dyn FnMut(&JobRecord),
    guard: Option<&dyn PurgeGuard>,
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
        stats.add(apply(store, chunk, dry_run, removed, guard)?);
    }
    let mut cursor = layout::LOG.as_bytes().to_vec();
    loop {
        let (rows, done) = superseded_rows_chunk(store, &h, &mut cursor, CHUNK_KEYS / 3)?;
        let chunk = PurgeChunk {
            jobs: Vec::new(),
            rows,
        };
        stats.add(apply(store, chunk, dry_run, removed, guard)?);
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
    guard: Option<&dyn PurgeGuard>,
) -> Result<PurgeStats, StoreError> {
    let mut batch = StateBatch::default();
    let skip = |job: &str| match guard {
        Some(g) if !dry_run => !g.claim(job),
        _ => false,
    };
    let stats = apply_chunk(store, chunk, &mut batch, &skip, removed)?;
    if !dry_run {
        if let Some(g) = guard {
            g.seal(&mut batch);
        }
        store.apply(batch)?;
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    //! Retention on both implementations: what goes, what stays, chunking, and the check.
    use super::*;
    use crate::core::types::JobState;
    use crate::store::test_fixtures::{backends, ended_job, job, keys_mentioning, row};

    fn policy(max_age: Option<Millis>, keep_jobs: Option<usize>) -> RetentionPolicy {
        RetentionPolicy { max_age, keep_jobs }
    }

    /// OLD_A ended at 2 000, OLD_B at 3 000, NEW_C at 9 000, NEW_D at 9 500; LIVE_E runs.
    fn history(store: &ChainStore) {
        let mut b = StateBatch::default();
        ended_job(&mut b, "OLD_A", 1_000, 2_000, 1, 3);
        ended_job(&mut b, "OLD_B", 1_500, 3_000, 4, 2);
        ended_job(&mut b, "NEW_C", 8_000, 9_000, 6, 2);
        ended_job(&mut b, "NEW_D", 8_500, 9_500, 8, 1);
        b.put_job(&job("LIVE_E", JobState::Running, 500, None));
        b.put_log(&row(9, "LIVE_E", 9_600));
        store.apply(b).unwrap();
    }

    fn purge(store: &ChainStore, now: Millis, p: RetentionPolicy) -> (PurgeStats, Vec<String>) {
        let mut removed = Vec::new();
        let stats =
            purge_offline(store, now, &p, false, &mut |r| removed.push(r.job.clone())).unwrap();
        (stats, removed)
    }

    #[test]
    fn older_than_removes_old_ended_jobs_and_everything_of_theirs() {
        for (name, store, _dir) in backends() {
            history(&store);
            let (stats, removed) = purge(&store, 10_000, policy(Some(5_000), None));
            assert_eq!(removed, vec!["OLD_A", "OLD_B"], "{name}");
            assert_eq!((stats.jobs, stats.log_rows), (2, 5), "{name}");
            for gone in ["OLD_A", "OLD_B"] {
                assert_eq!(
                    keys_mentioning(&store, gone),
                    Vec::<String>::new(),
                    "{name}"
                );
            }
            for kept in ["NEW_C", "NEW_D", "LIVE_E"] {
                assert!(store.job(kept).unwrap().is_some(), "{name}: {kept}");
            }
            assert_eq!(store.job_log("NEW_C").unwrap().len(), 2);
            assert_eq!(store.steps("NEW_C").unwrap().len(), 1);
            // Ids are never given out twice, even though rows 1-5 are gone.
            assert_eq!(store.next_log_id().unwrap(), 10, "{name}");
            // Done: a second pass finds nothing.
            assert_eq!(
                purge(&store, 10_000, policy(Some(5_000), None)).0,
                PurgeStats::default()
            );
        }
    }

    #[test]
    fn keep_jobs_keeps_the_most_recently_ended_and_or_combines_with_age() {
        for (name, store, _dir) in backends() {
            history(&store);
            let (_, removed) = purge(&store, 10_000, policy(None, Some(3)));
            assert_eq!(removed, vec!["OLD_A"], "{name}");
            // Both limits: a job goes when it is older OR beyond the count.
            let (_, removed) = purge(&store, 10_000, policy(Some(600), Some(3)));
            assert_eq!(
                removed,
                vec!["OLD_B", "NEW_C"],
                "{name}: NEW_D ended within 600 ms"
            );
            let (_, removed) = purge(&store, 10_000, policy(None, Some(0)));
            assert_eq!(removed, vec!["NEW_D"], "{name}");
            assert!(
                store.job("LIVE_E").unwrap().is_some(),
                "{name}: never a running job"
            );
            assert_eq!(store.job_log("LIVE_E").unwrap().len(), 1, "{name}");
        }
    }

    #[test]
    fn horizon_reads_only_the_ended_index() {
        for (name, store, _dir) in backends() {
            assert_eq!(horizon(&store, 10_000, &policy(None, None)).unwrap(), None);
            assert_eq!(
                horizon(&store, 10_000, &policy(None, Some(5))).unwrap(),
                None,
                "{name}: fewer than 5 ended"
            );
            history(&store);
            let h = horizon(&store, 10_000, &policy(Some(5_000), Some(1)))
                .unwrap()
                .unwrap();
            assert_eq!(
                h.stop,
                layout::ended_key(9_500, "NEW_D"),
                "{name}: the count is stricter"
            );
            assert_eq!(h.rows_before, 9_500);
            let h = horizon(&store, 10_000, &policy(Some(5_000), Some(4)))
                .unwrap()
                .unwrap();
            assert_eq!(
                h.stop,
                layout::ended_from(5_000),
                "{name}: the age is stricter"
            );
            assert_eq!(h.rows_before, 5_000);
        }
    }

    #[test]
    fn chunks_stay_small_and_never_split_a_job() {
        for (name, store, _dir) in backends() {
            let mut b = StateBatch::default();
            for i in 0..200u64 {
                ended_job(&mut b, &format!("J{i:03}"), i, i + 1, i * 2 + 1, 2);
            }
            // One big job: more keys than a chunk.
            ended_job(&mut b, "BIG", 300, 301, 1_000, 400);
            store.apply(b).unwrap();
            let h = horizon(&store, 10_000, &policy(Some(0), None))
                .unwrap()
                .unwrap();
            let mut cursor = h.start();
            let mut seen = 0;
            loop {
                let chunk = next_chunk(&store, &h, &mut cursor).unwrap();
                if chunk.is_empty() {
                    break;
                }
                let keys: usize = chunk.iter().map(|j| j.keys.len()).sum();
                let biggest = chunk.iter().map(|j| j.keys.len()).max().unwrap_or(0);
                assert!(
                    keys < CHUNK_KEYS + biggest,
                    "{name}: a chunk stops once it reaches {CHUNK_KEYS} keys ({keys})"
                );
                if chunk.iter().any(|j| j.record.job == "BIG") {
                    assert!(chunk.last().is_some_and(|j| j.record.job == "BIG"));
                    assert_eq!(chunk.last().map(|j| j.log_rows), Some(400));
                }
                seen += chunk.len();
            }
            assert_eq!(seen, 201, "{name}");
        }
    }

    #[test]
    fn a_job_restarted_or_changed_after_it_was_gathered_keeps_its_records() {
        for (name, store, _dir) in backends() {
            history(&store);
            let h = horizon(&store, 10_000, &policy(Some(5_000), None))
                .unwrap()
                .unwrap();
            let mut cursor = h.start();
            let chunk = next_chunk(&store, &h, &mut cursor).unwrap();
            assert_eq!(chunk.len(), 2);
            // OLD_A starts again under the same name; OLD_B gets a late log row.
            let mut b = StateBatch::default();
            for k in store.job_keys_of_run("OLD_A").unwrap() {
                b.delete_raw(k);
            }
            b.put_job(&job("OLD_A", JobState::Running, 9_900, None));
            b.put_log(&row(20, "OLD_B", 9_900));
            store.apply(b).unwrap();
            assert!(!still_purgeable(&store, &chunk[0]).unwrap());
            assert!(!still_purgeable(&store, &chunk[1]).unwrap());
            let mut batch = StateBatch::default();
            let stats = apply_chunk(
                &store,
                PurgeChunk {
                    jobs: chunk,
                    rows: Vec::new(),
                },
                &mut batch,
                &|_| false,
                &mut |_| {},
            )
            .unwrap();
            assert_eq!(stats, PurgeStats::default(), "{name}");
            assert!(batch.is_empty(), "{name}");
            // A job the engine says is running is skipped whatever the store says.
            let h = horizon(&store, 10_000, &policy(None, Some(0)))
                .unwrap()
                .unwrap();
            let mut cursor = h.start();
            let chunk = next_chunk(&store, &h, &mut cursor).unwrap();
            let mut batch = StateBatch::default();
            let stats = apply_chunk(
                &store,
                PurgeChunk {
                    jobs: chunk,
                    rows: Vec::new(),
                },
                &mut batch,
                &|job| job == "NEW_C",
                &mut |_| {},
            )
            .unwrap();
            store.apply(batch).unwrap();
            // Gathered afresh, OLD_B (with its late row) and NEW_D go; NEW_C is skipped.
            assert_eq!(stats.jobs, 2, "{name}");
            assert!(store.job("OLD_B").unwrap().is_none(), "{name}");
            assert!(store.job("NEW_D").unwrap().is_none(), "{name}");
            assert!(store.job("NEW_C").unwrap().is_some(), "{name}");
            assert!(store.job("OLD_A").unwrap().is_some(), "{name}");
        }
    }

    #[test]
    fn rows_of_earlier_runs_of_a_reused_name_go_with_age() {
        for (name, store, _dir) in backends() {
            let mut b = StateBatch::default();
            // Run 1 of NIGHTLY logged rows 1-2; run 2 (current, running) started at 5 000.
            b.put_log(&row(1, "NIGHTLY", 1_000));
            b.put_log(&row(2, "NIGHTLY", 2_000));
            b.put_job(&job("NIGHTLY", JobState::Running, 5_000, None));
            b.put_log(&row(3, "NIGHTLY", 5_500));
            // A row whose job has no record at all.
            b.put_log(&row(4, "GONE", 7_000));
            store.apply(b).unwrap();
            let (stats, removed) = purge(&store, 10_000, policy(Some(4_000), None));
            assert!(removed.is_empty());
            assert_eq!(stats.log_rows, 2, "{name}: rows 1 and 2, older than 6 000");
            let ids: Vec<u64> = store
                .job_log("NIGHTLY")
                .unwrap()
                .iter()
                .map(|r| r.log_id)
                .collect();
            assert_eq!(ids, vec![3], "{name}");
            assert!(store.run_details(1).unwrap().is_none());
            let (stats, _) = purge(&store, 10_000, policy(None, Some(0)));
            assert_eq!(
                stats.log_rows, 1,
                "{name}: GONE's row; the current run's row stays"
            );
            assert!(store.log_row(3).unwrap().is_some());
            assert_eq!(store.next_log_id().unwrap(), 5, "{name}");
        }
    }

    #[test]
    fn a_dry_run_removes_nothing() {
        for (name, store, _dir) in backends() {
            history(&store);
            let mut removed = Vec::new();
            let stats = purge_offline(&store, 10_000, &policy(Some(5_000), None), true, &mut |r| {
                removed.push(r.job.clone())
            })
            .unwrap();
            assert_eq!((stats.jobs, removed.len()), (2, 2), "{name}");
            assert!(store.job("OLD_A").unwrap().is_some(), "{name}");
            assert_eq!(store.job_log("OLD_A").unwrap().len(), 3, "{name}");
        }
    }
}
