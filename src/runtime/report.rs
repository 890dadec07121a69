//! The final view of jobs run for real, read back from the store: the same typed result the
//! simulator produces ([`SimResult`]), with every time rebased to durations since the first of
//! the jobs started, so `run --format json` prints exactly `simulate`'s JSON shape.

use crate::core::types::{JobRecord, StepState};
use crate::lang::duration::{format_duration, Millis};
use crate::sim::{SimJob, SimResult};
use crate::store::{ChainStore, StoreError};
use std::fmt::Write as _;

/// Read `jobs` (in this order) from the store, rebased to the earliest start among them.
pub fn sim_result(store: &ChainStore, jobs: &[String]) -> Result<SimResult, StoreError> {
    let mut records: Vec<JobRecord> = Vec::new();
    for j in jobs {
        if let Some(r) = store.job(j)? {
            records.push(r);
        }
    }
    let base = records.iter().map(|r| r.started_at).min().unwrap_or(0);
    let rel = |t: Millis| t.saturating_sub(base);
    let mut out = SimResult {
        ended_at: 0,
        jobs: Vec::new(),
        log: Vec::new(),
        timeline: Vec::new(),
        rejected: Vec::new(),
        notes: Vec::new(),
        notifications: Vec::new(),
    };
    for mut record in records {
        let job = record.job.clone();
        let mut steps = store.steps(&job)?;
        for s in &mut steps {
            s.started_at = s.started_at.map(rel);
            s.ended_at = s.ended_at.map(rel);
        }
        for mut row in store.job_log(&job)? {
            row.time = rel(row.time);
            row.started_at = row.started_at.map(rel);
            out.log.push(row);
        }
        for mut e in store.timeline(&job)? {
            e.time = rel(e.time);
            out.timeline.push(e);
        }
        record.started_at = rel(record.started_at);
        record.ended_at = record.ended_at.map(rel);
        out.ended_at = out
            .ended_at
            .max(record.ended_at.unwrap_or(record.started_at));
        let mut variables = store.variables(&job)?;
        for v in variables.values_mut() {
            v.set_at = rel(v.set_at);
        }
        out.jobs.push(SimJob {
            record,
            steps,
            variables,
        });
    }
    out.log.sort_by_key(|r| r.log_id);
    out.timeline.sort_by_key(|e| e.time);
    Ok(out)
}

fn t(ms: Option<Millis>) -> String {
    ms.map(format_duration).unwrap_or_else(|| "-".into())
}

/// The human final view: per job its steps (nested indented), then its job-log rows.
pub fn table(result: &SimResult) -> String {
    let mut out = String::new();
    for j in &result.jobs {
        let r = &j.record;
        let code = match (r.state.is_finished(), r.error_code) {
            (true, Some(c)) if c != 0 => format!(" (error code {c})"),
            _ => String::new(),
        };
        let took = r
            .ended_at
            .map(|e| format!(" in {}", format_duration(e.saturating_sub(r.started_at))))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "job {} (chain {}): {}{code}{took}",
            r.job,
            r.chain,
            r.state.as_str()
        );
        if let Some(why) = &r.stall_reason {
            let _ = writeln!(out, "  stalled: {why}");
        }
        let mut depth = std::collections::HashMap::new();
        let rows: Vec<[String; 5]> = j
            .steps
            .iter()
            .map(|s| {
                let d = s
                    .parent_subname
                    .as_ref()
                    .map(|p| depth.get(p).copied().unwrap_or(0) + 1)
                    .unwrap_or(0);
                depth.insert(s.subname.clone(), d);
                let state = match (s.state, s.error_code) {
                    (StepState::Failed, Some(c)) => format!("FAILED {c}"),
                    (st, _) => st.as_str().to_string(),
                };
                [
                    format!("{}{}", "  ".repeat(d), s.step),
                    state,
                    s.attempts.to_string(),
                    t(s.started_at),
                    t(s.ended_at),
                ]
            })
            .collect();
        let head = ["STEP", "STATE", "ATTEMPTS", "STARTED", "ENDED"];
        let w: Vec<usize> = (0..5)
            .map(|i| {
                rows.iter()
                    .map(|r| r[i].chars().count())
                    .chain([head[i].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |c: &[&str]| {
            format!(
                "  {:<w0$}  {:<w1$}  {:>w2$}  {:>w3$}  {:>w4$}\n",
                c[0],
                c[1],
                c[2],
                c[3],
                c[4],
                w0 = w[0],
                w1 = w[1],
                w2 = w[2],
                w3 = w[3],
                w4 = w[4]
            )
        };
        out.push_str(&line(&head));
        for r in &rows {
            let cells: Vec<&str> = r.iter().map(String::as_str).collect();
            out.push_str(&line(&cells));
        }
        let log: Vec<_> = result.log.iter().filter(|l| l.job == r.job).collect();
        if !log.is_empty() {
            out.push_str("  job log:\n");
            for l in log {
                let _ = writeln!(
                    out,
                    "    {:>5}  {:>8}  {:<16}  {:<12}  {:<9}  {}",
                    l.log_id,
                    format_duration(l.time),
                    l.subname.as_deref().unwrap_or("(job)"),
                    l.operation.as_str(),
                    l.status.as_str(),
                    l.error_code
                );
            }
        }
        out.push('\n');
    }
    out
}
