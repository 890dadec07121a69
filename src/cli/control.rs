//! The control commands: `start C`, `stop JOB [STEP]`, `alter JOB [STEP] --set ...`,
//! `evaluate JOB`, `event NAME`.
//!
//! With `--server URL` (or CHAINSCHED_SERVER) they are requests to a running service, with the
//! bearer token from `--token-file` or CHAINSCHED_TOKEN. Without it, when a process holds the
//! `--db` store folder and serves the API for it (`serve`, and `run`/`resume` while they run),
//! the request goes to that process, with the token it wrote into the folder's holder file
//! (`store::holder`). Otherwise there is no engine to ask,
//! so the command itself becomes the engine on the embedded store (`--db`): it opens the store
//! (recovering its unfinished jobs, with the catalog the last engine stored), carries out the
//! request, and returns once no program step is running or due in any job — every job has
//! ended, stalled, or waits only for events — so that nothing it started is cut off. What is
//! printed is the same in both modes.

use super::views::{format, CmdError};
use super::OutputFormat;
use crate::catalog::{Catalog, StepTarget};
use crate::core::types::{AlterChange, JobState, PresetState, StartRequest, StepState};
use crate::runtime::{Engine, EngineError, EngineOptions};
use crate::server::client::{encode, Client};
use crate::views::render::{self, Format};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

/// Where the request goes.
#[derive(Debug, Clone, clap::Args)]
pub struct ControlArgs {
    /// The store (when no --server is given): a folder (the embedded sled store) or a PostgreSQL database
    /// (postgres://user@host:port/dbname); CHAINSCHED_DB when not given.
    #[arg(long, env = "CHAINSCHED_DB", hide_env_values = true, default_value = crate::store::open::DEFAULT_DB)]
    pub db: String,
    /// URL of a running `chainsched serve`.
    #[arg(long, env = "CHAINSCHED_SERVER")]
    pub server: Option<String>,
    /// File holding the bearer token (else the CHAINSCHED_TOKEN variable).
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
}

/// The operating-system user running the command: the REQUESTED_BY of jobs it starts.
pub(crate) fn requesting_user() -> Option<String> {
    ["USER", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|u| u.trim().to_string())
        .find(|u| !u.is_empty())
}

/// Where a request goes: `--server URL`, else the process that holds the `--db` store folder
/// when it serves the API for it (`run`, `resume`, `serve`: `store::holder`), else nowhere (the
/// command opens the store itself).
pub(crate) fn server_url(c: &ControlArgs) -> Option<String> {
    explicit_server(c).or_else(|| local_control(&c.db).map(|ctl| ctl.url))
}

fn explicit_server(c: &ControlArgs) -> Option<String> {
    c.server
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// How to reach the process holding the store folder `db`, if one serves the API for it.
pub(crate) fn local_control(db: &str) -> Option<crate::store::holder::Control> {
    match crate::store::DbLocation::parse(db) {
        Ok(crate::store::DbLocation::Sled(path)) => crate::store::holder::live_control(&path),
        _ => None,
    }
}

pub(crate) fn client(c: &ControlArgs, url: &str) -> Result<Client, CmdError> {
    if explicit_server(c).is_none() {
        // The holder of the --db folder: its own token, from its holder file.
        if let Some(ctl) = local_control(&c.db).filter(|ctl| ctl.url == url) {
            return Ok(Client::new(url, ctl.token));
        }
    }
    let token = super::serve::token(&c.token_file).map_err(CmdError::Usage)?;
    Ok(Client::new(url, token))
}

pub(crate) fn engine_error(e: EngineError) -> CmdError {
    CmdError::Problem(e.to_string())
}

/// Run `f` against an engine opened on the embedded store, then wait until it is quiet.
pub(crate) fn embedded<T, F, Fut>(c: &ControlArgs, f: F) -> Result<T, CmdError>
where
    F: FnOnce(Engine) -> Fut,
    Fut: Future<Output = Result<T, CmdError>>,
{
    if super::db_missing(&c.db) {
        return Err(CmdError::Problem(format!(
            "no store at {} (start `chainsched serve --rules DIR` and pass --server URL, or give --db PATH)",
            super::db_display(&c.db)
        )));
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CmdError::Problem(format!("cannot start the async runtime: {e}")))?;
    let time_scale = std::env::var("CHAINSCHED_TIME_SCALE")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v > 0.0)
        .unwrap_or(1.0);
    let db = c.db.clone();
    rt.block_on(async move {
        let options = EngineOptions {
            time_scale,
            cluster: crate::runtime::ClusterOptions {
                role: "control".into(),
                ..Default::default()
            },
            ..EngineOptions::default()
        };
        let engine = Engine::open_db(&db, options).await.map_err(|e| {
            // A store another process holds: the error names it and what to do.
            let text = e.to_string();
            if text.starts_with("cannot open the store") {
                CmdError::Problem(text)
            } else {
                CmdError::Problem(format!(
                    "cannot open the store at {}: {text}",
                    super::db_display(&db)
                ))
            }
        })?;
        let out = f(engine.clone()).await;
        if out.is_ok() {
            settle(&engine).await;
        }
        engine.shutdown().await;
        out
    })
}

