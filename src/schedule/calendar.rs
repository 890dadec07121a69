//! Oracle DBMS_SCHEDULER calendaring syntax (`repeat_interval`):
//! `FREQ=...; INTERVAL=n; BYMONTH=...; BYWEEKNO=...; BYYEARDAY=...; BYDATE=...;
//! BYMONTHDAY=...; BYDAY=...; BYHOUR=...; BYMINUTE=...; BYSECOND=...; BYSETPOS=...`.
//!
//! Semantics (Oracle's, which follow iCalendar RRULEs): an occurrence is a whole second whose
//! date passes every date clause (BYMONTH, BYWEEKNO, BYYEARDAY, BYDATE, BYMONTHDAY, BYDAY —
//! clauses narrow each other, values within one clause are alternatives), whose hour, minute and
//! second are in BYHOUR/BYMINUTE/BYSECOND, and whose FREQ period is a multiple of INTERVAL
//! periods after the anchor. A BY clause finer than FREQ expands it (FREQ=DAILY;BYHOUR=9,17:
//! twice a day), one at or above FREQ limits it (FREQ=MINUTELY;BYHOUR=7: every minute of the
//! 7 o'clock hour) — both fall out of the definition above. Fields finer than FREQ that no
//! clause gives take the anchor's value (see below); BYSETPOS then keeps the n-th occurrences of
//! each FREQ period.
//!
//! The anchor (Oracle's start date) is the start of the FREQ period containing the Unix epoch:
//! midnight UTC, Monday for weeks, the 1st for months, January for years. So `FREQ=DAILY` runs
//! at 00:00:00 UTC, `FREQ=WEEKLY` on Mondays, `FREQ=MONTHLY` on the 1st, `FREQ=YEARLY` on
//! January 1st, and `FREQ=HOURLY;INTERVAL=2` on even hours.

use super::civil::{
    civil_from_days, day_of_year, days_from_civil, days_in_month, days_in_year, iso_week, weekday,
    DAY_SECS, GREGORIAN_CYCLE_DAYS,
};
use super::timeset::{TimeSet, ALL_HOURS, ALL_SIXTY};
use super::{split_trimmed, ScheduleError};
use crate::lang::diagnostic::nearest_name;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Freq {
    Secondly,
    Minutely,
    Hourly,
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

const FREQS: [(&str, Freq); 7] = [
    ("YEARLY", Freq::Yearly),
    ("MONTHLY", Freq::Monthly),
    ("WEEKLY", Freq::Weekly),
    ("DAILY", Freq::Daily),
    ("HOURLY", Freq::Hourly),
    ("MINUTELY", Freq::Minutely),
    ("SECONDLY", Freq::Secondly),
];
const KEYWORDS: [&str; 13] = [
    "FREQ",
    "INTERVAL",
    "BYMONTH",
    "BYWEEKNO",
    "BYYEARDAY",
    "BYDATE",
    "BYMONTHDAY",
    "BYDAY",
    "BYHOUR",
    "BYMINUTE",
    "BYSECOND",
    "BYSETPOS",
    "BYDAY",
];
const UNSUPPORTED: [&str; 5] = ["INCLUDE", "EXCLUDE", "INTERSECT", "PERIODS", "BYPERIOD"];
const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];
/// BYSETPOS enumerates every candidate of a FREQ period; refuse strings that could make that huge.
const SETPOS_CANDIDATE_LIMIT: u64 = 100_000;
/// Largest INTERVAL Oracle accepts.
pub const MAX_INTERVAL: u64 = 1000;

/// A parsed BYDAY clause: plain weekdays (bit 0 = Monday), numbered weekdays, and where the
/// clause is in the string (for errors found later).
type ByDayClause = (u8, Vec<(i32, u32)>, usize, usize);

#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    freq: Freq,
    interval: u64,
    /// Bit m (1-12); `None`: every month.
    months: Option<u16>,
    weeknos: Vec<i32>,
    yeardays: Vec<i32>,
    dates: Vec<(Option<i64>, u32, u32)>,
    monthdays: Vec<i32>,
    /// BYDAY given: plain weekdays (bit 0 = Monday) and n-th weekdays `(n, weekday)`.
    byday: Option<(u8, Vec<(i32, u32)>)>,
    times: TimeSet,
    setpos: Vec<i32>,
    /// For FREQ below DAILY with INTERVAL > 1: for each residue r of the period number within
    /// a day modulo INTERVAL, the first allowed second of the day whose period has residue r.
    residue_first: Vec<Option<u32>>,
}

