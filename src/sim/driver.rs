//! The virtual-time loop: the engine's core driven by a scenario, deterministically.
//!
//! Why a queue of `(time, sequence)`: nothing runs and no clock is read; the only thing that
//! moves time forward is the next pending item (a step attempt finishing, a timer the core
//! asked for, a job start, a scripted intervention). Everything due at one instant goes to the
//! core as ONE batch ([`Core::handle_batch`]) in a fixed order — completions and timers,
//! then job starts, then interventions in file order — so the core runs one evaluation pass per
//! affected job and two steps finishing together are seen together by the rules.
//!
//! Outcomes: a scripted outcome overrides the program; without one a `builtin fail n` program
//! fails with n, a `builtin sleep d` program succeeds after d, anything else succeeds after 1s.
//! The n-th run of a step uses the n-th scripted attempt; when the list runs out, the last one
//! repeats.

use super::names::{event_names, match_name};
use super::scenario::{Action, AlterSpec, Scenario, Scripted, DEFAULT_DURATION};
use crate::catalog::{Builtin, Catalog, ProgramKind};
use crate::core::{
    AlterChange, Core, Effect, Input, JobRecord, LogRow, Outcome, PresetState, StartRequest,
    StepRecord, TimelineEntry, TimelineKind, TimerKey,
};
use crate::lang::duration::Millis;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Most batches one simulation may process (a guard against a core that never settles).
const MAX_BATCHES: u64 = 5_000_000;
/// Most batches at one single instant (zero-duration loops).
const MAX_BATCHES_PER_INSTANT: u64 = 100_000;

/// What a simulation produced: raw, typed values (see [`super::output`] for the JSON shape).
#[derive(Debug, Clone, PartialEq)]
pub struct SimResult {
    pub ended_at: Millis,
    /// In start order.
    pub jobs: Vec<SimJob>,
    pub log: Vec<LogRow>,
    pub timeline: Vec<TimelineEntry>,
    pub rejected: Vec<Rejected>,
    /// Remarks for people (the simulation was cut at `until`, a safety limit was hit).
    pub notes: Vec<String>,
    /// The notifications the `notify` declarations owe, in time order (docs/notifications.md).
    pub notifications: Vec<SimNotification>,
}

/// A notification owed in a simulation (not sent: the scenario shows when and why).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimNotification {
    /// When it would be sent (for ENQUEUED LONGER THAN d: d after the job was enqueued).
    pub time: Millis,
    pub notify: String,
    pub event: String,
    pub job: String,
    /// The failed step's subname (STEP FAILED).
    pub step: Option<String>,
}

