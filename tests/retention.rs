//! Retention driven as an operator would: `chainsched purge` on a stopped store, `run
//! --keep-jobs`, `serve --keep-history` purging in the background while jobs run, and a job
//! restarted under the name of a job being purged. Old history is written through the library
//! (a store with jobs that ended weeks ago cannot be produced by waiting); everything else goes
//! through the binary and is checked in the views.

mod server_support;

use chainsched::core::types::{
    JobRecord, JobState, LogRow, RunOperation, StepRecord, StepState, TimelineEntry, TimelineKind,
};
use chainsched::store::sled_store::SledOptions;
use chainsched::store::{
    layout, ChainStore, KvStore, MemoryStore, Pair, StateBatch, StoreError, WriteBatch,
};
use serde_json::{json, Value};
use server_support::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

const DAY: u64 = 86_400_000;

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn record(name: &str, chain: &str, state: JobState, started: u64, ended: Option<u64>) -> JobRecord {
    JobRecord {
        job: name.into(),
        chain: chain.into(),
        state,
        error_code: state.is_finished().then_some(0),
        parameters: BTreeMap::new(),
        started_at: started,
        ended_at: ended,
        stall_reason: None,
        group: None,
        serialize_key: None,
        enqueued_at: None,
        requested_by: None,
    }
}

fn step(sub: &str, at: u64) -> StepRecord {
    StepRecord {
        subname: sub.into(),
        parent_subname: None,
        chain: "DEMO".into(),
        step: sub.into(),
        state: StepState::Succeeded,
        error_code: Some(0),
        attempts: 1,
        started_at: Some(at),
        ended_at: Some(at),
        skip: false,
        pause: false,
        pause_before: false,
        restart_on_recovery: false,
        restart_on_failure: false,
        log_id: None,
    }
}

/// Write `jobs` ended jobs of chain DEMO into the store at `db`, the way the runtime writes
/// them (record, step, order, timeline, one log row each), ending at `ended(i)`. A running job
/// can be added with `running`.
fn seed(db: &Path, names: &[(&str, u64)], running: Option<(&str, u64)>) {
    let store = ChainStore::open_sled(db, &SledOptions::default()).unwrap();
    let first_id = store.next_log_id().unwrap();
    let mut b = StateBatch::default();
    for (next_id, (name, ended)) in (first_id..).zip(names) {
        let started = ended - 1_000;
        b.put_job(&record(name, "DEMO", JobState::Running, started, None));
        b.put_job(&record(
            name,
            "DEMO",
            JobState::Succeeded,
            started,
            Some(*ended),
        ));
        b.put_step(name, &step("A", started));
        b.put_order(name, &["A".to_string()]);
        b.put_timeline(
            1,
            &TimelineEntry {
                time: started,
                job: name.to_string(),
                subname: None,
                kind: TimelineKind::JobStarted,
                detail: "chain DEMO".into(),
                started_by: None,
            },
        );
        b.put_log(&LogRow {
            log_id: next_id,
            time: *ended,
            job: name.to_string(),
            subname: None,
            chain: "DEMO".into(),
            step: None,
            operation: RunOperation::Run,
            status: StepState::Succeeded,
            error_code: 0,
            started_at: Some(started),
            additional_info: None,
            run: 1,
        });
        if b.len() > 2_000 {
            store.apply(std::mem::take(&mut b)).unwrap();
        }
    }
    if let Some((name, started)) = running {
        b.put_job(&record(name, "SLOW", JobState::Running, started, None));
    }
    store.apply(b).unwrap();
    store.flush().unwrap();
}

fn cli(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .env_remove("CHAINSCHED_SERVER")
        .env_remove("CHAINSCHED_TOKEN")
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn job_names(db: &Path) -> Vec<String> {
    let out = cli(&["jobs", "--db", db.to_str().unwrap(), "--format", "json"]);
    let rows: Value = serde_json::from_str(&ok(&out)).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["job_name"].as_str().unwrap().to_string())
        .collect()
}

