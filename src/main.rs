//! The `chainsched` binary: see `chainsched --help` and the README.

fn main() {
    std::process::exit(chainsched::cli::main());
}
