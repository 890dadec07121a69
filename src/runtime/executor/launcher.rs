//! Starts step processes so that each runs in its own process group (stopping or timing out a
//! step kills its whole tree) and none outlives the engine.
//!
//! Two ways, chosen once per engine by [`Launcher::start`]:
//!
//! * **Guarded** (the `chainsched` binary, and embedders whose `main` calls
//!   `chainsched::runtime::serve_guardian_if_requested()`): the child is started with
//!   `process_group(0)` and nothing else, which keeps std's `posix_spawn` path (a vfork that
//!   borrows the engine's memory until exec), so a step costs what `posix_spawn` costs however
//!   large the engine is. The new group is registered with the engine's guardian process
//!   (`guardian.rs`), which SIGKILLs every registered group if the engine dies. The spawn and
//!   the registration happen on one thread with nothing in between that can wait, so the window
//!   in which an engine crash leaves a step unguarded is a few instructions wide; a step that
//!   escaped through it carries the store's id in its environment and is killed by the next
//!   engine that opens the store, before anything restarts (recovery.rs `kill_strays`).
//!
//! * **Forking** (fallback, when no guardian can start): each child runs a `pre_exec` hook that
//!   calls `setpgid` and asks for SIGKILL when its parent dies (`PR_SET_PDEATHSIG`). The hook
//!   forces a full fork of the engine per step. Linux ties that signal to the *thread* that
//!   forked, so the forks happen on one dedicated thread that lives exactly as long as the
//!   launcher (tokio's blocking pool retires idle threads, which would kill their children). Only
//!   the step's leader gets the signal; the rest of its group is killed by the next engine on the
//!   store. The launcher also falls back to this way for later steps if the guardian is lost.
//!
//! Children are `tokio::process::Child`ren reaped by the engine's tokio runtime.

use super::guardian::Guardian;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

type Request = (Command, oneshot::Sender<io::Result<Child>>);

/// Starts step processes (see the module docs). Cheap to clone; the guardian and the launcher
/// thread end when the last clone is dropped.
#[derive(Clone, Debug)]
pub struct Launcher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    guardian: Option<Guardian>,
    /// Set when writing to the guardian failed: later steps are forked.
    guardian_lost: AtomicBool,
    /// The forking thread, started on first use.
    forker: Mutex<Option<mpsc::Sender<Request>>>,
}

impl Launcher {
    /// Start a launcher: with a guardian process when this binary can provide one, otherwise
    /// forking (said in a log line). Must be called inside a tokio runtime.
    pub fn start() -> io::Result<Launcher> {
        let guardian = if super::guardian::available() {
            match Guardian::start() {
                Ok(g) => Some(g),
                Err(e) => {
                    tracing::warn!(
                        "cannot start the step guardian process ({e}); step processes will be \
                         forked from the engine (slower)"
                    );
                    None
                }
            }
        } else {
            tracing::info!(
                "step processes are forked from the engine; call \
                 chainsched::runtime::serve_guardian_if_requested() first in main for faster \
                 launches"
            );
            None
        };
        let launcher = Launcher {
            inner: Arc::new(Inner {
                guardian,
                guardian_lost: AtomicBool::new(false),
                forker: Mutex::new(None),
            }),
        };
        if launcher.inner.guardian.is_none() {
            // Start the forking thread now, bound to the caller's runtime.
            launcher.forker()?;
        }
        Ok(launcher)
    }

    /// Have the guardian kill every step process group unless a newer deadline arrives
    /// within `within` (`None`: no deadline). Engines sharing a database call it with each
    /// lease renewal. Returns `false` when there is no guardian to enforce it (steps are
    /// forked; the caller must then not rely on it).
    pub fn set_deadline(&self, within: Option<std::time::Duration>) -> bool {
        match self.guardian() {
            Some(g) => g.set_deadline(within).is_ok(),
            None => false,
        }
    }

    /// Whether steps are started with `posix_spawn` under a guardian (not forked).
    pub fn guarded(&self) -> bool {
        self.guardian().is_some()
    }

    /// The guardian process's id, when there is one.
    pub fn guardian_pid(&self) -> Option<u32> {
        self.guardian().and_then(Guardian::pid)
    }

    fn guardian(&self) -> Option<&Guardian> {
        if self.inner.guardian_lost.load(Ordering::SeqCst) {
            return None;
        }
        self.inner.guardian.as_ref()
    }

    /// Start `cmd` as a step process in its own process group (whose id is the child's pid).
    /// Once the child has been reaped, call [`Launcher::release`] with that id.
    pub async fn spawn(&self, mut cmd: Command) -> io::Result<Child> {
        if let Some(guardian) = self.guardian() {
            cmd.process_group(0);
            // No await between the spawn and the registration (see the module docs).
            let child = cmd.spawn()?;
            if let Some(pgid) = child.id() {
                if let Err(e) = guardian.register(pgid) {
                    self.inner.guardian_lost.store(true, Ordering::SeqCst);
                    tracing::warn!(
                        "the step guardian process is gone ({e}); step processes will be forked \
                         from the engine from now on"
                    );
                }
            }
            return Ok(child);
        }
        isolate(&mut cmd);
        let (reply, rx) = oneshot::channel();
        self.forker()?
            .send((cmd, reply))
            .map_err(|_| io::Error::other("the engine's launcher thread has stopped"))?;
        rx.await
            .map_err(|_| io::Error::other("the engine's launcher thread has stopped"))?
    }

    /// The step process with this group id has been reaped (and its group killed if it was
    /// stopped): the guardian forgets it, so a later process reusing the id is never touched.
    pub fn release(&self, pgid: u32) {
        if let Some(guardian) = self.guardian() {
            // A lost guardian guards nothing; the next spawn notices and says so.
            let _ = guardian.release(pgid);
        }
    }

    fn forker(&self) -> io::Result<mpsc::Sender<Request>> {
        let mut forker = self.inner.forker.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = forker.as_ref() {
            return Ok(tx.clone());
        }
        let handle = tokio::runtime::Handle::try_current().map_err(io::Error::other)?;
        let (tx, rx) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("chainsched-launcher".into())
            .spawn(move || {
                let _guard = handle.enter();
                while let Ok((mut cmd, reply)) = rx.recv() {
                    let _ = reply.send(cmd.spawn());
                }
            })?;
        *forker = Some(tx.clone());
        Ok(tx)
    }
}

/// Prepare `cmd` for the forking way: the child gets its own process group and SIGKILL when
/// the launcher thread (the engine) goes away.
fn isolate(cmd: &mut Command) {
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
