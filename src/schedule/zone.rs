//! A job's schedule as Oracle evaluates it: a schedule string (a calendar string, a cron line,
//! or named schedules combined with INCLUDE/EXCLUDE/INTERSECT) in the job's time zone,
//! anchored at its start date, with no occurrence before the start date or after the end date.
//!
//! Why local time: Oracle evaluates a calendar string on the wall clock of the start date's
//! time zone, so `FREQ=DAILY;BYHOUR=9` runs at 09:00 in Paris in winter and in summer. The
//! search of [`Schedule`] works on seconds of a civil calendar; here those seconds are the
//! local wall clock's (seconds since 1970-01-01T00:00:00 local), and each occurrence found is
//! turned into an instant with the time-zone database (jiff, which ships its own copy, so the
//! engine does not depend on the machine's /usr/share/zoneinfo).
//!
//! Daylight saving time, as Oracle documents it (docs/scheduling.md, "Time zones"):
//! * FREQ=DAILY and longer (and cron lines) keep their wall-clock time: a job at 02:00 runs at
//!   02:00 whether the clocks moved or not. A local time that does not exist (the hour skipped in
//!   spring) runs at the end of the skipped window, the instant the clocks jump (02:30 on a day
//!   that goes from 02:00 to 03:00 runs at 03:00); a local time that exists twice (the hour
//!   repeated in autumn) runs once, at its first occurrence.
//! * FREQ=HOURLY, MINUTELY and SECONDLY follow their frequency exactly in elapsed time across
//!   the change: every 3 hours stays 3 hours apart (INTERVAL counts elapsed periods from the
//!   anchor), while the other clauses (BYHOUR, the date clauses) are read on the wall clock.

use super::calendar::{Anchor, Freq};
use super::days::{Budget, OutOfBudget};
use super::{Never, Next, Schedule, ScheduleError, WORK_BUDGET};
use crate::lang::duration::Millis;
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::Timestamp;

/// How deep named schedules may refer to other named schedules.
const MAX_NESTING: usize = 8;

/// Seconds in a day.
const DAY: u64 = 86_400;

/// A time zone by IANA name (`Europe/Paris`), `UTC`, or a fixed offset (`+02:00`).
pub fn time_zone(name: &str) -> Result<TimeZone, String> {
    let n = name.trim();
    if n.eq_ignore_ascii_case("UTC") || n.eq_ignore_ascii_case("Z") {
        return Ok(TimeZone::UTC);
    }
    if let Some(sign) = n.chars().next().filter(|c| *c == '+' || *c == '-') {
        let rest = &n[1..];
        let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
        let digits =
            |x: &str| !x.is_empty() && x.len() <= 2 && x.bytes().all(|b| b.is_ascii_digit());
        let (true, true, Ok(h), Ok(m)) = (digits(h), digits(m), h.parse::<i32>(), m.parse::<i32>())
        else {
            return Err(format!("`{n}` is not an offset such as +02:00"));
        };
        if h > 14 || m > 59 {
            return Err(format!("`{n}` is not an offset between -14:00 and +14:00"));
        }
        let secs = (h * 3600 + m * 60) * if sign == '-' { -1 } else { 1 };
        return jiff::tz::Offset::from_seconds(secs)
            .map(TimeZone::fixed)
            .map_err(|e| format!("`{n}`: {e}"));
    }
    TimeZone::get(n).map_err(|_| {
        let names: Vec<String> = jiff::tz::db()
            .available()
            .map(|z| z.as_str().to_string())
            .collect();
        let near = crate::lang::diagnostic::nearest_name(n, names.iter().map(String::as_str));
        format!(
            "`{n}` is not a time zone of the time-zone database (an IANA name such as Europe/Paris or America/New_York, UTC, or an offset such as +02:00){}",
            near.map_or(String::new(), |z| format!("; did you mean {z}?"))
        )
    })
}

