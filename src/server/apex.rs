//! The HTTP side of the APEX features (docs/http-api.md): the `executions` and
//! `notifications` views, `stats` per job definition or group, bulk stop, and the break
//! point of a start (`POST /api/v1/jobs?wait=idle&timeout=30s`).

use super::api::{params, path, Params, PathArg};
use super::control::{body, timed, Body};
use super::error::ApiError;
use super::state::{blocking, AppState};
use crate::core::types::JobState;
use crate::runtime::WaitFor;
use crate::views::{apex, JobFilter};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The longest `timeout` a start may wait.
const MAX_WAIT: Duration = Duration::from_secs(3600);
/// A start's wait when `wait` is given without `timeout`.
const DEFAULT_WAIT: Duration = Duration::from_secs(30);

fn text(m: &HashMap<String, String>, key: &str) -> Option<String> {
    m.get(key)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn check_known(m: &HashMap<String, String>, known: &[&str]) -> Result<(), ApiError> {
    match m.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(ApiError::bad_request(format!(
            "unknown query parameter '{k}' (expected one of: {})",
            known.join(", ")
        ))),
        None => Ok(()),
    }
}

fn limit(m: &HashMap<String, String>, default: usize) -> Result<usize, ApiError> {
    match text(m, "limit") {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| {
            ApiError::bad_request(format!(
                "query parameter limit='{v}' is not a non-negative integer"
            ))
        }),
    }
}

/// `wait` and `timeout` of a start (`None`: answer at once, as always).
pub(super) fn start_wait(
    m: &HashMap<String, String>,
) -> Result<Option<(WaitFor, Duration)>, ApiError> {
    check_known(m, &["wait", "timeout"])?;
    let Some(w) = text(m, "wait") else {
        if m.contains_key("timeout") {
            return Err(ApiError::bad_request(
                "query parameter timeout needs wait=idle or wait=end",
            ));
        }
        return Ok(None);
    };
    let what = WaitFor::parse(&w).map_err(ApiError::bad_request)?;
    let timeout = match text(m, "timeout") {
        None => DEFAULT_WAIT,
        Some(t) => crate::lang::duration::parse_duration(&t)
            .map(Duration::from_millis)
            .filter(|d| *d <= MAX_WAIT)
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "query parameter timeout='{t}' is not a duration up to 1h (30s, 5m)"
                ))
            })?,
    };
    Ok(Some((what, timeout)))
}

/// After a successful start: wait for the break point and add it to the answer.
pub(super) async fn wait_after_start(
    st: &AppState,
    mut answer: Value,
    what: WaitFor,
    timeout: Duration,
) -> Result<Value, ApiError> {
    let Some(job) = answer["job"].as_str().map(String::from) else {
        return Ok(answer);
    };
    let point = st.engine.wait_for(&job, what, timeout).await?;
    if let (Some(obj), Value::Object(extra)) = (answer.as_object_mut(), point.json()) {
        obj.extend(extra);
    }
    Ok(answer)
}

/// `GET /api/v1/executions?state=&chain=&status=&limit=`.
pub async fn executions(State(st): State<Arc<AppState>>, q: Params) -> Result<Response, ApiError> {
    let m = params(q)?;
    check_known(&m, &["state", "chain", "status", "limit"])?;
    let filter = JobFilter {
        chain: text(&m, "chain"),
        states: crate::views::parse_job_states(text(&m, "state").as_deref().unwrap_or(""))?,
        limit: Some(limit(&m, 100)?),
        ..JobFilter::default()
    };
    let status = text(&m, "status");
    let (views, now) = (st.views(), st.engine.now());
    let rows =
        blocking(move || Ok(apex::executions(&views, &filter, status.as_deref(), now)?)).await?;
    Ok(Json(rows).into_response())
}

/// `GET /api/v1/notifications?job=&status=&limit=`.
pub async fn notifications(
    State(st): State<Arc<AppState>>,
    q: Params,
) -> Result<Response, ApiError> {
    let m = params(q)?;
    check_known(&m, &["job", "status", "limit"])?;
    let (job, status, n) = (text(&m, "job"), text(&m, "status"), limit(&m, 100)?);
    let views = st.views();
    let rows = blocking(move || {
        Ok(apex::notifications(
            &views,
            job.as_deref(),
            status.as_deref(),
            n,
        )?)
    })
    .await?;
    Ok(Json(rows).into_response())
}

