//! `define_rule` interventions: a rule's condition and action texts resolved against the
//! running definition of its chain, so the core receives a resolved [`Rule`].
//!
//! Kept apart from the driver because it is the one place the simulator needs the rule-file
//! parser; a rule that does not parse or names an unknown step is refused (listed in
//! `rejected` with the parser's message) and changes nothing.

use crate::catalog::{resolve_rule, Chain, Rule};

/// Resolve `when`/`then` texts as rule `name` (canonical spelling) at `position` (1-based) of
/// `chain`. The error is one line: every problem found, with the nearest name where there is one.
pub fn resolve(
    chain: &Chain,
    name: &str,
    position: usize,
    when: &str,
    then: &str,
) -> Result<Rule, String> {
    // The catalog upper-cases unquoted names; keep a canonical name exactly as it is.
    let written = if name.chars().any(|c| c.is_lowercase()) {
        format!("\"{name}\"")
    } else {
        name.to_string()
    };
    resolve_rule(chain, Some(&written), position, when, then).map_err(|diags| {
        let parts: Vec<String> = diags
            .iter()
            .filter(|d| d.is_error())
            .map(|d| {
                let mut s = d.message.clone();
                if let Some(e) = &d.expected {
                    s.push_str(&format!(" (expected {e})"));
                }
                if let Some(h) = &d.suggestion {
                    s.push_str(&format!(" (did you mean {h}?)"));
                }
                s
            })
            .collect();
        format!("rule {name} of chain {}: {}", chain.name, parts.join("; "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::load_sources;

    fn chain() -> Chain {
        let loaded = load_sources(&[(
            "t.chain".to_string(),
            "program P { builtin noop; }\nchain C { step A program P; step B program P; rule R1 when TRUE then START A; }"
                .to_string(),
        )]);
        let catalog = loaded.catalog.expect("test catalog loads");
        catalog.chains["C"].clone()
    }

    #[test]
    fn resolves_and_refuses() {
        let c = chain();
        let r = resolve(&c, "R2", 2, "A SUCCEEDED", "START B").expect("resolves");
        assert_eq!(r.name, "R2");
        assert_eq!(r.position, 2);
        let e = resolve(&c, "R3", 3, "Q SUCCEEDED", "END").unwrap_err();
        assert!(e.starts_with("rule R3 of chain C: "), "{e}");
        assert!(e.contains('Q'), "{e}");
    }
}
