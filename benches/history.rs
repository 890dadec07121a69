//! Retention and history reads (`cargo bench --bench history`): results go to
//! docs/benchmarks.md, "Retention and history reads".
//!
//! * the views an operator opens most — `jobs?limit=50` and `log?limit=50` (the same
//!   `views::query` calls the HTTP handlers make, plus the JSON encoding) — on a sled store
//!   holding 1,000, 10,000 and 100,000 ended jobs: they must not grow with the history. The full
//!   scan of every job record (`ChainStore::jobs`, what the jobs view read before the `jt/`
//!   index) is timed alongside for scale;
//! * a background purge of the 100,000 jobs through a running engine, and meanwhile the latency
//!   of starting a job (answered once its start is durable) and of running a one-step job end
//!   to end, against the same measured with no purge running.
//!
//! The history is written through the library (one `StateBatch` per 500 jobs, each job as the
//! runtime leaves it: record, 2 steps, order, 2 timeline rows, 3 log rows with run details).

use chainsched::catalog::load_sources;
use chainsched::core::types::{
    JobRecord, JobState, LogRow, RunOperation, StartRequest, StepRecord, StepState, TimelineEntry,
    TimelineKind,
};
use chainsched::runtime::{Engine, EngineOptions, Retention};
use chainsched::store::sled_store::SledOptions;
use chainsched::store::{ChainStore, RunDetails, StateBatch};
use chainsched::views::store_source::StoreViews;
use chainsched::views::{query, JobFilter, LogFilter};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const DAY: u64 = 86_400_000;

struct Sizes {
    steps: Vec<usize>,
    reps: usize,
    /// Pause after writing, before timing reads (sled's background flush settles).
    settle: Duration,
    /// How long the probe runs with no purge, for the baseline.
    baseline: Duration,
}

