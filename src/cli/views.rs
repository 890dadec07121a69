//! The view commands: `jobs`, `steps JOB`, `log`, `details LOG_ID`, `timeline JOB`, `stats`,
//! `explain JOB`, `schedules`, and the catalog views `chains`, `chain-steps`, `chain-rules`,
//! `running`.
//!
//! Each reads either the embedded store (`--db`, default ./chainsched-data) or a running
//! service (`--server URL` or CHAINSCHED_SERVER) and prints the same rows either way: from the
//! store through `views::query`, from the service as the API's JSON read back into the same
//! row types, then one renderer (`views::render`) for `--format table|json|csv`.
//! Exit status: 0 rows printed (possibly none), 1 a problem (unknown job, unreachable
//! service, store in use), 2 bad usage.

use super::OutputFormat;
use crate::server::client::{encode, Client, ClientError};
use crate::store::sled_store::SledOptions;
use crate::store::{Access, ChainStore, DbLocation, OpenOptions};
use crate::views::render::{self, Format};
use crate::views::store_source::StoreViews;
use crate::views::{self, query, time::parse_rfc3339, JobFilter, LogFilter, ViewError};

/// Where the rows come from, and how to print them.
#[derive(Debug, Clone, clap::Args)]
pub struct SourceArgs {
    /// The store (when no --server is given): a folder (the embedded sled store) or a PostgreSQL database
    /// (postgres://user@host:port/dbname); CHAINSCHED_DB when not given.
    #[arg(long, env = "CHAINSCHED_DB", hide_env_values = true, default_value = crate::store::open::DEFAULT_DB)]
    pub db: String,
    /// URL of a running `chainsched serve` (e.g. http://127.0.0.1:7878).
    #[arg(long, env = "CHAINSCHED_SERVER")]
    pub server: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// `-o wide`: a table of every column (by default a table shows a narrow set that fits
    /// 100 characters); `-o json|csv|table` is `--format`.
    #[arg(short = 'o', long = "output", value_enum, conflicts_with = "format")]
    pub output: Option<OutputMode>,
    /// Only these columns, in this order (comma-separated, any case; tables and CSV).
    #[arg(long, value_delimiter = ',')]
    pub columns: Vec<String>,
}

/// `-o` of the view commands (kubectl style).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputMode {
    Wide,
    Table,
    Json,
    Csv,
}

impl SourceArgs {
    /// The rendering asked for by `--format` or `-o`.
    pub fn fmt(&self) -> Format {
        match self.output {
            Some(OutputMode::Wide | OutputMode::Table) => Format::Table,
            Some(OutputMode::Json) => Format::Json,
            Some(OutputMode::Csv) => Format::Csv,
            None => format(self.format),
        }
    }

    /// The columns asked for by `-o wide` and `--columns`.
    pub fn columns(&self) -> render::Columns {
        render::Columns::from_args(self.output == Some(OutputMode::Wide), &self.columns)
    }

    /// Rows rendered as asked; an unknown `--columns` name is bad usage.
    pub fn rows<T: views::ViewRow>(&self, rows: &[T]) -> Result<String, CmdError> {
        render::rows_in(rows, self.fmt(), &self.columns()).map_err(CmdError::Usage)
    }
}

/// A command's failure: usage (exit 2) or a problem found while running (exit 1).
#[derive(Debug)]
pub enum CmdError {
    Usage(String),
    Problem(String),
}

impl CmdError {
    pub fn report(self) -> i32 {
        match self {
            CmdError::Usage(m) => {
                errln!("error: {m}");
                2
            }
            CmdError::Problem(m) => {
                errln!("error: {m}");
                1
            }
        }
    }
}

impl From<ViewError> for CmdError {
    fn from(e: ViewError) -> Self {
        match e {
            ViewError::BadRequest(m) => CmdError::Usage(m),
            other => CmdError::Problem(other.to_string()),
        }
    }
}

impl From<ClientError> for CmdError {
    fn from(e: ClientError) -> Self {
        CmdError::Problem(e.to_string())
    }
}

pub fn format(f: OutputFormat) -> Format {
    match f {
        OutputFormat::Table => Format::Table,
        OutputFormat::Json => Format::Json,
        OutputFormat::Csv => Format::Csv,
    }
}

