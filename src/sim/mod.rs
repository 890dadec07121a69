//! The simulator: the engine's own core driven in **virtual time** from a scenario file.
//!
//! Why it exists: operations staff need to see what a chain *will* do (which step runs when,
//! which END wins, when it stalls) without running anything, and to pin that behaviour in
//! unit tests of their rule files (`chainsched test`). Because the simulator feeds the same
//! pure [`crate::core::Core`] as the real runtime, what `simulate` shows is what `run` does.
//!
//! * [`scenario`] — the scenario TOML turned into typed values, with errors naming file and key;
//! * [`names`] — scenario step names resolved against the catalog (`N.I1` subnames);
//! * [`driver`] — the virtual-time loop (completions, timers, interventions, one pass per instant);
//! * [`output`] — the stable JSON shape and the table for people;
//! * [`expect`] — checking `[expect]` tables against a result (for `chainsched test`).

pub mod define_rule;
pub mod driver;
pub mod expect;
pub mod names;
pub mod output;
pub mod scenario;
pub mod session;

pub use driver::{simulate, Rejected, SimJob, SimNotification, SimResult};
pub use expect::{check_expectations, Mismatch};
pub use scenario::{Scenario, ScenarioError};
pub use session::{run_file, Session};
