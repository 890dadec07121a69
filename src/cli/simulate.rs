//! `chainsched simulate PATH --scenario FILE --format json|table`: run chains in virtual time.
//!
//! The rules come from PATH (a scenario's own `[settings] rules` is ignored here); the
//! scenario's `[expect]` tables are not checked (that is `chainsched test`). Exit 0 when the
//! simulation ran (whatever the jobs' end states), 1 when the rule files or the scenario file
//! have errors (printed on stderr, naming the file and the key), 2 for bad usage.

use crate::sim::output::{to_json, to_table};
use crate::sim::run_file;

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Rule files or folders.
    #[arg(required = true)]
    pub paths: Vec<std::path::PathBuf>,
    #[arg(long)]
    pub scenario: std::path::PathBuf,
    #[arg(long, value_enum, default_value = "table")]
    pub format: SimFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SimFormat {
    Table,
    Json,
}

pub fn run(args: SimulateArgs) -> i32 {
    match run_file(&args.scenario, Some(&args.paths)) {
        Ok(session) => {
            let text = match args.format {
                SimFormat::Json => to_json(&session.result),
                SimFormat::Table => to_table(&session.result),
            };
            out!("{text}");
            0
        }
        Err(message) => {
            errln!("{}", message.trim_end());
            1
        }
    }
}
