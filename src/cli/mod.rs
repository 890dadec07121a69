//! Command-line interface (clap). One file per command; each returns the process exit code:
//! 0 success, 1 the command ran and found a problem, 2 bad usage.

use crate::runtime::Durability;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// `println!`, `print!` and `eprintln!` that never panic: a command whose output goes to a
/// pipe that closed early (`chainsched run … 2>&1 | head -1`) carries on and ends with its own
/// exit status instead of a panic (exit 101) half-way through its work.
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($t)*);
    }};
}
macro_rules! errln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

pub mod apex;
pub mod chain_cmd;
pub mod check;
pub mod completions;
pub mod control;
pub mod graph;
pub mod import_oracle;
pub mod job_cmd;
pub mod logging;
pub mod output_cmd;
pub mod purge;
pub mod run;
pub mod serve;
pub mod simulate;
pub mod store_cmd;
pub mod test_cmd;
pub mod views;

#[derive(Debug, Parser)]
#[command(
    name = "chainsched",
    version,
    about = "A rule-based chain engine in the style of Oracle DBMS_SCHEDULER chains"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Diagnostic log lines on stderr: `text` for people, `json` (one object per line) for
    /// log collectors. Levels come from CHAINSCHED_LOG (e.g. `info`, `chainsched=debug`);
    /// the default is `info` for `serve`, `warn` otherwise.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "CHAINSCHED_LOG_FORMAT"
    )]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// `--durability` of `run`, `resume` and `serve` (docs/durability.md, "Durability modes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DurabilityArg {
    /// Flush the store before acting on a state change (group commit). The default.
    Sync,
    /// Do not wait for flushes; the store flushes in the background every 500 ms, so a crash
    /// may lose up to the last 500 ms of changes (a step may run again).
    Relaxed,
}

/// The background flush period of `--durability relaxed`: sled's own default period, and the
/// period at which sync mode's background flush already persists progress reports.
pub const RELAXED_FLUSH_EVERY_MS: u64 = 500;

impl DurabilityArg {
    pub fn mode(self) -> Durability {
        match self {
            DurabilityArg::Sync => Durability::Sync,
            DurabilityArg::Relaxed => Durability::Relaxed {
                flush_every_ms: RELAXED_FLUSH_EVERY_MS,
            },
        }
    }
}

/// The `--db` value that asks `run`/`resume` for an in-memory store instead of a folder.
pub const MEMORY_DB: &str = ":memory:";

/// Whether `--db` names the in-memory store (`./:memory:` is a folder of that name).
pub fn is_memory_db(db: &str) -> bool {
    db == MEMORY_DB
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and validate rule files or folders; errors and warnings; exit 1 on errors.
    Check(check::CheckArgs),
    /// Draw a chain: steps, and rule edges labelled with rule names.
    Graph(graph::GraphArgs),
    /// Run chains in virtual time with scripted outcomes.
    Simulate(simulate::SimulateArgs),
    /// Run every *.scenario.toml that carries [expect] tables; report pass/fail.
    Test(test_cmd::TestArgs),
    /// Run a chain job in the foreground with live progress, then print its final state.
    Run(run::RunArgs),
    /// Recover the unfinished jobs of the store and run them to their end.
    Resume(run::ResumeArgs),
    /// The long-running engine: schedules jobs, HTTP API, web dashboard.
    Serve(serve::ServeArgs),
    /// Remove ended jobs from a store no engine has open; prints what was removed.
    Purge(purge::PurgeArgs),
    /// Start a chain job in a running engine; prints the job name.
    Start(control::StartArgs),
    /// Stop a job, or one step of it.
    Stop(control::StopArgs),
    /// Alter a running chain: pause, pause_before, skip, restart_on_failure, restart_on_recovery,
    /// timeout or the state of a step (or all steps).
    Alter(control::AlterArgs),
    /// Evaluate a running chain's rules now.
    Evaluate(control::EvaluateArgs),
    /// Restart an ended FAILED or STOPPED job in place: its failed (or named) steps and what follows them run again
    Restart(control::RestartArgs),
    /// Raise an event (completes the event steps waiting for it; --keep keeps it for later).
    Event(control::EventArgs),
    /// The events view: events kept for steps that start waiting later (event --keep).
    Events(views::EventsArgs),
    /// Add or replace a rule of a chain: the catalog and the jobs running it (DEFINE_CHAIN_RULE).
    DefineRule(chain_cmd::DefineRuleArgs),
    /// Drop a rule of a chain: the catalog and the jobs running it (DROP_CHAIN_RULE).
    DropRule(chain_cmd::DropRuleArgs),
    /// Enable a job definition: the scheduler and events start it (Oracle's ENABLE).
    Enable(job_cmd::EnableArgs),
    /// Disable a job definition: the scheduler and events do not start it (Oracle's DISABLE).
    Disable(job_cmd::EnableArgs),
    /// Change a step's attributes in a chain: the catalog and the jobs running it (ALTER_CHAIN).
    AlterChain(chain_cmd::AlterChainArgs),
    /// Drop a step of a chain for future runs (DROP_CHAIN_STEP).
    DropStep(chain_cmd::DropStepArgs),
    /// The jobs view: one row per chain job, running and finished.
    Jobs(views::JobsArgs),
    /// The running_chains view of one job: its steps, nested chains included.
    Steps(views::StepsArgs),
    /// The running_chains view of every running or stalled job.
    Running(views::RunningArgs),
    /// The job_log view: one row per step-job run and per chain-job run.
    Log(views::LogArgs),
    /// The job_run_details view of one job_log row.
    Details(views::DetailsArgs),
    /// What a step's process wrote (its last run, or --attempt N, --all; --errors for stderr).
    Output(output_cmd::OutputArgs),
    /// The timeline view: every event of one job in order.
    Timeline(views::TimelineArgs),
    /// The stats view: run history per chain and per step (--by definition|group: averages
    /// per job definition or resource group).
    Stats(views::StatsArgs),
    /// The executions view (APEX): jobs with APEX status names, progress, queue wait.
    Executions(apex::ExecutionsArgs),
    /// The notifications view: notifications owed by `notify` declarations, sent, failed or
    /// pending.
    Notifications(apex::NotificationsArgs),
    /// The explain view: each rule's predicates and truth values; why a job stalled.
    Explain(views::ExplainArgs),
    /// The schedules view: each scheduled job definition, its next run, last start, skips.
    Schedules(views::SchedulesArgs),
    /// The engines view: engines sharing a PostgreSQL database, their heartbeat and jobs owned.
    Engines(views::EnginesArgs),
    /// The chains view of the catalog.
    Chains(views::ChainArgs),
    /// The chain_steps view of the catalog.
    ChainSteps(views::ChainArgs),
    /// The chain_rules view of the catalog.
    ChainRules(views::ChainArgs),
    /// The programs view of the catalog: each program, what it runs, the steps that use it.
    Programs(views::ProgramsArgs),
    /// Translate DBMS_SCHEDULER chain calls (a SQL script) into a rule file.
    ImportOracle(import_oracle::ImportOracleArgs),
    /// Maintain the store: `store check` verifies every record.
    Store(store_cmd::StoreArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff), or write one page per command with --dir.
    Man(completions::ManArgs),
}

