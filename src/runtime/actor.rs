//! The engine actor: the one task that owns the core.
//!
//! Each turn it takes every message that is ready (requests, executor reports, timers), feeds
//! the core one input at a time, turns all resulting effects into ONE store batch, makes it
//! durable (sync mode: one flush for the whole turn — group commit), and only then acts on the
//! effects: launch and kill step attempts, arm and cancel timers, answer callers, wake waiters,
//! publish events. While a flush runs, new messages queue up and share the next flush.

use super::clock::EngineClock;
use super::cluster::Cluster;
use super::error::EngineError;
use super::events::EngineEvent;
use super::executor::{self, Capture, ExecEnv, ExecEvent, StepLaunch, StopHandle};
use super::options::Durability;
use crate::catalog::Catalog;
use crate::core::types::{CoreError, Effect, Input, JobRecord, LogRow, Outcome, TimerKey};
use crate::core::Core;
use crate::lang::duration::Millis;
use crate::store::records::bounded_tail;
use crate::store::retention::{self, PurgeChunk};
use crate::store::{
    chain_store, ChainStore, LivePid, Progress, PurgeStats, RunDetails, StateBatch, TimerEntry,
};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc, oneshot};

mod outbox;

/// At most this many messages share one turn (bounds the latency of the first of them).
const MAX_TURN: usize = 4096;

/// What a successful request returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Accepted {
    /// The job a `StartJob` created.
    pub job: Option<String>,
    /// Event steps a `RaiseEvent` completed.
    pub completed_steps: usize,
    /// What a `RaiseEvent` did, in full (why nothing was completed; the event kept).
    pub event: Option<crate::core::EventDelivery>,
}

pub(crate) type Reply<T> = oneshot::Sender<Result<T, EngineError>>;

pub(crate) enum Msg {
    Input {
        input: Input,
        reply: Reply<Accepted>,
    },
    Exec(ExecEvent),
    Timer {
        job: String,
        timer: TimerKey,
        generation: u64,
    },
    LoadCatalog {
        catalog: Box<Catalog>,
        reply: Reply<()>,
    },
    Wait {
        job: String,
        reply: Reply<JobRecord>,
    },
    /// Jobs the core has not finished (running, stalled, enqueued).
    Unfinished {
        reply: Reply<Vec<String>>,
    },
    Shutdown {
        reply: Option<oneshot::Sender<()>>,
    },
    /// Jobs whose expired leases this engine has just claimed (`super::cluster`): recover
    /// them as `resume` does.
    Adopt {
        jobs: Vec<String>,
    },
    /// This engine lost a lease (`super::cluster`): it must stop acting at once.
    LeaseLost {
        why: String,
    },
    /// Retention work gathered outside the actor (`super::retention`), checked and deleted in
    /// the actor's turn.
    Purge {
        chunk: PurgeChunk,
        reply: Reply<PurgeStats>,
    },
}

/// A step attempt the engine has launched and not yet seen end.
struct Running {
    attempt: u32,
    stop: Option<StopHandle>,
    pid: Option<u32>,
    req_start: Millis,
    actual_start: Option<Millis>,
    /// Set once the core has logged the attempt (it was stopped): the capture, when it comes,
    /// completes that row's run details.
    log_id: Option<u64>,
    killed: bool,
}

enum Answer {
    Input(Reply<Accepted>, Accepted),
    Catalog(Reply<()>),
}

/// Everything one turn produces before it is committed.
#[derive(Default)]
struct Turn {
    batch: StateBatch,
    /// Core effects were produced: in sync mode the batch must be flushed before acting.
    needs_flush: bool,
    effects: Vec<Effect>,
    answers: Vec<Answer>,
    touched: BTreeSet<String>,
    events: Vec<EngineEvent>,
    /// Timers re-armed by recovery (already stored).
    rearm: Vec<TimerEntry>,
    /// Step completions received one after the other in this turn, not yet given to the core:
    /// they are handed over together (`Core::handle_batch`, one evaluation per job, as the
    /// simulator does for completions at one instant) before anything else is fed.
    finished: Vec<Input>,
    /// Outbox rows written in this turn: handed to the notifier once durable.
    notices: Vec<String>,
}

/// What the engine hands the actor when it starts.
pub(crate) struct ActorSetup {
    pub core: Core,
    pub catalog: Catalog,
    pub store: ChainStore,
    pub clock: EngineClock,
    pub durability: Durability,
    pub exec: ExecEnv,
    pub tx: mpsc::UnboundedSender<Msg>,
    pub events: broadcast::Sender<EngineEvent>,
    pub cluster: Option<Arc<Cluster>>,
    /// Set once, with the reason, when the engine stops acting for a failure (a store write
    /// failed, a lease was lost); `Engine::failure` waits on it.
    pub failure: std::sync::Arc<tokio::sync::watch::Sender<Option<String>>>,
    /// The notifier task (`super::notifier`), told of each durable outbox row.
    pub notifier: Option<mpsc::UnboundedSender<super::notifier::NotifierMsg>>,
}

