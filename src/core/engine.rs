//! The core's public surface: [`Core`] owns the running jobs and turns [`Input`]s into
//! [`Effect`]s. It reads no clock (every call carries `now`) and does no I/O.
//!
//! * `Core::new(catalog)`, `Core::set_catalog(catalog)` (reload: future runs only)
//! * `Core::handle(now, input)` — a refused input changes nothing and returns its error
//! * `Core::handle_batch(now, inputs)` — apply every input at this instant, THEN evaluate each
//!   affected job once (the simulator's "order within an instant": two steps finishing together
//!   are seen together by the rules)
//! * `Core::job_record`, `Core::step_records` (definition order, nested right after their outer
//!   step), `Core::job_names`, `Core::last_event_matches`
//! * recovery: `Core::snapshot_job`, `Core::restore_job`, `Core::recover_job`,
//!   `Core::set_next_log_id` (see `recovery.rs`)
//!
//! Input handlers validate everything before mutating anything (so a refusal changes nothing),
//! then apply the input to the job without evaluating; [`Core::handle_batch`] then settles each
//! affected job (evaluation passes, nested chains, stall checks).

use super::eval::Truth;
use super::job::*;
use super::lifecycle::StopReason;
use super::triggers::timer_fired;
use super::types::*;
use crate::catalog::{Catalog, StepIdx, StepTarget};
use crate::lang::diagnostic::nearest_name;
use crate::lang::duration::Millis;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The chain state machine. See the module documentation.
#[derive(Debug)]
pub struct Core {
    /// The catalog future runs start from (running jobs keep the definitions they started with,
    /// changed only by `AlterChain` / `DefineRule`).
    pub catalog: Catalog,
    pub(crate) jobs: BTreeMap<String, Job>,
    /// Compiled definitions of the catalog's chains (built on first use).
    pub(crate) defs: BTreeMap<String, Arc<Def>>,
    pub(crate) next_log_id: super::job::LogIds,
    pub(crate) next_job_number: u64,
    pub(crate) reference: bool,
    /// What the last raise did (`events.rs`).
    pub(crate) last_event: super::events::EventDelivery,
    /// Events kept for steps that start waiting later, by id (`events.rs`).
    pub(crate) kept: BTreeMap<u64, super::events::KeptEvent>,
    pub(crate) next_kept_id: u64,
    /// ENQUEUED jobs in FIFO order (queue sequence → job name); see `admission.rs`.
    pub(crate) queue: BTreeMap<u64, String>,
    pub(crate) next_queue_seq: u64,
    /// Jobs that may have changed since the journal last took their changes (`journal.rs`).
    pub(crate) changed: BTreeSet<String>,
}

impl Default for Core {
    fn default() -> Self {
        Core::new(Catalog::default())
    }
}

/// Per-rule view for `explain`: the rule, its current truth value.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleValue {
    pub rule: String,
    pub truth: Truth,
}

impl Core {
    pub fn new(catalog: Catalog) -> Self {
        Core {
            catalog,
            jobs: BTreeMap::new(),
            defs: BTreeMap::new(),
            next_log_id: super::job::LogIds { next: 1, stride: 1 },
            next_job_number: 1,
            reference: false,
            last_event: Default::default(),
            kept: BTreeMap::new(),
            next_kept_id: 1,
            queue: BTreeMap::new(),
            next_queue_seq: 1,
            changed: BTreeSet::new(),
        }
    }

    /// Use the naive full evaluation (every rule re-evaluated and re-applied on every pass).
    /// Same results, slower; the reference the property tests compare the incremental one with.
    pub fn with_reference_evaluation(mut self, on: bool) -> Self {
        self.reference = on;
        self
    }

    pub fn set_reference_evaluation(&mut self, on: bool) {
        self.reference = on;
    }

    /// Replace the catalog: future runs use it; running jobs keep their definitions.
    pub fn set_catalog(&mut self, catalog: Catalog) {
        self.catalog = catalog;
        self.defs.clear();
    }

    /// Continue the job-log id sequence (a driver restoring from a store).
    pub fn set_next_log_id(&mut self, next: u64) {
        self.next_log_id = super::job::LogIds {
            next: next.max(1),
            stride: 1,
        };
    }

    /// Hand out the ids `≡ slot (mod stride)` from the first such id `>= next`: engines that
    /// share a database each take their own slot, so their ids never meet.
    pub fn set_log_id_slot(&mut self, next: u64, slot: u64, stride: u64) {
        let stride = stride.max(1);
        let slot = slot % stride;
        let base = next.max(1).div_ceil(stride) * stride;
        let mut first = base + slot;
        if first < next.max(1) {
            first += stride;
        }
        self.next_log_id = super::job::LogIds {
            next: first,
            stride,
        };
    }

