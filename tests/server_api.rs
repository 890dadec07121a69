//! The HTTP API of a real `chainsched serve` process: view shapes, auth, JSON errors,
//! control operations, reload, metrics, the event stream and graceful shutdown.

mod server_support;

use chainsched::views::{
    ChainRow, ChainRuleRow, ChainStepRow, JobLogRow, JobRow, RunDetailsRow, RunningChainRow,
    StatsRow, TimelineRow, ViewRow,
};
use serde_json::{json, Value};
use server_support::*;
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

fn assert_columns<T: ViewRow>(row: &Value) {
    assert_eq!(keys(row), columns(T::COLUMNS), "row: {row}");
}

#[test]
fn every_view_has_the_spec_columns_and_the_values_of_the_run() {
    let s = Server::start(RULES);
    let job = s.start_job(json!({ "chain": "DEMO", "job": "J1", "parameters": { "deptno": 10 } }));
    assert_eq!(job, "J1");
    let row = s.wait_state("J1", &["SUCCEEDED"]);
    assert_columns::<JobRow>(&row);
    assert_eq!(row["chain_name"], "DEMO");
    assert_eq!(row["error_code"], 0);
    assert_eq!(row["parameters"], json!({ "DEPTNO": "10" }));
    assert!(row["run_duration"].as_f64().unwrap() >= 0.3, "{row}");
    assert!(row["started_at"].as_str().unwrap().ends_with('Z'));

    let (status, jobs) = s.get("/api/v1/jobs?state=SUCCEEDED&chain=DEMO&limit=5");
    assert_eq!(status, 200);
    assert_eq!(jobs.as_array().unwrap().len(), 1);
    let (_, none) = s.get("/api/v1/jobs?state=FAILED");
    assert_eq!(none, json!([]));

    // A finished job has no running_chains rows; with history=true its last step states.
    let (_, steps) = s.get("/api/v1/jobs/J1/steps");
    assert_eq!(steps, json!([]));
    let (_, steps) = s.get("/api/v1/jobs/J1/steps?history=true");
    let steps = steps.as_array().unwrap();
    assert_eq!(steps.len(), 3);
    assert_columns::<RunningChainRow>(&steps[0]);
    let b = &steps[1];
    assert_eq!(
        (
            b["step_name"].as_str(),
            b["state"].as_str(),
            b["completed"].as_str()
        ),
        (Some("B"), Some("SUCCEEDED"), Some("TRUE"))
    );
    assert_eq!(
        (b["sofar"].as_u64(), b["totalwork"].as_u64()),
        (Some(3), Some(10))
    );
    assert_eq!(b["status_message"], "copying");

    let (_, log) = s.get("/api/v1/log?job=J1");
    let log = log.as_array().unwrap().clone();
    assert_eq!(log.len(), 4, "three steps and the chain job: {log:?}");
    assert_columns::<JobLogRow>(&log[0]);
    let chain_row = log.iter().find(|r| r["job_subname"].is_null()).unwrap();
    assert_eq!(chain_row["status"], "SUCCEEDED");
    let b_row = log.iter().find(|r| r["job_subname"] == "B").unwrap();
    let (_, details) = s.get(&format!("/api/v1/log/{}", b_row["log_id"]));
    assert_columns::<RunDetailsRow>(&details);
    assert!(
        details["output"]
            .as_str()
            .unwrap()
            .contains("hello from talk"),
        "{details}"
    );
    assert!(
        details["errors"].as_str().unwrap().contains("oops"),
        "{details}"
    );
    assert!(details["pid"].as_u64().is_some());

    let (_, since) = s.get(&format!(
        "/api/v1/log?since_id={}&limit=1",
        log[0]["log_id"]
    ));
    assert_eq!(since.as_array().unwrap()[0]["log_id"], log[1]["log_id"]);

    let (_, tl) = s.get("/api/v1/jobs/J1/timeline");
    let tl = tl.as_array().unwrap();
    assert_columns::<TimelineRow>(&tl[0]);
    assert!(tl
        .iter()
        .any(|r| r["kind"] == "rule_fired" && r["detail"].as_str().unwrap().starts_with("DONE")));

    let (_, stats) = s.get("/api/v1/stats?chain=DEMO");
    let stats = stats.as_array().unwrap();
    assert_columns::<StatsRow>(&stats[0]);
    assert!(stats
        .iter()
        .any(|r| r["step_name"].is_null() && r["runs"] == 1 && r["succeeded"] == 1));

    let (_, chains) = s.get("/api/v1/chains");
    assert_columns::<ChainRow>(&chains[0]);
    let demo = chains
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["chain_name"] == "DEMO")
        .unwrap();
    assert_eq!(
        (
            demo["number_of_steps"].as_u64(),
            demo["number_of_rules"].as_u64()
        ),
        (Some(3), Some(3))
    );
    assert!(demo["source"].as_str().unwrap().contains("main.chain:"));
    let (_, csteps) = s.get("/api/v1/chains/OUTER/steps");
    assert_columns::<ChainStepRow>(&csteps[0]);
    let types: Vec<&str> = csteps
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["step_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["SUBCHAIN", "EVENT"]);
    let (_, rules) = s.get("/api/v1/chains/DEMO/rules");
    assert_columns::<ChainRuleRow>(&rules[0]);
    assert_eq!(rules[2]["condition"], "B SUCCEEDED AND C SUCCEEDED");

    let (status, ct, svg) = s.get_text("/api/v1/chains/DEMO/graph.svg");
    assert_eq!(status, 200);
    assert!(ct.starts_with("image/svg+xml"), "{ct}");
    assert!(svg.starts_with("<svg") && svg.contains("data-step=\"B\""));

    let (status, api) = s.get("/openapi.json");
    assert_eq!(status, 200);
    assert!(api["paths"]["/api/v1/jobs/{job}/alter"]["post"].is_object());
    assert!(api["paths"]["/api/v1/schedules"]["get"].is_object());
    let start_body = &api["paths"]["/api/v1/jobs"]["post"]["requestBody"]["content"]
        ["application/json"]["schema"]["properties"];
    for field in ["chain", "definition", "group", "requested_by"] {
        assert!(start_body[field].is_object(), "{field}: {start_body}");
    }

    // Step starts are counted from the engine's event stream: allow the feed a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    let metrics = loop {
        let (_, _, m) = s.get_text("/metrics");
        if m.contains("chainsched_step_starts_total 3\n") || Instant::now() > deadline {
            break m;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        metrics.contains("chainsched_jobs{state=\"SUCCEEDED\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("chainsched_step_starts_total 3\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("chainsched_evaluation_latency_seconds_count{op=\"start\"} 1\n"),
        "{metrics}"
    );

    let (status, health) = s.get("/healthz");
    assert_eq!((status, health), (200, json!({ "status": "ok" })));
    assert_eq!(s.get("/readyz"), (200, json!({ "status": "ok" })));
    let (status, ct, page) = s.get_text("/");
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/html"));
    assert!(page.contains("chainsched") && page.contains("/api/v1/events/stream"));
}

#[test]
fn nested_rows_link_to_the_outer_step_and_events_complete_waiting_steps() {
    let s = Server::start(RULES);
    let job = s.start_job(json!({ "chain": "OUTER" }));
    assert!(job.starts_with("RUN_CHAIN$_OUTER"), "{job}");
    let path = format!("/api/v1/jobs/{}/steps", enc(&job));
    let (_, rows) = s.get(&path);
    let rows = rows.as_array().unwrap();
    let n = rows.iter().find(|r| r["step_job_subname"] == "N").unwrap();
    let i1 = rows
        .iter()
        .find(|r| r["step_job_subname"] == "N.I1")
        .unwrap();
    assert_eq!(n["job_subname"], Value::Null);
    assert_eq!(i1["job_subname"], n["step_job_subname"]);
    assert_eq!(i1["chain_name"], "INNER");

    // A name no chain declares is refused (issue 12 point 11: tests/service_hardening.rs).
    let (status, v) = s.post("/api/v1/events", json!({ "name": "NOT_AWAITED" }));
    assert_eq!(status, 400, "{v}");
    let (status, v) = s.post(
        "/api/v1/events",
        json!({ "name": "GO", "job": job, "payload": { "k": 1 } }),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["completed_steps"], 1, "{v}");
    s.wait_state(&job, &["SUCCEEDED"]);
    let (_, rows) = s.get(&path);
    assert_eq!(
        rows,
        json!([]),
        "no running_chains rows once the job has ended"
    );
}

#[test]
fn a_stalled_job_is_explained_then_altered_and_evaluated_to_success() {
    let s = Server::start(RULES);
    let job = s.start_job(json!({ "chain": "STALLS", "job": "ST" }));
    let row = s.wait_state(&job, &["CHAIN_STALLED"]);
    assert_eq!(
        row["stall_reason"],
        "A FAILED with 20001; no rule reacts to A failing"
    );
    let (status, e) = s.get("/api/v1/jobs/ST/explain");
    assert_eq!(status, 200);
    assert_eq!(e["state"], "CHAIN_STALLED");
    assert!(e["reason"]
        .as_str()
        .unwrap()
        .contains("A FAILED with 20001; no rule reacts to A failing"));
    let rules = e["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 3);
    assert_eq!(
        (rules[0]["rule_name"].as_str(), rules[0]["fired"].as_bool()),
        (Some("R1"), Some(true))
    );
    assert_eq!(
        rules[1]["predicates"],
        json!([{ "predicate": "A SUCCEEDED", "value": "FALSE" }])
    );
    assert_eq!(
        (rules[1]["value"].as_str(), rules[1]["fired"].as_bool()),
        (Some("FALSE"), Some(false))
    );

    // Alter does not evaluate by itself; evaluate then moves the chain on.
    let (status, v) = s.post(
        "/api/v1/jobs/ST/alter",
        json!({ "step": "A", "state": "SUCCEEDED" }),
    );
    assert_eq!(status, 200, "{v}");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(s.get("/api/v1/jobs/ST").1["state"], "CHAIN_STALLED");
    let (status, _) = s.post("/api/v1/jobs/ST/evaluate", json!({}));
    assert_eq!(status, 200);
    s.wait_state("ST", &["SUCCEEDED"]);
}

#[test]
fn stop_ends_a_job_stopped_and_one_step_can_be_stopped() {
    let s = Server::start(RULES);
    s.start_job(json!({ "chain": "SLOW", "job": "S1" }));
    s.start_job(json!({ "chain": "SLOW", "job": "S2" }));
    let (status, _) = s.post("/api/v1/jobs/S1/stop", json!({}));
    assert_eq!(status, 200);
    let row = s.wait_state("S1", &["STOPPED"]);
    assert!(row["ended_at"].is_string());
    let (status, _) = s.post("/api/v1/jobs/S2/stop", json!({ "step": "A" }));
    assert_eq!(status, 200);
    // A STOPPED counts as COMPLETED: the END rule fires.
    s.wait_state("S2", &["SUCCEEDED"]);
    let (_, log) = s.get("/api/v1/log?job=S2");
    assert!(log
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["job_subname"] == "A" && r["status"] == "STOPPED"));
}

#[test]
fn changes_need_the_bearer_token() {
    let s = Server::start(RULES);
    let body = json!({ "chain": "DEMO" });
    for token in [None, Some("wrong")] {
        let (status, v) = s.post_with("/api/v1/jobs", body.clone(), token);
        assert_eq!(status, 401, "{v}");
        assert_eq!(v["error"]["code"], "unauthorized");
        assert!(v["error"]["message"].is_string());
    }
    assert_eq!(
        s.get("/api/v1/jobs").1,
        json!([]),
        "a refused request changes nothing"
    );
    for path in ["/api/v1/reload", "/api/v1/events", "/api/v1/jobs/X/stop"] {
        assert_eq!(s.post_with(path, json!({}), None).0, 401, "{path}");
    }
    // Reads need no token.
    assert_eq!(s.get("/api/v1/chains").0, 200);
    assert_eq!(s.post_with("/api/v1/jobs", body, Some(TOKEN)).0, 201);
}

#[test]
fn errors_are_json_with_a_4xx_status() {
    let s = Server::start(RULES);
    let check = |(status, v): (u16, Value), want: u16, code: &str| {
        assert_eq!(status, want, "{v}");
        assert_eq!(v["error"]["code"], code, "{v}");
        assert!(!v["error"]["message"].as_str().unwrap().is_empty());
    };
    check(s.get("/api/v1/jobs/NOPE"), 404, "not_found");
    check(s.get("/api/v1/jobs/NOPE/timeline"), 404, "not_found");
    check(s.get("/api/v1/jobs/NOPE/explain"), 404, "not_found");
    check(s.get("/api/v1/log/999"), 404, "not_found");
    check(s.get("/api/v1/log/abc"), 400, "bad_request");
    check(s.get("/api/v1/chains/NOPE/rules"), 404, "not_found");
    check(s.get("/api/v1/chains/NOPE/graph.svg"), 404, "not_found");
    check(s.get("/api/v1/nothing-here"), 404, "not_found");
    check(s.get("/api/v1/jobs?limit=abc"), 400, "bad_request");
    check(s.get("/api/v1/jobs?state=DONE"), 400, "bad_request");
    check(s.get("/api/v1/jobs?since=yesterday"), 400, "bad_request");
    check(s.get("/api/v1/jobs?colour=red"), 400, "bad_request");
    check(
        s.post("/api/v1/jobs", json!({ "chain": "NOPE" })),
        404,
        "not_found",
    );
    let (status, v) = s.post("/api/v1/jobs", json!({ "chain": "DEMX" }));
    assert_eq!(status, 404);
    assert_eq!(
        v["error"]["message"], "unknown chain DEMX (did you mean DEMO?)",
        "{v}"
    );
    let (status, v) = s.post(
        "/api/v1/jobs",
        json!({ "chain": "DEMO", "start_steps": ["AA"] }),
    );
    assert_eq!(status, 404);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .ends_with("has no step AA (did you mean A?)"),
        "{v}"
    );
    check(
        s.post("/api/v1/jobs", json!({ "job": "X" })),
        400,
        "bad_request",
    );
    check(
        s.post("/api/v1/jobs", json!({ "chain": "DEMO", "colour": 1 })),
        400,
        "bad_request",
    );
    check(s.post_raw("/api/v1/jobs", "{not json"), 400, "bad_request");
    check(
        s.post(
            "/api/v1/jobs",
            json!({ "chain": "DEMO", "step_states": { "A": "FAILED" } }),
        ),
        400,
        "bad_request",
    );
    check(
        s.post("/api/v1/jobs/NOPE/evaluate", json!({})),
        404,
        "not_found",
    );
    check(
        s.post("/api/v1/events", json!({ "name": "" })),
        400,
        "bad_request",
    );

    s.start_job(json!({ "chain": "SLOW", "job": "RUNS" }));
    check(
        s.post("/api/v1/jobs", json!({ "chain": "SLOW", "job": "RUNS" })),
        409,
        "job_exists",
    );
    check(
        s.post(
            "/api/v1/jobs/RUNS/alter",
            json!({ "step": "A", "state": "SUCCEEDED" }),
        ),
        409,
        "step_running",
    );
    check(
        s.post("/api/v1/jobs/RUNS/alter", json!({ "step": "A" })),
        400,
        "bad_request",
    );
    check(
        s.post(
            "/api/v1/jobs/RUNS/alter",
            json!({ "step": "A", "state": "FAILED" }),
        ),
        400,
        "bad_request",
    );
    check(
        s.post(
            "/api/v1/jobs/RUNS/alter",
            json!({ "step": "ZZ", "skip": true }),
        ),
        404,
        "not_found",
    );
    assert_eq!(
        s.get("/api/v1/jobs/RUNS/steps").1[0]["state"],
        "RUNNING",
        "refusals change nothing"
    );

    // Refused from the declared length, before any of the body is sent.
    check(
        s.post_declared("/api/v1/jobs", 2 * 1024 * 1024),
        413,
        "payload_too_large",
    );
    assert_eq!(
        s.get("/api/v1/jobs").1.as_array().map(Vec::len),
        Some(1),
        "a refused start changes nothing"
    );
}

