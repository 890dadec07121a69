//! `chainsched check` as a user runs it: exit statuses, the summary line, the JSON schema,
//! folders as one namespace, unreadable inputs, --deny-warnings.

mod check_support;
use check_support::*;
use std::fs;

#[test]
fn clean_file_exits_0_with_an_ok_summary() {
    let r = chainsched(&["check", "fixtures/oracle_example.chain"]);
    assert_eq!(r.code, 0);
    assert_eq!(r.stdout, "ok: 1 chain, 3 programs\n");
}

#[test]
fn warnings_alone_exit_0_and_deny_warnings_makes_them_fail() {
    let r = chainsched(&["check", "fixtures/bad/no-end.chain"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r
        .stdout
        .contains("warning[no-end]: chain C never ends: it has no END rule"));
    assert!(
        r.stdout.ends_with("ok: 1 chain, 1 program, 1 warning\n"),
        "{}",
        r.stdout
    );

    let r = chainsched(&["check", "--deny-warnings", "fixtures/bad/no-end.chain"]);
    assert_eq!(r.code, 1);
    // --deny-warnings on a clean file still succeeds.
    let r = chainsched(&["check", "--deny-warnings", "fixtures/demo.chain"]);
    assert_eq!(r.code, 0);
}

#[test]
fn errors_exit_1_with_counts() {
    let r = chainsched(&[
        "check",
        "fixtures/bad/unknown-step.chain",
        "fixtures/bad/stall-risk.chain",
    ]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.ends_with("1 error, 1 warning\n"), "{}", r.stdout);
}

#[test]
fn a_missing_path_is_bad_usage() {
    let r = chainsched(&["check", "fixtures/does-not-exist.chain"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("fixtures/does-not-exist.chain"),
        "{}",
        r.stderr
    );
    let r = chainsched(&["check"]);
    assert_eq!(r.code, 2, "no path at all is a clap usage error");
    let r = chainsched(&["check", "--format", "yaml", "fixtures/demo.chain"]);
    assert_eq!(r.code, 2);
}

#[test]
fn json_report_follows_schema_version_1() {
    let (exit, v) = check_json(&[
        "fixtures/bad/unknown-step.chain",
        "fixtures/bad/stall-risk.chain",
    ]);
    assert_eq!(exit, 1);
    let top: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(top, ["diagnostics", "summary", "version"]);
    assert_eq!(v["version"], 1);
    assert_eq!(
        v["summary"],
        serde_json::json!({"errors": 1, "warnings": 1, "files": 2})
    );
    let diags = v["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 2);
    assert_eq!(
        diags[0],
        serde_json::json!({
            "severity": "error",
            "code": "unknown-step",
            "message": "unknown step VALIDAT in chain LOAN",
            "file": "fixtures/bad/unknown-step.chain",
            "line": 8, "column": 18, "end_line": 8, "end_column": 25,
            "expected": "a step of chain LOAN",
            "suggestion": "VALIDATE",
            "notes": []
        })
    );
    assert_eq!(diags[1]["severity"], "warning");
    assert_eq!(diags[1]["code"], "stall-risk");
    assert_eq!(diags[1]["message"], "the chain stalls if LOAD fails");
    assert_eq!(diags[1]["suggestion"], serde_json::Value::Null);
    assert!(diags[1]["notes"].is_array());
}

#[test]
fn json_report_of_a_clean_file_has_no_diagnostics() {
    let (exit, v) = check_json(&["fixtures/demo.chain"]);
    assert_eq!(exit, 0);
    assert_eq!(v["diagnostics"], serde_json::json!([]));
    assert_eq!(
        v["summary"],
        serde_json::json!({"errors": 0, "warnings": 0, "files": 1})
    );
}

#[test]
fn a_folder_is_one_namespace_read_recursively() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("chains/nested")).unwrap();
    fs::write(
        dir.path().join("programs.chain"),
        "program LOAD { shell 'true'; }\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("chains/nested/etl.chain"),
        "chain ETL {\n  step L program LOAD;\n  rule when TRUE then START L;\n  rule when L COMPLETED then END L.ERROR_CODE;\n}\n",
    )
    .unwrap();
    fs::write(dir.path().join("README.txt"), "not a rule file {{{").unwrap();
    let r = chainsched_in(dir.path(), &["check", "."]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.stdout, "ok: 1 chain, 1 program\n");

    // A typo in one file is reported against that file, with the name from the other file.
    fs::write(
        dir.path().join("chains/nested/etl.chain"),
        "chain ETL {\n  step L program LAOD;\n  rule when TRUE then START L;\n  rule when L COMPLETED then END L.ERROR_CODE;\n}\n",
    )
    .unwrap();
    let r = chainsched_in(dir.path(), &["check", "."]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("--> ./chains/nested/etl.chain:2:18"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("= help: did you mean LOAD?"),
        "{}",
        r.stdout
    );
}

#[test]
fn the_same_file_given_twice_is_read_once() {
    let r = chainsched(&["check", "fixtures/demo.chain", "fixtures/demo.chain"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
}

#[test]
fn an_empty_folder_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("empty")).unwrap();
    let (code, v) = {
        let r = chainsched_in(dir.path(), &["check", "--format", "json", "empty"]);
        (
            r.code,
            serde_json::from_str::<serde_json::Value>(&r.stdout).unwrap(),
        )
    };
    assert_eq!(code, 0);
    assert_eq!(codes(&v), ["no-rule-files"]);
    assert_eq!(v["diagnostics"][0]["file"], "empty");
}

#[test]
fn an_unreadable_file_is_an_io_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("latin1.chain"),
        b"-- caf\xe9\nprogram P { builtin noop; }\n",
    )
    .unwrap();
    fs::write(dir.path().join("ok.chain"), "program Q { builtin noop; }\n").unwrap();
    let r = chainsched_in(dir.path(), &["check", "--format", "json", "."]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(codes(&v), ["io-error"]);
    assert_eq!(v["diagnostics"][0]["file"], "./latin1.chain");
    assert!(v["diagnostics"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("cannot read ./latin1.chain"));
    assert_eq!(v["summary"]["files"], 2);
}

#[test]
fn parse_errors_do_not_cause_false_unknown_names_in_other_files() {
    let dir = tempfile::tempdir().unwrap();
    // The program is declared in a file that does not parse.
    fs::write(
        dir.path().join("a.chain"),
        "program LOAD { shell 'true' }\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("b.chain"),
        "chain ETL {\n  step L program LOAD;\n  rule when TRUE then START L;\n  rule when L COMPLETED then END;\n  rule when M SUCCEEDED then END;\n}\n",
    )
    .unwrap();
    let r = chainsched_in(dir.path(), &["check", "--format", "json", "."]);
    assert_eq!(r.code, 1);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let found = codes(&v);
    assert!(!found.contains(&"unknown-program".to_string()), "{found:?}");
    // Problems inside the file that did parse are still reported.
    assert!(found.contains(&"unknown-step".to_string()), "{found:?}");
    assert_eq!(v["diagnostics"][0]["file"], "./a.chain");
}

/// Issue 14: a schedule that never fires is judged at once (the first two took 49 s and 4 s)
/// and reported with the clauses to blame; `serve` refuses such a catalog like any error.
#[test]
fn a_never_firing_schedule_is_an_error_that_names_the_clauses_to_blame() {
    let (exit, v) = check_json(&["fixtures/bad/bad-schedule-never.chain"]);
    assert_eq!(exit, 1);
    let found: Vec<(String, String)> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["code"], "bad-schedule", "{d}");
            let line = d["line"].as_u64().unwrap() as usize;
            let (from, to) = (
                d["column"].as_u64().unwrap() as usize,
                d["end_column"].as_u64().unwrap() as usize,
            );
            let text =
                std::fs::read_to_string(root().join("fixtures/bad/bad-schedule-never.chain"))
                    .unwrap();
            let src = text.lines().nth(line - 1).unwrap();
            (
                d["message"].as_str().unwrap().to_string(),
                src[from - 1..to - 1].to_string(),
            )
        })
        .collect();
    let want = [
        ("the schedule of job NEVER1 never fires: no day passes every date clause (BYMONTH=2, BYMONTHDAY=30)", "BYMONTH=2;BYMONTHDAY=30"),
        ("the schedule of job NEVER2 never fires: no day passes every date clause (BYMONTH=2, BYMONTHDAY=30)", "BYMONTH=2;BYMONTHDAY=30"),
        ("the schedule of job LEAP_DAY_EVERY_4_YEARS never fires: INTERVAL=4 counts YEARLY periods from the anchor (1970-01-01T00:00:00Z), and none of the periods it selects holds a date and time the other clauses allow", "INTERVAL=4"),
        ("the schedule of job SIXTH_MONDAY never fires: no MONTHLY period has as many occurrences as BYSETPOS=6 asks for", "BYSETPOS=6"),
        ("the schedule of job LAST_WEEK_IN_JANUARY never fires: no day passes every date clause (BYWEEKNO=53, BYMONTH=JAN, and BYDAY=MON, the day FREQ=YEARLY with BYWEEKNO implies)", "BYWEEKNO=53; BYMONTH=JAN"),
        ("the schedule of job CRON_FEB_30 never fires: no day matches both its day-of-month and month fields `30 2`", "30 2"),
        ("invalid schedule of job WEEKNO_MONTHLY: BYWEEKNO needs FREQ=YEARLY: week numbers count within a year (RFC 5545; Oracle refuses it too, ORA-27417)", "BYWEEKNO=1"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(m, s)| (m.to_string(), s.to_string()))
        .collect();
    assert_eq!(found, want);
}

