//! The landing page's engines panel in a real browser: two `serve` processes sharing one
//! PostgreSQL database both appear, alive, with their job counts (issue 13, "at a glance").
//! Needs chromium (as the other browser tests: a visible skip without it, a failure under
//! `CI=true`) and `CHAINSCHED_TEST_PG` (a visible skip without it, a failure under
//! `CHAINSCHED_REQUIRE_PG`).

mod browser_support;
mod pg_support;
mod server_support;

use browser_support::{chromium_or_skip, dump_dom, screenshot};
use server_support::*;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[test]
fn the_landing_page_shows_every_engine_sharing_the_database() {
    let Some(db) = pg_support::test_db("browser_engines") else {
        return;
    };
    let Some(chrome) = chromium_or_skip("browser_engines") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = write_rules(dir.path(), RULES);
    let serve = || {
        Server::spawn(
            tempfile::tempdir().expect("temp dir"),
            rules.clone(),
            PathBuf::from(&db.url),
            &[],
            Some(TOKEN),
        )
    };
    let a = serve();
    let _b = serve();
    // Both registered and heartbeating.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, rows) = a.get("/api/v1/engines");
        assert_eq!(status, 200, "{rows}");
        let alive = rows
            .as_array()
            .map_or(0, |r| r.iter().filter(|e| e["alive"] == "TRUE").count());
        if alive == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "two live engines expected: {rows}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let profile = tempfile::tempdir().expect("temp dir");
    let url = format!("{}/?nolive#/", a.url);
    let dom = dump_dom(&chrome, profile.path(), &url);
    assert_eq!(
        dom.matches(r#"class="engine-card alive""#).count(),
        2,
        "two engine cards, both alive:\n{dom}"
    );
    assert!(
        !dom.contains(r#"id="glance-engines-wrap" class="hidden""#),
        "the engines panel is shown:\n{dom}"
    );
    screenshot(&chrome, profile.path(), &url, "landing-engines");
}
