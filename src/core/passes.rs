//! Evaluation of one chain instance (docs/evaluator.md, "Passes") and the stall check.
//!
//! A pass: (1) evaluate the conditions against a snapshot of the step states; (2) if any TRUE
//! rule's action is END, the first such rule in rule order ends the chain and nothing else of
//! the pass applies; (3) otherwise apply every STOP, then every START, in rule order. Another
//! pass follows only when a step completed synchronously during the pass (a STOP, a skipped
//! step, a nested chain that ended at once) — a START alone does not (docs/evaluator.md, "Passes"), so a
//! TRUE `STOP B` does not undo the `START B` of the same pass; it acts at the next evaluation.
//!
//! Incremental mode (default) re-evaluates only dirty rules (those that can see a step changed
//! since their last evaluation, plus time-dependent ones) and applies only their actions. This
//! is exact: a rule stays clean only while nothing it reads or targets changes, so the action
//! of a clean TRUE rule is a no-op or was already applied (a START/STOP target that changes
//! makes every rule targeting it dirty again, so e.g. a pending `STOP B` re-applies at the next
//! evaluation exactly as in the reference mode); END precedence uses the set of ALL cached TRUE END rules.
//! Reference mode re-evaluates and re-applies every rule on every pass (property tests compare).

use super::eval::Truth;
use super::job::*;
use super::lifecycle::StopReason;
use super::types::*;
use crate::catalog::{EndAction, RuleAction, RuleIdx, StepTarget};

impl Job {
    /// Run passes on instance `i` until nothing changes (or the chain ends).
    pub fn evaluate_instance(&mut self, i: InstId, ctx: &mut Ctx) {
        self.eval_queue.remove(&i);
        let quiet = self.quiet.remove(&i);
        if self.ended() || !self.instances[i].live() {
            return;
        }
        self.stats.evaluations += 1;
        // Every evaluation is followed by a stall check of the instance.
        self.touched.insert(i);
        let mark = ctx.effects.len();
        let mut fired: Vec<String> = Vec::new();
        loop {
            let def = self.instances[i].def.clone();
            let rules = self.rules_to_evaluate(i, ctx.reference);
            // 1. Evaluate against the snapshot (no action applied yet).
            self.stats.passes += 1;
            self.stats.rules_evaluated += rules.len() as u64;
            {
                let (vars, params) = (&self.vars, &self.record.parameters);
                let lookup = |name: &str| variable_value(vars, params, name);
                let inst = &mut self.instances[i];
                let (steps, cache) = inst.steps_and_cache();
                let reads = std::cell::Cell::new(0u64);
                let facts = |idx: usize| {
                    reads.set(reads.get() + 1);
                    steps.get(idx).map(|s| s.facts())
                };
                for &r in &rules {
                    let t =
                        def.exprs[r].eval_watched(&facts, &lookup, ctx.now, &mut cache.watch[r]);
                    cache.truth[r] = t;
                    if def.is_end(r) && t.is_true() {
                        cache.true_ends.insert(r);
                    } else {
                        cache.true_ends.remove(&r);
                    }
                }
                self.stats.facts_read += reads.get();
            }
            // 2. The first TRUE END rule (among ALL rules) ends the chain.
            if let Some(&r) = self.instances[i].cache.true_ends.first() {
                let rule = &def.chain.rules[r];
                fired.push(rule.name.clone());
                let detail = format!("{}: {}", rule.name, rule.action_text);
                let code = match &rule.action {
                    RuleAction::End(EndAction::Code(n)) => *n,
                    RuleAction::End(EndAction::StepErrorCode(s)) => {
                        match self.instances[i].steps().get(*s) {
                            Some(st) if st.state.is_completed() => st.error_code.unwrap_or(0),
                            _ => END_STEP_NOT_COMPLETED,
                        }
                    }
                    _ => 0,
                };
                let sub = self.instances[i].outer_subname.clone();
                self.timeline(ctx, sub, TimelineKind::RuleFired, detail);
                self.end_instance(i, code, ctx);
                break;
            }
            // 3. Every STOP, then every START, in rule order.
            let mut changed = false;
            for stop_phase in [true, false] {
                for &r in &rules {
                    if !self.instances[i].cache.truth[r].is_true() {
                        continue;
                    }
                    let rule = &def.chain.rules[r];
                    let (targets, after) = match (&rule.action, stop_phase) {
                        (RuleAction::Stop { steps }, true) => (steps, None),
                        (RuleAction::Start { steps, after }, false) => (steps, *after),
                        _ => continue,
                    };
                    let mut announced = false;
                    for &s in targets {
                        if s >= self.instances[i].steps().len() {
                            continue;
                        }
                        let effective = if stop_phase {
                            self.can_stop(i, s)
                        } else {
                            self.can_start(i, s)
                        };
                        if !effective {
                            continue;
                        }
                        if !announced {
                            announced = true;
                            fired.push(rule.name.clone());
                            let detail = format!("{}: {}", rule.name, rule.action_text);
                            let sub = self.instances[i].outer_subname.clone();
                            self.timeline(ctx, sub, TimelineKind::RuleFired, detail);
                        }
                        if stop_phase {
                            self.stop_step(i, s, StopReason::Stop, ctx);
                        } else {
                            let how = if self.restarting {
                                StartHow::Restart
                            } else if self.after_event {
                                StartHow::Event
                            } else {
                                StartHow::Rule
                            };
                            let cause = StartedBy {
                                how,
                                rule: Some(rule.name.clone()),
                            };
                            self.starting(cause, |j| j.start_step(i, s, after, ctx));
                        }
                        // docs/evaluator.md, "Passes": only a step that completed synchronously (STOPPED,
                        // a skipped step, a nested chain that ended at once) causes another
                        // pass. A START alone does not, so a TRUE STOP rule does not undo a
                        // START of the same pass ("every STOP, then every START").
                        if self.instances[i].step(s).state.is_completed() {
                            changed = true;
                        }
                    }
                }
            }
            if !changed || !self.instances[i].live() {
                break;
            }
        }
        // Completions inside this instance were seen by the passes above.
        self.eval_queue.remove(&i);
        if quiet && fired.is_empty() {
            return;
        }
        let detail = if fired.is_empty() {
            "no rule fired".to_string()
        } else {
            format!("fired: {}", fired.join(", "))
        };
        ctx.effects.insert(
            mark,
            Effect::Timeline(TimelineEntry {
                time: ctx.now,
                job: self.record.job.clone(),
                subname: self.instances[i].outer_subname.clone(),
                kind: TimelineKind::Evaluation,
                detail,
                started_by: None,
            }),
        );
    }

