//! Oracle format models: datetime (`TO_CHAR(date, 'YYYY-MM-DD HH24:MI')`, `TO_DATE`,
//! `TO_TIMESTAMP`, TRUNC/ROUND units) and number (`TO_CHAR(n, 'FM9990.00')`, `TO_NUMBER`).
//!
//! Only what conditions need, in Oracle's words (AMERICAN language, UTC): the elements listed in
//! docs/rule-language.md. A format Oracle would refuse (`ORA-01821 date format not recognized`,
//! `ORA-01481 invalid number format model`) is refused here too; when the format is a literal,
//! the parser reports that at `check` time.

use super::civil::{self, Parts, DAY_MS};
use super::value::{clip, SqlError, SqlResult};
use rust_decimal::{Decimal, RoundingStrategy};

const MONTHS: [&str; 12] = [
    "JANUARY",
    "FEBRUARY",
    "MARCH",
    "APRIL",
    "MAY",
    "JUNE",
    "JULY",
    "AUGUST",
    "SEPTEMBER",
    "OCTOBER",
    "NOVEMBER",
    "DECEMBER",
];
const DAYS: [&str; 7] = [
    "SUNDAY",
    "MONDAY",
    "TUESDAY",
    "WEDNESDAY",
    "THURSDAY",
    "FRIDAY",
    "SATURDAY",
];

/// Julian day number of 1970-01-01 (Oracle's `J`).
const JULIAN_EPOCH: i64 = 2_440_588;

/// How a name element is capitalised: `MON` → `JAN`, `Mon` → `Jan`, `mon` → `jan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    Upper,
    Capital,
    Lower,
}

impl Case {
    fn of(text: &str) -> Case {
        let mut c = text.chars();
        match (c.next(), c.next()) {
            (Some(a), Some(b)) if a.is_ascii_uppercase() && b.is_ascii_uppercase() => Case::Upper,
            (Some(a), _) if a.is_ascii_uppercase() => Case::Capital,
            _ => Case::Lower,
        }
    }

    fn apply(self, upper: &str) -> String {
        match self {
            Case::Upper => upper.to_string(),
            Case::Lower => upper.to_ascii_lowercase(),
            Case::Capital => {
                let mut out = upper[..1].to_string();
                out.push_str(&upper[1..].to_ascii_lowercase());
                out
            }
        }
    }
}

/// One element of a datetime format model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DtElem {
    /// Punctuation or `"quoted text"`, printed as is.
    Lit(String),
    /// `YYYY`, `SYYYY`, `RRRR`
    Year4,
    Year3,
    /// `YY`
    Year2,
    Year1,
    /// `RR`: a two-digit year in the century closest to now.
    Rr,
    IsoYear,
    Century,
    Quarter,
    /// `MM`
    Month,
    MonAbbr(Case),
    MonName(Case),
    /// `DD`
    Day,
    DayOfYear,
    /// `D`: day of the week, Sunday = 1.
    DayOfWeek,
    DyAbbr(Case),
    DayName(Case),
    /// `WW`
    Week,
    IsoWeek,
    /// `W`
    WeekOfMonth,
    Julian,
    Hour12,
    Hour24,
    Minute,
    Second,
    /// `SSSSS`: seconds past midnight.
    SecOfDay,
    /// `FF`, `FF1`..`FF9` (digits; `FF` is 6).
    Frac(u8),
    /// `X`: the decimal point.
    Radix,
    /// `AM`, `PM`, `A.M.`, `P.M.`
    Meridian {
        dots: bool,
        case: Case,
    },
    /// `FM`: toggles fill mode (no padding).
    Fm,
    /// `FX`: exact matching of the input.
    Fx,
}

/// Every element word, longest first where one is a prefix of another.
const ELEMENTS: &[&str] = &[
    "SYYYY", "YYYY", "IYYY", "YYY", "YY", "Y", "RRRR", "RR", "CC", "Q", "MONTH", "MON", "MM",
    "DDD", "DD", "DAY", "DY", "D", "WW", "W", "IW", "J", "HH24", "HH12", "HH", "MI", "SSSSS", "SS",
    "FF1", "FF2", "FF3", "FF4", "FF5", "FF6", "FF7", "FF8", "FF9", "FF", "A.M.", "P.M.", "AM",
    "PM", "X", "FM", "FX",
];

