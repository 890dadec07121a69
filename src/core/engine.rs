//! The state machine (owned by the core work). Public surface used by the drivers:
//!
//! * `Core::new(catalog)`, `Core::set_catalog(catalog)` (reload: future runs only)
//! * `Core::handle(now, input) -> Result<Vec<Effect>, CoreError>` — a refused input changes nothing
//! * `Core::handle_batch(now, inputs) -> (effects, per-input results)` — one evaluation per job at the end
//! * `Core::job_record(job)`, `Core::step_records(job)` (definition order, nested right after
//!   their outer step), `Core::job_names()`
//! * `Core::snapshot_job(job) -> Option<JobSnapshot>`, `Core::restore_job(snapshot)`,
//!   `Core::recover_job(now, job) -> Result<Vec<Effect>, CoreError>` (recovery semantics)

use super::types::*;
use crate::catalog::Catalog;
use crate::lang::duration::Millis;

#[derive(Debug, Default)]
pub struct Core {
    pub catalog: Catalog,
}

impl Core {
    pub fn new(catalog: Catalog) -> Self {
        Core { catalog }
    }

    pub fn handle(&mut self, _now: Millis, _input: Input) -> Result<Vec<Effect>, CoreError> {
        Err(CoreError::Invalid("core not implemented yet".into()))
    }

    /// Apply several inputs at one instant, then run ONE evaluation pass per affected job
    /// (the simulator's "order within an instant"; two steps finishing together are seen
    /// together). Returns all effects and, per input, whether it was accepted.
    pub fn handle_batch(
        &mut self,
        _now: Millis,
        inputs: Vec<Input>,
    ) -> (Vec<Effect>, Vec<Result<(), CoreError>>) {
        let n = inputs.len();
        (
            Vec::new(),
            (0..n)
                .map(|_| Err(CoreError::Invalid("core not implemented yet".into())))
                .collect(),
        )
    }

    pub fn job_record(&self, _job: &str) -> Option<JobRecord> {
        None
    }

    pub fn step_records(&self, _job: &str) -> Vec<StepRecord> {
        Vec::new()
    }
}
