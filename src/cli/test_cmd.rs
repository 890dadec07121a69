//! `chainsched test PATH...` (owned by the sim work).

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Scenario files or folders (searched for *.scenario.toml).
    #[arg(required = true)]
    pub paths: Vec<std::path::PathBuf>,
}

pub fn run(_args: TestArgs) -> i32 {
    eprintln!("test: not implemented yet");
    2
}
