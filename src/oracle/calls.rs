//! The statements of a script, as SQL*Plus runs them, and the `DBMS_SCHEDULER.xxx(...)` calls
//! in them with their argument lists.
//!
//! Why not a PL/SQL parser: chain scripts are `BEGIN ... END;` blocks and `EXEC` lines made
//! of scheduler calls, sometimes with a `DECLARE`, an `EXCEPTION WHEN OTHERS THEN NULL;` or a
//! `COMMIT`. [`super::sqlplus`] cuts the script into statements exactly as SQL*Plus does;
//! each is then tokenized on its own (a broken one cannot swallow the next) and:
//! * a block is checked to end where SQL*Plus ends it ([`super::blocks`]): a block that runs
//!   into the next one, or an END without `;`, is what Oracle rejects (PLS-00103), and none of
//!   its calls run;
//! * its statements (cut at `;`, at `THEN`/`ELSE`/`LOOP`) that call DBMS_SCHEDULER are parsed
//!   strictly (a malformed call is an error with its position); exception handlers are
//!   skipped; every other statement is reported as ignored, so the translator can sum them up;
//! * a stored unit (`CREATE PROCEDURE ...`) is skipped, a SQL statement too, unless SQL*Plus
//!   made DBMS_SCHEDULER calls part of it: then Oracle rejects it and the calls never run,
//!   which is an error of that statement.
//!
//! An error belongs to its statement ([`Unit`]), so `--keep-going` can skip that statement
//! as SQL*Plus would and import the rest.

use super::blocks::{self, Shape};
use super::lexer::{tokenize_range, TokKind, Token};
use super::sqlplus::{self, CreateKind, Ending, Kind, RawUnit};
use super::value::{eval, Value};

/// One call of a DBMS_SCHEDULER procedure.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Upper-cased procedure name (`CREATE_CHAIN`).
    pub proc: String,
    /// Byte range of the qualified procedure name (`SYS.DBMS_SCHEDULER.CREATE_CHAIN`).
    pub start: usize,
    pub end: usize,
    pub args: Vec<Arg>,
}

/// One argument, positional (`name` is None) or named (`chain_name => 'X'`).
#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    /// Lower-cased parameter name.
    pub name: Option<String>,
    pub value: Value,
    /// Byte range of the whole argument (name and value).
    pub start: usize,
    pub end: usize,
}

/// What a statement holds, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Call(Call),
    /// A statement that is not a DBMS_SCHEDULER call; `summary` is its first words.
    Ignored {
        start: usize,
        end: usize,
        summary: String,
    },
    /// Something to tell about the script (a block SQL*Plus does not run, calls inside a
    /// stored procedure...): a warning.
    Note {
        start: usize,
        end: usize,
        text: String,
    },
}

/// Why Oracle would reject a statement: where, what is wrong, what was expected.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub start: usize,
    pub end: usize,
    pub message: String,
    pub expected: String,
}

/// One statement of the script as SQL*Plus sends it to Oracle: a block, an EXEC line, a SQL
/// statement. Oracle runs it whole or (on a compile error) not at all.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// Byte range of its text.
    pub start: usize,
    pub end: usize,
    pub items: Vec<Item>,
    /// Why Oracle rejects it; its items are then not to be imported.
    pub errors: Vec<SyntaxError>,
    /// Where the `WHENEVER SQLERROR EXIT` in force when it runs is, if any.
    pub whenever_exit: Option<usize>,
    /// Its blocks with an EXCEPTION handler (byte ranges): an error in one is caught there.
    pub guards: Vec<(usize, usize)>,
}

/// DBMS_SCHEDULER functions: a call of one is an expression, not a procedure call.
const FUNCTIONS: &[&str] = &["GENERATE_JOB_NAME", "STIME"];

