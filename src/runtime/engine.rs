//! [`Engine`]: the library API for running chains for real (docs/embedding.md).
//!
//! An `Engine` is a cheap, cloneable handle on the engine actor (which owns the core) and on
//! the store (which the read methods query directly, without going through the actor, so views
//! never wait for the engine). Requests are answered once their state change is durable.

use super::actor::{Accepted, Actor, ActorSetup, Msg, RecoveryWork};
use super::clock::EngineClock;
use super::error::EngineError;
use super::events::EngineEvent;
use super::executor::{ExecEnv, HandlerContext, Launcher};
use super::options::{Durability, EngineOptions};
use super::recovery::{self, RecoveryReport};
use crate::catalog::{Catalog, Rule};
use crate::core::types::{
    AlterChange, CoreError, Input, JobRecord, LogRow, Outcome, StartRequest, StepRecord,
    TimelineEntry,
};
use crate::core::Core;
use crate::store::sled_store::SledOptions;
use crate::store::{Access, ChainStore, OpenOptions, PgOptions, Progress, PurgeStats, RunDetails};
use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

/// How an engine opens its store: sled's background flush and PostgreSQL's
/// `synchronous_commit` follow the durability mode (docs/durability.md).
fn store_options(options: &EngineOptions) -> OpenOptions {
    OpenOptions {
        access: Access::Engine,
        sled: SledOptions {
            cache_capacity: options.cache_capacity,
            flush_every_ms: match options.durability {
                Durability::Sync => Some(500),
                Durability::Relaxed { flush_every_ms } => Some(flush_every_ms.max(1)),
            },
        },
        pg: PgOptions {
            synchronous_commit: options.durability == Durability::Sync,
            ..PgOptions::default()
        },
    }
}

/// A step record with its progress, as the running-chain view shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct StepView {
    pub record: StepRecord,
    pub progress: Progress,
}

struct Inner {
    tx: mpsc::UnboundedSender<Msg>,
    store: ChainStore,
    handlers: super::executor::HandlerRegistry,
    events: broadcast::Sender<EngineEvent>,
    clock: EngineClock,
    recovery: RecoveryReport,
    /// Bumped after each catalog load (the scheduler re-reads the schedules).
    catalog_changed: watch::Sender<u64>,
    /// Whether the scheduler task has been started.
    schedules_on: AtomicBool,
    /// Every event raised through this engine (name, payload): the scheduler starts the
    /// event-based job definitions (`on event NAME`) from it.
    raised: broadcast::Sender<(String, serde_json::Value)>,
    /// Engines sharing a database: this engine's membership.
    cluster: Option<Arc<super::cluster::Cluster>>,
    /// Why the engine stopped acting (`None` while it works); see [`Engine::failure`].
    failure: watch::Receiver<Option<String>>,
    /// Observe only ([`EngineOptions::read_only`]): every input is refused.
    read_only: bool,
    /// The notifier task (`super::notifier`).
    notifier: mpsc::UnboundedSender<super::notifier::NotifierMsg>,
    /// Keeps the launcher (its guardian process, or its forking thread and with it the
    /// parent-death link of step processes) alive exactly as long as the engine.
    _launcher: Launcher,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = self.notifier.send(super::notifier::NotifierMsg::Stop);
        let _ = self.tx.send(Msg::Shutdown { reply: None });
    }
}

/// A handle that does not keep the engine alive (for background tasks such as the scheduler).
#[derive(Clone)]
pub(crate) struct WeakEngine(Weak<Inner>);

impl WeakEngine {
    pub(crate) fn upgrade(&self) -> Option<Engine> {
        self.0.upgrade().map(|inner| Engine { inner })
    }
}

/// A running engine. Clone it freely; the engine shuts down when the last clone is dropped
/// (or on [`Engine::shutdown`]). Must be created inside a tokio runtime.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("store", &self.inner.store)
            .finish()
    }
}

impl Engine {
    /// Open (or create) the sled store at `path`, recover its unfinished jobs, and start.
    pub async fn open(
        path: impl AsRef<Path>,
        options: EngineOptions,
    ) -> Result<Engine, EngineError> {
        let sled = store_options(&options).sled;
        let path = path.as_ref().to_path_buf();
        let store = tokio::task::spawn_blocking(move || ChainStore::open_sled(&path, &sled))
            .await
            .map_err(|e| EngineError::Invalid(e.to_string()))??;
        Engine::open_with_store(store, options).await
    }

