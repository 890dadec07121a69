//! UTC civil-date arithmetic on day numbers (days since 1970-01-01), written out so the schedule
//! module needs no date crate and no clock. The conversions are Howard Hinnant's
//! `days_from_civil` / `civil_from_days` (proleptic Gregorian calendar), restricted to days on
//! or after the Unix epoch because engine time ([`Millis`](crate::lang::duration::Millis)) is
//! unsigned.

/// Seconds in a day.
pub const DAY_SECS: u64 = 86_400;

/// Days in 400 Gregorian years: the calendar (dates and weekdays) repeats with this period.
pub const GREGORIAN_CYCLE_DAYS: u64 = 146_097;

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

pub fn days_in_year(y: i64) -> u32 {
    if is_leap(y) {
        366
    } else {
        365
    }
}

/// Day number (days since 1970-01-01, may be negative) of a civil date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400; // [0, 399]
    let m = m as i64;
    let mp = if m > 2 { m - 3 } else { m + 9 }; // [0, 11]
    let doy = (153 * mp + 2) / 5 + d as i64 - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// Civil date `(year, month 1-12, day 1-31)` of a day number.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32; // [1, 12]
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// ISO weekday, 0 = Monday … 6 = Sunday (1970-01-01 was a Thursday).
pub fn weekday(day: i64) -> u32 {
    (day + 3).rem_euclid(7) as u32
}

/// Day of the year, 1-based.
pub fn day_of_year(day: i64) -> u32 {
    let (y, _, _) = civil_from_days(day);
    (day - days_from_civil(y, 1, 1) + 1) as u32
}

/// ISO 8601 week number of a day (weeks start on Monday; week 1 holds the year's first
/// Thursday) and the number of weeks (52 or 53) of that ISO year.
pub fn iso_week(day: i64) -> (u32, u32) {
    let thursday = day - weekday(day) as i64 + 3;
    let (iso_year, _, _) = civil_from_days(thursday);
    let week = (thursday - days_from_civil(iso_year, 1, 1)) / 7 + 1;
    (week as u32, iso_weeks_in_year(iso_year))
}

fn iso_weeks_in_year(y: i64) -> u32 {
    let jan1 = weekday(days_from_civil(y, 1, 1));
    if jan1 == 3 || (jan1 == 2 && is_leap(y)) {
        53
    } else {
        52
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        for z in (-1000..200_000).step_by(7) {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
            assert!(d >= 1 && d <= days_in_month(y, m));
        }
    }

    #[test]
    fn weekdays_and_iso_weeks() {
        assert_eq!(weekday(0), 3); // Thursday
        assert_eq!(weekday(days_from_civil(2024, 1, 1)), 0); // Monday
        assert_eq!(iso_week(days_from_civil(2024, 1, 1)), (1, 52));
        assert_eq!(iso_week(days_from_civil(2020, 12, 31)), (53, 53));
        assert_eq!(iso_week(days_from_civil(2021, 1, 3)), (53, 53));
        assert_eq!(iso_week(days_from_civil(2021, 1, 4)), (1, 52));
        assert_eq!(day_of_year(days_from_civil(2024, 12, 31)), 366);
    }
}
