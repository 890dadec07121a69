//! The parser on invalid input: every diagnostic it emits, with its exact code, line:column
//! and message; several errors in one file are all reported; the fixtures in fixtures/bad
//! named `syntax_*` produce exactly the diagnostic their first line announces.

use chainsched::lang::diagnostic::{render_text, Diagnostic};
use chainsched::lang::parser::{parse_action, parse_condition, parse_file};
use chainsched::lang::SourceMap;

/// Parse `src` as a file that must fail; each error as `code@line:col: message`.
fn errors(src: &str) -> Vec<String> {
    let mut sm = SourceMap::default();
    let id = sm.add("t.chain", src);
    let diags = match parse_file(id, src) {
        Ok(f) => panic!("expected errors for {src:?}, parsed {f:#?}"),
        Err(d) => d,
    };
    assert!(!diags.is_empty(), "Err must carry at least one diagnostic");
    diags.iter().map(|d| line(d, &sm)).collect()
}

fn line(d: &Diagnostic, sm: &SourceMap) -> String {
    let (l, c) = sm.line_col(d.span.file, d.span.start);
    format!("{}@{l}:{c}: {}", d.code, d.message)
}

fn one_error(src: &str) -> String {
    let e = errors(src);
    assert_eq!(
        e.len(),
        1,
        "exactly one error expected for {src:?}, got {e:#?}"
    );
    e[0].clone()
}

fn diags(src: &str) -> Vec<Diagnostic> {
    parse_file(0, src).expect_err("expected errors")
}

fn in_chain(body: &str) -> String {
    format!("program P {{ builtin noop; }}\nchain C {{\n{body}\n}}\n")
}

// ------------------------------------------------------------------ syntax

#[test]
fn missing_semicolon_names_what_was_expected_and_what_was_found() {
    assert_eq!(
        one_error(&in_chain("  step A program P\n  step B program P;")),
        "syntax@3:19: missing `;` at the end of this statement (found `step` at line 4, column 3)"
    );
    let d = &diags(&in_chain("  step A program P\n  step B program P;"))[0];
    assert_eq!(d.expected.as_deref(), Some("`;` or `with`"));
    assert_eq!(d.suggestion, None);
}

#[test]
fn misspelled_keywords_get_a_did_you_mean() {
    let src = in_chain("  rule when A SUCCEDED then START B;");
    assert_eq!(
        one_error(&src),
        "syntax@3:15: expected `ERROR_CODE`, `SUCCEEDED`, `FAILED`, `STOPPED`, `COMPLETED` or \
         `NOT`, found `SUCCEDED`"
    );
    assert_eq!(diags(&src)[0].suggestion.as_deref(), Some("SUCCEEDED"));

    let src = in_chain("  stpe A program P;");
    assert_eq!(
        one_error(&src),
        "syntax@3:3: expected `step`, `rule`, `comment`, `evaluation_interval` or `serialize`, found `stpe`"
    );
    assert_eq!(diags(&src)[0].suggestion.as_deref(), Some("step"));

    let src = in_chain("  rule when TRUE then STRAT A;");
    assert_eq!(
        one_error(&src),
        "syntax@3:23: expected an action: `START`, `STOP`, `END` or `AFTER HH:MM:SS START`, \
         found `STRAT`"
    );
    assert_eq!(diags(&src)[0].suggestion.as_deref(), Some("START"));

    let src = "job J { chain C; schedle 'x'; }";
    assert_eq!(diags(src)[0].suggestion.as_deref(), Some("schedule"));
    // A name where a keyword was expected is not a typo of a keyword.
    assert_eq!(
        diags(&in_chain("  rule when A SUCCEEDED B SUCCEEDED then END;"))[0].suggestion,
        None
    );
}

#[test]
fn messages_use_words_not_grammar_rule_names() {
    let cases = [
        (
            "chain C { step A programme P; }",
            "syntax@1:18: expected what the step runs: `program NAME`, `chain NAME` or `event \
             NAME`, found `programme`",
        ),
        (
            "chain C { step A program P with bogus; }",
            "syntax@1:33: expected a step attribute (`skip`, `pause`, `pause_before`, \
             `restart_on_recovery`, `restart_on_failure` or `timeout DURATION`), found `bogus`",
        ),
        (
            "chain C { rule when A SUCCEEDED B SUCCEEDED then END; }",
            "syntax@1:33: expected `then`, `AND` or `OR`, found `B`",
        ),
        (
            "chain C { rule when then END; }",
            "syntax@1:21: expected a condition such as `A SUCCEEDED`, found `then`",
        ),
        (
            "chain C { rule when :A.foo = 1 then END; }",
            "syntax@1:24: expected a step attribute: `state`, `completed`, `error_code`, \
             `start_date`, `end_date` or `duration`, found `foo`",
        ),
        (
            "chain C { rule when :A.duration > INTERVAL '1' WEEK then END; }",
            "syntax@1:48: expected a unit: `SECOND`, `MINUTE`, `HOUR` or `DAY`, found `WEEK`",
        ),
        (
            "chain C { rule when TRUE then START A comment 'x' }",
            "syntax@1:51: expected `;`, found `}`",
        ),
        (
            "chain C { rule 'x' when TRUE then END; }",
            "syntax@1:16: expected a rule name or `when`, found the string 'x'",
        ),
        (
            "program P { builtin sleep; }",
            "syntax@1:26: expected a duration like 30s, 5m, 1h30m or 01:30:00, found `;`",
        ),
        (
            "program P { builtin wait 5s; }",
            "syntax@1:21: expected a builtin: `noop`, `sleep DURATION` or `fail CODE`, found `wait`",
        ),
        (
            "job J { chain C; serialize DEPTNO; }",
            "syntax@1:28: expected `by`, found `DEPTNO`",
        ),
        (
            "group G { max_running; }",
            "syntax@1:22: expected an integer, found `;`",
        ),
        (
            "step A program P;",
            "syntax@1:1: expected a declaration (`program`, `chain`, `job`, `group`, `notify` or `schedule`), found \
             `step`",
        ),
        (
            "chain C { step A program P;",
            "syntax@1:28: expected `}`, `step`, `rule`, `comment`, `evaluation_interval` or `serialize`, found \
             the end of the file",
        ),
        (
            "chain C { step A event E where size >> 1; }",
            "syntax@1:38: expected a string or a number, found `>`",
        ),
        (
            "chain C { rule when A ERROR_CODE IN (1, x) then END; }",
            "syntax@1:41: expected an integer, found `x`",
        ),
    ];
    for (src, want) in cases {
        assert_eq!(one_error(src), want, "{src}");
    }
}

