//! `chainsched store check --db PATH|URL`: verify every record of a store (`store::check`).
//!
//! Table output lists the records per key prefix, then each damaged key with the reason, then
//! a verdict line; `--format json` prints the whole report (`store::check::CheckReport`).
//! Exit status: 0 the store is clean, 1 damage was found or the store cannot be opened or
//! walked, 2 bad usage (no store at the path).

use crate::store::check::{check_db, CheckReport};
use crate::store::pg_store::is_postgres_url;
use crate::views::render;
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct StoreArgs {
    #[command(subcommand)]
    pub command: StoreCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum StoreCommand {
    /// Read every record: envelope, checksum, and that it decodes as its key says; report
    /// counts per key prefix and every damaged key. Exit 1 when anything is damaged.
    Check(StoreCheckArgs),
}

#[derive(Debug, clap::Args)]
pub struct StoreCheckArgs {
    /// The store: a folder (the embedded sled store) or a PostgreSQL database
    /// (postgres://user@host:port/dbname); CHAINSCHED_DB when not given.
    #[arg(long, env = "CHAINSCHED_DB", hide_env_values = true, default_value = crate::store::open::DEFAULT_DB)]
    pub db: String,
    #[arg(long, value_enum, default_value = "table")]
    pub format: StoreFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StoreFormat {
    Table,
    Json,
}

pub fn run(args: StoreArgs) -> i32 {
    match args.command {
        StoreCommand::Check(a) => check(a),
    }
}

fn check(a: StoreCheckArgs) -> i32 {
    if super::db_missing(&a.db) || (!is_postgres_url(&a.db) && !Path::new(&a.db).is_dir()) {
        errln!(
            "error: no store at {} (give --db PATH or --db postgres://…)",
            super::db_display(&a.db)
        );
        return 2;
    }
    let report = check_db(&a.db);
    match a.format {
        StoreFormat::Json => out!("{}", render::json(&report)),
        StoreFormat::Table => out!("{}", table(&report)),
    }
    if report.clean {
        0
    } else {
        if let Some(e) = &report.error {
            errln!("error: {e}");
        } else {
            errln!(
                "error: the store at {} has {} damaged record(s); restore it from a backup",
                report.store,
                report.damaged.len()
            );
        }
        1
    }
}

fn table(r: &CheckReport) -> String {
    let mut out = format!(
        "STORE {} (format {})\n",
        r.store,
        r.format.as_deref().unwrap_or("unknown")
    );
    for moved in &r.set_aside {
        out.push_str(&format!("set aside: {moved}\n"));
    }
    out.push('\n');
    out.push_str(&render::table(
        &["PREFIX", "RECORDS", "DAMAGED"],
        r.prefixes
            .iter()
            .map(|p| {
                vec![
                    p.prefix.clone(),
                    p.records.to_string(),
                    p.damaged.to_string(),
                ]
            })
            .collect(),
    ));
    // Reasons are long: one line each, never cut (a table would cut them).
    if !r.damaged.is_empty() {
        out.push('\n');
        for d in &r.damaged {
            out.push_str(&format!("damaged: {}: {}\n", d.key, d.reason));
        }
    }
    if !r.unknown_prefixes.is_empty() {
        out.push_str(&format!(
            "\nprefixes this chainsched does not know (envelopes checked only): {}\n",
            r.unknown_prefixes.join(", ")
        ));
    }
    let records: u64 = r.prefixes.iter().map(|p| p.records).sum();
    out.push_str(&match (&r.error, r.damaged.len()) {
        (Some(_), _) => "\nINCOMPLETE: see the error below\n".to_string(),
        (None, 0) => format!("\nCLEAN: {records} records, none damaged\n"),
        (None, n) => format!("\nDAMAGED: {n} of {records} records\n"),
    });
    out
}