/// Whether a job has nothing running or due but event waits.
fn quiet(engine: &Engine, catalog: &Catalog, job: &str) -> bool {
    let Ok(Some(record)) = engine.job(job) else {
        return true;
    };
    match record.state {
        // Waits for a slot, except in a disabled group (`max_running 0`), where it waits for
        // an operator.
        JobState::Enqueued => {
            return record
                .group
                .as_deref()
                .is_some_and(|g| crate::views::apex::group_disabled(catalog, g))
        }
        JobState::Running => {}
        _ => return true,
    }
    let Ok(steps) = engine.steps(job) else {
        return true;
    };
    !steps.iter().any(|s| match s.state {
        StepState::Scheduled | StepState::RetryScheduled => true,
        StepState::Running => {
            let kind = catalog
                .chains
                .get(&s.chain)
                .and_then(|c| c.steps.iter().find(|d| d.name == s.step))
                .map(|d| &d.kind);
            // Event waits and nested chains (whose own steps are checked) do not count.
            !matches!(
                kind,
                Some(StepTarget::Event { .. }) | Some(StepTarget::Chain(_))
            )
        }
        _ => false,
    })
}

/// Wait until every unfinished job is quiet (Ctrl-C stops waiting).
async fn settle(engine: &Engine) {
    let catalog = engine.store().catalog().ok().flatten().unwrap_or_default();
    loop {
        let jobs = engine.unfinished_jobs().await.unwrap_or_default();
        if jobs.iter().all(|j| quiet(engine, &catalog, j)) {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            _ = tokio::signal::ctrl_c() => {
                errln!("interrupted: the unfinished jobs stay in the store (resume them with `chainsched resume`)");
                return;
            }
        }
    }
}

pub(crate) fn finish(result: Result<String, CmdError>) -> i32 {
    match result {
        Ok(text) => {
            out!("{text}");
            0
        }
        Err(e) => e.report(),
    }
}

/// The printed answer: a line for people, or the API's JSON object, or CSV of its members.
pub(crate) fn answer(fmt: OutputFormat, line: String, obj: Value) -> String {
    match format(fmt) {
        Format::Table => format!("{line}\n"),
        Format::Json => render::json(&obj),
        Format::Csv => {
            let map = obj.as_object().cloned().unwrap_or_default();
            let cols: Vec<String> = map.keys().map(|k| k.to_ascii_uppercase()).collect();
            let cols_ref: Vec<&str> = cols.iter().map(String::as_str).collect();
            let cells: Vec<String> = map.values().map(crate::views::rows::cell_text).collect();
            render::csv(&cols_ref, std::iter::once(cells))
        }
    }
}

/// Parse `K=V` pairs (`--param`).
pub fn parse_params(items: &[String]) -> Result<BTreeMap<String, String>, CmdError> {
    items
        .iter()
        .map(|p| {
            p.split_once('=')
                .filter(|(k, _)| !k.trim().is_empty())
                .map(|(k, v)| (k.trim().to_ascii_uppercase(), v.to_string()))
                .ok_or_else(|| CmdError::Usage(format!("--param '{p}' is not NAME=VALUE")))
        })
        .collect()
}

