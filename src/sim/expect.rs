//! Checking a scenario's `[expect]` tables against what the simulation produced.
//!
//! Why every mismatch is collected (not just the first): a person fixing a rule file wants to
//! see the whole difference at once — expected vs actual for each key — like a test runner.

use super::driver::{SimJob, SimResult};
use super::names::{match_name, resolve_subname};
use super::scenario::{Expectations, JobExpect, RejectedExpect};
use crate::catalog::Catalog;
use crate::core::{LogRow, StepRecord, StepState};
use crate::lang::duration::{format_duration, Millis};
use std::fmt;

/// One expectation that did not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// What was checked: `J1.state`, `J1.steps.A`, `rejected`.
    pub what: String,
    pub expected: String,
    pub actual: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: expected {}, actual {}",
            self.what, self.expected, self.actual
        )
    }
}

fn mismatch(what: String, expected: impl Into<String>, actual: impl Into<String>) -> Mismatch {
    Mismatch {
        what,
        expected: expected.into(),
        actual: actual.into(),
    }
}

fn time_text(t: Option<Millis>) -> String {
    t.map(format_duration).unwrap_or_else(|| "null".into())
}

/// The `log` expectation form of a row: `SUBNAME OPERATION STATUS CODE`, `(chain)` for the
/// chain job's own row.
pub fn log_row_text(row: &LogRow) -> String {
    format!(
        "{} {} {} {}",
        row.subname.as_deref().unwrap_or("(chain)"),
        row.operation.as_str(),
        row.status.as_str(),
        row.error_code
    )
}

