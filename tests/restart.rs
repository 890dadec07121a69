//! `chainsched restart` driven as a user would (docs/operations.md, "Restarting a job"): an
//! ended FAILED or STOPPED job reopened in place through the CLI (`--db`) and the HTTP API,
//! refused while it runs, its job log keeping every run with its number, and a restarted job
//! recovered after the engine was killed.

mod browser_support;
mod server_support;

use serde_json::{json, Value};
use server_support::*;
use std::path::Path;
use std::process::{Command, Output};

fn cli(dir: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .arg("--db")
        .arg(dir.join("db"))
        .env_remove("CHAINSCHED_SERVER")
        .output()
        .unwrap()
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn step_state(dir: &Path, job: &str, step: &str) -> (String, u64) {
    let steps = json_of(&cli(dir, &["steps", job, "--all", "--format", "json"]));
    let row = steps
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["step_name"] == step)
        .unwrap_or_else(|| panic!("no step {step}: {steps}"))
        .clone();
    (
        row["state"].as_str().unwrap().to_string(),
        row["attempt"].as_u64().unwrap(),
    )
}

#[test]
fn a_failed_job_is_restarted_from_its_failed_step_and_the_log_keeps_every_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let flag = dir.join("input-ready");
    let count = dir.join("extract-runs");
    std::fs::write(
        dir.join("etl.chain"),
        format!(
            r#"
program EXTRACT   {{ shell 'echo x >> {count}'; }}
program TRANSFORM {{ shell 'test -e {flag}'; }}
program LOAD      {{ builtin noop; }}
chain ETL {{
  step E program EXTRACT;
  step T program TRANSFORM;
  step L program LOAD;
  rule R1 when TRUE then START E;
  rule R2 when E SUCCEEDED then START T;
  rule R3 when T SUCCEEDED then START L;
  rule R4 when L SUCCEEDED then END;
  rule R5 when T FAILED then END 9;
}}
"#,
            flag = flag.display(),
            count = count.display()
        ),
    )
    .unwrap();
    let run = cli(
        dir,
        &[
            "run",
            dir.join("etl.chain").to_str().unwrap(),
            "--chain",
            "ETL",
            "--job",
            "R1",
        ],
    );
    assert_eq!(
        run.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(step_state(dir, "R1", "T"), ("FAILED".into(), 1));
    let typo = cli(dir, &["restart", "R1", "--from", "TT"]);
    assert_eq!(typo.status.code(), Some(1));
    let err = String::from_utf8_lossy(&typo.stderr);
    assert!(err.contains("did you mean T"), "{err}");

    // Still failing: the restart runs T again (attempt 2), the job fails again (run 2).
    let again = cli(dir, &["restart", "R1", "--format", "json"]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(json_of(&again)["state"], "FAILED");
    assert_eq!(step_state(dir, "R1", "T"), ("FAILED".into(), 2));

    // Fixed: the third run goes on to the end; E (SUCCEEDED) is kept and never runs again.
    std::fs::write(&flag, "").unwrap();
    let fixed = cli(dir, &["restart", "R1", "--format", "json"]);
    assert!(fixed.status.success());
    assert_eq!(json_of(&fixed)["state"], "SUCCEEDED", "{}", json_of(&fixed));
    assert_eq!(step_state(dir, "R1", "E"), ("SUCCEEDED".into(), 1));
    assert_eq!(step_state(dir, "R1", "T"), ("SUCCEEDED".into(), 3));
    assert_eq!(step_state(dir, "R1", "L"), ("SUCCEEDED".into(), 1));
    assert_eq!(std::fs::read_to_string(&count).unwrap().lines().count(), 1);

    let log = json_of(&cli(dir, &["log", "--job", "R1", "--format", "json"]));
    let rows: Vec<(String, String, u64)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["job_subname"].as_str().unwrap_or("(chain)").to_string(),
                r["status"].as_str().unwrap().to_string(),
                r["run"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, String, u64)> = [
        ("E", "SUCCEEDED", 1),
        ("T", "FAILED", 1),
        ("(chain)", "FAILED", 1),
        ("T", "FAILED", 2),
        ("(chain)", "FAILED", 2),
        ("T", "SUCCEEDED", 3),
        ("L", "SUCCEEDED", 3),
        ("(chain)", "SUCCEEDED", 3),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), *c))
    .collect();
    assert_eq!(rows, want);
    let timeline = json_of(&cli(dir, &["timeline", "R1", "--format", "json"]));
    let restarts: Vec<&str> = timeline
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "job_restarted")
        .map(|r| r["detail"].as_str().unwrap())
        .collect();
    assert_eq!(
        restarts,
        [
            "run 2 from T; run again as their rules start them: L",
            "run 3 from T; run again as their rules start them: L"
        ]
    );

    // A SUCCEEDED job, an unknown step, an unknown job: refused with the reason.
    let done = cli(dir, &["restart", "R1"]);
    assert_eq!(done.status.code(), Some(1));
    let err = String::from_utf8_lossy(&done.stderr);
    assert!(
        err.contains("SUCCEEDED") && err.contains("nothing to run again"),
        "{err}"
    );
    let unknown = cli(dir, &["restart", "NOPE"]);
    assert_eq!(unknown.status.code(), Some(1));
}