#[test]
fn unclosed_strings_and_quoted_names() {
    assert_eq!(
        one_error("program P { shell 'echo hi; }\nchain C { step A program P; }"),
        "syntax@1:19: this string is never closed: a `'` is missing"
    );
    assert_eq!(
        one_error("chain C { step \"A program P; }"),
        "syntax@1:16: this quoted name is never closed: a `\"` is missing"
    );
    assert_eq!(
        one_error("chain C { step \"\" program P; }"),
        "syntax@1:16: a quoted name cannot be empty"
    );
}

// ------------------------------------------------------------------ keyword-as-name

#[test]
fn keywords_cannot_be_used_unquoted_as_names() {
    let cases = [
        (
            "chain C { step START program P; }",
            "keyword-as-name@1:16: `START` is a keyword; write \"START\" to use it as a name",
        ),
        (
            "chain C { rule when TRUE then START end; }",
            "keyword-as-name@1:37: `END` is a keyword; write \"END\" to use it as a name",
        ),
        (
            "chain C { rule when Stop SUCCEEDED then END; }",
            "keyword-as-name@1:21: `STOP` is a keyword; write \"STOP\" to use it as a name",
        ),
        (
            "chain C { rule START when TRUE then END; }",
            "keyword-as-name@1:16: `START` is a keyword; write \"START\" to use it as a name",
        ),
        (
            "chain C { rule when TRUE then END AFTER.ERROR_CODE; }",
            "keyword-as-name@1:35: `AFTER` is a keyword; write \"AFTER\" to use it as a name",
        ),
        (
            "program Event { builtin noop; }",
            "keyword-as-name@1:9: `EVENT` is a keyword; write \"EVENT\" to use it as a name",
        ),
        (
            "group FINANCE.AND { }",
            "keyword-as-name@1:15: `AND` is a keyword; write \"AND\" to use it as a name",
        ),
        (
            "chain C { step W event E where end = 1; }",
            "keyword-as-name@1:32: `END` is a keyword; write \"END\" to use it as a name",
        ),
    ];
    for (src, want) in cases {
        assert_eq!(one_error(src), want, "{src}");
    }
    let d = &diags("chain C { step START program P; }")[0];
    assert_eq!(d.expected.as_deref(), Some("a step name"));
}

#[test]
fn a_keyword_where_something_else_is_missing_is_a_plain_syntax_error() {
    // The step name is missing; COMMENT is the rule's comment, not a step named COMMENT.
    assert_eq!(
        one_error("chain C { rule when TRUE then START comment 'x'; }"),
        "syntax@1:37: expected a step name, found `comment`"
    );
    // `when` is missing; THEN is not meant as the rule's name.
    assert_eq!(
        one_error("chain C { rule then START B; }"),
        "syntax@1:16: expected a rule name or `when`, found `then`"
    );
}

// ------------------------------------------------------------------ value errors

#[test]
fn identifier_too_long() {
    let long = "X".repeat(129);
    assert_eq!(
        one_error(&format!("chain C {{ step {long} program P; }}")),
        "identifier-too-long@1:16: this name is 129 characters long; names are at most 128"
    );
    let quoted = "q".repeat(200);
    assert_eq!(
        one_error(&format!("chain \"{quoted}\" {{ }}")),
        "identifier-too-long@1:7: this name is 200 characters long; names are at most 128"
    );
}

