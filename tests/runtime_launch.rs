//! Step launches through the binary: a step runs in its own process group, the engine has a
//! guardian process, and when `chainsched run` is killed with SIGKILL the step's whole process
//! group (leader and grandchild) and the guardian are gone shortly after — not only at the next
//! open of the store.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_chainsched");

/// A process's state letter, parent pid and process group, from /proc/PID/stat.
fn stat(pid: u32) -> Option<(char, u32, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; the fields after it are plain.
    let rest = text.rsplit_once(')')?.1;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some((state, ppid, pgrp))
}

/// Whether a process exists and is not a zombie.
fn alive(pid: u32) -> bool {
    stat(pid).is_some_and(|(state, _, _)| state != 'Z')
}

/// Live (non-zombie) processes of the process group `pgid`.
fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| matches!(stat(*pid), Some((s, _, g)) if g == pgid && s != 'Z'))
        .collect()
}

/// Children of `parent` whose command line starts with `name`.
fn children_named(parent: u32, name: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| matches!(stat(*pid), Some((_, p, _)) if p == parent))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.starts_with(name.as_bytes()))
        })
        .collect()
}

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[test]
fn a_killed_engine_takes_its_steps_whole_process_group_down() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().display();
    // The grandchild's pid is written first; the leader's appears (atomically) after it.
    let rules = format!(
        "program LONG {{ shell 'sleep 300 & echo $! > {d}/gc.pid; echo $$ > {d}/leader.tmp; mv {d}/leader.tmp {d}/leader.pid; wait'; }}
chain C {{
  step S program LONG;
  rule R1 when TRUE then START S;
  rule R2 when S COMPLETED then END;
}}
"
    );
    let (mut engine, leader) = run_until_pid_file(tmp.path(), &rules, "leader.pid");
    let engine_pid = engine.id();
    let grandchild = read_pid(&tmp.path().join("gc.pid")).expect("grandchild pid written");

    // The step leads its own group, the grandchild is in it, the engine is not.
    let (_, leader_parent, leader_group) = stat(leader).expect("leader runs");
    assert_eq!(leader_parent, engine_pid, "the step is the engine's child");
    assert_eq!(leader_group, leader, "the step leads its own process group");
    assert_eq!(stat(grandchild).map(|s| s.2), Some(leader));
    assert_ne!(stat(engine_pid).map(|s| s.2), Some(leader));
    // The engine started its guardian (the fast launch path is in use).
    let guardians = children_named(engine_pid, "chainsched-guardian");
    assert_eq!(guardians.len(), 1, "one guardian process: {guardians:?}");
    let guardian = guardians[0];

    engine.kill().unwrap(); // SIGKILL
    engine.wait().unwrap();

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = group_members(leader);
        let guardian_alive = alive(guardian);
        if left.is_empty() && !guardian_alive {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "after the engine was killed: group {leader} still has {left:?}, guardian alive: \
             {guardian_alive}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!alive(grandchild));
}

#[test]
fn a_timed_out_step_loses_its_whole_group_and_the_guardian_leaves_with_the_engine() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().display();
    let rules = format!(
        "program LONG {{ shell 'sleep 300 & echo $! > {d}/gc.tmp; mv {d}/gc.tmp {d}/gc.pid; wait'; timeout 2s; }}
chain C {{
  step S program LONG;
  rule R1 when TRUE then START S;
  rule R2 when S COMPLETED then END S.ERROR_CODE;
}}
"
    );
    let (mut engine, grandchild) = run_until_pid_file(tmp.path(), &rules, "gc.pid");
    let engine_pid = engine.id();
    let guardians = children_named(engine_pid, "chainsched-guardian");
    assert_eq!(guardians.len(), 1, "one guardian process: {guardians:?}");

    let status = engine.wait().unwrap();
    assert_eq!(status.code(), Some(1), "the job ends FAILED (timeout)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(grandchild) || alive(guardians[0]) {
        assert!(
            Instant::now() < deadline,
            "after the run: grandchild alive {}, guardian alive {}",
            alive(grandchild),
            alive(guardians[0])
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Start `chainsched run` on `rules` (chain C, a store in `dir`) and wait until its step has
/// written its pid to `dir/pid_file`: the engine process and that pid.
fn run_until_pid_file(dir: &Path, rules: &str, pid_file: &str) -> (std::process::Child, u32) {
    let file = dir.join("rules.chain");
    std::fs::write(&file, rules).unwrap();
    let mut engine = Command::new(BIN)
        .arg("run")
        .arg(&file)
        .args(["--chain", "C", "--db"])
        .arg(dir.join("db"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(p) = read_pid(&dir.join(pid_file)) {
            return (engine, p);
        }
        if let Some(status) = engine.try_wait().unwrap() {
            panic!("chainsched run ended before its step started: {status}");
        }
        assert!(Instant::now() < deadline, "the step never started");
        std::thread::sleep(Duration::from_millis(10));
    }
}