/// A local date and time as written in a rule file: `YYYY-MM-DD`, `YYYY-MM-DD HH:MI` or
/// `YYYY-MM-DD HH:MI:SS` (a `T` may separate date and time).
pub fn local_datetime(text: &str) -> Result<DateTime, String> {
    let t = text.trim();
    let bad = || {
        format!("`{t}` is not a date and time YYYY-MM-DD [HH:MI[:SS]] (such as 2026-03-29 09:00)")
    };
    let (date, time) = match t.split_once([' ', 'T']) {
        Some((d, tm)) => (d, Some(tm.trim())),
        None => (t, None),
    };
    let date: jiff::civil::Date = date.parse().map_err(|_| bad())?;
    let time = match time {
        None => jiff::civil::Time::midnight(),
        Some(tm) => {
            let full = if tm.len() == 5 {
                format!("{tm}:00")
            } else {
                tm.to_string()
            };
            if full.len() != 8 {
                return Err(bad());
            }
            full.parse().map_err(|_| bad())?
        }
    };
    Ok(date.to_datetime(time))
}

/// The instant of local date-time `dt` in `tz`: a time skipped by a clock change is the instant
/// the clocks jump (the end of the skipped window, as Oracle runs such a job); a time that
/// occurs twice is its first occurrence.
pub fn instant_of(tz: &TimeZone, dt: DateTime) -> Result<i64, String> {
    let amb = tz.to_ambiguous_timestamp(dt);
    if let AmbiguousOffset::Gap { after, .. } = amb.offset() {
        // The jump lies between `dt` read with the offset after it and `dt` read with the
        // offset before it.
        let lower = TimeZone::UTC
            .to_ambiguous_timestamp(dt)
            .compatible()
            .map_err(|e| format!("{dt} is out of range: {e}"))?
            .as_second()
            - after.seconds() as i64;
        if let Some(t) = Timestamp::from_second(lower)
            .ok()
            .and_then(|from| tz.following(from).next())
        {
            return Ok(t.timestamp().as_second());
        }
    }
    amb.compatible()
        .map(|t| t.as_second())
        .map_err(|e| format!("{dt} is out of range: {e}"))
}

/// Seconds since 1970-01-01T00:00:00 of a civil date-time (the local clock's "seconds").
fn civil_secs(dt: DateTime) -> i64 {
    TimeZone::UTC
        .to_ambiguous_timestamp(dt)
        .compatible()
        .map_or(0, |t| t.as_second())
}

/// The local wall-clock seconds of instant `utc` in `tz`.
fn local_of(tz: &TimeZone, utc: i64) -> i64 {
    match Timestamp::from_second(utc) {
        Ok(ts) => utc + tz.to_offset(ts).seconds() as i64,
        Err(_) => utc,
    }
}

/// The instant of local wall-clock seconds `local` in `tz` (see [`instant_of`]).
fn utc_of(tz: &TimeZone, local: i64) -> Option<i64> {
    let ts = Timestamp::from_second(local).ok()?;
    instant_of(tz, TimeZone::UTC.to_datetime(ts)).ok()
}

/// When a job's schedule applies: its time zone and its start and end dates.
#[derive(Debug, Clone)]
pub struct Timing {
    pub tz: TimeZone,
    /// The start date as written (local civil time) and as an instant (seconds).
    pub start: Option<(DateTime, i64)>,
    /// The end date as an instant (seconds): no occurrence after it.
    pub end: Option<i64>,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            tz: TimeZone::UTC,
            start: None,
            end: None,
        }
    }
}

impl Timing {
    /// From the attributes as written: a time-zone name, and local start and end dates.
    pub fn new(tz: Option<&str>, start: Option<&str>, end: Option<&str>) -> Result<Timing, String> {
        let tz = match tz {
            Some(n) => time_zone(n)?,
            None => TimeZone::UTC,
        };
        let start = match start {
            Some(s) => {
                let dt = local_datetime(s)?;
                Some((dt, instant_of(&tz, dt)?))
            }
            None => None,
        };
        let end = match end {
            Some(e) => Some(instant_of(&tz, local_datetime(e)?)?),
            None => None,
        };
        if let (Some((_, s)), Some(e)) = (start, end) {
            if e <= s {
                return Err("the end date is not after the start date".into());
            }
        }
        Ok(Timing { tz, start, end })
    }

    fn anchor(&self) -> Option<Anchor> {
        self.start.map(|(dt, _)| Anchor {
            local_sec: civil_secs(dt).max(0) as u64,
            month: dt.month() as u32,
            day: dt.day() as u32,
            weekday: dt.weekday().to_monday_zero_offset() as u32,
            hour: dt.hour() as u32,
            minute: dt.minute() as u32,
            second: dt.second() as u32,
        })
    }
}