/// Milliseconds since the Unix epoch (the runtime's time base).
pub fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Open the store for reading views: a sled folder (which must exist; sled lets one process
/// at a time open it) or a PostgreSQL database (read only, beside a running engine).
pub fn open_store(db: &str) -> Result<ChainStore, CmdError> {
    let location = DbLocation::parse(db).map_err(|e| CmdError::Usage(e.to_string()))?;
    let path = match &location {
        DbLocation::Postgres(_) => {
            return ChainStore::open(db, &OpenOptions::new(Access::Read))
                .map_err(|e| CmdError::Problem(e.to_string()))
        }
        DbLocation::Sled(path) => path,
    };
    if !path.exists() {
        return Err(CmdError::Problem(format!(
            "no store at {} (give --db PATH, or --server URL for a running service)",
            path.display()
        )));
    }
    // A store another process holds: the error names it and what to do (`store::holder`).
    ChainStore::open_sled(path, &SledOptions::default())
        .map_err(|e| CmdError::Problem(e.to_string()))
}

pub(crate) enum Backend {
    Local(StoreViews),
    Remote(Client),
}

pub(crate) fn backend(src: &SourceArgs) -> Result<Backend, CmdError> {
    match src
        .server
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(url) => Ok(Backend::Remote(Client::new(url, None))),
        // The process holding the --db folder serves the views for it (`store::holder`).
        None => match super::control::local_control(&src.db) {
            Some(ctl) => Ok(Backend::Remote(Client::new(&ctl.url, ctl.token))),
            None => Ok(Backend::Local(StoreViews::new(open_store(&src.db)?, None))),
        },
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

/// `?a=b&c=d` from the pairs that have a value.
pub(crate) fn query_string(pairs: &[(&str, Option<String>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", encode(v))))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// `--since`/`--until`: an RFC 3339 time, or a duration back from now (`2h`, `30m`, `1d`,
/// `1h30m`, `90s`), as `journalctl --since` and `kubectl --since` take them.
fn instant(flag: &str, v: &Option<String>) -> Result<Option<u64>, CmdError> {
    instant_at(flag, v, now_millis())
}

fn instant_at(flag: &str, v: &Option<String>, now: u64) -> Result<Option<u64>, CmdError> {
    match v {
        None => Ok(None),
        Some(t) => parse_rfc3339(t)
            .or_else(|| {
                let ago = t.trim().strip_suffix(" ago").unwrap_or(t.trim());
                crate::lang::duration::parse_duration(ago).map(|d| now.saturating_sub(d))
            })
            .map(Some)
            .ok_or_else(|| {
                CmdError::Usage(format!(
                    "{flag} '{t}' is neither an RFC 3339 time (2024-05-01T12:00:00Z) nor a duration back from now (2h, 30m, 1d, 1h30m)"
                ))
            }),
    }
}

/// The `--since`/`--until` instant as the API takes it (RFC 3339).
fn instant_text(flag: &str, v: &Option<String>) -> Result<Option<String>, CmdError> {
    Ok(instant(flag, v)?.map(views::time::rfc3339))
}

// ---------------------------------------------------------------- jobs

#[derive(Debug, clap::Args)]
pub struct JobsArgs {
    /// Only jobs in these states (comma-separated: RUNNING,CHAIN_STALLED).
    #[arg(long)]
    pub state: Option<String>,
    #[arg(long)]
    pub chain: Option<String>,
    /// At most this many jobs (newest first).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Only jobs started at or after this time: RFC 3339, or a duration back from now (2h, 1d).
    #[arg(long)]
    pub since: Option<String>,
    /// Only jobs started before this time: RFC 3339, or a duration back from now.
    #[arg(long)]
    pub until: Option<String>,
    #[command(flatten)]
    pub src: SourceArgs,
}

pub fn jobs(a: JobsArgs) -> i32 {
    finish((|| {
        let filter = JobFilter {
            job: None,
            chain: a.chain.clone(),
            states: views::parse_job_states(a.state.as_deref().unwrap_or(""))?,
            since: instant("--since", &a.since)?,
            until: instant("--until", &a.until)?,
            limit: a.limit,
        };
        let rows = match backend(&a.src)? {
            Backend::Local(v) => query::jobs(&v, &filter, now_millis())?,
            Backend::Remote(c) => c.get(&format!(
                "/api/v1/jobs{}",
                query_string(&[
                    ("state", a.state.clone()),
                    ("chain", a.chain.clone()),
                    ("limit", a.limit.map(|l| l.to_string())),
                    ("since", instant_text("--since", &a.since)?),
                    ("until", instant_text("--until", &a.until)?),
                ])
            ))?,
        };
        a.src.rows(&rows)
    })())
}

// ---------------------------------------------------------------- steps

#[derive(Debug, clap::Args)]
pub struct StepsArgs {
    pub job: String,
    /// Also show the last step states of a job that is no longer running.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub src: SourceArgs,
}

pub fn steps(a: StepsArgs) -> i32 {
    finish((|| {
        let rows = match backend(&a.src)? {
            Backend::Local(v) => query::running_chains(&v, Some(&a.job), a.all, now_millis())?,
            Backend::Remote(c) => c.get(&format!(
                "/api/v1/jobs/{}/steps{}",
                encode(&a.job),
                if a.all { "?history=true" } else { "" }
            ))?,
        };
        a.src.rows(&rows)
    })())
}

#[derive(Debug, clap::Args)]
pub struct RunningArgs {
    #[command(flatten)]
    pub src: SourceArgs,
}

/// running_chains of every running or stalled job.
pub fn running(a: RunningArgs) -> i32 {
    finish((|| {
        let rows = match backend(&a.src)? {
            Backend::Local(v) => query::running_chains(&v, None, false, now_millis())?,
            Backend::Remote(c) => c.get("/api/v1/running_chains")?,
        };
        a.src.rows(&rows)
    })())
}

// ---------------------------------------------------------------- log, details

#[derive(Debug, clap::Args)]
pub struct LogArgs {
    #[arg(long)]
    pub job: Option<String>,
    #[arg(long)]
    pub chain: Option<String>,
    /// Only rows after this log id.
    #[arg(long)]
    pub since_id: Option<u64>,
    /// At most this many rows (the most recent ones unless --since-id is given).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Only rows logged at or after this time: RFC 3339, or a duration back from now (2h, 1d).
    #[arg(long)]
    pub since: Option<String>,
    /// Only rows logged before this time: RFC 3339, or a duration back from now.
    #[arg(long)]
    pub until: Option<String>,
    #[command(flatten)]
    pub src: SourceArgs,
}

pub fn log(a: LogArgs) -> i32 {
    finish((|| {
        let filter = LogFilter {
            job: a.job.clone(),
            chain: a.chain.clone(),
            since_id: a.since_id,
            since: instant("--since", &a.since)?,
            until: instant("--until", &a.until)?,
            limit: a.limit,
        };
        let rows = match backend(&a.src)? {
            Backend::Local(v) => query::job_log(&v, &filter)?,
            Backend::Remote(c) => c.get(&format!(
                "/api/v1/log{}",
                query_string(&[
                    ("job", a.job.clone()),
                    ("chain", a.chain.clone()),
                    ("since_id", a.since_id.map(|i| i.to_string())),
                    ("limit", a.limit.map(|l| l.to_string())),
                    ("since", instant_text("--since", &a.since)?),
                    ("until", instant_text("--until", &a.until)?),
                ])
            ))?,
        };
        a.src.rows(&rows)
    })())
}

#[derive(Debug, clap::Args)]
pub struct DetailsArgs {
    pub log_id: String,
    #[command(flatten)]
    pub src: SourceArgs,
}

pub fn details(a: DetailsArgs) -> i32 {
    finish((|| {
        let id: u64 = a.log_id.trim().parse().map_err(|_| {
            CmdError::Usage(format!(
                "LOG_ID '{}' is not a non-negative integer",
                a.log_id
            ))
        })?;
        let row: views::RunDetailsRow = match backend(&a.src)? {
            Backend::Local(v) => query::run_details(&v, id)?,
            Backend::Remote(c) => c.get(&format!("/api/v1/log/{id}"))?,
        };
        Ok(render::record(&row, a.src.fmt()))
    })())
}

// ---------------------------------------------------------------- timeline, stats, explain

#[derive(Debug, clap::Args)]
pub struct TimelineArgs {
    pub job: String,
    #[command(flatten)]
    pub src: SourceArgs,
}

pub fn timeline(a: TimelineArgs) -> i32 {
    finish((|| {
        let rows = match backend(&a.src)? {
            Backend::Local(v) => query::timeline(&v, &a.job)?,
            Backend::Remote(c) => c.get(&format!("/api/v1/jobs/{}/timeline", encode(&a.job)))?,
        };
        a.src.rows(&rows)
    })())
}

#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    #[arg(long)]
    pub chain: Option<String>,
    /// Averages of run and queue time per job `definition` or per resource `group` (ended
    /// jobs) instead of per chain and step.
    #[arg(long, conflicts_with = "runs")]
    pub by: Option<String>,
    /// The chain's last N finished runs instead: each run, the success rate, p50/p90 run
    /// duration, average wait, and each step's durations over those runs (needs --chain).
    #[arg(long, requires = "chain", value_parser = clap::value_parser!(u64).range(1..=crate::views::history::MAX_RUNS as u64))]
    pub runs: Option<u64>,
    #[command(flatten)]
    pub src: SourceArgs,
}

/// `stats --chain C --runs N`: the chain history (the numbers the dashboard's chain page draws).
fn chain_history(a: &StatsArgs, chain: &str, runs: usize) -> Result<String, CmdError> {
    let h: views::history::ChainHistory = match backend(&a.src)? {
        Backend::Local(v) => views::history::chain_history(&v, chain, runs)?,
        Backend::Remote(c) => c.get(&format!(
            "/api/v1/chains/{}/history?runs={runs}",
            encode(chain)
        ))?,
    };
    Ok(views::history::render_history(&h, format(a.src.format)))
}

pub fn stats(a: StatsArgs) -> i32 {
    if let Some(by) = &a.by {
        return super::apex::stats_by(by, a.chain.as_deref(), &a.src);
    }
    if let (Some(chain), Some(runs)) = (a.chain.as_deref(), a.runs) {
        return finish(chain_history(&a, chain, runs as usize));
    }
    finish((|| {
        let rows = match backend(&a.src)? {
            Backend::Local(v) => query::stats(&v, a.chain.as_deref())?,
            Backend::Remote(c) => c.get(&format!(
                "/api/v1/stats{}",
                query_string(&[("chain", a.chain.clone())])
            ))?,
        };
        a.src.rows(&rows)
    })())
}

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    pub job: String,
    #[command(flatten)]
    pub src: SourceArgs,
}

pub fn explain(a: ExplainArgs) -> i32 {
    finish((|| {
        let e: views::Explanation = match backend(&a.src)? {
            Backend::Local(v) => query::explain(&v, &a.job, now_millis())?,
            Backend::Remote(c) => c.get(&format!("/api/v1/jobs/{}/explain", encode(&a.job)))?,
        };
        render::explanation_in(&e, a.src.fmt(), &a.src.columns()).map_err(CmdError::Usage)
    })())
}

// ---------------------------------------------------------------- catalog views

#[derive(Debug, clap::Args)]
pub struct ChainArgs {
    /// Only this chain.
    pub chain: Option<String>,
    #[command(flatten)]
    pub src: SourceArgs,
}

pub fn chains(a: ChainArgs) -> i32 {
    finish((|| {
        let rows: Vec<views::ChainRow> = match backend(&a.src)? {
            Backend::Local(v) => query::chains(&v, a.chain.as_deref())?,
            Backend::Remote(c) => {
                let all: Vec<views::ChainRow> = c.get("/api/v1/chains")?;
                match &a.chain {
                    Some(name) if !all.iter().any(|r| &r.chain_name == name) => {
                        let nearest = crate::lang::diagnostic::nearest_name(
                            name,
                            all.iter().map(|r| r.chain_name.as_str()),
                        );
                        return Err(CmdError::Problem(format!(
                            "chain {name} not found{}",
                            crate::lang::diagnostic::did_you_mean(nearest.as_deref())
                        )));
                    }
                    Some(name) => all.into_iter().filter(|r| &r.chain_name == name).collect(),
                    None => all,
                }
            }
        };
        a.src.rows(&rows)
    })())
}

/// Rows of every chain from the service (one request per chain when no chain is given).
fn per_chain<T: views::ViewRow>(
    c: &Client,
    chain: &Option<String>,
    what: &str,
) -> Result<Vec<T>, CmdError> {
    let names: Vec<String> = match chain {
        Some(n) => vec![n.clone()],
        None => c
            .get::<Vec<views::ChainRow>>("/api/v1/chains")?
            .into_iter()
            .map(|r| r.chain_name)
            .collect(),
    };
    let mut out = Vec::new();
    for n in names {
        out.extend(c.get::<Vec<T>>(&format!("/api/v1/chains/{}/{what}", encode(&n)))?);
    }
    Ok(out)
}

#[derive(Debug, clap::Args)]
pub struct ProgramsArgs {
    /// Only this program.
    pub program: Option<String>,
    #[command(flatten)]
    pub src: SourceArgs,
}

/// The programs view of the catalog.
pub fn programs(a: ProgramsArgs) -> i32 {
    finish((|| {
        let rows: Vec<views::ProgramRow> = match backend(&a.src)? {
            Backend::Local(v) => query::programs(&v, a.program.as_deref())?,
            Backend::Remote(c) => {
                let all: Vec<views::ProgramRow> = c.get("/api/v1/programs")?;
                match &a.program {
                    Some(name) if !all.iter().any(|r| &r.program_name == name) => {
                        let nearest = crate::lang::diagnostic::nearest_name(
                            name,
                            all.iter().map(|r| r.program_name.as_str()),
                        );
                        return Err(CmdError::Problem(format!(
                            "program {name} not found{}",
                            crate::lang::diagnostic::did_you_mean(nearest.as_deref())
                        )));
                    }
                    Some(name) => all
                        .into_iter()
                        .filter(|r| &r.program_name == name)
                        .collect(),
                    None => all,
                }
            }
        };
        a.src.rows(&rows)
    })())
}

pub fn chain_steps(a: ChainArgs) -> i32 {
    finish((|| {
        let rows: Vec<views::ChainStepRow> = match backend(&a.src)? {
            Backend::Local(v) => query::chain_steps(&v, a.chain.as_deref())?,
            Backend::Remote(c) => per_chain(&c, &a.chain, "steps")?,
        };
        a.src.rows(&rows)
    })())
}

pub fn chain_rules(a: ChainArgs) -> i32 {
    finish((|| {
        let rows: Vec<views::ChainRuleRow> = match backend(&a.src)? {
            Backend::Local(v) => query::chain_rules(&v, a.chain.as_deref())?,
            Backend::Remote(c) => per_chain(&c, &a.chain, "rules")?,
        };
        a.src.rows(&rows)
    })())
}

// ---------------------------------------------------------------- schedules

#[derive(Debug, clap::Args)]
pub struct SchedulesArgs {
    #[command(flatten)]
    pub src: SourceArgs,
}

/// The schedules view: each scheduled job definition with its next and last run. A store on
/// which `serve` never ran has none (an empty list, not an error).
pub fn schedules(a: SchedulesArgs) -> i32 {
    finish((|| {
        let rows: Vec<views::ScheduleRow> = match backend(&a.src)? {
            Backend::Local(v) => query::schedules(&v)?,
            Backend::Remote(c) => c.get("/api/v1/schedules")?,
        };
        a.src.rows(&rows)
    })())
}

// ---------------------------------------------------------------- events

#[derive(Debug, clap::Args)]
pub struct EventsArgs {
    #[command(flatten)]
    pub src: SourceArgs,
}

/// The events view: events kept for steps that start waiting later (`event NAME --keep D`),
/// oldest first; none is an empty list.
pub fn events(a: EventsArgs) -> i32 {
    finish((|| {
        let rows: Vec<views::KeptEventRow> = match backend(&a.src)? {
            Backend::Local(v) => views::events::kept_event_rows(v.store(), now_millis())?,
            Backend::Remote(c) => c.get("/api/v1/events")?,
        };
        a.src.rows(&rows)
    })())
}

// ---------------------------------------------------------------- engines

#[derive(Debug, clap::Args)]
pub struct EnginesArgs {
    #[command(flatten)]
    pub src: SourceArgs,
}

/// The engines view: the engines sharing a PostgreSQL database, their heartbeat and the jobs
/// each owns (empty for a store one engine owns).
pub fn engines(a: EnginesArgs) -> i32 {
    finish((|| {
        let rows: Vec<views::EngineRow> = match backend(&a.src)? {
            Backend::Local(v) => views::engines::engine_rows(v.store())?,
            Backend::Remote(c) => c.get("/api/v1/engines")?,
        };
        a.src.rows(&rows)
    })())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_rfc3339_or_a_duration_back_from_now() {
        let now = 10 * 86_400_000;
        let at = |t: &str| {
            instant_at("--since", &Some(t.to_string()), now)
                .ok()
                .flatten()
        };
        assert_eq!(at("2h"), Some(now - 7_200_000));
        assert_eq!(at("1d"), Some(now - 86_400_000));
        assert_eq!(at("1h30m ago"), Some(now - 5_400_000));
        assert_eq!(at("1970-01-01T00:00:01Z"), Some(1000));
        assert!(instant_at("--since", &Some("yesterday".into()), now).is_err());
    }
}
