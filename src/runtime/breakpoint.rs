//! Natural break points (Flows for APEX's "foreground until the next wait"): wait until a job
//! has ended, or until nothing of it runs and it only waits — for an event step, an AFTER
//! delay, a pause, an operator (CHAIN_STALLED) or the queue (ENQUEUED). `chainsched start
//! --wait idle|end` and `POST /api/v1/jobs?wait=idle&timeout=30s` use it.
//!
//! Why it reads the store: a job's records are written in one batch per engine turn, so a read
//! never sees half a turn (a step that ended without the steps its rules started). It is
//! re-checked after every engine event, with a slow poll as a backstop (and for a job another
//! engine runs).

use super::engine::Engine;
use super::error::EngineError;
use crate::core::types::JobRecord;
use std::time::Duration;

/// What to wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitFor {
    /// The job has ended, or nothing of it runs and it only waits.
    Idle,
    /// The job has ended.
    End,
}

impl WaitFor {
    pub fn parse(text: &str) -> Result<WaitFor, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "idle" => Ok(WaitFor::Idle),
            "end" => Ok(WaitFor::End),
            other => Err(format!("wait '{other}' is not `idle` or `end`")),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            WaitFor::Idle => "idle",
            WaitFor::End => "end",
        }
    }
}

/// Where the job stands when the wait returns.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakPoint {
    pub job: JobRecord,
    /// `Some(Idle)`: it waits; `Some(End)`: it has ended; `None`: the timeout came first.
    pub reached: Option<WaitFor>,
    /// What it waits for (empty when it has ended or still runs).
    pub waiting: Vec<String>,
}

impl BreakPoint {
    /// The JSON answer of the API and the CLI.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "job": self.job.job,
            "state": self.job.state.as_str(),
            "error_code": self.job.error_code,
            "reached": self.reached.map(WaitFor::as_str),
            "timed_out": self.reached.is_none(),
            "waiting": self.waiting,
        })
    }
}

impl Engine {
    /// Wait until `job` reaches `what` or `timeout` passes (real time).
    pub async fn wait_for(
        &self,
        job: &str,
        what: WaitFor,
        timeout: Duration,
    ) -> Result<BreakPoint, EngineError> {
        let mut events = self.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let record = self.job(job)?.ok_or_else(|| {
                EngineError::Core(crate::core::types::CoreError::UnknownJob(job.to_string()))
            })?;
            let now_point = if record.state.is_finished() {
                Some((WaitFor::End, Vec::new()))
            } else if what == WaitFor::Idle {
                let steps = self.steps(job)?;
                let catalog = self.catalog()?;
                crate::views::apex::waits(&catalog, &record, &steps).map(|w| (WaitFor::Idle, w))
            } else {
                None
            };
            if let Some((reached, waiting)) = now_point {
                return Ok(BreakPoint {
                    job: record,
                    reached: Some(reached),
                    waiting,
                });
            }
            tokio::select! {
                _ = events.recv() => {}
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                _ = tokio::time::sleep_until(deadline) => {
                    let job = self.job(job)?.unwrap_or(record);
                    return Ok(BreakPoint { job, reached: None, waiting: Vec::new() });
                }
            }
        }
    }
}
