//! Changing a running chain from the CLI (`--server` and `--db`) and the HTTP API: the
//! stalled-job repair (define-rule, evaluate), durability across a restart of `serve`, the
//! file winning over stored changes, drop-rule / drop-step / alter-chain, step timeouts.

mod server_support;

use serde_json::json;
use server_support::*;
use std::process::Command;
use std::time::{Duration, Instant};

const STALLS: &str = "program P { builtin noop; }
program SLOW { shell 'sleep 30'; }
chain C {
  step A program P;
  step B program P;
  step X program P;
  rule R1 when TRUE then START A;
  rule R3 when B SUCCEEDED then END;
}
chain T {
  step S program SLOW with timeout 1s;
  rule T1 when TRUE then START S;
  rule T2 when S COMPLETED then END S.ERROR_CODE;
}
";

fn out(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_stalled_job_is_repaired_with_define_rule_and_the_rule_survives_a_restart() {
    let s = Server::start(STALLS);
    let job = s.start_job(json!({ "chain": "C", "job": "J" }));
    s.wait_state(&job, &["CHAIN_STALLED"]);
    let o = s.cli(&["define-rule", "C", "rule R2 when A SUCCEEDED then START B;"]);
    assert!(o.status.success(), "{}", out(&o));
    assert!(
        out(&o).contains("rule R2 of chain C defined"),
        "{}",
        out(&o)
    );
    let o = s.cli(&["evaluate", "J"]);
    assert!(o.status.success(), "{}", out(&o));
    let row = s.wait_state("J", &["SUCCEEDED", "FAILED", "STOPPED"]);
    assert_eq!(row["state"], "SUCCEEDED", "{row}");
    // The catalog views show the rule the job used.
    let (_, rules) = s.get("/api/v1/chains/C/rules");
    assert!(rules.to_string().contains("R2"), "{rules}");
    // A restart of serve keeps the rule for the next run.
    let s = s.restart(&[]);
    s.start_job(json!({ "chain": "C", "job": "J2" }));
    let row = s.wait_state("J2", &["SUCCEEDED", "FAILED", "STOPPED", "CHAIN_STALLED"]);
    assert_eq!(row["state"], "SUCCEEDED", "{row}");
    // The chain's file changes: the file wins (with a warning), R2 is gone again.
    std::fs::write(
        s.rules.join("main.chain"),
        STALLS.replace("rule R3 when B", "rule R3 when B SUCCEEDED or X"),
    )
    .unwrap();
    let (status, v) = s.post("/api/v1/reload", json!({}));
    assert_eq!(status, 200, "{v}");
    let (_, rules) = s.get("/api/v1/chains/C/rules");
    assert!(!rules.to_string().contains("\"R2\""), "{rules}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !s.stderr.lock().unwrap().contains("the file wins") {
        assert!(
            Instant::now() < deadline,
            "no warning: {}",
            s.stderr.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn define_rule_errors_point_into_the_text_with_the_nearest_name() {
    let s = Server::start(STALLS);
    let o = s.cli(&[
        "define-rule",
        "C",
        "rule R2\n  when AA SUCCEEDED then START B;",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let text = out(&o);
    assert!(text.contains("<rule>:2:8"), "{text}");
    assert!(text.contains("did you mean A?"), "{text}");
    let (status, v) = s.post(
        "/api/v1/chains/C/rules/define",
        json!({ "rule": "rule R2 when A SUCCEEDED then START BB;" }),
    );
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["code"], "bad_rule");
    assert_eq!(v["error"]["diagnostics"][0]["line"], 1, "{v}");
    assert_eq!(v["error"]["diagnostics"][0]["suggestion"], "B", "{v}");
    let (_, api) = s.get("/openapi.json");
    for path in [
        "/api/v1/chains/{chain}/rules/define",
        "/api/v1/chains/{chain}/rules/{rule}/drop",
        "/api/v1/chains/{chain}/steps/{step}/alter",
        "/api/v1/chains/{chain}/steps/{step}/drop",
    ] {
        assert!(
            api["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    let (status, v) = s.post(
        "/api/v1/chains/CC/rules/define",
        json!({ "rule": "rule R2 when TRUE then END;" }),
    );
    assert_eq!(status, 404, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean C?"),
        "{v}"
    );
}

#[test]
fn drop_step_is_refused_while_a_job_runs_the_chain_unless_forced() {
    let s = Server::start(STALLS);
    let job = s.start_job(json!({ "chain": "C", "job": "J" }));
    s.wait_state(&job, &["CHAIN_STALLED"]);
    let o = s.cli(&["drop-step", "C", "X"]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(out(&o).contains("job(s) J"), "{}", out(&o));
    let (status, v) = s.post("/api/v1/chains/C/steps/B/drop", json!({ "force": true }));
    assert_eq!(status, 400, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("R3"),
        "{v}"
    );
    let o = s.cli(&["drop-step", "C", "X", "--force"]);
    assert!(o.status.success(), "{}", out(&o));
    let (_, steps) = s.get("/api/v1/chains/C/steps");
    assert!(!steps.to_string().contains("\"X\""), "{steps}");
    // The running job keeps its step.
    let (_, js) = s.get("/api/v1/jobs/J/steps");
    assert!(js.to_string().contains("\"X\""), "{js}");
    let o = s.cli(&["drop-rule", "C", "R3"]);
    assert!(o.status.success(), "{}", out(&o));
    let (status, v) = s.post("/api/v1/chains/C/rules/R3/drop", json!({}));
    assert_eq!(status, 400, "{v}");
    let (status, v) = s.post("/api/v1/chains/C/steps/A/alter", json!({ "timeout": "5x" }));
    assert_eq!(status, 400, "{v}");
    let o = s.cli(&[
        "alter-chain",
        "C",
        "A",
        "--set",
        "timeout=30m",
        "--set",
        "restart_on_failure=true",
    ]);
    assert!(o.status.success(), "{}", out(&o));
    let o = s.cli(&["alter", "J", "A", "--set", "restart_on_recovery=true"]);
    assert!(o.status.success(), "{}", out(&o));
    let (_, js) = s.get("/api/v1/jobs/J/steps");
    assert!(
        js.to_string().contains("\"restart_on_recovery\":\"TRUE\""),
        "{js}"
    );
}

#[test]
fn a_program_step_past_its_timeout_is_killed_and_fails_124() {
    let s = Server::start(STALLS);
    let t0 = Instant::now();
    let job = s.start_job(json!({ "chain": "T", "job": "TJ" }));
    let row = s.wait_state(&job, &["SUCCEEDED", "FAILED", "STOPPED"]);
    assert_eq!(row["error_code"], 124, "{row}");
    assert!(t0.elapsed() < Duration::from_secs(20));
    let (_, log) = s.get("/api/v1/log");
    assert!(log.to_string().contains("\"error_code\":124"), "{log}");
}

#[test]
fn define_rule_with_db_repairs_a_stalled_job_in_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write_rules(dir.path(), STALLS);
    let db = dir.path().join("db");
    let local = |args: &[&str]| {
        Command::new(bin())
            .args(args)
            .arg("--db")
            .arg(&db)
            .env_remove("CHAINSCHED_SERVER")
            .output()
            .unwrap()
    };
    let o = Command::new(bin())
        .arg("run")
        .arg(&rules)
        .args(["--chain", "C", "--job", "J"])
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(out(&o).contains("CHAIN_STALLED"), "{}", out(&o));
    let o = local(&["define-rule", "C", "rule R2 when A SUCCEEDED then START B;"]);
    assert!(o.status.success(), "{}", out(&o));
    let o = local(&["evaluate", "J"]);
    assert!(o.status.success(), "{}", out(&o));
    let o = local(&["jobs", "--format", "json"]);
    assert!(out(&o).contains("SUCCEEDED"), "{}", out(&o));
}
