//! The views over a [`ViewSource`]: read what is needed, filter, build rows.
//!
//! Both the HTTP server and the CLI (embedded store) call these functions, so a view means the
//! same thing everywhere. Reads are proportional to what is shown: job lists are filtered and
//! limited before steps and timelines of the shown jobs are read.

use super::{
    catalog_views, explain as explain_mod, jobs as jobs_mod, log as log_mod, running,
    stats as stats_mod, timeline as timeline_mod,
};
use super::{
    ChainRow, ChainRuleRow, ChainStepRow, Explanation, JobFilter, JobInfo, JobLogRow, JobRow,
    LogFilter, RunDetailsRow, RunningChainRow, StatsRow, TimelineRow, ViewError, ViewSource,
};
use crate::core::types::JobState;
use crate::lang::duration::Millis;
use std::collections::HashMap;

fn not_found(what: &'static str, name: &str) -> ViewError {
    ViewError::NotFound {
        what,
        name: name.to_string(),
        nearest: None,
    }
}

/// Fill in `enqueued_at` from the timeline when the source did not know it.
fn with_enqueued(src: &dyn ViewSource, mut info: JobInfo) -> Result<JobInfo, ViewError> {
    if info.enqueued_at.is_none() {
        info.enqueued_at = src.enqueued_at(&info.record.job)?;
    }
    Ok(info)
}

fn row_for(src: &dyn ViewSource, info: JobInfo, now: Millis) -> Result<JobRow, ViewError> {
    let info = with_enqueued(src, info)?;
    let steps = src.steps(&info.record.job)?;
    let reason = if info.record.state == JobState::ChainStalled {
        let records: Vec<_> = steps.iter().map(|s| s.record.clone()).collect();
        explain_mod::stall_reason(&info.record, &*src.catalog()?, &records, now)
    } else {
        None
    };
    let mut row = jobs_mod::job_row(&info, &steps, reason, now);
    for (name, v) in src.variables(&info.record.job)? {
        row.variables_set_by.insert(name.clone(), v.set_by);
        row.variables.insert(name, v.value);
    }
    Ok(row)
}

/// The jobs view.
pub fn jobs(
    src: &dyn ViewSource,
    filter: &JobFilter,
    now: Millis,
) -> Result<Vec<JobRow>, ViewError> {
    let chosen = match &filter.job {
        Some(j) => jobs_mod::select(src.job(j)?.into_iter().collect(), filter),
        None => src.jobs_selected(filter)?,
    };
    chosen
        .into_iter()
        .map(|info| row_for(src, info, now))
        .collect()
}

/// One jobs row.
pub fn job(src: &dyn ViewSource, job: &str, now: Millis) -> Result<JobRow, ViewError> {
    let info = src.job(job)?.ok_or_else(|| not_found("job", job))?;
    row_for(src, info, now)
}

/// running_chains rows: of one job (`history`: also when it is not running, for the last
/// states of a finished job), or of every running and stalled job.
pub fn running_chains(
    src: &dyn ViewSource,
    job: Option<&str>,
    history: bool,
    now: Millis,
) -> Result<Vec<RunningChainRow>, ViewError> {
    let chosen: Vec<JobInfo> = match job {
        Some(j) => vec![src.job(j)?.ok_or_else(|| not_found("job", j))?],
        None => {
            let mut all = src.active_jobs()?;
            all.retain(|j| running::is_active(j.record.state));
            all.sort_by(|a, b| a.record.job.cmp(&b.record.job));
            all
        }
    };
    let mut out = Vec::new();
    for info in chosen {
        let steps = src.steps(&info.record.job)?;
        let mut rows = if history {
            running::step_rows(&info.record, &steps, now)
        } else {
            running::running_chain_rows(&info.record, &steps, now)
        };
        if !rows.is_empty() {
            // Which step set each variable (the last one to set it).
            let vars = src.variables(&info.record.job)?;
            for row in &mut rows {
                row.set_variables = super::variables_text(
                    vars.iter()
                        .filter(|(_, v)| v.set_by == row.step_job_subname)
                        .map(|(k, v)| (k.as_str(), v.value.as_str())),
                );
            }
        }
        out.extend(rows);
    }
    Ok(out)
}

/// The job_log view.
pub fn job_log(src: &dyn ViewSource, filter: &LogFilter) -> Result<Vec<JobLogRow>, ViewError> {
    Ok(log_mod::select(src.log(filter)?, filter)
        .iter()
        .map(log_mod::log_row)
        .collect())
}

