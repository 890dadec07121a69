//! The script cut into statements the way SQL*Plus reads it: line by line.
//!
//! Why line by line, before any tokenizing: SQL*Plus decides where a statement ends from lines,
//! not from PL/SQL syntax, and the importer must import exactly what SQL*Plus would run. What
//! SQL*Plus documents (and this reader does):
//!
//! * At the start of a statement, a line whose first word is a SQL*Plus command (`SET`,
//!   `PROMPT`, `DESC`, `PAUSE`, `REM`..., abbreviations included; `@file`, `!`, `$`) is that
//!   command: one line, continued by a `-` at its end. It is never tokenized, so
//!   `PROMPT Don't forget` is fine. `EXEC[UTE]` is such a command: its statement is that line
//!   (and its `-` continuations), no more.
//! * `DECLARE`, `BEGIN`, `<<label>>` and `CREATE [OR REPLACE] PROCEDURE|FUNCTION|PACKAGE|
//!   TRIGGER|TYPE|LIBRARY|JAVA` start PL/SQL: every line up to a line holding only `/` (run
//!   it) or `.` (keep it, do not run it) belongs to it, blank lines and `;` included.
//! * Anything else is SQL: it ends at a line ending with `;` (run it), a `/` line (run it), a
//!   blank line or a `.` line (keep it in the buffer, do not run it; `SET SQLBLANKLINES ON`
//!   makes blank lines part of the statement).
//! * A `/` line between statements runs the buffer: the statement kept by a blank or `.` line,
//!   or the last one again. `--` lines and `/* */` comments between statements are skipped.
//!
//! Like SQL*Plus, the reader does not look inside strings or comments to find these lines.

/// What a statement is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A SQL*Plus command: skipped.
    Command,
    /// `EXEC[UTE] ...`: SQL*Plus runs `BEGIN ...; END;`.
    Exec,
    /// An anonymous PL/SQL block.
    Block,
    /// `CREATE ... PROCEDURE|FUNCTION|...`: a stored unit, not run by the script.
    Create(CreateKind),
    /// Any other SQL statement.
    Sql,
}

/// The shape of a `CREATE` unit, which says where its text ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateKind {
    /// PROCEDURE, FUNCTION, PACKAGE [BODY], TYPE BODY: `IS|AS ... END [name];`.
    Subprogram,
    /// TRIGGER: `[DECLARE ...] BEGIN ... END;`.
    Trigger,
    /// TYPE (a specification): ends at its first `;`.
    TypeSpec,
    /// LIBRARY, JAVA: not followed.
    Other,
}

/// What ended a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// A command or EXEC line (with its continuations).
    Line,
    /// A `;` at the end of a line (SQL).
    Semicolon,
    /// A line holding only `/`.
    Slash,
    /// A blank line (SQL): kept in the buffer, not run.
    BlankLine,
    /// A line holding only `.`: kept in the buffer, not run.
    Dot,
    /// The end of the file.
    Eof,
}

/// One statement of the script.
#[derive(Debug, Clone, PartialEq)]
pub struct RawUnit {
    pub kind: Kind,
    /// Its text, `start..end`: from its first character to the end of its last line (a
    /// terminating `;` included, the `/` or `.` line not).
    pub start: usize,
    pub end: usize,
    pub ending: Ending,
    /// Where the line that ended it starts (the `/`, `.` or blank line; `end` otherwise).
    pub ended_at: usize,
    /// SQL*Plus runs it: an EXEC, a statement ended by `;` or `/`, or one run later by a `/`
    /// or `RUN` line.
    pub runs: bool,
    /// Where the `WHENEVER SQLERROR EXIT` in force when it is read is.
    pub whenever_exit: Option<usize>,
    /// Its first word, upper-cased (`EXEC`, `BEGIN`, `SELECT`), or its first character.
    pub head: String,
}

