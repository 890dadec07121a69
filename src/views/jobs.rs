//! jobs: one row per chain job, running and finished.
//!
//! RUN_DURATION runs from STARTED_AT to ENDED_AT (to now while the job runs); WAIT_DURATION
//! from ENQUEUED_AT to STARTED_AT. CURRENT_STEPS lists the subnames RUNNING now; SOFAR and
//! TOTALWORK sum the progress of the steps that report any (null when none does).

use super::time::{rfc3339, seconds};
use super::{JobFilter, JobInfo, JobRow, StepInfo};
use crate::core::types::{JobState, StepState};
use crate::lang::duration::Millis;
use std::collections::BTreeMap;

/// The instant a job is filtered and sorted by: when it was requested, else when it started.
pub fn job_instant(info: &JobInfo) -> Millis {
    info.enqueued_at.unwrap_or(info.record.started_at)
}

/// Whether a job passes the filter (the limit is applied by [`select`]).
pub fn matches(info: &JobInfo, f: &JobFilter) -> bool {
    let r = &info.record;
    let t = job_instant(info);
    f.job.as_ref().is_none_or(|j| *j == r.job)
        && f.chain.as_ref().is_none_or(|c| *c == r.chain)
        && (f.states.is_empty() || f.states.contains(&r.state))
        && f.since.is_none_or(|s| t >= s)
        && f.until.is_none_or(|u| t < u)
}

/// Filter, order newest first (then by name), and limit.
pub fn select(mut jobs: Vec<JobInfo>, f: &JobFilter) -> Vec<JobInfo> {
    jobs.retain(|j| matches(j, f));
    jobs.sort_by(|a, b| {
        job_instant(b)
            .cmp(&job_instant(a))
            .then_with(|| a.record.job.cmp(&b.record.job))
    });
    if let Some(limit) = f.limit {
        jobs.truncate(limit);
    }
    jobs
}

