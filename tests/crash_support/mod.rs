//! The crash harness's rule file, marker file and kill helper, shared by tests/crash_recovery.rs
//! (sled) and tests/store_pg.rs (PostgreSQL).
//!
//! Each step is a shell program that appends `start X` / `end X` to a marker file and holds an
//! exclusive `flock` while it runs (a second run of the same step while one is still alive
//! writes `OVERLAP X`).

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

fn step_program(name: &str, dir: &Path, nap: &str) -> String {
    let d = dir.display();
    format!(
        "program P_{name} {{ shell 'exec 9>>{d}/{name}.lock; flock -n 9 || echo \"OVERLAP {name}\" >> {d}/marks; echo \"start {name}\" >> {d}/marks; sleep {nap}; echo \"end {name}\" >> {d}/marks'; }}\n"
    )
}

/// A → (B, C) → AFTER 1 s → D → END. `with` is the attribute list of every step.
pub fn chain_file(dir: &Path, with: &str, job_def: &str) -> PathBuf {
    let mut text = String::new();
    for s in ["A", "B", "C", "D"] {
        text.push_str(&step_program(s, dir, "0.2"));
    }
    text.push_str(&format!(
        "chain CR {{
  step A program P_A {with};
  step B program P_B {with};
  step C program P_C {with};
  step D program P_D {with};
  rule R1 when TRUE then START A;
  rule R2 when A SUCCEEDED then START B, C;
  rule R3 when B SUCCEEDED AND C SUCCEEDED then AFTER 00:00:01 START D;
  rule R4 when D SUCCEEDED then END;
  rule R5 when A STOPPED OR B STOPPED OR C STOPPED OR D STOPPED then END 3;
  rule R6 when A FAILED OR B FAILED OR C FAILED OR D FAILED then END 4;
}}
{job_def}"
    ));
    let path = dir.join("cr.chain");
    std::fs::write(&path, text).unwrap();
    path
}

pub fn marks(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("marks"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Wait until the marker file has `lines` lines (or the run ended), then `delay`, then SIGKILL.
pub fn kill_at(child: &mut Child, dir: &Path, lines: usize, delay: Duration) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while marks(dir).len() < lines {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the run never reached {lines} marks"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(delay);
    let _ = child.kill();
    let _ = child.wait();
}
