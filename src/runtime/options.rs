//! Engine settings: durability mode, time scale, stop grace period, store cache, retention.

use super::executor::HandlerRegistry;
use crate::catalog::Catalog;
use std::time::Duration;

/// When a state change is durable (docs/durability.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Flush the store before acting on a state change; one flush is shared by every change
    /// ready at that moment (group commit). The default.
    Sync,
    /// Do not wait for a flush; the store flushes in the background every `flush_every_ms`.
    /// A crash may lose the last changes (up to that period), and a step may run again.
    Relaxed { flush_every_ms: u64 },
}

#[derive(Clone)]
pub struct EngineOptions {
    pub durability: Durability,
    /// Engine milliseconds per real millisecond: 1.0 is real time; 100.0 makes an `AFTER
    /// 00:01:00` delay, a 10 s retry delay or `builtin sleep 10s` last 0.6 s / 0.1 s / 0.1 s.
    /// Program timeouts are engine time too. For tests and demos.
    pub time_scale: f64,
    /// Real time a stopped process gets between SIGTERM and SIGKILL (and a stopped handler to
    /// return after its context reports cancellation).
    pub kill_grace: Duration,
    /// sled page-cache size in bytes.
    pub cache_capacity: u64,
    /// Remove ended jobs (with everything of theirs) in the background, at open and then
    /// every [`Retention::every`], without pausing the engine (docs/durability.md,
    /// "Retention"). `None` keeps everything.
    pub retention: Option<Retention>,
    /// The catalog to run. `None`: the catalog stored by the last engine on this store (or an
    /// empty one). Jobs recovered at open keep the chain definitions they started with.
    pub catalog: Option<Catalog>,
    /// In-process handlers. Register handlers here *before* opening so that steps restarted by
    /// recovery find them; [`super::Engine::register_handler`] adds to the same registry.
    pub handlers: HandlerRegistry,
    /// Fire the catalog's scheduled job definitions (`schedule '...'`) at their due times
    /// (docs/scheduling.md). `serve` turns it on; `run`/`resume` leave it off.
    pub schedules: bool,
    /// Engines sharing a PostgreSQL database: the lease, whether this engine takes over the
    /// jobs of engines that died, how the engines view names it (docs/scale-out.md). Ignored
    /// on a store one process owns.
    pub cluster: super::cluster::ClusterOptions,
    /// Observe only (`serve --read-only`): the engine opens the store without recovering or
    /// running anything (no `restart_on_recovery` step restarts, no stray is killed, no
    /// schedule fires, nothing is purged, the catalog is not stored) and refuses every input,
    /// so the store's state is exactly what the engine that last wrote it left.
    pub read_only: bool,
}

/// What the engine keeps of ended jobs, and how often it purges the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Keep jobs that ended less than this long ago (engine time). `None`: no age limit.
    pub keep_history: Option<Duration>,
    /// Keep at most this many ended jobs, the most recently ended. `None`: no count limit.
    pub keep_jobs: Option<usize>,
    /// Real time between background purges (the first runs when the engine opens).
    pub every: Duration,
}

impl Retention {
    /// What `serve` and `run` keep unless told otherwise: 30 days.
    pub const DEFAULT_HISTORY: Duration = Duration::from_secs(30 * 24 * 3600);

    /// A retention with the usual period: a tenth of `keep_history`, between 1 s and 10 min
    /// (10 min without an age limit), so a short history is purged promptly and a long one
    /// costs nothing between passes.
    pub fn new(keep_history: Option<Duration>, keep_jobs: Option<usize>) -> Retention {
        let every = keep_history.map_or(Duration::from_secs(600), |h| {
            (h / 10).clamp(Duration::from_secs(1), Duration::from_secs(600))
        });
        Retention {
            keep_history,
            keep_jobs,
            every,
        }
    }

    /// The store-level policy (engine milliseconds).
    pub fn policy(&self) -> crate::store::RetentionPolicy {
        crate::store::RetentionPolicy {
            max_age: self
                .keep_history
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            keep_jobs: self.keep_jobs,
        }
    }
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            durability: Durability::Sync,
            time_scale: 1.0,
            kill_grace: Duration::from_secs(5),
            cache_capacity: 64 * 1024 * 1024,
            retention: None,
            catalog: None,
            handlers: HandlerRegistry::default(),
            schedules: false,
            cluster: super::cluster::ClusterOptions::default(),
            read_only: false,
        }
    }
}

impl std::fmt::Debug for EngineOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineOptions")
            .field("durability", &self.durability)
            .field("time_scale", &self.time_scale)
            .field("kill_grace", &self.kill_grace)
            .field("cache_capacity", &self.cache_capacity)
            .field("retention", &self.retention)
            .field("catalog", &self.catalog.is_some())
            .field("schedules", &self.schedules)
            .field("cluster", &self.cluster)
            .field("read_only", &self.read_only)
            .finish()
    }
}
