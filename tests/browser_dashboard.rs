//! The dashboard in a real browser (headless Debian chromium): after a job was started and
//! finished through the API, the page lists it, shows its steps, graph and rules, and a
//! screenshot is kept under target/ for people to look at; with scheduled job definitions the
//! Schedules panel lists them (next run relative, absolute in the tooltip). Skipped, with the reason printed,
//! only when chromium is not installed (visibly, on stderr), and never under `CI=true`, where a
//! missing browser fails the test.

mod browser_support;
mod server_support;

use browser_support::{chromium_or_skip, run_chromium};
use serde_json::json;
use server_support::*;
use std::path::Path;
use std::time::Duration;

#[test]
fn the_dashboard_shows_a_finished_job_its_steps_graph_and_rules() {
    let Some(chrome) = chromium_or_skip("browser_dashboard") else {
        return;
    };
    let s = Server::start(RULES);
    s.start_job(json!({ "chain": "DEMO", "job": "WEB1" }));
    s.wait_state("WEB1", &["SUCCEEDED"]);
    s.start_job(json!({ "chain": "STALLS", "job": "WEB2" }));
    s.wait_state("WEB2", &["CHAIN_STALLED"]);
    let profile = tempfile::tempdir().unwrap();

    // `?nolive`: no event stream, so that the page settles and chromium can dump it.
    let dom = run_chromium(
        &chrome,
        profile.path(),
        &format!("{}/?nolive#/job/WEB1/graph", s.url),
        &["--dump-dom"],
    );
    assert!(
        dom.contains(r#"<li data-job="WEB1""#),
        "the job list shows WEB1:\n{dom}"
    );
    assert!(
        dom.contains(r#"<li data-job="WEB2""#),
        "the job list shows WEB2"
    );
    assert!(
        dom.contains(r#"id="schedules" class="schedules hidden""#),
        "no schedules: the schedules panel is hidden"
    );
    assert!(
        dom.contains(
            r#"<h1 id="job-title">WEB1 <span class="badge st-SUCCEEDED">SUCCEEDED</span>"#
        ),
        "job header"
    );
    for sub in ["A", "B", "C"] {
        assert!(
            dom.contains(&format!(r#"<tr data-sub="{sub}""#)),
            "step row {sub}"
        );
    }
    assert!(dom.contains("copying"), "B's status message is shown");
    assert!(
        dom.contains(r#"class="chain-graph" data-chain="DEMO""#),
        "the chain graph is inlined"
    );
    assert!(
        dom.contains(r##"stroke="#16a34a""##),
        "graph nodes are coloured by state"
    );
    assert!(
        dom.contains("DONE: END") || dom.contains("rule_fired"),
        "the timeline is rendered"
    );

    let dom = run_chromium(
        &chrome,
        profile.path(),
        &format!("{}/?nolive#/job/WEB2/rules", s.url),
        &["--dump-dom"],
    );
    assert!(
        dom.contains("A FAILED with 20001; no rule reacts to A failing"),
        "the stall is explained"
    );
    assert!(
        dom.contains(r#"<span class="pred FALSE" title="FALSE">A SUCCEEDED</span>"#),
        "predicate truth"
    );

    let shot_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser_dashboard");
    std::fs::create_dir_all(&shot_dir).unwrap();
    let shot = shot_dir.join("dashboard.png");
    let _ = std::fs::remove_file(&shot);
    run_chromium(
        &chrome,
        profile.path(),
        &format!("{}/?nolive#/job/WEB1/steps", s.url),
        &[&format!("--screenshot={}", shot.display())],
    );
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "a screenshot was written to {}",
        shot.display()
    );
    println!("screenshot: {}", shot.display());
}

#[test]
fn the_schedules_panel_lists_scheduled_jobs_with_next_and_last_runs() {
    let Some(chrome) = chromium_or_skip("browser_dashboard") else {
        return;
    };
    let rules = format!(
        "{RULES}\njob NIGHTLY {{ chain DEMO; schedule 'FREQ=DAILY; BYHOUR=2'; }}\n\
         job TICK {{ chain SLOW; schedule 'FREQ=SECONDLY;INTERVAL=2'; }}\n"
    );
    let s = Server::start(&rules);
    // Wait until TICK has fired (its run of SLOW lasts a minute: later occurrences are skipped).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let nightly = loop {
        let (_, rows) = s.get("/api/v1/schedules");
        let find = |name: &str| {
            rows.as_array()
                .and_then(|a| a.iter().find(|r| r["job_name"] == name))
                .cloned()
        };
        if find("TICK").is_some_and(|t| t["last_start_date"].is_string()) {
            break find("NIGHTLY").expect("NIGHTLY is scheduled");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "TICK never fired: {rows}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let profile = tempfile::tempdir().unwrap();
    let dom = run_chromium(
        &chrome,
        profile.path(),
        &format!("{}/?nolive#/", s.url),
        &["--dump-dom"],
    );
    assert!(
        dom.contains(r#"id="schedules" class="schedules""#),
        "the schedules panel is shown:\n{dom}"
    );
    assert!(dom.contains(r#"<span class="count" id="schedules-count">2</span>"#));
    let item = |name: &str| {
        let start = dom
            .find(&format!(r#"data-schedule="{name}""#))
            .unwrap_or_else(|| panic!("no schedule item for {name}:\n{dom}"));
        let end = dom[start..].find("</li>").map_or(dom.len(), |e| start + e);
        dom[start..end].to_string()
    };
    let n = item("NIGHTLY");
    assert!(n.contains("FREQ=DAILY; BYHOUR=2"), "{n}");
    assert!(n.contains(">in "), "next run shown relative: {n}");
    let next = nightly["next_run_date"].as_str().unwrap();
    assert!(
        n.contains(&format!("({next})")),
        "absolute next run {next} in the tooltip: {n}"
    );
    assert!(
        n.contains("never started") && n.contains("0 skipped"),
        "{n}"
    );
    let t = item("TICK");
    assert!(
        t.contains(r#"class="has-run""#),
        "TICK's run can be opened: {t}"
    );
    assert!(
        t.contains("FREQ=SECONDLY;INTERVAL=2") && t.contains(">SLOW<"),
        "{t}"
    );
    assert!(t.contains(r#"title="last start "#), "last start shown: {t}");
}