    /// Open (or create) the store `db` names — a folder (sled) or a `postgres://` URL
    /// (docs/scale-out.md) — recover its unfinished jobs, and start. On PostgreSQL the engine
    /// joins the engines sharing the database: it owns the jobs it starts (leases) and, with
    /// `options.cluster.adopt`, takes over the jobs of engines that died.
    pub async fn open_db(db: &str, options: EngineOptions) -> Result<Engine, EngineError> {
        let open = store_options(&options);
        let db = db.to_string();
        let store = tokio::task::spawn_blocking(move || ChainStore::open(&db, &open))
            .await
            .map_err(|e| EngineError::Invalid(e.to_string()))??;
        Engine::open_with_store(store, options).await
    }

    /// An engine on a fresh in-memory store (nothing survives the process).
    pub async fn open_in_memory(options: EngineOptions) -> Result<Engine, EngineError> {
        Engine::open_with_store(ChainStore::in_memory(), options).await
    }

    /// An engine on a given store (recovering its unfinished jobs).
    pub async fn open_with_store(
        store: ChainStore,
        options: EngineOptions,
    ) -> Result<Engine, EngineError> {
        let catalog = match options.catalog.clone() {
            Some(c) => {
                let mut b = crate::store::StateBatch::default();
                // Chains changed while an engine ran stay changed (docs/operations.md).
                let (c, warnings) = crate::store::chain_edits::overlay(&store, c, &mut b)?;
                for w in &warnings {
                    tracing::warn!("{w}");
                }
                if !options.read_only {
                    b.put_catalog(&c);
                    store.apply(b)?;
                    store.flush()?;
                }
                c
            }
            None => store.catalog()?.unwrap_or_default(),
        };
        let mut core = Core::new(catalog.clone());
        core.set_next_log_id(store.next_log_id()?);
        let store_id = store.store_id()?;
        let launcher = Launcher::start().map_err(|e| EngineError::Invalid(e.to_string()))?;
        let (cluster, work, report) = if store.kv().shared().is_some() {
            // Engines sharing a database: this one recovers nothing on its own; it takes
            // over jobs whose lease expired (docs/scale-out.md).
            let (cluster, work, report) = join_cluster(&store, &mut core, &options).await?;
            if !launcher.guarded() {
                tracing::warn!(
                    "no step guardian process: a step cannot be killed at the lease deadline                      if this engine is paused; call serve_guardian_if_requested() first in main"
                );
            }
            (Some(cluster), work, report)
        } else if options.read_only {
            // Observe only: the unfinished jobs stay as they are in the store (the views read
            // them there); nothing is recovered, restarted or killed.
            (None, RecoveryWork::default(), RecoveryReport::default())
        } else {
            // Strays of a crashed engine on this store must be gone before anything restarts.
            let id = store_id.clone();
            let strays = tokio::task::spawn_blocking(move || recovery::kill_strays(&id))
                .await
                .unwrap_or(0);
            if strays > 0 {
                tracing::warn!("killed {strays} stray step processes of a previous engine");
            }
            let (work, report) = recovery::prepare(&store, &mut core)?;
            // Events kept for steps that start waiting later (`event … --keep`).
            core.restore_kept_events(store.kept_events()?);
            (None, work, report)
        };

        let clock = EngineClock::new(options.time_scale);
        let (tx, rx) = mpsc::unbounded_channel();
        let (events, _) = broadcast::channel(4096);
        let (failure_tx, failure) = watch::channel(None);
        let failure_tx = Arc::new(failure_tx);
        let report_tx = tx.clone();
        let exec = ExecEnv {
            clock,
            launcher: launcher.clone(),
            store_id,
            handlers: options.handlers.clone(),
            kill_grace: options.kill_grace,
            report: Arc::new(move |ev| {
                let _ = report_tx.send(Msg::Exec(ev));
            }),
        };
        // A read-only engine sends nothing (sending marks outbox rows): its notifier is a
        // channel nobody reads.
        let notifier = if options.read_only {
            mpsc::unbounded_channel().0
        } else {
            super::notifier::spawn(store.clone(), clock, cluster.clone())
        };
        let actor = Actor::new(ActorSetup {
            notifier: Some(notifier.clone()),
            core,
            catalog,
            store: store.clone(),
            clock,
            durability: options.durability,
            exec,
            tx: tx.clone(),
            events: events.clone(),
            cluster: cluster.clone(),
            failure: failure_tx.clone(),
        });
        // A panic in the actor (a bug) must not leave `run`, `serve` and every caller waiting
        // for answers that never come: it is an engine failure like a failed write, so `serve`
        // exits non-zero for its supervisor and `run` stops following the engine.
        tokio::spawn(async move {
            use futures_util::FutureExt as _;
            let ran = std::panic::AssertUnwindSafe(actor.run(rx, work))
                .catch_unwind()
                .await;
            if let Err(panic) = ran {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".to_string());
                let why = format!("the engine's actor panicked ({what})");
                tracing::error!("{why}; the engine stops");
                failure_tx.send_if_modified(|f| {
                    if f.is_none() {
                        *f = Some(why);
                        true
                    } else {
                        false
                    }
                });
            }
        });
        if let Some(c) = &cluster {
            super::cluster::spawn(c.clone(), launcher.clone(), tx.downgrade());
        }

        if let (Some(retention), false) = (options.retention, options.read_only) {
            super::retention::spawn(store.clone(), clock, retention, tx.downgrade());
        }

        let engine = Engine {
            inner: Arc::new(Inner {
                tx,
                store,
                handlers: options.handlers,
                events,
                clock,
                recovery: report,
                catalog_changed: watch::channel(0).0,
                schedules_on: AtomicBool::new(false),
                raised: broadcast::channel(1024).0,
                cluster,
                failure,
                read_only: options.read_only,
                notifier,
                _launcher: launcher,
            }),
        };
        if options.schedules && !options.read_only {
            engine.enable_schedules();
        }
        Ok(engine)
    }