#[test]
fn bad_after() {
    let cases = [
        (
            "AFTER 30s START B",
            "bad-after@3:36: AFTER takes a time written HH:MM:SS (Oracle's form), not `30s`: \
             write AFTER 00:00:30",
        ),
        (
            "AFTER 1h30m START B",
            "bad-after@3:36: AFTER takes a time written HH:MM:SS (Oracle's form), not `1h30m`: \
             write AFTER 01:30:00",
        ),
        (
            "AFTER 00:60:00 START B",
            "bad-after@3:36: `00:60:00` is not a valid HH:MM:SS time: minutes and seconds are 00 \
             to 59, written with two digits",
        ),
        (
            "AFTER 00:00:75 START B",
            "bad-after@3:36: `00:00:75` is not a valid HH:MM:SS time: minutes and seconds are 00 \
             to 59, written with two digits",
        ),
        (
            "AFTER 1:2:3 START B",
            "bad-after@3:36: `1:2:3` is not a valid HH:MM:SS time: minutes and seconds are 00 to \
             59, written with two digits",
        ),
        (
            "AFTER 5 START B",
            "bad-after@3:36: AFTER takes a time written HH:MM:SS, like AFTER 00:30:00; found `5`",
        ),
    ];
    for (act, want) in cases {
        assert_eq!(
            one_error(&in_chain(&format!("  rule when A COMPLETED then {act};"))),
            want,
            "{act}"
        );
    }
    // AFTER with no time at all is a syntax error.
    assert_eq!(
        one_error(&in_chain("  rule when A COMPLETED then AFTER START B;")),
        "syntax@3:36: expected a time written HH:MM:SS, like 01:00:00, found `START`"
    );
}

#[test]
fn bad_duration() {
    let cases = [
        (
            "program P { builtin noop; timeout 5x; }",
            "1:35",
            "`5x` is not a duration",
        ),
        (
            "program P { builtin sleep bad; }",
            "1:27",
            "`bad` is not a duration",
        ),
        (
            "program P { builtin noop; timeout five; }",
            "1:35",
            "`five` is not a duration",
        ),
        (
            "program P { builtin sleep 1.5s; }",
            "1:27",
            "`1.5s` is not a duration",
        ),
        (
            "chain C { evaluation_interval 10:99:00; }",
            "1:31",
            "`10:99:00` is not a duration; in HH:MM:SS, minutes and seconds are 00 to 59",
        ),
        (
            "job J { chain C; max_run_duration 4hours; }",
            "1:35",
            "`4hours` is not a duration",
        ),
        (
            "chain C { step A program P with restart_on_failure(delay 3w); }",
            "1:58",
            "`3w` is not a duration",
        ),
        (
            "chain C { rule when :A.duration > INTERVAL '1.5' HOUR then END; }",
            "1:44",
            "INTERVAL takes a whole number in quotes, like INTERVAL '5' MINUTE; found '1.5'",
        ),
        (
            "chain C { rule when :A.end_date < SYSDATE - INTERVAL '' DAY then END; }",
            "1:54",
            "INTERVAL takes a whole number in quotes, like INTERVAL '5' MINUTE; found ''",
        ),
    ];
    for (src, pos, msg) in cases {
        assert_eq!(
            one_error(src),
            format!("bad-duration@{pos}: {msg}"),
            "{src}"
        );
    }
    let d = &diags("program P { builtin noop; timeout 5x; }")[0];
    assert_eq!(
        d.expected.as_deref(),
        Some("a duration like 500ms, 30s, 5m, 2h, 1d, 1h30m or 01:30:00")
    );
}

#[test]
fn bad_end() {
    let cases = [
        ("END A.STATE", "3:34", "`A.STATE`"),
        ("END FOO", "3:34", "`FOO`"),
        ("END 'x'", "3:34", "`'x'`"),
        ("END 1.5", "3:34", "`1.5`"),
    ];
    for (act, pos, found) in cases {
        assert_eq!(
            one_error(&in_chain(&format!("  rule when A COMPLETED then {act};"))),
            format!(
                "bad-end@{pos}: END takes nothing, an integer (END 3) or a step's error code \
                 (END LOAD.ERROR_CODE); found {found}"
            ),
            "{act}"
        );
    }
    assert_eq!(
        one_error(&in_chain(
            "  rule when A COMPLETED then END A.ERROR_CODE.X;"
        )),
        "syntax@3:46: expected `;` or `comment`, found `.`"
    );
    // END followed by the rule's comment is a plain END.
    parse_file(
        0,
        &in_chain("  step A program P;\n  rule when A COMPLETED then END comment 'done';"),
    )
    .expect("END comment parses");
}