impl SimNotification {
    /// `"2s ONCALL STEP FAILED A"`: how `[expect.JOB] notifications` lists it.
    pub fn text(&self) -> String {
        let mut t = format!(
            "{} {} {}",
            crate::lang::duration::format_duration(self.time),
            self.notify,
            self.event
        );
        if let Some(s) = &self.step {
            t.push(' ');
            t.push_str(s);
        }
        t
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SimJob {
    pub record: JobRecord,
    /// Definition order, nested steps right after their outer step.
    pub steps: Vec<StepRecord>,
    /// The variables steps set (name → value and setter).
    pub variables: BTreeMap<String, crate::core::types::Variable>,
}

/// An intervention (or job start) the engine refused; it changed nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub time: Millis,
    /// `alter`, `alter_chain`, `define_rule`, `evaluate`, `event`, `stop` (or `start` for a job).
    pub intervention: String,
    pub error: String,
}

/// Run `scenario` against `catalog` in virtual time. The scenario should have been bound to the
/// catalog ([`Scenario::bind`]) so its names are canonical.
pub fn simulate(catalog: Catalog, scenario: &Scenario) -> SimResult {
    Driver::new(catalog, scenario).run()
}

#[derive(Debug, Clone)]
enum Pending {
    Completion {
        job: String,
        subname: String,
        attempt: u32,
        outcome: Outcome,
        variables: Vec<(String, String)>,
    },
    Timer {
        job: String,
        timer: TimerKey,
    },
    StartJob(usize),
    Intervention(usize),
}

impl Pending {
    /// Order class within one instant.
    fn class(&self) -> u8 {
        match self {
            Pending::Completion { .. } | Pending::Timer { .. } => 0,
            Pending::StartJob(_) => 1,
            Pending::Intervention(_) => 2,
        }
    }
}

type QueueKey = (Millis, u64);

/// Where an input of a batch came from.
enum Origin {
    Internal,
    Start(usize),
    /// Kind, and position among this instant's interventions.
    Intervention(&'static str, usize),
}

struct Driver<'s> {
    core: Core,
    /// The driver's own view of the definitions (programs, rules for `define_rule`).
    catalog: Catalog,
    scenario: &'s Scenario,
    queue: BTreeMap<QueueKey, Pending>,
    seq: u64,
    now: Millis,
    /// (job, subname) → (attempt, key of its pending completion).
    running: HashMap<(String, String), (u32, QueueKey)>,
    timers: HashMap<(String, TimerKey), QueueKey>,
    /// (job, subname) → how many attempts were launched.
    launches: HashMap<(String, String), usize>,
    /// Actual job name → index of its `[[job]]`.
    job_index: HashMap<String, usize>,
    /// Name written in the scenario → actual job name.
    aliases: HashMap<String, String>,
    started: Vec<String>,
    known_jobs: HashSet<String>,
    ended: HashSet<String>,
    starts_pending: usize,
    log: Vec<LogRow>,
    timeline: Vec<TimelineEntry>,
    rejected: Vec<Rejected>,
    notes: Vec<String>,
    /// Chains whose rules (their own or a nested chain's) can change with time alone.
    time_dependent: HashSet<String>,
    /// Jobs whose next periodic evaluation may still change something (see [`Driver::finished`]).
    unsettled: HashSet<String>,
    /// Which effects owe notifications, and those owed so far.
    watch: crate::core::notify::NotifyWatch,
    owed: Vec<crate::core::notify::Owed>,
}

impl<'s> Driver<'s> {
    fn new(catalog: Catalog, scenario: &'s Scenario) -> Self {
        let time_dependent = time_dependent_chains(&catalog);
        let mut d = Driver {
            core: Core::new(catalog.clone()),
            catalog,
            scenario,
            queue: BTreeMap::new(),
            seq: 0,
            now: 0,
            running: HashMap::new(),
            timers: HashMap::new(),
            launches: HashMap::new(),
            job_index: HashMap::new(),
            aliases: HashMap::new(),
            started: Vec::new(),
            known_jobs: HashSet::new(),
            ended: HashSet::new(),
            starts_pending: scenario.jobs.len(),
            log: Vec::new(),
            timeline: Vec::new(),
            rejected: Vec::new(),
            notes: Vec::new(),
            time_dependent,
            unsettled: HashSet::new(),
            watch: crate::core::notify::NotifyWatch::new(0),
            owed: Vec::new(),
        };
        for (i, j) in scenario.jobs.iter().enumerate() {
            d.push(j.at, Pending::StartJob(i));
        }
        for (i, a) in scenario.interventions.iter().enumerate() {
            d.push(a.time, Pending::Intervention(i));
        }
        d
    }

    fn push(&mut self, time: Millis, item: Pending) -> QueueKey {
        self.seq += 1;
        let key = (time, self.seq);
        self.queue.insert(key, item);
        key
    }

    fn run(mut self) -> SimResult {
        let mut batches: u64 = 0;
        let mut at_instant: u64 = 0;
        let mut last_time: Option<Millis> = None;
        let mut ended_at = 0;
        while let Some((&(time, _), _)) = self.queue.first_key_value() {
            if time > self.scenario.until {
                ended_at = self.scenario.until;
                self.notes.push(format!(
                    "the simulation reached its time limit ({}) with work still pending",
                    crate::lang::duration::format_duration(self.scenario.until)
                ));
                break;
            }
            batches += 1;
            at_instant = if last_time == Some(time) {
                at_instant + 1
            } else {
                0
            };
            last_time = Some(time);
            if batches > MAX_BATCHES || at_instant > MAX_BATCHES_PER_INSTANT {
                self.notes.push(format!(
                    "the simulation was cut at {}: it did not settle (more than {} steps of virtual time)",
                    crate::lang::duration::format_duration(time),
                    if at_instant > MAX_BATCHES_PER_INSTANT { MAX_BATCHES_PER_INSTANT } else { MAX_BATCHES }
                ));
                ended_at = time;
                break;
            }
            self.now = time;
            ended_at = time;
            self.instant(time);
            if self.finished() {
                break;
            }
        }
        self.result(ended_at)
    }

