//! Cron lines: `min hour day-of-month month day-of-week` (5 fields), or 6 fields with seconds
//! first (`*/2 * * * * *`, as Quartz and many schedulers write them), or a macro (`@daily`).
//!
//! Each field takes `*`, numbers, ranges `a-b`, steps `*/n`, `a-b/n`, `a/n` (from a to the
//! field's maximum), and comma lists; months and days of the week also take names (JAN, MON;
//! case-insensitive). Day of week 0 and 7 are both Sunday. The Vixie cron rule applies: when
//! both day-of-month and day-of-week are restricted (the field does not start with `*`), a day
//! matching EITHER runs; otherwise both must match. Times are UTC.

use super::civil::{civil_from_days, weekday, DAY_SECS};
use super::days::{scan, Budget, DateRule, DayBits, OutOfBudget, Scan, Year, YearCache};
use super::timeset::TimeSet;
use super::{split_trimmed, Never, ScheduleError};
use crate::lang::diagnostic::nearest_name;

#[derive(Debug, Clone, PartialEq)]
pub struct Cron {
    times: TimeSet,
    /// Bit d (1-31).
    days_of_month: u32,
    /// Bit m (1-12).
    months: u16,
    /// Bit w, 0 = Sunday … 6 = Saturday.
    days_of_week: u8,
    dom_star: bool,
    dow_star: bool,
    /// The day-of-month and month fields as written, from the start of the first to the end of
    /// the second (byte offset and text), for the diagnostic of a line that never fires.
    day_fields: Option<(usize, String)>,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MACROS: [(&str, &str); 7] = [
    ("@yearly", "0 0 1 1 *"),
    ("@annually", "0 0 1 1 *"),
    ("@monthly", "0 0 1 * *"),
    ("@weekly", "0 0 * * 0"),
    ("@daily", "0 0 * * *"),
    ("@midnight", "0 0 * * *"),
    ("@hourly", "0 * * * *"),
];

struct Field {
    what: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// The number of the first name (1 for JAN, 0 for SUN).
    names_from: u32,
}

const SECOND: Field = Field {
    what: "second",
    min: 0,
    max: 59,
    names: &[],
    names_from: 0,
};
const MINUTE: Field = Field {
    what: "minute",
    min: 0,
    max: 59,
    names: &[],
    names_from: 0,
};
const HOUR: Field = Field {
    what: "hour",
    min: 0,
    max: 23,
    names: &[],
    names_from: 0,
};
const DOM: Field = Field {
    what: "day of month",
    min: 1,
    max: 31,
    names: &[],
    names_from: 0,
};
const MONTH: Field = Field {
    what: "month",
    min: 1,
    max: 12,
    names: &MONTHS,
    names_from: 1,
};
const DOW: Field = Field {
    what: "day of week",
    min: 0,
    max: 7,
    names: &DAYS,
    names_from: 0,
};

impl Cron {
    pub fn parse(text: &str) -> Result<Cron, ScheduleError> {
        let trimmed = text.trim();
        if trimmed.starts_with('@') {
            let lead = text.len() - text.trim_start().len();
            let lower = trimmed.to_ascii_lowercase();
            return match MACROS.iter().find(|(m, _)| *m == lower) {
                Some((_, line)) => Cron::parse(line),
                None => Err(ScheduleError::at(
                    lead,
                    trimmed.len(),
                    format!("unknown cron macro {trimmed}"),
                )
                .expected("@yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly")
                .suggest(nearest_name(trimmed, MACROS.iter().map(|(m, _)| *m)))),
            };
        }
        let fields = fields_with_offsets(text);
        let layout: &[&Field] = match fields.len() {
            5 => &[&MINUTE, &HOUR, &DOM, &MONTH, &DOW],
            6 => &[&SECOND, &MINUTE, &HOUR, &DOM, &MONTH, &DOW],
            n => {
                let (off, len) = match fields.get(6) {
                    Some((o, f)) if n > 6 => (*o, f.len()),
                    _ => (0, text.len()),
                };
                return Err(ScheduleError::at(
                    off,
                    len,
                    format!("a cron line has 5 or 6 fields, this one has {n}"),
                )
                .expected(
                    "`minute hour day-of-month month day-of-week`, optionally with seconds first",
                ));
            }
        };
        let mut masks = Vec::with_capacity(6);
        for ((off, f), spec) in fields.iter().zip(layout) {
            masks.push(parse_field(f, *off, spec)?);
        }
        if fields.len() == 5 {
            masks.insert(0, 1); // second 0
        }
        let dow = masks[5];
        let dow = (dow | (dow >> 7)) & 0x7f; // 7 is Sunday too
        Ok(Cron {
            times: TimeSet {
                hours: masks[2] as u32,
                minutes: masks[1],
                seconds: masks[0],
            },
            days_of_month: masks[3] as u32,
            months: masks[4] as u16,
            days_of_week: dow as u8,
            dom_star: fields[fields.len() - 3].1.starts_with('*'),
            dow_star: fields[fields.len() - 1].1.starts_with('*'),
            day_fields: {
                let (dom_at, _) = fields[fields.len() - 3];
                let (month_at, month) = fields[fields.len() - 2];
                text.get(dom_at..month_at + month.len())
                    .map(|t| (dom_at, t.to_string()))
            },
        })
    }

