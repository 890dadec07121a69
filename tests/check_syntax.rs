//! One test per parser diagnostic sample (fixtures/bad/syntax_*.chain, written with the
//! parser): the exact text `check` prints — location, caret, message, expected — and exit 1.
//! Snapshots live in tests/snapshots/; after a deliberate wording change, review them with
//! `cargo insta review` (or re-run with INSTA_UPDATE=always and read the diff).

mod check_support;
use check_support::*;

fn check_text(file: &str) -> String {
    let path = format!("fixtures/bad/{file}.chain");
    let r = chainsched(&["check", &path]);
    let code = expected_code(&root().join(&path)).expect("fixture has an expect line");
    assert!(
        r.stdout.contains(&format!("error[{code}]")),
        "{path} should report {code}:\n{}",
        r.stdout
    );
    assert_eq!(r.code, 1, "{path}: a syntax error exits 1");
    r.stdout
}

macro_rules! syntax_snapshot {
    ($($test:ident => $file:literal,)*) => {$(
        #[test]
        fn $test() {
            insta::assert_snapshot!(stringify!($test), check_text($file));
        }
    )*};
}

syntax_snapshot! {
    syntax_bad_after => "syntax_bad_after",
    syntax_bad_argument => "syntax_bad_argument",
    syntax_bad_literal => "syntax_bad_literal",
    syntax_bare_name => "syntax_bare_name",
    syntax_condition_as_value => "syntax_condition_as_value",
    syntax_not_a_condition => "syntax_not_a_condition",
    syntax_unknown_function => "syntax_unknown_function",
    syntax_unsupported_subquery => "syntax_unsupported_subquery",
    syntax_bad_after_minutes => "syntax_bad_after_minutes",
    syntax_bad_attribute => "syntax_bad_attribute",
    syntax_bad_duration => "syntax_bad_duration",
    syntax_bad_end => "syntax_bad_end",
    syntax_bad_integer => "syntax_bad_integer",
    syntax_bad_interval => "syntax_bad_interval",
    syntax_duplicate_attribute => "syntax_duplicate_attribute",
    syntax_identifier_too_long => "syntax_identifier_too_long",
    syntax_keyword_as_name => "syntax_keyword_as_name",
    syntax_missing_semicolon => "syntax_missing_semicolon",
    syntax_misspelled_keyword => "syntax_misspelled_keyword",
    syntax_not_needs_parens => "syntax_not_needs_parens",
    syntax_program_kind => "syntax_program_kind",
    syntax_too_complex => "syntax_too_complex",
    syntax_too_deep => "syntax_too_deep",
    syntax_unclosed_string => "syntax_unclosed_string",
}
