//! The checks every job start passes before anything changes: the limits on names and
//! parameters, the job definition (its chain, parameter defaults, group), the resource group,
//! and every `${NAME}` the chain's executables use naming a parameter.
//!
//! Why in the core: the runtime and the simulator both drive the core, so a scenario that
//! `simulate` accepts is a start `run` accepts, and the reverse (one function, not two copies).
//! The runtime calls [`Core::check_start`] before it claims anything for the job (a lease,
//! a generated name); the core calls it again when it handles the start, which costs nothing
//! and keeps the simulator honest.

use super::types::{CoreError, StartRequest};
use super::Core;
use crate::catalog::{Catalog, ProgramKind, StepTarget};
use crate::lang::diagnostic::{did_you_mean, nearest_name};
use std::collections::{BTreeMap, BTreeSet};

impl Core {
    /// Check a start request and complete it from its job definition (a job named after a
    /// definition, or `chain` naming one, runs that definition: its chain, parameter defaults
    /// and group). Returns the completed request; a refusal names the field at fault.
    pub fn check_start(&self, req: StartRequest) -> Result<StartRequest, CoreError> {
        if let Some(job) = &req.job {
            super::limits::check_job_name(job).map_err(CoreError::Invalid)?;
        }
        super::limits::check_parameters(&req.parameters).map_err(CoreError::Invalid)?;
        let req = self.resolve_definition(req)?;
        if let Some(g) = &req.group {
            if !self.catalog.groups.contains_key(g) {
                let nearest = nearest_name(g, self.catalog.groups.keys().map(String::as_str));
                return Err(CoreError::Invalid(format!(
                    "group: unknown resource group {g}{}",
                    did_you_mean(nearest.as_deref())
                )));
            }
        }
        if !self.catalog.chains.contains_key(&req.chain) {
            return Err(self.unknown_chain(&req.chain));
        }
        check_chain_parameters(&self.catalog, &req.chain, &req.parameters)
            .map_err(CoreError::Invalid)?;
        Ok(req)
    }
}

/// The `${NAME}` references of `text`, upper-cased, in order.
pub fn references(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                out.push(after[..end].trim().to_uppercase());
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

/// The value of parameter `name` (names are case-insensitive: stored upper-cased).
pub fn lookup<'a>(params: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    params
        .get(name)
        .or_else(|| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
        .map(String::as_str)
}

/// Check, before a job starts, that every `${NAME}` used by the arguments of a program the chain
/// (or one of its nested chains) can run names a parameter. The error names the parameter, the
/// program and the step.
pub fn check_chain_parameters(
    catalog: &Catalog,
    chain: &str,
    params: &BTreeMap<String, String>,
) -> Result<(), String> {
    // A variable some program of the chain declares (`sets NAME`) may be set before the step
    // that uses it runs (docs/variables.md).
    let declared = declared_variables(catalog, chain);
    let mut unknown = None;
    for_each_program(catalog, chain, |chain, step, program| {
        if unknown.is_some() || !matches!(program.kind, ProgramKind::Executable(_)) {
            return;
        }
        let missing = program
            .arguments
            .iter()
            .flat_map(|arg| references(arg))
            .find(|r| lookup(params, r).is_none() && !declared.contains(r));
        if let Some(r) = missing {
            unknown = Some(format!(
                "unknown parameter {r}: program {} (step {} of chain {}) uses ${{{r}}} in its \
                 arguments; pass it with --param {r}=VALUE",
                program.name, step.name, chain.name
            ));
        }
    });
    unknown.map_or(Ok(()), Err)
}

/// The variables the programs of `chain` (and of the chains it nests) declare with `sets`.
pub fn declared_variables(catalog: &Catalog, chain: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for_each_program(catalog, chain, |_, _, program| {
        out.extend(program.sets.iter().cloned())
    });
    out
}

/// Every program step of `chain` and of the chains it nests (each chain once), with its chain
/// and its program.
fn for_each_program(
    catalog: &Catalog,
    chain: &str,
    mut f: impl FnMut(&crate::catalog::Chain, &crate::catalog::Step, &crate::catalog::Program),
) {
    let mut seen = BTreeSet::new();
    let mut todo = vec![chain.to_string()];
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let Some(chain) = catalog.chains.get(&name) else {
            continue;
        };
        for step in &chain.steps {
            match &step.kind {
                StepTarget::Chain(inner) => todo.push(inner.clone()),
                StepTarget::Program(p) => {
                    if let Some(program) = catalog.programs.get(p) {
                        f(chain, step, program);
                    }
                }
                StepTarget::Event { .. } => {}
            }
        }
    }
}