// ---------------------------------------------------------------- start

#[derive(Debug, clap::Args)]
pub struct StartArgs {
    /// The chain to run (or a job definition's name); may be left out with `--definition`.
    #[arg(required_unless_present = "definition")]
    pub chain: Option<String>,
    #[arg(long)]
    pub job: Option<String>,
    /// K=V (repeatable)
    #[arg(long = "param")]
    pub params: Vec<String>,
    /// Run with start steps: A,B
    #[arg(long, value_delimiter = ',')]
    pub start_steps: Vec<String>,
    /// Run with step states: A=SUCCEEDED or A='FAILED 20100' (repeatable)
    #[arg(long = "step-state")]
    pub step_states: Vec<String>,
    /// Run of this job definition (its group, serialize by, parameter defaults,
    /// max_run_duration); several runs may exist under different --job names.
    #[arg(long)]
    pub definition: Option<String>,
    /// Resource group of this run (dotted path, e.g. FINANCE.LOANS).
    #[arg(long)]
    pub group: Option<String>,
    /// Start even when --job names an ended job still in the store (its records are
    /// replaced by the new run's); without it such a start is refused.
    #[arg(long)]
    pub replace: bool,
    /// Return at the job's next break point: `idle` (it has ended, or nothing of it runs and
    /// it only waits: event steps, AFTER delays, pauses, the queue) or `end`; prints its state.
    #[arg(long)]
    pub wait: Option<String>,
    /// With --wait: give up waiting after this long (30s, 5m; default 30s, at most 1h).
    #[arg(long, requires = "wait")]
    pub timeout: Option<String>,
    #[command(flatten)]
    pub ctl: ControlArgs,
}

pub fn start(a: StartArgs) -> i32 {
    if a.wait.is_some() {
        return super::apex::start_and_wait(a);
    }
    finish((|| {
        let (body, request) = start_parts(&a)?;
        let job = match server_url(&a.ctl) {
            Some(url) => {
                let resp: Value = client(&a.ctl, &url)?.post("/api/v1/jobs", &body)?;
                resp["job"].as_str().map(String::from).ok_or_else(|| {
                    CmdError::Problem("the service did not name the new job".into())
                })?
            }
            None => {
                let fmt = a.ctl.format;
                embedded(&a.ctl, move |engine: Engine| async move {
                    let job = engine.start(request).await.map_err(engine_error)?;
                    // Say the name now: the command then runs the job until it is quiet.
                    out!("{}", answer(fmt, job.clone(), json!({ "job": job })));
                    use std::io::Write as _;
                    let _ = std::io::stdout().flush();
                    Ok(job)
                })?;
                return Ok(String::new());
            }
        };
        Ok(answer(a.ctl.format, job.clone(), json!({ "job": job })))
    })())
}

/// A start as the API's JSON body and as the engine's request.
pub(crate) fn start_parts(a: &StartArgs) -> Result<(Value, StartRequest), CmdError> {
    let parameters = parse_params(&a.params)?;
    let mut states = Vec::new();
    for s in &a.step_states {
        let (step, state) = s
            .split_once('=')
            .ok_or_else(|| CmdError::Usage(format!("--step-state '{s}' is not STEP=STATE")))?;
        let preset = PresetState::parse(state)
            .map_err(|e| CmdError::Usage(format!("--step-state {step}: {e}")))?;
        states.push((step.trim().to_string(), state.trim().to_string(), preset));
    }
    let body = json!({
        "chain": a.chain.clone().unwrap_or_default(),
        "job": a.job,
        "parameters": parameters,
        "start_steps": a.start_steps,
        "definition": a.definition,
        "group": a.group,
        "requested_by": requesting_user(),
        "replace": a.replace,
        "step_states": states.iter().map(|(s, t, _)| (s.clone(), Value::String(t.clone()))).collect::<serde_json::Map<_, _>>(),
    });
    let request = StartRequest {
        job: a.job.clone(),
        chain: a.chain.clone().unwrap_or_default(),
        requested_by: requesting_user(),
        parameters,
        start_steps: a.start_steps.clone(),
        step_states: states.iter().map(|(s, _, p)| (s.clone(), *p)).collect(),
        definition: a.definition.clone(),
        group: a.group.clone(),
        refuse_ended: !a.replace,
    };
    Ok((body, request))
}