/// Every mismatch between `expect` and `result` (empty: the scenario passes).
pub fn check_expectations(
    expect: &Expectations,
    result: &SimResult,
    catalog: &Catalog,
) -> Vec<Mismatch> {
    let mut out = Vec::new();
    if let Some(t) = expect.ended_at {
        if t != result.ended_at {
            out.push(mismatch(
                "ended_at".into(),
                format_duration(t),
                format_duration(result.ended_at),
            ));
        }
    }
    match &expect.rejected {
        None => {}
        Some(RejectedExpect::Count(n)) if *n != result.rejected.len() => {
            let list: Vec<String> = result.rejected.iter().map(rejected_text).collect();
            out.push(mismatch(
                "rejected".into(),
                format!("{n} refused interventions"),
                format!("{} {:?}", result.rejected.len(), list),
            ));
        }
        Some(RejectedExpect::Count(_)) => {}
        Some(RejectedExpect::List(want)) => {
            let got: Vec<String> = result.rejected.iter().map(rejected_text).collect();
            let want: Vec<String> = want
                .iter()
                .map(|w| w.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect();
            if want != got {
                out.push(mismatch(
                    "rejected".into(),
                    format!("{want:?}"),
                    format!("{got:?}"),
                ));
            }
        }
    }
    for je in &expect.jobs {
        let names = result.jobs.iter().map(|j| j.record.job.as_str());
        match match_name(&je.job, names.clone()) {
            None => out.push(mismatch(
                je.job.clone(),
                "a job of that name",
                format!(
                    "no such job (jobs: {})",
                    names.collect::<Vec<_>>().join(", ")
                ),
            )),
            Some(name) => {
                if let Some(job) = result.jobs.iter().find(|j| j.record.job == name) {
                    check_job(je, job, result, catalog, &mut out);
                }
            }
        }
    }
    out
}

fn rejected_text(r: &super::driver::Rejected) -> String {
    format!(
        "{} {}: {}",
        format_duration(r.time),
        r.intervention,
        r.error
    )
}

fn check_job(
    e: &JobExpect,
    job: &SimJob,
    result: &SimResult,
    catalog: &Catalog,
    out: &mut Vec<Mismatch>,
) {
    let j = &e.job;
    let rec = &job.record;
    if let Some(state) = e.state {
        if state != rec.state {
            out.push(mismatch(
                format!("{j}.state"),
                state.as_str(),
                rec.state.as_str(),
            ));
        }
    }
    if let Some(code) = e.error_code {
        if code != rec.error_code {
            out.push(mismatch(
                format!("{j}.error_code"),
                code_text(code),
                code_text(rec.error_code),
            ));
        }
    }
    if let Some(t) = e.started_at {
        if t != rec.started_at {
            out.push(mismatch(
                format!("{j}.started_at"),
                format_duration(t),
                format_duration(rec.started_at),
            ));
        }
    }
    if let Some(t) = e.enqueued_at {
        if t != rec.enqueued_at {
            out.push(mismatch(
                format!("{j}.enqueued_at"),
                time_text(t),
                time_text(rec.enqueued_at),
            ));
        }
    }
    if let Some(t) = e.ended_at {
        if t != rec.ended_at {
            out.push(mismatch(
                format!("{j}.ended_at"),
                time_text(t),
                time_text(rec.ended_at),
            ));
        }
    }
    for (name, want) in &e.steps {
        let what = format!("{j}.steps.{name}");
        match find_step(job, name, catalog) {
            Err(m) => out.push(mismatch(what, want.to_string(), m)),
            Ok(None) => {
                if want.state != StepState::NotStarted || want.error_code.is_some() {
                    out.push(mismatch(
                        what,
                        want.to_string(),
                        "NOT_STARTED (its nested chain never started)",
                    ));
                }
            }
            Ok(Some(s)) => {
                let state_ok = want.state == s.state;
                let code_ok = want.error_code.is_none() || want.error_code == s.error_code;
                if !state_ok || !code_ok {
                    out.push(mismatch(what, want.to_string(), step_text(s)));
                }
            }
        }
    }
    for (name, n) in &e.attempts {
        let what = format!("{j}.attempts.{name}");
        match find_step(job, name, catalog) {
            Err(m) => out.push(mismatch(what, n.to_string(), m)),
            Ok(s) => {
                let got = s.map(|s| s.attempts).unwrap_or(0);
                if got != *n {
                    out.push(mismatch(what, n.to_string(), got.to_string()));
                }
            }
        }
    }
    for (key, list, pick) in [
        (
            "step_started",
            &e.step_started,
            (|s: &StepRecord| s.started_at) as fn(&StepRecord) -> Option<Millis>,
        ),
        ("step_ended", &e.step_ended, |s: &StepRecord| s.ended_at),
    ] {
        for (name, t) in list {
            let what = format!("{j}.{key}.{name}");
            match find_step(job, name, catalog) {
                Err(m) => out.push(mismatch(what, time_text(*t), m)),
                Ok(s) => {
                    let got = s.and_then(pick);
                    if got != *t {
                        out.push(mismatch(what, time_text(*t), time_text(got)));
                    }
                }
            }
        }
    }
    for (name, want) in &e.variables {
        let got = job
            .variables
            .get(name)
            .map(|v| v.value.clone())
            .or_else(|| rec.parameters.get(name).cloned());
        if got != *want {
            let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "null".into());
            out.push(mismatch(
                format!("{j}.variables.{name}"),
                text(want),
                text(&got),
            ));
        }
    }
    let rows: Vec<&LogRow> = result.log.iter().filter(|r| r.job == rec.job).collect();
    if let Some(n) = e.log_rows {
        if n != rows.len() {
            let texts: Vec<String> = rows.iter().map(|r| log_row_text(r)).collect();
            out.push(mismatch(
                format!("{j}.log_rows"),
                n.to_string(),
                format!("{} {:?}", rows.len(), texts),
            ));
        }
    }
    if let Some(want) = &e.log {
        let got: Vec<String> = rows.iter().map(|r| log_row_text(r)).collect();
        if *want != got {
            out.push(mismatch(
                format!("{j}.log"),
                format!("{want:?}"),
                format!("{got:?}"),
            ));
        }
    }
    if let Some(want) = &e.notifications {
        let got: Vec<String> = result
            .notifications
            .iter()
            .filter(|n| n.job == rec.job)
            .map(|n| n.text())
            .collect();
        if *want != got {
            out.push(mismatch(
                format!("{j}.notifications"),
                format!("{want:?}"),
                format!("{got:?}"),
            ));
        }
    }
}

fn code_text(c: Option<i64>) -> String {
    c.map(|c| c.to_string()).unwrap_or_else(|| "null".into())
}

fn step_text(s: &StepRecord) -> String {
    match s.error_code {
        Some(c) if s.state == StepState::Failed || c != 0 && s.state != StepState::Stopped => {
            format!("{} {c}", s.state.as_str())
        }
        _ => s.state.as_str().to_string(),
    }
}

/// A step of the job by subname: `Ok(None)` when the name is a step of a nested chain that
/// never started (so it has no record); `Err` with a message when no such step exists.
fn find_step<'a>(
    job: &'a SimJob,
    name: &str,
    catalog: &Catalog,
) -> Result<Option<&'a StepRecord>, String> {
    if let Some(found) = match_name(name, job.steps.iter().map(|s| s.subname.as_str())) {
        return Ok(job.steps.iter().find(|s| s.subname == found));
    }
    match resolve_subname(catalog, &job.record.chain, name) {
        Ok(_) => Ok(None),
        Err(m) => Err(format!("no such step ({m})")),
    }
}
