//! Unit and property tests of the schedule parser and evaluator. Every example of Oracle's
//! "Examples of Calendaring Expressions" (Administrator's Guide) and of the calendaring pages
//! found is here, evaluated from a known instant (anchor: see the module docs).

use super::civil::days_from_civil;
use super::*;
use proptest::prelude::*;

fn at(y: i64, m: u32, d: u32, h: u64, mi: u64, s: u64) -> Millis {
    (days_from_civil(y, m, d) as u64 * 86_400 + h * 3600 + mi * 60 + s) * 1000
}

fn iso(t: Millis) -> String {
    let secs = t / 1000;
    let (y, m, d) = civil::civil_from_days((secs / 86_400) as i64);
    let tod = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    )
}

/// The first `n` occurrences after `from`.
fn next_n(text: &str, from: Millis, n: usize) -> Vec<String> {
    let s = Schedule::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    let mut out = Vec::new();
    let mut t = from;
    for _ in 0..n {
        match s.next_after(t) {
            Some(x) => {
                assert!(s.matches(x), "{text}: {} does not match", iso(x));
                out.push(iso(x));
                t = x;
            }
            None => break,
        }
    }
    out
}

fn jan1_2024() -> Millis {
    at(2024, 1, 1, 0, 0, 0)
}

#[test]
fn oracle_guide_examples() {
    let t = jan1_2024(); // a Monday
                         // Run every Friday (three equivalent forms).
    for s in [
        "FREQ=DAILY; BYDAY=FRI;",
        "FREQ=WEEKLY; BYDAY=FRI;",
        "FREQ=YEARLY; BYDAY=FRI;",
    ] {
        assert_eq!(
            next_n(s, t, 2),
            ["2024-01-05T00:00:00", "2024-01-12T00:00:00"],
            "{s}"
        );
    }
    // Every other Friday (weeks counted from the anchor week of Monday 1969-12-29).
    assert_eq!(
        next_n("FREQ=WEEKLY; INTERVAL=2; BYDAY=FRI;", t, 3),
        [
            "2024-01-05T00:00:00",
            "2024-01-19T00:00:00",
            "2024-02-02T00:00:00"
        ]
    );
    assert_eq!(
        next_n("FREQ=MONTHLY; BYMONTHDAY=-1;", at(2024, 1, 15, 0, 0, 0), 4),
        [
            "2024-01-31T00:00:00",
            "2024-02-29T00:00:00",
            "2024-03-31T00:00:00",
            "2024-04-30T00:00:00"
        ]
    );
    assert_eq!(
        next_n("FREQ=MONTHLY; BYMONTHDAY=-2;", t, 3),
        [
            "2024-01-30T00:00:00",
            "2024-02-28T00:00:00",
            "2024-03-30T00:00:00"
        ]
    );
    for s in [
        "FREQ=YEARLY; BYMONTH=MAR; BYMONTHDAY=10;",
        "FREQ=YEARLY; BYDATE=0310;",
    ] {
        assert_eq!(
            next_n(s, t, 2),
            ["2024-03-10T00:00:00", "2025-03-10T00:00:00"],
            "{s}"
        );
    }
    // Every 10 days, counted from 1970-01-01 (day 19730 = 2024-01-08).
    assert_eq!(
        next_n("FREQ=DAILY; INTERVAL=10;", t, 2),
        ["2024-01-08T00:00:00", "2024-01-18T00:00:00"]
    );
    assert_eq!(
        next_n("FREQ=DAILY; BYHOUR=16,17,18;", t, 4),
        [
            "2024-01-01T16:00:00",
            "2024-01-01T17:00:00",
            "2024-01-01T18:00:00",
            "2024-01-02T16:00:00"
        ]
    );
    assert_eq!(
        next_n("FREQ=MONTHLY; INTERVAL=2; BYMONTHDAY=15;", t, 3),
        [
            "2024-01-15T00:00:00",
            "2024-03-15T00:00:00",
            "2024-05-15T00:00:00"
        ]
    );
    assert_eq!(
        next_n("FREQ=MONTHLY; BYMONTHDAY=29;", at(2023, 1, 1, 0, 0, 0), 3),
        [
            "2023-01-29T00:00:00",
            "2023-03-29T00:00:00",
            "2023-04-29T00:00:00"
        ]
    );
    assert_eq!(
        next_n("FREQ=MONTHLY; BYDAY=2WED;", t, 3),
        [
            "2024-01-10T00:00:00",
            "2024-02-14T00:00:00",
            "2024-03-13T00:00:00"
        ]
    );
    assert_eq!(
        next_n("FREQ=YEARLY; BYDAY=-1FRI;", t, 2),
        ["2024-12-27T00:00:00", "2025-12-26T00:00:00"]
    );
    // Every 50 hours from the epoch: hour 473400 is 2024-01-03T00:00.
    assert_eq!(
        next_n("FREQ=HOURLY; INTERVAL=50;", t, 2),
        ["2024-01-03T00:00:00", "2024-01-05T02:00:00"]
    );
    assert_eq!(
        next_n("FREQ=MONTHLY; INTERVAL=2; BYMONTHDAY=-1;", t, 3),
        [
            "2024-01-31T00:00:00",
            "2024-03-31T00:00:00",
            "2024-05-31T00:00:00"
        ]
    );
    assert_eq!(
        next_n(
            "FREQ=HOURLY; BYMONTHDAY=1,2,3;",
            at(2024, 1, 3, 22, 30, 0),
            2
        ),
        ["2024-01-03T23:00:00", "2024-02-01T00:00:00"]
    );
    // The last workday of every month.
    assert_eq!(
        next_n(
            "FREQ=MONTHLY; BYDAY=MON,TUE,WED,THU,FRI; BYSETPOS=-1",
            at(2024, 3, 1, 0, 0, 0),
            4
        ),
        [
            "2024-03-29T00:00:00",
            "2024-04-30T00:00:00",
            "2024-05-31T00:00:00",
            "2024-06-28T00:00:00"
        ]
    );
}

