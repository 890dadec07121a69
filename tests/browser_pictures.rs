//! The dashboard's pictures in a real browser (headless chromium, cut off from every host but
//! the service, in the `?nolive` mode that renders without the event stream): the Gantt of a
//! finished 3-step job has its 3 bars with their states, a running job's Gantt grows as steps
//! start, the chain page draws one bar per run, the landing page shows its counters and groups,
//! and the graph of a 100-step fan-out has no two rule names overlapping (the page measures
//! the labels' boxes itself). A screenshot of every page is written to target/screenshots/
//! (or `$CHAINSCHED_SCREENSHOTS`). Skipped, visibly, only when chromium is not installed, and
//! never under `CI=true`.

mod browser_support;
mod server_support;

use browser_support::{attr, chromium_or_skip, dump_dom, screenshot, tags_with_class};
use serde_json::json;
use server_support::*;
use std::time::{Duration, Instant};

const MORE: &str = r#"
program STEP2 { builtin sleep 3s; }
group BATCH { max_running 1; }
chain STEPS3 {
    step A program STEP2;
    step B program STEP2;
    step C program STEP2;
    rule R1 when TRUE then START A;
    rule R2 when A SUCCEEDED then START B;
    rule R3 when B SUCCEEDED then START C;
    rule R4 when C COMPLETED then END;
}
"#;

