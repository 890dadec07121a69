//! Manual control: *alter running chain* (one job), *alter chain* (the definition, for running
//! jobs and future runs) and *redefine a rule*. None of them evaluates by itself; each marks the
//! rules that can see the change, so the next evaluation applies it.
//!
//! Every input is validated completely before anything is changed: a refused alter changes
//! nothing (docs/evaluator.md, "Attributes and manual control").

use super::engine::Core;
use super::job::*;
use super::lifecycle::StopReason;
use super::types::*;
use crate::catalog::{Chain, RetryPolicy, RuleAction, StepAttributes, StepIdx};
use crate::lang::diagnostic::nearest_name;
use crate::lang::duration::Millis;
use std::collections::HashMap;
use std::sync::Arc;

/// `pause=true, state=SUCCEEDED` style text for timeline rows.
fn describe(change: &AlterChange) -> String {
    let mut parts = Vec::new();
    if let Some(v) = change.pause {
        parts.push(format!("pause={v}"));
    }
    if let Some(v) = change.pause_before {
        parts.push(format!("pause_before={v}"));
    }
    if let Some(v) = change.skip {
        parts.push(format!("skip={v}"));
    }
    if let Some(v) = change.restart_on_failure {
        parts.push(format!("restart_on_failure={v}"));
    }
    if let Some(v) = change.restart_on_recovery {
        parts.push(format!("restart_on_recovery={v}"));
    }
    match change.timeout {
        Some(0) => parts.push("timeout=none".into()),
        Some(t) => parts.push(format!(
            "timeout={}",
            crate::lang::duration::format_duration(t)
        )),
        None => {}
    }
    match change.state {
        Some(PresetState::NotStarted) => parts.push("state=NOT_STARTED".into()),
        Some(PresetState::Succeeded) => parts.push("state=SUCCEEDED".into()),
        Some(PresetState::Failed(n)) => parts.push(format!("state=FAILED {n}")),
        Some(PresetState::Stopped) => parts.push("state=STOPPED".into()),
        None => {}
    }
    if parts.is_empty() {
        "no change".into()
    } else {
        parts.join(", ")
    }
}

/// Set the step attributes a change names (the others stay). `restart_on_failure=true` keeps
/// a written retry policy, else takes the Oracle one; `timeout=0` removes the timeout.
pub(crate) fn apply_attributes(attrs: &mut StepAttributes, change: &AlterChange) {
    if let Some(v) = change.skip {
        attrs.skip = v;
    }
    if let Some(v) = change.pause_before {
        attrs.pause_before = v;
    }
    if let Some(v) = change.pause {
        attrs.pause = v;
    }
    if let Some(v) = change.restart_on_recovery {
        attrs.restart_on_recovery = v;
    }
    match change.restart_on_failure {
        Some(true) if attrs.restart_on_failure.is_none() => {
            attrs.restart_on_failure = Some(RetryPolicy::oracle())
        }
        Some(false) => attrs.restart_on_failure = None,
        _ => {}
    }
    if let Some(t) = change.timeout {
        attrs.timeout = (t > 0).then_some(t);
    }
}

impl Job {
    /// Run a manual change: it neither evaluates nor schedules a stall check (only an
    /// evaluation decides a stall), so the instances it touches are not recorded as touched.
    pub fn without_stall_checks<R>(&mut self, f: impl FnOnce(&mut Job) -> R) -> R {
        let saved = self.touched.clone();
        let r = f(self);
        self.touched = saved;
        r
    }

    /// Apply an (already validated) change to one step.
    pub fn alter_step(&mut self, i: InstId, s: StepIdx, change: &AlterChange, ctx: &mut Ctx) {
        let st = self.instances[i].step_mut(s);
        apply_attributes(&mut st.attrs, change);
        let release = change.pause == Some(false)
            && st.state == StepState::Paused
            && !st.paused_before
            && st.held.is_some();
        if release {
            // Clearing pause gives the held outcome (a completion, but no evaluation by itself).
            let outcome = st.held.unwrap_or(Outcome::Succeeded);
            self.set_outcome(i, s, outcome, ctx);
        } else if change.changes_attributes() {
            self.touch(i, s, ctx);
        }
        if let Some(state) = change.state {
            self.force_state(i, s, state, ctx);
        }
    }

