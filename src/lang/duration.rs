//! Durations as written in rule and scenario files: `500ms`, `30s`, `5m`, `2h`, `1d`,
//! combinations (`1h30m`), `HH:MM:SS`, and (scenario files only) decimals (`0.5s`).
//! Everything inside the engine is whole milliseconds.

/// Milliseconds. Used for both durations and (virtual or wall) instants.
pub type Millis = u64;

/// Parse a rule-file duration (`1h30m`, `500ms`, `01:30:00`). `None` when malformed.
pub fn parse_duration(text: &str) -> Option<Millis> {
    parse_inner(text.trim(), false)
}

/// Parse a scenario-file duration: the rule-file forms plus decimals (`0.5s`, `1.5m`).
pub fn parse_duration_decimal(text: &str) -> Option<Millis> {
    parse_inner(text.trim(), true)
}

/// Parse Oracle's `HH:MM:SS` (hours any number of digits; minutes and seconds 00-59).
pub fn parse_hms(text: &str) -> Option<Millis> {
    let mut parts = text.split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || h.is_empty() || m.len() != 2 || s.len() != 2 {
        return None;
    }
    if !(h.bytes().all(|b| b.is_ascii_digit())
        && m.bytes().all(|b| b.is_ascii_digit())
        && s.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let h: u64 = h.parse().ok()?;
    let m: u64 = m.parse().ok()?;
    let s: u64 = s.parse().ok()?;
    if m > 59 || s > 59 {
        return None;
    }
    h.checked_mul(3_600_000)?
        .checked_add(m * 60_000)?
        .checked_add(s * 1000)
}

fn parse_inner(text: &str, decimals: bool) -> Option<Millis> {
    if text.is_empty() {
        return None;
    }
    if text.contains(':') {
        return parse_hms(text);
    }
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut total: u64 = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || (decimals && bytes[i] == b'.')) {
            i += 1;
        }
        if start == i {
            return None;
        }
        let number = &text[start..i];
        let unit_start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = &text[unit_start..i];
        let factor: f64 = match unit.to_ascii_lowercase().as_str() {
            "ms" => 1.0,
            "s" => 1000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            "d" => 86_400_000.0,
            _ => return None,
        };
        if number.contains('.') {
            let v: f64 = number.parse().ok()?;
            let ms = v * factor;
            if !ms.is_finite() || ms < 0.0 || ms > u64::MAX as f64 / 2.0 {
                return None;
            }
            total = total.checked_add(ms.round() as u64)?;
        } else {
            let v: u64 = number.parse().ok()?;
            total = total.checked_add(v.checked_mul(factor as u64)?)?;
        }
    }
    Some(total)
}

/// Render milliseconds the way outputs show durations: `0s`, `35s`, `1m40s`, `2h`, `1d2h`, `1.5s`.
pub fn format_duration(ms: Millis) -> String {
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    let days = ms / 86_400_000;
    let hours = (ms / 3_600_000) % 24;
    let minutes = (ms / 60_000) % 60;
    let secs = (ms / 1000) % 60;
    let millis = ms % 1000;
    if days > 0 {
        out.push_str(&format!("{days}d"));
    }
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    if millis > 0 {
        let frac = format!("{:03}", millis);
        let frac = frac.trim_end_matches('0');
        out.push_str(&format!("{secs}.{frac}s"));
    } else if secs > 0 {
        out.push_str(&format!("{secs}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rule_file_forms() {
        assert_eq!(parse_duration("500ms"), Some(500));
        assert_eq!(parse_duration("30s"), Some(30_000));
        assert_eq!(parse_duration("1h30m"), Some(5_400_000));
        assert_eq!(parse_duration("01:30:00"), Some(5_400_000));
        assert_eq!(parse_duration("100:00:01"), Some(360_001_000));
        assert_eq!(parse_duration("1d"), Some(86_400_000));
        assert_eq!(parse_duration("0.5s"), None);
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration("00:60:00"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn parses_decimals_in_scenarios() {
        assert_eq!(parse_duration_decimal("0.5s"), Some(500));
        assert_eq!(parse_duration_decimal("1.5m"), Some(90_000));
    }

    #[test]
    fn formats() {
        assert_eq!(format_duration(0), "0s");
        assert_eq!(format_duration(35_000), "35s");
        assert_eq!(format_duration(100_000), "1m40s");
        assert_eq!(format_duration(7_200_000), "2h");
        assert_eq!(format_duration(1500), "1.5s");
        assert_eq!(format_duration(90_000_000), "1d1h");
    }
}
