//! The views of the APEX side of chainsched (docs/views.md): `executions` (chain jobs with
//! APEX's status names, job-level progress and queue wait), `notifications` (the outbox:
//! sent, failed, pending) and the stats per job definition and per resource group.
//!
//! Why separate rows rather than more columns on `jobs`: `jobs` keeps the Oracle-shaped
//! columns; these views are what an APEX or Flows for APEX user looks for, under the names
//! they know (APEX_APPL_PAGE_BG_PROC_STATUS: STATUS, SOFAR, TOTALWORK, STATUS_MESSAGE,
//! LAST_UPDATED). The builders are pure functions of records and `now`, as every view's.

use super::jobs::job_instant;
use super::rows::ViewRow;
use super::time::{rfc3339, seconds};
use super::{JobFilter, JobInfo, StepInfo, ViewError, ViewSource};
use crate::core::types::{JobState, StepState};
use crate::lang::duration::Millis;
use crate::store::outbox::Notification;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

// ---------------------------------------------------------------- executions

/// executions: one row per chain job, APEX-style.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionRow {
    pub job_name: String,
    pub chain_name: String,
    /// ENQUEUED, SCHEDULED, EXECUTING, SUCCESS, FAILED or ABORTED (see [`apex_status`]).
    pub status: String,
    /// chainsched's own job state.
    pub state: String,
    pub status_message: Option<String>,
    pub sofar: Option<u64>,
    pub totalwork: Option<u64>,
    pub error_code: Option<i64>,
    pub group: Option<String>,
    pub created: String,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub last_updated: String,
    /// Seconds ENQUEUED (to now while it waits).
    pub queue_wait: Option<f64>,
    pub run_duration: Option<f64>,
}

impl ViewRow for ExecutionRow {
    const COLUMNS: &'static [&'static str] = &[
        "JOB_NAME",
        "CHAIN_NAME",
        "STATUS",
        "STATE",
        "STATUS_MESSAGE",
        "SOFAR",
        "TOTALWORK",
        "ERROR_CODE",
        "GROUP",
        "CREATED",
        "STARTED_AT",
        "ENDED_AT",
        "LAST_UPDATED",
        "QUEUE_WAIT",
        "RUN_DURATION",
    ];
    const DEFAULT_COLUMNS: &'static [&'static str] = &[
        "JOB_NAME",
        "STATUS",
        "SOFAR",
        "TOTALWORK",
        "QUEUE_WAIT",
        "STATUS_MESSAGE",
    ];
}

/// APEX's status of a job: ENQUEUED (waiting for a group slot or its serialization key),
/// SCHEDULED (running, but no step has started yet: waiting for an AFTER delay, a start
/// event or a pause), EXECUTING (a step has started; also CHAIN_STALLED, which APEX has no
/// name for: the STATUS_MESSAGE says why), SUCCESS, FAILED, ABORTED (STOPPED).
pub fn apex_status(state: JobState, steps: &[StepInfo]) -> &'static str {
    match state {
        JobState::Enqueued => "ENQUEUED",
        JobState::Succeeded => "SUCCESS",
        JobState::Failed => "FAILED",
        JobState::Stopped => "ABORTED",
        JobState::ChainStalled => "EXECUTING",
        JobState::Running => {
            if steps.iter().any(|s| s.record.started_at.is_some()) {
                "EXECUTING"
            } else {
                "SCHEDULED"
            }
        }
    }
}

