//! POST handlers that change a chain definition while the service runs (Oracle's
//! DEFINE_CHAIN_RULE, DROP_CHAIN_RULE, ALTER_CHAIN, DROP_CHAIN_STEP): the catalog for future
//! runs and the jobs running the chain, made durable before the answer (docs/http-api.md).
//!
//! A rule is sent as the text of one rule-file statement and resolved here against the chain
//! the engine runs, so its diagnostics point into the text sent (line and column), exactly as
//! `chainsched define-rule` prints them.

use super::api::{path, PathArg};
use super::control::{body, timed, Body};
use super::error::ApiError;
use super::state::AppState;
use crate::core::types::AlterChange;
use crate::lang::diagnostic::DiagnosticJson;
use crate::lang::SourceMap;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// `timeout` as sent: a duration (`30m`, `1h30m`, `01:30:00`), or `none` / `0` to remove it.
pub fn timeout_value(v: Option<&str>) -> Result<Option<u64>, ApiError> {
    match v.map(str::trim) {
        None => Ok(None),
        Some(t) if t.eq_ignore_ascii_case("none") || t == "0" => Ok(Some(0)),
        Some(t) => match crate::lang::duration::parse_duration(t)
            .or_else(|| crate::lang::duration::parse_hms(t))
        {
            Some(ms) if ms > 0 => Ok(Some(ms)),
            _ => Err(ApiError::bad_request(format!(
                "timeout '{t}' is not a duration such as 30m, 1h30m or 01:30:00 (or none)"
            ))),
        },
    }
}

/// After a change, serve the engine's catalog (views, graphs) so that they show it.
fn refresh(st: &AppState) {
    if let Ok(c) = st.engine.catalog() {
        st.set_catalog(c);
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DefineRuleBody {
    /// `rule NAME when … then …;`
    rule: String,
}

/// `POST /api/v1/chains/{chain}/rules/define` `{"rule": "rule R when A SUCCEEDED then END;"}`
pub async fn define_rule(
    State(st): State<Arc<AppState>>,
    p: PathArg<String>,
    b: Body,
) -> Result<Response, ApiError> {
    let chain = path(p)?;
    let req: DefineRuleBody = body(b)?;
    let catalog = st.engine.catalog()?;
    let Some(def) = catalog.chains.get(&chain) else {
        let nearest = crate::lang::diagnostic::nearest_name(
            &chain,
            catalog.chains.keys().map(String::as_str),
        );
        return Err(ApiError::not_found(format!(
            "unknown chain {chain}{}",
            crate::lang::diagnostic::did_you_mean(nearest.as_deref())
        )));
    };
    let rule = match crate::catalog::rule_from_text(def, &req.rule) {
        Ok(r) => r,
        Err(diags) => {
            let mut sources = SourceMap::default();
            sources.add("<rule>", req.rule.clone());
            let list: Vec<Value> = diags
                .iter()
                .map(|d| {
                    serde_json::to_value(DiagnosticJson::new(d, &sources)).unwrap_or(Value::Null)
                })
                .collect();
            let first = diags
                .iter()
                .map(|d| crate::lang::diagnostic::render_text(d, &sources))
                .collect::<Vec<_>>()
                .join("");
            return Err(ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "bad_rule",
                format!("the rule has {} error(s):\n{first}", diags.len()),
            )
            .with("diagnostics", Value::Array(list)));
        }
    };
    let name = rule.name.clone();
    timed(&st, "define_rule", st.engine.define_rule(&chain, rule)).await?;
    refresh(&st);
    Ok(Json(json!({ "chain": chain, "rule": name, "defined": true })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

/// `POST /api/v1/chains/{chain}/rules/{rule}/drop`
pub async fn drop_rule(
    State(st): State<Arc<AppState>>,
    p: PathArg<(String, String)>,
    b: Body,
) -> Result<Response, ApiError> {
    let (chain, rule) = path(p)?;
    let _: Empty = body(b)?;
    timed(&st, "drop_rule", st.engine.drop_rule(&chain, &rule)).await?;
    refresh(&st);
    Ok(Json(json!({ "chain": chain, "rule": rule, "dropped": true })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlterChainBody {
    pause: Option<bool>,
    pause_before: Option<bool>,
    skip: Option<bool>,
    restart_on_failure: Option<bool>,
    restart_on_recovery: Option<bool>,
    timeout: Option<String>,
}

/// `POST /api/v1/chains/{chain}/steps/{step}/alter` `{"skip": true, "timeout": "30m"}`
pub async fn alter_chain(
    State(st): State<Arc<AppState>>,
    p: PathArg<(String, String)>,
    b: Body,
) -> Result<Response, ApiError> {
    let (chain, step) = path(p)?;
    let req: AlterChainBody = body(b)?;
    let change = AlterChange {
        pause: req.pause,
        pause_before: req.pause_before,
        skip: req.skip,
        state: None,
        restart_on_failure: req.restart_on_failure,
        restart_on_recovery: req.restart_on_recovery,
        timeout: timeout_value(req.timeout.as_deref())?,
    };
    if change == AlterChange::default() {
        return Err(ApiError::bad_request(
            "nothing to alter: give one of pause, pause_before, skip, restart_on_failure, \
             restart_on_recovery, timeout",
        ));
    }
    timed(
        &st,
        "alter_chain",
        st.engine.alter_chain(&chain, Some(&step), change),
    )
    .await?;
    refresh(&st);
    Ok(Json(json!({ "chain": chain, "step": step, "altered": true })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DropStepBody {
    force: Option<bool>,
}

/// `POST /api/v1/chains/{chain}/steps/{step}/drop` `{"force": false}`
pub async fn drop_step(
    State(st): State<Arc<AppState>>,
    p: PathArg<(String, String)>,
    b: Body,
) -> Result<Response, ApiError> {
    let (chain, step) = path(p)?;
    let req: DropStepBody = body(b)?;
    let force = req.force.unwrap_or(false);
    timed(&st, "drop_step", st.engine.drop_step(&chain, &step, force)).await?;
    refresh(&st);
    Ok(
        Json(json!({ "chain": chain, "step": step, "dropped": true, "force": force }))
            .into_response(),
    )
}
