//! `chainsched simulate` and `chainsched test` driven through the binary, as a person would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_chainsched"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> Output {
    bin()
        .current_dir(root())
        .args(args)
        .output()
        .expect("the binary runs")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn no_panic(o: &Output) {
    let (out, err) = text(o);
    assert!(
        !err.contains("panicked") && !out.contains("panicked"),
        "panic:\n{out}\n{err}"
    );
}

/// A folder with one rule file and one scenario file.
fn project(chain: &str, scenario: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("rules.chain"), chain).expect("write rules");
    std::fs::write(dir.path().join("s.scenario.toml"), scenario).expect("write scenario");
    dir
}

fn simulate(dir: &Path, format: &str) -> Output {
    bin()
        .arg("simulate")
        .arg(dir.join("rules.chain"))
        .arg("--scenario")
        .arg(dir.join("s.scenario.toml"))
        .args(["--format", format])
        .output()
        .expect("the binary runs")
}

const SMALL_CHAIN: &str = "
program WORK { builtin noop; }
chain C8 {
    step A program WORK;
    step B program WORK;
    rule R1 when TRUE then START A;
    rule R2 when A FAILED then AFTER 00:00:30 START B;
    rule R3 when B COMPLETED then END;
}
";

const SMALL_SCENARIO: &str = r#"
[[job]]
name = "J1"
chain = "C8"
[job.outcomes]
A = "fail 20001"
B = { result = "ok", duration = "5s" }

[[at]]
time = "3s"
alter = { job = "J1", step = "B", state = "FAILED" }
"#;

#[test]
fn every_fixture_scenario_passes() {
    let o = run(&["test", "fixtures/scenarios"]);
    no_panic(&o);
    let (out, err) = text(&o);
    assert!(
        o.status.code() == Some(0),
        "some fixture scenarios fail (see /work/notes/core_disagreements.md):\n{out}\n{err}"
    );
    assert!(out.contains(" passed, 0 failed"), "{out}");
    let passed: usize = out
        .lines()
        .find_map(|l| l.strip_suffix(" passed, 0 failed"))
        .and_then(|n| n.trim().parse().ok())
        .expect("a summary line");
    assert!(
        passed >= 40,
        "expected the whole fixture set, got {passed}:\n{out}"
    );
}