// ---------------------------------------------------------------- stop, evaluate

#[derive(Debug, clap::Args)]
pub struct StopArgs {
    /// The job to stop (or --chain and --state for every job of a chain in those states).
    #[arg(required_unless_present = "chain")]
    pub job: Option<String>,
    /// Stop only this step (a nested step by subname, e.g. N.I2).
    pub step: Option<String>,
    /// Bulk stop: every unfinished job of this chain in the --state states.
    #[arg(long, conflicts_with = "job", requires = "state")]
    pub chain: Option<String>,
    /// Bulk stop: the job states to stop (ENQUEUED, RUNNING, CHAIN_STALLED; comma-separated).
    #[arg(long, requires = "chain")]
    pub state: Option<String>,
    /// Bulk stop: really stop them (without it the command prints how many it would stop).
    #[arg(long, requires = "chain")]
    pub yes: bool,
    #[command(flatten)]
    pub ctl: ControlArgs,
}

pub fn stop(a: StopArgs) -> i32 {
    let Some(job) = a.job.clone() else {
        return super::apex::bulk_stop(a);
    };
    finish((|| {
        let a = StopArgs {
            job: Some(job.clone()),
            ..a
        };
        let job_name = job;
        match server_url(&a.ctl) {
            Some(url) => {
                let _: Value = client(&a.ctl, &url)?.post(
                    &format!("/api/v1/jobs/{}/stop", encode(&job_name)),
                    // Left out (not null) for the whole job: the service refuses a null step.
                    &match &a.step {
                        Some(step) => json!({ "step": step }),
                        None => json!({}),
                    },
                )?;
            }
            None => {
                let (job, step) = (job_name.clone(), a.step.clone());
                embedded(&a.ctl, move |e: Engine| async move {
                    e.stop(&job, step.as_deref()).await.map_err(engine_error)
                })?;
            }
        }
        let line = match &a.step {
            Some(s) => format!("step {s} of job {job_name} stopped"),
            None => format!("job {job_name} stopped"),
        };
        Ok(answer(
            a.ctl.format,
            line,
            json!({ "job": job_name, "step": a.step, "stopped": true }),
        ))
    })())
}

#[derive(Debug, clap::Args)]
pub struct EvaluateArgs {
    pub job: String,
    #[command(flatten)]
    pub ctl: ControlArgs,
}

pub fn evaluate(a: EvaluateArgs) -> i32 {
    finish((|| {
        match server_url(&a.ctl) {
            Some(url) => {
                let _: Value = client(&a.ctl, &url)?.post(
                    &format!("/api/v1/jobs/{}/evaluate", encode(&a.job)),
                    &json!({}),
                )?;
            }
            None => {
                let job = a.job.clone();
                embedded(&a.ctl, move |e: Engine| async move {
                    e.evaluate(&job).await.map_err(engine_error)
                })?;
            }
        }
        Ok(answer(
            a.ctl.format,
            format!("job {} evaluated", a.job),
            json!({ "job": a.job, "evaluated": true }),
        ))
    })())
}

// ---------------------------------------------------------------- restart

#[derive(Debug, clap::Args)]
pub struct RestartArgs {
    pub job: String,
    /// The top-level steps to run again, comma-separated (default: the FAILED and STOPPED
    /// ones); the steps their rules start run again too, SUCCEEDED steps are kept.
    #[arg(long, value_delimiter = ',')]
    pub from: Vec<String>,
    #[command(flatten)]
    pub ctl: ControlArgs,
}