/// A `/` (or `RUN`) line that runs the buffer again: the statement `unit` runs twice.
#[derive(Debug, Clone, PartialEq)]
pub struct Rerun {
    pub start: usize,
    pub end: usize,
    pub unit: usize,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Script {
    pub units: Vec<RawUnit>,
    pub reruns: Vec<Rerun>,
}

/// SQL*Plus commands and the shortest abbreviation SQL*Plus accepts for each.
const COMMANDS: &[(&str, usize)] = &[
    ("ACCEPT", 3),
    ("APPEND", 1),
    ("ARCHIVE", 7),
    ("ATTRIBUTE", 4),
    ("BREAK", 3),
    ("BTITLE", 3),
    ("CHANGE", 1),
    ("CLEAR", 2),
    ("COLUMN", 3),
    ("COMPUTE", 4),
    ("CONNECT", 4),
    ("COPY", 4),
    ("DEFINE", 3),
    ("DEL", 3),
    ("DESCRIBE", 4),
    ("DISCONNECT", 4),
    ("EDIT", 2),
    ("EXIT", 4),
    ("GET", 3),
    ("HELP", 4),
    ("HISTORY", 4),
    ("HOST", 2),
    ("INPUT", 1),
    ("LIST", 1),
    ("PASSWORD", 5),
    ("PAUSE", 3),
    ("PRINT", 3),
    ("PROMPT", 3),
    ("QUIT", 4),
    ("RECOVER", 7),
    ("REMARK", 3),
    ("REPFOOTER", 4),
    ("REPHEADER", 4),
    ("RUN", 1),
    ("SAVE", 3),
    ("SET", 3),
    ("SHOW", 3),
    ("SHUTDOWN", 8),
    ("SPOOL", 3),
    ("START", 3),
    ("STARTUP", 7),
    ("STORE", 5),
    ("TIMING", 4),
    ("TTITLE", 3),
    ("UNDEFINE", 5),
    ("VARIABLE", 3),
    ("WHENEVER", 8),
    ("XQUERY", 6),
];

/// `word` (upper case) is `full` or an abbreviation of it SQL*Plus accepts.
fn abbreviates(word: &str, full: &str, min: usize) -> bool {
    word.len() >= min && full.starts_with(word)
}

fn command(words: &[String]) -> Option<&'static str> {
    let w = words.first()?;
    let (full, _) = COMMANDS
        .iter()
        .find(|(full, min)| abbreviates(w, full, *min))?;
    // SET ROLE / SET TRANSACTION / SET CONSTRAINTS are SQL statements.
    if *full == "SET"
        && matches!(
            words.get(1).map(String::as_str),
            Some("ROLE" | "TRANSACTION" | "CONSTRAINT" | "CONSTRAINTS")
        )
    {
        return None;
    }
    Some(full)
}

fn plsql_start(words: &[String], line: &str) -> Option<Kind> {
    if line.starts_with("<<") {
        return Some(Kind::Block);
    }
    match words.first()?.as_str() {
        "DECLARE" | "BEGIN" => return Some(Kind::Block),
        "CREATE" => {}
        _ => return None,
    }
    let mut i = 1;
    while words.get(i).is_some_and(|w| {
        matches!(
            w.as_str(),
            "OR" | "REPLACE"
                | "EDITIONABLE"
                | "EDITIONING"
                | "NONEDITIONABLE"
                | "AND"
                | "RESOLVE"
                | "COMPILE"
                | "NOFORCE"
        )
    }) {
        i += 1;
    }
    let kind = match words.get(i)?.as_str() {
        "PROCEDURE" | "FUNCTION" | "PACKAGE" => CreateKind::Subprogram,
        "TRIGGER" => CreateKind::Trigger,
        "TYPE" if words.get(i + 1).map(String::as_str) == Some("BODY") => CreateKind::Subprogram,
        "TYPE" => CreateKind::TypeSpec,
        "LIBRARY" | "JAVA" => CreateKind::Other,
        _ => return None,
    };
    Some(Kind::Create(kind))
}

/// The first `n` words from `text` (upper-cased), skipping blanks and comments, stopping at
/// anything that is not a word.
fn first_words(text: &str, n: usize) -> Vec<String> {
    let mut words = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    let limit = text.len().min(4000);
    while i < limit && words.len() < n {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if text[i..].starts_with("--") {
            i = text[i..].find('\n').map_or(text.len(), |k| i + k);
        } else if text[i..].starts_with("/*") {
            i = text[i + 2..]
                .find("*/")
                .map_or(text.len(), |k| i + 2 + k + 2);
        } else if c.is_ascii_alphanumeric() || matches!(c, b'_' | b'$' | b'#') {
            let s = i;
            while i < text.len()
                && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'$' | b'#'))
            {
                i += 1;
            }
            words.push(text[s..i].to_ascii_uppercase());
        } else {
            break;
        }
    }
    words
}

/// Read `text` as SQL*Plus would.
pub fn read(text: &str) -> Script {
    let mut r = Reader {
        text,
        pos: if text.starts_with('\u{feff}') { 3 } else { 0 },
        script: Script::default(),
        buffer: None,
        blank_lines: false,
        whenever_exit: None,
    };
    r.run();
    r.script
}

struct Reader<'a> {
    text: &'a str,
    pos: usize,
    script: Script,
    /// The statement in SQL*Plus's buffer (what `/` runs).
    buffer: Option<usize>,
    /// `SET SQLBLANKLINES ON`.
    blank_lines: bool,
    whenever_exit: Option<usize>,
}