    pub fn next_log_id(&self) -> u64 {
        self.next_log_id.next
    }

    /// Continue the generated-job-name counter (`RUN_CHAIN$_<chain><N>`).
    pub fn set_next_job_number(&mut self, next: u64) {
        self.next_job_number = next.max(1);
    }

    pub fn next_job_number(&self) -> u64 {
        self.next_job_number
    }

    /// Number of event steps the last `RaiseEvent` completed (the HTTP API's `completed_steps`).
    pub fn last_event_matches(&self) -> usize {
        self.last_event.completed
    }

    /// What the last `RaiseEvent` did: steps completed, steps waiting that refused it and why,
    /// the event kept for later (`events.rs`).
    pub fn last_event(&self) -> &super::events::EventDelivery {
        &self.last_event
    }

    /// Handle one input at instant `now`. A refused input changes nothing.
    pub fn handle(&mut self, now: Millis, input: Input) -> Result<Vec<Effect>, CoreError> {
        let (effects, mut results) = self.handle_batch(now, vec![input]);
        match results.pop() {
            Some(Err(e)) => Err(e),
            _ => Ok(effects),
        }
    }

    /// Apply several inputs at one instant, then run ONE evaluation pass-sequence per affected
    /// job (the simulator's "order within an instant"; two steps finishing together are seen
    /// together). Returns all effects and, per input, whether it was accepted.
    pub fn handle_batch(
        &mut self,
        now: Millis,
        inputs: Vec<Input>,
    ) -> (Vec<Effect>, Vec<Result<(), CoreError>>) {
        // A completion typically yields ~8 effects (state rows, log, timeline, next launch).
        let mut effects = Vec::with_capacity(inputs.len().saturating_mul(8));
        let mut results = Vec::with_capacity(inputs.len());
        let mut affected: Vec<String> = Vec::new();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        for input in inputs {
            let mut touched = Vec::new();
            let result = self.apply(now, input, &mut effects, &mut touched);
            for job in touched {
                if seen.insert(job.clone()) {
                    affected.push(job);
                }
            }
            results.push(result);
        }
        for name in affected {
            let Core {
                jobs,
                next_log_id,
                reference,
                changed,
                ..
            } = self;
            if let Some(job) = jobs.get_mut(&name) {
                changed.insert(name.clone());
                let mut ctx = Ctx {
                    now,
                    effects: &mut effects,
                    next_log_id,
                    reference: *reference,
                };
                job.settle(&mut ctx);
            }
        }
        if !self.queue.is_empty() {
            self.admit_queued(now, &mut effects);
        }
        if !self.kept.is_empty() {
            // Steps that started waiting in this batch take the events kept for them.
            let mut candidates: Vec<String> = self.changed.iter().cloned().collect();
            loop {
                let took = self.offer_kept_events(now, &candidates, &mut effects);
                if took.is_empty() {
                    break;
                }
                for name in &took {
                    let Core {
                        jobs,
                        next_log_id,
                        reference,
                        ..
                    } = self;
                    if let Some(job) = jobs.get_mut(name) {
                        let mut ctx = Ctx {
                            now,
                            effects: &mut effects,
                            next_log_id,
                            reference: *reference,
                        };
                        job.settle(&mut ctx);
                    }
                }
                candidates = took;
            }
        }
        (effects, results)
    }

    pub fn job_record(&self, job: &str) -> Option<JobRecord> {
        self.jobs.get(job).map(|j| j.record.clone())
    }

    /// The job definition (`job NAME { ... }`) a job is a run of, whatever the run is called
    /// (`start --definition NIGHTLY --job NIGHTLY_RERUN`); `None` for an ad-hoc run.
    pub fn job_definition(&self, job: &str) -> Option<String> {
        self.jobs
            .get(job)
            .and_then(|j| j.request.definition.clone())
    }

    /// Every step of the job's chain in definition order, nested chain steps right after their
    /// outer step (only for nested chains that started).
    pub fn step_records(&self, job: &str) -> Vec<StepRecord> {
        self.jobs
            .get(job)
            .map(|j| j.step_records())
            .unwrap_or_default()
    }

    /// The variables steps of the job set, by name (parameters not repeated).
    pub fn variables(&self, job: &str) -> BTreeMap<String, Variable> {
        self.jobs
            .get(job)
            .map(|j| j.vars.clone())
            .unwrap_or_default()
    }

    /// All jobs the core holds (running and ended), by name.
    pub fn job_names(&self) -> Vec<String> {
        self.jobs.keys().cloned().collect()
    }

