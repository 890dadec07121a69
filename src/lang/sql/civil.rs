//! Civil (proleptic Gregorian, UTC) dates ↔ milliseconds since the Unix epoch.
//!
//! Why here and by hand: rule conditions need only UTC calendar arithmetic (the engine's clock
//! is UTC milliseconds; conditions have no session time zone), and `lang` is the lowest layer,
//! so it cannot borrow the scheduler's calendar code. The day ↔ date conversion is Howard
//! Hinnant's `days_from_civil` / `civil_from_days`, exact for every year.

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// The first instant Oracle dates accept here: 0001-01-01 00:00:00.
pub const MIN_MS: i64 = -62_135_596_800_000;
/// The last: 9999-12-31 23:59:59.999.
pub const MAX_MS: i64 = 253_402_300_799_999;

/// Days since 1970-01-01 of the date `y-m-d` (`m` 1..=12, `d` 1..=31).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `(year, month, day)` of a day number (days since 1970-01-01).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

pub fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// An instant split into calendar fields (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub milli: u32,
}

impl Parts {
    pub fn of(ms: i64) -> Parts {
        let days = ms.div_euclid(DAY_MS);
        let rest = ms.rem_euclid(DAY_MS);
        let (year, month, day) = civil_from_days(days);
        Parts {
            year,
            month,
            day,
            hour: (rest / 3_600_000) as u32,
            minute: (rest / 60_000 % 60) as u32,
            second: (rest / 1000 % 60) as u32,
            milli: (rest % 1000) as u32,
        }
    }

    /// Back to milliseconds; the fields must be in range.
    pub fn to_ms(self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * DAY_MS
            + i64::from(self.hour) * 3_600_000
            + i64::from(self.minute) * 60_000
            + i64::from(self.second) * 1000
            + i64::from(self.milli)
    }

    /// Day of the year, 1..=366.
    pub fn day_of_year(self) -> u32 {
        (days_from_civil(self.year, self.month, self.day) - days_from_civil(self.year, 1, 1) + 1)
            as u32
    }
}

/// Day of the week of a day number: 0 = Sunday … 6 = Saturday.
pub fn weekday(days: i64) -> u32 {
    // 1970-01-01 was a Thursday.
    (days + 4).rem_euclid(7) as u32
}

/// `ms` moved by `n` calendar months, as Oracle's ADD_MONTHS: the same day of the month, or
/// the last day of the resulting month when the start is the last day of its month or the
/// resulting month is shorter. The time of day is kept. `None` outside years 1..=9999.
pub fn add_months(ms: i64, n: i64) -> Option<i64> {
    let p = Parts::of(ms);
    let total = p.year.checked_mul(12)? + i64::from(p.month) - 1 + n;
    let year = total.div_euclid(12);
    let month = (total.rem_euclid(12) + 1) as u32;
    if !(1..=9999).contains(&year) {
        return None;
    }
    let last = days_in_month(year, month);
    let day = if p.day == days_in_month(p.year, p.month) || p.day > last {
        last
    } else {
        p.day
    };
    Some(
        Parts {
            year,
            month,
            day,
            ..p
        }
        .to_ms(),
    )
}

/// ISO 8601 week-numbering year and week of a day number.
pub fn iso_week(days: i64) -> (i64, u32) {
    // The Thursday of this ISO week decides the year.
    let wd = (weekday(days) + 6) % 7; // Monday = 0
    let thursday = days - i64::from(wd) + 3;
    let (y, _, _) = civil_from_days(thursday);
    let jan1 = days_from_civil(y, 1, 1);
    (y, ((thursday - jan1) / 7 + 1) as u32)
}

/// The Monday that starts ISO week 1 of ISO year `y`.
pub fn iso_year_start(y: i64) -> i64 {
    let jan4 = days_from_civil(y, 1, 4);
    jan4 - i64::from((weekday(jan4) + 6) % 7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for days in [-719_468i64, -1, 0, 1, 10_957, 19_723, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(Parts::of(MIN_MS).year, 1);
        assert_eq!(Parts::of(MAX_MS).year, 9999);
        let p = Parts::of(1_709_209_845_123);
        assert_eq!(
            (p.year, p.month, p.day, p.hour, p.minute, p.second, p.milli),
            (2024, 2, 29, 12, 30, 45, 123)
        );
        assert_eq!(p.to_ms(), 1_709_209_845_123);
        assert_eq!(p.day_of_year(), 60);
        assert_eq!(Parts::of(-1).year, 1969);
    }

    #[test]
    fn weekdays_and_iso_weeks() {
        assert_eq!(weekday(0), 4, "1970-01-01 was a Thursday");
        assert_eq!(weekday(days_from_civil(2024, 3, 3)), 0, "a Sunday");
        assert_eq!(iso_week(days_from_civil(2021, 1, 3)), (2020, 53));
        assert_eq!(iso_week(days_from_civil(2021, 1, 4)), (2021, 1));
        assert_eq!(iso_year_start(2021), days_from_civil(2021, 1, 4));
    }

    #[test]
    fn months_are_added_as_oracle_does() {
        let d = |y, m, dd| days_from_civil(y, m, dd) * DAY_MS;
        assert_eq!(add_months(d(2024, 1, 31), 1), Some(d(2024, 2, 29)));
        assert_eq!(
            add_months(d(2024, 2, 29), 1),
            Some(d(2024, 3, 31)),
            "last day stays last"
        );
        assert_eq!(add_months(d(2024, 1, 15), -13), Some(d(2022, 12, 15)));
        assert_eq!(add_months(d(9999, 12, 1), 1), None);
    }
}
