//! `chainsched run` and `chainsched resume`: run chain jobs for real, in the foreground.
//!
//! `run` loads the rule files, opens the store at `--db` (recovering what a previous engine left
//! unfinished), starts one job, shows live progress on standard error, and prints the job's final
//! view on standard output: a table, or with `--format json` the JSON shape of `simulate` with
//! times as durations since the job started. Ctrl-C (or SIGTERM) stops the job cleanly: its
//! steps are stopped and recorded STOPPED. A job that stalls ends the command too (it stays
//! CHAIN_STALLED in the store). Exit 0 if the job SUCCEEDED, 1 otherwise, 2 on bad usage.
//!
//! `resume` opens the store (the catalog comes from the store), recovers the unfinished jobs and
//! runs them to their end; same display, output and exit status (0 only if every recovered job
//! SUCCEEDED).
//!
//! While they run, `run` and `resume` on a store folder (which no other process can open) serve
//! the HTTP API for it on a loopback port with a token of their own, named in the folder's
//! holder file (`server::local`, `store::holder`): `chainsched event GO --db DIR`, the other
//! control commands and the views given `--db DIR` are sent there. So a chain that waits for an
//! event can be finished by `run`.
//!
//! Retention (`--keep-history`, default 30d, and `--keep-jobs`): `run` purges the ended jobs the
//! store should no longer keep in the background when it opens, and once more after its job
//! has ended (docs/operations.md, "Retention").
//! `--durability sync|relaxed` picks the durability mode (docs/durability.md). `--db :memory:`
//! runs on an in-memory store: nothing is written to disk and nothing survives the command,
//! which is what benchmarks and throw-away trials want; `resume --db :memory:` therefore has
//! nothing to resume and says so (exit 0).
//!
//! Environment: `CHAINSCHED_TIME_SCALE` (engine ms per real ms, default 1) makes AFTER delays,
//! retry delays and `builtin sleep` shorter, for demos and tests.

use super::{is_memory_db, DurabilityArg};
use crate::catalog::{load_paths, Catalog};
use crate::core::types::{JobRecord, JobState, PresetState, StartRequest};
use crate::lang::diagnostic::{did_you_mean, nearest_name, render_text};
use crate::runtime::{report, Engine, EngineError, EngineEvent, EngineOptions};
use crate::sim::names::{resolve_chain, resolve_subname};
use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::broadcast::Receiver;
use tokio::sync::watch;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The chain to run; may be left out with `--definition` (the definition names it).
    #[arg(long, required_unless_present = "definition")]
    pub chain: Option<String>,
    #[arg(long)]
    pub job: Option<String>,
    /// K=V (repeatable)
    #[arg(long = "param")]
    pub params: Vec<String>,
    /// A,B
    #[arg(long, value_delimiter = ',')]
    pub start_steps: Vec<String>,
    /// A=SUCCEEDED or A='FAILED 20100' (repeatable)
    #[arg(long = "step-state")]
    pub step_states: Vec<String>,
    /// Run of this job definition (group, serialize by, parameter defaults, max_run_duration).
    #[arg(long)]
    pub definition: Option<String>,
    /// Resource group of this run (dotted path).
    #[arg(long)]
    pub group: Option<String>,
    /// The store: a folder (the embedded sled store), a PostgreSQL database
    /// (postgres://user@host:port/dbname), or `:memory:` for an in-memory store that nothing
    /// outlives; CHAINSCHED_DB when not given.
    #[arg(long, env = "CHAINSCHED_DB", hide_env_values = true, default_value = crate::store::open::DEFAULT_DB)]
    pub db: String,
    /// sync: flush before acting on each change; relaxed: flush in the background every 500 ms.
    #[arg(long, value_enum, default_value = "sync")]
    pub durability: DurabilityArg,
    #[arg(long, value_enum, default_value = "table")]
    pub format: RunFormat,
    #[command(flatten)]
    pub retention: super::purge::RetentionArgs,
}