pub(crate) struct Actor {
    pub core: Core,
    pub catalog: Catalog,
    pub store: ChainStore,
    pub clock: EngineClock,
    pub durability: Durability,
    pub exec: ExecEnv,
    pub tx: mpsc::UnboundedSender<Msg>,
    pub events: broadcast::Sender<EngineEvent>,
    running: HashMap<(String, String), Running>,
    timers: HashMap<(String, TimerKey), (u64, tokio::task::AbortHandle)>,
    next_generation: u64,
    captures: HashMap<(String, String), Capture>,
    progress: HashMap<(String, String), Progress>,
    timeline_seq: HashMap<String, u64>,
    /// Per job, the chain instances whose steps are already in `ord/<job>`, by their outer
    /// step's subname (`""`: the top-level chain). One entry per instance, not per step.
    known_instances: HashMap<String, HashSet<String>>,
    waiters: HashMap<String, Vec<Reply<JobRecord>>>,
    /// Per unfinished job, the version of its chain definitions already in the store
    /// (`jdef/<job>`): they are written again only when their version changes (alter chain,
    /// rule redefinition), not with the job's changed records.
    stored_definitions: HashMap<String, u64>,
    failed: Option<String>,
    next_job_number: u64,
    /// Engines sharing a database: this engine's leases (`None`: it owns its store alone).
    cluster: Option<Arc<Cluster>>,
    /// The jobs whose records this turn writes (engines sharing a database fence them).
    turn_jobs: HashSet<String>,
    failure: std::sync::Arc<tokio::sync::watch::Sender<Option<String>>>,
    /// Per chain changed since the rule files were last loaded, the file's definition the
    /// changes were made on (`store::chain_edits`; kept here too, for changes in one turn).
    edit_bases: HashMap<String, crate::catalog::Chain>,
    /// Notifications owed (`outbox`).
    outbox: outbox::Outbox,
}

impl Actor {
    pub fn new(setup: ActorSetup) -> Actor {
        let ActorSetup {
            core,
            catalog,
            store,
            clock,
            durability,
            exec,
            tx,
            events,
            cluster,
            failure,
            notifier,
        } = setup;
        let owner = cluster.as_ref().map(|c| c.id.clone());
        Actor {
            core,
            catalog,
            store,
            clock,
            durability,
            exec,
            tx,
            events,
            running: HashMap::new(),
            timers: HashMap::new(),
            next_generation: 0,
            captures: HashMap::new(),
            progress: HashMap::new(),
            timeline_seq: HashMap::new(),
            known_instances: HashMap::new(),
            waiters: HashMap::new(),
            stored_definitions: HashMap::new(),
            failed: None,
            next_job_number: 0,
            cluster,
            turn_jobs: HashSet::new(),
            failure,
            edit_bases: HashMap::new(),
            outbox: outbox::Outbox {
                notifier,
                owner,
                watch: crate::core::notify::NotifyWatch::new(clock.now()),
                ..outbox::Outbox::default()
            },
        }
    }