/// (data-step, data-state) of every Gantt bar on the page.
fn gantt_bars(dom: &str) -> Vec<(String, String)> {
    tags_with_class(dom, "gantt-bar")
        .into_iter()
        .map(|t| {
            (
                attr(t, "data-step").unwrap_or("").to_string(),
                attr(t, "data-state").unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn wait_step(s: &Server, job: &str, step: &str, state: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, rows) = s.get(&format!("/api/v1/jobs/{job}/steps?history=true"));
        let now = rows
            .as_array()
            .and_then(|a| a.iter().find(|r| r["step_job_subname"] == step))
            .map(|r| r["state"].as_str().unwrap_or("").to_string());
        if now.as_deref() == Some(state) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{job}.{step} never {state}: {rows}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn gantt_chain_page_and_landing_page_in_a_browser() {
    let Some(chrome) = chromium_or_skip("browser_pictures") else {
        return;
    };
    let s = Server::start(&format!("{RULES}\n{MORE}"));
    for j in ["G1", "G2", "G3"] {
        s.start_job(json!({ "chain": "DEMO", "job": j }));
        s.wait_state(j, &["SUCCEEDED"]);
    }
    s.start_job(json!({ "chain": "STALLS", "job": "ST1" }));
    s.wait_state("ST1", &["CHAIN_STALLED"]);
    let profile = tempfile::tempdir().unwrap();
    let p = profile.path();

    // The Gantt of a finished 3-step job: 3 bars, each SUCCEEDED.
    let url = format!("{}/?nolive#/job/G1/gantt", s.url);
    let dom = dump_dom(&chrome, p, &url);
    let bars = gantt_bars(&dom);
    let want: Vec<(String, String)> = ["A", "B", "C"]
        .iter()
        .map(|x| (x.to_string(), "SUCCEEDED".to_string()))
        .collect();
    assert_eq!(bars, want, "one bar per step run:\n{dom}");
    assert!(
        dom.contains(r#"class="gantt-bar critical""#),
        "critical path marked"
    );
    assert!(
        dom.contains("started by rule R2"),
        "the tooltip names the rule"
    );
    screenshot(&chrome, p, &url, "gantt-finished");

    // A running job's Gantt grows as its steps start.
    s.start_job(json!({ "chain": "STEPS3", "job": "T1" }));
    wait_step(&s, "T1", "A", "RUNNING");
    let url = format!("{}/?nolive#/job/T1/gantt", s.url);
    let first = gantt_bars(&dump_dom(&chrome, p, &url));
    assert!(
        !first.is_empty() && first.len() < 3,
        "A (or A and B) so far: {first:?}"
    );
    assert_eq!(
        first.last().map(|b| b.1.as_str()),
        Some("RUNNING"),
        "{first:?}"
    );
    wait_step(&s, "T1", "C", "RUNNING");
    let later = gantt_bars(&dump_dom(&chrome, p, &url));
    assert_eq!(
        later,
        vec![
            ("A".to_string(), "SUCCEEDED".to_string()),
            ("B".to_string(), "SUCCEEDED".to_string()),
            ("C".to_string(), "RUNNING".to_string())
        ],
        "the chart grew from {first:?}"
    );
    screenshot(&chrome, p, &url, "gantt-running");

    // The chain page: one bar per run, p50/p90 lines, a sparkline per step, the graph.
    let url = format!("{}/?nolive#/chain/DEMO", s.url);
    let dom = dump_dom(&chrome, p, &url);
    let runs: Vec<&str> = tags_with_class(&dom, "run-bar")
        .into_iter()
        .filter_map(|t| attr(t, "data-job"))
        .collect();
    assert_eq!(runs, ["G1", "G2", "G3"], "one bar per run:\n{dom}");
    assert!(dom.contains(r#"data-line="p50""#) && dom.contains(r#"data-line="p90""#));
    assert_eq!(
        tags_with_class(&dom, "spark").len(),
        3,
        "a sparkline per step"
    );
    assert!(
        dom.contains(r#"data-stat="success rate"><b>100%</b>"#),
        "{dom}"
    );
    assert!(dom.contains(r#"class="chain-graph" data-chain="DEMO""#));
    assert!(dom.contains(r#"data-label-overlaps="0""#));
    screenshot(&chrome, p, &url, "chain-page");

    // The landing page: counters, hours, groups.
    let url = format!("{}/?nolive#/", s.url);
    let dom = dump_dom(&chrome, p, &url);
    let counter = |name: &str| {
        let at = dom
            .find(&format!(r#"data-counter="{name}""#))
            .unwrap_or_else(|| panic!("no {name} counter:\n{dom}"));
        let b = dom[at..].find("<b>").map(|i| at + i + 3).expect("value");
        dom[b..b + dom[b..].find('<').expect("end")].to_string()
    };
    assert_eq!(counter("stalled"), "1");
    assert_eq!(counter("succeeded 24 h"), "4", "G1–G3 and T1");
    assert!(dom.contains(r#"class="hours-chart""#));
    assert!(
        dom.contains(r#"<tr data-group="BATCH">"#),
        "groups listed:\n{dom}"
    );
    screenshot(&chrome, p, &url, "landing");
}

/// `n` parallel steps, each started by its own rule and ended by its own rule.
fn fan_out(n: usize) -> String {
    let mut t = String::from("program P { builtin noop; }\nchain FAN {\n");
    for i in 0..n {
        t.push_str(&format!("  step S{i} program P;\n"));
    }
    for i in 0..n {
        t.push_str(&format!("  rule GO_{i} when TRUE then START S{i};\n"));
    }
    for i in 0..n {
        t.push_str(&format!("  rule DONE_{i} when S{i} COMPLETED then END;\n"));
    }
    t.push_str("}\n");
    t
}

#[test]
fn a_hundred_step_fan_out_draws_without_overlapping_rule_names() {
    let Some(chrome) = chromium_or_skip("browser_pictures") else {
        return;
    };
    let s = Server::start(&format!("{RULES}\n{}", fan_out(100)));
    s.start_job(json!({ "chain": "FAN", "job": "F1" }));
    s.wait_state("F1", &["SUCCEEDED"]);
    let profile = tempfile::tempdir().unwrap();
    let p = profile.path();
    for (url, name) in [
        (format!("{}/?nolive#/chain/FAN", s.url), "fan-out-chain"),
        (
            format!("{}/?nolive#/job/F1/graph", s.url),
            "fan-out-job-graph",
        ),
    ] {
        let dom = dump_dom(&chrome, p, &url);
        assert!(
            dom.contains(r#"data-labels="200""#),
            "every rule named once, measured in the page ({name})"
        );
        assert!(
            dom.contains(r#"data-label-overlaps="0""#),
            "no two rule names overlap ({name})"
        );
        assert!(dom.contains(r#"class="zoombar""#), "zoom controls ({name})");
        if name == "fan-out-job-graph" {
            let states: Vec<&str> = tags_with_class(&dom, "step")
                .into_iter()
                .filter_map(|t| attr(t, "data-state"))
                .collect();
            assert_eq!(states.len(), 100, "each step coloured by its state");
            // The first step to complete ends the chain (its own END rule); the rest stop.
            let (_, rows) = s.get("/api/v1/jobs/F1/steps?history=true");
            let api: Vec<&str> = rows
                .as_array()
                .expect("steps")
                .iter()
                .map(|r| r["state"].as_str().unwrap_or(""))
                .collect();
            let mut shown = states.clone();
            let mut want = api.clone();
            shown.sort_unstable();
            want.sort_unstable();
            assert_eq!(shown, want, "the graph shows the states of the steps view");
            assert!(states.contains(&"SUCCEEDED"), "{states:?}");
        }
        screenshot(&chrome, p, &url, name);
    }
}
