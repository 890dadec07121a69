//! Recovery on every open of an existing store (docs/durability.md, "Recovery").
//!
//! Before the engine actor starts: every unfinished job is rebuilt in the core from its records
//! (`jh/`, `ji/`, `js/`: the job, its chain instances, its steps) and the chain definitions it
//! runs (`jdef/`), its stored timers are collected to be re-armed at their absolute due times,
//! and the process groups of steps that were running are collected to be killed (a crashed
//! engine's steps normally died with it, killed by its guardian process; what escaped — a
//! step spawned in the instant before the crash, the children of a forked step — is killed
//! here). The actor then calls `Core::recover_job` for each job: RUNNING steps with
//! `restart_on_recovery` run again (RECOVERY_RUN), other RUNNING steps become STOPPED,
//! `restartable` jobs start over, and the rules are evaluated. Those effects are persisted and
//! acted on like any others.

use super::actor::RecoveryWork;
use super::executor::process::kill_group;
use crate::core::Core;
use crate::core::JobDefinitions;
use crate::store::{ChainStore, LivePid, StoreError};

/// What recovery did, for the caller to report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Jobs reloaded and recovered.
    pub recovered: Vec<String>,
    /// Jobs that could not be reloaded (corrupt snapshot, or the core refused it), with why.
    /// They are left in the store untouched.
    pub failed: Vec<(String, String)>,
}

pub(crate) fn prepare(
    store: &ChainStore,
    core: &mut Core,
) -> Result<(RecoveryWork, RecoveryReport), StoreError> {
    let mut work = RecoveryWork::default();
    let mut report = RecoveryReport::default();
    for job in store.unfinished_jobs()? {
        let restored = store
            .job_records(&job)
            .map_err(|e| format!("its stored state cannot be read: {e}"))
            .and_then(|records| {
                let defs = definitions(store, &job)?;
                core.restore_from_records(records, defs)
                    .map_err(|e| e.to_string())
            });
        if let Err(why) = restored {
            tracing::error!("job {job} cannot be recovered: {why}");
            report.failed.push((job, why));
            continue;
        }
        work.timers.extend(store.timers(&job)?);
        report.recovered.push(job.clone());
        work.jobs.push(job);
    }
    work.leftover_pids = store.all_live_pids()?;
    Ok((work, report))
}

/// Rebuild one unfinished job in the core from its records (a job taken over from another
/// engine); returns its stored timers, to be re-armed.
pub(crate) fn prepare_job(
    store: &ChainStore,
    core: &mut Core,
    job: &str,
) -> Result<Vec<crate::store::TimerEntry>, String> {
    let records = store
        .job_records(job)
        .map_err(|e| format!("its stored state cannot be read: {e}"))?;
    let defs = definitions(store, job)?;
    core.restore_from_records(records, defs)
        .map_err(|e| e.to_string())?;
    store
        .timers(job)
        .map_err(|e| format!("its timers cannot be read: {e}"))
}

/// The chain definitions the job runs (`jdef/<job>`).
fn definitions(store: &ChainStore, job: &str) -> Result<JobDefinitions, String> {
    let json = store
        .definitions_json(job)
        .map_err(|e| format!("its chain definitions cannot be read: {e}"))?
        .ok_or("its chain definitions are missing from the store")?;
    serde_json::from_value(json)
        .map_err(|e| format!("its stored chain definitions cannot be read: {e}"))
}

/// Kill what is left of a step's process group from a previous engine. When a process with
/// that pid exists, it must carry the step's identity in its environment (the pid may have been
/// reused by an unrelated process).
pub(crate) fn kill_leftover(job: &str, subname: &str, pid: LivePid) {
    let proc_dir = format!("/proc/{}", pid.pid);
    if std::path::Path::new(&proc_dir).exists() {
        let Ok(env) = std::fs::read(format!("{proc_dir}/environ")) else {
            return;
        };
        let want_job = format!("CHAINSCHED_JOB_NAME={job}");
        let want_sub = format!("CHAINSCHED_JOB_SUBNAME={subname}");
        let vars: Vec<&[u8]> = env.split(|b| *b == 0).collect();
        let ours = vars.contains(&want_job.as_bytes()) && vars.contains(&want_sub.as_bytes());
        if !ours {
            return;
        }
    }
    kill_group(pid.pid, libc::SIGKILL);
}

/// Kill every process that carries this store's id in its environment (`CHAINSCHED_STORE_ID`,
/// inherited by a step's whole process tree) and wait until they are gone. Only one engine can
/// open a store at a time, so any such process is a stray of a previous engine on this store.
/// Returns how many were killed.
pub(crate) fn kill_strays(store_id: &str) -> usize {
    if store_id.is_empty() {
        return 0;
    }
    let me = std::process::id();
    let needle = format!("CHAINSCHED_STORE_ID={store_id}");
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut killed = Vec::new();
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me || pid > i32::MAX as u32 {
            continue;
        }
        let Ok(env) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if env.split(|b| *b == 0).any(|v| v == needle.as_bytes()) {
            // SAFETY: kill(2) on a pid; no memory is involved.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            }
            killed.push(pid);
        }
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while killed.iter().any(|p| running(*p)) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    killed.len()
}

/// Whether a process exists and is not a zombie.
fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}
