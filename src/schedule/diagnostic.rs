//! `check` for `schedule '...'`: a schedule string that does not parse, that can never fire, or
//! whose next occurrence cannot be found within the evaluation's work budget is a
//! `bad-schedule` error whose span points INTO the string literal at the offending part.
//!
//! Why never-firing is an error, not a warning: Oracle refuses such a `repeat_interval` too
//! (ORA-27419 "unable to determine valid execution date from repeat interval", which also
//! covers giving up after too many attempts), and a job that is scheduled but never runs is a
//! mistake, not a style question. The schedule is judged from the Unix epoch: `check` reads no
//! clock.

use super::zone::{JobSchedule, Timing};
use super::{Next, Schedule, ScheduleError, WORK_BUDGET};
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
    let built = Schedule::parse(&lit.value);
    judge(
        &format!("the schedule of job {job}"),
        &format!("invalid schedule of job {job}"),
        lit,
        built.map(|s| move |t| s.next_within(t, budget)),
    )
}

/// The `bad-schedule` diagnostic of job `job`'s schedule in its time zone, between its start
/// and end dates, with the named schedules it refers to.
pub fn check_job_schedule(
    job: &str,
    lit: &StringLit,
    timing: Timing,
    named: &dyn Fn(&str) -> Option<String>,
) -> Option<Diagnostic> {
    let built = JobSchedule::build(&lit.value, timing, named);
    judge(
        &format!("the schedule of job {job}"),
        &format!("invalid schedule of job {job}"),
        lit,
        built.map(|s| move |t| s.next(t)),
    )
}

/// The `bad-schedule` diagnostic of named schedule `name` (`schedule NAME '...';`).
pub fn check_named_schedule(
    name: &str,
    lit: &StringLit,
    named: &dyn Fn(&str) -> Option<String>,
) -> Option<Diagnostic> {
    let built = JobSchedule::build(&lit.value, Timing::default(), named);
    judge(
        &format!("schedule {name}"),
        &format!("invalid schedule {name}"),
        lit,
        built.map(|s| move |t| s.next(t)),
    )
}

fn judge(
    what: &str,
    invalid: &str,
    lit: &StringLit,
    built: Result<impl Fn(u64) -> Next, ScheduleError>,
) -> Option<Diagnostic> {
    match built {
        Ok(next) => match next(0) {
            Next::At(_) => None,
            Next::Never(n) => {
                let span = match n.at {
                    Some((offset, len)) => inner_span(lit, offset, len),
                    None => lit.span,
                };
                Some(
                    Diagnostic::error(CODE, format!("{what} never fires: {}", n.reason), span)
                        .with_expected(n.hint),
                )
            }
            Next::Undecided { work } => Some(
                Diagnostic::error(
                    CODE,
                    format!(
                        "{what} cannot be evaluated: no next occurrence found within the work limit ({work} steps)"
                    ),
                    lit.span,
                )
                .with_expected("a simpler schedule: fewer clauses that rarely agree, or a smaller INTERVAL"),
            ),
        },
        Err(e) => {
            let mut d = Diagnostic::error(
                CODE,
                format!("{invalid}: {}", e.message),
                inner_span(lit, e.offset_in_string, e.len),
            )
            .with_suggestion(e.suggestion);
            if let Some(x) = e.expected.filter(|x| !x.is_empty()) {
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
