//! The state of one running chain job: its chain instances (the top-level chain and every nested
//! chain that started), the runtime state of their steps, and each instance's rule cache.
//!
//! WHY a cache: evaluation after a step completes must cost in proportion to the rules that
//! mention the steps that changed, not to the chain's size. Each compiled definition ([`Def`])
//! indexes step → rules whose condition mentions it and step → rules whose action targets it;
//! each instance keeps every rule's last truth value, the set of TRUE END rules, and a dirty set
//! of rules to re-evaluate. Every change to a step goes through [`Job::commit`] or
//! [`Job::touch`], which marks exactly the rules that can see the change.
//!
//! Instances live in an arena (`instances`, index = [`InstId`]); a nested instance always has a
//! larger id than its parent, which the stall propagation relies on.

use super::eval::Expr;
use super::types::*;
use crate::catalog::{Chain, RuleAction, RuleIdx, StepIdx, StepTarget};
use crate::lang::duration::Millis;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

pub(crate) use super::instance::*;

/// Error code of a step stopped by STOP, by stopping the job, by the chain's END or by recovery.
pub(crate) const STOPPED_CODE: i64 = 1013;
/// Error code of `END s.ERROR_CODE` when s has not completed.
pub(crate) const END_STEP_NOT_COMPLETED: i64 = 27435;

/// A chain definition as a job runs it, with its compiled rules and indexes.
/// Serialized as the plain [`Chain`]; the indexes are rebuilt on load.
#[derive(Debug)]
pub(crate) struct Def {
    pub chain: Chain,
    pub exprs: Vec<Expr>,
    /// step → rules whose condition mentions it (each rule once, ascending).
    pub cond_index: Vec<Vec<RuleIdx>>,
    /// step → rules whose START/STOP action targets it (each rule once, ascending).
    pub action_index: Vec<Vec<RuleIdx>>,
    /// Rules whose value can change with time alone (always re-evaluated).
    pub time_dependent: Vec<RuleIdx>,
    /// Variable name → rules whose condition reads it (each rule once, ascending):
    /// re-evaluated when a step changes that variable.
    pub var_index: HashMap<String, Vec<RuleIdx>>,
    /// Step name → index: top-level steps are located through their chain's definition (shared
    /// by every job of the chain), so a job needs no per-step name index of its own.
    pub step_by_name: HashMap<String, StepIdx>,
}

impl Def {
    pub fn build(chain: Chain) -> Def {
        let n = chain.steps.len();
        let mut cond_index = vec![Vec::new(); n];
        let mut action_index = vec![Vec::new(); n];
        let mut exprs = Vec::with_capacity(chain.rules.len());
        let mut time_dependent = Vec::new();
        let mut var_index: HashMap<String, Vec<RuleIdx>> = HashMap::new();
        for (r, rule) in chain.rules.iter().enumerate() {
            let expr = Expr::compile(&rule.condition);
            let mut mentioned = Vec::new();
            expr.steps(&mut mentioned);
            mentioned.sort_unstable();
            mentioned.dedup();
            for s in mentioned {
                if let Some(list) = cond_index.get_mut(s) {
                    list.push(r);
                }
            }
            let mut targets: Vec<StepIdx> = match &rule.action {
                RuleAction::Start { steps, .. } | RuleAction::Stop { steps } => steps.clone(),
                RuleAction::End(_) => Vec::new(),
            };
            targets.sort_unstable();
            targets.dedup();
            for s in targets {
                if let Some(list) = action_index.get_mut(s) {
                    list.push(r);
                }
            }
            if expr.is_time_dependent() {
                time_dependent.push(r);
            }
            let mut names = Vec::new();
            rule.condition.variables(&mut names);
            names.sort_unstable();
            names.dedup();
            for n in names {
                var_index.entry(n).or_default().push(r);
            }
            exprs.push(expr);
        }
        let step_by_name = chain
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.clone(), i))
            .collect();
        Def {
            step_by_name,
            chain,
            exprs,
            cond_index,
            action_index,
            time_dependent,
            var_index,
        }
    }

    pub fn empty() -> Arc<Def> {
        Arc::new(Def::build(Chain {
            name: String::new(),
            comment: None,
            evaluation_interval: None,
            steps: Vec::new(),
            rules: Vec::new(),
            source: String::new(),
        }))
    }

    pub fn is_end(&self, r: RuleIdx) -> bool {
        matches!(self.chain.rules[r].action, RuleAction::End(_))
    }
}

