//! overview: the dashboard's landing page at a glance (`GET /api/v1/overview`): jobs running,
//! queued and stalled now, jobs ended in the last 24 hours by outcome and hour, and each
//! resource group with its limit and queue.
//!
//! Why from these sources: the unfinished jobs come from the source's index of active jobs and
//! the ended ones from the job log's chain-job rows of the last day (one row per ended job, at
//! its end), so the page costs what is active plus one day of log, never a scan of every job.

use super::time::rfc3339;
use super::{JobInfo, LogFilter, ViewError, ViewSource};
use crate::catalog::Catalog;
use crate::core::types::{JobState, LogRow, StepState};
use crate::lang::duration::Millis;
use serde::{Deserialize, Serialize};

const HOUR: Millis = 3_600_000;
/// The window of the ended counters and the hourly chart.
pub const WINDOW_HOURS: u64 = 24;

/// Chain jobs that ended in one hour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HourBucket {
    /// Start of the hour (UTC).
    pub hour: String,
    pub succeeded: u64,
    pub failed: u64,
    pub stopped: u64,
}

/// A resource group now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupLoad {
    pub group_name: String,
    /// `max_running`; null: no limit.
    pub max_running: Option<u32>,
    /// Jobs of the group or a group below it that are RUNNING or CHAIN_STALLED.
    pub running: u64,
    /// Jobs of the group or a group below it waiting (ENQUEUED).
    pub queued: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub now: String,
    pub running: u64,
    pub queued: u64,
    pub stalled: u64,
    pub succeeded_24h: u64,
    pub failed_24h: u64,
    pub stopped_24h: u64,
    /// The last 24 hours, oldest first; the last bucket is the current hour.
    pub hours: Vec<HourBucket>,
    pub groups: Vec<GroupLoad>,
}

/// Build the overview. `active`: the unfinished jobs; `ended`: job-log rows (chain-job rows
/// count, step rows are ignored).
pub fn overview(active: &[JobInfo], ended: &[LogRow], catalog: &Catalog, now: Millis) -> Overview {
    let count = |s: JobState| active.iter().filter(|j| j.record.state == s).count() as u64;
    let current = now - now % HOUR;
    let first = current.saturating_sub((WINDOW_HOURS - 1) * HOUR);
    let mut hours: Vec<HourBucket> = (0..WINDOW_HOURS)
        .map(|i| HourBucket {
            hour: rfc3339(first + i * HOUR),
            succeeded: 0,
            failed: 0,
            stopped: 0,
        })
        .collect();
    let since = now.saturating_sub(WINDOW_HOURS * HOUR);
    let (mut ok, mut bad, mut stopped) = (0, 0, 0);
    for r in ended
        .iter()
        .filter(|r| r.subname.is_none() && r.time >= since && r.time <= now)
    {
        let slot = (r.time.saturating_sub(first) / HOUR) as usize;
        let bucket = hours.get_mut(slot);
        match r.status {
            StepState::Succeeded => {
                ok += 1;
                if let Some(b) = bucket {
                    b.succeeded += 1;
                }
            }
            StepState::Failed => {
                bad += 1;
                if let Some(b) = bucket {
                    b.failed += 1;
                }
            }
            _ => {
                stopped += 1;
                if let Some(b) = bucket {
                    b.stopped += 1;
                }
            }
        }
    }
    let groups = catalog
        .groups
        .values()
        .map(|g| {
            let inside = |j: &&JobInfo| {
                j.group.as_deref().is_some_and(|name| {
                    name == g.name
                        || name
                            .strip_prefix(g.name.as_str())
                            .is_some_and(|rest| rest.starts_with('.'))
                })
            };
            let members: Vec<&JobInfo> = active.iter().filter(inside).collect();
            GroupLoad {
                group_name: g.name.clone(),
                max_running: g.max_running,
                running: members
                    .iter()
                    .filter(|j| {
                        matches!(j.record.state, JobState::Running | JobState::ChainStalled)
                    })
                    .count() as u64,
                queued: members
                    .iter()
                    .filter(|j| j.record.state == JobState::Enqueued)
                    .count() as u64,
            }
        })
        .collect();
    Overview {
        now: rfc3339(now),
        running: count(JobState::Running),
        queued: count(JobState::Enqueued),
        stalled: count(JobState::ChainStalled),
        succeeded_24h: ok,
        failed_24h: bad,
        stopped_24h: stopped,
        hours,
        groups,
    }
}

