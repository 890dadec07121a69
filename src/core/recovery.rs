//! Durability support: a serializable snapshot of one job, restoring it into a fresh core, and
//! the recovery transitions of docs/evaluator.md, "Durability and recovery".
//!
//! A snapshot holds everything the job needs to continue: the chain definitions it started
//! with (as altered since), every instance and step (states, attempt counters, held outcomes,
//! pending timers with ABSOLUTE due times, nested instances), the start request (for
//! `restartable`), and pending presets. Rule caches are not stored: a restored instance starts
//! with every rule dirty, which is exactly the full evaluation the incremental one equals.

use super::engine::{begin_run, subname_exists, Core};
use super::job::*;
use super::types::*;
use crate::catalog::{Chain, StepTarget};
use crate::lang::duration::Millis;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The persisted form of one job (see the module documentation).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobSnapshot {
    /// Format version of this structure.
    pub format: u32,
    pub job: String,
    pub state: JobState,
    data: Job,
}

impl JobSnapshot {
    pub const FORMAT: u32 = 1;

    pub fn job_record(&self) -> &JobRecord {
        &self.data.record
    }

    /// False for a snapshot taken by [`Core::snapshot_job_state`] (definitions kept apart).
    pub fn has_definitions(&self) -> bool {
        !self.data.defs.is_empty()
    }

    /// The version of the definitions this state goes with.
    pub fn definitions_version(&self) -> u64 {
        self.data.defs_version
    }

    /// Put the definitions back into a state-only snapshot before restoring it. Refused when
    /// they belong to another job or another version.
    pub fn attach_definitions(&mut self, defs: JobDefinitions) -> Result<(), CoreError> {
        if defs.job != self.job || defs.version != self.data.defs_version {
            return Err(CoreError::Invalid(format!(
                "definitions of job {} version {} do not go with the snapshot of job {} version {}",
                defs.job, defs.version, self.job, self.data.defs_version
            )));
        }
        self.data.defs = defs
            .chains
            .into_iter()
            .map(|(name, chain)| (name, Arc::new(Def::build(chain))))
            .collect();
        Ok(())
    }
}

/// The chain definitions a job runs (its chain and every nested chain, as altered since the
/// start), with the version they have in the job. They change only on alter chain and rule
/// redefinition, so a store can write them once per version and write only the job's dynamic
/// state ([`Core::snapshot_job_state`]) on every change.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobDefinitions {
    pub job: String,
    pub version: u64,
    chains: BTreeMap<String, Chain>,
}

impl JobDefinitions {
    /// The compiled definitions, by chain name.
    pub(crate) fn into_defs(self) -> BTreeMap<String, Arc<Def>> {
        self.chains
            .into_iter()
            .map(|(name, chain)| (name, Arc::new(Def::build(chain))))
            .collect()
    }
}

impl Core {
    /// Everything needed to rebuild the job after a restart.
    pub fn snapshot_job(&self, job: &str) -> Option<JobSnapshot> {
        let j = self.jobs.get(job)?;
        Some(JobSnapshot {
            format: JobSnapshot::FORMAT,
            job: j.record.job.clone(),
            state: j.record.state,
            data: j.clone(),
        })
    }

    /// Like [`Core::snapshot_job`] but without the chain definitions (see [`JobDefinitions`]):
    /// what changes on every state change. Re-attach the definitions before restoring.
    pub fn snapshot_job_state(&self, job: &str) -> Option<JobSnapshot> {
        let j = self.jobs.get(job)?;
        let mut data = j.clone();
        data.defs = BTreeMap::new();
        Some(JobSnapshot {
            format: JobSnapshot::FORMAT,
            job: j.record.job.clone(),
            state: j.record.state,
            data,
        })
    }

    /// The chain definitions the job runs, with their version.
    pub fn job_definitions(&self, job: &str) -> Option<JobDefinitions> {
        let j = self.jobs.get(job)?;
        Some(JobDefinitions {
            job: j.record.job.clone(),
            version: j.defs_version,
            chains: j
                .defs
                .iter()
                .map(|(n, d)| (n.clone(), d.chain.clone()))
                .collect(),
        })
    }

    /// The version of the job's definitions (changes on alter chain / rule redefinition).
    pub fn job_definitions_version(&self, job: &str) -> Option<u64> {
        self.jobs.get(job).map(|j| j.defs_version)
    }

    /// Put a job back (replacing one of the same name). Rebuilds the indexes and rule caches.
    /// Call [`Core::recover_job`] afterwards to apply the recovery transitions.
    /// A snapshot without definitions (see [`Core::snapshot_job_state`]) falls back on the
    /// catalog's chains of the same names; attach its [`JobDefinitions`] first to be exact.
    ///
    /// A snapshot that does not fit its definitions (an instance whose steps differ from its
    /// chain's) is not restored; [`Core::try_restore_job`] says why.
    pub fn restore_job(&mut self, snapshot: JobSnapshot) {
        let _ = self.try_restore_job(snapshot);
    }

