//! Executors carry out one attempt of a program step: an external program (`executable`, run
//! directly; `shell`, run by `/bin/sh -c`), an in-process `handler`, or a `builtin`.
//!
//! Every executor runs as its own tokio task, reports what happens through a [`Reporter`]
//! (spawned, progress, status, finished with an outcome and the captured output), and stops
//! when its [`StopHandle`] is triggered. The outcome rules are rule-language.md's:
//! exit 0 → SUCCEEDED; N ≠ 0 → FAILED N (or the `::error-code` N printed); stopped → STOPPED;
//! timeout → FAILED 124; killed by another signal S → FAILED 128+S.

pub mod builtin;
pub mod guardian;
pub mod handler;
pub mod launcher;
pub mod output;
pub mod params;
pub mod process;

use super::clock::EngineClock;
use crate::catalog::{Program, ProgramKind};
use crate::core::types::Outcome;
use crate::lang::duration::Millis;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

pub use handler::{HandlerContext, HandlerFn, HandlerRegistry};
pub use launcher::Launcher;

/// Error code of a step whose program could not be started (no such file, no such handler):
/// the shell's "command not found".
pub const LAUNCH_FAILED: i64 = 127;
/// Error code of a step whose program file exists but cannot be executed.
pub const NOT_EXECUTABLE: i64 = 126;
/// Error code of a step killed by its program's `timeout`.
pub const TIMED_OUT: i64 = 124;

/// One attempt to run.
#[derive(Debug, Clone)]
pub struct StepLaunch {
    pub job: String,
    pub subname: String,
    pub attempt: u32,
    pub program: Program,
    pub parameters: BTreeMap<String, String>,
}

/// What was captured of one attempt (for job_run_details).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Capture {
    pub pid: Option<u32>,
    pub actual_start: Millis,
    pub ended: Millis,
    pub output: String,
    pub errors: String,
    /// Job variables the attempt set (`::set NAME=VALUE`, a handler's context), in order.
    pub variables: Vec<(String, String)>,
    /// Why the engine ended the run or could not start it (a timeout, a launch failure), in
    /// a few words: the job-log row's ADDITIONAL_INFO. None when the program itself decided.
    pub reason: Option<String>,
}

/// The ADDITIONAL_INFO of a run the engine killed at its program's timeout.
pub fn timed_out_reason(program: &crate::catalog::Program) -> String {
    match program.timeout {
        Some(t) => format!(
            "timed out after {}; killed",
            crate::lang::duration::format_duration(t)
        ),
        None => "timed out; killed".to_string(),
    }
}

/// What an executor reports.
#[derive(Debug, Clone, PartialEq)]
pub enum ExecEvent {
    /// An external program started with this pid (also its process group id).
    Spawned {
        job: String,
        subname: String,
        attempt: u32,
        pid: u32,
    },
    /// Progress and/or a status message (absent fields unchanged).
    Progress {
        job: String,
        subname: String,
        sofar: Option<u64>,
        totalwork: Option<u64>,
        message: Option<String>,
    },
    Finished {
        job: String,
        subname: String,
        attempt: u32,
        outcome: Outcome,
        capture: Capture,
    },
}

pub type Reporter = Arc<dyn Fn(ExecEvent) + Send + Sync>;

/// Asks a running attempt to stop (STOP, chain end, job stop, engine shutdown).
#[derive(Debug, Clone)]
pub struct StopHandle(Arc<watch::Sender<bool>>);

impl StopHandle {
    pub fn stop(&self) {
        let _ = self.0.send(true);
    }
}

/// Resolves when a stop has been requested.
pub async fn stopped(rx: &mut watch::Receiver<bool>) {
    // An error means the sender is gone: treat as "never stopped" by waiting forever.
    if rx.wait_for(|v| *v).await.is_err() {
        std::future::pending::<()>().await
    }
}

/// What executors share: the clock, the process launcher, the handler registry, and how long a
/// stopped process gets between SIGTERM and SIGKILL.
#[derive(Clone)]
pub struct ExecEnv {
    pub clock: EngineClock,
    pub launcher: Launcher,
    /// Given to every step process as `CHAINSCHED_STORE_ID` (recovery finds strays by it).
    pub store_id: String,
    pub handlers: HandlerRegistry,
    /// Real time between SIGTERM and SIGKILL (and for a handler to notice cancellation).
    pub kill_grace: Duration,
    pub report: Reporter,
}

/// Start one attempt as a tokio task; returns the handle that stops it.
pub fn launch(env: &ExecEnv, step: StepLaunch) -> StopHandle {
    let (tx, rx) = watch::channel(false);
    let env = env.clone();
    tokio::spawn(async move {
        let start = env.clock.now();
        let (outcome, mut capture) = match step.program.kind.clone() {
            ProgramKind::Executable(path) => process::run_executable(&env, &step, &path, rx).await,
            ProgramKind::Shell(command) => process::run_shell(&env, &step, &command, rx).await,
            ProgramKind::Handler(name) => handler::run(&env, &step, &name, rx).await,
            ProgramKind::Builtin(b) => builtin::run(&env, &step, &b, rx).await,
        };
        if capture.actual_start == 0 {
            capture.actual_start = start;
        }
        capture.ended = env.clock.now();
        (env.report)(ExecEvent::Finished {
            job: step.job,
            subname: step.subname,
            attempt: step.attempt,
            outcome,
            capture,
        });
    });
    StopHandle(Arc::new(tx))
}

/// Wait `timeout` (engine time, scaled); never resolves for `None`.
pub async fn timeout_elapsed(clock: &EngineClock, timeout: Option<Millis>) {
    match timeout {
        Some(ms) => tokio::time::sleep(clock.real(ms)).await,
        None => std::future::pending::<()>().await,
    }
}