    /// Nothing more can happen: every job ended, or only periodic re-evaluations remain, each
    /// job's latest one changed nothing, and no condition can change with time alone.
    fn finished(&self) -> bool {
        // A pending restart reopens an ended job: the simulation goes on until it is applied.
        let restart_pending = self.queue.values().any(|p| {
            matches!(p, Pending::Intervention(i)
                if matches!(self.scenario.interventions.get(*i).map(|a| &a.action),
                    Some(Action::Restart { .. })))
        });
        if self.starts_pending == 0
            && !restart_pending
            && self.started.iter().all(|j| self.ended.contains(j))
        {
            return true;
        }
        let clock_matters = self.started.iter().any(|j| {
            !self.ended.contains(j)
                && self
                    .job_index
                    .get(j)
                    .is_some_and(|&i| self.time_dependent.contains(&self.spec_chain(i)))
        });
        !clock_matters
            && self.queue.values().all(|p| match p {
                Pending::Timer {
                    job,
                    timer: TimerKey::Interval { .. },
                } => !self.unsettled.contains(job),
                _ => false,
            })
    }

    /// Process everything due at `time` as one batch.
    fn instant(&mut self, time: Millis) {
        let mut due: Vec<(QueueKey, Pending)> = Vec::new();
        while let Some(entry) = self.queue.first_entry() {
            if entry.key().0 != time {
                break;
            }
            let key = *entry.key();
            due.push((key, entry.remove()));
        }
        due.sort_by_key(|(k, p)| (p.class(), k.1));

        let mut inputs: Vec<Input> = Vec::new();
        let mut origins: Vec<Origin> = Vec::new();
        // (position among this instant's interventions, rejection) for refusals found here.
        let mut early: Vec<(usize, Rejected)> = Vec::new();
        let mut intervention_order: Vec<usize> = Vec::new();
        // Jobs that only had a periodic evaluation in this batch, and jobs that had more.
        let mut ticked: HashSet<String> = HashSet::new();
        let mut touched: HashSet<String> = HashSet::new();
        let mut touched_all = false;
        for (_, item) in due {
            match item {
                Pending::Completion {
                    job,
                    subname,
                    attempt,
                    outcome,
                    variables,
                } => {
                    self.running.remove(&(job.clone(), subname.clone()));
                    touched.insert(job.clone());
                    inputs.push(Input::StepFinished {
                        job,
                        subname,
                        attempt,
                        outcome,
                        variables,
                    });
                    origins.push(Origin::Internal);
                }
                Pending::Timer { job, timer } => {
                    self.timers.remove(&(job.clone(), timer.clone()));
                    if matches!(timer, TimerKey::Interval { .. }) {
                        ticked.insert(job.clone());
                    } else {
                        touched.insert(job.clone());
                    }
                    inputs.push(Input::TimerFired { job, timer });
                    origins.push(Origin::Internal);
                }
                Pending::StartJob(i) => {
                    self.starts_pending -= 1;
                    let spec = &self.scenario.jobs[i];
                    inputs.push(Input::StartJob(StartRequest {
                        job: spec.name.clone(),
                        chain: spec.chain.clone(),
                        parameters: spec.parameters.clone(),
                        start_steps: spec.start_steps.clone(),
                        step_states: spec.step_states.clone(),
                        requested_by: None,
                        definition: spec.definition.clone(),
                        group: spec.group.clone(),
                        refuse_ended: false,
                    }));
                    origins.push(Origin::Start(i));
                }
                Pending::Intervention(i) => {
                    let action = &self.scenario.interventions[i].action;
                    let kind = action.kind_name();
                    let position = intervention_order.len();
                    intervention_order.push(i);
                    match self.translate(action) {
                        Ok(input) => {
                            match input_job(&input) {
                                Some(j) => {
                                    touched.insert(j.to_string());
                                }
                                None => touched_all = true,
                            }
                            inputs.push(input);
                            origins.push(Origin::Intervention(kind, position));
                        }
                        Err(error) => early.push((
                            position,
                            Rejected {
                                time,
                                intervention: kind.to_string(),
                                error,
                            },
                        )),
                    }
                }
            }
        }

        let define_rules: Vec<Option<(String, crate::catalog::Rule)>> = inputs
            .iter()
            .map(|i| match i {
                Input::DefineRule { chain, rule } => Some((chain.clone(), rule.clone())),
                _ => None,
            })
            .collect();
        let drops = inputs
            .iter()
            .any(|i| matches!(i, Input::DropRule { .. } | Input::DropStep { .. }));
        let (effects, results) = self.core.handle_batch(time, inputs);
        if drops {
            // Keep the driver's copy of the definitions in step with the core's.
            self.catalog.chains = self.core.catalog.chains.clone();
            self.time_dependent = time_dependent_chains(&self.catalog);
        }

        // Rejections: job starts first, then interventions in the order they were written.
        let mut refused: Vec<Option<Rejected>> = vec![None; intervention_order.len()];
        for (position, r) in early {
            refused[position] = Some(r);
        }
        let mut starts_accepted: Vec<usize> = Vec::new();
        for ((origin, result), define) in origins.iter().zip(results.iter()).zip(define_rules) {
            match (origin, result) {
                (Origin::Start(i), Ok(())) => starts_accepted.push(*i),
                (Origin::Start(i), Err(e)) => self.rejected.push(Rejected {
                    time,
                    intervention: "start".to_string(),
                    error: format!("{}: {e}", self.scenario.jobs[*i].key),
                }),
                (Origin::Intervention(kind, position), Err(e)) => {
                    refused[*position] = Some(Rejected {
                        time,
                        intervention: kind.to_string(),
                        error: e.to_string(),
                    })
                }
                (Origin::Intervention(..), Ok(())) => {
                    if let Some((chain, rule)) = define {
                        self.apply_rule(&chain, rule);
                    }
                }
                (Origin::Internal, _) => {}
            }
        }
        self.rejected.extend(refused.into_iter().flatten());

        self.learn_names(&effects, &starts_accepted);
        for e in &effects {
            if let Some(j) = substantive_job(e) {
                touched.insert(j.to_string());
            }
        }
        if touched_all {
            self.unsettled.extend(self.started.iter().cloned());
        }
        for j in ticked {
            if !touched.contains(&j) {
                self.unsettled.remove(&j);
            }
        }
        self.unsettled.extend(touched);
        for e in &effects {
            let owed = self.watch.owed(&self.core, e, time);
            self.owed.extend(owed);
        }
        for effect in effects {
            self.carry_out(effect);
        }
    }

