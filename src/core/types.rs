//! The core's vocabulary: states, inputs, effects, log and timeline rows.
//!
//! This file is the contract between the pure evaluator and its drivers (simulator, runtime,
//! recovery). Drivers feed [`Input`]s with the current time and carry out the returned
//! [`Effect`]s; they never change job state themselves.

use crate::lang::duration::Millis;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// State of a step (views show these spellings; note `RETRY SCHEDULED` has a space).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StepState {
    #[serde(rename = "NOT_STARTED")]
    NotStarted,
    #[serde(rename = "SCHEDULED")]
    Scheduled,
    #[serde(rename = "RUNNING")]
    Running,
    #[serde(rename = "RETRY SCHEDULED")]
    RetryScheduled,
    #[serde(rename = "PAUSED")]
    Paused,
    #[serde(rename = "STALLED")]
    Stalled,
    #[serde(rename = "SUCCEEDED")]
    Succeeded,
    #[serde(rename = "FAILED")]
    Failed,
    #[serde(rename = "STOPPED")]
    Stopped,
}

impl StepState {
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::NotStarted => "NOT_STARTED",
            StepState::Scheduled => "SCHEDULED",
            StepState::Running => "RUNNING",
            StepState::RetryScheduled => "RETRY SCHEDULED",
            StepState::Paused => "PAUSED",
            StepState::Stalled => "STALLED",
            StepState::Succeeded => "SUCCEEDED",
            StepState::Failed => "FAILED",
            StepState::Stopped => "STOPPED",
        }
    }
    pub fn is_completed(self) -> bool {
        matches!(
            self,
            StepState::Succeeded | StepState::Failed | StepState::Stopped
        )
    }
}

/// State of a chain job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobState {
    Enqueued,
    Running,
    ChainStalled,
    Succeeded,
    Failed,
    Stopped,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Enqueued => "ENQUEUED",
            JobState::Running => "RUNNING",
            JobState::ChainStalled => "CHAIN_STALLED",
            JobState::Succeeded => "SUCCEEDED",
            JobState::Failed => "FAILED",
            JobState::Stopped => "STOPPED",
        }
    }
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            JobState::Succeeded | JobState::Failed | JobState::Stopped
        )
    }
}

/// How one attempt of a program step ended, as reported by a driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Succeeded,
    /// Error code > 0.
    Failed(i64),
    Stopped,
}

/// A state given by *run with step states* or *alter running chain* (`state=...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PresetState {
    NotStarted,
    Succeeded,
    /// n > 0 required.
    Failed(i64),
    /// Kept STOPPED (a restarted job's step that is not restarted); not written by users.
    Stopped,
}

impl PresetState {
    /// Parse `SUCCEEDED`, `NOT_STARTED`, `FAILED 20100` (case-insensitive). `FAILED` without a
    /// positive code is an error with a message naming the problem.
    pub fn parse(text: &str) -> Result<PresetState, String> {
        let t = text.trim();
        let mut parts = t.split_whitespace();
        let head = parts.next().unwrap_or("").to_ascii_uppercase();
        let rest: Vec<&str> = parts.collect();
        match (head.as_str(), rest.as_slice()) {
            ("SUCCEEDED", []) => Ok(PresetState::Succeeded),
            ("NOT_STARTED", []) => Ok(PresetState::NotStarted),
            ("FAILED", [n]) => match n.parse::<i64>() {
                Ok(n) if n > 0 => Ok(PresetState::Failed(n)),
                _ => Err(format!(
                    "state '{t}': FAILED needs a positive error code, e.g. 'FAILED 20100'"
                )),
            },
            ("FAILED", []) => Err(format!(
                "state '{t}': FAILED needs a positive error code, e.g. 'FAILED 20100'"
            )),
            _ => Err(format!(
                "state '{t}' is not one of NOT_STARTED, SUCCEEDED, 'FAILED n'"
            )),
        }
    }
}

/// Operation of a job-log row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunOperation {
    Run,
    RetryRun,
    RecoveryRun,
}

impl RunOperation {
    pub fn as_str(self) -> &'static str {
        match self {
            RunOperation::Run => "RUN",
            RunOperation::RetryRun => "RETRY_RUN",
            RunOperation::RecoveryRun => "RECOVERY_RUN",
        }
    }
}

/// A change requested by *alter running chain* / *alter chain*. Absent fields are unchanged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlterChange {
    pub pause: Option<bool>,
    pub pause_before: Option<bool>,
    pub skip: Option<bool>,
    /// Only for *alter running chain*.
    pub state: Option<PresetState>,
    /// `true`: retry a failed attempt with the step's policy (the Oracle policy when the step
    /// had none); `false`: no retries.
    #[serde(default)]
    pub restart_on_failure: Option<bool>,
    #[serde(default)]
    pub restart_on_recovery: Option<bool>,
    /// The step's timeout for attempts that start from now on; `Some(0)` removes it.
    #[serde(default)]
    pub timeout: Option<Millis>,
}

