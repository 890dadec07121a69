//! Admission: resource-group limits (`group G { max_running n; }`), `serialize by` and the FIFO
//! queue of ENQUEUED jobs, plus `max_run_duration` logging.
//!
//! Why in the core: admission decides *when* a chain job starts, which changes every later
//! state; `simulate` and `run` must agree on it, so it is decided here, deterministically, from
//! the jobs the core holds and the catalog's groups — never by a driver.
//!
//! Rules (docs/evaluator.md, "Resource groups and serialization"):
//! * a job in `A.B` counts against `A.B` and `A`; it may run only when every group on its path
//!   with a `max_running` has a free slot and no running job of the same definition has the
//!   same serialization key; RUNNING and CHAIN_STALLED jobs hold their slots;
//! * otherwise it is ENQUEUED; queued jobs are admitted in FIFO order whenever an input batch
//!   is over (a job ending frees its slots); a queued job that cannot run keeps the slots it
//!   waits for (the full groups, the busy key) reserved against later jobs — no overtaking
//!   there — but does not hold up jobs that need none of them.

use super::job::{Ctx, Job};
use super::types::*;
use super::Core;
use crate::catalog::StepIdx;
use crate::lang::duration::Millis;
use std::collections::{BTreeMap, BTreeSet};

/// What a job needs to run: groups (the whole dotted path, outermost first) and its key.
#[derive(Debug, Clone, Default)]
pub(crate) struct Claim {
    groups: Vec<String>,
    /// (definition, value of its `serialize by` parameter).
    key: Option<(String, String)>,
}

/// Where a job's `serialize by` comes from: its job definition's, else its chain's (which
/// also covers ad-hoc runs). Keys are compared within one scope only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SerializeScope {
    /// `REPORT` for a job definition, `chain LOAD` for a chain (cannot clash: a definition
    /// name has no space).
    pub scope: String,
    pub param: String,
    pub refuse: bool,
}

impl SerializeScope {
    fn describe(&self) -> String {
        match self.scope.strip_prefix("chain ") {
            Some(c) => format!("chain {c}"),
            None => format!("job definition {}", self.scope),
        }
    }
}

impl Core {
    /// The `serialize by` that applies to a run of `chain` under `definition`.
    pub(crate) fn serialize_scope(
        &self,
        chain: &str,
        definition: Option<&str>,
    ) -> Option<SerializeScope> {
        if let Some((d, p, refuse)) =
            definition
                .and_then(|d| self.catalog.jobs.get(d))
                .and_then(|d| {
                    d.serialize_by
                        .as_ref()
                        .map(|p| (d.name.clone(), p.clone(), d.serialize_refuse))
                })
        {
            return Some(SerializeScope {
                scope: d,
                param: p,
                refuse,
            });
        }
        self.catalog
            .chain_serialize
            .get(chain)
            .map(|s| SerializeScope {
                scope: format!("chain {chain}"),
                param: s.param.clone(),
                refuse: s.refuse,
            })
    }

    fn claim(&self, job: &Job) -> Claim {
        let groups = job
            .record
            .group
            .as_deref()
            .map(group_path)
            .unwrap_or_default();
        let key = match (
            self.serialize_scope(&job.record.chain, job.request.definition.as_deref()),
            &job.record.serialize_key,
        ) {
            (Some(s), Some(k)) => Some((s.scope, k.clone())),
            _ => None,
        };
        Claim { groups, key }
    }
}

/// `A.B.C` → `A`, `A.B`, `A.B.C`.
pub(crate) fn group_path(group: &str) -> Vec<String> {
    let parts: Vec<&str> = group.split('.').filter(|p| !p.is_empty()).collect();
    (1..=parts.len()).map(|n| parts[..n].join(".")).collect()
}

/// Slots in use (and reserved by waiting jobs ahead in the queue).
#[derive(Debug, Default)]
struct Usage {
    running: BTreeMap<String, u32>,
    keys: BTreeSet<(String, String)>,
    /// Groups / keys a queued job ahead is waiting for.
    held_groups: BTreeSet<String>,
    held_keys: BTreeSet<(String, String)>,
}