    pub async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Msg>, recovery: RecoveryWork) {
        let mut turn = Turn::default();
        self.recover(recovery, &mut turn);
        self.finish_turn(turn).await;
        while let Some(first) = rx.recv().await {
            let mut msgs = vec![first];
            while msgs.len() < MAX_TURN {
                match rx.try_recv() {
                    Ok(m) => msgs.push(m),
                    Err(_) => break,
                }
            }
            let mut turn = Turn::default();
            let mut shutdown: Option<Option<oneshot::Sender<()>>> = None;
            for m in msgs {
                match m {
                    Msg::Shutdown { reply } => shutdown = Some(reply),
                    other => self.accept(other, &mut turn),
                }
            }
            self.feed_finished(&mut turn);
            self.finish_turn(turn).await;
            if let Some(reply) = shutdown {
                self.shutdown();
                if let Some(r) = reply {
                    let _ = r.send(());
                }
                break;
            }
        }
        // Every sender is gone or shutdown was asked: make sure nothing keeps running.
        self.shutdown();
    }

    fn accept(&mut self, msg: Msg, turn: &mut Turn) {
        if !matches!(msg, Msg::Exec(_)) {
            // Keep the order of what the core sees: completions first, then this message.
            self.feed_finished(turn);
        }
        match msg {
            Msg::Input { input, reply } => {
                if let Some(why) = &self.failed {
                    let _ = reply.send(Err(EngineError::NotRunning(why.clone())));
                    return;
                }
                match self.feed(input, turn) {
                    Ok(acc) => turn.answers.push(Answer::Input(reply, acc)),
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                }
            }
            Msg::Exec(ev) => self.exec_event(ev, turn),
            Msg::Timer {
                job,
                timer,
                generation,
            } => {
                let key = (job, timer);
                match self.timers.get(&key) {
                    Some((g, _)) if *g == generation => {
                        self.timers.remove(&key);
                        let (job, timer) = key;
                        turn.batch.delete_timer(&job, &timer);
                        let _ = self.feed(Input::TimerFired { job, timer }, turn);
                    }
                    _ => {}
                }
            }
            Msg::LoadCatalog { catalog, reply } => {
                if let Some(why) = &self.failed {
                    let _ = reply.send(Err(EngineError::NotRunning(why.clone())));
                    return;
                }
                // Chains changed while an engine ran stay changed unless their file changed
                // (`store::chain_edits`); rule changes reach the running jobs too.
                let catalog = match crate::store::chain_edits::overlay(
                    &self.store,
                    *catalog,
                    &mut turn.batch,
                ) {
                    Ok((c, warnings)) => {
                        for w in &warnings {
                            tracing::warn!("{w}");
                        }
                        c
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e.into()));
                        return;
                    }
                };
                self.edit_bases.clear();
                turn.batch.put_catalog(&catalog);
                turn.needs_flush = true;
                let effects = self.core.reload_catalog(self.clock.now(), catalog.clone());
                self.record(effects, turn);
                self.catalog = catalog;
                turn.answers.push(Answer::Catalog(reply));
            }
            Msg::Wait { job, reply } => self.wait(job, reply),
            Msg::Unfinished { reply } => {
                let jobs = self
                    .core
                    .job_names()
                    .into_iter()
                    .filter(|j| {
                        self.core
                            .job_record(j)
                            .is_some_and(|r| !r.state.is_finished())
                    })
                    .collect();
                let _ = reply.send(Ok(jobs));
            }
            Msg::Shutdown { .. } => {}
            Msg::Purge { chunk, reply } => self.purge(chunk, reply, turn),
            Msg::Adopt { jobs } => self.adopt(jobs, turn),
            Msg::LeaseLost { why } => {
                if self.failed.is_none() {
                    tracing::error!("{why}; the engine stops");
                    self.kill_everything();
                    if let Some(c) = &self.cluster {
                        c.leave();
                    }
                    self.failure.send_replace(Some(why.clone()));
                    self.failed = Some(why);
                }
            }
        }
    }

    fn wait(&mut self, job: String, reply: Reply<JobRecord>) {
        match self.core.job_record(&job) {
            Some(r) if r.state.is_finished() => {
                let _ = reply.send(Ok(r));
            }
            Some(_) => self.waiters.entry(job).or_default().push(reply),
            None => {
                let answer = match self.store.job(&job) {
                    Ok(Some(r)) if r.state.is_finished() => Ok(r),
                    Ok(_) => Err(EngineError::Core(
                        crate::core::types::CoreError::UnknownJob(job),
                    )),
                    Err(e) => Err(EngineError::Store(e)),
                };
                let _ = reply.send(answer);
            }
        }
    }

    /// Hand the completions gathered in this turn to the core at once.
    fn feed_finished(&mut self, turn: &mut Turn) {
        if turn.finished.is_empty() || self.failed.is_some() {
            return;
        }
        let inputs = std::mem::take(&mut turn.finished);
        let now = self.clock.now();
        // A refused completion (a job that ended meanwhile) changes nothing; nobody awaits it.
        let (effects, _refusals) = self.core.handle_batch(now, inputs);
        self.record(effects, turn);
    }

    /// Check what the runtime itself must check, then hand the input to the core and record
    /// its effects in the turn.
    fn feed(&mut self, mut input: Input, turn: &mut Turn) -> Result<Accepted, EngineError> {
        if let Some(why) = &self.failed {
            return Err(EngineError::NotRunning(why.clone()));
        }
        let mut fresh_name = None;
        let mut claimed = None;
        let mut affinity = None;
        if let Input::StartJob(req) = &mut input {
            self.check_start(req)?;
            if let Some(c) = &self.cluster {
                // A job with group limits or a serialize key runs at its key's home.
                affinity = self.core.placement_key(req);
                if let Some(key) = &affinity {
                    let home = c.home_of(key)?;
                    if home != c.id {
                        return Err(EngineError::Elsewhere { engine: home });
                    }
                }
            }
            match &req.job {
                Some(j) => {
                    fresh_name = Some(j.clone());
                    if let Some(c) = &self.cluster {
                        if self
                            .core
                            .job_record(j)
                            .is_some_and(|r| !r.state.is_finished())
                        {
                            return Err(CoreError::DuplicateJob(j.clone()).into());
                        }
                        if !c.claim_job_at(j, affinity.as_deref())? {
                            return Err(CoreError::DuplicateJob(j.clone()).into());
                        }
                        claimed = Some(j.clone());
                    }
                }
                None => {
                    let name = self.generate_name(&req.chain, affinity.as_deref())?;
                    if self.cluster.is_some() {
                        claimed = Some(name.clone());
                    }
                    req.job = Some(name);
                }
            }
        }
        let mut restarted = None;
        if let Input::Restart(req) = &mut input {
            self.prepare_restart(req)?;
            restarted = Some(req.job.clone());
        }
        let now = self.clock.now();
        let changed_chain = match &input {
            Input::AlterChain { chain, .. }
            | Input::DefineRule { chain, .. }
            | Input::DropRule { chain, .. }
            | Input::DropStep { chain, .. } => self.core.catalog.chains.get(chain).cloned(),
            _ => None,
        };
        let handled = self.core.handle(now, input.clone());
        if let (Err(_), Some(job), Some(c)) = (&handled, &claimed, &self.cluster) {
            c.unclaim_job(job);
        }
        if let (Err(_), Some(job), Some(c)) = (&handled, &restarted, &self.cluster) {
            c.unclaim_job(job);
        }
        let effects = match handled {
            Ok(e) => e,
            Err(CoreError::UnknownJob(j)) if self.store.job(&j).ok().flatten().is_some() => {
                // Ended jobs are dropped from the core's memory; their history is in the store.
                return Err(CoreError::JobEnded(j).into());
            }
            Err(e) => return Err(e.into()),
        };
        let mut acc = Accepted::default();
        match &input {
            Input::StartJob(req) => {
                acc.job = req.job.clone();
                if let Some(name) = fresh_name {
                    // A finished job of the same name may be in the store: its step records,
                    // progress and timeline belong to the old run (its log rows stay).
                    self.clear_old_run(&name, turn);
                }
                if let Some(name) = &acc.job {
                    let definition = self.core.job_definition(name);
                    turn.batch.put_job_definition(name, definition.as_deref());
                    self.outbox.watch.forget(name);
                }
            }
            Input::RaiseEvent { .. } | Input::RaiseEventKept { .. } => {
                acc.completed_steps = self.core.last_event_matches();
                acc.event = Some(self.core.last_event().clone());
            }
            Input::Restart(req) => {
                acc.job = Some(req.job.clone());
                self.clear_restarted(&req.job, turn);
            }
            _ => {}
        }
        if let Some(before) = changed_chain {
            // A chain change is durable: the catalog (for `--db` commands and `resume`) and
            // the change itself (re-applied on top of the rule files: `store::chain_edits`).
            if let Some(after) = self.core.catalog.chains.get(&before.name) {
                let mut edit = crate::store::chain_edits::edit_after(&self.store, &before, after)?;
                match self.edit_bases.get(&before.name) {
                    Some(base) => edit.base = base.clone(),
                    None => {
                        self.edit_bases
                            .insert(before.name.clone(), edit.base.clone());
                    }
                }
                turn.batch.put_chain_edit(&edit);
            }
            turn.batch.put_catalog(&self.core.catalog);
            self.catalog = self.core.catalog.clone();
            turn.needs_flush = true;
        }
        self.record(effects, turn);
        Ok(acc)
    }

    /// `RUN_CHAIN$_<first 8 characters of the chain><N>`, unused in the core and in the store.
    fn generate_name(
        &mut self,
        chain: &str,
        affinity: Option<&str>,
    ) -> Result<String, EngineError> {
        let prefix: String = chain.chars().take(8).collect();
        loop {
            self.next_job_number += 1;
            let name = format!("RUN_CHAIN$_{prefix}{}", self.next_job_number);
            if self.core.job_record(&name).is_none() && self.store.job(&name)?.is_none() {
                match &self.cluster {
                    // Another engine may generate the same name: the lease decides.
                    Some(c) if !c.claim_job_at(&name, affinity)? => continue,
                    _ => return Ok(name),
                }
            }
        }
    }

    /// A restart of a job the core no longer holds (ended jobs are dropped from memory): the
    /// ended job as the store keeps it; with several engines, the claim on its name.
    fn prepare_restart(
        &mut self,
        req: &mut crate::core::types::RestartRequest,
    ) -> Result<(), EngineError> {
        if self.core.job_record(&req.job).is_some() {
            return Ok(());
        }
        let Some(record) = self.store.job(&req.job)? else {
            return Err(CoreError::UnknownJob(req.job.clone()).into());
        };
        if !record.state.is_finished() {
            // Running on another engine of the database.
            return Err(CoreError::NotRestartable {
                job: req.job.clone(),
                state: record.state.as_str().to_string(),
                why: "only an ended FAILED or STOPPED job can be restarted; stop it first, or \
                      wait for it to end"
                    .into(),
            }
            .into());
        }
        let run = self
            .store
            .last_log_id_of(&req.job)?
            .and_then(|id| self.store.log_row(id).ok().flatten())
            .map_or(1, |row| row.run);
        if let Some(c) = &self.cluster {
            let probe = crate::core::types::StartRequest {
                job: Some(req.job.clone()),
                chain: record.chain.clone(),
                parameters: record.parameters.clone(),
                group: record.group.clone(),
                ..Default::default()
            };
            let affinity = self.core.placement_key(&probe);
            if let Some(key) = &affinity {
                let home = c.home_of(key)?;
                if home != c.id {
                    return Err(EngineError::Elsewhere { engine: home });
                }
            }
            if !c.claim_job_at(&req.job, affinity.as_deref())? {
                return Err(CoreError::DuplicateJob(req.job.clone()).into());
            }
        }
        req.previous = Some(crate::core::types::EndedJob {
            steps: self.store.steps(&req.job)?,
            variables: self.store.variables(&req.job)?,
            record,
            run,
        });
        Ok(())
    }

    /// After a restart: the job's definitions and step order are written again, and the step
    /// records of nested chains whose outer step runs again are removed (they belong to the
    /// previous run; the nested chain starts afresh). The timeline, log and variables stay.
    fn clear_restarted(&mut self, job: &str, turn: &mut Turn) {
        self.known_instances.remove(job);
        self.stored_definitions.remove(job);
        let records = self.core.step_records(job);
        let kept: std::collections::HashSet<&str> = records
            .iter()
            .filter(|s| s.parent_subname.is_none() && s.state.is_completed())
            .map(|s| s.subname.as_str())
            .collect();
        let current: std::collections::HashSet<&str> =
            records.iter().map(|s| s.subname.as_str()).collect();
        let old = self.store.steps(job).unwrap_or_default();
        let mut order = Vec::with_capacity(old.len().max(records.len()));
        for r in &records {
            order.push(r.subname.clone());
            if kept.contains(r.subname.as_str()) {
                // A kept chain step keeps the records of the nested run it ended with.
                let prefix = format!("{}.", r.subname);
                order.extend(
                    old.iter()
                        .filter(|o| o.subname.starts_with(&prefix))
                        .map(|o| o.subname.clone()),
                );
            }
        }
        for o in &old {
            let top = o.subname.split('.').next().unwrap_or_default();
            if !current.contains(o.subname.as_str()) && !kept.contains(top) {
                turn.batch
                    .delete_raw(crate::store::layout::step_key(job, &o.subname));
            }
        }
        turn.batch.put_order(job, &order);
        self.known_instances
            .entry(job.to_string())
            .or_default()
            .insert(String::new());
    }

    fn clear_old_run(&mut self, job: &str, turn: &mut Turn) {
        if let Ok(keys) = self.store.job_keys_of_run(job) {
            for k in keys {
                turn.batch.delete_raw(k);
            }
        }
        self.timeline_seq.remove(job);
        self.known_instances.remove(job);
        self.stored_definitions.remove(job);
    }

    /// Check a start request and complete it (the core's start check: limits, job
    /// definition, group, `${NAME}` parameters; the simulator runs the same one), and refuse
    /// the name of an ended job unless the request replaces it. Done before anything is claimed
    /// for the job (a lease, a generated name).
    fn check_start(&self, req: &mut crate::core::types::StartRequest) -> Result<(), EngineError> {
        *req = self.core.check_start(std::mem::take(req))?;
        if let (true, Some(job)) = (req.refuse_ended, &req.job) {
            // The core knows a job it still runs (refused as a duplicate); an ended one is
            // only in the store (also for engines sharing a database).
            let ended = match self.core.job_record(job) {
                Some(r) => r.state.is_finished().then_some(r),
                None => self.store.job(job)?.filter(|r| r.state.is_finished()),
            };
            if let Some(r) = ended {
                return Err(crate::core::types::CoreError::EndedJobName {
                    job: job.clone(),
                    state: r.state.as_str().to_string(),
                }
                .into());
            }
        }
        Ok(())
    }

    /// Turn effects into store writes (in order) and keep them to act on after the commit.
    fn record(&mut self, effects: Vec<Effect>, turn: &mut Turn) {
        if effects.is_empty() {
            return;
        }
        turn.needs_flush = true;
        let now = self.clock.now();
        for e in &effects {
            self.outbox_effect(e, now, turn);
            match e {
                Effect::StepChanged { job, step } => {
                    turn.touched.insert(job.clone());
                    turn.batch.put_step(job, step);
                    self.note_instance(job, step.parent_subname.as_ref(), turn);
                    turn.events.push(EngineEvent::Step {
                        job: job.clone(),
                        step: step.clone(),
                    });
                }
                Effect::JobChanged { job } => {
                    // debug, not info: per-job events must not depend on a log sink keeping
                    // up (a full stderr pipe would block the engine's actor).
                    tracing::debug!(
                        job = %job.job,
                        chain = %job.chain,
                        state = job.state.as_str(),
                        error_code = job.error_code,
                        "job state"
                    );
                    turn.touched.insert(job.job.clone());
                    turn.batch.put_job(job);
                    turn.events.push(EngineEvent::Job(job.clone()));
                }
                Effect::Log(row) => {
                    // The engine's reason for ending the run (timeout, launch failure).
                    let row = &self.with_reason(row);
                    tracing::trace!(
                        log_id = row.log_id,
                        job = %row.job,
                        subname = row.subname.as_deref().unwrap_or(""),
                        operation = row.operation.as_str(),
                        status = row.status.as_str(),
                        error_code = row.error_code,
                        "job log row"
                    );
                    turn.touched.insert(row.job.clone());
                    turn.batch.put_log(row);
                    let details = self.details_for(row);
                    turn.batch.put_run_details(&details);
                    turn.events.push(EngineEvent::Log(row.clone()));
                }
                Effect::Timeline(entry) => {
                    let seq = self.timeline_seq(&entry.job);
                    turn.batch.put_timeline(seq, entry);
                }
                Effect::EventKept(event) => turn.batch.put_kept_event(event),
                Effect::KeptEventGone { id, .. } => turn.batch.delete_kept_event(*id),
                Effect::SetTimer { job, timer, due } => {
                    turn.touched.insert(job.clone());
                    turn.batch.put_timer(&TimerEntry {
                        job: job.clone(),
                        timer: timer.clone(),
                        due: *due,
                    });
                }
                Effect::CancelTimer { job, timer } => {
                    turn.touched.insert(job.clone());
                    turn.batch.delete_timer(job, timer);
                }
                Effect::Launch { job, subname, .. } => {
                    turn.touched.insert(job.clone());
                    let key = (job.clone(), subname.clone());
                    if self.progress.remove(&key).is_some() {
                        turn.batch.put_progress(
                            job,
                            subname,
                            &Progress {
                                updated_at: now,
                                ..Progress::default()
                            },
                        );
                    }
                }
                Effect::Kill { .. } => {}
            }
        }
        turn.effects.extend(effects);
    }

    /// Keep `ord/<job>` (definition order of the job's steps) current when a chain instance
    /// appears (the job's top-level chain, or a nested chain that starts). Its steps' records
    /// come with it: the core reports every step of a new instance.
    fn note_instance(&mut self, job: &str, parent: Option<&String>, turn: &mut Turn) {
        let outer = parent.map_or("", String::as_str);
        if self
            .known_instances
            .get(job)
            .is_some_and(|k| k.contains(outer))
        {
            return;
        }
        self.known_instances
            .entry(job.to_string())
            .or_default()
            .insert(outer.to_string());
        let order: Vec<String> = self
            .core
            .step_records(job)
            .into_iter()
            .map(|s| s.subname)
            .collect();
        turn.batch.put_order(job, &order);
    }

    fn timeline_seq(&mut self, job: &str) -> u64 {
        let store = &self.store;
        let seq = self
            .timeline_seq
            .entry(job.to_string())
            .or_insert_with(|| store.next_timeline_seq(job).unwrap_or(1));
        let s = *seq;
        *seq += 1;
        s
    }

    /// Run details for a log row, from what the executor captured (or is still running).
    /// `row` with the reason of its run's capture, if the engine ended or failed to start it,
    /// added to ADDITIONAL_INFO.
    fn with_reason(&self, row: &LogRow) -> LogRow {
        let mut row = row.clone();
        let reason = row.subname.as_ref().and_then(|sub| {
            self.captures
                .get(&(row.job.clone(), sub.clone()))
                .and_then(|c| c.reason.clone())
        });
        if let Some(reason) = reason {
            row.additional_info = Some(match row.additional_info.take() {
                Some(info) if !info.is_empty() => format!("{info}; {reason}"),
                _ => reason,
            });
        }
        row
    }

    fn details_for(&mut self, row: &LogRow) -> RunDetails {
        let mut d = RunDetails {
            log_id: row.log_id,
            job: row.job.clone(),
            subname: row.subname.clone(),
            status: row.status,
            error_code: row.error_code,
            req_start: row.started_at,
            actual_start: row.started_at,
            run_duration: row.started_at.map(|s| row.time.saturating_sub(s)),
            pid: None,
            output: String::new(),
            errors: String::new(),
            variables: Vec::new(),
        };
        let Some(sub) = &row.subname else {
            return d;
        };
        let key = (row.job.clone(), sub.clone());
        if let Some(c) = self.captures.remove(&key) {
            d.actual_start = Some(c.actual_start);
            d.run_duration = Some(c.ended.saturating_sub(c.actual_start));
            d.pid = c.pid;
            d.output = c.output;
            d.errors = c.errors;
            d.variables = c.variables;
        } else if let Some(r) = self.running.get_mut(&key) {
            r.log_id = Some(row.log_id);
            d.req_start = Some(r.req_start);
            d.actual_start = r.actual_start.or(Some(r.req_start));
            d.pid = r.pid;
        }
        if let Some(info) = &row.additional_info {
            if info.contains("RECOVERY") || info.contains("recover") {
                d.errors = bounded_tail(&format!("{}{info}\n", d.errors));
            }
        }
        d
    }

    fn exec_event(&mut self, ev: ExecEvent, turn: &mut Turn) {
        match ev {
            ExecEvent::Spawned {
                job,
                subname,
                attempt,
                pid,
            } => {
                if let Some(r) = self.running.get_mut(&(job.clone(), subname.clone())) {
                    if r.attempt == attempt {
                        r.pid = Some(pid);
                        r.actual_start = Some(self.clock.now());
                        turn.batch
                            .put_pid(&job, &subname, &LivePid { pid, attempt });
                    }
                }
            }
            ExecEvent::Progress {
                job,
                subname,
                sofar,
                totalwork,
                message,
            } => {
                let now = self.clock.now();
                let p = self
                    .progress
                    .entry((job.clone(), subname.clone()))
                    .or_default();
                if sofar.is_some() {
                    p.sofar = sofar;
                }
                if totalwork.is_some() {
                    p.totalwork = totalwork;
                }
                if message.is_some() {
                    p.status_message = message;
                }
                p.updated_at = now;
                let p = p.clone();
                turn.batch.put_progress(&job, &subname, &p);
                turn.events.push(EngineEvent::Progress {
                    job,
                    subname,
                    progress: p,
                });
            }
            ExecEvent::Finished {
                job,
                subname,
                attempt,
                outcome,
                capture,
            } => {
                let key = (job.clone(), subname.clone());
                let current = self.running.get(&key).is_some_and(|r| r.attempt == attempt);
                if !current {
                    return;
                }
                let Some(r) = self.running.remove(&key) else {
                    return;
                };
                if r.pid.is_some() {
                    turn.batch.delete_pid(&job, &subname);
                }
                if let Some(log_id) = r.log_id {
                    // Stopped by the engine and already logged: complete its details.
                    if let Ok(Some(mut d)) = self.store.run_details(log_id) {
                        d.actual_start = Some(capture.actual_start);
                        d.run_duration = Some(capture.ended.saturating_sub(capture.actual_start));
                        d.pid = capture.pid.or(d.pid);
                        d.output = capture.output;
                        d.errors = capture.errors;
                        turn.batch.put_run_details(&d);
                    }
                    return;
                }
                let variables = capture.variables.clone();
                self.captures.insert(key, capture);
                if r.killed {
                    // The core no longer awaits it; its log row (if any) picks up the capture.
                    return;
                }
                turn.finished.push(Input::StepFinished {
                    job,
                    subname,
                    attempt,
                    outcome,
                    variables,
                });
            }
        }
    }

    /// Snapshot the touched jobs, commit the turn's batch (flushing in sync mode), then act.
    async fn finish_turn(&mut self, mut turn: Turn) {
        if let Some(why) = self.failed.clone() {
            // Nothing can be made durable any more: act on nothing.
            self.fail(why, turn);
            return;
        }
        let mut touched = std::mem::take(&mut turn.touched);
        let mut ended = Vec::new();
        // The core's records that changed (O(size of the change)); the definitions once per
        // version. An ended job's records are deleted instead.
        for changes in self.core.take_changes() {
            if self.cluster.is_some() {
                self.turn_jobs.insert(changes.job.clone());
            }
            if changes.ended {
                // The variables set by the step that ended the job outlive its records.
                turn.batch.put_variables(&changes.job, &changes.variables);
                touched.insert(changes.job);
                continue;
            }
            let job = &changes.job;
            let version = self.core.job_definitions_version(job);
            if version.is_some() && self.stored_definitions.get(job) != version.as_ref() {
                if let Some(defs) = self.core.job_definitions(job) {
                    turn.batch.put_definitions(job, &defs);
                    self.stored_definitions.insert(job.clone(), defs.version);
                }
            }
            turn.batch.put_job_changes(&changes);
        }
        for job in &touched {
            if let Some(r) = self.core.job_record(job).filter(|r| r.state.is_finished()) {
                self.stored_definitions.remove(job);
                let keys = self.store.job_state_keys(job).unwrap_or_default();
                for k in keys
                    .into_iter()
                    .chain(chain_store::timer_keys(&self.store, job).unwrap_or_default())
                {
                    turn.batch.delete_raw(k);
                }
                ended.push(r);
            }
        }
        if let Some(c) = &self.cluster {
            if !turn.batch.is_empty() && !c.in_time() {
                let why = "lease deadline passed: this engine could not renew its leases in time \
                           (paused, or cut off from the database); its steps were killed and \
                           other engines take its jobs over"
                    .to_string();
                self.fail(why, turn);
                return;
            }
            let mut jobs: HashSet<String> = touched.iter().cloned().collect();
            jobs.extend(self.turn_jobs.drain());
            let mut ended_names: Vec<String> = ended.iter().map(|r| r.job.clone()).collect();
            // Names claimed for a purge (not in the core) are released with the batch.
            ended_names.extend(
                jobs.iter()
                    .filter(|j| self.core.job_record(j).is_none())
                    .cloned(),
            );
            if !jobs.is_empty() {
                turn.batch.set_fence(c.fence(&jobs, &ended_names));
            }
        }
        let result = self
            .commit(std::mem::take(&mut turn.batch), turn.needs_flush)
            .await;
        if let Err(e) = result {
            self.fail(format!("store write failed: {e}"), turn);
            return;
        }
        // Stored timers first: the recovery's own effects (which may cancel them) come after.
        for t in std::mem::take(&mut turn.rearm) {
            self.arm(t.job, t.timer, t.due);
        }
        self.act(std::mem::take(&mut turn.effects));
        for a in turn.answers {
            match a {
                Answer::Input(r, acc) => {
                    let _ = r.send(Ok(acc));
                }
                Answer::Catalog(r) => {
                    let _ = r.send(Ok(()));
                }
            }
        }
        for ev in turn.events {
            let _ = self.events.send(ev);
        }
        if let (false, Some(n)) = (turn.notices.is_empty(), &self.outbox.notifier) {
            let _ = n.send(super::notifier::NotifierMsg::New(turn.notices));
        }
        for r in ended {
            self.job_ended(&r);
        }
    }

    async fn commit(
        &self,
        batch: StateBatch,
        needs_flush: bool,
    ) -> Result<(), crate::store::StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        self.store.apply(batch)?;
        if needs_flush && self.durability == Durability::Sync {
            let store = self.store.clone();
            match tokio::task::spawn_blocking(move || store.flush()).await {
                Ok(r) => r?,
                Err(e) => return Err(crate::store::StoreError::Io(e.to_string())),
            }
        }
        Ok(())
    }

    /// The store failed: nothing more can be made durable, so nothing more may be acted on.
    fn fail(&mut self, why: String, turn: Turn) {
        if self.failed.is_none() {
            tracing::error!("{why}; the engine stops");
            self.failure.send_replace(Some(why.clone()));
        }
        self.failed = Some(why.clone());
        if let Some(c) = self.cluster.clone() {
            self.kill_everything();
            c.leave();
        }
        for a in turn.answers {
            match a {
                Answer::Input(r, _) => {
                    let _ = r.send(Err(EngineError::NotRunning(why.clone())));
                }
                Answer::Catalog(r) => {
                    let _ = r.send(Err(EngineError::NotRunning(why.clone())));
                }
            }
        }
        for (_, ws) in self.waiters.drain() {
            for w in ws {
                let _ = w.send(Err(EngineError::NotRunning(why.clone())));
            }
        }
        self.kill_everything();
    }

    fn act(&mut self, effects: Vec<Effect>) {
        let killed: HashSet<(String, String, u32)> = effects
            .iter()
            .filter_map(|e| match e {
                Effect::Kill {
                    job,
                    subname,
                    attempt,
                } => Some((job.clone(), subname.clone(), *attempt)),
                _ => None,
            })
            .collect();
        for e in effects {
            match e {
                Effect::Launch {
                    job,
                    subname,
                    program,
                    attempt,
                    parameters,
                    ..
                } => {
                    if killed.contains(&(job.clone(), subname.clone(), attempt)) {
                        continue;
                    }
                    self.launch(job, subname, program, attempt, parameters);
                }
                Effect::Kill {
                    job,
                    subname,
                    attempt,
                } => {
                    if let Some(r) = self.running.get_mut(&(job, subname)) {
                        if r.attempt == attempt {
                            r.killed = true;
                            if let Some(s) = &r.stop {
                                s.stop();
                            }
                        }
                    }
                }
                Effect::SetTimer { job, timer, due } => self.arm(job, timer, due),
                Effect::CancelTimer { job, timer } => {
                    if let Some((_, h)) = self.timers.remove(&(job, timer)) {
                        h.abort();
                    }
                }
                _ => {}
            }
        }
    }

    fn launch(
        &mut self,
        job: String,
        subname: String,
        program: String,
        attempt: u32,
        parameters: BTreeMap<String, String>,
    ) {
        let now = self.clock.now();
        let key = (job.clone(), subname.clone());
        let Some(def) = self.catalog.programs.get(&program).cloned() else {
            self.running.insert(
                key,
                Running {
                    attempt,
                    stop: None,
                    pid: None,
                    req_start: now,
                    actual_start: None,
                    log_id: None,
                    killed: false,
                },
            );
            let _ = self.tx.send(Msg::Exec(ExecEvent::Finished {
                job,
                subname,
                attempt,
                outcome: Outcome::Failed(executor::LAUNCH_FAILED),
                capture: Capture {
                    actual_start: now,
                    ended: now,
                    errors: format!("program {program} is not in the engine's catalog"),
                    reason: Some(format!(
                        "not started: program {program} is not in the engine's catalog"
                    )),
                    ..Capture::default()
                },
            }));
            return;
        };
        let stop = executor::launch(
            &self.exec,
            StepLaunch {
                job,
                subname,
                attempt,
                program: def,
                parameters,
            },
        );
        self.running.insert(
            key,
            Running {
                attempt,
                stop: Some(stop),
                pid: None,
                req_start: now,
                actual_start: None,
                log_id: None,
                killed: false,
            },
        );
    }

    fn arm(&mut self, job: String, timer: TimerKey, due: Millis) {
        self.next_generation += 1;
        let generation = self.next_generation;
        let wait = self.clock.until(due);
        let tx = self.tx.clone();
        let (j, t) = (job.clone(), timer.clone());
        let task = tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            let _ = tx.send(Msg::Timer {
                job: j,
                timer: t,
                generation,
            });
        });
        if let Some((_, old)) = self
            .timers
            .insert((job, timer), (generation, task.abort_handle()))
        {
            old.abort();
        }
    }

    fn job_ended(&mut self, record: &JobRecord) {
        let job = &record.job;
        let keys: Vec<_> = self
            .timers
            .keys()
            .filter(|(j, _)| j == job)
            .cloned()
            .collect();
        for k in keys {
            if let Some((_, h)) = self.timers.remove(&k) {
                h.abort();
            }
        }
        self.timeline_seq.remove(job);
        self.known_instances.remove(job);
        self.progress.retain(|(j, _), _| j != job);
        self.captures.retain(|(j, _), _| j != job);
        self.outbox.watch.forget(job);
        if let Some(ws) = self.waiters.remove(job) {
            for w in ws {
                let _ = w.send(Ok(record.clone()));
            }
        }
        // Its history is durable in the store; the core need not keep it in memory.
        self.core.forget_job(job);
    }

    fn kill_everything(&mut self) {
        for (_, r) in self.running.drain() {
            if let Some(pid) = r.pid {
                executor::process::kill_group(pid, libc::SIGKILL);
            }
            if let Some(s) = r.stop {
                s.stop();
            }
        }
        for (_, (_, h)) in self.timers.drain() {
            h.abort();
        }
    }

    /// Engine shutdown: running attempts are killed without recording anything (their jobs are
    /// recovered by the next engine on this store), waiters are told, the store is flushed.
    fn shutdown(&mut self) {
        self.kill_everything();
        for (_, ws) in self.waiters.drain() {
            for w in ws {
                let _ = w.send(Err(EngineError::NotRunning("the engine shut down".into())));
            }
        }
        let _ = self.store.flush();
        if let Some(c) = &self.cluster {
            // Its steps are gone: others may take its jobs over at once.
            c.leave();
        }
        self.failed
            .get_or_insert_with(|| "the engine shut down".into());
    }

    // ---- recovery ----

    fn recover(&mut self, work: RecoveryWork, turn: &mut Turn) {
        for (job, sub, pid) in work.leftover_pids {
            turn.batch.delete_pid(&job, &sub);
            if self.cluster.is_none() {
                super::recovery::kill_leftover(&job, &sub, pid);
            }
        }
        for job in &work.jobs {
            if let Ok(steps) = self.store.steps(job) {
                self.known_instances.insert(
                    job.clone(),
                    steps
                        .into_iter()
                        .map(|s| s.parent_subname.unwrap_or_default())
                        .collect(),
                );
            }
        }
        turn.rearm = work.timers;
        let now = self.clock.now();
        for job in &work.jobs {
            if let Some(r) = self.core.job_record(job) {
                self.outbox.watch.seed(job, r.state);
            }
        }
        for job in work.jobs {
            // `restartable` belongs to the job definition, whatever its run is called.
            let definition = self
                .core
                .job_definition(&job)
                .unwrap_or_else(|| job.clone());
            let restartable = self
                .catalog
                .jobs
                .get(&definition)
                .is_some_and(|d| d.restartable);
            match self.core.recover_job(now, &job, restartable) {
                Ok(effects) => {
                    tracing::info!(job = %job, "job recovered");
                    turn.touched.insert(job.clone());
                    self.record(effects, turn);
                }
                Err(e) => tracing::error!("recovery of job {job} failed: {e}"),
            }
        }
        // ENQUEUED jobs whose slots were freed by recovery (or by jobs that ended before the
        // restart) start now.
        let effects = self.core.admit_waiting_jobs(now);
        self.record(effects, turn);
    }

    /// Recover jobs whose leases this engine has just claimed from an engine that died or
    /// stalled, exactly as `resume` recovers jobs after a crash. Their step processes were
    /// killed by that engine's guardian (at death, or at its lease deadline); their `pid/`
    /// keys are dropped, not acted on: the pids belong to another machine, perhaps.
    fn adopt(&mut self, jobs: Vec<String>, turn: &mut Turn) {
        if self.failed.is_some() {
            return;
        }
        let Some(cluster) = self.cluster.clone() else {
            return;
        };
        let mut work = RecoveryWork::default();
        let mut finished = Vec::new();
        for job in jobs {
            if self.core.job_record(&job).is_some() {
                continue;
            }
            match self.store.job(&job) {
                Ok(Some(r)) if !r.state.is_finished() => {}
                Ok(_) => {
                    // Ended (or never written) meanwhile: nothing to run, give the lease up.
                    finished.push(job);
                    continue;
                }
                Err(e) => {
                    tracing::error!("job {job} cannot be taken over: {e}");
                    continue;
                }
            }
            match super::recovery::prepare_job(&self.store, &mut self.core, &job) {
                Ok(timers) => {
                    work.timers.extend(timers);
                    if let Ok(pids) = self.store.live_pids(&job) {
                        work.leftover_pids
                            .extend(pids.into_iter().map(|(sub, pid)| (job.clone(), sub, pid)));
                    }
                    work.jobs.push(job);
                }
                Err(why) => tracing::error!("job {job} cannot be taken over: {why}"),
            }
        }
        if !finished.is_empty() {
            let mut b = crate::store::StateBatch::default();
            let held: HashSet<String> = finished.iter().cloned().collect();
            b.set_fence(cluster.fence(&held, &finished));
            if let Err(e) = self.store.apply(b) {
                tracing::warn!("cannot give up the leases of ended jobs: {e}");
            }
        }
        if work.jobs.is_empty() {
            return;
        }
        tracing::info!(jobs = ?work.jobs, "recovering jobs taken over from another engine");
        let timers = std::mem::take(&mut work.timers);
        self.recover(work, turn);
        turn.rearm.extend(timers);
    }

    // ---- retention ----

    /// Delete the ended jobs of a retention chunk that are still the run that was gathered.
    /// Checked here because only the actor starts runs: a job the core knows (running again,
    /// or ended in this very turn) is skipped, and so is one whose stored record or newest log
    /// row changed since it was gathered. The deletes go into this turn's batch, after the
    /// writes of earlier messages and before those of later ones (a start of the same name
    /// later in this turn overwrites what it needs). Nothing here needs a flush: a purge lost
    /// in a crash is done again by the next pass.
    fn purge(&mut self, chunk: PurgeChunk, reply: Reply<PurgeStats>, turn: &mut Turn) {
        if let Some(why) = &self.failed {
            let _ = reply.send(Err(EngineError::NotRunning(why.clone())));
            return;
        }
        let core = &self.core;
        let cluster = self.cluster.clone();
        let claims = std::cell::RefCell::new(Vec::new());
        // Engines sharing a database: a purged job's name is claimed first (its lease), so no
        // engine can start a new run of that name while its keys are deleted; the lease goes
        // with this turn's batch.
        let running = |job: &str| {
            core.job_record(job).is_some()
                || cluster.as_ref().is_some_and(|c| match c.claim_job(job) {
                    Ok(true) => {
                        claims.borrow_mut().push(job.to_string());
                        false
                    }
                    _ => true,
                })
        };
        let result =
            retention::apply_chunk(&self.store, chunk, &mut turn.batch, &running, &mut |_| {});
        self.turn_jobs.extend(claims.into_inner());
        let _ = reply.send(result.map_err(EngineError::Store));
    }
}

/// What recovery found in the store, prepared before the actor starts.
#[derive(Debug, Default)]
pub(crate) struct RecoveryWork {
    pub jobs: Vec<String>,
    pub timers: Vec<TimerEntry>,
    pub leftover_pids: Vec<(String, String, LivePid)>,
}
