//! Builtin programs: `noop`, `sleep DURATION` (engine time, so a time scale shortens it),
//! `fail N`. They make chains runnable without external programs (tests, demos, benchmarks).

use super::{stopped, timeout_elapsed, Capture, ExecEnv, StepLaunch, TIMED_OUT};
use crate::catalog::Builtin;
use crate::core::types::Outcome;
use tokio::sync::watch;

pub async fn run(
    env: &ExecEnv,
    step: &StepLaunch,
    builtin: &Builtin,
    mut stop: watch::Receiver<bool>,
) -> (Outcome, Capture) {
    let mut capture = Capture {
        actual_start: env.clock.now(),
        ..Capture::default()
    };
    let work = async {
        match builtin {
            Builtin::Noop => Outcome::Succeeded,
            Builtin::Sleep(ms) => {
                tokio::time::sleep(env.clock.real(*ms)).await;
                Outcome::Succeeded
            }
            Builtin::Fail(n) if *n > 0 => Outcome::Failed(*n),
            // `fail 0` (or a negative code) is not a failure code: error code 0 is success.
            Builtin::Fail(_) => Outcome::Succeeded,
        }
    };
    let outcome = tokio::select! {
        o = work => o,
        _ = stopped(&mut stop) => Outcome::Stopped,
        _ = timeout_elapsed(&env.clock, step.program.timeout) => {
            capture.reason = Some(super::timed_out_reason(&step.program));
            Outcome::Failed(TIMED_OUT)
        }
    };
    (outcome, capture)
}