/// The statements of a script, in order.
pub fn parse(text: &str) -> Vec<Unit> {
    let script = sqlplus::read(text);
    let mut lines = LineCounter {
        text,
        at: 0,
        line: 0,
    };
    let mut units: Vec<Unit> = Vec::new();
    let mut index = vec![None; script.units.len()];
    for (k, raw) in script.units.iter().enumerate() {
        if raw.kind == Kind::Command {
            continue;
        }
        let line = lines.line_at(raw.start);
        index[k] = Some(units.len());
        units.push(unit(text, raw, line));
    }
    for r in &script.reruns {
        let Some(u) = index.get(r.unit).copied().flatten().map(|i| &units[i]) else {
            continue;
        };
        if u.errors.is_empty() && u.items.iter().any(|i| matches!(i, Item::Call(_))) {
            let from = lines_of(text, u.start, u.end);
            units.push(Unit {
                start: r.start,
                end: r.end,
                items: vec![Item::Note {
                    start: r.start,
                    end: r.end,
                    text: format!("this `/` runs the statement of {from} again (SQL*Plus's buffer still holds it; EXEC lines do not go there): the second run is not imported (Oracle refuses to create an object that exists, ORA-27477)"),
                }],
                errors: Vec::new(),
                whenever_exit: None,
                guards: Vec::new(),
            });
        }
    }
    units.sort_by_key(|u| u.start);
    units
}

/// `"line 3"` or `"lines 3–7"`: the lines of `text[start..end]` (1-based).
pub fn lines_of(text: &str, start: usize, end: usize) -> String {
    let line = |at: usize| text[..at.min(text.len())].matches('\n').count() + 1;
    let (a, b) = (line(start), line(end.max(start)));
    if a == b {
        format!("line {a}")
    } else {
        format!("lines {a}–{b}")
    }
}

/// 0-based line numbers of increasing offsets, counted once.
struct LineCounter<'a> {
    text: &'a str,
    at: usize,
    line: usize,
}

impl LineCounter<'_> {
    fn line_at(&mut self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        if offset < self.at {
            self.at = 0;
            self.line = 0;
        }
        self.line += self.text[self.at..offset].matches('\n').count();
        self.at = offset;
        self.line
    }
}

fn error(start: usize, end: usize, message: String, expected: &str) -> SyntaxError {
    SyntaxError {
        start,
        end,
        message,
        expected: expected.to_string(),
    }
}

/// The calls (or errors) of one statement.
fn unit(text: &str, raw: &RawUnit, line: usize) -> Unit {
    let mut u = Unit {
        start: raw.start,
        end: raw.end,
        items: Vec::new(),
        errors: Vec::new(),
        whenever_exit: raw.whenever_exit,
        guards: Vec::new(),
    };
    let toks = match tokenize_range(text, raw.start, raw.end, line) {
        Ok(t) => t,
        Err(e) => {
            let mentions = text[raw.start..raw.end]
                .to_ascii_uppercase()
                .contains("DBMS_SCHEDULER");
            if mentions {
                u.errors.push(error(e.start, e.end, e.message, &e.expected));
            } else {
                u.items.push(Item::Note {
                    start: e.start,
                    end: e.end,
                    text: format!("{}; Oracle would reject this statement, which calls no DBMS_SCHEDULER procedure, so nothing is lost", e.message),
                });
            }
            return u;
        }
    };
    if toks.is_empty() {
        return u;
    }
    let what = describe(raw);
    let calls = scheduler_calls(&toks);
    match raw.kind {
        Kind::Command => {}
        Kind::Exec => {
            // EXEC is one line; a `-` at the end of a line continues it (and is not a minus).
            let body: Vec<Token> = toks[1..]
                .iter()
                .filter(|t| !continuation(text, t))
                .cloned()
                .collect();
            u.guards = blocks::exception_scopes(&body);
            scan(text, &body, true, &mut u);
        }
        Kind::Block => {
            u.guards = blocks::exception_scopes(&toks);
            block(text, raw, &toks, &calls, &what, &mut u)
        }
        Kind::Create(kind) => create(text, raw, kind, &toks, &mut u),
        Kind::Sql => sql(text, raw, &toks, &calls, &mut u),
    }
    u
}

/// How a statement reads in a message: `the block of lines 3–9`.
fn describe(raw: &RawUnit) -> String {
    match raw.kind {
        Kind::Block => "block".to_string(),
        Kind::Exec => "EXEC line".to_string(),
        Kind::Create(_) => "CREATE statement".to_string(),
        Kind::Sql | Kind::Command => format!("`{}` statement", raw.head),
    }
}

/// A `-` that ends its line: SQL*Plus's continuation of an EXEC line.
fn continuation(text: &str, t: &Token) -> bool {
    matches!(&t.kind, TokKind::Punct(p) if p == "-")
        && text[t.end..]
            .split('\n')
            .next()
            .is_some_and(|rest| rest.trim().is_empty())
}

