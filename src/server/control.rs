//! POST handlers: start, stop, alter, evaluate, raise an event, reload the rules.
//!
//! Bodies are parsed strictly (an unknown member is a 400 naming it, so a typo never silently
//! does nothing); an engine refusal keeps the engine's message and changes nothing. A request
//! is answered only once the engine has made its change durable.

use super::api::{path, PathArg};
use super::error::ApiError;
use super::state::AppState;
use crate::catalog::{load_paths, Catalog};
use crate::core::types::{AlterChange, PresetState, StartRequest};
use crate::lang::diagnostic::DiagnosticJson;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

pub type Body = Result<Bytes, BytesRejection>;

/// Parse a JSON body; an empty body is `{}`.
pub(super) fn body<T: DeserializeOwned>(b: Body) -> Result<T, ApiError> {
    let bytes = read(b)?;
    let text: &[u8] = match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => b"{}",
        Some(b'{') => &bytes,
        // serde would read `[]` as an empty struct: only an object is a request body here.
        Some(_) => {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ))
        }
    };
    serde_json::from_slice(text).map_err(|e| ApiError::bad_request(format!("bad JSON body: {e}")))
}

/// The body's bytes (413 when too large).
fn read(b: Body) -> Result<Bytes, ApiError> {
    b.map_err(|e| {
        let status = e.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                status,
                "payload_too_large",
                "the request body is larger than the service accepts",
            )
        } else {
            ApiError::bad_request(format!("cannot read the request body: {e}"))
        }
    })
}

/// Time one engine call for the evaluation-latency metric.
pub(super) async fn timed<T>(st: &AppState, op: &'static str, fut: impl Future<Output = T>) -> T {
    let t0 = Instant::now();
    let out = fut.await;
    st.metrics.observe_latency(op, t0.elapsed());
    out
}

