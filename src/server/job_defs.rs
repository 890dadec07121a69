//! POST handlers for job definitions: `enable` and `disable` (Oracle's DBMS_SCHEDULER.ENABLE
//! and DISABLE of a job): whether the scheduler and events start the definition. Durable
//! before the answer; see docs/scheduling.md, "Job attributes".

use super::api::{path, PathArg};
use super::control::{body, timed, Body};
use super::error::ApiError;
use super::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

/// `POST /api/v1/schedules/{job}/enable`
pub async fn enable(
    State(st): State<Arc<AppState>>,
    p: PathArg<String>,
    b: Body,
) -> Result<Response, ApiError> {
    set(st, p, b, true).await
}

/// `POST /api/v1/schedules/{job}/disable`
pub async fn disable(
    State(st): State<Arc<AppState>>,
    p: PathArg<String>,
    b: Body,
) -> Result<Response, ApiError> {
    set(st, p, b, false).await
}

async fn set(
    st: Arc<AppState>,
    p: PathArg<String>,
    b: Body,
    enabled: bool,
) -> Result<Response, ApiError> {
    let job = path(p)?;
    let _: Empty = body(b)?;
    let what = if enabled { "enable" } else { "disable" };
    timed(&st, what, st.engine.set_job_enabled(&job, enabled)).await?;
    Ok(Json(json!({ "job": job, "enabled": enabled })).into_response())
}
