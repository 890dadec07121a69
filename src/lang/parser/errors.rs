//! Turning pest's errors into sentences a person understands.
//!
//! Pest reports "expected one of these grammar rules at this position". Rule names mean
//! nothing to an operator, so every rule that can be reported has a phrase here ("a step
//! name", "`;`"). A few situations get their own diagnostic code because a precise message
//! helps more than a list of alternatives: a keyword used as a name (`keyword-as-name`) and
//! a NOT without its parenthesis (`not-needs-parens`).

use super::grammar::Rule;
use super::lexer::{self, LexError, Tok, TokKind};
use crate::lang::diagnostic::Diagnostic;
use crate::lang::span::{FileId, Span};

/// Words that cannot be used unquoted as a name. Keep in sync with `reserved` in
/// grammar/chain.pest and the list in docs/rule-language.md.
pub const RESERVED_WORDS: &[&str] = &[
    "PROGRAM",
    "CHAIN",
    "JOB",
    "GROUP",
    "STEP",
    "RULE",
    "EVENT",
    "WHEN",
    "THEN",
    "WITH",
    "WHERE",
    "COMMENT",
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
];

pub fn is_reserved(word: &str) -> bool {
    RESERVED_WORDS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

/// What the parser was parsing, for the phrase used at the end of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    File,
    Condition,
    Action,
}