    /// How much evaluation work the job has cost so far (since it was started or restored).
    pub fn eval_stats(&self, job: &str) -> Option<EvalStats> {
        self.jobs.get(job).map(|j| j.stats)
    }

    /// Drop an ended job from memory (drivers keep its history in the store).
    pub fn forget_job(&mut self, job: &str) -> bool {
        match self.jobs.get(job) {
            Some(j) if j.ended() => self.jobs.remove(job).is_some(),
            _ => false,
        }
    }

    /// The current truth value of every rule of the chain instance running at `subname`
    /// (`None`: the job's top-level chain), evaluated now; for `explain`.
    pub fn rule_values(&self, job: &str, subname: Option<&str>, now: Millis) -> Vec<RuleValue> {
        let Some(j) = self.jobs.get(job) else {
            return Vec::new();
        };
        let inst = match subname {
            None => 0,
            Some(sub) => match j
                .locate(sub)
                .and_then(|(i, s)| j.instances[i].step(s).nested)
            {
                Some(n) => n,
                None => return Vec::new(),
            },
        };
        let Some(instance) = j.instances.get(inst) else {
            return Vec::new();
        };
        let steps = instance.steps();
        let facts = |idx: usize| steps.get(idx).map(|s| s.facts());
        let vars = |name: &str| super::job::variable_value(&j.vars, &j.record.parameters, name);
        instance
            .def
            .exprs
            .iter()
            .zip(&instance.def.chain.rules)
            .map(|(e, r)| RuleValue {
                rule: r.name.clone(),
                truth: e.eval_vars(&facts, &vars, now),
            })
            .collect()
    }

    /// Run `f` on a job with a context. Unknown job → `UnknownJob`.
    pub(crate) fn with_job<R>(
        &mut self,
        name: &str,
        now: Millis,
        effects: &mut Vec<Effect>,
        f: impl FnOnce(&mut Job, &mut Ctx) -> Result<R, CoreError>,
    ) -> Result<R, CoreError> {
        let Core {
            jobs,
            next_log_id,
            reference,
            changed,
            ..
        } = self;
        let job = jobs
            .get_mut(name)
            .ok_or_else(|| CoreError::UnknownJob(name.to_string()))?;
        if !changed.contains(name) {
            changed.insert(name.to_string());
        }
        let mut ctx = Ctx {
            now,
            effects,
            next_log_id,
            reference: *reference,
        };
        f(job, &mut ctx)
    }

