//! Where a PL/SQL block or stored unit ends, from its `BEGIN`/`END` structure.
//!
//! Why: SQL*Plus sends everything up to the `/` line to Oracle as one unit. When a script
//! forgets the `/` after a block (or the `;` after its END), the next block, EXEC line or SQL
//! statement becomes part of it, Oracle rejects the whole (PLS-00103) and none of its
//! DBMS_SCHEDULER calls run. Finding the END that closes the block tells the importer what
//! SQL*Plus swallowed, so it can say so instead of importing calls Oracle never ran.
//!
//! Not a PL/SQL parser: it counts what opens a scope closed by `END` (`DECLARE`/`BEGIN`,
//! `IS`/`AS` after a `PROCEDURE`/`FUNCTION`/`PACKAGE`/`TYPE BODY` header, `CASE`, `IF`,
//! `LOOP`), which strings and comments (already tokens) cannot disturb.

use super::lexer::{TokKind, Token};

/// What kind of unit the tokens are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `[DECLARE ...] BEGIN ... END;` (an anonymous block, a trigger body).
    Block,
    /// `CREATE PROCEDURE|FUNCTION|PACKAGE [BODY]|TYPE BODY ... IS|AS ... END [name];`
    Subprogram,
    /// `CREATE TYPE ... ;` (a specification): its first `;` outside parentheses.
    TypeSpec,
}

/// Where the unit ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Its last token is `toks[i - 1]` (the `;` after its END): `toks[i..]` is something else.
    At(usize),
    /// The END at `end` closes it but no `;` follows; `toks[next]` (if any) comes instead.
    NoSemicolon { end: usize, next: usize },
    /// It is never closed.
    Open,
}

#[derive(Debug)]
struct Frame {
    /// Opened by DECLARE or IS/AS: a BEGIN continues it instead of opening a new scope.
    declarations: bool,
}

fn word(t: &Token) -> Option<String> {
    match &t.kind {
        TokKind::Ident(w) => Some(w.to_ascii_uppercase()),
        _ => None,
    }
}

fn is_semicolon(t: Option<&Token>) -> bool {
    matches!(t.map(|t| &t.kind), Some(TokKind::Punct(p)) if p == ";")
}

/// Words that start a statement or a unit, so cannot be the label or name after an END.
const STARTERS: &[&str] = &[
    "BEGIN",
    "DECLARE",
    "CREATE",
    "EXEC",
    "EXECUTE",
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "END",
    "CALL",
    "DBMS_SCHEDULER",
    "SYS",
];

/// Where the unit made of `toks` ends.
pub fn find_end(toks: &[Token], shape: Shape) -> End {
    if shape == Shape::TypeSpec {
        let mut parens = 0usize;
        for (i, t) in toks.iter().enumerate() {
            match &t.kind {
                TokKind::Punct(p) if p == "(" => parens += 1,
                TokKind::Punct(p) if p == ")" => parens = parens.saturating_sub(1),
                TokKind::Punct(p) if p == ";" && parens == 0 => return End::At(i + 1),
                _ => {}
            }
        }
        return End::Open;
    }
    let mut frames: Vec<Frame> = Vec::new();
    let mut header = shape == Shape::Subprogram;
    let mut prev: Option<String> = None;
    for (i, t) in toks.iter().enumerate() {
        let w = word(t);
        match w.as_deref() {
            Some("PROCEDURE" | "FUNCTION") => header = true,
            Some("IS" | "AS") if header => {
                header = false;
                frames.push(Frame { declarations: true });
            }
            Some("DECLARE") => frames.push(Frame { declarations: true }),
            Some("BEGIN") => match frames.last_mut() {
                Some(f) if f.declarations => f.declarations = false,
                _ => frames.push(Frame {
                    declarations: false,
                }),
            },
            Some("CASE" | "IF" | "LOOP") if prev.as_deref() != Some("END") => frames.push(Frame {
                declarations: false,
            }),
            Some("END") => {
                frames.pop();
                if frames.is_empty() {
                    return after_end(toks, i);
                }
            }
            _ => {
                if is_semicolon(Some(t)) {
                    header = false;
                }
            }
        }
        prev = w;
    }
    End::Open
}