/// A parameter value as written: a string's text, a number's digits exactly as sent (never
/// through a float), `true`/`false`; anything else is refused naming the parameter.
fn parameter_text(name: &str, raw: &serde_json::value::RawValue) -> Result<String, ApiError> {
    let text = raw.get().trim();
    match text.as_bytes().first() {
        Some(b'"') => serde_json::from_str::<String>(text)
            .map_err(|e| ApiError::bad_request(format!("parameters.{name}: {e}"))),
        Some(b'-' | b'0'..=b'9') | Some(b't' | b'f') => Ok(text.to_string()),
        _ => Err(ApiError::bad_request(format!(
            "parameters.{name}: {} is not a string, a number or a boolean",
            if text.len() > 40 { "the value" } else { text }
        ))),
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `step_states` as `{"A": "SUCCEEDED"}`, `[{"step": "A", "state": "FAILED 3"}]` or
/// `["A=SUCCEEDED"]`.
fn step_states(v: Option<Value>) -> Result<Vec<(String, PresetState)>, ApiError> {
    let pairs: Vec<(String, String)> = match v {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(m)) => m.into_iter().map(|(k, v)| (k, value_text(&v))).collect(),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|item| match item {
                Value::String(s) => s
                    .split_once('=')
                    .map(|(a, b)| (a.trim().to_string(), b.trim().to_string()))
                    .ok_or_else(|| {
                        ApiError::bad_request(format!("step_states item '{s}' is not STEP=STATE"))
                    }),
                Value::Object(m) => match (m.get("step"), m.get("state")) {
                    (Some(Value::String(a)), Some(b)) => Ok((a.clone(), value_text(b))),
                    _ => Err(ApiError::bad_request(
                        "step_states items need \"step\" and \"state\"",
                    )),
                },
                other => Err(ApiError::bad_request(format!(
                    "step_states item {other} is not understood"
                ))),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "step_states {other} is not an object or a list"
            )))
        }
    };
    pairs
        .into_iter()
        .map(|(step, state)| {
            PresetState::parse(&state)
                .map(|s| (step.clone(), s))
                .map_err(|e| ApiError::bad_request(format!("step_states {step}: {e}")))
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    /// The chain to run; may be omitted when `definition` names a job definition with a chain.
    #[serde(default)]
    chain: String,
    job: Option<String>,
    /// A `job` definition of the catalog: its chain, parameter defaults, group, serialize key
    /// and max_run_duration apply.
    definition: Option<String>,
    /// A resource group for an ad-hoc run (a definition's group otherwise).
    group: Option<String>,
    parameters: Option<BTreeMap<String, Box<serde_json::value::RawValue>>>,
    start_steps: Option<Vec<String>>,
    step_states: Option<Value>,
    /// Who asks (the jobs view's REQUESTED_BY); the CLI sends the operating-system user.
    requested_by: Option<String>,
    /// Start even when `job` names an ended job still in the store (its records are replaced
    /// by the new run's); without it such a start is refused (409).
    replace: Option<bool>,
}

/// `POST /api/v1/jobs`. With an `Idempotency-Key` header, a request already answered gets the
/// first answer again (header `Idempotent-Replayed: true`); see [`super::idempotency`].
pub async fn start(
    State(st): State<Arc<AppState>>,
    q: super::api::Params,
    headers: axum::http::HeaderMap,
    b: Body,
) -> Result<Response, ApiError> {
    // `?wait=idle|end&timeout=30s`: answer at the job's next break point (`super::apex`).
    let wait = super::apex::start_wait(&super::api::params(q)?)?;
    let (status, replayed, mut answer) = start_request(&st, headers, b).await?;
    if let (Some((what, timeout)), StatusCode::CREATED) = (wait, status) {
        answer = super::apex::wait_after_start(&st, answer, what, timeout).await?;
    }
    Ok(if replayed {
        (status, [("idempotent-replayed", "true")], Json(answer)).into_response()
    } else {
        (status, Json(answer)).into_response()
    })
}

/// Status, whether it is an idempotent replay, answer.
type StartResponse = (StatusCode, bool, Value);

async fn start_request(
    st: &Arc<AppState>,
    headers: axum::http::HeaderMap,
    b: Body,
) -> Result<StartResponse, ApiError> {
    use super::idempotency::{check_key, fingerprint, Begin};
    let st = st.clone();
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => {
            let k = v.to_str().map_err(|_| {
                ApiError::bad_request("header Idempotency-Key is not visible ASCII")
            })?;
            check_key(k).map_err(ApiError::bad_request)?;
            Some(k.to_string())
        }
    };
    let Some(key) = key else {
        let (status, answer) = start_once(&st, b).await?;
        return Ok((status, false, answer));
    };
    let bytes = read(b)?;
    let print = fingerprint(&bytes);
    match st.idempotency.begin(&key, print) {
        Begin::Fresh => {}
        Begin::Replay(status, answer) => {
            return Ok((status, true, answer))
        }
        Begin::InProgress => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "request_in_progress",
                format!("a request with Idempotency-Key {key} is still being answered; retry later"),
            ))
        }
        Begin::Mismatch => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                format!("Idempotency-Key {key} was used with another request body; use a new key for a new request"),
            ))
        }
    }
    // The start completes (and its answer is kept) even if the client goes away meanwhile:
    // that client's retry then gets the answer.
    let task_state = st.clone();
    let task = tokio::spawn(async move {
        let st = task_state;
        let (status, answer) = match start_once(&st, Ok(bytes)).await {
            Ok(ok) => ok,
            Err(e) => (e.status, e.body()),
        };
        st.idempotency.finish(&key, print, status, answer.clone());
        (status, answer)
    });
    let (status, answer) = task
        .await
        .map_err(|e| ApiError::internal(format!("start task failed: {e}")))?;
    Ok((status, false, answer))
}

