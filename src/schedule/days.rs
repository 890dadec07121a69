//! The bounded search behind [`Schedule::next`](super::Schedule::next): day sets of whole
//! calendar years as bit masks, and a scan over the days they hold.
//!
//! Why: a schedule whose dates are rare, or that never fires, must still be judged in a few
//! milliseconds, whatever the string (`check`, `serve` and reload all evaluate schedules).
//! Looking at every day — let alone every second — of the 400-year Gregorian cycle takes
//! seconds. Instead:
//!
//! * the date clauses of a schedule are turned into the set of days of a year they select, one
//!   bit per day, clause by clause (`BYMONTH=2` is one range of bits, `BYMONTHDAY=30` one bit per
//!   month that has a 30th). That set depends only on the year's *type* — the weekday of its
//!   January 1st and whether it and its neighbours are leap years — so at most 56 are ever
//!   computed ([`YearCache`]); an impossible day set (February 30th, week 53 in a year that has
//!   52) is simply empty;
//! * the search walks the days those sets hold, skipping empty years a word at a time, and stops
//!   after one Gregorian cycle (146,097 days, after which dates and weekdays repeat) when nothing
//!   can match;
//! * every step is charged to a [`Budget`]; running out is an answer too ("undecided"), never a
//!   stall. The budget is sized so that no schedule found so far comes near it (see
//!   docs/scheduling.md, "Evaluation cost").

use super::civil::{
    civil_from_days, days_from_civil, days_in_month, is_leap, GREGORIAN_CYCLE_DAYS,
};
use super::timeset::nth_bit;

const WORDS: usize = 6;
/// Bits in a [`DayBits`]: enough for a leap year.
const BITS: u32 = (WORDS * 64) as u32;

/// A set of days: bit `i` is the `i`-th day (0-based) of a year, or of any run of at most 384
/// consecutive days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct DayBits([u64; WORDS]);

impl DayBits {
    pub const EMPTY: DayBits = DayBits([0; WORDS]);

    /// Days `lo..hi`.
    pub fn range(lo: u32, hi: u32) -> DayBits {
        let mut b = DayBits::EMPTY;
        b.set_range(lo, hi);
        b
    }

    pub fn set(&mut self, i: u32) {
        if i < BITS {
            self.0[(i / 64) as usize] |= 1 << (i % 64);
        }
    }

    /// Add days `lo..hi` (clipped to the set's size).
    pub fn set_range(&mut self, lo: u32, hi: u32) {
        let hi = hi.min(BITS);
        let mut i = lo;
        while i < hi {
            let bit = i % 64;
            let n = (64 - bit).min(hi - i);
            let mask = if n == 64 {
                !0
            } else {
                ((1u64 << n) - 1) << bit
            };
            self.0[(i / 64) as usize] |= mask;
            i += n;
        }
    }

    pub fn and(mut self, other: &DayBits) -> DayBits {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a &= b;
        }
        self
    }

    pub fn or(mut self, other: &DayBits) -> DayBits {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a |= b;
        }
        self
    }

    pub fn count(&self) -> u64 {
        self.0.iter().map(|w| w.count_ones() as u64).sum()
    }

    /// The first day at or after `i` in the set.
    pub fn next_from(&self, i: u32) -> Option<u32> {
        let mut w = (i / 64) as usize;
        if w >= WORDS {
            return None;
        }
        let mut word = self.0[w] & (!0u64 << (i % 64));
        loop {
            if word != 0 {
                return Some(w as u32 * 64 + word.trailing_zeros());
            }
            w += 1;
            if w == WORDS {
                return None;
            }
            word = self.0[w];
        }
    }

    /// The `n`-th day (0-based) in the set.
    pub fn nth(&self, mut n: u64) -> Option<u32> {
        for (w, word) in self.0.iter().enumerate() {
            let c = word.count_ones() as u64;
            if n < c {
                return Some(w as u32 * 64 + nth_bit(*word, n));
            }
            n -= c;
        }
        None
    }

    /// Days `lo..lo + len` of this set, moved down to `0..len`.
    pub fn window(&self, lo: u32, len: u32) -> DayBits {
        DayBits::from_words(&self.0, lo as usize).and(&DayBits::range(0, len))
    }

    /// Bits `lo..lo + 384` of a longer bit string (bits past its end are 0).
    fn from_words(words: &[u64], lo: usize) -> DayBits {
        let mut out = DayBits::EMPTY;
        let (ws, bs) = (lo / 64, lo % 64);
        for (i, o) in out.0.iter_mut().enumerate() {
            let a = words.get(i + ws).copied().unwrap_or(0);
            let b = words.get(i + ws + 1).copied().unwrap_or(0);
            *o = if bs == 0 {
                a
            } else {
                (a >> bs) | (b << (64 - bs))
            };
        }
        out
    }

    /// This set with the days of `other` added, moved up by `shift` days (days moved past the
    /// end are dropped).
    pub fn or_shifted(mut self, other: &DayBits, shift: u32) -> DayBits {
        let (ws, bs) = ((shift / 64) as usize, shift % 64);
        for i in (0..WORDS).rev() {
            let Some(src) = i.checked_sub(ws) else { break };
            let a = other.0[src];
            let below = if src > 0 { other.0[src - 1] } else { 0 };
            self.0[i] |= if bs == 0 {
                a
            } else {
                (a << bs) | (below >> (64 - bs))
            };
        }
        self
    }
}

