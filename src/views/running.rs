//! running_chains: one row per step of a running (or stalled) chain job, nested chains included.
//!
//! Rows exist exactly while the job is RUNNING or CHAIN_STALLED; [`step_rows`] builds the same
//! rows for any job (the dashboard and `steps --all` show a finished job's last step states).

use super::time::{rfc3339, seconds};
use super::{RunningChainRow, StepInfo};
use crate::core::types::{JobRecord, JobState};
use crate::lang::duration::Millis;

/// Whether a job has running_chains rows.
pub fn is_active(state: JobState) -> bool {
    matches!(state, JobState::Running | JobState::ChainStalled)
}

/// The running_chains rows of one job: its step rows while it runs or is stalled, else none.
pub fn running_chain_rows(
    job: &JobRecord,
    steps: &[StepInfo],
    now: Millis,
) -> Vec<RunningChainRow> {
    if is_active(job.state) {
        step_rows(job, steps, now)
    } else {
        Vec::new()
    }
}

/// The step rows of a job whatever its state (steps in the order given).
pub fn step_rows(job: &JobRecord, steps: &[StepInfo], now: Millis) -> Vec<RunningChainRow> {
    steps.iter().map(|s| step_row(job, s, now)).collect()
}

fn step_row(job: &JobRecord, info: &StepInfo, now: Millis) -> RunningChainRow {
    let r = &info.record;
    let end = r.ended_at.or(if r.state.is_completed() {
        None
    } else {
        // Still going: the duration so far, but never past the job's own end.
        Some(job.ended_at.unwrap_or(now))
    });
    let duration = match (r.started_at, end) {
        (Some(s), Some(e)) => Some(seconds(e.saturating_sub(s))),
        _ => None,
    };
    let progress = info.progress.as_ref();
    RunningChainRow {
        job_name: job.job.clone(),
        job_subname: r.parent_subname.clone(),
        chain_name: r.chain.clone(),
        step_name: r.step.clone(),
        state: r.state.as_str().to_string(),
        error_code: r.error_code,
        completed: r.state.is_completed(),
        start_date: r.started_at.map(rfc3339),
        end_date: r.ended_at.map(rfc3339),
        duration,
        skip: r.skip,
        pause: r.pause,
        pause_before: r.pause_before,
        restart_on_recovery: r.restart_on_recovery,
        restart_on_failure: r.restart_on_failure,
        step_job_subname: r.subname.clone(),
        step_job_log_id: r.log_id,
        attempt: r.attempts,
        sofar: progress.and_then(|p| p.sofar),
        totalwork: progress.and_then(|p| p.totalwork),
        status_message: progress.and_then(|p| p.status_message.clone()),
        set_variables: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::types::{StepRecord, StepState};
    use crate::store::Progress;
    use std::collections::BTreeMap;

    pub(crate) fn job(state: JobState) -> JobRecord {
        JobRecord {
            job: "J1".into(),
            chain: "OUTER".into(),
            state,
            error_code: None,
            parameters: BTreeMap::new(),
            started_at: 1_000,
            ended_at: None,
            stall_reason: None,
            group: None,
            serialize_key: None,
            enqueued_at: None,
            requested_by: None,
        }
    }

    fn step(sub: &str, parent: Option<&str>, chain: &str, state: StepState) -> StepInfo {
        StepInfo {
            record: StepRecord {
                subname: sub.into(),
                parent_subname: parent.map(String::from),
                chain: chain.into(),
                step: sub.rsplit('.').next().unwrap_or(sub).into(),
                state,
                error_code: if state.is_completed() { Some(0) } else { None },
                attempts: 1,
                started_at: Some(2_000),
                ended_at: if state.is_completed() {
                    Some(4_500)
                } else {
                    None
                },
                skip: false,
                pause: false,
                pause_before: false,
                restart_on_recovery: false,
                restart_on_failure: true,
                log_id: if state.is_completed() { Some(7) } else { None },
            },
            progress: None,
        }
    }

    #[test]
    fn nested_rows_link_to_their_outer_step() {
        let mut n_i1 = step("N.I1", Some("N"), "INNER", StepState::Running);
        n_i1.progress = Some(Progress {
            sofar: Some(3),
            totalwork: Some(10),
            status_message: Some("copying".into()),
            updated_at: 2_500,
        });
        let steps = vec![
            step("A", None, "OUTER", StepState::Succeeded),
            step("N", None, "OUTER", StepState::Running),
            n_i1,
        ];
        let rows = running_chain_rows(&job(JobState::Running), &steps, 10_000);
        assert_eq!(rows.len(), 3);
        let outer = &rows[1];
        let inner = &rows[2];
        assert_eq!(outer.job_subname, None);
        assert_eq!(outer.step_job_subname, "N");
        assert_eq!(
            inner.job_subname.as_deref(),
            Some(outer.step_job_subname.as_str())
        );
        assert_eq!(inner.chain_name, "INNER");
        assert_eq!(inner.step_name, "I1");
        assert_eq!((inner.sofar, inner.totalwork), (Some(3), Some(10)));
        assert_eq!(inner.status_message.as_deref(), Some("copying"));
        // Completed: its own duration; running: so far.
        assert_eq!(rows[0].duration, Some(2.5));
        assert!(rows[0].completed);
        assert_eq!(
            rows[0].end_date.as_deref(),
            Some("1970-01-01T00:00:04.500Z")
        );
        assert_eq!(outer.duration, Some(8.0));
        assert!(!outer.completed);
        assert_eq!(rows[0].step_job_log_id, Some(7));
    }

    #[test]
    fn rows_exist_only_while_running_or_stalled() {
        let steps = vec![step("A", None, "OUTER", StepState::Succeeded)];
        for (state, expected) in [
            (JobState::Enqueued, 0),
            (JobState::Running, 1),
            (JobState::ChainStalled, 1),
            (JobState::Succeeded, 0),
            (JobState::Failed, 0),
            (JobState::Stopped, 0),
        ] {
            assert_eq!(
                running_chain_rows(&job(state), &steps, 5_000).len(),
                expected,
                "{state:?}"
            );
        }
        assert_eq!(step_rows(&job(JobState::Succeeded), &steps, 5_000).len(), 1);
    }
}