impl Usage {
    fn take(&mut self, claim: &Claim) {
        for g in &claim.groups {
            *self.running.entry(g.clone()).or_insert(0) += 1;
        }
        if let Some(k) = &claim.key {
            self.keys.insert(k.clone());
        }
    }

    fn hold(&mut self, claim: &Claim) {
        self.held_groups.extend(claim.groups.iter().cloned());
        if let Some(k) = &claim.key {
            self.held_keys.insert(k.clone());
        }
    }
}

impl Core {
    fn limit(&self, group: &str) -> Option<u32> {
        self.catalog.groups.get(group).and_then(|g| g.max_running)
    }

    /// Why `claim` cannot run now (`None`: it can), and the groups / key that block it.
    /// Groups without a limit never block.
    fn blockers(&self, claim: &Claim, usage: &Usage) -> Option<(String, Claim)> {
        let mut why = Vec::new();
        let mut held = Claim::default();
        for g in &claim.groups {
            let Some(limit) = self.limit(g) else { continue };
            let n = usage.running.get(g).copied().unwrap_or(0);
            if limit == 0 {
                why.push(format!(
                    "group {g} is disabled (max_running 0): its jobs wait until it is raised"
                ));
            } else if n >= limit {
                why.push(format!("group {g} is full ({n} of {limit} running)"));
            } else if usage.held_groups.contains(g) {
                why.push(format!("earlier jobs wait for a slot of group {g}"));
            } else {
                continue;
            }
            held.groups.push(g.clone());
        }
        if let Some(k) = &claim.key {
            if usage.keys.contains(k) {
                why.push(format!(
                    "a job of {} with serialize key '{}' is running",
                    k.0, k.1
                ));
                held.key = Some(k.clone());
            } else if usage.held_keys.contains(k) {
                why.push(format!(
                    "an earlier job of {} with serialize key '{}' is waiting",
                    k.0, k.1
                ));
                held.key = Some(k.clone());
            }
        }
        (!why.is_empty()).then(|| (why.join("; "), held))
    }

    fn blocked(&self, claim: &Claim, usage: &Usage) -> Option<String> {
        self.blockers(claim, usage).map(|(why, _)| why)
    }

    fn limited(&self, claim: &Claim) -> bool {
        claim.key.is_some() || claim.groups.iter().any(|g| self.limit(g).is_some())
    }

    /// Slots held by running jobs, then the FIFO queue (those that can run take their slots,
    /// those that cannot reserve them). Returns the usage and the queued jobs that can run.
    fn plan(&self) -> (Usage, Vec<String>) {
        let mut usage = Usage::default();
        for j in self.jobs.values() {
            if matches!(j.record.state, JobState::Running | JobState::ChainStalled) {
                usage.take(&self.claim(j));
            }
        }
        let mut admit = Vec::new();
        for name in self.queue.values() {
            let Some(j) = self.jobs.get(name) else {
                continue;
            };
            if j.record.state != JobState::Enqueued {
                continue;
            }
            let claim = self.claim(j);
            match self.blockers(&claim, &usage) {
                None => {
                    usage.take(&claim);
                    admit.push(name.clone());
                }
                // Only what blocks it is reserved: a job waiting for FINANCE.LOANS does not
                // hold up jobs that need only a free slot of FINANCE.
                Some((_, held)) => usage.hold(&held),
            }
        }
        (usage, admit)
    }

