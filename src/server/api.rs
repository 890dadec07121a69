//! GET handlers: the views as JSON, the chain graph, health, metrics, the API description.
//!
//! Every handler reads the store off the async threads and answers with the same rows the CLI
//! prints (`views::query`). Query strings are parsed here so that a bad value is a JSON 400
//! naming the parameter.

use super::error::ApiError;
use super::state::{blocking, AppState};
use crate::views::{self, query, time::parse_rfc3339, JobFilter, LogFilter};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use std::collections::HashMap;
use std::sync::Arc;

pub type Params = Result<Query<HashMap<String, String>>, QueryRejection>;
pub type PathArg<T> = Result<Path<T>, PathRejection>;

pub fn params(p: Params) -> Result<HashMap<String, String>, ApiError> {
    p.map(|Query(m)| m)
        .map_err(|e| ApiError::bad_request(format!("bad query string: {e}")))
}

pub fn path<T>(p: PathArg<T>) -> Result<T, ApiError> {
    p.map(|Path(v)| v)
        .map_err(|e| ApiError::bad_request(format!("bad path: {e}")))
}

pub(super) fn text(m: &HashMap<String, String>, key: &str) -> Option<String> {
    m.get(key)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

pub(super) fn number<T: std::str::FromStr>(
    m: &HashMap<String, String>,
    key: &str,
) -> Result<Option<T>, ApiError> {
    match text(m, key) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| {
            ApiError::bad_request(format!(
                "query parameter {key}='{v}' is not a non-negative integer"
            ))
        }),
    }
}

fn instant(m: &HashMap<String, String>, key: &str) -> Result<Option<u64>, ApiError> {
    match text(m, key) {
        None => Ok(None),
        Some(v) => parse_rfc3339(&v).map(Some).ok_or_else(|| {
            ApiError::bad_request(format!(
                "query parameter {key}='{v}' is not an RFC 3339 time"
            ))
        }),
    }
}

fn flag(m: &HashMap<String, String>, key: &str) -> Result<bool, ApiError> {
    match text(m, key).map(|v| v.to_ascii_lowercase()) {
        None => Ok(false),
        Some(v) if v == "true" || v == "1" || v == "yes" => Ok(true),
        Some(v) if v == "false" || v == "0" || v == "no" => Ok(false),
        Some(v) => Err(ApiError::bad_request(format!(
            "query parameter {key}='{v}' is not true or false"
        ))),
    }
}

pub(super) fn check_known(m: &HashMap<String, String>, known: &[&str]) -> Result<(), ApiError> {
    match m.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) if known.is_empty() => Err(ApiError::bad_request(format!(
            "unknown query parameter '{k}' (this route takes none)"
        ))),
        Some(k) => Err(ApiError::bad_request(format!(
            "unknown query parameter '{k}' (expected one of: {})",
            known.join(", ")
        ))),
        None => Ok(()),
    }
}

/// The jobs filter from `state`, `chain`, `job`, `limit`, `since`, `until`.
pub fn job_filter(m: &HashMap<String, String>) -> Result<JobFilter, ApiError> {
    check_known(m, &["state", "chain", "job", "limit", "since", "until"])?;
    Ok(JobFilter {
        job: text(m, "job"),
        chain: text(m, "chain"),
        states: views::parse_job_states(&text(m, "state").unwrap_or_default())?,
        since: instant(m, "since")?,
        until: instant(m, "until")?,
        limit: number(m, "limit")?,
    })
}

/// The log filter from `job`, `chain`, `since_id`, `limit`, `since`, `until`.
pub fn log_filter(m: &HashMap<String, String>) -> Result<LogFilter, ApiError> {
    check_known(m, &["job", "chain", "since_id", "limit", "since", "until"])?;
    Ok(LogFilter {
        job: text(m, "job"),
        chain: text(m, "chain"),
        since_id: number(m, "since_id")?,
        since: instant(m, "since")?,
        until: instant(m, "until")?,
        limit: number(m, "limit")?,
    })
}

pub async fn dashboard(State(st): State<Arc<AppState>>) -> Html<String> {
    Html(st.dashboard.clone())
}

