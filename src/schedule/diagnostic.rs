//! `check` for `schedule '...'`: a schedule string that does not parse, or that can never fire,
//! is a `bad-schedule` error whose span points INTO the string literal at the offending part.

use super::Schedule;
use crate::lang::ast::StringLit;
use crate::lang::diagnostic::Diagnostic;
use crate::lang::span::Span;

/// The diagnostic code (docs/diagnostics.md).
pub const CODE: &str = "bad-schedule";

/// The `bad-schedule` diagnostic of job `job`'s schedule literal, if it has a problem.
pub fn check_schedule(job: &str, lit: &StringLit) -> Option<Diagnostic> {
    let text = lit.value.as_str();
    match Schedule::parse(text) {
        Ok(s) => {
            if s.next_after(0).is_none() {
                Some(
                    Diagnostic::error(
                        CODE,
                        format!("the schedule of job {job} never fires"),
                        lit.span,
                    )
                    .with_expected(
                        "a schedule with at least one date (`BYMONTH=FEB;BYMONTHDAY=30` has none)",
                    ),
                )
            } else {
                None
            }
        }
        Err(e) => {
            let start = source_offset(lit, e.offset_in_string);
            let end = source_offset(lit, e.offset_in_string + e.len).max(start + 1);
            let span = Span::new(
                lit.span.file,
                start,
                end.min(lit.span.end.saturating_sub(1)).max(start + 1),
            );
            let mut d = Diagnostic::error(
                CODE,
                format!("invalid schedule of job {job}: {}", e.message),
                span,
            )
            .with_suggestion(e.suggestion);
            if let Some(x) = e.expected {
                d = d.with_expected(x);
            }
            Some(d)
        }
    }
}

/// Where byte `offset` of the literal's value is in the source: after the opening quote, plus
/// one byte for every quote before it (the source doubles them: `'it''s'`).
fn source_offset(lit: &StringLit, offset: usize) -> usize {
    let offset = offset.min(lit.value.len());
    let quotes = lit.value.as_bytes()[..offset]
        .iter()
        .filter(|b| **b == b'\'')
        .count();
    lit.span.start + 1 + offset + quotes
}
