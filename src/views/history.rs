//! chain history: the last N finished runs of one chain as series (the dashboard's chain page,
//! `GET /api/v1/chains/{chain}/history?runs=N`, `chainsched stats --chain C --runs N`).
//!
//! Why beside `stats` rather than inside it: `stats` sums the whole log per chain and per step;
//! a chart needs the runs themselves, in order, and the same window for every series (the
//! chain's runs and each step's durations in those runs), so that a bar and a sparkline point
//! belong to the same job. Summaries (success rate, p50/p90, average wait) are over that window
//! only, with the nearest-rank percentiles of `stats`.

use super::render::{self, Format};
use super::rows::ViewRow;
use super::stats::percentile;
use super::time::{rfc3339, seconds};
use super::{JobFilter, ViewError, ViewSource};
use crate::core::types::{JobState, LogRow};
use crate::lang::duration::Millis;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The window when none is asked for.
pub const DEFAULT_RUNS: usize = 50;
/// The largest window served.
pub const MAX_RUNS: usize = 10_000;

/// One finished run of the chain (a chain job).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainRunRow {
    pub job_name: String,
    /// SUCCEEDED, FAILED or STOPPED.
    pub state: String,
    pub error_code: Option<i64>,
    pub start_date: String,
    pub end_date: Option<String>,
    /// Seconds from start to end.
    pub run_duration: Option<f64>,
    /// Seconds from the request to the start (queued in a group, serialized).
    pub wait_duration: Option<f64>,
}

impl ViewRow for ChainRunRow {
    const COLUMNS: &'static [&'static str] = &[
        "JOB_NAME",
        "STATE",
        "ERROR_CODE",
        "START_DATE",
        "END_DATE",
        "RUN_DURATION",
        "WAIT_DURATION",
    ];
}

/// One step (by job subname, nested steps as `N.I1`) over the same runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepSeriesRow {
    pub step_job_subname: String,
    pub runs: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub avg_run_duration: Option<f64>,
    pub p50_run_duration: Option<f64>,
    pub p90_run_duration: Option<f64>,
    /// One value per chain run, in the order of `runs`: the duration of the step's last run in
    /// that job, null when it did not run there.
    pub durations: Vec<Option<f64>>,
}

impl ViewRow for StepSeriesRow {
    const COLUMNS: &'static [&'static str] = &[
        "STEP_JOB_SUBNAME",
        "RUNS",
        "SUCCEEDED",
        "FAILED",
        "AVG_RUN_DURATION",
        "P50_RUN_DURATION",
        "P90_RUN_DURATION",
        "DURATIONS",
    ];
}

/// The history of one chain over its last `runs_asked` finished runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainHistory {
    pub chain_name: String,
    pub runs_asked: usize,
    pub run_count: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub stopped: u64,
    /// succeeded / run_count, 0..1; null without runs.
    pub success_rate: Option<f64>,
    pub avg_run_duration: Option<f64>,
    pub p50_run_duration: Option<f64>,
    pub p90_run_duration: Option<f64>,
    pub avg_wait_duration: Option<f64>,
    /// Oldest first.
    pub runs: Vec<ChainRunRow>,
    pub steps: Vec<StepSeriesRow>,
}

/// A finished chain job as the builder needs it.
#[derive(Debug, Clone)]
pub struct FinishedRun {
    pub job: String,
    pub state: JobState,
    pub error_code: Option<i64>,
    pub started_at: Millis,
    pub ended_at: Option<Millis>,
    pub wait: Option<Millis>,
}

fn avg(values: &[Millis]) -> Option<f64> {
    (!values.is_empty())
        .then(|| values.iter().map(|v| *v as f64).sum::<f64>() / values.len() as f64 / 1000.0)
}