/// Parse a datetime format model (`ORA-01821` when it is not one).
pub fn parse_dt_format(fmt: &str) -> SqlResult<Vec<DtElem>> {
    let mut out = Vec::new();
    let mut rest = fmt;
    while let Some(c) = rest.chars().next() {
        if c == '"' {
            let body = &rest[1..];
            let Some(end) = body.find('"') else {
                return Err(bad_dt_format(fmt, "a quoted text is never closed"));
            };
            out.push(DtElem::Lit(body[..end].to_string()));
            rest = &body[end + 1..];
            continue;
        }
        if " -/,.;:".contains(c) {
            out.push(DtElem::Lit(c.to_string()));
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let up = rest.to_ascii_uppercase();
        let Some(word) = ELEMENTS.iter().find(|w| up.starts_with(*w)) else {
            let bad: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            let bad = if bad.is_empty() { c.to_string() } else { bad };
            return Err(bad_dt_format(
                fmt,
                &format!("`{bad}` is not a format element"),
            ));
        };
        let written = &rest[..word.len()];
        let case = Case::of(written);
        out.push(match *word {
            "SYYYY" | "YYYY" | "RRRR" => DtElem::Year4,
            "IYYY" => DtElem::IsoYear,
            "YYY" => DtElem::Year3,
            "YY" => DtElem::Year2,
            "Y" => DtElem::Year1,
            "RR" => DtElem::Rr,
            "CC" => DtElem::Century,
            "Q" => DtElem::Quarter,
            "MONTH" => DtElem::MonName(case),
            "MON" => DtElem::MonAbbr(case),
            "MM" => DtElem::Month,
            "DDD" => DtElem::DayOfYear,
            "DD" => DtElem::Day,
            "DAY" => DtElem::DayName(case),
            "DY" => DtElem::DyAbbr(case),
            "D" => DtElem::DayOfWeek,
            "WW" => DtElem::Week,
            "W" => DtElem::WeekOfMonth,
            "IW" => DtElem::IsoWeek,
            "J" => DtElem::Julian,
            "HH24" => DtElem::Hour24,
            "HH12" | "HH" => DtElem::Hour12,
            "MI" => DtElem::Minute,
            "SSSSS" => DtElem::SecOfDay,
            "SS" => DtElem::Second,
            "FF" => DtElem::Frac(6),
            "A.M." | "P.M." => DtElem::Meridian { dots: true, case },
            "AM" | "PM" => DtElem::Meridian { dots: false, case },
            "X" => DtElem::Radix,
            "FM" => DtElem::Fm,
            "FX" => DtElem::Fx,
            w => match w.strip_prefix("FF").and_then(|d| d.parse::<u8>().ok()) {
                Some(n) => DtElem::Frac(n),
                None => return Err(bad_dt_format(fmt, "unknown element")),
            },
        });
        rest = &rest[word.len()..];
    }
    Ok(out)
}

fn bad_dt_format(fmt: &str, why: &str) -> SqlError {
    SqlError::new(
        "ORA-01821",
        format!("date format not recognized: '{}' ({why})", clip(fmt)),
    )
}

/// Oracle's default DATE text (NLS_DATE_FORMAT `DD-MON-RR`): `31-JAN-24`.
pub fn default_date_text(ms: i64) -> String {
    let p = Parts::of(ms);
    format!(
        "{:02}-{}-{:02}",
        p.day,
        &MONTHS[(p.month - 1) as usize][..3],
        p.year.rem_euclid(100)
    )
}

/// Oracle's default TIMESTAMP text (`DD-MON-RR HH.MI.SSXFF AM`): `31-JAN-24 02.05.09.250000 PM`.
pub fn default_timestamp_text(ms: i64) -> String {
    let p = Parts::of(ms);
    let h12 = match p.hour % 12 {
        0 => 12,
        h => h,
    };
    format!(
        "{} {:02}.{:02}.{:02}.{:03}000 {}",
        default_date_text(ms),
        h12,
        p.minute,
        p.second,
        p.milli,
        if p.hour < 12 { "AM" } else { "PM" }
    )
}

/// The default format of TO_DATE (NLS_DATE_FORMAT).
pub const DEFAULT_DATE_FORMAT: &str = "DD-MON-RR";
/// The default format of TO_TIMESTAMP (NLS_TIMESTAMP_FORMAT).
pub const DEFAULT_TIMESTAMP_FORMAT: &str = "DD-MON-RR HH.MI.SSXFF AM";

/// TO_CHAR of an instant with a format model. `is_date`: the value is a DATE, which has no
/// fraction of a second (`FF` is then ORA-01821, as in Oracle).
pub fn format_instant(ms: i64, elems: &[DtElem], is_date: bool) -> SqlResult<String> {
    let p = Parts::of(ms);
    let days = ms.div_euclid(DAY_MS);
    let mut fm = false;
    let mut out = String::new();
    let num = |out: &mut String, v: i64, width: usize, fm: bool| {
        if fm {
            out.push_str(&v.to_string());
        } else {
            out.push_str(&format!("{v:0width$}"));
        }
    };
    for e in elems {
        match e {
            DtElem::Lit(s) => out.push_str(s),
            DtElem::Year4 => num(&mut out, p.year, 4, fm),
            DtElem::Year3 => num(&mut out, p.year.rem_euclid(1000), 3, fm),
            DtElem::Year2 | DtElem::Rr => num(&mut out, p.year.rem_euclid(100), 2, fm),
            DtElem::Year1 => num(&mut out, p.year.rem_euclid(10), 1, fm),
            DtElem::IsoYear => num(&mut out, civil::iso_week(days).0, 4, fm),
            DtElem::Century => num(&mut out, (p.year + 99) / 100, 2, fm),
            DtElem::Quarter => num(&mut out, i64::from((p.month - 1) / 3 + 1), 1, fm),
            DtElem::Month => num(&mut out, i64::from(p.month), 2, fm),
            DtElem::MonAbbr(c) => out.push_str(&c.apply(&MONTHS[(p.month - 1) as usize][..3])),
            DtElem::MonName(c) => {
                let name = c.apply(MONTHS[(p.month - 1) as usize]);
                out.push_str(&if fm { name } else { format!("{name:<9}") });
            }
            DtElem::Day => num(&mut out, i64::from(p.day), 2, fm),
            DtElem::DayOfYear => num(&mut out, i64::from(p.day_of_year()), 3, fm),
            DtElem::DayOfWeek => num(&mut out, i64::from(civil::weekday(days) + 1), 1, fm),
            DtElem::DyAbbr(c) => out.push_str(&c.apply(&DAYS[civil::weekday(days) as usize][..3])),
            DtElem::DayName(c) => {
                let name = c.apply(DAYS[civil::weekday(days) as usize]);
                out.push_str(&if fm { name } else { format!("{name:<9}") });
            }
            DtElem::Week => num(&mut out, i64::from((p.day_of_year() - 1) / 7 + 1), 2, fm),
            DtElem::IsoWeek => num(&mut out, i64::from(civil::iso_week(days).1), 2, fm),
            DtElem::WeekOfMonth => num(&mut out, i64::from((p.day - 1) / 7 + 1), 1, fm),
            DtElem::Julian => num(&mut out, days + JULIAN_EPOCH, 7, fm),
            DtElem::Hour12 => {
                let h = match p.hour % 12 {
                    0 => 12,
                    h => h,
                };
                num(&mut out, i64::from(h), 2, fm)
            }
            DtElem::Hour24 => num(&mut out, i64::from(p.hour), 2, fm),
            DtElem::Minute => num(&mut out, i64::from(p.minute), 2, fm),
            DtElem::Second => num(&mut out, i64::from(p.second), 2, fm),
            DtElem::SecOfDay => num(
                &mut out,
                i64::from(p.hour * 3600 + p.minute * 60 + p.second),
                5,
                fm,
            ),
            DtElem::Frac(n) => {
                if is_date {
                    return Err(SqlError::new(
                        "ORA-01821",
                        "date format not recognized: a DATE has no fraction of a second (FF); use TO_CHAR on a TIMESTAMP",
                    ));
                }
                let digits = format!("{:03}000000", p.milli);
                out.push_str(&digits[..usize::from(*n).clamp(1, 9)]);
            }
            DtElem::Radix => out.push('.'),
            DtElem::Meridian { dots, case } => {
                let m = match (p.hour < 12, dots) {
                    (true, false) => "AM",
                    (false, false) => "PM",
                    (true, true) => "A.M.",
                    (false, true) => "P.M.",
                };
                out.push_str(&case.apply(m));
            }
            DtElem::Fm => fm = !fm,
            DtElem::Fx => {}
        }
    }
    Ok(out)
}

/// A format model TO_DATE (`timestamp` false) or TO_TIMESTAMP can read with: elements that
/// only print (`Q`, `WW`, `IW`, `W`, `CC`, `IYYY`) are ORA-01820, and `FF` needs TO_TIMESTAMP.
pub fn parse_input_format(fmt: &str, timestamp: bool) -> SqlResult<Vec<DtElem>> {
    let elems = parse_dt_format(fmt)?;
    for e in &elems {
        match e {
            DtElem::IsoYear
            | DtElem::Century
            | DtElem::Quarter
            | DtElem::Week
            | DtElem::IsoWeek
            | DtElem::WeekOfMonth => return Err(print_only()),
            DtElem::Frac(_) if !timestamp => return Err(no_ff()),
            _ => {}
        }
    }
    Ok(elems)
}

fn print_only() -> SqlError {
    SqlError::new(
        "ORA-01820",
        "format code cannot appear in date input format (Q, WW, IW, W, CC and IYYY only print)",
    )
}

/// What a TO_DATE / TO_TIMESTAMP input gave, before defaults.
#[derive(Default)]
struct Fields {
    year: Option<i64>,
    rr: Option<i64>,
    month: Option<u32>,
    day: Option<u32>,
    day_of_year: Option<u32>,
    julian: Option<i64>,
    hour24: Option<u32>,
    hour12: Option<u32>,
    pm: Option<bool>,
    minute: Option<u32>,
    second: Option<u32>,
    sec_of_day: Option<u32>,
    milli: Option<u32>,
}

struct Input<'a> {
    text: &'a str,
    pos: usize,
    whole: &'a str,
}