/// A calendar year, with what a day set of it depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Year {
    pub year: i64,
    /// Day number of January 1st.
    pub jan1: i64,
    pub len: u32,
    /// Weekday of January 1st, 0 = Monday … 6 = Sunday.
    pub weekday: u32,
    pub leap_prev: bool,
    pub leap: bool,
    pub leap_next: bool,
}

/// Days before the 1st of each month in a common year.
const MONTH_START: [u32; 13] = [0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

impl Year {
    pub fn new(year: i64) -> Year {
        let jan1 = days_from_civil(year, 1, 1);
        let leap = is_leap(year);
        Year {
            year,
            jan1,
            len: if leap { 366 } else { 365 },
            weekday: super::civil::weekday(jan1),
            leap_prev: is_leap(year - 1),
            leap,
            leap_next: is_leap(year + 1),
        }
    }

    /// The year holding day number `day`.
    pub fn containing(day: i64) -> Year {
        Year::new(civil_from_days(day).0)
    }

    pub fn next(&self) -> Year {
        Year::new(self.year + 1)
    }

    /// The year's type: everything a day set computed from date clauses depends on (the
    /// weekday of January 1st; leap years before, at and after it, for ISO week numbers).
    pub fn kind(&self) -> usize {
        self.weekday as usize * 8
            + (self.leap_prev as usize) * 4
            + (self.leap as usize) * 2
            + self.leap_next as usize
    }

    /// Day of the year (0-based) of the 1st of month `m` (1-12).
    pub fn month_start(&self, m: u32) -> u32 {
        MONTH_START[m as usize] + u32::from(self.leap && m > 2)
    }

    pub fn month_len(&self, m: u32) -> u32 {
        days_in_month(self.year, m)
    }

    /// Weekday (0 = Monday) of day `i` (0-based) of the year.
    pub fn weekday_of(&self, i: u32) -> u32 {
        (self.weekday + i) % 7
    }
}

/// Where a day set comes from: the date clauses of a schedule.
pub(crate) trait DateRule {
    /// The days of year `y` that the date clauses select. Must depend only on `y.kind()`: the
    /// result is cached per kind.
    fn year_days(&self, y: &Year) -> DayBits;
}

/// [`DateRule::year_days`] per kind of year, computed once each.
pub(crate) struct YearCache {
    slots: [Option<DayBits>; 56],
    /// The year last looked up by day (consecutive periods are mostly in the same year).
    last: Option<Year>,
}

impl YearCache {
    pub fn new() -> YearCache {
        YearCache {
            slots: [None; 56],
            last: None,
        }
    }

    fn year_of(&mut self, day: i64) -> Year {
        match self.last {
            Some(y) if y.jan1 <= day && day < y.jan1 + y.len as i64 => y,
            _ => *self.last.insert(Year::containing(day)),
        }
    }

    pub fn get(&mut self, rule: &impl DateRule, y: &Year) -> DayBits {
        *self.slots[y.kind()].get_or_insert_with(|| rule.year_days(y))
    }

    /// The selected days among the `len` (at most 366) days from day number `start`, as bits
    /// `0..len`.
    pub fn window(&mut self, rule: &impl DateRule, start: i64, len: u32) -> DayBits {
        let y = self.year_of(start);
        let off = (start - y.jan1) as u32;
        let first = self.get(rule, &y).window(off, len.min(y.len - off));
        if off + len <= y.len {
            return first;
        }
        let next = y.next();
        let rest = self.get(rule, &next).window(0, off + len - y.len);
        first.or_shifted(&rest, y.len - off)
    }
}

/// The work an evaluation may do: one unit per year or per candidate day or period looked at.
/// See the module docs.
pub(crate) struct Budget {
    left: u64,
    used: u64,
}

/// The budget ran out before an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OutOfBudget;

impl Budget {
    pub fn new(limit: u64) -> Budget {
        Budget {
            left: limit,
            used: 0,
        }
    }

    pub fn spend(&mut self, n: u64) -> Result<(), OutOfBudget> {
        if self.left < n {
            self.used += self.left;
            self.left = 0;
            return Err(OutOfBudget);
        }
        self.left -= n;
        self.used += n;
        Ok(())
    }

    pub fn used(&self) -> u64 {
        self.used
    }
}

/// What [`scan`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scan {
    /// The first selected day that passes the predicate.
    Day(i64),
    /// The date clauses select no day at all.
    NoDay,
    /// They select days, but the predicate rejects all of them, for ever.
    NoneAccepted,
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// A predicate on day numbers that repeats every `period` days, as bits: the pattern written
/// out over `period + 384` days, so that the bits of any year are one window of it.
struct Periodic {
    period: u64,
    words: Vec<u64>,
}

impl Periodic {
    fn new(period: u64, f: impl Fn(u64) -> bool) -> Periodic {
        let n = period as usize + BITS as usize;
        let mut words = vec![0u64; n.div_ceil(64)];
        let mut first = Vec::with_capacity(period as usize);
        for r in 0..period {
            first.push(f(r));
        }
        for i in 0..n {
            if first[i % period as usize] {
                words[i / 64] |= 1 << (i % 64);
            }
        }
        Periodic { period, words }
    }

    /// The predicate on days `start..start + 384`, as bits from `start`.
    fn window(&self, start: i64) -> DayBits {
        DayBits::from_words(&self.words, start.rem_euclid(self.period as i64) as usize)
    }
}

/// The first day at or after `from` (a day number, at least 0) that `rule` selects and `accept`
/// takes, where `accept(d)` depends only on `d % modulus` (INTERVAL: every n-th day or week,
/// or the days on which an INTERVAL of hours, minutes or seconds lands on an allowed time).
/// One unit of work per year looked at: a year's selected days and accepted days are two bit
/// masks, ANDed.
///
/// Why it ends: the selected days repeat every Gregorian cycle of P = 146,097 days, so day `x`
/// and the days `x + cP` have, modulo `modulus`, every residue congruent to `x` modulo
/// g = gcd(modulus, P). So once one cycle has been looked at, either some selected day seen has
/// a residue modulo g that `accept` takes for some day — and a later day is accepted, at most
/// `modulus / g` cycles on — or none ever will be.
pub(crate) fn scan(
    rule: &impl DateRule,
    cache: &mut YearCache,
    from: i64,
    modulus: u64,
    accept: &dyn Fn(i64) -> bool,
    budget: &mut Budget,
) -> Result<Scan, OutOfBudget> {
    let modulus = modulus.max(1);
    budget.spend(modulus / 256)?;
    let accepted = Periodic::new(modulus, |a| accept(a as i64));
    let g = gcd(modulus, GREGORIAN_CYCLE_DAYS);
    // Residues r modulo g such that some day ≡ r (mod g) is accepted.
    let mut accepted_mod_g = vec![false; g as usize];
    for a in 0..modulus {
        if accepted.words[(a / 64) as usize] & (1 << (a % 64)) != 0 {
            accepted_mod_g[(a % g) as usize] = true;
        }
    }
    if !accepted_mod_g.contains(&true) {
        return Ok(Scan::NoneAccepted);
    }
    let can_be_accepted = Periodic::new(g, |r| accepted_mod_g[r as usize]);
    let cycle_end = from + GREGORIAN_CYCLE_DAYS as i64;
    let (mut seen, mut can_fire) = (false, false);
    let mut y = Year::containing(from);
    let mut i = (from - y.jan1) as u32;
    loop {
        budget.spend(1)?;
        let days = cache.get(rule, &y).and(&DayBits::range(i, y.len));
        if let Some(b) = days.and(&accepted.window(y.jan1)).next_from(0) {
            return Ok(Scan::Day(y.jan1 + b as i64));
        }
        seen = seen || days != DayBits::EMPTY;
        can_fire = can_fire || days.and(&can_be_accepted.window(y.jan1)) != DayBits::EMPTY;
        if y.jan1 + y.len as i64 >= cycle_end {
            if !seen {
                return Ok(Scan::NoDay);
            }
            if !can_fire {
                return Ok(Scan::NoneAccepted);
            }
        }
        y = y.next();
        i = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_operations() {
        let b = DayBits::range(3, 130);
        assert_eq!(b.count(), 127);
        assert_eq!(b.next_from(0), Some(3));
        assert_eq!(b.next_from(129), Some(129));
        assert_eq!(b.next_from(130), None);
        assert_eq!(b.nth(0), Some(3));
        assert_eq!(b.nth(126), Some(129));
        assert_eq!(b.nth(127), None);
        let w = b.window(100, 40);
        assert_eq!(w, DayBits::range(0, 30));
        let s = DayBits::range(0, 2).or_shifted(&DayBits::range(0, 3), 63);
        assert_eq!(s, DayBits::range(0, 2).or(&DayBits::range(63, 66)));
        assert_eq!(
            DayBits::EMPTY.or_shifted(&DayBits::range(0, 384), 128),
            DayBits::range(128, 384)
        );
        assert_eq!(DayBits::range(5, 5), DayBits::EMPTY);
    }

    #[test]
    fn years() {
        let y = Year::new(2024);
        assert_eq!((y.len, y.weekday, y.leap), (366, 0, true));
        assert_eq!(y.month_start(3), 60);
        assert_eq!(Year::containing(days_from_civil(2023, 12, 31)).year, 2023);
        assert_eq!(Year::new(1969).next(), Year::new(1970));
    }
}