impl AlterChange {
    /// Whether it changes a step attribute (anything but `state`).
    pub fn changes_attributes(&self) -> bool {
        self.pause.is_some()
            || self.pause_before.is_some()
            || self.skip.is_some()
            || self.restart_on_failure.is_some()
            || self.restart_on_recovery.is_some()
            || self.timeout.is_some()
    }
}

/// Parameters for starting a chain job.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StartRequest {
    /// `None`: generated `RUN_CHAIN$_<first 8 chars of chain><N>`.
    pub job: Option<String>,
    pub chain: String,
    /// Upper-cased names.
    pub parameters: BTreeMap<String, String>,
    /// *run with start steps* (top-level step names).
    pub start_steps: Vec<String>,
    /// *run with step states*: step name (or nested subname) → state.
    pub step_states: Vec<(String, PresetState)>,
    /// The job definition (`job NAME { ... }`) this run is of: its chain (when `chain` is
    /// empty), parameter defaults, group, `serialize by` and `max_run_duration` apply. `None`:
    /// the definition named like the job, if there is one.
    #[serde(default)]
    pub definition: Option<String>,
    /// Resource group of an ad-hoc run (overrides the definition's group).
    #[serde(default)]
    pub group: Option<String>,
    /// Who asked for the run (the jobs view's REQUESTED_BY): `SCHEDULER` for a scheduled
    /// run, the operating-system user for the CLI, what an API client sends.
    #[serde(default)]
    pub requested_by: Option<String>,
    /// Refuse the start when the name belongs to an ended job still in the store (its records
    /// would be replaced by the new run's). The API and `chainsched start` set it unless asked
    /// to `replace`; scheduled runs, which reuse their definition's name, do not. Not stored
    /// (the job header's encoding stays as it is): it only matters to the engine that
    /// accepts the start, which checks it before anything else.
    #[serde(skip)]
    pub refuse_ended: bool,
}

/// What a driver feeds the core. Each is handled at one instant `now`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Input {
    StartJob(StartRequest),
    /// An attempt of a program step ended. `attempt` guards against stale reports.
    StepFinished {
        job: String,
        subname: String,
        attempt: u32,
        outcome: Outcome,
        /// Job variables the attempt set (`::set NAME=VALUE`, a handler's context), in the
        /// order it set them; applied with the outcome, whatever the outcome (docs/variables.md).
        #[serde(default)]
        variables: Vec<(String, String)>,
    },
    /// A timer the core asked for (via [`Effect::SetTimer`]) is due.
    TimerFired {
        job: String,
        timer: TimerKey,
    },
    /// Raise an event; `job: Some` targets one job.
    RaiseEvent {
        name: String,
        payload: serde_json::Value,
        job: Option<String>,
    },
    /// `RaiseEvent`, and when it completes no waiting step, keep it for `keep` milliseconds
    /// for a step that starts waiting later (`core::events`).
    RaiseEventKept {
        name: String,
        payload: serde_json::Value,
        job: Option<String>,
        keep: Millis,
    },
    /// Alter running chain: `step: None` = all steps (incl. nested); a nested step by subname.
    Alter {
        job: String,
        step: Option<String>,
        change: AlterChange,
    },
    /// Alter the chain definition (running jobs and future runs). `state` is refused.
    AlterChain {
        chain: String,
        step: Option<String>,
        change: AlterChange,
    },
    /// Redefine (or add) a rule by name; applies from running jobs' next evaluation.
    DefineRule {
        chain: String,
        rule: crate::catalog::Rule,
    },
    /// Drop a rule by name, from the catalog and from the jobs running the chain.
    DropRule {
        chain: String,
        rule: String,
    },
    /// Drop a step from the chain definition (future runs). Refused while a rule names the
    /// step, and (unless `force`) while a job runs the chain; running jobs keep their
    /// definitions.
    DropStep {
        chain: String,
        step: String,
        force: bool,
    },
    Evaluate {
        job: String,
    },
    /// Stop a job (`step: None`) or one step (by subname).
    Stop {
        job: String,
        step: Option<String>,
    },
    /// Reopen an ended FAILED or STOPPED job (rewind, docs/operations.md "Restarting a job").
    Restart(RestartRequest),
}

