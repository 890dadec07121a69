//! `define_rule` interventions: a rule's condition and action texts resolved against the
//! running definition of its chain, so the core receives a resolved [`Rule`].
//!
//! Kept apart from the driver because it is the one place the simulator needs the rule-file
//! parser; a rule that does not parse or names an unknown step is refused (listed in
//! `rejected` with the parser's message) and changes nothing.

use crate::catalog::{Chain, Rule};

/// Resolve `when`/`then` texts as rule `name` at `position` (1-based) of `chain`.
pub fn resolve(
    chain: &Chain,
    name: &str,
    position: usize,
    when: &str,
    then: &str,
) -> Result<Rule, String> {
    let _ = (chain, name, position, when, then);
    Err("define_rule is not available yet (rule resolution pending)".to_string())
}