    /// Set the state of a step that is not RUNNING (alter `state=`): cancels its timer and
    /// abandons a stalled nested chain.
    fn force_state(&mut self, i: InstId, s: StepIdx, state: PresetState, ctx: &mut Ctx) {
        let st = self.instances[i].step_mut(s);
        let timer = st.timer.take().map(|t| *t);
        let nested = st.nested;
        if let Some(n) = nested {
            if self.instances[n].live() {
                self.stop_instance(n, StopReason::ChainEnd, ctx);
            }
        }
        let st = self.instances[i].step_mut(s);
        st.held = None;
        st.paused_before = false;
        let new_state = match state {
            PresetState::NotStarted => {
                st.error_code = None;
                st.started_at = None;
                st.attempt_started_at = None;
                st.ended_at = None;
                st.retries_done = 0;
                StepState::NotStarted
            }
            PresetState::Succeeded => {
                st.error_code = Some(0);
                st.ended_at = Some(ctx.now);
                StepState::Succeeded
            }
            PresetState::Failed(n) => {
                st.error_code = Some(n);
                st.ended_at = Some(ctx.now);
                StepState::Failed
            }
            PresetState::Stopped => {
                st.error_code = Some(STOPPED_CODE);
                st.ended_at = Some(ctx.now);
                StepState::Stopped
            }
        };
        self.commit(i, s, new_state, ctx);
        if let Some((key, _)) = timer {
            ctx.effects.push(Effect::CancelTimer {
                job: self.record.job.clone(),
                timer: key,
            });
        }
    }
}

impl Core {
    /// *alter running chain*: one step (by subname) or, with no step, every step's attributes.
    pub(crate) fn alter_running(
        &mut self,
        now: Millis,
        job: &str,
        step: Option<&str>,
        change: &AlterChange,
        effects: &mut Vec<Effect>,
    ) -> Result<(), CoreError> {
        self.with_job(job, now, effects, |j, ctx| {
            if j.ended() {
                return Err(CoreError::JobEnded(j.name().to_string()));
            }
            if let Some(PresetState::Failed(n)) = change.state {
                if n <= 0 {
                    return Err(CoreError::Invalid(format!(
                        "state 'FAILED {n}': FAILED needs a positive error code, e.g. 'FAILED 20100'"
                    )));
                }
            }
            match step {
                Some(sub) => {
                    let (i, s) = j.locate(sub).ok_or_else(|| j.unknown_step(sub))?;
                    if !j.instances[i].live() {
                        return Err(CoreError::Invalid(format!(
                            "step {sub} of job {} belongs to a nested chain that has ended",
                            j.name()
                        )));
                    }
                    if change.state.is_some()
                        && j.instances[i].step(s).state == StepState::Running
                    {
                        return Err(CoreError::StepRunning {
                            job: j.name().to_string(),
                            step: sub.to_string(),
                        });
                    }
                    let detail = format!("{sub}: {}", describe(change));
                    j.timeline(ctx, Some(sub.to_string()), TimelineKind::Alter, detail);
                    j.without_stall_checks(|j| j.alter_step(i, s, change, ctx));
                }
                None => {
                    if change.state.is_some() {
                        return Err(CoreError::Invalid(
                            "a state can only be altered on one step: name the step".into(),
                        ));
                    }
                    let detail = format!("all steps: {}", describe(change));
                    j.timeline(ctx, None, TimelineKind::Alter, detail);
                    j.without_stall_checks(|j| {
                        for i in j.live_instances() {
                            for s in 0..j.instances[i].steps().len() {
                                j.alter_step(i, s, change, ctx);
                            }
                        }
                    });
                }
            }
            Ok(())
        })
    }

