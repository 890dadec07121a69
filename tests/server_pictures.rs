//! The data behind the dashboard's pictures, through the HTTP API and the CLI as a user gets
//! them: a job's Gantt (retries as bars of their own, the starting rule, the critical path), a
//! chain's history over its last N runs (`GET /api/v1/chains/{chain}/history`, and
//! `chainsched stats --chain C --runs N` from the service and from the store), the landing
//! page's overview (counters, hours, groups), and the chain graph with nested chains collapsed.

mod server_support;

use serde_json::{json, Value};
use server_support::*;

const MORE: &str = r#"
group BATCH { max_running 1; }
chain RETRY {
    step A program OK;
    step F program BAD with restart_on_failure(retries 2, delay 100ms);
    rule GO when TRUE then START A;
    rule NEXT when A SUCCEEDED then START F;
    rule FIN when F COMPLETED then END;
}
"#;

fn bars(g: &Value) -> Vec<(String, u64, String)> {
    g["bars"]
        .as_array()
        .expect("bars")
        .iter()
        .map(|b| {
            (
                b["step_job_subname"].as_str().unwrap_or("").to_string(),
                b["run"].as_u64().unwrap_or(0),
                b["state"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn gantt_history_and_overview_through_the_api_and_the_cli() {
    let rules = format!("{RULES}\n{MORE}");
    let mut s = Server::start_with(&rules, &["--rate-limit", "0"], Some(TOKEN));
    for j in ["D1", "D2", "D3"] {
        s.start_job(json!({ "chain": "DEMO", "job": j }));
        s.wait_state(j, &["SUCCEEDED"]);
    }
    s.start_job(json!({ "chain": "STALLS", "job": "ST1" }));
    s.wait_state("ST1", &["CHAIN_STALLED"]);
    s.start_job(json!({ "chain": "SLOW", "job": "SL1", "group": "BATCH" }));
    s.start_job(json!({ "chain": "SLOW", "job": "SL2", "group": "BATCH" }));
    s.wait_state("SL1", &["RUNNING"]);
    s.wait_state("SL2", &["ENQUEUED"]);

    // Gantt of a finished 3-step job: one bar per step, in step order, all SUCCEEDED; A
    // started by START_IT, B and C by R2; A → C (the longer one) → … is the critical path.
    let (status, g) = s.get("/api/v1/jobs/D1/gantt");
    assert_eq!(status, 200, "{g}");
    assert_eq!(
        bars(&g),
        vec![
            ("A".to_string(), 1, "SUCCEEDED".to_string()),
            ("B".to_string(), 1, "SUCCEEDED".to_string()),
            ("C".to_string(), 1, "SUCCEEDED".to_string())
        ]
    );
    let b = &g["bars"];
    assert_eq!(b[0]["rule_name"], "START_IT");
    assert_eq!(b[1]["rule_name"], "R2");
    assert!(b[1]["actual_start_date"].is_string(), "B is a process: {g}");
    assert_eq!(b[0]["critical"], true);
    assert_eq!(b[2]["critical"], true, "C (300 ms) ends last");
    assert_eq!(b[1]["critical"], false, "B ends before C");
    assert_eq!(g["rows"].as_array().map(Vec::len), Some(3));

    // A retried step: a bar per attempt on one row, each retry after its wait.
    s.start_job(json!({ "chain": "RETRY", "job": "RT1" }));
    s.wait_state("RT1", &["SUCCEEDED", "FAILED"]);
    let (_, g) = s.get("/api/v1/jobs/RT1/gantt");
    let f_runs: Vec<(u64, String)> = bars(&g)
        .into_iter()
        .filter(|b| b.0 == "F")
        .map(|b| (b.1, b.2))
        .collect();
    assert_eq!(
        f_runs,
        vec![
            (1, "FAILED".to_string()),
            (2, "FAILED".to_string()),
            (3, "FAILED".to_string())
        ],
        "{g}"
    );
    let f: Vec<&Value> = g["bars"]
        .as_array()
        .expect("bars")
        .iter()
        .filter(|b| b["step_job_subname"] == "F")
        .collect();
    assert!(f[0]["scheduled_date"].is_null());
    assert!(f[1]["scheduled_date"].is_string(), "the retry waited: {g}");
    assert_eq!(f[1]["operation"], "RETRY_RUN");
    assert_eq!(f[2]["rule_name"], "NEXT");

    // A nested chain's steps are rows of their own, indented under their step.
    s.start_job(json!({ "chain": "OUTER", "job": "O1" }));
    s.wait_state("O1", &["RUNNING"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_, g) = s.get("/api/v1/jobs/O1/gantt");
        let rows = g["rows"].as_array().cloned().unwrap_or_default();
        if let Some(r) = rows.iter().find(|r| r["step_job_subname"] == "N.I1") {
            assert_eq!(r["depth"], 1);
            assert_eq!(r["parent_subname"], "N");
            let w = rows
                .iter()
                .find(|r| r["step_job_subname"] == "W")
                .expect("W");
            assert_eq!(w["kind"], "EVENT");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no nested row: {g}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    let (status, e) = s.get("/api/v1/jobs/NOPE/gantt");
    assert_eq!(status, 404, "{e}");
    let (status, _) = s.get("/api/v1/jobs/D1/gantt?zz=1");
    assert_eq!(status, 400);

    // History: the last 2 of 3 DEMO runs; the step series line up with the runs.
    let (status, h) = s.get("/api/v1/chains/DEMO/history?runs=2");
    assert_eq!(status, 200, "{h}");
    let runs: Vec<&str> = h["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| r["job_name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(runs, ["D2", "D3"]);
    assert_eq!(h["run_count"], 2);
    assert_eq!(h["success_rate"], 1.0);
    assert!(h["p50_run_duration"].as_f64().is_some_and(|p| p >= 0.3));
    let c = h["steps"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["step_job_subname"] == "C"))
        .expect("step C");
    assert_eq!(c["durations"].as_array().map(Vec::len), Some(2));
    for (q, want) in [("runs=0", 400), ("runs=x", 400), ("zz=1", 400)] {
        let (status, _) = s.get(&format!("/api/v1/chains/DEMO/history?{q}"));
        assert_eq!(status, want, "{q}");
    }
    let (status, _) = s.get("/api/v1/chains/NOPE/history");
    assert_eq!(status, 404);

    // The CLI prints the same numbers from the service.
    let out = s.cli(&[
        "stats", "--chain", "DEMO", "--runs", "2", "--format", "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(cli, h, "the CLI shows the API's history");
    let out = s.cli(&["stats", "--chain", "DEMO", "--runs", "2"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("chain DEMO: last 2 finished runs (asked 2): 2 succeeded")
            && text.contains("success rate 100.0%"),
        "{text}"
    );
    let out = s.cli(&["stats", "--runs", "2"]);
    assert_eq!(out.status.code(), Some(2), "--runs needs --chain");

    // Overview: counters, a day of hours, the group with its limit and queue.
    let (status, o) = s.get("/api/v1/overview");
    assert_eq!(status, 200, "{o}");
    assert!(o["running"].as_u64().is_some_and(|n| n >= 2), "{o}");
    assert_eq!(o["queued"], 1);
    assert_eq!(o["stalled"], 1);
    assert!(o["succeeded_24h"].as_u64().is_some_and(|n| n >= 3), "{o}");
    assert_eq!(o["hours"].as_array().map(Vec::len), Some(24));
    let last = &o["hours"][23];
    assert!(last["succeeded"].as_u64().is_some_and(|n| n >= 3), "{o}");
    assert_eq!(
        o["groups"],
        json!([{ "group_name": "BATCH", "max_running": 1, "running": 1, "queued": 1 }])
    );

    // The graph with its nested chain, and collapsed.
    let (status, _, svg) = s.get_text("/api/v1/chains/OUTER/graph.svg");
    assert_eq!(status, 200);
    assert!(svg.contains(r#"data-step="N.I1""#) && svg.contains(r#"class="cluster""#));
    let (_, _, folded) = s.get_text("/api/v1/chains/OUTER/graph.svg?collapse=N");
    assert!(!folded.contains("N.I1") && folded.contains(r#"data-step="N" data-nested="N""#));
    let (status, _, _) = s.get_text("/api/v1/chains/OUTER/graph.svg?zz=1");
    assert_eq!(status, 400);

    // From the store, once the service has stopped: the same history.
    let (_, _) = s.post("/api/v1/jobs/SL1/stop", json!({}));
    let (_, _) = s.post("/api/v1/jobs/SL2/stop", json!({}));
    let (code, err) = s.terminate();
    assert_eq!(code, Some(0), "{err}");
    let out = std::process::Command::new(bin())
        .args([
            "stats", "--chain", "DEMO", "--runs", "2", "--format", "json", "--db",
        ])
        .arg(&s.db)
        .env_remove("CHAINSCHED_SERVER")
        .output()
        .expect("run the CLI");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let local: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(local, h, "the store gives the same history");
}