    /// Apply one input without evaluating; `affected` receives the jobs to settle.
    fn apply(
        &mut self,
        now: Millis,
        input: Input,
        effects: &mut Vec<Effect>,
        affected: &mut Vec<String>,
    ) -> Result<(), CoreError> {
        match input {
            Input::StartJob(req) => {
                let name = self.start_job(now, req, effects)?;
                affected.push(name);
                Ok(())
            }
            Input::Restart(req) => {
                let name = self.restart_job(now, req, effects)?;
                affected.push(name);
                Ok(())
            }
            Input::StepFinished {
                job,
                subname,
                attempt,
                outcome,
                variables,
            } => {
                if outcome == Outcome::Failed(0) {
                    return Err(CoreError::Invalid(
                        "a FAILED outcome needs a non-zero error code".into(),
                    ));
                }
                let hit = self.with_job(&job, now, effects, |j, ctx| {
                    if j.ended() {
                        return Ok(false);
                    }
                    let (i, s) = j.locate(&subname).ok_or_else(|| j.unknown_step(&subname))?;
                    let st = &j.instances[i].step(s);
                    let is_program = matches!(j.step_def(i, s).kind, StepTarget::Program(_));
                    if !j.instances[i].live()
                        || st.state != StepState::Running
                        || st.attempts != attempt
                        || !is_program
                    {
                        return Ok(false); // a stale report
                    }
                    // Applied with the outcome, in the same turn (one durable batch).
                    j.set_variables(&subname, variables, ctx);
                    j.attempt_finished(i, s, outcome, ctx);
                    Ok(true)
                })?;
                if hit {
                    affected.push(job);
                }
                Ok(())
            }
            Input::TimerFired {
                job,
                timer: TimerKey::MaxRunDuration,
            } => self.with_job(&job, now, effects, |j, ctx| {
                super::admission::max_run_duration_fired(j, ctx);
                Ok(())
            }),
            Input::TimerFired { job, timer } => {
                let hit =
                    self.with_job(&job, now, effects, |j, ctx| Ok(timer_fired(j, timer, ctx)))?;
                if hit {
                    affected.push(job);
                }
                Ok(())
            }
            Input::RaiseEvent { name, payload, job } => self.deliver_event(
                now,
                &name,
                &payload,
                job.as_deref(),
                None,
                effects,
                affected,
            ),
            Input::RaiseEventKept {
                name,
                payload,
                job,
                keep,
            } => self.deliver_event(
                now,
                &name,
                &payload,
                job.as_deref(),
                Some(keep),
                effects,
                affected,
            ),
            Input::Alter { job, step, change } => {
                self.alter_running(now, &job, step.as_deref(), &change, effects)
            }
            Input::AlterChain {
                chain,
                step,
                change,
            } => self.alter_chain(now, &chain, step.as_deref(), &change, effects),
            Input::DefineRule { chain, rule } => self.define_rule(now, &chain, rule, effects),
            Input::DropRule { chain, rule } => self.drop_rule(now, &chain, &rule, effects),
            Input::DropStep { chain, step, force } => self.drop_step(&chain, &step, force),
            Input::Evaluate { job } => {
                self.with_job(&job, now, effects, |j, _ctx| {
                    if j.ended() {
                        return Err(CoreError::JobEnded(j.name().to_string()));
                    }
                    for i in j.live_instances() {
                        j.queue_eval(i);
                    }
                    Ok(())
                })?;
                affected.push(job);
                Ok(())
            }
            Input::Stop { job, step } => {
                let evaluate = self.with_job(&job, now, effects, |j, ctx| {
                    if j.ended() {
                        return Err(CoreError::JobEnded(j.name().to_string()));
                    }
                    match step {
                        None => {
                            j.stop_job(ctx);
                            Ok(false)
                        }
                        Some(sub) => {
                            let (i, s) = j.locate(&sub).ok_or_else(|| j.unknown_step(&sub))?;
                            if !j.instances[i].live() || !j.can_stop(i, s) {
                                return Err(CoreError::Invalid(format!(
                                    "step {sub} of job {} is {}; only a RUNNING, SCHEDULED, \
                                     RETRY SCHEDULED or STALLED step can be stopped",
                                    j.name(),
                                    j.instances[i].step(s).state.as_str()
                                )));
                            }
                            j.stop_step(i, s, StopReason::Stop, ctx);
                            j.queue_eval(i);
                            Ok(true)
                        }
                    }
                })?;
                if evaluate {
                    affected.push(job);
                }
                Ok(())
            }
        }
    }

    /// The compiled definitions a new run of `chain` needs (it and every nested chain).
    pub(crate) fn collect_defs(
        &mut self,
        chain: &str,
    ) -> Result<BTreeMap<String, Arc<Def>>, CoreError> {
        let mut out = BTreeMap::new();
        let mut stack = vec![chain.to_string()];
        while let Some(name) = stack.pop() {
            if out.contains_key(&name) {
                continue;
            }
            let def = match self.defs.get(&name) {
                Some(d) => d.clone(),
                None => {
                    let c = self
                        .catalog
                        .chains
                        .get(&name)
                        .ok_or_else(|| self.unknown_chain(&name))?;
                    let d = Arc::new(Def::build(c.clone()));
                    self.defs.insert(name.clone(), d.clone());
                    d
                }
            };
            for st in &def.chain.steps {
                if let StepTarget::Chain(n) = &st.kind {
                    stack.push(n.clone());
                }
            }
            out.insert(name, def);
        }
        Ok(out)
    }

    fn start_job(
        &mut self,
        now: Millis,
        req: StartRequest,
        effects: &mut Vec<Effect>,
    ) -> Result<String, CoreError> {
        let req = self.check_start(req)?;
        let defs = self.collect_defs(&req.chain)?;
        let (only, presets) = validate_start(&defs, &req)?;
        let name = match &req.job {
            Some(n) => {
                if self.jobs.get(n).is_some_and(|j| !j.ended()) {
                    return Err(CoreError::DuplicateJob(n.clone()));
                }
                n.clone()
            }
            None => self.generate_name(&req.chain),
        };
        let record = running_record(name, &req, now);
        let mut job = Job::new(record, req, defs);
        job.pending_presets = presets;
        self.place_new_job(now, job, only, effects)
    }

    /// "unknown chain X", with the closest chain (or job definition) name of the catalog.
    pub(crate) fn unknown_chain(&self, chain: &str) -> CoreError {
        let names = self.catalog.chains.keys().chain(self.catalog.jobs.keys());
        CoreError::UnknownChain {
            chain: chain.to_string(),
            nearest: nearest_name(chain, names.map(|k| k.as_str())),
        }
    }

