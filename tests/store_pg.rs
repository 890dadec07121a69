//! The PostgreSQL store against a real PostgreSQL (docs/scale-out.md).
//!
//! The server comes from `CHAINSCHED_TEST_PG` (a URL whose user may create databases, e.g.
//! `postgres://postgres@127.0.0.1:55432/postgres`; `.ci/run` starts a throwaway cluster and sets
//! it). Without it each test prints "skipped: CHAINSCHED_TEST_PG not set" and passes — unless
//! `CHAINSCHED_REQUIRE_PG` is set (as in CI), then it fails. Each test works in a database of
//! its own (created with a unique name, dropped at the end), so they run in parallel.

mod crash_support;
mod pg_support;

use chainsched::core::types::{JobState, StepState};
use chainsched::store::contract::check_contract;
use chainsched::store::pg_store::{PgAccess, PgOptions, PgStore, SCHEMA_VERSION};
use chainsched::store::{Access, ChainStore, Fence, KvStore, OpenOptions, StoreError, WriteBatch};
use crash_support::{chain_file, kill_at, marks};
use pg_support::{cli, sql, test_db, text, BIN};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

fn engine_store(url: &str) -> PgStore {
    PgStore::open(url, &PgOptions::default()).unwrap()
}

fn demo() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/demo.chain")
        .display()
        .to_string()
}

#[test]
fn postgres_store_meets_the_kv_contract() {
    let Some(db) = test_db("contract") else {
        return;
    };
    check_contract(&engine_store(&db.url));
}

