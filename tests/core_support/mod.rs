//! A tiny virtual-time driver for the core tests: carries out Launch / Kill / SetTimer /
//! CancelTimer effects, finishes program steps after a duration with scripted outcomes, and
//! feeds everything due at one instant to `Core::handle_batch` together.
#![allow(dead_code)]

use chainsched::catalog::{load_sources, Catalog};
use chainsched::core::*;
use std::collections::{BTreeMap, HashMap, VecDeque};

pub const S: u64 = 1000;

/// Load a catalog from rule-language text; panics with the diagnostics on error.
pub fn catalog(src: &str) -> Catalog {
    let loaded = load_sources(&[("test.chain".to_string(), src.to_string())]);
    match loaded.catalog {
        Some(c) => c,
        None => panic!(
            "catalog did not load: {:?}",
            loaded
                .diagnostics
                .iter()
                .map(|d| chainsched::lang::diagnostic::render_text(d, &loaded.sources))
                .collect::<Vec<_>>()
        ),
    }
}

/// A scripted attempt: outcome and duration.
#[derive(Debug, Clone, Copy)]
pub struct Attempt {
    pub outcome: Outcome,
    pub duration: u64,
}

pub fn ok() -> Attempt {
    Attempt {
        outcome: Outcome::Succeeded,
        duration: S,
    }
}
pub fn fail(code: i64) -> Attempt {
    Attempt {
        outcome: Outcome::Failed(code),
        duration: S,
    }
}
pub fn ok_after(ms: u64) -> Attempt {
    Attempt {
        outcome: Outcome::Succeeded,
        duration: ms,
    }
}

pub struct Driver {
    pub core: Core,
    pub now: u64,
    /// (job, timer) → due
    pub timers: BTreeMap<(String, TimerKey), u64>,
    /// (job, subname) → (attempt, finish time, outcome)
    pub running: BTreeMap<(String, String), (u32, u64, Outcome)>,
    /// subname → scripted attempts (any job); default ok after 1s
    pub script: HashMap<String, VecDeque<Attempt>>,
    /// Every effect, in order.
    pub effects: Vec<Effect>,
    /// Program steps that never finish by themselves (wait for a stop).
    pub hang: Vec<String>,
    pub launches: Vec<(u64, String, String, u32, RunOperation)>,
    /// Every completion sets the job variable LAST to the step's subname (docs/variables.md).
    pub set_last: bool,
}

impl Driver {
    pub fn new(src: &str) -> Driver {
        Driver::with_core(Core::new(catalog(src)))
    }

    pub fn with_core(core: Core) -> Driver {
        Driver {
            core,
            now: 0,
            timers: BTreeMap::new(),
            running: BTreeMap::new(),
            script: HashMap::new(),
            effects: Vec::new(),
            hang: Vec::new(),
            launches: Vec::new(),
            set_last: false,
        }
    }

    pub fn script(&mut self, subname: &str, attempts: Vec<Attempt>) -> &mut Self {
        self.script.insert(subname.to_string(), attempts.into());
        self
    }

    /// Carry out effects obtained outside the driver (e.g. from `handle_batch`).
    pub fn effects_apply(&mut self, effects: Vec<Effect>) {
        self.carry_out(effects)
    }

    pub fn next_due_pub(&self) -> Option<u64> {
        self.next_due()
    }

    fn carry_out(&mut self, effects: Vec<Effect>) {
        for e in &effects {
            match e {
                Effect::Launch {
                    job,
                    subname,
                    attempt,
                    operation,
                    ..
                } => {
                    self.launches.push((
                        self.now,
                        job.clone(),
                        subname.clone(),
                        *attempt,
                        *operation,
                    ));
                    if self.hang.contains(subname) {
                        continue;
                    }
                    let a = self
                        .script
                        .get_mut(subname)
                        .and_then(|q| q.pop_front())
                        .unwrap_or_else(ok);
                    self.running.insert(
                        (job.clone(), subname.clone()),
                        (*attempt, self.now + a.duration, a.outcome),
                    );
                }
                Effect::Kill { job, subname, .. } => {
                    self.running.remove(&(job.clone(), subname.clone()));
                }
                Effect::SetTimer { job, timer, due } => {
                    self.timers.insert((job.clone(), timer.clone()), *due);
                }
                Effect::CancelTimer { job, timer } => {
                    self.timers.remove(&(job.clone(), timer.clone()));
                }
                _ => {}
            }
        }
        self.effects.extend(effects);
    }