/// Parse arguments and run; returns the exit code. clap usage errors exit 2.
pub fn main() -> i32 {
    // sled panics on some damaged files; the store catches them and returns an error, and this
    // keeps the default "thread … panicked" text off stderr for those (and only those).
    crate::store::install_quiet_panic_hook();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let default_level = if matches!(cli.command, Command::Serve(_)) {
        "info"
    } else {
        "warn"
    };
    logging::init(cli.log_format, default_level);
    match cli.command {
        Command::Check(a) => check::run(a),
        Command::Graph(a) => graph::run(a),
        Command::Simulate(a) => simulate::run(a),
        Command::Test(a) => test_cmd::run(a),
        Command::Run(a) => run::run(a),
        Command::Resume(a) => run::resume(a),
        Command::Serve(a) => serve::run(a),
        Command::Purge(a) => purge::run(a),
        Command::Start(a) => control::start(a),
        Command::Stop(a) => control::stop(a),
        Command::Alter(a) => control::alter(a),
        Command::Evaluate(a) => control::evaluate(a),
        Command::Restart(a) => control::restart(a),
        Command::Event(a) => control::event(a),
        Command::Events(a) => views::events(a),
        Command::DefineRule(a) => chain_cmd::define_rule(a),
        Command::DropRule(a) => chain_cmd::drop_rule(a),
        Command::Enable(a) => job_cmd::enable(a),
        Command::Disable(a) => job_cmd::disable(a),
        Command::AlterChain(a) => chain_cmd::alter_chain(a),
        Command::DropStep(a) => chain_cmd::drop_step(a),
        Command::Jobs(a) => views::jobs(a),
        Command::Steps(a) => views::steps(a),
        Command::Running(a) => views::running(a),
        Command::Log(a) => views::log(a),
        Command::Details(a) => views::details(a),
        Command::Output(a) => output_cmd::output(a),
        Command::Timeline(a) => views::timeline(a),
        Command::Stats(a) => views::stats(a),
        Command::Executions(a) => apex::executions(a),
        Command::Notifications(a) => apex::notifications(a),
        Command::Explain(a) => views::explain(a),
        Command::Schedules(a) => views::schedules(a),
        Command::Engines(a) => views::engines(a),
        Command::Chains(a) => views::chains(a),
        Command::ChainSteps(a) => views::chain_steps(a),
        Command::ChainRules(a) => views::chain_rules(a),
        Command::Programs(a) => views::programs(a),
        Command::ImportOracle(a) => import_oracle::run(a),
        Command::Store(a) => store_cmd::run(a),
        Command::Completions(a) => completions::completions(a),
        Command::Man(a) => completions::man(a),
    }
}

/// Shared `--db` argument default.
pub fn default_db() -> PathBuf {
    PathBuf::from(crate::store::open::DEFAULT_DB)
}

/// `--db` as messages show it: a folder as given, a database URL with its password hidden.
pub fn db_display(db: &str) -> String {
    crate::store::open::display_db(db)
}

/// Whether `--db` names a store folder that does not exist (a database URL is never "missing"
/// here: whether it holds a store is known only once connected).
pub fn db_missing(db: &str) -> bool {
    match crate::store::DbLocation::parse(db) {
        Ok(crate::store::DbLocation::Sled(path)) => !path.exists(),
        _ => false,
    }
}
