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

// ---------------------------------------------------------------- bounded evaluation (issue 14)

fn never(text: &str) -> Never {
    match Schedule::parse(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .next(0)
    {
        Next::Never(n) => n,
        other => panic!("{text}: expected never, got {other:?}"),
    }
}

/// The clause a never-firing schedule's reason points at, as written.
fn blamed(text: &str) -> String {
    let n = never(text);
    let (at, len) =
        n.at.unwrap_or_else(|| panic!("{text}: no part blamed ({})", n.reason));
    text[at..at + len].to_string()
}

/// The schedule strings of issue 14 that took 49 s and 4 s: judged without a scan, with a
/// reason naming the clauses that conflict.
#[test]
fn the_issue_repros_are_judged_never_and_say_why() {
    let all = |n: u32| (0..n).map(|v| v.to_string()).collect::<Vec<_>>().join(",");
    let never1 = format!(
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;BYSETPOS=1;BYHOUR={};BYMINUTE={};BYSECOND={}",
        all(24),
        all(60),
        all(60)
    );
    for text in [
        never1.as_str(),
        "FREQ=MINUTELY;INTERVAL=1000;BYMONTH=2;BYMONTHDAY=30",
    ] {
        let n = never(text);
        assert_eq!(
            n.reason, "no day passes every date clause (BYMONTH=2, BYMONTHDAY=30)",
            "{text}"
        );
        assert_eq!(blamed(text), "BYMONTH=2;BYMONTHDAY=30");
        assert!(
            matches!(
                Schedule::parse(text).unwrap().next_within(0, 2_000),
                Next::Never(_)
            ),
            "{text}: needs more than 2,000 units of work"
        );
    }
    assert_eq!(
        never("0 0 30 2 *").reason,
        "no day matches both its day-of-month and month fields `30 2`"
    );
    assert_eq!(blamed("0 0 30-31 2 *"), "30-31 2");
    assert_eq!(blamed("0 0 0 31 4 *"), "31 4");
}

#[test]
fn a_never_firing_schedule_names_the_clause_to_blame() {
    // INTERVAL counts years from 1970: 1970 + 4n is never a leap year.
    assert_eq!(
        blamed("FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29"),
        "INTERVAL=4"
    );
    assert_eq!(
        next_n(
            "FREQ=YEARLY;INTERVAL=2;BYMONTH=2;BYMONTHDAY=29",
            jan1_2024() + 86_400_000 * 70,
            1
        ),
        ["2028-02-29T00:00:00"]
    );
    // Week 53 in January needs a 53-week year before: never in the years 1970 + 400n.
    assert_eq!(
        blamed("FREQ=YEARLY;INTERVAL=400;BYWEEKNO=53;BYMONTH=1;BYDAY=FRI,SAT,SUN"),
        "INTERVAL=400"
    );
    assert_eq!(
        next_n(
            "FREQ=YEARLY;BYWEEKNO=53;BYMONTH=1;BYDAY=FRI,SAT,SUN",
            jan1_2024(),
            3
        ),
        [
            "2027-01-01T00:00:00",
            "2027-01-02T00:00:00",
            "2027-01-03T00:00:00"
        ]
    );
    // Without BYDAY, BYWEEKNO means the week's Monday, which is never in January in week 53.
    assert_eq!(
        never("FREQ=YEARLY;BYWEEKNO=53;BYMONTH=1").reason,
        "no day passes every date clause (BYWEEKNO=53, BYMONTH=1, and BYDAY=MON, the day FREQ=YEARLY with BYWEEKNO implies)"
    );
    // Even hours only (from the anchor), odd hours asked.
    assert_eq!(blamed("FREQ=HOURLY;INTERVAL=2;BYHOUR=1,3"), "INTERVAL=2");
    // BYSETPOS beyond the occurrences of every period.
    assert_eq!(blamed("FREQ=DAILY;BYHOUR=9;BYSETPOS=2"), "BYSETPOS=2");
    assert_eq!(
        blamed("FREQ=MONTHLY;BYDAY=MON;BYSETPOS=6,-6"),
        "BYSETPOS=6,-6"
    );
    assert_eq!(
        next_n("FREQ=MONTHLY;BYDAY=MON;BYSETPOS=5", jan1_2024(), 2),
        ["2024-01-29T00:00:00", "2024-04-29T00:00:00"]
    );
    // Decided from the clauses: at most one Wednesday a week, at most 14 days of week 1 in a
    // calendar year (ISO week 1 of this year and, from December 29th, of the next).
    assert_eq!(blamed("FREQ=WEEKLY;BYDAY=WED;BYSETPOS=2"), "BYSETPOS=2");
    // A calendar year holds at most 9 days of week 1 (2024: January 1st-7th, December 30th-31st).
    assert_eq!(
        blamed("FREQ=YEARLY;BYWEEKNO=1;BYDAY=MON,TUE,WED,THU,FRI,SAT,SUN;BYSETPOS=10"),
        "BYSETPOS=10"
    );
    assert_eq!(
        next_n(
            "FREQ=YEARLY;BYWEEKNO=1;BYDAY=MON,TUE,WED,THU,FRI,SAT,SUN;BYSETPOS=8,-1",
            jan1_2024(),
            4
        ),
        [
            "2024-12-30T00:00:00",
            "2024-12-31T00:00:00",
            "2025-12-31T00:00:00",
            "2026-01-04T00:00:00"
        ]
    );
    // Dates with a year, all before 1970 (engine time starts at the epoch).
    let n = never("FREQ=YEARLY;BYDATE=19690101,19600229");
    assert_eq!(
        n.reason,
        "every date of BYDATE=19690101,19600229 is before 1970-01-01"
    );
    assert_eq!(blamed("FREQ=DAILY; BYDATE=19690704"), "BYDATE=19690704");
    // No day at all: week 1 is never in June.
    assert_eq!(
        never("FREQ=YEARLY;BYWEEKNO=1;BYMONTH=6").reason,
        "no day passes every date clause (BYWEEKNO=1, BYMONTH=6)"
    );
    // After its last date, a schedule with dated BYDATE only has no next occurrence.
    let s = Schedule::parse("FREQ=DAILY;BYDATE=20240105").unwrap();
    assert_eq!(s.next_after(jan1_2024()), Some(at(2024, 1, 5, 0, 0, 0)));
    assert!(matches!(s.next(at(2024, 1, 5, 0, 0, 0)), Next::Never(_)));
}

#[test]
fn the_work_budget_ends_in_an_answer_not_a_stall() {
    // Proving that February 30th never comes takes a Gregorian cycle of years (over 400 units).
    let s = Schedule::parse("FREQ=MINUTELY;INTERVAL=1000;BYMONTH=2;BYMONTHDAY=30").unwrap();
    assert_eq!(s.next_within(0, 100), Next::Undecided { work: 100 });
    assert!(matches!(s.next(0), Next::Never(_)));
    assert_eq!(s.next_after(0), None);
}

#[test]
fn byweekno_needs_freq_yearly() {
    for freq in [
        "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY",
    ] {
        let text = format!("FREQ={freq}; BYWEEKNO=1,2; BYDAY=MON");
        let e = err(&text);
        assert!(
            e.message.contains("BYWEEKNO needs FREQ=YEARLY"),
            "{text}: {}",
            e.message
        );
        assert!(e.message.contains("ORA-27417"), "{}", e.message);
        assert_eq!(
            &text[e.offset_in_string..e.offset_in_string + e.len],
            "BYWEEKNO=1,2"
        );
    }
    assert!(Schedule::parse("FREQ=YEARLY;BYWEEKNO=1,2;BYDAY=MON").is_ok());
}

/// The conventions docs/scheduling.md writes down, through the public API.
#[test]
fn documented_conventions() {
    // `a/n` in the day-of-week field runs to 7, which is Sunday: MON/1 is every day.
    let t = jan1_2024(); // a Monday
    assert_eq!(next_n("0 0 * * MON/1", t + 1000, 7).len(), 7);
    assert_eq!(
        next_n("0 0 * * MON/1", at(2024, 1, 6, 12, 0, 0), 2),
        ["2024-01-07T00:00:00", "2024-01-08T00:00:00"]
    );
    assert_eq!(
        next_n("0 0 * * 1/2", t, 4),
        [
            "2024-01-03T00:00:00",
            "2024-01-05T00:00:00",
            "2024-01-07T00:00:00",
            "2024-01-08T00:00:00"
        ]
    );
    // FREQ=YEARLY;BYWEEKNO=n without BYDAY: the Monday of week n.
    assert_eq!(
        next_n("FREQ=YEARLY;BYWEEKNO=10", t, 2),
        ["2024-03-04T00:00:00", "2025-03-03T00:00:00"]
    );
    // Steps above the field's maximum and backwards ranges are refused.
    let e = err("*/60 * * * *");
    assert!(e.message.contains("bad step `60`"), "{}", e.message);
    assert_eq!(e.expected.as_deref(), Some("a step from 1 to 59"));
    assert!(err("0 */24 * * *").message.contains("bad step"));
    let e = err("0 0 * * 5-1");
    assert!(
        e.message.contains("the range 5-1 runs backwards"),
        "{}",
        e.message
    );
    assert!(err("0 0 * NOV-FEB *").message.contains("backwards"));
}

// ------------------------------------------- properties of the bounded search against the definition

/// A day window the definition scans cheaply.
const WINDOW_DAYS: i64 = 800;

fn signed(max: i32) -> impl Strategy<Value = String> {
    prop::collection::btree_set((-max..=max).prop_filter("not 0", |v| *v != 0), 1..4).prop_map(
        |s| {
            s.into_iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(",")
        },
    )
}

/// Calendar strings with every kind of clause, sparse ones and contradictions included, so that
/// rare and never-firing schedules are frequent.
fn sparse_calendar_strategy() -> impl Strategy<Value = String> {
    let freq = prop::sample::select(vec![
        "YEARLY", "YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY",
    ]);
    let interval = prop_oneof![1u32..5, 1u32..=1000];
    let date = prop_oneof![
        (1u32..=12, 1u32..=31).prop_map(|(m, d)| format!("{m:02}{d:02}")),
        (1960i32..2120, 1u32..=12, 1u32..=31).prop_map(|(y, m, d)| format!("{y}{m:02}{d:02}")),
        Just("0229".to_string()),
    ];
    let day = prop::sample::select(vec![
        "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN", "1MON", "-1FRI", "2WED", "5SUN", "-5MON",
        "53THU", "-53SAT",
    ]);
    (
        (
            freq,
            prop::option::of(interval),
            prop::option::of(list(12, 1)),
        ),
        (
            prop::option::weighted(0.3, signed(53)),
            prop::option::weighted(0.25, signed(366)),
            prop::option::weighted(0.25, prop::collection::vec(date, 1..3)),
            prop::option::weighted(0.4, signed(31)),
            prop::option::weighted(0.4, prop::collection::btree_set(day, 1..3)),
        ),
        (
            prop::option::of(list(23, 0)),
            prop::option::of(list(59, 0)),
            prop::option::of(list(59, 0)),
            prop::option::weighted(0.35, signed(12)),
        ),
    )
        .prop_map(|((f, i, mo), (wn, yd, dt, md, bd), (h, mi, s, sp))| {
            let mut parts = vec![format!("FREQ={f}")];
            let mut push = |k: &str, v: Option<String>| {
                if let Some(v) = v {
                    parts.push(format!("{k}={v}"));
                }
            };
            push("INTERVAL", i.map(|i| i.to_string()));
            push("BYMONTH", mo);
            push("BYWEEKNO", wn.filter(|_| f == "YEARLY"));
            push("BYYEARDAY", yd);
            push("BYDATE", dt.map(|d| d.join(",")));
            push("BYMONTHDAY", md);
            push(
                "BYDAY",
                bd.map(|d| d.into_iter().collect::<Vec<_>>().join(",")),
            );
            push("BYHOUR", h);
            push("BYMINUTE", mi);
            push("BYSECOND", s);
            push("BYSETPOS", sp);
            parts.join(";")
        })
}

/// Cron lines including impossible days (the 30th of February).
fn sparse_cron_strategy() -> impl Strategy<Value = String> {
    (
        prop_oneof![cron_strategy(), Just(String::new())],
        prop::collection::btree_set(28u32..=31, 1..3),
        prop::collection::btree_set(prop::sample::select(vec![2u32, 4, 6, 9, 11]), 1..3),
        prop::sample::select(vec!["*", "*/2", "MON", "1-5"]),
    )
        .prop_map(|(line, dom, months, dow)| {
            if !line.is_empty() {
                return line;
            }
            let j = |s: std::collections::BTreeSet<u32>| {
                s.into_iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            format!("0 12 {} {} {dow}", j(dom), j(months))
        })
}

/// `next` from second `from - 1` against the definition: the first day-by-day match within
/// [`WINDOW_DAYS`]; beyond it, the answer must match the definition; a `Never` is checked over
/// the whole period of the pattern when that is cheap (INTERVAL ≤ 2).
fn check_calendar(text: &str, c: &calendar::Calendar, from: u64) {
    let s = Schedule::Calendar(c.clone());
    let next = s.next((from - 1) * 1000);
    let reference = c.reference_first(from, WINDOW_DAYS);
    match (&next, reference) {
        (Next::Undecided { work }, _) => panic!("{text}: undecided after {work}"),
        (Next::At(ms), Some(r)) => assert_eq!(*ms, r * 1000, "{text}: from {}", iso(from * 1000)),
        (Next::Never(n), Some(r)) => panic!(
            "{text}: never ({}), but {} matches",
            n.reason,
            iso(r * 1000)
        ),
        (Next::At(ms), None) => {
            assert!(
                ms / 1000 > from + WINDOW_DAYS as u64 * 86_400 - 86_400,
                "{text}"
            );
            assert!(
                c.reference_matches(ms / 1000),
                "{text}: {} does not match",
                iso(*ms)
            );
        }
        (Next::Never(_), None) => {
            let cheap = c.interval() <= 2
                && (!text.contains("BYSETPOS") || c.candidates_per_period() <= 3_000);
            if cheap {
                let horizon = civil::GREGORIAN_CYCLE_DAYS as i64 * c.interval() as i64 + 1;
                assert_eq!(c.reference_first(from, horizon), None, "{text}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn bounded_search_agrees_with_the_definition(text in sparse_calendar_strategy(), start in 0u64..4_102_444_800) {
        if let Ok(Schedule::Calendar(c)) = Schedule::parse(&text) {
            check_calendar(&text, &c, start.max(1));
            // Just after an occurrence, the next one.
            if let Next::At(ms) = Schedule::Calendar(c.clone()).next(start * 1000) {
                check_calendar(&text, &c, ms / 1000 + 1);
            }
        }
    }

    #[test]
    fn cron_search_agrees_with_the_definition(text in sparse_cron_strategy(), start in 0u64..4_102_444_800) {
        let Ok(Schedule::Cron(c)) = Schedule::parse(&text) else {
            panic!("{text} does not parse");
        };
        let from = start + 1;
        let reference = c.reference_first(from, civil::GREGORIAN_CYCLE_DAYS + 1);
        match Schedule::Cron(c).next(start * 1000) {
            Next::At(ms) => prop_assert_eq!(Some(ms / 1000), reference, "{}", text),
            Next::Never(_) => prop_assert_eq!(reference, None, "{}", text),
            Next::Undecided { work } => panic!("{text}: undecided after {work}"),
        }
    }
}

// ---------------------------------------------------------------- time zones and anchors

mod zones {
    use super::{at, iso};
    use crate::schedule::zone::{JobSchedule, Timing};
    use crate::schedule::Next;

    fn named(name: &str) -> Option<String> {
        match name {
            "HOLIDAYS" => Some("FREQ=YEARLY;BYDATE=0101,1225".into()),
            "WEEKENDS" => Some("FREQ=WEEKLY;BYDAY=SAT,SUN;BYHOUR=9".into()),
            "MORNINGS" => Some("FREQ=DAILY;BYHOUR=9".into()),
            "EVENINGS" => Some("FREQ=DAILY;BYHOUR=18".into()),
            "LOOP_A" => Some("LOOP_B".into()),
            "LOOP_B" => Some("FREQ=DAILY;INCLUDE=LOOP_A".into()),
            _ => None,
        }
    }

    fn sched(text: &str, tz: Option<&str>, start: Option<&str>, end: Option<&str>) -> JobSchedule {
        let timing = Timing::new(tz, start, end).unwrap_or_else(|e| panic!("{e}"));
        JobSchedule::build(text, timing, &named).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    /// The first `n` occurrences after `from`, as UTC instants.
    fn runs(s: &JobSchedule, from: u64, n: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut t = from;
        for _ in 0..n {
            match s.next(t) {
                Next::At(x) => {
                    assert!(x > t);
                    out.push(iso(x));
                    t = x;
                }
                _ => break,
            }
        }
        out
    }

    #[test]
    fn intervals_count_from_the_start_date() {
        // Without a start date, INTERVAL=2 runs on even UTC hours; from a start at 09:30 it
        // runs at 09:30, 11:30, ... (odd hours, minute and second of the start date).
        let s = sched(
            "FREQ=HOURLY;INTERVAL=2",
            None,
            Some("2026-01-01 09:30"),
            None,
        );
        assert_eq!(
            runs(&s, at(2026, 1, 1, 0, 0, 0), 3),
            [
                "2026-01-01T09:30:00",
                "2026-01-01T11:30:00",
                "2026-01-01T13:30:00"
            ]
        );
        let s = sched("FREQ=HOURLY;INTERVAL=2", None, None, None);
        assert_eq!(
            runs(&s, at(2026, 1, 1, 0, 0, 1), 1),
            ["2026-01-01T02:00:00"]
        );
        // Weeks count from the start date's week, on its weekday (2026-01-07 is a Wednesday).
        let s = sched(
            "FREQ=WEEKLY;INTERVAL=2",
            None,
            Some("2026-01-07 10:00"),
            None,
        );
        assert_eq!(
            runs(&s, at(2026, 1, 1, 0, 0, 0), 3),
            [
                "2026-01-07T10:00:00",
                "2026-01-21T10:00:00",
                "2026-02-04T10:00:00"
            ]
        );
        // Months from the start date's month, on its day.
        let s = sched(
            "FREQ=MONTHLY;INTERVAL=2",
            None,
            Some("2026-02-15 06:00:05"),
            None,
        );
        assert_eq!(
            runs(&s, at(2026, 3, 1, 0, 0, 0), 2),
            ["2026-04-15T06:00:05", "2026-06-15T06:00:05"]
        );
        // Days: every third day from the start date, at its time unless BYHOUR says.
        let s = sched(
            "FREQ=DAILY;INTERVAL=3;BYHOUR=7",
            None,
            Some("2026-05-02 23:15"),
            None,
        );
        assert_eq!(
            runs(&s, at(2026, 5, 1, 0, 0, 0), 2),
            ["2026-05-05T07:15:00", "2026-05-08T07:15:00"]
        );
        // Years: on the start date's month and day.
        let s = sched("FREQ=YEARLY", None, Some("2026-07-14 12:00"), None);
        assert_eq!(
            runs(&s, at(2026, 8, 1, 0, 0, 0), 1),
            ["2027-07-14T12:00:00"]
        );
    }

    #[test]
    fn a_start_date_in_the_future_and_an_end_date_bound_the_runs() {
        let s = sched(
            "FREQ=DAILY;BYHOUR=6",
            None,
            Some("2026-06-10"),
            Some("2026-06-12 12:00"),
        );
        assert_eq!(
            runs(&s, at(2026, 1, 1, 0, 0, 0), 5),
            [
                "2026-06-10T06:00:00",
                "2026-06-11T06:00:00",
                "2026-06-12T06:00:00"
            ]
        );
        match s.next(at(2026, 6, 12, 6, 0, 0)) {
            Next::Never(n) => assert!(n.reason.contains("end date"), "{}", n.reason),
            other => panic!("{other:?}"),
        }
        assert!(Timing::new(None, Some("2026-06-10"), Some("2026-06-01")).is_err());
    }

    #[test]
    fn a_daily_job_in_paris_follows_summer_time() {
        // 09:00 in Paris: 08:00Z in winter (CET, +01:00), 07:00Z in summer (CEST, +02:00);
        // the clocks go forward on 2026-03-29.
        let s = sched(
            "FREQ=DAILY",
            Some("Europe/Paris"),
            Some("2026-03-27 09:00"),
            None,
        );
        assert_eq!(
            runs(&s, at(2026, 3, 26, 0, 0, 0), 4),
            [
                "2026-03-27T08:00:00",
                "2026-03-28T08:00:00",
                "2026-03-29T07:00:00",
                "2026-03-30T07:00:00"
            ]
        );
        // Without a start date, FREQ=DAILY runs at midnight of the time zone.
        let s = sched("FREQ=DAILY", Some("Europe/Paris"), None, None);
        assert_eq!(
            runs(&s, at(2026, 7, 1, 12, 0, 0), 1),
            ["2026-07-01T22:00:00"]
        );
    }

    #[test]
    fn a_time_skipped_in_spring_runs_when_the_clocks_jump() {
        // 2026-03-29 in Paris: 02:00 CET becomes 03:00 CEST; 02:30 does not exist and runs at
        // the end of the skipped window, 03:00 CEST (01:00Z), as Oracle runs a daily job.
        let s = sched(
            "FREQ=DAILY;BYHOUR=2;BYMINUTE=30;BYSECOND=0",
            Some("Europe/Paris"),
            None,
            None,
        );
        assert_eq!(
            runs(&s, at(2026, 3, 27, 12, 0, 0), 3),
            [
                "2026-03-28T01:30:00",
                "2026-03-29T01:00:00",
                "2026-03-30T00:30:00"
            ]
        );
        // A start date in the skipped hour is the same instant.
        let t = Timing::new(Some("Europe/Paris"), Some("2026-03-29 02:15"), None).unwrap();
        assert_eq!(
            t.start.map(|(_, s)| s),
            Some(at(2026, 3, 29, 1, 0, 0) as i64 / 1000)
        );
        // Hourly: every hour of elapsed time, 01:00 CET (00:00Z), 03:00 CEST (01:00Z), 04:00
        // CEST (02:00Z).
        let s = sched(
            "FREQ=HOURLY;BYMINUTE=0;BYSECOND=0",
            Some("Europe/Paris"),
            None,
            None,
        );
        assert_eq!(
            runs(&s, at(2026, 3, 28, 23, 30, 0), 3),
            [
                "2026-03-29T00:00:00",
                "2026-03-29T01:00:00",
                "2026-03-29T02:00:00"
            ]
        );
        // Oracle's example: every 3 hours keeps 3 hours of elapsed time across the change
        // (midnight, then 04:00 on the new clock).
        let s = sched(
            "FREQ=HOURLY;INTERVAL=3",
            Some("Europe/Paris"),
            Some("2026-03-28 21:00"),
            None,
        );
        assert_eq!(
            runs(&s, at(2026, 3, 28, 19, 0, 0), 3),
            [
                "2026-03-28T20:00:00",
                "2026-03-28T23:00:00",
                "2026-03-29T02:00:00"
            ]
        );
    }

    #[test]
    fn a_time_repeated_in_autumn_runs_once_at_its_first_occurrence() {
        // 2026-10-25 in Paris: 03:00 CEST becomes 02:00 CET; 02:30 happens twice and a daily
        // job runs at the first one, 02:30 CEST (00:30Z), not again an hour later.
        let s = sched(
            "FREQ=DAILY;BYHOUR=2;BYMINUTE=30;BYSECOND=0",
            Some("Europe/Paris"),
            None,
            None,
        );
        assert_eq!(
            runs(&s, at(2026, 10, 23, 12, 0, 0), 3),
            [
                "2026-10-24T00:30:00",
                "2026-10-25T00:30:00",
                "2026-10-26T01:30:00"
            ]
        );
        // Hourly follows elapsed time: 02:00 CEST (00:00Z), 02:00 CET (01:00Z), 03:00 CET.
        let s = sched(
            "FREQ=HOURLY;BYMINUTE=0;BYSECOND=0",
            Some("Europe/Paris"),
            None,
            None,
        );
        assert_eq!(
            runs(&s, at(2026, 10, 24, 23, 30, 0), 3),
            [
                "2026-10-25T00:00:00",
                "2026-10-25T01:00:00",
                "2026-10-25T02:00:00"
            ]
        );
        // BYHOUR is read on the wall clock: hour 2 happens twice, so it runs twice.
        let s = sched(
            "FREQ=HOURLY;BYHOUR=2;BYMINUTE=0;BYSECOND=0",
            Some("Europe/Paris"),
            None,
            None,
        );
        assert_eq!(
            runs(&s, at(2026, 10, 24, 12, 0, 0), 3),
            [
                "2026-10-25T00:00:00",
                "2026-10-25T01:00:00",
                "2026-10-26T01:00:00"
            ]
        );
        // Every 6 hours stays 6 hours apart in elapsed time (a 21:30 run before the change is
        // followed by 02:30 on the new clock, as Oracle support explains it).
        let s = sched(
            "FREQ=HOURLY;INTERVAL=6",
            Some("America/Denver"),
            Some("2026-10-31 21:30"),
            None,
        );
        assert_eq!(
            runs(&s, at(2026, 11, 1, 3, 0, 0), 2),
            ["2026-11-01T03:30:00", "2026-11-01T09:30:00"]
        );
    }

    #[test]
    fn time_zones_by_name_offset_or_utc() {
        assert!(Timing::new(Some("America/New_York"), None, None).is_ok());
        assert!(Timing::new(Some("+05:30"), None, None).is_ok());
        assert!(Timing::new(Some("utc"), None, None).is_ok());
        let e = Timing::new(Some("Europe/Pariss"), None, None).unwrap_err();
        assert!(e.contains("not a time zone"), "{e}");
        assert!(e.ends_with("did you mean Europe/Paris?"), "{e}");
        let e = Timing::new(None, Some("2026-13-01"), None).unwrap_err();
        assert!(e.contains("YYYY-MM-DD"), "{e}");
        let s = sched(
            "FREQ=DAILY;BYHOUR=9;BYMINUTE=0;BYSECOND=0",
            Some("+05:30"),
            None,
            None,
        );
        assert_eq!(
            runs(&s, at(2026, 1, 1, 0, 0, 0), 1),
            ["2026-01-01T03:30:00"]
        );
    }

    #[test]
    fn bytime_gives_the_times_of_day() {
        let s = sched("FREQ=DAILY;BYTIME=220000", None, None, None);
        assert_eq!(
            runs(&s, at(2026, 1, 1, 0, 0, 0), 1),
            ["2026-01-01T22:00:00"]
        );
        let s = sched(
            "FREQ=DAILY;BYTIME=060000,063000,180000,183000",
            None,
            None,
            None,
        );
        assert_eq!(runs(&s, at(2026, 1, 1, 0, 0, 0), 4).len(), 4);
        let e = JobSchedule::build("FREQ=DAILY;BYTIME=060000,183000", Timing::default(), &named)
            .unwrap_err();
        assert!(e.message.contains("every combination"), "{}", e.message);
        let e =
            JobSchedule::build("FREQ=DAILY;BYTIME=0600", Timing::default(), &named).unwrap_err();
        assert!(e.message.contains("hhmmss"), "{}", e.message);
        let e = JobSchedule::build(
            "FREQ=DAILY;BYTIME=060000;BYHOUR=7",
            Timing::default(),
            &named,
        )
        .unwrap_err();
        assert!(e.message.contains("BYTIME and BYHOUR"), "{}", e.message);
    }

    #[test]
    fn named_schedules_combine_with_include_exclude_and_intersect() {
        // EXCLUDE removes the days of the excluded schedule.
        let s = sched("FREQ=DAILY;BYHOUR=9;EXCLUDE=HOLIDAYS", None, None, None);
        assert_eq!(
            runs(&s, at(2026, 12, 24, 12, 0, 0), 2),
            ["2026-12-26T09:00:00", "2026-12-27T09:00:00"]
        );
        // A list of named schedules is their union.
        let s = sched("MORNINGS,EVENINGS", None, None, None);
        assert_eq!(
            runs(&s, at(2026, 1, 1, 0, 0, 0), 3),
            [
                "2026-01-01T09:00:00",
                "2026-01-01T18:00:00",
                "2026-01-02T09:00:00"
            ]
        );
        // INCLUDE adds occurrences; INTERSECT keeps the common ones (2026-01-03 is a
        // Saturday).
        let s = sched("FREQ=DAILY;BYHOUR=18;INCLUDE=MORNINGS", None, None, None);
        assert_eq!(
            runs(&s, at(2026, 1, 1, 10, 0, 0), 2),
            ["2026-01-01T18:00:00", "2026-01-02T09:00:00"]
        );
        let s = sched("MORNINGS;INTERSECT=WEEKENDS", None, None, None);
        assert_eq!(
            runs(&s, at(2026, 1, 1, 0, 0, 0), 2),
            ["2026-01-03T09:00:00", "2026-01-04T09:00:00"]
        );
        let e =
            JobSchedule::build("FREQ=DAILY;EXCLUDE=NOPE", Timing::default(), &named).unwrap_err();
        assert!(
            e.message.contains("unknown named schedule NOPE"),
            "{}",
            e.message
        );
        let e = JobSchedule::build("LOOP_A", Timing::default(), &named).unwrap_err();
        assert!(e.message.contains("refers to itself"), "{}", e.message);
        let e = JobSchedule::build("MORNINGS;BYHOUR=3", Timing::default(), &named).unwrap_err();
        assert!(e.message.contains("clauses of its own"), "{}", e.message);
    }

    /// The definition for FREQ=DAILY and longer, by brute force: every local occurrence in a
    /// window around `t` (the schedule evaluated on local wall-clock seconds), each mapped to
    /// its instant (a skipped time at the jump, a repeated one at its first occurrence); the
    /// first instant after `t`. `None` when the window holds none.
    fn brute_next(text: &str, t: u64, window_h: u64) -> Option<u64> {
        use jiff::tz::TimeZone;
        let tz = TimeZone::get("Europe/Paris").ok()?;
        let s = crate::schedule::Schedule::parse(text).ok()?;
        let local = |utc: u64| {
            let ts = jiff::Timestamp::from_second(utc as i64).ok()?;
            Some(utc as i64 + tz.to_offset(ts).seconds() as i64)
        };
        let start = (local(t / 1000)? - 3 * 3600) as u64 * 1000;
        let end = start + window_h * 3600 * 1000;
        let mut best: Option<u64> = None;
        let mut l = start;
        while let Some(n) = s.next_after(l) {
            if n > end {
                break;
            }
            let dt =
                TimeZone::UTC.to_datetime(jiff::Timestamp::from_second((n / 1000) as i64).ok()?);
            let u = crate::schedule::zone::instant_of(&tz, dt).ok()? as u64 * 1000;
            if u > t && best.is_none_or(|b| u < b) {
                best = Some(u);
            }
            l = n;
        }
        best
    }

    /// Schedules that fire within hours: what clock changes affect.
    fn dense_strategy() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        (
            prop_oneof![Just("DAILY")],
            1u32..4,
            proptest::option::of(proptest::collection::btree_set(0u32..24, 1..4)),
            proptest::option::of(proptest::collection::btree_set(0u32..60, 1..3)),
        )
            .prop_map(|(f, i, h, m)| {
                let list = |s: std::collections::BTreeSet<u32>| {
                    s.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
                };
                let mut t = format!("FREQ={f};INTERVAL={i}");
                if let Some(h) = h {
                    t.push_str(&format!(";BYHOUR={}", list(h)));
                }
                if let Some(m) = m {
                    t.push_str(&format!(";BYMINUTE={}", list(m)));
                }
                t
            })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

        /// Around the 2026 clock changes in Paris, the zone-aware search agrees with the brute
        /// force definition.
        #[test]
        fn paris_agrees_with_the_definition_around_clock_changes(
            text in dense_strategy(),
            spring in proptest::bool::ANY,
            off in 0u64..(8 * 3600),
        ) {
            if crate::schedule::Schedule::parse(&text).is_err() {
                return Ok(());
            }
            let change = if spring { at(2026, 3, 29, 1, 0, 0) } else { at(2026, 10, 25, 1, 0, 0) };
            let t = change - 4 * 3600 * 1000 + off * 1000;
            let js = JobSchedule::build(&text, Timing::new(Some("Europe/Paris"), None, None).unwrap(), &named).unwrap();
            if let Some(want) = brute_next(&text, t, 6) {
                // Only when the window surely holds the first one (3 h margin).
                if want < t + 3 * 3600 * 1000 {
                    proptest::prop_assert_eq!(js.next(t), Next::At(want), "{} from {}", text, iso(t));
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 128, ..Default::default() })]

        /// FREQ=HOURLY in Paris around the 2026 clock changes, against the definition: whole
        /// hours of elapsed time, every INTERVAL-th counted from the epoch on the clock of the
        /// epoch's offset (+01:00), whose wall-clock hour is in BYHOUR.
        #[test]
        fn paris_hourly_follows_elapsed_time(
            interval in 1i64..5,
            hours in proptest::collection::btree_set(0u32..24, 1..6),
            spring in proptest::bool::ANY,
            off in 0u64..(6 * 3600),
        ) {
            let list = hours.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
            let text = format!("FREQ=HOURLY;INTERVAL={interval};BYHOUR={list}");
            let change = if spring { at(2026, 3, 29, 1, 0, 0) } else { at(2026, 10, 25, 1, 0, 0) };
            let t = change - 3 * 3600 * 1000 + off * 1000;
            let js = sched(&text, Some("Europe/Paris"), None, None);
            let tz = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
            let want = (1..=48i64).map(|k| ((t / 1000 / 3600) as i64 + k) * 3600).find(|&v| {
                let ts = jiff::Timestamp::from_second(v).unwrap();
                let hour = tz.to_datetime(ts).hour() as u32;
                (v / 3600 + 1).rem_euclid(interval) == 0 && hours.contains(&hour)
            });
            if let Some(want) = want {
                proptest::prop_assert_eq!(js.next(t), Next::At(want as u64 * 1000), "{} from {}", text, iso(t));
            }
        }
    }
}