/// How one rule reads in an "expected ..." sentence.
fn phrase(rule: Rule) -> Phrase {
    use Phrase::{Choice as C, Keyword as K, Keywords as L, Name as N, Text as T};
    match rule {
        Rule::program_name => N("a program name"),
        Rule::chain_name => N("a chain name"),
        Rule::step_name | Rule::step_ref | Rule::step_list => N("a step name"),
        Rule::event_name => N("an event name"),
        Rule::rule_name => N("a rule name"),
        Rule::job_name => N("a job name"),
        Rule::group_name | Rule::group_path => N("a group name"),
        Rule::param_name => N("a parameter name"),
        Rule::notify_name => N("a notification name"),
        Rule::var_name => N("a variable name"),
        Rule::kw_sets | Rule::prog_sets => K("sets"),
        Rule::kw_var | Rule::var_call => K("VAR"),
        Rule::var_ref => T("`:VAR.name`"),
        Rule::field_name => N("a payload field name"),
        Rule::env_key => T("an environment variable name"),
        Rule::string => T("a string in single quotes"),
        Rule::int_lit => T("an integer"),
        Rule::num_lit => T("a number"),
        Rule::literal => T("a string or a number"),
        Rule::duration => T("a duration like 30s, 5m, 1h30m or 01:30:00"),
        Rule::after_time => T("a time written HH:MM:SS, like 01:00:00"),
        Rule::semi => T("`;`"),
        Rule::comma => T("`,`"),
        Rule::lbrace => T("`{`"),
        Rule::rbrace => T("`}`"),
        Rule::lparen | Rule::pparen | Rule::retry_policy | Rule::interval_prec => T("`(`"),
        Rule::rparen => T("`)`"),
        Rule::eq => T("`=`"),
        Rule::cmp_op | Rule::sql_cmp | Rule::error_code_cmp | Rule::p_cmp => {
            T("a comparison (`=`, `!=`, `<>`, `<`, `<=`, `>`, `>=`)")
        }
        Rule::sign_op => T("`+` or `-`"),

        Rule::kw_program | Rule::step_program => K("program"),
        Rule::kw_chain | Rule::step_chain | Rule::job_chain => K("chain"),
        Rule::kw_job => K("job"),
        Rule::kw_group | Rule::job_group => K("group"),
        Rule::kw_step => K("step"),
        Rule::kw_rule => K("rule"),
        Rule::kw_event | Rule::step_event => K("event"),
        Rule::kw_when => K("when"),
        Rule::kw_then => K("then"),
        Rule::kw_with | Rule::step_with => K("with"),
        Rule::kw_where | Rule::event_where => K("where"),
        Rule::kw_comment | Rule::rule_comment | Rule::chain_comment => K("comment"),
        Rule::kw_true => K("TRUE"),
        Rule::kw_false => K("FALSE"),
        Rule::kw_not => K("NOT"),
        Rule::kw_and => K("AND"),
        Rule::kw_or => K("OR"),
        Rule::kw_succeeded => K("SUCCEEDED"),
        Rule::kw_failed => K("FAILED"),
        Rule::kw_stopped => K("STOPPED"),
        Rule::kw_completed => K("COMPLETED"),
        Rule::kw_error_code | Rule::error_code_test => K("ERROR_CODE"),
        Rule::kw_in => K("IN"),
        Rule::kw_is => K("IS"),
        Rule::kw_null => K("NULL"),
        Rule::kw_interval | Rule::interval => K("INTERVAL"),
        Rule::kw_systimestamp => K("SYSTIMESTAMP"),
        Rule::kw_sysdate => K("SYSDATE"),
        Rule::kw_after | Rule::after_clause => K("AFTER"),
        Rule::kw_start => K("START"),
        Rule::kw_stop | Rule::stop_action => K("STOP"),
        Rule::kw_end | Rule::end_action => K("END"),
        Rule::kw_executable | Rule::prog_executable => K("executable"),
        Rule::kw_shell | Rule::prog_shell => K("shell"),
        Rule::kw_handler | Rule::prog_handler => K("handler"),
        Rule::kw_builtin | Rule::prog_builtin => K("builtin"),
        Rule::kw_noop | Rule::builtin_noop => K("noop"),
        Rule::kw_sleep | Rule::builtin_sleep => K("sleep"),
        Rule::kw_fail | Rule::builtin_fail => K("fail"),
        Rule::kw_arguments | Rule::prog_arguments => K("arguments"),
        Rule::kw_environment | Rule::prog_environment => K("environment"),
        Rule::kw_working_directory | Rule::prog_working_directory => K("working_directory"),
        Rule::kw_timeout | Rule::prog_timeout | Rule::attr_timeout => K("timeout"),
        Rule::rule_only => K("rule"),
        Rule::kw_evaluation_interval | Rule::chain_eval => K("evaluation_interval"),
        Rule::kw_skip | Rule::attr_skip => K("skip"),
        Rule::kw_pause | Rule::attr_pause => K("pause"),
        Rule::kw_pause_before | Rule::attr_pause_before => K("pause_before"),
        Rule::kw_restart_on_recovery | Rule::attr_restart_on_recovery => K("restart_on_recovery"),
        Rule::kw_restart_on_failure | Rule::attr_restart_on_failure => K("restart_on_failure"),
        Rule::kw_retries | Rule::retry_retries => K("retries"),
        Rule::kw_delay | Rule::retry_delay => K("delay"),
        Rule::kw_backoff | Rule::retry_backoff => K("backoff"),
        Rule::kw_schedule | Rule::job_schedule => K("schedule"),
        Rule::kw_parameters | Rule::job_parameters => K("parameters"),
        Rule::kw_serialize | Rule::job_serialize => K("serialize"),
        Rule::kw_by => K("by"),
        Rule::kw_restartable | Rule::job_restartable => K("restartable"),
        Rule::kw_max_run_duration | Rule::job_max_run_duration => K("max_run_duration"),
        Rule::kw_max_running | Rule::group_max_running | Rule::group_stmt => K("max_running"),
        Rule::kw_on | Rule::on_conflict | Rule::notify_on | Rule::job_on_event => K("on"),
        Rule::kw_conflict => K("conflict"),
        Rule::kw_error | Rule::conflict_error => K("error"),
        Rule::kw_wait | Rule::conflict_wait => K("wait"),
        Rule::kw_notify => K("notify"),
        Rule::kw_webhook | Rule::notify_webhook => K("webhook"),
        Rule::kw_command | Rule::notify_command => K("command"),
        Rule::kw_for | Rule::notify_for => K("for"),
        Rule::kw_chain_stalled | Rule::ev_stalled => K("CHAIN_STALLED"),
        Rule::kw_enqueued | Rule::ev_enqueued => K("ENQUEUED"),
        Rule::kw_longer => K("LONGER"),
        Rule::kw_than => K("THAN"),
        Rule::chain_serialize => K("serialize"),
        Rule::notify_retries => K("retries"),
        Rule::notify_delay => K("delay"),
        Rule::ev_step_failed => K("STEP"),
        Rule::ev_succeeded => K("SUCCEEDED"),
        Rule::ev_failed => K("FAILED"),
        Rule::ev_stopped => K("STOPPED"),
        Rule::ev_max_run => K("MAX_RUN_DURATION"),
        Rule::for_chain => K("chain"),
        Rule::for_job => K("job"),
        Rule::notify_event => C(
            "an event: SUCCEEDED, FAILED, STOPPED, CHAIN_STALLED, STEP FAILED, \
             ENQUEUED LONGER THAN d or MAX_RUN_DURATION",
            &[
                "SUCCEEDED",
                "FAILED",
                "STOPPED",
                "CHAIN_STALLED",
                "STEP",
                "ENQUEUED",
                "MAX_RUN_DURATION",
            ],
        ),
        Rule::notify_stmt | Rule::notify_stmt_only => C(
            "a notify setting (`on`, `for`, `webhook`, `command`, `retries` or `delay`)",
            &["on", "for", "webhook", "command", "retries", "delay"],
        ),
        Rule::notify_decl | Rule::notify_head | Rule::notify_head_only => K("notify"),

        Rule::kw_start_date | Rule::job_start_date => K("start_date"),
        Rule::kw_end_date | Rule::job_end_date => K("end_date"),
        Rule::kw_time_zone | Rule::job_time_zone => K("time_zone"),
        Rule::kw_enabled | Rule::job_enabled => K("enabled"),
        Rule::kw_max_runs | Rule::job_max_runs => K("max_runs"),
        Rule::kw_max_failures | Rule::job_max_failures => K("max_failures"),
        Rule::job_comment => K("comment"),
        Rule::schedule_name => N("a schedule name"),
        Rule::schedule_decl => K("schedule"),

        Rule::file | Rule::item | Rule::item_only => C(
            "a declaration (`program`, `chain`, `job`, `group`, `notify` or `schedule`)",
            &["program", "chain", "job", "group", "notify", "schedule"],
        ),
        Rule::program_decl | Rule::program_head | Rule::program_head_only => K("program"),
        Rule::chain_decl | Rule::chain_head | Rule::chain_head_only => K("chain"),
        Rule::job_decl | Rule::job_head | Rule::job_head_only => K("job"),
        Rule::group_decl | Rule::group_head | Rule::group_head_only => K("group"),
        Rule::program_stmt | Rule::program_stmt_only => C(
            "a program setting (`executable`, `shell`, `handler`, `builtin`, `arguments`, \
             `environment`, `working_directory` or `timeout`)",
            &[
                "executable",
                "shell",
                "handler",
                "builtin",
                "arguments",
                "environment",
                "working_directory",
                "timeout",
            ],
        ),
        Rule::builtin_kind => C(
            "a builtin: `noop`, `sleep DURATION` or `fail CODE`",
            &["noop", "sleep", "fail"],
        ),
        Rule::env_pair => T("an environment variable name"),
        Rule::chain_stmt | Rule::chain_stmt_only => L(&[
            "step",
            "rule",
            "comment",
            "evaluation_interval",
            "serialize",
        ]),
        Rule::step_decl => K("step"),
        Rule::step_kind => T("what the step runs: `program NAME`, `chain NAME` or `event NAME`"),
        Rule::step_attr => C(
            "a step attribute (`skip`, `pause`, `pause_before`, `restart_on_recovery`, \
             `restart_on_failure` or `timeout DURATION`)",
            &[
                "skip",
                "pause",
                "pause_before",
                "restart_on_recovery",
                "restart_on_failure",
                "timeout",
            ],
        ),
        Rule::retry_item => C(
            "`retries N`, `delay DURATION` or `backoff X`",
            &["retries", "delay", "backoff"],
        ),
        Rule::rule_decl => K("rule"),
        Rule::cond
        | Rule::cond_and
        | Rule::cond_not
        | Rule::cond_atom
        | Rule::not_bare
        | Rule::condition_only => T("a condition such as `A SUCCEEDED`"),
        Rule::step_pred => N("a step name"),
        Rule::state_test => L(&["SUCCEEDED", "FAILED", "STOPPED", "COMPLETED", "NOT"]),
        Rule::state_word => L(&["SUCCEEDED", "FAILED", "STOPPED", "COMPLETED"]),
        Rule::error_code_in | Rule::sql_in | Rule::p_in => T("`IN` or `NOT IN`"),
        Rule::sql_is_null | Rule::p_is_null => T("`IS NULL` or `IS NOT NULL`"),
        Rule::sql_pred
        | Rule::sql_expr
        | Rule::paren_expr
        | Rule::func_call
        | Rule::func_name
        | Rule::func_call_only
        | Rule::opaque_call
        | Rule::bare_ref
        | Rule::subquery
        | Rule::sql_num => T(
            "a value (`:step.attribute`, a string, a number, a function call, CASE, \
             `SYSTIMESTAMP` or `INTERVAL`)",
        ),
        Rule::bin_op => T("an operator (`+`, `-`, `*`, `/`, `||`)"),
        Rule::sql_like | Rule::kw_like => K("LIKE"),
        Rule::kw_escape => K("ESCAPE"),
        Rule::sql_between | Rule::kw_between => K("BETWEEN"),
        Rule::case_expr | Rule::kw_case => K("CASE"),
        Rule::case_searched | Rule::case_when_cond | Rule::case_when_value => K("WHEN"),
        Rule::case_simple => T("a value or `WHEN`"),
        Rule::case_else | Rule::kw_else => K("ELSE"),
        Rule::extract_call | Rule::kw_extract => K("EXTRACT"),
        Rule::dt_field => C(
            "a field: `YEAR`, `MONTH`, `DAY`, `HOUR`, `MINUTE` or `SECOND`",
            &["YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND"],
        ),
        Rule::trim_call | Rule::kw_trim => K("TRIM"),
        Rule::trim_side => L(&["LEADING", "TRAILING", "BOTH"]),
        Rule::kw_from => K("FROM"),
        Rule::kw_to => K("TO"),
        Rule::datetime_lit => T("`DATE '…'` or `TIMESTAMP '…'`"),
        Rule::kw_date => K("DATE"),
        Rule::kw_timestamp => K("TIMESTAMP"),
        Rule::kw_current_date => K("CURRENT_DATE"),
        Rule::kw_current_timestamp => K("CURRENT_TIMESTAMP"),
        Rule::kw_localtimestamp => K("LOCALTIMESTAMP"),
        Rule::sql_attr_ref => T("`:step.attribute`"),
        Rule::sql_attr => C(
            "a step attribute: `state`, `completed`, `error_code`, `start_date`, `end_date` or \
             `duration`",
            &[
                "state",
                "completed",
                "error_code",
                "start_date",
                "end_date",
                "duration",
            ],
        ),
        Rule::clock => T("`SYSTIMESTAMP`, `SYSDATE`, `CURRENT_DATE` or `CURRENT_TIMESTAMP`"),
        Rule::interval_unit => C(
            "a unit: `SECOND`, `MINUTE`, `HOUR` or `DAY`",
            &[
                "SECOND", "MINUTE", "HOUR", "DAY", "SECONDS", "MINUTES", "HOURS", "DAYS",
            ],
        ),
        Rule::action | Rule::start_action | Rule::action_only => C(
            "an action: `START`, `STOP`, `END` or `AFTER HH:MM:SS START`",
            &["START", "STOP", "END", "AFTER"],
        ),
        Rule::end_value | Rule::step_error_code | Rule::bad_end => {
            T("an integer or STEP.ERROR_CODE")
        }
        Rule::pcond | Rule::pcond_and | Rule::pcond_not | Rule::pnot_bare | Rule::ppred => {
            T("a payload condition such as `file = 'sales.csv'`")
        }
        Rule::job_stmt | Rule::job_stmt_only => C(
            "a job setting (`chain`, `group`, `schedule`, `parameters`, `serialize by`, \
             `restartable`, `max_run_duration`, `start_date`, `end_date`, `time_zone`, \
             `enabled`, `max_runs`, `max_failures`, `comment` or `on event`)",
            &[
                "chain",
                "group",
                "schedule",
                "parameters",
                "serialize",
                "restartable",
                "max_run_duration",
                "start_date",
                "end_date",
                "time_zone",
                "enabled",
                "max_runs",
                "max_failures",
                "comment",
                "on",
            ],
        ),
        Rule::group_stmt_only => K("max_running"),
        Rule::param_pair => N("a parameter name"),
        Rule::EOI => T("the end"),
        // Silent rules: never reported by pest.
        Rule::WHITESPACE
        | Rule::COMMENT
        | Rule::ident_char
        | Rule::bare_body
        | Rule::quoted_body
        | Rule::reserved
        | Rule::ident_body
        | Rule::sql_operand
        | Rule::sql_primary
        | Rule::blank
        | Rule::balanced => T("a name"),
    }
}