impl Reader<'_> {
    /// Where the line containing `from` ends (its `\n`, or the end of the text).
    fn line_end(&self, from: usize) -> usize {
        self.text[from..]
            .find('\n')
            .map_or(self.text.len(), |k| from + k)
    }

    /// Where the line after the one containing `from` starts.
    fn next_line(&self, from: usize) -> usize {
        (self.line_end(from) + 1).min(self.text.len())
    }

    fn run(&mut self) {
        while self.pos < self.text.len() {
            let start = self.pos;
            let le = self.line_end(start);
            let line = &self.text[start..le];
            let t = line.trim();
            let lead = start + (line.len() - line.trim_start().len());
            if t.is_empty() || t.starts_with("--") {
                self.pos = self.next_line(start);
                continue;
            }
            if t.starts_with("/*") {
                self.pos = self.text[lead + 2..]
                    .find("*/")
                    .map_or(self.text.len(), |k| lead + 2 + k + 2);
                continue;
            }
            if t == "/" {
                self.run_buffer(lead, le);
                self.pos = self.next_line(start);
                continue;
            }
            if t == "." {
                self.pos = self.next_line(start);
                continue;
            }
            let words = first_words(&self.text[lead..], 8);
            let head = words
                .first()
                .cloned()
                .unwrap_or_else(|| t.chars().take(1).collect());
            if t.starts_with(['@', '!', '$']) {
                self.command(lead, head);
            } else if abbreviates(&head, "EXECUTE", 4) {
                let end = self.command_end(lead);
                self.push(Kind::Exec, lead, end, Ending::Line, end, true, head);
                self.pos = self.next_line(end);
            } else if let Some(cmd) = command(&words) {
                self.sqlplus_command(cmd, &words, lead, le);
                self.command(lead, head);
            } else if let Some(kind) = plsql_start(&words, t) {
                self.plsql(kind, lead, head);
            } else {
                self.sql(lead, head);
            }
        }
    }

    /// The effects of a command that matter here.
    fn sqlplus_command(&mut self, cmd: &str, words: &[String], lead: usize, le: usize) {
        let word = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
        match cmd {
            "WHENEVER" if word(1) == "SQLERROR" => {
                self.whenever_exit = abbreviates(word(2), "EXIT", 4).then_some(lead);
            }
            "SET" if abbreviates(word(1), "SQLBLANKLINES", 5) => match word(2) {
                "ON" => self.blank_lines = true,
                "OFF" => self.blank_lines = false,
                _ => {}
            },
            "RUN" => self.run_buffer(lead, le),
            _ => {}
        }
    }

    /// Where a command starting at `from` ends: its line, and the next ones while a line
    /// ends with `-`.
    fn command_end(&self, from: usize) -> usize {
        let mut ls = from;
        loop {
            let le = self.line_end(ls);
            if le < self.text.len() && self.text[ls..le].trim_end().ends_with('-') {
                ls = le + 1;
                continue;
            }
            return le;
        }
    }

    fn command(&mut self, lead: usize, head: String) {
        let end = self.command_end(lead);
        self.push(Kind::Command, lead, end, Ending::Line, end, true, head);
        self.pos = self.next_line(end);
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        kind: Kind,
        start: usize,
        end: usize,
        ending: Ending,
        ended_at: usize,
        runs: bool,
        head: String,
    ) -> usize {
        self.script.units.push(RawUnit {
            kind,
            start,
            end,
            ending,
            ended_at,
            runs,
            whenever_exit: self.whenever_exit,
            head,
        });
        self.script.units.len() - 1
    }

    /// PL/SQL: every line up to a `/` or `.` line.
    fn plsql(&mut self, kind: Kind, lead: usize, head: String) {
        let mut end = self.line_end(lead);
        let mut ls = self.next_line(lead);
        let (ending, ended_at) = loop {
            if ls >= self.text.len() || end >= self.text.len() {
                break (Ending::Eof, self.text.len());
            }
            let le = self.line_end(ls);
            match self.text[ls..le].trim() {
                "/" => break (Ending::Slash, ls),
                "." => break (Ending::Dot, ls),
                _ => {
                    end = le;
                    ls = self.next_line(ls);
                }
            }
        };
        let end = self.trim_end(lead, end);
        let i = self.push(
            kind,
            lead,
            end,
            ending,
            ended_at,
            ending == Ending::Slash,
            head,
        );
        self.buffer = Some(i);
        self.pos = if ending == Ending::Eof {
            self.text.len()
        } else {
            self.next_line(ended_at)
        };
    }

    /// SQL: up to a line ending with `;`, a `/`, `.` or blank line.
    fn sql(&mut self, lead: usize, head: String) {
        let mut ls = lead;
        let mut end = lead;
        let (ending, ended_at) = loop {
            if ls >= self.text.len() {
                break (Ending::Eof, self.text.len());
            }
            let le = self.line_end(ls);
            let t = self.text[ls..le].trim();
            if ls != lead {
                match t {
                    "/" => break (Ending::Slash, ls),
                    "." => break (Ending::Dot, ls),
                    "" if !self.blank_lines => break (Ending::BlankLine, ls),
                    _ => {}
                }
            }
            if !t.is_empty() {
                end = le;
            }
            if t.ends_with(';') {
                break (Ending::Semicolon, le);
            }
            if le >= self.text.len() {
                break (Ending::Eof, self.text.len());
            }
            ls = le + 1;
        };
        let end = self.trim_end(lead, end);
        let runs = matches!(ending, Ending::Semicolon | Ending::Slash);
        let i = self.push(Kind::Sql, lead, end, ending, ended_at, runs, head);
        self.buffer = Some(i);
        self.pos = match ending {
            Ending::Eof => self.text.len(),
            _ => self.next_line(ended_at),
        };
    }

    /// `end` moved back over trailing blanks (not before `start`).
    fn trim_end(&self, start: usize, end: usize) -> usize {
        start + self.text[start..end].trim_end().len()
    }

    /// A `/` or RUN line: run the buffer.
    fn run_buffer(&mut self, start: usize, end: usize) {
        let Some(i) = self.buffer else { return };
        let u = &mut self.script.units[i];
        if u.runs {
            self.script.reruns.push(Rerun {
                start,
                end,
                unit: i,
            });
        } else {
            u.runs = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, String, Ending, bool)> {
        read(text)
            .units
            .iter()
            .map(|u| (u.kind, text[u.start..u.end].to_string(), u.ending, u.runs))
            .collect()
    }

    #[test]
    fn commands_exec_blocks_and_sql() {
        let text = "set serveroutput on\nPROMPT Don't stop\ndesc dba_scheduler_chains\npause\nexec a( -\n  x => 1)\nbegin\n  null;\n\nend;\n/\nselect 1 from dual;\n";
        let k = kinds(text);
        assert_eq!(k.len(), 7, "{k:?}");
        assert_eq!(k[0].0, Kind::Command);
        assert_eq!(k[1].1, "PROMPT Don't stop");
        assert_eq!(k[2].0, Kind::Command);
        assert_eq!(k[3].0, Kind::Command);
        assert_eq!(
            k[4],
            (
                Kind::Exec,
                "exec a( -\n  x => 1)".into(),
                Ending::Line,
                true
            )
        );
        assert_eq!(
            k[5],
            (
                Kind::Block,
                "begin\n  null;\n\nend;".into(),
                Ending::Slash,
                true
            )
        );
        assert_eq!(
            k[6],
            (
                Kind::Sql,
                "select 1 from dual;".into(),
                Ending::Semicolon,
                true
            )
        );
    }

    #[test]
    fn a_blank_line_ends_sql_without_running_it() {
        let k = kinds("select * from dual\n\nbegin x; end;\n/\n");
        assert_eq!(
            k[0],
            (
                Kind::Sql,
                "select * from dual".into(),
                Ending::BlankLine,
                false
            )
        );
        assert_eq!(k[1].0, Kind::Block);
        let k = kinds("SET SQLBLANKLINES ON\nselect *\n\nfrom dual;\n");
        assert_eq!(k[1].1, "select *\n\nfrom dual;");
        // A later `/` runs the kept statement; a second one runs it again.
        let s = read("select 1 from dual\n.\n/\n/\n");
        assert!(s.units[0].runs);
        assert_eq!(s.reruns.len(), 1);
    }

    #[test]
    fn create_units_run_to_the_slash() {
        let k = kinds("create or replace procedure p as begin null; end;\nbegin x; end;\n/\n");
        assert_eq!(k.len(), 1);
        assert_eq!(k[0].0, Kind::Create(CreateKind::Subprogram));
        assert_eq!(
            kinds("CREATE OR REPLACE\n  TYPE BODY t AS END;\n/")[0].0,
            Kind::Create(CreateKind::Subprogram)
        );
        assert_eq!(
            kinds("create type t as object (a number);\n/")[0].0,
            Kind::Create(CreateKind::TypeSpec)
        );
        assert_eq!(kinds("create table t (a number);")[0].0, Kind::Sql);
        assert_eq!(kinds("set role all;")[0].0, Kind::Sql);
    }

    #[test]
    fn comments_between_statements() {
        let k = kinds("/* a\n / \n*/ begin x; end;\n/\n-- c\nREM it's\n");
        assert_eq!(k[0].0, Kind::Block);
        assert_eq!(k[0].1, "begin x; end;");
        assert_eq!(k[1].0, Kind::Command);
    }

    #[test]
    fn whenever_sqlerror_is_tracked() {
        let s = read("WHENEVER SQLERROR EXIT FAILURE\nbegin x; end;\n/\nwhenever sqlerror continue\nexec y\n");
        assert_eq!(s.units[1].whenever_exit, Some(0));
        assert_eq!(s.units[3].whenever_exit, None);
    }
}