#[derive(Debug, clap::Args)]
pub struct ResumeArgs {
    /// The store: a folder (the embedded sled store), a PostgreSQL database
    /// (postgres://user@host:port/dbname), or `:memory:` for an in-memory store that nothing
    /// outlives; CHAINSCHED_DB when not given.
    #[arg(long, env = "CHAINSCHED_DB", hide_env_values = true, default_value = crate::store::open::DEFAULT_DB)]
    pub db: String,
    /// sync: flush before acting on each change; relaxed: flush in the background every 500 ms.
    #[arg(long, value_enum, default_value = "sync")]
    pub durability: DurabilityArg,
    #[arg(long, value_enum, default_value = "table")]
    pub format: RunFormat,
    /// Engines sharing a PostgreSQL database: the lease of the jobs this engine takes over.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = super::purge::parse_lease)]
    pub lease: std::time::Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RunFormat {
    Table,
    Json,
}

/// A problem found before anything runs: (exit code, message).
type Refusal = (i32, String);

fn usage(msg: String) -> Refusal {
    (2, msg)
}

/// An identifier as the rule language reads it: `"exact"` stays as written, anything else is
/// upper-cased.
fn identifier(text: &str) -> String {
    let t = text.trim();
    match t.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(exact) => exact.to_string(),
        None => t.to_uppercase(),
    }
}

fn load_catalog(paths: &[PathBuf]) -> Result<Catalog, Refusal> {
    for p in paths {
        if !p.exists() {
            return Err(usage(format!(
                "error: {}: no such file or folder",
                p.display()
            )));
        }
    }
    let loaded = load_paths(paths);
    match loaded.catalog {
        Some(c) if loaded.error_count() == 0 => Ok(c),
        _ => {
            let mut text = String::new();
            for d in loaded.diagnostics.iter().filter(|d| d.is_error()) {
                text.push_str(&render_text(d, &loaded.sources));
                text.push('\n');
            }
            text.push_str(&format!(
                "error: the rule files have {} error(s); nothing was run",
                loaded.error_count()
            ));
            Err((1, text))
        }
    }
}

/// Turn the flags into a start request, checking names against the catalog.
fn request(args: &RunArgs, catalog: &Catalog) -> Result<StartRequest, Refusal> {
    let chain = match (&args.chain, &args.definition) {
        (Some(c), _) => resolve_chain(catalog, &identifier(c))
            .or_else(|_| resolve_chain(catalog, c.trim()))
            .map_err(|m| usage(format!("error: --chain: {m}")))?,
        (None, Some(d)) => definition_chain(catalog, d)?,
        (None, None) => return Err(usage("error: give --chain or --definition".into())),
    };
    let mut parameters = BTreeMap::new();
    for p in &args.params {
        let Some((k, v)) = p.split_once('=') else {
            return Err(usage(format!("error: --param '{p}': expected NAME=VALUE")));
        };
        if k.trim().is_empty() {
            return Err(usage(format!("error: --param '{p}': the name is empty")));
        }
        parameters.insert(k.trim().to_uppercase(), v.to_string());
    }
    let step = |flag: &str, name: &str| {
        resolve_subname(catalog, &chain, name.trim())
            .map(|r| r.subname)
            .map_err(|m| usage(format!("error: {flag} {name}: {m}")))
    };
    let mut start_steps = Vec::new();
    for s in args.start_steps.iter().filter(|s| !s.trim().is_empty()) {
        if s.contains('.') {
            return Err(usage(format!(
                "error: --start-steps {s}: start steps are steps of chain {chain} itself, not of nested chains"
            )));
        }
        start_steps.push(step("--start-steps", s)?);
    }
    let mut step_states = Vec::new();
    for s in &args.step_states {
        let Some((name, state)) = s.split_once('=') else {
            return Err(usage(format!(
                "error: --step-state '{s}': expected STEP=STATE, e.g. A=SUCCEEDED or A='FAILED 20100'"
            )));
        };
        let state = PresetState::parse(state)
            .map_err(|m| usage(format!("error: --step-state '{s}': {m}")))?;
        if state == PresetState::NotStarted {
            return Err(usage(format!(
                "error: --step-state '{s}': a step can be preset to SUCCEEDED or 'FAILED n' only"
            )));
        }
        step_states.push((step("--step-state", name)?, state));
    }
    let job = args.job.as_deref().map(|j| {
        // A job definition of the catalog keeps its declared spelling.
        let wanted = identifier(j);
        catalog
            .jobs
            .keys()
            .find(|k| **k == wanted)
            .cloned()
            .unwrap_or(wanted)
    });
    Ok(StartRequest {
        job,
        chain,
        requested_by: super::control::requesting_user(),
        parameters,
        start_steps,
        step_states,
        definition: args.definition.as_deref().map(identifier),
        group: args.group.as_deref().map(|g| g.trim().to_ascii_uppercase()),
        refuse_ended: false,
    })
}