    /// Map started jobs to their actual names (generated names are the core's).
    fn learn_names(&mut self, effects: &[Effect], starts: &[usize]) {
        let mut fresh: Vec<String> = Vec::new();
        for e in effects {
            if let Effect::JobChanged { job } = e {
                if !self.known_jobs.contains(&job.job) && !fresh.contains(&job.job) {
                    fresh.push(job.job.clone());
                }
            }
        }
        let mut unclaimed: Vec<usize> = Vec::new();
        for &i in starts {
            let spec = &self.scenario.jobs[i];
            let wanted = spec.name.as_deref();
            let found = wanted.and_then(|w| match_name(w, fresh.iter().map(String::as_str)));
            match found {
                Some(actual) => {
                    fresh.retain(|f| *f != actual);
                    self.bind_job(i, actual);
                }
                None => unclaimed.push(i),
            }
        }
        for i in unclaimed {
            let actual = if fresh.is_empty() {
                match &self.scenario.jobs[i].name {
                    Some(n) if self.core.job_record(n).is_some() => n.clone(),
                    _ => continue,
                }
            } else {
                fresh.remove(0)
            };
            self.bind_job(i, actual);
        }
    }

    fn bind_job(&mut self, index: usize, actual: String) {
        if let Some(n) = &self.scenario.jobs[index].name {
            self.aliases.insert(n.clone(), actual.clone());
        }
        self.job_index.insert(actual.clone(), index);
        self.known_jobs.insert(actual.clone());
        if !self.started.contains(&actual) {
            self.started.push(actual.clone());
        }
        if let Some(rec) = self.core.job_record(&actual) {
            if rec.state.is_finished() {
                self.ended.insert(actual);
            }
        }
    }

