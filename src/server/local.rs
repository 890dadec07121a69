//! The HTTP API a foreground engine (`chainsched run`, `chainsched resume`) serves for its own
//! store while it runs, on a loopback port with a token of its own.
//!
//! Why: a sled store folder can be opened by one process only, so while `run` held it nothing
//! could reach its engine — a chain waiting for an event could never get it (`event --db` failed
//! on the lock). Now `run` serves the same API as `serve` (the same router and handlers) on
//! `127.0.0.1:<free port>`, and writes the address and a fresh random token into the store
//! folder's holder file (`store::holder`, mode 0600). Control commands and views given `--db`
//! find it there and send their request to it (`cli::control::server_url`), so `chainsched event
//! GO --db DIR` completes the step of the running `run`, and `chainsched jobs --db DIR` shows its
//! jobs. Nothing listens beyond loopback, and every change needs the token.

use super::state::AppState;
use crate::catalog::Catalog;
use crate::runtime::Engine;
use crate::store::holder::{self, Control};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::watch;

/// A running local API; [`LocalControl::stop`] ends it.
pub struct LocalControl {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    dir: PathBuf,
    pub url: String,
}

/// 128 random bits from the kernel, as hex.
fn random_token() -> std::io::Result<String> {
    use std::io::Read as _;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Serve the API of `engine` (which has the store folder `dir` open) on a loopback port and
/// say so in the folder's holder file. `rules` is what `POST /api/v1/reload` reloads.
pub async fn start(
    engine: &Engine,
    catalog: Catalog,
    rules: PathBuf,
    dir: &Path,
) -> Result<LocalControl, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot listen on a loopback port: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot listen on a loopback port: {e}"))?;
    let token = random_token().map_err(|e| format!("cannot make a token: {e}"))?;
    let (stop, stop_rx) = watch::channel(false);
    let catalog = engine.catalog().unwrap_or(catalog);
    let state = Arc::new(AppState::new(
        engine.clone(),
        catalog,
        rules,
        Some(token.clone()),
        true,
        None,
        stop_rx.clone(),
    ));
    let app = super::router(state, 1024 * 1024);
    let mut wait = stop_rx;
    let task = tokio::spawn(async move {
        let served = super::conn::serve(
            listener,
            app,
            super::conn::ConnLimits::default(),
            async move {
                let _ = wait.wait_for(|s| *s).await;
            },
        )
        .await;
        if let Err(e) = served {
            tracing::warn!("the local control API failed: {e}");
        }
    });
    let url = format!("http://{addr}");
    holder::publish_control(
        dir,
        Control {
            url: url.clone(),
            token: Some(token),
        },
    );
    tracing::debug!(%url, "serving control commands for the store");
    Ok(LocalControl {
        stop,
        task,
        dir: dir.to_path_buf(),
        url,
    })
}

impl LocalControl {
    /// Stop taking requests (those in flight are answered) and take the address out of the
    /// holder file, so that later commands open the store themselves once it is free.
    pub async fn stop(self) {
        holder::claim(&self.dir);
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), self.task).await;
    }
}
