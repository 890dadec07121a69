//! Rendering a [`SimResult`]: the stable JSON shape of `simulate --format json` (docs/testing-chains.md), and a table for people.
//!
//! Why typed structs rather than `json!`: field order is part of the contract (scripts and the
//! hidden acceptance tests compare it), and a struct's declaration order is its serialized
//! order. Times are virtual durations from 0, written as `"35s"`, `"1m40s"`.

use super::driver::SimResult;
use crate::lang::duration::{format_duration, Millis};
use serde::Serialize;
use std::fmt::Write as _;

#[derive(Debug, Serialize)]
pub struct SimJson {
    pub ended_at: String,
    pub jobs: Vec<JobJson>,
    pub log: Vec<LogJson>,
    pub timeline: Vec<TimelineJson>,
    pub rejected: Vec<RejectedJson>,
}

#[derive(Debug, Serialize)]
pub struct JobJson {
    pub job: String,
    pub chain: String,
    pub state: String,
    pub error_code: Option<i64>,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub steps: Vec<StepJson>,
    /// Variables steps set: name → value and the step that set it (absent when none).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub variables: std::collections::BTreeMap<String, VariableJson>,
}

#[derive(Debug, Serialize)]
pub struct VariableJson {
    pub value: String,
    pub set_by: String,
    pub set_at: String,
}

#[derive(Debug, Serialize)]
pub struct StepJson {
    pub subname: String,
    pub chain: String,
    pub step: String,
    pub state: String,
    pub error_code: Option<i64>,
    pub attempts: u32,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct LogJson {
    pub log_id: u64,
    pub time: String,
    pub job: String,
    pub subname: Option<String>,
    pub operation: String,
    pub status: String,
    pub error_code: i64,
}

#[derive(Debug, Serialize)]
pub struct TimelineJson {
    pub time: String,
    pub job: String,
    pub kind: String,
    pub detail: String,
    /// How a step that became RUNNING or SCHEDULED was started, and by which rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_rule: Option<String>,
}

/// `(rule R2)`, `(retry)`, `(after, rule R3)`: how a step was started, for tables.
pub fn started_text(s: &crate::core::types::StartedBy) -> String {
    match (&s.how, &s.rule) {
        (crate::core::types::StartHow::Rule, Some(r)) => format!("rule {r}"),
        (how, Some(r)) => format!("{}, rule {r}", how.as_str()),
        (how, None) => how.as_str().to_string(),
    }
}

#[derive(Debug, Serialize)]
pub struct RejectedJson {
    pub time: String,
    pub intervention: String,
    pub error: String,
}

fn t(ms: Millis) -> String {
    format_duration(ms)
}

fn opt(ms: Option<Millis>) -> Option<String> {
    ms.map(format_duration)
}

/// The serde spelling of an enum value (`rule_fired`, `RETRY SCHEDULED`).
fn spelling<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

impl SimJson {
    pub fn new(r: &SimResult) -> Self {
        SimJson {
            ended_at: t(r.ended_at),
            jobs: r
                .jobs
                .iter()
                .map(|j| JobJson {
                    job: j.record.job.clone(),
                    chain: j.record.chain.clone(),
                    state: j.record.state.as_str().to_string(),
                    error_code: j.record.error_code,
                    started_at: Some(t(j.record.started_at)),
                    ended_at: opt(j.record.ended_at),
                    steps: j
                        .steps
                        .iter()
                        .map(|s| StepJson {
                            subname: s.subname.clone(),
                            chain: s.chain.clone(),
                            step: s.step.clone(),
                            state: s.state.as_str().to_string(),
                            error_code: s.error_code,
                            attempts: s.attempts,
                            started_at: opt(s.started_at),
                            ended_at: opt(s.ended_at),
                        })
                        .collect(),
                    variables: j
                        .variables
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                VariableJson {
                                    value: v.value.clone(),
                                    set_by: v.set_by.clone(),
                                    set_at: t(v.set_at),
                                },
                            )
                        })
                        .collect(),
                })
                .collect(),
            log: r
                .log
                .iter()
                .map(|l| LogJson {
                    log_id: l.log_id,
                    time: t(l.time),
                    job: l.job.clone(),
                    subname: l.subname.clone(),
                    operation: l.operation.as_str().to_string(),
                    status: l.status.as_str().to_string(),
                    error_code: l.error_code,
                })
                .collect(),
            timeline: r
                .timeline
                .iter()
                .map(|e| TimelineJson {
                    time: t(e.time),
                    job: e.job.clone(),
                    kind: spelling(&e.kind),
                    detail: e.detail.clone(),
                    started_by: e.started_by.as_ref().map(|s| s.how.as_str().to_string()),
                    by_rule: e.started_by.as_ref().and_then(|s| s.rule.clone()),
                })
                .collect(),
            rejected: r
                .rejected
                .iter()
                .map(|x| RejectedJson {
                    time: t(x.time),
                    intervention: x.intervention.clone(),
                    error: x.error.clone(),
                })
                .collect(),
        }
    }
}