    fn generate_name(&mut self, chain: &str) -> String {
        let prefix: String = chain.chars().take(8).collect();
        loop {
            let n = self.next_job_number;
            self.next_job_number += 1;
            let name = format!("RUN_CHAIN$_{prefix}{n}");
            if !self.jobs.contains_key(&name) {
                return name;
            }
        }
    }
}

/// *run with start steps*: the listed top-level steps, in the order given (`None`: all).
type StartOnly = Option<Vec<StepIdx>>;

/// The *run with start steps* list of an already validated request (a job leaving the queue).
pub(crate) fn start_steps(
    defs: &BTreeMap<String, Arc<Def>>,
    req: &StartRequest,
) -> Option<Vec<StepIdx>> {
    validate_start(defs, req).ok().and_then(|(only, _)| only)
}

/// Validate *run with start steps* and *run with step states* against the definitions.
pub(crate) fn validate_start(
    defs: &BTreeMap<String, Arc<Def>>,
    req: &StartRequest,
) -> Result<(StartOnly, BTreeMap<String, PresetState>), CoreError> {
    let root = &defs[&req.chain].chain;
    let only = if req.start_steps.is_empty() {
        None
    } else {
        let mut list = Vec::new();
        for name in &req.start_steps {
            let idx = root
                .step_index(name)
                .ok_or_else(|| CoreError::UnknownChainStep {
                    chain: req.chain.clone(),
                    step: name.clone(),
                    nearest: nearest_name(name, root.steps.iter().map(|s| s.name.as_str())),
                })?;
            if !list.contains(&idx) {
                list.push(idx);
            }
        }
        Some(list)
    };
    let mut presets = BTreeMap::new();
    for (sub, state) in &req.step_states {
        if let PresetState::Failed(n) = state {
            if *n <= 0 {
                return Err(CoreError::Invalid(format!(
                    "state 'FAILED {n}' of step {sub}: FAILED needs a positive error code"
                )));
            }
        }
        if !subname_exists(defs, &req.chain, sub) {
            return Err(CoreError::UnknownChainStep {
                chain: req.chain.clone(),
                step: sub.clone(),
                nearest: nearest_name(sub, root.steps.iter().map(|s| s.name.as_str())),
            });
        }
        presets.insert(sub.clone(), *state);
    }
    Ok((only, presets))
}

/// Does `subname` (`A`, `N.I2`, ...) name a step of `chain` or of its nested chains?
pub(crate) fn subname_exists(
    defs: &BTreeMap<String, Arc<Def>>,
    chain: &str,
    subname: &str,
) -> bool {
    let mut todo = vec![(chain.to_string(), subname.to_string())];
    while let Some((c, rest)) = todo.pop() {
        let Some(def) = defs.get(&c) else { continue };
        for st in &def.chain.steps {
            if st.name == rest {
                return true;
            }
            if let StepTarget::Chain(inner) = &st.kind {
                if let Some(tail) = rest
                    .strip_prefix(st.name.as_str())
                    .and_then(|t| t.strip_prefix('.'))
                {
                    todo.push((inner.clone(), tail.to_string()));
                }
            }
        }
    }
    false
}

/// Start the job's top-level chain: job record, timeline, root instance, listed start steps.
pub(crate) fn begin_run(job: &mut Job, only: Option<Vec<StepIdx>>, ctx: &mut Ctx) {
    job.job_changed(ctx);
    let detail = format!("chain {}", job.record.chain);
    job.timeline(ctx, None, TimelineKind::JobStarted, detail);
    let chain = job.record.chain.clone();
    job.first_eval_only = only.as_ref().map(|l| l.iter().copied().collect());
    let root = job.create_instance(&chain, None, None, ctx);
    if let Some(list) = only {
        // *run with start steps*: the listed steps start at once, whatever the rules say.
        for s in list {
            if job.instances[root].step(s).state == StepState::NotStarted {
                let cause = StartedBy {
                    how: StartHow::StartSteps,
                    rule: None,
                };
                job.starting(cause, |j| j.begin(root, s, ctx));
            }
        }
    }
}

/// The record of a job that starts running now under `name` (a new job, or one restarted in
/// place with no record left).
pub(crate) fn running_record(name: String, req: &StartRequest, now: Millis) -> JobRecord {
    JobRecord {
        job: name,
        chain: req.chain.clone(),
        state: JobState::Running,
        error_code: None,
        parameters: req.parameters.clone(),
        started_at: now,
        ended_at: None,
        stall_reason: None,
        group: None,
        serialize_key: None,
        enqueued_at: None,
        requested_by: req.requested_by.clone(),
    }
}
