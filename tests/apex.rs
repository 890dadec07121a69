//! The APEX / Flows for APEX features through a real `chainsched serve` and the CLI:
//! notifications (webhook to a local receiver, retries, delivery after a crash), break points
//! (`start --wait`, `?wait=idle`), the executions view, disabled groups, `on conflict error`,
//! bulk stop and stats per definition and group.

mod browser_support;
mod server_support;

use serde_json::{json, Value};
use server_support::{enc, Server};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A tiny HTTP receiver: every request body (JSON) goes to the channel; answers 200.
fn receiver_on(listener: TcpListener) -> mpsc::Receiver<Value> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let l = line.to_ascii_lowercase();
                if let Some(v) = l.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0u8; len];
            let _ = reader.read_exact(&mut body);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
            if let Ok(v) = serde_json::from_slice(&body) {
                let _ = tx.send(v);
            }
        }
    });
    rx
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn rules(port: u16) -> String {
    format!(
        r#"
program OK  {{ builtin noop; }}
program BAD {{ builtin fail 20001; }}
program NAP {{ builtin sleep 300ms; }}
group PARKED {{ max_running 0; }}

chain FAILS {{
    step A program BAD;
    rule when TRUE then START A;
    rule when A COMPLETED then END 3;
}}

chain WAITS {{
    step A program NAP;
    step W event GO;
    rule when TRUE then START A, W;
    rule when A SUCCEEDED AND W SUCCEEDED then END;
}}

chain ONCE {{
    serialize by KEY on conflict error;
    step W event GO;
    rule when TRUE then START W;
    rule when W SUCCEEDED then END;
}}

job NIGHTLY {{ chain FAILS; }}

notify ONCALL {{
    on FAILED, STEP FAILED;
    for job NIGHTLY;
    webhook 'http://127.0.0.1:{port}/hook';
    retries 20;
    delay 1s;
}}
"#
    )
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn notifications(s: &Server) -> Vec<Value> {
    let (status, v) = s.get("/api/v1/notifications");
    assert_eq!(status, 200, "{v}");
    v.as_array().cloned().unwrap_or_default()
}

#[test]
fn a_failed_job_notifies_a_webhook_with_its_state_and_the_failed_step() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = receiver_on(listener);
    let s = Server::start(&rules(port));
    let job = s.start_job(json!({ "definition": "NIGHTLY", "job": "N1" }));
    s.wait_state(&job, &["FAILED"]);
    let mut messages = [
        got.recv_timeout(Duration::from_secs(20))
            .expect("first notification"),
        got.recv_timeout(Duration::from_secs(20))
            .expect("second notification"),
    ];
    messages.sort_by_key(|m| m["event"].as_str().unwrap_or("").to_string());
    assert_eq!(messages[0]["event"], "FAILED");
    assert_eq!(messages[0]["job_name"], "N1");
    assert_eq!(messages[0]["job_definition"], "NIGHTLY");
    assert_eq!(messages[0]["state"], "FAILED");
    assert_eq!(messages[0]["error_code"], 3);
    assert_eq!(messages[1]["event"], "STEP FAILED");
    assert_eq!(messages[1]["step_name"], "A");
    assert_eq!(messages[1]["step_error_code"], 20001);
    // An ad-hoc run of the chain is not a run of NIGHTLY: no notification.
    let other = s.start_job(json!({ "chain": "FAILS" }));
    s.wait_state(&other, &["FAILED"]);
    wait_until("both rows SENT", || {
        notifications(&s)
            .iter()
            .filter(|n| n["status"] == "SENT")
            .count()
            == 2
    });
    let rows = notifications(&s);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows
        .iter()
        .all(|n| n["job_name"] == "N1" && n["attempts"] == 1));
    // The CLI prints the same view.
    let out = s.cli(&["notifications", "--status", "SENT", "--format", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().map(Vec::len), Some(2), "{v}");
}

