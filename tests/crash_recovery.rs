//! Crash harness: `chainsched run` is killed with SIGKILL at many points of a chain, then
//! `chainsched resume` runs the job to its end on the same store.
//!
//! Each step is a shell program that appends `start X` / `end X` to a marker file and holds an
//! exclusive `flock` while it runs (a second run of the same step while one is still alive
//! writes `OVERLAP X`). After each crash the store is opened to see what was durable at that
//! moment; after the resume we check:
//! * the job ends SUCCEEDED (or, without restart_on_recovery, as its rules say);
//! * a step whose completion was durable before the crash never runs again;
//! * a step whose process had started was durably RUNNING (or further) before it started;
//! * no step ever runs twice at once;
//! * the job log has exactly one SUCCEEDED row per step and one row for the job, ids unique.

mod crash_support;

use chainsched::core::types::{JobState, StepState};
use chainsched::store::sled_store::SledOptions;
use chainsched::store::ChainStore;
use crash_support::{chain_file, kill_at, marks};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_chainsched");

fn spawn_run(dir: &Path, rules: &Path, job: Option<&str>) -> Child {
    let mut cmd = Command::new(BIN);
    cmd.arg("run")
        .arg(rules)
        .args(["--chain", "CR", "--db"])
        .arg(dir.join("db"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(j) = job {
        cmd.args(["--job", j]);
    }
    cmd.spawn().unwrap()
}

fn open_store(dir: &Path) -> ChainStore {
    // The killed process released the store's lock; retry briefly in case the kernel has not
    // finished tearing it down.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match ChainStore::open_sled(&dir.join("db"), &SledOptions::default()) {
            Ok(s) => return s,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("cannot open the store after the crash: {e}"),
        }
    }
}

/// What the store said right after the crash: step subname → (state, log row id if logged).
struct AtCrash {
    steps: BTreeMap<String, StepState>,
    log_ids: Vec<u64>,
    job: Option<String>,
}

fn at_crash(dir: &Path) -> AtCrash {
    if !dir.join("db").exists() {
        return AtCrash {
            steps: BTreeMap::new(),
            log_ids: vec![],
            job: None,
        };
    }
    let store = open_store(dir);
    let jobs = store.jobs().unwrap();
    let job = jobs.first().map(|j| j.job.clone());
    let steps = match &job {
        Some(j) => store
            .steps(j)
            .unwrap()
            .into_iter()
            .map(|s| (s.subname, s.state))
            .collect(),
        None => BTreeMap::new(),
    };
    let log_ids = store
        .log(0, usize::MAX)
        .unwrap()
        .iter()
        .map(|r| r.log_id)
        .collect();
    AtCrash {
        steps,
        log_ids,
        job,
    }
}

fn resume(dir: &Path) -> std::process::Output {
    Command::new(BIN)
        .arg("resume")
        .arg("--db")
        .arg(dir.join("db"))
        .args(["--format", "json"])
        .output()
        .unwrap()
}

/// One crash point of the all-restart_on_recovery chain.
fn crash_once(lines: usize, delay_ms: u64) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let rules = chain_file(dir, "with restart_on_recovery", "");
    let mut child = spawn_run(dir, &rules, Some("J"));
    kill_at(&mut child, dir, lines, Duration::from_millis(delay_ms));
    let before = marks(dir);
    let crash = at_crash(dir);
    let ctx = format!("kill point ({lines} marks, +{delay_ms} ms); marks before: {before:?}");

    // Durable before acted on: a started process implies a durable RUNNING (or later) state.
    for line in &before {
        if let Some(step) = line.strip_prefix("start ") {
            let st = crash.steps.get(step).copied();
            assert!(
                matches!(
                    st,
                    Some(
                        StepState::Running
                            | StepState::Succeeded
                            | StepState::Failed
                            | StepState::Stopped
                    )
                ),
                "{ctx}: step {step} ran but the store had it {st:?}"
            );
        }
    }

    let out = resume(dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let after = marks(dir);
    let new_marks = &after[before.len()..];
    assert!(
        !after.iter().any(|l| l.starts_with("OVERLAP")),
        "{ctx}: a step ran twice at once: {after:?}"
    );
    // A step whose completion was durable never runs again.
    for (step, st) in &crash.steps {
        if st.is_completed() {
            assert!(
                !new_marks.contains(&format!("start {step}")),
                "{ctx}: step {step} was {st:?} at the crash but ran again: {after:?}"
            );
        }
    }
    let Some(job) = crash.job.clone() else {
        // Killed before the job's start was durable: nothing ran, nothing to resume (and
        // before the store was even created, `resume` says there is no store).
        assert!(before.is_empty(), "{ctx}: marks without a job");
        let expected = if dir.join("db").exists() { 0 } else { 1 };
        assert_eq!(out.status.code(), Some(expected), "{ctx}: {stderr}");
        return;
    };
    let store = open_store(dir);
    assert!(out.status.success(), "{ctx}: resume failed: {stderr}");
    let rec = store.job(&job).unwrap().unwrap();
    assert_eq!(rec.state, JobState::Succeeded, "{ctx}: {rec:?}");
    let steps = store.steps(&job).unwrap();
    for s in &steps {
        assert_eq!(s.state, StepState::Succeeded, "{ctx}: {s:?}");
    }
    // Each step ended exactly once as far as its own side effects go... unless it was
    // interrupted after writing `end` but before its completion was durable.
    for s in ["A", "B", "C", "D"] {
        let ends = after.iter().filter(|l| **l == format!("end {s}")).count();
        assert!(ends >= 1, "{ctx}: {s} never finished: {after:?}");
        if crash.steps.get(s).is_some_and(|st| st.is_completed()) {
            assert_eq!(ends, 1, "{ctx}: {s} finished twice: {after:?}");
        }
    }
    let log = store.job_log(&job).unwrap();
    for s in ["A", "B", "C", "D"] {
        let ok: Vec<_> = log
            .iter()
            .filter(|r| r.subname.as_deref() == Some(s) && r.status == StepState::Succeeded)
            .collect();
        assert_eq!(ok.len(), 1, "{ctx}: SUCCEEDED rows of {s}: {log:?}");
    }
    let job_rows: Vec<_> = log.iter().filter(|r| r.subname.is_none()).collect();
    assert_eq!(job_rows.len(), 1, "{ctx}: {log:?}");
    assert_eq!(job_rows[0].status, StepState::Succeeded);
    let mut ids: Vec<u64> = log.iter().map(|r| r.log_id).collect();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n, "{ctx}: duplicate log ids");
    // Rows logged before the crash are kept as they were.
    for id in &crash.log_ids {
        assert!(log.iter().any(|r| r.log_id == *id), "{ctx}: row {id} lost");
    }
}