/// `GET /api/v1/stats/by/{definition|group}?chain=`.
pub async fn stats_by(
    State(st): State<Arc<AppState>>,
    p: PathArg<String>,
    q: Params,
) -> Result<Response, ApiError> {
    let by = apex::StatsBy::parse(&path(p)?)?;
    let m = params(q)?;
    check_known(&m, &["chain"])?;
    let chain = text(&m, "chain");
    let views = st.views();
    let rows = blocking(move || Ok(apex::stats_by(&views, by, chain.as_deref())?)).await?;
    Ok(Json(rows).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BulkStopBody {
    /// Comma-separated job states (ENQUEUED, RUNNING, CHAIN_STALLED).
    state: String,
    /// Without it nothing is stopped: the answer counts what would be.
    #[serde(default)]
    confirm: bool,
}

/// The unfinished jobs of `chain` in `states`, oldest first.
pub(crate) fn bulk_targets(
    views: &crate::views::store_source::StoreViews,
    chain: &str,
    states: &[JobState],
) -> Result<Vec<String>, crate::views::ViewError> {
    use crate::views::ViewSource;
    let catalog = views.catalog()?;
    if !catalog.chains.contains_key(chain) {
        return Err(crate::views::ViewError::NotFound {
            what: "chain",
            name: chain.to_string(),
            nearest: crate::lang::diagnostic::nearest_name(
                chain,
                catalog.chains.keys().map(String::as_str),
            ),
        });
    }
    let mut jobs: Vec<_> = views
        .active_jobs()?
        .into_iter()
        .filter(|j| j.record.chain == chain && states.contains(&j.record.state))
        .collect();
    jobs.sort_by_key(|j| (crate::views::jobs::job_instant(j), j.record.job.clone()));
    Ok(jobs.into_iter().map(|j| j.record.job).collect())
}

/// Parse a bulk stop's states: unfinished ones only.
pub(crate) fn bulk_states(text: &str) -> Result<Vec<JobState>, String> {
    let states = crate::views::parse_job_states(text).map_err(|e| e.to_string())?;
    if states.is_empty() {
        return Err("state: name the states to stop (ENQUEUED, RUNNING, CHAIN_STALLED)".into());
    }
    if let Some(s) = states.iter().find(|s| s.is_finished()) {
        return Err(format!(
            "state {}: an ended job cannot be stopped (ENQUEUED, RUNNING, CHAIN_STALLED)",
            s.as_str()
        ));
    }
    Ok(states)
}

/// `POST /api/v1/chains/{chain}/jobs/stop` `{"state":"ENQUEUED","confirm":true}`: stop every
/// unfinished job of a chain in those states. Without `confirm` nothing changes and the answer
/// counts the jobs that would be stopped.
pub async fn bulk_stop(
    State(st): State<Arc<AppState>>,
    p: PathArg<String>,
    b: Body,
) -> Result<Response, ApiError> {
    let chain = path(p)?.trim().to_string();
    let req: BulkStopBody = body(b)?;
    let states = bulk_states(&req.state).map_err(ApiError::bad_request)?;
    let views = st.views();
    let for_read = chain.clone();
    let jobs = blocking(move || Ok(bulk_targets(&views, &for_read, &states)?)).await?;
    let mut stopped = Vec::new();
    let mut skipped = Vec::new();
    if req.confirm {
        for j in &jobs {
            match timed(&st, "stop", st.engine.stop(j, None)).await {
                Ok(()) => stopped.push(j.clone()),
                // Ended (or taken elsewhere) meanwhile: not this request's to stop.
                Err(e) => skipped.push(json!({ "job": j, "reason": e.to_string() })),
            }
        }
    }
    Ok((
        StatusCode::OK,
        Json(json!({
            "chain": chain,
            "matched": jobs.len(),
            "stopped": stopped.len(),
            "confirmed": req.confirm,
            "jobs": jobs,
            "skipped": skipped,
        })),
    )
        .into_response())
}
