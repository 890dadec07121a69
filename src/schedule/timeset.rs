//! The times of day a schedule allows: a set of hours × minutes × seconds, as bit masks.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeSet {
    /// Bit h set: hour h (0-23) allowed.
    pub hours: u32,
    /// Bit m set: minute m (0-59) allowed.
    pub minutes: u64,
    /// Bit s set: second s (0-59) allowed.
    pub seconds: u64,
}

pub const ALL_HOURS: u32 = (1 << 24) - 1;
pub const ALL_SIXTY: u64 = (1 << 60) - 1;

fn bits_from(mask: u64, from: u32) -> impl Iterator<Item = u32> {
    (from..64).filter(move |b| mask & (1u64 << b) != 0)
}

/// The position of the `n`-th (0-based) set bit of `mask`, which has more than `n`.
pub(crate) fn nth_bit(mut mask: u64, n: u64) -> u32 {
    for _ in 0..n {
        mask &= mask - 1;
    }
    mask.trailing_zeros()
}

impl TimeSet {
    pub fn count(&self) -> u64 {
        self.hours.count_ones() as u64
            * self.minutes.count_ones() as u64
            * self.seconds.count_ones() as u64
    }

    pub fn contains(&self, tod: u32) -> bool {
        let (h, m, s) = (tod / 3600, tod / 60 % 60, tod % 60);
        h < 24
            && self.hours & (1 << h) != 0
            && self.minutes & (1u64 << m) != 0
            && self.seconds & (1u64 << s) != 0
    }

    /// Every allowed second of the day at or after `from`, ascending, passing `keep`; the first
    /// one kept. Prunes by hour and minute so the scan is short.
    pub fn first_from(&self, from: u32, keep: impl Fn(u32) -> bool) -> Option<u32> {
        if from >= 86_400 {
            return None;
        }
        let (fh, fm, fs) = (from / 3600, from / 60 % 60, from % 60);
        for h in bits_from(self.hours as u64, fh) {
            let m0 = if h == fh { fm } else { 0 };
            for m in bits_from(self.minutes, m0) {
                let s0 = if h == fh && m == fm { fs } else { 0 };
                for s in bits_from(self.seconds, s0) {
                    let tod = h * 3600 + m * 60 + s;
                    if keep(tod) {
                        return Some(tod);
                    }
                }
            }
        }
        None
    }

    /// The `n`-th (0-based) allowed second of the day, in ascending order.
    pub fn nth(&self, n: u64) -> Option<u32> {
        let (nh, nm, ns) = (
            self.hours.count_ones() as u64,
            self.minutes.count_ones() as u64,
            self.seconds.count_ones() as u64,
        );
        if n >= nh * nm * ns {
            return None;
        }
        let h = nth_bit(self.hours as u64, n / (nm * ns));
        let m = nth_bit(self.minutes, n / ns % nm);
        let s = nth_bit(self.seconds, n % ns);
        Some(h * 3600 + m * 60 + s)
    }

    /// Every allowed second of the day, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        bits_from(self.hours as u64, 0).flat_map(move |h| {
            bits_from(self.minutes, 0)
                .flat_map(move |m| bits_from(self.seconds, 0).map(move |s| h * 3600 + m * 60 + s))
        })
    }

    /// Every allowed second of the day, ascending.
    #[cfg(test)]
    pub fn all(&self) -> Vec<u32> {
        let mut out = Vec::new();
        for h in bits_from(self.hours as u64, 0) {
            for m in bits_from(self.minutes, 0) {
                for s in bits_from(self.seconds, 0) {
                    out.push(h * 3600 + m * 60 + s);
                }
            }
        }
        out
    }
}