/// The blocks that have an `EXCEPTION` section, as byte ranges (from BEGIN to END): an
/// error raised by a call inside one is caught by its handler, and the statement goes on
/// after that block's END; an error outside all of them ends the statement.
pub fn exception_scopes(toks: &[Token]) -> Vec<(usize, usize)> {
    struct Scope {
        declarations: bool,
        begin: Option<usize>,
        exception: bool,
    }
    let open = |declarations: bool, begin: Option<usize>| Scope {
        declarations,
        begin,
        exception: false,
    };
    let mut frames: Vec<Scope> = Vec::new();
    let mut out = Vec::new();
    let mut header = false;
    let mut prev: Option<String> = None;
    for t in toks {
        let w = word(t);
        match w.as_deref() {
            Some("PROCEDURE" | "FUNCTION") => header = true,
            Some("IS" | "AS") if header => {
                header = false;
                frames.push(open(true, None));
            }
            Some("DECLARE") => frames.push(open(true, None)),
            Some("BEGIN") => match frames.last_mut() {
                Some(f) if f.declarations => {
                    f.declarations = false;
                    f.begin = Some(t.start);
                }
                _ => frames.push(open(false, Some(t.start))),
            },
            Some("CASE" | "IF" | "LOOP") if prev.as_deref() != Some("END") => {
                frames.push(open(false, None))
            }
            Some("EXCEPTION") => {
                if let Some(f) = frames.last_mut().filter(|f| !f.declarations) {
                    f.exception = true;
                }
            }
            Some("END") => {
                if let Some(Scope {
                    begin: Some(b),
                    exception: true,
                    ..
                }) = frames.pop()
                {
                    out.push((b, t.end));
                }
            }
            _ => {
                if is_semicolon(Some(t)) {
                    header = false;
                }
            }
        }
        prev = w;
    }
    out
}

/// After the END at `i` that closes the unit: `[name] ;`.
fn after_end(toks: &[Token], i: usize) -> End {
    let mut j = i + 1;
    let is_label = |t: &Token| match &t.kind {
        TokKind::QuotedIdent(_) => true,
        TokKind::Ident(w) => !STARTERS.contains(&w.to_ascii_uppercase().as_str()),
        _ => false,
    };
    if toks.get(j).is_some_and(is_label) && is_semicolon(toks.get(j + 1)) {
        j += 1;
    }
    if is_semicolon(toks.get(j)) {
        End::At(j + 1)
    } else {
        End::NoSemicolon { end: i, next: j }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::lexer::tokenize;

    fn end(text: &str, shape: Shape) -> (End, usize) {
        let toks = tokenize(text).unwrap();
        (find_end(&toks, shape), toks.len())
    }

    #[test]
    fn anonymous_blocks() {
        let (e, n) = end(
            "declare x number; begin if x = 1 then null; end if; for i in 1..2 loop null; end loop; x := case when x > 0 then 1 else 2 end; end;",
            Shape::Block,
        );
        assert_eq!(e, End::At(n));
        let (e, _) = end("begin null; end;\nbegin null; end;", Shape::Block);
        assert_eq!(e, End::At(5));
        let (e, _) = end("begin null; end\n\nbegin null; end;", Shape::Block);
        assert_eq!(e, End::NoSemicolon { end: 3, next: 4 });
        assert_eq!(end("begin null;", Shape::Block).0, End::Open);
        let (e, n) = end("<<outer>> begin null; end outer;", Shape::Block);
        assert_eq!(e, End::At(n));
    }

    #[test]
    fn exception_handlers() {
        let text = "begin\n  begin x; exception when others then null; end;\n  y;\nexception when others then raise;\nend;";
        let toks = tokenize(text).unwrap();
        let scopes = exception_scopes(&toks);
        assert_eq!(scopes.len(), 2);
        assert_eq!(
            &text[scopes[0].0..scopes[0].1],
            "begin x; exception when others then null; end"
        );
        assert_eq!((scopes[1].0, scopes[1].1), (0, text.len() - 1));
        let toks = tokenize("declare e exception; begin x; end;").unwrap();
        assert!(exception_scopes(&toks).is_empty());
    }

    #[test]
    fn stored_units() {
        let (e, _) = end(
            "create or replace procedure p as begin null; end;\nbegin dbms_scheduler.create_chain('C'); end;",
            Shape::Subprogram,
        );
        assert_eq!(e, End::At(11));
        let pkg = "create package body k as\n procedure a is begin null; end;\n function f return number is begin return 1; end f;\nbegin a; end k;";
        let (e, n) = end(pkg, Shape::Subprogram);
        assert_eq!(e, End::At(n));
        let spec = "create package k as procedure a; function f return number; end k;";
        let (e, n) = end(spec, Shape::Subprogram);
        assert_eq!(e, End::At(n));
        let trig =
            "create trigger t before insert on x for each row declare v number; begin null; end;";
        let (e, n) = end(trig, Shape::Block);
        assert_eq!(e, End::At(n));
        let (e, _) = end(
            "create type t as object (a number, b varchar2(3));\nexec x",
            Shape::TypeSpec,
        );
        assert_eq!(e, End::At(16));
    }
}