/// The full run under `cargo bench` (which passes `--bench`); a small smoke run when the binary
/// is run by `cargo test --all-targets`.
fn sizes() -> Sizes {
    if std::env::args().any(|a| a == "--bench") {
        Sizes {
            steps: vec![1_000, 10_000, 100_000],
            reps: 200,
            settle: Duration::from_secs(5),
            baseline: Duration::from_secs(3),
        }
    } else {
        Sizes {
            steps: vec![100, 1_000],
            reps: 3,
            settle: Duration::from_millis(10),
            baseline: Duration::from_millis(200),
        }
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn step(sub: &str, at: u64) -> StepRecord {
    StepRecord {
        subname: sub.into(),
        parent_subname: None,
        chain: "ETL".into(),
        step: sub.into(),
        state: StepState::Succeeded,
        error_code: Some(0),
        attempts: 1,
        started_at: Some(at),
        ended_at: Some(at + 100),
        skip: false,
        pause: false,
        pause_before: false,
        restart_on_recovery: false,
        restart_on_failure: false,
        log_id: None,
    }
}

/// Jobs `from..to`, ended 31 days ago and later, one millisecond apart; log ids follow.
fn write_jobs(store: &ChainStore, from: usize, to: usize, base: u64) {
    let mut b = StateBatch::default();
    for i in from..to {
        let name = format!("NIGHTLY_{i:06}");
        let started = base + i as u64 * 10;
        let ended = started + 5;
        let mut record = JobRecord {
            job: name.clone(),
            chain: "ETL".into(),
            state: JobState::Running,
            error_code: None,
            parameters: BTreeMap::from([("RUN_DATE".to_string(), "2024-03-01".to_string())]),
            started_at: started,
            ended_at: None,
            stall_reason: None,
            group: None,
            serialize_key: None,
            enqueued_at: None,
            requested_by: Some("SCHEDULER".into()),
        };
        b.put_job(&record);
        record.state = JobState::Succeeded;
        record.error_code = Some(0);
        record.ended_at = Some(ended);
        b.put_job(&record);
        let subs = ["EXTRACT".to_string(), "LOAD".to_string()];
        for s in &subs {
            b.put_step(&name, &step(s, started));
        }
        b.put_order(&name, &subs);
        for seq in 1..=2u64 {
            b.put_timeline(
                seq,
                &TimelineEntry {
                    time: started,
                    job: name.clone(),
                    subname: None,
                    kind: TimelineKind::RuleFired,
                    detail: "R1: START EXTRACT".into(),
                    started_by: None,
                },
            );
        }
        for k in 0..3u64 {
            let log_id = i as u64 * 3 + k + 1;
            let sub = subs.get(k as usize).cloned();
            b.put_log(&LogRow {
                log_id,
                time: ended,
                job: name.clone(),
                subname: sub.clone(),
                chain: "ETL".into(),
                step: sub.clone(),
                operation: RunOperation::Run,
                status: StepState::Succeeded,
                error_code: 0,
                started_at: Some(started),
                additional_info: None,
                run: 1,
            });
            b.put_run_details(&RunDetails {
                log_id,
                job: name.clone(),
                subname: sub,
                status: StepState::Succeeded,
                error_code: 0,
                req_start: Some(started),
                actual_start: Some(started),
                run_duration: Some(5),
                pid: Some(4242),
                output: "rows loaded: 1000\n".into(),
                errors: String::new(),
                variables: Vec::new(),
            });
        }
        if (i + 1) % 500 == 0 {
            store.apply(std::mem::take(&mut b)).expect("write");
        }
    }
    store.apply(b).expect("write");
    store.flush().expect("flush");
}

/// Median and max of `reps` runs of `f`, in milliseconds.
fn time(reps: usize, mut f: impl FnMut()) -> (f64, f64) {
    let mut all: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    all.sort_by(|a, b| a.total_cmp(b));
    (all[all.len() / 2], all[all.len() - 1])
}

fn reads(store: &ChainStore, jobs: usize, reps: usize) {
    let views = StoreViews::new(store.clone(), None);
    let now = now();
    let jobs_filter = JobFilter {
        limit: Some(50),
        ..Default::default()
    };
    let log_filter = LogFilter {
        limit: Some(50),
        ..Default::default()
    };
    let (jobs_p50, jobs_max) = time(reps, || {
        let rows = query::jobs(&views, &jobs_filter, now).expect("jobs");
        assert_eq!(rows.len(), 50);
        std::hint::black_box(serde_json::to_vec(&rows).expect("json"));
    });
    let (log_p50, log_max) = time(reps, || {
        let rows = query::job_log(&views, &log_filter).expect("log");
        assert_eq!(rows.len(), 50);
        std::hint::black_box(serde_json::to_vec(&rows).expect("json"));
    });
    let one = format!("NIGHTLY_{:06}", jobs / 2);
    let job_log_filter = LogFilter {
        job: Some(one),
        limit: Some(50),
        ..Default::default()
    };
    let (job_log_p50, _) = time(reps, || {
        let rows = query::job_log(&views, &job_log_filter).expect("log");
        assert_eq!(rows.len(), 3);
    });
    // The same 50 keys read raw from sled, without decoding: what one key costs at this size.
    let (raw_p50, _) = time(reps, || {
        let keys = store.kv().scan_back(b"log/", None, 50).expect("log");
        assert_eq!(keys.len(), 50);
    });
    let (scan_p50, _) = time(reps.min(5), || {
        assert_eq!(store.jobs().expect("jobs").len(), jobs);
    });
    println!(
        "| {jobs} | {jobs_p50:.2} ms (max {jobs_max:.2}) | {log_p50:.2} ms (max {log_max:.2}) | \
         {job_log_p50:.3} ms | {raw_p50:.3} ms | {scan_p50:.1} ms |"
    );
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Start a one-step job every 20 ms until `stop`; the start latency (durable) and the
/// start-to-end latency of each, in ms.
async fn probe(engine: Engine, stop: tokio::sync::watch::Receiver<bool>) -> (Vec<f64>, Vec<f64>) {
    let mut starts = Vec::new();
    let mut runs = Vec::new();
    while !*stop.borrow() {
        let t = Instant::now();
        let job = engine
            .start(StartRequest {
                chain: "QUICK".into(),
                ..StartRequest::default()
            })
            .await
            .expect("start");
        starts.push(t.elapsed().as_secs_f64() * 1000.0);
        engine.wait(&job).await.expect("wait");
        runs.push(t.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    starts.sort_by(|a, b| a.total_cmp(b));
    runs.sort_by(|a, b| a.total_cmp(b));
    (starts, runs)
}

fn report(what: &str, starts: &[f64], runs: &[f64]) {
    println!(
        "| {what} | {} | {:.2} / {:.2} / {:.2} ms | {:.2} / {:.2} / {:.2} ms |",
        starts.len(),
        percentile(starts, 0.5),
        percentile(starts, 0.99),
        percentile(starts, 1.0),
        percentile(runs, 0.5),
        percentile(runs, 0.99),
        percentile(runs, 1.0),
    );
}

async fn purge_while_running(store: ChainStore, jobs: usize, rest_for: Duration) {
    let catalog = load_sources(&[(
        "q.chain".into(),
        "program OK { builtin noop; }
         chain QUICK { step A program OK; rule when TRUE then START A; rule when A COMPLETED then END; }"
            .into(),
    )])
    .catalog
    .expect("catalog");
    let engine = Engine::open_with_store(
        store.clone(),
        EngineOptions {
            catalog: Some(catalog),
            ..EngineOptions::default()
        },
    )
    .await
    .expect("engine");

    // Baseline: the same probe with no purge.
    let (tx, rx) = tokio::sync::watch::channel(false);
    let baseline = tokio::spawn(probe(engine.clone(), rx));
    tokio::time::sleep(rest_for).await;
    let _ = tx.send(true);
    let (b_starts, b_runs) = baseline.await.expect("probe");

    let (tx, rx) = tokio::sync::watch::channel(false);
    let during = tokio::spawn(probe(engine.clone(), rx));
    let t = Instant::now();
    let stats = engine
        .purge(&Retention::new(
            Some(Duration::from_secs(30 * 86_400)),
            None,
        ))
        .await
        .expect("purge");
    let took = t.elapsed();
    let _ = tx.send(true);
    let (d_starts, d_runs) = during.await.expect("probe");
    assert_eq!(stats.jobs, jobs, "every seeded job is older than 30 days");

    println!();
    println!(
        "purge of {} ended jobs ({} log rows, {} keys) through the running engine: {:.1} s, \
         {:.0} jobs/s",
        stats.jobs,
        stats.log_rows,
        stats.keys,
        took.as_secs_f64(),
        stats.jobs as f64 / took.as_secs_f64()
    );
    println!();
    println!("| probe | jobs | start p50 / p99 / max | start→end p50 / p99 / max |");
    println!("|---|---|---|---|");
    report("no purge", &b_starts, &b_runs);
    report("during the purge", &d_starts, &d_runs);
    engine.shutdown().await;
}

fn main() {
    let sizes = sizes();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut sled = SledOptions::default();
    if let Some(mb) = std::env::var("HISTORY_CACHE_MB")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        sled.cache_capacity = mb * 1024 * 1024;
    }
    let store = ChainStore::open_sled(dir.path(), &sled).expect("store");
    let base = now() - 60 * DAY;
    println!(
        "| ended jobs | jobs?limit=50 p50 | log?limit=50 p50 | log?job=J&limit=50 p50 | \
         raw sled read of the 50 newest log keys | full scan of job/ (reference) |"
    );
    println!("|---|---|---|---|---|---|");
    let mut have = 0;
    for &n in &sizes.steps {
        let t = Instant::now();
        write_jobs(&store, have, n, base);
        eprintln!(
            "wrote {} jobs in {:.1} s",
            n - have,
            t.elapsed().as_secs_f64()
        );
        have = n;
        // Let sled's background flusher settle after the bulk write before timing reads.
        std::thread::sleep(sizes.settle);
        reads(&store, n, sizes.reps);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(purge_while_running(store, have, sizes.baseline));
}
