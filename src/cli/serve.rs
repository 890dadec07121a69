//! `chainsched serve --rules DIR [--db PATH] [--listen 127.0.0.1:7878]`: the long-running
//! engine with its HTTP API and dashboard (see `crate::server`).
//!
//! Mutating requests need a bearer token from CHAINSCHED_TOKEN or `--token-file`; without one
//! the service refuses to start unless `--read-only` (no changes at all) or
//! `--insecure-no-auth` is given. Ended jobs older than `--keep-history` (default 30d) or
//! beyond `--keep-jobs` are purged in the background (docs/operations.md, "Retention").
//! Connections: `--idle-timeout` (default 20s) closes a connection that waits longer for a
//! request's headers, `--max-connections` (default 512) caps them (docs/operations.md,
//! "Connections"; `crate::server::conn`).
//! Exit status: 1 when the rule files have errors or the service fails, 2 on bad usage.

use super::DurabilityArg;
use crate::server::{serve, ServeConfig, ServeError};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The rule folder (or file) to run; reloaded on SIGHUP and POST /api/v1/reload.
    #[arg(long)]
    pub rules: PathBuf,
    /// The store: a folder (the embedded sled store) or a PostgreSQL database
    /// (postgres://user@host:port/dbname); CHAINSCHED_DB when not given.
    #[arg(long, env = "CHAINSCHED_DB", hide_env_values = true, default_value = crate::store::open::DEFAULT_DB)]
    pub db: String,
    /// sync: flush before acting on each change; relaxed: flush in the background every 500 ms.
    #[arg(long, value_enum, default_value = "sync")]
    pub durability: DurabilityArg,
    /// Address to listen on (port 0: any free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:7878")]
    pub listen: String,
    /// File holding the bearer token for changes (else the CHAINSCHED_TOKEN variable).
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Accept changes without authentication.
    #[arg(long)]
    pub insecure_no_auth: bool,
    /// Refuse every change (views and dashboard only); needs no token.
    #[arg(long)]
    pub read_only: bool,
    /// API requests per second per client (bursts of twice that); 0 for no limit.
    #[arg(long, default_value_t = 200)]
    pub rate_limit: u32,
    /// Largest request body accepted, in bytes.
    #[arg(long, default_value_t = 1024 * 1024)]
    pub max_body: usize,
    /// Engine milliseconds per real millisecond (demos and tests).
    #[arg(
        long,
        env = "CHAINSCHED_TIME_SCALE",
        default_value_t = 1.0,
        hide = true
    )]
    pub time_scale: f64,
    #[command(flatten)]
    pub retention: super::purge::RetentionArgs,
    /// Engines sharing a PostgreSQL database: how long a job's lease lasts without renewal;
    /// another engine takes the jobs of a dead engine over once it expires (10s, 30s, 1m, …).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = super::purge::parse_lease)]
    pub lease: std::time::Duration,
    /// Close a connection that waits longer than this for a request's headers: idle keep-alive
    /// connections, connections that send nothing, slow header senders (10s, 1m, …).
    #[arg(long, value_name = "DURATION", default_value = "20s", value_parser = parse_timeout)]
    pub idle_timeout: std::time::Duration,
    /// Connections served at once; more are answered 503 and closed.
    #[arg(long, value_name = "N", default_value_t = crate::server::conn::ConnLimits::DEFAULT_MAX_CONNECTIONS, value_parser = clap::value_parser!(usize))]
    pub max_connections: usize,
}

/// `--idle-timeout`: a duration (`20s`, `1m`), at least 100 ms.
fn parse_timeout(text: &str) -> Result<std::time::Duration, String> {
    let ms = crate::lang::duration::parse_duration(text)
        .ok_or_else(|| format!("{} is not a duration such as 20s or 1m", text.trim()))?;
    if ms < 100 {
        return Err(format!("{} is shorter than 100ms", text.trim()));
    }
    Ok(std::time::Duration::from_millis(ms))
}

/// The bearer token: `--token-file` if given, else CHAINSCHED_TOKEN. An empty token is an error.
pub fn token(token_file: &Option<PathBuf>) -> Result<Option<String>, String> {
    let (token, from) = match token_file {
        Some(path) => (
            std::fs::read_to_string(path)
                .map_err(|e| format!("--token-file {}: {e}", path.display()))?,
            format!("--token-file {}", path.display()),
        ),
        None => match std::env::var("CHAINSCHED_TOKEN") {
            Ok(t) => (t, "CHAINSCHED_TOKEN".to_string()),
            Err(_) => return Ok(None),
        },
    };
    let t = token.trim().to_string();
    if t.is_empty() {
        return Err(format!("{from} holds an empty token"));
    }
    Ok(Some(t))
}

pub fn run(a: ServeArgs) -> i32 {
    let token = match token(&a.token_file) {
        Ok(t) => t,
        Err(e) => {
            errln!("error: {e}");
            return 2;
        }
    };
    let config = ServeConfig {
        rules: a.rules,
        db: a.db,
        durability: a.durability.mode(),
        listen: a.listen,
        token,
        insecure_no_auth: a.insecure_no_auth,
        read_only: a.read_only,
        rate_limit: a.rate_limit,
        max_body_bytes: a.max_body,
        time_scale: a.time_scale,
        retention: a.retention.retention(),
        lease: a.lease,
        limits: crate::server::conn::ConnLimits {
            idle_timeout: a.idle_timeout,
            max_connections: a.max_connections.max(1),
        },
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            errln!("error: cannot start the async runtime: {e}");
            return 1;
        }
    };
    match rt.block_on(serve(config)) {
        Ok(()) => 0,
        Err(ServeError::Usage(m)) => {
            errln!("error: {m}");
            2
        }
        Err(ServeError::Catalog(m)) => {
            errln!("{m}");
            1
        }
        Err(ServeError::Failed(m)) => {
            errln!("error: {m}");
            1
        }
    }
}
