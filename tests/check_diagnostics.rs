//! One test per catalog diagnostic and lint: the exact text `check` prints for the sample in
//! fixtures/bad (location, caret, message, expected, did-you-mean, notes) and the exit status.
//! Snapshots live in tests/snapshots/; review changes with `cargo insta review`.

mod check_support;
use check_support::*;

fn check_text(file: &str) -> String {
    let path = format!("fixtures/bad/{file}.chain");
    let r = chainsched(&["check", &path]);
    let code = expected_code(&root().join(&path)).expect("fixture has an expect line");
    assert!(
        r.stdout.contains(&format!("[{code}]")),
        "{path} should report {code}:\n{}",
        r.stdout
    );
    let has_error = r.stdout.lines().any(|l| l.starts_with("error["));
    assert_eq!(r.code, if has_error { 1 } else { 0 }, "{path}: exit status");
    r.stdout
}

macro_rules! diagnostic_snapshot {
    ($($test:ident => $file:literal,)*) => {$(
        #[test]
        fn $test() {
            insta::assert_snapshot!(stringify!($test), check_text($file));
        }
    )*};
}

diagnostic_snapshot! {
    bad_value_max_running => "bad-value-max-running",
    bad_value => "bad-value",
    bad_schedule => "bad-schedule",
    bad_schedule_never => "bad-schedule-never",
    duplicate_chain => "duplicate-chain",
    duplicate_group => "duplicate-group",
    duplicate_job => "duplicate-job",
    duplicate_schedule => "duplicate-schedule",
    duplicate_program => "duplicate-program",
    duplicate_rule_unnamed => "duplicate-rule-unnamed",
    duplicate_rule => "duplicate-rule",
    duplicate_step => "duplicate-step",
    foreign_step => "foreign-step",
    job_without_chain => "job-without-chain",
    nested_chain_cycle => "nested-chain-cycle",
    nested_chain_self => "nested-chain-self",
    no_end => "no-end",
    no_start_rule => "no-start-rule",
    rule_never_fires => "rule-never-fires",
    stall_risk_stopped => "stall-risk-stopped",
    stall_risk => "stall-risk",
    unguarded_negation_error_code => "unguarded-negation-error-code",
    unguarded_negation => "unguarded-negation",
    unguarded_negation_not => "unguarded-negation-not",
    unknown_chain_in_job => "unknown-chain-in-job",
    unknown_chain => "unknown-chain",
    unknown_group => "unknown-group",
    unknown_program => "unknown-program",
    unknown_step_in_action => "unknown-step-in-action",
    unknown_step_in_end => "unknown-step-in-end",
    unknown_step => "unknown-step",
    unreachable_step => "unreachable-step",
    unset_variable => "unset-variable",
}
