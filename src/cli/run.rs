//! `chainsched run` and `chainsched resume` (owned by the runtime work).

use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[arg(long)]
    pub chain: String,
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
    #[arg(long, default_value = "./chainsched-data")]
    pub db: PathBuf,
    #[arg(long, value_enum, default_value = "table")]
    pub format: RunFormat,
}

#[derive(Debug, clap::Args)]
pub struct ResumeArgs {
    #[arg(long, default_value = "./chainsched-data")]
    pub db: PathBuf,
    #[arg(long, value_enum, default_value = "table")]
    pub format: RunFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RunFormat {
    Table,
    Json,
}

pub fn run(_args: RunArgs) -> i32 {
    eprintln!("run: not implemented yet");
    2
}

pub fn resume(_args: ResumeArgs) -> i32 {
    eprintln!("resume: not implemented yet");
    2
}