/// `--format json`: pretty-printed, ending with a newline.
pub fn to_json(r: &SimResult) -> String {
    let mut s = serde_json::to_string_pretty(&SimJson::new(r))
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

/// `--format table`: per job its step tree (nested steps indented), then the timeline and any
/// refused interventions.
pub fn to_table(r: &SimResult) -> String {
    let mut out = String::new();
    for j in &r.jobs {
        let rec = &j.record;
        let code = rec.error_code.map(|c| format!(" {c}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "job {} (chain {}): {}{}   {} -> {}",
            rec.job,
            rec.chain,
            rec.state.as_str(),
            if rec.state == crate::core::JobState::Failed {
                code
            } else {
                String::new()
            },
            t(rec.started_at),
            opt(rec.ended_at).unwrap_or_else(|| "-".into()),
        );
        let depths = depths(&j.steps);
        let width = j
            .steps
            .iter()
            .map(|s| depths.get(&s.subname).copied().unwrap_or(0) * 2 + s.step.chars().count())
            .max()
            .unwrap_or(4)
            .max(4);
        let _ = writeln!(
            out,
            "  {:<width$}  {:<22}  {:>8}  {:>8}  {:>8}",
            "STEP", "STATE", "ATTEMPTS", "STARTED", "ENDED"
        );
        for s in &j.steps {
            let indent = depths.get(&s.subname).copied().unwrap_or(0);
            let name = format!("{}{}", "  ".repeat(indent), s.step);
            let state = match (s.state, s.error_code) {
                (crate::core::StepState::Failed, Some(c)) => format!("FAILED {c}"),
                (st, _) => st.as_str().to_string(),
            };
            let _ = writeln!(
                out,
                "  {:<width$}  {:<22}  {:>8}  {:>8}  {:>8}",
                name,
                state,
                s.attempts,
                opt(s.started_at).unwrap_or_else(|| "-".into()),
                opt(s.ended_at).unwrap_or_else(|| "-".into()),
            );
        }
        if !j.variables.is_empty() {
            out.push_str("  variables:\n");
            for (name, v) in &j.variables {
                let _ = writeln!(
                    out,
                    "    {name} = '{}'   (set by {} at {})",
                    v.value.replace('\'', "''"),
                    v.set_by,
                    t(v.set_at)
                );
            }
        }
        out.push('\n');
    }
    if !r.timeline.is_empty() {
        out.push_str("timeline:\n");
        let tw = r
            .timeline
            .iter()
            .map(|e| t(e.time).len())
            .max()
            .unwrap_or(2);
        for e in &r.timeline {
            let who = match &e.subname {
                Some(s) => format!("{} {}", e.job, s),
                None => e.job.clone(),
            };
            let _ = writeln!(
                out,
                "  {:>tw$}  {}  {}: {}",
                t(e.time),
                who,
                spelling(&e.kind),
                match &e.started_by {
                    Some(s) => format!("{} ({})", e.detail, started_text(s)),
                    None => e.detail.clone(),
                }
            );
        }
        out.push('\n');
    }
    if !r.notifications.is_empty() {
        out.push_str("notifications owed:\n");
        for n in &r.notifications {
            let _ = writeln!(out, "  {}  {}", n.job, n.text());
        }
        out.push('\n');
    }
    if !r.rejected.is_empty() {
        out.push_str("rejected:\n");
        for x in &r.rejected {
            let _ = writeln!(out, "  {}  {}: {}", t(x.time), x.intervention, x.error);
        }
        out.push('\n');
    }
    for n in &r.notes {
        let _ = writeln!(out, "note: {n}");
    }
    let _ = writeln!(out, "simulation ended at {}", t(r.ended_at));
    out
}

/// Nesting depth of each step (0 at top level), from the records' parent links.
fn depths(steps: &[crate::core::StepRecord]) -> std::collections::HashMap<String, usize> {
    let mut out = std::collections::HashMap::new();
    for s in steps {
        let d = s
            .parent_subname
            .as_ref()
            .map(|p| out.get(p).copied().unwrap_or(0) + 1)
            .unwrap_or(0);
        out.insert(s.subname.clone(), d);
    }
    out
}
