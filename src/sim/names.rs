//! Names written in scenario files, resolved against the catalog.
//!
//! Scenario files are TOML, so every name is a plain string. Rule files upper-case unquoted
//! names (`load` is `LOAD`), so a scenario name matches a step or chain exactly first and,
//! failing that, by its upper-cased form; `"step1"`-style quoted names therefore still work.
//! Unknown names get the nearest existing name as a hint.

use crate::catalog::{Catalog, Chain, StepTarget};
use crate::lang::diagnostic::{did_you_mean, nearest_name};

/// Match `wanted` among `candidates`: exact, else upper-cased. `None` when neither matches.
pub fn match_name<'a, I>(wanted: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str> + Clone,
{
    if candidates.clone().into_iter().any(|c| c == wanted) {
        return Some(wanted.to_string());
    }
    let upper = wanted.to_uppercase();
    candidates
        .into_iter()
        .find(|c| *c == upper)
        .map(|c| c.to_string())
}

/// Resolve a chain name; the error names the nearest chain.
pub fn resolve_chain(catalog: &Catalog, wanted: &str) -> Result<String, String> {
    match match_name(wanted, catalog.chains.keys().map(|k| k.as_str())) {
        Some(n) => Ok(n),
        None => Err(unknown(
            &format!("unknown chain {wanted}"),
            nearest_name(wanted, catalog.chains.keys().map(|k| k.as_str())),
        )),
    }
}

/// What a resolved subname designates.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedStep {
    /// Canonical subname (`N.I1`).
    pub subname: String,
    /// The chain the innermost step belongs to.
    pub chain: String,
    pub target: StepTarget,
}

/// Resolve `A`, `N.I1`, `A.B.C` inside `chain` (walking nested chains).
pub fn resolve_subname(
    catalog: &Catalog,
    chain: &str,
    wanted: &str,
) -> Result<ResolvedStep, String> {
    let mut current: &Chain = catalog
        .chains
        .get(chain)
        .ok_or_else(|| format!("unknown chain {chain}"))?;
    let mut parts: Vec<String> = Vec::new();
    let segments: Vec<&str> = wanted.split('.').collect();
    for (i, seg) in segments.iter().enumerate() {
        let names = current.steps.iter().map(|s| s.name.as_str());
        let Some(name) = match_name(seg, names.clone()) else {
            let what = if parts.is_empty() {
                format!("chain {} has no step {seg}", current.name)
            } else {
                format!(
                    "nested chain {} (at {}) has no step {seg}",
                    current.name,
                    parts.join(".")
                )
            };
            return Err(unknown(&what, nearest_name(seg, names)));
        };
        parts.push(name.clone());
        let Some(step) = current.steps.iter().find(|s| s.name == name) else {
            return Err(format!("chain {} has no step {seg}", current.name));
        };
        if i + 1 == segments.len() {
            return Ok(ResolvedStep {
                subname: parts.join("."),
                chain: current.name.clone(),
                target: step.kind.clone(),
            });
        }
        match &step.kind {
            StepTarget::Chain(inner) => {
                current = catalog
                    .chains
                    .get(inner)
                    .ok_or_else(|| format!("unknown chain {inner}"))?;
            }
            _ => {
                return Err(format!(
                    "step {} of chain {} is not a nested chain, so {wanted} names nothing",
                    name, current.name
                ))
            }
        }
    }
    Err(format!("empty step name in chain {chain}"))
}

/// Every event name some event step of the catalog waits for.
pub fn event_names(catalog: &Catalog) -> Vec<String> {
    let mut out: Vec<String> = catalog
        .chains
        .values()
        .flat_map(|c| c.steps.iter())
        .filter_map(|s| match &s.kind {
            StepTarget::Event { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn unknown(what: &str, suggestion: Option<String>) -> String {
    format!("{what}{}", did_you_mean(suggestion.as_deref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_then_upper() {
        let names = ["A", "step1", "LOAD"];
        assert_eq!(
            match_name("step1", names.iter().copied()),
            Some("step1".into())
        );
        assert_eq!(
            match_name("load", names.iter().copied()),
            Some("LOAD".into())
        );
        assert_eq!(match_name("a", names.iter().copied()), Some("A".into()));
        assert_eq!(match_name("STEP1", names.iter().copied()), None);
    }
}
