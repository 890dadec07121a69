//! Spawns step processes from one dedicated, long-lived thread per engine.
//!
//! Why a thread: a step process must not outlive the engine, so each child asks the kernel for
//! SIGKILL when its parent dies (`PR_SET_PDEATHSIG`). Linux ties that signal to the *thread*
//! that forked, not the process: a child forked from a short-lived thread (tokio's blocking
//! pool) would be killed when that thread retires. Forking from this thread, which lives exactly
//! as long as the engine, makes "parent died" mean "the engine is gone" — including when the
//! engine is dropped. (Grandchildren do not inherit the setting: stopping kills the whole process
//! group, and recovery kills the stored process groups of steps that were running.)
//!
//! The thread enters the engine's tokio runtime so the children are `tokio::process::Child`ren
//! reaped by that runtime.

use std::io;
use std::sync::mpsc;
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

type Request = (Command, oneshot::Sender<io::Result<Child>>);

#[derive(Clone, Debug)]
pub struct Launcher {
    tx: mpsc::Sender<Request>,
}

impl Launcher {
    /// Start the launcher thread, bound to the current tokio runtime. The thread ends when the
    /// last clone of the launcher is dropped.
    pub fn start() -> io::Result<Launcher> {
        let handle = tokio::runtime::Handle::current();
        let (tx, rx) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("chainsched-launcher".into())
            .spawn(move || {
                let _guard = handle.enter();
                while let Ok((mut cmd, reply)) = rx.recv() {
                    let _ = reply.send(cmd.spawn());
                }
            })?;
        Ok(Launcher { tx })
    }

    /// Spawn `cmd` from the launcher thread.
    pub async fn spawn(&self, cmd: Command) -> io::Result<Child> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send((cmd, reply))
            .map_err(|_| io::Error::other("the engine's launcher thread has stopped"))?;
        rx.await
            .map_err(|_| io::Error::other("the engine's launcher thread has stopped"))?
    }
}

/// Prepare `cmd` so that the child gets its own process group (stopping it kills the whole
/// tree) and SIGKILL when the launcher thread (the engine) goes away.
pub fn isolate(cmd: &mut Command) {
    // SAFETY: `pre_exec` runs in the forked child before exec; the closure calls only
    // async-signal-safe functions (setpgid, prctl, getppid, _exit) and allocates nothing.
    let parent = unsafe { libc::getpid() };
    unsafe {
        cmd.pre_exec(move || {
            if libc::setpgid(0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            #[cfg(target_os = "linux")]
            {
                if libc::prctl(
                    libc::PR_SET_PDEATHSIG,
                    libc::SIGKILL as libc::c_ulong,
                    0,
                    0,
                    0,
                ) != 0
                {
                    return Err(io::Error::last_os_error());
                }
                // The engine may have died between fork and prctl: then nobody would kill us.
                if libc::getppid() != parent {
                    libc::_exit(137);
                }
            }
            Ok(())
        });
    }
}
