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
    // A job name: stop, alter, evaluate (the CLI and the HTTP answer, 404).
    for args in [
        vec!["stop", "NESTDE"],
        vec!["alter", "NESTDE", "W", "--set", "pause=true"],
        vec!["evaluate", "NESTDE"],
    ] {
        let out = s.cli(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("unknown job NESTDE (did you mean NESTED?)"),
            "{args:?}: {err}"
        );
    }
    let out = s.cli(&["stop", "NOTHING_LIKE_IT"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown job NOTHING_LIKE_IT") && !err.contains("did you mean"),
        "{err}"
    );
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

// ------------------------------------------------------------ point 16: tables

/// The widest line of a text, in characters.
fn widest(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

#[test]
fn view_tables_fit_100_characters_unless_asked_wide() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("db");
    let db = db.to_str().unwrap_or_default();
    let job = "A_RATHER_LONG_JOB_NAME_FOR_A_DEMO_RUN";
    let r = chainsched(&[
        "run",
        "fixtures/demo.chain",
        "--chain",
        "DEMO",
        "--job",
        job,
        "--db",
        db,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The log is never cut (it says what ran and why it ended): a narrow set of columns.
    let r = chainsched(&["log", "--db", db]);
    let header: Vec<&str> = r
        .stdout
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        [
            "LOG_ID",
            "LOG_DATE",
            "JOB_NAME",
            "JOB_SUBNAME",
            "STATUS",
            "ERROR_CODE",
            "ADDITIONAL_INFO"
        ]
    );
    let views: [&[&str]; 8] = [
        &["jobs"],
        &["steps", job],
        &["timeline", job],
        &["stats"],
        &["schedules"],
        &["chains"],
        &["chain-steps"],
        &["chain-rules"],
    ];
    for v in views {
        let mut args = v.to_vec();
        args.extend(["--db", db]);
        let narrow = chainsched(&args);
        assert_eq!(narrow.code, 0, "{v:?}: {}", narrow.stderr);
        let w = widest(&narrow.stdout);
        // Long names are cut (with `…`) to fit; the timeline's DETAIL never is (short here).
        assert!(w <= 100, "{v:?} is {w} characters wide:\n{}", narrow.stdout);
        args.extend(["-o", "wide"]);
        let wide = chainsched(&args);
        assert_eq!(wide.code, 0, "{v:?}: {}", wide.stderr);
        let header = wide.stdout.lines().next().unwrap_or_default().to_string();
        assert!(
            header.split_whitespace().count()
                >= narrow
                    .stdout
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .split_whitespace()
                    .count(),
            "{v:?}"
        );
    }
    // `jobs -o wide` has every column (it was the 330-character default).
    let wide = chainsched(&["jobs", "--db", db, "-o", "wide"]);
    assert!(wide.stdout.contains("STALL_REASON") && widest(&wide.stdout) > 100);
    // --columns chooses and orders, in any case; CSV too; a typo is bad usage with a hint.
    let r = chainsched(&["log", "--db", db, "--columns", "status,log_id"]);
    let header: Vec<&str> = r
        .stdout
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(header, ["STATUS", "LOG_ID"], "{}", r.stdout);
    let r = chainsched(&["log", "--db", db, "--columns", "status,log_id", "-o", "csv"]);
    assert!(r.stdout.starts_with("STATUS,LOG_ID\r\n"), "{}", r.stdout);
    let r = chainsched(&["log", "--db", db, "--columns", "addtional_info"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("did you mean ADDITIONAL_INFO?"),
        "{}",
        r.stderr
    );
    // CSV without --columns keeps every column (scripts read it).
    let r = chainsched(&["jobs", "--db", db, "--format", "csv"]);
    assert!(r
        .stdout
        .lines()
        .next()
        .unwrap_or_default()
        .ends_with("STALL_REASON,VARIABLES,VARIABLES_SET_BY"));
}

#[test]
fn explain_and_log_never_cut_what_says_why() {
    let dir = tempfile::tempdir().expect("temp dir");
    let long_step = "A_STEP_WITH_A_VERY_LONG_NAME_THAT_GOES_ON_AND_ON";
    let rules = format!(
        "program FAIL {{ builtin fail 20100; }}\nprogram OK {{ builtin noop; }}\nchain C {{\n    step {long_step} program FAIL;\n    step {long_step}_2 program OK;\n    rule R1 when TRUE then START {long_step};\n    rule R2 when {long_step} SUCCEEDED AND {long_step}_2 NOT SUCCEEDED AND :{long_step}.error_code IS NULL then START {long_step}_2;\n    rule R3 when {long_step}_2 COMPLETED then END;\n}}\n"
    );
    let path = dir.path().join("long.chain");
    std::fs::write(&path, rules).expect("write");
    let db = dir.path().join("db");
    let db = db.to_str().unwrap_or_default();
    let r = chainsched(&[
        "run",
        path.to_str().unwrap_or_default(),
        "--chain",
        "C",
        "--job",
        "J",
        "--db",
        db,
    ]);
    assert_eq!(r.code, 1, "the chain stalls: {}", r.stderr);
    let r = chainsched(&["explain", "J", "--db", db]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Every predicate of R2 in full, with its value.
    for p in [
        format!("{long_step} SUCCEEDED = FALSE"),
        format!("{long_step}_2 NOT SUCCEEDED = TRUE"),
    ] {
        assert!(r.stdout.contains(&p), "{p} missing:\n{}", r.stdout);
    }
    assert!(!r.stdout.contains('…'), "{}", r.stdout);
    let r = chainsched(&["log", "--db", db]);
    assert!(!r.stdout.contains('…'), "{}", r.stdout);
}

#[test]
fn check_is_in_colour_on_a_terminal_unless_no_color() {
    let bad = "fixtures/bad/unknown-step.chain";
    let r = chainsched(&["check", bad]);
    assert!(!r.stdout.contains('\x1b'), "a pipe gets plain text");
    let r = chainsched(&["check", "--color", "always", bad]);
    assert!(
        r.stdout.contains("\x1b[1;31merror[unknown-step]"),
        "{:?}",
        r.stdout
    );
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED the terminal half of check_is_in_colour_on_a_terminal_unless_no_color: no `script`");
        return;
    }
    let on_terminal = |no_color: Option<&str>| {
        let inner = format!("'{}' check {bad}", env!("CARGO_BIN_EXE_chainsched"));
        let mut cmd = std::process::Command::new("script");
        cmd.args(["-qec", &inner, "/dev/null"])
            .current_dir(root())
            .stdin(std::process::Stdio::null());
        match no_color {
            Some(v) => cmd.env("NO_COLOR", v),
            None => cmd.env_remove("NO_COLOR"),
        };
        let out = cmd.output().expect("script runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let coloured = on_terminal(None);
    assert!(coloured.contains("\x1b[1;31merror"), "{coloured:?}");
    let plain = on_terminal(Some("1"));
    assert!(
        plain.contains("error[unknown-step]") && !plain.contains('\x1b'),
        "{plain:?}"
    );
}

// ------------------------------------------------------------ point 18: conveniences

#[test]
fn completions_and_man_pages_come_from_the_commands() {
    for (shell, marker) in [
        ("bash", "_chainsched()"),
        ("zsh", "#compdef chainsched"),
        ("fish", "complete -c chainsched"),
    ] {
        let r = chainsched(&["completions", shell]);
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        assert!(r.stdout.contains(marker), "{shell}:\n{}", r.stdout);
        assert!(r.stdout.contains("chain-steps") && r.stdout.contains("programs"));
    }
    assert_eq!(chainsched(&["completions", "tcsh"]).code, 2);
    let r = chainsched(&["man"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(".TH chainsched 1") && r.stdout.contains("import\\-oracle"));
    let dir = tempfile::tempdir().expect("temp dir");
    let r = chainsched(&["man", "--dir", dir.path().to_str().unwrap_or_default()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let run =
        std::fs::read_to_string(dir.path().join("chainsched-run.1")).expect("a page per command");
    assert!(
        run.contains(".TH chainsched-run 1 ")
            && run.contains("chainsched 0.")
            && run.contains("\\-\\-durability"),
        "{run}"
    );
}

#[test]
fn since_takes_a_duration_back_from_now_and_programs_is_a_view() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("db");
    let db = db.to_str().unwrap_or_default();
    let r = chainsched(&[
        "run",
        "fixtures/demo.chain",
        "--chain",
        "DEMO",
        "--job",
        "J1",
        "--db",
        db,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let count = |args: &[&str]| -> usize {
        let mut all = args.to_vec();
        all.extend(["--db", db, "--format", "json"]);
        let r = chainsched(&all);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        serde_json::from_str::<serde_json::Value>(&r.stdout)
            .ok()
            .and_then(|v| v.as_array().map(Vec::len))
            .unwrap_or(usize::MAX)
    };
    assert_eq!(count(&["jobs", "--since", "2h"]), 1);
    assert_eq!(count(&["jobs", "--until", "2h"]), 0);
    assert_eq!(count(&["log", "--since", "1h30m"]), 5);
    assert_eq!(count(&["log", "--until", "1d ago"]), 0);
    let r = chainsched(&["jobs", "--since", "yesterday", "--db", db]);
    assert_eq!(r.code, 2, "{}", r.stderr);

    let r = chainsched(&["programs", "--db", db, "--format", "json"]);
    let rows: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON");
    let sleep = rows
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["program_name"] == "PAUSE_1S")
        .cloned()
        .unwrap_or_default();
    assert_eq!(sleep["program_type"], "BUILTIN");
    assert_eq!(sleep["program_action"], "sleep 1s");
    assert_eq!(sleep["used_by"], serde_json::json!(["DEMO.PREPARE"]));
    let r = chainsched(&["programs", "SAY_HELO", "--db", db]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("did you mean SAY_HELLO?"), "{}", r.stderr);
}

#[test]
fn programs_view_through_the_service() {
    let s = server_support::Server::start(server_support::RULES);
    let out = s.cli(&["programs", "TALK"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("TALK") && text.contains("SHELL") && text.contains("DEMO.B"),
        "{text}"
    );
    let (status, v) = s.get("/openapi.json");
    assert_eq!(status, 200);
    assert!(v["paths"]["/api/v1/programs"].is_object(), "{v}");
}

/// ADDITIONAL_INFO says why the engine ended a run or could not start it; `output JOB STEP`
/// prints what a step wrote without looking up log ids.
#[test]
fn log_rows_say_why_and_output_prints_what_a_step_wrote() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = "program SLOW { shell 'echo started; sleep 5'; timeout 1s; }\n\
        program MISSING { executable '/nonexistent/program'; }\n\
        program TALK { shell 'echo line one; echo line two; echo oops >&2; exit 3'; }\n\
        chain C {\n    step A program SLOW;\n    step B program MISSING;\n    step T program TALK;\n\
        rule R1 when TRUE then START A, B, T;\n\
        rule R2 when A COMPLETED AND B COMPLETED AND T COMPLETED then END;\n}\n";
    let path = dir.path().join("why.chain");
    std::fs::write(&path, rules).expect("write");
    let db = dir.path().join("db");
    let db = db.to_str().unwrap_or_default();
    let r = chainsched(&[
        "run",
        path.to_str().unwrap_or_default(),
        "--chain",
        "C",
        "--job",
        "J",
        "--db",
        db,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = chainsched(&["log", "--db", db, "--format", "json"]);
    let rows: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON");
    let info = |step: &str| {
        rows.as_array()
            .into_iter()
            .flatten()
            .find(|r| r["job_subname"] == step)
            .map(|r| (r["error_code"].clone(), r["additional_info"].clone()))
            .unwrap_or_default()
    };
    assert_eq!(
        info("A"),
        (
            serde_json::json!(124),
            serde_json::json!("timed out after 1s; killed")
        )
    );
    let (code, why) = info("B");
    assert_eq!(code, serde_json::json!(127));
    assert!(
        why.as_str()
            .is_some_and(|w| w.starts_with("not started: No such file")),
        "{why}"
    );
    // The program's own failure is the program's business: no engine reason.
    assert_eq!(info("T"), (serde_json::json!(3), serde_json::Value::Null));

    let r = chainsched(&["output", "J", "T", "--db", db]);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (0, "line one\nline two\n"),
        "{}",
        r.stderr
    );
    let r = chainsched(&["output", "J", "T", "--errors", "--db", db]);
    assert_eq!(r.stdout, "oops\n");
    let r = chainsched(&["output", "J", "A", "--all", "--db", db]);
    assert!(
        r.stdout.starts_with("== LOG_ID ") && r.stdout.contains("started\n"),
        "{}",
        r.stdout
    );
    let r = chainsched(&["output", "J", "TT", "--db", db]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("did you mean T?"), "{}", r.stderr);
    let r = chainsched(&["output", "J", "T", "--attempt", "2", "--db", db]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}
