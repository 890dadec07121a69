//! `chainsched serve`: the long-running engine with its HTTP API (docs/http-api.md)
//! and web dashboard.
//!
//! Why this shape: the service is a thin shell around the runtime's [`Engine`]. GET handlers
//! read the store through the same `views::query` functions the CLI uses (never blocking the
//! engine); POST handlers send one input to the engine and answer once it is durable. Safety
//! by default: loopback address, a bearer token required for every change (or an explicit
//! `--insecure-no-auth`), a request-size limit and a per-client rate limit. Operations: SIGHUP
//! or `POST /api/v1/reload` reloads the rule folder (refused, old catalog kept, when it has
//! errors); SIGTERM/SIGINT stop accepting requests, finish the ones in flight, end event
//! streams, then shut the engine down with its store flushed.
//!
//! * [`api`] GET handlers; [`control`] POST handlers; [`sse`] the event stream;
//! * [`guard`] auth, rate limit, status counting; [`error`] JSON errors;
//! * [`conn`] accepting connections: idle/header timeout, connection cap, descriptors kept for steps;
//! * [`idempotency`] the answers of starts sent with an `Idempotency-Key`;
//! * [`local`] the same API served by `run`/`resume` for their own store (loopback, own token);
//! * [`metrics`], [`openapi`], [`svg`] (chain graph), [`dashboard`] (the embedded page);
//! * [`pictures`] the data behind the dashboard's Gantt, chain history and overview.

pub mod apex;
pub mod api;
pub mod chains;
pub mod client;
pub mod conn;
pub mod control;
pub mod dashboard;
pub mod error;
pub mod guard;
pub mod idempotency;
pub mod job_defs;
pub mod local;
pub mod metrics;
pub mod openapi;
pub mod pictures;
pub mod sse;
pub mod state;
pub mod svg;

use crate::catalog::{load_paths, Catalog};
use crate::lang::diagnostic::render_text;
use crate::runtime::{Durability, Engine, EngineOptions};
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use state::AppState;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::watch;

/// How `serve` was asked to run.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub rules: PathBuf,
    /// The store: a folder (sled) or a `postgres://` URL (`crate::store::open`).
    pub db: String,
    /// When a change counts as durable (`--durability`).
    pub durability: Durability,
    /// `127.0.0.1:7878`; port 0 picks a free port (the chosen address is printed).
    pub listen: String,
    /// Bearer token for mutating requests.
    pub token: Option<String>,
    pub insecure_no_auth: bool,
    /// Refuse every mutating request (no token needed then).
    pub read_only: bool,
    /// Requests per second per client on /api (0: no limit).
    pub rate_limit: u32,
    pub max_body_bytes: usize,
    /// Engine milliseconds per real millisecond (tests and demos).
    pub time_scale: f64,
    /// What to keep of ended jobs (`None`: everything); purged in the background.
    pub retention: Option<crate::runtime::Retention>,
    /// The job lease when several engines share a PostgreSQL database.
    pub lease: std::time::Duration,
    /// Idle/header-read timeout and connection cap (`conn`).
    pub limits: conn::ConnLimits,
}

/// Why `serve` did not run (or stopped).
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Bad flags or settings: exit 2.
    #[error("{0}")]
    Usage(String),
    /// The rule files have errors (already rendered): exit 1.
    #[error("{0}")]
    Catalog(String),
    /// Anything else: exit 1.
    #[error("{0}")]
    Failed(String),
}

/// Load the rule folder; errors rendered as text.
pub fn load_catalog(rules: &PathBuf) -> Result<(Catalog, Vec<String>), ServeError> {
    let loaded = load_paths(std::slice::from_ref(rules));
    let rendered: Vec<String> = loaded
        .diagnostics
        .iter()
        .map(|d| render_text(d, &loaded.sources))
        .collect();
    match loaded.catalog {
        Some(c) if loaded.error_count() == 0 => Ok((c, rendered)),
        _ => Err(ServeError::Catalog(format!(
            "{}\nthe rule files in {} have {} error(s); not starting",
            rendered.join("\n"),
            rules.display(),
            loaded.error_count().max(1)
        ))),
    }
}

