//! Instants and durations as the views show them: RFC 3339 UTC text and seconds as numbers.
//!
//! Why hand-written: the runtime's instants are plain milliseconds since the Unix epoch, and
//! the only conversions the views need are "millis → `2024-05-01T12:34:56.789Z`" and back (for
//! `--since`/`--until` filters). The civil-date arithmetic is the condition language's
//! (`lang::sql::civil`, Howard Hinnant's algorithms); a date-time crate would be a dependency
//! for two functions.

use crate::lang::duration::Millis;
use crate::lang::sql::civil::{civil_from_days, days_from_civil};

/// `2024-05-01T12:34:56.789Z` for milliseconds since the Unix epoch.
pub fn rfc3339(ms: Millis) -> String {
    let secs = ms / 1000;
    let millis = ms % 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Seconds as a number (durations in views).
pub fn seconds(ms: Millis) -> f64 {
    ms as f64 / 1000.0
}

/// Parse RFC 3339 (`2024-05-01T12:34:56Z`, fractional seconds and `+hh:mm` offsets allowed;
/// a plain date `2024-05-01` means its midnight UTC) into milliseconds since the Unix epoch.
/// `None` when malformed or before 1970.
pub fn parse_rfc3339(text: &str) -> Option<Millis> {
    let t = text.trim();
    let (date, rest) = match t.find(['T', 't', ' ']) {
        Some(i) => (&t[..i], &t[i + 1..]),
        None => (t, ""),
    };
    let mut dp = date.split('-');
    let y: i64 = num(dp.next()?, 4)?;
    let mo: i64 = num(dp.next()?, 2)?;
    let d: i64 = num(dp.next()?, 2)?;
    if dp.next().is_some() || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut total_ms: i64 = days_from_civil(y, mo as u32, d as u32).checked_mul(86_400_000)?;
    if !rest.is_empty() {
        // Split the offset off: Z, z, +hh:mm, -hh:mm.
        let (clock, offset_ms) = if let Some(c) = rest.strip_suffix(['Z', 'z']) {
            (c, 0i64)
        } else if let Some(i) = rest.rfind(['+', '-']) {
            let (c, o) = rest.split_at(i);
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let mut op = o[1..].split(':');
            let oh: i64 = num(op.next()?, 2)?;
            let om: i64 = num(op.next()?, 2)?;
            (c, sign * (oh * 3_600_000 + om * 60_000))
        } else {
            return None;
        };
        let mut cp = clock.split(':');
        let h: i64 = num(cp.next()?, 2)?;
        let mi: i64 = num(cp.next()?, 2)?;
        let sec_text = cp.next()?;
        if cp.next().is_some() || h > 23 || mi > 59 {
            return None;
        }
        let (whole, frac) = match sec_text.split_once('.') {
            Some((w, f)) => (w, f),
            None => (sec_text, ""),
        };
        let s: i64 = num(whole, 2)?;
        if s > 60 || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let frac_ms: i64 = if frac.is_empty() {
            0
        } else {
            let f3: String = frac.chars().chain("000".chars()).take(3).collect();
            f3.parse().ok()?
        };
        total_ms += h * 3_600_000 + mi * 60_000 + s * 1000 + frac_ms - offset_ms;
    }
    u64::try_from(total_ms).ok()
}

fn num(text: &str, width: usize) -> Option<i64> {
    if text.len() != width || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(1_714_566_896_789), "2024-05-01T12:34:56.789Z");
    }

    #[test]
    fn parses_what_it_formats_and_offsets() {
        for ms in [0u64, 951_782_400_000, 1_714_566_896_789, 4_102_444_799_999] {
            assert_eq!(parse_rfc3339(&rfc3339(ms)), Some(ms));
        }
        assert_eq!(
            parse_rfc3339("2024-05-01T14:34:56.789+02:00"),
            Some(1_714_566_896_789)
        );
        assert_eq!(parse_rfc3339("2024-05-01"), Some(1_714_521_600_000));
        assert_eq!(parse_rfc3339("2024-13-01"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(parse_rfc3339("2024-05-01T25:00:00Z"), None);
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59Z"), None);
    }
}
