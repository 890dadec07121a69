//! `chainsched purge --db PATH|URL --older-than D [--keep-jobs N] [--dry-run]`: remove ended jobs
//! from a store no engine has open, and print what was removed. Also the retention flags
//! `serve` and `run` share (`--keep-history`, `--keep-jobs`).
//!
//! Why an offline command besides the background purge: an operator may want to shrink a
//! store at once (before a copy, after raising the load), or to see what a retention setting
//! would remove (`--dry-run`). It refuses a store a running `serve` holds, with a message that
//! says so; the service purges by itself with its own flags. Exit status: 0 done, 1 the store
//! cannot be opened or read, 2 bad usage.

use super::run::RunFormat;
use super::views::{now_millis, CmdError};
use crate::core::types::JobRecord;
use crate::lang::duration::{format_duration, parse_duration};
use crate::runtime::Retention;
use crate::store::sled_store::SledOptions;
use crate::store::{Access, ChainStore, DbLocation, OpenOptions, RetentionPolicy};
use crate::views::time::rfc3339;
use std::time::Duration;

/// `--keep-history`: a duration, or no age limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepHistory(pub Option<Duration>);

/// Parse `30d`, `12h`, `90m`, `1h30m`, `45s`, `500ms`, `HH:MM:SS` (the rule files' duration
/// syntax), or `forever`.
pub fn parse_keep_history(text: &str) -> Result<KeepHistory, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("forever") {
        return Ok(KeepHistory(None));
    }
    parse_age(t).map(|ms| KeepHistory(Some(Duration::from_millis(ms))))
}

/// Parse a duration for retention (`30d`, `12h`, `90m`, `1h30m`, ...).
pub fn parse_age(text: &str) -> Result<u64, String> {
    parse_duration(text).ok_or_else(|| {
        format!(
            "'{}' is not a duration: write a number and a unit (d, h, m, s, ms), e.g. 30d, 12h, \
             90m, 1h30m",
            text.trim()
        )
    })
}

/// `--lease`: how long a job's lease lasts without renewal (engines sharing a PostgreSQL
/// database), at least one second.
pub fn parse_lease(text: &str) -> Result<Duration, String> {
    let ms = parse_age(text)?;
    if ms < 1000 {
        return Err(format!(
            "--lease {} is shorter than 1s: renewals every lease/5 would flood the database",
            text.trim()
        ));
    }
    Ok(Duration::from_millis(ms))
}

/// The retention flags of `serve` and `run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RetentionArgs {
    /// Keep ended jobs for this long after they end (engine time): 30d, 12h, 90m, 1h30m, or
    /// `forever`. Older ended jobs are purged in the background with their log rows, run
    /// details, steps and timeline.
    #[arg(long, value_name = "DURATION", default_value = "30d", value_parser = parse_keep_history)]
    pub keep_history: KeepHistory,
    /// Keep at most this many ended jobs, the most recently ended; older ones are purged too
    /// (a job goes when it is older than --keep-history OR beyond the N most recent).
    #[arg(long, value_name = "N")]
    pub keep_jobs: Option<usize>,
}

impl RetentionArgs {
    /// The engine's retention; `None` when nothing is ever purged (`--keep-history forever`
    /// without `--keep-jobs`).
    pub fn retention(&self) -> Option<Retention> {
        let r = Retention::new(self.keep_history.0, self.keep_jobs);
        (r.keep_history.is_some() || r.keep_jobs.is_some()).then_some(r)
    }
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["older_than", "keep_jobs"])))]
pub struct PurgeArgs {
    /// The store: a folder (the embedded sled store) or a PostgreSQL database
    /// (postgres://user@host:port/dbname); CHAINSCHED_DB when not given.
    #[arg(long, env = "CHAINSCHED_DB", hide_env_values = true, default_value = crate::store::open::DEFAULT_DB)]
    pub db: String,
    /// Remove jobs that ended longer ago than this: 30d, 12h, 90m, 1h30m.
    #[arg(long, value_name = "DURATION", value_parser = parse_age)]
    pub older_than: Option<u64>,
    /// Keep at most this many ended jobs (the most recently ended); remove the others.
    #[arg(long, value_name = "N")]
    pub keep_jobs: Option<usize>,
    /// Print what would be removed, remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// `table`: one line per removed job and a summary; `json`: the same as one object.
    #[arg(long, value_enum, default_value = "table")]
    pub format: RunFormat,
}