    /// *alter chain*: step attributes on the definition, for running jobs and future runs.
    pub(crate) fn alter_chain(
        &mut self,
        now: Millis,
        chain: &str,
        step: Option<&str>,
        change: &AlterChange,
        effects: &mut Vec<Effect>,
    ) -> Result<(), CoreError> {
        if change.state.is_some() {
            return Err(CoreError::Invalid(
                "alter chain changes step attributes only; set a state with alter on a running job"
                    .into(),
            ));
        }
        let def = self
            .catalog
            .chains
            .get(chain)
            .ok_or_else(|| self.unknown_chain(chain))?;
        if let Some(name) = step {
            if def.step_index(name).is_none() {
                return Err(CoreError::UnknownChainStep {
                    chain: chain.to_string(),
                    step: name.to_string(),
                    nearest: nearest_name(name, def.steps.iter().map(|s| s.name.as_str())),
                });
            }
        }
        let apply = |c: &mut Chain| {
            for st in c.steps.iter_mut() {
                if step.is_some_and(|n| n != st.name) {
                    continue;
                }
                apply_attributes(&mut st.attrs, change);
            }
            true
        };
        let detail = match step {
            Some(s) => format!("chain {chain}, step {s}: {}", describe(change)),
            None => format!("chain {chain}, all steps: {}", describe(change)),
        };
        self.redefine(
            now,
            chain,
            apply,
            effects,
            |j, i, ctx| {
                for s in 0..j.instances[i].steps().len() {
                    let name = &j.instances[i].def.chain.steps[s].name;
                    if step.is_some_and(|n| n != name) {
                        continue;
                    }
                    j.alter_step(i, s, change, ctx);
                }
            },
            &detail,
        );
        Ok(())
    }

    /// Redefine (or append) a rule by name: applies to running jobs from their next evaluation.
    pub(crate) fn define_rule(
        &mut self,
        now: Millis,
        chain: &str,
        rule: crate::catalog::Rule,
        effects: &mut Vec<Effect>,
    ) -> Result<(), CoreError> {
        let def = self
            .catalog
            .chains
            .get(chain)
            .ok_or_else(|| self.unknown_chain(chain))?;
        if rule.name.trim().is_empty() {
            return Err(CoreError::Invalid("a rule needs a name".into()));
        }
        let n_steps = def.steps.len();
        let mut mentioned = Vec::new();
        rule.condition.steps(&mut mentioned);
        match &rule.action {
            RuleAction::Start { steps, .. } | RuleAction::Stop { steps } => {
                mentioned.extend(steps.iter().copied())
            }
            RuleAction::End(crate::catalog::EndAction::StepErrorCode(s)) => mentioned.push(*s),
            RuleAction::End(_) => {}
        }
        if mentioned.iter().any(|&s| s >= n_steps) {
            return Err(CoreError::Invalid(format!(
                "rule {} names a step that chain {chain} does not have",
                rule.name
            )));
        }
        let step_names: Vec<String> = def.steps.iter().map(|s| s.name.clone()).collect();
        let rule_name = rule.name.clone();
        let apply = |c: &mut Chain| {
            // Step indices are only meaningful for the same list of steps.
            if c.steps.len() != step_names.len()
                || c.steps.iter().zip(&step_names).any(|(a, b)| a.name != *b)
            {
                return false;
            }
            let mut r = rule.clone();
            match c.rule_index(&r.name) {
                Some(idx) => {
                    r.position = idx + 1;
                    c.rules[idx] = r;
                }
                None => {
                    r.position = c.rules.len() + 1;
                    c.rules.push(r);
                }
            }
            true
        };
        let detail = format!(
            "rule {rule_name} defined: WHEN {} THEN {}",
            rule.condition_text, rule.action_text
        );
        let name_for_mark = rule_name.clone();
        self.redefine(
            now,
            chain,
            apply,
            effects,
            |j, i, _ctx| {
                let n = j.instances[i].def.chain.rules.len();
                let inst = &mut j.instances[i];
                inst.cache.resize(n);
                if let Some(idx) = inst.def.chain.rule_index(&name_for_mark) {
                    inst.cache.mark(idx);
                }
            },
            &detail,
        );
        Ok(())
    }

