//! Job schedules: the `schedule '...'` string of a `job` block, parsed and evaluated.
//!
//! Two syntaxes are accepted (docs/scheduling.md): Oracle's calendaring syntax
//! (`FREQ=WEEKLY; BYDAY=MON,WED,FRI; BYHOUR=9`, see [`calendar`]) — a string whose first
//! non-blank character is a letter — and cron lines (`0 2 * * *`, see [`cron`]) otherwise.
//!
//! Why pure: the module reads no clock and knows no runtime. Time is engine time,
//! [`Millis`] since the Unix epoch, always UTC; [`Schedule::next`] answers "when is the
//! first occurrence strictly after `t`" — or that there is none, and why — which is all a
//! scheduler and `check` need, and is what the property tests check against a brute-force scan.
//! Occurrences are whole seconds.
//!
//! Why bounded: `check`, `serve` and reload evaluate every schedule, so a string that never
//! fires, or fires once in centuries, must be judged in milliseconds, not by scanning time
//! (`days.rs` explains how; docs/scheduling.md, "Evaluation cost").
//!
//! The anchor of a calendar string (Oracle's `start_date`) supplies the fields a string leaves
//! out (midnight, Monday, the 1st, January) and INTERVAL counts periods from it. [`Schedule`]
//! alone is anchored at the start of the FREQ period containing the Unix epoch
//! (1970-01-01T00:00:00Z; for weeks, Monday 1969-12-29), so it does not depend on when or how
//! often it is loaded; a job's start date, time zone, end date and named schedules are
//! [`zone::JobSchedule`]'s.

pub mod calendar;
pub mod civil;
pub mod cron;
mod days;
pub mod diagnostic;
mod timeset;
pub mod zone;

use crate::lang::duration::Millis;

/// How much work one evaluation may do, in units of a year, a day or a FREQ period looked at
/// (a few nanoseconds to a few tens of nanoseconds each). The worst schedules found use a small
/// fraction of it (docs/benchmarks.md); reaching it is reported, never waited out.
pub const WORK_BUDGET: u64 = 250_000;

/// The answer of [`Schedule::next`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// The first occurrence strictly after the given time.
    At(Millis),
    /// No occurrence after the given time, ever.
    Never(Never),
    /// The evaluation gave up after `work` units of work ([`WORK_BUDGET`]), before finding the
    /// next occurrence or proving there is none.
    Undecided { work: u64 },
}

/// Why a schedule never fires (again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Never {
    /// What makes it never fire, naming the clauses or fields as written:
    /// "no day passes every date clause (BYMONTH=2, BYMONTHDAY=30)".
    pub reason: String,
    /// What would fire instead.
    pub hint: String,
    /// The part of the schedule string to blame (byte offset and length), when one is.
    pub at: Option<(usize, usize)>,
}

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    Calendar(calendar::Calendar),
    Cron(cron::Cron),
}

/// Why a schedule string is invalid: a message, and where in the string (byte offset and
/// length of the offending part), what was expected there and, for a misspelt keyword or name,
/// the nearest valid one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleError {
    pub message: String,
    /// Byte offset of the offending part in the schedule string.
    pub offset_in_string: usize,
    /// Byte length of the offending part (at least 1 when the string is not empty).
    pub len: usize,
    pub expected: Option<String>,
    pub suggestion: Option<String>,
}