impl<'a> Input<'a> {
    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn skip_blanks(&mut self) {
        while self.rest().starts_with([' ', '\t']) {
            self.pos += 1;
        }
    }

    fn done(&self) -> bool {
        self.pos >= self.text.len()
    }

    /// Up to `max` digits (at least one).
    fn digits(&mut self, max: usize, what: &str) -> SqlResult<i64> {
        self.skip_blanks();
        let n = self
            .rest()
            .bytes()
            .take(max)
            .take_while(u8::is_ascii_digit)
            .count();
        if n == 0 {
            return Err(SqlError::new(
                "ORA-01858",
                format!(
                    "a non-numeric character was found where {what} was expected in '{}'",
                    clip(self.whole)
                ),
            ));
        }
        let v = self.rest()[..n].parse::<i64>().unwrap_or(0);
        self.pos += n;
        Ok(v)
    }

    /// One of `names` (case-insensitive; full names before abbreviations), its index.
    fn name(&mut self, names: &[&str], code: &'static str, what: &str) -> SqlResult<usize> {
        self.skip_blanks();
        let up = self.rest().to_ascii_uppercase();
        for (i, n) in names.iter().enumerate() {
            if up.starts_with(n) {
                self.pos += n.len();
                return Ok(i);
            }
        }
        for (i, n) in names.iter().enumerate() {
            if up.starts_with(&n[..3]) {
                self.pos += 3;
                return Ok(i);
            }
        }
        Err(SqlError::new(
            code,
            format!("not a valid {what} in '{}'", clip(self.whole)),
        ))
    }
}

fn check_range(v: i64, lo: i64, hi: i64, code: &'static str, what: &str) -> SqlResult<u32> {
    if (lo..=hi).contains(&v) {
        Ok(v as u32)
    } else {
        Err(SqlError::new(
            code,
            format!("{what} must be between {lo} and {hi}; found {v}"),
        ))
    }
}

