//! `chainsched simulate PATH --scenario FILE --format json|table` (owned by the sim work).

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

pub fn run(_args: SimulateArgs) -> i32 {
    eprintln!("simulate: not implemented yet");
    2
}
