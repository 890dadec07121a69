//! Issue 12, the service points: `serve --read-only` changes nothing (point 8), connection
//! limits and descriptors kept for steps (point 2), events that are refused, explained or kept
//! (point 11), and `run` taking control commands while it runs (point 12). Each drives the
//! binary as an operator would.

mod server_support;

use server_support::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Point 8: a store whose engine died while a `restart_on_recovery` step ran. `serve
/// --read-only` on it shows the job as it was left: the step is not run again, not stopped, and
/// the store is not changed; the next writing engine recovers it as usual.
#[test]
fn read_only_serve_recovers_and_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mark = dir.path().join("marks");
    let rules = write_rules(
        dir.path(),
        &format!(
            "program HOLD {{ shell 'echo start >> {}; sleep 30'; }}\n\
             chain RR {{ step A program HOLD with restart_on_recovery;\n\
             rule when TRUE then START A; rule when A COMPLETED then END; }}\n",
            mark.display()
        ),
    );
    let db = dir.path().join("db");
    let mut run = Command::new(bin())
        .arg("run")
        .arg(&rules)
        .args(["--chain", "RR", "--job", "J", "--db"])
        .arg(&db)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the step to start", || lines(&mark).len() == 1);
    run.kill().unwrap();
    run.wait().unwrap();

    let mut ro = Server::spawn(dir, rules, db.clone(), &["--read-only"], None);
    let steps = |s: &Server| s.get("/api/v1/jobs/J/steps").1;
    assert_eq!(steps(&ro)[0]["state"], "RUNNING", "{}", steps(&ro));
    // A writing engine would restart A at once (RECOVERY_RUN) and write `start` again.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(lines(&ro.dir.path().join("marks")).len(), 1, "A ran again");
    assert_eq!(steps(&ro)[0]["state"], "RUNNING");
    assert_eq!(ro.get("/api/v1/jobs/J").1["state"], "RUNNING");
    let (status, v) = ro.post_with("/api/v1/reload", serde_json::json!({}), None);
    assert_eq!(status, 403, "{v}");
    let (code, err) = ro.terminate();
    assert_eq!(code, Some(0), "{err}");

    // Nothing was written: the next engine recovers the step (it runs again).
    let out = Command::new(bin())
        .args(["resume", "--db"])
        .arg(&db)
        .env("CHAINSCHED_TIME_SCALE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mark = ro.dir.path().join("marks");
    wait_for("recovery to restart A", || lines(&mark).len() == 2);
    let mut out = out;
    let _ = out.kill();
    let _ = out.wait();
}
