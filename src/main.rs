//! The `chainsched` binary: see `chainsched --help` and ../shared/spec/cli.md.

fn main() {
    std::process::exit(chainsched::cli::main());
}