/// One executions row.
pub fn execution_row(info: &JobInfo, steps: &[StepInfo], now: Millis) -> ExecutionRow {
    let r = &info.record;
    let started = r.state != JobState::Enqueued;
    let started_at = started.then_some(r.started_at);
    let created = info.enqueued_at.unwrap_or(r.started_at);
    let queue_wait = match (info.enqueued_at, started_at) {
        (Some(e), Some(s)) => Some(seconds(s.saturating_sub(e))),
        (Some(e), None) => Some(seconds(now.saturating_sub(e))),
        (None, Some(_)) => Some(0.0),
        (None, None) => None,
    };
    let sum = |get: fn(&crate::store::Progress) -> Option<u64>| {
        steps
            .iter()
            .filter_map(|s| s.progress.as_ref().and_then(get))
            .fold(None, |acc: Option<u64>, v| {
                Some(acc.unwrap_or(0).saturating_add(v))
            })
    };
    // The last status message any step reported; a stalled job says why it stalled.
    let last_message = steps
        .iter()
        .filter_map(|s| {
            s.progress
                .as_ref()
                .and_then(|p| p.status_message.clone().map(|m| (p.updated_at, m)))
        })
        .max_by_key(|(t, _)| *t)
        .map(|(_, m)| m);
    let status_message = match (r.state, &r.stall_reason) {
        (JobState::ChainStalled, Some(why)) => Some(format!("CHAIN_STALLED: {why}")),
        (JobState::ChainStalled, None) => Some("CHAIN_STALLED".to_string()),
        _ => last_message,
    };
    let mut last = created.max(started_at.unwrap_or(0));
    if let Some(e) = r.ended_at {
        last = last.max(e);
    }
    for s in steps {
        for t in [s.record.started_at, s.record.ended_at]
            .into_iter()
            .flatten()
            .chain(s.progress.as_ref().map(|p| p.updated_at))
        {
            last = last.max(t);
        }
    }
    ExecutionRow {
        job_name: r.job.clone(),
        chain_name: r.chain.clone(),
        status: apex_status(r.state, steps).to_string(),
        state: r.state.as_str().to_string(),
        status_message,
        sofar: sum(|p| p.sofar),
        totalwork: sum(|p| p.totalwork),
        error_code: r.error_code,
        group: info.group.clone(),
        created: rfc3339(created),
        started_at: started_at.map(rfc3339),
        ended_at: r.ended_at.map(rfc3339),
        last_updated: rfc3339(last),
        queue_wait,
        run_duration: started_at.map(|s| seconds(r.ended_at.unwrap_or(now).saturating_sub(s))),
    }
}

/// The executions view (same filter as `jobs`; `status` filters on the APEX status).
pub fn executions(
    src: &dyn ViewSource,
    filter: &JobFilter,
    status: Option<&str>,
    now: Millis,
) -> Result<Vec<ExecutionRow>, ViewError> {
    let wanted = match status {
        None => None,
        Some(s) => Some(parse_statuses(s)?),
    };
    let chosen = match &filter.job {
        Some(j) => super::jobs::select(src.job(j)?.into_iter().collect(), filter),
        None => src.jobs_selected(filter)?,
    };
    let mut out = Vec::new();
    for mut info in chosen {
        if info.enqueued_at.is_none() {
            info.enqueued_at = src.enqueued_at(&info.record.job)?;
        }
        let steps = src.steps(&info.record.job)?;
        let row = execution_row(&info, &steps, now);
        if wanted.as_ref().is_none_or(|w| w.contains(&row.status)) {
            out.push(row);
        }
    }
    Ok(out)
}

/// `EXECUTING,ENQUEUED` → the statuses (refused: a name that is not one).
pub fn parse_statuses(text: &str) -> Result<Vec<String>, ViewError> {
    const ALL: [&str; 6] = [
        "ENQUEUED",
        "SCHEDULED",
        "EXECUTING",
        "SUCCESS",
        "FAILED",
        "ABORTED",
    ];
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            let up = s.to_ascii_uppercase();
            if ALL.contains(&up.as_str()) {
                Ok(up)
            } else {
                Err(ViewError::BadRequest(format!(
                    "status '{s}' is not one of {}",
                    ALL.join(", ")
                )))
            }
        })
        .collect()
}

// ---------------------------------------------------------------- notifications

/// notifications: one row per notification owed (per channel), newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationRow {
    pub id: String,
    pub notify_name: String,
    pub event: String,
    pub job_name: String,
    pub chain_name: String,
    pub job_definition: Option<String>,
    pub step_job_subname: Option<String>,
    /// WEBHOOK or COMMAND.
    pub channel: String,
    pub target: String,
    /// PENDING, SENT, FAILED or SKIPPED.
    pub status: String,
    pub attempts: u32,
    pub max_attempts: u32,
    pub created: String,
    pub next_attempt_at: Option<String>,
    pub sent_at: Option<String>,
    pub last_error: Option<String>,
}

impl ViewRow for NotificationRow {
    const COLUMNS: &'static [&'static str] = &[
        "ID",
        "NOTIFY_NAME",
        "EVENT",
        "JOB_NAME",
        "CHAIN_NAME",
        "JOB_DEFINITION",
        "STEP_JOB_SUBNAME",
        "CHANNEL",
        "TARGET",
        "STATUS",
        "ATTEMPTS",
        "MAX_ATTEMPTS",
        "CREATED",
        "NEXT_ATTEMPT_AT",
        "SENT_AT",
        "LAST_ERROR",
    ];
    const DEFAULT_COLUMNS: &'static [&'static str] = &[
        "ID",
        "EVENT",
        "JOB_NAME",
        "CHANNEL",
        "STATUS",
        "ATTEMPTS",
        "LAST_ERROR",
    ];
}