    fn day_matches(&self, day: i64) -> bool {
        let (_, m, d) = civil_from_days(day);
        if self.months & (1 << m) == 0 {
            return false;
        }
        let dom = self.days_of_month & (1 << d) != 0;
        let dow = self.days_of_week & (1 << ((weekday(day) + 1) % 7)) != 0;
        if !self.dom_star && !self.dow_star {
            dom || dow
        } else {
            dom && dow
        }
    }

    /// The first occurrence at or after second `from`; `None` when there is none, ever (dates
    /// repeat every 400 years: [`scan`] looks at one such cycle of day sets at most).
    pub(crate) fn search(
        &self,
        from: u64,
        budget: &mut Budget,
    ) -> Result<Option<u64>, OutOfBudget> {
        let day0 = (from / DAY_SECS) as i64;
        let tod0 = (from % DAY_SECS) as u32;
        let at = |day: i64, tod: u32| (day as u64).checked_mul(DAY_SECS)?.checked_add(tod as u64);
        if self.day_matches(day0) {
            if let Some(t) = self.times.first_from(tod0, |_| true) {
                return Ok(at(day0, t));
            }
        }
        Ok(
            match scan(self, &mut YearCache::new(), day0 + 1, 1, &|_| true, budget)? {
                Scan::Day(d) => self.times.first_from(0, |_| true).and_then(|t| at(d, t)),
                Scan::NoDay | Scan::NoneAccepted => None,
            },
        )
    }

    /// Why a line never fires: its days (a cron line always has times).
    pub(crate) fn why_never(&self) -> Never {
        Never {
            reason: match &self.day_fields {
                Some((_, t)) => {
                    format!("no day matches both its day-of-month and month fields `{t}`")
                }
                None => "no day matches its day fields".into(),
            },
            hint: "a day of the month that the months have (`0 0 30 2 *` has none)".into(),
            at: self.day_fields.as_ref().map(|(at, t)| (*at, t.len())),
        }
    }

    /// The first occurrence at or after second `from` by the plain definition — every day, in
    /// order, up to `max_days` days — for the tests to check [`Self::search`] against.
    #[cfg(test)]
    pub(crate) fn reference_first(&self, from: u64, max_days: u64) -> Option<u64> {
        let first_day = from / DAY_SECS;
        let mut tod = (from % DAY_SECS) as u32;
        for day in first_day..=first_day + max_days {
            if self.day_matches(day as i64) {
                if let Some(t) = self.times.first_from(tod, |_| true) {
                    return Some(day * DAY_SECS + t as u64);
                }
            }
            tod = 0;
        }
        None
    }

