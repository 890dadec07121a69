//! The APEX commands (docs/coming-from-apex.md): `executions`, `notifications`,
//! `stats --by definition|group`, `stop --chain C --state S [--yes]` and `start --wait`.
//! Same two modes as every command: a running service (`--server`) or the embedded store.

use super::control::{answer, embedded, engine_error, finish as finish_ctl, server_url};
use super::control::{client, StartArgs, StopArgs};
use super::views::{backend, finish, now_millis, query_string, Backend, CmdError, SourceArgs};
use crate::runtime::{Engine, WaitFor};
use crate::server::client::encode;
use crate::views::apex::{self, ExecutionRow, NotificationRow, StatsBy, StatsByRow};
use crate::views::store_source::StoreViews;
use crate::views::JobFilter;
use serde_json::{json, Value};
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct ExecutionsArgs {
    /// Only jobs in these chainsched states (comma-separated: RUNNING,ENQUEUED).
    #[arg(long)]
    pub state: Option<String>,
    /// Only these APEX statuses (ENQUEUED, SCHEDULED, EXECUTING, SUCCESS, FAILED, ABORTED).
    #[arg(long)]
    pub status: Option<String>,
    #[arg(long)]
    pub chain: Option<String>,
    /// At most this many jobs (newest first).
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    #[command(flatten)]
    pub src: SourceArgs,
}

/// `chainsched executions`.
pub fn executions(a: ExecutionsArgs) -> i32 {
    finish((|| {
        let rows: Vec<ExecutionRow> = match backend(&a.src)? {
            Backend::Local(v) => {
                let filter = JobFilter {
                    chain: a.chain.clone(),
                    states: crate::views::parse_job_states(a.state.as_deref().unwrap_or(""))?,
                    limit: Some(a.limit),
                    ..JobFilter::default()
                };
                apex::executions(&v, &filter, a.status.as_deref(), now_millis())?
            }
            Backend::Remote(c) => c.get(&format!(
                "/api/v1/executions{}",
                query_string(&[
                    ("state", a.state.clone()),
                    ("status", a.status.clone()),
                    ("chain", a.chain.clone()),
                    ("limit", Some(a.limit.to_string())),
                ])
            ))?,
        };
        a.src.rows::<ExecutionRow>(&rows)
    })())
}

#[derive(Debug, clap::Args)]
pub struct NotificationsArgs {
    /// Only the notifications of this job.
    #[arg(long)]
    pub job: Option<String>,
    /// Only these statuses (PENDING, SENT, FAILED, SKIPPED; comma-separated).
    #[arg(long)]
    pub status: Option<String>,
    /// At most this many rows (newest first).
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    #[command(flatten)]
    pub src: SourceArgs,
}

/// `chainsched notifications`.
pub fn notifications(a: NotificationsArgs) -> i32 {
    finish((|| {
        let rows: Vec<NotificationRow> = match backend(&a.src)? {
            Backend::Local(v) => {
                apex::notifications(&v, a.job.as_deref(), a.status.as_deref(), a.limit)?
            }
            Backend::Remote(c) => c.get(&format!(
                "/api/v1/notifications{}",
                query_string(&[
                    ("job", a.job.clone()),
                    ("status", a.status.clone()),
                    ("limit", Some(a.limit.to_string())),
                ])
            ))?,
        };
        a.src.rows::<NotificationRow>(&rows)
    })())
}

/// `chainsched stats --by definition|group`.
pub fn stats_by(by: &str, chain: Option<&str>, src: &SourceArgs) -> i32 {
    finish((|| {
        let by = StatsBy::parse(by)?;
        let rows: Vec<StatsByRow> = match backend(src)? {
            Backend::Local(v) => apex::stats_by(&v, by, chain)?,
            Backend::Remote(c) => c.get(&format!(
                "/api/v1/stats/by/{}{}",
                match by {
                    StatsBy::Definition => "definition",
                    StatsBy::Group => "group",
                },
                query_string(&[("chain", chain.map(String::from))])
            ))?,
        };
        src.rows::<StatsByRow>(&rows)
    })())
}