    /// Change chain `chain` in the catalog and in every running job that runs it. `apply` edits
    /// a definition (returns false when it does not apply to that version); `per_instance` then
    /// updates each live instance of the chain. Jobs sharing a definition share the new one.
    fn redefine(
        &mut self,
        now: Millis,
        chain: &str,
        apply: impl Fn(&mut Chain) -> bool,
        effects: &mut Vec<Effect>,
        per_instance: impl Fn(&mut Job, InstId, &mut Ctx),
        detail: &str,
    ) {
        self.redefine_in(now, chain, true, apply, effects, per_instance, detail)
    }

    /// [`Core::redefine`]; `catalog_too: false` leaves the catalog as it is (a reload has
    /// already replaced it) and changes only the running jobs.
    #[allow(clippy::too_many_arguments)]
    fn redefine_in(
        &mut self,
        now: Millis,
        chain: &str,
        catalog_too: bool,
        apply: impl Fn(&mut Chain) -> bool,
        effects: &mut Vec<Effect>,
        per_instance: impl Fn(&mut Job, InstId, &mut Ctx),
        detail: &str,
    ) {
        let old_cached = self.defs.get(chain).cloned();
        if catalog_too {
            if let Some(c) = self.catalog.chains.get_mut(chain) {
                apply(c);
                self.defs
                    .insert(chain.to_string(), Arc::new(Def::build(c.clone())));
            }
        }
        let new_cached = self.defs.get(chain).cloned();
        let mut memo: HashMap<usize, Option<Arc<Def>>> = HashMap::new();
        let Core {
            jobs,
            next_log_id,
            reference,
            changed,
            ..
        } = self;
        for (name, job) in jobs.iter_mut() {
            if job.ended() {
                continue;
            }
            let Some(old) = job.defs.get(chain).cloned() else {
                continue;
            };
            changed.insert(name.clone());
            let key = Arc::as_ptr(&old) as usize;
            let new = memo
                .entry(key)
                .or_insert_with(|| {
                    if let (true, Some(oc), Some(nc)) = (catalog_too, &old_cached, &new_cached) {
                        if Arc::ptr_eq(oc, &old) {
                            return Some(nc.clone());
                        }
                    }
                    let mut c = old.chain.clone();
                    apply(&mut c).then(|| Arc::new(Def::build(c)))
                })
                .clone();
            let Some(new) = new else { continue };
            job.defs.insert(chain.to_string(), new.clone());
            job.defs_version += 1;
            let mut ctx = Ctx {
                now,
                effects,
                next_log_id,
                reference: *reference,
            };
            job.timeline(&mut ctx, None, TimelineKind::Alter, detail.to_string());
            for i in job.live_instances() {
                if job.instances[i].chain_name == chain {
                    job.instances[i].def = new.clone();
                    job.without_stall_checks(|job| per_instance(job, i, &mut ctx));
                }
            }
        }
    }
}

impl Core {
    /// Drop rule `rule` of `chain`: from the catalog (future runs) and from every running job
    /// of the chain (their next evaluation no longer sees it).
    pub(crate) fn drop_rule(
        &mut self,
        now: Millis,
        chain: &str,
        rule: &str,
        effects: &mut Vec<Effect>,
    ) -> Result<(), CoreError> {
        let def = self
            .catalog
            .chains
            .get(chain)
            .ok_or_else(|| self.unknown_chain(chain))?;
        if def.rule_index(rule).is_none() {
            let nearest = nearest_name(rule, def.rules.iter().map(|r| r.name.as_str()));
            return Err(CoreError::Invalid(format!(
                "chain {chain} has no rule {rule}{}",
                crate::lang::diagnostic::did_you_mean(nearest.as_deref())
            )));
        }
        let apply = |c: &mut Chain| {
            let Some(idx) = c.rule_index(rule) else {
                return false;
            };
            c.rules.remove(idx);
            for (n, r) in c.rules.iter_mut().enumerate() {
                r.position = n + 1;
            }
            true
        };
        let detail = format!("rule {rule} dropped");
        self.redefine(
            now,
            chain,
            apply,
            effects,
            |j, i, _ctx| j.instances[i].rebuild_cache(),
            &detail,
        );
        Ok(())
    }