    fn carry_out(&mut self, effect: Effect) {
        match effect {
            Effect::Launch {
                job,
                subname,
                program,
                attempt,
                ..
            } => {
                let count = {
                    let c = self
                        .launches
                        .entry((job.clone(), subname.clone()))
                        .or_insert(0);
                    *c += 1;
                    *c
                };
                let (outcome, duration, variables) =
                    self.outcome_for(&job, &subname, &program, count);
                let key = self.push(
                    self.now.saturating_add(duration),
                    Pending::Completion {
                        job: job.clone(),
                        subname: subname.clone(),
                        attempt,
                        outcome,
                        variables,
                    },
                );
                if let Some((_, old)) = self.running.insert((job, subname), (attempt, key)) {
                    self.queue.remove(&old);
                }
            }
            Effect::Kill {
                job,
                subname,
                attempt,
            } => {
                let k = (job, subname);
                if let Some(&(a, key)) = self.running.get(&k) {
                    if a == attempt {
                        self.queue.remove(&key);
                        self.running.remove(&k);
                    }
                }
            }
            Effect::SetTimer { job, timer, due } => {
                let k = (job.clone(), timer.clone());
                if let Some(old) = self.timers.remove(&k) {
                    self.queue.remove(&old);
                }
                let key = self.push(due.max(self.now), Pending::Timer { job, timer });
                self.timers.insert(k, key);
            }
            Effect::CancelTimer { job, timer } => {
                if let Some(old) = self.timers.remove(&(job, timer)) {
                    self.queue.remove(&old);
                }
            }
            Effect::JobChanged { job } => {
                if job.state.is_finished() {
                    self.ended.insert(job.job.clone());
                } else {
                    // A restarted job runs again.
                    self.ended.remove(&job.job);
                }
            }
            Effect::StepChanged { .. } => {}
            Effect::Log(row) => self.log.push(row),
            Effect::Timeline(entry) => self.timeline.push(entry),
            // The core holds the kept events; the simulator keeps nothing of its own.
            Effect::EventKept(_) | Effect::KeptEventGone { .. } => {}
        }
    }

    /// The scripted (or default) outcome and duration of the `count`-th run of a step.
    fn outcome_for(
        &self,
        job: &str,
        subname: &str,
        program: &str,
        count: usize,
    ) -> (Outcome, Millis, Vec<(String, String)>) {
        let (natural_outcome, natural_duration) =
            match self.catalog.programs.get(program).map(|p| &p.kind) {
                Some(ProgramKind::Builtin(Builtin::Sleep(d))) => (Outcome::Succeeded, *d),
                Some(ProgramKind::Builtin(Builtin::Fail(n))) if *n > 0 => {
                    (Outcome::Failed(*n), DEFAULT_DURATION)
                }
                _ => (Outcome::Succeeded, DEFAULT_DURATION),
            };
        let scripted = self
            .job_index
            .get(job)
            .and_then(|&i| self.scenario.jobs[i].outcomes.get(subname))
            .and_then(|attempts| {
                attempts
                    .get(count.saturating_sub(1))
                    .or_else(|| attempts.last())
            });
        match scripted {
            None => (natural_outcome, natural_duration, Vec::new()),
            Some(a) => (
                match a.result {
                    Scripted::Ok => Outcome::Succeeded,
                    Scripted::Fail(n) => Outcome::Failed(n),
                    Scripted::Stop => Outcome::Stopped,
                },
                a.duration.unwrap_or(natural_duration),
                a.set.clone(),
            ),
        }
    }

    // ----------------------------------------------------------------------- interventions

    fn job_name(&self, written: &str) -> String {
        if let Some(a) = self.aliases.get(written) {
            return a.clone();
        }
        match_name(written, self.known_jobs.iter().map(String::as_str))
            .unwrap_or_else(|| written.to_string())
    }

    fn step_name(&self, job: &str, written: &str) -> String {
        let records = self.core.step_records(job);
        match_name(written, records.iter().map(|r| r.subname.as_str()))
            .unwrap_or_else(|| written.to_string())
    }