#[test]
fn bad_attribute() {
    let cases = [
        (
            "chain C { step A program P with restart_on_failure(retries -1); }",
            "bad-attribute@1:52: `retries -1`: the number of retries cannot be negative",
        ),
        (
            "chain C { step A program P with restart_on_failure(backoff 0); }",
            "bad-attribute@1:52: `backoff 0`: the backoff factor must be greater than 0",
        ),
        (
            "chain C { step A program P with restart_on_failure(backoff -2.5); }",
            "bad-attribute@1:52: `backoff -2.5`: the backoff factor must be greater than 0",
        ),
        (
            "chain C { step A program P with restart_on_failure(retries 1, retries 2); }",
            "bad-attribute@1:63: `retries` is given twice",
        ),
        (
            "chain C { step A program P with skip, pause, skip; }",
            "bad-attribute@1:46: the attribute `skip` is given twice",
        ),
        (
            "chain C { step A program P with restart_on_failure, restart_on_failure(retries 1); }",
            "bad-attribute@1:53: the attribute `restart_on_failure` is given twice",
        ),
        (
            "program P { builtin fail 0; }",
            "bad-attribute@1:26: `fail 0`: the error code of a failure must be 1 or more",
        ),
        (
            "program P { builtin noop; timeout 0s; }",
            "bad-attribute@1:35: a timeout must be longer than 0",
        ),
        (
            "program P { builtin noop; timeout 1s; timeout 2s; }",
            "bad-attribute@1:39: `timeout` is given twice",
        ),
        (
            "program P { builtin noop; environment A = '1'; environment A = '2'; }",
            "bad-attribute@1:60: environment variable A is given twice",
        ),
        (
            "chain C { comment 'a'; comment 'b'; }",
            "bad-attribute@1:24: the chain's `comment` is given twice",
        ),
        (
            "chain C { evaluation_interval 0s; }",
            "bad-attribute@1:31: an evaluation_interval must be longer than 0",
        ),
        (
            "job J { chain C; chain D; }",
            "bad-attribute@1:18: the job's `chain` is given twice",
        ),
        (
            "job J { chain C; parameters A = '1', a = '2'; }",
            "bad-attribute@1:38: the parameter A is given twice",
        ),
        (
            "job J { chain C; restartable; restartable; }",
            "bad-attribute@1:31: `restartable` is given twice",
        ),
        (
            "job J { chain C; max_runs 0; }",
            "bad-attribute@1:18: `max_runs 0`: the count must be at least 1",
        ),
        (
            "job J { chain C; max_failures 1; max_failures 2; }",
            "bad-attribute@1:34: `max_failures` is given twice",
        ),
        (
            "job J { chain C; time_zone 'UTC'; time_zone 'UTC'; }",
            "bad-attribute@1:35: `time_zone` is given twice",
        ),
        (
            "job J { chain C; enabled true; enabled false; }",
            "bad-attribute@1:32: `enabled` is given twice",
        ),
        (
            "group G { max_running -1; }",
            "bad-attribute@1:11: `max_running -1`: a group allows 0 running jobs (disabled: its jobs wait ENQUEUED) or more",
        ),
        (
            "group G { max_running 1; max_running 2; }",
            "bad-attribute@1:26: `max_running` is given twice",
        ),
    ];
    for (src, want) in cases {
        assert_eq!(one_error(src), want, "{src}");
    }
}

#[test]
fn program_kind() {
    assert_eq!(
        one_error("program P {\n  executable '/bin/true';\n  shell 'true';\n}"),
        "program-kind@3:3: this program already has `executable`; a program has exactly one of \
         `executable`, `shell`, `handler` or `builtin`"
    );
    assert_eq!(
        one_error("program P { builtin noop; builtin noop; }"),
        "program-kind@1:27: `builtin` is given twice; a program runs exactly one thing"
    );
    assert_eq!(
        one_error("program NOTHING { timeout 5s; }"),
        "program-kind@1:9: program NOTHING does not say what to run: it needs one of \
         `executable`, `shell`, `handler` or `builtin`"
    );
    assert_eq!(
        one_error("program EMPTY { }"),
        "program-kind@1:9: program EMPTY does not say what to run: it needs one of \
         `executable`, `shell`, `handler` or `builtin`"
    );
}

#[test]
fn not_needs_parens() {
    let cases = [
        (
            "rule when NOT A SUCCEEDED then END;",
            "not-needs-parens@3:13: NOT must be followed by a parenthesis: write `NOT (A \
             SUCCEEDED)`, not `NOT A SUCCEEDED`",
        ),
        (
            "rule when A COMPLETED AND not :A.state = 'FAILED' then END;",
            "not-needs-parens@3:29: NOT must be followed by a parenthesis: write `NOT \
             (:A.state = 'FAILED')`, not `NOT :A.state = 'FAILED'`",
        ),
        (
            "rule when NOT NOT (A SUCCEEDED) then END;",
            "not-needs-parens@3:17: NOT must be followed by a parenthesis, as in `NOT (A \
             SUCCEEDED)`; found `NOT`",
        ),
        (
            "rule when NOT then END;",
            "not-needs-parens@3:17: NOT must be followed by a parenthesis, as in `NOT (A \
             SUCCEEDED)`; found `then`",
        ),
        (
            "step W event E where NOT size > 0;",
            "not-needs-parens@3:24: NOT must be followed by a parenthesis: write `NOT (size > \
             0)`, not `NOT size > 0`",
        ),
    ];
    for (body, want) in cases {
        assert_eq!(one_error(&in_chain(&format!("  {body}"))), want, "{body}");
    }
    // NOT after the step name is Oracle's chain syntax, not the NOT operator.
    parse_file(
        0,
        &in_chain("  rule when A NOT SUCCEEDED AND A ERROR_CODE NOT IN (1) then END;"),
    )
    .expect("A NOT SUCCEEDED is valid");
}

