//! `chainsched import-oracle` driven through the binary, as operations staff would use it:
//! the Oracle documentation's chain behaves like the hand-written fixture, the nightly-ETL
//! script's translation is pinned, real-world scripts (SQL Developer export, DBA notebook,
//! blog post) import and pass `check`, every defect found on real scripts has its repro as a
//! whole input file, bad scripts fail with positions, and no input panics. Whatever the
//! importer writes with exit 0 (or 3), `check` accepts.

use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_chainsched"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str], cwd: &Path) -> Output {
    bin()
        .current_dir(cwd)
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

/// Import `sql` (a path relative to the repo) into `dir/name`; returns the output.
fn import_to(sql: &str, dir: &Path, name: &str) -> Output {
    let out = dir.join(name);
    let o = bin()
        .current_dir(root())
        .args(["import-oracle", sql, "-o"])
        .arg(&out)
        .output()
        .expect("the binary runs");
    assert_eq!(o.status.code(), Some(0), "import failed: {:?}", text(&o));
    o
}

fn check_json(path: &Path) -> serde_json::Value {
    let o = bin()
        .args(["check", "--format", "json"])
        .arg(path)
        .output()
        .expect("the binary runs");
    serde_json::from_slice(&o.stdout).expect("check prints JSON")
}

/// The end states of a simulation: per job, its state, error code and its steps' states.
fn simulated_states(rules: &Path, scenario: &Path) -> Vec<serde_json::Value> {
    let o = bin()
        .arg("simulate")
        .arg(rules)
        .arg("--scenario")
        .arg(scenario)
        .args(["--format", "json"])
        .output()
        .expect("the binary runs");
    assert_eq!(o.status.code(), Some(0), "simulate failed: {:?}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("simulate prints JSON");
    v["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| {
            let steps: Vec<serde_json::Value> = j["steps"]
                .as_array()
                .expect("steps")
                .iter()
                .map(|s| {
                    serde_json::json!([s["subname"], s["state"], s["error_code"], s["attempts"]])
                })
                .collect();
            serde_json::json!({
                "job": j["job"], "state": j["state"], "error_code": j["error_code"],
                "ended_at": j["ended_at"], "steps": steps,
            })
        })
        .collect()
}

#[test]
fn oracle_doc_example_behaves_like_the_hand_written_chain() {
    let dir = tempfile::tempdir().expect("temp dir");
    import_to(
        "fixtures/oracle/oracle_doc_example.sql",
        dir.path(),
        "doc.chain",
    );
    let imported = dir.path().join("doc.chain");
    let c = bin().arg("check").arg(&imported).output().expect("runs");
    assert_eq!(c.status.code(), Some(0), "check: {:?}", text(&c));

    let scenario = root().join("fixtures/oracle/oracle_doc_example.scenario.toml");
    let from_sql = simulated_states(&imported, &scenario);
    let by_hand = simulated_states(&root().join("fixtures/oracle_example.chain"), &scenario);
    assert_eq!(from_sql, by_hand);
    // And the states are the documented ones (not two equally wrong runs).
    let e20100 = from_sql
        .iter()
        .find(|j| j["job"] == "E20100")
        .expect("job E20100");
    assert_eq!(e20100["state"], "SUCCEEDED");
    assert_eq!(
        e20100["steps"][2],
        serde_json::json!(["STEP3", "SUCCEEDED", 0, 1])
    );
    let e20200 = from_sql
        .iter()
        .find(|j| j["job"] == "E20200")
        .expect("job E20200");
    assert_eq!(e20200["state"], "FAILED");
    assert_eq!(e20200["error_code"], 20200);
    assert_eq!(e20200["steps"][2][1], "NOT_STARTED");
}

#[test]
fn nightly_etl_translation_is_pinned() {
    let o = run(
        &["import-oracle", "fixtures/oracle/nightly_etl.sql"],
        &root(),
    );
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    insta::assert_snapshot!("nightly_etl", out);
    // Warnings go to stderr with positions, and into the output as comments.
    assert!(
        err.contains("fixtures/oracle/nightly_etl.sql:94:3"),
        "{err}"
    );
    assert!(err.contains("TIMEOUT"), "{err}");
    assert!(out.contains("-- import-oracle: line 94: ALTER_CHAIN: step attribute TIMEOUT"));

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("etl.chain");
    std::fs::write(&path, &out).expect("write");
    let c = bin().arg("check").arg(&path).output().expect("runs");
    assert_eq!(c.status.code(), Some(0), "check: {:?}", text(&c));
}