    /// The chain job `i` of the scenario runs: its `chain`, or its definition's.
    fn spec_chain(&self, i: usize) -> String {
        let spec = &self.scenario.jobs[i];
        match (&spec.definition, spec.chain.is_empty()) {
            (Some(d), true) => self
                .catalog
                .jobs
                .get(d)
                .and_then(|j| j.chain.clone())
                .unwrap_or_default(),
            _ => spec.chain.clone(),
        }
    }

    fn chain_name(&self, written: &str) -> String {
        match_name(written, self.catalog.chains.keys().map(String::as_str))
            .unwrap_or_else(|| written.to_string())
    }

    fn chain_step_name(&self, chain: &str, written: &str) -> String {
        match self.catalog.chains.get(chain) {
            Some(c) => match_name(written, c.steps.iter().map(|s| s.name.as_str()))
                .unwrap_or_else(|| written.to_string()),
            None => written.to_string(),
        }
    }

    /// Turn a scripted intervention into a core input; `Err` is a refusal found before the
    /// core sees it (the message is the engine's own wording where it has one).
    fn translate(&self, action: &Action) -> Result<Input, String> {
        Ok(match action {
            Action::Alter { job, step, change } => {
                let job = self.job_name(job);
                Input::Alter {
                    step: step.as_ref().map(|s| self.step_name(&job, s)),
                    change: alter_change(change)?,
                    job,
                }
            }
            Action::AlterChain {
                chain,
                step,
                change,
            } => {
                let chain = self.chain_name(chain);
                Input::AlterChain {
                    step: step.as_ref().map(|s| self.chain_step_name(&chain, s)),
                    change: alter_change(change)?,
                    chain,
                }
            }
            Action::DefineRule {
                chain,
                name,
                when,
                then,
            } => {
                let chain = self.chain_name(chain);
                let rule = self.resolve_rule(&chain, name, when, then)?;
                Input::DefineRule { chain, rule }
            }
            Action::DropRule { chain, rule } => {
                let chain = self.chain_name(chain);
                Input::DropRule {
                    rule: crate::catalog::normalise_name(rule),
                    chain,
                }
            }
            Action::DropStep { chain, step, force } => {
                let chain = self.chain_name(chain);
                Input::DropStep {
                    step: self.chain_step_name(&chain, step),
                    chain,
                    force: *force,
                }
            }
            Action::Evaluate { job } => Input::Evaluate {
                job: self.job_name(job),
            },
            Action::Restart { job, from } => {
                let job = self.job_name(job);
                Input::Restart(crate::core::types::RestartRequest {
                    from: from.iter().map(|s| self.step_name(&job, s)).collect(),
                    job,
                    previous: None,
                })
            }
            Action::Event { name, payload, job } => {
                let events = event_names(&self.catalog);
                Input::RaiseEvent {
                    name: match_name(name, events.iter().map(String::as_str))
                        .unwrap_or_else(|| name.clone()),
                    payload: payload.clone(),
                    job: job.as_ref().map(|j| self.job_name(j)),
                }
            }
            Action::Stop { job, step } => {
                let job = self.job_name(job);
                Input::Stop {
                    step: step.as_ref().map(|s| self.step_name(&job, s)),
                    job,
                }
            }
        })
    }

    fn resolve_rule(
        &self,
        chain: &str,
        name: &str,
        when: &str,
        then: &str,
    ) -> Result<crate::catalog::Rule, String> {
        let Some(def) = self.catalog.chains.get(chain) else {
            return Err(format!("unknown chain {chain}"));
        };
        let name = match_name(name, def.rules.iter().map(|r| r.name.as_str()))
            .unwrap_or_else(|| name.to_uppercase());
        let position = def
            .rule_index(&name)
            .map(|i| i + 1)
            .unwrap_or(def.rules.len() + 1);
        super::define_rule::resolve(def, &name, position, when, then)
    }

    /// Keep the driver's copy of the definitions in step with an accepted `define_rule`.
    fn apply_rule(&mut self, chain: &str, rule: crate::catalog::Rule) {
        if let Some(def) = self.catalog.chains.get_mut(chain) {
            match def.rule_index(&rule.name) {
                Some(i) => def.rules[i] = rule,
                None => def.rules.push(rule),
            }
            self.time_dependent = time_dependent_chains(&self.catalog);
        }
    }

