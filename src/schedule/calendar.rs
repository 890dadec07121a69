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
    DAY_SECS,
};
use super::days::{scan, Budget, DateRule, DayBits, OutOfBudget, Scan, Year, YearCache};
use super::timeset::{TimeSet, ALL_HOURS, ALL_SIXTY};
use super::{split_trimmed, Never, ScheduleError};
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
    "BYTIME",
];
const UNSUPPORTED: [&str; 5] = ["INCLUDE", "EXCLUDE", "INTERSECT", "PERIODS", "BYPERIOD"];
const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];
/// Largest INTERVAL Oracle accepts.
pub const MAX_INTERVAL: u64 = 1000;

/// A parsed BYDAY clause: plain weekdays (bit 0 = Monday), numbered weekdays, and where the
/// clause is in the string (for errors found later).
type ByDayClause = (u8, Vec<(i32, u32)>, usize, usize);

/// A clause as written: its keyword, where it is in the string and its text (for diagnostics).
#[derive(Debug, Clone, PartialEq)]
struct Clause {
    keyword: &'static str,
    offset: usize,
    text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    /// The clauses as written, in order.
    clauses: Vec<Clause>,
    /// The day clause FREQ implies when the string gives none, when it can matter for a
    /// diagnostic (`FREQ=YEARLY;BYWEEKNO=53;BYMONTH=1`: week 53's Monday is never in January).
    implied_day: Option<&'static str>,
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
    /// The number of the FREQ period holding the anchor (0: the period containing the epoch),
    /// from which INTERVAL counts: days, weeks, months or years for DAILY and longer, else
    /// hours, minutes or seconds since the epoch.
    anchor_period: i64,
}