/// Indices of the tokens starting a DBMS_SCHEDULER procedure call (`[SYS.]DBMS_SCHEDULER.X`
/// where a statement starts: first on its line, or after `;`, BEGIN, THEN, ELSE, LOOP, EXEC,
/// CALL).
fn scheduler_calls(toks: &[Token]) -> Vec<usize> {
    let word = |i: usize| match toks.get(i).map(|t| &t.kind) {
        Some(TokKind::Ident(w)) => Some(w.to_ascii_uppercase()),
        _ => None,
    };
    let dot =
        |i: usize| matches!(toks.get(i).map(|t| &t.kind), Some(TokKind::Punct(p)) if p == ".");
    let mut out = Vec::new();
    for i in 0..toks.len() {
        let pkg = if word(i).as_deref() == Some("SYS") && dot(i + 1) {
            i + 2
        } else {
            i
        };
        if word(pkg).as_deref() != Some("DBMS_SCHEDULER") || !dot(pkg + 1) {
            continue;
        }
        let Some(proc) = word(pkg + 2) else { continue };
        if FUNCTIONS.contains(&proc.as_str()) {
            continue;
        }
        // After a `,`, `(`, `=>`, `:=`... it is part of an expression.
        let in_expression = i > 0
            && match &toks[i - 1].kind {
                TokKind::Punct(p) => p != ";",
                TokKind::Arrow | TokKind::Concat => true,
                _ => false,
            };
        let at_start = i == 0
            || (toks[i - 1].line < toks[i].line && !in_expression)
            || matches!(&toks[i - 1].kind, TokKind::Punct(p) if p == ";")
            || matches!(
                word(i - 1).as_deref(),
                Some("BEGIN" | "THEN" | "ELSE" | "LOOP" | "EXEC" | "EXECUTE" | "CALL")
            );
        if at_start {
            out.push(i);
        }
    }
    out
}

/// An anonymous block: it must end (`END;`) where SQL*Plus ends it (the `/` line).
fn block(text: &str, raw: &RawUnit, toks: &[Token], calls: &[usize], what: &str, u: &mut Unit) {
    // Counted only for a message: counting lines for every statement would be quadratic.
    let lines = || lines_of(text, raw.start, raw.end);
    let has_calls = !calls.is_empty();
    let problem = match blocks::find_end(toks, Shape::Block) {
        blocks::End::At(k) if k == toks.len() => None,
        blocks::End::At(k) => {
            let t = &toks[k];
            let end_line = lines_of(text, toks[k - 1].start, toks[k - 1].end);
            Some(error(
                t.start,
                t.end,
                format!("no `/` line ends the block before this (its END; is on {end_line}): SQL*Plus sends everything up to the next `/` line ({}) to Oracle as one block, which Oracle rejects (PLS-00103), so none of its DBMS_SCHEDULER calls run", lines()),
                "a line holding only `/` after the block's END;",
            ))
        }
        blocks::End::NoSemicolon { end, next } => {
            let (s, e, found) = match toks.get(next) {
                Some(t) => (t.start, t.end, format!("`{}`", &text[t.start..t.end])),
                None => (toks[end].end, toks[end].end, "the `/` line".to_string()),
            };
            Some(error(
                s,
                e,
                format!("expected `;` after the END of the block ({}), found {found}: Oracle rejects the block of {} (PLS-00103), so none of its DBMS_SCHEDULER calls run", lines_of(text, toks[end].start, toks[end].end), lines()),
                "`;` after END",
            ))
        }
        blocks::End::Open => {
            let last = &toks[toks.len() - 1];
            Some(error(
                last.end,
                last.end,
                format!("the block of {} is never closed: an END; is missing before the `/` line, so Oracle rejects it (PLS-00103)", lines()),
                "END;",
            ))
        }
    };
    if let Some(e) = problem {
        if has_calls {
            u.errors.push(e);
        } else {
            u.items.push(Item::Note {
                start: e.start,
                end: e.end,
                text: format!(
                    "{}; it calls no DBMS_SCHEDULER procedure, so nothing is lost",
                    e.message
                ),
            });
        }
        return;
    }
    if !raw.runs {
        if has_calls {
            let why = match raw.ending {
                Ending::Eof => {
                    scan(text, toks, false, u);
                    u.items.push(Item::Note {
                        start: raw.start,
                        end: toks[0].end,
                        text: format!("no `/` line follows the {what} of {}: SQL*Plus runs a block only at a `/` line and would not run this one; it is imported as if the `/` were there (add it)", lines()),
                    });
                    return;
                }
                _ => "it ends with a `.` line, which keeps it in SQL*Plus's buffer without running it, and no `/` runs it later",
            };
            u.items.push(Item::Note {
                start: raw.start,
                end: toks[0].end,
                text: format!("the {what} of {} is not run by SQL*Plus ({why}); its DBMS_SCHEDULER calls are not imported", lines()),
            });
        }
        return;
    }
    scan(text, toks, false, u);
}

