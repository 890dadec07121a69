//! gantt: every run of every step of one job on a time axis (the dashboard's Gantt tab,
//! `GET /api/v1/jobs/{job}/gantt`).
//!
//! Why a view of its own rather than letting the page stitch the log, the timeline and the run
//! details together: the same bars must mean the same thing everywhere (tests read them from
//! the API), and the pieces only line up in one place. The sources are:
//! * the job log, one row per finished run (retries and recovery runs are rows of their own):
//!   a bar each, from its requested start (run details, else the attempt's start) to its log
//!   time; its actual start (run details) marks the queue wait;
//! * the step record, for the run still open (RUNNING, SCHEDULED, RETRY SCHEDULED, PAUSED);
//! * the timeline, for when a run was SCHEDULED (an AFTER delay or a retry's wait) and which
//!   rule started it (the last `rule_fired` of its chain instance naming the step).
//!
//! The critical path is walked back from the run that ended last: each run's predecessor is
//! the run, in the same chain instance, that ended last before it began, preferring the steps
//! its starting rule tests; a nested chain's step continues into the nested runs.

use super::time::rfc3339;
use super::{JobInfo, LogFilter, StepInfo, ViewError, ViewSource};
use crate::catalog::{Catalog, StepTarget};
use crate::core::types::{LogRow, StepState, TimelineEntry, TimelineKind};
use crate::lang::duration::Millis;
use crate::store::RunDetails;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// One row of the chart: a step of the job (nested steps after their outer step).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GanttRow {
    pub step_job_subname: String,
    /// Subname of the outer step when the step belongs to a nested chain.
    pub parent_subname: Option<String>,
    /// 0 at top level, 1 inside a nested chain, …
    pub depth: u32,
    pub chain_name: String,
    pub step_name: String,
    /// PROGRAM, CHAIN or EVENT.
    pub kind: String,
    /// The step's state now.
    pub state: String,
}

/// One run of a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GanttBar {
    pub step_job_subname: String,
    /// 1 for the step's first run, 2 for the next (a retry, a recovery run, a restart), …
    pub run: u32,
    /// RUN, RETRY_RUN, RECOVERY_RUN (from the job log); null while the run is open.
    pub operation: Option<String>,
    /// SUCCEEDED, FAILED, STOPPED for a finished run; the step's state while it is open.
    pub state: String,
    /// When the run was SCHEDULED (AFTER delay, or a retry's wait), if it was.
    pub scheduled_date: Option<String>,
    /// When the engine asked for the run (the step became RUNNING).
    pub requested_date: Option<String>,
    /// When the process or handler really started (after the queue wait).
    pub actual_start_date: Option<String>,
    /// When the run ended; null while it is open.
    pub end_date: Option<String>,
    pub error_code: Option<i64>,
    /// The rule that started the step.
    pub rule_name: Option<String>,
    /// The run is on the critical path.
    pub critical: bool,
    pub log_id: Option<u64>,
}

/// The Gantt of one job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gantt {
    pub job_name: String,
    pub chain_name: String,
    pub state: String,
    pub start_date: String,
    pub end_date: Option<String>,
    /// The engine's time when the chart was made (the right edge of open bars).
    pub now: String,
    pub rows: Vec<GanttRow>,
    pub bars: Vec<GanttBar>,
}

/// A bar before it is rendered to text: instants in milliseconds.
#[derive(Debug, Clone)]
struct Run {
    sub: String,
    parent: Option<String>,
    chain: String,
    step: String,
    kind: &'static str,
    operation: Option<String>,
    state: String,
    scheduled: Option<Millis>,
    requested: Option<Millis>,
    actual: Option<Millis>,
    end: Option<Millis>,
    error_code: Option<i64>,
    rule: Option<String>,
    log_id: Option<u64>,
}

impl Run {
    fn begin(&self) -> Option<Millis> {
        self.scheduled.or(self.requested)
    }
}

fn kind_of(catalog: &Catalog, chain: &str, step: &str) -> &'static str {
    let target = catalog
        .chains
        .get(chain)
        .and_then(|c| c.steps.iter().find(|s| s.name == step))
        .map(|s| &s.kind);
    match target {
        Some(StepTarget::Chain(_)) => "CHAIN",
        Some(StepTarget::Event { .. }) => "EVENT",
        _ => "PROGRAM",
    }
}

