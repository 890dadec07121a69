//! Finds the `DBMS_SCHEDULER.xxx(...)` calls of a script and parses their argument lists.
//!
//! Why not a PL/SQL parser: chain scripts are `BEGIN ... END;` blocks and `EXEC` lines made
//! of scheduler calls, sometimes with a `DECLARE`, an `EXCEPTION WHEN OTHERS THEN NULL;` or a
//! `COMMIT`. This scanner walks statements (cut at `;`, at `THEN`/`ELSE`/`LOOP`, at `/` lines),
//! parses the ones that call DBMS_SCHEDULER strictly (a malformed call is an error with its
//! position), skips SQL*Plus commands (`SET ...`, `PROMPT ...`: to the end of the line),
//! exception handlers and `CREATE PROCEDURE ... /` units, and reports every other statement
//! as ignored, so the translator can warn about it.

use super::lexer::{tokenize, TokKind, Token};
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

/// What the script holds, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Call(Call),
    /// A statement that is not a DBMS_SCHEDULER call; `summary` is its first words.
    Ignored {
        start: usize,
        end: usize,
        summary: String,
    },
}

/// A syntax error: where, what is wrong, what was expected.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub start: usize,
    pub end: usize,
    pub message: String,
    pub expected: String,
}

/// Parse a script; every malformed call is reported (parsing resumes after its `;`).
pub fn parse(text: &str) -> Result<Vec<Item>, Vec<SyntaxError>> {
    let toks = tokenize(text).map_err(|e| {
        vec![SyntaxError {
            start: e.start,
            end: e.end,
            message: e.message,
            expected: e.expected,
        }]
    })?;
    let mut p = Scanner {
        text,
        toks: &toks,
        i: 0,
        depth: 0,
        items: Vec::new(),
        errors: Vec::new(),
    };
    p.run();
    if p.errors.is_empty() {
        Ok(p.items)
    } else {
        Err(p.errors)
    }
}

/// SQL*Plus commands: they end at the end of their line and need no `;`.
const SQLPLUS_COMMANDS: &[&str] = &[
    "SET", "PROMPT", "SPOOL", "WHENEVER", "CONNECT", "CONN", "SHOW", "DEFINE", "UNDEFINE",
    "COLUMN", "COL", "REM", "REMARK", "EXIT", "QUIT", "TIMING", "TTITLE", "BTITLE", "VARIABLE",
    "VAR", "PRINT", "@", "@@", "START", "HOST", "CLEAR", "BREAK", "ACCEPT",
];

