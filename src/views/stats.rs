//! stats: run history per chain (STEP_NAME null) and per step, from the job log.
//!
//! A run's duration is its log row's time minus its start; a chain job's wait is ENQUEUED_AT →
//! STARTED_AT; a step run's wait is requested start → actual start (from its run details).
//! Percentiles use the nearest-rank method (p50 of 1, 2, 3, 4 is 2): every value shown is one
//! that really occurred.

use super::time::seconds;
use super::StatsRow;
use crate::core::types::{LogRow, StepState};
use crate::lang::duration::Millis;
use std::collections::{BTreeMap, HashMap};

#[derive(Default)]
struct Acc {
    runs: u64,
    succeeded: u64,
    failed: u64,
    stopped: u64,
    run: Vec<Millis>,
    wait: Vec<Millis>,
}

/// Nearest-rank percentile of sorted values (`p` in 0..=100).
pub fn percentile(sorted: &[Millis], p: u32) -> Option<Millis> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p as usize * sorted.len()).div_ceil(100)).max(1);
    sorted.get(rank - 1).copied()
}

fn avg(values: &[Millis]) -> Option<f64> {
    if values.is_empty() {
        None
    } else {
        Some(values.iter().map(|v| *v as f64).sum::<f64>() / values.len() as f64 / 1000.0)
    }
}

/// Build the stats rows. `job_waits`: chain job name → wait; `step_waits`: log id → wait.
pub fn stats_rows(
    log: &[LogRow],
    job_waits: &HashMap<String, Millis>,
    step_waits: &HashMap<u64, Millis>,
    chain: Option<&str>,
) -> Vec<StatsRow> {
    let mut groups: BTreeMap<(String, Option<String>), Acc> = BTreeMap::new();
    for r in log {
        if chain.is_some_and(|c| c != r.chain) {
            continue;
        }
        let step = if r.subname.is_none() {
            None
        } else {
            r.step.clone()
        };
        let acc = groups.entry((r.chain.clone(), step)).or_default();
        acc.runs += 1;
        match r.status {
            StepState::Succeeded => acc.succeeded += 1,
            StepState::Failed => acc.failed += 1,
            StepState::Stopped => acc.stopped += 1,
            _ => {}
        }
        if let Some(start) = r.started_at {
            acc.run.push(r.time.saturating_sub(start));
        }
        let wait = if r.subname.is_none() {
            job_waits.get(&r.job)
        } else {
            step_waits.get(&r.log_id)
        };
        if let Some(w) = wait {
            acc.wait.push(*w);
        }
    }
    groups
        .into_iter()
        .map(|((chain_name, step_name), mut acc)| {
            acc.run.sort_unstable();
            acc.wait.sort_unstable();
            StatsRow {
                chain_name,
                step_name,
                runs: acc.runs,
                succeeded: acc.succeeded,
                failed: acc.failed,
                stopped: acc.stopped,
                avg_run_duration: avg(&acc.run),
                p50_run_duration: percentile(&acc.run, 50).map(seconds),
                p90_run_duration: percentile(&acc.run, 90).map(seconds),
                max_run_duration: acc.run.last().copied().map(seconds),
                avg_wait_duration: avg(&acc.wait),
                p90_wait_duration: percentile(&acc.wait, 90).map(seconds),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::types::RunOperation;

    fn row(id: u64, job: &str, sub: Option<&str>, status: StepState, secs: u64) -> LogRow {
        LogRow {
            log_id: id,
            time: 100_000 + secs * 1000,
            job: job.into(),
            subname: sub.map(String::from),
            chain: "C".into(),
            step: sub.map(String::from),
            operation: RunOperation::Run,
            status,
            error_code: 0,
            started_at: Some(100_000),
            additional_info: None,
            run: 1,
        }
    }

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(percentile(&[1, 2, 3, 4], 50), Some(2));
        assert_eq!(percentile(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90), Some(9));
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn per_chain_and_per_step_counts_and_durations() {
        let log = vec![
            row(1, "J1", Some("A"), StepState::Succeeded, 1),
            row(2, "J1", None, StepState::Succeeded, 2),
            row(3, "J2", Some("A"), StepState::Failed, 3),
            row(4, "J2", None, StepState::Failed, 4),
            row(5, "J3", Some("A"), StepState::Stopped, 8),
        ];
        let job_waits = HashMap::from([("J1".to_string(), 1_000), ("J2".to_string(), 3_000)]);
        let step_waits = HashMap::from([(1u64, 10), (3u64, 30)]);
        let rows = stats_rows(&log, &job_waits, &step_waits, None);
        assert_eq!(rows.len(), 2);
        let chain = &rows[0];
        assert_eq!(chain.step_name, None);
        assert_eq!(
            (chain.runs, chain.succeeded, chain.failed, chain.stopped),
            (2, 1, 1, 0)
        );
        assert_eq!(chain.avg_run_duration, Some(3.0));
        assert_eq!(chain.max_run_duration, Some(4.0));
        assert_eq!(chain.avg_wait_duration, Some(2.0));
        assert_eq!(chain.p90_wait_duration, Some(3.0));
        let a = &rows[1];
        assert_eq!(a.step_name.as_deref(), Some("A"));
        assert_eq!((a.runs, a.succeeded, a.failed, a.stopped), (3, 1, 1, 1));
        assert_eq!(a.p50_run_duration, Some(3.0));
        assert_eq!(a.p90_run_duration, Some(8.0));
        assert_eq!(a.avg_wait_duration, Some(0.02));
        assert!(stats_rows(&log, &job_waits, &step_waits, Some("OTHER")).is_empty());
    }
}
