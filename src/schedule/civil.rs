//! UTC civil-date arithmetic on day numbers (days since 1970-01-01), written out so the schedule
//! module needs no date crate and no clock. The conversions are Howard Hinnant's
//! `days_from_civil` / `civil_from_days` (proleptic Gregorian calendar), restricted to days on
//! or after the Unix epoch because engine time ([`Millis`](crate::lang::duration::Millis)) is
//! unsigned.

// The day <-> date conversions are the condition language's (one copy of Hinnant's
// algorithms in the crate).
pub use crate::lang::sql::civil::{civil_from_days, days_from_civil, days_in_month, is_leap};

/// Seconds in a day.
pub const DAY_SECS: u64 = 86_400;

/// Days in 400 Gregorian years: the calendar (dates and weekdays) repeats with this period.
pub const GREGORIAN_CYCLE_DAYS: u64 = 146_097;

pub fn days_in_year(y: i64) -> u32 {
    if is_leap(y) {
        366
    } else {
        365
    }
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