/// The state a `step_state` timeline entry of `sub` reports (`A RUNNING`, `A FAILED 20001`).
fn entry_state(sub: &str, detail: &str) -> Option<StepState> {
    let rest = detail.strip_prefix(sub)?.strip_prefix(' ')?;
    [
        StepState::RetryScheduled,
        StepState::NotStarted,
        StepState::Scheduled,
        StepState::Running,
        StepState::Paused,
        StepState::Stalled,
        StepState::Succeeded,
        StepState::Failed,
        StepState::Stopped,
    ]
    .into_iter()
    .find(|s| {
        rest == s.as_str()
            || rest
                .strip_prefix(s.as_str())
                .is_some_and(|r| r.starts_with(' '))
    })
}

/// Does the action text of a rule (`START A, B`, `START A AFTER 5s`) name `step`?
fn action_names(action: &str, step: &str) -> bool {
    action
        .split(|c: char| c == ',' || c.is_whitespace())
        .any(|w| w == step || w.trim_matches('"') == step)
}

/// Build the chart. `log`: the job's log rows (any order); `details`: by log id.
pub fn gantt(
    job: &JobInfo,
    steps: &[StepInfo],
    timeline: &[TimelineEntry],
    log: &[LogRow],
    details: &HashMap<u64, RunDetails>,
    catalog: &Catalog,
    now: Millis,
) -> Gantt {
    let rows: Vec<GanttRow> = steps
        .iter()
        .map(|s| {
            let r = &s.record;
            GanttRow {
                step_job_subname: r.subname.clone(),
                parent_subname: r.parent_subname.clone(),
                depth: r.subname.matches('.').count() as u32,
                chain_name: r.chain.clone(),
                step_name: r.step.clone(),
                kind: kind_of(catalog, &r.chain, &r.step).to_string(),
                state: r.state.as_str().to_string(),
            }
        })
        .collect();
    let row_of: HashMap<&str, &GanttRow> = rows
        .iter()
        .map(|r| (r.step_job_subname.as_str(), r))
        .collect();

    // SCHEDULED / RETRY SCHEDULED instants per step, and rules fired per chain instance.
    let mut scheduled: HashMap<&str, Vec<Millis>> = HashMap::new();
    let mut fired: HashMap<Option<&str>, Vec<(Millis, &str, &str)>> = HashMap::new();
    for e in timeline {
        match e.kind {
            TimelineKind::StepState => {
                let Some(sub) = e.subname.as_deref() else {
                    continue;
                };
                if matches!(
                    entry_state(sub, &e.detail),
                    Some(StepState::Scheduled | StepState::RetryScheduled)
                ) {
                    scheduled.entry(sub).or_default().push(e.time);
                }
            }
            TimelineKind::RuleFired => {
                if let Some((rule, action)) = e.detail.split_once(": ") {
                    fired
                        .entry(e.subname.as_deref())
                        .or_default()
                        .push((e.time, rule, action));
                }
            }
            _ => {}
        }
    }
    let mut log: Vec<&LogRow> = log
        .iter()
        .filter(|r| r.job == job.record.job && r.subname.is_some())
        .collect();
    log.sort_by_key(|r| r.log_id);

    let mut runs: Vec<Run> = Vec::new();
    let mut last_end: HashMap<String, Millis> = HashMap::new();
    let new_run = |sub: &str, fallback_chain: &str, fallback_step: &str| -> Run {
        let row = row_of.get(sub);
        let chain = row.map_or(fallback_chain, |r| r.chain_name.as_str());
        let step = row.map_or(fallback_step, |r| r.step_name.as_str());
        Run {
            sub: sub.to_string(),
            parent: row.and_then(|r| r.parent_subname.clone()),
            chain: chain.to_string(),
            step: step.to_string(),
            kind: kind_of(catalog, chain, step),
            operation: None,
            state: String::new(),
            scheduled: None,
            requested: None,
            actual: None,
            end: None,
            error_code: None,
            rule: None,
            log_id: None,
        }
    };
    for r in &log {
        let Some(sub) = r.subname.as_deref() else {
            continue;
        };
        let d = details.get(&r.log_id);
        let mut run = new_run(sub, &r.chain, r.step.as_deref().unwrap_or(sub));
        run.operation = Some(r.operation.as_str().to_string());
        run.state = r.status.as_str().to_string();
        run.requested = d.and_then(|d| d.req_start).or(r.started_at);
        run.actual = d.and_then(|d| d.actual_start);
        run.end = Some(r.time);
        run.error_code = Some(r.error_code);
        run.log_id = Some(r.log_id);
        let after = last_end.get(sub).copied().unwrap_or(0);
        let upto = run.requested.unwrap_or(r.time);
        run.scheduled = scheduled
            .get(sub)
            .and_then(|ts| ts.iter().rev().find(|t| **t >= after && **t <= upto))
            .copied();
        if run.requested.is_none() {
            // A run that never started (stopped while SCHEDULED): the bar spans its wait.
            run.requested = run.scheduled.or(Some(r.time));
        }
        last_end.insert(sub.to_string(), r.time);
        runs.push(run);
    }
    // The run still open, from the step record.
    for s in steps {
        let r = &s.record;
        let open = matches!(
            r.state,
            StepState::Running
                | StepState::Scheduled
                | StepState::RetryScheduled
                | StepState::Paused
                | StepState::Stalled
        );
        if !open {
            continue;
        }
        let after = last_end.get(&r.subname).copied().unwrap_or(0);
        let mut run = new_run(&r.subname, &r.chain, &r.step);
        run.state = r.state.as_str().to_string();
        run.scheduled = scheduled
            .get(r.subname.as_str())
            .and_then(|ts| ts.iter().rev().find(|t| **t >= after))
            .copied();
        run.requested = match r.state {
            StepState::Scheduled | StepState::RetryScheduled => None,
            _ => r.started_at.filter(|t| *t >= after),
        };
        if run.begin().is_none() {
            run.requested = r.started_at.or(Some(now));
        }
        run.error_code = r.error_code;
        runs.push(run);
    }
    // The rule that started each run.
    for run in runs.iter_mut() {
        let Some(begin) = run.begin() else { continue };
        run.rule = fired.get(&run.parent.as_deref()).and_then(|list| {
            list.iter()
                .rev()
                .find(|(t, _, action)| *t <= begin && action_names(action, &run.step))
                .map(|(_, rule, _)| rule.to_string())
        });
    }
    let critical = critical_path(&runs, catalog, now);

    // Bars in row order, each step's runs in time order.
    let order: HashMap<&str, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.step_job_subname.as_str(), i))
        .collect();
    let mut idx: Vec<usize> = (0..runs.len()).collect();
    idx.sort_by_key(|i| {
        (
            order
                .get(runs[*i].sub.as_str())
                .copied()
                .unwrap_or(usize::MAX),
            runs[*i].begin().unwrap_or(now),
        )
    });
    let mut counts: HashMap<&str, u32> = HashMap::new();
    let bars = idx
        .into_iter()
        .map(|i| {
            let r = &runs[i];
            let n = counts.entry(r.sub.as_str()).or_insert(0);
            *n += 1;
            GanttBar {
                step_job_subname: r.sub.clone(),
                run: *n,
                operation: r.operation.clone(),
                state: r.state.clone(),
                scheduled_date: r.scheduled.map(rfc3339),
                requested_date: r.requested.map(rfc3339),
                actual_start_date: r.actual.map(rfc3339),
                end_date: r.end.map(rfc3339),
                error_code: r.error_code,
                rule_name: r.rule.clone(),
                critical: critical.contains(&i),
                log_id: r.log_id,
            }
        })
        .collect();
    Gantt {
        job_name: job.record.job.clone(),
        chain_name: job.record.chain.clone(),
        state: job.record.state.as_str().to_string(),
        start_date: rfc3339(job.record.started_at),
        end_date: job.record.ended_at.map(rfc3339),
        now: rfc3339(now),
        rows,
        bars,
    }
}