#[test]
fn simulate_json_is_the_documented_shape_exactly() {
    let dir = project(SMALL_CHAIN, SMALL_SCENARIO);
    let o = simulate(dir.path(), "json");
    no_panic(&o);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");

    let expected_jobs = serde_json::json!([
        { "job": "J1", "chain": "C8", "state": "SUCCEEDED", "error_code": 0,
          "started_at": "0s", "ended_at": "36s",
          "steps": [
            { "subname": "A", "chain": "C8", "step": "A", "state": "FAILED", "error_code": 20001,
              "attempts": 1, "started_at": "0s", "ended_at": "1s" },
            { "subname": "B", "chain": "C8", "step": "B", "state": "SUCCEEDED", "error_code": 0,
              "attempts": 1, "started_at": "31s", "ended_at": "36s" } ] } ]);
    assert_eq!(v["ended_at"], "36s");
    assert_eq!(v["jobs"], expected_jobs);
    assert_eq!(
        v["log"],
        serde_json::json!([
            { "log_id": 1, "time": "1s", "job": "J1", "subname": "A", "operation": "RUN",
              "status": "FAILED", "error_code": 20001 },
            { "log_id": 2, "time": "36s", "job": "J1", "subname": "B", "operation": "RUN",
              "status": "SUCCEEDED", "error_code": 0 },
            { "log_id": 3, "time": "36s", "job": "J1", "subname": null, "operation": "RUN",
              "status": "SUCCEEDED", "error_code": 0 } ])
    );
    assert_eq!(
        v["rejected"],
        serde_json::json!([{ "time": "3s", "intervention": "alter",
            "error": "state 'FAILED': FAILED needs a positive error code, e.g. 'FAILED 20100'" }])
    );
    let timeline = v["timeline"].as_array().expect("timeline array");
    assert!(!timeline.is_empty());
    for e in timeline {
        let keys: Vec<&String> = e.as_object().expect("object").keys().collect();
        // A step's start also says how it was started (and by which rule).
        let starts = e.get("started_by").is_some();
        assert_eq!(
            keys.len(),
            if starts {
                4 + 1 + usize::from(e.get("by_rule").is_some())
            } else {
                4
            },
            "{e}"
        );
        if starts {
            assert!(
                e["detail"].as_str().unwrap().ends_with("RUNNING")
                    || e["detail"].as_str().unwrap().ends_with("SCHEDULED"),
                "{e}"
            );
        }
        assert!(
            e["time"].is_string()
                && e["job"] == "J1"
                && e["kind"].is_string()
                && e["detail"].is_string()
        );
    }
    let kinds: Vec<&str> = timeline.iter().filter_map(|e| e["kind"].as_str()).collect();
    for k in ["job_started", "rule_fired", "job_ended"] {
        assert!(kinds.contains(&k), "no {k} in {kinds:?}");
    }

    // Key order is part of the contract: check it in the raw text of each kind of object.
    let order = |anchor: &str, keys: &[&str]| {
        let start = out
            .find(&format!("\"{anchor}\":"))
            .unwrap_or_else(|| panic!("no key {anchor}"));
        let part = &out[start..];
        let end = part.find('}').unwrap_or(part.len());
        let part = &part[..end];
        let positions: Vec<usize> = keys
            .iter()
            .map(|k| {
                part.find(&format!("\"{k}\":"))
                    .unwrap_or_else(|| panic!("no key {k} in {part}"))
            })
            .collect();
        assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "keys out of order: {keys:?} in {part}"
        );
    };
    let top: Vec<usize> = ["ended_at", "jobs", "log", "timeline", "rejected"]
        .iter()
        .map(|k| out.find(&format!("\"{k}\":")).expect("top-level key"))
        .collect();
    assert!(
        top.windows(2).all(|w| w[0] < w[1]),
        "top-level keys out of order"
    );
    order(
        "job",
        &[
            "job",
            "chain",
            "state",
            "error_code",
            "started_at",
            "ended_at",
            "steps",
        ],
    );
    order(
        "subname",
        &[
            "subname",
            "chain",
            "step",
            "state",
            "error_code",
            "attempts",
            "started_at",
            "ended_at",
        ],
    );
    order(
        "log_id",
        &[
            "log_id",
            "time",
            "job",
            "subname",
            "operation",
            "status",
            "error_code",
        ],
    );
    order("intervention", &["intervention", "error"]);
    let rejected_at = out.find("\"rejected\":").expect("rejected");
    let r = &out[rejected_at..];
    assert!(r.find("\"time\":") < r.find("\"intervention\":"));
    let tl = &out[out.find("\"timeline\":").expect("timeline")..];
    let first = &tl[..tl.find('}').expect("an entry")];
    let pos: Vec<usize> = ["time", "job", "kind", "detail"]
        .iter()
        .map(|k| first.find(&format!("\"{k}\":")).expect("timeline key"))
        .collect();
    assert!(
        pos.windows(2).all(|w| w[0] < w[1]),
        "timeline keys out of order: {first}"
    );
}

#[test]
fn simulate_is_deterministic() {
    let dir = project(SMALL_CHAIN, SMALL_SCENARIO);
    let a = text(&simulate(dir.path(), "json")).0;
    let b = text(&simulate(dir.path(), "json")).0;
    assert_eq!(a, b);
}