    /// Handle one input now; returns the core's result.
    pub fn input(&mut self, input: Input) -> Result<(), CoreError> {
        let r = self.core.handle(self.now, input);
        match r {
            Ok(effects) => {
                self.carry_out(effects);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    pub fn start(&mut self, chain: &str, job: &str) {
        self.start_req(StartRequest {
            job: Some(job.to_string()),
            chain: chain.to_string(),
            ..Default::default()
        })
    }

    pub fn start_req(&mut self, req: StartRequest) {
        self.input(Input::StartJob(req)).expect("start job");
    }

    fn next_due(&self) -> Option<u64> {
        let t = self.timers.values().min().copied();
        let r = self.running.values().map(|(_, at, _)| *at).min();
        match (t, r) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Advance virtual time, feeding due completions and timers, until `until` (inclusive) or
    /// nothing is pending.
    pub fn run_until(&mut self, until: u64) {
        while let Some(at) = self.next_due() {
            if at > until {
                break;
            }
            self.now = self.now.max(at);
            let mut inputs = Vec::new();
            let done: Vec<_> = self
                .running
                .iter()
                .filter(|(_, (_, t, _))| *t <= at)
                .map(|(k, v)| (k.clone(), *v))
                .collect();
            for ((job, subname), (attempt, _, outcome)) in done {
                self.running.remove(&(job.clone(), subname.clone()));
                let variables = if self.set_last {
                    vec![("LAST".to_string(), subname.clone())]
                } else {
                    Vec::new()
                };
                inputs.push(Input::StepFinished {
                    job,
                    subname,
                    attempt,
                    outcome,
                    variables,
                });
            }
            let due: Vec<_> = self
                .timers
                .iter()
                .filter(|(_, d)| **d <= at)
                .map(|(k, _)| k.clone())
                .collect();
            for (job, timer) in due {
                self.timers.remove(&(job.clone(), timer.clone()));
                inputs.push(Input::TimerFired { job, timer });
            }
            let (effects, _results) = self.core.handle_batch(self.now, inputs);
            self.carry_out(effects);
        }
        if until != u64::MAX {
            self.now = self.now.max(until);
        }
    }

    pub fn run(&mut self) {
        self.run_until(u64::MAX)
    }

    pub fn job(&self, job: &str) -> JobRecord {
        self.core.job_record(job).expect("job exists")
    }

    pub fn state(&self, job: &str) -> JobState {
        self.job(job).state
    }

    pub fn step(&self, job: &str, subname: &str) -> StepRecord {
        self.core
            .step_records(job)
            .into_iter()
            .find(|s| s.subname == subname)
            .unwrap_or_else(|| panic!("no step {subname} in {job}"))
    }

    /// "SUCCEEDED", "FAILED 20001", "NOT_STARTED", ...
    pub fn st(&self, job: &str, subname: &str) -> String {
        let s = self.step(job, subname);
        match (s.state, s.error_code) {
            (StepState::Failed, Some(c)) => format!("FAILED {c}"),
            (state, _) => state.as_str().to_string(),
        }
    }

    pub fn logs(&self) -> Vec<&LogRow> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Log(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    /// Log rows as "subname OPERATION STATUS code" (chain job: "-").
    pub fn log_lines(&self, job: &str) -> Vec<String> {
        self.logs()
            .into_iter()
            .filter(|r| r.job == job)
            .map(|r| {
                format!(
                    "{} {} {} {}",
                    r.subname.as_deref().unwrap_or("-"),
                    r.operation.as_str(),
                    r.status.as_str(),
                    r.error_code
                )
            })
            .collect()
    }

    pub fn timeline(&self, job: &str, kind: TimelineKind) -> Vec<String> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Timeline(t) if t.job == job && t.kind == kind => Some(t.detail.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn launched(&self, job: &str, subname: &str) -> usize {
        self.launches
            .iter()
            .filter(|(_, j, s, _, _)| j == job && s == subname)
            .count()
    }
}