    fn result(mut self, ended_at: Millis) -> SimResult {
        let unapplied: Vec<String> = self
            .queue
            .values()
            .filter_map(|p| match p {
                Pending::Intervention(i) => {
                    let a = &self.scenario.interventions[*i];
                    Some(format!(
                        "{} ({} at {})",
                        a.key,
                        a.action.kind_name(),
                        crate::lang::duration::format_duration(a.time)
                    ))
                }
                _ => None,
            })
            .collect();
        if !unapplied.is_empty() {
            self.notes.push(format!(
                "not applied, the simulation had ended: {}",
                unapplied.join(", ")
            ));
        }
        let jobs = self
            .started
            .iter()
            .filter_map(|name| {
                self.core.job_record(name).map(|record| SimJob {
                    record,
                    steps: self.core.step_records(name),
                    variables: self.core.variables(name),
                })
            })
            .collect();
        let notifications = self.notifications(ended_at);
        SimResult {
            ended_at,
            jobs,
            log: self.log,
            timeline: self.timeline,
            rejected: self.rejected,
            notes: self.notes,
            notifications,
        }
    }

    /// The owed notifications, an ENQUEUED LONGER THAN one only if its job was still ENQUEUED
    /// at its due time (and that time came before the simulation ended).
    fn notifications(&self, ended_at: Millis) -> Vec<SimNotification> {
        let mut out: Vec<SimNotification> = self
            .owed
            .iter()
            .filter(|o| {
                if !o.only_if_enqueued {
                    return true;
                }
                let left = self
                    .core
                    .job_record(&o.job.job)
                    .filter(|r| r.state != crate::core::types::JobState::Enqueued)
                    .map(|r| r.started_at);
                match left {
                    Some(t) => t > o.due,
                    None => o.due <= ended_at,
                }
            })
            .map(|o| SimNotification {
                time: o.due,
                notify: o.def.name.clone(),
                event: o.event.clone(),
                job: o.job.job.clone(),
                step: o.step.as_ref().map(|s| s.subname.clone()),
            })
            .collect();
        out.sort_by_key(|n| n.time);
        out
    }
}

/// Chains with a rule that can change with time alone, directly or in a nested chain.
fn time_dependent_chains(catalog: &Catalog) -> HashSet<String> {
    let mut out: HashSet<String> = catalog
        .chains
        .values()
        .filter(|c| c.rules.iter().any(|r| r.condition.is_time_dependent()))
        .map(|c| c.name.clone())
        .collect();
    // Propagate to outer chains until nothing changes (nesting is acyclic and shallow).
    loop {
        let before = out.len();
        for c in catalog.chains.values() {
            let nests_one = c.steps.iter().any(
                |s| matches!(&s.kind, crate::catalog::StepTarget::Chain(n) if out.contains(n)),
            );
            if nests_one {
                out.insert(c.name.clone());
            }
        }
        if out.len() == before {
            return out;
        }
    }
}

/// The job an intervention input is about (`None`: a chain definition, so every job).
fn input_job(input: &Input) -> Option<&str> {
    match input {
        Input::Alter { job, .. } | Input::Evaluate { job } | Input::Stop { job, .. } => Some(job),
        Input::Restart(r) => Some(&r.job),
        Input::RaiseEvent { job: Some(job), .. } => Some(job),
        _ => None,
    }
}

/// The job an effect changes something visible in (`None` for timers and evaluation notes).
fn substantive_job(effect: &Effect) -> Option<&str> {
    match effect {
        Effect::Launch { job, .. } | Effect::Kill { job, .. } | Effect::StepChanged { job, .. } => {
            Some(job)
        }
        Effect::JobChanged { job } => Some(&job.job),
        Effect::Log(row) => Some(&row.job),
        Effect::Timeline(t) if t.kind != TimelineKind::Evaluation => Some(&t.job),
        _ => None,
    }
}

fn alter_change(spec: &AlterSpec) -> Result<AlterChange, String> {
    Ok(AlterChange {
        pause: spec.pause,
        pause_before: spec.pause_before,
        skip: spec.skip,
        state: spec.state.as_deref().map(PresetState::parse).transpose()?,
        restart_on_failure: spec.restart_on_failure,
        restart_on_recovery: spec.restart_on_recovery,
        timeout: spec.timeout,
    })
}
