//! `GET /api/v1/events/stream`: server-sent events of job and step state changes.
//!
//! Each engine event becomes one SSE event named `job`, `step`, `progress` or `log`, whose data
//! is the matching view row (jobs, running_chains, a progress record, job_log), so a client
//! can patch what it shows without another request. A first `ready` event tells the client the
//! stream is live; a `lagged` event says some events were dropped (the client should re-read).
//! Streams end when the service shuts down, so a graceful shutdown never waits on them.

use super::api::{params, Params};
use super::error::ApiError;
use super::state::AppState;
use crate::runtime::EngineEvent;
use crate::views::{jobs::job_row, log::log_row, running::step_rows, JobInfo, StepInfo};
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use serde_json::json;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// The SSE event for an engine event, `None` when it is filtered out.
pub fn to_event(ev: &EngineEvent, only_job: Option<&str>, now: u64) -> Option<Event> {
    let wanted = |job: &str| only_job.is_none_or(|j| j == job);
    let (name, data) = match ev {
        EngineEvent::Job(record) => {
            if !wanted(&record.job) {
                return None;
            }
            let row = job_row(
                &JobInfo::from_record(record.clone()),
                &[],
                record.stall_reason.clone(),
                now,
            );
            ("job", serde_json::to_string(&row).ok()?)
        }
        EngineEvent::Step { job, step } => {
            if !wanted(job) {
                return None;
            }
            let rec = crate::core::types::JobRecord {
                job: job.clone(),
                chain: String::new(),
                state: crate::core::types::JobState::Running,
                error_code: None,
                parameters: Default::default(),
                started_at: 0,
                ended_at: None,
                stall_reason: None,
                group: None,
                serialize_key: None,
                enqueued_at: None,
                requested_by: None,
            };
            let info = StepInfo {
                record: step.clone(),
                progress: None,
            };
            let row = step_rows(&rec, std::slice::from_ref(&info), now).pop()?;
            ("step", serde_json::to_string(&row).ok()?)
        }
        EngineEvent::Progress {
            job,
            subname,
            progress,
        } => {
            if !wanted(job) {
                return None;
            }
            let data = json!({
                "job_name": job, "step_job_subname": subname, "sofar": progress.sofar,
                "totalwork": progress.totalwork, "status_message": progress.status_message,
            });
            ("progress", data.to_string())
        }
        EngineEvent::Log(row) => {
            if !wanted(&row.job) {
                return None;
            }
            ("log", serde_json::to_string(&log_row(row)).ok()?)
        }
    };
    Some(Event::default().event(name).data(data))
}

pub async fn stream(State(st): State<Arc<AppState>>, q: Params) -> Result<Response, ApiError> {
    let m = params(q)?;
    let only_job = m
        .get("job")
        .map(|j| j.trim().to_string())
        .filter(|j| !j.is_empty());
    let rx = st.engine.subscribe();
    let shutdown = st.shutdown.clone();
    let engine = st.engine.clone();
    let ready =
        stream::once(async { Ok::<Event, Infallible>(Event::default().event("ready").data("{}")) });
    let events = stream::unfold(
        (rx, shutdown, only_job, engine),
        |(mut rx, mut shutdown, only_job, engine)| async move {
            loop {
                if *shutdown.borrow() {
                    return None;
                }
                tokio::select! {
                    changed = shutdown.changed() => {
                        if changed.is_err() || *shutdown.borrow() {
                            return None;
                        }
                    }
                    msg = rx.recv() => match msg {
                        Ok(ev) => {
                            if let Some(e) = to_event(&ev, only_job.as_deref(), engine.now()) {
                                return Some((Ok::<Event, Infallible>(e), (rx, shutdown, only_job, engine)));
                            }
                        }
                        Err(RecvError::Lagged(n)) => {
                            let e = Event::default().event("lagged").data(json!({ "missed": n }).to_string());
                            return Some((Ok(e), (rx, shutdown, only_job, engine)));
                        }
                        Err(RecvError::Closed) => return None,
                    }
                }
            }
        },
    );
    let sse = Sse::new(futures_util::StreamExt::chain(ready, events))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)));
    Ok(sse.into_response())
}
