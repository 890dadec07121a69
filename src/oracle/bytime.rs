//! `BYTIME=hhmmss` in a repeat_interval → `BYHOUR=h;BYMINUTE=m;BYSECOND=s`.
//!
//! Why: Oracle SQL Developer's job wizard writes `FREQ=DAILY;BYTIME=220000` (22:00:00), which
//! Oracle accepts but its documented calendaring grammar does not list, and which chainsched's
//! schedule parser refuses. A list of times is the same schedule as BYHOUR × BYMINUTE ×
//! BYSECOND only when it holds every combination of its hours, minutes and seconds
//! (`BYTIME=060000,063000,180000,183000`); otherwise there is no exact translation and the
//! caller warns.

use std::collections::BTreeSet;

/// The repeat_interval with its BYTIME clause rewritten; `Ok(None)` when it has none;
/// `Err` says why it cannot be rewritten exactly.
pub fn rewrite(text: &str) -> Result<Option<String>, String> {
    let clauses: Vec<&str> = text.split(';').collect();
    let key = |c: &str| {
        c.split_once('=')
            .map(|(k, _)| k.trim().to_ascii_uppercase())
            .unwrap_or_default()
    };
    let at: Vec<usize> = (0..clauses.len())
        .filter(|&i| key(clauses[i]) == "BYTIME")
        .collect();
    let Some(&i) = at.first() else {
        return Ok(None);
    };
    if at.len() > 1 {
        return Err("BYTIME is given twice".to_string());
    }
    if let Some(k) = clauses
        .iter()
        .map(|c| key(c))
        .find(|k| matches!(k.as_str(), "BYHOUR" | "BYMINUTE" | "BYSECOND"))
    {
        return Err(format!("BYTIME and {k} are both given"));
    }
    let value = clauses[i].split_once('=').map_or("", |(_, v)| v);
    let mut times = BTreeSet::new();
    for item in value.split(',').map(str::trim) {
        let digits = item.len() == 6 && item.bytes().all(|b| b.is_ascii_digit());
        let part = |k: usize| item.get(k..k + 2).and_then(|p| p.parse::<u32>().ok());
        match (digits, part(0), part(2), part(4)) {
            (true, Some(h), Some(m), Some(s)) if h < 24 && m < 60 && s < 60 => {
                times.insert((h, m, s));
            }
            _ => return Err(format!("BYTIME value `{item}` is not a time hhmmss")),
        }
    }
    let hours: BTreeSet<u32> = times.iter().map(|t| t.0).collect();
    let minutes: BTreeSet<u32> = times.iter().map(|t| t.1).collect();
    let seconds: BTreeSet<u32> = times.iter().map(|t| t.2).collect();
    if hours.len() * minutes.len() * seconds.len() != times.len() {
        return Err(format!(
            "the times {} are not every combination of their hours, minutes and seconds, which is all BYHOUR, BYMINUTE and BYSECOND can say",
            value.trim()
        ));
    }
    let list = |s: &BTreeSet<u32>| s.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    let indent = &clauses[i][..clauses[i].len() - clauses[i].trim_start().len()];
    let new = format!(
        "{indent}BYHOUR={};BYMINUTE={};BYSECOND={}",
        list(&hours),
        list(&minutes),
        list(&seconds)
    );
    let mut out: Vec<String> = clauses.iter().map(|c| c.to_string()).collect();
    out[i] = new;
    Ok(Some(out.join(";")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_time() {
        assert_eq!(
            rewrite("FREQ=DAILY;BYTIME=220000").unwrap().as_deref(),
            Some("FREQ=DAILY;BYHOUR=22;BYMINUTE=0;BYSECOND=0")
        );
        assert_eq!(
            rewrite("FREQ=WEEKLY; BYDAY=MON; bytime = 063015")
                .unwrap()
                .as_deref(),
            Some("FREQ=WEEKLY; BYDAY=MON; BYHOUR=6;BYMINUTE=30;BYSECOND=15")
        );
        assert_eq!(rewrite("FREQ=DAILY;BYHOUR=2").unwrap(), None);
    }

    #[test]
    fn a_grid_of_times() {
        assert_eq!(
            rewrite("FREQ=DAILY;BYTIME=060000,063000,180000,183000")
                .unwrap()
                .as_deref(),
            Some("FREQ=DAILY;BYHOUR=6,18;BYMINUTE=0,30;BYSECOND=0")
        );
    }

    #[test]
    fn what_cannot_be_rewritten() {
        assert!(rewrite("FREQ=DAILY;BYTIME=060000,183000")
            .unwrap_err()
            .contains("combination"));
        assert!(rewrite("FREQ=DAILY;BYTIME=2200").is_err());
        assert!(rewrite("FREQ=DAILY;BYTIME=250000").is_err());
        assert!(rewrite("FREQ=DAILY;BYTIME=220000;BYHOUR=3").is_err());
    }
}