/// A schedule expression: one schedule, or a combination of named schedules.
#[derive(Debug, Clone)]
enum Expr {
    /// A schedule evaluated on the wall clock, and its text.
    One(Box<Schedule>, String),
    /// FREQ=HOURLY, MINUTELY or SECONDLY in a time zone with clock changes: `abs` (FREQ,
    /// INTERVAL and the finer clauses) on a clock with the fixed offset `offset` (seconds), so
    /// its periods are elapsed time; `wall` (the other clauses, no INTERVAL) on the wall clock.
    Elapsed {
        abs: Box<Schedule>,
        wall: Box<Schedule>,
        offset: i64,
    },
    Set {
        /// The schedule's own clauses, or the list of named schedules it starts with (union).
        base: Vec<Expr>,
        include: Vec<Expr>,
        /// Days with an occurrence of any of these have none.
        exclude: Vec<Expr>,
        /// Only occurrences that are occurrences of every one of these.
        intersect: Vec<Expr>,
    },
}

impl Expr {
    /// The first occurrence at or after local second `from`.
    fn search(&self, from: u64, budget: &mut Budget) -> Result<Option<u64>, OutOfBudget> {
        match self {
            Expr::One(s, _) => s.search_sec(from, budget),
            // Searched in instants by `JobSchedule::next_elapsed`, never here.
            Expr::Elapsed { .. } => Ok(None),
            Expr::Set {
                base,
                include,
                exclude,
                intersect,
            } => {
                let mut from = from;
                loop {
                    budget.spend(1)?;
                    let mut first: Option<u64> = None;
                    for e in base.iter().chain(include) {
                        if let Some(x) = e.search(from, budget)? {
                            first = Some(first.map_or(x, |f| f.min(x)));
                        }
                    }
                    let Some(c) = first else { return Ok(None) };
                    let day = c / DAY;
                    let mut excluded = false;
                    for e in exclude {
                        if e.search(day * DAY, budget)?
                            .is_some_and(|x| x < (day + 1) * DAY)
                        {
                            excluded = true;
                            break;
                        }
                    }
                    if excluded {
                        from = (day + 1) * DAY;
                        continue;
                    }
                    let mut next_from = c;
                    for e in intersect {
                        match e.search(c, budget)? {
                            None => return Ok(None),
                            Some(x) => next_from = next_from.max(x),
                        }
                    }
                    if next_from == c {
                        return Ok(Some(c));
                    }
                    from = next_from;
                }
            }
        }
    }
}

/// A job's schedule: what [`Schedule`] is, in a time zone, between a start and an end date,
/// possibly combining named schedules.
#[derive(Debug, Clone)]
pub struct JobSchedule {
    expr: Expr,
    timing: Timing,
}

impl JobSchedule {
    /// Parse `text` with the job's `timing`; `named` gives the text of a named schedule
    /// (`schedule NAME '...';`) by its upper-cased name.
    pub fn build(
        text: &str,
        timing: Timing,
        named: &dyn Fn(&str) -> Option<String>,
    ) -> Result<JobSchedule, ScheduleError> {
        let mut expr = parse_expr(text, timing.anchor(), named, &mut Vec::new())?;
        if let Expr::One(s, text) = &expr {
            let sub_daily = matches!(&**s, Schedule::Calendar(c) if c.freq() < Freq::Daily);
            if sub_daily && timing.tz.to_fixed_offset().is_err() {
                expr = elapsed(text, &timing)?;
            }
        }
        Ok(JobSchedule { expr, timing })
    }

    pub fn timing(&self) -> &Timing {
        &self.timing
    }

    /// The first occurrence strictly after `t`, or why there is none.
    pub fn next(&self, t: Millis) -> Next {
        self.next_within(t, WORK_BUDGET)
    }