/// *restart*: reopen an ended FAILED or STOPPED job in place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestartRequest {
    pub job: String,
    /// Top-level steps to run again (with every step their rules start); empty: the FAILED
    /// and STOPPED ones.
    pub from: Vec<String>,
    /// The ended job as the store keeps it, for a driver whose core no longer holds it
    /// (the runtime drops ended jobs from memory); `None`: the core's own.
    pub previous: Option<EndedJob>,
}

/// What is left of an ended job: its record, its step records, its variables, its last run
/// number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndedJob {
    pub record: JobRecord,
    pub steps: Vec<StepRecord>,
    pub variables: BTreeMap<String, Variable>,
    pub run: u32,
}

/// Timers the core asks a driver for. Keys are stable so recovery can re-arm them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TimerKey {
    /// `AFTER d START s` delay for step `subname` expired.
    AfterDelay { subname: String },
    /// Next attempt of `subname` (restart_on_failure).
    Retry { subname: String, attempt: u32 },
    /// `evaluation_interval` tick of the chain instance running at `subname` ("" = top level).
    Interval { subname: String },
    /// The job's `max_run_duration` has passed since it started (logged, never stops it).
    MaxRunDuration,
    /// Attempt `attempt` of step `subname` has run (program) or waited (event) longer than the
    /// step's `timeout`: it ends FAILED with [`STEP_TIMED_OUT`].
    StepTimeout { subname: String, attempt: u32 },
}

/// Error code of a step that ran or waited longer than its `timeout` (the code `timeout(1)`
/// and a program's own `timeout` use).
pub const STEP_TIMED_OUT: i64 = 124;

/// What the core asks its driver to do, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Effect {
    /// Persist then launch one attempt of a program step. Drivers must make the RUNNING state
    /// durable before launching.
    Launch {
        job: String,
        subname: String,
        chain: String,
        step: String,
        program: String,
        attempt: u32,
        operation: RunOperation,
        parameters: BTreeMap<String, String>,
    },
    /// Stop (kill) a running program step attempt; its result is no longer awaited.
    Kill {
        job: String,
        subname: String,
        attempt: u32,
    },
    SetTimer {
        job: String,
        timer: TimerKey,
        due: Millis,
    },
    CancelTimer {
        job: String,
        timer: TimerKey,
    },
    /// A step record changed (for persistence and live views).
    StepChanged {
        job: String,
        step: StepRecord,
    },
    /// The job record changed (state, error code, ...).
    JobChanged {
        job: JobRecord,
    },
    Log(LogRow),
    Timeline(TimelineEntry),
    /// An event was kept for a step that starts waiting later (persist it: `kev/`).
    EventKept(super::events::KeptEvent),
    /// A kept event was consumed by a step of `taken_by`, or expired (`None`): delete it.
    KeptEventGone {
        id: u64,
        name: String,
        taken_by: Option<String>,
    },
}

/// The persisted/viewed record of one step of a running chain (nested included).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub subname: String,
    /// Subname of the outer step running this step's chain; `None` at top level.
    pub parent_subname: Option<String>,
    pub chain: String,
    pub step: String,
    pub state: StepState,
    pub error_code: Option<i64>,
    pub attempts: u32,
    pub started_at: Option<Millis>,
    pub ended_at: Option<Millis>,
    pub skip: bool,
    pub pause: bool,
    pub pause_before: bool,
    pub restart_on_recovery: bool,
    pub restart_on_failure: bool,
    /// Log id of the step's latest job-log row.
    pub log_id: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub job: String,
    pub chain: String,
    pub state: JobState,
    pub error_code: Option<i64>,
    pub parameters: BTreeMap<String, String>,
    /// When the job started running (admitted); while ENQUEUED, its enqueue time.
    pub started_at: Millis,
    pub ended_at: Option<Millis>,
    pub stall_reason: Option<String>,
    /// Resource group (dotted path) the job counts against.
    #[serde(default)]
    pub group: Option<String>,
    /// Value of the definition's `serialize by` parameter (`10` for `serialize by DEPTNO` with
    /// DEPTNO = '10'; '' when the parameter has no value).
    #[serde(default)]
    pub serialize_key: Option<String>,
    /// When the job was ENQUEUED (`None`: it started at once).
    #[serde(default)]
    pub enqueued_at: Option<Millis>,
    /// Who asked for the job (from its start request).
    #[serde(default)]
    pub requested_by: Option<String>,
}

/// The value of one job variable set by a step (docs/variables.md). Parameters are the
/// variables' starting values and are not repeated here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variable {
    pub value: String,
    /// Subname of the step whose attempt set it.
    pub set_by: String,
    pub set_at: Millis,
}