/// The router over a prepared state.
pub fn router(state: Arc<AppState>, max_body_bytes: usize) -> Router {
    use axum::middleware::from_fn_with_state;
    let api = Router::new()
        .route("/jobs", get(api::jobs).post(control::start))
        .route("/executions", get(apex::executions))
        .route("/notifications", get(apex::notifications))
        .route("/stats/by/{by}", get(apex::stats_by))
        .route("/chains/{chain}/jobs/stop", post(apex::bulk_stop))
        .route("/jobs/{job}", get(api::job))
        .route("/jobs/{job}/steps", get(api::job_steps))
        .route("/jobs/{job}/timeline", get(api::job_timeline))
        .route("/jobs/{job}/explain", get(api::job_explain))
        .route("/jobs/{job}/gantt", get(pictures::job_gantt))
        .route("/jobs/{job}/stop", post(control::stop))
        .route("/jobs/{job}/alter", post(control::alter))
        .route("/jobs/{job}/evaluate", post(control::evaluate))
        .route("/jobs/{job}/restart", post(control::restart))
        .route("/running_chains", get(api::running_chains))
        .route("/log", get(api::log))
        .route("/log/{log_id}", get(api::log_details))
        .route("/stats", get(api::stats))
        .route("/chains", get(api::chains))
        .route("/programs", get(api::programs))
        .route("/chains/{chain}/steps", get(api::chain_steps))
        .route("/chains/{chain}/rules", get(api::chain_rules))
        .route("/chains/{chain}/graph.svg", get(api::chain_graph))
        .route("/chains/{chain}/history", get(pictures::chain_history_json))
        .route("/chains/{chain}/rules/define", post(chains::define_rule))
        .route("/chains/{chain}/rules/{rule}/drop", post(chains::drop_rule))
        .route(
            "/chains/{chain}/steps/{step}/alter",
            post(chains::alter_chain),
        )
        .route("/chains/{chain}/steps/{step}/drop", post(chains::drop_step))
        .route("/events/stream", get(sse::stream))
        .route(
            "/events",
            get(control::kept_events).post(control::raise_event),
        )
        .route("/reload", post(control::reload))
        .route("/schedules", get(api::schedules))
        .route("/schedules/{job}/enable", post(job_defs::enable))
        .route("/schedules/{job}/disable", post(job_defs::disable))
        .route("/engines", get(api::engines))
        .route("/overview", get(pictures::overview));
    Router::new()
        .route("/", get(api::dashboard))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .route("/metrics", get(api::metrics))
        .route("/openapi.json", get(api::openapi))
        .nest("/api/v1", api)
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(axum::middleware::from_fn(move |req, next| {
            guard::declared_size(max_body_bytes, req, next)
        }))
        .layer(from_fn_with_state(state.clone(), guard::auth))
        .layer(from_fn_with_state(state.clone(), guard::rate_limit))
        .layer(from_fn_with_state(state.clone(), guard::count))
        .with_state(state)
}

fn check_config(config: &ServeConfig) -> Result<(), ServeError> {
    if config.token.is_none() && !config.insecure_no_auth && !config.read_only {
        return Err(ServeError::Usage(
            "refusing to start: changes (start, stop, alter, evaluate, events, reload) would need no \
             authentication. Set CHAINSCHED_TOKEN or --token-file, or pass --read-only, or \
             --insecure-no-auth to accept unauthenticated changes"
                .into(),
        ));
    }
    if !(config.time_scale.is_finite() && config.time_scale > 0.0) {
        return Err(ServeError::Usage(format!(
            "--time-scale {} must be a positive number",
            config.time_scale
        )));
    }
    Ok(())
}

