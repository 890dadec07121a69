//! `run --definition`: a run of a job definition through the binary and the real runtime —
//! its group and serialization key in the jobs view, max_run_duration logged (job log
//! ADDITIONAL_INFO, timeline) without stopping the job.

use std::process::Command;

const CHAIN: &str = r#"
program NAP { builtin sleep 1500ms; }
chain NAPPING {
    step W program NAP;
    rule GO   when TRUE then START W;
    rule DONE when W COMPLETED then END;
}
group BATCH { max_running 1; }
job NAPPER {
    chain NAPPING; group BATCH; serialize by DEPTNO; parameters DEPTNO = '7';
    max_run_duration 500ms;
}
"#;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_chainsched"))
}

fn json(args: &[&str], db: &std::path::Path) -> serde_json::Value {
    let out = bin()
        .args(args)
        .arg("--db")
        .arg(db)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json output")
}

#[test]
fn a_run_of_a_definition_carries_its_group_key_and_logs_max_run_duration() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("napper.chain");
    std::fs::write(&file, CHAIN).unwrap();
    let db = dir.path().join("db");
    let out = bin()
        .arg("run")
        .arg(&file)
        .args([
            "--chain",
            "NAPPING",
            "--definition",
            "NAPPER",
            "--job",
            "N1",
        ])
        .arg("--db")
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let jobs = json(&["jobs"], &db);
    let n1 = &jobs[0];
    assert_eq!(n1["job_name"], "N1");
    assert_eq!(
        n1["state"], "SUCCEEDED",
        "max_run_duration never stops a job"
    );
    assert_eq!(n1["group"], "BATCH");
    assert_eq!(n1["serialize_key"], "7");
    assert_eq!(n1["parameters"]["DEPTNO"], "7", "the definition's default");
    assert_eq!(n1["wait_duration"], 0.0);

    let log = json(&["log"], &db);
    let chain_row = log
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["job_subname"].is_null())
        .expect("the chain job's row");
    assert_eq!(chain_row["additional_info"], "MAX_RUN_DURATION_EXCEEDED");

    let out = bin()
        .args(["timeline", "N1", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("max_run_duration"), "{text}");
}

#[test]
fn a_definition_names_its_chain_for_run_and_start() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("napper.chain");
    std::fs::write(&file, CHAIN).unwrap();
    let db = dir.path().join("db");

    // `run --definition` alone: the definition gives the chain.
    let out = bin()
        .arg("run")
        .arg(&file)
        .args(["--definition", "napper", "--job", "R1", "--db"])
        .arg(&db)
        .env("USER", "alice")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A misspelt definition is a usage error with the nearest name; nothing runs.
    let out = bin()
        .arg("run")
        .arg(&file)
        .args(["--definition", "NAPER", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("did you mean NAPPER?"), "{err}");

    // Neither --chain nor --definition: clap refuses.
    let out = bin().arg("run").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(2));

    // `start NAPPER`: a job definition's name where a chain is expected runs the definition,
    // as Oracle runs a job by its name.
    let out = bin()
        .args(["start", "NAPPER", "--job", "S1", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let jobs = json(&["jobs"], &db);
    let rows = jobs.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{jobs}");
    for name in ["R1", "S1"] {
        let row = rows
            .iter()
            .find(|r| r["job_name"] == name)
            .unwrap_or_else(|| panic!("{name} in {jobs}"));
        assert_eq!(row["chain_name"], "NAPPING");
        assert_eq!(row["group"], "BATCH");
        assert_eq!(row["parameters"]["DEPTNO"], "7");
    }
    let r1 = rows.iter().find(|r| r["job_name"] == "R1").unwrap();
    assert_eq!(
        r1["requested_by"], "alice",
        "the operating-system user who ran it"
    );
}
