//! The views operators query (docs/http-api.md lists their rows): running_chains, jobs, job_log,
//! job_run_details, timeline, chains, chain_steps, chain_rules, stats and explain.
//!
//! Why this shape: the same rows must come out of the Rust API, the CLI and the HTTP API, so
//! every view is built in one place from plain records by **pure builder functions** (no I/O, the
//! current time passed in), and everything that reads records goes through one small trait,
//! [`ViewSource`]. The sled store implements it ([`store_source`]); tests implement it with
//! hand-made records; the server and the CLI call the same [`query`] functions and print rows
//! with the same [`render`] module.
//!
//! * [`rows`] — one struct per view, exactly the views.md columns;
//! * [`time`] — RFC 3339 instants and durations in seconds;
//! * [`running`], [`jobs`], [`log`], [`timeline`], [`catalog_views`], [`stats`], [`explain`]
//!   — the builders; [`truth`] — three-valued predicate truth for explain;
//! * [`schedules`] — the schedules view (scheduled job definitions, next and last runs);
//! * [`gantt`], [`history`], [`overview`] — the dashboard's pictures as data: a job's runs
//!   on a time axis, a chain's last runs as series, the landing page's counters;
//! * [`events`] — the events view (events kept for steps that start waiting later);
//! * [`query`] — filters + builders over a [`ViewSource`];
//! * [`render`] — table, JSON and CSV.

pub mod apex;
pub mod catalog_views;
pub mod engines;
pub mod events;
pub mod explain;
pub mod gantt;
pub mod history;
pub mod jobs;
pub mod log;
pub mod overview;
pub mod query;
pub mod render;
pub mod rows;
pub mod running;
pub mod schedules;
pub mod stats;
pub mod store_source;
pub mod time;
pub mod timeline;
pub mod truth;

pub use catalog_views::ProgramRow;
pub use engines::EngineRow;
pub use events::KeptEventRow;
pub use rows::*;
pub use schedules::ScheduleRow;

use crate::catalog::Catalog;
use crate::core::types::{JobRecord, JobState, LogRow, StepRecord, TimelineEntry};
use crate::lang::duration::Millis;
use crate::store::{Progress, RunDetails};
use std::sync::Arc;

/// A chain job as the views need it: the core's record plus what the runtime knows about how it
/// was requested. Fields the source cannot tell are `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct JobInfo {
    pub record: JobRecord,
    /// Resource group (dotted path) the job ran in.
    pub group: Option<String>,
    /// Value of the job's serialization parameter.
    pub serialize_key: Option<String>,
    /// Who asked for the job (the CLI user, the API token's holder, a schedule).
    pub requested_by: Option<String>,
    /// When the job was requested; `None`: unknown (the query layer then looks in the
    /// timeline for `job_enqueued`).
    pub enqueued_at: Option<Millis>,
}

impl JobInfo {
    pub fn from_record(record: JobRecord) -> JobInfo {
        JobInfo {
            group: record.group.clone(),
            serialize_key: record.serialize_key.clone(),
            requested_by: record.requested_by.clone(),
            enqueued_at: record.enqueued_at,
            record,
        }
    }
}

/// One step of a job with the progress it last reported.
#[derive(Debug, Clone, PartialEq)]
pub struct StepInfo {
    pub record: StepRecord,
    pub progress: Option<Progress>,
}

/// `NAME=value, NAME=value` (null when there is none): how the views show variables.
pub fn variables_text<'a>(vars: impl Iterator<Item = (&'a str, &'a str)>) -> Option<String> {
    let parts: Vec<String> = vars.map(|(k, v)| format!("{k}={v}")).collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// Which job-log rows to read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogFilter {
    pub job: Option<String>,
    pub chain: Option<String>,
    /// Only rows with `log_id > since_id` (paging forward).
    pub since_id: Option<u64>,
    /// Only rows logged at or after this instant.
    pub since: Option<Millis>,
    /// Only rows logged before this instant.
    pub until: Option<Millis>,
    /// At most this many rows: the first ones after `since_id` when it is given, else the
    /// most recent ones (still returned in log-id order).
    pub limit: Option<usize>,
}

/// Which jobs to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobFilter {
    pub job: Option<String>,
    pub chain: Option<String>,
    /// Any of these states (empty: all).
    pub states: Vec<JobState>,
    /// Only jobs started (or enqueued) at or after this instant.
    pub since: Option<Millis>,
    /// Only jobs started (or enqueued) before this instant.
    pub until: Option<Millis>,
    /// At most this many jobs, newest first.
    pub limit: Option<usize>,
}

