//! The CLI view and control commands against a running service (`--server`) and against the
//! embedded store (`--db`): same output either way, exit codes, and the control commands.

mod server_support;

use serde_json::{json, Value};
use server_support::*;
use std::path::Path;
use std::process::{Command, Output};

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn local(db: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .arg("--db")
        .arg(db)
        .env_remove("CHAINSCHED_SERVER")
        .env_remove("CHAINSCHED_TOKEN")
        .env("CHAINSCHED_TIME_SCALE", "20")
        .output()
        .unwrap()
}

const VIEW_COMMANDS: &[&[&str]] = &[
    &["jobs"],
    &["jobs", "--format", "json"],
    &[
        "jobs",
        "--format",
        "csv",
        "--state",
        "STOPPED,SUCCEEDED",
        "--limit",
        "2",
    ],
    &["steps", "C1", "--all"],
    &["steps", "C1", "--all", "--format", "json"],
    &["steps", "N1", "--all", "--format", "csv"],
    &["log"],
    &["log", "--format", "json", "--job", "C1"],
    &["log", "--format", "csv", "--since-id", "1", "--limit", "2"],
    &["details", "2"],
    &["details", "2", "--format", "json"],
    &["timeline", "C1"],
    &["timeline", "C2", "--format", "csv"],
    &["stats"],
    &["stats", "--format", "json", "--chain", "DEMO"],
    &["explain", "C2"],
    &["explain", "C1", "--format", "json"],
    &["chains"],
    &["chain-steps", "--format", "csv"],
    &["chain-rules", "DEMO", "--format", "json"],
];

#[test]
fn views_print_the_same_from_the_service_and_from_the_store() {
    let mut s = Server::start(RULES);
    let out = s.cli(&["start", "DEMO", "--job", "C1", "--param", "deptno=10"]);
    assert!(out.status.success(), "{}", err(&out));
    assert_eq!(text(&out), "C1\n", "start prints the job name");
    let out = s.cli(&["start", "STALLS", "--job", "C2", "--format", "json"]);
    assert_eq!(
        serde_json::from_str::<Value>(&text(&out)).unwrap(),
        json!({ "job": "C2" })
    );
    assert!(s.cli(&["start", "OUTER", "--job", "N1"]).status.success());
    let c1 = s.wait_state("C1", &["SUCCEEDED"]);
    assert_eq!(c1["requested_by"], CLI_USER, "the CLI sends its user: {c1}");
    s.wait_state("C2", &["CHAIN_STALLED"]);
    let out = s.cli(&["explain", "C2"]);
    assert!(
        text(&out).contains("A FAILED with 20001; no rule reacts to A failing"),
        "{}",
        text(&out)
    );
    let out = s.cli(&[
        "event",
        "GO",
        "--job",
        "N1",
        "--payload",
        "{\"file\": \"x.csv\"}",
    ]);
    assert!(out.status.success(), "{}", err(&out));
    assert_eq!(text(&out), "event GO: 1 waiting step(s) completed\n");
    s.wait_state("N1", &["SUCCEEDED"]);
    let out = s.cli(&["stop", "C2"]);
    assert_eq!(text(&out), "job C2 stopped\n", "{}", err(&out));
    s.wait_state("C2", &["STOPPED"]);

    // While the service runs, it holds the store: a view given --db is sent to it (the store
    // folder names it: issue 12 point 12), so it prints what --server prints.
    let held = local(&s.db, &["jobs", "--format", "csv"]);
    assert!(held.status.success(), "{}", err(&held));
    assert_eq!(text(&held), text(&s.cli(&["jobs", "--format", "csv"])));

    let remote: Vec<(String, Output)> = VIEW_COMMANDS
        .iter()
        .map(|args| (args.join(" "), s.cli(args)))
        .collect();
    let (code, e) = s.terminate();
    assert_eq!(code, Some(0), "{e}");
    for ((cmd, r), args) in remote.iter().zip(VIEW_COMMANDS) {
        assert!(r.status.success(), "{cmd} (server): {}", err(r));
        assert!(!text(r).trim().is_empty(), "{cmd} printed nothing");
        let l = local(&s.db, args);
        assert!(l.status.success(), "{cmd} (store): {}", err(&l));
        assert_eq!(text(r), text(&l), "{cmd}: --server and --db differ");
    }
    // Spot checks of the shared output.
    let jobs_csv = &remote[2].1;
    let lines: Vec<String> = text(jobs_csv).lines().map(String::from).collect();
    assert!(
        lines[0].starts_with("JOB_NAME,CHAIN_NAME,STATE,ERROR_CODE,GROUP"),
        "{}",
        lines[0]
    );
    assert_eq!(lines.len(), 3);
    let steps: Vec<Value> = serde_json::from_str(&text(&remote[4].1)).unwrap();
    assert_eq!(steps.len(), 3);
    assert!(text(&remote[9].1).contains("OUTPUT"));
}