/// Where a calendar string is anchored (Oracle's start date), as local civil time on the wall
/// clock of the job's time zone. It supplies the fields the string leaves out (the time of day,
/// the weekday for WEEKLY, the day of the month for MONTHLY, the month and day for YEARLY) and
/// INTERVAL counts periods from its period. Built from a `jiff` civil date-time
/// ([`super::zone`]), so the fields come from the time-zone library, not from this module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    /// Seconds since 1970-01-01T00:00:00 on the local wall clock.
    pub local_sec: u64,
    /// 1-12, 1-31, 0 = Monday … 6 = Sunday, 0-23, 0-59, 0-59.
    pub month: u32,
    pub day: u32,
    pub weekday: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl Calendar {
    pub fn freq(&self) -> Freq {
        self.freq
    }

    // ------------------------------------------------------------------ parsing

    pub fn parse(text: &str) -> Result<Calendar, ScheduleError> {
        Self::parse_anchored(text, None)
    }

    /// [`Calendar::parse`] anchored at `anchor` instead of the start of the FREQ period
    /// containing the epoch.
    pub fn parse_anchored(text: &str, anchor: Option<Anchor>) -> Result<Calendar, ScheduleError> {
        let mut seen: Vec<(&'static str, usize)> = Vec::new();
        let mut clauses: Vec<Clause> = Vec::new();
        let mut implied_day = None;
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
            clauses.push(Clause {
                keyword: kw,
                offset: off,
                text: clause.to_string(),
            });
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
                "BYTIME" => {
                    let (h, m, sec) = bytime(&items, off, clause.len())?;
                    hours = Some(h);
                    minutes = Some(m);
                    seconds = Some(sec);
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

        // BYTIME is the times of day in one clause (Oracle SQL Developer's job wizard writes
        // it): it cannot be combined with the clauses it stands for.
        if let Some(c) = clauses.iter().find(|c| c.keyword == "BYTIME") {
            if let Some(other) = clauses
                .iter()
                .find(|o| matches!(o.keyword, "BYHOUR" | "BYMINUTE" | "BYSECOND"))
            {
                return Err(ScheduleError::at(
                    c.offset,
                    c.text.len(),
                    format!("BYTIME and {} are both given", other.keyword),
                )
                .expected("either BYTIME=hhmmss or BYHOUR/BYMINUTE/BYSECOND"));
            }
        }

        // ISO week numbers count within a year: RFC 5545 allows BYWEEKNO only with YEARLY, and
        // Oracle refuses it with any other FREQ (ORA-27417 "BYWEEKNO clause requires YEARLY
        // clause").
        if freq != Freq::Yearly {
            if let Some(c) = clauses.iter().find(|c| c.keyword == "BYWEEKNO") {
                return Err(ScheduleError::at(
                    c.offset,
                    c.text.len(),
                    "BYWEEKNO needs FREQ=YEARLY: week numbers count within a year (RFC 5545; Oracle refuses it too, ORA-27417)",
                )
                .expected("FREQ=YEARLY with BYWEEKNO, or BYDAY/BYMONTHDAY/BYYEARDAY with this FREQ"));
            }
        }

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

        // Defaults from the anchor: the start of the FREQ period containing the epoch (midnight,
        // Monday, the 1st, January), or the given anchor's fields (Oracle's start date).
        let (a_month, a_mday, a_wd, a_h, a_mi, a_s) = match anchor {
            Some(a) => (a.month, a.day, a.weekday, a.hour, a.minute, a.second),
            None => (1, 1, 0, 0, 0, 0),
        };
        let has_day =
            byday.is_some() || !monthdays.is_empty() || !yeardays.is_empty() || !dates.is_empty();
        match freq {
            Freq::Yearly if !has_day && weeknos.is_empty() => {
                months.get_or_insert(1 << a_month);
                monthdays.push(a_mday as i32);
            }
            Freq::Yearly if !has_day => {
                // BYWEEKNO alone: the week's day of the anchor (RFC 5545 takes the weekday of
                // the start date; the epoch's anchor week starts on a Monday).
                byday = Some((1 << a_wd, vec![], 0, 0));
                implied_day = Some(if a_wd == 0 {
                    "BYDAY=MON, the day FREQ=YEARLY with BYWEEKNO implies"
                } else {
                    "BYDAY of the start date's weekday, the day FREQ=YEARLY with BYWEEKNO implies"
                });
            }
            Freq::Monthly if !has_day => monthdays.push(a_mday as i32),
            Freq::Weekly if !has_day => byday = Some((1 << a_wd, vec![], 0, 0)),
            _ => {}
        }
        let times = TimeSet {
            hours: hours.unwrap_or(if freq <= Freq::Hourly {
                ALL_HOURS
            } else {
                1 << a_h
            }),
            minutes: minutes.unwrap_or(if freq <= Freq::Minutely {
                ALL_SIXTY
            } else {
                1 << a_mi
            }),
            seconds: seconds.unwrap_or(if freq <= Freq::Secondly {
                ALL_SIXTY
            } else {
                1 << a_s
            }),
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
        }
        let mut cal = Calendar {
            clauses,
            implied_day,
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
            anchor_period: 0,
        };
        if let Some(a) = anchor {
            cal.anchor_period = match cal.sub_day_unit() {
                Some(unit) => (a.local_sec / unit) as i64,
                None => cal.period_of_day((a.local_sec / DAY_SECS) as i64),
            };
        }
        if let Some(unit) = cal.sub_day_unit() {
            if interval > 1 {
                let mut first = vec![None; interval as usize];
                for tod in times.iter() {
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

    /// Whether `day` passes every date clause. This is the definition; the search uses the
    /// same clauses as day sets ([`DateRule::year_days`]), and the tests check one against the
    /// other.
    fn date_matches(&self, day: i64) -> bool {
        self.others_match(day) && self.dates_match(day)
    }

    fn dates_match(&self, day: i64) -> bool {
        if self.dates.is_empty() {
            return true;
        }
        let (y, m, d) = civil_from_days(day);
        self.dates
            .iter()
            .any(|&(yy, mm, dd)| yy.is_none_or(|yy| yy == y) && mm == m && dd == d)
    }

    /// Whether `day` passes every date clause but BYDATE.
    fn others_match(&self, day: i64) -> bool {
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
                let (pos, len) = if self.nth_in_month() {
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

    /// Numbered days (2WED, -1FRI) count within the month (else within the year).
    fn nth_in_month(&self) -> bool {
        self.freq == Freq::Monthly || self.months.is_some()
    }

    /// Whether second-of-day `tod` of `day` lies in a period allowed by INTERVAL (FREQ below
    /// DAILY; longer FREQs are checked per day).
    fn tod_in_interval(&self, day: u64, tod: u32) -> bool {
        match self.sub_day_unit() {
            Some(unit) if self.interval > 1 => {
                (day * (DAY_SECS / unit) + tod as u64 / unit + self.sub_day_shift()) % self.interval
                    == 0
            }
            _ => true,
        }
    }

    /// What to add to a sub-day period number (hours, minutes or seconds since the epoch) so
    /// that the anchor's period is a multiple of INTERVAL.
    fn sub_day_shift(&self) -> u64 {
        let k = self.interval as i64;
        ((k - self.anchor_period.rem_euclid(k)) % k) as u64
    }

    /// Whether INTERVAL allows FREQ period `p` (DAILY and longer): a multiple of INTERVAL
    /// periods after the anchor's.
    fn period_allowed(&self, p: i64) -> bool {
        (p - self.anchor_period).rem_euclid(self.interval as i64) == 0
    }

    /// Whether some allowed second of `day` is in an allowed period (FREQ below DAILY).
    fn day_has_interval_time(&self, day: u64) -> bool {
        match self.sub_day_unit() {
            Some(unit) if self.interval > 1 => {
                let per_day = DAY_SECS / unit;
                let r = (self.interval
                    - ((day % self.interval) * (per_day % self.interval) + self.sub_day_shift())
                        % self.interval)
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
        if self.freq >= Freq::Daily && !self.period_allowed(self.period_of_day(day as i64)) {
            return false;
        }
        if self.setpos.is_empty() {
            return true;
        }
        let p = self.period_of_day(day as i64);
        let (start, len) = self.period_span(p);
        let days = self.period_days(&mut YearCache::new(), &self.explicit_days(), start, len);
        self.selection(&days, start).contains(&(day as i64, tod))
    }

    // ------------------------------------------------------------------ search (days.rs)

    /// First day and length in days of period `p` (DAILY and longer).
    fn period_span(&self, p: i64) -> (i64, u32) {
        let start = self.period_start(p);
        (start, (self.period_start(p + 1) - start) as u32)
    }

    /// The days of BYDATE dates with a year that pass the other date clauses, ascending: the
    /// part of the day set that does not repeat every 400 years.
    fn explicit_days(&self) -> Vec<i64> {
        let mut out: Vec<i64> = self
            .dates
            .iter()
            .filter_map(|&(y, m, d)| {
                let day = days_from_civil(y?, m, d);
                (day >= 0 && self.others_match(day)).then_some(day)
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The selected days of the `len` days from `start` (at most 366), as bits from `start`.
    fn period_days(
        &self,
        cache: &mut YearCache,
        explicit: &[i64],
        start: i64,
        len: u32,
    ) -> DayBits {
        with_explicit(cache.window(self, start, len), explicit, start, len)
    }

    /// Whether a period whose selected days are `days` has an occurrence (BYSETPOS applied).
    fn has_occurrence(&self, days: &DayBits) -> bool {
        let n = days.count() * self.times.count();
        n > 0
            && (self.setpos.is_empty() || self.setpos.iter().any(|k| k.unsigned_abs() as u64 <= n))
    }

    /// The occurrences BYSETPOS keeps among those of a period whose selected days are `days`
    /// (bits from day `start`), ascending, as (day, second of the day). Computed from the
    /// number of occurrences, not by listing them: a day holds `times.count()` of them.
    fn selection(&self, days: &DayBits, start: i64) -> Vec<(i64, u32)> {
        let per_day = self.times.count();
        let n = days.count() * per_day;
        let mut index: Vec<u64> = self
            .setpos
            .iter()
            .filter_map(|&k| {
                let i = if k > 0 {
                    k as i64 - 1
                } else {
                    n as i64 + k as i64
                };
                (0..n as i64).contains(&i).then_some(i as u64)
            })
            .collect();
        index.sort_unstable();
        index.dedup();
        index
            .into_iter()
            .filter_map(|i| {
                let day = start + days.nth(i / per_day)? as i64;
                Some((day, self.times.nth(i % per_day)?))
            })
            .collect()
    }

    /// The first occurrence at or after (`from_day`, `from_tod`) of a period whose selected days
    /// are `days` (bits from day `start`), BYSETPOS applied.
    fn first_in_period(
        &self,
        days: &DayBits,
        start: i64,
        from_day: i64,
        from_tod: u32,
    ) -> Option<(i64, u32)> {
        if !self.setpos.is_empty() {
            return self
                .selection(days, start)
                .into_iter()
                .find(|o| *o >= (from_day, from_tod));
        }
        let mut i = from_day.saturating_sub(start).clamp(0, 400) as u32;
        while let Some(b) = days.next_from(i) {
            let day = start + b as i64;
            let from = if day == from_day { from_tod } else { 0 };
            if let Some(t) = self.times.first_from(from, |_| true) {
                return Some((day, t));
            }
            i = b + 1;
        }
        None
    }

    /// An upper bound on the number of selected days in one FREQ period (DAILY and longer),
    /// from the clauses alone: `BYDAY=WED` has at most one a week, `BYMONTHDAY=1,15` two a month.
    fn max_days_per_period(&self) -> u64 {
        let (days, months, weeks_of_weekday) = match self.freq {
            Freq::Yearly => (366, 12, 53),
            Freq::Monthly => (31, 1, 5),
            Freq::Weekly => (7, 2, 1),
            _ => (1, 1, 1),
        };
        let mut bound: u64 = days;
        // A week can straddle two months or two years: count per-year values twice for it.
        let years = if self.freq == Freq::Weekly { 2 } else { 1 };
        if let Some((plain, nth)) = &self.byday {
            let per_nth = if self.freq == Freq::Yearly && self.nth_in_month() {
                12
            } else {
                1
            };
            bound = bound
                .min(weeks_of_weekday * plain.count_ones() as u64 + per_nth * nth.len() as u64);
        }
        if !self.monthdays.is_empty() {
            bound = bound.min(months * self.monthdays.len() as u64);
        }
        if !self.yeardays.is_empty() {
            bound = bound.min(years * self.yeardays.len() as u64);
        }
        if !self.dates.is_empty() {
            bound = bound.min(years * self.dates.len() as u64);
        }
        if !self.weeknos.is_empty() {
            // A calendar year can hold days of a week number in two ISO years (week 1 in
            // January and, from December 29th, week 1 of the next ISO year).
            bound = bound.min(14 * self.weeknos.len() as u64);
        }
        bound
    }

    /// The first occurrence at or after second `from`; `None` when there is none, ever.
    pub(crate) fn search(
        &self,
        from: u64,
        budget: &mut Budget,
    ) -> Result<Option<u64>, OutOfBudget> {
        // BYSETPOS beyond every period's occurrences: decided from the clauses, no scan.
        let most = self.max_days_per_period() * self.times.count();
        if !self.setpos.is_empty() && self.setpos.iter().all(|k| k.unsigned_abs() as u64 > most) {
            return Ok(None);
        }
        let found = if self.freq >= Freq::Monthly
            || (self.freq == Freq::Weekly && !self.setpos.is_empty())
        {
            self.search_periods(from, budget)?
        } else {
            self.search_days(from, budget)?
        };
        Ok(
            found
                .and_then(|(day, tod)| (day as u64).checked_mul(DAY_SECS)?.checked_add(tod as u64)),
        )
    }

    /// Whether INTERVAL allows day `d` (FREQ=WEEKLY and shorter; a function of `d` modulo
    /// [`Self::day_modulus`]).
    fn day_allowed(&self, d: i64) -> bool {
        let k = self.interval as i64;
        match self.freq {
            Freq::Weekly => ((d + 3).div_euclid(7) - self.anchor_period).rem_euclid(k) == 0,
            Freq::Daily => (d - self.anchor_period).rem_euclid(k) == 0,
            _ => self.day_has_interval_time(d as u64),
        }
    }

    fn day_modulus(&self) -> u64 {
        match self.freq {
            Freq::Weekly => 7 * self.interval,
            _ => self.interval,
        }
    }

    /// FREQ=WEEKLY (without BYSETPOS) and shorter: a scan over the selected days, in which
    /// INTERVAL is a condition on the day number modulo [`Self::day_modulus`]. With BYSETPOS
    /// (FREQ=DAILY), every day keeps the same seconds.
    fn search_days(
        &self,
        from: u64,
        budget: &mut Budget,
    ) -> Result<Option<(i64, u32)>, OutOfBudget> {
        let day0 = (from / DAY_SECS) as i64;
        let tod0 = (from % DAY_SECS) as u32;
        let kept: Vec<u32> = if self.setpos.is_empty() {
            Vec::new()
        } else {
            let kept: Vec<u32> = self
                .selection(&DayBits::range(0, 1), 0)
                .into_iter()
                .map(|(_, t)| t)
                .collect();
            if kept.is_empty() {
                return Ok(None);
            }
            kept
        };
        let time_on = |day: i64, from: u32| -> Option<u32> {
            if self.setpos.is_empty() {
                self.times
                    .first_from(from, |t| self.tod_in_interval(day as u64, t))
            } else {
                kept.iter().copied().find(|t| *t >= from)
            }
        };
        if self.date_matches(day0) && self.day_allowed(day0) {
            if let Some(t) = time_on(day0, tod0) {
                return Ok(Some((day0, t)));
            }
        }
        let mut best = match scan(
            self,
            &mut YearCache::new(),
            day0 + 1,
            self.day_modulus(),
            &|d| self.day_allowed(d),
            budget,
        )? {
            Scan::Day(d) => Some(d),
            Scan::NoDay | Scan::NoneAccepted => None,
        };
        if let Some(e) = self
            .explicit_days()
            .into_iter()
            .find(|e| *e > day0 && self.day_allowed(*e))
        {
            best = Some(best.map_or(e, |b| b.min(e)));
        }
        // An allowed day always has an allowed time (`day_allowed`).
        Ok(best.and_then(|d| Some((d, time_on(d, 0)?))))
    }

    /// FREQ=MONTHLY and YEARLY, and WEEKLY with BYSETPOS: one FREQ period after another, every
    /// INTERVAL-th from the anchor, each judged from its day set. The periods' day sets repeat
    /// with the Gregorian cycle (400 years = 4,800 months = 20,871 weeks), so after a full
    /// cycle of periods in which nothing can fire, only BYDATE dates with a year are left.
    fn search_periods(
        &self,
        from: u64,
        budget: &mut Budget,
    ) -> Result<Option<(i64, u32)>, OutOfBudget> {
        let day0 = (from / DAY_SECS) as i64;
        let tod0 = (from % DAY_SECS) as u32;
        let k = self.interval as i64;
        let cycle: i64 = match self.freq {
            Freq::Weekly => 20_871,
            Freq::Monthly => 4_800,
            _ => 400,
        };
        let repeat = cycle / gcd(k, cycle);
        let explicit = self.explicit_days();
        let mut cache = YearCache::new();
        let mut p = self.period_of_day(day0);
        p += (k - (p - self.anchor_period).rem_euclid(k)) % k;
        // Periods in a row whose day set, without BYDATE dates with a year, has no occurrence.
        let mut misses = 0;
        let mut first = true;
        loop {
            budget.spend(1)?;
            let (start, len) = self.period_span(p);
            let periodic = cache.window(self, start, len);
            let days = with_explicit(periodic, &explicit, start, len);
            if self.has_occurrence(&days) {
                if let Some(o) = self.first_in_period(&days, start, day0, tod0) {
                    return Ok(Some(o));
                }
            }
            // Unless `from` cut it (the first period), the period had no occurrence at all, so
            // neither had its repeating part: adding days never removes an occurrence.
            let periodic_fires = (first || days != periodic) && self.has_occurrence(&periodic);
            misses = if periodic_fires { 0 } else { misses + 1 };
            first = false;
            p += k;
            if misses >= repeat {
                break;
            }
        }
        // Nothing repeating can fire: only the periods of BYDATE dates with a year are left.
        let next_start = self.period_start(p);
        for &e in explicit.iter().filter(|e| **e >= next_start) {
            let q = self.period_of_day(e);
            if !self.period_allowed(q) {
                continue;
            }
            budget.spend(1)?;
            let (start, len) = self.period_span(q);
            let days = self.period_days(&mut cache, &explicit, start, len);
            if let Some(o) = self.first_in_period(&days, start, day0, tod0) {
                return Ok(Some(o));
            }
        }
        Ok(None)
    }

    /// Why the schedule has no occurrence at or after second `from`, for the `bad-schedule`
    /// diagnostic and the logs: the clause to blame is found by evaluating the schedule without
    /// BYSETPOS, then without INTERVAL.
    pub(crate) fn why_never(&self, from: u64) -> Never {
        let fires = |c: &Calendar| {
            matches!(
                c.search(from, &mut Budget::new(super::WORK_BUDGET)),
                Ok(Some(_))
            )
        };
        let mut plain = self.clone();
        plain.setpos.clear();
        if !self.setpos.is_empty() && fires(&plain) {
            let c = self.clause("BYSETPOS");
            return Never {
                reason: format!(
                    "no {} period has as many occurrences as {} asks for",
                    freq_name(self.freq),
                    c.map_or("BYSETPOS", |c| c.text.as_str())
                ),
                hint: "BYSETPOS positions within the number of occurrences of a period".into(),
                at: c.map(|c| (c.offset, c.text.len())),
            };
        }
        plain.interval = 1;
        plain.residue_first.clear();
        if self.interval > 1 && fires(&plain) {
            let c = self.clause("INTERVAL");
            return Never {
                reason: format!(
                    "{} counts {} periods from the anchor (1970-01-01T00:00:00Z), and none of the periods it selects holds a date and time the other clauses allow",
                    c.map_or("INTERVAL", |c| c.text.as_str()),
                    freq_name(self.freq),
                ),
                hint: "another INTERVAL, or clauses that match in the periods it selects".into(),
                at: c.map(|c| (c.offset, c.text.len())),
            };
        }
        let date_clauses: Vec<&Clause> = self
            .clauses
            .iter()
            .filter(|c| DATE_CLAUSES.contains(&c.keyword))
            .collect();
        let day0 = (from / DAY_SECS) as i64;
        let all_past = self
            .dates
            .iter()
            .all(|&(y, m, d)| y.is_some_and(|y| days_from_civil(y, m, d) < day0));
        if !self.dates.is_empty() && all_past {
            let c = self.clause("BYDATE");
            return Never {
                reason: format!(
                    "every date of {} is before {}",
                    c.map_or("BYDATE", |c| c.text.as_str()),
                    iso_date(day0)
                ),
                hint: format!("BYDATE dates from {} on", iso_date(day0)),
                at: c.map(|c| (c.offset, c.text.len())),
            };
        }
        let at = match (date_clauses.first(), date_clauses.last()) {
            (Some(a), Some(b)) => Some((a.offset, b.offset + b.text.len() - a.offset)),
            _ => None,
        };
        let mut listed: Vec<&str> = date_clauses.iter().map(|c| c.text.as_str()).collect();
        // The implied day is named only when it is what makes the days conflict.
        let implied = self.implied_day.filter(|_| {
            let mut any_day = plain.clone();
            any_day.byday = None;
            fires(&any_day)
        });
        if let Some(d) = implied {
            listed.push(d);
        }
        Never {
            reason: if listed.is_empty() {
                "no day passes its date clauses".into()
            } else {
                let last = listed.pop().unwrap_or_default();
                match listed.is_empty() {
                    true => format!("no day passes every date clause ({last})"),
                    false if implied.is_some() => format!(
                        "no day passes every date clause ({}, and {last})",
                        listed.join(", ")
                    ),
                    false => format!(
                        "no day passes every date clause ({}, {last})",
                        listed.join(", ")
                    ),
                }
            },
            hint: match implied {
                Some(_) => "a BYDAY clause naming the days wanted in those weeks".into(),
                None => {
                    "date clauses that some day satisfies (`BYMONTH=FEB;BYMONTHDAY=30` has none)"
                        .into()
                }
            },
            at,
        }
    }

    fn clause(&self, keyword: &str) -> Option<&Clause> {
        self.clauses.iter().find(|c| c.keyword == keyword)
    }

    /// The first occurrence at or after second `from` by the plain definition — every day, in
    /// order, up to `max_days` days — for the tests to check [`Self::search`] against.
    #[cfg(test)]
    pub(crate) fn reference_first(&self, from: u64, max_days: i64) -> Option<u64> {
        let first_day = (from / DAY_SECS) as i64;
        let mut tod = (from % DAY_SECS) as u32;
        let mut listed: Option<(i64, Vec<(i64, u32)>)> = None;
        for day in first_day..=first_day + max_days {
            let p = self.period_of_day(day);
            let allowed = self.freq < Freq::Daily || self.period_allowed(p);
            if allowed && self.date_matches(day) {
                let found = if self.setpos.is_empty() {
                    self.times
                        .first_from(tod, |t| self.tod_in_interval(day as u64, t))
                } else {
                    if listed.as_ref().is_none_or(|(q, _)| *q != p) {
                        listed = Some((p, self.reference_setpos(p)));
                    }
                    listed.as_ref().and_then(|(_, l)| {
                        l.iter()
                            .find(|(d, t)| *d == day && *t >= tod)
                            .map(|(_, t)| *t)
                    })
                };
                if let Some(t) = found {
                    return Some(day as u64 * DAY_SECS + t as u64);
                }
            }
            tod = 0;
        }
        None
    }

    /// Whether second `sec` is an occurrence, BYSETPOS by listing (the definition).
    #[cfg(test)]
    pub(crate) fn reference_matches(&self, sec: u64) -> bool {
        let mut plain = self.clone();
        plain.setpos.clear();
        let day = (sec / DAY_SECS) as i64;
        plain.matches_sec(sec)
            && (self.setpos.is_empty()
                || self
                    .reference_setpos(self.period_of_day(day))
                    .contains(&(day, (sec % DAY_SECS) as u32)))
    }

    /// BYSETPOS by listing every occurrence of period `p` (the definition).
    #[cfg(test)]
    fn reference_setpos(&self, p: i64) -> Vec<(i64, u32)> {
        let (start, end) = (self.period_start(p), self.period_start(p + 1));
        let tods = self.times.all();
        let mut all = Vec::new();
        for day in start..end {
            if self.date_matches(day) {
                all.extend(tods.iter().map(|t| (day, *t)));
            }
        }
        let n = all.len() as i64;
        let mut out: Vec<(i64, u32)> = self
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

    /// How many occurrences period `p` would have before BYSETPOS, if listing them is cheap
    /// (for the tests).
    #[cfg(test)]
    pub(crate) fn candidates_per_period(&self) -> u64 {
        let days = match self.freq {
            Freq::Yearly => 366,
            Freq::Monthly => 31,
            Freq::Weekly => 7,
            _ => 1,
        };
        days * self.times.count()
    }

    #[cfg(test)]
    pub(crate) fn interval(&self) -> u64 {
        self.interval
    }
}

/// The date clauses: they select days, and an impossible combination of them selects none.
const DATE_CLAUSES: [&str; 6] = [
    "BYMONTH",
    "BYWEEKNO",
    "BYYEARDAY",
    "BYDATE",
    "BYMONTHDAY",
    "BYDAY",
];

fn freq_name(f: Freq) -> &'static str {
    FREQS
        .iter()
        .find(|(_, x)| *x == f)
        .map_or("FREQ", |(n, _)| n)
}

fn iso_date(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The n-th (n > 0) or n-th from the end (n < 0) weekday `wd` among days `lo..lo + len` of `y`.
fn nth_weekday(y: &Year, lo: u32, len: u32, n: i32, wd: u32) -> Option<u32> {
    let first = (wd + 7 - y.weekday_of(lo)) % 7;
    if first >= len {
        return None;
    }
    let count = (len - 1 - first) / 7 + 1;
    let k = if n > 0 {
        n as i64 - 1
    } else {
        count as i64 + n as i64
    };
    (0..count as i64)
        .contains(&k)
        .then(|| lo + first + 7 * k as u32)
}

/// Number of ISO weeks of a year whose January 1st is weekday `jan1` (0 = Monday).
fn iso_weeks(jan1: u32, leap: bool) -> u32 {
    if jan1 == 3 || (jan1 == 2 && leap) {
        53
    } else {
        52
    }
}

impl DateRule for Calendar {
    /// The days of `y` passing every date clause, BYDATE dates with a year left out (see
    /// [`Calendar::explicit_days`]): built clause by clause, one bit per day.
    fn year_days(&self, y: &Year) -> DayBits {
        let len = y.len;
        let mut days = DayBits::range(0, len);
        if let Some(mask) = self.months {
            let mut b = DayBits::EMPTY;
            for m in (1..=12).filter(|m| mask & (1 << m) != 0) {
                let s = y.month_start(m);
                b.set_range(s, s + y.month_len(m));
            }
            days = days.and(&b);
        }
        if !self.weeknos.is_empty() {
            // ISO week 1 starts on the Monday of the week holding January 4th; the year's first
            // days may be in the last week of the previous ISO year, its last in week 1 of the
            // next.
            let start = 3 - ((y.weekday + 3) % 7) as i64;
            let prev_jan1 = (y.weekday + 7 - (365 + y.leap_prev as u32) % 7) % 7;
            let next_jan1 = (y.weekday + len) % 7;
            let n_prev = iso_weeks(prev_jan1, y.leap_prev);
            let n = iso_weeks(y.weekday, y.leap);
            let n_next = iso_weeks(next_jan1, y.leap_next);
            let mut b = DayBits::EMPTY;
            for (week1, weeks) in [
                (start - 7 * n_prev as i64, n_prev),
                (start, n),
                (start + 7 * n as i64, n_next),
            ] {
                for &x in &self.weeknos {
                    let w = from_end(x, weeks);
                    if (1..=weeks as i64).contains(&w) {
                        let lo = week1 + 7 * (w - 1);
                        b.set_range(
                            lo.clamp(0, len as i64) as u32,
                            (lo + 7).clamp(0, len as i64) as u32,
                        );
                    }
                }
            }
            days = days.and(&b);
        }
        if !self.yeardays.is_empty() {
            let mut b = DayBits::EMPTY;
            for &x in &self.yeardays {
                let v = from_end(x, len);
                if (1..=len as i64).contains(&v) {
                    b.set(v as u32 - 1);
                }
            }
            days = days.and(&b);
        }
        if !self.dates.is_empty() {
            let mut b = DayBits::EMPTY;
            for &(_, m, d) in self.dates.iter().filter(|(yy, _, _)| yy.is_none()) {
                if d <= y.month_len(m) {
                    b.set(y.month_start(m) + d - 1);
                }
            }
            days = days.and(&b);
        }
        if !self.monthdays.is_empty() {
            let mut b = DayBits::EMPTY;
            for m in 1..=12 {
                let ml = y.month_len(m);
                for &x in &self.monthdays {
                    let v = from_end(x, ml);
                    if (1..=ml as i64).contains(&v) {
                        b.set(y.month_start(m) + v as u32 - 1);
                    }
                }
            }
            days = days.and(&b);
        }
        if let Some((plain, nth)) = &self.byday {
            let mut b = DayBits::EMPTY;
            for wd in (0..7).filter(|wd| plain & (1 << wd) != 0) {
                let mut i = (wd + 7 - y.weekday) % 7;
                while i < len {
                    b.set(i);
                    i += 7;
                }
            }
            for &(n, wd) in nth {
                if self.nth_in_month() {
                    for m in 1..=12 {
                        if let Some(i) = nth_weekday(y, y.month_start(m), y.month_len(m), n, wd) {
                            b.set(i);
                        }
                    }
                } else if let Some(i) = nth_weekday(y, 0, len, n, wd) {
                    b.set(i);
                }
            }
            days = days.and(&b);
        }
        days
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
        "BYTIME" => "times of day hhmmss (220000 = 22:00:00), separated by commas".into(),
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

/// `days` (bits from day `start`, `len` days) with the days of `explicit` in that range added.
fn with_explicit(mut days: DayBits, explicit: &[i64], start: i64, len: u32) -> DayBits {
    let from = explicit.partition_point(|e| *e < start);
    for e in explicit[from..]
        .iter()
        .take_while(|e| **e < start + len as i64)
    {
        days.set((e - start) as u32);
    }
    days
}

/// `BYTIME=hhmmss[,hhmmss...]` as hour, minute and second masks. A list is exactly a set of
/// hours × minutes × seconds only when it holds every combination of its hours, minutes and
/// seconds (`BYTIME=060000,063000,180000,183000`); any other list is refused, saying so.
fn bytime(
    items: &[(usize, &str)],
    clause_off: usize,
    clause_len: usize,
) -> Result<(u32, u64, u64), ScheduleError> {
    let mut times = std::collections::BTreeSet::new();
    for &(o, item) in items {
        let digits = item.len() == 6 && item.bytes().all(|b| b.is_ascii_digit());
        let part = |k: usize| item.get(k..k + 2).and_then(|p| p.parse::<u32>().ok());
        match (digits, part(0), part(2), part(4)) {
            (true, Some(h), Some(m), Some(s)) if h < 24 && m < 60 && s < 60 => {
                times.insert((h, m, s));
            }
            _ => {
                return Err(ScheduleError::at(
                    o,
                    item.len(),
                    format!("`{item}` is not a time of day hhmmss"),
                )
                .expected(expected_for("BYTIME")))
            }
        }
    }
    let (mut h, mut m, mut s) = (0u32, 0u64, 0u64);
    for &(hh, mm, ss) in &times {
        h |= 1 << hh;
        m |= 1 << mm;
        s |= 1 << ss;
    }
    let product = h.count_ones() as usize * m.count_ones() as usize * s.count_ones() as usize;
    if product != times.len() {
        return Err(ScheduleError::at(
            clause_off,
            clause_len,
            "the BYTIME times are not every combination of their hours, minutes and seconds",
        )
        .expected("times that are every combination of their hours, minutes and seconds (060000,063000,180000,183000), or one job per time"));
    }
    Ok((h, m, s))
}
