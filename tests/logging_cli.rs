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
