//! `chainsched test PATH...`: unit tests for rule files.
//!
//! Finds every `*.scenario.toml` under the given files/folders (recursively), runs those that
//! carry `[expect]` tables with the rules named by their `[settings] rules` (default: the
//! `*.chain` files next to the scenario), and reports like a test runner: `ok` or `FAILED` per
//! scenario with expected vs actual for each mismatch, then `N passed, M failed`.
//! Exit 0 when all pass, 1 when any fails (or none was found), 2 for bad usage.

use crate::sim::{check_expectations, run_file, Scenario};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Scenario files or folders (searched for *.scenario.toml).
    #[arg(required = true)]
    pub paths: Vec<std::path::PathBuf>,
}

/// Scenario files under `paths`: files given by name are taken as they are, folders are
/// searched recursively for `*.scenario.toml`. Sorted, without duplicates.
pub fn find_scenarios(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out)?;
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(format!("{}: no such file or folder", p.display()));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: cannot list the folder: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".scenario.toml"))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// The outcome of one scenario.
enum Verdict {
    Pass,
    Fail(Vec<String>),
    Skip,
}

fn run_one(path: &Path) -> Verdict {
    match Scenario::load(path) {
        Ok(s) if s.expect.is_none() => return Verdict::Skip,
        Ok(_) => {}
        Err(e) => return Verdict::Fail(vec![e.to_string()]),
    }
    match run_file(path, None) {
        Err(message) => Verdict::Fail(vec![message.trim_end().to_string()]),
        Ok(session) => {
            let Some(expect) = &session.scenario.expect else {
                return Verdict::Skip;
            };
            let mismatches = check_expectations(expect, &session.result, &session.catalog);
            if mismatches.is_empty() {
                Verdict::Pass
            } else {
                let mut lines: Vec<String> = mismatches.iter().map(|m| m.to_string()).collect();
                lines.extend(session.result.notes.iter().map(|n| format!("note: {n}")));
                Verdict::Fail(lines)
            }
        }
    }
}

pub fn run(args: TestArgs) -> i32 {
    let files = match find_scenarios(&args.paths) {
        Ok(f) => f,
        Err(e) => {
            errln!("{e}");
            return 1;
        }
    };
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for f in &files {
        match run_one(f) {
            Verdict::Pass => {
                passed += 1;
                outln!("ok      {}", f.display());
            }
            Verdict::Skip => skipped += 1,
            Verdict::Fail(lines) => {
                failed += 1;
                outln!("FAILED  {}", f.display());
                for l in lines {
                    for part in l.lines() {
                        outln!("        {part}");
                    }
                }
            }
        }
    }
    if passed + failed == 0 {
        errln!(
            "no scenario with [expect] tables found in {}{}",
            args.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            if skipped > 0 {
                format!(" ({skipped} without [expect])")
            } else {
                String::new()
            }
        );
        return 1;
    }
    outln!();
    outln!("{passed} passed, {failed} failed");
    if skipped > 0 {
        outln!("({skipped} scenario files without [expect] not run)");
    }
    if failed == 0 {
        0
    } else {
        1
    }
}
