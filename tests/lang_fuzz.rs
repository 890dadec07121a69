//! Robustness: the parser never panics (nor overflows its stack) on any input, its errors
//! always point inside the text, an error result is never empty, and the condition text it
//! records for a rule parses back to the same condition.
//!
//! Inputs: random bytes, random sequences of the language's own tokens (which reach deep into
//! the grammar far more often than random bytes), and random mutations (delete, insert,
//! duplicate, swap chunks) of a valid file. Case counts are modest so this runs in seconds.

use chainsched::lang::ast::{File, Item};
use chainsched::lang::parser::{parse_action, parse_condition, parse_file};
use proptest::prelude::*;

const VALID: &str = r#"
program LOAD { executable '/bin/load'; arguments '--date' '${RUN_DATE}'; environment A = 'x'; timeout 2h; }
program NAP { builtin sleep 500ms; }
program BAD { builtin fail 20100; }
chain LOAN -- comment
{
    comment 'it''s a loan';
    evaluation_interval 01:00:00;
    step VALIDATE program LOAD with restart_on_failure(retries 3, delay 30s, backoff 2);
    step "wait" event FILE where file = 'a.csv' AND NOT (size IS NULL) OR n IN (1, 2.5);
    step FUND chain FUNDING with pause, skip;
    rule START_IT when TRUE then START VALIDATE;
    rule when VALIDATE SUCCEEDED AND :VALIDATE.duration < INTERVAL '5' MINUTE then AFTER 00:00:10 START "wait", FUND;
    rule when VALIDATE ERROR_CODE NOT IN (1, 2) OR NOT (FUND COMPLETED) then STOP FUND;
    rule LAST when :FUND.end_date > SYSTIMESTAMP - INTERVAL '1' HOUR OR 1=1 then END FUND.ERROR_CODE comment 'done';
    rule SQL when NVL(:VALIDATE.error_code, 0) BETWEEN 1 AND 9 AND :FUND.state NOT LIKE 'S%' ESCAPE '\'
        AND CASE WHEN FUND FAILED THEN -1.5 ELSE TRUNC(SYSDATE - :FUND.end_date) END * 2 >= 0
        AND TO_CHAR(SYSDATE, 'DY') || TRIM(LEADING '0' FROM '007') IN ('MON7', 'TUE7')
        AND EXTRACT(HOUR FROM SYSTIMESTAMP) < 23 then STOP FUND;
}
group G.H { max_running 2; }
job J { chain LOAN; group G.H; schedule 'FREQ=DAILY'; parameters RUN_DATE = 'today'; serialize by RUN_DATE; restartable; max_run_duration 4h; }
"#;

const TOKENS: &[&str] = &[
    "program",
    "chain",
    "job",
    "group",
    "step",
    "rule",
    "event",
    "when",
    "then",
    "with",
    "where",
    "comment",
    "TRUE",
    "FALSE",
    "NOT",
    "AND",
    "OR",
    "SUCCEEDED",
    "FAILED",
    "STOPPED",
    "COMPLETED",
    "ERROR_CODE",
    "IN",
    "IS",
    "NULL",
    "INTERVAL",
    "SYSTIMESTAMP",
    "SYSDATE",
    "AFTER",
    "START",
    "STOP",
    "END",
    "executable",
    "shell",
    "builtin",
    "noop",
    "sleep",
    "fail",
    "skip",
    "pause",
    "restart_on_failure",
    "retries",
    "delay",
    "backoff",
    "max_running",
    "parameters",
    "serialize",
    "by",
    "MINUTE",
    "A",
    "B",
    "\"q\"",
    "'s'",
    "''",
    "1",
    "-7",
    "2.5",
    "30s",
    "01:00:00",
    "00:99:00",
    "99999999999999999999",
    ":A.state",
    ":B.duration",
    "A.ERROR_CODE",
    "{",
    "}",
    "(",
    ")",
    ";",
    ",",
    ".",
    "=",
    "!=",
    "<>",
    "<",
    ">=",
    "--x\n",
    "#c\n",
    "\n",
    " ",
    "'",
    "\"",
    "é",
    "\u{FEFF}",
    "LIKE",
    "ESCAPE",
    "BETWEEN",
    "CASE",
    "ELSE",
    "EXTRACT",
    "HOUR",
    "FROM",
    "TRIM",
    "LEADING",
    "DATE",
    "TIMESTAMP",
    "TO",
    "NVL",
    "DECODE(",
    "TO_DATE(",
    "SUBSTR(",
    "SELECT",
    "EXISTS",
    "CAST(",
    "+",
    "-",
    "*",
    "/",
    "||",
    ".5",
    "1e3",
    "'YYYY-MM-DD'",
    "'%_'",
    "'1 12:00:00'",
    "DAY",
    "SECOND",
];

