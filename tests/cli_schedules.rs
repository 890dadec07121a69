//! `chainsched schedules` through the binary: a real `serve` fires a one-shot schedule, the
//! view is read from the service (`--server`) in table, JSON and CSV, then — after SIGTERM —
//! from the same store (`--db`): byte for byte the same output. A store on which `serve` never
//! ran lists no schedules (exit 0, not an error).
//!
//! Why a one-shot schedule (`BYDATE` + time of day, a few seconds ahead): after its only fire
//! the row no longer changes (last start set, no next run), so the remote and the embedded
//! outputs can be compared exactly without racing the scheduler.

mod server_support;
use chainsched::views::time::rfc3339;
use serde_json::Value;
use server_support::*;
use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const RULES: &str = r#"
program OK { builtin noop; }

chain QUICK {
    step A program OK;
    rule when TRUE then START A;
    rule when A SUCCEEDED then END;
}

job YEARLY { chain QUICK; schedule 'FREQ=YEARLY; BYMONTH=JAN'; }
job MANUAL { chain QUICK; }
"#;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// An Oracle calendar string whose only occurrence is the whole second `at_ms`.
fn one_shot(at_ms: u64) -> String {
    let t = rfc3339(at_ms); // 2024-05-01T12:34:56.000Z
    format!(
        "FREQ=SECONDLY; BYDATE={}{}{}; BYHOUR={}; BYMINUTE={}; BYSECOND={}",
        &t[0..4],
        &t[5..7],
        &t[8..10],
        t[11..13].parse::<u32>().unwrap(),
        t[14..16].parse::<u32>().unwrap(),
        t[17..19].parse::<u32>().unwrap()
    )
}

/// Run `chainsched schedules ARGS` with no server in the environment.
fn schedules(args: &[&str]) -> Output {
    Command::new(bin())
        .arg("schedules")
        .args(args)
        .env_remove("CHAINSCHED_SERVER")
        .output()
        .unwrap()
}

fn stdout_ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: exit {:?}, stderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("utf-8")
}

fn row<'a>(rows: &'a Value, job: &str) -> Option<&'a Value> {
    rows.as_array()?.iter().find(|r| r["job_name"] == job)
}