/// Build the history from the chain's finished runs (any order; the last `runs_asked` by start
/// are kept) and the log rows of those jobs.
pub fn history(
    chain: &str,
    mut finished: Vec<FinishedRun>,
    log: &[LogRow],
    runs_asked: usize,
) -> ChainHistory {
    finished.sort_by(|a, b| {
        a.started_at
            .cmp(&b.started_at)
            .then_with(|| a.job.cmp(&b.job))
    });
    if finished.len() > runs_asked {
        finished.drain(..finished.len() - runs_asked);
    }
    let position: HashMap<&str, usize> = finished
        .iter()
        .enumerate()
        .map(|(i, r)| (r.job.as_str(), i))
        .collect();
    let mut run_ms: Vec<Millis> = Vec::new();
    let mut wait_ms: Vec<Millis> = Vec::new();
    let (mut succeeded, mut failed, mut stopped) = (0, 0, 0);
    let runs: Vec<ChainRunRow> = finished
        .iter()
        .map(|r| {
            match r.state {
                JobState::Succeeded => succeeded += 1,
                JobState::Failed => failed += 1,
                _ => stopped += 1,
            }
            let run = r.ended_at.map(|e| e.saturating_sub(r.started_at));
            run_ms.extend(run);
            wait_ms.extend(r.wait);
            ChainRunRow {
                job_name: r.job.clone(),
                state: r.state.as_str().to_string(),
                error_code: r.error_code,
                start_date: rfc3339(r.started_at),
                end_date: r.ended_at.map(rfc3339),
                run_duration: run.map(seconds),
                wait_duration: r.wait.map(seconds),
            }
        })
        .collect();
    run_ms.sort_unstable();

    #[derive(Default)]
    struct StepAcc {
        runs: u64,
        succeeded: u64,
        failed: u64,
        all: Vec<Millis>,
        last: BTreeMap<usize, (u64, Millis)>,
    }
    let mut steps: BTreeMap<&str, StepAcc> = BTreeMap::new();
    for r in log {
        let (Some(sub), Some(&at)) = (r.subname.as_deref(), position.get(r.job.as_str())) else {
            continue;
        };
        let acc = steps.entry(sub).or_default();
        acc.runs += 1;
        match r.status {
            crate::core::types::StepState::Succeeded => acc.succeeded += 1,
            crate::core::types::StepState::Failed => acc.failed += 1,
            _ => {}
        }
        if let Some(start) = r.started_at {
            let d = r.time.saturating_sub(start);
            acc.all.push(d);
            let slot = acc.last.entry(at).or_insert((r.log_id, d));
            if r.log_id >= slot.0 {
                *slot = (r.log_id, d);
            }
        }
    }
    let steps = steps
        .into_iter()
        .map(|(sub, mut acc)| {
            acc.all.sort_unstable();
            StepSeriesRow {
                step_job_subname: sub.to_string(),
                runs: acc.runs,
                succeeded: acc.succeeded,
                failed: acc.failed,
                avg_run_duration: avg(&acc.all),
                p50_run_duration: percentile(&acc.all, 50).map(seconds),
                p90_run_duration: percentile(&acc.all, 90).map(seconds),
                durations: (0..finished.len())
                    .map(|i| acc.last.get(&i).map(|(_, d)| seconds(*d)))
                    .collect(),
            }
        })
        .collect();
    let n = runs.len() as u64;
    ChainHistory {
        chain_name: chain.to_string(),
        runs_asked,
        run_count: n,
        succeeded,
        failed,
        stopped,
        success_rate: (n > 0).then(|| succeeded as f64 / n as f64),
        avg_run_duration: avg(&run_ms),
        p50_run_duration: percentile(&run_ms, 50).map(seconds),
        p90_run_duration: percentile(&run_ms, 90).map(seconds),
        avg_wait_duration: avg(&wait_ms),
        runs,
        steps,
    }
}

/// The history of `chain` over its last `runs` finished runs, from a view source. A chain
/// unknown to the catalog and without runs is not found.
pub fn chain_history(
    src: &dyn ViewSource,
    chain: &str,
    runs: usize,
) -> Result<ChainHistory, ViewError> {
    if runs == 0 || runs > MAX_RUNS {
        return Err(ViewError::BadRequest(format!(
            "runs {runs} must be between 1 and {MAX_RUNS}"
        )));
    }
    let filter = JobFilter {
        chain: Some(chain.to_string()),
        states: vec![JobState::Succeeded, JobState::Failed, JobState::Stopped],
        // Newest first by request time: a few more than asked, as the order by start may differ.
        limit: Some(runs.saturating_mul(2).max(runs + 16)),
        ..JobFilter::default()
    };
    let jobs = src.jobs_selected(&filter)?;
    if jobs.is_empty() {
        let catalog = src.catalog()?;
        if !catalog.chains.contains_key(chain) {
            return Err(ViewError::NotFound {
                what: "chain",
                name: chain.to_string(),
                nearest: crate::lang::diagnostic::nearest_name(
                    chain,
                    catalog.chains.keys().map(String::as_str),
                ),
            });
        }
    }
    let mut finished = Vec::with_capacity(jobs.len());
    for info in jobs {
        let enqueued = match info.enqueued_at {
            Some(t) => Some(t),
            None => src.enqueued_at(&info.record.job)?,
        };
        let r = info.record;
        finished.push(FinishedRun {
            // A job that started at once waited 0 (as in `stats`).
            wait: Some(enqueued.map_or(0, |e| r.started_at.saturating_sub(e))),
            job: r.job,
            state: r.state,
            error_code: r.error_code,
            started_at: r.started_at,
            ended_at: r.ended_at,
        });
    }
    let mut log = Vec::new();
    for f in &finished {
        let lf = super::LogFilter {
            job: Some(f.job.clone()),
            ..Default::default()
        };
        log.extend(super::log::select(src.log(&lf)?, &lf));
    }
    let mut h = history(chain, finished, &log, runs);
    // Steps in the chain's order (nested steps after their step), as the other views list them.
    if let Some(c) = src.catalog()?.chains.get(chain) {
        let pos = |sub: &str| {
            let top = sub.split('.').next().unwrap_or(sub);
            c.steps
                .iter()
                .position(|s| s.name == top)
                .unwrap_or(usize::MAX)
        };
        h.steps.sort_by(|a, b| {
            pos(&a.step_job_subname)
                .cmp(&pos(&b.step_job_subname))
                .then_with(|| a.step_job_subname.cmp(&b.step_job_subname))
        });
    }
    Ok(h)
}