#[test]
fn simulate_table_shows_the_step_tree_and_timeline() {
    let chain = "
program WORK { builtin noop; }
chain OUTER { step N chain INNER; step Z program WORK;
  rule when TRUE then START N; rule when N COMPLETED then START Z; rule when Z COMPLETED then END; }
chain INNER { step I1 program WORK; rule when TRUE then START I1; rule when I1 COMPLETED then END I1.ERROR_CODE; }
";
    let scenario =
        "[[job]]\nname = \"J1\"\nchain = \"OUTER\"\n[job.outcomes]\n\"N.I1\" = \"fail 5\"\n";
    let dir = project(chain, scenario);
    let o = simulate(dir.path(), "table");
    no_panic(&o);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(out.contains("job J1 (chain OUTER): SUCCEEDED"), "{out}");
    let n = out
        .lines()
        .find(|l| l.trim_start().starts_with("N "))
        .expect("a row for N");
    let i1 = out
        .lines()
        .find(|l| l.trim_start().starts_with("I1 "))
        .expect("a row for N.I1");
    let indent = |l: &str| l.len() - l.trim_start().len();
    assert!(indent(i1) > indent(n), "nested step not indented:\n{out}");
    assert!(i1.contains("FAILED 5"), "{i1}");
    assert!(n.contains("FAILED 5"), "{n}");
    assert!(out.contains("timeline:"), "{out}");
    assert!(out.contains("simulation ended at 2s"), "{out}");
}

#[test]
fn refused_interventions_are_listed_and_change_nothing() {
    let scenario = r#"
[[job]]
name = "J1"
chain = "C8"
[job.outcomes]
A = { result = "fail 20001", duration = "5s" }

[[at]]
time = "2s"
alter = { job = "J1", step = "A", state = "SUCCEEDED" }
[[at]]
time = "2s"
stop = { job = "NOPE" }
[[at]]
time = "2s"
evaluate = { job = "NOPE" }
"#;
    let dir = project(SMALL_CHAIN, scenario);
    let (out, err) = text(&simulate(dir.path(), "json"));
    let v: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    let rejected = v["rejected"].as_array().expect("array");
    assert_eq!(rejected.len(), 3, "{rejected:?}");
    assert_eq!(rejected[0]["intervention"], "alter");
    assert_eq!(
        rejected[0]["error"],
        "step A of job J1 is RUNNING; its state cannot be altered"
    );
    assert_eq!(rejected[1]["intervention"], "stop");
    assert_eq!(rejected[2]["intervention"], "evaluate");
    for r in rejected {
        assert_eq!(r["time"], "2s");
        assert!(
            r["error"]
                .as_str()
                .is_some_and(|e| e.contains("NOPE") || e.contains("RUNNING")),
            "{r}"
        );
    }
    // Nothing changed: A still failed at 5s and the chain went on as without the alter.
    let a = &v["jobs"][0]["steps"][0];
    assert_eq!(a["state"], "FAILED");
    assert_eq!(a["ended_at"], "5s");
    assert_eq!(v["jobs"][0]["state"], "SUCCEEDED");
    assert_eq!(v["jobs"][0]["ended_at"], "36s");
}

#[test]
fn bad_toml_is_a_clear_error() {
    let dir = project(SMALL_CHAIN, "[[job]\nchain = \"C8\"\n");
    let o = simulate(dir.path(), "json");
    no_panic(&o);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("s.scenario.toml: not valid TOML"), "{err}");
    assert!(err.contains("line 1"), "{err}");
}

#[test]
fn unknown_chain_step_and_key_are_named() {
    let cases = [
        ("[[job]]\nchain = \"C9\"\n", "job[1].chain: unknown chain C9 (did you mean C8?)"),
        (
            "[[job]]\nchain = \"C8\"\n[job.outcomes]\nAA = \"ok\"\n",
            "job[1].outcomes.AA: chain C8 has no step AA (did you mean A?)",
        ),
        (
            "[[job]]\nchain = \"C8\"\n[job.outcomes]\nA = \"fial 3\"\n",
            "job[1].outcomes.A: \"fial 3\" is not an outcome",
        ),
        ("[[job]]\nchain = \"C8\"\nstart_step = [\"A\"]\n", "job[1].start_step: unknown key (did you mean start_steps?)"),
        ("[[job]]\nchain = \"C8\"\n[settings]\nuntil = \"forever\"\n", "settings.until: \"forever\" is not a duration"),
        (
            "[[job]]\nchain = \"C8\"\n[[at]]\ntime = \"1s\"\n",
            "at[1]: no intervention: give exactly one of alter, alter_chain, define_rule, drop_rule, drop_step, evaluate, event, restart, stop",
        ),
    ];
    for (scenario, message) in cases {
        let dir = project(SMALL_CHAIN, scenario);
        let o = simulate(dir.path(), "table");
        no_panic(&o);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(1), "{scenario}: {err}");
        assert!(err.contains(message), "expected {message:?} in:\n{err}");
        assert!(
            err.contains("s.scenario.toml"),
            "the file is not named: {err}"
        );
    }
}