    /// [`JobSchedule::next`] with another work budget.
    pub fn next_within(&self, t: Millis, budget: u64) -> Next {
        let mut budget = Budget::new(budget);
        let mut after = (t / 1000) as i64;
        if let Some((_, start)) = self.timing.start {
            // Occurrences from the start date on.
            after = after.max(start - 1);
        }
        let tz = &self.timing.tz;
        if let Expr::Elapsed { abs, wall, offset } = &self.expr {
            return self.finish(self.next_elapsed(abs, wall, *offset, after, &mut budget));
        }
        // A time skipped by a clock change maps to after the change: an occurrence written up
        // to a day before the local time of `after` may still come after it.
        let off_now = local_of(tz, after) - after;
        let off_before = local_of(tz, after - DAY as i64) - (after - DAY as i64);
        let mut from = (after + 1 + off_now.min(off_before)).max(0) as u64;
        let found = loop {
            if budget.spend(1).is_err() {
                return Next::Undecided {
                    work: budget.used(),
                };
            }
            let l = match self.expr.search(from, &mut budget) {
                Ok(Some(l)) => l,
                Ok(None) => return Next::Never(self.why_never(from)),
                Err(OutOfBudget) => {
                    return Next::Undecided {
                        work: budget.used(),
                    }
                }
            };
            let Some(u) = utc_of(tz, l as i64) else {
                return Next::Never(beyond());
            };
            if u <= after {
                from = l + 1;
                continue;
            }
            // A later local time may map to an earlier instant only when this one was moved
            // forward over a gap: look on up to the local time of the instant found.
            let mut best = u;
            let limit = local_of(tz, u).max(0) as u64;
            let mut f = l + 1;
            while f < limit {
                let l2 = match self.expr.search(f, &mut budget) {
                    Ok(Some(l2)) if l2 < limit => l2,
                    Ok(_) => break,
                    Err(OutOfBudget) => {
                        return Next::Undecided {
                            work: budget.used(),
                        }
                    }
                };
                if let Some(u2) = utc_of(tz, l2 as i64) {
                    if u2 > after && u2 < best {
                        best = u2;
                    }
                }
                f = l2 + 1;
            }
            break best;
        };
        self.finish(Ok(found))
    }

    /// The end date and the range of engine time applied to an instant found (seconds).
    fn finish(&self, found: Result<i64, Next>) -> Next {
        let found = match found {
            Ok(f) => f,
            Err(n) => return n,
        };
        if let Some(end) = self.timing.end {
            if found > end {
                return Next::Never(Never {
                    reason: "its next occurrence is after the end date".into(),
                    hint: "a later end date".into(),
                    at: None,
                });
            }
        }
        match u64::try_from(found).ok().and_then(|s| s.checked_mul(1000)) {
            Some(ms) => Next::At(ms),
            None => Next::Never(beyond()),
        }
    }

    /// The first instant after `after` (seconds) that is an occurrence of `abs` on the clock
    /// of fixed offset `offset` and of `wall` on the wall clock: candidates of `abs` one after
    /// another, skipping ahead by what `wall` says when the offset cannot change meanwhile.
    fn next_elapsed(
        &self,
        abs: &Schedule,
        wall: &Schedule,
        offset: i64,
        after: i64,
        budget: &mut Budget,
    ) -> Result<i64, Next> {
        let tz = &self.timing.tz;
        let undecided = |b: &Budget| Next::Undecided { work: b.used() };
        let mut u = after + 1;
        loop {
            budget.spend(1).map_err(|_| undecided(budget))?;
            let from = (u + offset).max(0) as u64;
            let x = match abs.search_sec(from, budget) {
                Ok(Some(x)) => x as i64 - offset,
                Ok(None) => return Err(Next::Never(abs.why_never_sec(from))),
                Err(OutOfBudget) => return Err(undecided(budget)),
            };
            let lx = local_of(tz, x).max(0);
            let w = match wall.search_sec(lx as u64, budget) {
                Ok(Some(w)) => w as i64,
                Ok(None) => return Err(Next::Never(wall.why_never_sec(lx as u64))),
                Err(OutOfBudget) => return Err(undecided(budget)),
            };
            if w == lx {
                return Ok(x);
            }
            // No wall-clock match before local time `w`: until the next clock change, local
            // time moves with the instant, so nothing matches before `x + (w - lx)`.
            let target = x + (w - lx).max(1);
            let change = Timestamp::from_second(x)
                .ok()
                .and_then(|t| tz.following(t).next())
                .map(|t| t.timestamp().as_second());
            u = match change {
                Some(c) if c > x && c < target => c,
                _ => target,
            };
        }
    }
    fn why_never(&self, from: u64) -> Never {
        match &self.expr {
            Expr::One(s, _) => s.why_never_sec(from),
            Expr::Elapsed { wall, .. } => wall.why_never_sec(from),
            Expr::Set { .. } => Never {
                reason: "no date and time passes the combination of its schedules (INCLUDE, EXCLUDE, INTERSECT)".into(),
                hint: "schedules whose combination has occurrences".into(),
                at: None,
            },
        }
    }
}

