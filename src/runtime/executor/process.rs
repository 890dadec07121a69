//! External programs: `executable` (run directly, arguments with `${PARAM}` substituted, no
//! shell) and `shell` (`/bin/sh -c COMMAND`). The child runs in its own process group (the
//! launcher sees to that, and to the group not outliving the engine); stopping sends SIGTERM to
//! the group, then SIGKILL after the grace period.

use super::output::{classify, Line, LineSplitter, TailBuffer};
use super::params::substitute;
use super::{
    stopped, timeout_elapsed, Capture, ExecEnv, ExecEvent, StepLaunch, LAUNCH_FAILED,
    NOT_EXECUTABLE, TIMED_OUT,
};
use crate::core::types::Outcome;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::sync::watch;

pub async fn run_executable(
    env: &ExecEnv,
    step: &StepLaunch,
    path: &str,
    stop: watch::Receiver<bool>,
) -> (Outcome, Capture) {
    let mut args = Vec::with_capacity(step.program.arguments.len());
    for a in &step.program.arguments {
        match substitute(a, &step.parameters) {
            Ok(v) => args.push(v),
            Err(name) => {
                // Checked at job start: a variable declared with `sets` that no step has set
                // yet, or a catalog changed since.
                let why = format!(
                    "${{{name}}} in the arguments of program {}: no parameter or variable \
                     {name} is set",
                    step.program.name
                );
                let capture = Capture {
                    actual_start: env.clock.now(),
                    errors: why.clone(),
                    reason: Some(format!("not started: {why}")),
                    ..Capture::default()
                };
                return (Outcome::Failed(LAUNCH_FAILED), capture);
            }
        }
    }
    let make = || {
        let mut cmd = Command::new(path);
        cmd.args(&args);
        cmd
    };
    run_command(env, step, make, stop).await
}

pub async fn run_shell(
    env: &ExecEnv,
    step: &StepLaunch,
    command: &str,
    stop: watch::Receiver<bool>,
) -> (Outcome, Capture) {
    let make = || {
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c").arg(command);
        cmd
    };
    run_command(env, step, make, stop).await
}

/// Send `signal` to the process group `pgid` (ignoring "no such process").
pub fn kill_group(pgid: u32, signal: libc::c_int) {
    if pgid == 0 || pgid > i32::MAX as u32 {
        return;
    }
    // SAFETY: kill(2) with a negative pid signals a process group; no memory is involved.
    unsafe {
        libc::kill(-(pgid as libc::pid_t), signal);
    }
}

/// Everything read from stdout: the kept output, the last `::error-code`, the `::set` lines
/// (and the reasons of those refused).
#[derive(Default)]
struct StdoutState {
    tail: TailBuffer,
    error_code: Option<i64>,
    variables: Vec<(String, String)>,
    refused: Vec<String>,
}

async fn read_stdout(
    mut out: impl AsyncRead + Unpin,
    state: Arc<Mutex<StdoutState>>,
    env: ExecEnv,
    job: String,
    subname: String,
) {
    let mut splitter = LineSplitter::default();
    let mut buf = vec![0u8; 8192];
    let mut handle_line = |line: &[u8]| {
        let text = String::from_utf8_lossy(line);
        let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
        match classify(&text) {
            Line::Output => st.tail.push(line),
            Line::ErrorCode(n) => st.error_code = Some(n),
            Line::Set { name, value } => {
                if let Err(why) = super::output::push_variable(&mut st.variables, name, value) {
                    st.refused.push(why);
                }
            }
            Line::BadSet(why) => st.refused.push(why),
            Line::Progress {
                sofar,
                total,
                message,
            } => (env.report)(ExecEvent::Progress {
                job: job.clone(),
                subname: subname.clone(),
                sofar: Some(sofar),
                totalwork: Some(total),
                message,
            }),
            Line::Status(m) => (env.report)(ExecEvent::Progress {
                job: job.clone(),
                subname: subname.clone(),
                sofar: None,
                totalwork: None,
                message: Some(m),
            }),
        }
    };
    loop {
        match out.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => splitter.feed(&buf[..n], &mut handle_line),
        }
    }
    splitter.finish(&mut handle_line);
}

async fn read_stderr(mut err: impl AsyncRead + Unpin, tail: Arc<Mutex<TailBuffer>>) {
    let mut buf = vec![0u8; 8192];
    loop {
        match err.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => tail
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(&buf[..n]),
        }
    }
}