#[test]
fn brief_and_package_reference_examples() {
    let t = jan1_2024();
    assert_eq!(
        next_n("FREQ=WEEKLY; BYDAY=MON,WED,FRI; BYHOUR=9", t, 4),
        [
            "2024-01-01T09:00:00",
            "2024-01-03T09:00:00",
            "2024-01-05T09:00:00",
            "2024-01-08T09:00:00"
        ]
    );
    assert_eq!(
        next_n("FREQ=YEARLY; BYMONTH=JAN,APR,JUL,OCT; BYMONTHDAY=15", t, 5),
        [
            "2024-01-15T00:00:00",
            "2024-04-15T00:00:00",
            "2024-07-15T00:00:00",
            "2024-10-15T00:00:00",
            "2025-01-15T00:00:00"
        ]
    );
    assert_eq!(
        next_n("FREQ=HOURLY;INTERVAL=2", at(2024, 1, 1, 1, 30, 0), 2),
        ["2024-01-01T02:00:00", "2024-01-01T04:00:00"]
    );
    assert_eq!(
        next_n("FREQ=MONTHLY;BYDAY=-1FRI", t, 3),
        [
            "2024-01-26T00:00:00",
            "2024-02-23T00:00:00",
            "2024-03-29T00:00:00"
        ]
    );
    assert_eq!(
        next_n("FREQ=DAILY;BYHOUR=2", t, 2),
        ["2024-01-01T02:00:00", "2024-01-02T02:00:00"]
    );
    assert_eq!(
        next_n("FREQ=DAILY", t, 2),
        ["2024-01-02T00:00:00", "2024-01-03T00:00:00"]
    );
    assert_eq!(
        next_n(
            "FREQ=DAILY;BYDAY=MON,TUE,WED,THU,FRI;BYHOUR=17;BYMINUTE=45",
            at(2024, 1, 5, 18, 0, 0),
            2
        ),
        ["2024-01-08T17:45:00", "2024-01-09T17:45:00"]
    );
    assert_eq!(
        next_n("FREQ=YEARLY; BYMONTH=MAR,JUN,SEP,DEC; BYMONTHDAY=30", t, 3),
        [
            "2024-03-30T00:00:00",
            "2024-06-30T00:00:00",
            "2024-09-30T00:00:00"
        ]
    );
    // renenyffenegger.ch calendaring notes
    assert_eq!(
        next_n("freq=daily;bymonthday=2", t, 2),
        ["2024-01-02T00:00:00", "2024-02-02T00:00:00"]
    );
    assert_eq!(
        next_n("freq=daily;bymonthday=-1", t, 1),
        ["2024-01-31T00:00:00"]
    );
    assert_eq!(
        next_n(
            "freq=daily;byday=tue; byhour=12; byminute=0; bysecond=0",
            t,
            2
        ),
        ["2024-01-02T12:00:00", "2024-01-09T12:00:00"]
    );
    for s in ["freq=monthly;byday=tue", "freq=minutely;byday=tue"] {
        assert_eq!(next_n(s, t, 1), ["2024-01-02T00:00:00"], "{s}");
    }
    assert_eq!(
        next_n("freq=monthly;byday=2tue", t, 2),
        ["2024-01-09T00:00:00", "2024-02-13T00:00:00"]
    );
    assert_eq!(
        next_n("freq=minutely;interval=5", at(2024, 1, 1, 0, 3, 0), 2),
        ["2024-01-01T00:05:00", "2024-01-01T00:10:00"]
    );
    assert_eq!(
        next_n("freq=hourly;byminute=7,31,42", t, 4),
        [
            "2024-01-01T00:07:00",
            "2024-01-01T00:31:00",
            "2024-01-01T00:42:00",
            "2024-01-01T01:07:00"
        ]
    );
    assert_eq!(
        next_n(
            "freq=minutely;byhour=7,8,16,17",
            at(2024, 1, 1, 8, 58, 0),
            3
        ),
        [
            "2024-01-01T08:59:00",
            "2024-01-01T16:00:00",
            "2024-01-01T16:01:00"
        ]
    );
    assert_eq!(
        next_n(
            "freq=monthly;byday=mon,tue,wed,thu,fri;bysetpos=1",
            at(2023, 12, 31, 0, 0, 0),
            4
        ),
        [
            "2024-01-01T00:00:00",
            "2024-02-01T00:00:00",
            "2024-03-01T00:00:00",
            "2024-04-01T00:00:00"
        ]
    );
    assert_eq!(
        next_n("FREQ=SECONDLY;INTERVAL=2", at(2024, 1, 1, 0, 0, 1), 2),
        ["2024-01-01T00:00:02", "2024-01-01T00:00:04"]
    );
}

