//! Accepting and serving HTTP connections, with the limits `axum::serve` does not have.
//!
//! Why: with `axum::serve`, an idle or slow-header connection stayed open for ever and their
//! number had no bound: 1,000 of them held 1,000 descriptors, and under a descriptor limit of
//! 256 every step launched meanwhile failed ("Too many open files"). Here, with the same hyper
//! and axum router:
//!
//! * **Idle and header-read timeout** (`serve --idle-timeout`, default 20 s): hyper's HTTP/1
//!   header-read timer runs whenever a connection waits for a request — just accepted, or after
//!   its previous answer (keep-alive) — until the request's headers are complete. So one timer
//!   closes idle keep-alive connections, connections that never send anything, and slow-header
//!   ("slowloris") senders. It does not run while a request is handled or an answer (an event
//!   stream included) is sent.
//! * **Connection cap** (`serve --max-connections`, default 512): a connection beyond it is
//!   answered `503` with `Connection: close` and closed at once.
//! * **Descriptors kept for steps**: the engine raises its soft `RLIMIT_NOFILE` to the hard
//!   limit at start ([`raise_nofile_limit`]), and a new connection is refused the same way when
//!   the descriptors in use come within [`FD_RESERVE`] of the limit, so that step launches (a
//!   few pipes each) and the store always find descriptors. An `accept` failing for lack of
//!   descriptors waits a moment instead of spinning.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Descriptors kept free for step launches and the store: new connections are refused when
/// fewer remain below the soft limit.
pub const FD_RESERVE: usize = 64;

/// How long a shutdown waits for the connections to finish their requests in flight.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(30);

/// The limits of [`serve`].
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// How long a connection may wait for a complete request head (idle keep-alive included).
    pub idle_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

impl ConnLimits {
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(20);
    pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
            max_connections: Self::DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// Raise the soft limit on open descriptors to the hard limit (once, at start); returns the
/// soft limit in force afterwards.
pub fn raise_nofile_limit() -> Option<usize> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return None;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
    }
    usize::try_from(lim.rlim_cur).ok()
}

/// The soft limit on open descriptors.
fn nofile_limit() -> Option<usize> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct passed.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0;
    ok.then(|| usize::try_from(lim.rlim_cur).ok()).flatten()
}

/// Descriptors this process has open (Linux: `/proc/self/fd`).
fn fds_in_use() -> Option<usize> {
    std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count())
}

/// Whether a new connection would eat into the descriptors kept for steps. Counting is done
/// only once connections are many enough to matter (a quarter of what the limit allows).
fn descriptors_short(active: usize, limit: Option<usize>) -> bool {
    let Some(limit) = limit else { return false };
    let usable = limit.saturating_sub(FD_RESERVE);
    if active < usable / 4 {
        return false;
    }
    fds_in_use().is_some_and(|n| n + 1 >= usable)
}

/// Refuse a connection: `503` and close (best effort: the socket is not waited on).
fn refuse(stream: tokio::net::TcpStream, why: &str) {
    let body = format!(
        "{{\"error\":{{\"code\":\"overloaded\",\"message\":\"{why}; try again shortly\"}}}}"
    );
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.try_write(answer.as_bytes());
}

/// Whether an accept error means "no descriptor or memory now" (wait, then go on).
fn out_of_resources(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// Serve `router` on `listener` within `limits` until `shutdown` resolves; then stop accepting,
/// let the connections finish their requests in flight, and return once they have closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let active = Arc::new(AtomicUsize::new(0));
    let (closing, closing_rx) = watch::channel(false);
    let limit = nofile_limit();
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) if out_of_resources(&e) => {
                    tracing::warn!("cannot accept a connection: {e}; waiting");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
                Err(e) => {
                    tracing::debug!("accept failed: {e}");
                    continue;
                }
            },
        };
        let n = active.load(Ordering::SeqCst);
        if n >= limits.max_connections {
            refuse(
                stream,
                &format!(
                    "{n} connections are open, the most this service serves (--max-connections)"
                ),
            );
            continue;
        }
        if descriptors_short(n, limit) {
            refuse(
                stream,
                "file descriptors are kept for the steps the engine starts",
            );
            continue;
        }
        let _ = stream.set_nodelay(true);
        active.fetch_add(1, Ordering::SeqCst);
        let guard = Active(active.clone());
        let router = router.clone();
        let mut closing_rx = closing_rx.clone();
        tokio::spawn(async move {
            let _guard = guard;
            let service = hyper::service::service_fn(
                move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo(remote));
                    let mut router = router.clone();
                    async move {
                        tower_service::Service::call(&mut router, req.map(axum::body::Body::new))
                            .await
                    }
                },
            );
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.idle_timeout)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!("connection from {remote} ended: {e}");
                    }
                    return;
                }
                _ = closing_rx.wait_for(|c| *c) => conn.as_mut().graceful_shutdown(),
            }
            if let Err(e) = conn.await {
                tracing::debug!("connection from {remote} ended: {e}");
            }
        });
    }
    drop(listener);
    let _ = closing.send(true);
    // Connections finish their requests in flight (idle ones close at once; event streams end
    // on the service's own shutdown signal). A client that does not read its answer is not
    // waited for beyond SHUTDOWN_WAIT.
    let deadline = tokio::time::Instant::now() + SHUTDOWN_WAIT;
    while active.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Counts a connection while it lives.
struct Active(Arc<AtomicUsize>);

impl Drop for Active {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
