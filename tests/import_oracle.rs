//! `chainsched import-oracle` driven through the binary, as operations staff would use it:
//! the Oracle documentation's chain behaves like the hand-written fixture, the nightly-ETL
//! script's translation is pinned, bad scripts fail with positions, and no input panics.

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

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = chainsched::oracle::import("random.sql", &text);
    }

    #[test]
    fn mutations_of_the_fixtures_never_panic(
        which in 0usize..2,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..3, any::<char>()), 1..8),
    ) {
        let files = ["fixtures/oracle/nightly_etl.sql", "fixtures/oracle/oracle_doc_example.sql"];
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
        }
    }
}