/// How long a health check waits for the engine's actor to answer.
const HEALTH_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The reasons the engine itself is not alive: it stopped acting for a failure, or its actor
/// does not answer.
async fn engine_problems(st: &AppState) -> Vec<String> {
    if let Some(why) = st.engine.failed() {
        return vec![format!("the engine stopped: {why}")];
    }
    match tokio::time::timeout(HEALTH_WAIT, st.engine.unfinished_jobs()).await {
        Ok(Ok(_)) => Vec::new(),
        Ok(Err(e)) => vec![format!("the engine does not answer: {e}")],
        Err(_) => vec![format!(
            "the engine did not answer within {} s",
            HEALTH_WAIT.as_secs()
        )],
    }
}

fn health_answer(reasons: Vec<String>) -> Response {
    if reasons.is_empty() {
        Json(serde_json::json!({ "status": "ok" })).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "unavailable", "reasons": reasons })),
        )
            .into_response()
    }
}

/// Liveness: the engine acts (it has not stopped for a failure and its actor answers).
pub async fn healthz(State(st): State<Arc<AppState>>) -> Response {
    health_answer(engine_problems(&st).await)
}

/// Readiness: alive, the store answers a read, and the service is not shutting down.
pub async fn readyz(State(st): State<Arc<AppState>>) -> Response {
    let mut reasons = engine_problems(&st).await;
    let store = st.engine.store().clone();
    let read = blocking(move || {
        store
            .kv()
            .get(crate::store::layout::FORMAT_KEY)
            .map_err(|e| ApiError::internal(e.to_string()))
    })
    .await;
    if let Err(e) = read {
        reasons.push(format!("the store does not answer: {}", e.message));
    }
    if *st.shutdown.borrow() {
        reasons.push("the service is shutting down".into());
    }
    health_answer(reasons)
}

pub async fn metrics(State(st): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let store = st.engine.store().clone();
    let jobs = blocking(move || store.jobs().map_err(|e| ApiError::internal(e.to_string()))).await;
    // A failed store still gets its engine gauges scraped (the jobs gauge is then absent).
    let mut body = match &jobs {
        Ok(jobs) => st.metrics.render(jobs),
        Err(_) => String::new(),
    };
    body.push_str(&super::metrics::engine_gauges(
        st.engine.failed().is_none(),
        jobs.is_ok(),
    ));
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response())
}

pub async fn openapi() -> Json<serde_json::Value> {
    Json(super::openapi::document())
}

pub async fn jobs(State(st): State<Arc<AppState>>, q: Params) -> Result<Response, ApiError> {
    let filter = job_filter(&params(q)?)?;
    let (views, now) = (st.views(), st.engine.now());
    let rows = blocking(move || Ok(query::jobs(&views, &filter, now)?)).await?;
    Ok(Json(rows).into_response())
}

pub async fn job(
    State(st): State<Arc<AppState>>,
    p: PathArg<String>,
) -> Result<Response, ApiError> {
    let job = path(p)?;
    let (views, now) = (st.views(), st.engine.now());
    let row = blocking(move || Ok(query::job(&views, &job, now)?)).await?;
    Ok(Json(row).into_response())
}

pub async fn job_steps(
    State(st): State<Arc<AppState>>,
    p: PathArg<String>,
    q: Params,
) -> Result<Response, ApiError> {
    let job = path(p)?;
    let m = params(q)?;
    check_known(&m, &["history"])?;
    let history = flag(&m, "history")?;
    let (views, now) = (st.views(), st.engine.now());
    let rows =
        blocking(move || Ok(query::running_chains(&views, Some(&job), history, now)?)).await?;
    Ok(Json(rows).into_response())
}

pub async fn running_chains(State(st): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let (views, now) = (st.views(), st.engine.now());
    let rows = blocking(move || Ok(query::running_chains(&views, None, false, now)?)).await?;
    Ok(Json(rows).into_response())
}

pub async fn job_timeline(
    State(st): State<Arc<AppState>>,
    p: PathArg<String>,
) -> Result<Response, ApiError> {
    let job = path(p)?;
    let views = st.views();
    let rows = blocking(move || Ok(query::timeline(&views, &job)?)).await?;
    Ok(Json(rows).into_response())
}

