//! What the engine tells subscribers (live displays, server-sent events) after each change is
//! durable.

use crate::core::types::{JobRecord, LogRow, StepRecord};
use crate::store::Progress;

#[derive(Debug, Clone, PartialEq)]
pub enum EngineEvent {
    Job(JobRecord),
    Step {
        job: String,
        step: StepRecord,
    },
    Progress {
        job: String,
        subname: String,
        progress: Progress,
    },
    Log(LogRow),
}