#[test]
fn control_commands_over_the_service() {
    let s = Server::start(RULES);
    assert!(s.cli(&["start", "STALLS", "--job", "X"]).status.success());
    s.wait_state("X", &["CHAIN_STALLED"]);
    let out = s.cli(&["alter", "X", "A", "--set", "state=RUNNING"]);
    assert_eq!(out.status.code(), Some(2), "bad --set value is bad usage");
    let out = s.cli(&["alter", "X", "A", "--set", "colour=red"]);
    assert_eq!(out.status.code(), Some(2));
    let out = s.cli(&["alter", "NOPE", "--set", "skip=true"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(err(&out).contains("NOPE"), "{}", err(&out));
    let out = s.cli(&["alter", "X", "A", "--set", "state='FAILED 20100'"]);
    assert!(out.status.success(), "{}", err(&out));
    assert_eq!(
        text(&out),
        "step A of job X altered (state='FAILED 20100')\n"
    );
    let (_, steps) = s.get("/api/v1/jobs/X/steps");
    assert_eq!(steps[0]["error_code"], 20100);
    let out = s.cli(&["alter", "X", "A", "--set", "state=SUCCEEDED", "--evaluate"]);
    assert!(out.status.success(), "{}", err(&out));
    s.wait_state("X", &["SUCCEEDED"]);

    assert!(s.cli(&["start", "SLOW", "--job", "Y"]).status.success());
    let out = s.cli(&["evaluate", "Y", "--format", "json"]);
    assert_eq!(
        serde_json::from_str::<Value>(&text(&out)).unwrap(),
        json!({ "job": "Y", "evaluated": true })
    );
    let out = s.cli(&["stop", "Y", "A"]);
    assert_eq!(text(&out), "step A of job Y stopped\n", "{}", err(&out));
    s.wait_state("Y", &["SUCCEEDED"]);

    // Without the token the service refuses and the CLI says why (exit 1).
    let out = Command::new(bin())
        .args(["start", "DEMO", "--server", &s.url])
        .env_remove("CHAINSCHED_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(err(&out).contains("Bearer"), "{}", err(&out));
    // A token file works as well as the variable.
    let tf = s.dir.path().join("token");
    std::fs::write(&tf, format!("{TOKEN}\n")).unwrap();
    let out = Command::new(bin())
        .args([
            "start",
            "DEMO",
            "--job",
            "Z",
            "--server",
            &s.url,
            "--token-file",
        ])
        .arg(&tf)
        .env_remove("CHAINSCHED_TOKEN")
        .output()
        .unwrap();
    assert_eq!(text(&out), "Z\n", "{}", err(&out));
    // An unreachable service is a problem, not a usage error.
    let out = Command::new(bin())
        .args(["jobs", "--server", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(err(&out).contains("cannot reach"), "{}", err(&out));
}

#[test]
fn without_a_service_the_control_commands_run_the_engine_on_the_store() {
    let mut s = Server::start(RULES);
    // The service stores its catalog; after it stops the store alone is enough.
    s.start_job(json!({ "chain": "STALLS", "job": "E1" }));
    s.wait_state("E1", &["CHAIN_STALLED"]);
    assert_eq!(s.terminate().0, Some(0));
    let db = s.db.clone();

    let out = local(&db, &["start", "DEMO", "--job", "E2"]);
    assert!(out.status.success(), "{}", err(&out));
    assert_eq!(text(&out), "E2\n");
    let out = local(&db, &["jobs", "--format", "json"]);
    let rows: Vec<Value> = serde_json::from_str(&text(&out)).unwrap();
    let e2 = rows.iter().find(|r| r["job_name"] == "E2").unwrap();
    assert_eq!(
        e2["state"], "SUCCEEDED",
        "the command ran the job to its end"
    );

    let out = local(
        &db,
        &["alter", "E1", "A", "--set", "state=SUCCEEDED", "--evaluate"],
    );
    assert!(out.status.success(), "{}", err(&out));
    let out = local(&db, &["jobs", "--state", "SUCCEEDED", "--format", "csv"]);
    assert!(
        text(&out)
            .lines()
            .any(|l| l.starts_with("E1,STALLS,SUCCEEDED")),
        "{}",
        text(&out)
    );

    // E2 has ended: its name is not reused unless asked.
    let out = local(&db, &["start", "STALLS", "--job", "E2"]);
    assert_eq!(out.status.code(), Some(1), "{}", err(&out));
    assert!(err(&out).contains("--replace"), "{}", err(&out));
    let out = local(&db, &["start", "DEMO", "--job", "E2", "--replace"]);
    assert!(out.status.success(), "{}", err(&out));

    let out = local(&db, &["stop", "NOPE"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(err(&out).contains("NOPE"));
    let missing = s.dir.path().join("missing");
    let out = local(&missing, &["jobs"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(err(&out).contains("no store"), "{}", err(&out));
    let out = local(&db, &["jobs", "--since", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    let out = local(&db, &["details", "x"]);
    assert_eq!(out.status.code(), Some(2));
    let out = local(&db, &["details", "999"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn serve_with_relaxed_durability_runs_jobs_and_keeps_them_after_a_restart() {
    let server = Server::start_with(RULES, &["--durability", "relaxed"], Some(TOKEN));
    let job = server.start_job(json!({"chain": "DEMO", "job": "RELAXED_1"}));
    let row = server.wait_state(&job, &["SUCCEEDED", "FAILED", "STOPPED"]);
    assert_eq!(row["state"], "SUCCEEDED", "{row}");
    // A clean shutdown flushes what the background flush had not yet written.
    let server = server.restart(&["--durability", "sync"]);
    let (status, row) = server.get("/api/v1/jobs/RELAXED_1");
    assert_eq!(status, 200, "{row}");
    assert_eq!(row["state"], "SUCCEEDED", "{row}");
}