    /// The rules of this pass, in rule order: all of them (reference), or the dirty ones plus
    /// the time-dependent ones. Clears the dirty set.
    fn rules_to_evaluate(&mut self, i: InstId, reference: bool) -> Vec<RuleIdx> {
        let inst = &mut self.instances[i];
        let n = inst.def.chain.rules.len();
        let mut dirty = std::mem::take(&mut inst.cache.dirty);
        for &r in &dirty {
            if let Some(f) = inst.cache.dirty_flag.get_mut(r) {
                *f = false;
            }
        }
        if reference {
            return (0..n).collect();
        }
        dirty.extend(inst.def.time_dependent.iter().copied());
        dirty.retain(|&r| r < n);
        dirty.sort_unstable();
        dirty.dedup();
        dirty
    }

    /// Settle a job after a batch of inputs: evaluate every queued instance (which may queue
    /// others: nested starts, nested ends), then check stalls innermost first, until quiet.
    ///
    /// A chain stalls only as the outcome of an evaluation: when a change that is not an
    /// evaluation trigger (a step paused after running, a nested chain stalled) would leave an
    /// instance with nothing active, that instance is evaluated once before being declared
    /// stalled (again if a step of it changed since its last evaluation), so a rule that is
    /// TRUE at that instant still gets its chance.
    pub fn settle(&mut self, ctx: &mut Ctx) {
        let mut evaluated = std::collections::BTreeSet::new();
        loop {
            while let Some(i) = self.eval_queue.pop_first() {
                evaluated.insert(i);
                self.evaluate_instance(i, ctx);
            }
            while let Some(i) = self.touched.pop_last() {
                let stale = !evaluated.contains(&i) || !self.instances[i].cache.dirty.is_empty();
                if self.would_stall(i) && stale {
                    self.queue_eval(i);
                    continue;
                }
                self.stall_check(i, ctx);
            }
            if self.eval_queue.is_empty() {
                break;
            }
        }
        self.first_eval_only = None;
        self.restarting = false;
        self.after_event = false;
    }

    fn would_stall(&self, i: InstId) -> bool {
        let inst = &self.instances[i];
        !self.ended()
            && inst.live()
            && inst.status() == InstStatus::Running
            && inst.cache.active == 0
            && self.can_stall(i)
    }