/// Every diagnostic must point inside the text, on character boundaries.
fn check_result(text: &str, r: &Result<File, Vec<chainsched::lang::Diagnostic>>) {
    match r {
        Ok(f) => check_round_trip(f),
        Err(diags) => {
            assert!(!diags.is_empty(), "Err without a diagnostic for {text:?}");
            for d in diags {
                assert!(
                    d.span.start <= d.span.end && d.span.end <= text.len(),
                    "span {:?} outside {} bytes for {text:?}",
                    d.span,
                    text.len()
                );
                assert!(text.is_char_boundary(d.span.start) && text.is_char_boundary(d.span.end));
                assert!(!d.message.is_empty());
                assert!(
                    !d.message.contains("kw_") && !d.message.contains("_stmt"),
                    "grammar rule name in message: {}",
                    d.message
                );
            }
        }
    }
}

/// The recorded condition/action texts parse back to the same tree (spans aside).
fn check_round_trip(f: &File) {
    for item in &f.items {
        if let Item::Chain(c) = item {
            for r in &c.rules {
                let again = parse_condition(0, &r.condition_text)
                    .unwrap_or_else(|e| panic!("{:?} does not reparse: {e:?}", r.condition_text));
                assert_eq!(shape(&again), shape(&r.condition), "{}", r.condition_text);
                let again = parse_action(0, &r.action_text)
                    .unwrap_or_else(|e| panic!("{:?} does not reparse: {e:?}", r.action_text));
                assert_eq!(shape(&again), shape(&r.action), "{}", r.action_text);
            }
        }
    }
}

