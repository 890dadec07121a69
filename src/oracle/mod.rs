//! `chainsched import-oracle`: DBMS_SCHEDULER chain scripts → a rule file.
//!
//! Why a small hand-written reader and not a PL/SQL parser: the scripts operations staff paste
//! are sequences of `DBMS_SCHEDULER.xxx(...)` calls in `BEGIN ... END; /` blocks or `EXEC`
//! lines, among SQL*Plus commands and other SQL. Reading the script as SQL*Plus does (where a
//! statement ends), recognising those calls exactly (strings with `''` and `q'[...]'`,
//! comments, named and positional arguments, a few literal forms) and skipping everything
//! else is enough, and keeps every error precise (`file:line:column`, what was expected).
//! PL/SQL in general (loops, variables, dynamic SQL) is not interpreted.
//!
//! The pipeline, one module per step: [`encoding`] (bytes → text) → [`sqlplus`] (statements,
//! as SQL*Plus cuts them) → [`calls`] (each statement tokenized by [`lexer`], checked by
//! [`blocks`], its calls and their argument lists, [`value`] for literals) → [`procs`]
//! (arguments bound to parameter names) → [`translate`] (the calls replayed into a
//! [`model::Model`], [`event_cond`] for event conditions, [`bytime`] for SQL Developer's
//! schedules) → [`writer`] (the rule-file text), which `check` must accept: what it refuses
//! is commented out, with a warning, before anything is returned. docs/import-oracle.md
//! documents each decision.

pub mod blocks;
pub mod bytime;
pub mod calls;
pub mod dates;
pub mod encoding;
pub mod event_cond;
pub mod lexer;
pub mod model;
pub mod procs;
pub mod sqlplus;
pub mod translate;
pub mod value;
pub mod writer;

use crate::lang::diagnostic::Diagnostic;
use crate::lang::span::{SourceMap, Span};
use calls::{lines_of, Item, Unit};
use encoding::Encoding;
use model::{Anchor, Note};

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The script's encoding; None: UTF-8 (or UTF-16 with a BOM), else Windows-1252 with a
    /// warning.
    pub encoding: Option<Encoding>,
    /// Skip the statements Oracle would reject (as SQL*Plus goes on after a failed
    /// statement) instead of refusing the whole script.
    pub keep_going: bool,
}

/// The result of importing one script. `output` is `None` when the script has errors (and
/// `keep_going` is off).
pub struct Import {
    /// The script (file 0), to render the diagnostics.
    pub sources: SourceMap,
    pub output: Option<String>,
    /// Errors and warnings, in script order.
    pub diagnostics: Vec<Diagnostic>,
    /// Statements skipped because Oracle would reject them (`keep_going` only).
    pub skipped: usize,
}

/// Import `text`; `path` is how diagnostics name the file.
pub fn import(path: &str, text: &str) -> Import {
    import_text(path, text, &Options::default(), None)
}

/// Import the bytes of a script file, decoded as `options.encoding` says.
pub fn import_bytes(path: &str, bytes: &[u8], options: &Options) -> Import {
    match encoding::decode(bytes, options.encoding) {
        Ok(d) => import_text(path, &d.text, options, d.guessed),
        Err(e) => {
            let text = String::from_utf8_lossy(bytes).into_owned();
            let mut at = e.offset.min(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let mut sources = SourceMap::default();
            sources.add(path, &text);
            Import {
                sources,
                output: None,
                diagnostics: vec![
                    Diagnostic::error("encoding", e.message, Span::new(0, at, at)).with_expected(
                        format!(
                            "--encoding naming the file's encoding: {}",
                            Encoding::LABELS
                        ),
                    ),
                ],
                skipped: 0,
            }
        }
    }
}

fn import_text(
    path: &str,
    text: &str,
    options: &Options,
    guessed: Option<(usize, Encoding)>,
) -> Import {
    let mut sources = SourceMap::default();
    sources.add(path, text);
    let mut units = calls::parse(text);
    // A call that does not bind (misspelt parameter...) is a compile error of its statement.
    let errors: Vec<Vec<Diagnostic>> = units.iter().map(unit_errors).collect();
    if !options.keep_going && errors.iter().any(|e| !e.is_empty()) {
        let mut diagnostics: Vec<Diagnostic> = errors.into_iter().flatten().collect();
        diagnostics.sort_by_key(|d| d.span.start);
        return Import {
            sources,
            output: None,
            diagnostics,
            skipped: 0,
        };
    }
    let mut diagnostics = Vec::new();
    let mut skips: Vec<(Span, String)> = Vec::new();
    for (u, errs) in units.iter_mut().zip(errors) {
        let Some(first) = errs.first() else { continue };
        let mut note = format!(
            "the statement of {} is skipped (--keep-going): Oracle rejects it, SQL*Plus reports the error and goes on; {}",
            lines_of(text, u.start, u.end),
            first.message
        );
        if let Some(w) = u.whenever_exit {
            note.push_str(&format!(
                " (the script sets WHENEVER SQLERROR EXIT on line {}: SQL*Plus would stop the whole script here; the rest is imported all the same)",
                sources.line_col(0, w).0
            ));
        }
        skips.push((Span::new(0, u.start, u.end), note));
        u.items.clear();
        diagnostics.extend(errs);
    }
    if let Some((at, enc)) = guessed {
        units.insert(
            0,
            Unit {
                start: at,
                end: at,
                items: vec![Item::Note {
                    start: at,
                    end: at,
                    text: format!("the file is not UTF-8 (line {} has the first byte that is not); it is read as {} (name its encoding with --encoding if that is wrong)", sources.line_col(0, at).0, enc.name()),
                }],
                errors: Vec::new(),
                whenever_exit: None,
                guards: Vec::new(),
            },
        );
    }
    let mut t = translate::translate(&units, &sources);
    for (span, text) in &skips {
        t.model.notes.push(Note {
            anchor: Anchor::File,
            line: sources.line_col(0, span.start).0,
            text: text.clone(),
        });
    }
    let name = std::path::Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string());
    let output = match t.checked_output(&sources, &name) {
        Ok(o) => o,
        Err(d) => {
            return Import {
                sources,
                output: None,
                diagnostics: vec![*d],
                skipped: 0,
            }
        }
    };
    diagnostics.extend(t.warnings);
    diagnostics.sort_by_key(|d| d.span.start);
    Import {
        sources,
        output: Some(output),
        diagnostics,
        skipped: skips.len(),
    }
}

/// The errors of one statement: its syntax errors and the calls that do not bind.
fn unit_errors(u: &Unit) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = u
        .errors
        .iter()
        .map(|e| {
            Diagnostic::error("syntax", e.message.clone(), Span::new(0, e.start, e.end))
                .with_expected(e.expected.clone())
        })
        .collect();
    for item in &u.items {
        if let Item::Call(c) = item {
            if let Err(e) = procs::bind(c) {
                out.push(*e);
            }
        }
    }
    out
}