/// Open the store for purging. A sled folder must not be in use (its file lock); a PostgreSQL
/// database may have engines running: the purge then claims each job's name before removing
/// it (`PurgeClaims`), so no engine starts a new run of it meanwhile.
fn open(db: &str) -> Result<ChainStore, CmdError> {
    let shown = super::db_display(db);
    let opened = match DbLocation::parse(db).map_err(|e| CmdError::Usage(e.to_string()))? {
        DbLocation::Sled(path) => {
            if !path.exists() {
                return Err(CmdError::Problem(format!("no store at {shown}")));
            }
            ChainStore::open_sled(&path, &SledOptions::default())
        }
        DbLocation::Postgres(_) => ChainStore::open(db, &OpenOptions::new(Access::Engine)),
    };
    opened.map_err(|e| {
        let text = e.to_string();
        if text.contains("it is in use by") {
            CmdError::Problem(format!(
                "{text} purge needs the store to itself: stop that process first, or let a \
                 service purge in the background (serve --keep-history D --keep-jobs N)"
            ))
        } else {
            CmdError::Problem(text)
        }
    })
}

fn job_json(r: &JobRecord) -> serde_json::Value {
    serde_json::json!({
        "job_name": r.job,
        "chain_name": r.chain,
        "state": r.state.as_str(),
        "ended_at": r.ended_at.map(rfc3339),
    })
}

pub fn run(a: PurgeArgs) -> i32 {
    match purge(&a) {
        Ok(text) => {
            out!("{text}");
            0
        }
        Err(e) => e.report(),
    }
}

fn purge(a: &PurgeArgs) -> Result<String, CmdError> {
    let policy = RetentionPolicy {
        max_age: a.older_than,
        keep_jobs: a.keep_jobs,
    };
    let store = open(&a.db)?;
    let mut removed: Vec<JobRecord> = Vec::new();
    let claims = match store.kv().shared() {
        Some(_) if !a.dry_run => Some(
            crate::runtime::PurgeClaims::join(store.clone())
                .map_err(|e| CmdError::Problem(e.to_string()))?,
        ),
        _ => None,
    };
    let guard = claims
        .as_ref()
        .map(|c| c as &dyn crate::store::retention::PurgeGuard);
    let purged = crate::store::retention::purge_offline_guarded(
        &store,
        now_millis(),
        &policy,
        a.dry_run,
        &mut |r| removed.push(r.clone()),
        guard,
    );
    if let Some(c) = &claims {
        c.leave();
    }
    let stats = purged.map_err(|e| CmdError::Problem(e.to_string()))?;
    if a.format == RunFormat::Json {
        let body = serde_json::json!({
            "dry_run": a.dry_run,
            "jobs": removed.iter().map(job_json).collect::<Vec<_>>(),
            "removed_jobs": stats.jobs,
            "removed_log_rows": stats.log_rows,
            "removed_records": stats.keys,
        });
        return Ok(format!(
            "{}\n",
            serde_json::to_string_pretty(&body).unwrap_or_default()
        ));
    }
    let verb = if a.dry_run { "would remove" } else { "removed" };
    let mut out = String::new();
    for r in &removed {
        out.push_str(&format!(
            "{verb} job {} (chain {}, {}, ended {})\n",
            r.job,
            r.chain,
            r.state.as_str(),
            r.ended_at.map(rfc3339).unwrap_or_default()
        ));
    }
    let mut why = Vec::new();
    if let Some(age) = a.older_than {
        why.push(format!("ended more than {} ago", format_duration(age)));
    }
    if let Some(n) = a.keep_jobs {
        why.push(format!("beyond the {n} most recently ended"));
    }
    let summary = format!(
        "{} ended job(s) ({}) with {} job-log row(s), {} record(s) in all",
        stats.jobs,
        why.join(", or "),
        stats.log_rows,
        stats.keys
    );
    if a.dry_run {
        out.push_str(&format!(
            "dry run: would purge {summary}; nothing was removed from {}\n",
            super::db_display(&a.db)
        ));
    } else {
        out.push_str(&format!(
            "purged {summary} from {}\n",
            super::db_display(&a.db)
        ));
    }
    Ok(out)
}