/// The chain a job definition names (for `run --definition D` without `--chain`).
fn definition_chain(catalog: &Catalog, wanted: &str) -> Result<String, Refusal> {
    let name = identifier(wanted);
    let Some(def) = catalog.jobs.get(&name) else {
        let hint =
            did_you_mean(nearest_name(&name, catalog.jobs.keys().map(|k| k.as_str())).as_deref());
        return Err(usage(format!(
            "error: --definition: unknown job definition {name}{hint}"
        )));
    };
    def.chain.clone().ok_or_else(|| {
        usage(format!(
            "error: --definition: job definition {name} names no chain; give --chain"
        ))
    })
}

fn options(catalog: Option<Catalog>, durability: DurabilityArg) -> EngineOptions {
    let time_scale = std::env::var("CHAINSCHED_TIME_SCALE")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(1.0);
    EngineOptions {
        catalog,
        time_scale,
        durability: durability.mode(),
        cluster: crate::runtime::ClusterOptions {
            role: "run".into(),
            ..Default::default()
        },
        ..EngineOptions::default()
    }
}

/// The engine on the store `--db` names: a sled folder, a PostgreSQL database, or the
/// in-memory store for `:memory:`.
async fn open_engine(db: &str, options: EngineOptions) -> Result<Engine, EngineError> {
    if is_memory_db(db) {
        Engine::open_in_memory(options).await
    } else {
        Engine::open_db(db, options).await
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("error: cannot start the runtime: {e}"))
}

pub fn run(args: RunArgs) -> i32 {
    let prepared = load_catalog(&args.paths).and_then(|c| request(&args, &c).map(|r| (c, r)));
    let (catalog, req) = match prepared {
        Ok(x) => x,
        Err((code, msg)) => {
            errln!("{msg}");
            return code;
        }
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(m) => {
            errln!("{m}");
            return 1;
        }
    };
    rt.block_on(run_async(args, catalog, req))
}

async fn run_async(args: RunArgs, catalog: Catalog, req: StartRequest) -> i32 {
    let retention = args.retention.retention();
    let options = EngineOptions {
        retention,
        ..options(Some(catalog), args.durability)
    };
    let engine = match open_engine(&args.db, options).await {
        Ok(e) => e,
        Err(e) => {
            errln!("error: {e}");
            return 1;
        }
    };
    report_recovery(&engine);
    let rules = args.paths.first().cloned().unwrap_or_default();
    let control = serve_control(&engine, &args.db, rules).await;
    let events = (engine.subscribe(), engine.subscribe());
    let job = match engine.start(req).await {
        Ok(j) => j,
        Err(e) => {
            errln!("error: the job was not started: {e}");
            if let Some(c) = control {
                c.stop().await;
            }
            engine.shutdown().await;
            return 1;
        }
    };
    let records = follow(&engine, events, vec![job.clone()]).await;
    if let Some(c) = control {
        c.stop().await;
    }
    let code = print_final(&engine, std::slice::from_ref(&job), args.format, &records);
    if let Ok(others) = engine.unfinished_jobs().await {
        let others: Vec<_> = others.into_iter().filter(|j| *j != job).collect();
        if !others.is_empty() {
            errln!(
                "note: {} other unfinished job(s) remain in {} ({}); `chainsched resume --db {}` runs them",
                others.len(),
                super::db_display(&args.db),
                others.join(", "),
                super::db_display(&args.db)
            );
        }
    }
    if let Some(r) = &retention {
        // The job has ended: one last pass, so the store keeps what the flags say.
        if let Err(e) = engine.purge(r).await {
            errln!("warning: purging ended jobs failed: {e}");
        }
    }
    engine.shutdown().await;
    code
}

