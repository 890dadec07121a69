//! The engine's clock: milliseconds since the Unix epoch, optionally running faster than the
//! wall clock (`time_scale`) so tests of `AFTER` delays, retries and `builtin sleep` are fast.
//!
//! The core reads no clock; the runtime gives it `now()` with every input. With a time scale
//! `s`, one real millisecond is `s` engine milliseconds: a timer due in `d` engine ms fires after
//! `d / s` real ms, and every engine time written to the store is on the same scaled clock, so
//! the views stay consistent. The clock restarts from the wall clock each time an engine opens.

use crate::lang::duration::Millis;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy)]
pub struct EngineClock {
    wall_base: Millis,
    base: Instant,
    scale: f64,
}

/// Milliseconds since the Unix epoch by the wall clock.
pub fn wall_now() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

impl EngineClock {
    /// A clock starting at the wall time now. A non-finite or non-positive scale means 1.
    pub fn new(time_scale: f64) -> EngineClock {
        let scale = if time_scale.is_finite() && time_scale > 0.0 {
            time_scale
        } else {
            1.0
        };
        EngineClock {
            wall_base: wall_now(),
            base: Instant::now(),
            scale,
        }
    }

    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Engine time now.
    pub fn now(&self) -> Millis {
        let real = self.base.elapsed().as_secs_f64() * 1000.0;
        self.wall_base + (real * self.scale) as Millis
    }

    /// How long (real time) `engine_ms` of engine time lasts.
    pub fn real(&self, engine_ms: Millis) -> Duration {
        Duration::from_secs_f64(engine_ms as f64 / 1000.0 / self.scale)
    }

    /// Real time left until engine time `due` (zero when it has passed).
    pub fn until(&self, due: Millis) -> Duration {
        self.real(due.saturating_sub(self.now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scaled_clock_divides_durations() {
        let c = EngineClock::new(100.0);
        assert_eq!(c.real(10_000), Duration::from_millis(100));
        let c = EngineClock::new(0.0);
        assert_eq!(c.scale(), 1.0);
    }

    #[test]
    fn engine_time_starts_at_the_wall_clock() {
        let c = EngineClock::new(1.0);
        let diff = c.now().abs_diff(wall_now());
        assert!(diff < 1000, "{diff}");
    }
}
