//! Command-line interface (clap). One file per command; each returns the process exit code:
//! 0 success, 1 the command ran and found a problem, 2 bad usage.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

pub mod check;
pub mod graph;
pub mod run;
pub mod simulate;
pub mod test_cmd;

#[derive(Debug, Parser)]
#[command(name = "chainsched", version, about = "A rule-based chain engine in the style of Oracle DBMS_SCHEDULER chains")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
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
}

/// Parse arguments and run; returns the exit code. clap usage errors exit 2.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    match cli.command {
        Command::Check(a) => check::run(a),
        Command::Graph(a) => graph::run(a),
        Command::Simulate(a) => simulate::run(a),
        Command::Test(a) => test_cmd::run(a),
        Command::Run(a) => run::run(a),
        Command::Resume(a) => run::resume(a),
    }
}

/// Shared `--db` argument default.
pub fn default_db() -> PathBuf {
    PathBuf::from("./chainsched-data")
}