#[test]
fn a_notification_owed_before_a_crash_is_sent_by_the_next_engine() {
    let port = free_port();
    let s = Server::start(&rules(port));
    let job = s.start_job(json!({ "definition": "NIGHTLY", "job": "N2" }));
    s.wait_state(&job, &["FAILED"]);
    // Nobody listens: the rows stay PENDING and are retried.
    wait_until("a failed attempt", || {
        notifications(&s)
            .iter()
            .any(|n| n["status"] == "PENDING" && n["attempts"].as_u64() >= Some(1))
    });
    // The engine dies (SIGKILL: nothing is flushed on the way out).
    let (dir, rules_path, db) = {
        let mut s = s;
        let mut child = s.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        (
            std::mem::replace(&mut s.dir, tempfile::tempdir().unwrap()),
            s.rules.clone(),
            s.db.clone(),
        )
    };
    let got = receiver_on(TcpListener::bind(("127.0.0.1", port)).unwrap());
    let s = Server::spawn(dir, rules_path, db, &[], Some(server_support::TOKEN));
    let m = got
        .recv_timeout(Duration::from_secs(30))
        .expect("sent after restart");
    assert_eq!(m["job_name"], "N2");
    wait_until("both rows SENT", || {
        notifications(&s).iter().all(|n| n["status"] == "SENT")
    });
}

#[test]
fn start_waits_for_the_next_break_point() {
    let s = Server::start(&rules(free_port()));
    // HTTP: the job runs A (300ms) and then only waits for event GO.
    let (status, v) = s.post(
        "/api/v1/jobs?wait=idle&timeout=20s",
        json!({ "chain": "WAITS", "job": "B1" }),
    );
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["reached"], "idle", "{v}");
    assert_eq!(v["state"], "RUNNING");
    assert_eq!(v["waiting"], json!(["W waits for event GO"]));
    let (_, steps) = s.get("/api/v1/jobs/B1/steps");
    let a = steps
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["step_name"] == "A")
        .cloned()
        .unwrap();
    assert_eq!(a["state"], "SUCCEEDED", "idle came before A ended: {steps}");
    // --wait end with a timeout: still waiting for GO.
    let out = s.cli(&[
        "start",
        "WAITS",
        "--job",
        "B2",
        "--wait",
        "end",
        "--timeout",
        "1s",
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["timed_out"], true, "{v}");
    assert_eq!(v["state"], "RUNNING");
    let (status, _) = s.post("/api/v1/events", json!({ "name": "GO" }));
    assert_eq!(status, 200);
    s.wait_state("B2", &["SUCCEEDED"]);
    // Bad values are refused before anything starts.
    let (status, v) = s.post("/api/v1/jobs?wait=soon", json!({ "chain": "WAITS" }));
    assert_eq!(status, 400, "{v}");
    let (status, v) = s.post("/api/v1/jobs?timeout=5s", json!({ "chain": "WAITS" }));
    assert_eq!(status, 400, "{v}");
}

