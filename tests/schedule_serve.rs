//! Scheduled job definitions fired by a real `chainsched serve`: runs of `schedule
//! 'FREQ=SECONDLY;INTERVAL=2'` (and the cron line `*/2 * * * * *`) appear in the job log about
//! 2 s apart; a run still going when the next occurrence is due makes the scheduler skip it;
//! after SIGTERM and a restart on the same --db the schedule goes on without running one due
//! time twice. GET /api/v1/schedules shows the next and last runs.

mod server_support;
use chainsched::views::time::parse_rfc3339;
use serde_json::Value;
use server_support::*;
use std::time::Duration;

const RULES: &str = r#"
program OK   { builtin noop; }
program NAP3 { builtin sleep 3s; }

chain QUICK {
    step A program OK;
    rule when TRUE then START A;
    rule when A SUCCEEDED then END;
}

chain SLOW {
    step A program NAP3;
    rule when TRUE then START A;
    rule when A COMPLETED then END;
}

job TICK     { chain QUICK; schedule 'FREQ=SECONDLY;INTERVAL=2'; }
job CRONTICK { chain QUICK; schedule '*/2 * * * * *'; }
job SLOWJOB  { chain SLOW;  schedule 'FREQ=SECONDLY; INTERVAL=2'; }
job MANUAL   { chain QUICK; }
"#;

/// End times (ms) of the chain-job runs of `job`, from the job log.
fn runs(s: &Server, job: &str) -> Vec<u64> {
    let (status, rows) = s.get(&format!("/api/v1/log?job={job}"));
    assert_eq!(status, 200, "{rows}");
    rows.as_array()
        .expect("an array")
        .iter()
        .filter(|r| r["job_subname"].is_null())
        .map(|r| parse_rfc3339(r["log_date"].as_str().unwrap()).expect("a date"))
        .collect()
}

/// Runs fire 2 s apart; their end times are measured, which a loaded machine delays by up to
/// a few hundred ms each, so the band is wide: a due time fired twice ends milliseconds apart,
/// two lost fires leave 6 s.
fn assert_spaced(job: &str, times: &[u64]) {
    for w in times.windows(2) {
        let gap = w[1] - w[0];
        assert!(
            (1000..=5000).contains(&gap),
            "{job}: runs {gap} ms apart (two at one due time, or a lost fire): {times:?}"
        );
    }
}

fn schedule_row(s: &Server, job: &str) -> Value {
    let (status, rows) = s.get("/api/v1/schedules");
    assert_eq!(status, 200, "{rows}");
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["job_name"] == job)
        .cloned()
        .unwrap_or_else(|| panic!("no schedule row for {job}: {rows}"))
}

#[test]
fn serve_fires_schedules_skips_busy_jobs_and_resumes_after_restart() {
    let server = Server::start(RULES);
    std::thread::sleep(Duration::from_millis(5600));

    let tick = runs(&server, "TICK");
    assert!(
        tick.len() >= 2,
        "TICK ran {} times in 5.6 s: {tick:?}",
        tick.len()
    );
    assert_spaced("TICK", &tick);
    let cron = runs(&server, "CRONTICK");
    assert!(
        cron.len() >= 2,
        "CRONTICK ran {} times: {cron:?}",
        cron.len()
    );
    assert_spaced("CRONTICK", &cron);
    // The 3 s run of SLOWJOB was still going at the next due time: that occurrence was skipped,
    // never started beside it.
    let slow = runs(&server, "SLOWJOB");
    assert!(slow.len() <= 2, "SLOWJOB: {slow:?}");
    for w in slow.windows(2) {
        assert!(w[1] - w[0] >= 3000, "SLOWJOB runs overlapped: {slow:?}");
    }
    let (_, tick_job) = server.get("/api/v1/jobs/TICK");
    assert_eq!(tick_job["requested_by"], "SCHEDULER", "{tick_job}");
    let row = schedule_row(&server, "SLOWJOB");
    assert!(row["skipped_count"].as_u64().unwrap() >= 1, "{row}");
    let row = schedule_row(&server, "TICK");
    assert_eq!(row["schedule"], "FREQ=SECONDLY;INTERVAL=2");
    assert_eq!(row["chain_name"], "QUICK");
    assert!(
        row["next_run_date"].is_string() && row["last_start_date"].is_string(),
        "{row}"
    );
    // A definition without a schedule is not scheduled.
    let (_, all) = server.get("/api/v1/schedules");
    assert_eq!(all.as_array().unwrap().len(), 3, "{all}");
    assert!(runs(&server, "MANUAL").is_empty());

    // Restart on the same store: the schedule goes on, no due time runs twice.
    let before = runs(&server, "TICK").len();
    let server = server.restart(&[]);
    std::thread::sleep(Duration::from_millis(4600));
    let tick = runs(&server, "TICK");
    assert!(
        tick.len() >= before + 2,
        "TICK after restart: {} -> {}",
        before,
        tick.len()
    );
    assert_spaced("TICK", &tick);
    assert_spaced("CRONTICK", &runs(&server, "CRONTICK"));
}

#[test]
fn reload_picks_up_new_changed_and_removed_schedules() {
    let server = Server::start(RULES);
    // The scheduler loads the schedules just after the engine opens.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while server.get("/api/v1/schedules").1.as_array().unwrap().len() != 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "schedules never loaded"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let changed = RULES
        .replace(
            "schedule '*/2 * * * * *'",
            "schedule 'FREQ=YEARLY; BYMONTH=JAN'",
        )
        .replace(
            "job SLOWJOB  { chain SLOW;  schedule 'FREQ=SECONDLY; INTERVAL=2'; }",
            "",
        )
        .replace(
            "job MANUAL   { chain QUICK; }",
            "job MANUAL { chain QUICK; schedule '0 3 * * *'; }",
        );
    std::fs::write(server.rules.join("main.chain"), changed).unwrap();
    let (status, v) = server.post("/api/v1/reload", serde_json::json!({}));
    assert_eq!(status, 200, "{v}");
    // The scheduler re-reads the catalog asynchronously.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, rows) = server.get("/api/v1/schedules");
        let names: Vec<&str> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["job_name"].as_str().unwrap())
            .collect();
        let cron = rows
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["job_name"] == "CRONTICK")
            .cloned();
        if names == ["CRONTICK", "MANUAL", "TICK"]
            && cron
                .as_ref()
                .is_some_and(|c| c["schedule"] == "FREQ=YEARLY; BYMONTH=JAN")
        {
            let next = cron.unwrap()["next_run_date"].as_str().unwrap().to_string();
            assert!(next.contains("-01-01T00:00:00"), "{next}");
            let manual = rows
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["job_name"] == "MANUAL")
                .unwrap();
            assert!(
                manual["next_run_date"]
                    .as_str()
                    .unwrap()
                    .ends_with("T03:00:00.000Z"),
                "{manual}"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "reload not picked up: {rows}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