/// `CREATE PROCEDURE ...`: a stored unit; what follows its END up to the `/` line is
/// swallowed into it.
fn create(text: &str, raw: &RawUnit, kind: CreateKind, toks: &[Token], u: &mut Unit) {
    let shape = match kind {
        CreateKind::Subprogram => Some(Shape::Subprogram),
        CreateKind::Trigger => Some(Shape::Block),
        CreateKind::TypeSpec => Some(Shape::TypeSpec),
        CreateKind::Other => None,
    };
    let summary = summary(text, toks, 0, toks.len());
    let body_end = match shape.map(|s| blocks::find_end(toks, s)) {
        Some(blocks::End::At(k)) => k,
        _ => toks.len(),
    };
    let swallowed = &toks[body_end..];
    if !swallowed.is_empty() {
        let lines = lines_of(text, swallowed[0].start, raw.end);
        let first = &swallowed[0];
        let message = format!("no `/` line ends `{summary}` ({}): SQL*Plus reads on into it up to the next `/` line, and the text of {lines} becomes part of it and Oracle cannot compile it (PLS-00103)", lines_of(text, toks[0].start, toks[0].end));
        if !scheduler_calls(swallowed).is_empty() {
            u.errors.push(error(
                first.start,
                first.end,
                format!("{message}; the DBMS_SCHEDULER calls there never run"),
                "a line holding only `/` after the END; of the CREATE statement",
            ));
            return;
        }
        u.items.push(Item::Note {
            start: first.start,
            end: first.end,
            text: message,
        });
    }
    let inner = scheduler_calls(&toks[..body_end]);
    if let Some(&i) = inner.first() {
        u.items.push(Item::Note {
            start: toks[i].start,
            end: toks[i].end,
            text: format!("`{summary}` calls DBMS_SCHEDULER ({}): those calls run when that code runs, not when the script does, so they are not imported", lines_of(text, toks[i].start, toks[i].end)),
        });
    } else {
        u.items.push(Item::Ignored {
            start: raw.start,
            end: toks[body_end.max(1) - 1].end,
            summary,
        });
    }
}

/// A SQL statement: `CALL DBMS_SCHEDULER.X(...)` is a call; any other scheduler call in it
/// means SQL*Plus ran two statements together (or the call is not valid SQL).
fn sql(text: &str, raw: &RawUnit, toks: &[Token], calls: &[usize], u: &mut Unit) {
    let lines = || lines_of(text, raw.start, raw.end);
    let is_call = raw.head == "CALL" && calls.first() == Some(&1);
    if is_call {
        if raw.runs {
            scan(text, &toks[1..], true, u);
        } else {
            u.items.push(Item::Note {
                start: raw.start,
                end: raw.end,
                text: format!("the CALL of {} is not run by SQL*Plus (no `;` ends its last line and no `/` follows); not imported", lines()),
            });
        }
        return;
    }
    if let Some(&i) = calls.first() {
        let t = &toks[i];
        let e = if i == 0 {
            error(
                t.start,
                t.end,
                "a DBMS_SCHEDULER call on its own is not a SQL statement: SQL*Plus sends it to Oracle as SQL, which Oracle rejects (ORA-00900: invalid SQL statement)".to_string(),
                "`EXEC DBMS_SCHEDULER...` or the call inside BEGIN ... END; and a `/` line",
            )
        } else {
            let head = summary(text, toks, 0, i);
            error(
                t.start,
                t.end,
                format!("this call is part of the SQL statement `{head}` ({}): SQL*Plus ends a SQL statement only at a `;` at the end of a line, a `/` line or a blank line, so it sends both to Oracle as one statement, which Oracle rejects, and the call never runs", lines()),
                "a `;` at the end of the SQL statement's last line, or a blank line after it",
            )
        };
        u.errors.push(e);
        return;
    }
    u.items.push(Item::Ignored {
        start: raw.start,
        end: raw.end,
        summary: summary(text, toks, 0, toks.len()),
    });
}