#[test]
fn every_fixture_round_trips_through_check() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut n = 0;
    for entry in std::fs::read_dir(root().join("fixtures/oracle")).expect("fixtures/oracle") {
        let p = entry.expect("entry").path();
        if p.extension().and_then(|e| e.to_str()) != Some("sql") {
            continue;
        }
        n += 1;
        let name = format!(
            "{}.chain",
            p.file_stem().and_then(|s| s.to_str()).unwrap_or("x")
        );
        let rel = p
            .strip_prefix(root())
            .expect("in repo")
            .to_string_lossy()
            .into_owned();
        import_to(&rel, dir.path(), &name);
        let report = check_json(&dir.path().join(&name));
        assert_eq!(report["summary"]["errors"], 0, "{rel}: {report:#}");
    }
    assert!(n >= 2, "the fixtures are found");
}

fn write_sql(dir: &Path, name: &str, sql: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, sql).expect("write sql");
    p
}

#[test]
fn unterminated_string_is_an_error_with_position() {
    let dir = tempfile::tempdir().expect("temp dir");
    write_sql(
        dir.path(),
        "bad.sql",
        "BEGIN\n  DBMS_SCHEDULER.CREATE_CHAIN('c1');\n  DBMS_SCHEDULER.DEFINE_CHAIN_STEP('c1', 's1, 'p1');\nEND;\n/\n",
    );
    let o = run(&["import-oracle", "bad.sql"], dir.path());
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(out.is_empty(), "nothing is written: {out}");
    assert!(err.contains("bad.sql:3:"), "{err}");
    assert!(err.contains("expected:"), "{err}");
}

#[test]
fn missing_parenthesis_is_an_error_with_position() {
    let dir = tempfile::tempdir().expect("temp dir");
    write_sql(
        dir.path(),
        "bad.sql",
        "BEGIN\n  DBMS_SCHEDULER.CREATE_CHAIN(chain_name => 'c1';\nEND;\n/\n",
    );
    let o = run(&["import-oracle", "bad.sql"], dir.path());
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("bad.sql:2:49"), "{err}");
    assert!(err.contains("expected: `,` or `)`"), "{err}");
    assert!(err.contains("a `)` is missing"), "{err}");
}

#[test]
fn misspelt_parameter_is_an_error_with_a_suggestion() {
    let dir = tempfile::tempdir().expect("temp dir");
    write_sql(
        dir.path(),
        "bad.sql",
        "EXEC DBMS_SCHEDULER.CREATE_CHAIN(chian_name => 'c1')\n",
    );
    let o = run(&["import-oracle", "bad.sql"], dir.path());
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("bad.sql:1:34"), "{err}");
    assert!(err.contains("did you mean chain_name?"), "{err}");
}

#[test]
fn missing_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = run(&["import-oracle", "no_such.sql"], dir.path());
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(1));
    assert!(err.contains("no_such.sql"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    let o = run(&["import-oracle"], &root());
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn unknown_procedure_is_a_warning_naming_the_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    write_sql(
        dir.path(),
        "x.sql",
        "BEGIN\n  DBMS_SCHEDULER.CREATE_CHAIN('c1');\n  DBMS_SCHEDULER.FROBNICATE('c1');\n  DBMS_SCHEDULER.DEFINE_CHAIN_STEP('c1', 's1', 'p1');\n  DBMS_SCHEDULER.DEFINE_CHAIN_RULE('c1', 'TRUE', 'START s1');\n  DBMS_SCHEDULER.DEFINE_CHAIN_RULE('c1', 's1 COMPLETED', 'END');\nEND;\n/\n",
    );
    let o = run(&["import-oracle", "x.sql"], dir.path());
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("x.sql:3:3"), "{err}");
    assert!(err.contains("FROBNICATE"), "{err}");
    assert!(
        out.contains("-- import-oracle: line 3: unknown procedure DBMS_SCHEDULER.FROBNICATE"),
        "{out}"
    );
    // P1 is not created by the script: a placeholder keeps the file loadable.
    assert!(out.contains("program P1 { handler 'P1'; }"), "{out}");
    std::fs::write(dir.path().join("x.chain"), &out).expect("write");
    let report = check_json(&dir.path().join("x.chain"));
    assert_eq!(report["summary"]["errors"], 0, "{report:#}");
}