/// The overview from a view source.
pub fn query(src: &dyn ViewSource, now: Millis) -> Result<Overview, ViewError> {
    let active = src.active_jobs()?;
    let filter = LogFilter {
        since: Some(now.saturating_sub(WINDOW_HOURS * HOUR)),
        ..LogFilter::default()
    };
    let ended = super::log::select(src.log(&filter)?, &filter);
    Ok(overview(&active, &ended, &*src.catalog()?, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::types::{JobRecord, RunOperation};

    fn job(name: &str, state: JobState, group: Option<&str>) -> JobInfo {
        let mut j = JobInfo::from_record(JobRecord {
            job: name.into(),
            chain: "C".into(),
            state,
            error_code: None,
            parameters: Default::default(),
            started_at: 0,
            ended_at: None,
            stall_reason: None,
            group: None,
            serialize_key: None,
            enqueued_at: None,
            requested_by: None,
        });
        j.group = group.map(String::from);
        j
    }

    fn ended(id: u64, time: Millis, status: StepState, sub: Option<&str>) -> LogRow {
        LogRow {
            log_id: id,
            time,
            job: format!("J{id}"),
            subname: sub.map(String::from),
            chain: "C".into(),
            step: None,
            operation: RunOperation::Run,
            status,
            error_code: 0,
            started_at: None,
            additional_info: None,
            run: 1,
        }
    }

    #[test]
    fn counters_hours_and_groups() {
        let catalog = crate::catalog::load_sources(&[(
            "g.chain".to_string(),
            "group BATCH { max_running 2; }\ngroup BATCH.NIGHT { max_running 1; }".to_string(),
        )])
        .catalog
        .expect("catalog");
        let active = vec![
            job("R1", JobState::Running, Some("BATCH")),
            job("R2", JobState::ChainStalled, Some("BATCH.NIGHT")),
            job("Q1", JobState::Enqueued, Some("BATCH.NIGHT")),
            job("Q2", JobState::Enqueued, Some("BATCHX")),
            job("R3", JobState::Running, None),
        ];
        let now = 100 * HOUR + 1234;
        let log = vec![
            ended(1, now - 30 * HOUR, StepState::Failed, None), // outside the window
            ended(2, now - 23 * HOUR, StepState::Failed, None),
            ended(3, now - 10, StepState::Succeeded, None),
            ended(4, now - 10, StepState::Failed, Some("A")), // a step row
            ended(5, now - HOUR, StepState::Stopped, None),
        ];
        let o = overview(&active, &log, &catalog, now);
        assert_eq!((o.running, o.queued, o.stalled), (2, 2, 1));
        assert_eq!((o.succeeded_24h, o.failed_24h, o.stopped_24h), (1, 1, 1));
        assert_eq!(o.hours.len(), 24);
        assert_eq!(o.hours[23].succeeded, 1);
        assert_eq!(o.hours[22].stopped, 1);
        assert_eq!(o.hours[0].failed, 1);
        assert_eq!(o.hours[23].hour, rfc3339(100 * HOUR));
        let batch = &o.groups[0];
        assert_eq!(
            (
                batch.group_name.as_str(),
                batch.max_running,
                batch.running,
                batch.queued
            ),
            ("BATCH", Some(2), 2, 1)
        );
        let night = &o.groups[1];
        assert_eq!((night.running, night.queued), (1, 1));
    }
}
