//! `chainsched enable JOB` and `chainsched disable JOB` (Oracle's DBMS_SCHEDULER.ENABLE and
//! DISABLE of a job): whether the scheduler and events start job definition JOB. Durable: the
//! word holds across restarts until the rule file's own `enabled` setting changes
//! (docs/scheduling.md, "Job attributes"). Like the other control commands they go to a running
//! service with `--server`, or write the store (`--db`) for the time of the command.

use super::control::ControlArgs;
use super::control::{answer, client, embedded, engine_error, finish, server_url};
use crate::runtime::Engine;
use crate::server::client::encode;
use serde_json::{json, Value};

#[derive(Debug, clap::Args)]
pub struct EnableArgs {
    /// The job definition (`job NAME { ... }`).
    pub job: String,
    #[command(flatten)]
    pub ctl: ControlArgs,
}

pub fn enable(a: EnableArgs) -> i32 {
    set(a, true)
}

pub fn disable(a: EnableArgs) -> i32 {
    set(a, false)
}

fn set(a: EnableArgs, enabled: bool) -> i32 {
    let verb = if enabled { "enable" } else { "disable" };
    finish((|| {
        match server_url(&a.ctl) {
            Some(url) => {
                let _: Value = client(&a.ctl, &url)?.post(
                    &format!("/api/v1/schedules/{}/{verb}", encode(&a.job)),
                    &json!({}),
                )?;
            }
            None => {
                let job = a.job.clone();
                embedded(&a.ctl, move |e: Engine| async move {
                    e.set_job_enabled(&job, enabled).await.map_err(engine_error)
                })?;
            }
        }
        Ok(answer(
            a.ctl.format,
            format!("job {} {verb}d", a.job),
            json!({ "job": a.job, "enabled": enabled }),
        ))
    })())
}