#[test]
fn anchor_defaults_and_other_clauses() {
    let t = at(2024, 1, 3, 5, 0, 0); // a Wednesday
    assert_eq!(next_n("FREQ=WEEKLY", t, 1), ["2024-01-08T00:00:00"]); // Mondays
    assert_eq!(next_n("FREQ=MONTHLY", t, 1), ["2024-02-01T00:00:00"]); // the 1st
    assert_eq!(next_n("FREQ=YEARLY", t, 1), ["2025-01-01T00:00:00"]); // January 1st
    assert_eq!(
        next_n("FREQ=YEARLY;BYMONTH=6", t, 1),
        ["2024-06-01T00:00:00"]
    );
    assert_eq!(next_n("FREQ=HOURLY", t, 1), ["2024-01-03T06:00:00"]);
    assert_eq!(
        next_n("FREQ=YEARLY;BYYEARDAY=-1", t, 1),
        ["2024-12-31T00:00:00"]
    );
    assert_eq!(
        next_n("FREQ=YEARLY;BYWEEKNO=1", t, 2),
        ["2024-12-30T00:00:00", "2025-12-29T00:00:00"]
    );
    assert_eq!(
        next_n("FREQ=YEARLY;BYDATE=20250704", t, 2),
        ["2025-07-04T00:00:00"]
    );
    assert_eq!(
        next_n("FREQ=MONTHLY;BYDAY=FRI;BYMONTHDAY=13", t, 2),
        ["2024-09-13T00:00:00", "2024-12-13T00:00:00"]
    );
    assert_eq!(
        next_n(" freq = daily ; byhour = 3 , 4 ; ", t, 2),
        ["2024-01-04T03:00:00", "2024-01-04T04:00:00"]
    );
}

#[test]
fn impossible_schedules_have_no_occurrence() {
    for s in [
        "FREQ=YEARLY;BYMONTH=FEB;BYMONTHDAY=30",
        "0 0 30 2 *",
        "FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=4,6",
    ] {
        assert_eq!(
            Schedule::parse(s).unwrap().next_after(jan1_2024()),
            None,
            "{s}"
        );
    }
    // Feb 29 exists: leap years only.
    assert_eq!(
        next_n(
            "FREQ=YEARLY;BYMONTH=FEB;BYMONTHDAY=29",
            jan1_2024() + 86_400_000 * 70,
            1
        ),
        ["2028-02-29T00:00:00"]
    );
}