/// Why the engine ended the process, if it did.
enum Ending {
    Exited(std::io::Result<ExitStatus>),
    Stopped,
    TimedOut,
}

/// How long a step whose process cannot be started for lack of resources (no descriptor, no
/// process slot, no memory: the engine's problem, not the program's) keeps being retried before
/// it fails with [`LAUNCH_FAILED`] and a message that says so.
pub const LAUNCH_RETRY_FOR: Duration = Duration::from_secs(60);

/// Whether a spawn failed for lack of resources (EMFILE, ENFILE, EAGAIN, ENOMEM), which goes
/// away by itself once descriptors or processes are freed.
fn out_of_resources(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::EAGAIN | libc::ENOMEM)
    )
}

async fn run_command(
    env: &ExecEnv,
    step: &StepLaunch,
    make: impl Fn() -> Command,
    mut stop: watch::Receiver<bool>,
) -> (Outcome, Capture) {
    let program = &step.program;
    let prepare = || {
        let mut cmd = make();
        // The job's parameters and variables (docs/variables.md, "Environment"), then the
        // program's own `environment` (it wins), then chainsched's own names.
        cmd.envs(
            step.parameters
                .iter()
                .filter(|(k, v)| env_name_ok(k) && !v.contains('\0')),
        )
        .envs(program.environment.iter().map(|(k, v)| (k, v)))
        .env("CHAINSCHED_JOB_NAME", &step.job)
        .env("CHAINSCHED_JOB_SUBNAME", &step.subname)
        .env("CHAINSCHED_ATTEMPT", step.attempt.to_string())
        .env("CHAINSCHED_STORE_ID", &env.store_id)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(false);
        if let Some(dir) = &program.working_directory {
            cmd.current_dir(dir);
        }
        cmd
    };

    let mut capture = Capture {
        actual_start: env.clock.now(),
        ..Capture::default()
    };
    // A stop requested before the process exists: do not start it.
    if *stop.borrow() {
        return (Outcome::Stopped, capture);
    }
    // Out of descriptors or processes: the engine's problem. Retry (real time, with a growing
    // delay) instead of failing the step; a stop still stops it.
    let give_up = std::time::Instant::now() + LAUNCH_RETRY_FOR;
    let mut delay = Duration::from_millis(50);
    let mut child = loop {
        match env.launcher.spawn(prepare()).await {
            Ok(c) => break c,
            Err(e) if out_of_resources(&e) && std::time::Instant::now() < give_up => {
                if delay == Duration::from_millis(50) {
                    tracing::warn!(
                        job = %step.job,
                        step = %step.subname,
                        "cannot start program {} for lack of resources ({e}); retrying",
                        program.name
                    );
                }
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stop.wait_for(|s| *s) => return (Outcome::Stopped, capture),
                }
                delay = (delay * 2).min(Duration::from_secs(1));
            }
            Err(e) => {
                let code = if e.kind() == std::io::ErrorKind::PermissionDenied {
                    NOT_EXECUTABLE
                } else {
                    LAUNCH_FAILED
                };
                capture.errors = if out_of_resources(&e) {
                    format!(
                        "cannot start program {}: {e}; the engine ran out of resources to start \
                         it for {} s (an engine problem, not the program's: raise the engine's \
                         limits, e.g. ulimit -n, or lower its load)",
                        program.name,
                        LAUNCH_RETRY_FOR.as_secs()
                    )
                } else {
                    format!("cannot start program {}: {e}", program.name)
                };
                capture.reason = Some(if out_of_resources(&e) {
                    format!("not started: {e} (engine out of resources)")
                } else {
                    format!("not started: {e}")
                });
                return (Outcome::Failed(code), capture);
            }
        }
    };
    capture.actual_start = env.clock.now();
    let pid = child.id().unwrap_or(0);
    capture.pid = Some(pid);
    (env.report)(ExecEvent::Spawned {
        job: step.job.clone(),
        subname: step.subname.clone(),
        attempt: step.attempt,
        pid,
    });

    let stdout_state = Arc::new(Mutex::new(StdoutState::default()));
    let stderr_tail = Arc::new(Mutex::new(TailBuffer::default()));
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        readers.push(tokio::spawn(read_stdout(
            out,
            stdout_state.clone(),
            env.clone(),
            step.job.clone(),
            step.subname.clone(),
        )));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(tokio::spawn(read_stderr(err, stderr_tail.clone())));
    }

    let ending = tokio::select! {
        status = child.wait() => Ending::Exited(status),
        _ = stopped(&mut stop) => Ending::Stopped,
        _ = timeout_elapsed(&env.clock, program.timeout) => Ending::TimedOut,
    };
    let ending = match ending {
        Ending::Exited(s) => Ending::Exited(s),
        forced => {
            terminate(&mut child, pid, env.kill_grace).await;
            forced
        }
    };
    // The leader is reaped (unless waiting failed: then it may still run, and stays guarded).
    if !matches!(ending, Ending::Exited(Err(_))) {
        env.launcher.release(pid);
    }

    // Output still buffered in the pipes arrives quickly; a grandchild that keeps a pipe open
    // must not hold the step, so the readers get a short while and are then abandoned.
    for r in readers {
        let _ = tokio::time::timeout(Duration::from_millis(300), r).await;
    }
    let (tail, error_code, variables, refused) = {
        let mut st = stdout_state.lock().unwrap_or_else(|p| p.into_inner());
        (
            st.tail.text(),
            st.error_code,
            std::mem::take(&mut st.variables),
            std::mem::take(&mut st.refused),
        )
    };
    capture.output = tail;
    capture.errors = stderr_tail.lock().unwrap_or_else(|p| p.into_inner()).text();
    for why in refused {
        note(&mut capture.errors, &format!("chainsched: ignored {why}"));
    }
    // A step the engine stopped reports no outcome of its own; its `::set` lines are not
    // applied (docs/variables.md).
    capture.variables = variables;

    let outcome = match ending {
        Ending::Stopped => Outcome::Stopped,
        Ending::TimedOut => {
            note(
                &mut capture.errors,
                &format!("chainsched: program {} timed out; killed", program.name),
            );
            capture.reason = Some(super::timed_out_reason(program));
            Outcome::Failed(TIMED_OUT)
        }
        Ending::Exited(Err(e)) => {
            note(
                &mut capture.errors,
                &format!("chainsched: waiting for the process failed: {e}"),
            );
            capture.reason = Some(format!("waiting for the process failed: {e}"));
            Outcome::Failed(LAUNCH_FAILED)
        }
        Ending::Exited(Ok(status)) => exit_outcome(status, error_code),
    };
    (outcome, capture)
}

