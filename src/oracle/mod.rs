//! `chainsched import-oracle`: DBMS_SCHEDULER chain scripts → a rule file.
//!
//! Why a small hand-written reader and not a PL/SQL parser: the scripts operations staff paste
//! are sequences of `DBMS_SCHEDULER.xxx(...)` calls in `BEGIN ... END; /` blocks or `EXEC`
//! lines. Recognising those calls exactly (strings with `''` and `q'[...]'`, comments, named
//! and positional arguments, a few literal forms) and skipping everything else is enough, and
//! keeps every error precise (`file:line:column`, what was expected). PL/SQL in general
//! (loops, variables, dynamic SQL) is not interpreted: such statements are reported as
//! ignored.
//!
//! The pipeline, one module per step: [`lexer`] (tokens) → [`calls`] (the calls and their
//! argument lists, [`value`] for literals) → [`procs`] (arguments bound to parameter names) →
//! [`translate`] (the calls replayed into a [`model::Model`], [`event_cond`] for event
//! conditions) → [`writer`] (the rule-file text). docs/import-oracle.md documents each
//! translation decision.

pub mod calls;
pub mod event_cond;
pub mod lexer;
pub mod model;
pub mod procs;
pub mod translate;
pub mod value;
pub mod writer;

use crate::lang::diagnostic::Diagnostic;
use crate::lang::span::{SourceMap, Span};

/// The result of importing one script. `output` is `None` when the script has errors.
pub struct Import {
    /// The script (file 0), to render the diagnostics.
    pub sources: SourceMap,
    pub output: Option<String>,
    /// Errors (when `output` is None) or warnings, in script order.
    pub diagnostics: Vec<Diagnostic>,
}

/// Import `text`; `path` is how diagnostics name the file.
pub fn import(path: &str, text: &str) -> Import {
    let mut sources = SourceMap::default();
    sources.add(path, text);
    let items = match calls::parse(text) {
        Ok(items) => items,
        Err(errors) => {
            let diagnostics = errors
                .into_iter()
                .map(|e| {
                    Diagnostic::error("syntax", e.message, Span::new(0, e.start, e.end))
                        .with_expected(e.expected)
                })
                .collect();
            return Import {
                sources,
                output: None,
                diagnostics,
            };
        }
    };
    match translate::translate(&items, &sources) {
        Ok(t) => {
            let name = std::path::Path::new(path)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.to_string());
            let output = writer::write(&t.model, &name);
            let mut diagnostics = t.warnings;
            diagnostics.sort_by_key(|d| d.span.start);
            Import {
                sources,
                output: Some(output),
                diagnostics,
            }
        }
        Err(diagnostics) => Import {
            sources,
            output: None,
            diagnostics,
        },
    }
}
