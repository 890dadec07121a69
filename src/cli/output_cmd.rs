//! `chainsched output JOB STEP`: what a step's process wrote, without looking up log ids.
//!
//! The engine keeps the last 64 KiB of standard output and of standard error of every program
//! step run in its run details (`run/<log_id>`, docs/durability.md, "What is stored"); `details
//! LOG_ID` shows them with the rest of the run. This command finds the step's runs in the job
//! log (a nested step by subname, `N.I1`) and prints the captured text as it was written: the
//! last run by default, `--attempt N` the N-th, `--all` every run under a header line;
//! `--errors` prints standard error instead. Only ended runs have a log row, so a step still
//! running has nothing to show yet (the command says so). Reads the store (`--db`) or a
//! running service (`--server`), like the views.

use super::views::{backend, finish, Backend, CmdError, SourceArgs};
use crate::server::client::encode;
use crate::views::{query, JobLogRow, LogFilter, RunDetailsRow};

#[derive(Debug, clap::Args)]
pub struct OutputArgs {
    pub job: String,
    /// The step (a nested step by subname, e.g. N.I1).
    pub step: String,
    /// Standard error instead of standard output.
    #[arg(long)]
    pub errors: bool,
    /// The N-th run of the step (1 is the first; retries and restarts are runs too).
    #[arg(long, conflicts_with = "all")]
    pub attempt: Option<usize>,
    /// Every run of the step, oldest first, each under a `== LOG_ID … ==` line.
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub src: SourceArgs,
}

pub fn output(a: OutputArgs) -> i32 {
    finish((|| {
        let source = backend(&a.src)?;
        let log: Vec<JobLogRow> = match &source {
            Backend::Local(v) => query::job_log(
                v,
                &LogFilter {
                    job: Some(a.job.clone()),
                    ..Default::default()
                },
            )?,
            Backend::Remote(c) => c.get(&format!("/api/v1/log?job={}", encode(&a.job)))?,
        };
        if log.is_empty() {
            return Err(CmdError::Problem(format!(
                "job {} has no job-log rows (unknown job, or no step has ended yet)",
                a.job
            )));
        }
        let wanted = |r: &&JobLogRow| {
            r.job_subname
                .as_deref()
                .is_some_and(|s| s == a.step || s.eq_ignore_ascii_case(&a.step))
        };
        let mut runs: Vec<&JobLogRow> = log.iter().filter(wanted).collect();
        runs.sort_by_key(|r| r.log_id);
        if runs.is_empty() {
            let near = crate::lang::diagnostic::nearest_name(
                &a.step,
                log.iter().filter_map(|r| r.job_subname.as_deref()),
            );
            return Err(CmdError::Problem(format!(
                "job {} has no ended run of step {}{}",
                a.job,
                a.step,
                crate::lang::diagnostic::did_you_mean(near.as_deref())
            )));
        }
        let chosen: Vec<&JobLogRow> = match (a.all, a.attempt) {
            (true, _) => runs.clone(),
            (false, Some(n)) => vec![*runs.get(n.wrapping_sub(1)).ok_or_else(|| {
                CmdError::Usage(format!(
                    "--attempt {n}: step {} of job {} has {} ended run(s)",
                    a.step,
                    a.job,
                    runs.len()
                ))
            })?],
            (false, None) => runs.last().copied().into_iter().collect(),
        };
        let mut out = String::new();
        for r in chosen {
            let d: RunDetailsRow = match &source {
                Backend::Local(v) => query::run_details(v, r.log_id)?,
                Backend::Remote(c) => c.get(&format!("/api/v1/log/{}", r.log_id))?,
            };
            if a.all {
                out.push_str(&format!(
                    "== LOG_ID {} ({} {}, {}) ==\n",
                    r.log_id, r.operation, r.status, r.log_date
                ));
            }
            let text = if a.errors { &d.errors } else { &d.output };
            out.push_str(text);
            if a.all && !text.is_empty() && !text.ends_with('\n') {
                out.push('\n');
            }
        }
        Ok(out)
    })())
}
