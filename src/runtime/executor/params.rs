//! `${NAME}` in a program's arguments is replaced by the job parameter or variable NAME (names
//! are case-insensitive: both are stored upper-cased). A name that is neither a parameter nor a
//! variable some program of the chain declares (`sets NAME`) is an error at job start: the job
//! does not start and the error names it (rule-language.md, docs/variables.md).

use crate::catalog::{Catalog, ProgramKind, StepTarget};
use std::collections::{BTreeMap, BTreeSet};

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

/// Replace every `${NAME}` by its parameter value; `Err(name)` for the first unknown name.
pub fn substitute(text: &str, params: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        out.push_str(&rest[..start]);
        let name = after[..end].trim().to_uppercase();
        match lookup(params, &name) {
            Some(v) => out.push_str(v),
            None => return Err(name),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn lookup<'a>(params: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
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
pub fn check_chain(
    catalog: &Catalog,
    chain: &str,
    params: &BTreeMap<String, String>,
) -> Result<(), String> {
    let declared = declared_variables(catalog, chain);
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
                    let Some(program) = catalog.programs.get(p) else {
                        continue;
                    };
                    if !matches!(program.kind, ProgramKind::Executable(_)) {
                        continue;
                    }
                    for arg in &program.arguments {
                        for r in references(arg) {
                            if lookup(params, &r).is_none() && !declared.contains(&r) {
                                return Err(format!(
                                    "unknown parameter {r}: program {} (step {} of chain {}) uses \
                                     ${{{r}}} in its arguments; pass it with --param {r}=VALUE",
                                    program.name, step.name, chain.name
                                ));
                            }
                        }
                    }
                }
                StepTarget::Event { .. } => {}
            }
        }
    }
    Ok(())
}

/// The variables the programs of `chain` (and of the chains it nests) declare with `sets`.
pub fn declared_variables(catalog: &Catalog, chain: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
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
                        out.extend(program.sets.iter().cloned());
                    }
                }
                StepTarget::Event { .. } => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn names_are_case_insensitive() {
        let p = params(&[("RUN_DATE", "2024-01-01")]);
        assert_eq!(
            substitute("--date=${run_date}!", &p).unwrap(),
            "--date=2024-01-01!"
        );
    }

    #[test]
    fn an_unknown_name_is_reported() {
        assert_eq!(
            substitute("${A}${B}", &params(&[("A", "1")])),
            Err("B".into())
        );
    }

    #[test]
    fn text_without_references_is_unchanged() {
        assert_eq!(substitute("$HOME ${", &params(&[])).unwrap(), "$HOME ${");
        assert_eq!(references("${a} x ${ b }"), vec!["A", "B"]);
    }
}