fn log_jobs(db: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["log", "--db", db.to_str().unwrap(), "--format", "json"];
    args.extend_from_slice(extra);
    let rows: Value = serde_json::from_str(&ok(&cli(&args))).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| r["job_name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn purge_older_than_removes_old_ended_jobs_and_keeps_recent_and_unfinished_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = write_rules(tmp.path(), RULES);
    let db = tmp.path().join("db");
    let dbs = db.to_str().unwrap();
    // A recent job, run for real.
    ok(&cli(&[
        "run",
        rules.to_str().unwrap(),
        "--db",
        dbs,
        "--chain",
        "DEMO",
        "--job",
        "RECENT",
    ]));
    // Two jobs that ended weeks ago, and one unfinished job that started even earlier (its
    // engine stopped; `resume` would carry it on): it is never purged.
    let t = now();
    seed(
        &db,
        &[("OLD_1", t - 40 * DAY), ("OLD_2", t - 35 * DAY)],
        Some(("UNFINISHED", t - 50 * DAY)),
    );
    let mut before = job_names(&db);
    before.sort();
    assert_eq!(before, vec!["OLD_1", "OLD_2", "RECENT", "UNFINISHED"]);

    // A dry run shows what would go and removes nothing.
    let dry = ok(&cli(&[
        "purge",
        "--db",
        dbs,
        "--older-than",
        "30d",
        "--dry-run",
    ]));
    assert!(dry.contains("would remove job OLD_1"), "{dry}");
    assert!(dry.contains("nothing was removed"), "{dry}");
    assert_eq!(job_names(&db).len(), 4);

    let out = ok(&cli(&["purge", "--db", dbs, "--older-than", "30d"]));
    assert!(
        out.contains("removed job OLD_1 (chain DEMO, SUCCEEDED, ended "),
        "{out}"
    );
    assert!(out.contains("removed job OLD_2"), "{out}");
    assert!(
        !out.contains("RECENT") && !out.contains("UNFINISHED"),
        "{out}"
    );
    assert!(
        out.contains("purged 2 ended job(s) (ended more than 30d ago) with 2 job-log row(s)"),
        "{out}"
    );
    let mut after = job_names(&db);
    after.sort();
    assert_eq!(after, vec!["RECENT", "UNFINISHED"]);
    assert!(log_jobs(&db, &["--job", "OLD_1"]).is_empty());
    assert!(log_jobs(&db, &[]).iter().all(|j| j == "RECENT"));
    let steps = cli(&["steps", "OLD_1", "--db", dbs]);
    assert_eq!(
        steps.status.code(),
        Some(1),
        "OLD_1 is gone from every view"
    );

    // JSON output, and nothing more to do.
    let out = ok(&cli(&[
        "purge",
        "--db",
        dbs,
        "--older-than",
        "30d",
        "--format",
        "json",
    ]));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["removed_jobs"], 0);
    assert_eq!(v["jobs"], json!([]));
}

