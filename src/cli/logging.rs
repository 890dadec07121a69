//! Diagnostic log lines on stderr (the `tracing` subscriber of every command).
//!
//! Why a module of its own: three things the stock `fmt()` subscriber gets wrong for a tool
//! people pipe into `head`, run under systemd, or read on a terminal.
//!
//! * **A closed stderr must not stop the engine.** tracing-subscriber reports a failed write
//!   with `eprintln!`, which panics when stderr is a closed pipe; the panic happened inside the
//!   engine's actor (a `debug!` while recording a turn), the actor task died, and
//!   `CHAINSCHED_LOG=debug chainsched run … 2>&1 | head -5` waited for ever. [`StderrLines`]
//!   writes each event as one `write_all` on locked stderr and drops it when the write fails;
//!   after a broken pipe it drops every later line without trying. Internal error reports are
//!   off.
//! * **Colours only for a person.** ANSI escapes are used only when stderr is a terminal and
//!   `NO_COLOR` is unset or empty (<https://no-color.org>); a file, a pipe or journald gets
//!   plain text.
//! * **Times are RFC 3339** (UTC, microseconds) in text and JSON lines, and fields that hold an
//!   instant are written with `views::time::rfc3339` (the scheduler's `due`, `next_run`)
//!   rather than as epoch milliseconds.

use super::LogFormat;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Whether output to a stream that `is_terminal` may carry ANSI colours: a terminal, and
/// `NO_COLOR` unset or empty.
pub fn colour_allowed(is_terminal: bool) -> bool {
    colour_allowed_with(is_terminal, std::env::var_os("NO_COLOR").as_deref())
}

/// [`colour_allowed`] with the value of NO_COLOR given.
fn colour_allowed_with(is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    is_terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Whether stderr may carry colours (logs, `check` diagnostics printed there).
pub fn stderr_colour() -> bool {
    colour_allowed(std::io::stderr().is_terminal())
}

/// Whether stdout may carry colours.
pub fn stdout_colour() -> bool {
    colour_allowed(std::io::stdout().is_terminal())
}

/// The `MakeWriter` of the log: stderr, one event per write, never an error.
#[derive(Clone, Default)]
pub struct StderrLines {
    closed: Arc<AtomicBool>,
}

/// One event's writer (see [`StderrLines`]).
pub struct StderrLine {
    closed: Arc<AtomicBool>,
}

impl Write for StderrLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    /// The whole event at once (tracing formats it into one buffer first), so lines of
    /// several threads never interleave. A failed write drops the event.
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if self.closed.load(Ordering::Relaxed) {
            return Ok(());
        }
        if let Err(e) = std::io::stderr().lock().write_all(buf) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                self.closed.store(true, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for StderrLines {
    type Writer = StderrLine;

    fn make_writer(&'a self) -> StderrLine {
        StderrLine {
            closed: self.closed.clone(),
        }
    }
}

/// Install the tracing subscriber (stderr) once per process. A bad CHAINSCHED_LOG filter
/// falls back to the default level instead of failing the command.
pub fn init(format: LogFormat, default_level: &str) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("CHAINSCHED_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(StderrLines::default())
        .log_internal_errors(false);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(stderr_colour()).try_init(),
        LogFormat::Json => builder.with_ansi(false).json().try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_only_on_a_terminal_without_no_color() {
        use std::ffi::OsStr;
        assert!(colour_allowed_with(true, None));
        assert!(colour_allowed_with(true, Some(OsStr::new(""))));
        assert!(!colour_allowed_with(true, Some(OsStr::new("1"))));
        assert!(!colour_allowed_with(false, None));
    }
}
