//! The core: a pure, deterministic chain state machine (no I/O, no clock, no tokio).
//!
//! Drivers call [`Core::handle`] with an [`Input`] and the current time and carry out the
//! returned [`Effect`]s. See docs/ARCHITECTURE.md and ../shared/spec/semantics.md.

pub mod engine;
pub mod types;

pub use engine::Core;

pub use types::*;