#[test]
fn schedules_view_is_the_same_from_the_service_and_from_the_store() {
    let mut server = Server::start(RULES);
    let deadline = Instant::now() + Duration::from_secs(10);
    while row(&server.get("/api/v1/schedules").1, "YEARLY").is_none() {
        assert!(Instant::now() < deadline, "the schedules never loaded");
        std::thread::sleep(Duration::from_millis(50));
    }

    // Add a schedule whose only occurrence is two whole seconds ahead, and reload.
    let at = (now_ms() / 1000 + 2) * 1000;
    let once = one_shot(at);
    let rules = format!("{RULES}\njob ONCE {{ chain QUICK; schedule '{once}'; }}\n");
    std::fs::write(server.rules.join("main.chain"), rules).unwrap();
    let (status, v) = server.post("/api/v1/reload", serde_json::json!({}));
    assert_eq!(status, 200, "{v}");

    // Wait for its fire: last start set, no further occurrence, the run over.
    let deadline = Instant::now() + Duration::from_secs(20);
    let api = loop {
        let (status, rows) = server.get("/api/v1/schedules");
        assert_eq!(status, 200, "{rows}");
        if row(&rows, "ONCE").is_some_and(|r| r["last_start_date"].is_string()) {
            break rows;
        }
        assert!(Instant::now() < deadline, "ONCE never fired: {rows}");
        std::thread::sleep(Duration::from_millis(100));
    };
    server.wait_state("ONCE", &["SUCCEEDED"]);
    let once_row = row(&api, "ONCE").unwrap();
    assert_eq!(once_row["schedule"], once.as_str());
    assert_eq!(once_row["chain_name"], "QUICK");
    assert!(once_row["next_run_date"].is_null(), "{once_row}");
    assert_eq!(once_row["skipped_count"], 0);
    let started =
        chainsched::views::time::parse_rfc3339(once_row["last_start_date"].as_str().unwrap())
            .unwrap();
    assert!(
        (at..at + 5000).contains(&started),
        "fired at its due time {at}: {once_row}"
    );
    let yearly = row(&api, "YEARLY").unwrap();
    assert!(
        yearly["next_run_date"]
            .as_str()
            .unwrap()
            .contains("-01-01T00:00:00.000Z"),
        "{yearly}"
    );
    assert!(yearly["last_start_date"].is_null(), "{yearly}");
    assert!(
        row(&api, "MANUAL").is_none(),
        "a job without a schedule is not listed"
    );

    // The CLI through the service, in every format (the table with every column: `-o wide`;
    // the default table shows the narrow set, docs/views.md).
    let remote: Vec<String> = ["json", "wide", "csv"]
        .iter()
        .map(|f| {
            let flag = if *f == "wide" { "-o" } else { "--format" };
            stdout_ok(
                &schedules(&["--server", &server.url, flag, f]),
                &format!("schedules --server {flag} {f}"),
            )
        })
        .collect();
    let json: Value = serde_json::from_str(&remote[0]).expect("JSON output");
    assert_eq!(json, api, "the CLI's JSON is the API's rows");
    let names: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["job_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ONCE", "YEARLY"], "one row per schedule, by name");
    let table = &remote[1];
    let header = table.lines().next().unwrap();
    let cols: Vec<&str> = header.split_whitespace().collect();
    assert_eq!(
        cols,
        [
            "JOB_NAME",
            "CHAIN_NAME",
            "SCHEDULE",
            "TIME_ZONE",
            "START_DATE",
            "END_DATE",
            "ENABLED",
            "STATE",
            "NEXT_RUN_DATE",
            "LAST_START_DATE",
            "RUN_COUNT",
            "FAILURE_COUNT",
            "SKIPPED_COUNT"
        ]
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("ONCE ")
                && l.contains(once_row["last_start_date"].as_str().unwrap())),
        "{table}"
    );
    let csv = &remote[2];
    assert_eq!(
        csv.lines().next(),
        Some("JOB_NAME,CHAIN_NAME,SCHEDULE,TIME_ZONE,START_DATE,END_DATE,ENABLED,STATE,NEXT_RUN_DATE,LAST_START_DATE,RUN_COUNT,FAILURE_COUNT,SKIPPED_COUNT")
    );
    assert!(
        csv.lines()
            .any(|l| l.starts_with("YEARLY,QUICK,FREQ=YEARLY; BYMONTH=JAN,")
                && l.ends_with(",,0,0,0")),
        "{csv}"
    );

    // Stop the service; the embedded store shows exactly the same.
    let (code, err) = server.terminate();
    assert_eq!(code, Some(0), "serve did not stop cleanly: {err}");
    let db = server.db.to_str().unwrap().to_string();
    for (f, expected) in ["json", "wide", "csv"].iter().zip(&remote) {
        let flag = if *f == "wide" { "-o" } else { "--format" };
        let local = stdout_ok(
            &schedules(&["--db", &db, flag, f]),
            &format!("schedules --db {flag} {f}"),
        );
        assert_eq!(
            &local, expected,
            "--format {f}: the embedded store and the service differ"
        );
    }
}

#[test]
fn a_store_that_never_ran_serve_has_no_schedules() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write_rules(dir.path(), RULES);
    let db = dir.path().join("db");
    // `run` creates the store (and does not fire schedules).
    let out = Command::new(bin())
        .arg("run")
        .arg(rules.join("main.chain"))
        .args(["--chain", "QUICK", "--db"])
        .arg(&db)
        .env_remove("CHAINSCHED_SERVER")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = db.to_str().unwrap();
    let json = stdout_ok(&schedules(&["--db", db, "--format", "json"]), "json");
    assert_eq!(
        serde_json::from_str::<Value>(&json).unwrap(),
        Value::Array(vec![])
    );
    let csv = stdout_ok(&schedules(&["--db", db, "--format", "csv"]), "csv");
    assert_eq!(
        csv.trim_end(),
        "JOB_NAME,CHAIN_NAME,SCHEDULE,TIME_ZONE,START_DATE,END_DATE,ENABLED,STATE,NEXT_RUN_DATE,LAST_START_DATE,RUN_COUNT,FAILURE_COUNT,SKIPPED_COUNT"
    );
    stdout_ok(&schedules(&["--db", db]), "table");

    // A bad format is a usage error (exit 2), and no store at all is a problem (exit 1).
    let out = schedules(&["--db", db, "--format", "xml"]);
    assert_eq!(out.status.code(), Some(2));
    let missing = dir.path().join("nothing-here");
    let out = schedules(&["--db", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no store at"));
}
