//! Oracle's job attributes through a real `chainsched serve` and the CLI: a start date in the
//! future holds the schedule back; `enabled false`, `chainsched enable` / `disable` (durable
//! across a restart); `max_runs` ends the schedule (COMPLETED); `max_failures` failures in a row
//! end it (BROKEN); an event-based job (`on event NAME where ...`) is started by
//! `chainsched event`. The schedules view shows the time zone, dates, state and counts.

mod server_support;
use serde_json::Value;
use server_support::*;
use std::time::{Duration, Instant};

const RULES: &str = r#"
program OK   { builtin noop; }
program BAD  { builtin fail 1; }

chain QUICK {
    step A program OK;
    rule when TRUE then START A;
    rule when A SUCCEEDED then END;
}

chain BROKEN_CHAIN {
    step A program BAD;
    rule when TRUE then START A;
    rule when A COMPLETED then END 1;
}

schedule EVERY_SECOND 'FREQ=SECONDLY';

job LATER   { chain QUICK; schedule 'FREQ=SECONDLY'; time_zone 'Europe/Paris';
              start_date '2099-06-01 09:00'; end_date '2099-12-31'; comment 'not yet'; }
job LIMITED { chain QUICK; schedule EVERY_SECOND; max_runs 2; }
job OFF     { chain QUICK; schedule EVERY_SECOND; enabled false; }
job FAILING { chain BROKEN_CHAIN; schedule 'FREQ=SECONDLY'; max_failures 2; }
job ON_FILE { chain QUICK; on event FILE_ARRIVED where name = 'sales.csv'; }
job ENDING  { chain QUICK; schedule 'FREQ=SECONDLY'; end_date 'END_SOON'; }
"#;

/// The rules, with ENDING's end date 4 s from now (UTC).
fn rules() -> String {
    let soon = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(4);
    RULES.replace("END_SOON", &soon.strftime("%Y-%m-%d %H:%M:%S").to_string())
}

/// The chain-job runs of `job` in the job log.
fn runs(s: &Server, job: &str) -> usize {
    let (status, rows) = s.get(&format!("/api/v1/log?job={job}"));
    assert_eq!(status, 200, "{rows}");
    rows.as_array()
        .expect("an array")
        .iter()
        .filter(|r| r["job_subname"].is_null())
        .count()
}

fn row(s: &Server, job: &str) -> Value {
    let (status, rows) = s.get("/api/v1/schedules");
    assert_eq!(status, 200, "{rows}");
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["job_name"] == job)
        .cloned()
        .unwrap_or_else(|| panic!("no schedule row for {job}: {rows}"))
}