#[test]
fn cron_lines() {
    let t = jan1_2024();
    assert_eq!(
        next_n("0 2 * * *", t, 2),
        ["2024-01-01T02:00:00", "2024-01-02T02:00:00"]
    );
    assert_eq!(
        next_n("*/20 9-10 * * MON-FRI", at(2024, 1, 5, 10, 41, 0), 2),
        ["2024-01-08T09:00:00", "2024-01-08T09:20:00"]
    );
    // Vixie: both restricted → the 13th OR a Friday.
    assert_eq!(
        next_n("0 0 13 * FRI", t, 3),
        [
            "2024-01-05T00:00:00",
            "2024-01-12T00:00:00",
            "2024-01-13T00:00:00"
        ]
    );
    // `*/2` in day-of-week counts as unrestricted (Vixie looks at the leading `*`): both must match.
    assert_eq!(next_n("0 0 1 * */2", t, 1), ["2024-02-01T00:00:00"]);
    assert_eq!(
        next_n("30 8 1 jan,jul *", t, 2),
        ["2024-01-01T08:30:00", "2024-07-01T08:30:00"]
    );
    assert_eq!(next_n("0 0 * * 7", t, 1), ["2024-01-07T00:00:00"]);
    assert_eq!(next_n("0 0 * * 0", t, 1), ["2024-01-07T00:00:00"]);
    assert_eq!(
        next_n("*/2 * * * * *", t + 1000, 2),
        ["2024-01-01T00:00:02", "2024-01-01T00:00:04"]
    );
    assert_eq!(next_n("@daily", t, 1), ["2024-01-02T00:00:00"]);
    assert_eq!(next_n("@weekly", t, 1), ["2024-01-07T00:00:00"]);
    assert_eq!(
        next_n("5/20 * * * *", t, 3),
        [
            "2024-01-01T00:05:00",
            "2024-01-01T00:25:00",
            "2024-01-01T00:45:00"
        ]
    );
}

fn err(text: &str) -> ScheduleError {
    match Schedule::parse(text) {
        Ok(s) => panic!("{text} parsed as {s:?}"),
        Err(e) => e,
    }
}

#[test]
fn errors_point_into_the_string_and_suggest() {
    let e = err("FREQ=DAYLY");
    assert_eq!((e.offset_in_string, e.len), (5, 5));
    assert_eq!(e.suggestion.as_deref(), Some("DAILY"));
    let e = err("FREQ=WEEKLY; BYDAY=MOM");
    assert_eq!(e.offset_in_string, 19);
    assert_eq!(e.suggestion.as_deref(), Some("MON"));
    let e = err("FREQ=WEEKLY; BYDAY=MON, 2FRI");
    assert!(e.message.contains("numbered day"), "{}", e.message);
    let e = err("FRQ=DAILY");
    assert_eq!(
        (e.offset_in_string, e.suggestion.as_deref()),
        (0, Some("FREQ"))
    );
    let e = err("FREQ=DAILY; BYHOURS=2");
    assert_eq!(e.suggestion.as_deref(), Some("BYHOUR"));
    let e = err("FREQ=DAILY;BYHOUR=24");
    assert_eq!(e.offset_in_string, 18);
    assert!(e.expected.unwrap().contains("0 to 23"));
    assert!(err("FREQ=DAILY;INTERVAL=0")
        .message
        .contains("out of range"));
    assert!(err("FREQ=DAILY;INTERVAL=1001")
        .message
        .contains("out of range"));
    assert_eq!(
        err("BYHOUR=2").message,
        "a calendar string needs a FREQ clause"
    );
    assert!(err("FREQ=DAILY;FREQ=WEEKLY").message.contains("twice"));
    assert!(err("FREQ=DAILY;BYMONTH=JULY").suggestion.as_deref() == Some("JUL"));
    assert!(err("FREQ=DAILY;EXCLUDE=HOLIDAYS")
        .message
        .contains("not supported"));
    assert!(err("FREQ=HOURLY;BYSETPOS=1").message.contains("BYSETPOS"));
    assert!(err("FREQ=DAILY;BYMONTHDAY=0")
        .message
        .contains("cannot be 0"));
    assert!(err("SYSTIMESTAMP + 1").message.contains("PL/SQL"));
    assert!(err("").message.contains("empty"));
    // cron
    let e = err("0 2 * *");
    assert!(e.message.contains("5 or 6 fields"), "{}", e.message);
    let e = err("61 * * * *");
    assert_eq!((e.offset_in_string, e.len), (0, 2));
    let e = err("0 0 * * MOM");
    assert_eq!(
        (e.offset_in_string, e.suggestion.as_deref()),
        (8, Some("MON"))
    );
    assert!(err("5-1 * * * *").message.contains("backwards"));
    assert!(err("*/0 * * * *").message.contains("step"));
    assert_eq!(err("@dayly").suggestion.as_deref(), Some("@daily"));
}

// ---------------------------------------------------------------- properties

fn list(max: u32, min: u32) -> impl Strategy<Value = String> {
    prop::collection::btree_set(min..=max, 1..4).prop_map(|s| {
        s.into_iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(",")
    })
}