impl Serialize for Def {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.chain.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Def {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Def::build(Chain::deserialize(d)?))
    }
}

/// Everything the core knows about one chain job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Job {
    pub record: JobRecord,
    /// How the job was started (restartable recovery starts it again the same way).
    pub request: StartRequest,
    /// The chain definitions the job runs (its chain and every nested chain it can reach).
    pub defs: BTreeMap<String, Arc<Def>>,
    /// Bumped whenever `defs` changes (alter chain, rule redefinition), so a store can keep the
    /// definitions apart and rewrite them only when they change.
    #[serde(default)]
    pub defs_version: u64,
    pub instances: Vec<Instance>,
    /// *run with start steps*: until the first evaluation is over, a START of a top-level step
    /// not in this set makes it skipped-and-paused.
    pub first_eval_only: Option<BTreeSet<StepIdx>>,
    /// *run with step states* for nested steps whose chain has not started yet.
    pub pending_presets: BTreeMap<String, PresetState>,
    /// Subname → step, for the steps of nested chain instances (top-level steps are found
    /// through their chain's definition: [`Def::step_by_name`]).
    #[serde(skip)]
    pub subnames: HashMap<String, (InstId, StepIdx)>,
    /// Event steps RUNNING (waiting for their event).
    #[serde(skip)]
    pub waiting: BTreeSet<(InstId, StepIdx)>,
    /// Instances to evaluate before the current input batch is over.
    #[serde(skip)]
    pub eval_queue: BTreeSet<InstId>,
    /// Queued only by an interval tick: no timeline row unless a rule fires.
    #[serde(skip)]
    pub quiet: BTreeSet<InstId>,
    /// Instances whose steps changed (stall check at the end of the batch).
    #[serde(skip)]
    pub touched: BTreeSet<InstId>,
    /// Work done by evaluations (not persisted): the cost measure the tests check.
    #[serde(skip)]
    pub stats: EvalStats,
    /// Position in the FIFO queue while ENQUEUED (`admission.rs`).
    #[serde(default)]
    pub queue_seq: u64,
    /// The definition's `max_run_duration` (logged when exceeded, never enforced).
    #[serde(default)]
    pub max_run_duration: Option<Millis>,
    /// The `max_run_duration` was exceeded (the chain job's log row says so).
    #[serde(default)]
    pub over_duration: bool,
    /// The job's own record as the journal last took it (`journal.rs`): it is written again
    /// only when it differs.
    #[serde(skip)]
    pub journaled_header: Option<super::journal::JobHeaderRecord>,
    /// Job variables set by steps (name, upper-cased → value); parameters are their starting
    /// values and are not copied here (docs/variables.md).
    #[serde(default)]
    pub vars: BTreeMap<String, Variable>,
    /// Variables set since the journal last took them.
    #[serde(skip)]
    pub vars_dirty: BTreeSet<String>,
    /// The job's run: 1, then one more at each restart (job-log rows carry it).
    #[serde(default = "first_run")]
    pub run: u32,
    /// A restart: per top-level step of the previous run, its attempts (attempt numbers go on)
    /// and, for a step kept as it ended, its start and end. Used once, when the top-level
    /// instance is created.
    #[serde(skip)]
    pub carried: BTreeMap<String, (u32, Option<Millis>, Option<Millis>)>,
    /// How the step being started now is started (the timeline says it); set around each
    /// start, never persisted.
    #[serde(skip)]
    pub start_cause: Option<StartedBy>,
    /// Until the end of the current input batch: the job was restarted in it (its first
    /// evaluation's STARTs are the restart's).
    #[serde(skip)]
    pub restarting: bool,
    /// Until the end of the current input batch: a raised event completed a step of the job
    /// (the evaluation's STARTs are the event's doing).
    #[serde(skip)]
    pub after_event: bool,
}