/// The first words of `toks[i..stop]`, for a message.
fn summary(text: &str, toks: &[Token], i: usize, stop: usize) -> String {
    if toks.is_empty() {
        return String::new();
    }
    let i = i.min(toks.len() - 1);
    let last = (i + 6)
        .min(stop.saturating_sub(1))
        .max(i)
        .min(toks.len() - 1);
    let body: String = text[toks[i].start..toks[last].end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let mut short: String = body.chars().take(60).collect();
    if short.len() < body.len() || last + 1 < stop.min(toks.len()) {
        short.push_str("...");
    }
    short
}

/// The statements of a block body or EXEC line: calls, ignored statements, errors.
fn scan(text: &str, toks: &[Token], exec: bool, u: &mut Unit) {
    let mut p = Scanner {
        text,
        toks,
        i: 0,
        depth: 0,
        exec,
        items: Vec::new(),
        errors: Vec::new(),
    };
    p.run();
    u.items.extend(p.items);
    u.errors.extend(p.errors);
}

struct Scanner<'a> {
    text: &'a str,
    toks: &'a [Token],
    i: usize,
    /// BEGIN ... END nesting; a call inside a block must end with `;`.
    depth: usize,
    /// An EXEC line or a SQL CALL: the last call needs no `;`.
    exec: bool,
    items: Vec<Item>,
    errors: Vec<SyntaxError>,
}