#[test]
fn sql_forms_are_understood() {
    // Positional and named arguments, SYS. prefix, case, q-quotes, '' escapes, ||, comments,
    // EXEC lines with `-` continuations, quoted names, INTERVAL literals, NOT in SQL syntax.
    let sql = r#"
exec Sys.Dbms_Scheduler.Create_Program('P', 'executable', q'{/bin/echo}', 1, TRUE)
EXEC DBMS_SCHEDULER.DEFINE_PROGRAM_ARGUMENT('p', 1, NULL, 'VARCHAR2', 'it''s' || ' ok')
begin
  dbms_scheduler.create_chain(chain_name => 'c', evaluation_interval => INTERVAL '90' SECOND /* x */);
  dbms_scheduler.define_chain_step('c', '"Step One"', 'p'); -- a quoted step name
  DBMS_SCHEDULER.DEFINE_CHAIN_RULE('c', 'TRUE', 'START "Step One"', 'r1');
  DBMS_SCHEDULER.DEFINE_CHAIN_RULE('c', 'NOT (:"Step One".state = ''SUCCEEDED'') AND "Step One" COMPLETED',
    'END 3', 'r2');
  DBMS_SCHEDULER.DEFINE_CHAIN_RULE('c', '"Step One" SUCCEEDED', 'END', 'r3');
  DBMS_SCHEDULER.DEFINE_CHAIN_RULE('c', 'NOT "Step One" SUCCEEDED', 'END', 'r4');
END;
/
EXECUTE DBMS_SCHEDULER.CREATE_JOB('j', 'CHAIN', 'c', 0, SYSTIMESTAMP, -
  'FREQ=HOURLY', NULL, 'DEFAULT_JOB_CLASS', TRUE)
"#;
    let dir = tempfile::tempdir().expect("temp dir");
    write_sql(dir.path(), "forms.sql", sql);
    let o = run(&["import-oracle", "forms.sql"], dir.path());
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        out.contains("program P {\n    executable '/bin/echo';\n    arguments 'it''s ok';\n}"),
        "{out}"
    );
    assert!(out.contains("evaluation_interval 1m30s;"), "{out}");
    assert!(out.contains("step \"Step One\" program P;"), "{out}");
    assert!(
        out.contains("rule R1 when TRUE then START \"Step One\";"),
        "{out}"
    );
    // A condition the rule language rejects is written commented out, with a warning.
    assert!(
        out.contains("    -- rule R4 when NOT \"Step One\" SUCCEEDED then END;"),
        "{out}"
    );
    assert!(err.contains("forms.sql:11:3"), "{err}");
    assert!(
        out.contains("job J {\n    chain C;\n    schedule 'FREQ=HOURLY';\n}"),
        "{out}"
    );
    std::fs::write(dir.path().join("forms.chain"), &out).expect("write");
    let report = check_json(&dir.path().join("forms.chain"));
    assert_eq!(report["summary"]["errors"], 0, "{report:#}");
}

/// Import the whole script `sql` through the binary (`import-oracle script.sql -o
/// script.chain` plus `args`). Whenever the importer writes a rule file (exit 0 or 3),
/// `chainsched check` must accept it: that is the importer's promise. Returns the exit code,
/// the rule file (empty when none was written) and standard error.
fn import_sql(sql: &[u8], args: &[&str]) -> (i32, String, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("script.sql"), sql).expect("write sql");
    let o = bin()
        .current_dir(dir.path())
        .args(["import-oracle", "script.sql", "-o", "script.chain"])
        .args(args)
        .output()
        .expect("the binary runs");
    let code = o.status.code().expect("exit code");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let out = std::fs::read_to_string(dir.path().join("script.chain")).unwrap_or_default();
    if code == 0 || code == 3 {
        let c = bin()
            .current_dir(dir.path())
            .args(["check", "script.chain"])
            .output()
            .expect("the binary runs");
        assert_eq!(
            c.status.code(),
            Some(0),
            "check refuses what import-oracle wrote (exit {code}):\n{out}\n{:?}",
            text(&c)
        );
    } else {
        assert!(out.is_empty(), "nothing is written on exit {code}: {out}");
    }
    (code, out, err)
}

const CREATE_C: &str = "begin\n  dbms_scheduler.create_chain('C');\nend;\n/\n";