async fn start_once(st: &AppState, b: Body) -> Result<(StatusCode, Value), ApiError> {
    let req: StartBody = body(b)?;
    let definition = req.definition.filter(|d| !d.trim().is_empty());
    if req.chain.trim().is_empty() && definition.is_none() {
        return Err(ApiError::bad_request(
            "\"chain\" is empty: give a chain, or a job \"definition\" that names one",
        ));
    }
    let request = StartRequest {
        job: req.job.filter(|j| !j.trim().is_empty()),
        chain: req.chain,
        parameters: req
            .parameters
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| Ok((k.to_ascii_uppercase(), parameter_text(&k, &v)?)))
            .collect::<Result<_, ApiError>>()?,
        start_steps: req.start_steps.unwrap_or_default(),
        step_states: step_states(req.step_states)?,
        definition,
        group: req
            .group
            .filter(|g| !g.trim().is_empty())
            .map(|g| g.trim().to_ascii_uppercase()),
        requested_by: req
            .requested_by
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty()),
        refuse_ended: !req.replace.unwrap_or(false),
    };
    let job = timed(st, "start", st.engine.start(request)).await?;
    Ok((StatusCode::CREATED, json!({ "job": job })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StopBody {
    /// `Some(None)`: `"step": null` was sent (refused: leaving `step` out means every step).
    #[serde(default, deserialize_with = "explicit")]
    step: Option<Option<String>>,
}

/// Tell `"member": null` (`Some(None)`) from a member left out (`None`).
fn explicit<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// The `step` member of stop and alter: left out means the whole job; null or empty is refused
/// (a client bug must not stop or alter every step).
fn step_member(step: Option<Option<String>>) -> Result<Option<String>, ApiError> {
    match step {
        None => Ok(None),
        Some(Some(s)) if !s.trim().is_empty() => Ok(Some(s)),
        Some(_) => Err(ApiError::bad_request(
            "step: null or empty is not a step name; leave \"step\" out to act on the whole job",
        )),
    }
}

pub async fn stop(
    State(st): State<Arc<AppState>>,
    p: PathArg<String>,
    b: Body,
) -> Result<Response, ApiError> {
    let job = path(p)?;
    let req: StopBody = body(b)?;
    let step = step_member(req.step)?;
    timed(&st, "stop", st.engine.stop(&job, step.as_deref())).await?;
    Ok(Json(json!({ "job": job, "step": step, "stopped": true })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AlterBody {
    #[serde(default, deserialize_with = "explicit")]
    step: Option<Option<String>>,
    pause: Option<bool>,
    pause_before: Option<bool>,
    skip: Option<bool>,
    state: Option<String>,
    restart_on_failure: Option<bool>,
    restart_on_recovery: Option<bool>,
    /// A duration (`"30m"`, `"01:30:00"`) or `"none"`.
    timeout: Option<String>,
    /// Extension: evaluate the chain right after the alter (the CLI's `--evaluate`).
    evaluate: Option<bool>,
}

pub async fn alter(
    State(st): State<Arc<AppState>>,
    p: PathArg<String>,
    b: Body,
) -> Result<Response, ApiError> {
    let job = path(p)?;
    let req: AlterBody = body(b)?;
    let step = step_member(req.step)?;
    let state = match &req.state {
        Some(s) => Some(PresetState::parse(s).map_err(ApiError::bad_request)?),
        None => None,
    };
    let change = AlterChange {
        pause: req.pause,
        pause_before: req.pause_before,
        skip: req.skip,
        state,
        restart_on_failure: req.restart_on_failure,
        restart_on_recovery: req.restart_on_recovery,
        timeout: super::chains::timeout_value(req.timeout.as_deref())?,
    };
    if change == AlterChange::default() {
        return Err(ApiError::bad_request(
            "nothing to alter: give one of pause, pause_before, skip, state, \
             restart_on_failure, restart_on_recovery, timeout",
        ));
    }
    timed(&st, "alter", st.engine.alter(&job, step.as_deref(), change)).await?;
    let evaluated = req.evaluate.unwrap_or(false);
    if evaluated {
        timed(&st, "evaluate", st.engine.evaluate(&job)).await?;
    }
    Ok(
        Json(json!({ "job": job, "step": step, "altered": true, "evaluated": evaluated }))
            .into_response(),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

pub async fn evaluate(
    State(st): State<Arc<AppState>>,
    p: PathArg<String>,
    b: Body,
) -> Result<Response, ApiError> {
    let job = path(p)?;
    let _: Empty = body(b)?;
    timed(&st, "evaluate", st.engine.evaluate(&job)).await?;
    Ok(Json(json!({ "job": job, "evaluated": true })).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RestartBody {
    /// Top-level steps to run again; absent or empty: the FAILED and STOPPED ones.
    #[serde(default)]
    from: Vec<String>,
}

/// `POST /api/v1/jobs/{job}/restart`: reopen an ended FAILED or STOPPED job (409 otherwise).
pub async fn restart(
    State(st): State<Arc<AppState>>,
    p: PathArg<String>,
    b: Body,
) -> Result<Response, ApiError> {
    let job = path(p)?;
    let req: RestartBody = body(b)?;
    if let Some(bad) = req.from.iter().find(|s| s.trim().is_empty()) {
        return Err(ApiError::bad_request(format!(
            "\"from\": a step name cannot be empty ({bad:?})"
        )));
    }
    timed(&st, "restart", st.engine.restart(&job, &req.from)).await?;
    let row = {
        let (views, now) = (st.views(), st.engine.now());
        let job = job.clone();
        tokio::task::spawn_blocking(move || crate::views::query::job(&views, &job, now))
            .await
            .map_err(|e| ApiError::internal(e.to_string()))?
            .map_err(ApiError::from)?
    };
    Ok(Json(json!({ "job": job, "restarted": true, "state": row.state })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventBody {
    name: String,
    job: Option<String>,
    payload: Option<Value>,
    /// Keep the event this long (`10m`, `1h30m`) for a step that starts waiting later, when
    /// it completes no waiting step.
    keep: Option<String>,
}

/// `POST /api/v1/events`: deliver an event (`core::events`). A name no chain declares and a
/// payload that is not an object are refused (400); the answer says how many waiting steps it
/// completed and, when none, why (`message`, `waiting_steps`, `unmatched`), and the event kept.
pub async fn raise_event(State(st): State<Arc<AppState>>, b: Body) -> Result<Response, ApiError> {
    let req: EventBody = body(b)?;
    if req.name.trim().is_empty() {
        return Err(ApiError::bad_request("\"name\" is empty"));
    }
    let keep = match req.keep.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(k) => Some(std::time::Duration::from_millis(
            crate::lang::duration::parse_duration(k)
                .filter(|ms| *ms > 0)
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "\"keep\": {k:?} is not a duration such as 30s, 10m or 1h30m"
                    ))
                })?,
        )),
    };
    let payload = req.payload.unwrap_or(Value::Null);
    let d = timed(
        &st,
        "event",
        st.engine
            .deliver_event(&req.name, payload, req.job.as_deref(), keep),
    )
    .await?;
    Ok(Json(event_answer(&req.name, &d)).into_response())
}

/// The answer to an event, in the API and from `chainsched event --format json`.
pub fn event_answer(name: &str, d: &crate::core::EventDelivery) -> Value {
    json!({
        "completed_steps": d.completed,
        "waiting_steps": d.waiting,
        "unmatched": d.unmatched,
        "kept": d.kept.as_ref().map(|k| json!({
            "event_id": k.id,
            "expires_at": crate::views::time::rfc3339(k.expires_at),
        })),
        "message": d.sentence(name, crate::views::time::rfc3339),
    })
}

/// `GET /api/v1/events` (extension): the events view, events kept for steps that start
/// waiting later (`chainsched events`).
pub async fn kept_events(State(st): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let views = st.views();
    let now = st.engine.now();
    let rows = tokio::task::spawn_blocking(move || {
        crate::views::events::kept_event_rows(views.store(), now)
    })
    .await
    .map_err(|e| ApiError::internal(format!("events task failed: {e}")))?
    .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Json(rows).into_response())
}

/// What a reload did.
pub enum Reloaded {
    Loaded {
        chains: usize,
        warnings: Vec<Value>,
    },
    Refused {
        errors: usize,
        diagnostics: Vec<Value>,
    },
}

/// Load the rule folder and, when it has no error, make it the engine's catalog. `trigger`
/// (`SIGHUP`, `POST /api/v1/reload`) is named in the log: one info line for a reload, one
/// error line per error of a refused one and a warning that the catalog in use is kept.
pub async fn reload_catalog(st: &AppState, trigger: &str) -> Result<Reloaded, ApiError> {
    let result = reload_catalog_quiet(st).await;
    let rules = st.rules.display().to_string();
    match &result {
        Ok(Reloaded::Loaded { chains, warnings }) => tracing::info!(
            trigger,
            rules = %rules,
            chains,
            warnings = warnings.len(),
            "rules reloaded"
        ),
        Ok(Reloaded::Refused {
            errors,
            diagnostics,
        }) => {
            for d in diagnostics.iter().filter(|d| d["severity"] == "error") {
                tracing::error!(
                    trigger,
                    code = d["code"].as_str().unwrap_or(""),
                    at = %format!(
                        "{}:{}:{}",
                        d["file"].as_str().unwrap_or(""),
                        d["line"],
                        d["column"]
                    ),
                    "reload refused: {}",
                    d["message"].as_str().unwrap_or("")
                );
            }
            tracing::warn!(
                trigger,
                rules = %rules,
                errors,
                "the rule files have {errors} error(s); the catalog in use is kept"
            );
        }
        Err(e) => tracing::error!(trigger, rules = %rules, "reload failed: {}", e.message),
    }
    result
}

async fn reload_catalog_quiet(st: &AppState) -> Result<Reloaded, ApiError> {
    let _one = st.reload_lock.lock().await;
    let rules = st.rules.clone();
    let loaded = tokio::task::spawn_blocking(move || load_paths(&[rules]))
        .await
        .map_err(|e| ApiError::internal(format!("reload task failed: {e}")))?;
    let diags: Vec<Value> = loaded
        .diagnostics
        .iter()
        .map(|d| {
            serde_json::to_value(DiagnosticJson::new(d, &loaded.sources)).unwrap_or(Value::Null)
        })
        .collect();
    let errors = loaded.error_count();
    let catalog: Catalog = match loaded.catalog {
        Some(c) if errors == 0 => c,
        _ => {
            return Ok(Reloaded::Refused {
                errors: errors.max(1),
                diagnostics: diags,
            })
        }
    };
    let chains = catalog.chains.len();
    st.engine.load_catalog(catalog.clone()).await?;
    // The engine's catalog: the files plus the chain changes kept in the store.
    st.set_catalog(st.engine.catalog().unwrap_or(catalog));
    Ok(Reloaded::Loaded {
        chains,
        warnings: diags,
    })
}

pub async fn reload(State(st): State<Arc<AppState>>, b: Body) -> Result<Response, ApiError> {
    let _: Empty = body(b)?;
    match reload_catalog(&st, "POST /api/v1/reload").await? {
        Reloaded::Loaded { chains, warnings } => Ok(Json(
            json!({ "reloaded": true, "chains": chains, "warnings": warnings }),
        )
        .into_response()),
        Reloaded::Refused {
            errors,
            diagnostics,
        } => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "catalog_errors",
            format!("the rule files have {errors} error(s); the catalog in use is kept",),
        )
        .with("diagnostics", Value::Array(diagnostics))),
    }
}