    /// Fill in what the job definition gives a request: its chain (when none is named),
    /// parameter defaults, group, and (for the caller) `serialize by` and `max_run_duration`.
    pub(crate) fn resolve_definition(
        &self,
        mut req: StartRequest,
    ) -> Result<StartRequest, CoreError> {
        if req.definition.is_none()
            && !self.catalog.chains.contains_key(&req.chain)
            && self.catalog.jobs.contains_key(&req.chain)
        {
            // `start NIGHTLY_LOANS`: the name of a job definition, as Oracle runs a job by name.
            req.definition = Some(std::mem::take(&mut req.chain));
        }
        if req.definition.is_none() {
            req.definition = req
                .job
                .as_ref()
                .filter(|n| self.catalog.jobs.contains_key(n.as_str()))
                .cloned();
        }
        let Some(name) = req.definition.clone() else {
            return Ok(req);
        };
        let def = self
            .catalog
            .jobs
            .get(&name)
            .ok_or_else(|| CoreError::Invalid(format!("unknown job definition {name}")))?;
        if req.chain.trim().is_empty() {
            req.chain = def.chain.clone().ok_or_else(|| {
                CoreError::Invalid(format!("job definition {name} names no chain"))
            })?;
        }
        for (k, v) in &def.parameters {
            req.parameters.entry(k.clone()).or_insert_with(|| v.clone());
        }
        if req.group.is_none() {
            req.group = def.group.clone();
        }
        Ok(req)
    }

    /// Which jobs a new job must share an engine with, when several engines share one
    /// database: its group limits and `serialize by` key are decided by one core seeing all of
    /// them. `group:G` for the outermost group of its path with a `max_running` (every job that
    /// counts against a limit of G's subtree counts against G's, or shares no limit with it),
    /// else `serialize:DEF` for a definition with `serialize by` (`serialize:chain C` for a
    /// chain's), else `None` (any engine).
    pub fn placement_key(&self, req: &StartRequest) -> Option<String> {
        let req = self.resolve_definition(req.clone()).ok()?;
        if let Some(g) = req
            .group
            .as_deref()
            .map(group_path)
            .unwrap_or_default()
            .into_iter()
            .find(|g| self.limit(g).is_some())
        {
            return Some(format!("group:{g}"));
        }
        self.serialize_scope(&req.chain, req.definition.as_deref())
            .map(|s| format!("serialize:{}", s.scope))
    }

    /// Decide whether a new job runs now or waits, begin it or enqueue it, and keep it.
    /// Refused (nothing changed) when its `serialize by … on conflict error` key is busy.
    pub(crate) fn place_new_job(
        &mut self,
        now: Millis,
        mut job: Job,
        only: Option<Vec<StepIdx>>,
        effects: &mut Vec<Effect>,
    ) -> Result<String, CoreError> {
        let def = job
            .request
            .definition
            .as_ref()
            .and_then(|d| self.catalog.jobs.get(d));
        job.record.group = job.request.group.clone();
        job.max_run_duration = def.and_then(|d| d.max_run_duration);
        let scope = self.serialize_scope(&job.record.chain, job.request.definition.as_deref());
        job.record.serialize_key = scope.as_ref().map(|s| {
            job.request
                .parameters
                .get(&s.param)
                .cloned()
                .unwrap_or_default()
        });
        let claim = self.claim(&job);
        if let (Some(s), Some(key)) = (scope.as_ref().filter(|s| s.refuse), &claim.key) {
            if let Some(busy) = self.key_holder(key) {
                return Err(CoreError::SerializeConflict {
                    job: job.record.job.clone(),
                    scope: s.describe(),
                    key: key.1.clone(),
                    param: s.param.clone(),
                    busy,
                });
            }
        }
        let reason = if self.limited(&claim) {
            let (usage, _) = self.plan();
            self.blocked(&claim, &usage)
        } else {
            None
        };
        let name = job.record.job.clone();
        let mut ctx = Ctx {
            now,
            effects,
            next_log_id: &mut self.next_log_id,
            reference: self.reference,
        };
        match reason {
            None => begin_admitted(&mut job, only, &mut ctx),
            Some(why) => {
                job.record.state = JobState::Enqueued;
                job.record.enqueued_at = Some(now);
                job.queue_seq = self.next_queue_seq;
                self.next_queue_seq += 1;
                self.queue.insert(job.queue_seq, name.clone());
                job.job_changed(&mut ctx);
                job.timeline(&mut ctx, None, TimelineKind::JobEnqueued, why);
            }
        }
        self.changed.insert(name.clone());
        self.jobs.insert(name.clone(), job);
        Ok(name)
    }