/// FREQ=HOURLY, MINUTELY or SECONDLY in elapsed time: `abs` keeps FREQ, INTERVAL and the
/// clauses finer than FREQ (BYMINUTE and BYSECOND for HOURLY, BYSECOND for MINUTELY), on the
/// clock of the offset in force at the start date (or at the epoch); `wall` keeps the other
/// clauses, every minute and second allowed, on the wall clock.
fn elapsed(text: &str, timing: &Timing) -> Result<Expr, ScheduleError> {
    let freq = match Schedule::parse(text)? {
        Schedule::Calendar(c) => c.freq(),
        Schedule::Cron(_) => Freq::Daily,
    };
    let at = timing.start.map_or(0, |(_, s)| s);
    let offset = local_of(&timing.tz, at) - at;
    let finer: &[&str] = match freq {
        Freq::Hourly => &["BYMINUTE", "BYSECOND"],
        Freq::Minutely => &["BYSECOND"],
        _ => &[],
    };
    let every = |n: u32| (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(",");
    let mut abs: Vec<String> = Vec::new();
    let mut wall: Vec<String> = Vec::new();
    let mut bytime = false;
    for (_, clause) in super::split_trimmed(text, 0, ';') {
        if clause.is_empty() {
            continue;
        }
        let key = clause
            .split_once('=')
            .map_or("", |(k, _)| k.trim())
            .to_ascii_uppercase();
        match key.as_str() {
            "FREQ" => {
                abs.push(clause.to_string());
                wall.push(clause.to_string());
            }
            "INTERVAL" => abs.push(clause.to_string()),
            k if finer.contains(&k) => abs.push(clause.to_string()),
            "BYTIME" => {
                bytime = true;
                wall.push(clause.to_string());
            }
            _ => wall.push(clause.to_string()),
        }
    }
    if bytime {
        // The times of day are the wall clock's: every minute and second of the periods.
        abs.retain(|c| !c.to_ascii_uppercase().starts_with("BY"));
        for k in finer {
            abs.push(format!("{k}={}", every(60)));
        }
    } else {
        for k in finer {
            wall.push(format!("{k}={}", every(60)));
        }
    }
    let anchor = timing.start.map(|(_, s)| {
        let dt = TimeZone::UTC
            .to_datetime(Timestamp::from_second(s + offset).unwrap_or(Timestamp::UNIX_EPOCH));
        Anchor {
            local_sec: (s + offset).max(0) as u64,
            month: dt.month() as u32,
            day: dt.day() as u32,
            weekday: dt.weekday().to_monday_zero_offset() as u32,
            hour: dt.hour() as u32,
            minute: dt.minute() as u32,
            second: dt.second() as u32,
        }
    });
    let abs = Schedule::parse_anchored(&abs.join(";"), anchor)?;
    let wall = Schedule::parse_anchored(&wall.join(";"), timing.anchor())?;
    Ok(Expr::Elapsed {
        abs: Box::new(abs),
        wall: Box::new(wall),
        offset,
    })
}

fn beyond() -> Never {
    Never {
        reason: "its next occurrence is beyond the range of engine time".into(),
        hint: "a schedule with occurrences before the year 584,000,000".into(),
        at: None,
    }
}

fn looks_like_cron(clause: &str) -> bool {
    !clause
        .trim_start()
        .starts_with(|c: char| c.is_ascii_alphabetic())
}

fn is_set_keyword(k: &str) -> bool {
    ["INCLUDE", "EXCLUDE", "INTERSECT"]
        .iter()
        .any(|w| w.eq_ignore_ascii_case(k))
}

fn name_list(text: &str, base: usize) -> Vec<(String, usize)> {
    super::split_trimmed(text, base, ',')
        .into_iter()
        .filter(|(_, n)| !n.is_empty())
        .map(|(o, n)| (n.trim_matches('"').to_ascii_uppercase(), o))
        .collect()
}

fn parse_expr(
    text: &str,
    anchor: Option<Anchor>,
    named: &dyn Fn(&str) -> Option<String>,
    stack: &mut Vec<String>,
) -> Result<Expr, ScheduleError> {
    let clauses = super::split_trimmed(text, 0, ';');
    let has_sets = clauses
        .iter()
        .enumerate()
        .any(|(i, (_, c))| match c.split_once('=') {
            None => i == 0 && !c.is_empty() && !looks_like_cron(c),
            Some((k, _)) => is_set_keyword(k.trim()),
        });
    if !has_sets {
        return Schedule::parse_anchored(text, anchor)
            .map(|s| Expr::One(Box::new(s), text.to_string()));
    }
    let resolve =
        |name: &str, off: usize, stack: &mut Vec<String>| -> Result<Expr, ScheduleError> {
            let at = |m: String| ScheduleError::at(off, name.len(), m);
            if stack.iter().any(|n| n == name) {
                return Err(at(format!(
                    "schedule {name} refers to itself (through {})",
                    stack.join(" → ")
                )));
            }
            if stack.len() >= MAX_NESTING {
                return Err(at(format!(
                    "named schedules nest more than {MAX_NESTING} deep at {name}"
                )));
            }
            let Some(body) = named(name) else {
                return Err(at(format!("unknown named schedule {name}"))
                    .expected("a schedule declared with `schedule NAME '...';`"));
            };
            stack.push(name.to_string());
            let r = parse_expr(&body, anchor, named, stack).map_err(|e| {
                at(format!("in schedule {name}: {}", e.message))
                    .expected(e.expected.unwrap_or_default())
            });
            stack.pop();
            r
        };
    // The schedule's own clauses: the text with the set clauses blanked (offsets kept).
    let mut own = text.to_string();
    let (mut base, mut include, mut exclude, mut intersect) = (vec![], vec![], vec![], vec![]);
    let mut has_own = false;
    for (i, (off, clause)) in clauses.iter().enumerate() {
        let blank = |own: &mut String| {
            own.replace_range(*off..*off + clause.len(), &" ".repeat(clause.len()));
        };
        match clause.split_once('=') {
            None if i == 0 && !clause.is_empty() && !looks_like_cron(clause) => {
                for (n, o) in name_list(clause, *off) {
                    base.push(resolve(&n, o, stack)?);
                }
                blank(&mut own);
            }
            Some((k, v)) if is_set_keyword(k.trim()) => {
                let list = name_list(v, off + k.len() + 1);
                if list.is_empty() {
                    return Err(ScheduleError::at(
                        *off,
                        clause.len(),
                        format!("{} names no schedule", k.trim().to_ascii_uppercase()),
                    )
                    .expected("one or more named schedules separated by commas"));
                }
                let mut exprs = Vec::new();
                for (n, o) in list {
                    exprs.push(resolve(&n, o, stack)?);
                }
                match k.trim().to_ascii_uppercase().as_str() {
                    "INCLUDE" => include.extend(exprs),
                    "EXCLUDE" => exclude.extend(exprs),
                    _ => intersect.extend(exprs),
                }
                blank(&mut own);
            }
            _ if clause.is_empty() => {}
            _ => has_own = true,
        }
    }
    if has_own {
        if !base.is_empty() {
            let (off, c) = clauses
                .iter()
                .skip(1)
                .find(|(_, c)| {
                    c.split_once('=')
                        .is_some_and(|(k, _)| !is_set_keyword(k.trim()))
                })
                .copied()
                .unwrap_or((0, text));
            return Err(ScheduleError::at(
                off,
                c.len(),
                "a list of named schedules cannot have clauses of its own",
            )
            .expected("`NAME[,NAME...]` followed only by INCLUDE, EXCLUDE or INTERSECT clauses"));
        }
        base.push(Expr::One(
            Box::new(Schedule::parse_anchored(&own, anchor)?),
            own.clone(),
        ));
    }
    if base.is_empty() && include.is_empty() {
        return Err(ScheduleError::at(0, text.len(), "the schedule has nothing to run on: INCLUDE, EXCLUDE and INTERSECT only combine a schedule with others")
            .expected("FREQ=... clauses or named schedules before EXCLUDE or INTERSECT"));
    }
    if base.len() == 1 && include.is_empty() && exclude.is_empty() && intersect.is_empty() {
        // `schedule NIGHTLY`: the named schedule itself.
        return Ok(base.remove(0));
    }
    Ok(Expr::Set {
        base,
        include,
        exclude,
        intersect,
    })
}