/// TO_DATE / TO_TIMESTAMP: `text` read with the format model, as Oracle does without `FX`:
/// blanks and punctuation in the input need not match the format's exactly, numbers may have
/// fewer digits, and the input may stop before the format does (the rest takes its default).
/// Missing fields default as in Oracle: the current year and month (of `now`), day 1, time
/// 00:00:00. `FF` is accepted only by TO_TIMESTAMP (`timestamp`).
pub fn parse_instant(text: &str, elems: &[DtElem], now: i64, timestamp: bool) -> SqlResult<i64> {
    let mut input = Input {
        text: text.trim_end(),
        pos: 0,
        whole: text,
    };
    let mut f = Fields::default();
    let mut fx = false;
    for e in elems {
        if input.done() {
            if let DtElem::Frac(_) = e {
                if !timestamp {
                    return Err(no_ff());
                }
            }
            continue;
        }
        match e {
            DtElem::Lit(s) => {
                if fx {
                    if !input.rest().starts_with(s.as_str()) {
                        return Err(literal_mismatch(text));
                    }
                    input.pos += s.len();
                } else if s.chars().all(|c| !c.is_alphanumeric()) {
                    let skip = input
                        .rest()
                        .chars()
                        .take_while(|c| !c.is_alphanumeric())
                        .map(char::len_utf8)
                        .sum::<usize>();
                    input.pos += skip;
                } else {
                    input.skip_blanks();
                    let head = input.rest().get(..s.len());
                    if !head.is_some_and(|h| h.eq_ignore_ascii_case(s)) {
                        return Err(literal_mismatch(text));
                    }
                    input.pos += s.len();
                }
            }
            DtElem::Year4 => f.year = Some(input.digits(4, "a year")?),
            DtElem::Year3 | DtElem::Year2 | DtElem::Year1 => {
                let width = match e {
                    DtElem::Year3 => 3,
                    DtElem::Year2 => 2,
                    _ => 1,
                };
                let start = input.pos;
                let v = input.digits(4, "a year")?;
                let now_year = Parts::of(now).year;
                let digits = input.pos - start;
                f.year = Some(if digits > width {
                    v
                } else {
                    let m = 10i64.pow(width as u32);
                    now_year - now_year.rem_euclid(m) + v
                });
            }
            DtElem::Rr => {
                let start = input.pos;
                let v = input.digits(4, "a year")?;
                if input.pos - start > 2 {
                    f.year = Some(v);
                } else {
                    f.rr = Some(v);
                }
            }
            DtElem::Month => {
                f.month = Some(check_range(
                    input.digits(2, "a month")?,
                    1,
                    12,
                    "ORA-01843",
                    "a month",
                )?)
            }
            DtElem::MonAbbr(_) | DtElem::MonName(_) => {
                f.month = Some(input.name(&MONTHS, "ORA-01843", "month")? as u32 + 1)
            }
            DtElem::Day => {
                f.day = Some(check_range(
                    input.digits(2, "a day")?,
                    1,
                    31,
                    "ORA-01847",
                    "the day of the month",
                )?)
            }
            DtElem::DayOfYear => {
                f.day_of_year = Some(check_range(
                    input.digits(3, "a day of the year")?,
                    1,
                    366,
                    "ORA-01848",
                    "the day of the year",
                )?)
            }
            DtElem::DayOfWeek => {
                check_range(
                    input.digits(1, "a day of the week")?,
                    1,
                    7,
                    "ORA-01846",
                    "the day of the week",
                )?;
            }
            DtElem::DyAbbr(_) | DtElem::DayName(_) => {
                input.name(&DAYS, "ORA-01846", "day of the week")?;
            }
            DtElem::Julian => {
                let j = input.digits(7, "a Julian day")?;
                f.julian = Some(j - JULIAN_EPOCH);
            }
            DtElem::Hour12 => {
                f.hour12 = Some(check_range(
                    input.digits(2, "an hour")?,
                    1,
                    12,
                    "ORA-01849",
                    "the hour",
                )?)
            }
            DtElem::Hour24 => {
                f.hour24 = Some(check_range(
                    input.digits(2, "an hour")?,
                    0,
                    23,
                    "ORA-01850",
                    "the hour",
                )?)
            }
            DtElem::Minute => {
                f.minute = Some(check_range(
                    input.digits(2, "minutes")?,
                    0,
                    59,
                    "ORA-01851",
                    "the minutes",
                )?)
            }
            DtElem::Second => {
                f.second = Some(check_range(
                    input.digits(2, "seconds")?,
                    0,
                    59,
                    "ORA-01852",
                    "the seconds",
                )?)
            }
            DtElem::SecOfDay => {
                f.sec_of_day = Some(check_range(
                    input.digits(5, "seconds")?,
                    0,
                    86_399,
                    "ORA-01853",
                    "the seconds in the day",
                )?)
            }
            DtElem::Frac(n) => {
                if !timestamp {
                    return Err(no_ff());
                }
                let start = input.pos;
                input.digits(usize::from(*n).max(1), "a fraction of a second")?;
                let digits = &input.text[start..input.pos];
                let digits = digits.trim_start();
                let ms = format!("{digits:0<3}");
                f.milli = Some(ms[..3].parse().unwrap_or(0));
            }
            DtElem::Radix => {
                if input.rest().starts_with('.') {
                    input.pos += 1;
                } else {
                    return Err(literal_mismatch(text));
                }
            }
            DtElem::Meridian { .. } => {
                input.skip_blanks();
                let up = input.rest().to_ascii_uppercase();
                let found = ["A.M.", "P.M.", "AM", "PM"]
                    .iter()
                    .find(|m| up.starts_with(*m))
                    .ok_or_else(|| {
                        SqlError::new(
                            "ORA-01855",
                            format!("AM/A.M. or PM/P.M. required in '{}'", clip(text)),
                        )
                    })?;
                input.pos += found.len();
                f.pm = Some(found.starts_with('P'));
            }
            DtElem::Fm => {}
            DtElem::Fx => fx = !fx,
            DtElem::IsoYear
            | DtElem::Century
            | DtElem::Quarter
            | DtElem::Week
            | DtElem::IsoWeek
            | DtElem::WeekOfMonth => return Err(print_only()),
        }
    }
    input.skip_blanks();
    if !input.done() {
        return Err(SqlError::new(
            "ORA-01830",
            format!(
                "date format picture ends before converting entire input string '{}'",
                clip(text)
            ),
        ));
    }
    assemble(f, now)
}

fn no_ff() -> SqlError {
    SqlError::new(
        "ORA-01821",
        "date format not recognized: FF (fractions of a second) needs TO_TIMESTAMP",
    )
}

fn literal_mismatch(text: &str) -> SqlError {
    SqlError::new(
        "ORA-01861",
        format!("literal does not match format string: '{}'", clip(text)),
    )
}

fn assemble(f: Fields, now: i64) -> SqlResult<i64> {
    let today = Parts::of(now);
    let mut year = f.year.unwrap_or(today.year);
    if let Some(rr) = f.rr {
        // RR: 00-49 and 50-99 pick the century that keeps the year near now.
        let cur = today.year.rem_euclid(100);
        let century = today.year - cur;
        year = match (rr < 50, cur < 50) {
            (true, true) | (false, false) => century + rr,
            (true, false) => century + 100 + rr,
            (false, true) => century - 100 + rr,
        };
    }
    if !(1..=9999).contains(&year) {
        return Err(SqlError::new(
            "ORA-01841",
            format!("(full) year must be between 1 and 9999; found {year}"),
        ));
    }
    let (mut month, mut day) = (f.month.unwrap_or(today.month), f.day.unwrap_or(1));
    if let Some(j) = f.julian {
        let (y, m, d) = civil::civil_from_days(j);
        year = y;
        month = m;
        day = d;
    }
    if let Some(doy) = f.day_of_year {
        let len = if civil::is_leap(year) { 366 } else { 365 };
        if doy > len {
            return Err(SqlError::new(
                "ORA-01848",
                format!("day of year must be between 1 and {len}"),
            ));
        }
        let (_, m, d) =
            civil::civil_from_days(civil::days_from_civil(year, 1, 1) + i64::from(doy) - 1);
        month = m;
        day = d;
    }
    if day > civil::days_in_month(year, month) {
        return Err(SqlError::new(
            "ORA-01839",
            format!("date not valid for month specified: {year:04}-{month:02}-{day:02}"),
        ));
    }
    let mut hour = f.hour24.unwrap_or(0);
    if let Some(h) = f.hour12 {
        hour = h % 12 + if f.pm == Some(true) { 12 } else { 0 };
    }
    let (mut minute, mut second) = (f.minute.unwrap_or(0), f.second.unwrap_or(0));
    if let Some(s) = f.sec_of_day {
        hour = s / 3600;
        minute = s / 60 % 60;
        second = s % 60;
    }
    Ok(Parts {
        year,
        month,
        day,
        hour,
        minute,
        second,
        milli: f.milli.unwrap_or(0),
    }
    .to_ms())
}

