//! GET handlers behind the dashboard's pictures: a job's Gantt, a chain's run history, the
//! landing page's overview (docs/dashboard.md). Each answers the JSON of a `views` builder
//! ([`crate::views::gantt`], [`crate::views::history`], [`crate::views::overview`]); the
//! drawing is done by the page, so the same numbers are there for scripts and the CLI.

use super::api::{check_known, number, params, path, Params, PathArg};
use super::error::ApiError;
use super::state::{blocking, AppState};
use crate::views::history::{chain_history, DEFAULT_RUNS};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::sync::Arc;

/// `GET /api/v1/jobs/{job}/gantt`: every run of every step of the job.
pub async fn job_gantt(
    State(st): State<Arc<AppState>>,
    p: PathArg<String>,
    q: Params,
) -> Result<Response, ApiError> {
    let job = path(p)?;
    check_known(&params(q)?, &[])?;
    let (views, now) = (st.views(), st.engine.now());
    let g = blocking(move || Ok(crate::views::gantt::query(&views, &job, now)?)).await?;
    Ok(Json(g).into_response())
}

/// `GET /api/v1/chains/{chain}/history?runs=N`: the chain's last N finished runs as series.
pub async fn chain_history_json(
    State(st): State<Arc<AppState>>,
    p: PathArg<String>,
    q: Params,
) -> Result<Response, ApiError> {
    let chain = path(p)?;
    let m = params(q)?;
    check_known(&m, &["runs"])?;
    let runs: usize = number(&m, "runs")?.unwrap_or(DEFAULT_RUNS);
    let views = st.views();
    let h = blocking(move || Ok(chain_history(&views, &chain, runs)?)).await?;
    Ok(Json(h).into_response())
}

/// `GET /api/v1/overview`: running, queued, stalled now; ended in the last 24 h; groups.
pub async fn overview(State(st): State<Arc<AppState>>, q: Params) -> Result<Response, ApiError> {
    check_known(&params(q)?, &[])?;
    let (views, now) = (st.views(), st.engine.now());
    let o = blocking(move || Ok(crate::views::overview::query(&views, now)?)).await?;
    Ok(Json(o).into_response())
}