/// The Gantt of `job` from a view source.
pub fn query(src: &dyn ViewSource, job: &str, now: Millis) -> Result<Gantt, ViewError> {
    let info = src.job(job)?.ok_or_else(|| ViewError::NotFound {
        what: "job",
        name: job.to_string(),
        nearest: None,
    })?;
    let steps = src.steps(job)?;
    let timeline = src.timeline(job)?;
    let filter = LogFilter {
        job: Some(job.to_string()),
        ..LogFilter::default()
    };
    let log = super::log::select(src.log(&filter)?, &filter);
    let mut details = HashMap::new();
    for r in log.iter().filter(|r| r.subname.is_some()) {
        if let Some(d) = src.details(r.log_id)? {
            details.insert(r.log_id, d);
        }
    }
    Ok(gantt(
        &info,
        &steps,
        &timeline,
        &log,
        &details,
        &*src.catalog()?,
        now,
    ))
}

/// The runs on the critical path (indices into `runs`).
fn critical_path(runs: &[Run], catalog: &Catalog, now: Millis) -> HashSet<usize> {
    let end = |r: &Run| r.end.unwrap_or(now);
    let mut on = HashSet::new();
    let last = (0..runs.len())
        .filter(|i| runs[*i].parent.is_none())
        .max_by_key(|i| (end(&runs[*i]), std::cmp::Reverse(*i)));
    let mut stack: Vec<usize> = last.into_iter().collect();
    while let Some(i) = stack.pop() {
        if !on.insert(i) {
            continue;
        }
        let run = &runs[i];
        // Where the run came from, in its own instance.
        if let Some(begin) = run.begin() {
            let tested: HashSet<String> = run
                .rule
                .as_deref()
                .and_then(|rule| {
                    let chain = catalog.chains.get(&run.chain)?;
                    let r = chain.rules.iter().find(|r| r.name == rule)?;
                    let mut idx = Vec::new();
                    r.condition.steps(&mut idx);
                    Some(
                        idx.into_iter()
                            .filter_map(|s| chain.steps.get(s).map(|s| s.name.clone()))
                            .collect(),
                    )
                })
                .unwrap_or_default();
            let before = |j: &usize| {
                let o = &runs[*j];
                *j != i && o.parent == run.parent && o.end.is_some_and(|e| e <= begin)
            };
            let pick = |prefer: bool| {
                (0..runs.len())
                    .filter(before)
                    .filter(|j| !prefer || tested.contains(&runs[*j].step))
                    .max_by_key(|j| (end(&runs[*j]), std::cmp::Reverse(*j)))
            };
            if let Some(p) = pick(true).or_else(|| pick(false)) {
                stack.push(p);
            }
        }
        // A nested chain's step: the nested run that ended last, and its own path.
        if run.kind == "CHAIN" {
            let upto = end(run);
            let inner = (0..runs.len())
                .filter(|j| {
                    runs[*j].parent.as_deref() == Some(run.sub.as_str()) && end(&runs[*j]) <= upto
                })
                .max_by_key(|j| (end(&runs[*j]), std::cmp::Reverse(*j)));
            stack.extend(inner);
        }
    }
    on
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::types::{JobRecord, JobState, RunOperation, StepRecord};

    fn step(sub: &str, state: StepState, started: Option<Millis>) -> StepInfo {
        let (parent, name) = match sub.rsplit_once('.') {
            Some((p, n)) => (Some(p.to_string()), n.to_string()),
            None => (None, sub.to_string()),
        };
        StepInfo {
            record: StepRecord {
                subname: sub.into(),
                parent_subname: parent.clone(),
                chain: if parent.is_some() { "IN" } else { "C" }.into(),
                step: name,
                state,
                error_code: None,
                attempts: 1,
                started_at: started,
                ended_at: None,
                skip: false,
                pause: false,
                pause_before: false,
                restart_on_recovery: false,
                restart_on_failure: false,
                log_id: None,
            },
            progress: None,
        }
    }

    fn log(id: u64, sub: &str, status: StepState, start: Millis, end: Millis) -> LogRow {
        LogRow {
            log_id: id,
            time: end,
            job: "J".into(),
            subname: Some(sub.into()),
            chain: "C".into(),
            step: Some(sub.rsplit('.').next().unwrap_or(sub).into()),
            operation: if id == 2 {
                RunOperation::RetryRun
            } else {
                RunOperation::Run
            },
            status,
            error_code: if status == StepState::Failed { 7 } else { 0 },
            started_at: Some(start),
            additional_info: None,
            run: 1,
        }
    }

    fn tl(time: Millis, sub: Option<&str>, kind: TimelineKind, detail: &str) -> TimelineEntry {
        TimelineEntry {
            time,
            job: "J".into(),
            subname: sub.map(String::from),
            kind,
            detail: detail.into(),
            started_by: None,
        }
    }

    #[test]
    fn retries_are_bars_of_their_own_and_the_critical_path_follows_the_rules() {
        let catalog = crate::catalog::load_sources(&[(
            "t.chain".to_string(),
            "program P { builtin noop; }\n\
             chain C { step A program P; step B program P; step X program P;\n\
               rule GO when TRUE then START A, X;\n\
               rule NEXT when A SUCCEEDED then AFTER 00:00:01 START B;\n\
               rule FIN when B COMPLETED and X COMPLETED then END; }"
                .to_string(),
        )])
        .catalog
        .expect("catalog");
        let job = JobInfo::from_record(JobRecord {
            job: "J".into(),
            chain: "C".into(),
            state: JobState::Running,
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
        let steps = vec![
            step("A", StepState::Succeeded, Some(10)),
            step("B", StepState::Running, Some(600)),
            step("X", StepState::Succeeded, Some(0)),
        ];
        let timeline = vec![
            tl(0, None, TimelineKind::RuleFired, "GO: START A, X"),
            tl(0, Some("A"), TimelineKind::StepState, "A RUNNING"),
            tl(5, Some("A"), TimelineKind::StepState, "A RETRY SCHEDULED"),
            tl(10, Some("A"), TimelineKind::StepState, "A RUNNING"),
            tl(100, Some("X"), TimelineKind::StepState, "X SUCCEEDED"),
            tl(
                200,
                None,
                TimelineKind::RuleFired,
                "NEXT: AFTER 00:00:01 START B",
            ),
            tl(200, Some("B"), TimelineKind::StepState, "B SCHEDULED"),
            tl(600, Some("B"), TimelineKind::StepState, "B RUNNING"),
        ];
        let log = vec![
            log(1, "A", StepState::Failed, 0, 5),
            log(2, "A", StepState::Succeeded, 10, 200),
            log(3, "X", StepState::Succeeded, 0, 100),
        ];
        let details = HashMap::from([(
            2,
            RunDetails {
                log_id: 2,
                job: "J".into(),
                subname: Some("A".into()),
                status: StepState::Succeeded,
                error_code: 0,
                req_start: Some(10),
                actual_start: Some(30),
                run_duration: Some(170),
                pid: None,
                output: String::new(),
                errors: String::new(),
                variables: Vec::new(),
            },
        )]);
        let g = gantt(&job, &steps, &timeline, &log, &details, &catalog, 900);
        let bars: Vec<(&str, u32, &str)> = g
            .bars
            .iter()
            .map(|b| (b.step_job_subname.as_str(), b.run, b.state.as_str()))
            .collect();
        assert_eq!(
            bars,
            vec![
                ("A", 1, "FAILED"),
                ("A", 2, "SUCCEEDED"),
                ("B", 1, "RUNNING"),
                ("X", 1, "SUCCEEDED")
            ]
        );
        let a2 = &g.bars[1];
        assert_eq!(a2.scheduled_date.as_deref(), Some(rfc3339(5).as_str()));
        assert_eq!(a2.actual_start_date.as_deref(), Some(rfc3339(30).as_str()));
        assert_eq!(a2.rule_name.as_deref(), Some("GO"));
        assert_eq!(a2.operation.as_deref(), Some("RETRY_RUN"));
        let b = &g.bars[2];
        assert_eq!(b.scheduled_date.as_deref(), Some(rfc3339(200).as_str()));
        assert_eq!(b.requested_date.as_deref(), Some(rfc3339(600).as_str()));
        assert_eq!(b.end_date, None);
        assert_eq!(b.rule_name.as_deref(), Some("NEXT"));
        // B (open, ends last) ← A's second run (what NEXT tests) ← A's first run; not X.
        let critical: Vec<(&str, u32)> = g
            .bars
            .iter()
            .filter(|b| b.critical)
            .map(|b| (b.step_job_subname.as_str(), b.run))
            .collect();
        assert_eq!(critical, vec![("A", 1), ("A", 2), ("B", 1)]);
        assert_eq!(g.rows.len(), 3);
    }

    #[test]
    fn step_state_entries_are_read_exactly() {
        assert_eq!(entry_state("A", "A RUNNING"), Some(StepState::Running));
        assert_eq!(entry_state("A", "A FAILED 20001"), Some(StepState::Failed));
        assert_eq!(
            entry_state("A", "A RETRY SCHEDULED"),
            Some(StepState::RetryScheduled)
        );
        assert_eq!(entry_state("A", "AB RUNNING"), None);
        assert_eq!(entry_state("A", "A timed out after 1s: FAILED 3"), None);
        assert!(action_names("AFTER 00:00:01 START A, B", "B"));
        assert!(!action_names("START AB", "A"));
    }
}