    /// Drop step `step` of `chain` from the catalog (future runs). Refused while a rule names
    /// it (the rules are listed), when it is the chain's only step, and, unless `force`, while
    /// a job runs the chain (the jobs are listed). Running jobs keep their definitions either
    /// way: a step that exists in a run is not taken out from under it.
    pub(crate) fn drop_step(
        &mut self,
        chain: &str,
        step: &str,
        force: bool,
    ) -> Result<(), CoreError> {
        let def = self
            .catalog
            .chains
            .get(chain)
            .ok_or_else(|| self.unknown_chain(chain))?;
        let Some(idx) = def.step_index(step) else {
            return Err(CoreError::UnknownChainStep {
                chain: chain.to_string(),
                step: step.to_string(),
                nearest: nearest_name(step, def.steps.iter().map(|s| s.name.as_str())),
            });
        };
        let naming: Vec<&str> = def
            .rules
            .iter()
            .filter(|r| r.steps().contains(&idx))
            .map(|r| r.name.as_str())
            .collect();
        if !naming.is_empty() {
            return Err(CoreError::Invalid(format!(
                "step {step} of chain {chain} is named by rule(s) {}: drop or redefine them first",
                naming.join(", ")
            )));
        }
        if def.steps.len() == 1 {
            return Err(CoreError::Invalid(format!(
                "step {step} is the only step of chain {chain}; a chain needs a step"
            )));
        }
        if !force {
            let running: Vec<&str> = self
                .jobs
                .iter()
                .filter(|(_, j)| !j.ended() && j.defs.contains_key(chain))
                .map(|(n, _)| n.as_str())
                .collect();
            if !running.is_empty() {
                let shown: Vec<&str> = running.iter().take(5).copied().collect();
                let more = running.len().saturating_sub(shown.len());
                return Err(CoreError::Invalid(format!(
                    "chain {chain} is running in job(s) {}{}: a step cannot be dropped while a \
                     job runs its chain (--force drops it for future runs; running jobs keep it)",
                    shown.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                )));
            }
        }
        let mut c = def.clone();
        c.steps.remove(idx);
        let map = |s: StepIdx| Some(if s > idx { s - 1 } else { s });
        c.rules = c.rules.iter().filter_map(|r| r.remap_steps(&map)).collect();
        self.defs
            .insert(chain.to_string(), Arc::new(Def::build(c.clone())));
        self.catalog.chains.insert(chain.to_string(), c);
        Ok(())
    }

    /// A reload: the new catalog is for future runs, and the rules of each chain whose rules
    /// changed apply to its running jobs too (defined, changed and dropped rules; matched to a
    /// running definition's steps by name, so a rule naming a step the run lacks is left out).
    /// Steps added or removed reach future runs only.
    pub fn reload_catalog(&mut self, now: Millis, catalog: crate::catalog::Catalog) -> Vec<Effect> {
        let changed: Vec<(String, Chain)> = catalog
            .chains
            .iter()
            .filter(|(name, c)| {
                self.catalog
                    .chains
                    .get(*name)
                    .is_some_and(|old| old.rules != c.rules)
            })
            .map(|(n, c)| (n.clone(), c.clone()))
            .collect();
        self.set_catalog(catalog);
        let mut effects = Vec::new();
        for (name, new) in changed {
            let apply = |c: &mut Chain| {
                let (rules, _left_out) = c.rules_by_step_name(&new, &new.rules);
                if rules == c.rules {
                    return false;
                }
                c.rules = rules;
                true
            };
            let detail = format!("rules of chain {name} reloaded from the rule files");
            self.redefine_in(
                now,
                &name,
                false,
                apply,
                &mut effects,
                |j, i, _ctx| j.instances[i].rebuild_cache(),
                &detail,
            );
        }
        // A group's limit may have been raised (`max_running 0` → n): queued jobs may run.
        self.admit_queued(now, &mut effects);
        effects
    }
}