impl std::fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (at offset {})", self.message, self.offset_in_string)?;
        if let Some(s) = &self.suggestion {
            write!(f, "; did you mean {s}?")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScheduleError {}

impl ScheduleError {
    pub(crate) fn at(offset: usize, len: usize, message: impl Into<String>) -> ScheduleError {
        ScheduleError {
            message: message.into(),
            offset_in_string: offset,
            len: len.max(1),
            expected: None,
            suggestion: None,
        }
    }

    pub(crate) fn expected(mut self, e: impl Into<String>) -> Self {
        self.expected = Some(e.into());
        self
    }

    pub(crate) fn suggest(mut self, s: Option<String>) -> Self {
        self.suggestion = s;
        self
    }
}

impl Schedule {
    /// Parse a schedule string: Oracle calendaring syntax when it starts with a letter, else a
    /// cron line.
    pub fn parse(text: &str) -> Result<Schedule, ScheduleError> {
        let first = text.trim_start().chars().next();
        match first {
            None => Err(ScheduleError::at(0, text.len(), "the schedule is empty").expected(
                "an Oracle calendar string such as `FREQ=DAILY;BYHOUR=2` or a cron line such as `0 2 * * *`",
            )),
            Some(c) if c.is_ascii_alphabetic() => calendar::Calendar::parse(text).map(Schedule::Calendar),
            Some(_) => cron::Cron::parse(text).map(Schedule::Cron),
        }
    }

    /// [`Schedule::parse`] with the fields a calendar string leaves out, and the periods
    /// INTERVAL counts, taken from `anchor` (a job's start date) instead of the epoch. Cron
    /// lines have no anchor.
    pub fn parse_anchored(
        text: &str,
        anchor: Option<calendar::Anchor>,
    ) -> Result<Schedule, ScheduleError> {
        match Schedule::parse(text)? {
            Schedule::Calendar(_) if anchor.is_some() => {
                calendar::Calendar::parse_anchored(text, anchor).map(Schedule::Calendar)
            }
            s => Ok(s),
        }
    }

    /// The first occurrence at or after second `from` of the schedule's own clock.
    pub(crate) fn search_sec(
        &self,
        from: u64,
        budget: &mut days::Budget,
    ) -> Result<Option<u64>, days::OutOfBudget> {
        match self {
            Schedule::Calendar(c) => c.search(from, budget),
            Schedule::Cron(c) => c.search(from, budget),
        }
    }

    /// Why there is no occurrence at or after second `from`.
    pub(crate) fn why_never_sec(&self, from: u64) -> Never {
        match self {
            Schedule::Calendar(c) => c.why_never(from),
            Schedule::Cron(c) => c.why_never(),
        }
    }

    /// The first occurrence strictly after `t` (whole seconds, UTC). `None` when there is none
    /// (`FREQ=YEARLY;BYMONTH=FEB;BYMONTHDAY=30`, `0 0 30 2 *`), when it would not fit in
    /// `Millis`, or — for no schedule found so far — when the evaluation ran out of its work
    /// budget; [`Schedule::next`] tells these apart.
    pub fn next_after(&self, t: Millis) -> Option<Millis> {
        match self.next(t) {
            Next::At(ms) => Some(ms),
            Next::Never(_) | Next::Undecided { .. } => None,
        }
    }

    /// The first occurrence strictly after `t`, or why there is none. Bounded: a few
    /// milliseconds at most whatever the schedule (docs/scheduling.md, "Evaluation cost").
    pub fn next(&self, t: Millis) -> Next {
        self.next_within(t, WORK_BUDGET)
    }

    /// [`Schedule::next`] with a work budget of `budget` units instead of [`WORK_BUDGET`]
    /// (the benchmark uses it to find how much work a schedule needs).
    pub fn next_within(&self, t: Millis, budget: u64) -> Next {
        let beyond = || {
            Next::Never(Never {
                reason: "its next occurrence is beyond the range of engine time".into(),
                hint: "a schedule with occurrences before the year 584,000,000".into(),
                at: None,
            })
        };
        let Some(from) = (t / 1000).checked_add(1) else {
            return beyond();
        };
        let mut budget = days::Budget::new(budget);
        match self.search_sec(from, &mut budget) {
            Ok(Some(sec)) => sec.checked_mul(1000).map_or_else(beyond, Next::At),
            Ok(None) => Next::Never(self.why_never_sec(from)),
            Err(days::OutOfBudget) => Next::Undecided {
                work: budget.used(),
            },
        }
    }

    /// Whether `t` is an occurrence (a whole second that the schedule selects).
    pub fn matches(&self, t: Millis) -> bool {
        if t % 1000 != 0 {
            return false;
        }
        match self {
            Schedule::Calendar(c) => c.matches_sec(t / 1000),
            Schedule::Cron(c) => c.matches_sec(t / 1000),
        }
    }
}

/// Split `text` into items separated by `sep`, each trimmed, with its byte offset.
pub(crate) fn split_trimmed(text: &str, base: usize, sep: char) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), sep)))
    {
        if c == sep {
            let raw = &text[start..i];
            let lead = raw.len() - raw.trim_start().len();
            out.push((base + start + lead, raw.trim()));
            start = i + c.len_utf8();
        }
    }
    out
}

#[cfg(test)]
mod tests;