/// `chainsched restart JOB [--from A,B]`: reopen an ended FAILED or STOPPED job in place
/// (docs/operations.md, "Restarting a job"). With --db the job then runs in this process until
/// it ends or only waits for events (as `resume` does).
pub fn restart(a: RestartArgs) -> i32 {
    finish((|| {
        let from: Vec<String> = a
            .from
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        let state = match server_url(&a.ctl) {
            Some(url) => {
                let v: Value = client(&a.ctl, &url)?.post(
                    &format!("/api/v1/jobs/{}/restart", encode(&a.job)),
                    &json!({ "from": from }),
                )?;
                v["state"].as_str().unwrap_or("RUNNING").to_string()
            }
            None => {
                let job = a.job.clone();
                embedded(&a.ctl, move |e: Engine| async move {
                    e.restart(&job, &from).await.map_err(engine_error)?;
                    Ok(e)
                })
                .and_then(|e| {
                    e.job(&a.job)
                        .map_err(engine_error)
                        .map(|r| r.map_or_else(|| "-".into(), |r| r.state.as_str().to_string()))
                })?
            }
        };
        Ok(answer(
            a.ctl.format,
            format!("job {} restarted; it is {state}", a.job),
            json!({ "job": a.job, "restarted": true, "state": state }),
        ))
    })())
}

// ---------------------------------------------------------------- alter

#[derive(Debug, clap::Args)]
pub struct AlterArgs {
    pub job: String,
    /// One step (a nested step by subname, e.g. N.I2); all steps when left out.
    pub step: Option<String>,
    /// pause=true|false, pause_before=true|false, skip=true|false, state=SUCCEEDED|NOT_STARTED|'FAILED n', restart_on_failure=true|false, restart_on_recovery=true|false, timeout=30m|none (repeatable)
    #[arg(long = "set", required = true)]
    pub set: Vec<String>,
    /// Evaluate the chain right after altering it.
    #[arg(long)]
    pub evaluate: bool,
    #[command(flatten)]
    pub ctl: ControlArgs,
}

/// The change from `--set` items, and the API body members.
pub fn parse_sets(
    sets: &[String],
) -> Result<(AlterChange, serde_json::Map<String, Value>), CmdError> {
    let mut change = AlterChange::default();
    let mut body = serde_json::Map::new();
    for item in sets {
        let (k, v) = item
            .split_once('=')
            .ok_or_else(|| CmdError::Usage(format!("--set '{item}' is not ATTRIBUTE=VALUE")))?;
        let key = k.trim().to_ascii_lowercase();
        let v = v.trim().trim_matches(|c| c == '\'' || c == '"');
        let flag = || match v.to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(CmdError::Usage(format!(
                "--set {key}={v}: the value must be true or false"
            ))),
        };
        match key.as_str() {
            "pause" => {
                let b = flag()?;
                change.pause = Some(b);
                body.insert(key.clone(), Value::Bool(b));
            }
            "pause_before" => {
                let b = flag()?;
                change.pause_before = Some(b);
                body.insert(key.clone(), Value::Bool(b));
            }
            "skip" => {
                let b = flag()?;
                change.skip = Some(b);
                body.insert(key.clone(), Value::Bool(b));
            }
            "state" => {
                change.state =
                    Some(PresetState::parse(v).map_err(|e| CmdError::Usage(format!("--set {e}")))?);
                body.insert(key.clone(), Value::String(v.to_string()));
            }
            "restart_on_failure" => {
                let b = flag()?;
                change.restart_on_failure = Some(b);
                body.insert(key.clone(), Value::Bool(b));
            }
            "restart_on_recovery" => {
                let b = flag()?;
                change.restart_on_recovery = Some(b);
                body.insert(key.clone(), Value::Bool(b));
            }
            "timeout" => {
                let t = if v.eq_ignore_ascii_case("none") || v == "0" {
                    0
                } else {
                    crate::lang::duration::parse_duration(v)
                        .or_else(|| crate::lang::duration::parse_hms(v))
                        .filter(|t| *t > 0)
                        .ok_or_else(|| {
                            CmdError::Usage(format!(
                                "--set timeout={v}: not a duration such as 30m, 1h30m or 01:30:00 (or none)"
                            ))
                        })?
                };
                change.timeout = Some(t);
                body.insert(key.clone(), Value::String(v.to_string()));
            }
            other => {
                const ATTRIBUTES: [&str; 7] = [
                    "pause",
                    "pause_before",
                    "skip",
                    "state",
                    "restart_on_failure",
                    "restart_on_recovery",
                    "timeout",
                ];
                let hint = crate::lang::diagnostic::did_you_mean(
                    crate::lang::diagnostic::nearest_name(other, ATTRIBUTES).as_deref(),
                );
                return Err(CmdError::Usage(format!(
                    "--set {other}: not one of {}{hint}",
                    ATTRIBUTES.join(", ")
                )));
            }
        }
    }
    Ok((change, body))
}