    /// The job holding a serialization key: `running (J)` / `waiting (J)`, or `None`.
    fn key_holder(&self, key: &(String, String)) -> Option<String> {
        let mut waiting = None;
        for j in self.jobs.values() {
            if j.record.state.is_finished() {
                continue;
            }
            if self.claim(j).key.as_ref() != Some(key) {
                continue;
            }
            if j.record.state == JobState::Enqueued {
                waiting.get_or_insert_with(|| format!("waiting ({})", j.record.job));
            } else {
                return Some(format!("running ({})", j.record.job));
            }
        }
        waiting
    }

    /// Admit every queued job that can run now (FIFO), each with its first evaluation. Jobs
    /// admitted may end at once and free slots again, so this repeats until nothing changes.
    pub(crate) fn admit_queued(&mut self, now: Millis, effects: &mut Vec<Effect>) {
        loop {
            self.queue.retain(|_, name| {
                self.jobs
                    .get(name.as_str())
                    .is_some_and(|j| j.record.state == JobState::Enqueued)
            });
            if self.queue.is_empty() {
                return;
            }
            let (_, admit) = self.plan();
            if admit.is_empty() {
                return;
            }
            for name in admit {
                let _ = self.with_job(&name, now, effects, |j, ctx| {
                    let only = super::engine::start_steps(&j.defs, &j.request);
                    j.record.state = JobState::Running;
                    j.record.started_at = ctx.now;
                    begin_admitted(j, only, ctx);
                    j.settle(ctx);
                    Ok(())
                });
            }
        }
    }

    /// Re-enter a restored ENQUEUED job into the queue (recovery).
    pub(crate) fn requeue_restored(&mut self, job: &Job) {
        if job.record.state == JobState::Enqueued {
            self.queue.insert(job.queue_seq, job.record.job.clone());
            self.next_queue_seq = self.next_queue_seq.max(job.queue_seq + 1);
        }
    }

    /// Drivers restoring from a store call this once every job is restored and recovered
    /// (`recover_job` does not admit: a job admitted before its own recovery would be
    /// "recovered" a second time): queued jobs whose slots are free now start.
    pub fn admit_waiting_jobs(&mut self, now: Millis) -> Vec<Effect> {
        let mut effects = Vec::new();
        self.admit_queued(now, &mut effects);
        effects
    }
}

/// Start a job that may run: `max_run_duration` timer, then the chain itself.
fn begin_admitted(job: &mut Job, only: Option<Vec<StepIdx>>, ctx: &mut Ctx) {
    if let Some(d) = job.max_run_duration {
        ctx.effects.push(Effect::SetTimer {
            job: job.record.job.clone(),
            timer: TimerKey::MaxRunDuration,
            due: ctx.now.saturating_add(d),
        });
    }
    super::engine::begin_run(job, only, ctx);
}

/// The `max_run_duration` timer is due: log it (timeline row, and the chain job's log row
/// gets `MAX_RUN_DURATION_EXCEEDED`). The job keeps running.
pub(crate) fn max_run_duration_fired(j: &mut Job, ctx: &mut Ctx) {
    if j.ended() || j.record.state == JobState::Enqueued || j.over_duration {
        return;
    }
    let Some(limit) = j.max_run_duration else {
        return;
    };
    j.over_duration = true;
    let fmt = crate::lang::duration::format_duration;
    let detail = format!(
        "MAX_RUN_DURATION_EXCEEDED: running for {}, max_run_duration {}; the job keeps running",
        fmt(ctx.now.saturating_sub(j.record.started_at)),
        fmt(limit)
    );
    j.timeline(ctx, None, TimelineKind::MaxRunDuration, detail);
}

/// Re-arm the `max_run_duration` timer of a recovered running job.
pub(crate) fn rearm_max_run_duration(j: &Job, ctx: &mut Ctx) {
    if let (Some(d), false, false) = (j.max_run_duration, j.over_duration, j.ended()) {
        ctx.effects.push(Effect::SetTimer {
            job: j.record.job.clone(),
            timer: TimerKey::MaxRunDuration,
            due: j.record.started_at.saturating_add(d),
        });
    }
}