/// A tree as JSON with every `span` removed.
fn shape<T: serde::Serialize>(t: &T) -> serde_json::Value {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.remove("span");
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => {
                // `Const(bool, Span)`, `Num(i64, Span)`, ...: drop the span element.
                a.retain(|x| {
                    !(x.is_object() && x.get("file").is_some() && x.get("start").is_some())
                });
                a.iter_mut().for_each(strip);
            }
            _ => {}
        }
    }
    let mut v = serde_json::to_value(t).expect("AST serialises");
    strip(&mut v);
    v
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    Duplicate(usize, usize),
    Swap(usize, usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let n = VALID.len();
    let token_bytes = prop::sample::select(TOKENS).prop_map(|t| t.as_bytes().to_vec());
    prop_oneof![
        (0..n, 1..40usize).prop_map(|(a, l)| Mutation::Delete(a, l)),
        (
            0..n,
            prop_oneof![token_bytes, prop::collection::vec(any::<u8>(), 1..8)]
        )
            .prop_map(|(a, b)| Mutation::Insert(a, b)),
        (0..n, 1..60usize).prop_map(|(a, l)| Mutation::Duplicate(a, l)),
        (0..n, 0..n, 1..30usize).prop_map(|(a, b, l)| Mutation::Swap(a, b, l)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len();
    if len == 0 {
        return;
    }
    match m {
        Mutation::Delete(a, l) => {
            let a = (*a).min(len);
            let b = (a + l).min(len);
            bytes.drain(a..b);
        }
        Mutation::Insert(a, ins) => {
            let a = (*a).min(len);
            bytes.splice(a..a, ins.iter().copied());
        }
        Mutation::Duplicate(a, l) => {
            let a = (*a).min(len);
            let b = (a + l).min(len);
            let chunk: Vec<u8> = bytes[a..b].to_vec();
            bytes.splice(b..b, chunk);
        }
        Mutation::Swap(a, b, l) => {
            let (a, b) = ((*a).min(*b).min(len), (*a).max(*b).min(len));
            let l = (*l).min(b - a).min(len - b);
            if l > 0 {
                let first: Vec<u8> = bytes[a..a + l].to_vec();
                let second: Vec<u8> = bytes[b..b + l].to_vec();
                bytes.splice(b..b + l, first);
                bytes.splice(a..a + l, second);
            }
        }
    }
}

#[test]
fn the_valid_seed_file_parses_and_round_trips() {
    let r = parse_file(0, VALID);
    assert!(r.is_ok(), "{r:?}");
    check_result(VALID, &r);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let r = parse_file(0, &text);
        check_result(&text, &r);
        let _ = parse_condition(0, &text);
        let _ = parse_action(0, &text);
    }

    #[test]
    fn random_token_sequences_never_panic(toks in prop::collection::vec(prop::sample::select(TOKENS), 0..80)) {
        let text = toks.join(" ");
        let r = parse_file(0, &text);
        check_result(&text, &r);
        if let Ok(c) = parse_condition(0, &text) {
            let _ = shape(&c);
        }
        let _ = parse_action(0, &text);
    }

    #[test]
    fn mutations_of_a_valid_file_never_panic(muts in prop::collection::vec(mutation(), 1..6)) {
        let mut bytes = VALID.as_bytes().to_vec();
        for m in &muts {
            apply(&mut bytes, m);
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let r = parse_file(0, &text);
        check_result(&text, &r);
    }
}

#[test]
fn pathological_inputs_never_panic() {
    let cases = [
        "(".repeat(10_000),
        ")".repeat(10_000),
        format!(
            "chain C {{ rule when {} then END; }}",
            "NOT (".repeat(5_000)
        ),
        format!(
            "chain C {{ rule when {}A SUCCEEDED then END; }}",
            "(".repeat(300)
        ),
        "{".repeat(5_000),
        "}".repeat(5_000),
        ";".repeat(5_000),
        "'".repeat(5_001),
        "\"".repeat(5_001),
        "chain C { ".repeat(2_000),
        format!("chain C {{ step {} program P; }}", "X".repeat(100_000)),
        "\u{0}\u{FFFF}\u{10FFFF}".repeat(100),
    ];
    for text in &cases {
        let r = parse_file(0, text);
        check_result(text, &r);
        let _ = parse_condition(0, text);
        let _ = parse_action(0, text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    /// `write_name` renders any writable name so that it parses back to itself (as a step
    /// name, so without `.`: `dot-in-step-name`).
    #[test]
    fn written_names_read_back_unchanged(name in "[^\".]{1,30}", pick in 0usize..6) {
        let name = match pick {
            0 => name.to_ascii_uppercase(),
            1 => RESERVED[name.len() % RESERVED.len()].to_string(),
            2 => format!("A{}", name.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>()),
            _ => name,
        };
        let written = chainsched::lang::parser::write_name(&name);
        let text = format!("chain C {{ step {written} program P; rule when {written} SUCCEEDED then END; }}");
        let f = parse_file(0, &text).map_err(|e| format!("{text}: {e:?}")).unwrap();
        match &f.items[0] {
            Item::Chain(c) => prop_assert_eq!(&c.steps[0].name.name, &name),
            other => panic!("{other:?}"),
        }
    }
}

const RESERVED: &[&str] = &["START", "END", "AND", "NOT", "COMMENT", "SUCCEEDED"];
