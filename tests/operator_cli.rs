//! Issue 12's operator-facing points, driven through the `chainsched` binary: names the
//! engine could not keep apart or a process could not be given (`check`), logs, tables,
//! diagnostics and the conveniences (completions, man page, `--since 2h`, `output`).

mod check_support;
use check_support::*;

fn tmp_file(name: &str, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write");
    (dir, path)
}

/// The first diagnostic of `code` in a `check --format json` report: (line, column).
fn at(report: &serde_json::Value, code: &str) -> Vec<(u64, u64)> {
    report["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["code"] == code)
        .map(|d| {
            (
                d["line"].as_u64().unwrap_or(0),
                d["column"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

// ------------------------------------------------------------ point 6: `.` in step names

#[test]
fn a_step_name_with_a_dot_is_refused_where_it_is_written() {
    let (code, report) = check_json(&["fixtures/bad/dot-in-step-name.chain"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(at(&report, "dot-in-step-name"), vec![(11, 10)], "{report}");
    // The text rendering names the file, line and column and explains the clash.
    let r = chainsched(&["check", "fixtures/bad/dot-in-step-name.chain"]);
    assert!(
        r.stdout
            .contains("fixtures/bad/dot-in-step-name.chain:11:10")
            && r.stdout.contains("subnames"),
        "{}",
        r.stdout
    );
}

#[test]
fn import_oracle_never_writes_a_step_name_with_a_dot() {
    let script = r#"BEGIN
  DBMS_SCHEDULER.CREATE_PROGRAM(program_name => 'P', program_type => 'EXECUTABLE', program_action => '/bin/true', enabled => TRUE);
  DBMS_SCHEDULER.CREATE_CHAIN(chain_name => 'C');
  DBMS_SCHEDULER.DEFINE_CHAIN_STEP(chain_name => 'C', step_name => '"N.S1"', program_name => 'P');
  DBMS_SCHEDULER.DEFINE_CHAIN_STEP(chain_name => 'C', step_name => 'B', program_name => 'P');
  DBMS_SCHEDULER.DEFINE_CHAIN_RULE(chain_name => 'C', condition => 'TRUE', action => 'START B');
  DBMS_SCHEDULER.DEFINE_CHAIN_RULE(chain_name => 'C', condition => 'B COMPLETED', action => 'END');
END;
/
"#;
    let (dir, sql) = tmp_file("dot.sql", script);
    let r = chainsched(&["import-oracle", sql.to_str().unwrap_or_default()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("-- step \"N.S1\"") && r.stderr.contains("dot.sql:4:3"),
        "the step is written commented out, with a warning at its call:\n{}\n{}",
        r.stdout,
        r.stderr
    );
    // What it wrote passes `check`.
    let out = dir.path().join("out.chain");
    std::fs::write(&out, &r.stdout).expect("write");
    let (code, report) = check_json(&[out.to_str().unwrap_or_default()]);
    assert_eq!(code, 0, "{report}");
}

// ------------------------------------------------------------ point 7: environment names

#[test]
fn environment_names_a_process_cannot_hold_are_refused() {
    let (code, report) = check_json(&["fixtures/bad/bad-environment.chain"]);
    assert_eq!(code, 1, "{report}");
    // `"A=B"`, `"C<NUL>D"` and the value `'z<NUL>'`, each where it is written.
    assert_eq!(
        at(&report, "bad-environment"),
        vec![(5, 17), (5, 30), (5, 47)],
        "{report}"
    );
    // An empty quoted name was already refused.
    let (_dir, path) = tmp_file(
        "empty.chain",
        "program P { shell 'true'; environment \"\" = 'x'; }\n",
    );
    let (code, report) = check_json(&[path.to_str().unwrap_or_default()]);
    assert_eq!(code, 1, "{report}");
    // A name with other punctuation is fine: only `=` and NUL cannot be held.
    let (_dir, path) = tmp_file(
        "ok.chain",
        "program P { shell 'true'; environment \"A.B-C\" = 'x', _Z = ''; }\n",
    );
    let (code, report) = check_json(&[path.to_str().unwrap_or_default()]);
    assert_eq!(code, 0, "{report}");
}

// ------------------------------------------------------------ point 17: where errors are

#[test]
fn an_unclosed_string_is_reported_where_it_starts() {
    // The `'` after `comment` closes the shell string; the one after `a chain` is left open.
    let text = "program P { shell 'echo hello; }\nprogram Q { builtin noop; }\nchain C {\n    comment 'a chain';\n    step A program P;\n    rule R1 when TRUE then START A;\n    rule R2 when A COMPLETED then END;\n}\n";
    let (_dir, path) = tmp_file("runaway.chain", text);
    let (code, report) = check_json(&[path.to_str().unwrap_or_default()]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(at(&report, "syntax"), vec![(1, 19)], "{report}");
    // With an even number of quotes the parse fails right after the runaway string: same place.
    let text = "program P { shell 'echo hello; }\nchain C {\n    step A program P;\n    rule R1 when TRUE then START A;\n    rule R2 when A COMPLETED then END 'x';\n}\n";
    let (_dir, path) = tmp_file("runaway2.chain", text);
    let (code, report) = check_json(&[path.to_str().unwrap_or_default()]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(at(&report, "syntax"), vec![(1, 19)], "{report}");
    // A string meant to span lines is not blamed for a later error.
    let text = "program P { shell 'echo a\necho b'; }\nchain C {\n    step A program P\n    rule R1 when TRUE then START A;\n}\n";
    let (_dir, path) = tmp_file("multiline.chain", text);
    let (_, report) = check_json(&[path.to_str().unwrap_or_default()]);
    assert_eq!(at(&report, "syntax"), vec![(4, 21)], "{report}");
}

#[test]
fn a_missing_semicolon_is_reported_at_the_end_of_its_statement() {
    let r = chainsched(&["check", "fixtures/bad/syntax_missing_semicolon.chain"]);
    assert!(
        r.stdout.contains("syntax_missing_semicolon.chain:5:21")
            && r.stdout
                .contains("missing `;` at the end of this statement"),
        "{}",
        r.stdout
    );
    // Before a closing brace too.
    let text = "program P { builtin noop; }\nchain C {\n    step A program P;\n    rule R1 when TRUE then START A;\n    rule R2 when A COMPLETED then END\n}\n";
    let (_dir, path) = tmp_file("brace.chain", text);
    let (_, report) = check_json(&[path.to_str().unwrap_or_default()]);
    assert_eq!(at(&report, "syntax"), vec![(5, 38)], "{report}");
}

// ------------------------------------------------------------ point 17: did you mean

mod server_support;

#[test]
fn stop_alter_and_chain_steps_suggest_the_nearest_name() {
    let s = server_support::Server::start(server_support::RULES);
    let job = s.start_job(serde_json::json!({ "chain": "OUTER", "job": "NESTED" }));
    s.wait_state(&job, &["RUNNING"]);
    // A step of the job, nested ones by subname.
    let out = s.cli(&["stop", "NESTED", "WX"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("has no step WX (did you mean W?)"), "{err}");
    let out = s.cli(&["alter", "NESTED", "N.I2", "--set", "pause=true"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("(did you mean N.I1?)"), "{err}");
    // An attribute of `alter --set`.
    let out = s.cli(&["alter", "NESTED", "W", "--set", "pasue=true"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("(did you mean pause?)"), "{err}");
    // A chain of the catalog views, through the service …
    for view in ["chain-steps", "chain-rules", "chains"] {
        let out = s.cli(&[view, "OUTR"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{view}: {err}");
        assert!(err.contains("(did you mean OUTER?)"), "{view}: {err}");
    }
    // … and from a store.
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("db");
    let db = db.to_str().unwrap_or_default();
    let r = chainsched(&["run", "fixtures/demo.chain", "--chain", "DEMO", "--db", db]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = chainsched(&["chain-steps", "demo", "--db", db]);
    assert!(r.stderr.contains("(did you mean DEMO?)"), "{}", r.stderr);
}
