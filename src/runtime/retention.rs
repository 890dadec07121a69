//! Background retention: purge ended jobs while the engine runs, without pausing it.
//!
//! A pass works in chunks (`store::retention`): the store is read off the async threads to
//! find the next ended jobs and gather their keys (the expensive part), then the chunk goes to
//! the engine actor as one message ([`Msg::Purge`]). The actor checks, in its turn, that each
//! job is still the ended run that was gathered (a job name can be reused by a new run at any
//! time) and puts the deletes into that turn's batch. The pass waits for the answer before
//! reading the next chunk, so the actor is never held for more than one chunk (about 500
//! deletes) and requests that arrive meanwhile share its turns as usual. Between chunks the
//! pass rests as long as the chunk took (at most [`MAX_REST`]): a purge uses at most about half
//! of the time of the engine and of a core, so a large first purge (100,000 old jobs after
//! retention is turned on) slows starts and steps down by milliseconds, not more; see
//! docs/benchmarks.md, "Retention and history reads".
//! Why through the actor rather than straight to the store: only the actor starts runs, so a
//! check made in its turn cannot be overtaken by a start of the same name; a check made
//! outside could be.

use super::actor::Msg;
use super::clock::EngineClock;
use super::error::EngineError;
use super::options::Retention;
use crate::lang::duration::Millis;
use crate::store::retention::{horizon, next_chunk, superseded_rows_chunk, PurgeChunk, CHUNK_KEYS};
use crate::store::{ChainStore, PurgeStats, RetentionPolicy, StoreError};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// The longest rest between two chunks.
const MAX_REST: Duration = Duration::from_millis(50);

/// Rest as long as the work since `began` took (bounded), so the purge leaves the engine and
/// the cores to other work at least half of the time.
async fn rest(began: Instant) {
    tokio::time::sleep(began.elapsed().min(MAX_REST)).await;
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, EngineError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => Ok(r?),
        Err(e) => Err(EngineError::Invalid(format!("retention task failed: {e}"))),
    }
}

async fn send(
    tx: &mpsc::UnboundedSender<Msg>,
    chunk: PurgeChunk,
) -> Result<PurgeStats, EngineError> {
    let (reply, rx) = oneshot::channel();
    let stopped = || EngineError::NotRunning("the engine has stopped".into());
    tx.send(Msg::Purge { chunk, reply })
        .map_err(|_| stopped())?;
    rx.await.map_err(|_| stopped())?
}

/// One purge pass with `policy` at engine time `now`, chunk by chunk through the actor.
pub(crate) async fn pass(
    store: &ChainStore,
    tx: &mpsc::UnboundedSender<Msg>,
    now: Millis,
    policy: RetentionPolicy,
) -> Result<PurgeStats, EngineError> {
    let mut stats = PurgeStats::default();
    let s = store.clone();
    let Some(h) = blocking(move || horizon(&s, now, &policy)).await? else {
        return Ok(stats);
    };
    // Ended jobs, oldest first.
    let mut cursor = h.start();
    loop {
        let began = Instant::now();
        let (s, hz) = (store.clone(), h.clone());
        let (jobs, next) = blocking(move || {
            let mut c = cursor;
            next_chunk(&s, &hz, &mut c).map(|jobs| (jobs, c))
        })
        .await?;
        cursor = next;
        if jobs.is_empty() {
            break;
        }
        let chunk = PurgeChunk {
            jobs,
            rows: Vec::new(),
        };
        stats.add(send(tx, chunk).await?);
        rest(began).await;
    }
    // Log rows of earlier runs of reused names.
    let mut cursor = crate::store::layout::LOG.as_bytes().to_vec();
    loop {
        let began = Instant::now();
        let (s, hz) = (store.clone(), h.clone());
        let (rows, done, next) = blocking(move || {
            let mut c = cursor;
            superseded_rows_chunk(&s, &hz, &mut c, CHUNK_KEYS / 3).map(|(r, d)| (r, d, c))
        })
        .await?;
        cursor = next;
        if !rows.is_empty() {
            let chunk = PurgeChunk {
                jobs: Vec::new(),
                rows,
            };
            stats.add(send(tx, chunk).await?);
        }
        if done {
            break;
        }
        rest(began).await;
    }
    Ok(stats)
}

/// Purge at once, then every `retention.every`, while the engine lives.
pub(crate) fn spawn(
    store: ChainStore,
    clock: EngineClock,
    retention: Retention,
    alive: mpsc::WeakUnboundedSender<Msg>,
) {
    tokio::spawn(async move {
        loop {
            let Some(tx) = alive.upgrade() else {
                break;
            };
            match pass(&store, &tx, clock.now(), retention.policy()).await {
                Ok(stats) if !stats.is_empty() => tracing::info!(
                    jobs = stats.jobs,
                    log_rows = stats.log_rows,
                    keys = stats.keys,
                    "retention: removed {} ended jobs and {} job-log rows",
                    stats.jobs,
                    stats.log_rows
                ),
                Ok(_) => {}
                Err(EngineError::NotRunning(_)) => break,
                Err(e) => tracing::warn!("retention: {e}"),
            }
            drop(tx);
            tokio::time::sleep(retention.every).await;
        }
    });
}