#[test]
fn bad_integer() {
    assert_eq!(
        one_error("chain C { rule when A ERROR_CODE = 9223372036854775808 then END; }"),
        "bad-integer@1:36: the integer 9223372036854775808 is out of range (integers are \
         between -9223372036854775808 and 9223372036854775807)"
    );
    assert_eq!(
        one_error("chain C { rule when TRUE then END -99999999999999999999; }"),
        "bad-integer@1:35: the integer -99999999999999999999 is out of range (integers are \
         between -9223372036854775808 and 9223372036854775807)"
    );
    // The extremes themselves are fine.
    parse_file(
        0,
        "chain C { rule when A ERROR_CODE IN (9223372036854775807, -9223372036854775808) then END; }",
    )
    .expect("i64 extremes parse");
}

#[test]
fn too_deep_and_too_complex() {
    let deep = format!("{}A SUCCEEDED{}", "(".repeat(201), ")".repeat(201));
    assert_eq!(
        one_error(&format!("chain C {{ rule when {deep} then END; }}")),
        "too-deep@1:221: parentheses nest more than 200 levels deep"
    );
    let ok = format!("{}A SUCCEEDED{}", "(".repeat(200), ")".repeat(200));
    if let Err(e) = parse_file(0, &format!("chain C {{ rule when {ok} then END; }}")) {
        panic!("200 levels parse: {e:?}");
    }

    let many = vec!["A SUCCEEDED"; 1001].join(" AND ");
    assert_eq!(
        one_error(&format!("chain C {{ rule when {many} then END; }}")),
        "too-complex@1:21: this condition joins 1001 predicates; at most 1000 are allowed (split \
         the rule)"
    );
    let fine = vec!["A SUCCEEDED"; 1000].join(" OR ");
    parse_file(0, &format!("chain C {{ rule when {fine} then END; }}")).expect("1000 parse");
    // A parenthesised group is not a predicate of its own: 500 groups of 2 are 1000.
    let grouped = vec!["(A FAILED AND A ERROR_CODE != 1)"; 500].join(" OR ");
    parse_file(0, &format!("chain C {{ rule when {grouped} then END; }}"))
        .expect("500 groups of 2 parse");
}

// ------------------------------------------------------------------ collecting every error

#[test]
fn every_error_in_a_file_is_reported() {
    let src = "program P { builtin noop; timeout 5x; }\n\
               chain C {\n\
               \x20 stpe A program P;\n\
               \x20 step B program P with skip skip;\n\
               \x20 rule when NOT B SUCCEEDED then START B;\n\
               \x20 rule R2 when B SUCCEEDED then AFTER 10s START B;\n\
               }\n\
               job J { chain C; schedle 'x'; }\n\
               group G { max_running -1; }\n";
    assert_eq!(
        errors(src),
        [
            "bad-duration@1:35: `5x` is not a duration",
            "syntax@3:3: expected `step`, `rule`, `comment`, `evaluation_interval` or `serialize`, found `stpe`",
            "syntax@4:30: expected `;` or `,`, found `skip`",
            "not-needs-parens@5:13: NOT must be followed by a parenthesis: write `NOT (B \
             SUCCEEDED)`, not `NOT B SUCCEEDED`",
            "bad-after@6:39: AFTER takes a time written HH:MM:SS (Oracle's form), not `10s`: \
             write AFTER 00:00:10",
            "syntax@8:18: expected a job setting (`chain`, `group`, `schedule`, `parameters`, \
             `serialize by`, `restartable`, `max_run_duration`, `start_date`, `end_date`, `time_zone`, `enabled`, `max_runs`, `max_failures`, `comment` or `on event`), found `schedle`",
            "bad-attribute@9:11: `max_running -1`: a group allows 0 running jobs (disabled: its jobs wait ENQUEUED) or more",
        ]
    );
}

#[test]
fn parsing_resumes_after_a_missing_closing_brace() {
    let src = "chain C {\n  step A program P;\nchain D {\n  step B programm P;\n}\n";
    assert_eq!(
        errors(src),
        [
            "syntax@3:1: expected `}`, `step`, `rule`, `comment`, `evaluation_interval` or `serialize`, \
             found `chain`",
            "syntax@4:10: expected what the step runs: `program NAME`, `chain NAME` or `event \
             NAME`, found `programm`",
        ]
    );
}

#[test]
fn garbage_between_declarations_is_reported_once() {
    let src = "step A program P;\nstep B program P;\nrule when TRUE then END;\n\
               program P { bogus; }\n";
    assert_eq!(
        errors(src),
        [
            "syntax@1:1: expected a declaration (`program`, `chain`, `job`, `group`, `notify` or `schedule`), found \
             `step`",
            "syntax@4:13: expected a program setting (`executable`, `shell`, `handler`, \
             `builtin`, `arguments`, `environment`, `working_directory` or `timeout`), found \
             `bogus`",
        ]
    );
}

#[test]
fn a_file_with_errors_returns_no_ast_and_sorted_diagnostics() {
    let src = "group G { max_running -1; }\nprogram P { builtin noop; }\nchain C { step A program P with skip, skip; }";
    let d = diags(src);
    assert_eq!(d.len(), 2);
    assert!(d.windows(2).all(|w| w[0].span.start <= w[1].span.start));
    assert!(d.iter().all(|d| d.is_error()));
}