// ---------------------------------------------------------------- TRUNC / ROUND units

/// The unit of TRUNC(date, fmt) / ROUND(date, fmt).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateUnit {
    Year,
    IsoYear,
    Quarter,
    Month,
    /// `WW`: same day of the week as January 1st.
    Week,
    /// `IW`: Monday.
    IsoWeek,
    /// `W`: same day of the week as the 1st of the month.
    WeekOfMonth,
    /// `DAY`, `DY`, `D`: Sunday.
    WeekStart,
    Day,
    Hour,
    Minute,
}

pub fn parse_date_unit(fmt: &str) -> SqlResult<DateUnit> {
    Ok(match fmt.trim().to_ascii_uppercase().as_str() {
        "CC" | "SCC" => {
            return Err(SqlError::new(
                "ORA-01899",
                "TRUNC/ROUND to a century (CC) is not supported here",
            ))
        }
        "SYYYY" | "YYYY" | "YEAR" | "SYEAR" | "YYY" | "YY" | "Y" => DateUnit::Year,
        "IYYY" | "IYY" | "IY" | "I" => DateUnit::IsoYear,
        "Q" => DateUnit::Quarter,
        "MONTH" | "MON" | "MM" | "RM" => DateUnit::Month,
        "WW" => DateUnit::Week,
        "IW" => DateUnit::IsoWeek,
        "W" => DateUnit::WeekOfMonth,
        "DAY" | "DY" | "D" => DateUnit::WeekStart,
        "DDD" | "DD" | "J" => DateUnit::Day,
        "HH" | "HH12" | "HH24" => DateUnit::Hour,
        "MI" => DateUnit::Minute,
        _ => {
            return Err(SqlError::new(
                "ORA-01899",
                format!(
                    "bad precision specifier '{}' (TRUNC/ROUND take YYYY, Q, MM, WW, IW, W, DAY, DD, HH or MI)",
                    clip(fmt)
                ),
            ))
        }
    })
}

/// The start of the unit containing `ms`, and the start of the next one.
fn unit_bounds(ms: i64, unit: DateUnit) -> (i64, i64) {
    let days = ms.div_euclid(DAY_MS);
    let p = Parts::of(ms);
    let day = |d: i64| d * DAY_MS;
    match unit {
        DateUnit::Year => (
            day(civil::days_from_civil(p.year, 1, 1)),
            day(civil::days_from_civil(p.year + 1, 1, 1)),
        ),
        DateUnit::IsoYear => {
            let (iy, _) = civil::iso_week(days);
            (
                day(civil::iso_year_start(iy)),
                day(civil::iso_year_start(iy + 1)),
            )
        }
        DateUnit::Quarter => {
            let m = (p.month - 1) / 3 * 3 + 1;
            let start = civil::days_from_civil(p.year, m, 1);
            let next = if m == 10 {
                civil::days_from_civil(p.year + 1, 1, 1)
            } else {
                civil::days_from_civil(p.year, m + 3, 1)
            };
            (day(start), day(next))
        }
        DateUnit::Month => {
            let start = civil::days_from_civil(p.year, p.month, 1);
            (
                day(start),
                day(start + i64::from(civil::days_in_month(p.year, p.month))),
            )
        }
        DateUnit::Week | DateUnit::WeekOfMonth | DateUnit::IsoWeek | DateUnit::WeekStart => {
            let anchor = match unit {
                DateUnit::Week => civil::days_from_civil(p.year, 1, 1),
                DateUnit::WeekOfMonth => civil::days_from_civil(p.year, p.month, 1),
                DateUnit::IsoWeek => 4, // 1970-01-05, a Monday
                _ => 3,                 // 1970-01-04, a Sunday
            };
            let start = days - (days - anchor).rem_euclid(7);
            (day(start), day(start + 7))
        }
        DateUnit::Day => (day(days), day(days + 1)),
        DateUnit::Hour => {
            let s = ms.div_euclid(3_600_000) * 3_600_000;
            (s, s + 3_600_000)
        }
        DateUnit::Minute => {
            let s = ms.div_euclid(60_000) * 60_000;
            (s, s + 60_000)
        }
    }
}

/// TRUNC(date, unit): the start of the unit.
pub fn trunc_instant(ms: i64, unit: DateUnit) -> i64 {
    unit_bounds(ms, unit).0
}

/// ROUND(date, unit), as Oracle documents it: a year rounds up from July 1st, a quarter from
/// the 16th day of its second month, a month from the 16th day, a day from noon, an hour from
/// minute 30, a minute from second 30, a week from its midpoint.
pub fn round_instant(ms: i64, unit: DateUnit) -> i64 {
    let (start, next) = unit_bounds(ms, unit);
    let p = Parts::of(ms);
    let up = match unit {
        DateUnit::Year | DateUnit::IsoYear => p.month >= 7,
        DateUnit::Quarter => {
            let m = (p.month - 1) % 3;
            m > 1 || (m == 1 && p.day >= 16)
        }
        DateUnit::Month => p.day >= 16,
        _ => ms - start >= (next - start) / 2,
    };
    if up {
        next
    } else {
        start
    }
}