/// The fence of engines sharing a database (docs/scale-out.md, "Fencing"): a batch is written
/// only while its engine holds every lease it names, at that epoch and unexpired; otherwise
/// nothing of it is, and the leases it would release stay.
#[test]
fn a_fenced_batch_writes_nothing_once_a_lease_is_lost() {
    let Some(db) = test_db("fence") else {
        return;
    };
    let store = engine_store(&db.url);
    sql(
        &db.url,
        "INSERT INTO chainsched_leases (job, owner, epoch, expires_at) VALUES \
         ('J1', 'me', 1, now() + interval '1 hour'), ('J2', 'me', 1, now() + interval '1 hour'), \
         ('OLD', 'me', 1, now() - interval '1 second')",
    );
    let batch = |key: &str, hold: &[(&str, i64)], release: &[&str]| {
        let mut b = WriteBatch::default();
        b.put(key.as_bytes().to_vec(), b"v".to_vec());
        b.fence = Some(Fence {
            owner: "me".into(),
            hold: hold.iter().map(|(j, e)| (j.to_string(), *e)).collect(),
            release: release.iter().map(|j| j.to_string()).collect(),
        });
        b
    };
    store
        .apply(batch("k1", &[("J1", 1), ("J2", 1)], &[]))
        .unwrap();
    assert_eq!(store.get(b"k1").unwrap(), Some(b"v".to_vec()));

    // Another engine took J2 over (the epoch moved): the whole batch is refused.
    sql(
        &db.url,
        "UPDATE chainsched_leases SET owner = 'other', epoch = 2 WHERE job = 'J2'",
    );
    let refused = store.apply(batch("k2", &[("J1", 1), ("J2", 1)], &["J1"]));
    match refused {
        Err(StoreError::LeaseLost(m)) => assert!(m.contains("J2") && !m.contains("J1"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        store.get(b"k2").unwrap(),
        None,
        "nothing of a refused batch is written"
    );
    // An expired lease fences too, even before anyone took it; an unknown job as well.
    for hold in [("OLD", 1), ("NEVER", 1), ("J1", 7)] {
        let r = store.apply(batch("k3", &[hold], &[]));
        assert!(
            matches!(r, Err(StoreError::LeaseLost(_))),
            "{hold:?}: {r:?}"
        );
        assert_eq!(store.get(b"k3").unwrap(), None);
    }
    // J1 is still held: a batch releasing it writes and gives the lease up.
    store.apply(batch("k4", &[("J1", 1)], &["J1"])).unwrap();
    assert_eq!(store.get(b"k4").unwrap(), Some(b"v".to_vec()));
    let again = store.apply(batch("k5", &[("J1", 1)], &[]));
    assert!(matches!(again, Err(StoreError::LeaseLost(_))), "{again:?}");
}

#[test]
fn a_batch_is_all_or_nothing_and_readers_never_see_half_of_one() {
    let Some(db) = test_db("atomic") else {
        return;
    };
    let store = engine_store(&db.url);
    let mut b = WriteBatch::default();
    b.put(b"k/kept".to_vec(), b"old".to_vec());
    store.commit(b).unwrap();

    // A batch the server refuses part-way (a trigger rejects one key) leaves nothing behind.
    sql(
        &db.url,
        "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
           IF NEW.key = '\\x706f69736f6e'::bytea THEN RAISE EXCEPTION 'poisoned key'; END IF; \
           RETURN NEW; END $$; \
         CREATE TRIGGER poison BEFORE INSERT OR UPDATE ON chainsched_kv \
           FOR EACH ROW EXECUTE FUNCTION refuse_poison();",
    );
    let mut b = WriteBatch::default();
    b.put(b"k/new".to_vec(), b"1".to_vec());
    b.delete(b"k/kept".to_vec());
    b.put(b"poison".to_vec(), b"x".to_vec());
    let err = store.commit(b).unwrap_err().to_string();
    assert!(err.contains("poisoned key"), "{err}");
    assert_eq!(store.get(b"k/new").unwrap(), None, "no write of the batch");
    assert_eq!(store.get(b"k/kept").unwrap(), Some(b"old".to_vec()));
    // A refused statement leaves the session (and its engine lock) usable.
    let mut b = WriteBatch::default();
    b.put(b"k/new".to_vec(), b"2".to_vec());
    store.commit(b).unwrap();
    assert_eq!(store.get(b"k/new").unwrap(), Some(b"2".to_vec()));

    // While batches that rewrite 40 keys with one value commit, a reader on its own
    // connection sees every key with the same value in each scan.
    let reader = PgStore::open(
        &db.url,
        &PgOptions {
            access: PgAccess::Read,
            ..PgOptions::default()
        },
    )
    .unwrap();
    let batch_of = |round: u32| {
        let mut b = WriteBatch::default();
        for i in 0..40u32 {
            b.put(
                format!("same/{i:02}").into_bytes(),
                round.to_be_bytes().to_vec(),
            );
        }
        b
    };
    store.commit(batch_of(0)).unwrap();
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            for round in 1..=150u32 {
                store.commit(batch_of(round)).unwrap();
            }
            done.store(true, Ordering::SeqCst);
        });
        // Scan until the writer is done (at least once, at most a bounded number of times).
        for _ in 0..100_000 {
            let pairs = reader.scan_prefix(b"same/").unwrap();
            assert_eq!(pairs.len(), 40);
            assert!(
                pairs.iter().all(|(_, v)| *v == pairs[0].1),
                "a scan saw half a batch"
            );
            if done.load(Ordering::SeqCst) {
                break;
            }
        }
    });
    let last = reader.scan_prefix(b"same/").unwrap();
    assert!(last
        .iter()
        .all(|(_, v)| *v == 150u32.to_be_bytes().to_vec()));
    // The reader cannot write.
    let mut b = WriteBatch::default();
    b.put(b"k/x".to_vec(), b"1".to_vec());
    let err = reader.commit(b).unwrap_err().to_string();
    assert!(err.contains("reading only"), "{err}");
}