/// Wait until `f` holds (at most 15 s).
fn until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn job_attributes_hold_back_limit_and_switch_scheduled_runs() {
    let server = Server::start(&rules());
    until("the schedules to load", || {
        server.get("/api/v1/schedules").1.as_array().unwrap().len() == 6
    });

    // max_runs 2: two runs, then COMPLETED.
    until("LIMITED to complete", || {
        row(&server, "LIMITED")["state"] == "COMPLETED"
    });
    let limited = row(&server, "LIMITED");
    assert_eq!(limited["run_count"], 2, "{limited}");
    assert!(limited["next_run_date"].is_null(), "{limited}");

    // max_failures 2: two failed runs in a row, then BROKEN.
    until("FAILING to break", || {
        row(&server, "FAILING")["state"] == "BROKEN"
    });
    let failing = row(&server, "FAILING");
    assert_eq!(
        (
            failing["run_count"].as_u64(),
            failing["failure_count"].as_u64()
        ),
        (Some(2), Some(2)),
        "{failing}"
    );

    // An end date: the last occurrences before it run, then the schedule is COMPLETED.
    until("ENDING to complete", || {
        row(&server, "ENDING")["state"] == "COMPLETED"
    });
    let ending = row(&server, "ENDING");
    let n = ending["run_count"].as_u64().unwrap_or(0);
    assert!((1..=5).contains(&n), "{ending}");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        runs(&server, "ENDING") as u64,
        n,
        "a run after the end date"
    );

    // A start date in the future: nothing runs; the first due time is the start date, in its
    // time zone (09:00 in Paris in June is 07:00Z).
    let later = row(&server, "LATER");
    assert_eq!(
        later["next_run_date"], "2099-06-01T07:00:00.000Z",
        "{later}"
    );
    assert_eq!(later["time_zone"], "Europe/Paris");
    assert_eq!(later["start_date"], "2099-06-01 09:00:00");
    assert_eq!(later["end_date"], "2099-12-31 00:00:00");
    assert_eq!(
        (later["enabled"].as_bool(), later["state"].as_str()),
        (Some(true), Some("SCHEDULED"))
    );
    assert_eq!(runs(&server, "LATER"), 0);

    // enabled false: no run until `chainsched enable`.
    let off = row(&server, "OFF");
    assert_eq!(
        (off["enabled"].as_bool(), off["state"].as_str()),
        (Some(false), Some("DISABLED")),
        "{off}"
    );
    assert_eq!(runs(&server, "OFF"), 0);
    assert_eq!(runs(&server, "LIMITED"), 2);
    assert!(ok(&server.cli(&["enable", "OFF"])).contains("job OFF enabled"));
    until("OFF to run", || runs(&server, "OFF") >= 1);
    assert_eq!(row(&server, "OFF")["state"], "SCHEDULED");
    ok(&server.cli(&["disable", "OFF"]));
    // The scheduler applies it at once (the command returns when it is durable).
    until("OFF to be disabled", || {
        row(&server, "OFF")["state"] == "DISABLED"
    });
    std::thread::sleep(Duration::from_millis(500));
    let n = runs(&server, "OFF");
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(runs(&server, "OFF"), n, "a disabled job ran");

    // Unknown definition: refused, with the nearest name.
    let out = server.cli(&["enable", "OFFF"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("did you mean OFF"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // `disable` is durable: still disabled after a restart; `enable` of a BROKEN job starts
    // it again (its failures in a row are forgotten).
    let server = server.restart(&[]);
    until("the schedules to load", || {
        server.get("/api/v1/schedules").1.as_array().unwrap().len() == 6
    });
    assert_eq!(row(&server, "OFF")["state"], "DISABLED");
    assert_eq!(row(&server, "FAILING")["state"], "BROKEN");
    let (status, body) = server.post("/api/v1/schedules/FAILING/enable", serde_json::json!({}));
    assert_eq!(status, 200, "{body}");
    until("FAILING to run again", || {
        row(&server, "FAILING")["run_count"].as_u64() >= Some(3)
    });
}

#[test]
fn an_event_starts_an_event_based_job() {
    let server = Server::start(&rules());
    until("the schedules to load", || {
        server.get("/api/v1/schedules").1.as_array().unwrap().len() == 6
    });
    assert_eq!(row(&server, "ON_FILE")["schedule"], "on event FILE_ARRIVED");
    // A payload the condition refuses starts nothing.
    ok(&server.cli(&[
        "event",
        "FILE_ARRIVED",
        "--payload",
        r#"{"name":"other.csv"}"#,
    ]));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(runs(&server, "ON_FILE"), 0);
    ok(&server.cli(&[
        "event",
        "FILE_ARRIVED",
        "--payload",
        r#"{"name":"sales.csv"}"#,
    ]));
    until("ON_FILE to run", || runs(&server, "ON_FILE") == 1);
    let (_, job) = server.get("/api/v1/jobs/ON_FILE");
    assert_eq!(job["requested_by"], "SCHEDULER", "{job}");
    assert_eq!(row(&server, "ON_FILE")["run_count"], 1);
    // Disabled, the event is ignored.
    ok(&server.cli(&["disable", "ON_FILE"]));
    ok(&server.cli(&[
        "event",
        "file_arrived",
        "--payload",
        r#"{"name":"sales.csv"}"#,
    ]));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(runs(&server, "ON_FILE"), 1);
}