    /// Fire the catalog's scheduled job definitions at their due times from now on (once; later
    /// calls do nothing). See docs/scheduling.md and [`super::scheduler`].
    pub fn enable_schedules(&self) {
        if self.inner.schedules_on.swap(true, Ordering::SeqCst) {
            return;
        }
        super::scheduler::spawn(
            WeakEngine(Arc::downgrade(&self.inner)),
            self.inner.store.clone(),
            self.inner.clock,
            self.inner.catalog_changed.subscribe(),
            self.inner.raised.subscribe(),
        );
    }

    /// `chainsched enable|disable JOB`: whether the scheduler (and events) start job
    /// definition `job`. Durable; holds until the rule file's own `enabled` setting changes.
    /// Enabling a job that the scheduler stopped (COMPLETED after `max_runs`, BROKEN after
    /// `max_failures`) starts its schedule again.
    pub async fn set_job_enabled(&self, job: &str, enabled: bool) -> Result<(), EngineError> {
        let catalog = self.catalog()?;
        crate::store::schedules::set_enabled(&self.inner.store, &catalog, job, enabled, self.now())
            .map_err(EngineError::Invalid)?;
        self.inner
            .catalog_changed
            .send_modify(|n| *n = n.wrapping_add(1));
        Ok(())
    }

    /// The scheduler's state of every scheduled job definition (next due time, last start).
    pub fn schedules(&self) -> Result<Vec<super::scheduler::ScheduleState>, EngineError> {
        Ok(super::scheduler::schedule_states(&self.inner.store)?)
    }

    /// What recovery found when this engine opened.
    pub fn recovery(&self) -> &RecoveryReport {
        &self.inner.recovery
    }

    /// The store, for the views.
    pub fn store(&self) -> &ChainStore {
        &self.inner.store
    }

    /// Engine time now (milliseconds since the Unix epoch, scaled by the time scale).
    pub fn now(&self) -> crate::lang::duration::Millis {
        self.inner.clock.now()
    }

