//! Structured logs: `--log-format json` with CHAINSCHED_LOG writes one JSON object per line on
//! stderr (what a log collector reads), and stdout keeps only the command's data.

use std::process::{Command, Output};

/// `chainsched run fixtures/demo.chain --chain DEMO --format json --log-format json` on a fresh
/// store, with CHAINSCHED_LOG set to `log` (or unset).
fn run_demo(log: Option<&str>) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = env!("CARGO_MANIFEST_DIR");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chainsched"));
    cmd.args([
        "run",
        &format!("{root}/fixtures/demo.chain"),
        "--chain",
        "DEMO",
    ])
    .args(["--format", "json", "--log-format", "json", "--db"])
    .arg(dir.path().join("db"))
    .env_remove("CHAINSCHED_LOG");
    if let Some(level) = log {
        cmd.env("CHAINSCHED_LOG", level);
    }
    let out = cmd.output().expect("run chainsched");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    out
}

#[test]
fn json_logs_go_to_stderr_one_object_per_line() {
    let out = run_demo(Some("debug"));
    // stdout is exactly the run's JSON document.
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(doc["jobs"][0]["state"], "SUCCEEDED");
    // stderr carries the structured log lines (the live display is plain text).
    let stderr = String::from_utf8_lossy(&out.stderr);
    let events: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("each log line is one JSON object"))
        .collect();
    let states: Vec<&str> = events
        .iter()
        .filter(|e| e["fields"]["message"] == "job state")
        .filter_map(|e| e["fields"]["state"].as_str())
        .collect();
    assert!(states.contains(&"RUNNING"), "{stderr}");
    assert_eq!(states.last(), Some(&"SUCCEEDED"), "{stderr}");
    assert!(events.iter().all(|e| e["level"].is_string()));
}

#[test]
fn without_chainsched_log_one_shot_commands_stay_quiet() {
    let out = run_demo(None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.lines().any(|l| l.contains("\"level\":\"DEBUG\"")),
        "{stderr}"
    );
}

// ---------------------------------------------------------------- issue 12 points 9 and 15

mod server_support;
use server_support::Server;
use std::time::{Duration, Instant};

/// Wait for `child` at most `limit`; a command that hangs is killed and the test fails.
fn wait_or_kill(child: &mut std::process::Child, limit: Duration, what: &str) -> Option<i32> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} hung: killed after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `CHAINSCHED_LOG=debug chainsched run … --log-format json 2>&1 | head -5` once hung: the
/// log writer panicked on the closed pipe inside the engine's actor. Now the job runs to its
/// end, the command exits with the job's status, and the store shows the job SUCCEEDED.
#[test]
fn debug_logs_into_a_closed_pipe_neither_hang_nor_fail_the_run() {
    let root = env!("CARGO_MANIFEST_DIR");
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("db");
    for format in ["json", "text"] {
        let job = format!("PIPED_{}", format.to_uppercase());
        let mut child = Command::new("bash")
            .arg("-c")
            .arg(r#""$0" run "$1" --chain DEMO --job "$2" --db "$3" --log-format "$4" 2>&1 | head -5 >/dev/null; exit "${PIPESTATUS[0]}""#)
            .arg(env!("CARGO_BIN_EXE_chainsched"))
            .arg(format!("{root}/fixtures/demo.chain"))
            .arg(&job)
            .arg(&db)
            .arg(format)
            .env("CHAINSCHED_LOG", "debug")
            .spawn()
            .expect("bash runs");
        let code = wait_or_kill(
            &mut child,
            Duration::from_secs(120),
            "run into a closed pipe",
        );
        assert_eq!(code, Some(0), "--log-format {format}");
        let out = Command::new(env!("CARGO_BIN_EXE_chainsched"))
            .args(["jobs", "--format", "json", "--db"])
            .arg(&db)
            .env_remove("CHAINSCHED_SERVER")
            .output()
            .expect("jobs");
        let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON rows");
        let state = rows
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["job_name"] == job.as_str())
            .map(|r| r["state"].clone());
        assert_eq!(state, Some(serde_json::json!("SUCCEEDED")), "{rows}");
    }
}

/// `2026-12-05T00:50:36.233904Z` (RFC 3339, UTC).
fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && s.ends_with('Z')
        && s[..4].bytes().all(|c| c.is_ascii_digit())
}

/// An SGR (colour) escape: `ESC [ digits ; … m`.
fn has_colour(text: &str) -> bool {
    text.split('\x1b').skip(1).any(|rest| {
        rest.strip_prefix('[').is_some_and(|r| {
            let end = r.find(|c: char| !(c.is_ascii_digit() || c == ';'));
            end.is_some_and(|i| r[i..].starts_with('m'))
        })
    })
}