/// `chainsched stop --chain C --state S [--yes]`: without `--yes` it prints how many jobs it
/// would stop and changes nothing.
pub fn bulk_stop(a: StopArgs) -> i32 {
    finish_ctl((|| {
        let chain = a.chain.clone().unwrap_or_default();
        let state = a.state.clone().unwrap_or_default();
        if a.step.is_some() {
            return Err(CmdError::Usage(
                "a step cannot be named with --chain (bulk stop stops whole jobs)".into(),
            ));
        }
        let states = crate::server::apex::bulk_states(&state).map_err(CmdError::Usage)?;
        let resp: Value = match server_url(&a.ctl) {
            Some(url) => client(&a.ctl, &url)?.post(
                &format!("/api/v1/chains/{}/jobs/stop", encode(&chain)),
                &json!({ "state": state, "confirm": a.yes }),
            )?,
            None => {
                let (yes, chain2) = (a.yes, chain.clone());
                embedded(&a.ctl, move |e: Engine| async move {
                    let views = StoreViews::new(e.store().clone(), None);
                    let jobs = crate::server::apex::bulk_targets(&views, &chain2, &states)
                        .map_err(CmdError::from)?;
                    let mut stopped = 0usize;
                    let mut skipped = Vec::new();
                    if yes {
                        for j in &jobs {
                            match e.stop(j, None).await {
                                Ok(()) => stopped += 1,
                                Err(err) => {
                                    skipped.push(json!({ "job": j, "reason": err.to_string() }))
                                }
                            }
                        }
                    }
                    Ok(json!({
                        "chain": chain2, "matched": jobs.len(), "stopped": stopped,
                        "confirmed": yes, "jobs": jobs, "skipped": skipped,
                    }))
                })?
            }
        };
        let matched = resp["matched"].as_u64().unwrap_or(0);
        let stopped = resp["stopped"].as_u64().unwrap_or(0);
        let line = if a.yes {
            format!("{stopped} of {matched} {state} job(s) of chain {chain} stopped")
        } else {
            format!(
                "{matched} {state} job(s) of chain {chain} would be stopped; nothing was changed \
                 (add --yes to stop them)"
            )
        };
        Ok(answer(a.ctl.format, line, resp))
    })())
}

/// `chainsched start … --wait idle|end [--timeout D]`.
pub fn start_and_wait(a: StartArgs) -> i32 {
    finish_ctl((|| {
        let wait_text = a.wait.clone().unwrap_or_default();
        let what = WaitFor::parse(&wait_text).map_err(CmdError::Usage)?;
        let timeout_text = a.timeout.clone().unwrap_or_else(|| "30s".into());
        let timeout = crate::lang::duration::parse_duration(&timeout_text)
            .map(Duration::from_millis)
            .filter(|d| *d <= Duration::from_secs(3600))
            .ok_or_else(|| {
                CmdError::Usage(format!(
                    "--timeout '{timeout_text}' is not a duration up to 1h (30s, 5m)"
                ))
            })?;
        let (body, request) = super::control::start_parts(&a)?;
        let resp: Value = match server_url(&a.ctl) {
            Some(url) => client(&a.ctl, &url)?.post(
                &format!(
                    "/api/v1/jobs?wait={}&timeout={}",
                    what.as_str(),
                    encode(&timeout_text)
                ),
                &body,
            )?,
            None => embedded(&a.ctl, move |engine: Engine| async move {
                let job = engine.start(request).await.map_err(engine_error)?;
                let point = engine
                    .wait_for(&job, what, timeout)
                    .await
                    .map_err(engine_error)?;
                Ok(point.json())
            })?,
        };
        let job = resp["job"].as_str().unwrap_or_default();
        let state = resp["state"].as_str().unwrap_or_default();
        let waiting: Vec<String> = resp["waiting"]
            .as_array()
            .map(|w| {
                w.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let line = match resp["reached"].as_str() {
            Some("end") => format!("{job} {state}"),
            Some(_) => format!("{job} {state}, waiting: {}", waiting.join("; ")),
            None => format!("{job} {state} (still busy after {timeout_text})"),
        };
        Ok(answer(a.ctl.format, line, resp))
    })())
}
