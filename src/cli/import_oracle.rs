//! `chainsched import-oracle FILE.sql [-o FILE] [--encoding E] [--keep-going]`: translate
//! DBMS_SCHEDULER chain calls into a rule file (see docs/import-oracle.md).
//!
//! The rule file goes to standard output (or `-o`); warnings (what could not be translated
//! exactly) go to standard error, rendered like `check`'s diagnostics, and are also written
//! into the rule file as `-- import-oracle:` comments. Exit 0 on success, even with warnings;
//! 1 when the script cannot be read (missing file, bad encoding, a statement Oracle would
//! reject: `file:line:column` and what was expected) or the output cannot be written; 2 for
//! bad usage (clap); 3 with `--keep-going` when statements Oracle would reject were skipped
//! and the rest was written.

use crate::lang::diagnostic::render_text;
use crate::oracle::encoding::Encoding;
use crate::oracle::{import_bytes, Options};
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ImportOracleArgs {
    /// The SQL script holding the DBMS_SCHEDULER calls.
    pub file: PathBuf,
    /// Write the rule file here instead of standard output.
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    /// The script's encoding (utf-8, windows-1252/latin1, iso-8859-15, utf-16le, utf-16be).
    /// Default: UTF-8, or UTF-16 with a byte-order mark, else Windows-1252 with a warning.
    #[arg(long, value_parser = parse_encoding)]
    pub encoding: Option<Encoding>,
    /// Skip each statement Oracle would reject (reported as an error), as SQL*Plus goes on
    /// after it, import the rest and exit 3.
    #[arg(long)]
    pub keep_going: bool,
}

fn parse_encoding(s: &str) -> Result<Encoding, String> {
    Encoding::from_label(s)
        .ok_or_else(|| format!("unknown encoding `{s}`; known: {}", Encoding::LABELS))
}

pub fn run(args: ImportOracleArgs) -> i32 {
    let bytes = match std::fs::read(&args.file) {
        Ok(b) => b,
        Err(e) => {
            errln!("error: {}: cannot read the file: {e}", args.file.display());
            return 1;
        }
    };
    let path = args.file.display().to_string();
    let options = Options {
        encoding: args.encoding,
        keep_going: args.keep_going,
    };
    let result = import_bytes(&path, &bytes, &options);
    for d in &result.diagnostics {
        eprint!("{}", render_text(d, &result.sources));
    }
    let Some(output) = result.output else {
        let n = result.diagnostics.iter().filter(|d| d.is_error()).count();
        errln!("{path}: {n} error(s); nothing was written");
        if !args.keep_going && result.diagnostics.iter().any(|d| d.code == "syntax") {
            errln!("(--keep-going skips the statements Oracle would reject and imports the rest)");
        }
        return 1;
    };
    match &args.output {
        Some(out) => {
            if let Err(e) = std::fs::write(out, output) {
                errln!("error: {}: cannot write the rule file: {e}", out.display());
                return 1;
            }
        }
        None => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            if stdout.write_all(output.as_bytes()).is_err() {
                return 1;
            }
        }
    }
    if result.skipped > 0 {
        errln!(
            "{path}: {} statement(s) Oracle would reject were skipped (--keep-going); the rest was imported",
            result.skipped
        );
        return 3;
    }
    0
}
