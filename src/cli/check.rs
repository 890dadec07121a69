//! `chainsched check PATH...` (owned by the catalog work).

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Rule files (*.chain) or folders.
    #[arg(required = true)]
    pub paths: Vec<std::path::PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: CheckFormat,
    /// Exit 1 when there are warnings.
    #[arg(long)]
    pub deny_warnings: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CheckFormat {
    Text,
    Json,
}

pub fn run(_args: CheckArgs) -> i32 {
    eprintln!("check: not implemented yet");
    2
}
