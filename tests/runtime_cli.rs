//! `chainsched run` driven as a user would: the binary, real processes, exit codes, the final
//! view (table and simulate-shaped JSON), flags, Ctrl-C.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_chainsched");

fn rules(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("rules.chain");
    std::fs::write(&p, text).unwrap();
    p
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("run")
        .arg(dir.join("rules.chain"))
        .arg("--db")
        .arg(dir.join("db"))
        .args(args)
        .output()
        .unwrap()
}

const CHAIN: &str = r#"
program OK   { builtin noop; }
program ECHO { executable '/bin/echo'; arguments 'date=${run_date}'; }
program BAD  { shell 'echo "::error-code 20100"; exit 1'; }
chain ETL {
  step A program OK;
  step B program ECHO;
  step C program BAD;
  rule R1 when TRUE then START A;
  rule R2 when A SUCCEEDED then START B;
  rule R3 when B SUCCEEDED then START C;
  rule R4 when C FAILED then END C.ERROR_CODE;
  rule R5 when C SUCCEEDED then END;
}
"#;

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn a_failed_job_exits_1_and_prints_simulate_shaped_json() {
    let tmp = tempfile::tempdir().unwrap();
    rules(tmp.path(), CHAIN);
    let out = run(
        tmp.path(),
        &[
            "--chain",
            "etl",
            "--param",
            "RUN_DATE=2024-03-01",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The keys come in simulate's order.
    let text = String::from_utf8_lossy(&out.stdout);
    let pos: Vec<usize> = [
        "\"ended_at\"",
        "\"jobs\"",
        "\"log\"",
        "\"timeline\"",
        "\"rejected\"",
    ]
    .iter()
    .map(|k| text.find(k).unwrap())
    .collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{text}");
    let v = json(&out);
    assert_eq!(v["rejected"], serde_json::json!([]));
    let job = &v["jobs"][0];
    assert_eq!(job["chain"], "ETL");
    assert_eq!(job["state"], "FAILED");
    assert_eq!(job["error_code"], 20100);
    assert_eq!(
        job["started_at"], "0s",
        "times are durations since the job started"
    );
    let steps: Vec<(String, String)> = job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["step"].as_str().unwrap().to_string(),
                s["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        vec![
            ("A".into(), "SUCCEEDED".into()),
            ("B".into(), "SUCCEEDED".into()),
            ("C".into(), "FAILED".into())
        ]
    );
    let log = v["log"].as_array().unwrap();
    assert_eq!(log.len(), 4);
    assert_eq!(log[2]["error_code"], 20100);
    assert!(log[3]["subname"].is_null());
    assert!(v["timeline"].as_array().unwrap().len() >= 4);
}

#[test]
fn a_succeeded_job_exits_0_with_a_table() {
    let tmp = tempfile::tempdir().unwrap();
    rules(tmp.path(), CHAIN);
    // C preset SUCCEEDED: R5 ends the job at once (SUCCEEDED), nothing runs.
    let out = run(
        tmp.path(),
        &[
            "--chain",
            "ETL",
            "--job",
            "nightly",
            "--param",
            "run_date=x",
            "--step-state",
            "C=SUCCEEDED",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("job NIGHTLY (chain ETL): SUCCEEDED"),
        "{stdout}"
    );
    assert!(stdout.contains("job log:"), "{stdout}");

    rules(
        tmp.path(),
        "program OK { builtin noop; }\nchain TWO { step A program OK; step B program OK;\n\
         rule R1 when TRUE then START A; rule R2 when A SUCCEEDED then START B;\n\
         rule R3 when B SUCCEEDED then END; }",
    );
    let out = run(tmp.path(), &["--chain", "TWO"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("SUCCEEDED"), "{stdout}");
    // Plain progress lines on stderr when it is not a terminal.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("A  RUNNING"), "{stderr}");
    assert!(stderr.contains("B  SUCCEEDED"), "{stderr}");
}

#[test]
fn start_steps_and_step_states_are_applied() {
    let tmp = tempfile::tempdir().unwrap();
    rules(tmp.path(), CHAIN);
    // Only B starts; A (which R1 would start) is skipped-and-paused.
    let out = run(
        tmp.path(),
        &[
            "--chain",
            "ETL",
            "--param",
            "RUN_DATE=x",
            "--start-steps",
            "B",
            "--format",
            "json",
        ],
    );
    let v = json(&out);
    let steps = v["jobs"][0]["steps"].as_array().unwrap();
    assert_eq!(steps[0]["state"], "PAUSED", "{v}");
    assert_eq!(steps[1]["state"], "SUCCEEDED", "{v}");
    assert_eq!(steps[2]["error_code"], 20100, "{v}");
    // A preset SUCCEEDED is never run: B starts at once.
    let out = run(
        tmp.path(),
        &[
            "--chain",
            "ETL",
            "--param",
            "RUN_DATE=x",
            "--step-state",
            "a=SUCCEEDED",
            "--format",
            "json",
        ],
    );
    let v = json(&out);
    let steps = v["jobs"][0]["steps"].as_array().unwrap();
    assert_eq!(steps[0]["state"], "SUCCEEDED", "{v}");
    assert_eq!(steps[0]["attempts"], 0, "{v}");
    assert_eq!(steps[1]["state"], "SUCCEEDED", "{v}");
    let log = v["log"].as_array().unwrap();
    assert!(
        log.iter().all(|r| r["subname"] != "A"),
        "a preset step writes no log row: {v}"
    );
}

#[test]
fn bad_usage_exits_2_and_names_the_flag() {
    let tmp = tempfile::tempdir().unwrap();
    rules(tmp.path(), CHAIN);
    for (args, needle) in [
        (vec!["--chain", "NOPE"], "--chain"),
        (vec!["--chain", "ETL", "--param", "novalue"], "--param"),
        (
            vec!["--chain", "ETL", "--step-state", "C=FAILED"],
            "--step-state",
        ),
        (
            vec!["--chain", "ETL", "--step-state", "Z=SUCCEEDED"],
            "--step-state",
        ),
        (
            vec!["--chain", "ETL", "--start-steps", "Q"],
            "--start-steps",
        ),
    ] {
        let out = run(tmp.path(), &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let out = Command::new(BIN)
        .args(["run", "/nonexistent.chain", "--chain", "X"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_unknown_parameter_stops_the_run_before_it_starts() {
    let tmp = tempfile::tempdir().unwrap();
    rules(tmp.path(), CHAIN);
    let out = run(tmp.path(), &["--chain", "ETL"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("RUN_DATE"), "{err}");
    assert!(err.contains("not started"), "{err}");
}

#[test]
fn a_rule_file_with_errors_runs_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    rules(tmp.path(), "chain BROKEN { step A program ; }");
    let out = run(tmp.path(), &["--chain", "BROKEN"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        !tmp.path().join("db").exists(),
        "no store is created for a bad catalog"
    );
}

#[test]
fn ctrl_c_stops_the_job_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    rules(
        tmp.path(),
        r#"
program LONG { shell 'echo "::progress 1/3 working"; sleep 30'; }
chain S { step A program LONG; step B program LONG;
  rule R1 when TRUE then START A, B;
  rule R2 when A COMPLETED AND B COMPLETED then END; }
"#,
    );
    let child = Command::new(BIN)
        .arg("run")
        .arg(tmp.path().join("rules.chain"))
        .args(["--chain", "S", "--job", "J", "--format", "json", "--db"])
        .arg(tmp.path().join("db"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for both steps to run (their progress lines show on stderr; simpler: give it time).
    std::thread::sleep(Duration::from_millis(800));
    let t0 = Instant::now();
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    assert!(t0.elapsed() < Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["jobs"][0]["state"], "STOPPED");
    for s in v["jobs"][0]["steps"].as_array().unwrap() {
        assert_eq!(s["state"], "STOPPED", "{v}");
    }
    let log = v["log"].as_array().unwrap();
    assert_eq!(log.len(), 3, "two step rows and the job row: {v}");
    assert!(log.iter().all(|r| r["status"] == "STOPPED"));
}

#[test]
fn a_stalled_job_ends_the_run_with_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    rules(
        tmp.path(),
        r#"
program BAD { builtin fail 3; }
program OK  { builtin noop; }
chain ST { step A program BAD; step B program OK;
  rule R1 when TRUE then START A;
  rule R2 when A SUCCEEDED then START B;
  rule R3 when B SUCCEEDED then END; }
"#,
    );
    let t0 = Instant::now();
    let out = run(tmp.path(), &["--chain", "ST", "--format", "json"]);
    assert!(t0.elapsed() < Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["jobs"][0]["state"], "CHAIN_STALLED", "{v}");
    assert_eq!(v["jobs"][0]["steps"][0]["error_code"], 3);
}

fn demo_chain() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo.chain")
}

/// Entries left in a folder (the test's working directory).
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn run_on_an_in_memory_store_succeeds_and_leaves_nothing_on_disk() {
    let cwd = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .current_dir(cwd.path())
        .env("CHAINSCHED_TIME_SCALE", "20")
        .args(["run"])
        .arg(demo_chain())
        .args(["--chain", "DEMO", "--db", ":memory:"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("job "), "{stdout}");
    assert!(stdout.contains("(chain DEMO): SUCCEEDED"), "{stdout}");
    assert!(stdout.contains("SUMMARY"), "{stdout}");
    // Neither a `:memory:` folder nor the default ./chainsched-data.
    assert_eq!(entries(cwd.path()), Vec::<String>::new());
}

#[test]
fn resume_on_an_in_memory_store_has_nothing_to_resume() {
    let cwd = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .current_dir(cwd.path())
        .args(["resume", "--db", ":memory:"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("nothing to resume"), "{stdout}");
    assert!(stdout.contains("in-memory store"), "{stdout}");
    assert_eq!(entries(cwd.path()), Vec::<String>::new());
    // JSON: the empty final view, still exit 0.
    let out = Command::new(BIN)
        .current_dir(cwd.path())
        .args(["resume", "--db", ":memory:", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v["jobs"].as_array().map(Vec::len), Some(0), "{v}");
}

#[test]
fn relaxed_durability_runs_and_the_store_keeps_the_job() {
    let tmp = tempfile::tempdir().unwrap();
    rules(
        tmp.path(),
        "program OK { builtin noop; }\nchain TWO { step A program OK; step B program OK;\n\
         rule R1 when TRUE then START A; rule R2 when A SUCCEEDED then START B;\n\
         rule R3 when B SUCCEEDED then END; }",
    );
    let out = run(
        tmp.path(),
        &[
            "--chain",
            "TWO",
            "--job",
            "RELAXED1",
            "--durability",
            "relaxed",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("job RELAXED1 (chain TWO): SUCCEEDED"),
        "{stdout}"
    );
    // The engine flushed at shutdown: another process reads the finished job.
    let out = Command::new(BIN)
        .args(["jobs", "--format", "json", "--db"])
        .arg(tmp.path().join("db"))
        .output()
        .unwrap();
    let v = json(&out);
    let row = v
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["job_name"] == "RELAXED1"))
        .unwrap_or_else(|| panic!("no RELAXED1 row: {v}"));
    assert_eq!(row["state"], "SUCCEEDED", "{v}");
    // resume takes the flag too (nothing left to resume here).
    let out = Command::new(BIN)
        .args(["resume", "--durability", "relaxed", "--db"])
        .arg(tmp.path().join("db"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing to resume"));
}

#[test]
fn a_bad_durability_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    rules(tmp.path(), CHAIN);
    for cmd in [
        vec!["run", "x.chain", "--chain", "ETL", "--durability", "fast"],
        vec!["resume", "--durability", "SYNCED"],
        vec!["serve", "--rules", "x", "--durability", ""],
    ] {
        let out = Command::new(BIN)
            .current_dir(tmp.path())
            .args(&cmd)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}: {err}");
        assert!(err.contains("--durability"), "{cmd:?}: {err}");
        assert!(
            err.contains("sync") && err.contains("relaxed"),
            "{cmd:?}: {err}"
        );
        assert!(!tmp.path().join("chainsched-data").exists(), "{cmd:?}");
    }
}

/// `run … 2>&1 | head -1`: the pipe closes after the first line; the command still runs its
/// job to the end and exits with the job's status — never a panic (exit 101) on the closed
/// pipe.
#[test]
fn a_closed_output_pipe_is_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo.chain");
    let db = dir.join("db");
    let out = Command::new("bash")
        .arg("-c")
        .arg(r#""$0" run "$1" --chain DEMO --job PIPED --db "$2" 2>&1 | head -1; exit "${PIPESTATUS[0]}""#)
        .arg(BIN)
        .arg(&demo)
        .arg(&db)
        .env_remove("CHAINSCHED_DB")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let jobs = Command::new(BIN)
        .args(["jobs", "--format", "json", "--db"])
        .arg(&db)
        .env_remove("CHAINSCHED_DB")
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&jobs.stdout).unwrap();
    assert_eq!(rows[0]["job_name"], "PIPED", "{rows}");
    assert_eq!(rows[0]["state"], "SUCCEEDED", "{rows}");
}