#[test]
fn rule_file_errors_are_rendered_with_location() {
    let dir = project(
        "chain BROKEN { step A program NOPE; rule when TRUE then START A; }",
        "[[job]]\nchain = \"BROKEN\"\n",
    );
    let o = simulate(dir.path(), "json");
    no_panic(&o);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(err.contains("rules.chain:1:"), "{err}");
    assert!(err.contains("NOPE"), "{err}");
}

#[test]
fn missing_scenario_flag_is_usage_error() {
    let o = run(&["simulate", "fixtures/scenarios"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn failing_expectation_reports_expected_and_actual() {
    let scenario = r#"
[[job]]
name = "J1"
chain = "C8"
[job.outcomes]
A = "fail 20001"

[expect.J1]
state = "FAILED"
error_code = 20001
steps = { A = "FAILED 20001", B = "NOT_STARTED" }
log_rows = 3
"#;
    let dir = project(SMALL_CHAIN, scenario);
    let o = bin().arg("test").arg(dir.path()).output().expect("runs");
    no_panic(&o);
    let (out, _) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("FAILED  "), "{out}");
    assert!(
        out.contains("J1.state: expected FAILED, actual SUCCEEDED"),
        "{out}"
    );
    assert!(
        out.contains("J1.error_code: expected 20001, actual 0"),
        "{out}"
    );
    assert!(
        out.contains("J1.steps.B: expected NOT_STARTED, actual SUCCEEDED"),
        "{out}"
    );
    assert!(
        !out.contains("J1.steps.A:"),
        "A matched and must not be reported: {out}"
    );
    assert!(!out.contains("J1.log_rows"), "3 log rows is right: {out}");
    assert!(out.contains("0 passed, 1 failed"), "{out}");
}

#[test]
fn passing_expectation_and_default_rules_next_to_the_scenario() {
    let scenario = r#"
[[job]]
name = "J1"
chain = "C8"
[job.outcomes]
A = "fail 20001"

[expect.J1]
state = "SUCCEEDED"
steps = { A = "FAILED 20001", B = "SUCCEEDED" }
step_started = { B = "31s" }
log = ["A RUN FAILED 20001", "B RUN SUCCEEDED 0", "(chain) RUN SUCCEEDED 0"]
"#;
    let dir = project(SMALL_CHAIN, scenario);
    // A scenario without [expect] in the same folder is not run.
    std::fs::write(
        dir.path().join("other.scenario.toml"),
        "[[job]]\nchain = \"C8\"\n",
    )
    .expect("write");
    let o = bin().arg("test").arg(dir.path()).output().expect("runs");
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(out.contains("ok      "), "{out}");
    assert!(out.contains("1 passed, 0 failed"), "{out}");
}

#[test]
fn test_with_nothing_to_run_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = bin().arg("test").arg(dir.path()).output().expect("runs");
    assert_eq!(o.status.code(), Some(1));
    let (_, err) = text(&o);
    assert!(err.contains("no scenario with [expect]"), "{err}");
}

// ------------------------------------------------------------------ SQL conditions

/// The SQL-condition scenarios that read the clock (fixtures/sql_conditions: SYSDATE
/// arithmetic, TO_DATE/TO_TIMESTAMP, TRUNC, EXTRACT, DAY TO SECOND intervals, durations) and
/// Oracle's NULL and error rules all hold, through the binary.
#[test]
fn sql_condition_scenarios_pass() {
    let o = run(&["test", "fixtures/sql_conditions"]);
    no_panic(&o);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    for name in ["calendar", "nulls", "watchdog"] {
        assert!(
            out.contains(&format!(
                "ok      fixtures/sql_conditions/{name}.scenario.toml"
            )),
            "{out}"
        );
    }
    assert!(out.contains("3 passed, 0 failed"), "{out}");
}

/// `check` sees the NULL and error rules as the engine does: `= ''` and an erroring TO_NUMBER
/// are never TRUE (nor their NOT), so those rules can never fire; the rules that compute with
/// the clock or with error codes get no false warning.
#[test]
fn sql_condition_lints_follow_the_engine() {
    let o = run(&["check", "fixtures/sql_conditions", "--format", "json"]);
    no_panic(&o);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    let report: serde_json::Value = serde_json::from_str(&out).expect("check JSON");
    let mut found: Vec<(String, String)> = report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap_or("").to_string(),
                d["message"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    found.sort();
    let codes: Vec<&str> = found.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(
        codes,
        ["rule-never-fires", "rule-never-fires", "unreachable-step"],
        "{found:?}"
    );
    assert!(
        found[0].1.contains("rule BADNUM can never fire"),
        "{found:?}"
    );
    assert!(
        found[1].1.contains("rule EMPTY can never fire")
            && found[1]
                .1
                .contains("`LOAD COMPLETED AND NOT (:LOAD.state = '')`"),
        "the whole condition is quoted, its last parenthesis included: {found:?}"
    );
    assert!(
        found[2].1.contains("step NOTE can never start"),
        "{found:?}"
    );
}

/// A rule redefined on a running job (the scenario's `define_rule`) may use the SQL forms:
/// NVL, arithmetic and BETWEEN decide which step starts.
#[test]
fn define_rule_accepts_sql_forms() {
    let chain = "
program WORK { builtin noop; }
program SLOW { builtin sleep 10s; }
chain C {
    step A program WORK;
    step B program SLOW;
    step C program WORK;
    rule R1 when TRUE then START A, B;
    rule R2 when A COMPLETED AND B COMPLETED then END;
}
";
    let scenario = r#"
[[job]]
name = "J1"
chain = "C"
[job.outcomes]
A = "fail 20100"

[[at]]
time = "2s"
define_rule = { chain = "C", name = "R3", when = "NVL(:A.error_code, 0) / 100 BETWEEN 200 AND 202 AND :B.state = 'RUNNING'", then = "START C" }

[[at]]
time = "3s"
evaluate = { job = "J1" }
"#;
    let dir = project(chain, scenario);
    let o = simulate(dir.path(), "json");
    no_panic(&o);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("simulate JSON");
    let steps = &v["jobs"][0]["steps"];
    let c = steps
        .as_array()
        .and_then(|s| s.iter().find(|s| s["step"] == "C"))
        .expect("step C");
    assert_eq!(c["state"], "SUCCEEDED", "{out}");
    assert_eq!(c["started_at"], "3s", "{out}");
}

/// Issue 12 point 13: `simulate` refuses a start the real run refuses (the core's start check
/// is shared): a job without a parameter its programs use, an unknown group, a bad job name.
#[test]
fn simulate_applies_the_runtime_start_checks() {
    let chain = "
program LOAD { executable '/bin/echo'; arguments '--date' '${RUN_DATE}'; }
chain P { step A program LOAD; rule when TRUE then START A; rule when A COMPLETED then END; }
";
    let scenario = r#"
[[job]]
name = "NO_PARAM"
chain = "P"
[job.outcomes]
A = "ok"

[[job]]
name = "WITH_PARAM"
chain = "P"
parameters = { run_date = "2024-03-01" }
[job.outcomes]
A = "ok"
"#;
    let dir = project(chain, scenario);
    let (out, err) = text(&simulate(dir.path(), "json"));
    let v: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    let rejected = v["rejected"].as_array().expect("array");
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(rejected[0]["intervention"], "start");
    let why = rejected[0]["error"].as_str().unwrap_or_default();
    assert!(
        why.contains("unknown parameter RUN_DATE") && why.contains("--param RUN_DATE=VALUE"),
        "{why}"
    );
    let jobs = v["jobs"].as_array().expect("jobs");
    assert_eq!(
        jobs.len(),
        1,
        "only the job with its parameter ran: {jobs:?}"
    );
    assert_eq!(jobs[0]["job"], "WITH_PARAM");
    assert_eq!(jobs[0]["state"], "SUCCEEDED");

    // The real run refuses the same start with the same words.
    let rules = dir.path().join("rules.chain");
    let db = dir.path().join("db");
    let o = bin()
        .arg("run")
        .arg(&rules)
        .args(["--chain", "P", "--db"])
        .arg(&db)
        .output()
        .expect("the binary runs");
    let (_, run_err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{run_err}");
    assert!(run_err.contains("unknown parameter RUN_DATE"), "{run_err}");
}

/// Issue 12 point 14: with an `evaluation_interval`, a failure no rule handles still shows as
/// CHAIN_STALLED once no rule that reads the clock can act (a duration watchdog cannot: its
/// step has ended); a rule waiting for a time of day keeps the job RUNNING until it fires.
#[test]
fn a_chain_with_an_interval_never_stalls_and_check_warns_about_clock_rules_without_one() {
    let chain = "
program BAD { builtin fail 20001; }
program OK  { builtin noop; }
chain WATCHED {
    evaluation_interval 1m;
    step A program BAD;
    step B program OK;
    rule GO when TRUE then START A;
    rule WATCHDOG when :A.duration > INTERVAL '2' HOUR then STOP A;
    rule NEXT when A SUCCEEDED then START B;
    rule DONE when B COMPLETED then END;
}
chain TIMED {
    evaluation_interval 1m;
    step A program BAD;
    step R program OK;
    rule GO when TRUE then START A;
    rule LATER when SYSTIMESTAMP >= TIMESTAMP '1970-01-01 00:10:00' then START R;
    rule DONE when R COMPLETED then END;
}
";
    let scenario = r#"
[[job]]
name = "W"
chain = "WATCHED"
[[job]]
name = "T"
chain = "TIMED"
[settings]
until = "1h"
"#;
    let dir = project(chain, scenario);
    let (out, err) = text(&simulate(dir.path(), "json"));
    let v: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    let job = |name: &str| {
        v["jobs"]
            .as_array()
            .and_then(|a| a.iter().find(|j| j["job"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no job {name}: {v}"))
    };
    // An evaluation_interval means the chain never stalls (Oracle): W stays RUNNING although A
    // failed unhandled; `explain` says it is idle for good (unit tests in views::explain).
    let w = job("W");
    assert_eq!(w["state"], "RUNNING", "{w}");
    let w_stalls = v["timeline"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["job"] == "W" && e["kind"] == "stall")
        .count();
    assert_eq!(w_stalls, 0, "{}", v["timeline"]);
    let t = job("T");
    assert_eq!(t["state"], "SUCCEEDED", "{t}");
    assert_eq!(t["ended_at"], "10m1s", "{t}");
    let t_stalls = v["timeline"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["job"] == "T" && e["kind"] == "stall")
        .count();
    assert_eq!(t_stalls, 0, "T waited for its time rule: {}", v["timeline"]);

    // `check` warns about the same watchdog in a chain without an interval.
    let plain = chain.replace("    evaluation_interval 1m;\n", "");
    std::fs::write(dir.path().join("rules.chain"), plain).expect("write rules");
    let o = bin()
        .args(["check", "--format", "json"])
        .arg(dir.path().join("rules.chain"))
        .output()
        .expect("the binary runs");
    let (out, _) = text(&o);
    let report: serde_json::Value = serde_json::from_str(&out).expect("json");
    let warned: Vec<&str> = report["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["code"] == "time-rule-without-interval")
        .filter_map(|d| d["message"].as_str())
        .collect();
    assert_eq!(warned.len(), 2, "{report}");
    assert!(warned[0].contains("rule WATCHDOG"), "{warned:?}");
    assert!(warned[1].contains("rule LATER"), "{warned:?}");
}