fn first_run() -> u32 {
    1
}

/// The value of variable `name`: what a step set, else the parameter of that name.
pub(crate) fn variable_value(
    vars: &BTreeMap<String, Variable>,
    parameters: &BTreeMap<String, String>,
    name: &str,
) -> Option<String> {
    vars.get(name)
        .map(|v| v.value.clone())
        .or_else(|| parameters.get(name).cloned())
}

/// How much evaluation work a job has cost: rule conditions evaluated and step facts read by
/// them. Deterministic (unlike time), so tests can check that the cost of a completion does not
/// grow with the chain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EvalStats {
    pub evaluations: u64,
    pub passes: u64,
    pub rules_evaluated: u64,
    pub facts_read: u64,
}

/// The job-log id allocator: `next`, then every `stride`-th number. One engine alone uses
/// stride 1; engines sharing a database each use their own residue modulo a common stride
/// (their slot), so no two engines ever hand out the same id (docs/scale-out.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogIds {
    pub next: u64,
    pub stride: u64,
}

impl LogIds {
    pub fn take(&mut self) -> u64 {
        let id = self.next;
        self.next += self.stride.max(1);
        id
    }
}

/// What every state change needs: the instant, the effect sink, the log-id allocator.
pub(crate) struct Ctx<'a> {
    pub now: Millis,
    pub effects: &'a mut Vec<Effect>,
    pub next_log_id: &'a mut LogIds,
    /// Naive full evaluation (every rule, every pass): the reference for property tests.
    pub reference: bool,
}

impl Ctx<'_> {
    pub fn alloc_log_id(&mut self) -> u64 {
        self.next_log_id.take()
    }
}

impl Job {
    pub fn new(record: JobRecord, request: StartRequest, defs: BTreeMap<String, Arc<Def>>) -> Job {
        Job {
            record,
            request,
            defs,
            defs_version: 1,
            instances: Vec::new(),
            first_eval_only: None,
            pending_presets: BTreeMap::new(),
            subnames: HashMap::new(),
            waiting: BTreeSet::new(),
            eval_queue: BTreeSet::new(),
            quiet: BTreeSet::new(),
            touched: BTreeSet::new(),
            stats: EvalStats::default(),
            queue_seq: 0,
            max_run_duration: None,
            over_duration: false,
            journaled_header: None,
            vars: BTreeMap::new(),
            vars_dirty: BTreeSet::new(),
            run: 1,
            carried: BTreeMap::new(),
            start_cause: None,
            restarting: false,
            after_event: false,
        }
    }

    /// The parameters and variables a step sees (environment, `${NAME}`): the parameters,
    /// overridden by the variables steps set.
    pub fn environment(&self) -> BTreeMap<String, String> {
        let mut env = self.record.parameters.clone();
        for (k, v) in &self.vars {
            env.insert(k.clone(), v.value.clone());
        }
        env
    }

    /// Apply the variables an attempt of step `subname` set (with its outcome). Names are
    /// upper-cased; a name that cannot be a variable's is ignored (drivers refuse them
    /// first). The rules that read a variable whose value changed are re-evaluated, in every
    /// live chain instance of the job (the cost follows the rules reading what changed).
    pub fn set_variables(
        &mut self,
        subname: &str,
        variables: Vec<(String, String)>,
        ctx: &mut Ctx,
    ) {
        let mut changed: Vec<String> = Vec::new();
        for (name, value) in variables {
            let name = name.to_ascii_uppercase();
            if !valid_variable_name(&name) || value.contains('\0') {
                continue;
            }
            if variable_value(&self.vars, &self.record.parameters, &name).as_deref()
                != Some(value.as_str())
            {
                changed.push(name.clone());
            }
            let detail = format!("{name} = '{value}' (set by {subname})");
            self.vars.insert(
                name.clone(),
                Variable {
                    value,
                    set_by: subname.to_string(),
                    set_at: ctx.now,
                },
            );
            self.vars_dirty.insert(name);
            self.timeline(
                ctx,
                Some(subname.to_string()),
                TimelineKind::Variable,
                detail,
            );
        }
        if changed.is_empty() {
            return;
        }
        for i in self.live_instances() {
            let def = self.instances[i].def.clone();
            let mut any = false;
            for name in &changed {
                for &r in def.var_index.get(name).map(Vec::as_slice).unwrap_or(&[]) {
                    self.instances[i].cache.mark(r);
                    any = true;
                }
            }
            if any {
                self.queue_eval(i);
            }
        }
    }

