//! `chainsched graph PATH --chain C --format dot|mermaid|svg`: draw one chain.
//!
//! The catalog must load without errors (errors are printed as `check` prints them, exit 1);
//! warnings are not repeated here (run `check`). An unknown chain name is an error naming the
//! nearest existing chain (exit 1). The drawing goes to standard output.

use crate::catalog::render::{render_dot, render_mermaid};
use crate::catalog::svg::render_svg;
use crate::catalog::{load_paths, normalise_name};
use crate::lang::diagnostic::render_text;

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
    /// A standalone SVG drawn without external tools.
    Svg,
}

pub fn run(args: GraphArgs) -> i32 {
    for p in &args.paths {
        if !p.exists() {
            errln!("error: {}: no such file or folder", p.display());
            return 2;
        }
    }
    let loaded = load_paths(&args.paths);
    let Some(catalog) = &loaded.catalog else {
        for d in loaded.diagnostics.iter().filter(|d| d.is_error()) {
            eprint!("{}", render_text(d, &loaded.sources));
        }
        errln!("error: the rule files have errors; run `chainsched check` for details");
        return 1;
    };
    // An exact (quoted or mixed-case) name wins over the upper-cased form.
    let name = if catalog.chains.contains_key(&args.chain) {
        args.chain.clone()
    } else {
        normalise_name(&args.chain)
    };
    let drawn = match args.format {
        GraphFormat::Dot => render_dot(catalog, &name),
        GraphFormat::Mermaid => render_mermaid(catalog, &name),
        GraphFormat::Svg => render_svg(catalog, &name),
    };
    match drawn {
        Ok(text) => {
            write_stdout(&text);
            0
        }
        Err(e) => {
            errln!("error: {e}");
            1
        }
    }
}

/// Print to standard output; a closed pipe (`| head`) is not an error worth a panic.
fn write_stdout(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
}
