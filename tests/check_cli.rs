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
