//! Diagnostics: one type for every problem the parser, the resolver and the lints find.
//!
//! A diagnostic names a stable `code` (documented in docs/diagnostics.md), a message in words
//! a person understands (never grammar rule names), the primary span, and optionally what was
//! expected and the nearest existing name. [`render_text`] produces the `file:line:column`,
//! source line and caret form; [`DiagnosticJson`] is the stable `--format json` schema.

use super::span::{SourceMap, Span};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable identifier, e.g. `syntax`, `unknown-step`, `stall-risk` (see docs/diagnostics.md).
    pub code: &'static str,
    /// One sentence: what is wrong.
    pub message: String,
    pub span: Span,
    /// What would have been valid here, in words ("a step name", "`;`").
    pub expected: Option<String>,
    /// The nearest existing name, for unknown names ("VALIDATE").
    pub suggestion: Option<String>,
    /// Extra lines (e.g. the nested-chain loop `A -> B -> A`).
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>, span: Span) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
            expected: None,
            suggestion: None,
            notes: Vec::new(),
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>, span: Span) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message, span)
        }
    }

    pub fn with_expected(mut self, expected: impl Into<String>) -> Self {
        self.expected = Some(expected.into());
        self
    }

    pub fn with_suggestion(mut self, suggestion: Option<String>) -> Self {
        self.suggestion = suggestion;
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The nearest name to `wanted` among `candidates` (Levenshtein, case-insensitive), if close
/// enough to be a plausible typo: at most half the longer name's length edited, and at least one
/// character of `wanted` kept (`ZZ` is no typo of `A`, nor `X` of `C`).
pub fn nearest_name<'a, I>(wanted: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    let wanted_up = wanted.to_uppercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = strsim::levenshtein(&wanted_up, &c.to_uppercase());
        let len = wanted.chars().count();
        let limit = (len.max(c.chars().count()) / 2).max(1);
        if d <= limit && d < len && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c.to_string())
}

/// ` (did you mean X?)` for a nearest name, or nothing: the suffix every "unknown name" message
/// outside the rule-file diagnostics (which have their own `help:` line) ends with.
pub fn did_you_mean(nearest: Option<&str>) -> String {
    nearest
        .map(|n| format!(" (did you mean {n}?)"))
        .unwrap_or_default()
}

/// The stable JSON shape of one diagnostic (`check --format json`).
#[derive(Debug, Clone, Serialize)]
pub struct DiagnosticJson {
    pub severity: Severity,
    pub code: String,
    pub message: String,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub expected: Option<String>,
    pub suggestion: Option<String>,
    pub notes: Vec<String>,
}

impl DiagnosticJson {
    pub fn new(d: &Diagnostic, sources: &SourceMap) -> Self {
        let (line, column) = sources.line_col(d.span.file, d.span.start);
        let (end_line, end_column) = sources.line_col(d.span.file, d.span.end);
        DiagnosticJson {
            severity: d.severity,
            code: d.code.to_string(),
            message: d.message.clone(),
            file: sources
                .file(d.span.file)
                .map(|f| f.path.clone())
                .unwrap_or_default(),
            line,
            column,
            end_line,
            end_column,
            expected: d.expected.clone(),
            suggestion: d.suggestion.clone(),
            notes: d.notes.clone(),
        }
    }
}

/// Human form:
/// ```text
/// error[unknown-step]: unknown step VALIDAT in chain LOAN
///   --> fixtures/bad/unknown_step.chain:4:20
///    |
///  4 |     rule when VALIDAT SUCCEEDED then START B;
///    |               ^^^^^^^
///    = expected: a step of chain LOAN
///    = help: did you mean VALIDATE?
/// ```
pub fn render_text(d: &Diagnostic, sources: &SourceMap) -> String {
    render_text_styled(d, sources, false)
}

/// [`render_text`], with ANSI colours when `colour` (a terminal that wants them): the severity
/// and the carets in red (errors) or yellow (warnings), the message in bold, the location
/// gutter in blue — the layout people know from rustc.
pub fn render_text_styled(d: &Diagnostic, sources: &SourceMap, colour: bool) -> String {
    let j = DiagnosticJson::new(d, sources);
    let (sev, tint) = match d.severity {
        Severity::Error => ("error", "\x1b[1;31m"),
        Severity::Warning => ("warning", "\x1b[1;33m"),
    };
    let paint = |style: &str, text: &str| {
        if colour {
            format!("{style}{text}\x1b[0m")
        } else {
            text.to_string()
        }
    };
    let blue = "\x1b[1;34m";
    let line_text = sources.line_text(d.span.file, d.span.start);
    let gutter = j.line.to_string().len();
    let pad = " ".repeat(gutter);
    let caret_len = if j.end_line == j.line && j.end_column > j.column {
        j.end_column - j.column
    } else {
        1
    };
    let prefix: String = line_text
        .chars()
        .take(j.column.saturating_sub(1))
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let bar = paint(blue, &format!("{pad} |"));
    let eq = paint(blue, &format!("{pad} ="));
    let mut out = format!(
        "{head}{msg}\n{arrow} {file}:{line}:{col}\n{bar}\n{num} {text}\n{bar} {prefix}{carets}\n",
        head = paint(tint, &format!("{sev}[{}]", d.code)),
        msg = paint("\x1b[1m", &format!(": {}", d.message)),
        arrow = paint(blue, &format!("{pad}-->")),
        file = j.file,
        line = j.line,
        col = j.column,
        num = paint(blue, &format!("{} |", j.line)),
        text = line_text,
        carets = paint(tint, &"^".repeat(caret_len)),
    );
    if let Some(e) = &d.expected {
        out.push_str(&format!("{eq} expected: {e}\n"));
    }
    if let Some(s) = &d.suggestion {
        out.push_str(&format!("{eq} help: did you mean {s}?\n"));
    }
    for n in &d.notes {
        out.push_str(&format!("{eq} note: {n}\n"));
    }
    out
}