#[test]
fn disabled_groups_hold_jobs_bulk_stop_counts_and_stops_them() {
    let s = Server::start(&rules(free_port()));
    for j in ["P1", "P2", "P3"] {
        s.start_job(json!({ "chain": "WAITS", "job": j, "group": "PARKED" }));
    }
    // An ENQUEUED job in a disabled group is a break point.
    let (status, v) = s.post(
        "/api/v1/jobs?wait=idle&timeout=10s",
        json!({ "chain": "WAITS", "job": "P4", "group": "PARKED" }),
    );
    assert_eq!(status, 201);
    assert_eq!(v["state"], "ENQUEUED", "{v}");
    let (_, rows) = s.get("/api/v1/executions?status=ENQUEUED");
    let names: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["job_name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 4, "{rows}");
    assert!(rows
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["state"] == "ENQUEUED"
            && r["group"] == "PARKED"
            && r["queue_wait"].as_f64().is_some()));
    // Without --yes: a count, nothing changes.
    let out = s.cli(&["stop", "--chain", "WAITS", "--state", "ENQUEUED"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("4 ENQUEUED job(s) of chain WAITS would be stopped"),
        "{text}"
    );
    s.wait_state("P1", &["ENQUEUED"]);
    let out = s.cli(&["stop", "--chain", "WAITS", "--state", "ENQUEUED", "--yes"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("4 of 4 ENQUEUED job(s) of chain WAITS stopped"),
        "{text}"
    );
    for j in ["P1", "P2", "P3", "P4"] {
        let row = s.wait_state(j, &["STOPPED"]);
        assert_eq!(row["error_code"], 1013);
    }
    let (_, rows) = s.get("/api/v1/executions?chain=WAITS");
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "ABORTED"),
        "{rows}"
    );
    // stats per group: the four waited, none ran.
    let (_, rows) = s.get("/api/v1/stats/by/group");
    let parked = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "PARKED")
        .cloned()
        .unwrap();
    assert_eq!(parked["jobs"], 4);
    assert_eq!(parked["stopped"], 4);
    assert_eq!(parked["avg_run_duration"], Value::Null, "{parked}");
    assert!(parked["avg_wait_duration"].as_f64().unwrap() > 0.0);
    // A state that cannot be stopped is refused.
    let out = s.cli(&["stop", "--chain", "WAITS", "--state", "SUCCEEDED", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn raising_a_disabled_group_on_reload_admits_its_jobs() {
    let mut s = Server::start(&rules(free_port()));
    s.start_job(json!({ "chain": "WAITS", "job": "R1", "group": "PARKED" }));
    s.wait_state("R1", &["ENQUEUED"]);
    let text = rules(free_port()).replace("max_running 0", "max_running 1");
    std::fs::write(s.rules.join("main.chain"), text).unwrap();
    let (status, v) = s.post("/api/v1/reload", json!({}));
    assert_eq!(status, 200, "{v}");
    s.wait_state("R1", &["RUNNING"]);
    let _ = s.terminate();
}

#[test]
fn serialize_on_conflict_error_refuses_a_second_run_with_a_409() {
    let s = Server::start(&rules(free_port()));
    s.start_job(json!({ "chain": "ONCE", "job": "O1", "parameters": { "KEY": "a" } }));
    let (status, v) = s.post(
        "/api/v1/jobs",
        json!({ "chain": "ONCE", "job": "O2", "parameters": { "KEY": "a" } }),
    );
    assert_eq!(status, 409, "{v}");
    assert_eq!(v["error"]["code"], "serialize_conflict");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("running (O1)"), "{msg}");
    let (status, _) = s.get(&format!("/api/v1/jobs/{}", enc("O2")));
    assert_eq!(status, 404, "a refused start leaves nothing behind");
    // Another key runs at once.
    s.start_job(json!({ "chain": "ONCE", "job": "O3", "parameters": { "KEY": "b" } }));
    s.wait_state("O3", &["RUNNING"]);
}

#[test]
fn stats_by_definition_averages_run_and_wait() {
    let s = Server::start(&rules(free_port()));
    for j in ["D1", "D2"] {
        let job = s.start_job(json!({ "definition": "NIGHTLY", "job": j }));
        s.wait_state(&job, &["FAILED"]);
    }
    let out = s.cli(&["stats", "--by", "definition", "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = v
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "NIGHTLY")
        .cloned()
        .unwrap();
    assert_eq!(row["jobs"], 2);
    assert_eq!(row["failed"], 2);
    assert!(row["avg_run_duration"].as_f64().is_some(), "{row}");
    assert_eq!(row["avg_wait_duration"], 0.0);
}

#[test]
fn check_reports_bad_notify_declarations() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.chain");
    std::fs::write(
        &file,
        "program OK { builtin noop; }\n\
         chain C { step A program OK; rule when TRUE then START A; rule when A COMPLETED then END; }\n\
         notify N1 { on FAILED; webhook 'https://x.example/hook'; }\n\
         notify N2 { on FAILED; }\n\
         notify N4 { on FAILED, FAILED; command '/bin/true'; }\n",
    )
    .unwrap();
    let out = std::process::Command::new(server_support::bin())
        .arg("check")
        .arg(&file)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("plain HTTP only"), "{text}");
    assert!(text.contains("notify N2 sends nothing"), "{text}");
    assert!(text.contains("`on FAILED` is given twice"), "{text}");
    // Names are checked once the file parses.
    std::fs::write(
        &file,
        "notify N3 { on FAILED; for chain NOPE; command '/bin/true'; }\n",
    )
    .unwrap();
    let out = std::process::Command::new(server_support::bin())
        .arg("check")
        .arg(&file)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("unknown chain NOPE in notify N3"), "{text}");
    // A good one passes.
    std::fs::write(
        &file,
        "program OK { builtin noop; }\n\
         chain C { serialize by K on conflict error; step A program OK; rule when TRUE then START A; rule when A COMPLETED then END; }\n\
         group G { max_running 0; }\n\
         notify N { on SUCCEEDED, STEP FAILED, ENQUEUED LONGER THAN 10m, MAX_RUN_DURATION; for chain C; command '/bin/true' 'x'; retries 0; delay 1s; }\n",
    )
    .unwrap();
    let out = std::process::Command::new(server_support::bin())
        .arg("check")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn enqueued_too_long_is_sent_or_skipped_and_a_command_hears_max_run_duration() {
    let dir = tempfile::tempdir().unwrap();
    let seen = dir.path().join("seen.jsonl");
    let rules = format!(
        r#"
program NAP  {{ builtin sleep 300ms; }}
program LONG {{ builtin sleep 2s; }}
group PARKED {{ max_running 0; }}
group ONE    {{ max_running 1; }}
chain SHORT {{ step A program NAP; rule when TRUE then START A; rule when A COMPLETED then END; }}
chain SLOWC {{ step A program LONG; rule when TRUE then START A; rule when A COMPLETED then END; }}
job SLOW {{ chain SLOWC; max_run_duration 500ms; }}
notify LATE {{
    on ENQUEUED LONGER THAN 1s, MAX_RUN_DURATION;
    command '/bin/sh' '-c' 'cat >> {}; echo >> {}';
}}
"#,
        seen.display(),
        seen.display()
    );
    let s = Server::start(&rules);
    // Held in a disabled group: still ENQUEUED after 1s, so the row is sent.
    s.start_job(json!({ "chain": "SHORT", "job": "HELD", "group": "PARKED" }));
    // Queued behind ONE_A for 300ms only: admitted in time, so its row is skipped.
    s.start_job(json!({ "chain": "SHORT", "job": "ONE_A", "group": "ONE" }));
    s.start_job(json!({ "chain": "SHORT", "job": "ONE_B", "group": "ONE" }));
    // Runs 2s with max_run_duration 500ms.
    s.start_job(json!({ "definition": "SLOW", "job": "S1" }));
    wait_until("three final rows", || {
        let rows = notifications(&s);
        rows.len() == 3 && rows.iter().all(|n| n["status"] != "PENDING")
    });
    let rows = notifications(&s);
    let by_job = |j: &str| rows.iter().find(|n| n["job_name"] == j).cloned().unwrap();
    assert_eq!(by_job("HELD")["status"], "SENT", "{rows:?}");
    assert_eq!(by_job("HELD")["event"], "ENQUEUED LONGER THAN 1s");
    assert_eq!(by_job("HELD")["channel"], "COMMAND");
    assert_eq!(by_job("ONE_B")["status"], "SKIPPED", "{rows:?}");
    assert!(by_job("ONE_B")["last_error"]
        .as_str()
        .unwrap()
        .contains("left ENQUEUED"));
    assert_eq!(by_job("S1")["status"], "SENT");
    assert_eq!(by_job("S1")["event"], "MAX_RUN_DURATION");
    let text = std::fs::read_to_string(&seen).unwrap();
    let messages: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(messages.len(), 2, "{text}");
    assert!(messages
        .iter()
        .any(|m| m["job_name"] == "HELD" && m["state"] == "ENQUEUED"));
    assert!(messages.iter().any(|m| m["job_name"] == "S1"
        && m["job_definition"] == "SLOW"
        && m["state"] == "RUNNING"));
}

