//! Scenario files never panic the parser, whatever they contain; errors always name the file.

use chainsched::sim::Scenario;
use proptest::prelude::*;
use std::path::Path;

/// Fragments of plausible and implausible scenario text, shuffled together.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("[[job]]\n".to_string()),
        Just("[[at]]\n".to_string()),
        Just("[settings]\n".to_string()),
        Just("[expect.J1]\n".to_string()),
        Just("[expect]\n".to_string()),
        Just("[job.outcomes]\n".to_string()),
        Just("chain = \"C\"\n".to_string()),
        Just("name = \"J1\"\n".to_string()),
        Just("time = \"1s\"\n".to_string()),
        Just("at = \"-1s\"\n".to_string()),
        Just("until = \"99999999999999999999d\"\n".to_string()),
        Just("A = [\"fail 1\", {result = \"fail -3\"}]\n".to_string()),
        Just("A = []\n".to_string()),
        Just("steps = { A = \"FAILED x\" }\n".to_string()),
        Just("alter = { job = \"J1\", state = 3 }\n".to_string()),
        Just("event = { name = \"E\", payload = [1, 2] }\n".to_string()),
        Just("rejected = -1\n".to_string()),
        Just("log_rows = 1.5\n".to_string()),
        Just("error_code = \"null\"\n".to_string()),
        "[a-z_]{1,8} = \"[a-zA-Z0-9 .]{0,12}\"\n",
        "[a-z_]{1,8} = [0-9]{1,25}\n",
        "[\\[\\]{}=\"., a-z0-9\n]{0,30}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn never_panics(parts in proptest::collection::vec(fragment(), 0..12)) {
        let text: String = parts.concat();
        if let Err(e) = Scenario::parse("p.scenario.toml", Path::new("."), &text) {
            prop_assert!(e.to_string().starts_with("p.scenario.toml: "), "{}", e);
        }
    }
}

#[test]
fn huge_durations_are_refused_not_overflowed() {
    let e = Scenario::parse(
        "x.scenario.toml",
        Path::new("."),
        "[[job]]\nchain = \"C\"\nat = \"99999999999999999999d\"\n",
    )
    .unwrap_err();
    assert_eq!(e.key, "job[1].at");
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let e = Scenario::load(Path::new("/nonexistent/dir/x.scenario.toml")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/nonexistent/dir/x.scenario.toml: cannot read"),
        "{e}"
    );
}