    pub fn name(&self) -> &str {
        &self.record.job
    }

    pub fn ended(&self) -> bool {
        self.record.state.is_finished()
    }

    /// Queue an evaluation of instance `i` (a trigger: start, completion, event, evaluate).
    pub fn queue_eval(&mut self, i: InstId) {
        self.eval_queue.insert(i);
        self.quiet.remove(&i);
    }

    pub fn step_def(&self, i: InstId, s: StepIdx) -> &crate::catalog::Step {
        &self.instances[i].def.chain.steps[s]
    }

    /// Create a chain instance (top level when `outer` is None), register its subnames, apply
    /// pending presets, arm its evaluation interval, and queue its first evaluation.
    pub fn create_instance(
        &mut self,
        chain_name: &str,
        outer: Option<(InstId, StepIdx)>,
        previous: Option<InstId>,
        ctx: &mut Ctx,
    ) -> InstId {
        let def = self
            .defs
            .get(chain_name)
            .cloned()
            .unwrap_or_else(Def::empty);
        let outer_subname = outer.map(|(oi, os)| self.instances[oi].step(os).subname.clone());
        let id = self.instances.len();
        let steps: Vec<StepRt> = def
            .chain
            .steps
            .iter()
            .enumerate()
            .map(|(idx, st)| {
                let subname = match &outer_subname {
                    Some(p) => format!("{p}.{}", st.name),
                    None => st.name.clone(),
                };
                let mut rt = StepRt::new(subname, st.attrs.clone());
                // Attempt numbers continue across re-runs of the same subname.
                if let Some(prev) = previous {
                    if let Some(p) = self.instances[prev].steps().get(idx) {
                        rt.attempts = p.attempts;
                    }
                }
                rt
            })
            .collect();
        let interval = def.chain.evaluation_interval;
        let mut inst = Instance::new(chain_name.to_string(), outer, outer_subname, steps, def);
        inst.rebuild_cache();
        self.instances.push(inst);
        for s in 0..self.instances[id].steps().len() {
            let sub = self.instances[id].step(s).subname.clone();
            if outer.is_some() {
                self.subnames.insert(sub.clone(), (id, s));
            }
            if let Some(preset) = self.pending_presets.remove(&sub) {
                self.apply_preset(id, s, preset);
            }
            if outer.is_none() {
                if let Some((attempts, started, ended)) = self.carried.remove(&sub) {
                    let st = self.instances[id].step_mut(s);
                    st.attempts = attempts;
                    if st.state.is_completed() {
                        st.started_at = started;
                        st.attempt_started_at = started;
                        st.ended_at = ended;
                    }
                }
            }
        }
        for s in 0..self.instances[id].steps().len() {
            ctx.effects.push(Effect::StepChanged {
                job: self.record.job.clone(),
                step: self.step_record(id, s),
            });
        }
        if let Some(every) = interval.filter(|ms| *ms > 0) {
            let due = ctx.now.saturating_add(every);
            self.instances[id].set_interval_due(Some(due));
            ctx.effects.push(Effect::SetTimer {
                job: self.record.job.clone(),
                timer: self.instances[id].interval_key(),
                due,
            });
        }
        self.queue_eval(id);
        id
    }