#[test]
fn standalone_condition_and_action_errors() {
    let mut sm = SourceMap::default();
    let id = sm.add("define_rule", "A SUCCEEDED AND");
    let e = parse_condition(id, "A SUCCEEDED AND").expect_err("incomplete");
    assert_eq!(
        line(&e[0], &sm),
        "syntax@1:16: expected a condition such as `A SUCCEEDED`, found the end of the condition"
    );
    let e = parse_condition(0, "A SUCCEEDED then").expect_err("trailing");
    assert_eq!(
        e[0].message,
        "expected `AND`, `OR` or the end of the condition, found `then`"
    );
    let e = parse_condition(0, "NOT A FAILED").expect_err("NOT");
    assert_eq!(e[0].code, "not-needs-parens");
    let e = parse_action(0, "AFTER 5m START B").expect_err("AFTER");
    assert_eq!(e[0].code, "bad-after");
    let e = parse_action(0, "BEGIN B").expect_err("verb");
    assert_eq!(
        e[0].message,
        "expected an action: `START`, `STOP`, `END` or `AFTER HH:MM:SS START`, found `BEGIN`"
    );
    let e = parse_action(0, "START B;").expect_err("semicolon");
    assert_eq!(
        e[0].message,
        "expected `,` or the end of the action, found `;`"
    );
    let e = parse_action(0, "START end").expect_err("keyword");
    assert_eq!(e[0].code, "keyword-as-name");
}

#[test]
fn rendered_diagnostics_show_the_line_and_a_caret() {
    let src = "chain C {\n  rule when A SUCCEDED then END;\n}\n";
    let mut sm = SourceMap::default();
    let id = sm.add("loan.chain", src);
    let d = parse_file(id, src).expect_err("typo");
    let text = render_text(&d[0], &sm);
    assert!(text.contains("error[syntax]: expected"), "{text}");
    assert!(text.contains("--> loan.chain:2:15"), "{text}");
    assert!(
        text.contains("2 |   rule when A SUCCEDED then END;"),
        "{text}"
    );
    assert!(text.contains("|               ^^^^^^^^\n"), "{text}");
    assert!(text.contains("= help: did you mean SUCCEEDED?"), "{text}");
}

// ------------------------------------------------------------------ SQL conditions

fn in_rule(cond: &str) -> String {
    one_error(&format!("chain C {{ rule when {cond} then END; }}"))
}

#[test]
fn sql_constructs_that_are_not_supported_are_named() {
    let cases = [
        (
            "EXISTS (SELECT 1 FROM t)",
            "unsupported-sql@1:21: a subquery (EXISTS (SELECT …)) is not supported",
        ),
        (
            "NOT EXISTS (SELECT 1 FROM t)",
            "unsupported-sql@1:25: a subquery (EXISTS (SELECT …)) is not supported",
        ),
        (
            ":A.error_code IN (SELECT c FROM t)",
            "unsupported-sql@1:38: a subquery (SELECT …) is not supported",
        ),
        (
            ":A.error_code = (SELECT MAX(c) FROM t)",
            "unsupported-sql@1:37: a subquery (SELECT …) is not supported",
        ),
        (
            "CAST(:A.error_code AS VARCHAR2(5)) = '1'",
            "unsupported-sql@1:21: CAST is not supported",
        ),
        (
            ":A.error_code = ANY (1, 2)",
            "unsupported-sql@1:37: a comparison with ANY (…) is not supported",
        ),
        (
            ":A.error_code > ALL (SELECT c FROM t)",
            "unsupported-sql@1:37: a comparison with ALL (…) is not supported",
        ),
        (
            "COUNT(*) > 1",
            "unsupported-sql@1:21: the aggregate function COUNT is not supported",
        ),
        (
            ":A.duration > INTERVAL '1' MONTH",
            "unsupported-sql@1:48: a year-to-month INTERVAL (MONTH) is not supported",
        ),
        (
            "EXTRACT(TIMEZONE_HOUR FROM SYSTIMESTAMP) = 0",
            "unsupported-sql@1:29: EXTRACT(TIMEZONE_HOUR) is not supported",
        ),
    ];
    for (cond, want) in cases {
        let got = in_rule(cond);
        assert!(got.starts_with(want), "{cond}\n got: {got}\nwant: {want}");
        assert!(
            got.contains("chain rule conditions"),
            "{cond}: says where: {got}"
        );
    }
    // The expected text lists what is supported, functions included.
    let d = &diags("chain C { rule when EXISTS (SELECT 1 FROM t) then END; }")[0];
    let expected = d.expected.as_deref().unwrap_or("");
    for form in ["BETWEEN", "LIKE", "CASE", "NVL", "TO_DATE", "EXTRACT"] {
        assert!(expected.contains(form), "{expected}");
    }
}

