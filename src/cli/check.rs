//! `chainsched check PATH...`: parse and validate rule files or folders.
//!
//! Text output is one rendered diagnostic per problem (file:line:column, the source line, a
//! caret, what was expected, the nearest name) and a summary line; `--format json` is the stable
//! schema documented in docs/diagnostics.md. Exit 0 when clean or only warnings, 1 on errors
//! (or on warnings with `--deny-warnings`), 2 when a path does not exist (bad usage).

use crate::catalog::{load_paths, Loaded};
use crate::lang::diagnostic::{render_text_styled, DiagnosticJson};
use serde::Serialize;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Rule files (*.chain) or folders.
    #[arg(required = true)]
    pub paths: Vec<std::path::PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: CheckFormat,
    /// Exit 1 when there are warnings.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Colours in the text report: `auto` when standard output is a terminal and NO_COLOR is
    /// unset or empty.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckFormat {
    Text,
    Json,
}

/// The `--format json` document (schema version 1).
#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub version: u32,
    pub diagnostics: Vec<DiagnosticJson>,
    pub summary: CheckSummary,
}

#[derive(Debug, Serialize)]
pub struct CheckSummary {
    pub errors: usize,
    pub warnings: usize,
    pub files: usize,
}

impl CheckReport {
    pub fn new(loaded: &Loaded) -> Self {
        CheckReport {
            version: 1,
            diagnostics: loaded
                .diagnostics
                .iter()
                .map(|d| DiagnosticJson::new(d, &loaded.sources))
                .collect(),
            summary: CheckSummary {
                errors: loaded.error_count(),
                warnings: loaded.warning_count(),
                files: loaded.sources.files.len(),
            },
        }
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The human form: every diagnostic, then one summary line.
pub fn render_report(loaded: &Loaded) -> String {
    render_report_styled(loaded, false)
}

/// [`render_report`], in colour when `colour`.
pub fn render_report_styled(loaded: &Loaded, colour: bool) -> String {
    let mut out = String::new();
    for d in &loaded.diagnostics {
        out.push_str(&render_text_styled(d, &loaded.sources, colour));
        out.push('\n');
    }
    let (errors, warnings) = (loaded.error_count(), loaded.warning_count());
    match &loaded.catalog {
        Some(c) if errors == 0 => {
            out.push_str(&format!(
                "ok: {}, {}",
                plural(c.chains.len(), "chain"),
                plural(c.programs.len(), "program")
            ));
            if warnings > 0 {
                out.push_str(&format!(", {}", plural(warnings, "warning")));
            }
        }
        _ => out.push_str(&format!(
            "{}, {}",
            plural(errors, "error"),
            plural(warnings, "warning")
        )),
    }
    out.push('\n');
    out
}

pub fn run(args: CheckArgs) -> i32 {
    for p in &args.paths {
        if !p.exists() {
            errln!("error: {}: no such file or folder", p.display());
            return 2;
        }
    }
    let loaded = load_paths(&args.paths);
    match args.format {
        CheckFormat::Text => {
            let colour = match args.color {
                ColorChoice::Auto => super::logging::stdout_colour(),
                ColorChoice::Always => true,
                ColorChoice::Never => false,
            };
            write_stdout(&render_report_styled(&loaded, colour))
        }
        CheckFormat::Json => match serde_json::to_string_pretty(&CheckReport::new(&loaded)) {
            Ok(s) => write_stdout(&format!("{s}\n")),
            Err(e) => {
                errln!("error: cannot write the report as JSON: {e}");
                return 1;
            }
        },
    }
    if loaded.error_count() > 0 || (args.deny_warnings && loaded.warning_count() > 0) {
        1
    } else {
        0
    }
}

/// Print to standard output; a closed pipe (`| head`) is not an error worth a panic.
fn write_stdout(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
}
