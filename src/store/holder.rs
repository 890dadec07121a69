//! Who holds a store folder, and how to reach it while it does.
//!
//! Why: only one process can open a sled store folder (sled locks `<folder>/db`). A second
//! process used to fail with a raw `Os { code: 11, kind: WouldBlock }`, which said neither who
//! held the store nor what to do, and a `chainsched run` waiting for an event could not be sent
//! the event at all (`event --db` was refused). Now:
//!
//! * every process that opens a folder writes `<folder>/chainsched.holder` (JSON: pid, command
//!   line, since when; readable by its owner only), and removes it when it closes the store;
//! * a process that serves the HTTP API for that store (`run` and `resume` on a loopback port
//!   with a token of their own, `serve` on its address) adds `control` (URL and token) to it, so
//!   `--db` control commands and views find it and send their request there instead of opening
//!   the store (`crate::cli::control`, `crate::cli::views`);
//! * the error for a held store names the holder — from the file, else from `/proc` (the process
//!   with `<folder>/db` open) — and what to do ([`busy_message`]).
//!
//! A holder file left by a process that died is ignored (its pid is gone, or is not a process
//! holding the store) and replaced by the next process that opens the folder.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file's name inside the store folder.
pub const FILE: &str = "chainsched.holder";

/// How to send requests to the process holding the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Control {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The bearer token for changes (`None`: the service needs none).
    pub token: Option<String>,
}

/// The holder file's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    /// The command line, shortened.
    pub command: String,
    /// Unix milliseconds.
    pub since: u64,
    #[serde(default)]
    pub control: Option<Control>,
}

fn file(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

fn command_line() -> String {
    let mut words: Vec<String> = std::env::args().collect();
    if let Some(first) = words.first_mut() {
        if let Some(name) = Path::new(first.as_str()).file_name() {
            *first = name.to_string_lossy().into_owned();
        }
    }
    let line = words.join(" ");
    match line.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn write(dir: &Path, holder: &Holder) {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let Ok(text) = serde_json::to_vec(holder) else {
        return;
    };
    // Written whole to a temporary file, then renamed: a reader never sees half of it. Mode
    // 0600: the control token is in it.
    let tmp = dir.join(format!("{FILE}.{}.tmp", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(&text))
        .and_then(|()| std::fs::rename(&tmp, file(dir)));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        tracing::debug!("cannot write {}: {e}", file(dir).display());
    }
}

/// Record this process as the holder of the store folder `dir` (best effort: a folder that
/// cannot hold the file still works, its busy errors just name the holder from `/proc`).
pub fn claim(dir: &Path) {
    write(
        dir,
        &Holder {
            pid: std::process::id(),
            command: command_line(),
            since: now_ms(),
            control: None,
        },
    );
}

/// Say where this process serves the API for the store folder `dir`.
pub fn publish_control(dir: &Path, control: Control) {
    let mut holder = read(dir)
        .filter(|h| h.pid == std::process::id())
        .unwrap_or_else(|| Holder {
            pid: std::process::id(),
            command: command_line(),
            since: now_ms(),
            control: None,
        });
    holder.control = Some(control);
    write(dir, &holder);
}

/// Remove the holder file if it is this process's.
pub fn release(dir: &Path) {
    if read(dir).is_some_and(|h| h.pid == std::process::id()) {
        let _ = std::fs::remove_file(file(dir));
    }
}

fn read(dir: &Path) -> Option<Holder> {
    let text = std::fs::read(file(dir)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Whether `pid` is a live process (signal 0: it exists; EPERM: it exists, not ours).
fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill with signal 0 sends nothing; it only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// The holder of the store folder `dir`, if a live process other than this one holds it. Where
/// `/proc` tells, the process must have `<dir>/db` open (a pid reused by another program after
/// the holder died is not taken for it).
pub fn live_holder(dir: &Path) -> Option<Holder> {
    read(dir).filter(|h| {
        h.pid != std::process::id() && alive(h.pid) && holds_db(h.pid, dir).unwrap_or(true)
    })
}

/// Whether process `pid` has `<dir>/db` open (`None`: `/proc` cannot tell).
fn holds_db(pid: u32, dir: &Path) -> Option<bool> {
    let target = std::fs::canonicalize(dir.join("db")).ok()?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    Some(
        fds.flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l == target)),
    )
}

/// Where to send requests for the store folder `dir`, when a live process serves it.
pub fn live_control(dir: &Path) -> Option<Control> {
    live_holder(dir).and_then(|h| h.control)
}

/// The process that has `<dir>/db` open, from `/proc` (Linux; processes of the same user).
fn pid_from_proc(dir: &Path) -> Option<(u32, String)> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() || holds_db(pid, dir) != Some(true) {
            continue;
        }
        let cmd = std::fs::read(entry.path().join("cmdline"))
            .map(|b| {
                String::from_utf8_lossy(&b)
                    .split('\0')
                    .filter(|w| !w.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        return Some((pid, cmd));
    }
    None
}

/// The sentence for a store folder another process holds: who, and what to do.
pub fn busy_message(dir: &Path) -> String {
    let shown = dir.display();
    let (who, pid) = match live_holder(dir) {
        Some(h) => {
            let since = crate::views::time::rfc3339(h.since);
            (
                format!(
                    "it is in use by process {} (`{}`, since {since})",
                    h.pid, h.command
                ),
                Some(h.pid),
            )
        }
        None => match pid_from_proc(dir) {
            Some((pid, cmd)) if !cmd.is_empty() => (
                format!("it is in use by process {pid} (`{cmd}`)"),
                Some(pid),
            ),
            Some((pid, _)) => (format!("it is in use by process {pid}"), Some(pid)),
            None => ("it is in use by another process".to_string(), None),
        },
    };
    let stop = match pid {
        Some(pid) => format!("stop it (Ctrl-C where it runs, or `kill -TERM {pid}`)"),
        None => "stop it".to_string(),
    };
    format!(
        "{who}. Only one process can open a store folder at a time: wait for that process to \
         end, or {stop}. (`chainsched serve`, `run` and `resume` take the control commands and \
         views given --db {shown} themselves, while they run.)"
    )
}