    /// Whether instance `i` may be declared stalled once nothing in it is active: only without
    /// an `evaluation_interval` (semantics: a chain with one never stalls, it keeps
    /// re-evaluating, as Oracle documents). `explain` says when such a chain is idle for good
    /// (docs/evaluator.md, "Stalls").
    pub(crate) fn can_stall(&self, i: InstId) -> bool {
        self.instances[i].def.chain.evaluation_interval.is_none()
    }

    /// Stall / unstall instance `i` (docs/evaluator.md, "Stalls").
    fn stall_check(&mut self, i: InstId, ctx: &mut Ctx) {
        if self.ended() || !self.instances[i].live() {
            return;
        }
        let inst = &self.instances[i];
        let can_stall = self.can_stall(i);
        let active = inst.cache.active > 0;
        let stalled = inst.status() == InstStatus::Stalled;
        if !active && !stalled && can_stall {
            let reason = self.stall_reason(i, ctx.now);
            self.instances[i].set_status(InstStatus::Stalled);
            match self.instances[i].outer {
                None => {
                    self.record.state = JobState::ChainStalled;
                    self.record.stall_reason = Some(reason.clone());
                    self.job_changed(ctx);
                    self.timeline(ctx, None, TimelineKind::Stall, reason);
                }
                Some((oi, os)) => {
                    let sub = self.instances[i].outer_subname.clone();
                    self.timeline(ctx, sub, TimelineKind::Stall, reason);
                    if self.instances[oi].step(os).state == StepState::Running {
                        self.commit(oi, os, StepState::Stalled, ctx);
                    }
                }
            }
        } else if stalled && (active || !can_stall) {
            self.instances[i].set_status(InstStatus::Running);
            match self.instances[i].outer {
                None => {
                    self.record.state = JobState::Running;
                    self.record.stall_reason = None;
                    self.job_changed(ctx);
                }
                Some((oi, os)) => {
                    if self.instances[oi].step(os).state == StepState::Stalled {
                        self.commit(oi, os, StepState::Running, ctx);
                    }
                }
            }
        }
    }

    /// A plain sentence saying why instance `i` cannot progress.
    pub fn stall_reason(&self, i: InstId, now: u64) -> String {
        let inst = &self.instances[i];
        let def = &inst.def;
        let steps = inst.steps();
        let facts = |idx: usize| steps.get(idx).map(|s| s.facts());
        let vars = |name: &str| variable_value(&self.vars, &self.record.parameters, name);
        let truth: Vec<Truth> = def
            .exprs
            .iter()
            .map(|e| e.eval_vars(&facts, &vars, now))
            .collect();
        let mut parts = Vec::new();
        for (s, st) in steps.iter().enumerate() {
            let name = &def.chain.steps[s].name;
            let reacted = def.cond_index[s].iter().any(|&r| truth[r].is_true());
            match st.state {
                StepState::Failed if !reacted => parts.push(format!(
                    "{name} FAILED with {}; no rule reacts to {name} failing",
                    st.error_code.unwrap_or(0)
                )),
                StepState::Stopped if !reacted => parts.push(format!(
                    "{name} STOPPED; no rule reacts to {name} being stopped"
                )),
                StepState::Paused if st.paused_before => {
                    parts.push(format!("{name} is PAUSED before running (pause_before)"))
                }
                StepState::Paused => {
                    parts.push(format!("{name} is PAUSED with its outcome held (pause)"))
                }
                StepState::Stalled => {
                    parts.push(format!("{name} is STALLED: its nested chain stalled"))
                }
                _ => {}
            }
        }
        if parts.is_empty() {
            let true_rules: Vec<&str> = def
                .chain
                .rules
                .iter()
                .enumerate()
                .filter(|(r, _)| truth[*r].is_true())
                .map(|(_, rule)| rule.name.as_str())
                .collect();
            if true_rules.is_empty() {
                parts.push("no rule is TRUE".to_string());
            } else {
                parts.push(format!(
                    "no rule can start a step: the TRUE rules ({}) have nothing left to start",
                    true_rules.join(", ")
                ));
            }
        }
        parts.join("; ")
    }

    /// Does any live instance wait for this event (for event matching)?
    pub fn event_step_name(&self, i: InstId, s: usize) -> Option<&str> {
        match &self.instances[i].def.chain.steps[s].kind {
            StepTarget::Event { name, .. } => Some(name.as_str()),
            _ => None,
        }
    }
}
