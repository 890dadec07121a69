//! Job variables driven as a user would: `chainsched run` with real processes that print
//! `::set NAME=VALUE`, rules that read `VAR(NAME)` and `:VAR.NAME`, parameters and variables as
//! environment variables and in `${NAME}`, and the views (`jobs`, `steps`, `details`) reading
//! the store afterwards (docs/variables.md).

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_chainsched");

fn run(dir: &Path, rules: &str, args: &[&str]) -> Output {
    std::fs::write(dir.join("rules.chain"), rules).unwrap();
    Command::new(BIN)
        .arg("run")
        .arg(dir.join("rules.chain"))
        .arg("--db")
        .arg(dir.join("db"))
        .args(args)
        .output()
        .unwrap()
}

fn view(dir: &Path, args: &[&str]) -> serde_json::Value {
    let out = Command::new(BIN)
        .args(args)
        .arg("--db")
        .arg(dir.join("db"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn step<'a>(job: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["subname"] == name)
        .unwrap_or_else(|| panic!("no step {name} in {job}"))
}

const ROUTE: &str = r#"
program DETECT { shell 'echo "::set region=$START_REGION"; echo "::set COUNT=3"; echo hello; exit ${DETECT_EXIT}'; sets REGION, COUNT; }
program CHECK_ENV { shell 'test "$REGION" = EU && test "$COUNT" = 3 && test "$START_REGION" = EU'; }
program ECHO_ARG { executable '/bin/sh'; arguments '-c' 'test "$1" = "EU/3"' 'sh' '${region}/${count}'; }
program US_WORK { builtin noop; }
chain ROUTE {
  step D program DETECT;
  step E program CHECK_ENV;
  step A program ECHO_ARG;
  step U program US_WORK;
  rule R1 when TRUE then START D;
  rule R2 when D COMPLETED and VAR(REGION) = 'EU' then START E, A;
  rule R3 when D COMPLETED and :VAR.REGION = 'US' then START U;
  rule R4 when E SUCCEEDED and A SUCCEEDED and :VAR.count + 1 = 4 then END;
  rule R5 when U SUCCEEDED then END 7;
  rule R6 when E FAILED or A FAILED then END 9;
}
"#;

#[test]
fn set_lines_become_variables_that_rules_environment_and_arguments_see() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(
        tmp.path(),
        ROUTE,
        &[
            "--chain",
            "ROUTE",
            "--job",
            "J1",
            "--param",
            "START_REGION=EU",
            "--param",
            "DETECT_EXIT=0",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    let job = &v["jobs"][0];
    assert_eq!(job["state"], "SUCCEEDED", "{job}");
    assert_eq!(step(job, "U")["state"], "NOT_STARTED");
    assert_eq!(job["variables"]["REGION"]["value"], "EU", "{job}");
    assert_eq!(job["variables"]["REGION"]["set_by"], "D");
    assert_eq!(job["variables"]["COUNT"]["value"], "3");

    // The views read the same from the store.
    let jobs = view(tmp.path(), &["jobs"]);
    let vars = &jobs[0]["variables"];
    assert_eq!(vars["REGION"], "EU", "{jobs}");
    assert_eq!(vars["COUNT"], "3");
    assert_eq!(
        vars["START_REGION"], "EU",
        "parameters are variables too: {jobs}"
    );
    let steps = view(tmp.path(), &["steps", "J1", "--all"]);
    let d = steps
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["step_name"] == "D")
        .unwrap();
    assert_eq!(d["set_variables"], "COUNT=3, REGION=EU", "{steps}");
    let log_id = d["step_job_log_id"].as_u64().unwrap();
    let details = view(tmp.path(), &["details", &log_id.to_string()]);
    assert_eq!(details["variables_set"], "REGION=EU, COUNT=3", "{details}");
    // explain evaluates the variables as the engine did.
    let explain = view(tmp.path(), &["explain", "J1"]);
    let r2 = explain["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule_name"] == "R2")
        .unwrap();
    let var_pred = r2["predicates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["predicate"] == ":VAR.REGION = 'EU'")
        .unwrap_or_else(|| panic!("{r2}"));
    assert_eq!(var_pred["value"], "TRUE", "{r2}");
    let output = details["output"].as_str().unwrap();
    assert!(output.contains("hello"), "{output}");
    assert!(
        !output.contains("::set"),
        "control lines are not output: {output}"
    );
}

#[test]
fn a_failed_step_sets_its_variables_too() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(
        tmp.path(),
        ROUTE,
        &[
            "--chain",
            "ROUTE",
            "--param",
            "START_REGION=US",
            "--param",
            "DETECT_EXIT=5",
            "--format",
            "json",
        ],
    );
    let v = json(&out);
    let job = &v["jobs"][0];
    assert_eq!(step(job, "D")["state"], "FAILED", "{job}");
    assert_eq!(step(job, "D")["error_code"], 5);
    assert_eq!(step(job, "U")["state"], "SUCCEEDED", "{job}");
    assert_eq!(job["state"], "FAILED");
    assert_eq!(job["error_code"], 7);
    assert_eq!(job["variables"]["REGION"]["value"], "US");
}

#[test]
fn parameters_are_environment_variables_of_every_step() {
    // issue 12 point 10: the shell expands ${C_EXIT} itself.
    let tmp = tempfile::tempdir().unwrap();
    let rules = r#"
program P { shell 'exit ${C_EXIT}'; }
program Q { shell 'test "$QUOTED" = "a b''c; rm -rf /nonexistent"'; }
chain C {
  step S program P;
  step T program Q;
  rule when TRUE then START S, T;
  rule when S COMPLETED and T COMPLETED then END S.ERROR_CODE;
}
"#;
    let out = run(
        tmp.path(),
        rules,
        &[
            "--chain",
            "C",
            "--param",
            "C_EXIT=3",
            "--param",
            "QUOTED=a b'c; rm -rf /nonexistent",
            "--format",
            "json",
        ],
    );
    let v = json(&out);
    let job = &v["jobs"][0];
    assert_eq!(step(job, "S")["state"], "FAILED", "{job}");
    assert_eq!(step(job, "S")["error_code"], 3);
    assert_eq!(
        step(job, "T")["state"],
        "SUCCEEDED",
        "a value reaches the shell as data, never as code: {job}"
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn a_bad_set_line_is_ignored_and_said_in_the_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let rules = r#"
program P { shell 'echo "::set 9LIVES=x"; echo "::set GOOD=1"'; sets GOOD; }
chain C {
  step S program P;
  rule when TRUE then START S;
  rule when S SUCCEEDED and VAR(GOOD) = '1' then END;
  rule when S SUCCEEDED and VAR(GOOD) IS NULL then END 4;
}
"#;
    let out = run(
        tmp.path(),
        rules,
        &["--chain", "C", "--job", "B", "--format", "json"],
    );
    let v = json(&out);
    let job = &v["jobs"][0];
    assert_eq!(job["state"], "SUCCEEDED", "{job}");
    assert!(job["variables"].get("9LIVES").is_none());
    let steps = view(tmp.path(), &["steps", "B", "--all"]);
    let log_id = steps[0]["step_job_log_id"].as_u64().unwrap();
    let details = view(tmp.path(), &["details", &log_id.to_string()]);
    let errors = details["errors"].as_str().unwrap();
    assert!(
        errors.contains("ignored ::set 9LIVES") && errors.contains("not a variable name"),
        "{errors}"
    );
}

#[test]
fn check_warns_on_a_variable_nothing_sets() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("r.chain");
    std::fs::write(
        &p,
        r#"
program P { builtin noop; sets REGION; }
chain C {
  step S program P;
  rule when TRUE then START S;
  rule when S SUCCEEDED and VAR(REGION) = 'EU' then END;
  rule when S SUCCEEDED and :VAR.REGOIN = 'US' then END 2;
}
job NIGHTLY { chain C; parameters MODE = 'full'; }
chain D {
  step S program P;
  rule when TRUE then START S;
  rule when :VAR.MODE = 'full' then END;
}
job NIGHTLY_D { chain D; parameters MODE = 'full'; }
"#,
    )
    .unwrap();
    let out = Command::new(BIN).arg("check").arg(&p).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("unset-variable"), "{text}");
    assert!(text.contains("REGOIN"), "{text}");
    assert!(!text.contains("variable REGION,"), "{text}");
    assert!(
        !text.contains("variable MODE"),
        "a job definition's parameter: {text}"
    );
}