/// Whether a process environment can hold a variable of this name: not empty, no `=`, no NUL.
/// Other names (possible for a quoted parameter name of a job definition) are not passed.
pub fn env_name_ok(name: &str) -> bool {
    !name.is_empty() && !name.contains(['=', '\0'])
}

fn note(errors: &mut String, line: &str) {
    if !errors.is_empty() && !errors.ends_with('\n') {
        errors.push('\n');
    }
    errors.push_str(line);
    errors.push('\n');
    *errors = crate::store::records::bounded_tail(errors);
}

/// The outcome of a process that ended on its own.
pub fn exit_outcome(status: ExitStatus, error_code_line: Option<i64>) -> Outcome {
    match (status.code(), status.signal()) {
        (Some(0), _) => Outcome::Succeeded,
        (Some(n), _) => Outcome::Failed(error_code_line.unwrap_or(n as i64)),
        (None, Some(sig)) => Outcome::Failed(128 + sig as i64),
        (None, None) => Outcome::Failed(1),
    }
}

/// SIGTERM to the group, wait up to `grace`, then SIGKILL to the group and reap the child.
async fn terminate(child: &mut tokio::process::Child, pgid: u32, grace: Duration) {
    kill_group(pgid, libc::SIGTERM);
    let exited = tokio::time::timeout(grace, child.wait()).await.is_ok();
    // Kill what is left of the tree (also when the leader exited but children did not).
    kill_group(pgid, libc::SIGKILL);
    if !exited {
        let _ = child.wait().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_status_mapping() {
        let ok = ExitStatus::from_raw(0);
        assert_eq!(exit_outcome(ok, Some(5)), Outcome::Succeeded);
        let three = ExitStatus::from_raw(3 << 8);
        assert_eq!(exit_outcome(three, None), Outcome::Failed(3));
        assert_eq!(exit_outcome(three, Some(20100)), Outcome::Failed(20100));
        let killed = ExitStatus::from_raw(libc::SIGKILL);
        assert_eq!(exit_outcome(killed, None), Outcome::Failed(137));
    }
}