/// Whether `name` can be the name of a job variable: the rule a parameter name follows (a
/// letter or `_`, then letters, digits, `_`, `$`, `#`; at most 128 characters), so that it is
/// also a valid environment variable name.
pub fn valid_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 128
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '#'))
}

/// One job-log row (a step-job run or the chain job).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogRow {
    pub log_id: u64,
    pub time: Millis,
    pub job: String,
    /// `None` for the chain job's own row.
    pub subname: Option<String>,
    pub chain: String,
    pub step: Option<String>,
    pub operation: RunOperation,
    /// SUCCEEDED, FAILED or STOPPED.
    pub status: StepState,
    pub error_code: i64,
    pub started_at: Option<Millis>,
    pub additional_info: Option<String>,
    /// The run of the job this row belongs to: 1, then 2 after a restart, …
    #[serde(default = "first_run")]
    pub run: u32,
}

fn first_run() -> u32 {
    1
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    JobEnqueued,
    JobStarted,
    Evaluation,
    RuleFired,
    StepState,
    EventRaised,
    Alter,
    Stall,
    JobEnded,
    /// The job ran longer than its definition's `max_run_duration` (it keeps running).
    MaxRunDuration,
    /// A step set a job variable.
    Variable,
    /// An ended job was reopened (restart): its new run number and the steps run again.
    JobRestarted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub time: Millis,
    pub job: String,
    pub subname: Option<String>,
    pub kind: TimelineKind,
    pub detail: String,
    /// On the row of a step becoming RUNNING or SCHEDULED: how it was started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<StartedBy>,
}

/// How a step was started (the timeline's STARTED_BY and BY_RULE).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartedBy {
    pub how: StartHow,
    /// The rule whose START started it (rule, after, event, restart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartHow {
    /// A rule's START, in an evaluation.
    Rule,
    /// *run with start steps*: started at once by the job's start.
    StartSteps,
    /// The next attempt of `restart_on_failure`.
    Retry,
    /// Run again after an engine crash (`restart_on_recovery`).
    Recovery,
    /// A rule's START in the first evaluation of a restarted job.
    Restart,
    /// The delay of `AFTER d START` ran out.
    After,
    /// A rule's START in an evaluation that a raised event caused.
    Event,
}

impl StartHow {
    pub fn as_str(self) -> &'static str {
        match self {
            StartHow::Rule => "rule",
            StartHow::StartSteps => "start_steps",
            StartHow::Retry => "retry",
            StartHow::Recovery => "recovery",
            StartHow::Restart => "restart",
            StartHow::After => "after",
            StartHow::Event => "event",
        }
    }
}

/// Why the core refused an input. A refused input changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum CoreError {
    #[error("unknown job {0}")]
    UnknownJob(String),
    #[error("unknown chain {chain}{}", crate::lang::diagnostic::did_you_mean(.nearest.as_deref()))]
    UnknownChain {
        chain: String,
        /// The closest existing chain name, if one is close.
        nearest: Option<String>,
    },
    #[error("job {job} has no step {step}{}", crate::lang::diagnostic::did_you_mean(.nearest.as_deref()))]
    UnknownStep {
        job: String,
        step: String,
        /// The closest subname of the job (`N.I2`), if one is close.
        #[serde(default)]
        nearest: Option<String>,
    },
    #[error("chain {chain} has no step {step}{}", crate::lang::diagnostic::did_you_mean(.nearest.as_deref()))]
    UnknownChainStep {
        chain: String,
        step: String,
        /// The closest step name of the chain, if one is close.
        nearest: Option<String>,
    },
    #[error("step {step} of job {job} is RUNNING; its state cannot be altered")]
    StepRunning { job: String, step: String },
    #[error("job {0} already exists")]
    DuplicateJob(String),
    #[error("job {0} has ended")]
    JobEnded(String),
    /// A start under the name of an ended job still in the store, without `replace`.
    #[error("job {job} has already run and ended {state}; starting it again would replace its records: pass \"replace\": true (API) or --replace (CLI) to start a new run under this name, or choose another name")]
    EndedJobName { job: String, state: String },
    /// `serialize by … on conflict error`: a run with the same key is running or waiting.
    #[error("job {job} refused: {scope} has a job with serialize key '{key}' {busy} (serialize by {param} on conflict error)")]
    SerializeConflict {
        job: String,
        /// `job definition REPORT` or `chain LOAD`.
        scope: String,
        key: String,
        param: String,
        /// `running (J1)` or `waiting (J2)`.
        busy: String,
    },
    /// A restart of a job that is not an ended FAILED or STOPPED job.
    #[error("job {job} is {state}: {why}")]
    NotRestartable {
        job: String,
        state: String,
        why: String,
    },
    #[error("{0}")]
    Invalid(String),
}