#[test]
fn reload_refuses_a_catalog_with_errors_and_keeps_the_old_one() {
    let s = Server::start(RULES);
    std::fs::write(
        s.rules.join("broken.chain"),
        "chain BROKEN { step A program NOPE; }\n",
    )
    .unwrap();
    let (status, v) = s.post("/api/v1/reload", json!({}));
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["error"]["code"], "catalog_errors");
    let diags = v["error"]["diagnostics"].as_array().unwrap();
    let err = diags
        .iter()
        .find(|d| d["severity"] == "error")
        .expect("an error diagnostic");
    assert!(
        err["file"].as_str().unwrap().ends_with("broken.chain"),
        "{err}"
    );
    assert_eq!(err["line"], 1);
    let names = |s: &Server| -> Vec<String> {
        s.get("/api/v1/chains")
            .1
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["chain_name"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(!names(&s).contains(&"BROKEN".to_string()));
    assert_eq!(
        s.post("/api/v1/jobs", json!({ "chain": "DEMO" })).0,
        201,
        "the old catalog still runs"
    );

    std::fs::write(
        s.rules.join("broken.chain"),
        "chain FIXED { step A program OK; rule when TRUE then START A; rule when A COMPLETED then END; }\n",
    )
    .unwrap();
    let (status, v) = s.post("/api/v1/reload", json!({}));
    assert_eq!(status, 200, "{v}");
    assert!(names(&s).contains(&"FIXED".to_string()));
    let job = s.start_job(json!({ "chain": "FIXED" }));
    s.wait_state(&job, &["SUCCEEDED"]);

    // SIGHUP reloads too.
    std::fs::write(
        s.rules.join("more.chain"),
        "chain BY_HUP { step A program OK; rule when TRUE then START A; rule when A COMPLETED then END; }\n",
    )
    .unwrap();
    s.signal(libc::SIGHUP);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !names(&s).contains(&"BY_HUP".to_string()) {
        assert!(Instant::now() < deadline, "SIGHUP did not reload");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn serve_refuses_to_start_with_open_mutations_unless_told() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write_rules(dir.path(), RULES);
    let out = std::process::Command::new(bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--rules"])
        .arg(&rules)
        .arg("--db")
        .arg(dir.path().join("db"))
        .env_remove("CHAINSCHED_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("CHAINSCHED_TOKEN") && err.contains("--insecure-no-auth"),
        "{err}"
    );

    // Rule files with errors: exit 1, naming the file.
    let bad = dir.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(bad.join("x.chain"), "chain X { step A program NOPE; }").unwrap();
    let out = std::process::Command::new(bin())
        .args([
            "serve",
            "--insecure-no-auth",
            "--listen",
            "127.0.0.1:0",
            "--rules",
        ])
        .arg(&bad)
        .arg("--db")
        .arg(dir.path().join("db2"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("x.chain"));

    // --insecure-no-auth: changes without a token; --read-only: changes refused.
    let open = Server::start_with(RULES, &["--insecure-no-auth"], None);
    assert_eq!(
        open.post_with("/api/v1/jobs", json!({ "chain": "DEMO" }), None)
            .0,
        201
    );
    let ro = Server::start_with(RULES, &["--read-only"], None);
    let (status, v) = ro.post_with("/api/v1/jobs", json!({ "chain": "DEMO" }), None);
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (403, Some("read_only"))
    );
}

#[test]
fn the_rate_limit_answers_429_with_retry_after() {
    let s = Server::start_with(RULES, &["--rate-limit", "2"], Some(TOKEN));
    let mut limited = None;
    for _ in 0..20 {
        match ureq::get(&format!("{}/api/v1/chains", s.url)).call() {
            Ok(_) => {}
            Err(ureq::Error::Status(429, r)) => {
                limited = Some((
                    r.header("Retry-After").map(String::from),
                    r.into_json::<Value>().unwrap(),
                ));
                break;
            }
            Err(e) => panic!("{e}"),
        }
    }
    let (retry, body) = limited.expect("the limit was reached");
    assert!(retry.is_some());
    assert_eq!(body["error"]["code"], "rate_limited");
    assert_eq!(s.get("/healthz").0, 200, "health is not rate limited");
}

#[test]
fn the_event_stream_reports_job_and_step_changes() {
    let s = Server::start(RULES);
    let resp = ureq::get(&format!("{}/api/v1/events/stream", s.url))
        .call()
        .unwrap();
    assert!(resp.content_type().starts_with("text/event-stream"));
    let mut lines = BufReader::new(resp.into_reader()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "event: ready");
    s.start_job(json!({ "chain": "DEMO", "job": "LIVE" }));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut event = String::new();
        for line in lines.map_while(Result::ok) {
            if let Some(e) = line.strip_prefix("event: ") {
                event = e.to_string();
            } else if let Some(d) = line.strip_prefix("data: ") {
                if tx.send((event.clone(), d.to_string())).is_err() {
                    break;
                }
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let (mut saw_step_running, mut saw_log) = (false, false);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let (event, data) = rx.recv_timeout(left).expect("the job's end was streamed");
        let v: Value = serde_json::from_str(&data).unwrap();
        match event.as_str() {
            "step" if v["job_name"] == "LIVE" && v["state"] == "RUNNING" => saw_step_running = true,
            "log" if v["job_name"] == "LIVE" => saw_log = true,
            "job" if v["job_name"] == "LIVE" && v["state"] == "SUCCEEDED" => break,
            _ => {}
        }
    }
    assert!(saw_step_running && saw_log);
}

#[test]
fn sigterm_stops_gracefully_with_an_open_stream_and_loses_no_write() {
    let mut s = Server::start(RULES);
    let _stream = ureq::get(&format!("{}/api/v1/events/stream", s.url))
        .call()
        .unwrap();
    let mut names = Vec::new();
    for i in 0..20 {
        names.push(s.start_job(json!({ "chain": "STALLS", "job": format!("G{i}") })));
    }
    let started = Instant::now();
    let (code, err) = s.terminate();
    assert_eq!(code, Some(0), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(err.contains("stopped"), "{err}");
    // Every acknowledged start is in the store.
    let out = std::process::Command::new(bin())
        .args(["jobs", "--format", "json", "--db"])
        .arg(&s.db)
        .env_remove("CHAINSCHED_SERVER")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    for n in names {
        assert!(rows.iter().any(|r| r["job_name"] == n.as_str()), "{n} lost");
    }
}

#[test]
fn start_through_a_job_definition_queues_beyond_the_group_limit() {
    let rules = format!(
        "{RULES}\ngroup ONE {{ max_running 1; }}\njob SLOW_DEF {{ chain SLOW; group ONE; }}\n"
    );
    let s = Server::start(&rules);
    // No chain given: the definition names it.
    let (code, first) = s.post(
        "/api/v1/jobs",
        json!({"definition": "SLOW_DEF", "job": "Q1", "requested_by": "bob"}),
    );
    assert_eq!(code, 201, "{first}");
    let q1 = s.wait_state("Q1", &["RUNNING"]);
    assert_eq!(q1["requested_by"], "bob", "{q1}");
    let (code, second) = s.post(
        "/api/v1/jobs",
        json!({"definition": "SLOW_DEF", "job": "Q2"}),
    );
    assert_eq!(code, 201, "{second}");
    let q2 = s.wait_state("Q2", &["ENQUEUED"]);
    assert_eq!(q2["group"], "ONE", "{q2}");
    // Stopping the running job frees the slot: the queued one is admitted.
    let (code, body) = s.post("/api/v1/jobs/Q1/stop", json!({}));
    assert_eq!(code, 200, "{body}");
    s.wait_state("Q2", &["RUNNING"]);
    // Neither a chain nor a definition: a clear 400.
    let (code, err) = s.post("/api/v1/jobs", json!({"job": "Q3"}));
    assert_eq!(code, 400, "{err}");
    assert!(err["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("definition"));
}

/// POST /api/v1/jobs with an Idempotency-Key: (status, replayed header, body).
fn start_with_key(s: &Server, key: &str, body: Value) -> (u16, bool, Value) {
    let req = ureq::post(&format!("{}/api/v1/jobs", s.url))
        .set("Authorization", &format!("Bearer {TOKEN}"))
        .set("Idempotency-Key", key);
    match req.send_json(body) {
        Ok(r) | Err(ureq::Error::Status(_, r)) => {
            let replayed = r.header("idempotent-replayed") == Some("true");
            (r.status(), replayed, r.into_json().unwrap_or(Value::Null))
        }
        Err(e) => panic!("start: {e}"),
    }
}

#[test]
fn starts_are_idempotent_and_an_ended_jobs_name_is_not_reused_silently() {
    let s = Server::start(RULES);
    // A client that lost the answer sends the same request with the same key: same answer,
    // one run.
    let (status, replayed, first) = start_with_key(&s, "req-1", json!({ "chain": "DEMO" }));
    assert_eq!((status, replayed), (201, false), "{first}");
    let (status, replayed, again) = start_with_key(&s, "req-1", json!({ "chain": "DEMO" }));
    assert_eq!((status, replayed, &again), (201, true, &first));
    let (_, jobs) = s.get("/api/v1/jobs?chain=DEMO");
    assert_eq!(jobs.as_array().map(Vec::len), Some(1), "{jobs}");
    // The same key with another request is a client error.
    let (status, _, e) = start_with_key(&s, "req-1", json!({ "chain": "SLOW" }));
    assert_eq!(status, 422, "{e}");
    assert_eq!(e["error"]["code"], "idempotency_key_reused");
    let (status, _, e) = start_with_key(&s, "bad key", json!({ "chain": "DEMO" }));
    assert_eq!(status, 400, "{e}");
    assert!(e["error"]["message"]
        .as_str()
        .unwrap_or("")
        .contains("Idempotency-Key"));
    // A refusal is replayed too.
    let (status, _, e) = start_with_key(&s, "req-2", json!({ "chain": "NOPE" }));
    assert_eq!(status, 404, "{e}");
    let (status, replayed, e2) = start_with_key(&s, "req-2", json!({ "chain": "NOPE" }));
    assert_eq!((status, replayed, &e2), (404, true, &e));

    // An ended job's name: refused (409) unless replace.
    s.start_job(json!({ "chain": "DEMO", "job": "NIGHTLY" }));
    s.wait_state("NIGHTLY", &["SUCCEEDED"]);
    let (status, e) = s.post(
        "/api/v1/jobs",
        json!({ "chain": "STALLS", "job": "NIGHTLY" }),
    );
    assert_eq!(status, 409, "{e}");
    assert_eq!(e["error"]["code"], "job_name_taken");
    let msg = e["error"]["message"].as_str().unwrap_or("");
    assert!(
        msg.contains("NIGHTLY") && msg.contains("SUCCEEDED") && msg.contains("replace"),
        "{msg}"
    );
    let (_, row) = s.get("/api/v1/jobs/NIGHTLY");
    assert_eq!(
        row["chain_name"], "DEMO",
        "the ended run's records are kept: {row}"
    );
    let job = s.start_job(json!({ "chain": "STALLS", "job": "NIGHTLY", "replace": true }));
    assert_eq!(job, "NIGHTLY");
    let row = s.wait_state("NIGHTLY", &["CHAIN_STALLED"]);
    assert_eq!(row["chain_name"], "STALLS");
    // A running job's name stays refused, replace or not.
    let (status, e) = s.post(
        "/api/v1/jobs",
        json!({ "chain": "DEMO", "job": "NIGHTLY", "replace": true }),
    );
    assert_eq!(status, 409, "{e}");
    assert_eq!(e["error"]["code"], "job_exists");
}

#[test]
fn bad_input_is_refused_with_a_4xx_naming_the_field() {
    let s = Server::start(RULES);
    // Numbers are taken as written, never through a float.
    let big = "123456789012345678901234567890";
    let body = format!(
        r#"{{"chain": "SLOW", "job": "P1", "parameters": {{"big": {big}, "ratio": 1.50, "flag": true, "s": "x"}}}}"#
    );
    let (status, v) = s.post_raw("/api/v1/jobs", &body);
    assert_eq!(status, 201, "{v}");
    let (_, row) = s.get("/api/v1/jobs/P1");
    let params = row["parameters"].to_string();
    assert!(
        params.contains(big) && params.contains("1.50") && params.contains("true"),
        "{row}"
    );

    let refused: &[(Value, &str)] = &[
        (
            json!({ "chain": "DEMO", "parameters": { "P": { "a": 1 } } }),
            "parameters.P",
        ),
        (
            json!({ "chain": "DEMO", "parameters": { "P": [1] } }),
            "parameters.P",
        ),
        (
            json!({ "chain": "DEMO", "parameters": { "P": null } }),
            "parameters.P",
        ),
        (
            json!({ "chain": "DEMO", "parameters": { "": "x" } }),
            "parameters",
        ),
        (
            json!({ "chain": "DEMO", "parameters": { "A B": "x" } }),
            "parameters",
        ),
        (
            json!({ "chain": "DEMO", "group": "NO_SUCH_GROUP" }),
            "group",
        ),
        (
            json!({ "chain": "DEMO", "job": "J".repeat(500_000) }),
            "job",
        ),
        (
            json!({ "chain": "DEMO", "job": "bad\u{1b}[31mname" }),
            "job",
        ),
        (json!({ "chain": "DEMO", "job": "line\nbreak" }), "job"),
    ];
    for (body, field) in refused {
        let (status, e) = s.post("/api/v1/jobs", body.clone());
        let shown: String = body.to_string().chars().take(80).collect();
        assert_eq!(status, 400, "{shown}: {e}");
        let msg = e["error"]["message"].as_str().unwrap_or("");
        assert!(
            msg.starts_with(field),
            "{shown}: the message names {field}: {msg}"
        );
        assert!(
            msg.len() < 400,
            "the message does not echo a huge value: {}",
            msg.len()
        );
    }
    let (_, jobs) = s.get("/api/v1/jobs?chain=DEMO");
    assert_eq!(
        jobs.as_array().map(Vec::len),
        Some(0),
        "nothing started: {jobs}"
    );

    // A body that is not an object; a null step on stop (it stopped the whole job).
    let (status, e) = s.post_raw("/api/v1/reload", "[]");
    assert_eq!(status, 400, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("JSON object"),
        "{e}"
    );
    let (status, e) = s.post("/api/v1/jobs/P1/stop", json!({ "step": null }));
    assert_eq!(status, 400, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("step"),
        "{e}"
    );
    let (status, e) = s.post(
        "/api/v1/jobs/P1/alter",
        json!({ "step": null, "pause": true }),
    );
    assert_eq!(status, 400, "{e}");
    let (_, row) = s.get("/api/v1/jobs/P1");
    assert_eq!(row["state"], "RUNNING", "the job goes on: {row}");
    // Leaving `step` out still means the whole job (the CLI's `stop JOB`).
    let out = s.cli(&["stop", "P1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    s.wait_state("P1", &["STOPPED"]);
}

/// (path, method) of every route the router declares, read from src/server/mod.rs.
fn declared_routes() -> Vec<(String, String)> {
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/server/mod.rs"))
        .expect("src/server/mod.rs");
    let api_start = src.find("let api = Router::new()").expect("the api router");
    let api_end = api_start + src[api_start..].find(';').expect("end of the api router");
    let mut routes = Vec::new();
    let mut at = 0;
    // `.route("path", handlers)`, on one line or split by rustfmt over several.
    while let Some(i) = src[at..].find(".route(") {
        let open = at + i + 7;
        let Some(quote) = src[open..].find('"') else {
            break;
        };
        let start = open + quote + 1;
        let end = start + src[start..].find('"').expect("route path");
        // The handlers: up to the next route, or the end of the router's statement.
        let rest = &src[end..];
        let line_end = end
            + rest
                .find(".route(")
                .into_iter()
                .chain(rest.find(';'))
                .min()
                .unwrap_or(rest.len());
        let path = &src[start..end];
        let full = if (api_start..api_end).contains(&start) {
            format!("/api/v1{path}")
        } else {
            path.to_string()
        };
        for method in ["get", "post"] {
            let handlers = &src[end..line_end];
            if handlers.contains(&format!("{method}(")) {
                routes.push((full.clone(), method.to_string()));
            }
        }
        at = end;
    }
    routes.sort();
    routes
}

#[test]
fn the_openapi_document_agrees_with_the_service() {
    let s = Server::start_with(RULES, &["--rate-limit", "0"], Some(TOKEN));
    let (_, doc) = s.get("/openapi.json");
    let paths = doc["paths"].as_object().expect("paths");
    let mut documented: Vec<(String, String)> = paths
        .iter()
        .flat_map(|(p, item)| {
            item.as_object()
                .into_iter()
                .flat_map(move |m| m.keys().map(move |k| (p.clone(), k.clone())))
        })
        .collect();
    documented.sort();
    assert_eq!(
        documented,
        declared_routes(),
        "every route documented, nothing more"
    );

    // Ended job, stalled job and a log id to fill path parameters with.
    s.start_job(json!({ "chain": "DEMO", "job": "OK1" }));
    s.wait_state("OK1", &["SUCCEEDED"]);
    s.start_job(json!({ "chain": "STALLS", "job": "ST1" }));
    s.wait_state("ST1", &["CHAIN_STALLED"]);
    let fill = |path: &str, bad: bool| {
        let v = |good: &str| if bad { "NOPE%0A" } else { good }.to_string();
        path.replace("{job}", &v("ST1"))
            .replace("{chain}", &v("DEMO"))
            .replace("{log_id}", &if bad { "x".into() } else { "1".to_string() })
    };
    let mut checked = 0;
    for (path, method) in &documented {
        let op = &doc["paths"][path][method];
        for p in op["parameters"].as_array().into_iter().flatten() {
            if p["in"] == "path" {
                assert!(path.contains(&format!("{{{}}}", p["name"].as_str().unwrap_or(""))));
            }
        }
        for name in path
            .split('{')
            .skip(1)
            .filter_map(|r| r.split_once('}'))
            .map(|(n, _)| n)
        {
            let declared = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["in"] == "path" && p["name"] == name);
            assert!(
                declared,
                "{method} {path}: path parameter {name} not documented"
            );
        }
        if path.ends_with("/stream") {
            continue; // an endless stream: covered by its own test
        }
        let mut requests: Vec<(String, Option<&str>, Option<&str>)> = Vec::new();
        if method == "get" {
            requests.push((fill(path, false), None, None));
            if path.contains('{') {
                requests.push((fill(path, true), None, None));
            }
            if path.starts_with("/api/") {
                requests.push((format!("{}?zz=1", fill(path, false)), None, None));
                requests.push((
                    format!("{}?limit=-1&since=yesterday", fill(path, false)),
                    None,
                    None,
                ));
            }
        } else {
            assert_eq!(
                op["requestBody"]["content"]["application/json"]["schema"]["additionalProperties"],
                json!(false),
                "{method} {path}: unknown members are refused"
            );
            for body in [
                "{}",
                "{\"zz\": 1}",
                "[]",
                "{",
                "{\"name\": \"GO\", \"step\": null}",
            ] {
                requests.push((fill(path, false), Some(body), Some(TOKEN)));
                requests.push((fill(path, true), Some(body), Some(TOKEN)));
            }
            requests.push((fill(path, false), Some("{}"), None));
            requests.push((fill(path, false), Some("{}"), Some("wrong")));
        }
        for (url, body, token) in requests {
            let full = format!("{}{url}", s.url);
            let mut req = ureq::request(&method.to_uppercase(), &full);
            if let Some(t) = token {
                req = req.set("Authorization", &format!("Bearer {t}"));
            }
            let answer = match body {
                Some(b) => req.set("Content-Type", "application/json").send_string(b),
                None => req.call(),
            };
            let (status, text) = match answer {
                Ok(r) | Err(ureq::Error::Status(_, r)) => {
                    (r.status(), r.into_string().unwrap_or_default())
                }
                Err(e) => panic!("{method} {url}: {e}"),
            };
            assert!(status < 500, "{method} {url} {body:?}: {status} {text}");
            assert!(
                op["responses"].get(status.to_string()).is_some(),
                "{method} {url} {body:?}: {status} is not documented for {path}: {text}"
            );
            if status >= 400 {
                let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                assert!(
                    v["error"]["code"].is_string() && v["error"]["message"].is_string(),
                    "{method} {url}: an error is {{\"error\": {{code, message}}}}: {text}"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked} requests checked");
}
