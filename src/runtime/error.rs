//! Why the engine refused or failed an operation.

use crate::core::types::CoreError;
use crate::store::StoreError;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// The core refused the input; nothing changed.
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A request the runtime refuses before the core sees it (e.g. an unknown `${PARAM}`).
    #[error("{0}")]
    Invalid(String),
    /// The engine has shut down (or stopped after a store failure).
    #[error("the engine is not running: {0}")]
    NotRunning(String),
    /// Engines sharing a database: the request belongs on another engine (the home of the
    /// job's group); the engine forwards it there (never returned to callers).
    #[error("the request belongs to engine {engine}")]
    Elsewhere { engine: String },
    /// A control request (stop, alter, evaluate, restart) named no job this engine knows, and a
    /// job with a close name exists: the core's `UnknownJob` with the suggestion.
    #[error("unknown job {job}{}", crate::lang::diagnostic::did_you_mean(Some(.nearest.as_str())))]
    UnknownJobNear { job: String, nearest: String },
}