pub fn alter(a: AlterArgs) -> i32 {
    finish((|| {
        let (change, mut body) = parse_sets(&a.set)?;
        match server_url(&a.ctl) {
            Some(url) => {
                if let Some(s) = &a.step {
                    body.insert("step".into(), Value::String(s.clone()));
                }
                body.insert("evaluate".into(), Value::Bool(a.evaluate));
                let _: Value = client(&a.ctl, &url)?.post(
                    &format!("/api/v1/jobs/{}/alter", encode(&a.job)),
                    &Value::Object(body),
                )?;
            }
            None => {
                let (job, step, eval) = (a.job.clone(), a.step.clone(), a.evaluate);
                embedded(&a.ctl, move |e: Engine| async move {
                    e.alter(&job, step.as_deref(), change)
                        .await
                        .map_err(engine_error)?;
                    if eval {
                        e.evaluate(&job).await.map_err(engine_error)?;
                    }
                    Ok(())
                })?;
            }
        }
        let target = match &a.step {
            Some(s) => format!("step {s} of job {}", a.job),
            None => format!("every step of job {}", a.job),
        };
        let mut line = format!("{target} altered ({})", a.set.join(", "));
        if a.evaluate {
            line.push_str("; evaluated");
        }
        Ok(answer(
            a.ctl.format,
            line,
            json!({ "job": a.job, "step": a.step, "altered": true, "evaluated": a.evaluate }),
        ))
    })())
}

// ---------------------------------------------------------------- event

#[derive(Debug, clap::Args)]
pub struct EventArgs {
    pub name: String,
    /// Only this job's waiting steps.
    #[arg(long)]
    pub job: Option<String>,
    /// The event's JSON payload: an object, whose members `where` conditions test.
    #[arg(long)]
    pub payload: Option<String>,
    /// When it completes no waiting step, keep it this long (30s, 10m, 1h30m) for a step that
    /// starts waiting later; see `chainsched events`. Without it, such an event is dropped.
    #[arg(long, value_name = "DURATION")]
    pub keep: Option<String>,
    #[command(flatten)]
    pub ctl: ControlArgs,
}

pub fn event(a: EventArgs) -> i32 {
    finish((|| {
        let payload: Value = match &a.payload {
            None => Value::Null,
            Some(p) => serde_json::from_str(p)
                .map_err(|e| CmdError::Usage(format!("--payload is not JSON: {e}")))?,
        };
        if !(payload.is_object() || payload.is_null()) {
            return Err(CmdError::Usage(
                "--payload must be a JSON object such as '{\"file\": \"sales.csv\"}' \
                 (its members are what `where` conditions test)"
                    .into(),
            ));
        }
        let keep = match a.keep.as_deref() {
            None => None,
            Some(k) => Some(
                crate::lang::duration::parse_duration(k)
                    .filter(|ms| *ms > 0)
                    .ok_or_else(|| {
                        CmdError::Usage(format!(
                            "--keep {k}: not a duration such as 30s, 10m or 1h30m"
                        ))
                    })?,
            ),
        };
        let obj: Value = match server_url(&a.ctl) {
            Some(url) => client(&a.ctl, &url)?.post(
                "/api/v1/events",
                &json!({ "name": a.name, "job": a.job, "payload": payload,
                         "keep": a.keep.as_deref().map(str::trim) }),
            )?,
            None => {
                let (name, job) = (a.name.clone(), a.job.clone());
                let d = embedded(&a.ctl, move |e: Engine| async move {
                    e.deliver_event(
                        &name,
                        payload,
                        job.as_deref(),
                        keep.map(Duration::from_millis),
                    )
                    .await
                    .map_err(engine_error)
                })?;
                crate::server::control::event_answer(&a.name, &d)
            }
        };
        let line = obj["message"]
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| {
                format!(
                    "event {}: {} waiting step(s) completed",
                    a.name,
                    obj["completed_steps"].as_u64().unwrap_or(0)
                )
            });
        Ok(answer(a.ctl.format, line, obj))
    })())
}
