//! Schedule evaluation benchmark: how long `Schedule::next` takes — typical schedules, the
//! never-firing strings of issue 14 (49 s and 4 s before the bounded search), hand-picked
//! worst cases, and 20,000 generated strings of every clause kind (sparse and contradictory
//! ones on purpose), each from several start times. Also how much of the work budget
//! (`WORK_BUDGET`) the hungriest ones need, found by bisecting `next_within`.
//!
//! Run: `cargo bench --bench schedule` (release build). Results are recorded in
//! docs/benchmarks.md ("Schedule evaluation").

use chainsched::schedule::{Next, Schedule, WORK_BUDGET};
use std::time::{Duration, Instant};

/// 2024-01-01T00:00:00Z and other start times, in engine milliseconds.
const STARTS: [u64; 4] = [0, 1_704_067_200_000, 1_900_000_123_000, 4_102_444_799_000];
const GENERATED: usize = 20_000;

/// A small deterministic generator (no dependency, same strings on every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn signed_list(&mut self, max: i64) -> String {
        let n = 1 + self.below(3);
        (0..n)
            .map(|_| {
                let v = 1 + self.below(max as u64) as i64;
                if self.chance(40) { -v } else { v }.to_string()
            })
            .collect::<Vec<_>>()
            .join(",")
    }
    fn list(&mut self, lo: u64, hi: u64) -> String {
        let n = 1 + self.below(3);
        (0..n)
            .map(|_| (lo + self.below(hi - lo + 1)).to_string())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A calendar string or a cron line with random clauses (they need not parse).
fn generate(r: &mut Lcg) -> String {
    if r.chance(20) {
        let field = |r: &mut Lcg, lo: u64, hi: u64| match r.below(4) {
            0 => "*".to_string(),
            1 => format!("*/{}", 1 + r.below(hi.min(15))),
            2 => r.list(lo, hi),
            _ => {
                let (a, b) = (lo + r.below(hi - lo + 1), lo + r.below(hi - lo + 1));
                format!("{}-{}", a.min(b), a.max(b))
            }
        };
        let (mi, h) = (field(r, 0, 59), field(r, 0, 23));
        let (dom, mo, dow) = (field(r, 1, 31), field(r, 1, 12), field(r, 0, 7));
        return format!("{mi} {h} {dom} {mo} {dow}");
    }
    const FREQS: [&str; 8] = [
        "YEARLY", "YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "SECONDLY",
    ];
    const DAYS: [&str; 14] = [
        "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN", "1MON", "-1FRI", "2WED", "5SUN", "-5MON",
        "53THU", "-53SAT",
    ];
    let freq = FREQS[r.below(8) as usize];
    let mut parts = vec![format!("FREQ={freq}")];
    if r.chance(50) {
        let i = if r.chance(50) {
            1 + r.below(4)
        } else {
            1 + r.below(1000)
        };
        parts.push(format!("INTERVAL={i}"));
    }
    if r.chance(50) {
        parts.push(format!("BYMONTH={}", r.list(1, 12)));
    }
    if freq == "YEARLY" && r.chance(30) {
        parts.push(format!("BYWEEKNO={}", r.signed_list(53)));
    }
    if r.chance(25) {
        parts.push(format!("BYYEARDAY={}", r.signed_list(366)));
    }
    if r.chance(25) {
        let n = 1 + r.below(2);
        let dates: Vec<String> = (0..n)
            .map(|_| {
                let (m, d) = (1 + r.below(12), 1 + r.below(31));
                if r.chance(50) {
                    format!("{m:02}{d:02}")
                } else {
                    format!("{}{m:02}{d:02}", 1960 + r.below(160))
                }
            })
            .collect();
        parts.push(format!("BYDATE={}", dates.join(",")));
    }
    if r.chance(40) {
        parts.push(format!("BYMONTHDAY={}", r.signed_list(31)));
    }
    if r.chance(40) {
        let n = 1 + r.below(2);
        let days: Vec<&str> = (0..n).map(|_| DAYS[r.below(14) as usize]).collect();
        parts.push(format!("BYDAY={}", days.join(",")));
    }
    for (k, max) in [("BYHOUR", 23), ("BYMINUTE", 59), ("BYSECOND", 59)] {
        if r.chance(50) {
            parts.push(format!("{k}={}", r.list(0, max)));
        }
    }
    if r.chance(35) {
        parts.push(format!("BYSETPOS={}", r.signed_list(12)));
    }
    parts.join(";")
}

/// The fastest of `rounds` evaluations of `s` from `t`.
fn time(s: &Schedule, t: u64, rounds: usize) -> (Duration, Next) {
    let mut best = Duration::MAX;
    let mut answer = Next::Undecided { work: 0 };
    for _ in 0..rounds {
        let start = Instant::now();
        answer = std::hint::black_box(s.next(std::hint::black_box(t)));
        best = best.min(start.elapsed());
    }
    (best, answer)
}

/// The least budget with which `next_within` answers (bisection).
fn work_needed(s: &Schedule, t: u64) -> u64 {
    let (mut lo, mut hi) = (0, WORK_BUDGET);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if matches!(s.next_within(t, mid), Next::Undecided { .. }) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

fn outcome(n: &Next) -> &'static str {
    match n {
        Next::At(_) => "fires",
        Next::Never(_) => "never",
        Next::Undecided { .. } => "UNDECIDED",
    }
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

fn main() {
    let all = |n: u32| (0..n).map(|v| v.to_string()).collect::<Vec<_>>().join(",");
    let never1 = format!(
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30;BYSETPOS=1;BYHOUR={};BYMINUTE={};BYSECOND={}",
        all(24),
        all(60),
        all(60)
    );
    let named: Vec<(&str, String)> = vec![
        ("typical", "FREQ=DAILY;BYHOUR=2".into()),
        ("typical", "FREQ=WEEKLY;BYDAY=MON,WED,FRI;BYHOUR=9".into()),
        (
            "typical",
            "FREQ=MONTHLY;BYDAY=MON,TUE,WED,THU,FRI;BYSETPOS=-1".into(),
        ),
        ("typical", "FREQ=MINUTELY;INTERVAL=5".into()),
        ("typical", "*/15 * * * *".into()),
        ("typical", "0 2 * * *".into()),
        ("issue 14 (49 s)", never1),
        (
            "issue 14 (4 s)",
            "FREQ=MINUTELY;INTERVAL=1000;BYMONTH=2;BYMONTHDAY=30".into(),
        ),
        ("never", "0 0 30 2 *".into()),
        (
            "never",
            "FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29".into(),
        ),
        (
            "never",
            "FREQ=DAILY;INTERVAL=7;BYDAY=MON,TUE,WED,FRI,SAT,SUN".into(),
        ),
        (
            "never",
            "FREQ=WEEKLY;BYMONTH=7,11;BYYEARDAY=-235,56,279;BYSETPOS=6,8".into(),
        ),
        (
            "never",
            "FREQ=YEARLY;INTERVAL=400;BYWEEKNO=53;BYMONTH=1;BYDAY=FRI,SAT,SUN".into(),
        ),
        (
            "rare",
            "FREQ=MINUTELY;INTERVAL=487;BYMONTHDAY=-22,-13,-10;BYHOUR=8;BYMINUTE=8".into(),
        ),
        (
            "rare",
            "FREQ=HOURLY;INTERVAL=997;BYMONTH=2;BYMONTHDAY=29;BYDAY=MON;BYHOUR=5".into(),
        ),
        ("rare", "FREQ=SECONDLY;INTERVAL=997;BYSECOND=7".into()),
        (
            "rare",
            "FREQ=YEARLY;BYDATE=0229;BYDAY=SUN;BYWEEKNO=9".into(),
        ),
    ];
    println!("Named schedules (fastest of 9 evaluations, from 2024-01-01; work units to answer):");
    for (kind, text) in &named {
        let s = match Schedule::parse(text) {
            Ok(s) => s,
            Err(e) => panic!("{text}: {e}"),
        };
        let (d, n) = time(&s, STARTS[1], 9);
        let shown = if text.len() > 70 {
            format!("{}…", &text[..70])
        } else {
            text.clone()
        };
        println!(
            "  {:>10}  {:<7} {:>6} units  {:<16} {shown}",
            us(d),
            outcome(&n),
            work_needed(&s, STARTS[1]),
            kind
        );
    }

    // Only the day scan (FREQ=WEEKLY and shorter) can need the whole budget; its cost per unit
    // (a year), from the hungriest named schedule, bounds the time of an "undecided" answer.
    let rare = "FREQ=HOURLY;INTERVAL=997;BYMONTH=2;BYMONTHDAY=29;BYDAY=MON;BYHOUR=5";
    if let Ok(s) = Schedule::parse(rare) {
        let (d, _) = time(&s, STARTS[1], 9);
        let per_unit = d.as_secs_f64() / work_needed(&s, STARTS[1]).max(1) as f64;
        println!(
            "\nDay scan: {:.1} ns per unit of work, so the whole budget ({WORK_BUDGET} units) ≈ {:.1} ms",
            per_unit * 1e9,
            per_unit * WORK_BUDGET as f64 * 1e3
        );
    }

    let mut r = Lcg(14);
    let mut times: Vec<(Duration, String, u64)> = Vec::new();
    let (mut parsed, mut fires, mut never, mut undecided) = (0, 0, 0, 0);
    let started = Instant::now();
    for _ in 0..GENERATED {
        let text = generate(&mut r);
        let Ok(s) = Schedule::parse(&text) else {
            continue;
        };
        parsed += 1;
        for t in STARTS {
            let (d, n) = time(&s, t, 3);
            match n {
                Next::At(_) => fires += 1,
                Next::Never(_) => never += 1,
                Next::Undecided { .. } => undecided += 1,
            }
            times.push((d, text.clone(), t));
        }
    }
    let total = started.elapsed();
    times.sort_by_key(|t| std::cmp::Reverse(t.0));
    let n = times.len();
    let at = |q: f64| times[((n as f64) * q) as usize].0;
    println!(
        "\nGenerated: {GENERATED} strings, {parsed} parse; {n} evaluations ({} from each of {} start times): {fires} fire, {never} never, {undecided} undecided; {:.1} s in all",
        parsed,
        STARTS.len(),
        total.as_secs_f64()
    );
    println!(
        "  median {}, p99 {}, p99.9 {}, max {}",
        us(at(0.5)),
        us(at(0.01)),
        us(at(0.001)),
        us(times[0].0)
    );
    let mut max_work = (0, String::new());
    for (_, text, t) in times.iter().take(200) {
        if let Ok(s) = Schedule::parse(text) {
            let w = work_needed(&s, *t);
            if w > max_work.0 {
                max_work = (w, text.clone());
            }
        }
    }
    println!("  slowest 5:");
    for (d, text, t) in times.iter().take(5) {
        println!("    {:>10}  from {t}: {text}", us(*d));
    }
    println!(
        "  most work among the 200 slowest: {} of {WORK_BUDGET} units: {}",
        max_work.0, max_work.1
    );
}
