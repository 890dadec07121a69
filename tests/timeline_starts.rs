//! The timeline says how each step was started and by which rule (docs/views: timeline
//! STARTED_BY, BY_RULE): `simulate` for rule, start_steps, retry, AFTER and event, `serve`
//! killed and restarted for recovery, and a restarted job for restart.

mod server_support;

use serde_json::{json, Value};
use server_support::*;
use std::path::Path;
use std::process::Command;

/// (job, detail, started_by, by_rule) of every row that says how a step started.
fn starts(timeline: &Value) -> Vec<(String, String, String, Option<String>)> {
    timeline
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["started_by"].is_null())
        .map(|r| {
            (
                r["job"]
                    .as_str()
                    .or(r["job_name"].as_str())
                    .unwrap()
                    .to_string(),
                r["detail"].as_str().unwrap().to_string(),
                r["started_by"].as_str().unwrap().to_string(),
                r["by_rule"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn row(
    job: &str,
    detail: &str,
    how: &str,
    rule: Option<&str>,
) -> (String, String, String, Option<String>) {
    (
        job.into(),
        detail.into(),
        how.into(),
        rule.map(str::to_string),
    )
}

#[test]
fn simulate_says_how_each_step_was_started() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("t.scenario.toml");
    std::fs::write(
        &scenario,
        r#"
[[job]]
name = "J1"
chain = "HOW"
[job.outcomes]
B = ["fail 2", "ok"]
[[job]]
name = "J2"
chain = "HOW"
start_steps = ["A"]
[[at]]
time = "3s"
event = { name = "GO", job = "J1" }
"#,
    )
    .unwrap();
    let chain = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/timeline_how.chain");
    let out = Command::new(bin())
        .arg("simulate")
        .arg(&chain)
        .arg("--scenario")
        .arg(&scenario)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let got = starts(&v["timeline"]);
    let want = vec![
        row("J2", "A RUNNING", "start_steps", None),
        row("J1", "A RUNNING", "rule", Some("R1")),
        row("J1", "W RUNNING", "rule", Some("R1")),
        row("J2", "B RUNNING", "rule", Some("R2")),
        row("J1", "B RUNNING", "rule", Some("R2")),
        row("J2", "D SCHEDULED", "rule", Some("R3")),
        row("J1", "B RUNNING", "retry", None),
        row("J1", "E RUNNING", "event", Some("R4")),
        row("J1", "D SCHEDULED", "rule", Some("R3")),
        row("J2", "D RUNNING", "after", Some("R3")),
        row("J1", "D RUNNING", "after", Some("R3")),
    ];
    assert_eq!(got, want);
    // RETRY SCHEDULED, SUCCEEDED, … say nothing about a start.
    let retry = v["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["detail"] == "B RETRY SCHEDULED")
        .unwrap();
    assert!(retry.get("started_by").is_none(), "{retry}");
}

const RULES: &str = r#"
program SLOW  { shell 'test -e "$MARKER" && exit 0; touch "$MARKER"; sleep 30'; }
program FAILS { shell 'test -e "$MARKER.ok"'; }
chain REC {
  step S program SLOW with restart_on_recovery;
  step F program FAILS;
  rule R1 when TRUE then START S;
  rule R2 when S SUCCEEDED then START F;
  rule R3 when F SUCCEEDED then END;
  rule R4 when F FAILED then END 4;
}
"#;

#[test]
fn the_timeline_view_says_recovery_and_restart() {
    let mut s = Server::start(RULES);
    let marker = s.dir.path().join("slow-started");
    s.start_job(json!({ "chain": "REC", "job": "T1", "parameters": { "marker": marker.display().to_string() } }));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !marker.exists() {
        assert!(std::time::Instant::now() < deadline, "S never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    s.signal(libc::SIGKILL);
    if let Some(mut c) = s.child.take() {
        let _ = c.wait();
    }
    let dir = std::mem::replace(&mut s.dir, tempfile::tempdir().unwrap());
    let s = Server::spawn(dir, s.rules.clone(), s.db.clone(), &[], Some(TOKEN));
    s.wait_state("T1", &["FAILED"]);
    std::fs::write(format!("{}.ok", marker.display()), "").unwrap();
    let (status, v) = s.post("/api/v1/jobs/T1/restart", json!({}));
    assert_eq!(status, 200, "{v}");
    s.wait_state("T1", &["SUCCEEDED"]);
    let (status, timeline) = s.get("/api/v1/jobs/T1/timeline");
    assert_eq!(status, 200);
    assert_eq!(
        starts(&timeline),
        vec![
            row("T1", "S RUNNING", "rule", Some("R1")),
            row("T1", "S RUNNING", "recovery", None),
            row("T1", "F RUNNING", "rule", Some("R2")),
            row("T1", "F RUNNING", "restart", Some("R2")),
        ]
    );
    // The CLI table shows the columns.
    let out = s.cli(&["timeline", "T1", "-o", "wide"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("STARTED_BY") && text.contains("BY_RULE"),
        "{text}"
    );
    assert!(text.contains("recovery"), "{text}");
}