    /// Events published after each durable change.
    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.inner.events.subscribe()
    }

    /// Register an in-process handler under the name a program's `handler 'name'` uses.
    pub fn register_handler<F, Fut>(&self, name: &str, f: F)
    where
        F: Fn(HandlerContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        self.inner.handlers.register(name, f);
    }

    /// A read-only engine changes nothing (`serve --read-only`).
    fn refuse_if_read_only(&self) -> Result<(), EngineError> {
        if self.inner.read_only {
            return Err(EngineError::Invalid(
                "this engine is read-only (serve --read-only): it changes nothing".into(),
            ));
        }
        Ok(())
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, EngineError>>) -> Msg,
    ) -> Result<T, EngineError> {
        let (reply, rx) = oneshot::channel();
        self.inner
            .tx
            .send(make(reply))
            .map_err(|_| EngineError::NotRunning("the engine has stopped".into()))?;
        rx.await
            .map_err(|_| EngineError::NotRunning("the engine has stopped".into()))?
    }

    async fn input(&self, input: Input) -> Result<Accepted, EngineError> {
        self.refuse_if_read_only()?;
        let Some(cluster) = &self.inner.cluster else {
            return self.ask(|reply| Msg::Input { input, reply }).await;
        };
        // Engines sharing a database: an event for every waiting job goes to the others too;
        // a request for a job another engine owns is forwarded to it (docs/scale-out.md).
        if let Input::RaiseEvent {
            name,
            payload,
            job: None,
        } = &input
        {
            cluster.publish_event(name, payload, None).await?;
        }
        if let Input::StartJob(req) = &input {
            if cluster.options.role == "control" {
                // A control command's engine lives for one command: the job goes to the
                // serving engine with the least work, when one is up.
                if let Some(server) = cluster.least_busy_server().await? {
                    let job = req.job.clone().unwrap_or_default();
                    return cluster.forward(&job, Some(&server), &input).await;
                }
            }
        }
        if matches!(
            input,
            Input::AlterChain { .. }
                | Input::DefineRule { .. }
                | Input::DropRule { .. }
                | Input::DropStep { .. }
        ) {
            // A change of a chain applies to its running jobs on every engine (Oracle: "to the
            // running chain and all future chain runs"): here, then on each other live engine.
            let local = self.ask(|reply| Msg::Input {
                input: input.clone(),
                reply,
            });
            let accepted = local.await?;
            for engine in cluster.other_live_engines().await? {
                if let Err(e) = cluster.forward("", Some(&engine), &input).await {
                    tracing::warn!(%engine, "a chain change did not reach engine {engine}: {e}");
                }
            }
            return Ok(accepted);
        }
        let target = job_of(&input);
        let local = {
            let input = input.clone();
            self.ask(|reply| Msg::Input { input, reply }).await
        };
        if let (Err(EngineError::Elsewhere { engine }), Input::StartJob(req)) = (&local, &input) {
            // Its group's home runs it (docs/scale-out.md, "Group limits").
            let job = req.job.clone().unwrap_or_default();
            return cluster.forward(&job, Some(engine), &input).await;
        }
        match (local, target) {
            (Err(EngineError::Core(CoreError::UnknownJob(j))), Some(job))
            | (Err(EngineError::Core(CoreError::JobEnded(j))), Some(job)) => {
                match cluster.owner_elsewhere(&job).await? {
                    Some(_) => cluster.forward(&job, None, &input).await,
                    None if j == job => Err(CoreError::UnknownJob(j).into()),
                    None => Err(CoreError::JobEnded(j).into()),
                }
            }
            (other, _) => other,
        }
    }

    /// Replace the catalog (future runs; running jobs keep their definitions). It is stored, so
    /// `resume` finds the programs of recovered jobs.
    pub async fn load_catalog(&self, catalog: Catalog) -> Result<(), EngineError> {
        self.refuse_if_read_only()?;
        self.ask(|reply| Msg::LoadCatalog {
            catalog: Box::new(catalog),
            reply,
        })
        .await?;
        self.inner
            .catalog_changed
            .send_modify(|n| *n = n.wrapping_add(1));
        Ok(())
    }

    /// Start a chain job; returns its name once its start is durable. An unknown `${PARAM}` in
    /// the arguments of a program the chain can run refuses the start.
    pub async fn start(&self, mut request: StartRequest) -> Result<String, EngineError> {
        request.parameters = request
            .parameters
            .into_iter()
            .map(|(k, v)| (k.to_uppercase(), v))
            .collect();
        let acc = self.input(Input::StartJob(request)).await?;
        acc.job
            .ok_or_else(|| EngineError::Invalid("the core did not report the new job".into()))
    }

    /// Raise an event (for every waiting job, or one job); returns how many event steps it
    /// completed.
    pub async fn raise_event(
        &self,
        name: &str,
        payload: serde_json::Value,
        job: Option<&str>,
    ) -> Result<usize, EngineError> {
        let acc = self
            .input(Input::RaiseEvent {
                name: name.to_string(),
                payload: payload.clone(),
                job: job.map(str::to_string),
            })
            .await?;
        if job.is_none() {
            // Event-based job definitions (`on event NAME`): the scheduler starts them. No
            // receiver (schedules off) is not an error.
            let _ = self.inner.raised.send((name.to_string(), payload));
        }
        Ok(acc.completed_steps)
    }

    /// Raise an event and say what it did (`core::events`): the steps it completed, why the
    /// waiting steps that did not take it refused it, and — with `keep` — the event kept for a
    /// step that starts waiting within that (engine) time, when it completed none. A name no
    /// chain declares and a payload that is not an object are refused.
    pub async fn deliver_event(
        &self,
        name: &str,
        payload: serde_json::Value,
        job: Option<&str>,
        keep: Option<Duration>,
    ) -> Result<crate::core::EventDelivery, EngineError> {
        let keep = keep.map(|k| u64::try_from(k.as_millis()).unwrap_or(u64::MAX));
        if keep.is_some_and(|k| k > 0) && self.inner.cluster.is_some() {
            // Each engine's core holds its own kept events; on a shared database another
            // engine's steps would never see them.
            return Err(EngineError::Invalid(
                "keep: events cannot be kept on a database several engines share".into(),
            ));
        }
        let raised = job.is_none().then(|| payload.clone());
        let input = match keep {
            Some(keep) if keep > 0 => Input::RaiseEventKept {
                name: name.to_string(),
                payload,
                job: job.map(str::to_string),
                keep,
            },
            _ => Input::RaiseEvent {
                name: name.to_string(),
                payload,
                job: job.map(str::to_string),
            },
        };
        let acc = self.input(input).await?;
        if let Some(payload) = raised {
            // Event-based job definitions (`on event NAME`): the scheduler starts them.
            let _ = self.inner.raised.send((name.to_string(), payload));
        }
        Ok(acc.event.unwrap_or_else(|| crate::core::EventDelivery {
            completed: acc.completed_steps,
            ..Default::default()
        }))
    }

    /// The events kept for steps that start waiting later, oldest first, expired ones left
    /// out (read from the store).
    pub fn kept_events(&self) -> Result<Vec<crate::core::KeptEvent>, EngineError> {
        let now = self.now();
        Ok(self
            .inner
            .store
            .kept_events()?
            .into_iter()
            .filter(|e| e.expires_at > now)
            .collect())
    }

    /// Alter a running chain (one step by subname, or every step with `None`).
    pub async fn alter(
        &self,
        job: &str,
        step: Option<&str>,
        change: AlterChange,
    ) -> Result<(), EngineError> {
        self.input(Input::Alter {
            job: job.to_string(),
            step: step.map(str::to_string),
            change,
        })
        .await
        .map(|_| ())
        .map_err(|e| self.near_job(e))
    }

    /// Alter a chain definition (running jobs and future runs).
    pub async fn alter_chain(
        &self,
        chain: &str,
        step: Option<&str>,
        change: AlterChange,
    ) -> Result<(), EngineError> {
        self.input(Input::AlterChain {
            chain: chain.to_string(),
            step: step.map(str::to_string),
            change,
        })
        .await
        .map(|_| ())
    }

    /// Redefine (or add) a rule of a chain by name.
    pub async fn define_rule(&self, chain: &str, rule: Rule) -> Result<(), EngineError> {
        self.input(Input::DefineRule {
            chain: chain.to_string(),
            rule,
        })
        .await
        .map(|_| ())
    }

    /// Drop a rule of a chain by name (the catalog and the jobs running the chain).
    pub async fn drop_rule(&self, chain: &str, rule: &str) -> Result<(), EngineError> {
        self.input(Input::DropRule {
            chain: chain.to_string(),
            rule: rule.to_string(),
        })
        .await
        .map(|_| ())
    }

    /// Drop a step of a chain (future runs). Refused while a rule names it, and, unless
    /// `force`, while a job runs the chain (running jobs keep their definitions either way).
    pub async fn drop_step(&self, chain: &str, step: &str, force: bool) -> Result<(), EngineError> {
        self.input(Input::DropStep {
            chain: chain.to_string(),
            step: step.to_string(),
            force,
        })
        .await
        .map(|_| ())
    }

    /// The catalog the engine runs (rule files plus the chain changes made since).
    pub fn catalog(&self) -> Result<Catalog, EngineError> {
        Ok(self.store().catalog()?.unwrap_or_default())
    }

    /// Evaluate a running chain's rules now.
    pub async fn evaluate(&self, job: &str) -> Result<(), EngineError> {
        self.input(Input::Evaluate {
            job: job.to_string(),
        })
        .await
        .map(|_| ())
        .map_err(|e| self.near_job(e))
    }

    /// Restart an ended FAILED or STOPPED job in place: the steps `from` (empty: the FAILED and
    /// STOPPED ones) and what their rules start run again with the current definitions
    /// (docs/operations.md, "Restarting a job"). Refused for a job that is running.
    pub async fn restart(&self, job: &str, from: &[String]) -> Result<(), EngineError> {
        self.input(Input::Restart(crate::core::types::RestartRequest {
            job: job.to_string(),
            from: from.to_vec(),
            previous: None,
        }))
        .await
        .map(|_| ())
        .map_err(|e| self.near_job(e))
    }

    /// Stop a job (`step: None`) or one step.
    pub async fn stop(&self, job: &str, step: Option<&str>) -> Result<(), EngineError> {
        self.input(Input::Stop {
            job: job.to_string(),
            step: step.map(str::to_string),
        })
        .await
        .map(|_| ())
        .map_err(|e| self.near_job(e))
    }

    /// An unknown job named by a control request, with the closest job name the store knows
    /// (a typo of a running or recent job) when there is one; other errors unchanged.
    fn near_job(&self, e: EngineError) -> EngineError {
        let EngineError::Core(CoreError::UnknownJob(job)) = &e else {
            return e;
        };
        let Ok(jobs) = self.inner.store.active_jobs() else {
            return e;
        };
        match crate::lang::diagnostic::nearest_name(job, jobs.iter().map(|r| r.job.as_str())) {
            Some(nearest) => EngineError::UnknownJobNear {
                job: job.clone(),
                nearest,
            },
            None => e,
        }
    }

    /// Wait until the job has ended; returns its final record.
    pub async fn wait(&self, job: &str) -> Result<JobRecord, EngineError> {
        let name = job.to_string();
        let local = self.ask(|reply| Msg::Wait { job: name, reply }).await;
        let Some(cluster) = &self.inner.cluster else {
            return local;
        };
        if !matches!(local, Err(EngineError::Core(CoreError::UnknownJob(_)))) {
            return local;
        }
        // Owned by another engine: watch the shared store until it has ended.
        loop {
            if cluster.owner_elsewhere(job).await?.is_none() {
                return match self.inner.store.job(job)? {
                    Some(r) if r.state.is_finished() => Ok(r),
                    // Between engines (a takeover) or just started here: look again.
                    Some(_) => {
                        let name = job.to_string();
                        match self.ask(|reply| Msg::Wait { job: name, reply }).await {
                            Err(EngineError::Core(CoreError::UnknownJob(_))) => {
                                tokio::time::sleep(Duration::from_millis(100)).await;
                                continue;
                            }
                            other => other,
                        }
                    }
                    None => local,
                };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every engine registered on the shared database (empty: this engine owns its store
    /// alone).
    pub fn engines(&self) -> Result<Vec<crate::views::EngineRow>, EngineError> {
        crate::views::engines::engine_rows(&self.inner.store)
            .map_err(|e| EngineError::Invalid(e.to_string()))
    }

    /// Resolves, with the reason, when the engine stops acting for a failure: a store write
    /// failed (disk full, database gone), or — engines sharing a database — it lost a lease or
    /// missed its renewal deadline. Such an engine refuses every change from then on and does
    /// not recover by itself; `serve` exits non-zero on it so that a supervisor starts a fresh
    /// engine, which recovers the jobs from the store (docs/operations.md, "Health").
    /// Never resolves for an engine that shuts down normally.
    pub fn failure(&self) -> impl Future<Output = String> + Send + 'static {
        let mut rx = self.inner.failure.clone();
        async move {
            let why = match rx.wait_for(Option::is_some).await {
                Ok(v) => v.clone(),
                Err(_) => None,
            };
            match why {
                Some(why) => why,
                None => std::future::pending().await,
            }
        }
    }

    /// Why the engine stopped acting, if it did (see [`Engine::failure`]).
    pub fn failed(&self) -> Option<String> {
        self.inner.failure.borrow().clone()
    }

    /// This engine's id among the engines sharing its database.
    pub fn engine_id(&self) -> Option<&str> {
        self.inner.cluster.as_deref().map(|c| c.id.as_str())
    }

    /// Claim a scheduled occurrence among the engines sharing the database (always `true` for
    /// an engine that owns its store alone).
    pub(crate) async fn claim_occurrence(&self, job: &str, due: u64) -> Result<bool, EngineError> {
        match &self.inner.cluster {
            Some(c) => Ok(c.claim_occurrence(job, due).await?),
            None => Ok(true),
        }
    }

    /// Jobs not finished yet (running, stalled, enqueued), by the engine's current state.
    pub async fn unfinished_jobs(&self) -> Result<Vec<String>, EngineError> {
        self.ask(|reply| Msg::Unfinished { reply }).await
    }

    /// Stop the engine: running step attempts are killed WITHOUT recording an outcome (their
    /// jobs stay unfinished in the store and are recovered by the next engine), the store is
    /// flushed. To end jobs cleanly first, [`Engine::stop`] them.
    pub async fn shutdown(&self) {
        // Notifications owed and never tried get their first attempt (a few seconds at most);
        // whatever is not delivered stays in the outbox for the next engine.
        let (drained, wait) = oneshot::channel();
        if self
            .inner
            .notifier
            .send(super::notifier::NotifierMsg::Drain(drained))
            .is_ok()
        {
            let _ = tokio::time::timeout(super::notifier::ATTEMPT_TIMEOUT, wait).await;
        }
        let _ = self.inner.notifier.send(super::notifier::NotifierMsg::Stop);
        let (reply, rx) = oneshot::channel();
        if self
            .inner
            .tx
            .send(Msg::Shutdown { reply: Some(reply) })
            .is_ok()
        {
            let _ = tokio::time::timeout(Duration::from_secs(30), rx).await;
        }
    }

    /// Remove the ended jobs `retention` does not keep (its `every` is ignored), now, while the
    /// engine runs: chunk by chunk, each job checked in the engine's turn so that a job
    /// restarted under the same name meanwhile keeps its records (docs/durability.md,
    /// "Retention"). Returns what was removed.
    pub async fn purge(&self, retention: &super::Retention) -> Result<PurgeStats, EngineError> {
        super::retention::pass(
            &self.inner.store,
            &self.inner.tx,
            self.now(),
            retention.policy(),
        )
        .await
    }

    // ---- views (read from the store, never blocking the engine) ----

    pub fn job(&self, job: &str) -> Result<Option<JobRecord>, EngineError> {
        Ok(self.inner.store.job(job)?)
    }

    pub fn jobs(&self) -> Result<Vec<JobRecord>, EngineError> {
        Ok(self.inner.store.jobs()?)
    }

    /// The variables steps of the job set, by name (docs/variables.md); parameters, their
    /// starting values, are in the job record.
    pub fn variables(
        &self,
        job: &str,
    ) -> Result<std::collections::BTreeMap<String, crate::core::types::Variable>, EngineError> {
        Ok(self.inner.store.variables(job)?)
    }

    /// Step records in definition order (nested right after their outer step).
    pub fn steps(&self, job: &str) -> Result<Vec<StepRecord>, EngineError> {
        Ok(self.inner.store.steps(job)?)
    }

    /// Step records with their progress (SOFAR, TOTALWORK, STATUS_MESSAGE).
    pub fn step_views(&self, job: &str) -> Result<Vec<StepView>, EngineError> {
        let mut progress = self.inner.store.progress(job)?;
        Ok(self
            .inner
            .store
            .steps(job)?
            .into_iter()
            .map(|record| StepView {
                progress: progress.remove(&record.subname).unwrap_or_default(),
                record,
            })
            .collect())
    }

    /// Job-log rows with `log_id >= since_id`, at most `limit`.
    pub fn log(&self, since_id: u64, limit: usize) -> Result<Vec<LogRow>, EngineError> {
        Ok(self.inner.store.log(since_id, limit)?)
    }

    /// Every job-log row of one job.
    pub fn job_log(&self, job: &str) -> Result<Vec<LogRow>, EngineError> {
        Ok(self.inner.store.job_log(job)?)
    }

    pub fn run_details(&self, log_id: u64) -> Result<Option<RunDetails>, EngineError> {
        Ok(self.inner.store.run_details(log_id)?)
    }

    pub fn timeline(&self, job: &str) -> Result<Vec<TimelineEntry>, EngineError> {
        Ok(self.inner.store.timeline(job)?)
    }
}

/// Join the engines sharing the store's database: register, take this engine's job-log id
/// slot, and — for an engine that adopts work — give lease rows to unfinished jobs that have
/// none and claim, right away, the jobs whose leases have expired, so that `resume` recovers
/// them before it returns, as it does on a store of its own.
async fn join_cluster(
    store: &ChainStore,
    core: &mut Core,
    options: &EngineOptions,
) -> Result<
    (
        Arc<super::cluster::Cluster>,
        super::actor::RecoveryWork,
        RecoveryReport,
    ),
    EngineError,
> {
    let s = store.clone();
    let opts = options.cluster.clone();
    let cluster = tokio::task::spawn_blocking(move || -> Result<_, crate::store::StoreError> {
        let cluster = super::cluster::Cluster::join(s.clone(), opts)?;
        let mut claimed = Vec::new();
        if cluster.options.adopt {
            cluster.adopt_orphans(s.unfinished_jobs()?)?;
            // `resume` recovers what a crashed engine left. A just-killed engine looks alive
            // until it misses a renewal, so resume watches the other engines' heartbeats for
            // 0.3 of a lease, then waits (at most about two leases) for the leases of those
            // that stopped renewing to expire, and claims them.
            let started = std::time::Instant::now();
            let lease = cluster.options.lease;
            let mut renewed_at = started;
            loop {
                // Keep what was claimed so far (and the deadline) alive while waiting.
                if renewed_at.elapsed() >= lease / 5 {
                    renewed_at = std::time::Instant::now();
                    let lost = cluster.renew_blocking()?;
                    if !lost.is_empty() {
                        return Err(crate::store::StoreError::LeaseLost(lost.join(", ")));
                    }
                }
                let more = cluster.claim_expired(1024)?;
                let got_some = !more.is_empty();
                claimed.extend(more);
                if cluster.options.role != "resume" {
                    if got_some {
                        continue;
                    }
                    break;
                }
                let (others, stale) = cluster.other_leases()?;
                let elapsed = started.elapsed();
                let watching = elapsed < lease.mul_f64(0.3);
                if others == 0 || elapsed > lease.mul_f64(2.2) || (!watching && stale == 0) {
                    if got_some {
                        continue;
                    }
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        // The deadline counts from the last renewal, not from joining.
        let lost = cluster.renew_blocking()?;
        if !lost.is_empty() {
            return Err(crate::store::StoreError::LeaseLost(lost.join(", ")));
        }
        Ok((cluster, claimed))
    })
    .await
    .map_err(|e| EngineError::Invalid(e.to_string()))?;
    let (cluster, claimed) = cluster?;
    let cluster = Arc::new(cluster);
    core.set_log_id_slot(
        store.next_log_id()?,
        cluster.slot,
        super::cluster::MAX_ENGINES,
    );
    let mut work = super::actor::RecoveryWork::default();
    let mut report = RecoveryReport::default();
    for job in claimed {
        match store.job(&job)? {
            Some(r) if !r.state.is_finished() => {}
            _ => {
                // Ended meanwhile: nothing to recover, the lease goes.
                let c = cluster.clone();
                let _ = tokio::task::spawn_blocking(move || c.unclaim_job(&job)).await;
                continue;
            }
        }
        match recovery::prepare_job(store, core, &job) {
            Ok(timers) => {
                work.timers.extend(timers);
                for (sub, pid) in store.live_pids(&job)? {
                    work.leftover_pids.push((job.clone(), sub, pid));
                }
                report.recovered.push(job.clone());
                work.jobs.push(job);
            }
            Err(why) => {
                tracing::error!("job {job} cannot be recovered: {why}");
                report.failed.push((job, why));
            }
        }
    }
    Ok((cluster, work, report))
}

/// The job a request is about, when it is about one job (it can then be forwarded to the
/// engine that owns it).
fn job_of(input: &Input) -> Option<String> {
    match input {
        Input::Stop { job, .. }
        | Input::Alter { job, .. }
        | Input::Evaluate { job }
        | Input::StepFinished { job, .. }
        | Input::TimerFired { job, .. } => Some(job.clone()),
        Input::RaiseEvent { job, .. } | Input::RaiseEventKept { job, .. } => job.clone(),
        // An ended job has no owner: the engine that takes the restart claims it.
        Input::StartJob(_)
        | Input::Restart(_)
        | Input::AlterChain { .. }
        | Input::DefineRule { .. }
        | Input::DropRule { .. }
        | Input::DropStep { .. } => None,
    }
}