#[test]
fn sql_names_functions_and_arguments_are_checked() {
    let cases = [
        ("NVLL(:A.error_code, 0) = 0", "unknown-function@1:21: unknown function NVLL"),
        ("regexp_like(:A.state, 'x') = 1", "unknown-function@1:21: unknown function REGEXP_LIKE"),
        ("status = 'X'", "bare-name@1:21: `status` is not a value here"),
        ("A.error_code = 1", "bare-name@1:21: `A.error_code` is not a value: a step's attribute is written with a colon, `:A.error_code`"),
        ("NVL(:A.error_code) = 0", "bad-argument@1:21: NVL takes 2 arguments; found 1"),
        ("SUBSTR(:A.state) = 'X'", "bad-argument@1:21: SUBSTR takes 2 to 3 arguments; found 1"),
        ("COALESCE(:A.state) = 'X'", "bad-argument@1:21: COALESCE takes at least 2 arguments; found 1"),
        ("TO_DATE('2024', 'YYYY-MM-ZZ') = SYSDATE", "bad-argument@1:37: date format not recognized"),
        ("TO_DATE('2024', 'YYYY Q') = SYSDATE", "bad-argument@1:37: format code cannot appear in date input format"),
        ("TO_DATE('1.5', 'SS.FF') = SYSDATE", "bad-argument@1:36: date format not recognized: FF (fractions of a second) needs TO_TIMESTAMP"),
        ("TO_NUMBER('1', '9X') = 1", "bad-argument@1:36: invalid number format model '9X'"),
        ("TO_CHAR(1, '9X') = '1'", "bad-argument@1:32: invalid number format model '9X'"),
        ("TRUNC(SYSDATE, 'XX') = SYSDATE", "bad-argument@1:36: bad precision specifier 'XX'"),
        ("NUMTODSINTERVAL(1, 'WEEK') > :A.duration", "bad-argument@1:40: NUMTODSINTERVAL takes 'DAY', 'HOUR', 'MINUTE' or 'SECOND'"),
        ("EXTRACT(MINUTE FROM TRUNC(SYSDATE)) = 0", "bad-argument@1:41: EXTRACT(MINUTE FROM …) needs a TIMESTAMP or an INTERVAL"),
        ("EXTRACT(YEAR FROM :A.duration) = 0", "bad-argument@1:39: EXTRACT(YEAR FROM …) of a day-to-second INTERVAL"),
        ("EXTRACT(YEAR FROM 'x') = 0", "bad-argument@1:39: EXTRACT takes a DATE, a TIMESTAMP or an INTERVAL"),
        ("TRIM('ab' FROM :A.state) = 'X'", "bad-argument@1:26: TRIM removes one character; 'ab' has 2"),
        (":A.state LIKE 'x' ESCAPE '!!'", "bad-argument@1:46: the escape character must be one character"),
        (":A.end_date > TIMESTAMP '2024-02-30 00:00:00'", "bad-literal@1:45: TIMESTAMP takes 'YYYY-MM-DD HH24:MI:SS[.FF]'; found '2024-02-30 00:00:00': date not valid for month specified"),
        (":A.end_date > DATE '2024-1-5'", "bad-literal@1:40: DATE takes 'YYYY-MM-DD'; found '2024-1-5'"),
        ("NVL(:A.error_code, 0)", "not-a-condition@1:21: `NVL(:A.error_code, 0)` is a value, not a condition"),
        ("(A SUCCEEDED) + 1 = 2", "condition-as-value@1:22: a condition cannot be used as a value"),
        (":A.duration > INTERVAL '1:75' HOUR TO MINUTE", "bad-duration@1:44: INTERVAL '…' HOUR TO MINUTE takes 'HH:MI'"),
        (":A.duration > INTERVAL '1' SECOND TO MINUTE", "bad-duration@1:58: in INTERVAL '…' A TO B, B must be a smaller unit than A"),
        (":A.duration > INTERVAL '1.5' MINUTE", "bad-duration@1:44: INTERVAL takes a whole number in quotes"),
        ("NVL(:A.error_code, ) = 0", "syntax@1:40: expected a value"),
    ];
    for (cond, want) in cases {
        let got = in_rule(cond);
        assert!(got.starts_with(want), "{cond}\n got: {got}\nwant: {want}");
    }
    // The nearest function is suggested.
    let d = &diags("chain C { rule when TO_DATA('x') = SYSDATE then END; }")[0];
    assert_eq!(d.suggestion.as_deref(), Some("TO_DATE"));
}

#[test]
fn too_many_sql_operators() {
    let sum = vec!["1"; 258].join(" + ");
    let got = in_rule(&format!("{sum} = 1"));
    assert!(
        got.starts_with("too-complex@") && got.contains("more than 256 operators"),
        "{got}"
    );
    let fine = vec!["1"; 257].join(" + ");
    parse_file(
        0,
        &format!("chain C {{ rule when {fine} = 257 then END; }}"),
    )
    .expect("256 parse");
}

// ------------------------------------------------------------------ the bad fixtures

#[test]
fn each_syntax_fixture_produces_exactly_its_diagnostic() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/bad");
    let mut seen = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("fixtures/bad exists")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("syntax_") && n.ends_with(".chain"))
        })
        .collect();
    entries.sort();
    for path in entries {
        let src = std::fs::read_to_string(&path).expect("readable fixture");
        let first = src.lines().next().unwrap_or("");
        let code = first
            .strip_prefix("-- expect: ")
            .unwrap_or_else(|| panic!("{}: first line must be `-- expect: <code>`", path.display()))
            .trim();
        let d = parse_file(0, &src)
            .err()
            .unwrap_or_else(|| panic!("{} parsed without error", path.display()));
        let codes: Vec<&str> = d.iter().map(|d| d.code).collect();
        assert_eq!(codes, [code], "{}: {d:#?}", path.display());
        seen.push(code.to_string());
    }
    for code in [
        "syntax",
        "keyword-as-name",
        "identifier-too-long",
        "bad-after",
        "bad-duration",
        "bad-end",
        "bad-attribute",
        "program-kind",
        "not-needs-parens",
        "bad-integer",
        "too-deep",
        "too-complex",
        "unknown-function",
        "unsupported-sql",
        "bare-name",
        "bad-argument",
        "bad-literal",
        "not-a-condition",
        "condition-as-value",
    ] {
        assert!(
            seen.iter().any(|s| s == code),
            "no fixtures/bad/syntax_*.chain for {code}"
        );
    }
}

