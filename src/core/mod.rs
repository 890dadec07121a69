//! The core: a pure, deterministic chain state machine (no I/O, no clock, no tokio).
//!
//! Drivers (simulator, runtime, recovery) call [`Core::handle`] / [`Core::handle_batch`] with an
//! [`Input`] and the current time and carry out the returned [`Effect`]s, persisting state
//! changes before acting on them. See docs/evaluator.md.
//!
//! Layout: `types` (the contract), `engine` (the `Core` and input dispatch), `job` (job,
//! instance and step state, rule cache), `lifecycle` (step transitions), `passes` (evaluation
//! passes and stalls), `alter` (manual control), `triggers` (timers and events), `recovery` (snapshots and restart), `instance` (a chain
//! instance and its steps, with change marks), `journal` (per-record persistence),
//! `eval` / `payload` (three-valued conditions), `events` (delivery, refusals, kept events), `start_check` + `limits` (the checks
//! every start passes, shared by the runtime and the simulator).

mod admission;
mod alter;
pub mod engine;
pub mod eval;
pub mod events;
mod instance;
mod job;
pub mod journal;
mod lifecycle;
pub mod limits;
pub mod notify;
mod passes;
pub mod payload;
mod recovery;
mod restart;
pub mod start_check;
mod triggers;
pub mod types;

pub use engine::{Core, RuleValue};
pub use eval::{StepFacts, Truth};
pub use events::{EventDelivery, KeptEvent};
pub use instance::{InstStatusRecord, InstanceRecord, StepStateRecord};
pub use job::EvalStats;
pub use journal::{JobChanges, JobHeaderRecord, JobHeaderRecordV1, JobRecords};
pub use recovery::{JobDefinitions, JobSnapshot};
pub(crate) use triggers::event_name_matches;

pub use types::*;