// ---------------------------------------------------------------- number format models

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Nine,
    Zero,
    Group,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SignAt {
    /// A leading `-` (or a blank) next to the number.
    Default,
    /// `S…`: a leading `+` or `-`.
    LeadingS,
    /// `…S`
    TrailingS,
    /// `…MI`: a trailing `-` (or a blank).
    TrailingMi,
}

/// A number format model: `9`, `0`, `,`/`G`, `.`/`D`, `FM`, `S`, `MI`, `$`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumFormat {
    fm: bool,
    sign: SignAt,
    dollar: bool,
    int: Vec<Slot>,
    frac: Vec<Slot>,
    point: bool,
}

/// Parse a number format model (`ORA-01481` when it is not one of the supported forms).
pub fn parse_num_format(fmt: &str) -> SqlResult<NumFormat> {
    let bad = |why: &str| {
        SqlError::new(
            "ORA-01481",
            format!("invalid number format model '{}': {why}", clip(fmt)),
        )
    };
    let mut f = NumFormat {
        fm: false,
        sign: SignAt::Default,
        dollar: false,
        int: Vec::new(),
        frac: Vec::new(),
        point: false,
    };
    let up = fmt.to_ascii_uppercase();
    let mut rest = up.as_str();
    if let Some(r) = rest.strip_prefix("FM") {
        f.fm = true;
        rest = r;
    }
    if let Some(r) = rest.strip_prefix('S') {
        f.sign = SignAt::LeadingS;
        rest = r;
    }
    if let Some(r) = rest.strip_prefix('$') {
        f.dollar = true;
        rest = r;
    }
    if let Some(r) = rest.strip_suffix("MI") {
        if f.sign != SignAt::Default {
            return Err(bad("one sign element only"));
        }
        f.sign = SignAt::TrailingMi;
        rest = r;
    } else if let Some(r) = rest.strip_suffix('S') {
        if f.sign != SignAt::Default {
            return Err(bad("one sign element only"));
        }
        f.sign = SignAt::TrailingS;
        rest = r;
    }
    for c in rest.chars() {
        match c {
            '9' | '0' if f.point => f.frac.push(if c == '9' { Slot::Nine } else { Slot::Zero }),
            '9' => f.int.push(Slot::Nine),
            '0' => f.int.push(Slot::Zero),
            ',' | 'G' if !f.point && !f.int.is_empty() => f.int.push(Slot::Group),
            '.' | 'D' if !f.point => f.point = true,
            _ => {
                return Err(bad(&format!(
                    "`{c}` is not supported here (use 9, 0, `,`, `.`, G, D, FM, S, MI, $)"
                )))
            }
        }
    }
    if f.int.iter().chain(&f.frac).all(|s| *s == Slot::Group) {
        return Err(bad("no digit (9 or 0)"));
    }
    Ok(f)
}

/// TO_CHAR(number, format).
pub fn format_number(n: Decimal, f: &NumFormat) -> String {
    let digits_int = f.int.iter().filter(|s| **s != Slot::Group).count();
    let rounded =
        n.round_dp_with_strategy(f.frac.len() as u32, RoundingStrategy::MidpointAwayFromZero);
    let negative = rounded.is_sign_negative() && !rounded.is_zero();
    let abs = rounded.abs();
    let text = format!("{:.*}", f.frac.len(), abs);
    let (int_text, frac_text) = match text.split_once('.') {
        Some((i, fr)) => (i.to_string(), fr.to_string()),
        None => (text.clone(), String::new()),
    };
    let int_text = int_text.trim_start_matches('0').to_string();
    let width = f.int.len() + usize::from(f.point) + f.frac.len() + usize::from(f.dollar) + 1;
    if int_text.len() > digits_int {
        return "#".repeat(width);
    }
    // Integer part, right to left: digits right-aligned; a `0` slot forces zeros from there
    // to the right; a group separator shows only with a digit on its left.
    let first_zero = f.int.iter().position(|s| *s == Slot::Zero);
    let digits: Vec<char> = int_text.chars().collect();
    let mut int_out: Vec<char> = Vec::with_capacity(f.int.len());
    let mut k = 0usize;
    for pos in (0..f.int.len()).rev() {
        let forced = first_zero.is_some_and(|z| z <= pos);
        match f.int[pos] {
            Slot::Group => {
                let digit_left = digits.len() > k || first_zero.is_some_and(|z| z < pos);
                int_out.push(if digit_left { ',' } else { ' ' });
            }
            _ => {
                int_out.push(if k < digits.len() {
                    digits[digits.len() - 1 - k]
                } else if forced {
                    '0'
                } else {
                    ' '
                });
                k += 1;
            }
        }
    }
    int_out.reverse();
    let mut int_str: String = int_out.into_iter().collect();
    // A lone zero is shown when the format has no fraction.
    if int_text.is_empty()
        && !int_str.contains(|c: char| c.is_ascii_digit())
        && f.frac.is_empty()
        && !int_str.is_empty()
    {
        int_str.pop();
        int_str.push('0');
    }
    let mut frac_str = frac_text;
    if f.fm {
        // FM drops the trailing zeros of 9 positions.
        let keep = f
            .frac
            .iter()
            .rposition(|s| *s == Slot::Zero)
            .map_or(0, |i| i + 1);
        while frac_str.len() > keep && frac_str.ends_with('0') {
            frac_str.pop();
        }
    }
    let lead_blanks = int_str.len() - int_str.trim_start().len();
    let body = format!(
        "{}{}{}",
        int_str.trim_start(),
        if f.point { "." } else { "" },
        frac_str
    );
    let dollar = if f.dollar { "$" } else { "" };
    let (pre, post) = match f.sign {
        SignAt::Default => (
            if negative {
                "-"
            } else if f.fm {
                ""
            } else {
                " "
            },
            "",
        ),
        SignAt::LeadingS => (if negative { "-" } else { "+" }, ""),
        SignAt::TrailingS => ("", if negative { "-" } else { "+" }),
        SignAt::TrailingMi => (
            "",
            if negative {
                "-"
            } else if f.fm {
                ""
            } else {
                " "
            },
        ),
    };
    let pad = if f.fm {
        String::new()
    } else {
        " ".repeat(lead_blanks)
    };
    format!("{pad}{pre}{dollar}{body}{post}")
}

