//! `chainsched graph PATH --chain C --format dot|mermaid` (owned by the catalog work).

#[derive(Debug, clap::Args)]
pub struct GraphArgs {
    #[arg(required = true)]
    pub paths: Vec<std::path::PathBuf>,
    #[arg(long)]
    pub chain: String,
    #[arg(long, value_enum, default_value = "dot")]
    pub format: GraphFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    Dot,
    Mermaid,
}

pub fn run(_args: GraphArgs) -> i32 {
    eprintln!("graph: not implemented yet");
    2
}
