//! Several `chainsched serve` engines on one PostgreSQL database (docs/scale-out.md): job
//! leases, takeover after an engine dies or stalls, fencing of a woken engine, scheduled
//! occurrences fired once, group limits across engines. Driven as an operator would: real
//! processes, the HTTP API through the CLI, SIGKILL and SIGSTOP, the views.
//!
//! Needs `CHAINSCHED_TEST_PG` (see `pg_support`); skipped without it unless
//! `CHAINSCHED_REQUIRE_PG` is set.

mod browser_support;
mod pg_support;

use pg_support::{cli, test_db, text, BIN};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// The tests of this file run one at a time: each starts several engines whose heartbeats must
/// keep up; four such tests at once on a 2-core machine would test the machine.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}

/// A `serve` process and where it listens.
struct Serve {
    child: Child,
    url: String,
    stderr: std::path::PathBuf,
}

impl Serve {
    fn start(rules: &Path, db: &str, lease: &str, log: std::path::PathBuf) -> Serve {
        let err = std::fs::File::create(&log).unwrap();
        let mut child = Command::new(BIN)
            .args(["serve", "--rules"])
            .arg(rules)
            .args(["--db", db, "--listen", "127.0.0.1:0", "--insecure-no-auth"])
            .args(["--lease", lease])
            .env_remove("CHAINSCHED_DB")
            .env_remove("CHAINSCHED_TOKEN")
            .env("CHAINSCHED_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = std::io::BufReader::new(stdout).lines();
        let url = loop {
            let Some(Ok(line)) = lines.next() else {
                panic!(
                    "serve ended before listening: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            };
            if let Some(rest) = line.split("listening on ").nth(1) {
                break rest.trim().to_string();
            }
        };
        // Keep draining stdout so the engine never blocks on it.
        std::thread::spawn(move || for _ in lines {});
        Serve {
            child,
            url,
            stderr: log,
        }
    }

    fn signal(&self, sig: libc::c_int) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, sig);
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.signal(libc::SIGCONT);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn json(args: &[&str]) -> Value {
    let out = cli(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
}

fn jobs(db: &str) -> Vec<Value> {
    json(&["jobs", "--db", db, "--format", "json", "--limit", "100000"])
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn marks(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// A program whose runs leave marks: `start JOB STEP`, `end JOB STEP`, and `OVERLAP JOB STEP`
/// when a run begins while another run of the same step still holds its lock (the lock is a
/// file lock, released by the kernel when a killed run's processes are gone).
fn marking_program(dir: &Path, name: &str, seconds: &str) -> String {
    let marks = dir.join("marks.txt");
    let locks = dir.join("locks");
    std::fs::create_dir_all(&locks).unwrap();
    format!(
        "program {name} {{ shell 'exec 9>>\"{locks}/$CHAINSCHED_JOB_NAME.$CHAINSCHED_JOB_SUBNAME\"; \
         flock -n 9 || echo \"OVERLAP $CHAINSCHED_JOB_NAME $CHAINSCHED_JOB_SUBNAME\" >> \"{marks}\"; \
         echo \"start $CHAINSCHED_JOB_NAME $CHAINSCHED_JOB_SUBNAME $(date +%s%N)\" >> \"{marks}\"; \
         sleep {seconds}; \
         echo \"end $CHAINSCHED_JOB_NAME $CHAINSCHED_JOB_SUBNAME $(date +%s%N)\" >> \"{marks}\"'; }}\n",
        locks = locks.display(),
        marks = marks.display(),
    )
}

/// A test's database, folder and rule files: a marking program `program` whose runs take
/// `seconds`, then `chains`.
struct Site {
    db: pg_support::TestDb,
    tmp: tempfile::TempDir,
}

impl Site {
    fn new(test: &str, program: &str, seconds: &str, chains: &str) -> Option<Site> {
        let db = test_db(test)?;
        let tmp = tempfile::tempdir().unwrap();
        let rules = tmp.path().join("rules");
        std::fs::create_dir_all(&rules).unwrap();
        let mut text = marking_program(tmp.path(), program, seconds);
        text.push_str(chains);
        std::fs::write(rules.join("site.chain"), text).unwrap();
        Some(Site { db, tmp })
    }

    fn dir(&self) -> &Path {
        self.tmp.path()
    }

    fn url(&self) -> &str {
        &self.db.url
    }

    /// `n` engines serving the site's rules, leases of `lease`.
    fn engines(&self, n: usize, lease: &str) -> Vec<Serve> {
        (0..n)
            .map(|i| {
                let log = self.dir().join(format!("serve{i}.log"));
                Serve::start(&self.dir().join("rules"), self.url(), lease, log)
            })
            .collect()
    }

    fn marks(&self) -> Vec<String> {
        marks(&self.dir().join("marks.txt"))
    }
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn rfc3339_after(row: &Value, t: SystemTime) -> bool {
    let Some(text) = row["log_date"].as_str() else {
        return false;
    };
    let t: chrono_like::Utc = t.into();
    text >= t.0.as_str()
}

/// RFC 3339 text of a system time, comparable as a string with the views' times (`…Z`).
mod chrono_like {
    pub struct Utc(pub String);
    impl From<std::time::SystemTime> for Utc {
        fn from(t: std::time::SystemTime) -> Utc {
            let ms = t
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0);
            Utc(chainsched::views::time::rfc3339(ms))
        }
    }
}

#[test]
fn three_engines_survive_a_killed_and_a_stalled_engine() {
    let _serial = serial();
    let mut text_rules = String::new();
    for (chain, with) in [("PLAIN", ""), ("RECOV", " with restart_on_recovery")] {
        text_rules.push_str(&format!(
            "chain {chain} {{
                step A program MARK{with};
                step B program MARK{with};
                rule R1 when TRUE then START A;
                rule R2 when A SUCCEEDED then START B;
                rule R3 when B SUCCEEDED then END;
                rule R4 when A STOPPED OR B STOPPED then END 1013;
                rule R5 when A FAILED OR B FAILED then END 1;
            }}\n"
        ));
    }
    let Some(site) = Site::new("cluster_failover", "MARK", "2", &text_rules) else {
        return;
    };
    let db = &site.db;
    let engines = site.engines(3, "4s");
    let view = json(&["engines", "--db", &db.url, "--format", "json"]);
    assert_eq!(view.as_array().map(Vec::len), Some(3), "{view}");

    // 300 jobs, spread round-robin over the three engines' HTTP APIs (one client thread each).
    let total = 300;
    std::thread::scope(|s| {
        for (e, engine) in engines.iter().enumerate() {
            let url = engine.url.clone();
            s.spawn(move || {
                for n in (e..total).step_by(3) {
                    let chain = if n % 2 == 0 { "PLAIN" } else { "RECOV" };
                    let job = format!("J{n:03}");
                    let out = cli(&["start", chain, "--job", &job, "--server", &url]);
                    assert_eq!(out.status.code(), Some(0), "{job}: {}", text(&out));
                }
            });
        }
    });
    let owned: BTreeMap<String, i64> = json(&["engines", "--db", &db.url, "--format", "json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["address"].as_str().unwrap_or("").to_string(),
                r["jobs_owned"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert!(
        owned.values().filter(|n| **n > 0).count() >= 2,
        "the jobs run on several engines: {owned:?}"
    );

    // Engine 1 dies; engine 2 stalls for longer than its lease, then wakes up.
    let stalled_slot = json(&["engines", "--db", &db.url, "--format", "json"])
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            engines[2]
                .url
                .ends_with(r["address"].as_str().unwrap_or("?"))
        })
        .and_then(|r| r["slot"].as_i64())
        .expect("the stalled engine's slot");
    engines[1].signal(libc::SIGKILL);
    engines[2].signal(libc::SIGSTOP);
    std::thread::sleep(Duration::from_secs(10));
    let woken_at = SystemTime::now();
    engines[2].signal(libc::SIGCONT);

    // Every job ends, as its rules say.
    wait_until("every job to end", Duration::from_secs(120), || {
        let rows = jobs(&db.url);
        rows.len() == total
            && rows
                .iter()
                .all(|r| matches!(r["state"].as_str(), Some("SUCCEEDED" | "FAILED")))
    });
    let rows = jobs(&db.url);
    let log = json(&[
        "log", "--db", &db.url, "--format", "json", "--limit", "100000",
    ]);
    let log = log.as_array().unwrap();
    let m = site.marks();
    assert!(
        !m.iter().any(|l| l.starts_with("OVERLAP")),
        "a step ran in two places at once: {:?}",
        m.iter()
            .filter(|l| l.starts_with("OVERLAP"))
            .collect::<Vec<_>>()
    );
    let starts = |job: &str, step: &str| {
        let prefix = format!("start {job} {step} ");
        m.iter().filter(|l| l.starts_with(&prefix)).count()
    };
    let mut failed = 0;
    for r in &rows {
        let job = r["job_name"].as_str().unwrap();
        let chain = r["chain_name"].as_str().unwrap();
        let stopped_rows = log
            .iter()
            .filter(|l| l["job_name"] == job && l["status"] == "STOPPED")
            .count();
        match (chain, r["state"].as_str().unwrap()) {
            ("PLAIN", "SUCCEEDED") => {
                for step in ["A", "B"] {
                    assert_eq!(starts(job, step), 1, "{job} {step}: a plain step runs once");
                }
                assert_eq!(stopped_rows, 0, "{job}");
            }
            ("PLAIN", "FAILED") => {
                failed += 1;
                assert_eq!(r["error_code"], 1013, "{job}: {r}");
                assert!(stopped_rows >= 1, "{job}: a running step was stopped: {r}");
                for step in ["A", "B"] {
                    assert!(starts(job, step) <= 1, "{job} {step}: never run again");
                }
            }
            ("RECOV", "SUCCEEDED") => {
                for step in ["A", "B"] {
                    assert!(starts(job, step) >= 1, "{job} {step}");
                }
            }
            (c, s) => panic!("{job} ({c}) ended {s}: {r}"),
        }
    }
    assert!(
        failed > 0,
        "the failures interrupted running plain steps (else the test proves nothing)"
    );

    // The woken engine wrote nothing: it found its deadline passed, stopped and exited.
    let mut stalled = engines;
    let woken = stalled.remove(2);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut child = woken;
    let status = loop {
        if let Some(st) = child.child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "the woken engine kept running");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(!status.success(), "{status:?}");
    let said = child.log();
    assert!(
        said.contains("lease"),
        "the woken engine says why it stopped: {said}"
    );
    let written_after_waking: Vec<&Value> = log
        .iter()
        .filter(|l| l["log_id"].as_i64().unwrap_or(0) % 64 == stalled_slot)
        .filter(|l| rfc3339_after(l, woken_at))
        .collect();
    assert!(
        written_after_waking.is_empty(),
        "the woken engine wrote: {written_after_waking:?}"
    );
    let ids: BTreeSet<i64> = log.iter().filter_map(|l| l["log_id"].as_i64()).collect();
    assert_eq!(ids.len(), log.len(), "log ids are unique across engines");
    let check = cli(&["store", "check", "--db", &db.url]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
}

#[test]
fn a_schedule_fires_once_per_occurrence_with_three_engines() {
    let _serial = serial();
    let chains = "chain TICKING { step T program TOCK; rule R1 when TRUE then START T; \
         rule R2 when T COMPLETED then END; }\n\
         job TICK { chain TICKING; schedule 'FREQ=SECONDLY;INTERVAL=2'; }\n";
    let Some(site) = Site::new("cluster_schedule", "TOCK", "0.1", chains) else {
        return;
    };
    let engines = site.engines(3, "3s");
    std::thread::sleep(Duration::from_secs(9));
    drop(engines);
    let m = site.marks();
    let times: Vec<u128> = m
        .iter()
        .filter(|l| l.starts_with("start TICK T "))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    assert!(times.len() >= 3, "the schedule fired: {m:?}");
    assert!(
        times.len() <= 6,
        "at most one run per occurrence (2 s apart in 9 s): {m:?}"
    );
    for pair in times.windows(2) {
        let gap_ms = (pair[1].saturating_sub(pair[0])) / 1_000_000;
        assert!(
            gap_ms >= 1500,
            "two runs {gap_ms} ms apart: an occurrence fired twice: {m:?}"
        );
    }
}

#[test]
fn a_group_limit_holds_across_engines() {
    let _serial = serial();
    let chains = "group BATCH { max_running 2; }\n\
         chain G { step W program WORK; rule R1 when TRUE then START W; \
         rule R2 when W COMPLETED then END; }\n";
    let Some(site) = Site::new("cluster_group", "WORK", "1", chains) else {
        return;
    };
    let db = &site.db;
    let engines = site.engines(3, "3s");
    let total = 9;
    std::thread::scope(|s| {
        for (e, engine) in engines.iter().enumerate() {
            let url = engine.url.clone();
            s.spawn(move || {
                for n in (e..total).step_by(3) {
                    let job = format!("G{n}");
                    let out = cli(&[
                        "start", "G", "--job", &job, "--group", "BATCH", "--server", &url,
                    ]);
                    assert_eq!(out.status.code(), Some(0), "{job}: {}", text(&out));
                }
            });
        }
    });
    wait_until("every job to succeed", Duration::from_secs(60), || {
        let rows = jobs(&db.url);
        rows.len() == total && rows.iter().all(|r| r["state"] == "SUCCEEDED")
    });
    // At no instant did more than two runs of the group overlap.
    let most = most_at_once(&site.marks());
    assert_eq!(
        most, 2,
        "group BATCH allows 2 running jobs across all engines"
    );
    drop(engines);
}

/// The largest number of runs that overlapped in time, from the `start`/`end` marks.
fn most_at_once(marks: &[String]) -> i32 {
    let mut edges: Vec<(u128, i32)> = marks
        .iter()
        .filter_map(|l| {
            let mut parts = l.split(' ');
            let kind = parts.next()?;
            let t: u128 = parts.nth(2)?.parse().ok()?;
            match kind {
                "start" => Some((t, 1)),
                "end" => Some((t, -1)),
                _ => None,
            }
        })
        .collect();
    edges.sort();
    let mut running = 0;
    let mut most = 0;
    for (_, d) in edges {
        running += d;
        most = most.max(running);
    }
    most
}

#[test]
fn serialize_by_holds_across_engines() {
    let _serial = serial();
    let chains = "chain S { step W program WORK; rule R1 when TRUE then START W; \
         rule R2 when W COMPLETED then END; }\n\
         job LOAD { chain S; parameters DEPTNO = '10'; serialize by DEPTNO; }\n";
    let Some(site) = Site::new("cluster_serialize", "WORK", "1", chains) else {
        return;
    };
    let engines = site.engines(2, "3s");
    std::thread::scope(|s| {
        for (e, engine) in engines.iter().enumerate() {
            let url = engine.url.clone();
            s.spawn(move || {
                for n in 0..2 {
                    let job = format!("L{e}{n}");
                    let out = cli(&[
                        "start",
                        "--definition",
                        "LOAD",
                        "--job",
                        &job,
                        "--server",
                        &url,
                    ]);
                    assert_eq!(out.status.code(), Some(0), "{job}: {}", text(&out));
                }
            });
        }
    });
    wait_until("every run to succeed", Duration::from_secs(60), || {
        let rows = jobs(site.url());
        rows.len() == 4 && rows.iter().all(|r| r["state"] == "SUCCEEDED")
    });
    assert_eq!(
        most_at_once(&site.marks()),
        1,
        "one running job per DEPTNO across all engines"
    );
    drop(engines);
}

#[test]
fn events_and_control_requests_reach_jobs_on_other_engines() {
    let _serial = serial();
    let chains = "chain WAITS { step W event GO; rule R1 when TRUE then START W; \
             rule R2 when W SUCCEEDED then END; }\n\
         chain SLOW { step S program LONG; rule R1 when TRUE then START S; \
             rule R2 when S STOPPED then END 3; rule R3 when S COMPLETED then END; }\n";
    let Some(site) = Site::new("cluster_requests", "LONG", "30", chains) else {
        return;
    };
    let db = &site.db;
    let mut engines = site.engines(2, "3s");
    let (b, a) = (engines.pop().unwrap(), engines.pop().unwrap());
    for (job, chain) in [
        ("E1", "WAITS"),
        ("E2", "WAITS"),
        ("S1", "SLOW"),
        ("S2", "SLOW"),
    ] {
        let out = cli(&["start", chain, "--job", job, "--server", &b.url]);
        assert_eq!(out.status.code(), Some(0), "{job}: {}", text(&out));
    }
    let state = |job: &str| {
        jobs(&db.url)
            .into_iter()
            .find(|r| r["job_name"] == job)
            .map(|r| (r["state"].clone(), r["error_code"].clone()))
    };
    wait_until("the slow steps to run", Duration::from_secs(20), || {
        site.marks().len() >= 2
    });

    // An event raised on engine A completes the event step waiting on engine B.
    let out = cli(&["event", "GO", "--server", &a.url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    wait_until("E1 and E2 to succeed", Duration::from_secs(20), || {
        ["E1", "E2"]
            .iter()
            .all(|j| state(j).is_some_and(|(s, _)| s == "SUCCEEDED"))
    });

    // A stop sent to engine A reaches the job on engine B; so does one from a control command
    // on the database itself.
    let out = cli(&["stop", "S1", "--server", &a.url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = cli(&["stop", "S2", "--db", &db.url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    wait_until("S1 and S2 to stop", Duration::from_secs(20), || {
        ["S1", "S2"]
            .iter()
            .all(|j| state(j).is_some_and(|(s, _)| s != "RUNNING"))
    });
    for j in ["S1", "S2"] {
        let (s, code) = state(j).unwrap();
        assert_eq!(s, "STOPPED", "{j}: {code}");
    }
    // An unknown job is still an unknown job.
    let out = cli(&["stop", "NOPE", "--server", &a.url]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("NOPE"),
        "{}",
        text(&out)
    );
    drop((a, b));
}

#[test]
fn the_dashboard_shows_every_engine_sharing_the_database() {
    let _serial = serial();
    let Some(chrome) = browser_support::chromium() else {
        println!(
            "SKIPPED: chromium is not installed (apt-get install chromium; see .ci/apt-packages)"
        );
        return;
    };
    let chains = "chain SLOW { step S program LONG; rule R1 when TRUE then START S; \
         rule R2 when S COMPLETED then END; }\n";
    let Some(site) = Site::new("cluster_dashboard", "LONG", "30", chains) else {
        return;
    };
    let mut engines = site.engines(2, "3s");
    let (b, a) = (engines.pop().unwrap(), engines.pop().unwrap());
    let out = cli(&["start", "SLOW", "--job", "ON_B", "--server", &b.url]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let profile = tempfile::tempdir().unwrap();
    let page = format!("{}/?nolive#/", a.url);
    let dom = browser_support::run_chromium(&chrome, profile.path(), &page, &["--dump-dom"]);
    assert!(
        dom.contains(r#"id="engines" class="schedules engines""#),
        "the engines panel is shown:\n{dom}"
    );
    assert!(
        dom.contains(r#"<span class="count" id="engines-count">2</span>"#),
        "{dom}"
    );
    assert_eq!(dom.matches(r#"data-alive="true""#).count(), 2, "{dom}");
    assert!(
        dom.contains(">1 job<"),
        "engine B owns the job started on it:\n{dom}"
    );
    assert!(
        dom.contains("ON_B"),
        "the job list shows the job of the other engine:\n{dom}"
    );
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-engines.png");
    let shot_arg = format!("--screenshot={}", shot.display());
    browser_support::run_chromium(&chrome, profile.path(), &page, &[shot_arg.as_str()]);
    drop((a, b));
}