/// TO_NUMBER(text, format): the text must fit the format (digits, separators, sign).
pub fn parse_number_with(text: &str, f: &NumFormat) -> SqlResult<Decimal> {
    let invalid = || SqlError::invalid_number(text);
    let mut t = text.trim().to_string();
    let mut negative = false;
    match f.sign {
        SignAt::TrailingMi | SignAt::TrailingS => {
            if let Some(r) = t.strip_suffix('-') {
                negative = true;
                t = r.to_string();
            } else if let Some(r) = t.strip_suffix('+') {
                t = r.to_string();
            }
        }
        SignAt::Default | SignAt::LeadingS => {
            if let Some(r) = t.strip_prefix('-') {
                negative = true;
                t = r.to_string();
            } else if let Some(r) = t.strip_prefix('+') {
                t = r.to_string();
            }
        }
    }
    if f.dollar {
        t = t.strip_prefix('$').ok_or_else(invalid)?.to_string();
    }
    let (int, frac) = match t.split_once('.') {
        Some((i, fr)) if f.point => (i.to_string(), fr.to_string()),
        Some(_) => return Err(invalid()),
        None => (t.clone(), String::new()),
    };
    let int_digits: String = int.chars().filter(|c| *c != ',').collect();
    let groups_ok = !int.contains(',') || f.int.contains(&Slot::Group);
    let int_slots = f.int.iter().filter(|s| **s != Slot::Group).count();
    if !groups_ok
        || int_digits.len() > int_slots
        || frac.len() > f.frac.len()
        || (int_digits.is_empty() && frac.is_empty())
        || !int_digits
            .bytes()
            .chain(frac.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return Err(invalid());
    }
    let joined = format!(
        "{}{}.{}",
        if negative { "-" } else { "" },
        if int_digits.is_empty() {
            "0"
        } else {
            &int_digits
        },
        if frac.is_empty() { "0" } else { &frac }
    );
    super::value::parse_number(&joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(y: i64, m: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
        Parts {
            year: y,
            month: m,
            day: d,
            hour: h,
            minute: mi,
            second: s,
            milli: 0,
        }
        .to_ms()
    }

    fn fmt(t: i64, f: &str) -> String {
        format_instant(t, &parse_dt_format(f).unwrap(), false).unwrap()
    }

    fn parse(text: &str, f: &str, now: i64) -> SqlResult<i64> {
        parse_instant(text, &parse_dt_format(f)?, now, true)
    }

    #[test]
    fn formats_dates() {
        let t = ms(2024, 3, 5, 14, 7, 9) + 250;
        assert_eq!(fmt(t, "YYYY-MM-DD HH24:MI:SS"), "2024-03-05 14:07:09");
        assert_eq!(fmt(t, "DD-MON-RR HH.MI.SS AM"), "05-MAR-24 02.07.09 PM");
        assert_eq!(fmt(t, "Dy, Month DD"), "Tue, March     05");
        assert_eq!(fmt(t, "FMDay, Month DD"), "Tuesday, March 5");
        assert_eq!(
            fmt(t, "FMDay, FMMonth DD"),
            "Tuesday, March     05",
            "FM toggles"
        );
        assert_eq!(fmt(t, "fmday dd"), "tuesday 5");
        assert_eq!(fmt(t, "D DDD Q WW IW W J"), "3 065 1 10 10 1 2460375");
        assert_eq!(fmt(t, "HH24\"h\"MI"), "14h07");
        assert_eq!(fmt(t, "SSSSS FF3 FF"), "50829 250 250000");
        assert_eq!(fmt(t, "a.m."), "p.m.");
        assert_eq!(default_date_text(t), "05-MAR-24");
        assert_eq!(default_timestamp_text(t), "05-MAR-24 02.07.09.250000 PM");
        assert_eq!(
            format_instant(t, &parse_dt_format("FF").unwrap(), true).map_err(|e| e.code),
            Err("ORA-01821")
        );
    }

    #[test]
    fn bad_date_formats_are_refused() {
        for f in ["YYYY-MM-DD HH24:MI:SS XYZ", "\"open", "BOGUS", "%Y"] {
            assert_eq!(
                parse_dt_format(f).map_err(|e| e.code),
                Err("ORA-01821"),
                "{f}"
            );
        }
    }

    #[test]
    fn parses_dates_leniently() {
        let now = ms(2024, 6, 15, 10, 0, 0);
        assert_eq!(
            parse("2024-01-31 23:59:58", "YYYY-MM-DD HH24:MI:SS", now),
            Ok(ms(2024, 1, 31, 23, 59, 58))
        );
        assert_eq!(
            parse("2024/1/5", "YYYY-MM-DD", now),
            Ok(ms(2024, 1, 5, 0, 0, 0))
        );
        assert_eq!(
            parse("2024-01-05", "YYYY-MM-DD HH24:MI", now),
            Ok(ms(2024, 1, 5, 0, 0, 0)),
            "the input may stop early"
        );
        assert_eq!(
            parse("10:30", "HH24:MI", now),
            Ok(ms(2024, 6, 1, 10, 30, 0)),
            "current year and month, day 1"
        );
        assert_eq!(
            parse("05-mar-24", "DD-MON-RR", now),
            Ok(ms(2024, 3, 5, 0, 0, 0))
        );
        assert_eq!(
            parse("05-MARCH-99", "DD-MON-RR", now),
            Ok(ms(1999, 3, 5, 0, 0, 0))
        );
        assert_eq!(
            parse("05-MAR-99", "DD-MON-YY", now),
            Ok(ms(2099, 3, 5, 0, 0, 0))
        );
        assert_eq!(
            parse("12:15 AM", "HH:MI AM", now),
            Ok(ms(2024, 6, 1, 0, 15, 0))
        );
        assert_eq!(
            parse(
                "01.02.2024 3:04:05.678 pm",
                "DD.MM.YYYY HH12:MI:SS.FF PM",
                now
            ),
            Ok(ms(2024, 2, 1, 15, 4, 5) + 678)
        );
        assert_eq!(parse("2460375", "J", now), Ok(ms(2024, 3, 5, 0, 0, 0)));
        assert_eq!(
            parse("2024 065", "YYYY DDD", now),
            Ok(ms(2024, 3, 5, 0, 0, 0))
        );
    }

    #[test]
    fn bad_dates_raise_oracle_errors() {
        let now = 0;
        let code = |t: &str, f: &str| parse(t, f, now).map_err(|e| e.code);
        assert_eq!(code("2024-02-30", "YYYY-MM-DD"), Err("ORA-01839"));
        assert_eq!(code("2024-13-01", "YYYY-MM-DD"), Err("ORA-01843"));
        assert_eq!(
            code("2024-01-01 24:00", "YYYY-MM-DD HH24:MI"),
            Err("ORA-01850")
        );
        assert_eq!(code("2024-01-01 x", "YYYY-MM-DD"), Err("ORA-01830"));
        assert_eq!(code("abcd", "YYYY"), Err("ORA-01858"));
        assert_eq!(code("01-FOO-24", "DD-MON-RR"), Err("ORA-01843"));
        assert_eq!(code("2024", "Q"), Err("ORA-01820"));
        assert_eq!(code("0000", "YYYY"), Err("ORA-01841"));
        assert_eq!(
            code("€€€", "\"ab\"YYYY"),
            Err("ORA-01861"),
            "no panic on multi-byte input"
        );
        assert_eq!(code("2024€", "YYYY\"ab\""), Err("ORA-01861"));
        assert_eq!(
            parse_instant("1.5", &parse_dt_format("SS.FF").unwrap(), 0, false).map_err(|e| e.code),
            Err("ORA-01821"),
            "FF needs TO_TIMESTAMP"
        );
    }

    #[test]
    fn trunc_and_round_dates() {
        let t = ms(2024, 8, 17, 13, 45, 31);
        let unit = |u| parse_date_unit(u).unwrap();
        assert_eq!(trunc_instant(t, unit("YYYY")), ms(2024, 1, 1, 0, 0, 0));
        assert_eq!(round_instant(t, unit("YEAR")), ms(2025, 1, 1, 0, 0, 0));
        assert_eq!(trunc_instant(t, unit("Q")), ms(2024, 7, 1, 0, 0, 0));
        assert_eq!(
            round_instant(t, unit("Q")),
            ms(2024, 10, 1, 0, 0, 0),
            "from Aug 16"
        );
        assert_eq!(
            round_instant(ms(2024, 8, 15, 0, 0, 0), unit("Q")),
            ms(2024, 7, 1, 0, 0, 0)
        );
        assert_eq!(round_instant(t, unit("MM")), ms(2024, 9, 1, 0, 0, 0));
        assert_eq!(trunc_instant(t, unit("MON")), ms(2024, 8, 1, 0, 0, 0));
        assert_eq!(trunc_instant(t, unit("DD")), ms(2024, 8, 17, 0, 0, 0));
        assert_eq!(round_instant(t, unit("DD")), ms(2024, 8, 18, 0, 0, 0));
        assert_eq!(trunc_instant(t, unit("HH24")), ms(2024, 8, 17, 13, 0, 0));
        assert_eq!(round_instant(t, unit("HH")), ms(2024, 8, 17, 14, 0, 0));
        assert_eq!(round_instant(t, unit("MI")), ms(2024, 8, 17, 13, 46, 0));
        assert_eq!(
            trunc_instant(t, unit("IW")),
            ms(2024, 8, 12, 0, 0, 0),
            "a Monday"
        );
        assert_eq!(
            trunc_instant(t, unit("DAY")),
            ms(2024, 8, 11, 0, 0, 0),
            "a Sunday"
        );
        assert_eq!(trunc_instant(t, unit("W")), ms(2024, 8, 15, 0, 0, 0));
        assert_eq!(trunc_instant(t, unit("WW")), ms(2024, 8, 12, 0, 0, 0));
        assert_eq!(parse_date_unit("XX").map_err(|e| e.code), Err("ORA-01899"));
    }

    #[test]
    fn number_formats() {
        let f = |n: &str, m: &str| format_number(n.parse().unwrap(), &parse_num_format(m).unwrap());
        assert_eq!(f("1234.5", "9999.99"), " 1234.50");
        assert_eq!(f("1234.5", "FM9999.99"), "1234.5");
        assert_eq!(f("1", "FM9.99"), "1.");
        assert_eq!(f("-5", "999"), "  -5");
        assert_eq!(f("5", "000"), " 005");
        assert_eq!(f("1234567", "9,999,999"), " 1,234,567");
        assert_eq!(f("1234", "9,999,999"), "     1,234");
        assert_eq!(f("0.5", "9.99"), "  .50");
        assert_eq!(f("0.5", "0.99"), " 0.50");
        assert_eq!(f("0", "9"), " 0");
        assert_eq!(f("1234", "99"), "###", "format length + 1");
        assert_eq!(f("2.345", "9.99"), " 2.35");
        assert_eq!(f("-2", "S9"), "-2");
        assert_eq!(f("2", "S9"), "+2");
        assert_eq!(f("-2", "9MI"), "2-");
        assert_eq!(f("7", "$99"), "  $7");
        for bad in ["9X9", "EEEE", "", ",99", "9.9.9"] {
            assert_eq!(
                parse_num_format(bad).map_err(|e| e.code),
                Err("ORA-01481"),
                "{bad}"
            );
        }
    }

    #[test]
    fn numbers_read_with_a_format() {
        let p = |t: &str, m: &str| {
            parse_number_with(t, &parse_num_format(m).unwrap()).map(|d| d.normalize().to_string())
        };
        assert_eq!(p("1,234.50", "9,999.99"), Ok("1234.5".to_string()));
        assert_eq!(p("-12", "999"), Ok("-12".to_string()));
        assert_eq!(p("12-", "99MI"), Ok("-12".to_string()));
        assert_eq!(p("$5", "$9"), Ok("5".to_string()));
        assert_eq!(p("12345", "999").map_err(|e| e.code), Err("ORA-01722"));
        assert_eq!(p("1.234", "9.99").map_err(|e| e.code), Err("ORA-01722"));
        assert_eq!(p("1,234", "9999").map_err(|e| e.code), Err("ORA-01722"));
    }
}