#[test]
fn executions_show_apex_statuses_and_the_last_status_message() {
    let s = Server::start(
        r#"
program TALK { shell 'echo "::progress 1/4 first"; echo "::status loading rows"; sleep 30'; }
program OK   { builtin noop; }
chain TALKS { step T program TALK; rule when TRUE then START T; rule when T COMPLETED then END; }
chain LATER { step A program OK; rule when TRUE then AFTER 01:00:00 START A; rule when A COMPLETED then END; }
"#,
    );
    s.start_job(json!({ "chain": "TALKS", "job": "T1" }));
    s.start_job(json!({ "chain": "LATER", "job": "L1" }));
    wait_until("T1's status message", || {
        let (_, rows) = s.get("/api/v1/executions?chain=TALKS");
        rows[0]["status_message"] == "loading rows"
    });
    let (_, rows) = s.get("/api/v1/executions?chain=TALKS");
    let t1 = &rows[0];
    assert_eq!(t1["status"], "EXECUTING");
    assert_eq!(t1["sofar"], 1);
    assert_eq!(t1["totalwork"], 4);
    assert!(t1["last_updated"].as_str().unwrap() >= t1["started_at"].as_str().unwrap());
    let (_, rows) = s.get("/api/v1/executions?status=SCHEDULED");
    assert_eq!(rows.as_array().unwrap().len(), 1, "{rows}");
    assert_eq!(rows[0]["job_name"], "L1");
    // The CLI prints the same rows; --status is checked.
    let out = s.cli(&["executions", "--status", "EXECUTING", "--format", "csv"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("JOB_NAME,CHAIN_NAME,STATUS,STATE,STATUS_MESSAGE"),
        "{text}"
    );
    assert!(
        text.contains("T1,TALKS,EXECUTING,RUNNING,loading rows,1,4"),
        "{text}"
    );
    let out = s.cli(&["executions", "--status", "BUSY"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    s.post("/api/v1/jobs/T1/stop", json!({}));
    s.wait_state("T1", &["STOPPED"]);
    let (_, rows) = s.get("/api/v1/executions?chain=TALKS");
    assert_eq!(rows[0]["status"], "ABORTED");
}

#[test]
fn start_with_wait_on_the_embedded_store() {
    let dir = tempfile::tempdir().unwrap();
    let rules = server_support::write_rules(
        dir.path(),
        "program NAP { builtin sleep 200ms; }\n\
         chain WAITS { step A program NAP; step W event GO; rule when TRUE then START A, W; \
         rule when A SUCCEEDED AND W SUCCEEDED then END; }\n",
    );
    let db = dir.path().join("db");
    // Create the store with a catalog: `run` a chain that ends at once is not needed; `serve`
    // writes it, so start one briefly.
    let mut s = Server::spawn(
        tempfile::tempdir().unwrap(),
        rules,
        db.clone(),
        &[],
        Some(server_support::TOKEN),
    );
    let _ = s.terminate();
    let out = std::process::Command::new(server_support::bin())
        .args(["start", "WAITS", "--job", "E1", "--wait", "idle", "--db"])
        .arg(&db)
        .env_remove("CHAINSCHED_SERVER")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(text.trim(), "E1 RUNNING, waiting: W waits for event GO");
}

/// The dashboard's Executions panel in a real browser (headless chromium; skipped, saying so,
/// when it is not installed and not under CI).
#[test]
fn the_dashboard_lists_unfinished_executions_with_apex_statuses() {
    let Some(chrome) = browser_support::chromium_or_skip("apex executions panel") else {
        return;
    };
    let s = Server::start(&rules(free_port()));
    s.start_job(json!({ "chain": "WAITS", "job": "PANEL_RUN" }));
    s.start_job(json!({ "chain": "WAITS", "job": "PANEL_HELD", "group": "PARKED" }));
    s.wait_state("PANEL_RUN", &["RUNNING"]);
    let profile = tempfile::tempdir().unwrap();
    let dom = browser_support::run_chromium(
        &chrome,
        profile.path(),
        &format!("{}/?nolive#/", s.url),
        &["--dump-dom"],
    );
    assert!(
        dom.contains(r#"<span class="count" id="executions-count">2</span>"#),
        "two unfinished executions:\n{dom}"
    );
    let item = |name: &str| {
        let start = dom
            .find(&format!(r#"data-execution="{name}""#))
            .unwrap_or_else(|| panic!("no execution item for {name}:\n{dom}"));
        let end = dom[start..].find("</li>").map_or(dom.len(), |e| start + e);
        dom[start..end].to_string()
    };
    assert!(
        item("PANEL_HELD").contains(">ENQUEUED<"),
        "{}",
        item("PANEL_HELD")
    );
    assert!(
        item("PANEL_RUN").contains(">EXECUTING<"),
        "{}",
        item("PANEL_RUN")
    );
}