/// One jobs row. `stall_reason` is the reason to show when the job is CHAIN_STALLED.
pub fn job_row(
    info: &JobInfo,
    steps: &[StepInfo],
    stall_reason: Option<String>,
    now: Millis,
) -> JobRow {
    let r = &info.record;
    let started = r.state != JobState::Enqueued;
    let started_at = started.then_some(r.started_at);
    let run_duration = started_at.map(|s| seconds(r.ended_at.unwrap_or(now).saturating_sub(s)));
    let wait_duration = match (info.enqueued_at, started_at) {
        (Some(e), Some(s)) => Some(seconds(s.saturating_sub(e))),
        (None, Some(_)) => Some(0.0),
        (Some(e), None) => Some(seconds(now.saturating_sub(e))),
        (None, None) => None,
    };
    let current_steps = if r.state.is_finished() {
        Vec::new()
    } else {
        steps
            .iter()
            .filter(|s| s.record.state == StepState::Running)
            .map(|s| s.record.subname.clone())
            .collect()
    };
    let sum = |get: fn(&crate::store::Progress) -> Option<u64>| {
        steps
            .iter()
            .filter_map(|s| s.progress.as_ref().and_then(get))
            .fold(None, |acc: Option<u64>, v| {
                Some(acc.unwrap_or(0).saturating_add(v))
            })
    };
    JobRow {
        job_name: r.job.clone(),
        chain_name: r.chain.clone(),
        state: r.state.as_str().to_string(),
        error_code: r.error_code,
        group: info.group.clone(),
        serialize_key: info.serialize_key.clone(),
        parameters: r.parameters.clone(),
        requested_by: info.requested_by.clone(),
        enqueued_at: Some(rfc3339(info.enqueued_at.unwrap_or(r.started_at))),
        started_at: started_at.map(rfc3339),
        ended_at: r.ended_at.map(rfc3339),
        run_duration,
        wait_duration,
        current_steps,
        sofar: sum(|p| p.sofar),
        totalwork: sum(|p| p.totalwork),
        stall_reason: if r.state == JobState::ChainStalled {
            stall_reason
        } else {
            None
        },
        variables: r.parameters.clone(),
        variables_set_by: BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::types::{JobRecord, StepRecord};
    use crate::store::Progress;
    use std::collections::BTreeMap;

    fn info(name: &str, chain: &str, state: JobState, enq: Millis, start: Millis) -> JobInfo {
        JobInfo {
            record: JobRecord {
                job: name.into(),
                chain: chain.into(),
                state,
                error_code: if state == JobState::Failed {
                    Some(20100)
                } else {
                    None
                },
                parameters: BTreeMap::from([("DEPTNO".to_string(), "10".to_string())]),
                started_at: start,
                ended_at: state.is_finished().then_some(start + 4_000),
                stall_reason: None,
                group: None,
                serialize_key: None,
                enqueued_at: None,
                requested_by: None,
            },
            group: Some("FINANCE.LOANS".into()),
            serialize_key: Some("10".into()),
            requested_by: Some("ops".into()),
            enqueued_at: Some(enq),
        }
    }

    fn step(sub: &str, state: StepState, progress: Option<(u64, u64)>) -> StepInfo {
        StepInfo {
            record: StepRecord {
                subname: sub.into(),
                parent_subname: None,
                chain: "C".into(),
                step: sub.into(),
                state,
                error_code: None,
                attempts: 1,
                started_at: Some(0),
                ended_at: None,
                skip: false,
                pause: false,
                pause_before: false,
                restart_on_recovery: false,
                restart_on_failure: false,
                log_id: None,
            },
            progress: progress.map(|(s, t)| Progress {
                sofar: Some(s),
                totalwork: Some(t),
                status_message: None,
                updated_at: 0,
            }),
        }
    }

    #[test]
    fn durations_current_steps_and_progress_sums() {
        let j = info("J1", "C", JobState::Running, 1_000, 3_000);
        let steps = vec![
            step("A", StepState::Running, Some((2, 10))),
            step("B", StepState::Running, Some((5, 5))),
            step("C", StepState::Succeeded, None),
        ];
        let row = job_row(&j, &steps, None, 13_000);
        assert_eq!(row.run_duration, Some(10.0));
        assert_eq!(row.wait_duration, Some(2.0));
        assert_eq!(row.current_steps, vec!["A", "B"]);
        assert_eq!((row.sofar, row.totalwork), (Some(7), Some(15)));
        assert_eq!(row.group.as_deref(), Some("FINANCE.LOANS"));
        assert_eq!(row.started_at.as_deref(), Some("1970-01-01T00:00:03.000Z"));
        assert_eq!(row.ended_at, None);
        let none = job_row(&j, &[step("A", StepState::Running, None)], None, 13_000);
        assert_eq!((none.sofar, none.totalwork), (None, None));
    }

    #[test]
    fn finished_and_enqueued_jobs() {
        let done = job_row(
            &info("J2", "C", JobState::Failed, 0, 1_000),
            &[],
            Some("x".into()),
            99_000,
        );
        assert_eq!(done.run_duration, Some(4.0));
        assert_eq!(done.error_code, Some(20100));
        assert_eq!(done.stall_reason, None, "only stalled jobs carry a reason");
        let queued = job_row(
            &info("J3", "C", JobState::Enqueued, 1_000, 1_000),
            &[],
            None,
            6_000,
        );
        assert_eq!(queued.started_at, None);
        assert_eq!(queued.run_duration, None);
        assert_eq!(queued.wait_duration, Some(5.0));
    }

    #[test]
    fn select_filters_orders_newest_first_and_limits() {
        let jobs = vec![
            info("OLD", "C", JobState::Succeeded, 1_000, 1_000),
            info("NEW", "C", JobState::Running, 5_000, 5_000),
            info("MID", "D", JobState::Failed, 3_000, 3_000),
        ];
        let names = |f: &JobFilter| -> Vec<String> {
            select(jobs.clone(), f)
                .into_iter()
                .map(|j| j.record.job)
                .collect()
        };
        assert_eq!(names(&JobFilter::default()), vec!["NEW", "MID", "OLD"]);
        assert_eq!(
            names(&JobFilter {
                limit: Some(2),
                ..Default::default()
            }),
            vec!["NEW", "MID"]
        );
        assert_eq!(
            names(&JobFilter {
                chain: Some("C".into()),
                ..Default::default()
            }),
            vec!["NEW", "OLD"]
        );
        assert_eq!(
            names(&JobFilter {
                states: vec![JobState::Failed, JobState::Succeeded],
                ..Default::default()
            }),
            vec!["MID", "OLD"]
        );
        assert_eq!(
            names(&JobFilter {
                since: Some(2_000),
                until: Some(5_000),
                ..Default::default()
            }),
            vec!["MID"]
        );
    }
}