/// The history as text: a summary, the runs, the steps (table); everything (JSON); the runs
/// (CSV, one row per run, the step series being another shape).
pub fn render_history(h: &ChainHistory, format: Format) -> String {
    let num = |v: Option<f64>| {
        v.map(|f| super::rows::cell_text(&serde_json::json!(f)))
            .unwrap_or_else(|| "-".into())
    };
    match format {
        Format::Json => render::json(h),
        Format::Csv => render::csv(ChainRunRow::COLUMNS, h.runs.iter().map(|r| r.cells())),
        Format::Table => {
            let mut out = format!(
                "chain {}: last {} finished runs (asked {}): {} succeeded, {} failed, {} stopped; \
                 success rate {}\nrun duration avg {} s, p50 {} s, p90 {} s; wait avg {} s\n\n",
                h.chain_name,
                h.run_count,
                h.runs_asked,
                h.succeeded,
                h.failed,
                h.stopped,
                h.success_rate
                    .map(|r| format!("{:.1}%", r * 100.0))
                    .unwrap_or_else(|| "-".into()),
                num(h.avg_run_duration),
                num(h.p50_run_duration),
                num(h.p90_run_duration),
                num(h.avg_wait_duration),
            );
            out.push_str(&render::table(
                ChainRunRow::COLUMNS,
                h.runs.iter().map(|r| r.cells()).collect(),
            ));
            out.push('\n');
            out.push_str(&render::table(
                StepSeriesRow::COLUMNS,
                h.steps.iter().map(|r| r.cells()).collect(),
            ));
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::types::{RunOperation, StepState};

    fn run(job: &str, state: JobState, start: Millis, secs: u64) -> FinishedRun {
        FinishedRun {
            job: job.into(),
            state,
            error_code: Some(0),
            started_at: start,
            ended_at: Some(start + secs * 1000),
            wait: Some(500),
        }
    }

    fn log(id: u64, job: &str, sub: &str, secs: u64) -> LogRow {
        LogRow {
            log_id: id,
            time: 1000 + secs * 1000,
            job: job.into(),
            subname: Some(sub.into()),
            chain: "C".into(),
            step: Some(sub.into()),
            operation: RunOperation::Run,
            status: StepState::Succeeded,
            error_code: 0,
            started_at: Some(1000),
            additional_info: None,
            run: 1,
        }
    }

    #[test]
    fn the_window_keeps_the_last_runs_and_aligns_the_step_series() {
        let finished = vec![
            run("J3", JobState::Failed, 30_000, 3),
            run("J1", JobState::Succeeded, 10_000, 1),
            run("J2", JobState::Succeeded, 20_000, 2),
            run("J4", JobState::Succeeded, 40_000, 4),
        ];
        let log = vec![
            log(1, "J1", "A", 9),
            log(2, "J2", "A", 2),
            log(3, "J4", "A", 4),
            log(4, "J4", "A", 5), // a retry: the last run counts for the series
            log(5, "J3", "B", 1),
        ];
        let h = history("C", finished, &log, 3);
        let names: Vec<&str> = h.runs.iter().map(|r| r.job_name.as_str()).collect();
        assert_eq!(names, ["J2", "J3", "J4"]);
        assert_eq!((h.run_count, h.succeeded, h.failed), (3, 2, 1));
        assert_eq!(h.success_rate, Some(2.0 / 3.0));
        assert_eq!(h.p50_run_duration, Some(3.0));
        assert_eq!(h.p90_run_duration, Some(4.0));
        assert_eq!(h.avg_wait_duration, Some(0.5));
        let a = &h.steps[0];
        assert_eq!(a.step_job_subname, "A");
        assert_eq!(a.runs, 3, "J1's run is outside the window");
        assert_eq!(a.durations, vec![Some(2.0), None, Some(5.0)]);
        assert_eq!(h.steps[1].durations, vec![None, Some(1.0), None]);
        let text = render_history(&h, Format::Table);
        assert!(text.contains("success rate 66.7%"), "{text}");
        assert!(text.contains("2,,5"), "the series in one cell: {text}");
        let csv = render_history(&h, Format::Csv);
        assert_eq!(csv.lines().count(), 4);
        let empty = history("C", Vec::new(), &[], 5);
        assert_eq!(empty.success_rate, None);
        assert!(render_history(&empty, Format::Table).contains("(no rows)"));
    }
}
