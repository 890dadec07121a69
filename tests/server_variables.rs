//! Job variables through `chainsched serve`: the HTTP API shows them, they survive a SIGKILL of
//! the engine and the recovered job goes on with them, and the dashboard lists them with the
//! step that set each (docs/variables.md).

mod browser_support;
mod server_support;

use serde_json::json;
use server_support::*;
use std::time::Duration;

const RULES: &str = r#"
program DETECT { shell 'echo "::set REGION=EU"; echo "::set WHY=$START_WHY"'; sets REGION, WHY; }
program USE    { shell 'test "$REGION" = EU && test "$WHY" = "nightly run"'; }
chain VARS {
  step D program DETECT;
  step W event GO;
  step U program USE;
  rule R1 when TRUE then START D, W;
  rule R2 when D SUCCEEDED and W SUCCEEDED and :VAR.REGION = 'EU' then START U;
  rule R3 when U SUCCEEDED then END;
  rule R4 when U FAILED then END 9;
}
"#;

fn wait_variable(s: &Server, job: &str, name: &str) -> serde_json::Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (status, row) = s.get(&format!("/api/v1/jobs/{job}"));
        assert_eq!(status, 200, "{row}");
        if !row["variables"][name].is_null() {
            return row;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "variable {name} never set: {row}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn variables_are_served_survive_a_kill_and_the_recovered_job_uses_them() {
    let mut s = Server::start(RULES);
    s.start_job(
        json!({ "chain": "VARS", "job": "V1", "parameters": { "start_why": "nightly run" } }),
    );
    let row = wait_variable(&s, "V1", "REGION");
    assert_eq!(row["state"], "RUNNING", "W waits for GO: {row}");
    assert_eq!(row["variables"]["REGION"], "EU");
    assert_eq!(row["variables"]["WHY"], "nightly run");
    assert_eq!(row["variables"]["START_WHY"], "nightly run");
    assert_eq!(row["variables_set_by"]["REGION"], "D");
    assert!(row["variables_set_by"].get("START_WHY").is_none(), "{row}");
    let (_, steps) = s.get("/api/v1/jobs/V1/steps");
    let d = steps
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["step_name"] == "D")
        .unwrap()
        .clone();
    assert_eq!(d["set_variables"], "REGION=EU, WHY=nightly run", "{steps}");

    // SIGKILL: nothing is flushed on the way out; the variables were durable with D's outcome.
    s.signal(libc::SIGKILL);
    if let Some(mut c) = s.child.take() {
        let _ = c.wait();
    }
    let dir = std::mem::replace(&mut s.dir, tempfile::tempdir().unwrap());
    let s = Server::spawn(dir, s.rules.clone(), s.db.clone(), &[], Some(TOKEN));
    let row = wait_variable(&s, "V1", "REGION");
    assert_eq!(row["state"], "RUNNING", "{row}");
    assert_eq!(row["variables"]["WHY"], "nightly run");
    let (status, v) = s.post("/api/v1/events", json!({ "name": "GO", "job": "V1" }));
    assert_eq!((status, &v["completed_steps"]), (200, &json!(1)), "{v}");
    let row = s.wait_state("V1", &["SUCCEEDED", "FAILED"]);
    assert_eq!(
        row["state"], "SUCCEEDED",
        "U read REGION and WHY from its environment after recovery: {row}"
    );

    // The OpenAPI document lists the new columns.
    let (_, doc) = s.get("/openapi.json");
    let props = &doc["components"]["schemas"]["JobRow"]["properties"];
    assert!(props.get("variables").is_some() && props.get("variables_set_by").is_some());

    // The dashboard shows the variables table.
    if let Some(chrome) = browser_support::chromium_or_skip("server_variables") {
        let profile = tempfile::tempdir().unwrap();
        let dom = browser_support::run_chromium(
            &chrome,
            profile.path(),
            &format!("{}/?nolive#/job/V1/steps", s.url),
            &["--dump-dom"],
        );
        assert!(
            dom.contains(r#"<tr data-var="REGION"><td class="mono">REGION</td><td class="mono">EU</td><td>D</td></tr>"#),
            "the variables table: {dom}"
        );
        assert!(
            dom.contains(r#"<tr data-var="START_WHY">"#) && dom.contains("parameter"),
            "a parameter is listed as such"
        );
        // The timeline says how each step was started.
        assert!(
            dom.contains(r#"<span class="started-by">started by rule R1</span>"#),
            "the timeline says how D started"
        );
    }
}