#[test]
fn log_lines_have_rfc3339_times_and_no_colour_off_a_terminal() {
    let root = env!("CARGO_MANIFEST_DIR");
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_chainsched"))
        .args([
            "run",
            &format!("{root}/fixtures/demo.chain"),
            "--chain",
            "DEMO",
        ])
        .arg("--db")
        .arg(dir.path().join("db"))
        .env("CHAINSCHED_LOG", "debug")
        .env_remove("NO_COLOR")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!has_colour(&stderr), "colours in a pipe:\n{stderr:?}");
    let logs: Vec<&str> = stderr.lines().filter(|l| l.contains(" DEBUG ")).collect();
    assert!(!logs.is_empty(), "{stderr}");
    for l in &logs {
        let time = l.split(' ').next().unwrap_or("");
        assert!(is_rfc3339(time), "not an RFC 3339 time: {l}");
    }
    // JSON lines carry the same kind of timestamp.
    let out = run_demo(Some("debug"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for l in stderr.lines().filter(|l| l.starts_with('{')) {
        let v: serde_json::Value = serde_json::from_str(l).expect("JSON line");
        assert!(is_rfc3339(v["timestamp"].as_str().unwrap_or("")), "{l}");
    }
}

/// On a terminal (a pseudo-terminal made by `script`), log lines are coloured unless NO_COLOR
/// is set to something.
#[test]
fn on_a_terminal_no_color_turns_colours_off() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!(
            "SKIPPED on_a_terminal_no_color_turns_colours_off: no `script` to make a terminal"
        );
        return;
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let run = |no_color: Option<&str>| {
        let dir = tempfile::tempdir().expect("temp dir");
        let inner = format!(
            "'{}' run '{root}/fixtures/demo.chain' --chain DEMO --db '{}'",
            env!("CARGO_BIN_EXE_chainsched"),
            dir.path().join("db").display()
        );
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &inner, "/dev/null"])
            .env("CHAINSCHED_LOG", "debug")
            .stdin(std::process::Stdio::null());
        match no_color {
            Some(v) => cmd.env("NO_COLOR", v),
            None => cmd.env_remove("NO_COLOR"),
        };
        let out = cmd.output().expect("script runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let coloured = run(None);
    assert!(
        coloured.contains("DEBUG") && has_colour(&coloured),
        "{coloured:?}"
    );
    let plain = run(Some("1"));
    assert!(plain.contains("DEBUG") && !has_colour(&plain), "{plain:?}");
    // An empty NO_COLOR does not count (no-color.org).
    assert!(has_colour(&run(Some(""))));
}

const SCHEDULED: &str = r#"
program OK   { builtin noop; }
program LONG { builtin sleep 60s; }
chain QUICK { step A program OK; rule when TRUE then START A; rule when A COMPLETED then END; }
chain SLOW  { step A program LONG; rule when TRUE then START A; rule when A COMPLETED then END; }
job NIGHTLY { chain QUICK; schedule 'FREQ=DAILY;BYHOUR=2'; }
"#;

fn wait_for_log(s: &Server, what: &str, count: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = s.stderr.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if text.matches(what).count() >= count {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "no {count} × {what:?} in:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One line per event: a refused reload logs each error (where it is) and one warning; a
/// successful reload one info line; a removed schedule one line (it was logged twice); the
/// schedule's next run is an RFC 3339 time; each recovered job one info line.
#[test]
fn reloads_and_recoveries_log_one_line_per_event() {
    let s = Server::start_with(SCHEDULED, &[], Some(server_support::TOKEN));
    let text = wait_for_log(&s, "scheduler: schedule loaded", 1);
    let loaded = text
        .lines()
        .find(|l| l.contains("schedule loaded"))
        .unwrap_or_default();
    let next = loaded
        .split("next_run=")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or("");
    assert!(is_rfc3339(next), "{loaded}");
    assert!(!has_colour(&text), "{text:?}");

    // Two errors: each is logged with its place, then one warning.
    std::fs::write(
        s.rules.join("broken.chain"),
        "chain B1 { step A program NOPE; rule when TRUE then START A; rule when A COMPLETED then END; }\n\
         chain B2 { step A program NADA; rule when TRUE then START A; rule when A COMPLETED then END; }\n",
    )
    .expect("write");
    s.signal(libc::SIGHUP);
    let text = wait_for_log(&s, "catalog in use is kept", 1);
    let refused: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("reload refused"))
        .collect();
    assert_eq!(refused.len(), 2, "{text}");
    assert!(
        refused
            .iter()
            .all(|l| l.contains("unknown-program") && l.contains("broken.chain:")),
        "{text}"
    );

    // Fixed, and the scheduled job removed: one reload line, one "schedule removed".
    std::fs::remove_file(s.rules.join("broken.chain")).expect("rm");
    std::fs::write(
        s.rules.join("main.chain"),
        SCHEDULED.replace(
            "job NIGHTLY { chain QUICK; schedule 'FREQ=DAILY;BYHOUR=2'; }",
            "",
        ),
    )
    .expect("write");
    s.signal(libc::SIGHUP);
    wait_for_log(&s, "rules reloaded", 1);
    let text = wait_for_log(&s, "schedule removed", 1);
    std::thread::sleep(Duration::from_millis(300));
    let text2 = s.stderr.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert_eq!(text2.matches("schedule removed").count(), 1, "{text}");
    assert_eq!(text2.matches("rules reloaded").count(), 1, "{text2}");

    // A job running when the engine stops is recovered by the next: one info line.
    let job = s.start_job(serde_json::json!({ "chain": "SLOW", "job": "LONG_ONE" }));
    s.wait_state(&job, &["RUNNING"]);
    let s = s.restart(&[]);
    let text = wait_for_log(&s, "job recovered", 1);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("job recovered"))
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(
        lines[0].contains("INFO") && lines[0].contains("LONG_ONE"),
        "{text}"
    );
}