#[test]
fn killed_at_many_points_the_job_resumes_and_ends_correctly() {
    // marks: start A, end A, start B|C, start C|B, end B|C, end C|B, start D, end D
    let points: &[(usize, u64)] = &[
        (0, 0),
        (1, 0),
        (1, 120),
        (2, 0),
        (3, 0),
        (4, 50),
        (5, 0),
        (6, 0),
        (6, 400),
        (7, 0),
        (7, 120),
        (8, 0),
    ];
    for (lines, delay) in points {
        crash_once(*lines, *delay);
    }
}

#[test]
fn without_restart_on_recovery_a_running_step_is_stopped() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let rules = chain_file(dir, "", "");
    let mut child = spawn_run(dir, &rules, Some("J"));
    // A is running: kill.
    kill_at(&mut child, dir, 1, Duration::from_millis(50));
    let out = resume(dir);
    assert_eq!(out.status.code(), Some(1), "the job ends FAILED (END 3)");
    let store = open_store(dir);
    let rec = store.job("J").unwrap().unwrap();
    assert_eq!((rec.state, rec.error_code), (JobState::Failed, Some(3)));
    let steps = store.steps("J").unwrap();
    let a = steps.iter().find(|s| s.subname == "A").unwrap();
    assert_eq!((a.state, a.error_code), (StepState::Stopped, Some(1013)));
    let log = store.job_log("J").unwrap();
    let a_rows: Vec<_> = log
        .iter()
        .filter(|r| r.subname.as_deref() == Some("A"))
        .collect();
    assert_eq!(a_rows.len(), 1);
    assert_eq!(a_rows[0].status, StepState::Stopped);
    assert_eq!(a_rows[0].error_code, 1013);
    // A never ran again.
    assert_eq!(
        marks(dir).iter().filter(|l| *l == "start A").count(),
        1,
        "{:?}",
        marks(dir)
    );
    // The JSON output is simulate's shape.
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["jobs"][0]["job"], "J");
    assert_eq!(json["jobs"][0]["state"], "FAILED");
    assert_eq!(json["rejected"], serde_json::json!([]));
}

#[test]
fn a_restartable_job_starts_over_after_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let rules = chain_file(dir, "", "job NIGHTLY { chain CR; restartable; }\n");
    let mut child = spawn_run(dir, &rules, Some("NIGHTLY"));
    // B and C are running.
    kill_at(&mut child, dir, 4, Duration::from_millis(50));
    let out = resume(dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = open_store(dir);
    let rec = store.job("NIGHTLY").unwrap().unwrap();
    assert_eq!(rec.state, JobState::Succeeded);
    let m = marks(dir);
    assert_eq!(m.iter().filter(|l| *l == "start A").count(), 2, "{m:?}");
    assert_eq!(m.iter().filter(|l| *l == "end D").count(), 1, "{m:?}");
    assert!(!m.iter().any(|l| l.starts_with("OVERLAP")), "{m:?}");
}

/// `restartable` belongs to the job definition, whatever its run is called (it used to be
/// applied only to a run named like its definition).
#[test]
fn a_restartable_definition_restarts_a_run_named_otherwise() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let rules = chain_file(dir, "", "job NIGHTLY { chain CR; restartable; }\n");
    let mut child = Command::new(BIN)
        .arg("run")
        .arg(&rules)
        .args(["--definition", "NIGHTLY", "--job", "NIGHTLY_RERUN", "--db"])
        .arg(dir.join("db"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    kill_at(&mut child, dir, 4, Duration::from_millis(50));
    let out = resume(dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = open_store(dir);
    let rec = store.job("NIGHTLY_RERUN").unwrap().unwrap();
    assert_eq!(rec.state, JobState::Succeeded);
    let m = marks(dir);
    assert_eq!(m.iter().filter(|l| *l == "start A").count(), 2, "{m:?}");
    assert!(!m.iter().any(|l| l.starts_with("OVERLAP")), "{m:?}");
}

#[test]
fn resume_with_nothing_to_do_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let out = resume(dir);
    assert_eq!(out.status.code(), Some(1), "no store at all");
    let rules = chain_file(dir, "", "");
    let run = Command::new(BIN)
        .arg("run")
        .arg(&rules)
        .args(["--chain", "CR", "--db"])
        .arg(dir.join("db"))
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let out = Command::new(BIN)
        .arg("resume")
        .arg("--db")
        .arg(dir.join("db"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to resume"));
}
