//! `chainsched import-oracle FILE.sql [-o FILE]`: translate DBMS_SCHEDULER chain calls into a
//! rule file (see docs/import-oracle.md).
//!
//! The rule file goes to standard output (or `-o`); warnings (what could not be translated
//! exactly) go to standard error, rendered like `check`'s diagnostics, and are also written
//! into the rule file as `-- import-oracle:` comments. Exit 0 on success, even with warnings;
//! 1 when the script cannot be read (missing file, syntax error: `file:line:column` and what
//! was expected) or the output cannot be written; 2 for bad usage (clap).

use crate::lang::diagnostic::render_text;
use crate::oracle::import;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct ImportOracleArgs {
    /// The SQL script holding the DBMS_SCHEDULER calls.
    pub file: PathBuf,
    /// Write the rule file here instead of standard output.
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
}

pub fn run(args: ImportOracleArgs) -> i32 {
    let bytes = match std::fs::read(&args.file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {}: cannot read the file: {e}", args.file.display());
            return 1;
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    let path = args.file.display().to_string();
    let result = import(&path, &text);
    for d in &result.diagnostics {
        eprint!("{}", render_text(d, &result.sources));
    }
    let Some(output) = result.output else {
        let n = result.diagnostics.iter().filter(|d| d.is_error()).count();
        eprintln!("{path}: {n} error(s); nothing was written");
        return 1;
    };
    match &args.output {
        Some(out) => {
            if let Err(e) = std::fs::write(out, output) {
                eprintln!("error: {}: cannot write the rule file: {e}", out.display());
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
    0
}