enum Phrase {
    /// A keyword, shown in backquotes; also a candidate for "did you mean".
    Keyword(&'static str),
    /// A place where a name is written.
    Name(&'static str),
    Text(&'static str),
    /// Several keywords, each listed on its own.
    Keywords(&'static [&'static str]),
    /// A description, and the keywords it stands for (for "did you mean").
    Choice(&'static str, &'static [&'static str]),
}

/// Join phrases as "a, b or c".
fn join_or(items: &[String]) -> String {
    match items.len() {
        0 => String::new(),
        1 => items[0].clone(),
        n => format!("{} or {}", items[..n - 1].join(", "), items[n - 1]),
    }
}

fn clip(s: &str) -> String {
    if s.chars().count() > 40 {
        let head: String = s.chars().take(37).collect();
        format!("{head}...")
    } else {
        s.to_string()
    }
}

/// How a token reads in "found ...".
fn describe_found(text: &str, tok: Option<Tok>, ctx: Context) -> String {
    match tok {
        None => match ctx {
            Context::File => "the end of the file".to_string(),
            Context::Condition => "the end of the condition".to_string(),
            Context::Action => "the end of the action".to_string(),
        },
        Some(t) => {
            let s = text.get(t.start..t.end).unwrap_or("");
            match t.kind {
                TokKind::Str => format!("the string {}", clip(s)),
                _ => format!("`{}`", clip(s)),
            }
        }
    }
}

/// Transposition-aware edit distance small enough to call a word a typo of a keyword.
fn near_keyword(found: &str, candidates: &[&'static str]) -> Option<String> {
    if found.chars().count() < 3 {
        return None;
    }
    let up = found.to_ascii_uppercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = strsim::damerau_levenshtein(&up, &c.to_ascii_uppercase());
        let limit = if c.len() <= 4 { 1 } else { 2 };
        if d > 0 && d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}

/// Asks whether the parse gets further when the token `[start, end)` is written as a quoted
/// name: if so, a reserved word was meant as a name (`keyword-as-name`).
pub type QuoteProbe<'a> = &'a dyn Fn(usize, usize) -> bool;

/// A pest error (positions relative to `text[base..]`) as a diagnostic on the whole `text`.
pub fn from_pest(
    file: FileId,
    text: &str,
    base: usize,
    err: &pest::error::Error<Rule>,
    ctx: Context,
    probe: Option<QuoteProbe<'_>>,
) -> Diagnostic {
    use pest::error::{ErrorVariant, InputLocation};
    let rel = match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let at = (base + rel).min(text.len());
    let positives: Vec<Rule> = match &err.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        ErrorVariant::CustomError { message } => {
            // Pest's own resource limits ("stack limit reached"): the input nests too deeply.
            return Diagnostic::error(
                "too-deep",
                format!("this text nests too deeply to be parsed ({message})"),
                Span::new(file, at, at),
            );
        }
    };
    let tok = lexer::token_at(text, at);
    let span = match tok {
        Some(t) => Span::new(file, t.start, t.end),
        None => Span::new(file, text.len(), text.len()),
    };
    let mut expected: Vec<String> = Vec::new();
    let mut candidates: Vec<&'static str> = Vec::new();
    let mut wants_lparen = false;
    let push = |p: String, expected: &mut Vec<String>| {
        if !expected.contains(&p) {
            expected.push(p);
        }
    };
    for r in &positives {
        if matches!(
            r,
            Rule::lparen | Rule::pparen | Rule::not_bare | Rule::pnot_bare
        ) {
            wants_lparen = true;
        }
        if *r == Rule::EOI {
            let end = match ctx {
                Context::File => "the end of the declaration",
                Context::Condition => "the end of the condition",
                Context::Action => "the end of the action",
            };
            push(end.to_string(), &mut expected);
            continue;
        }
        match phrase(*r) {
            Phrase::Keyword(k) => {
                candidates.push(k);
                push(format!("`{k}`"), &mut expected);
            }
            Phrase::Keywords(ks) => {
                for k in ks {
                    candidates.push(k);
                    push(format!("`{k}`"), &mut expected);
                }
            }
            Phrase::Choice(t, ks) => {
                candidates.extend_from_slice(ks);
                push(t.to_string(), &mut expected);
            }
            Phrase::Name(t) | Phrase::Text(t) => push(t.to_string(), &mut expected),
        }
    }
    // "the end of ..." reads best last.
    expected.sort_by_key(|e| e.starts_with("the end of"));
    let expected_text = if expected.is_empty() {
        "something else".to_string()
    } else {
        join_or(&expected)
    };
    let found = describe_found(text, tok, ctx);
    let found_word = tok.filter(|t| t.kind == TokKind::Word);

    // A string whose closing `'` is missing swallows text up to the next `'`, lines later;
    // the parse then fails right after it. The mistake is where that string starts.
    if let Some(s) = runaway_string(text, at).filter(|s| next_token_start(text, s.end) == at) {
        let (line, col) = line_col(text, at);
        return Diagnostic::error(
            "syntax",
            format!(
                "this string runs on to line {}: is a `'` missing at the end of it?",
                line_col(text, s.end).0
            ),
            Span::new(file, s.start, s.start + 1),
        )
        .with_expected("`'` at the end of the string")
        .with_note(format!(
            "after it, at line {line}, column {col}: expected {expected_text}, found {found}"
        ));
    }

    // A statement without its `;`: the parser only notices at the next line's first word.
    // Point at the end of the statement that lacks it.
    if expected.iter().any(|e| e == "`;`") {
        // pest may stop before the whitespace that precedes the next token.
        let next = tok.map_or(text.len(), |t| t.start);
        if let Some(prev) = previous_token(text, next) {
            if text
                .get(prev.end..next)
                .is_some_and(|gap| gap.contains('\n'))
            {
                let (line, col) = line_col(text, next);
                return Diagnostic::error(
                    "syntax",
                    format!("missing `;` at the end of this statement (found {found} at line {line}, column {col})"),
                    Span::new(file, prev.end, prev.end),
                )
                .with_expected(expected_text);
            }
        }
    }

    // `NOT A SUCCEEDED` is handled by the builder; here NOT is followed by something that is
    // not a condition at all (`NOT NOT (...)`, `NOT;`).
    if wants_lparen && previous_word_is(text, at, "NOT") {
        return Diagnostic::error(
            "not-needs-parens",
            format!(
                "NOT must be followed by a parenthesis, as in `NOT (A SUCCEEDED)`; found {found}"
            ),
            span,
        )
        .with_expected("`(`");
    }
    if let (Some(t), Some(probe)) = (found_word, probe) {
        let w = text.get(t.start..t.end).unwrap_or("");
        if is_reserved(w) && probe(t.start, t.end) {
            let up = w.to_ascii_uppercase();
            return Diagnostic::error(
                "keyword-as-name",
                format!("`{up}` is a keyword; write \"{up}\" to use it as a name"),
                span,
            )
            .with_expected(expected_text);
        }
    }
    let suggestion = found_word
        .and_then(|t| text.get(t.start..t.end))
        .and_then(|w| near_keyword(w, &candidates));
    Diagnostic::error(
        "syntax",
        format!("expected {expected_text}, found {found}"),
        span,
    )
    .with_expected(expected_text)
    .with_suggestion(suggestion)
}

/// 1-based line and column (in characters) of `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let head = text.get(..offset).unwrap_or(text);
    let line = head.matches('\n').count() + 1;
    let line_start = head.rfind('\n').map_or(0, |i| i + 1);
    (line, head[line_start..].chars().count() + 1)
}

/// The last token that ends at or before `offset`.
fn previous_token(text: &str, offset: usize) -> Option<Tok> {
    let (toks, _) = lexer::scan(text.get(..offset)?);
    toks.last().copied()
}

/// Where the first token at or after `offset` starts (the end of the text if none).
fn next_token_start(text: &str, offset: usize) -> usize {
    lexer::token_at(text, offset).map_or(text.len(), |t| t.start)
}

/// The string that, read as written, spans lines and is closed on the line of `at` before
/// it: the likely victim of a missing `'` (its closing quote was meant to open another
/// string). None when the string closed on an earlier line (a multi-line shell script).
fn runaway_string(text: &str, at: usize) -> Option<Tok> {
    let head = text.get(..at)?;
    let (toks, _) = lexer::scan(head);
    let s = toks.iter().rev().find(|t| t.kind == TokKind::Str)?;
    let spans_lines = text.get(s.start..s.end)?.contains('\n');
    let same_line = !text.get(s.end..at)?.contains('\n');
    (spans_lines && same_line && s.end <= at).then_some(*s)
}

/// Whether the last word before `offset` is `word` (case-insensitive).
fn previous_word_is(text: &str, offset: usize, word: &str) -> bool {
    let head = text.get(..offset).unwrap_or("");
    // Scanning only the current line keeps this cheap; NOT and `(` are on one line in practice,
    // and when they are not the generic message is still right.
    let line_start = head.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let (toks, _) = lexer::scan(&head[line_start..]);
    toks.last().is_some_and(|t| {
        t.kind == TokKind::Word
            && head[line_start + t.start..line_start + t.end].eq_ignore_ascii_case(word)
    })
}

/// A scanner error as a diagnostic (offsets of `base`-relative text).
pub fn from_lex(file: FileId, text: &str, base: usize, e: &LexError) -> Diagnostic {
    match *e {
        LexError::UnclosedString { start } => {
            let at = base + start;
            if let Some(s) = runaway_string(text, at) {
                // `'echo hello; }` … lines later `comment 'x'`: the quote that closes the first
                // string opened the last one. Report the string that lacks its `'`.
                let (line, col) = line_col(text, at);
                return Diagnostic::error(
                    "syntax",
                    format!(
                        "this string is never closed on its line: it runs on to line {line}, where a `'` is left open; is a `'` missing at the end of it?"
                    ),
                    Span::new(file, s.start, s.start + 1),
                )
                .with_expected("`'` at the end of the string")
                .with_note(format!(
                    "the `'` left open is at line {line}, column {col}"
                ));
            }
            Diagnostic::error(
                "syntax",
                "this string is never closed: a `'` is missing",
                Span::new(file, at, (at + 1).min(text.len())),
            )
            .with_expected("`'` at the end of the string")
        }
        LexError::UnclosedQuoted { start } => {
            let at = base + start;
            Diagnostic::error(
                "syntax",
                "this quoted name is never closed: a `\"` is missing",
                Span::new(file, at, (at + 1).min(text.len())),
            )
            .with_expected("`\"` at the end of the name")
        }
        LexError::TooDeep { at } => {
            let at = base + at;
            Diagnostic::error(
                "too-deep",
                format!(
                    "parentheses nest more than {} levels deep",
                    lexer::MAX_PAREN_DEPTH
                ),
                Span::new(file, at, (at + 1).min(text.len())),
            )
        }
    }
}
