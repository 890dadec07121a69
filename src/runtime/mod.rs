//! The runtime: a tokio driver of the pure core. It owns the core behind one task (the engine
//! actor), persists every state change before acting on it, and carries out the effects:
//! processes and in-process handlers (executors), timers, events, recovery after a crash.
//!
//! See docs/embedding.md (library API) and docs/durability.md (what is durable when).

pub mod clock;
pub mod executor;