    pub(crate) fn matches_sec(&self, sec: u64) -> bool {
        self.day_matches((sec / DAY_SECS) as i64) && self.times.contains((sec % DAY_SECS) as u32)
    }
}

impl DateRule for Cron {
    /// The days of `y` the month, day-of-month and day-of-week fields select, one bit per day.
    fn year_days(&self, y: &Year) -> DayBits {
        let (mut months, mut dom, mut dow) = (DayBits::EMPTY, DayBits::EMPTY, DayBits::EMPTY);
        for m in 1..=12 {
            let (start, len) = (y.month_start(m), y.month_len(m));
            if self.months & (1 << m) != 0 {
                months.set_range(start, start + len);
            }
            for d in (1..=len).filter(|d| self.days_of_month & (1 << d) != 0) {
                dom.set(start + d - 1);
            }
        }
        for i in 0..y.len {
            // Bit w of `days_of_week`: 0 = Sunday; `weekday_of`: 0 = Monday.
            if self.days_of_week & (1 << ((y.weekday_of(i) + 1) % 7)) != 0 {
                dow.set(i);
            }
        }
        if !self.dom_star && !self.dow_star {
            months.and(&dom.or(&dow))
        } else {
            months.and(&dom).and(&dow)
        }
    }
}

/// Whitespace-separated fields with their byte offsets.
fn fields_with_offsets(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, &text[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    out
}

/// One field as a bit mask of its allowed values.
fn parse_field(text: &str, base: usize, f: &Field) -> Result<u64, ScheduleError> {
    let mut mask = 0u64;
    for (off, item) in split_trimmed(text, base, ',') {
        if item.is_empty() {
            return Err(ScheduleError::at(
                off,
                1,
                format!("an empty item in the {} field", f.what),
            )
            .expected(format!(
                "{} {} ({}-{}), a range or `*`",
                article(f.what),
                f.what,
                f.min,
                f.max
            )));
        }
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => {
                let s_off = off + r.len() + 1;
                let step = s
                    .parse::<u32>()
                    .ok()
                    .filter(|s| *s >= 1 && *s <= f.max.max(1))
                    .ok_or_else(|| {
                        ScheduleError::at(
                            s_off,
                            s.len(),
                            format!("bad step `{s}` in the {} field", f.what),
                        )
                        .expected(format!("a step from 1 to {}", f.max.max(1)))
                    })?;
                (r, Some(step))
            }
            None => (item, None),
        };
        let (lo, hi) = if range == "*" {
            (f.min, f.max)
        } else if let Some((a, b)) = range.split_once('-') {
            let lo = value(a, off, f)?;
            let hi = value(b, off + a.len() + 1, f)?;
            if lo > hi {
                return Err(ScheduleError::at(
                    off,
                    range.len(),
                    format!("the range {range} runs backwards"),
                )
                .expected(format!("a range low-high within {}-{}", f.min, f.max)));
            }
            (lo, hi)
        } else {
            let v = value(range, off, f)?;
            (v, if step.is_some() { f.max } else { v })
        };
        let step = step.unwrap_or(1);
        let mut v = lo;
        while v <= hi {
            mask |= 1u64 << v;
            v += step;
        }
    }
    Ok(mask)
}

fn value(text: &str, off: usize, f: &Field) -> Result<u32, ScheduleError> {
    if let Ok(v) = text.parse::<u32>() {
        if v >= f.min && v <= f.max {
            return Ok(v);
        }
        return Err(
            ScheduleError::at(off, text.len(), format!("{} {v} is out of range", f.what)).expected(
                format!("{} {} from {} to {}", article(f.what), f.what, f.min, f.max),
            ),
        );
    }
    let up = text.to_ascii_uppercase();
    if let Some(i) = f.names.iter().position(|n| *n == up) {
        return Ok(i as u32 + f.names_from);
    }
    let expected = if f.names.is_empty() {
        format!("{} {} from {} to {}", article(f.what), f.what, f.min, f.max)
    } else {
        format!(
            "{} {} from {} to {} or a name ({})",
            article(f.what),
            f.what,
            f.min,
            f.max,
            f.names.join(", ")
        )
    };
    Err(ScheduleError::at(
        off,
        text.len(),
        format!("`{text}` is not a valid {}", f.what),
    )
    .expected(expected)
    .suggest(if f.names.is_empty() {
        None
    } else {
        nearest_name(text, f.names.iter().copied())
    }))
}

fn article(what: &str) -> &'static str {
    if what.starts_with('h') {
        "an"
    } else {
        "a"
    }
}