// ------------------------------------------------------------------ through the binary

/// What an operator sees: `chainsched check` on a file with three typos reports all three,
/// each with file:line:column, and exits 1.
#[test]
fn check_reports_every_typo_of_a_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("loan.chain");
    std::fs::write(
        &path,
        "program P { builtin noop; }\n\
         chain LOAN {\n\
         \x20 step A program P;\n\
         \x20 step B program P wiht skip;\n\
         \x20 rule R1 when TRUE then START A;\n\
         \x20 rule R2 when A SUCCEDED then START B;\n\
         \x20 rule R3 when B COMPLETED then AFTER 5m START A;\n\
         }\n",
    )
    .expect("write rule file");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chainsched"))
        .arg("check")
        .arg(&path)
        .output()
        .expect("run chainsched check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let all = format!("{stdout}{stderr}");
    assert_eq!(out.status.code(), Some(1), "{all}");
    for (code, place) in [
        ("syntax", "loan.chain:4:20"),
        ("syntax", "loan.chain:6:18"),
        ("bad-after", "loan.chain:7:39"),
    ] {
        assert!(
            all.contains(&format!("error[{code}]")),
            "{code} missing in:\n{all}"
        );
        assert!(all.contains(place), "{place} missing in:\n{all}");
    }
    assert!(all.contains("did you mean SUCCEEDED?"), "{all}");
    assert!(all.contains("write AFTER 00:05:00"), "{all}");
}

/// Job attributes the catalog checks: time zones, dates, named schedules, and a job that is
/// both time- and event-based.
#[test]
fn job_attributes_are_checked_against_the_time_zone_database_and_the_catalog() {
    let base = "program P { builtin noop; }\nchain C { step A program P; rule when TRUE then START A; rule when A COMPLETED then END; }\n";
    let errors = |job: &str| -> Vec<String> {
        let loaded =
            chainsched::catalog::load_sources(&[("t.chain".to_string(), format!("{base}{job}"))]);
        loaded
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| format!("{}: {}", d.code, d.message))
            .collect()
    };
    assert_eq!(
        errors("job J { chain C; schedule 'FREQ=DAILY'; time_zone 'Mars/Olympus'; }"),
        ["bad-attribute: `time_zone` of job J: `Mars/Olympus` is not a time zone of the time-zone database (an IANA name such as Europe/Paris or America/New_York, UTC, or an offset such as +02:00)"]
    );
    assert_eq!(
        errors("job J { chain C; schedule 'FREQ=DAILY'; start_date '2026-02-30'; }"),
        ["bad-attribute: `start_date` of job J: `2026-02-30` is not a date and time YYYY-MM-DD [HH:MI[:SS]] (such as 2026-03-29 09:00)"]
    );
    assert_eq!(
        errors("job J { chain C; start_date '2026-03-01'; end_date '2026-01-01'; }"),
        ["bad-attribute: `end_date` of job J: the end date is not after the start date"]
    );
    assert_eq!(
        errors("job J { chain C; schedule 'FREQ=DAILY'; start_date '2026-01-01'; end_date '2026-01-01 00:00:01'; }"),
        Vec::<String>::new(),
        "the start date itself is an occurrence"
    );
    assert_eq!(
        errors("job J { chain C; schedule 'FREQ=DAILY;BYHOUR=9'; start_date '2026-01-01 10:00'; end_date '2026-01-01 12:00'; }"),
        ["bad-schedule: the schedule of job J never fires: its next occurrence is after the end date"]
    );
    assert_eq!(
        errors("job J { chain C; schedule 'FREQ=DAILY;EXCLUDE=HOLIDAY'; }"),
        ["bad-schedule: invalid schedule of job J: unknown named schedule HOLIDAY"]
    );
    assert_eq!(
        errors(
            "schedule HOLIDAYS 'FREQ=YEARLY;BYDATE=0230';\njob J { chain C; schedule HOLIDAYS; }"
        ),
        [
            "bad-schedule: invalid schedule HOLIDAYS: `0230` is not a date",
            "bad-schedule: invalid schedule of job J: in schedule HOLIDAYS: `0230` is not a date"
        ]
    );
    assert_eq!(
        errors("schedule S 'FREQ=DAILY';\nschedule S 'FREQ=WEEKLY';"),
        ["duplicate-schedule: schedule S is declared twice"]
    );
    assert_eq!(
        errors("job J { chain C; schedule 'FREQ=DAILY'; on event GO; }"),
        ["bad-attribute: job J has both a schedule and `on event GO`"]
    );
}