const RULES: &str = r#"
program FIRST { builtin noop; }
program LAST_ONE { shell 'echo "::set RESTARTED=yes"'; }
chain WAITS {
  step A program FIRST;
  step W event GO;
  step B program LAST_ONE;
  rule R1 when TRUE then START A;
  rule R2 when A SUCCEEDED then START W;
  rule R3 when W SUCCEEDED then START B;
  rule R4 when B SUCCEEDED then END;
}
"#;

#[test]
fn restart_over_http_is_refused_while_running_and_survives_a_kill() {
    let mut s = Server::start(RULES);
    s.start_job(json!({ "chain": "WAITS", "job": "H1" }));
    // W waits for GO: the job runs, a restart is refused with 409 and the reason.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_, steps) = s.get("/api/v1/jobs/H1/steps");
        if steps.as_array().is_some_and(|a| {
            a.iter()
                .any(|r| r["step_name"] == "W" && r["state"] == "RUNNING")
        }) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "W never waits: {steps}"
        );
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    let (status, v) = s.post("/api/v1/jobs/H1/restart", json!({}));
    assert_eq!(status, 409, "{v}");
    assert_eq!(v["error"]["code"], "not_restartable", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("is RUNNING"),
        "{v}"
    );
    let (status, v) = s.post("/api/v1/jobs/H1/restart", json!({ "form": ["A"] }));
    assert_eq!(status, 400, "unknown members are refused: {v}");

    // Stopped, then restarted from its STOPPED step W.
    let (status, _) = s.post("/api/v1/jobs/H1/stop", json!({}));
    assert_eq!(status, 200);
    s.wait_state("H1", &["STOPPED"]);
    // The dashboard offers Restart for a STOPPED job (disabled while it runs).
    if let Some(chrome) = browser_support::chromium_or_skip("restart") {
        let profile = tempfile::tempdir().unwrap();
        let dom = browser_support::run_chromium(
            &chrome,
            profile.path(),
            &format!("{}/?nolive#/job/H1/steps", s.url),
            &["--dump-dom"],
        );
        assert!(dom.contains(r#"id="act-restart""#), "{dom}");
        assert!(!dom.contains(r#"id="act-restart" title="run the FAILED and STOPPED steps again, and what follows them" disabled"#), "enabled for a STOPPED job");
    }
    let (status, v) = s.post("/api/v1/jobs/H1/restart", json!({}));
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["restarted"], true);
    s.wait_state("H1", &["RUNNING"]);

    // SIGKILL while the restarted job waits: it is recovered as run 2, and goes on.
    s.signal(libc::SIGKILL);
    if let Some(mut c) = s.child.take() {
        let _ = c.wait();
    }
    let dir = std::mem::replace(&mut s.dir, tempfile::tempdir().unwrap());
    let s = Server::spawn(dir, s.rules.clone(), s.db.clone(), &[], Some(TOKEN));
    s.wait_state("H1", &["RUNNING"]);
    let (status, v) = s.post("/api/v1/events", json!({ "name": "GO", "job": "H1" }));
    assert_eq!((status, &v["completed_steps"]), (200, &json!(1)), "{v}");
    let row = s.wait_state("H1", &["SUCCEEDED", "FAILED"]);
    assert_eq!(row["state"], "SUCCEEDED", "{row}");
    assert_eq!(row["variables"]["RESTARTED"], "yes");
    let (_, log) = s.get("/api/v1/log?job=H1");
    let runs: Vec<(Value, Value, Value)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["job_subname"].clone(),
                r["status"].clone(),
                r["run"].clone(),
            )
        })
        .collect();
    assert_eq!(
        runs,
        vec![
            (json!("A"), json!("SUCCEEDED"), json!(1)),
            (json!("W"), json!("STOPPED"), json!(1)),
            (Value::Null, json!("STOPPED"), json!(1)),
            (json!("W"), json!("SUCCEEDED"), json!(2)),
            (json!("B"), json!("SUCCEEDED"), json!(2)),
            (Value::Null, json!("SUCCEEDED"), json!(2)),
        ]
    );
    // The CLI through --server says the same refusal for a job that ended SUCCEEDED.
    let out = s.cli(&["restart", "H1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to run again"));
}