pub fn notification_row(n: &Notification) -> NotificationRow {
    NotificationRow {
        id: n.id.clone(),
        notify_name: n.notify.clone(),
        event: n.event.clone(),
        job_name: n.job.clone(),
        chain_name: n.chain.clone(),
        job_definition: n.definition.clone(),
        step_job_subname: n.subname.clone(),
        channel: n.channel.kind().to_string(),
        target: n.channel.target(),
        status: n.status.as_str().to_string(),
        attempts: n.attempts,
        max_attempts: n.max_attempts,
        created: rfc3339(n.created_at),
        next_attempt_at: (!n.status.is_final()).then(|| rfc3339(n.next_attempt_at)),
        sent_at: n.sent_at.map(rfc3339),
        last_error: n.last_error.clone(),
    }
}

/// The notifications view: newest first, optionally of one job and/or in some statuses.
pub fn notifications(
    src: &dyn ViewSource,
    job: Option<&str>,
    status: Option<&str>,
    limit: usize,
) -> Result<Vec<NotificationRow>, ViewError> {
    let statuses: Vec<String> = match status {
        None => Vec::new(),
        Some(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                let up = s.to_ascii_uppercase();
                if ["PENDING", "SENT", "FAILED", "SKIPPED"].contains(&up.as_str()) {
                    Ok(up)
                } else {
                    Err(ViewError::BadRequest(format!(
                        "status '{s}' is not one of PENDING, SENT, FAILED, SKIPPED"
                    )))
                }
            })
            .collect::<Result<_, _>>()?,
    };
    let filtered = job.is_some() || !statuses.is_empty();
    // A filter reads further back than the limit (the outbox keeps final rows a week).
    let read = if filtered { usize::MAX } else { limit };
    Ok(src
        .notifications(read)?
        .iter()
        .filter(|n| job.is_none_or(|j| n.job == j))
        .filter(|n| statuses.is_empty() || statuses.iter().any(|s| s == n.status.as_str()))
        .take(limit)
        .map(notification_row)
        .collect())
}

// ---------------------------------------------------------------- stats by definition, group

/// stats --by definition|group: averages of run and queue time of the ended jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsByRow {
    /// DEFINITION or GROUP.
    pub by: String,
    /// The job definition, or the group (a job counts in its group and the group's parents);
    /// `(ad hoc)` / `(no group)` for jobs without one.
    pub name: String,
    pub jobs: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub stopped: u64,
    pub avg_run_duration: Option<f64>,
    pub max_run_duration: Option<f64>,
    pub avg_wait_duration: Option<f64>,
    pub max_wait_duration: Option<f64>,
}

impl ViewRow for StatsByRow {
    const COLUMNS: &'static [&'static str] = &[
        "BY",
        "NAME",
        "JOBS",
        "SUCCEEDED",
        "FAILED",
        "STOPPED",
        "AVG_RUN_DURATION",
        "MAX_RUN_DURATION",
        "AVG_WAIT_DURATION",
        "MAX_WAIT_DURATION",
    ];
}

/// Which way `stats --by` groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsBy {
    Definition,
    Group,
}

impl StatsBy {
    pub fn parse(text: &str) -> Result<StatsBy, ViewError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "definition" | "job" | "job_definition" => Ok(StatsBy::Definition),
            "group" => Ok(StatsBy::Group),
            other => Err(ViewError::BadRequest(format!(
                "by '{other}' is not `definition` or `group`"
            ))),
        }
    }
}

#[derive(Default)]
struct ByAcc {
    jobs: u64,
    succeeded: u64,
    failed: u64,
    stopped: u64,
    run: Vec<Millis>,
    wait: Vec<Millis>,
}

