//! The guardian: a tiny helper process that kills the engine's step process groups when the
//! engine dies, however it dies (SIGKILL, OOM kill, panic with `abort`).
//!
//! Why it exists: step processes are started with `posix_spawn` (std's fast path, a vfork that
//! shares the engine's memory until exec) instead of fork + a `pre_exec` hook. A `pre_exec`
//! hook was how each child used to ask for `PR_SET_PDEATHSIG`, and it forces a full fork of the
//! engine per step, which on a large engine costs page-table copies and copy-on-write faults.
//! Without the hook, nothing in the child notices the engine's death; the guardian does.
//!
//! How: the engine re-executes its own binary (`/proc/self/exe`) once, with
//! [`GUARDIAN_ENV`] set; [`serve_if_requested`], called first thing in `main`, turns that process
//! into the guardian. The engine holds the write end of a pipe that is the guardian's stdin
//! (close-on-exec, so no step inherits it) and writes one line per event: `+PGID` when a step's
//! process group was spawned, `-PGID` when its leader has been reaped. When the pipe reaches
//! end-of-file — the engine closed it on drop, or the kernel closed it because the engine
//! died — the guardian sends SIGKILL to every group still registered and exits. The guardian
//! also polls its parent pid, so that it still acts when some other process has inherited the
//! write end (an embedder's fork without exec).
//!
//! Registrations are short blocking writes from the spawning task; the guardian reads all the
//! time and a pipe holds thousands of lines, so they do not wait in practice.
//!
//! The guardian runs in its own process group (no terminal signal reaches it) with stdout and
//! stderr on /dev/null; it holds no file of the engine's (everything else is close-on-exec).
//!
//! Only a binary whose `main` calls [`serve_if_requested`] can be re-executed as a guardian:
//! the call also records that the binary can. Elsewhere (a library embedder that does not call
//! it, a test harness) the launcher falls back to forking with `PR_SET_PDEATHSIG`
//! (see `launcher.rs`).

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Set (to the engine's pid) in the environment of the re-executed binary to make it a guardian.
pub const GUARDIAN_ENV: &str = "CHAINSCHED_GUARDIAN_OF";

/// What the guardian writes to stdout once it is ready (the engine waits for it).
const READY: &[u8] = b"chainsched-guardian 1\n";

/// How long the engine waits for the guardian to say it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(5);

/// How often the guardian checks that its parent is still the engine.
const PARENT_POLL_MS: libc::c_int = 1000;

/// Whether this binary's `main` called [`serve_if_requested`] (so it can be a guardian).
static CAPABLE: AtomicBool = AtomicBool::new(false);

/// Call first thing in `main`. In a process started as a guardian (by an engine of this
/// binary), runs the guardian and exits; otherwise records that this binary can serve as one
/// and returns at once.
///
/// A binary that embeds the engine and calls this gets the fast step launches the `chainsched`
/// binary has; one that does not still works, with each step forked from the engine.
pub fn serve_if_requested() {
    let Some(value) = std::env::var_os(GUARDIAN_ENV) else {
        CAPABLE.store(true, Ordering::SeqCst);
        return;
    };
    let engine = value
        .to_str()
        .and_then(|s| s.parse::<libc::pid_t>().ok())
        .filter(|p| *p > 0);
    // Only an engine that started us as its child is served; a stray variable in a user's
    // environment does not turn `chainsched` into a guardian.
    // SAFETY: getppid has no preconditions.
    if engine != Some(unsafe { libc::getppid() }) {
        CAPABLE.store(true, Ordering::SeqCst);
        return;
    }
    // Tell the engine we are up (ignore failure: the engine then gives up on us and EOF comes).
    let mut out = io::stdout();
    let _ = out.write_all(READY).and_then(|()| out.flush());
    // SAFETY: fd 0 stays open for the life of the process; it is only borrowed here.
    let stdin = unsafe { BorrowedFd::borrow_raw(libc::STDIN_FILENO) };
    watch(stdin, engine);
    std::process::exit(0);
}

/// Whether [`serve_if_requested`] was called in this process.
pub fn available() -> bool {
    CAPABLE.load(Ordering::SeqCst)
}

/// The guardian's loop: apply the `+PGID` / `-PGID` lines read from `input` until end-of-file
/// (or until the parent is no longer `engine`, when given), then SIGKILL every group still
/// registered. Malformed lines are ignored. Returns the groups it killed, in ascending order.
///
/// A `DMS` line sets a deadline `MS` milliseconds from when the guardian reads it (`D0`
/// removes it): when it passes with no newer `D` line, every registered group is SIGKILLed at
/// once and the guardian goes on watching. Engines sharing a database send it with each lease
/// renewal, so a step never outlives its engine's lease, even when the engine itself is
/// paused (SIGSTOP, a VM stall) and cannot act (docs/scale-out.md, "Fencing").
pub fn watch(input: BorrowedFd<'_>, engine: Option<libc::pid_t>) -> Vec<u32> {
    let mut groups: HashSet<u32> = HashSet::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = [0u8; 4096];
    let mut deadline: Option<std::time::Instant> = None;
    loop {
        if let Some(d) = deadline {
            if std::time::Instant::now() >= d {
                deadline = None;
                let mut due: Vec<u32> = groups.drain().collect();
                due.sort_unstable();
                for pgid in due {
                    super::process::kill_group(pgid, libc::SIGKILL);
                }
            }
        }
        if let Some(engine) = engine {
            let mut pfd = libc::pollfd {
                fd: input.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let wait = deadline.map_or(PARENT_POLL_MS, |d| {
                let left = d.saturating_duration_since(std::time::Instant::now());
                (left.as_millis() as i32)
                    .saturating_add(1)
                    .min(PARENT_POLL_MS)
            });
            // SAFETY: one valid pollfd; poll writes only its `revents`.
            let ready = unsafe { libc::poll(&mut pfd, 1, wait) };
            if ready == 0 {
                // SAFETY: getppid has no preconditions.
                if unsafe { libc::getppid() } != engine {
                    break;
                }
                continue;
            }
            if ready < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
        }
        // SAFETY: reading into a local buffer of the given length from a borrowed fd.
        let n = unsafe { libc::read(input.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            break;
        }
        if n == 0 {
            break;
        }
        pending.extend_from_slice(&buf[..n as usize]);
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            if let Some(ms) = pending[..end]
                .strip_prefix(b"D")
                .and_then(|d| std::str::from_utf8(d).ok())
                .and_then(|d| d.parse::<u64>().ok())
            {
                deadline = (ms > 0)
                    .then(|| std::time::Instant::now() + std::time::Duration::from_millis(ms));
            } else {
                apply(&pending[..end], &mut groups);
            }
            pending.drain(..=end);
        }
    }
    let mut killed: Vec<u32> = groups.into_iter().collect();
    killed.sort_unstable();
    for pgid in &killed {
        super::process::kill_group(*pgid, libc::SIGKILL);
    }
    killed
}

/// Apply one protocol line to the registered groups.
fn apply(line: &[u8], groups: &mut HashSet<u32>) {
    let Some((&sign, digits)) = line.split_first() else {
        return;
    };
    let Some(pgid) = std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse::<u32>().ok())
        .filter(|p| *p > 1 && *p <= i32::MAX as u32)
    else {
        return;
    };
    match sign {
        b'+' => {
            groups.insert(pgid);
        }
        b'-' => {
            groups.remove(&pgid);
        }
        _ => {}
    }
}

/// The engine's end: the running guardian and the pipe to it.
#[derive(Debug)]
pub struct Guardian {
    pipe: Mutex<Option<File>>,
    child: Mutex<Option<Child>>,
}

impl Guardian {
    /// Start a guardian by re-executing this binary; fails when the binary cannot serve as one
    /// ([`serve_if_requested`] was not called) or the guardian does not come up.
    pub fn start() -> io::Result<Guardian> {
        if !available() {
            return Err(io::Error::other(
                "this program does not call chainsched::runtime::serve_guardian_if_requested()",
            ));
        }
        let (read, write) = cloexec_pipe()?;
        let exe = if cfg!(target_os = "linux") {
            // Works even when the binary file was replaced or deleted since it started.
            std::path::PathBuf::from("/proc/self/exe")
        } else {
            std::env::current_exe()?
        };
        let mut cmd = Command::new(exe);
        {
            use std::os::unix::process::CommandExt;
            cmd.arg0("chainsched-guardian").process_group(0);
        }
        cmd.env(GUARDIAN_ENV, std::process::id().to_string())
            .stdin(Stdio::from(read))
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn()?;
        let ready = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no pipe from the guardian"))
            .and_then(|out| wait_ready(out, READY_TIMEOUT));
        if let Err(e) = ready {
            // Closing our end makes a guardian that did start exit; reap it either way.
            drop(write);
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
        Ok(Guardian {
            pipe: Mutex::new(Some(File::from(write))),
            child: Mutex::new(Some(child)),
        })
    }

    /// Register a step's process group: killed if the engine dies before [`Guardian::release`].
    pub fn register(&self, pgid: u32) -> io::Result<()> {
        self.send(b'+', pgid)
    }

    /// Forget a step's process group (its leader has been reaped).
    pub fn release(&self, pgid: u32) -> io::Result<()> {
        self.send(b'-', pgid)
    }

    /// Kill every registered group if no newer deadline arrives within `within` (see
    /// [`watch`]); `None` removes the deadline.
    pub fn set_deadline(&self, within: Option<Duration>) -> io::Result<()> {
        let ms = within.map_or(0, |d| (d.as_millis() as u64).max(1));
        self.send_line(format!("D{ms}\n"))
    }

    fn send(&self, sign: u8, pgid: u32) -> io::Result<()> {
        self.send_line(format!("{}{pgid}\n", sign as char))
    }

    fn send_line(&self, line: String) -> io::Result<()> {
        let mut pipe = self.pipe.lock().unwrap_or_else(|p| p.into_inner());
        match pipe.as_mut() {
            // One short write: atomic on a pipe (under PIPE_BUF), never interleaved.
            Some(f) => f.write_all(line.as_bytes()),
            None => Err(io::Error::other("the guardian was shut down")),
        }
    }

    /// The guardian's process id (for diagnostics and tests).
    pub fn pid(&self) -> Option<u32> {
        let child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        child.as_ref().map(Child::id)
    }
}

impl Drop for Guardian {
    fn drop(&mut self) {
        // End-of-file: the guardian kills what is still registered (nothing, after a clean
        // shutdown) and exits. Reap it off this thread so dropping never blocks.
        let pipe = self
            .pipe
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        drop(pipe);
        let child = self
            .child
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(mut child) = child {
            let spawned = std::thread::Builder::new()
                .name("chainsched-guardian-reaper".into())
                .spawn(move || {
                    let _ = child.wait();
                });
            if spawned.is_err() {
                tracing::debug!("cannot start a thread to reap the guardian; init will");
            }
        }
    }
}

/// A pipe whose both ends are close-on-exec (the read end is dup'ed onto the guardian's stdin,
/// which clears the flag there only).
fn cloexec_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 writes two fds into the array on success.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both fds were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Read the guardian's ready line within `timeout`.
fn wait_ready(out: std::process::ChildStdout, timeout: Duration) -> io::Result<()> {
    let deadline = std::time::Instant::now() + timeout;
    let mut out = out;
    let mut got = Vec::with_capacity(READY.len());
    let mut buf = [0u8; 64];
    while got.len() < READY.len() {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let mut pfd = libc::pollfd {
            fd: out.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = left.as_millis().min(i32::MAX as u128) as libc::c_int;
        // SAFETY: one valid pollfd; poll writes only its `revents`.
        let ready = unsafe { libc::poll(&mut pfd, 1, ms) };
        if ready < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if ready == 0 {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the guardian did not say it was ready",
            ));
        }
        let n = out.read(&mut buf)?;
        if n == 0 {
            return Err(io::Error::other("the guardian exited before it was ready"));
        }
        got.extend_from_slice(&buf[..n]);
    }
    if got.starts_with(READY) {
        Ok(())
    } else {
        Err(io::Error::other(
            "the guardian answered something unexpected",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;
    use std::os::unix::process::{CommandExt, ExitStatusExt};

    fn sleeper() -> Child {
        Command::new("sleep")
            .arg("60")
            .process_group(0)
            .spawn()
            .expect("sleep starts")
    }

    #[test]
    fn groups_still_registered_at_end_of_file_are_killed() {
        let mut kept = sleeper();
        let mut released = sleeper();
        let (read, write) = cloexec_pipe().expect("pipe");
        let mut w = File::from(write);
        let lines = format!(
            "+{}\n+{}\nnot a line\n+x\n-{}\n+",
            kept.id(),
            released.id(),
            released.id()
        );
        w.write_all(lines.as_bytes()).expect("write");
        drop(w);
        let killed = watch(read.as_fd(), None);
        assert_eq!(killed, vec![kept.id()]);
        let status = kept.wait().expect("wait");
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        // The released group was left alone.
        assert!(released.try_wait().expect("try_wait").is_none());
        let _ = released.kill();
        let _ = released.wait();
    }

    #[test]
    fn apply_ignores_malformed_and_dangerous_lines() {
        let mut g = HashSet::new();
        for line in ["", "+", "+0", "+1", "+-5", "*12", "+99999999999", "+12 "] {
            apply(line.as_bytes(), &mut g);
        }
        assert!(g.is_empty(), "{g:?}");
        apply(b"+12", &mut g);
        apply(b"-13", &mut g);
        assert_eq!(g.into_iter().collect::<Vec<_>>(), vec![12]);
    }

    #[test]
    fn a_binary_that_did_not_opt_in_gets_no_guardian() {
        // The test harness's main does not call serve_if_requested.
        assert!(!available());
        assert!(Guardian::start().is_err());
    }
}
