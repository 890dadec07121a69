//! What every request handler shares: the engine, the catalog being served, the auth token,
//! metrics, the rate limiter and the shutdown signal.

use super::error::ApiError;
use super::guard::RateLimiter;
use super::metrics::Metrics;
use crate::catalog::Catalog;
use crate::runtime::Engine;
use crate::views::store_source::StoreViews;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use tokio::sync::watch;

pub struct AppState {
    pub engine: Engine,
    catalog: RwLock<Arc<Catalog>>,
    /// The rule folder (or file) reloads read.
    pub rules: PathBuf,
    /// Bearer token required on mutating requests; `None` only with `--insecure-no-auth`.
    pub token: Option<String>,
    /// `false` with `--read-only`: every mutating request is refused (403).
    pub mutations: bool,
    pub metrics: Metrics,
    pub limiter: Option<RateLimiter>,
    /// Becomes `true` when the service shuts down (ends event streams).
    pub shutdown: watch::Receiver<bool>,
    /// The dashboard page, assembled once.
    pub dashboard: String,
    /// One reload at a time.
    pub reload_lock: tokio::sync::Mutex<()>,
    /// Answers of starts sent with an `Idempotency-Key`.
    pub idempotency: super::idempotency::Idempotency,
}

impl AppState {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        engine: Engine,
        catalog: Catalog,
        rules: PathBuf,
        token: Option<String>,
        mutations: bool,
        limiter: Option<RateLimiter>,
        shutdown: watch::Receiver<bool>,
    ) -> AppState {
        AppState {
            engine,
            catalog: RwLock::new(Arc::new(catalog)),
            rules,
            token,
            mutations,
            metrics: Metrics::default(),
            limiter,
            shutdown,
            dashboard: super::dashboard::page(),
            reload_lock: tokio::sync::Mutex::new(()),
            idempotency: Default::default(),
        }
    }

    pub fn catalog(&self) -> Arc<Catalog> {
        match self.catalog.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn set_catalog(&self, catalog: Catalog) {
        let new = Arc::new(catalog);
        match self.catalog.write() {
            Ok(mut c) => *c = new,
            Err(poisoned) => *poisoned.into_inner() = new,
        }
    }

    /// The views over the engine's store and the served catalog.
    pub fn views(&self) -> StoreViews {
        StoreViews::new(self.engine.store().clone(), Some(self.catalog()))
    }
}

/// Run a store read off the async threads (sled reads may touch the disk).
pub async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("view task failed: {e}")))?
}
