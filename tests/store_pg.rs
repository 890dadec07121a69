//! The PostgreSQL store against a real PostgreSQL (docs/scale-out.md).
//!
//! The server comes from `CHAINSCHED_TEST_PG` (a URL whose user may create databases, e.g.
//! `postgres://postgres@127.0.0.1:55432/postgres`; `.ci/run` starts a throwaway cluster and sets
//! it). Without it each test prints "skipped: CHAINSCHED_TEST_PG not set" and passes — unless
//! `CHAINSCHED_REQUIRE_PG` is set (as in CI), then it fails. Each test works in a database of
//! its own (created with a unique name, dropped at the end), so they run in parallel.

mod crash_support;

use chainsched::core::types::{JobState, StepState};
use chainsched::store::contract::check_contract;
use chainsched::store::pg_store::{PgAccess, PgOptions, PgStore, SCHEMA_VERSION};
use chainsched::store::{Access, ChainStore, KvStore, OpenOptions, WriteBatch};
use crash_support::{chain_file, kill_at, marks};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_chainsched");

/// A database of one test, dropped when the value is.
struct TestDb {
    admin: String,
    name: String,
    url: String,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Run SQL statements on the database at `url`.
fn sql(url: &str, statements: &str) {
    runtime().block_on(async {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
        let driving = tokio::spawn(conn);
        client
            .batch_execute(statements)
            .await
            .unwrap_or_else(|e| panic!("{statements}: {e:?}"));
        drop(client);
        let _ = driving.await;
    })
}

/// The URL of database `name` on the server of `admin`.
fn with_dbname(admin: &str, name: &str) -> String {
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin, String::new()),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let cut = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    format!("{}/{name}{query}", &base[..cut])
}

/// A fresh database, or `None` (test skipped) when no server is configured.
fn test_db(test: &str) -> Option<TestDb> {
    let admin = match std::env::var("CHAINSCHED_TEST_PG") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => {
            assert!(
                std::env::var_os("CHAINSCHED_REQUIRE_PG").is_none(),
                "CHAINSCHED_REQUIRE_PG is set but CHAINSCHED_TEST_PG is not: the PostgreSQL \
                 tests must run here (.ci/run starts a cluster and sets it)"
            );
            // Straight to stderr, past the test harness's capture, so the skip is seen.
            let _ = writeln!(
                std::io::stderr(),
                "store_pg::{test}: skipped: CHAINSCHED_TEST_PG not set"
            );
            return None;
        }
    };
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "chainsched_t_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        test.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(20)
            .collect::<String>()
            .to_lowercase()
    );
    sql(&admin, &format!("CREATE DATABASE {name}"));
    let url = with_dbname(&admin, &name);
    Some(TestDb { admin, name, url })
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let name = self.name.clone();
        // WITH (FORCE) ends sessions a failed test left open.
        let _ = std::panic::catch_unwind(move || {
            sql(
                &admin,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            )
        });
    }
}

fn engine_store(url: &str) -> PgStore {
    PgStore::open(url, &PgOptions::default()).unwrap()
}

fn cli(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("CHAINSCHED_DB")
        .env_remove("CHAINSCHED_SERVER")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
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
fn a_second_engine_on_the_database_is_refused_while_views_still_read() {
    let Some(db) = test_db("second") else {
        return;
    };
    let first = cli(&[
        "run",
        &demo(),
        "--chain",
        "DEMO",
        "--job",
        "D1",
        "--db",
        &db.url,
    ]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));

    // An engine holds the database.
    let engine = ChainStore::open(&db.url, &OpenOptions::new(Access::Engine)).unwrap();
    for args in [
        vec!["run", &demo(), "--chain", "DEMO", "--db", &db.url],
        vec!["resume", "--db", &db.url],
        vec!["stop", "D1", "--db", &db.url],
        vec!["purge", "--db", &db.url, "--keep-jobs", "0"],
    ] {
        let out = cli(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(
                "another chainsched engine is using this database; several engines need job \
                 leases, not yet available"
            ),
            "{args:?}: {}",
            text(&out)
        );
    }
    // Readers do not need the engine lock.
    let jobs = cli(&["jobs", "--db", &db.url]);
    assert_eq!(jobs.status.code(), Some(0), "{}", text(&jobs));
    assert!(String::from_utf8_lossy(&jobs.stdout).contains("D1"));
    let check = cli(&["store", "check", "--db", &db.url]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));

    // Once it is closed, the next engine runs.
    drop(engine);
    let again = cli(&[
        "run",
        &demo(),
        "--chain",
        "DEMO",
        "--job",
        "D2",
        "--db",
        &db.url,
    ]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
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
    // serve is an engine: a second one is refused.
    let run = cli(&["run", &demo(), "--chain", "DEMO", "--db", &db.url]);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run));
    assert!(String::from_utf8_lossy(&run.stderr).contains("another chainsched engine"));

    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(serve.id() as libc::pid_t, libc::SIGTERM);
    }
    let status = serve.wait().unwrap();
    assert!(status.success(), "serve exited {status:?}");
}