/// Build the rows from ended jobs and, per job, its definition.
pub fn stats_by_rows(
    jobs: &[(JobInfo, Option<String>)],
    by: StatsBy,
    chain: Option<&str>,
) -> Vec<StatsByRow> {
    let mut acc: BTreeMap<String, ByAcc> = BTreeMap::new();
    for (info, definition) in jobs {
        let r = &info.record;
        if !r.state.is_finished() || chain.is_some_and(|c| c != r.chain) {
            continue;
        }
        let names: Vec<String> = match by {
            StatsBy::Definition => vec![definition.clone().unwrap_or_else(|| "(ad hoc)".into())],
            StatsBy::Group => match info.group.as_deref() {
                // `A.B` counts in `A.B` and in `A`.
                Some(g) => {
                    let parts: Vec<&str> = g.split('.').filter(|p| !p.is_empty()).collect();
                    (1..=parts.len()).map(|n| parts[..n].join(".")).collect()
                }
                None => vec!["(no group)".into()],
            },
        };
        // A job stopped while ENQUEUED never ran (its STARTED_AT is its enqueue or its end
        // time): it has a wait, no run.
        let ran = !(r.state == JobState::Stopped
            && info.enqueued_at.is_some()
            && (info.enqueued_at == Some(r.started_at) || r.ended_at == Some(r.started_at)));
        let wait = info
            .enqueued_at
            .map(|e| {
                if ran {
                    r.started_at.saturating_sub(e)
                } else {
                    r.ended_at.unwrap_or(e).saturating_sub(e)
                }
            })
            .unwrap_or(0);
        let run = r.ended_at.map(|e| e.saturating_sub(r.started_at));
        for name in names {
            let a = acc.entry(name).or_default();
            a.jobs += 1;
            match r.state {
                JobState::Succeeded => a.succeeded += 1,
                JobState::Failed => a.failed += 1,
                JobState::Stopped => a.stopped += 1,
                _ => {}
            }
            if let (true, Some(run)) = (ran, run) {
                a.run.push(run);
            }
            a.wait.push(wait);
        }
    }
    let avg = |v: &[Millis]| {
        (!v.is_empty()).then(|| v.iter().map(|x| *x as f64).sum::<f64>() / v.len() as f64 / 1000.0)
    };
    acc.into_iter()
        .map(|(name, a)| StatsByRow {
            by: match by {
                StatsBy::Definition => "DEFINITION",
                StatsBy::Group => "GROUP",
            }
            .into(),
            name,
            jobs: a.jobs,
            succeeded: a.succeeded,
            failed: a.failed,
            stopped: a.stopped,
            avg_run_duration: avg(&a.run),
            max_run_duration: a.run.iter().max().copied().map(seconds),
            avg_wait_duration: avg(&a.wait),
            max_wait_duration: a.wait.iter().max().copied().map(seconds),
        })
        .collect()
}

/// `stats --by definition|group` over every ended job (optionally of one chain).
pub fn stats_by(
    src: &dyn ViewSource,
    by: StatsBy,
    chain: Option<&str>,
) -> Result<Vec<StatsByRow>, ViewError> {
    let mut jobs = Vec::new();
    for mut info in src.jobs()? {
        if !info.record.state.is_finished() {
            continue;
        }
        if info.enqueued_at.is_none() && info.record.enqueued_at.is_some() {
            info.enqueued_at = info.record.enqueued_at;
        }
        let def = match by {
            StatsBy::Definition => src.job_definition(&info.record.job)?,
            StatsBy::Group => None,
        };
        jobs.push((info, def));
    }
    jobs.sort_by_key(|(i, _)| job_instant(i));
    Ok(stats_by_rows(&jobs, by, chain))
}

/// The steps a job waits on, for `--wait idle` answers and `executions` readers: `W waits for
/// event GO`, `B waits for its AFTER delay`, `C is paused`, or the queue.
pub fn waits(
    catalog: &crate::catalog::Catalog,
    record: &crate::core::types::JobRecord,
    steps: &[crate::core::types::StepRecord],
) -> Option<Vec<String>> {
    use crate::catalog::StepTarget;
    match record.state {
        JobState::Enqueued => {
            return Some(vec![match &record.stall_reason {
                Some(why) => format!("queue: {why}"),
                None => "queue: waiting for a group slot or its serialization key".into(),
            }])
        }
        JobState::ChainStalled => {
            return Some(vec![format!(
                "CHAIN_STALLED{}",
                record
                    .stall_reason
                    .as_ref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            )])
        }
        s if s.is_finished() => return Some(Vec::new()),
        _ => {}
    }
    let mut out = Vec::new();
    for s in steps {
        let kind = catalog
            .chains
            .get(&s.chain)
            .and_then(|c| c.steps.iter().find(|d| d.name == s.step))
            .map(|d| &d.kind);
        match s.state {
            StepState::Running => match kind {
                Some(StepTarget::Event { name: event, .. }) => {
                    out.push(format!("{} waits for event {event}", s.subname))
                }
                Some(StepTarget::Chain(_)) => {}
                _ => return None,
            },
            StepState::Scheduled => out.push(format!("{} waits for its AFTER delay", s.subname)),
            StepState::RetryScheduled => return None,
            StepState::Paused => out.push(format!("{} is paused", s.subname)),
            StepState::Stalled => out.push(format!("{} is stalled", s.subname)),
            _ => {}
        }
    }
    if out.is_empty() {
        out.push("waiting for the next evaluation".into());
    }
    Some(out)
}

/// Whether a group, or a group above it, is disabled (`max_running 0`).
pub fn group_disabled(catalog: &crate::catalog::Catalog, group: &str) -> bool {
    let parts: Vec<&str> = group.split('.').filter(|p| !p.is_empty()).collect();
    (1..=parts.len()).any(|n| {
        catalog
            .groups
            .get(&parts[..n].join("."))
            .is_some_and(|g| g.max_running == Some(0))
    })
}