/// Issue 14, the conventions docs/scheduling.md writes down: `a/n` in the day of week runs to
/// 7 (accepted), BYWEEKNO alone with FREQ=YEARLY (Mondays, accepted), BYWEEKNO with another
/// FREQ (refused, as Oracle does), steps above a field's maximum and backwards ranges (refused).
#[test]
fn schedule_conventions_through_check() {
    let dir = tempfile::tempdir().unwrap();
    let jobs = [
        ("EVERY_DAY_FROM_MONDAY", "0 0 * * MON/1"),
        ("MONDAY_OF_WEEK_10", "FREQ=YEARLY; BYWEEKNO=10"),
        ("WEEKNO_WEEKLY", "FREQ=WEEKLY; BYWEEKNO=10"),
        ("EVERY_60_MINUTES", "*/60 * * * *"),
        ("FRIDAY_TO_MONDAY", "0 0 * * 5-1"),
    ];
    let mut text = String::from(
        "program P { builtin noop; }\nchain C { step A program P; rule when TRUE then START A; rule when A SUCCEEDED then END; }\n",
    );
    for (job, schedule) in jobs {
        text.push_str(&format!(
            "job {job} {{ chain C; schedule '{schedule}'; }}\n"
        ));
    }
    let file = dir.path().join("conventions.chain");
    std::fs::write(&file, text).unwrap();
    let (exit, v) = check_json(&[file.to_str().unwrap()]);
    assert_eq!(exit, 1);
    let messages: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            "invalid schedule of job WEEKNO_WEEKLY: BYWEEKNO needs FREQ=YEARLY: week numbers count within a year (RFC 5545; Oracle refuses it too, ORA-27417)",
            "invalid schedule of job EVERY_60_MINUTES: bad step `60` in the minute field",
            "invalid schedule of job FRIDAY_TO_MONDAY: the range 5-1 runs backwards",
        ]
    );
}