pub fn resume(args: ResumeArgs) -> i32 {
    let memory = is_memory_db(&args.db);
    if !memory && super::db_missing(&args.db) {
        errln!(
            "error: --db {}: no store there; nothing to resume",
            super::db_display(&args.db)
        );
        return 1;
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(m) => {
            errln!("{m}");
            return 1;
        }
    };
    rt.block_on(async move {
        let resume_options = EngineOptions {
            cluster: crate::runtime::ClusterOptions {
                lease: args.lease,
                adopt: true,
                role: "resume".into(),
                address: None,
            },
            ..options(None, args.durability)
        };
        let engine = match open_engine(&args.db, resume_options).await {
            Ok(e) => e,
            Err(e) => {
                errln!("error: {e}");
                return 1;
            }
        };
        let events = (engine.subscribe(), engine.subscribe());
        report_recovery(&engine);
        let control = serve_control(&engine, &args.db, PathBuf::new()).await;
        let jobs = engine.recovery().recovered.clone();
        let failed = !engine.recovery().failed.is_empty();
        if jobs.is_empty() && args.format == RunFormat::Table {
            if memory {
                outln!(
                    "nothing to resume: --db :memory: is a new, empty in-memory store (nothing outlives the command that used one)"
                );
            } else {
                outln!(
                    "nothing to resume: no unfinished jobs in {}",
                    super::db_display(&args.db)
                );
            }
        }
        let records = follow(&engine, events, jobs.clone()).await;
        if let Some(c) = control {
            c.stop().await;
        }
        let code = if jobs.is_empty() {
            if args.format == RunFormat::Json {
                print_final(&engine, &[], args.format, &records);
            }
            0
        } else {
            print_final(&engine, &jobs, args.format, &records)
        };
        engine.shutdown().await;
        if failed {
            1
        } else {
            code
        }
    })
}

/// On a store folder (which only this process can open), serve the API for it on a loopback
/// port so that `--db` control commands and views reach this engine (`server::local`).
async fn serve_control(
    engine: &Engine,
    db: &str,
    rules: PathBuf,
) -> Option<crate::server::local::LocalControl> {
    let Ok(crate::store::DbLocation::Sled(dir)) = crate::store::DbLocation::parse(db) else {
        return None;
    };
    if is_memory_db(db) {
        return None;
    }
    let catalog = engine.catalog().unwrap_or_default();
    match crate::server::local::start(engine, catalog, rules, &dir).await {
        Ok(c) => Some(c),
        Err(e) => {
            errln!("warning: {e}; control commands cannot reach this run (`--db` ones wait for the store)");
            None
        }
    }
}

fn report_recovery(engine: &Engine) {
    let r = engine.recovery();
    if !r.recovered.is_empty() {
        errln!(
            "recovered {} unfinished job(s) from the store: {}",
            r.recovered.len(),
            r.recovered.join(", ")
        );
    }
    for (job, why) in &r.failed {
        errln!("error: job {job} cannot be recovered: {why}");
    }
}

