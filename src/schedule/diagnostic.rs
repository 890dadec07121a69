//! `check` for `schedule '...'`: a schedule string that does not parse, that can never fire, or
//! whose next occurrence cannot be found within the evaluation's work budget is a
//! `bad-schedule` error whose span points INTO the string literal at the offending part.
//!
//! Why never-firing is an error, not a warning: Oracle refuses such a `repeat_interval` too
//! (ORA-27419 "unable to determine valid execution date from repeat interval", which also
//! covers giving up after too many attempts), and a job that is scheduled but never runs is a
//! mistake, not a style question. The schedule is judged from the Unix epoch: `check` reads no
//! clock.

use super::{Next, Schedule, WORK_BUDGET};
use crate::lang::ast::StringLit;
use crate::lang::diagnostic::Diagnostic;
use crate::lang::span::Span;

/// The diagnostic code (docs/diagnostics.md).
pub const CODE: &str = "bad-schedule";

/// The `bad-schedule` diagnostic of job `job`'s schedule literal, if it has a problem.
pub fn check_schedule(job: &str, lit: &StringLit) -> Option<Diagnostic> {
    check_schedule_within(job, lit, WORK_BUDGET)
}

/// [`check_schedule`] with a work budget of `budget` units for the evaluation.
pub(crate) fn check_schedule_within(job: &str, lit: &StringLit, budget: u64) -> Option<Diagnostic> {
    let text = lit.value.as_str();
    match Schedule::parse(text) {
        Ok(s) => match s.next_within(0, budget) {
            Next::At(_) => None,
            Next::Never(n) => {
                let span = match n.at {
                    Some((offset, len)) => inner_span(lit, offset, len),
                    None => lit.span,
                };
                Some(
                    Diagnostic::error(
                        CODE,
                        format!("the schedule of job {job} never fires: {}", n.reason),
                        span,
                    )
                    .with_expected(n.hint),
                )
            }
            Next::Undecided { work } => Some(
                Diagnostic::error(
                    CODE,
                    format!(
                        "the schedule of job {job} cannot be evaluated: no next occurrence found within the work limit ({work} steps)"
                    ),
                    lit.span,
                )
                .with_expected("a simpler schedule: fewer clauses that rarely agree, or a smaller INTERVAL"),
            ),
        },
        Err(e) => {
            let mut d = Diagnostic::error(
                CODE,
                format!("invalid schedule of job {job}: {}", e.message),
                inner_span(lit, e.offset_in_string, e.len),
            )
            .with_suggestion(e.suggestion);
            if let Some(x) = e.expected {
                d = d.with_expected(x);
            }
            Some(d)
        }
    }
}

/// The span of bytes `offset..offset + len` of the literal's value, in the source.
fn inner_span(lit: &StringLit, offset: usize, len: usize) -> Span {
    let start = source_offset(lit, offset);
    let end = source_offset(lit, offset + len).max(start + 1);
    Span::new(
        lit.span.file,
        start,
        end.min(lit.span.end.saturating_sub(1)).max(start + 1),
    )
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
