//! The `chainsched` binary: see `chainsched --help` and the README.

fn main() {
    // Started by an engine as its step guardian: serve and exit (runtime/executor/guardian.rs).
    chainsched::runtime::serve_guardian_if_requested();
    std::process::exit(chainsched::cli::main());
}