/// Why a view could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ViewError {
    #[error("{what} {name} not found{}", crate::lang::diagnostic::did_you_mean(.nearest.as_deref()))]
    NotFound {
        what: &'static str,
        name: String,
        /// The closest existing name, for a typo (chains).
        nearest: Option<String>,
    },
    #[error("{0}")]
    BadRequest(String),
    #[error("store error: {0}")]
    Store(String),
}

impl From<crate::store::StoreError> for ViewError {
    fn from(e: crate::store::StoreError) -> Self {
        ViewError::Store(e.to_string())
    }
}

/// Everything the views read. Implementations must not block the engine (the sled store reads
/// a consistent snapshot per call).
pub trait ViewSource {
    /// Every chain job, running and finished (any order).
    fn jobs(&self) -> Result<Vec<JobInfo>, ViewError>;
    fn job(&self, job: &str) -> Result<Option<JobInfo>, ViewError>;
    /// The job's steps in definition order, nested steps right after their outer step.
    fn steps(&self, job: &str) -> Result<Vec<StepInfo>, ViewError>;
    /// Job-log rows in log-id order. May return more than the filter asks (the query layer
    /// filters again) but never fewer.
    fn log(&self, filter: &LogFilter) -> Result<Vec<LogRow>, ViewError>;
    fn details(&self, log_id: u64) -> Result<Option<RunDetails>, ViewError>;
    /// The job's timeline in order.
    fn timeline(&self, job: &str) -> Result<Vec<TimelineEntry>, ViewError>;
    /// The catalog the engine runs.
    fn catalog(&self) -> Result<Arc<Catalog>, ViewError>;

    /// The variables steps of the job set (name → value and setter). Sources that do not
    /// keep them have none.
    fn variables(
        &self,
        _job: &str,
    ) -> Result<std::collections::BTreeMap<String, crate::core::types::Variable>, ViewError> {
        Ok(Default::default())
    }

    /// The jobs that pass `filter` (all but its `job` field, which the caller handles),
    /// newest first as [`jobs::select`] orders them, at most `filter.limit`. Sources with an
    /// index of jobs by time should override this so that a limited list reads about `limit`
    /// jobs; this default reads them all.
    fn jobs_selected(&self, filter: &JobFilter) -> Result<Vec<JobInfo>, ViewError> {
        Ok(jobs::select(self.jobs()?, filter))
    }

    /// The unfinished jobs (ENQUEUED, RUNNING, CHAIN_STALLED), any order. Sources with an
    /// index of them should override this; this default reads every job.
    fn active_jobs(&self) -> Result<Vec<JobInfo>, ViewError> {
        Ok(self
            .jobs()?
            .into_iter()
            .filter(|j| !j.record.state.is_finished())
            .collect())
    }

    /// The scheduler's records of the scheduled job definitions (any order). Sources without
    /// a scheduler have none.
    fn schedules(&self) -> Result<Vec<crate::store::schedules::ScheduleState>, ViewError> {
        Ok(Vec::new())
    }

    /// The notification outbox, newest first, at most `limit` rows (`views::apex`). Sources
    /// without a store have none.
    fn notifications(
        &self,
        _limit: usize,
    ) -> Result<Vec<crate::store::outbox::Notification>, ViewError> {
        Ok(Vec::new())
    }

    /// The job definition a job was a run of, when the source knows it.
    fn job_definition(&self, _job: &str) -> Result<Option<String>, ViewError> {
        Ok(None)
    }

    /// When the job was requested, from its timeline's `job_enqueued` entry (the first entries
    /// of a timeline). Sources that can read just the head of a timeline should override this.
    fn enqueued_at(&self, job: &str) -> Result<Option<Millis>, ViewError> {
        Ok(self
            .timeline(job)?
            .iter()
            .take(4)
            .find(|e| e.kind == crate::core::types::TimelineKind::JobEnqueued)
            .map(|e| e.time))
    }
}

/// Parse a job state name (`running`, `CHAIN_STALLED`, ...).
pub fn parse_job_state(text: &str) -> Result<JobState, ViewError> {
    let all = [
        JobState::Enqueued,
        JobState::Running,
        JobState::ChainStalled,
        JobState::Succeeded,
        JobState::Failed,
        JobState::Stopped,
    ];
    let t = text.trim();
    all.into_iter()
        .find(|s| s.as_str().eq_ignore_ascii_case(t))
        .ok_or_else(|| {
            ViewError::BadRequest(format!(
                "state '{t}' is not one of ENQUEUED, RUNNING, CHAIN_STALLED, SUCCEEDED, FAILED, STOPPED"
            ))
        })
}

/// Parse a comma-separated list of job states (empty text: no filter).
pub fn parse_job_states(text: &str) -> Result<Vec<JobState>, ViewError> {
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(parse_job_state)
        .collect()
}