/// Run the service until SIGTERM/SIGINT.
pub async fn serve(config: ServeConfig) -> Result<(), ServeError> {
    check_config(&config)?;
    // Descriptors for connections, the store and the steps (`conn`).
    let nofile = conn::raise_nofile_limit();
    tracing::debug!(?nofile, "open file limit");
    let (catalog, warnings) = load_catalog(&config.rules)?;
    for w in &warnings {
        // A rendered diagnostic (several lines); never a panic on a closed stderr.
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), "{w}");
    }
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|e| ServeError::Failed(format!("cannot listen on {}: {e}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServeError::Failed(format!("cannot listen on {}: {e}", config.listen)))?;
    let options = EngineOptions {
        catalog: Some(catalog.clone()),
        time_scale: config.time_scale,
        durability: config.durability,
        schedules: true,
        retention: config.retention,
        // A read-only service takes no job over and is not sent starts (role `serve-read-only`).
        cluster: crate::runtime::ClusterOptions {
            lease: config.lease,
            adopt: !config.read_only,
            role: if config.read_only {
                "serve-read-only"
            } else {
                "serve"
            }
            .into(),
            address: Some(addr.to_string()),
        },
        // Read-only never changes state or runs anything, recovery included.
        read_only: config.read_only,
        ..EngineOptions::default()
    };
    let engine = Engine::open_db(&config.db, options).await.map_err(|e| {
        ServeError::Failed(format!(
            "cannot open the engine at {}: {e}",
            crate::store::open::display_db(&config.db)
        ))
    })?;
    if let Ok(crate::store::DbLocation::Sled(dir)) = crate::store::DbLocation::parse(&config.db) {
        // `--db` control commands and views on this folder come here (`store::holder`).
        crate::store::holder::publish_control(
            &dir,
            crate::store::holder::Control {
                url: format!("http://{addr}"),
                token: config.token.clone(),
            },
        );
    }
    if !addr.ip().is_loopback() {
        tracing::warn!("listening on {addr}, which is reachable from other hosts");
    }
    if config.insecure_no_auth && config.token.is_none() && !config.read_only {
        tracing::warn!("--insecure-no-auth: anyone who can reach {addr} can change jobs");
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    spawn_signals(stop_tx);
    let stop = async move {
        let mut stop_rx = stop_rx;
        let _ = stop_rx.wait_for(|stop| *stop).await;
    };
    serve_engine(listener, engine, catalog, &config, stop).await
}

/// Serve `engine` (already open on `config.db`) on `listener` until `stop` resolves (for
/// `serve`: SIGTERM or SIGINT) or the engine fails. SIGHUP reloads the rules.
///
/// An engine that stopped acting for a failure (a store write failed, a lease was lost) never
/// recovers by itself: the service then stops accepting requests, finishes the ones in flight,
/// and returns [`ServeError::Failed`] with the reason, so that `serve` exits 1 and a supervisor
/// starts a fresh engine, which recovers the jobs from the store (docs/operations.md, "Health").
pub async fn serve_engine(
    listener: tokio::net::TcpListener,
    engine: Engine,
    catalog: Catalog,
    config: &ServeConfig,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let addr = listener
        .local_addr()
        .map_err(|e| ServeError::Failed(format!("cannot listen on {}: {e}", config.listen)))?;
    let (stop_tx, stop_rx) = watch::channel(false);
    {
        let stop_tx = stop_tx.clone();
        tokio::spawn(async move {
            stop.await;
            tracing::info!("shutting down (finishing requests in flight)");
            let _ = stop_tx.send(true);
        });
    }
    let limiter = (config.rate_limit > 0).then(|| guard::RateLimiter::new(config.rate_limit));
    // The engine's catalog: the files plus the chain changes kept in the store.
    let catalog = engine.catalog().unwrap_or(catalog);
    let state = Arc::new(AppState::new(
        engine.clone(),
        catalog,
        config.rules.clone(),
        config.token.clone(),
        !config.read_only,
        limiter,
        stop_rx.clone(),
    ));
    spawn_metrics_feed(state.clone());
    // An engine that stopped acting (store write failed, leases lost) stays stopped: the
    // process exits non-zero so that a supervisor starts a fresh engine.
    let lost: Arc<std::sync::Mutex<Option<String>>> = Arc::default();
    {
        let failure = engine.failure();
        let stop = stop_tx.clone();
        let lost = lost.clone();
        tokio::spawn(async move {
            let why = failure.await;
            tracing::error!(
                "the engine stopped: {why}; exiting so that a supervisor starts a fresh engine"
            );
            *lost.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
            let _ = stop.send(true);
        });
    }
    spawn_reload_signal(state.clone());

    println!("chainsched serve: listening on http://{addr}");
    tracing::info!(%addr, "serving the HTTP API and dashboard");
    use std::io::Write as _;
    let _ = std::io::stdout().flush();

    let app = router(state, config.max_body_bytes);
    let mut wait_stop = stop_rx.clone();
    let served = conn::serve(listener, app, config.limits, async move {
        let _ = wait_stop.wait_for(|stop| *stop).await;
    })
    .await;
    // Every request in flight has been answered: now stop the engine (flushes the store).
    engine.shutdown().await;
    tracing::info!("stopped");
    if let Some(why) = lost.lock().unwrap_or_else(|p| p.into_inner()).take() {
        return Err(ServeError::Failed(format!("the engine stopped: {why}")));
    }
    served.map_err(|e| ServeError::Failed(format!("the HTTP server failed: {e}")))
}

/// Feed engine events to the step-start counter.
fn spawn_metrics_feed(state: Arc<AppState>) {
    let mut rx = state.engine.subscribe();
    tokio::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            match rx.recv().await {
                Ok(ev) => state.metrics.observe_event(&ev),
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            }
        }
    });
}

/// SIGHUP reloads the rules.
fn spawn_reload_signal(state: Arc<AppState>) {
    use tokio::signal::unix::{signal, SignalKind};
    let hup_state = state;
    tokio::spawn(async move {
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot install the SIGHUP handler; reload with POST /api/v1/reload");
            return;
        };
        while hup.recv().await.is_some() {
            // `reload_catalog` logs the outcome (one line, or one per error).
            let _ = control::reload_catalog(&hup_state, "SIGHUP").await;
        }
    });
}

/// SIGTERM and SIGINT stop the service.
fn spawn_signals(stop: watch::Sender<bool>) {
    use tokio::signal::unix::{signal, SignalKind};
    tokio::spawn(async move {
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        match (term, int) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        let _ = stop.send(true);
    });
}