    /// *run with step states*: the step is SUCCEEDED / FAILED n and never runs (no log row).
    pub fn apply_preset(&mut self, i: InstId, s: StepIdx, preset: PresetState) {
        let st = self.instances[i].step_mut(s);
        match preset {
            PresetState::NotStarted => {}
            PresetState::Succeeded => {
                st.state = StepState::Succeeded;
                st.error_code = Some(0);
            }
            PresetState::Failed(code) => {
                st.state = StepState::Failed;
                st.error_code = Some(code);
            }
            PresetState::Stopped => {
                st.state = StepState::Stopped;
                st.error_code = Some(STOPPED_CODE);
            }
        }
        self.instances[i].mark_step(s);
    }

    /// Forget the subnames of a replaced instance (and of its nested instances).
    pub fn detach_instance(&mut self, i: InstId) {
        let mut stack = vec![i];
        while let Some(id) = stack.pop() {
            self.instances[id].set_detached();
            for s in 0..self.instances[id].steps().len() {
                let st = &self.instances[id].step(s);
                if self.subnames.get(&st.subname) == Some(&(id, s)) {
                    self.subnames.remove(&st.subname);
                }
                self.waiting.remove(&(id, s));
                if let Some(n) = st.nested {
                    stack.push(n);
                }
            }
        }
    }

    /// The view record of one step.
    pub fn step_record(&self, i: InstId, s: StepIdx) -> StepRecord {
        let inst = &self.instances[i];
        let st = inst.step(s);
        StepRecord {
            subname: st.subname.clone(),
            parent_subname: inst.outer_subname.clone(),
            chain: inst.chain_name.clone(),
            step: inst.def.chain.steps[s].name.clone(),
            state: st.state,
            error_code: st.error_code,
            attempts: st.attempts,
            started_at: st.started_at,
            ended_at: st.ended_at,
            skip: st.attrs.skip,
            pause: st.attrs.pause,
            pause_before: st.attrs.pause_before,
            restart_on_recovery: st.attrs.restart_on_recovery,
            restart_on_failure: st.attrs.restart_on_failure.is_some(),
            log_id: st.log_id,
        }
    }

    /// Every step in definition order, nested steps right after their outer step.
    pub fn step_records(&self) -> Vec<StepRecord> {
        let mut out = Vec::new();
        if self.instances.is_empty() {
            return out;
        }
        // (instance, next step) stack: depth-first in definition order.
        let mut stack = vec![(0usize, 0usize)];
        while let Some((i, s)) = stack.pop() {
            if s >= self.instances[i].steps().len() {
                continue;
            }
            out.push(self.step_record(i, s));
            stack.push((i, s + 1));
            if let Some(n) = self.instances[i].step(s).nested {
                stack.push((n, 0));
            }
        }
        out
    }

    /// Record a state change of step (i, s): adjust the active count and the waiting set, mark
    /// the rules that see the step, and emit the StepChanged + timeline rows. Set the step's
    /// other fields BEFORE calling, so the emitted record is complete.
    pub fn commit(&mut self, i: InstId, s: StepIdx, state: StepState, ctx: &mut Ctx) {
        let is_event = matches!(
            self.instances[i].def.chain.steps[s].kind,
            StepTarget::Event { .. }
        );
        let inst = &mut self.instances[i];
        let old = inst.step(s).state;
        inst.step_mut(s).state = state;
        match (is_active(old), is_active(state)) {
            (false, true) => inst.cache.active += 1,
            (true, false) => inst.cache.active = inst.cache.active.saturating_sub(1),
            _ => {}
        }
        inst.mark_step(s);
        if is_event && state == StepState::Running {
            self.waiting.insert((i, s));
        } else {
            self.waiting.remove(&(i, s));
        }
        self.touched.insert(i);
        let rec = self.step_record(i, s);
        let detail = match (rec.state, rec.error_code) {
            (StepState::Failed, Some(code)) => format!("{} FAILED {code}", rec.subname),
            (state, _) => format!("{} {}", rec.subname, state.as_str()),
        };
        let subname = Some(rec.subname.clone());
        ctx.effects.push(Effect::StepChanged {
            job: self.record.job.clone(),
            step: rec,
        });
        // A start (every start sets its cause around the transition): the row says how.
        let started_by = if matches!(state, StepState::Running | StepState::Scheduled) {
            self.start_cause.clone()
        } else {
            None
        };
        ctx.effects.push(Effect::Timeline(TimelineEntry {
            time: ctx.now,
            job: self.record.job.clone(),
            subname,
            kind: TimelineKind::StepState,
            detail,
            started_by,
        }));
    }