    /// [`Core::restore_job`], refusing (and changing nothing) when the snapshot's steps do not
    /// fit the chain definitions it is restored with.
    pub fn try_restore_job(&mut self, snapshot: JobSnapshot) -> Result<(), CoreError> {
        let mut job = snapshot.data;
        // Restored from a whole-job snapshot: every record counts as changed, so a driver that
        // keeps per-record state (`journal.rs`) writes them all.
        job.journaled_header = None;
        for inst in &mut job.instances {
            inst.mark_all_changed();
        }
        let name = job.record.job.clone();
        if job.defs.is_empty() {
            // Every chain reachable from the job's chain, as the catalog has it now.
            let mut todo: Vec<String> =
                job.instances.iter().map(|i| i.chain_name.clone()).collect();
            todo.push(job.record.chain.clone());
            while let Some(name) = todo.pop() {
                if job.defs.contains_key(&name) {
                    continue;
                }
                if let Some(c) = self.catalog.chains.get(&name) {
                    for st in &c.steps {
                        if let StepTarget::Chain(inner) = &st.kind {
                            todo.push(inner.clone());
                        }
                    }
                    job.defs.insert(name, Arc::new(Def::build(c.clone())));
                }
            }
        }
        self.install_job(job)?;
        self.changed.insert(name);
        Ok(())
    }

    /// Check a rebuilt job against its definitions, rebuild its indexes and rule caches, and
    /// put it in place (replacing a job of the same name). Refused, changing nothing, when its
    /// steps do not fit its definitions.
    pub(crate) fn install_job(&mut self, mut job: Job) -> Result<(), CoreError> {
        // Share compiled definitions with the catalog's when they are the same.
        let names: Vec<String> = job.defs.keys().cloned().collect();
        for name in names {
            let same = match (self.defs.get(&name), self.catalog.chains.get(&name)) {
                (Some(cached), _) if cached.chain == job.defs[&name].chain => Some(cached.clone()),
                _ => None,
            };
            if let Some(d) = same {
                job.defs.insert(name, d);
            }
        }
        for inst in &job.instances {
            let fits = job.defs.get(&inst.chain_name).is_some_and(|d| {
                d.chain.steps.len() == inst.steps().len()
                    && d.chain.steps.iter().zip(inst.steps()).all(|(def, st)| {
                        st.subname == def.name || st.subname.ends_with(&format!(".{}", def.name))
                    })
            });
            if !fits {
                return Err(CoreError::Invalid(format!(
                    "snapshot of job {}: the steps of chain {} do not match its definition",
                    job.record.job, inst.chain_name
                )));
            }
        }
        if job
            .instances
            .first()
            .is_some_and(|root| root.outer.is_some())
            || job.instances.iter().enumerate().any(|(i, inst)| {
                inst.outer.is_some_and(|(oi, os)| {
                    oi >= i || job.instances.get(oi).is_none_or(|o| os >= o.steps().len())
                }) || inst.steps().iter().any(|st| {
                    st.nested
                        .is_some_and(|n| n <= i || n >= job.instances.len())
                })
            })
        {
            return Err(CoreError::Invalid(format!(
                "snapshot of job {}: inconsistent nested chains",
                job.record.job
            )));
        }
        job.subnames.clear();
        job.waiting.clear();
        job.eval_queue.clear();
        job.quiet.clear();
        job.touched.clear();
        for i in 0..job.instances.len() {
            let def = job
                .defs
                .get(&job.instances[i].chain_name)
                .cloned()
                .unwrap_or_else(Def::empty);
            job.instances[i].def = def;
            job.instances[i].rebuild_cache();
            if job.instances[i].detached() {
                continue;
            }
            for s in 0..job.instances[i].steps().len() {
                let st = &job.instances[i].step(s);
                if job.instances[i].outer.is_some() {
                    job.subnames.insert(st.subname.clone(), (i, s));
                }
                let waits = matches!(
                    job.instances[i].def.chain.steps.get(s).map(|d| &d.kind),
                    Some(StepTarget::Event { .. })
                ) && st.state == StepState::Running;
                if waits && job.instances[i].live() {
                    job.waiting.insert((i, s));
                }
            }
        }
        self.requeue_restored(&job);
        self.jobs.insert(job.record.job.clone(), job);
        Ok(())
    }

