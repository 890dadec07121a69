//! The runtime: a tokio driver of the pure core. It owns the core behind one task (the engine
//! actor), persists every state change before acting on it, and carries out the effects:
//! processes and in-process handlers (executors), timers, events, recovery after a crash.
//!
//! See docs/embedding.md (library API) and docs/durability.md (what is durable when).

mod actor;
pub mod breakpoint;
pub mod clock;
pub mod cluster;
pub mod engine;
pub mod error;
pub mod events;
pub mod executor;
pub mod options;
pub mod recovery;
mod retention;
pub mod scheduler;

pub use actor::Accepted;
pub use breakpoint::{BreakPoint, WaitFor};
pub use cluster::{ClusterOptions, PurgeClaims};
pub use engine::{Engine, StepView};
pub use error::EngineError;
pub use events::EngineEvent;
pub use executor::guardian::serve_if_requested as serve_guardian_if_requested;
pub use executor::{HandlerContext, HandlerRegistry};
pub use options::{Durability, EngineOptions, Retention};
pub use recovery::RecoveryReport;
pub mod limits;
pub mod live;
pub(crate) mod notifier;
pub mod report;
