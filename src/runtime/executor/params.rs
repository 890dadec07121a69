//! `${NAME}` in a program's arguments is replaced by the job parameter or variable NAME (names
//! are case-insensitive: both are stored upper-cased). A name that is neither a parameter nor a
//! variable some program of the chain declares (`sets NAME`) is an error at job start: the job
//! does not start and the error names it (rule-language.md, docs/variables.md).
//! That check is the core's start check (`crate::core::start_check`), shared with the simulator.

use std::collections::BTreeMap;

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

pub use crate::core::start_check::{check_chain_parameters as check_chain, lookup, references};

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