/// Wait until every job has ended or stalled, with the live display; Ctrl-C / SIGTERM stops
/// them (a second Ctrl-C exits at once). Returns the last record of each job.
async fn follow(
    engine: &Engine,
    events: (Receiver<EngineEvent>, Receiver<EngineEvent>),
    jobs: Vec<String>,
) -> BTreeMap<String, JobRecord> {
    let (mut events, display_events) = events;
    let wanted: BTreeSet<String> = jobs.iter().cloned().collect();
    let (done_tx, done_rx) = watch::channel(false);
    let display = tokio::spawn(crate::runtime::live::show(
        display_events,
        wanted.clone(),
        std::io::stderr().is_terminal(),
        done_rx,
    ));
    let mut last: BTreeMap<String, JobRecord> = BTreeMap::new();
    for j in &jobs {
        if let Ok(Some(r)) = engine.job(j) {
            last.insert(j.clone(), r);
        }
    }
    let settled = |last: &BTreeMap<String, JobRecord>| {
        wanted.iter().all(|j| {
            last.get(j)
                .is_some_and(|r| r.state.is_finished() || r.state == JobState::ChainStalled)
        })
    };
    let mut stopping = false;
    let mut sigterm =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let mut poll = tokio::time::interval(Duration::from_millis(500));
    // An engine that stopped acting (a store write failed; engines sharing a database: it lost
    // its leases) never finishes these jobs: say so and stop following. The store keeps them.
    let lost = engine.failure();
    let after = if engine.engine_id().is_some() {
        "another engine takes its jobs over"
    } else {
        "the jobs stay in the store; `chainsched resume` continues them"
    };
    tokio::pin!(lost);
    while !settled(&last) {
        tokio::select! {
            why = &mut lost => {
                errln!("error: {why}; this engine stopped ({after})");
                break;
            }
            ev = events.recv() => match ev {
                Ok(EngineEvent::Job(r)) if wanted.contains(&r.job) => {
                    last.insert(r.job.clone(), r);
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => break,
            },
            _ = poll.tick() => {
                // Belt and braces (events can lag): read the records from the store.
                for j in &jobs {
                    if let Ok(Some(r)) = engine.job(j) {
                        last.insert(j.clone(), r);
                    }
                }
            }
            _ = tokio::signal::ctrl_c() => {
                if stopping {
                    errln!("interrupted again: exiting without waiting (the store keeps the jobs)");
                    std::process::exit(130);
                }
                stopping = true;
                stop_all(engine, &jobs, &last).await;
            }
            _ = async { match sigterm.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending::<()>().await } } => {
                if !stopping {
                    stopping = true;
                    stop_all(engine, &jobs, &last).await;
                }
            }
        }
    }
    let _ = done_tx.send(true);
    let _ = display.await;
    for j in &jobs {
        if let Ok(Some(r)) = engine.job(j) {
            last.insert(j.clone(), r);
        }
    }
    last
}

async fn stop_all(engine: &Engine, jobs: &[String], last: &BTreeMap<String, JobRecord>) {
    for j in jobs {
        if last.get(j).is_some_and(|r| r.state.is_finished()) {
            continue;
        }
        errln!("stopping job {j} ...");
        if let Err(e) = engine.stop(j, None).await {
            errln!("error: cannot stop job {j}: {e}");
        }
    }
}

/// Print the final view; exit status 0 only if every job SUCCEEDED.
fn print_final(
    engine: &Engine,
    jobs: &[String],
    format: RunFormat,
    records: &BTreeMap<String, JobRecord>,
) -> i32 {
    match report::sim_result(engine.store(), jobs) {
        Ok(result) => match format {
            RunFormat::Json => out!("{}", crate::sim::output::to_json(&result)),
            RunFormat::Table => out!("{}", report::table(&result)),
        },
        Err(e) => {
            errln!("error: cannot read the final state from the store: {e}");
            return 1;
        }
    }
    let all_ok = jobs.iter().all(|j| {
        records
            .get(j)
            .is_some_and(|r| r.state == JobState::Succeeded)
    });
    if all_ok {
        0
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::identifier;

    #[test]
    fn identifiers_are_upper_cased_unless_quoted() {
        assert_eq!(identifier("load_sales"), "LOAD_SALES");
        assert_eq!(identifier("\"step1\""), "step1");
    }
}