    /// Run `f` with `cause` as the way steps it starts are started.
    pub fn starting<R>(&mut self, cause: StartedBy, f: impl FnOnce(&mut Job) -> R) -> R {
        let previous = self.start_cause.replace(cause);
        let out = f(self);
        self.start_cause = previous;
        out
    }

    /// Record a change of a step's attributes (no state change).
    pub fn touch(&mut self, i: InstId, s: StepIdx, ctx: &mut Ctx) {
        self.instances[i].mark_step(s);
        ctx.effects.push(Effect::StepChanged {
            job: self.record.job.clone(),
            step: self.step_record(i, s),
        });
    }

    pub fn timeline(
        &self,
        ctx: &mut Ctx,
        subname: Option<String>,
        kind: TimelineKind,
        detail: String,
    ) {
        ctx.effects.push(Effect::Timeline(TimelineEntry {
            time: ctx.now,
            job: self.record.job.clone(),
            subname,
            kind,
            detail,
            started_by: None,
        }));
    }

    pub fn job_changed(&self, ctx: &mut Ctx) {
        ctx.effects.push(Effect::JobChanged {
            job: self.record.clone(),
        });
    }

    /// Write the job-log row of a step run that ended with `status`/`code`.
    pub fn log_step(
        &mut self,
        i: InstId,
        s: StepIdx,
        status: StepState,
        code: i64,
        info: Option<String>,
        ctx: &mut Ctx,
    ) {
        let log_id = ctx.alloc_log_id();
        let inst = &mut self.instances[i];
        let step_name = inst.def.chain.steps[s].name.clone();
        let chain = inst.chain_name.clone();
        let st = inst.step_mut(s);
        st.log_id = Some(log_id);
        ctx.effects.push(Effect::Log(LogRow {
            log_id,
            time: ctx.now,
            job: self.record.job.clone(),
            subname: Some(st.subname.clone()),
            chain,
            step: Some(step_name),
            operation: st.operation,
            status,
            error_code: code,
            started_at: st.attempt_started_at,
            additional_info: info,
            run: self.run,
        }));
    }

    /// Resolve a subname (`A`, `N.I2`) to a registered step.
    pub fn locate(&self, subname: &str) -> Option<(InstId, StepIdx)> {
        let top = self.instances.first().and_then(|root| {
            let s = *root.def.step_by_name.get(subname)?;
            (root.steps().get(s)?.subname == subname).then_some((0, s))
        });
        top.or_else(|| self.subnames.get(subname).copied())
    }

    /// The refusal of an unknown subname, with the nearest one the job has (a typo).
    pub fn unknown_step(&self, subname: &str) -> super::CoreError {
        let top = self
            .instances
            .first()
            .map(|root| root.def.step_by_name.keys().map(String::as_str))
            .into_iter()
            .flatten();
        let nested = self.subnames.keys().map(String::as_str);
        // Sorted: the core answers the same whatever the hash order (ties go to the first).
        let mut names: Vec<&str> = top.chain(nested).collect();
        names.sort_unstable();
        super::CoreError::UnknownStep {
            job: self.name().to_string(),
            step: subname.to_string(),
            nearest: crate::lang::diagnostic::nearest_name(subname, names),
        }
    }

    /// Live instances in id order.
    pub fn live_instances(&self) -> Vec<InstId> {
        (0..self.instances.len())
            .filter(|&i| self.instances[i].live())
            .collect()
    }
}