struct Scanner<'a> {
    text: &'a str,
    toks: &'a [Token],
    i: usize,
    /// BEGIN ... END nesting; a call inside a block must end with `;`.
    depth: usize,
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
        while let Some(t) = self.tok(self.i) {
            if t.kind == TokKind::SlashLine {
                self.depth = 0;
                self.i += 1;
                continue;
            }
            if self.is_punct(self.i, ";") {
                self.i += 1;
                continue;
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
                Some("EXEC" | "EXECUTE") => {
                    self.i += 1;
                    self.statement(true);
                }
                Some(w)
                    if self.depth == 0 && self.starts_line(self.i) && self.sqlplus_command(w) =>
                {
                    self.skip_line()
                }
                Some("CREATE") if self.depth == 0 && self.creates_plsql_unit() => {
                    self.skip_plsql_unit()
                }
                _ if self.is_punct(self.i, "@") && self.depth == 0 => self.skip_line(),
                _ => self.statement(false),
            }
        }
    }

    fn sqlplus_command(&self, w: &str) -> bool {
        SQLPLUS_COMMANDS.contains(&w) && !(w == "START" && self.is_call_next())
    }

    /// `START` followed by `(`/`.`: not the SQL*Plus command.
    fn is_call_next(&self) -> bool {
        self.is_punct(self.i + 1, ".") || self.is_punct(self.i + 1, "(")
    }

    fn starts_line(&self, i: usize) -> bool {
        i == 0 || self.toks[i - 1].line < self.toks[i].line
    }

    /// `END IF`, `END LOOP`, `END CASE` close a statement, not a block.
    fn ends_inner_statement(&self, i: usize) -> bool {
        matches!(self.word(i + 1).as_deref(), Some("IF" | "LOOP" | "CASE"))
    }

    fn skip_line(&mut self) {
        let line = self.toks[self.i].line;
        while self.tok(self.i).is_some_and(|t| t.line == line) {
            self.i += 1;
        }
    }

    /// DECLARE ... BEGIN: variable declarations are not scheduler calls.
    fn skip_declarations(&mut self) {
        self.i += 1;
        while let Some(t) = self.tok(self.i) {
            if t.kind == TokKind::SlashLine || self.word(self.i).as_deref() == Some("BEGIN") {
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
        while let Some(t) = self.tok(self.i) {
            if t.kind == TokKind::SlashLine {
                return;
            }
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

    fn creates_plsql_unit(&self) -> bool {
        (self.i + 1..self.i + 6).any(|k| {
            matches!(
                self.word(k).as_deref(),
                Some("PROCEDURE" | "FUNCTION" | "PACKAGE" | "TRIGGER" | "TYPE")
            )
        })
    }

    /// `CREATE [OR REPLACE] PROCEDURE ... /`: its body is not part of the chain definitions.
    fn skip_plsql_unit(&mut self) {
        let start = self.toks[self.i].start;
        let summary = self.summary(self.i, self.toks.len());
        while let Some(t) = self.tok(self.i) {
            self.i += 1;
            if t.kind == TokKind::SlashLine {
                break;
            }
        }
        let end = self.toks[self.i - 1].end;
        self.items.push(Item::Ignored {
            start,
            end,
            summary,
        });
    }

    /// Up to and including the next `;` (or THEN/ELSE/LOOP, after which a new statement
    /// starts), stopping before a `/` line.
    fn skip_statement(&mut self) -> usize {
        while let Some(t) = self.tok(self.i) {
            if t.kind == TokKind::SlashLine {
                break;
            }
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
        let start = self.toks[i].start;
        let last = (i + 6)
            .min(stop.saturating_sub(1))
            .max(i)
            .min(self.toks.len() - 1);
        let end = self.toks[last].end;
        let text: String = self.text[start..end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let mut short: String = text.chars().take(60).collect();
        if short.len() < text.len() {
            short.push_str("...");
        }
        short
    }

    /// A statement: a scheduler call, or something to ignore.
    fn statement(&mut self, exec: bool) {
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
            match self.call(proc, start, end, after, exec) {
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
            None => "the end of the file".to_string(),
            Some(TokKind::SlashLine) => "the `/` line".to_string(),
            Some(TokKind::Str(_)) => "a string".to_string(),
            Some(_) => format!("`{}`", &self.text[self.toks[i].start..self.toks[i].end]),
        }
    }

    fn error_at(&self, i: usize, message: String, expected: &str) -> SyntaxError {
        let (start, end) = match self.tok(i) {
            Some(t) => (t.start, t.end),
            None => (self.text.len(), self.text.len()),
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
        exec: bool,
    ) -> Result<Call, SyntaxError> {
        let full = format!("DBMS_SCHEDULER.{proc}");
        let mut args = Vec::new();
        if self.is_punct(i, "(") {
            i += 1;
            if self.is_punct(i, ")") {
                i += 1;
            } else {
                loop {
                    let (arg, next) = self.argument(i, &full, exec)?;
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
        } else {
            let at_line_end = match self.tok(i) {
                None => true,
                Some(t) => t.kind == TokKind::SlashLine || t.line > self.toks[i - 1].line,
            };
            if (exec || self.depth == 0) && at_line_end {
                // EXEC lines and SQL*Plus need no `;`.
            } else {
                return Err(self.error_at(
                    i,
                    format!(
                        "expected `;` after the call to {full}, found {}",
                        self.found(i)
                    ),
                    "`;`",
                ));
            }
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
    fn argument(&self, mut i: usize, full: &str, exec: bool) -> Result<(Arg, usize), SyntaxError> {
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
                // SQL*Plus line continuation of an EXEC line: `-` at the end of a line.
                TokKind::Punct(p)
                    if p == "-"
                        && exec
                        && self.tok(i + 1).is_none_or(|n| n.line > t.line) =>
                {
                    i += 1;
                    continue;
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
            .unwrap()
            .into_iter()
            .filter_map(|i| match i {
                Item::Call(c) => Some(c),
                Item::Ignored { .. } => None,
            })
            .collect()
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
    fn missing_parenthesis_is_an_error() {
        let e = parse("BEGIN\n DBMS_SCHEDULER.CREATE_CHAIN('c1';\nEND;\n/").unwrap_err();
        assert!(e[0].message.contains("`)` is missing"), "{:?}", e);
        assert_eq!(e[0].expected, "`,` or `)`");
    }

    #[test]
    fn other_statements_are_ignored_items() {
        let items = parse("BEGIN DBMS_OUTPUT.PUT_LINE('x'); COMMIT; END;").unwrap();
        assert_eq!(items.len(), 1);
        assert!(
            matches!(&items[0], Item::Ignored { summary, .. } if summary.starts_with("DBMS_OUTPUT"))
        );
    }
}