impl<'a> Scanner<'a> {
    fn tok(&self, i: usize) -> Option<&'a Token> {
        self.toks.get(i)
    }

    fn word(&self, i: usize) -> Option<String> {
        match &self.tok(i)?.kind {
            TokKind::Ident(w) => Some(w.to_ascii_uppercase()),
            _ => None,
        }
    }

    fn is_punct(&self, i: usize, p: &str) -> bool {
        matches!(self.tok(i).map(|t| &t.kind), Some(TokKind::Punct(x)) if x == p)
    }

    fn run(&mut self) {
        while self.tok(self.i).is_some() {
            let before = self.i;
            self.step();
            // Every statement consumes at least one token, whatever it holds.
            if self.i == before {
                self.i += 1;
            }
        }
    }

    fn step(&mut self) {
        if self.is_punct(self.i, ";") {
            self.i += 1;
            return;
        }
        let word = self.word(self.i);
        match word.as_deref() {
            Some("BEGIN") => {
                self.depth += 1;
                self.i += 1;
            }
            Some("DECLARE") => self.skip_declarations(),
            Some("END") => {
                if !self.ends_inner_statement(self.i) {
                    self.depth = self.depth.saturating_sub(1);
                }
                self.skip_statement();
            }
            Some("EXCEPTION") => self.skip_exception_handlers(),
            Some("COMMIT" | "ROLLBACK" | "NULL") => {
                self.skip_statement();
            }
            Some("EXEC" | "EXECUTE") if self.word(self.i + 1).as_deref() != Some("IMMEDIATE") => {
                let t = &self.toks[self.i];
                self.errors.push(error(
                    t.start,
                    t.end,
                    format!("`{}` is a SQL*Plus command, not PL/SQL: inside BEGIN ... END write the call alone, as `DBMS_SCHEDULER.X(...);` (Oracle rejects the block: PLS-00103)", &self.text[t.start..t.end]),
                    "a PL/SQL statement",
                ));
                self.skip_statement();
            }
            _ => self.statement(),
        }
    }

    /// `END IF`, `END LOOP`, `END CASE` close a statement, not a block.
    fn ends_inner_statement(&self, i: usize) -> bool {
        matches!(self.word(i + 1).as_deref(), Some("IF" | "LOOP" | "CASE"))
    }

    /// DECLARE ... BEGIN: variable declarations are not scheduler calls.
    fn skip_declarations(&mut self) {
        self.i += 1;
        while self.tok(self.i).is_some() {
            if self.word(self.i).as_deref() == Some("BEGIN") {
                return;
            }
            self.i += 1;
        }
    }

    /// `EXCEPTION WHEN ... THEN ...` up to (not including) the END of the enclosing block:
    /// handlers run only when a call failed, so what they do is not part of the definitions.
    fn skip_exception_handlers(&mut self) {
        let mut nested = 0usize;
        self.i += 1;
        while self.tok(self.i).is_some() {
            match self.word(self.i).as_deref() {
                Some("BEGIN") => nested += 1,
                Some("END") if !self.ends_inner_statement(self.i) => {
                    if nested == 0 {
                        return;
                    }
                    nested -= 1;
                }
                _ => {}
            }
            self.i += 1;
        }
    }

    /// Up to and including the next `;` (or THEN/ELSE/LOOP, after which a new statement
    /// starts); at least one token.
    fn skip_statement(&mut self) -> usize {
        while let Some(t) = self.tok(self.i) {
            self.i += 1;
            if matches!(&t.kind, TokKind::Punct(p) if p == ";") {
                break;
            }
            if matches!(
                self.word(self.i - 1).as_deref(),
                Some("THEN" | "ELSE" | "LOOP")
            ) {
                break;
            }
        }
        self.toks[self.i.saturating_sub(1).min(self.toks.len() - 1)].end
    }

    /// The first words of the statement at `i` (tokens before `stop`), for a warning.
    fn summary(&self, i: usize, stop: usize) -> String {
        summary(self.text, self.toks, i, stop)
    }

    /// A statement: a scheduler call, or something to ignore.
    fn statement(&mut self) {
        let Some(first) = self.tok(self.i) else {
            return;
        };
        let (parts, after) = self.qualified_name(self.i);
        let upper: Vec<String> = parts.iter().map(|p| p.to_ascii_uppercase()).collect();
        let is_sched = match upper.as_slice() {
            [pkg, _] => pkg == "DBMS_SCHEDULER",
            [sys, pkg, _] => sys == "SYS" && pkg == "DBMS_SCHEDULER",
            _ => false,
        };
        if is_sched {
            let proc = upper.last().cloned().unwrap_or_default();
            let (start, end) = (first.start, self.toks[after - 1].end);
            match self.call(proc, start, end, after) {
                Ok(call) => self.items.push(Item::Call(call)),
                Err(e) => {
                    self.errors.push(e);
                    self.skip_statement();
                }
            }
            return;
        }
        let first_i = self.i;
        let start = first.start;
        let end = self.skip_statement();
        let summary = self.summary(first_i, self.i);
        self.items.push(Item::Ignored {
            start,
            end,
            summary,
        });
    }

    /// `a.b.c` at `i`: its parts and the index after it.
    fn qualified_name(&self, mut i: usize) -> (Vec<String>, usize) {
        let mut parts = Vec::new();
        while let Some(TokKind::Ident(w) | TokKind::QuotedIdent(w)) = self.tok(i).map(|t| &t.kind) {
            parts.push(w.clone());
            i += 1;
            if !self.is_punct(i, ".") {
                break;
            }
            i += 1;
        }
        (parts, i)
    }

    fn found(&self, i: usize) -> String {
        match self.tok(i).map(|t| &t.kind) {
            None => "the end of the statement".to_string(),
            Some(TokKind::SlashLine) => "the `/` line".to_string(),
            Some(TokKind::Str(_)) => "a string".to_string(),
            Some(_) => format!("`{}`", &self.text[self.toks[i].start..self.toks[i].end]),
        }
    }

    fn error_at(&self, i: usize, message: String, expected: &str) -> SyntaxError {
        let (start, end) = match self.tok(i) {
            Some(t) => (t.start, t.end),
            None => {
                let end = self.toks.last().map_or(0, |t| t.end);
                (end, end)
            }
        };
        SyntaxError {
            start,
            end,
            message,
            expected: expected.to_string(),
        }
    }

    /// The argument list and terminator of a call whose name ends before `i`.
    fn call(
        &mut self,
        proc: String,
        start: usize,
        end: usize,
        mut i: usize,
    ) -> Result<Call, SyntaxError> {
        let full = format!("DBMS_SCHEDULER.{proc}");
        let mut args = Vec::new();
        if self.is_punct(i, "(") {
            i += 1;
            if self.is_punct(i, ")") {
                i += 1;
            } else {
                loop {
                    let (arg, next) = self.argument(i, &full)?;
                    args.push(arg);
                    i = next;
                    if self.is_punct(i, ",") {
                        i += 1;
                    } else if self.is_punct(i, ")") {
                        i += 1;
                        break;
                    } else {
                        return Err(self.error_at(
                            i,
                            format!("expected `,` or `)` in the arguments of {full}, found {}: a `)` is missing", self.found(i)),
                            "`,` or `)`",
                        ));
                    }
                }
            }
        } else if !self.is_punct(i, ";")
            && self.tok(i).is_some_and(|t| t.line == self.toks[i - 1].line)
        {
            return Err(self.error_at(
                i,
                format!("expected `(` or `;` after {full}, found {}", self.found(i)),
                "`(` or `;`",
            ));
        }
        if self.is_punct(i, ";") {
            i += 1;
        } else if !(self.exec && self.depth == 0 && self.tok(i).is_none()) {
            // Only the last call of an EXEC line or a SQL CALL may go without `;`.
            return Err(self.error_at(
                i,
                format!(
                    "expected `;` after the call to {full}, found {}",
                    self.found(i)
                ),
                "`;`",
            ));
        }
        self.i = i;
        Ok(Call {
            proc,
            start,
            end,
            args,
        })
    }

    /// One argument at `i`: `[name =>] value`, up to the `,` or `)` that ends it.
    fn argument(&self, mut i: usize, full: &str) -> Result<(Arg, usize), SyntaxError> {
        let start_i = i;
        let mut name = None;
        if matches!(self.tok(i + 1).map(|t| &t.kind), Some(TokKind::Arrow)) {
            match self.tok(i).map(|t| &t.kind) {
                Some(TokKind::Ident(w) | TokKind::QuotedIdent(w)) => {
                    name = Some(w.to_ascii_lowercase());
                    i += 2;
                }
                _ => {
                    return Err(self.error_at(
                        i,
                        format!(
                            "expected a parameter name before `=>`, found {}",
                            self.found(i)
                        ),
                        "a parameter name",
                    ))
                }
            }
        }
        let mut value_toks: Vec<Token> = Vec::new();
        let mut depth = 0usize;
        loop {
            let Some(t) = self.tok(i) else {
                return Err(self.error_at(
                    i,
                    format!("the arguments of {full} are never closed: a `)` is missing"),
                    "`,` or `)`",
                ));
            };
            match &t.kind {
                TokKind::Punct(p) if p == "(" => depth += 1,
                TokKind::Punct(p) if p == ")" => {
                    if depth == 0 {
                        break;
                    }
                    depth -= 1;
                }
                TokKind::Punct(p) if p == "," && depth == 0 => break,
                TokKind::Punct(p) if p == ";" => {
                    return Err(self.error_at(
                        i,
                        format!("expected `,` or `)` in the arguments of {full}, found `;`: a `)` is missing"),
                        "`,` or `)`",
                    ))
                }
                TokKind::SlashLine | TokKind::Arrow => {
                    return Err(self.error_at(
                        i,
                        format!("expected `,` or `)` in the arguments of {full}, found {}", self.found(i)),
                        "`,` or `)`",
                    ))
                }
                _ => {}
            }
            value_toks.push(t.clone());
            i += 1;
        }
        if value_toks.is_empty() {
            let what = name
                .as_deref()
                .map(|n| format!("a value for `{n}`"))
                .unwrap_or_else(|| "a value".to_string());
            return Err(self.error_at(
                i,
                format!(
                    "expected {what} in the arguments of {full}, found {}",
                    self.found(i)
                ),
                &what,
            ));
        }
        let arg = Arg {
            name,
            value: eval(&value_toks, self.text),
            start: self.toks[start_i].start,
            end: self.toks[i - 1].end,
        };
        Ok((arg, i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calls(text: &str) -> Vec<Call> {
        parse(text)
            .into_iter()
            .flat_map(|u| {
                assert!(u.errors.is_empty(), "{:?}", u.errors);
                u.items
            })
            .filter_map(|i| match i {
                Item::Call(c) => Some(c),
                _ => None,
            })
            .collect()
    }

    fn errors(text: &str) -> Vec<SyntaxError> {
        parse(text).into_iter().flat_map(|u| u.errors).collect()
    }

    #[test]
    fn block_exec_and_named_arguments() {
        let text = "SET SERVEROUTPUT ON\nBEGIN\n  sys.dbms_scheduler.create_chain(chain_name => 'c1', comments => 'x' || 'y');\n  DBMS_SCHEDULER.ENABLE('c1');\nEXCEPTION WHEN OTHERS THEN NULL;\nEND;\n/\nEXEC DBMS_SCHEDULER.DEFINE_CHAIN_STEP('c1', 's1', -\n 'p1')\n";
        let c = calls(text);
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].proc, "CREATE_CHAIN");
        assert_eq!(c[0].args[0].name.as_deref(), Some("chain_name"));
        assert_eq!(c[0].args[1].value, Value::Str("xy".into()));
        assert_eq!(c[2].args.len(), 3);
        assert_eq!(c[2].args[2].value, Value::Str("p1".into()));
    }

    #[test]
    fn exec_continuation_before_a_named_argument() {
        let c = calls("exec DBMS_SCHEDULER.CREATE_CHAIN( -\n  chain_name => 'C1')\n");
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].args[0].name.as_deref(), Some("chain_name"));
        // A minus inside a line is still a minus.
        let c = calls("exec DBMS_SCHEDULER.SET_ATTRIBUTE('j', 'x', -1)\n");
        assert_eq!(c[0].args[2].value, Value::Num("-1".into()));
    }

    #[test]
    fn exec_is_one_line() {
        let c = calls("exec dbms_output.put_line('x')\nexec DBMS_SCHEDULER.CREATE_CHAIN('C')\n");
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].proc, "CREATE_CHAIN");
        let c = calls("exec DBMS_SCHEDULER.CREATE_CHAIN('A'); DBMS_SCHEDULER.CREATE_CHAIN('B');\n");
        assert_eq!(c.len(), 2);
        assert!(!errors(
            "exec DBMS_SCHEDULER.CREATE_CHAIN('A') -\n DBMS_SCHEDULER.CREATE_CHAIN('B')\n"
        )
        .is_empty());
    }

    #[test]
    fn a_slash_line_inside_an_exec_continuation_is_an_error_not_a_hang() {
        let e = errors("exec DBMS_SCHEDULER.CREATE_CHAIN( -\n/\n  'C')\n");
        assert!(!e.is_empty());
        assert!(e[0].message.contains("the `/` line"), "{}", e[0].message);
    }

    #[test]
    fn missing_parenthesis_is_an_error() {
        let e = errors("BEGIN\n DBMS_SCHEDULER.CREATE_CHAIN('c1';\nEND;\n/");
        assert!(e[0].message.contains("`)` is missing"), "{:?}", e);
        assert_eq!(e[0].expected, "`,` or `)`");
    }

    #[test]
    fn other_statements_are_ignored_items() {
        let units = parse("BEGIN DBMS_OUTPUT.PUT_LINE('x'); COMMIT; END;\n/\n");
        assert_eq!(units[0].items.len(), 1);
        assert!(
            matches!(&units[0].items[0], Item::Ignored { summary, .. } if summary.starts_with("DBMS_OUTPUT"))
        );
    }

    #[test]
    fn statements_end_where_sqlplus_ends_them() {
        // A procedure without `/` swallows the block after it.
        let e = errors("create or replace procedure p as begin null; end;\nbegin dbms_scheduler.create_chain('C'); end;\n/\n");
        assert_eq!(e.len(), 1);
        assert!(
            e[0].message.contains("no `/` line ends"),
            "{}",
            e[0].message
        );
        // A blank line ends a SQL statement.
        let c = calls("select * from dual\n\nbegin dbms_scheduler.create_chain('C'); end;\n/\n");
        assert_eq!(c.len(), 1);
        // END without `;`.
        let e = errors("begin dbms_scheduler.create_chain('A'); end\n\nbegin dbms_scheduler.create_chain('B'); end;\n/\n");
        assert!(
            e[0].message.contains("expected `;` after the END"),
            "{}",
            e[0].message
        );
        // Two blocks without `/` between them.
        let e = errors("begin dbms_scheduler.create_chain('A'); end;\nbegin dbms_scheduler.create_chain('B'); end;\n/\n");
        assert!(e[0].message.contains("PLS-00103"), "{}", e[0].message);
        // A bare call is not SQL.
        let e = errors("DBMS_SCHEDULER.CREATE_CHAIN('C');\n");
        assert!(e[0].message.contains("ORA-00900"), "{}", e[0].message);
        // CALL is.
        assert_eq!(calls("CALL DBMS_SCHEDULER.CREATE_CHAIN('C');\n").len(), 1);
    }

    #[test]
    fn calls_inside_a_procedure_are_a_note() {
        let units =
            parse("create procedure setup as begin dbms_scheduler.create_chain('C'); end;\n/\n");
        assert!(units[0].errors.is_empty());
        assert!(
            matches!(&units[0].items[0], Item::Note { text, .. } if text.contains("not when the script does"))
        );
    }
}