#[test]
fn run_on_postgres_then_views_and_check_read_it() {
    let Some(db) = test_db("run") else {
        return;
    };
    // A reader on a database without a store is told so (and creates nothing).
    let jobs = cli(&["jobs", "--db", &db.url]);
    assert_eq!(jobs.status.code(), Some(1), "{}", text(&jobs));
    assert!(
        String::from_utf8_lossy(&jobs.stderr).contains("no chainsched store in this database"),
        "{}",
        text(&jobs)
    );

    let run = cli(&[
        "run",
        &demo(),
        "--chain",
        "DEMO",
        "--job",
        "D1",
        "--db",
        &db.url,
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    assert!(
        String::from_utf8_lossy(&run.stdout).contains("SUCCEEDED"),
        "{}",
        text(&run)
    );

    let jobs = cli(&["jobs", "--db", &db.url, "--format", "json"]);
    assert_eq!(jobs.status.code(), Some(0), "{}", text(&jobs));
    let rows: serde_json::Value = serde_json::from_slice(&jobs.stdout).unwrap();
    let rows = rows.as_array().expect("a JSON array of jobs");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["job_name"], "D1");
    assert_eq!(rows[0]["state"], "SUCCEEDED");

    // CHAINSCHED_DB supplies --db.
    let steps = Command::new(BIN)
        .args(["log"])
        .env("CHAINSCHED_DB", &db.url)
        .env_remove("CHAINSCHED_SERVER")
        .output()
        .unwrap();
    assert_eq!(steps.status.code(), Some(0), "{}", text(&steps));
    let out = String::from_utf8_lossy(&steps.stdout);
    for step in ["HELLO", "PREPARE", "COUNT", "SUMMARY"] {
        assert!(out.contains(step), "{out}");
    }

    let check = cli(&["store", "check", "--db", &db.url]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    let out = String::from_utf8_lossy(&check.stdout);
    assert!(out.contains("CLEAN"), "{out}");
    assert!(out.contains("chainsched-store-2"), "{out}");

    // Damage written behind chainsched's back is found by the check.
    sql(
        &db.url,
        "UPDATE chainsched_kv SET value = overlay(value PLACING '\\xff'::bytea FROM 8) \
         WHERE key = convert_to('job/D1', 'UTF8')",
    );
    let check = cli(&["store", "check", "--db", &db.url]);
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    assert!(
        String::from_utf8_lossy(&check.stdout).contains("damaged: job/D1"),
        "{}",
        text(&check)
    );
}

#[test]
fn a_run_killed_mid_chain_resumes_from_postgres() {
    let Some(db) = test_db("crash") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let rules = chain_file(dir, "with restart_on_recovery", "");
    // marks: start A, end A, start B|C, start C|B, … — kill while B and C run.
    let mut child = Command::new(BIN)
        .arg("run")
        .arg(&rules)
        .args(["--chain", "CR", "--job", "J", "--db", &db.url])
        .env_remove("CHAINSCHED_DB")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    kill_at(&mut child, dir, 4, Duration::from_millis(50));
    let before = marks(dir);
    assert!(before.len() >= 4, "{before:?}");

    // What was durable at the crash: A had SUCCEEDED; B and C, whose processes had started,
    // were durably RUNNING (durable before acted on).
    let at_crash = ChainStore::open(&db.url, &OpenOptions::new(Access::Read)).unwrap();
    let steps = at_crash.steps("J").unwrap();
    let state = |sub: &str| steps.iter().find(|s| s.subname == sub).map(|s| s.state);
    assert_eq!(state("A"), Some(StepState::Succeeded), "{steps:?}");
    for sub in ["B", "C"] {
        assert!(
            matches!(state(sub), Some(StepState::Running | StepState::Succeeded)),
            "{sub}: {steps:?}"
        );
    }
    drop(at_crash);

    let out = cli(&["resume", "--db", &db.url, "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let after = marks(dir);
    assert!(!after.iter().any(|l| l.starts_with("OVERLAP")), "{after:?}");
    assert_eq!(
        after.iter().filter(|l| *l == "start A").count(),
        1,
        "A had succeeded durably and never runs again: {after:?}"
    );
    for s in ["B", "C", "D"] {
        assert!(after.contains(&format!("end {s}")), "{s}: {after:?}");
    }
    let store = ChainStore::open(&db.url, &OpenOptions::new(Access::Read)).unwrap();
    let job = store.job("J").unwrap().unwrap();
    assert_eq!(job.state, JobState::Succeeded);
    let log = store.job_log("J").unwrap();
    for s in ["A", "B", "C", "D"] {
        let ok = log
            .iter()
            .filter(|r| r.subname.as_deref() == Some(s) && r.status == StepState::Succeeded)
            .count();
        assert_eq!(ok, 1, "SUCCEEDED rows of {s}: {log:?}");
    }
    assert!(
        store.unfinished_jobs().unwrap().is_empty(),
        "the job's core records are gone once it ended"
    );
}

#[test]
fn a_newer_schema_is_refused_by_engines_and_views() {
    let Some(db) = test_db("schema") else {
        return;
    };
    // An engine creates the schema (and stamps the store).
    drop(ChainStore::open(&db.url, &OpenOptions::new(Access::Engine)).unwrap());
    sql(
        &db.url,
        &format!(
            "UPDATE chainsched_schema SET version = {}",
            SCHEMA_VERSION + 7
        ),
    );
    let expected = format!(
        "schema version {}, but this chainsched knows versions up to {SCHEMA_VERSION}",
        SCHEMA_VERSION + 7
    );
    for args in [
        vec!["jobs", "--db", &db.url],
        vec!["resume", "--db", &db.url],
        vec!["run", &demo(), "--chain", "DEMO", "--db", &db.url],
    ] {
        let out = cli(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(&expected),
            "{args:?}: {}",
            text(&out)
        );
    }
    let check = cli(&["store", "check", "--db", &db.url]);
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    assert!(
        String::from_utf8_lossy(&check.stderr).contains(&expected),
        "{}",
        text(&check)
    );
}

#[test]
fn engines_share_the_database_and_a_running_job_name_is_taken_once() {
    let Some(db) = test_db("second") else {
        return;
    };
    // Two engines at once on one database: each owns the job it starts.
    let spawn = |job: &str| {
        Command::new(BIN)
            .args([
                "run",
                &demo(),
                "--chain",
                "DEMO",
                "--job",
                job,
                "--db",
                &db.url,
            ])
            .env_remove("CHAINSCHED_DB")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first = spawn("D1");
    let second = spawn("D2");
    // While D1 runs (its chain takes about a second), no engine may start another D1.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let jobs = cli(&["jobs", "--db", &db.url, "--format", "json"]);
        let rows: serde_json::Value = serde_json::from_slice(&jobs.stdout).unwrap_or_default();
        let running = rows.as_array().is_some_and(|r| {
            r.iter()
                .any(|j| j["job_name"] == "D1" && j["state"] == "RUNNING")
        });
        if running {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "D1 never ran: {rows}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let dup = cli(&[
        "run",
        &demo(),
        "--chain",
        "DEMO",
        "--job",
        "D1",
        "--db",
        &db.url,
    ]);
    assert_eq!(dup.status.code(), Some(1), "{}", text(&dup));
    assert!(
        String::from_utf8_lossy(&dup.stderr).contains("job D1 already exists"),
        "{}",
        text(&dup)
    );
    for child in [first, second] {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    let jobs = cli(&["jobs", "--db", &db.url, "--format", "json"]);
    let rows: serde_json::Value = serde_json::from_slice(&jobs.stdout).unwrap();
    for job in ["D1", "D2"] {
        let row = rows
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["job_name"] == job)
            .unwrap_or_else(|| panic!("{job}: {rows}"));
        assert_eq!(row["state"], "SUCCEEDED", "{rows}");
    }
    // Job-log ids are unique across the two engines.
    let log = cli(&["log", "--db", &db.url, "--format", "json"]);
    assert_eq!(log.status.code(), Some(0), "{}", text(&log));
    let log: serde_json::Value = serde_json::from_slice(&log.stdout).unwrap();
    let ids: Vec<i64> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["log_id"].as_i64().unwrap())
        .collect();
    let unique: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
    assert!(ids.len() >= 10, "{ids:?}");
    let check = cli(&["store", "check", "--db", &db.url]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    // Engines that ended have left the engines table.
    let engines = cli(&["engines", "--db", &db.url, "--format", "json"]);
    assert_eq!(engines.status.code(), Some(0), "{}", text(&engines));
    assert_eq!(String::from_utf8_lossy(&engines.stdout).trim(), "[]");
}

#[test]
fn an_unreachable_database_is_a_clear_error() {
    // No server needed: a port nothing listens on.
    let out = cli(&["jobs", "--db", "postgres://nobody:s3cret@127.0.0.1:1/none"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot open the store at postgres://nobody:***@127.0.0.1:1/none"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "the password is not shown: {err}");
    let out = cli(&["jobs", "--db", "mysql://h/d"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn serve_on_postgres_while_views_read_the_database_directly() {
    let Some(db) = test_db("serve") else {
        return;
    };
    let mut serve = Command::new(BIN)
        .args(["serve", "--rules", &demo(), "--db", &db.url])
        .args(["--listen", "127.0.0.1:0", "--insecure-no-auth"])
        .env_remove("CHAINSCHED_DB")
        .env_remove("CHAINSCHED_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = serve.stdout.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    let url = loop {
        let line = lines.next().expect("serve ended before listening").unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.trim().to_string();
        }
    };
    let started = cli(&["start", "DEMO", "--server", &url, "--job", "S1"]);
    assert_eq!(started.status.code(), Some(0), "{}", text(&started));

    // The view reads the database itself (no --server) while serve holds it.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let jobs = cli(&["jobs", "--db", &db.url, "--format", "json"]);
        assert_eq!(jobs.status.code(), Some(0), "{}", text(&jobs));
        let rows: serde_json::Value = serde_json::from_slice(&jobs.stdout).unwrap();
        if rows[0]["state"] == "SUCCEEDED" {
            assert_eq!(rows[0]["job_name"], "S1");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{rows}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // serve is an engine; the engines view shows it, and another engine runs beside it.
    let engines = cli(&["engines", "--db", &db.url, "--format", "json"]);
    assert_eq!(engines.status.code(), Some(0), "{}", text(&engines));
    let rows: serde_json::Value = serde_json::from_slice(&engines.stdout).unwrap();
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{rows}");
    assert_eq!(rows[0]["role"], "serve", "{rows}");
    assert_eq!(rows[0]["alive"], "TRUE", "{rows}");
    let run = cli(&["run", &demo(), "--chain", "DEMO", "--db", &db.url]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    // purge runs beside the engine (it claims each ended job's name before removing it).
    let purge = cli(&[
        "purge",
        "--db",
        &db.url,
        "--keep-jobs",
        "0",
        "--format",
        "json",
    ]);
    assert_eq!(purge.status.code(), Some(0), "{}", text(&purge));
    let purged: serde_json::Value = serde_json::from_slice(&purge.stdout).unwrap();
    assert_eq!(purged["removed_jobs"], 2, "{purged}");
    let jobs = cli(&["jobs", "--db", &db.url, "--format", "json"]);
    assert_eq!(
        String::from_utf8_lossy(&jobs.stdout).trim(),
        "[]",
        "{}",
        text(&jobs)
    );

    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(serve.id() as libc::pid_t, libc::SIGTERM);
    }
    let status = serve.wait().unwrap();
    assert!(status.success(), "serve exited {status:?}");
}

/// Notifications on a shared database (docs/notifications.md): a row written by an engine that
/// is gone (here a `run` that ended while the webhook was down) is taken over and delivered by
/// the next engine on the database.
#[test]
fn a_notification_of_an_engine_that_is_gone_is_delivered_by_another() {
    use std::io::{BufRead, Read, Write};
    let Some(db) = test_db("notify") else {
        return;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("n.chain");
    std::fs::write(
        &rules,
        format!(
            "program BAD {{ builtin fail 7; }}\n\
             chain FAILS {{ step A program BAD; rule when TRUE then START A; rule when A COMPLETED then END 1; }}\n\
             notify DESK {{ on FAILED; webhook 'http://127.0.0.1:{port}/h'; retries 50; delay 1s; }}\n"
        ),
    )
    .unwrap();
    let rules = rules.display().to_string();
    let _ = cli(&[
        "run", &rules, "--chain", "FAILS", "--job", "F1", "--db", &db.url,
    ]);
    let rows = cli(&["notifications", "--db", &db.url, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&rows.stdout).unwrap();
    assert_eq!(v[0]["status"], "PENDING", "{v}");
    assert_eq!(v[0]["job_name"], "F1");
    // The receiver comes up, then an engine.
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; len];
            let _ = reader.read_exact(&mut body);
            let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n");
            let _ = tx.send(String::from_utf8_lossy(&body).to_string());
        }
    });
    let mut serve = Command::new(BIN)
        .args(["serve", "--rules", &rules, "--db", &db.url])
        .args(["--listen", "127.0.0.1:0", "--insecure-no-auth"])
        .env_remove("CHAINSCHED_DB")
        .env_remove("CHAINSCHED_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let body = rx.recv_timeout(Duration::from_secs(60));
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(serve.id() as libc::pid_t, libc::SIGTERM);
    }
    let _ = serve.wait();
    let body = body.expect("the notification was delivered by the new engine");
    let m: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(m["job_name"], "F1");
    assert_eq!(m["event"], "FAILED");
    let rows = cli(&["notifications", "--db", &db.url, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&rows.stdout).unwrap();
    assert_eq!(v[0]["status"], "SENT", "{v}");
}

/// Job variables (docs/variables.md) are records of the PostgreSQL store like any other: the
/// views read them, and a run killed after a step set one resumes with it.
#[test]
fn variables_are_kept_in_postgres_and_survive_a_kill() {
    let Some(db) = test_db("variables") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let marker = tmp.path().join("b-started");
    let done = tmp.path().join("b-may-end");
    let rules = tmp.path().join("v.chain");
    std::fs::write(
        &rules,
        format!(
            r#"
program SETS {{ shell 'echo "::set REGION=EU"'; sets REGION; }}
program SLOW {{ shell 'test -e {done} && exit 0; touch {marker}; sleep 30'; }}
program USE  {{ shell 'test "$REGION" = EU'; }}
chain V {{
  step A program SETS;
  step B program SLOW with restart_on_recovery;
  step C program USE;
  rule when TRUE then START A;
  rule when A SUCCEEDED then START B;
  rule when B SUCCEEDED and VAR(REGION) = 'EU' then START C;
  rule when C COMPLETED then END C.ERROR_CODE;
}}
"#,
            marker = marker.display(),
            done = done.display()
        ),
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .arg("run")
        .arg(&rules)
        .args(["--chain", "V", "--job", "VJ", "--db", &db.url])
        .env_remove("CHAINSCHED_DB")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !marker.exists() {
        assert!(std::time::Instant::now() < deadline, "B never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let jobs = cli(&["jobs", "--db", &db.url, "--format", "json"]);
    let rows: serde_json::Value = serde_json::from_slice(&jobs.stdout).unwrap();
    assert_eq!(rows[0]["state"], "RUNNING", "{rows}");
    assert_eq!(rows[0]["variables"]["REGION"], "EU", "{rows}");
    assert_eq!(rows[0]["variables_set_by"]["REGION"], "A", "{rows}");

    // B runs again (restart_on_recovery), quickly this time; C reads REGION after recovery.
    std::fs::write(&done, "").unwrap();
    let resume = cli(&["resume", "--db", &db.url]);
    assert!(resume.status.success(), "{}", text(&resume));
    let jobs = cli(&["jobs", "--db", &db.url, "--format", "json"]);
    let rows: serde_json::Value = serde_json::from_slice(&jobs.stdout).unwrap();
    assert_eq!(rows[0]["state"], "SUCCEEDED", "{rows}");
    assert_eq!(rows[0]["variables"]["REGION"], "EU");
}
