//! start_date and end_date of a CREATE_JOB or SET_ATTRIBUTE: the few forms scripts write,
//! turned into a rule file's `start_date` / `end_date` (local time) and `time_zone`.
//!
//! Why these forms: Oracle takes a job's time zone from its start date (a TIMESTAMP WITH TIME
//! ZONE), so a script that wants daylight saving followed writes the region with the date:
//! `TO_TIMESTAMP_TZ('2026-03-01 09:00:00 Europe/Paris', 'YYYY-MM-DD HH24:MI:SS TZR')`,
//! `TIMESTAMP '2026-03-01 09:00:00 Europe/Paris'`, or `SYSTIMESTAMP AT TIME ZONE
//! 'Europe/Paris'` (now, in that zone). `TO_DATE('2026-03-01 09:00', 'YYYY-MM-DD HH24:MI')`
//! and a plain `'2026-03-01 09:00'` have no zone. Anything else is reported, not guessed.

use super::value::Value;

/// A date as the rule file writes it: local date and time (`None`: now), and the time zone
/// written with it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobDate {
    pub local: Option<String>,
    pub time_zone: Option<String>,
}

/// Read a start_date/end_date value; `Err` says why it cannot be used.
pub fn job_date(v: &Value) -> Result<JobDate, String> {
    let text = match v {
        Value::Str(s) => return literal(s),
        Value::Expr(e) => e.trim().to_string(),
        other => return Err(format!("{} is not a date", other.describe())),
    };
    let upper = text.to_ascii_uppercase();
    let now = [
        "SYSTIMESTAMP",
        "SYSDATE",
        "CURRENT_TIMESTAMP",
        "LOCALTIMESTAMP",
    ];
    if now.contains(&upper.as_str()) {
        return Ok(JobDate {
            local: None,
            time_zone: None,
        });
    }
    if let Some(rest) = now
        .iter()
        .find_map(|n| upper.strip_prefix(n))
        .map(str::trim_start)
    {
        if rest.starts_with("AT TIME ZONE") {
            let zone = first_string(&text).ok_or_else(|| format!("{text}: no time zone"))?;
            return Ok(JobDate {
                local: None,
                time_zone: Some(zone_of(&zone)?),
            });
        }
    }
    for f in ["TO_TIMESTAMP_TZ", "TO_TIMESTAMP", "TO_DATE", "TIMESTAMP"] {
        if upper.starts_with(f) {
            let s = first_string(&text).ok_or_else(|| format!("{text} has no date literal"))?;
            return literal(&s);
        }
    }
    Err(format!(
        "{text} is not a date form the importer reads (a literal, TO_TIMESTAMP_TZ, TO_DATE, TIMESTAMP '...', SYSTIMESTAMP [AT TIME ZONE ...])"
    ))
}

/// `2026-03-01 09:00:00 Europe/Paris`, `2026-03-01 09:00:00 +02:00`, `2026-03-01`.
fn literal(s: &str) -> Result<JobDate, String> {
    let s = s.trim();
    let mut parts: Vec<&str> = s.split_whitespace().collect();
    let mut zone = None;
    if parts.len() >= 2 {
        let last = parts[parts.len() - 1];
        if last.contains('/')
            || last.starts_with('+')
            || (last.starts_with('-') && last.contains(':'))
            || last.eq_ignore_ascii_case("UTC")
        {
            zone = Some(zone_of(last)?);
            parts.pop();
        }
    }
    let local = parts.join(" ");
    let dt = crate::schedule::zone::local_datetime(&local)?;
    Ok(JobDate {
        local: Some(dt.strftime("%Y-%m-%d %H:%M:%S").to_string()),
        time_zone: zone,
    })
}

fn zone_of(name: &str) -> Result<String, String> {
    crate::schedule::zone::time_zone(name)?;
    Ok(name.trim().to_string())
}

/// The first `'...'` literal of an expression (doubled quotes undone).
fn first_string(text: &str) -> Option<String> {
    let start = text.find('\'')? + 1;
    let mut out = String::new();
    let mut chars = text[start..].chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            if chars.peek() == Some(&'\'') {
                chars.next();
                out.push('\'');
            } else {
                return Some(out);
            }
        } else {
            out.push(c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(v: Value) -> (Option<String>, Option<String>) {
        let d = job_date(&v).unwrap_or_else(|e| panic!("{e}"));
        (d.local, d.time_zone)
    }

    #[test]
    fn the_forms_scripts_write() {
        let ex = |s: &str| Value::Expr(s.into());
        assert_eq!(
            date(ex(
                "TO_TIMESTAMP_TZ('2026-03-01 09:00:00 Europe/Paris', 'YYYY-MM-DD HH24:MI:SS TZR')"
            )),
            (
                Some("2026-03-01 09:00:00".into()),
                Some("Europe/Paris".into())
            )
        );
        assert_eq!(
            date(ex("TIMESTAMP '2026-03-01 09:30:00 -05:00'")),
            (Some("2026-03-01 09:30:00".into()), Some("-05:00".into()))
        );
        assert_eq!(
            date(ex("systimestamp at time zone 'America/New_York'")),
            (None, Some("America/New_York".into()))
        );
        assert_eq!(date(ex("SYSTIMESTAMP")), (None, None));
        assert_eq!(
            date(ex("TO_DATE('2026-03-01 09:00', 'YYYY-MM-DD HH24:MI')")),
            (Some("2026-03-01 09:00:00".into()), None)
        );
        assert_eq!(
            date(Value::Str("2026-12-31".into())),
            (Some("2026-12-31 00:00:00".into()), None)
        );
        assert!(job_date(&ex("SYSDATE + 1")).is_err());
        assert!(job_date(&ex("TO_TIMESTAMP_TZ('2026-03-01 09:00:00 Mars/Base', 'x')")).is_err());
        assert!(job_date(&Value::Str("01-MAR-26".into())).is_err());
    }
}
