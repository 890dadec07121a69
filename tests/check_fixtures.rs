//! Every file in fixtures/bad reports the code its first line announces (`-- expect: CODE`),
//! with the right exit status, and every such code is documented in docs/diagnostics.md.
//! Good fixtures load with no diagnostic at all, alone and together (one namespace).

mod check_support;
use check_support::*;

#[test]
fn every_bad_fixture_reports_its_expected_code() {
    let docs = std::fs::read_to_string(root().join("docs/diagnostics.md"))
        .expect("docs/diagnostics.md exists");
    let fixtures = bad_fixtures();
    assert!(
        fixtures.len() >= 20,
        "expected a bad fixture per diagnostic, found {}",
        fixtures.len()
    );
    let mut failures = Vec::new();
    for path in fixtures {
        let name = path
            .strip_prefix(root())
            .unwrap_or(&path)
            .display()
            .to_string();
        let Some(code) = expected_code(&path) else {
            failures.push(format!("{name}: first line is not `-- expect: CODE`"));
            continue;
        };
        let (exit, report) = check_json(&[&name]);
        let found = codes(&report);
        if !found.contains(&code) {
            failures.push(format!("{name}: expected {code}, got {found:?}"));
        }
        let errors = report["summary"]["errors"].as_u64().unwrap_or(0);
        let want_exit = if errors > 0 { 1 } else { 0 };
        if exit != want_exit {
            failures.push(format!(
                "{name}: exit {exit}, expected {want_exit} ({errors} errors)"
            ));
        }
        if !docs.contains(&format!("`{code}`")) {
            failures.push(format!(
                "{name}: code {code} is not documented in docs/diagnostics.md"
            ));
        }
        // Every diagnostic points into the fixture itself, at a real line.
        for d in report["diagnostics"].as_array().into_iter().flatten() {
            if d["file"].as_str() != Some(name.as_str()) || d["line"].as_u64().unwrap_or(0) < 1 {
                failures.push(format!(
                    "{name}: diagnostic without a location in the file: {d}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const GOOD: [&str; 4] = [
    "fixtures/demo.chain",
    "fixtures/loan_approval.chain",
    "fixtures/nightly_etl.chain",
    "fixtures/oracle_example.chain",
];

#[test]
fn good_fixtures_load_clean_one_by_one() {
    for f in GOOD {
        let r = chainsched(&["check", f]);
        assert_eq!(r.code, 0, "{f}:\n{}", r.stdout);
        assert!(
            r.stdout.starts_with("ok: "),
            "{f} has diagnostics:\n{}",
            r.stdout
        );
    }
}

#[test]
fn good_fixtures_share_one_namespace_without_clashes() {
    let (exit, report) = check_json(&GOOD);
    assert_eq!(exit, 0);
    assert_eq!(codes(&report), Vec::<String>::new(), "{report:#}");
    assert_eq!(report["summary"]["files"], 4);
    let r = chainsched(&["check", GOOD[0], GOOD[1], GOOD[2], GOOD[3]]);
    assert_eq!(r.stdout, "ok: 5 chains, 17 programs\n");
}