#[test]
fn purge_refuses_bad_usage_and_a_store_a_service_holds() {
    let tmp = tempfile::tempdir().unwrap();
    let dbs = tmp.path().join("db");
    let dbs = dbs.to_str().unwrap();
    let out = cli(&["purge", "--db", dbs]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "--older-than or --keep-jobs is needed"
    );
    let out = cli(&["purge", "--db", dbs, "--older-than", "30 days"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not a duration") && err.contains("30d"),
        "{err}"
    );
    let out = cli(&["purge", "--db", dbs, "--older-than", "30d"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no store at"));

    let server = Server::start(RULES);
    let out = cli(&[
        "purge",
        "--db",
        server.db.to_str().unwrap(),
        "--older-than",
        "1d",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("in use by process")
            && err.contains("chainsched serve")
            && err.contains("serve --keep-history"),
        "{err}"
    );
}

#[test]
fn run_with_keep_jobs_keeps_only_the_newest_ended_jobs() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = write_rules(tmp.path(), RULES);
    let db = tmp.path().join("db");
    for name in ["J1", "J2", "J3", "J4"] {
        ok(&cli(&[
            "run",
            rules.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--chain",
            "DEMO",
            "--job",
            name,
            "--keep-jobs",
            "2",
        ]));
    }
    assert_eq!(job_names(&db), vec!["J4", "J3"]);
    let mut logged = log_jobs(&db, &[]);
    logged.dedup();
    assert_eq!(
        logged,
        vec!["J3", "J4"],
        "the log rows of J1 and J2 went with them"
    );
    let out = cli(&["timeline", "J1", "--db", db.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
}

fn get_jobs(server: &Server) -> Vec<Value> {
    let (status, v) = server.get("/api/v1/jobs?limit=50");
    assert_eq!(status, 200, "{v}");
    v.as_array().unwrap().clone()
}

#[test]
fn serve_purges_in_the_background_while_jobs_keep_running() {
    let server = Server::start_with(RULES, &["--keep-history", "2s"], Some(TOKEN));
    let slow = server.start_job(json!({"chain": "SLOW", "job": "KEEPS_RUNNING"}));
    let quick: Vec<String> = (0..3)
        .map(|i| server.start_job(json!({"chain": "DEMO", "job": format!("QUICK_{i}")})))
        .collect();
    for q in &quick {
        server.wait_state(q, &["SUCCEEDED"]);
    }
    let ended_rows = |server: &Server| {
        let (_, log) = server.get("/api/v1/log?limit=50");
        log.as_array()
            .unwrap()
            .iter()
            .filter(|r| {
                r["job_name"]
                    .as_str()
                    .is_some_and(|j| j.starts_with("QUICK_"))
            })
            .count()
    };
    assert!(ended_rows(&server) > 0);
    // The ended jobs disappear about 2 s after they ended; the running one stays.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let names: Vec<String> = get_jobs(&server)
            .iter()
            .map(|r| r["job_name"].as_str().unwrap().to_string())
            .collect();
        if names == vec![slow.clone()] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the ended jobs were never purged: {names:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(ended_rows(&server), 0, "their log rows went with them");
    let (status, _) = server.get("/api/v1/jobs/QUICK_0/timeline");
    assert_eq!(status, 404);
    let (_, running) = server.get("/api/v1/running_chains");
    assert!(
        running
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["job_name"] == slow.as_str()),
        "{running}"
    );
    // The engine keeps taking work.
    let again = server.start_job(json!({"chain": "DEMO", "job": "AFTER"}));
    server.wait_state(&again, &["SUCCEEDED"]);
    let (status, row) = server.get(&format!("/api/v1/jobs/{slow}"));
    assert_eq!((status, row["state"].as_str()), (200, Some("RUNNING")));
}

#[test]
fn a_job_restarted_under_the_name_of_a_job_being_purged_keeps_its_records() {
    // 3 000 jobs that ended weeks ago, among them three that will be started again while the
    // service purges them at open: the oldest (purged first), one in the middle, the newest.
    let tmp = tempfile::tempdir().unwrap();
    let rules = write_rules(tmp.path(), RULES);
    let db = tmp.path().join("db");
    let t = now() - 40 * DAY;
    let names: Vec<String> = (0..3_000).map(|i| format!("OLD_{i:04}")).collect();
    let seeded: Vec<(&str, u64)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), t + i as u64 * 1_000))
        .collect();
    seed(&db, &seeded, None);
    let reused = ["OLD_0000", "OLD_1500", "OLD_2999"];
    let server = Server::spawn(tmp, rules, db, &["--keep-history", "30d"], Some(TOKEN));
    for name in reused {
        server.start_job(json!({"chain": "DEMO", "job": name, "replace": true}));
    }
    for name in reused {
        server.wait_state(name, &["SUCCEEDED"]);
    }
    // The pass at open reports what it removed when it ends (info log line on stderr).
    let deadline = Instant::now() + Duration::from_secs(120);
    while !server
        .stderr
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .contains("retention: removed")
    {
        assert!(Instant::now() < deadline, "the purge never finished");
        std::thread::sleep(Duration::from_millis(200));
    }
    let (_, all) = server.get("/api/v1/jobs");
    let left: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["job_name"].as_str())
        .collect();
    assert_eq!(
        left,
        vec!["OLD_2999", "OLD_1500", "OLD_0000"],
        "only the new runs are left"
    );
    for name in reused {
        let (status, row) = server.get(&format!("/api/v1/jobs/{name}"));
        assert_eq!(status, 200, "{name}: {row}");
        assert_eq!(row["chain_name"], "DEMO");
        assert_eq!(row["state"], "SUCCEEDED");
        let (_, steps) = server.get(&format!("/api/v1/jobs/{name}/steps?history=true"));
        let subs: Vec<&str> = steps
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["step_job_subname"].as_str())
            .collect();
        assert_eq!(subs, vec!["A", "B", "C"], "{name}: the new run's steps");
        let (_, tl) = server.get(&format!("/api/v1/jobs/{name}/timeline"));
        assert!(!tl.as_array().unwrap().is_empty(), "{name}: timeline");
        let (_, log) = server.get(&format!("/api/v1/log?job={name}"));
        let rows = log.as_array().unwrap();
        assert_eq!(
            rows.len(),
            4,
            "{name}: three steps and the chain job: {log}"
        );
        assert!(rows.iter().all(|r| r["job_name"] == name));
    }
}

/// A memory store that stops the first reader of one key prefix until the test lets it go:
/// it holds a purge between gathering a job's keys and handing them to the engine.
struct Gate {
    inner: MemoryStore,
    prefix: Vec<u8>,
    armed: std::sync::Mutex<Option<(std::sync::mpsc::Sender<()>, std::sync::mpsc::Receiver<()>)>>,
}