/// The job_run_details row of one log row.
pub fn run_details(src: &dyn ViewSource, log_id: u64) -> Result<RunDetailsRow, ViewError> {
    src.details(log_id)?
        .map(|d| log_mod::details_row(&d))
        .ok_or_else(|| not_found("log row", &log_id.to_string()))
}

/// The timeline of one job.
pub fn timeline(src: &dyn ViewSource, job: &str) -> Result<Vec<TimelineRow>, ViewError> {
    if src.job(job)?.is_none() {
        return Err(not_found("job", job));
    }
    Ok(timeline_mod::timeline_rows(&src.timeline(job)?))
}

fn known_chain(src: &dyn ViewSource, chain: Option<&str>) -> Result<(), ViewError> {
    match chain {
        Some(c) => {
            let catalog = src.catalog()?;
            if catalog.chains.contains_key(c) {
                return Ok(());
            }
            Err(ViewError::NotFound {
                what: "chain",
                name: c.to_string(),
                nearest: crate::lang::diagnostic::nearest_name(
                    c,
                    catalog.chains.keys().map(String::as_str),
                ),
            })
        }
        _ => Ok(()),
    }
}

pub fn chains(src: &dyn ViewSource, chain: Option<&str>) -> Result<Vec<ChainRow>, ViewError> {
    known_chain(src, chain)?;
    Ok(catalog_views::chains(&*src.catalog()?, chain))
}

pub fn chain_steps(
    src: &dyn ViewSource,
    chain: Option<&str>,
) -> Result<Vec<ChainStepRow>, ViewError> {
    known_chain(src, chain)?;
    Ok(catalog_views::chain_steps(&*src.catalog()?, chain))
}

/// The programs view (optionally one program; an unknown one is "not found", with the
/// nearest name).
pub fn programs(
    src: &dyn ViewSource,
    program: Option<&str>,
) -> Result<Vec<super::ProgramRow>, ViewError> {
    let catalog = src.catalog()?;
    if let Some(p) = program {
        if !catalog.programs.contains_key(p) {
            return Err(ViewError::NotFound {
                what: "program",
                name: p.to_string(),
                nearest: crate::lang::diagnostic::nearest_name(
                    p,
                    catalog.programs.keys().map(String::as_str),
                ),
            });
        }
    }
    Ok(catalog_views::programs(&catalog, program))
}

pub fn chain_rules(
    src: &dyn ViewSource,
    chain: Option<&str>,
) -> Result<Vec<ChainRuleRow>, ViewError> {
    known_chain(src, chain)?;
    Ok(catalog_views::chain_rules(&*src.catalog()?, chain))
}

/// The stats view over the whole log (optionally one chain).
pub fn stats(src: &dyn ViewSource, chain: Option<&str>) -> Result<Vec<StatsRow>, ViewError> {
    let filter = LogFilter {
        chain: chain.map(String::from),
        ..Default::default()
    };
    let log = log_mod::select(src.log(&filter)?, &filter);
    let mut job_waits = HashMap::new();
    for info in src.jobs()? {
        if chain.is_some_and(|c| c != info.record.chain) || !info.record.state.is_finished() {
            continue;
        }
        let info = with_enqueued(src, info)?;
        let wait = info
            .enqueued_at
            .map_or(0, |e| info.record.started_at.saturating_sub(e));
        job_waits.insert(info.record.job.clone(), wait);
    }
    let mut step_waits = HashMap::new();
    for r in log.iter().filter(|r| r.subname.is_some()) {
        if let Some(d) = src.details(r.log_id)? {
            if let (Some(req), Some(act)) = (d.req_start, d.actual_start) {
                step_waits.insert(r.log_id, act.saturating_sub(req));
            }
        }
    }
    Ok(stats_mod::stats_rows(&log, &job_waits, &step_waits, chain))
}

/// The explain view of one job.
pub fn explain(src: &dyn ViewSource, job: &str, now: Millis) -> Result<Explanation, ViewError> {
    let info = src.job(job)?.ok_or_else(|| not_found("job", job))?;
    let steps: Vec<_> = src.steps(job)?.into_iter().map(|s| s.record).collect();
    let timeline = src.timeline(job)?;
    let mut vars = info.record.parameters.clone();
    for (name, v) in src.variables(job)? {
        vars.insert(name, v.value);
    }
    Ok(explain_mod::explain_vars(
        &info.record,
        &*src.catalog()?,
        &steps,
        &timeline,
        &vars,
        now,
    ))
}

/// The schedules view: every scheduled job definition the scheduler keeps, by job name.
pub fn schedules(src: &dyn ViewSource) -> Result<Vec<super::ScheduleRow>, ViewError> {
    Ok(super::schedules::schedule_rows(&src.schedules()?))
}