    /// Recovery after a crash or restart (docs/evaluator.md, "Durability and recovery"):
    /// * `restartable`: the chain restarts from the beginning (interrupted runs are logged
    ///   STOPPED, pending timers cancelled);
    /// * otherwise AFTER delays, retries and interval ticks are re-armed at their stored due
    ///   times; a RUNNING program step with `restart_on_recovery` is relaunched (RECOVERY_RUN),
    ///   any other RUNNING program step is marked STOPPED (STOPPED log row); event steps keep
    ///   waiting; then the rules are evaluated.
    pub fn recover_job(
        &mut self,
        now: Millis,
        job: &str,
        restartable: bool,
    ) -> Result<Vec<Effect>, CoreError> {
        let mut effects = Vec::new();
        let defs_ok = self
            .jobs
            .get(job)
            .map(|j| {
                j.request
                    .step_states
                    .iter()
                    .all(|(s, _)| subname_exists(&j.defs, &j.record.chain, s))
            })
            .unwrap_or(true);
        self.with_job(job, now, &mut effects, |j, ctx| {
            if j.ended() {
                return Err(CoreError::JobEnded(j.name().to_string()));
            }
            if j.record.state == JobState::Enqueued {
                return Ok(()); // still waiting: admitted by the queue, not recovered
            }
            super::admission::rearm_max_run_duration(j, ctx);
            if restartable {
                restart_from_beginning(j, defs_ok, ctx);
            } else {
                resume(j, ctx);
            }
            j.settle(ctx);
            Ok(())
        })?;
        Ok(effects)
    }
}

fn resume(j: &mut Job, ctx: &mut Ctx) {
    let live = j.live_instances();
    for &i in &live {
        if let Some(due) = j.instances[i].interval_due() {
            ctx.effects.push(Effect::SetTimer {
                job: j.name().to_string(),
                timer: j.instances[i].interval_key(),
                due,
            });
        }
        for s in 0..j.instances[i].steps().len() {
            if let Some((key, due)) = j.instances[i].step(s).timer.as_deref().cloned() {
                ctx.effects.push(Effect::SetTimer {
                    job: j.name().to_string(),
                    timer: key,
                    due,
                });
            }
        }
    }
    for &i in &live {
        for s in 0..j.instances[i].steps().len() {
            let st = &j.instances[i].step(s);
            let is_program = matches!(j.step_def(i, s).kind, StepTarget::Program(_));
            if st.state != StepState::Running || !is_program {
                continue;
            }
            if st.attrs.restart_on_recovery {
                let cause = StartedBy {
                    how: StartHow::Recovery,
                    rule: None,
                };
                j.starting(cause, |j| j.run(i, s, RunOperation::RecoveryRun, ctx));
            } else {
                j.log_step(
                    i,
                    s,
                    StepState::Stopped,
                    STOPPED_CODE,
                    Some(
                        "RUNNING when the engine stopped; not restarted (no restart_on_recovery)"
                            .into(),
                    ),
                    ctx,
                );
                j.set_outcome(i, s, Outcome::Stopped, ctx);
                j.instances[i].step_mut(s).ended_at = Some(ctx.now);
            }
        }
    }
    for i in j.live_instances() {
        j.queue_eval(i);
        j.touched.insert(i);
    }
}

fn restart_from_beginning(j: &mut Job, presets_ok: bool, ctx: &mut Ctx) {
    for i in j.live_instances() {
        if j.instances[i].interval_due().is_some() {
            ctx.effects.push(Effect::CancelTimer {
                job: j.name().to_string(),
                timer: j.instances[i].interval_key(),
            });
        }
        for s in 0..j.instances[i].steps().len() {
            if let Some((key, _)) = j.instances[i].step(s).timer.as_deref().cloned() {
                ctx.effects.push(Effect::CancelTimer {
                    job: j.name().to_string(),
                    timer: key,
                });
            }
            let st = &j.instances[i].step(s);
            let is_program = matches!(j.step_def(i, s).kind, StepTarget::Program(_));
            if st.state == StepState::Running && is_program {
                j.log_step(
                    i,
                    s,
                    StepState::Stopped,
                    STOPPED_CODE,
                    Some(
                        "RUNNING when the engine stopped; the job restarts from the beginning"
                            .into(),
                    ),
                    ctx,
                );
            }
        }
    }
    j.instances.clear();
    j.subnames.clear();
    j.waiting.clear();
    j.eval_queue.clear();
    j.quiet.clear();
    j.touched.clear();
    j.record.state = JobState::Running;
    j.record.error_code = None;
    j.record.ended_at = None;
    j.record.stall_reason = None;
    j.pending_presets = if presets_ok {
        j.request
            .step_states
            .iter()
            .cloned()
            .collect::<BTreeMap<_, _>>()
    } else {
        BTreeMap::new()
    };
    let root = &j.defs.get(&j.record.chain).map(|d| d.chain.clone());
    let only = root.as_ref().and_then(|c| {
        if j.request.start_steps.is_empty() {
            None
        } else {
            let mut list = Vec::new();
            for name in &j.request.start_steps {
                if let Some(idx) = c.step_index(name) {
                    if !list.contains(&idx) {
                        list.push(idx);
                    }
                }
            }
            Some(list)
        }
    });
    begin_run(j, only, ctx);
}