impl Calendar {
    pub fn freq(&self) -> Freq {
        self.freq
    }

    // ------------------------------------------------------------------ parsing

    pub fn parse(text: &str) -> Result<Calendar, ScheduleError> {
        let mut seen: Vec<(&'static str, usize)> = Vec::new();
        let mut freq: Option<Freq> = None;
        let mut interval = 1u64;
        let mut months = None;
        let (mut weeknos, mut yeardays, mut monthdays, mut dates) =
            (vec![], vec![], vec![], vec![]);
        // (plain weekdays, numbered weekdays, clause offset, clause length)
        let mut byday: Option<ByDayClause> = None;
        let (mut hours, mut minutes, mut seconds) = (None, None, None);
        let mut setpos = vec![];
        let mut setpos_at = None;
        let lead = text.len() - text.trim_start().len();
        let upper = text.trim().to_ascii_uppercase();
        if [
            "SYSDATE",
            "SYSTIMESTAMP",
            "TRUNC",
            "LAST_DAY",
            "NEXT_DAY",
            "ADD_MONTHS",
        ]
        .iter()
        .any(|f| upper.starts_with(f))
        {
            return Err(ScheduleError::at(
                lead,
                text.trim().len(),
                "PL/SQL date expressions are not supported as schedules; use the calendaring syntax",
            )
            .expected("`FREQ=...` clauses, e.g. `FREQ=DAILY;BYHOUR=2`"));
        }
        for (off, clause) in split_trimmed(text, 0, ';') {
            if clause.is_empty() {
                continue;
            }
            let Some((key_raw, value_raw)) = clause.split_once('=') else {
                let word = clause
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .next()
                    .unwrap_or(clause);
                return Err(ScheduleError::at(
                    off,
                    clause.len(),
                    format!("`{clause}` is not a `KEYWORD=value` clause"),
                )
                .expected("`FREQ=...`, `INTERVAL=n` or a BY... clause, separated by `;`")
                .suggest(keyword_suggestion(word)));
            };
            let key = key_raw.trim();
            let key_up = key.to_ascii_uppercase();
            let value_off = off + key_raw.len() + 1;
            let value = value_raw.trim();
            let value_off = value_off + (value_raw.len() - value_raw.trim_start().len());
            let Some(kw) = KEYWORDS.iter().copied().find(|k| *k == key_up) else {
                if UNSUPPORTED.contains(&key_up.as_str()) {
                    return Err(ScheduleError::at(
                        off,
                        key.len(),
                        format!("{key_up} (named schedules) is not supported by chainsched"),
                    )
                    .expected("FREQ, INTERVAL or a BY... clause"));
                }
                return Err(ScheduleError::at(
                    off,
                    key.len().max(1),
                    format!("unknown calendar keyword `{key}`"),
                )
                .expected(format!("one of {}", KEYWORDS[..12].join(", ")))
                .suggest(keyword_suggestion(key)));
            };
            if let Some((_, first)) = seen.iter().find(|(k, _)| *k == kw) {
                return Err(ScheduleError::at(
                    off,
                    key.len(),
                    format!("{kw} is given twice (first at offset {first})"),
                )
                .expected("each keyword at most once"));
            }
            seen.push((kw, off));
            if value.is_empty() {
                return Err(ScheduleError::at(
                    value_off.min(text.len().saturating_sub(1)),
                    1,
                    format!("{kw}= has no value"),
                )
                .expected(expected_for(kw)));
            }
            let items = split_trimmed(value, value_off, ',');
            match kw {
                "FREQ" => {
                    let up = value.to_ascii_uppercase();
                    freq = Some(
                        FREQS
                            .iter()
                            .find(|(n, _)| *n == up)
                            .map(|(_, f)| *f)
                            .ok_or_else(|| {
                                ScheduleError::at(
                                    value_off,
                                    value.len(),
                                    format!("unknown frequency `{value}`"),
                                )
                                .expected(expected_for("FREQ"))
                                .suggest(nearest_name(value, FREQS.iter().map(|(n, _)| *n)))
                            })?,
                    );
                }
                "INTERVAL" => {
                    interval = int_in(value, value_off, 1, MAX_INTERVAL as i64, "INTERVAL")? as u64
                }
                "BYMONTH" => {
                    let mut mask = 0u16;
                    for (o, item) in items {
                        let m = match MONTHS.iter().position(|n| n.eq_ignore_ascii_case(item)) {
                            Some(i) => i as i64 + 1,
                            None if item.starts_with(|c: char| c.is_ascii_alphabetic()) => {
                                return Err(ScheduleError::at(
                                    o,
                                    item.len(),
                                    format!("`{item}` is not a month"),
                                )
                                .expected(expected_for(kw))
                                .suggest(nearest_name(item, MONTHS.iter().copied())))
                            }
                            None => int_in(item, o, 1, 12, kw)?,
                        };
                        mask |= 1 << m;
                    }
                    months = Some(mask);
                }
                "BYWEEKNO" => weeknos = signed_list(&items, 53, kw)?,
                "BYYEARDAY" => yeardays = signed_list(&items, 366, kw)?,
                "BYMONTHDAY" => monthdays = signed_list(&items, 31, kw)?,
                "BYSETPOS" => {
                    setpos = signed_list(&items, 9999, kw)?;
                    setpos_at = Some((off, clause.len()));
                }
                "BYDATE" => {
                    for (o, item) in items {
                        dates.push(parse_date(item, o)?);
                    }
                }
                "BYDAY" => {
                    let mut plain = 0u8;
                    let mut nth = Vec::new();
                    for (o, item) in items {
                        let split = item
                            .find(|c: char| c.is_ascii_alphabetic())
                            .unwrap_or(item.len());
                        let (num, name) = item.split_at(split);
                        let wd = DAYS
                            .iter()
                            .position(|d| d.eq_ignore_ascii_case(name.trim()))
                            .ok_or_else(|| {
                                ScheduleError::at(
                                    o + split,
                                    name.len().max(1),
                                    format!("`{}` is not a day of the week", name.trim()),
                                )
                                .expected(expected_for("BYDAY"))
                                .suggest(if name.is_empty() {
                                    None
                                } else {
                                    nearest_name(name.trim(), DAYS.iter().copied())
                                })
                            })? as u32;
                        let num = num.trim();
                        if num.is_empty() {
                            plain |= 1 << wd;
                        } else {
                            let n = int_in(num.trim_start_matches('+'), o, -53, 53, kw)
                                .ok()
                                .filter(|n| *n != 0)
                                .ok_or_else(|| {
                                    ScheduleError::at(o, num.len(), format!("`{num}` is not a valid week position"))
                                        .expected("a position from 1 to 53 or -1 to -53 before the day (1MON, -1FRI)")
                                })?;
                            nth.push((n as i32, wd));
                        }
                    }
                    byday = Some((plain, nth, off, clause.len()));
                }
                "BYHOUR" => hours = Some(mask_list(&items, 23, kw)? as u32),
                "BYMINUTE" => minutes = Some(mask_list(&items, 59, kw)?),
                "BYSECOND" => seconds = Some(mask_list(&items, 59, kw)?),
                _ => {}
            }
        }
        let Some(freq) = freq else {
            return Err(ScheduleError::at(
                lead,
                text.trim().len(),
                "a calendar string needs a FREQ clause",
            )
            .expected("`FREQ=YEARLY|MONTHLY|WEEKLY|DAILY|HOURLY|MINUTELY|SECONDLY`"));
        };

        // n-th weekdays count within the month or the year: only meaningful for those FREQs.
        if let Some((_, nth, off, len)) = &byday {
            if !nth.is_empty() {
                let ok = match freq {
                    Freq::Monthly => true,
                    Freq::Yearly => weeknos.is_empty(),
                    _ => false,
                };
                if !ok {
                    return Err(ScheduleError::at(*off, *len, "a numbered day (1MON, -1FRI) needs FREQ=MONTHLY or FREQ=YEARLY (without BYWEEKNO)")
                        .expected("plain day names (MON, FRI) with this FREQ"));
                }
                let limit = if freq == Freq::Monthly || months.is_some() {
                    5
                } else {
                    53
                };
                if nth.iter().any(|(n, _)| n.abs() > limit) {
                    return Err(ScheduleError::at(
                        *off,
                        *len,
                        format!(
                            "a day position is beyond {limit} within the {}",
                            if limit == 5 { "month" } else { "year" }
                        ),
                    )
                    .expected(format!("positions from 1 to {limit} or -1 to -{limit}")));
                }
            }
        }

        // Defaults from the anchor (start of the FREQ period containing the epoch).
        let has_day =
            byday.is_some() || !monthdays.is_empty() || !yeardays.is_empty() || !dates.is_empty();
        match freq {
            Freq::Yearly if !has_day && weeknos.is_empty() => {
                months.get_or_insert(1 << 1);
                monthdays.push(1);
            }
            Freq::Yearly if !has_day => byday = Some((1, vec![], 0, 0)), // BYWEEKNO alone: Mondays
            Freq::Monthly if !has_day && weeknos.is_empty() => monthdays.push(1),
            Freq::Weekly if !has_day => byday = Some((1, vec![], 0, 0)),
            _ => {}
        }
        let times = TimeSet {
            hours: hours.unwrap_or(if freq <= Freq::Hourly { ALL_HOURS } else { 1 }),
            minutes: minutes.unwrap_or(if freq <= Freq::Minutely { ALL_SIXTY } else { 1 }),
            seconds: seconds.unwrap_or(if freq <= Freq::Secondly { ALL_SIXTY } else { 1 }),
        };
        if let Some((off, len)) = setpos_at {
            if freq < Freq::Daily {
                return Err(ScheduleError::at(
                    off,
                    len,
                    "BYSETPOS needs FREQ=DAILY, WEEKLY, MONTHLY or YEARLY",
                )
                .expected("a FREQ of a day or longer with BYSETPOS"));
            }
            let days = match freq {
                Freq::Yearly => 366,
                Freq::Monthly => 31,
                Freq::Weekly => 7,
                _ => 1,
            };
            if days * times.count() > SETPOS_CANDIDATE_LIMIT {
                return Err(ScheduleError::at(off, len, format!("BYSETPOS over more than {SETPOS_CANDIDATE_LIMIT} candidate times per FREQ period is not supported"))
                    .expected("fewer BYHOUR/BYMINUTE/BYSECOND values, or a shorter FREQ"));
            }
        }
        let mut cal = Calendar {
            freq,
            interval,
            months,
            weeknos,
            yeardays,
            dates,
            monthdays,
            byday: byday.map(|(p, n, _, _)| (p, n)),
            times,
            setpos,
            residue_first: Vec::new(),
        };
        if let Some(unit) = cal.sub_day_unit() {
            if interval > 1 {
                let mut first = vec![None; interval as usize];
                for tod in times.all() {
                    let r = (tod as u64 / unit % interval) as usize;
                    if first[r].is_none() {
                        first[r] = Some(tod);
                    }
                }
                cal.residue_first = first;
            }
        }
        Ok(cal)
    }

    // ------------------------------------------------------------------ evaluation

    /// Seconds per period for FREQ below DAILY.
    fn sub_day_unit(&self) -> Option<u64> {
        match self.freq {
            Freq::Secondly => Some(1),
            Freq::Minutely => Some(60),
            Freq::Hourly => Some(3600),
            _ => None,
        }
    }

    /// The number of the FREQ period (DAILY and longer) holding `day`, counted from the anchor.
    fn period_of_day(&self, day: i64) -> i64 {
        match self.freq {
            Freq::Weekly => (day + 3).div_euclid(7),
            Freq::Monthly => {
                let (y, m, _) = civil_from_days(day);
                (y - 1970) * 12 + m as i64 - 1
            }
            Freq::Yearly => civil_from_days(day).0 - 1970,
            _ => day,
        }
    }

    /// First day of period number `p` (DAILY and longer).
    fn period_start(&self, p: i64) -> i64 {
        match self.freq {
            Freq::Weekly => p * 7 - 3,
            Freq::Monthly => {
                days_from_civil(1970 + p.div_euclid(12), p.rem_euclid(12) as u32 + 1, 1)
            }
            Freq::Yearly => days_from_civil(1970 + p, 1, 1),
            _ => p,
        }
    }

    fn date_matches(&self, day: i64) -> bool {
        let (y, m, d) = civil_from_days(day);
        if let Some(mask) = self.months {
            if mask & (1 << m) == 0 {
                return false;
            }
        }
        if !self.weeknos.is_empty() {
            let (w, n) = iso_week(day);
            if !self.weeknos.iter().any(|&x| from_end(x, n) == w as i64) {
                return false;
            }
        }
        if !self.yeardays.is_empty() {
            let doy = day_of_year(day) as i64;
            if !self
                .yeardays
                .iter()
                .any(|&x| from_end(x, days_in_year(y)) == doy)
            {
                return false;
            }
        }
        if !self.dates.is_empty()
            && !self
                .dates
                .iter()
                .any(|&(yy, mm, dd)| yy.is_none_or(|yy| yy == y) && mm == m && dd == d)
        {
            return false;
        }
        if !self.monthdays.is_empty()
            && !self
                .monthdays
                .iter()
                .any(|&x| from_end(x, days_in_month(y, m)) == d as i64)
        {
            return false;
        }
        if let Some((plain, nth)) = &self.byday {
            let wd = weekday(day);
            if plain & (1 << wd) == 0 {
                let in_month = self.freq == Freq::Monthly || self.months.is_some();
                let (pos, len) = if in_month {
                    (d, days_in_month(y, m))
                } else {
                    (day_of_year(day), days_in_year(y))
                };
                let fwd = (pos as i32 - 1) / 7 + 1;
                let back = -((len as i32 - pos as i32) / 7 + 1);
                if !nth.iter().any(|&(n, w)| w == wd && (n == fwd || n == back)) {
                    return false;
                }
            }
        }
        true
    }

    /// Whether second-of-day `tod` of `day` lies in a period allowed by INTERVAL (FREQ below
    /// DAILY; longer FREQs are checked per day).
    fn tod_in_interval(&self, day: u64, tod: u32) -> bool {
        match self.sub_day_unit() {
            Some(unit) if self.interval > 1 => {
                (day * (DAY_SECS / unit) + tod as u64 / unit) % self.interval == 0
            }
            _ => true,
        }
    }

    /// Whether some allowed second of `day` is in an allowed period (FREQ below DAILY).
    fn day_has_interval_time(&self, day: u64) -> bool {
        match self.sub_day_unit() {
            Some(unit) if self.interval > 1 => {
                let per_day = DAY_SECS / unit;
                let r = (self.interval
                    - (day % self.interval) * (per_day % self.interval) % self.interval)
                    % self.interval;
                self.residue_first[r as usize].is_some()
            }
            _ => true,
        }
    }

    pub(crate) fn matches_sec(&self, sec: u64) -> bool {
        let day = sec / DAY_SECS;
        let tod = (sec % DAY_SECS) as u32;
        if !self.times.contains(tod)
            || !self.date_matches(day as i64)
            || !self.tod_in_interval(day, tod)
        {
            return false;
        }
        if self.freq >= Freq::Daily
            && self
                .period_of_day(day as i64)
                .rem_euclid(self.interval as i64)
                != 0
        {
            return false;
        }
        if self.setpos.is_empty() {
            return true;
        }
        self.setpos_selected(self.period_of_day(day as i64))
            .contains(&sec)
    }

    /// Every occurrence of period `p` (before BYSETPOS), then the ones BYSETPOS keeps, sorted.
    fn setpos_selected(&self, p: i64) -> Vec<u64> {
        let (start, end) = (self.period_start(p), self.period_start(p + 1));
        let tods = self.times.all();
        let mut all = Vec::new();
        for day in start.max(0)..end {
            if self.date_matches(day) {
                all.extend(tods.iter().map(|t| day as u64 * DAY_SECS + *t as u64));
            }
        }
        let n = all.len() as i64;
        let mut out: Vec<u64> = self
            .setpos
            .iter()
            .filter_map(|&k| {
                let i = if k > 0 { k as i64 - 1 } else { n + k as i64 };
                (0..n).contains(&i).then(|| all[i as usize])
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    pub(crate) fn first_at_or_after(&self, from: u64) -> Option<u64> {
        if self.times.is_empty() {
            return None;
        }
        let first_day = (from / DAY_SECS) as i64;
        let from_tod = (from % DAY_SECS) as u32;
        // The pattern repeats every 400 years times INTERVAL periods (for FREQ below DAILY, the
        // interval's cycle over days is at most INTERVAL days): one such span without an
        // occurrence means there is none.
        let horizon = first_day + GREGORIAN_CYCLE_DAYS as i64 * (self.interval as i64 + 1);
        if !self.setpos.is_empty() {
            return self.first_with_setpos(from, horizon);
        }
        let mut day = first_day;
        let mut tod = from_tod;
        while day <= horizon {
            if self.freq >= Freq::Daily {
                let p = self.period_of_day(day);
                let rem = p.rem_euclid(self.interval as i64);
                if rem != 0 {
                    day = self.period_start(p + self.interval as i64 - rem);
                    tod = 0;
                    continue;
                }
            }
            let dayu = day as u64;
            if self.day_has_interval_time(dayu) && self.date_matches(day) {
                if let Some(t) = self
                    .times
                    .first_from(tod, |t| self.tod_in_interval(dayu, t))
                {
                    return dayu.checked_mul(DAY_SECS)?.checked_add(t as u64);
                }
            }
            day += 1;
            tod = 0;
        }
        None
    }

    fn first_with_setpos(&self, from: u64, horizon: i64) -> Option<u64> {
        let mut p = self.period_of_day((from / DAY_SECS) as i64);
        let rem = p.rem_euclid(self.interval as i64);
        if rem != 0 {
            p += self.interval as i64 - rem;
        }
        while self.period_start(p) <= horizon {
            if let Some(s) = self.setpos_selected(p).into_iter().find(|s| *s >= from) {
                return Some(s);
            }
            p += self.interval as i64;
        }
        None
    }
}

/// A 1-based position counted from the start (positive) or the end (negative) of `len`.
fn from_end(x: i32, len: u32) -> i64 {
    if x > 0 {
        x as i64
    } else {
        len as i64 + 1 + x as i64
    }
}

fn keyword_suggestion(word: &str) -> Option<String> {
    nearest_name(word, KEYWORDS[..12].iter().copied())
}

fn expected_for(kw: &str) -> String {
    match kw {
        "FREQ" => "YEARLY, MONTHLY, WEEKLY, DAILY, HOURLY, MINUTELY or SECONDLY".into(),
        "INTERVAL" => format!("a whole number from 1 to {MAX_INTERVAL}"),
        "BYMONTH" => "months 1-12 or JAN..DEC, separated by commas".into(),
        "BYWEEKNO" => "ISO week numbers 1 to 53 or -1 to -53".into(),
        "BYYEARDAY" => "days of the year 1 to 366 or -1 to -366".into(),
        "BYMONTHDAY" => "days of the month 1 to 31 or -1 to -31 (-1 = last day)".into(),
        "BYDATE" => "dates MMDD or YYYYMMDD, separated by commas".into(),
        "BYDAY" => {
            "days MON, TUE, WED, THU, FRI, SAT, SUN, optionally numbered (1MON, -1FRI)".into()
        }
        "BYHOUR" => "hours 0 to 23".into(),
        "BYMINUTE" => "minutes 0 to 59".into(),
        "BYSECOND" => "seconds 0 to 59".into(),
        "BYSETPOS" => "positions 1 to 9999 or -1 to -9999".into(),
        _ => "a value".into(),
    }
}

fn int_in(text: &str, off: usize, lo: i64, hi: i64, kw: &str) -> Result<i64, ScheduleError> {
    match text.trim().parse::<i64>() {
        Ok(v) if (lo..=hi).contains(&v) => Ok(v),
        Ok(v) => Err(
            ScheduleError::at(off, text.len(), format!("{kw} value {v} is out of range"))
                .expected(expected_for(kw)),
        ),
        Err(_) => Err(
            ScheduleError::at(off, text.len(), format!("`{text}` is not a number"))
                .expected(expected_for(kw)),
        ),
    }
}

/// Values `±1..=max` (zero refused).
fn signed_list(items: &[(usize, &str)], max: i64, kw: &str) -> Result<Vec<i32>, ScheduleError> {
    items
        .iter()
        .map(|(o, item)| {
            let v = int_in(item.trim_start_matches('+'), *o, -max, max, kw)?;
            if v == 0 {
                return Err(
                    ScheduleError::at(*o, item.len(), format!("{kw} cannot be 0"))
                        .expected(expected_for(kw)),
                );
            }
            Ok(v as i32)
        })
        .collect()
}

fn mask_list(items: &[(usize, &str)], max: i64, kw: &str) -> Result<u64, ScheduleError> {
    let mut mask = 0u64;
    for (o, item) in items {
        mask |= 1u64 << int_in(item, *o, 0, max, kw)?;
    }
    Ok(mask)
}

fn parse_date(item: &str, off: usize) -> Result<(Option<i64>, u32, u32), ScheduleError> {
    let bad = || {
        ScheduleError::at(off, item.len(), format!("`{item}` is not a date"))
            .expected(expected_for("BYDATE") + " (offsets and spans are not supported)")
    };
    if !item.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let (y, md) = match item.len() {
        4 => (None, item),
        8 => (
            Some(item[..4].parse::<i64>().map_err(|_| bad())?),
            &item[4..],
        ),
        _ => return Err(bad()),
    };
    let m: u32 = md[..2].parse().map_err(|_| bad())?;
    let d: u32 = md[2..].parse().map_err(|_| bad())?;
    let max_d = if (1..=12).contains(&m) {
        days_in_month(y.unwrap_or(2000), m)
    } else {
        0
    };
    if d == 0 || d > max_d {
        return Err(bad());
    }
    Ok((y, m, d))
}