impl KvStore for Gate {
    fn apply(&self, batch: WriteBatch) -> Result<(), StoreError> {
        self.inner.apply(batch)
    }
    fn flush(&self) -> Result<(), StoreError> {
        self.inner.flush()
    }
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key)
    }
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<Pair>, StoreError> {
        if prefix == self.prefix.as_slice() {
            let gate = self.armed.lock().unwrap().take();
            if let Some((reached, release)) = gate {
                reached.send(()).unwrap();
                release.recv().unwrap();
            }
        }
        self.inner.scan_prefix(prefix)
    }
    fn scan_from(&self, prefix: &[u8], from: &[u8], limit: usize) -> Result<Vec<Pair>, StoreError> {
        self.inner.scan_from(prefix, from, limit)
    }
    fn last_with_prefix(&self, prefix: &[u8]) -> Result<Option<Pair>, StoreError> {
        self.inner.last_with_prefix(prefix)
    }
    fn scan_back(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Pair>, StoreError> {
        self.inner.scan_back(prefix, before, limit)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_restarted_between_gathering_and_deleting_are_left_alone_by_the_engine() {
    use chainsched::core::types::StartRequest;
    use chainsched::runtime::{Engine, EngineOptions, Retention};
    let catalog = chainsched::catalog::load_sources(&[(
        "t.chain".into(),
        "program OK { builtin noop; }
         program NAP { builtin sleep 30s; }
         chain QUICK { step A program OK; rule when TRUE then START A; rule when A COMPLETED then END; }
         chain SLOW { step A program NAP; rule when TRUE then START A; rule when A COMPLETED then END; }"
            .into(),
    )])
    .catalog
    .expect("catalog");
    // Three jobs that ended weeks ago, gathered in one chunk in this order.
    let (release_tx, release_rx) = std::sync::mpsc::channel();
    let (reached_tx, reached_rx) = std::sync::mpsc::channel();
    let gate = Arc::new(Gate {
        inner: MemoryStore::default(),
        // The last read of gathering SLOW_AGAIN: by then the whole chunk is gathered.
        prefix: layout::job_prefix(layout::JOB_LOG, "SLOW_AGAIN"),
        armed: std::sync::Mutex::new(Some((reached_tx, release_rx))),
    });
    let store = ChainStore::from_kv(gate, "gate").unwrap();
    let t = now() - 40 * DAY;
    let mut b = StateBatch::default();
    for (i, name) in ["PLAIN", "QUICK_AGAIN", "SLOW_AGAIN"].iter().enumerate() {
        b.put_job(&record(
            name,
            "QUICK",
            JobState::Succeeded,
            t,
            Some(t + i as u64),
        ));
        b.put_log(&LogRow {
            log_id: i as u64 + 1,
            time: t + i as u64,
            job: name.to_string(),
            subname: None,
            chain: "QUICK".into(),
            step: None,
            operation: RunOperation::Run,
            status: StepState::Succeeded,
            error_code: 0,
            started_at: Some(t),
            additional_info: None,
            run: 1,
        });
    }
    store.apply(b).unwrap();
    let engine = Engine::open_with_store(
        store.clone(),
        EngineOptions {
            catalog: Some(catalog),
            ..EngineOptions::default()
        },
    )
    .await
    .unwrap();
    let purging = {
        let engine = engine.clone();
        tokio::spawn(async move {
            engine
                .purge(&Retention::new(
                    Some(Duration::from_secs(30 * 86_400)),
                    None,
                ))
                .await
        })
    };
    tokio::task::spawn_blocking(move || reached_rx.recv().unwrap())
        .await
        .unwrap();
    // The chunk is gathered and not yet applied: start both names again. QUICK_AGAIN ends
    // (the engine forgets it; only the store tells its new run apart), SLOW_AGAIN runs on.
    let start = |job: &str, chain: &str| StartRequest {
        job: Some(job.into()),
        chain: chain.into(),
        ..StartRequest::default()
    };
    engine.start(start("QUICK_AGAIN", "QUICK")).await.unwrap();
    engine.start(start("SLOW_AGAIN", "SLOW")).await.unwrap();
    let quick = engine.wait("QUICK_AGAIN").await.unwrap();
    assert_eq!(quick.state, JobState::Succeeded);
    release_tx.send(()).unwrap();
    let stats = purging.await.unwrap().unwrap();
    assert_eq!(stats.jobs, 1, "PLAIN only: {stats:?}");
    assert!(store.job("PLAIN").unwrap().is_none());
    let q = store
        .job("QUICK_AGAIN")
        .unwrap()
        .expect("the new run of QUICK_AGAIN");
    assert_eq!(q, quick);
    assert_eq!(store.steps("QUICK_AGAIN").unwrap().len(), 1);
    assert!(!store.timeline("QUICK_AGAIN").unwrap().is_empty());
    let rows: Vec<u64> = store
        .job_log("QUICK_AGAIN")
        .unwrap()
        .iter()
        .map(|r| r.log_id)
        .collect();
    assert_eq!(
        rows.len(),
        2,
        "the new run's step and chain rows (the old run's row went, older than 30 days): {rows:?}"
    );
    let s = store
        .job("SLOW_AGAIN")
        .unwrap()
        .expect("the new run of SLOW_AGAIN");
    assert_eq!(s.state, JobState::Running);
    assert_eq!(store.steps("SLOW_AGAIN").unwrap().len(), 1);
    engine.stop("SLOW_AGAIN", None).await.unwrap();
    engine.shutdown().await;
}
