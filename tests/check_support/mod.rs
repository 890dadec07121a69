//! Shared helpers for the `check` and `graph` tests: run the real binary from the package
//! root (so fixture paths in outputs are the relative paths a user would type).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Run `chainsched ARGS...` in the package root.
pub fn chainsched(args: &[&str]) -> Run {
    chainsched_in(&root(), args)
}

/// Run `chainsched ARGS...` in `dir`.
pub fn chainsched_in(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_chainsched"))
        .args(args)
        .current_dir(dir)
        .env_remove("CHAINSCHED_SERVER")
        .output()
        .expect("the chainsched binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `check --format json` parsed.
pub fn check_json(args: &[&str]) -> (i32, serde_json::Value) {
    let mut all = vec!["check", "--format", "json"];
    all.extend_from_slice(args);
    let r = chainsched(&all);
    let v = serde_json::from_str(&r.stdout).unwrap_or_else(|e| {
        panic!(
            "check --format json printed invalid JSON ({e}):\n{}",
            r.stdout
        )
    });
    (r.code, v)
}

/// The codes of the diagnostics in a `check --format json` report.
pub fn codes(report: &serde_json::Value) -> Vec<String> {
    report["diagnostics"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|d| d["code"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The `-- expect: CODE` header of a bad fixture.
pub fn expected_code(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let first = text.lines().next()?;
    first
        .trim()
        .strip_prefix("--")?
        .trim()
        .strip_prefix("expect:")
        .map(|c| c.trim().to_string())
}

/// Every `fixtures/bad/*.chain`, sorted.
pub fn bad_fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures/bad"))
        .expect("fixtures/bad exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "chain"))
        .collect();
    files.sort();
    files
}