pub async fn job_explain(
    State(st): State<Arc<AppState>>,
    p: PathArg<String>,
) -> Result<Response, ApiError> {
    let job = path(p)?;
    let (views, now) = (st.views(), st.engine.now());
    let e = blocking(move || Ok(query::explain(&views, &job, now)?)).await?;
    Ok(Json(e).into_response())
}

pub async fn log(State(st): State<Arc<AppState>>, q: Params) -> Result<Response, ApiError> {
    let filter = log_filter(&params(q)?)?;
    let views = st.views();
    let rows = blocking(move || Ok(query::job_log(&views, &filter)?)).await?;
    Ok(Json(rows).into_response())
}

pub async fn log_details(
    State(st): State<Arc<AppState>>,
    p: PathArg<String>,
) -> Result<Response, ApiError> {
    let raw = path(p)?;
    let id: u64 = raw.trim().parse().map_err(|_| {
        ApiError::bad_request(format!("log id '{raw}' is not a non-negative integer"))
    })?;
    let views = st.views();
    let row = blocking(move || Ok(query::run_details(&views, id)?)).await?;
    Ok(Json(row).into_response())
}

pub async fn stats(State(st): State<Arc<AppState>>, q: Params) -> Result<Response, ApiError> {
    let m = params(q)?;
    check_known(&m, &["chain"])?;
    let chain = text(&m, "chain");
    let views = st.views();
    let rows = blocking(move || Ok(query::stats(&views, chain.as_deref())?)).await?;
    Ok(Json(rows).into_response())
}

pub async fn chains(State(st): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let views = st.views();
    Ok(Json(query::chains(&views, None)?).into_response())
}

/// `GET /api/v1/programs`: the programs view.
pub async fn programs(State(st): State<Arc<AppState>>) -> Result<Response, ApiError> {
    Ok(Json(query::programs(&st.views(), None)?).into_response())
}

pub async fn chain_steps(
    State(st): State<Arc<AppState>>,
    p: PathArg<String>,
) -> Result<Response, ApiError> {
    let chain = path(p)?;
    Ok(Json(query::chain_steps(&st.views(), Some(&chain))?).into_response())
}

pub async fn chain_rules(
    State(st): State<Arc<AppState>>,
    p: PathArg<String>,
) -> Result<Response, ApiError> {
    let chain = path(p)?;
    Ok(Json(query::chain_rules(&st.views(), Some(&chain))?).into_response())
}

pub async fn chain_graph(
    State(st): State<Arc<AppState>>,
    p: PathArg<String>,
    q: Params,
) -> Result<Response, ApiError> {
    let chain = path(p)?;
    let m = params(q)?;
    check_known(&m, &["collapse"])?;
    let collapsed: Vec<String> = text(&m, "collapse")
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
        .unwrap_or_default();
    let svg = super::svg::chain_svg(&st.catalog(), &chain, &collapsed)
        .ok_or_else(|| ApiError::not_found(format!("chain {chain} not found")))?;
    Ok((
        [(header::CONTENT_TYPE, "image/svg+xml; charset=utf-8")],
        svg,
    )
        .into_response())
}

pub async fn not_found() -> ApiError {
    ApiError::not_found("no such route; see /openapi.json")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this method is not allowed here; see /openapi.json",
    )
}

/// `GET /api/v1/schedules` (extension): each scheduled job definition with its next and last
/// run, like Oracle's *_SCHEDULER_JOBS columns (docs/http-api.md, docs/scheduling.md). The
/// rows are the schedules view's, so `chainsched schedules` prints the same from here as from
/// the embedded store.
pub async fn schedules(State(st): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let views = st.views();
    let rows = blocking(move || Ok(query::schedules(&views)?)).await?;
    Ok(Json(rows).into_response())
}

/// `GET /api/v1/engines` (extension): the engines sharing the database (docs/scale-out.md),
/// the rows of `chainsched engines`; an empty list on a store one engine owns.
pub async fn engines(State(st): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let views = st.views();
    let rows = blocking(move || Ok(crate::views::engines::engine_rows(views.store())?)).await?;
    Ok(Json(rows).into_response())
}