/// Calendar strings made of the supported clauses, dense enough to have occurrences often.
fn calendar_strategy() -> impl Strategy<Value = String> {
    let freq = prop::sample::select(vec![
        "YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY",
    ]);
    (
        freq,
        prop::option::of(1u32..30),
        prop::option::of(list(12, 1)),
        prop::option::of(prop::collection::vec(-31i32..=31, 1..3)),
        prop::option::of(prop::sample::subsequence(
            vec![
                "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN", "1MON", "-1FRI", "2WED",
            ],
            1..4,
        )),
        prop::option::of(list(23, 0)),
        prop::option::of(list(59, 0)),
        prop::option::of(list(59, 0)),
        prop::option::of(prop::sample::select(vec![1, 2, -1, -2])),
    )
        .prop_map(|(f, i, mo, md, bd, h, mi, s, sp)| {
            let mut parts = vec![format!("FREQ={f}")];
            if let Some(i) = i {
                parts.push(format!("INTERVAL={i}"));
            }
            if let Some(mo) = mo {
                parts.push(format!("BYMONTH={mo}"));
            }
            if let Some(md) = md {
                let v: Vec<String> = md
                    .iter()
                    .filter(|x| **x != 0)
                    .map(|x| x.to_string())
                    .collect();
                if !v.is_empty() {
                    parts.push(format!("BYMONTHDAY={}", v.join(",")));
                }
            }
            if let Some(bd) = bd {
                parts.push(format!("BYDAY={}", bd.join(",")));
            }
            for (k, v) in [("BYHOUR", h), ("BYMINUTE", mi), ("BYSECOND", s)] {
                if let Some(v) = v {
                    parts.push(format!("{k}={v}"));
                }
            }
            if let Some(sp) = sp {
                parts.push(format!("BYSETPOS={sp}"));
            }
            parts.join("; ")
        })
}

fn cron_strategy() -> impl Strategy<Value = String> {
    let field = |max: u32, min: u32| {
        prop_oneof![
            Just("*".to_string()),
            (1..=max.min(15)).prop_map(|s| format!("*/{s}")),
            list(max, min),
            (min..=max, min..=max).prop_map(|(a, b)| format!("{}-{}", a.min(b), a.max(b))),
        ]
    };
    (
        prop::option::of(field(59, 0)),
        field(59, 0),
        field(23, 0),
        field(31, 1),
        field(12, 1),
        field(7, 0),
    )
        .prop_map(|(s, mi, h, dom, mo, dow)| match s {
            Some(s) => format!("{s} {mi} {h} {dom} {mo} {dow}"),
            None => format!("{mi} {h} {dom} {mo} {dow}"),
        })
}

/// Check next_after(t) against a scan of every second after t (up to `window` seconds).
fn check_against_scan(s: &Schedule, text: &str, t: Millis, window: u64) {
    let next = s.next_after(t);
    if let Some(n) = next {
        assert!(n > t, "{text}: next {n} <= {t}");
        assert!(s.matches(n), "{text}: {} does not match", iso(n));
    }
    let end = next.map_or(t / 1000 + window, |n| (n / 1000).min(t / 1000 + window));
    for sec in t / 1000 + 1..end {
        assert!(
            !s.matches(sec * 1000),
            "{text}: skipped {} before {:?} (from {})",
            iso(sec * 1000),
            next.map(iso),
            iso(t)
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn calendar_next_is_the_first_match(text in calendar_strategy(), start in 1_600_000_000u64..1_900_000_000, off in 0u64..1000) {
        if let Ok(s) = Schedule::parse(&text) {
            let t = start * 1000 + off;
            check_against_scan(&s, &text, t, 3 * 3600);
            // And from just before the next occurrence (the scan then covers the gap).
            if let Some(n) = s.next_after(t) {
                check_against_scan(&s, &text, n, 3 * 3600);
                check_against_scan(&s, &text, n - 1, 10);
            }
        }
    }

    #[test]
    fn cron_next_is_the_first_match(text in cron_strategy(), start in 1_600_000_000u64..1_900_000_000) {
        let s = Schedule::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        check_against_scan(&s, &text, start * 1000, 3 * 3600);
        if let Some(n) = s.next_after(start * 1000) {
            check_against_scan(&s, &text, n, 3 * 3600);
        }
    }

    #[test]
    fn random_strings_never_panic(text in "\\PC{0,40}") {
        if let Ok(s) = Schedule::parse(&text) {
            let _ = s.next_after(1_700_000_000_000);
        }
    }

    #[test]
    fn near_miss_strings_never_panic(text in "[ FREQ=YEARLYMONTHDAIBYSPC0-9;,*/@-]{0,30}", t in any::<u64>()) {
        if let Ok(s) = Schedule::parse(&text) {
            let _ = s.next_after(t);
            let _ = s.matches(t);
        }
    }
}