#[test]
fn repro_1a_a_procedure_without_slash_swallows_the_next_block() {
    let sql = format!("create or replace procedure p as begin null; end;\n{CREATE_C}");
    let (code, _, err) = import_sql(sql.as_bytes(), &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("script.sql:2:1"), "{err}");
    assert!(
        err.contains("no `/` line ends `create or replace procedure p"),
        "{err}"
    );
    assert!(err.contains("never run"), "{err}");
    // --keep-going: the statement is skipped, as SQL*Plus does (C is not created).
    let (code, out, err) = import_sql(sql.as_bytes(), &["--keep-going"]);
    assert_eq!(code, 3, "{err}");
    assert!(!out.contains("chain C"), "{out}");
    assert!(
        out.contains("-- import-oracle: line 1: the statement of lines 1–4 is skipped"),
        "{out}"
    );
    // With its `/`, the procedure is ignored and C is imported.
    let sql = format!("create or replace procedure p as begin null; end;\n/\n{CREATE_C}");
    let (code, out, err) = import_sql(sql.as_bytes(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("chain C {"), "{out}");
}

#[test]
fn repro_1b_a_blank_line_ends_a_sql_statement() {
    let sql = format!("select * from dual\n\n{CREATE_C}");
    let (code, out, err) = import_sql(sql.as_bytes(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("chain C {"), "{out}");
    assert!(
        err.contains(
            "a statement that calls no DBMS_SCHEDULER procedure is ignored: `select * from dual`"
        ),
        "{err}"
    );
    // Without the blank line SQL*Plus sends both as one SQL statement: an error, not a loss.
    let sql = "select * from dual\ndbms_scheduler.create_chain('C');\n";
    let (code, _, err) = import_sql(sql.as_bytes(), &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("script.sql:2:1"), "{err}");
    assert!(
        err.contains("part of the SQL statement `select * from dual`"),
        "{err}"
    );
}

#[test]
fn repro_1c_end_without_semicolon_is_an_error_not_a_vanished_block() {
    let sql = "begin\n  dbms_scheduler.create_chain('A');\nend\n\nbegin\n  dbms_scheduler.create_chain('B');\nend;\n/\n";
    let (code, _, err) = import_sql(sql.as_bytes(), &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("script.sql:5:1"), "{err}");
    assert!(
        err.contains("expected `;` after the END of the block (line 3), found `begin`"),
        "{err}"
    );
    // Oracle rejects the whole buffer: neither chain exists; --keep-going says so.
    let (code, out, err) = import_sql(sql.as_bytes(), &["--keep-going"]);
    assert_eq!(code, 3, "{err}");
    assert!(
        !out.contains("chain A") && !out.contains("chain B"),
        "{out}"
    );
    // Two blocks without a `/` between them are one buffer too.
    let sql = "begin\n  dbms_scheduler.create_chain('A');\nend;\nbegin\n  dbms_scheduler.create_chain('B');\nend;\n/\n";
    let (code, _, err) = import_sql(sql.as_bytes(), &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("script.sql:4:1"), "{err}");
    assert!(err.contains("PLS-00103"), "{err}");
}

#[test]
fn repro_1d_desc_pause_and_other_sqlplus_commands_are_skipped() {
    let sql = "desc dba_scheduler_chains\npause\nPROMPT Don't stop now\nREM it's a comment\nCOL chain_name FOR a30\nSET SQLBLANKLINES OFF\nSHO USER\nSPO x.log\n@@other_script.sql\nexec DBMS_SCHEDULER.CREATE_CHAIN('C')\n";
    let (code, out, err) = import_sql(sql.as_bytes(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("chain C {"), "{out}");
    assert!(
        !err.contains("ignored"),
        "SQL*Plus commands are not statements: {err}"
    );
}

#[test]
fn repro_2_exec_is_one_line() {
    let sql = "exec dbms_output.put_line('x')\nexec DBMS_SCHEDULER.CREATE_CHAIN('C')\n";
    let (code, out, err) = import_sql(sql.as_bytes(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("chain C {"), "{out}");
    assert!(
        err.contains("is ignored: `dbms_output.put_line('x')`"),
        "{err}"
    );
}

#[test]
fn repro_3_exec_continuation_before_a_named_argument() {
    let sql = "exec DBMS_SCHEDULER.CREATE_CHAIN( -\n  chain_name => 'C1')\n";
    let (code, out, err) = import_sql(sql.as_bytes(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("chain C1 {"), "{out}");
}

#[test]
fn repro_4_bytime_becomes_byhour_byminute_bysecond() {
    let chain = "BEGIN\n  DBMS_SCHEDULER.CREATE_CHAIN('C');\n  DBMS_SCHEDULER.DEFINE_CHAIN_STEP('C', 'S', 'P');\n  DBMS_SCHEDULER.DEFINE_CHAIN_RULE('C', 'TRUE', 'START S');\n  DBMS_SCHEDULER.DEFINE_CHAIN_RULE('C', 'S COMPLETED', 'END');\nEND;\n/\n";
    let job = |ri: &str| {
        format!("{chain}BEGIN\n  DBMS_SCHEDULER.CREATE_JOB(job_name => 'J', job_type => 'CHAIN', job_action => 'C',\n    repeat_interval => '{ri}', enabled => TRUE);\nEND;\n/\n")
    };
    let (code, out, err) = import_sql(job("FREQ=DAILY;BYTIME=220000").as_bytes(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("schedule 'FREQ=DAILY;BYHOUR=22;BYMINUTE=0;BYSECOND=0';"),
        "{out}"
    );
    assert!(
        err.contains("BYTIME (written by SQL Developer) becomes"),
        "{err}"
    );
    // Times that are not a grid of hours × minutes × seconds: no schedule, and a warning.
    let (code, out, err) = import_sql(job("FREQ=DAILY;BYTIME=060000,183000").as_bytes(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("job J {") && !out.contains("schedule '"),
        "{out}"
    );
    assert!(err.contains("cannot be translated exactly"), "{err}");
    // Nor does a PL/SQL date expression reach `check`.
    let (code, out, err) = import_sql(job("SYSDATE + 1").as_bytes(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("schedule '"), "{out}");
    assert!(
        err.contains("the job is written without a schedule"),
        "{err}"
    );
}

#[test]
fn repro_5_rule_on_an_unknown_chain_or_step_is_commented_out() {
    let sql = "BEGIN\n  DBMS_SCHEDULER.DEFINE_CHAIN_RULE('C', 'TRUE', 'START S1');\nEND;\n/\n";
    let (code, out, err) = import_sql(sql.as_bytes(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("chain C {"), "no chain is invented: {out}");
    assert!(out.contains("-- import-oracle: line 2: DBMS_SCHEDULER.DEFINE_CHAIN_RULE: chain C is not created by this script"), "{out}");
    assert!(
        out.contains("ORA-27476") && out.contains("`rule when TRUE then START S1;`"),
        "{out}"
    );
    let sql = "BEGIN\n  DBMS_SCHEDULER.CREATE_CHAIN('C');\n  DBMS_SCHEDULER.DEFINE_CHAIN_RULE('C', 'TRUE', 'START S1');\nEND;\n/\n";
    let (code, out, err) = import_sql(sql.as_bytes(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("    -- rule when TRUE then START S1;"),
        "{out}"
    );
    assert!(
        err.contains("script.sql:3:3") && err.contains("unknown step S1"),
        "{err}"
    );
}

#[test]
fn repro_6_latin1_script_is_read_as_windows_1252() {
    let sql = b"exec DBMS_SCHEDULER.CREATE_PROGRAM('P', 'EXECUTABLE', '/opt/r\xe9plica/run.sh', 0, TRUE)\n";
    let (code, out, err) = import_sql(sql, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("executable '/opt/r\u{e9}plica/run.sh';"),
        "{out}"
    );
    assert!(!out.contains('\u{fffd}'), "{out}");
    assert!(
        err.contains("script.sql:1:62") && err.contains("it is read as Windows-1252"),
        "{err}"
    );
    let (code, out, err) = import_sql(sql, &["--encoding", "latin1"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("'/opt/r\u{e9}plica/run.sh'") && !err.contains("UTF-8"),
        "{err}"
    );
    let (code, _, err) = import_sql(sql, &["--encoding", "utf-8"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("script.sql:1:62") && err.contains("byte 0xE9 is not UTF-8"),
        "{err}"
    );
    let (code, _, err) = import_sql(sql, &["--encoding", "ebcdic"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn repro_7_keep_going_skips_the_block_oracle_rejects() {
    let sql = "exec DBMS_SCHEDULER.CREATE_CHAIN('A')\nBEGIN\n  DBMS_SCHEDULER.CREATE_CHAIN('B0');\n  DBMS_SCHEDULER.CREATE_CHAIN(chian_name => 'B');\nEND;\n/\nexec DBMS_SCHEDULER.CREATE_CHAIN('C')\n";
    let (code, _, err) = import_sql(sql.as_bytes(), &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--keep-going"), "the way out is named: {err}");
    let (code, out, err) = import_sql(sql.as_bytes(), &["--keep-going"]);
    assert_eq!(code, 3, "{err}");
    assert!(
        out.contains("chain A {") && out.contains("chain C {"),
        "{out}"
    );
    // The whole block fails to compile: B0 is not created either.
    assert!(!out.contains("chain B0"), "{out}");
    assert!(
        err.contains("error[syntax]: DBMS_SCHEDULER.CREATE_CHAIN has no parameter `chian_name`"),
        "{err}"
    );
    assert!(err.contains("script.sql:4:31"), "{err}");
    assert!(
        err.contains("1 statement(s) Oracle would reject were skipped"),
        "{err}"
    );
    assert!(
        out.contains(
            "-- import-oracle: line 2: the statement of lines 2–5 is skipped (--keep-going)"
        ),
        "{out}"
    );
    // Under WHENEVER SQLERROR EXIT, SQL*Plus would stop there: said.
    let (code, out, _) = import_sql(
        format!("WHENEVER SQLERROR EXIT FAILURE\n{sql}").as_bytes(),
        &["--keep-going"],
    );
    assert_eq!(code, 3);
    assert!(out.contains("WHENEVER SQLERROR EXIT on line 1"), "{out}");
}

#[test]
fn repro_8_recreating_a_chain_or_program_keeps_the_first() {
    let sql = "BEGIN\n  DBMS_SCHEDULER.CREATE_CHAIN('C1');\n  DBMS_SCHEDULER.DEFINE_CHAIN_STEP('C1', 'S1', 'P1');\n  DBMS_SCHEDULER.DEFINE_CHAIN_RULE('C1', 'TRUE', 'START S1');\nEND;\n/\nBEGIN\n  DBMS_SCHEDULER.CREATE_CHAIN('C1');\nEND;\n/\n";
    let (code, out, err) = import_sql(sql.as_bytes(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("    step S1 program P1;") && out.contains("rule when TRUE then START S1;"),
        "{out}"
    );
    assert!(
        err.contains("script.sql:8:3") && err.contains("ORA-27477"),
        "{err}"
    );
    // A program too, and the error ends the block: the call after it does not run.
    let sql = "EXEC DBMS_SCHEDULER.CREATE_PROGRAM('P1', 'EXECUTABLE', '/bin/first', 0, TRUE)\nBEGIN\n  DBMS_SCHEDULER.CREATE_PROGRAM('P1', 'EXECUTABLE', '/bin/second', 0, TRUE);\n  DBMS_SCHEDULER.CREATE_CHAIN('NEVER');\nEND;\n/\n";
    let (code, out, err) = import_sql(sql.as_bytes(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("executable '/bin/first'") && !out.contains("/bin/second"),
        "{out}"
    );
    assert!(!out.contains("chain NEVER"), "{out}");
    assert!(
        err.contains("the call after it (line 4) is not imported either"),
        "{err}"
    );
    // Unless an EXCEPTION handler catches it: then the block goes on after that handler.
    let sql = "EXEC DBMS_SCHEDULER.CREATE_CHAIN('C1')\nBEGIN\n  BEGIN\n    DBMS_SCHEDULER.CREATE_CHAIN('C1');\n  EXCEPTION WHEN OTHERS THEN NULL;\n  END;\n  DBMS_SCHEDULER.CREATE_CHAIN('C2');\nEND;\n/\n";
    let (code, out, err) = import_sql(sql.as_bytes(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("chain C2 {"), "{out}");
}

#[test]
fn repro_9_warnings_say_where_and_what() {
    let sql = "DECLARE\n  v_name VARCHAR2(30) := 'X';\nBEGIN\n  DBMS_SCHEDULER.CREATE_CHAIN('C');\n  DBMS_SCHEDULER.DEFINE_CHAIN_STEP('C', 'S1', 'NO_SUCH_PROGRAM');\n  DBMS_SCHEDULER.DEFINE_CHAIN_STEP('C', 'S2', program_name => NULL);\n  DBMS_SCHEDULER.CREATE_CHAIN(v_name);\n  DBMS_SCHEDULER.CREATE_SCHEDULE('NIGHTLY', repeat_interval => 'FREQ=DAILY');\n  DBMS_SCHEDULER.SET_ATTRIBUTE('NIGHTLY', 'start_date', SYSTIMESTAMP);\n  DBMS_SCHEDULER.CREATE_JOB('J', 'CHAIN', 'C', job_class => v_class, enabled => TRUE);\n  DBMS_SCHEDULER.CREATE_CHAIN('TEMP');\n  DBMS_SCHEDULER.DROP_CHAIN('TEMP');\n  DBMS_OUTPUT.PUT_LINE('one');\n  DBMS_OUTPUT.PUT_LINE('two');\nEND;\n/\nselect 1 from dual;\n";
    let (code, out, err) = import_sql(sql.as_bytes(), &[]);
    assert_eq!(code, 0, "{err}");
    // The placeholder program points at the step that needs it.
    assert!(
        out.contains("-- import-oracle: line 5: program NO_SUCH_PROGRAM (step S1 of chain C)"),
        "{out}"
    );
    assert!(err.contains("script.sql:5:3"), "{err}");
    // NULL is NULL, not missing.
    assert!(
        err.contains("`program_name` is NULL, which Oracle refuses"),
        "{err}"
    );
    assert!(!err.contains("needs a value"), "{err}");
    // A non-literal name drops the whole call, and says so.
    assert!(
        err.contains(
            "`chain_name` is v_name, not a literal the importer can read; the call is ignored"
        ),
        "{err}"
    );
    // A schedule the script created is named as such.
    assert!(
        err.contains("attribute start_date of schedule NIGHTLY is not translated"),
        "{err}"
    );
    assert!(
        !err.contains("NIGHTLY is not a job, chain, program or schedule"),
        "{err}"
    );
    // A non-literal job_class is not dropped silently.
    assert!(
        err.contains("`job_class` is v_class, not a literal"),
        "{err}"
    );
    // A chain created and dropped gets a note.
    assert!(out.contains("-- import-oracle: line 12: chain TEMP, created at line 11, is dropped here; it is not written"), "{out}");
    // Ignored statements: one line for all.
    assert_eq!(
        err.matches("call no DBMS_SCHEDULER procedure").count(),
        1,
        "{err}"
    );
    assert!(
        out.contains(
            "3 statements that call no DBMS_SCHEDULER procedure are ignored (lines 13, 14, 17;"
        ),
        "{out}"
    );
}

#[test]
fn a_block_without_its_slash_at_the_end_of_the_file_is_imported_with_a_warning() {
    let sql = "BEGIN\n  DBMS_SCHEDULER.CREATE_CHAIN('C');\nEND;\n";
    let (code, out, err) = import_sql(sql.as_bytes(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("chain C {"), "{out}");
    assert!(err.contains("no `/` line follows the block"), "{err}");
    // A `.` line keeps the block without running it; a later `/` runs it.
    let (code, out, _) = import_sql(
        b"BEGIN\n  DBMS_SCHEDULER.CREATE_CHAIN('C');\nEND;\n.\n",
        &[],
    );
    assert_eq!(code, 0);
    assert!(
        !out.contains("chain C {") && out.contains("is not run by SQL*Plus"),
        "{out}"
    );
    let (code, out, _) = import_sql(
        b"BEGIN\n  DBMS_SCHEDULER.CREATE_CHAIN('C');\nEND;\n.\n/\n",
        &[],
    );
    assert_eq!(code, 0);
    assert!(out.contains("chain C {"), "{out}");
}

/// The realistic scripts of fixtures/oracle/, in the styles people paste: each imports with
/// exit 0, `check` accepts the output, and what it defines is there.
#[test]
fn realistic_scripts_import_and_check() {
    let cases: &[(&str, &[&str])] = &[
        (
            "sql_developer_export.sql",
            &[
                "step EXTRACT program EXTRACT_INVOICES with restart_on_failure;",
                "rule SCHED_RULE$4 when \"EXTRACT\" FAILED then END 1 comment 'nothing to post';",
                "schedule 'FREQ=DAILY;BYDAY=MON,TUE,WED,THU,FRI;BYHOUR=22;BYMINUTE=0;BYSECOND=0';",
                "max_run_duration 3h;",
            ],
        ),
        (
            "dba_notebook.sql",
            &[
                "arguments '/data/exports' 'archive01:/arch';",
                "rule R_PURGE when :verify.state = 'SUCCEEDED' then START purge;",
                "schedule 'FREQ=WEEKLY;BYDAY=SUN;BYHOUR=3;BYMINUTE=30';",
            ],
        ),
        (
            "blog_exec_continuations.sql",
            &[
                "step FIGURES_READY event REPORT_EVENTS_Q where event_type = 'FIGURES_READY';",
                "rule RULE_MAIL when render SUCCEEDED then AFTER 00:05:00 START mail;",
                "parameters RECIPIENT = 'team@example.com';",
            ],
        ),
    ];
    for (file, expected) in cases {
        let sql = std::fs::read(root().join("fixtures/oracle").join(file)).expect("fixture");
        let (code, out, err) = import_sql(&sql, &[]);
        assert_eq!(code, 0, "{file}: {err}");
        for e in *expected {
            assert!(out.contains(e), "{file}: `{e}` missing in\n{out}");
        }
        assert!(!err.contains("error"), "{file}: {err}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = chainsched::oracle::import("random.sql", &text);
    }

    #[test]
    fn mutations_of_the_fixtures_never_panic(
        which in 0usize..5,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<char>()), 1..8),
    ) {
        let files = [
            "fixtures/oracle/nightly_etl.sql",
            "fixtures/oracle/oracle_doc_example.sql",
            "fixtures/oracle/sql_developer_export.sql",
            "fixtures/oracle/dba_notebook.sql",
            "fixtures/oracle/blog_exec_continuations.sql",
        ];
        let mut text: Vec<char> = std::fs::read_to_string(root().join(files[which]))
            .expect("fixture")
            .chars()
            .collect();
        for (at, op, c) in edits {
            let i = at.index(text.len().max(1)).min(text.len());
            match op {
                0 => text.insert(i, c),
                1 if i < text.len() => { text.remove(i); }
                _ if i < text.len() => text[i] = ['\'', '(', ')', ';', ',', '/', '"', '-', '*', c][i % 10],
                _ => {}
            }
        }
        let text: String = text.into_iter().collect();
        let result = chainsched::oracle::import("mutated.sql", &text);
        // Whatever it says, it says it with positions inside the file.
        for d in &result.diagnostics {
            prop_assert!(d.span.start <= text.len() && d.span.end <= text.len());
            prop_assert!(!d.message.contains("internal error"), "{}", d.message);
        }
        // And what it writes, `check` accepts.
        if let Some(out) = &result.output {
            let loaded = chainsched::catalog::load_sources(&[("out.chain".to_string(), out.clone())]);
            prop_assert_eq!(loaded.error_count(), 0, "{}", out);
        }
        // With --keep-going too.
        let options = chainsched::oracle::Options { keep_going: true, ..Default::default() };
        let result = chainsched::oracle::import_bytes("mutated.sql", text.as_bytes(), &options);
        if let Some(out) = &result.output {
            let loaded = chainsched::catalog::load_sources(&[("out.chain".to_string(), out.clone())]);
            prop_assert_eq!(loaded.error_count(), 0, "{}", out);
        }
    }
}

/// start_date (with its time zone), end_date, max_runs, max_failures, comments and enabled
/// become the job's attributes; the output passes `check`.
#[test]
fn job_dates_time_zone_and_limits_become_job_attributes() {
    let dir = tempfile::tempdir().expect("temp dir");
    write_sql(
        dir.path(),
        "jobs.sql",
        "BEGIN\n\
         DBMS_SCHEDULER.CREATE_PROGRAM('P1', 'EXECUTABLE', '/bin/true', enabled => TRUE);\n\
         DBMS_SCHEDULER.CREATE_CHAIN('C1');\n\
         DBMS_SCHEDULER.DEFINE_CHAIN_STEP('C1', 'S1', 'P1');\n\
         DBMS_SCHEDULER.DEFINE_CHAIN_RULE('C1', 'TRUE', 'START S1');\n\
         DBMS_SCHEDULER.DEFINE_CHAIN_RULE('C1', 'S1 COMPLETED', 'END');\n\
         DBMS_SCHEDULER.ENABLE('C1');\n\
         DBMS_SCHEDULER.CREATE_JOB(job_name => 'J1', job_type => 'CHAIN', job_action => 'C1',\n\
           start_date => TO_TIMESTAMP_TZ('2026-03-01 09:00:00 Europe/Paris', 'YYYY-MM-DD HH24:MI:SS TZR'),\n\
           end_date => TIMESTAMP '2026-12-31 23:00:00 Europe/Paris',\n\
           repeat_interval => 'FREQ=DAILY', comments => 'nine o''clock in Paris');\n\
         DBMS_SCHEDULER.SET_ATTRIBUTE('J1', 'max_runs', 100);\n\
         DBMS_SCHEDULER.SET_ATTRIBUTE('J1', 'max_failures', 3);\n\
         DBMS_SCHEDULER.CREATE_JOB(job_name => 'J2', job_type => 'CHAIN', job_action => 'C1',\n\
           start_date => SYSTIMESTAMP AT TIME ZONE 'America/New_York',\n\
           repeat_interval => 'FREQ=DAILY;BYTIME=220000', enabled => TRUE);\n\
         DBMS_SCHEDULER.CREATE_JOB(job_name => 'J3', job_type => 'CHAIN', job_action => 'C1',\n\
           event_condition => 'tab.user_data.file_name = ''sales.csv''',\n\
           queue_spec => 'sys.scheduler_filewatcher_q, agent1', enabled => TRUE);\n\
         END;\n/\n",
    );
    let o = run(
        &["import-oracle", "jobs.sql", "-o", "out.chain"],
        dir.path(),
    );
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let out = std::fs::read_to_string(dir.path().join("out.chain")).expect("written");
    for want in [
        "    time_zone 'Europe/Paris';\n    start_date '2026-03-01 09:00:00';\n    end_date '2026-12-31 23:00:00';\n    max_runs 100;\n    max_failures 3;\n    enabled false;\n    comment 'nine o''clock in Paris';\n",
        "    time_zone 'America/New_York';\n}",
        "job J3 {\n    chain C1;\n    on event SCHEDULER_FILEWATCHER_Q where ",
    ] {
        assert!(out.contains(want), "{want:?} not in:\n{out}");
    }
    let json = check_json(&dir.path().join("out.chain"));
    assert_eq!(json["summary"]["errors"], 0, "{json}");
}
