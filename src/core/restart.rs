//! *restart*: reopen an ended FAILED or STOPPED job in place (Flows for APEX's rewind,
//! Airflow's clear; docs/operations.md, "Restarting a job").
//!
//! WHY a new run built from presets rather than an "undo": an ended job's runtime state is gone
//! (drivers delete its core records when it ends; only its view records remain), and the job
//! must run on with the chain definitions of *now*. So a restart starts the job again under its
//! own name, as *run with step states* does: every top-level step that is not run again is
//! preset to the state it ended in (SUCCEEDED, FAILED n, STOPPED), the others start
//! NOT_STARTED, and the first evaluation of the current rules decides what runs. The steps run
//! again are the ones named (default: the FAILED and STOPPED ones) and, transitively, every
//! step a START rule reading one of them targets: what follows them runs again too. The job's
//! variables are kept, and its run number goes up by one (the job log keeps both runs).

use super::engine::Core;
use super::job::*;
use super::types::*;
use crate::catalog::{RuleAction, StepIdx};
use crate::lang::diagnostic::nearest_name;
use crate::lang::duration::Millis;
use std::collections::{BTreeMap, BTreeSet};

impl Core {
    /// Restart an ended job. Refused (changing nothing) for a job that is not an ended FAILED
    /// or STOPPED one, for an unknown step, or when nothing would run again.
    pub(crate) fn restart_job(
        &mut self,
        now: Millis,
        req: RestartRequest,
        effects: &mut Vec<Effect>,
    ) -> Result<String, CoreError> {
        let ended = match self.jobs.get(&req.job) {
            Some(j) if !j.ended() => {
                return Err(CoreError::NotRestartable {
                    job: req.job.clone(),
                    state: j.record.state.as_str().to_string(),
                    why: "only an ended FAILED or STOPPED job can be restarted; stop it first, \
                          or wait for it to end"
                        .into(),
                })
            }
            Some(j) => EndedJob {
                record: j.record.clone(),
                steps: j.step_records(),
                variables: j.vars.clone(),
                run: j.run,
            },
            None => req
                .previous
                .clone()
                .ok_or_else(|| CoreError::UnknownJob(req.job.clone()))?,
        };
        let rec = &ended.record;
        if !matches!(rec.state, JobState::Failed | JobState::Stopped) {
            return Err(CoreError::NotRestartable {
                job: req.job.clone(),
                state: rec.state.as_str().to_string(),
                why: if rec.state == JobState::Succeeded {
                    "a job that SUCCEEDED has nothing to run again; start a new run instead".into()
                } else {
                    "only an ended FAILED or STOPPED job can be restarted; stop it first, or \
                     wait for it to end"
                        .into()
                },
            });
        }
        let chain = self
            .catalog
            .chains
            .get(&rec.chain)
            .cloned()
            .ok_or_else(|| self.unknown_chain(&rec.chain))?;
        let def = Def::build(chain.clone());
        // The states the previous run ended with, by top-level step name.
        let old: BTreeMap<&str, &StepRecord> = ended
            .steps
            .iter()
            .filter(|s| s.parent_subname.is_none())
            .map(|s| (s.step.as_str(), s))
            .collect();
        let state_of = |s: StepIdx| old.get(chain.steps[s].name.as_str()).map(|r| r.state);
        let mut named: Vec<StepIdx> = Vec::new();
        if req.from.is_empty() {
            named.extend(
                (0..chain.steps.len()).filter(|&s| {
                    matches!(state_of(s), Some(StepState::Failed | StepState::Stopped))
                }),
            );
            if named.is_empty() {
                return Err(CoreError::NotRestartable {
                    job: req.job.clone(),
                    state: rec.state.as_str().to_string(),
                    why: "none of its steps is FAILED or STOPPED; name the steps to run again \
                          (--from STEP,...)"
                        .into(),
                });
            }
        } else {
            for name in &req.from {
                let idx = chain
                    .step_index(name)
                    .ok_or_else(|| CoreError::UnknownChainStep {
                        chain: chain.name.clone(),
                        step: name.clone(),
                        nearest: nearest_name(name, chain.steps.iter().map(|s| s.name.as_str())),
                    })?;
                if !named.contains(&idx) {
                    named.push(idx);
                }
            }
        }
        // Everything a START rule reading a step run again targets runs again too.
        let mut again: BTreeSet<StepIdx> = named.iter().copied().collect();
        let mut todo: Vec<StepIdx> = named.clone();
        while let Some(s) = todo.pop() {
            for &r in def.cond_index.get(s).map(Vec::as_slice).unwrap_or(&[]) {
                if let RuleAction::Start { steps, .. } = &chain.rules[r].action {
                    for &t in steps {
                        if again.insert(t) {
                            todo.push(t);
                        }
                    }
                }
            }
        }
        let mut presets = Vec::new();
        for (s, step) in chain.steps.iter().enumerate() {
            if again.contains(&s) {
                continue;
            }
            let preset = match old.get(step.name.as_str()) {
                Some(r) => match (r.state, r.error_code) {
                    (StepState::Succeeded, _) => PresetState::Succeeded,
                    (StepState::Failed, code) => PresetState::Failed(code.unwrap_or(1).max(1)),
                    (StepState::Stopped, _) => PresetState::Stopped,
                    _ => continue,
                },
                None => continue,
            };
            presets.push((step.name.clone(), preset));
        }
        let request = StartRequest {
            job: Some(req.job.clone()),
            chain: rec.chain.clone(),
            parameters: rec.parameters.clone(),
            start_steps: Vec::new(),
            step_states: presets.clone(),
            definition: None,
            group: rec.group.clone(),
            requested_by: rec.requested_by.clone(),
            refuse_ended: false,
        };
        let run = ended.run.saturating_add(1);
        let names = |list: &mut dyn Iterator<Item = &StepIdx>| {
            list.map(|&s| chain.steps[s].name.clone())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let followers: Vec<StepIdx> = again
            .iter()
            .copied()
            .filter(|s| !named.contains(s))
            .collect();
        let mut detail = format!("run {run} from {}", names(&mut named.iter()));
        if !followers.is_empty() {
            detail.push_str(&format!(
                "; run again as their rules start them: {}",
                names(&mut followers.iter())
            ));
        }
        // The restart goes through the ordinary start (groups, serialization, first
        // evaluation); the job keeps its name, variables and history.
        let mark = effects.len();
        let carried = ended
            .steps
            .iter()
            .filter(|s| s.parent_subname.is_none())
            .map(|s| (s.subname.clone(), (s.attempts, s.started_at, s.ended_at)))
            .collect();
        let name = self.start_restarted(now, request, ended.variables, run, carried, effects)?;
        effects.insert(
            mark,
            Effect::Timeline(TimelineEntry {
                time: now,
                job: name.clone(),
                subname: None,
                kind: TimelineKind::JobRestarted,
                detail,
                started_by: None,
            }),
        );
        Ok(name)
    }

    /// [`Core::start_job`] for a restart: every check before anything changes, then the job
    /// (replacing the ended one of the same name) with its variables and run number.
    fn start_restarted(
        &mut self,
        now: Millis,
        req: StartRequest,
        variables: BTreeMap<String, Variable>,
        run: u32,
        carried: BTreeMap<String, (u32, Option<Millis>, Option<Millis>)>,
        effects: &mut Vec<Effect>,
    ) -> Result<String, CoreError> {
        let req = self.resolve_definition(req)?;
        let defs = self.collect_defs(&req.chain)?;
        let (only, presets) = super::engine::validate_start(&defs, &req)?;
        let mut record = self
            .jobs
            .get(req.job.as_deref().unwrap_or_default())
            .map(|j| j.record.clone())
            .unwrap_or_else(|| {
                super::engine::running_record(req.job.clone().unwrap_or_default(), &req, now)
            });
        record.chain = req.chain.clone();
        record.state = JobState::Running;
        record.error_code = None;
        record.parameters = req.parameters.clone();
        record.started_at = now;
        record.ended_at = None;
        record.stall_reason = None;
        record.enqueued_at = None;
        let mut job = Job::new(record, req, defs);
        job.pending_presets = presets;
        job.vars = variables;
        job.run = run;
        job.carried = carried;
        job.restarting = true;
        self.place_new_job(now, job, only, effects)
    }
}
