//! chains, chain_steps, chain_rules, programs: the catalog the engine runs, as rows.

use super::time::seconds;
use super::{ChainRow, ChainRuleRow, ChainStepRow, ViewRow};
use crate::catalog::{Builtin, Catalog, Chain, ProgramKind, StepTarget};
use serde::{Deserialize, Serialize};

/// programs: one row per program of the catalog (Oracle's USER_SCHEDULER_PROGRAMS, for this
/// engine's kinds of program). Environment values are not shown (they may hold secrets); their
/// names are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgramRow {
    pub program_name: String,
    /// EXECUTABLE, SHELL, HANDLER or BUILTIN.
    pub program_type: String,
    /// The executable's path, the shell script, the handler's name, or the builtin
    /// (`noop`, `sleep 1s`, `fail 20100`).
    pub program_action: String,
    pub number_of_arguments: usize,
    pub arguments: Vec<String>,
    /// The names of the environment variables it sets.
    pub environment: Vec<String>,
    pub working_directory: Option<String>,
    /// Seconds; null when none.
    pub timeout: Option<f64>,
    /// The steps that run it, `CHAIN.STEP`.
    pub used_by: Vec<String>,
    /// `file:line` of the declaration.
    pub source: String,
}

impl ViewRow for ProgramRow {
    const COLUMNS: &'static [&'static str] = &[
        "PROGRAM_NAME",
        "PROGRAM_TYPE",
        "PROGRAM_ACTION",
        "NUMBER_OF_ARGUMENTS",
        "ARGUMENTS",
        "ENVIRONMENT",
        "WORKING_DIRECTORY",
        "TIMEOUT",
        "USED_BY",
        "SOURCE",
    ];
    const DEFAULT_COLUMNS: &'static [&'static str] = &[
        "PROGRAM_NAME",
        "PROGRAM_TYPE",
        "PROGRAM_ACTION",
        "TIMEOUT",
        "USED_BY",
    ];
}

pub fn programs(catalog: &Catalog, program: Option<&str>) -> Vec<ProgramRow> {
    catalog
        .programs
        .values()
        .filter(|p| program.is_none_or(|w| w == p.name))
        .map(|p| {
            let (kind, action) = match &p.kind {
                ProgramKind::Executable(path) => ("EXECUTABLE", path.clone()),
                ProgramKind::Shell(script) => ("SHELL", script.clone()),
                ProgramKind::Handler(name) => ("HANDLER", name.clone()),
                ProgramKind::Builtin(b) => (
                    "BUILTIN",
                    match b {
                        Builtin::Noop => "noop".to_string(),
                        Builtin::Sleep(ms) => {
                            format!("sleep {}", crate::lang::duration::format_duration(*ms))
                        }
                        Builtin::Fail(code) => format!("fail {code}"),
                    },
                ),
            };
            let used_by = catalog
                .chains
                .values()
                .flat_map(|c| {
                    c.steps.iter().filter_map(move |s| match &s.kind {
                        StepTarget::Program(n) if *n == p.name => {
                            Some(format!("{}.{}", c.name, s.name))
                        }
                        _ => None,
                    })
                })
                .collect();
            ProgramRow {
                program_name: p.name.clone(),
                program_type: kind.to_string(),
                program_action: action,
                number_of_arguments: p.arguments.len(),
                arguments: p.arguments.clone(),
                environment: p.environment.iter().map(|(k, _)| k.clone()).collect(),
                working_directory: p.working_directory.clone(),
                timeout: p.timeout.map(seconds),
                used_by,
                source: p.source.clone(),
            }
        })
        .collect()
}

fn chosen<'c>(catalog: &'c Catalog, chain: Option<&str>) -> impl Iterator<Item = &'c Chain> + 'c {
    let wanted = chain.map(String::from);
    catalog
        .chains
        .values()
        .filter(move |c| wanted.as_ref().is_none_or(|w| *w == c.name))
}

pub fn chains(catalog: &Catalog, chain: Option<&str>) -> Vec<ChainRow> {
    chosen(catalog, chain)
        .map(|c| ChainRow {
            chain_name: c.name.clone(),
            number_of_rules: c.rules.len(),
            number_of_steps: c.steps.len(),
            evaluation_interval: c.evaluation_interval.map(seconds),
            comments: c.comment.clone(),
            source: c.source.clone(),
        })
        .collect()
}

pub fn chain_steps(catalog: &Catalog, chain: Option<&str>) -> Vec<ChainStepRow> {
    chosen(catalog, chain)
        .flat_map(|c| {
            c.steps.iter().map(move |s| {
                let (step_type, program, subchain, event, condition) = match &s.kind {
                    StepTarget::Program(p) => ("PROGRAM", Some(p.clone()), None, None, None),
                    StepTarget::Chain(n) => ("SUBCHAIN", None, Some(n.clone()), None, None),
                    StepTarget::Event {
                        name,
                        condition_text,
                        ..
                    } => (
                        "EVENT",
                        None,
                        None,
                        Some(name.clone()),
                        condition_text.clone(),
                    ),
                };
                ChainStepRow {
                    chain_name: c.name.clone(),
                    step_name: s.name.clone(),
                    step_type: step_type.to_string(),
                    program_name: program,
                    subchain_name: subchain,
                    event_name: event,
                    event_condition: condition,
                    skip: s.attrs.skip,
                    pause: s.attrs.pause,
                    pause_before: s.attrs.pause_before,
                    restart_on_recovery: s.attrs.restart_on_recovery,
                    restart_on_failure: s.attrs.restart_on_failure.is_some(),
                }
            })
        })
        .collect()
}

pub fn chain_rules(catalog: &Catalog, chain: Option<&str>) -> Vec<ChainRuleRow> {
    chosen(catalog, chain)
        .flat_map(|c| {
            c.rules.iter().map(move |r| ChainRuleRow {
                chain_name: c.name.clone(),
                rule_name: r.name.clone(),
                position: r.position,
                condition: r.condition_text.clone(),
                action: super::truth::action_text(c, r),
                comments: r.comment.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Condition, RetryPolicy, Rule, RuleAction, Step, StepAttributes};

    #[test]
    fn one_row_per_chain_step_and_rule() {
        let chain = Chain {
            name: "LOAN".into(),
            comment: Some("loans".into()),
            evaluation_interval: Some(300_000),
            steps: vec![
                Step {
                    name: "V".into(),
                    kind: StepTarget::Program("VALIDATE".into()),
                    attrs: StepAttributes {
                        restart_on_failure: Some(RetryPolicy::oracle()),
                        ..Default::default()
                    },
                },
                Step {
                    name: "W".into(),
                    kind: StepTarget::Event {
                        name: "OK".into(),
                        condition: None,
                        condition_text: Some("size > 0".into()),
                    },
                    attrs: StepAttributes::default(),
                },
                Step {
                    name: "F".into(),
                    kind: StepTarget::Chain("FUND".into()),
                    attrs: StepAttributes {
                        pause_before: true,
                        ..Default::default()
                    },
                },
            ],
            rules: vec![Rule {
                name: "RULE$1".into(),
                position: 1,
                condition: Condition::Const(true),
                action: RuleAction::Start {
                    after: None,
                    steps: vec![0],
                },
                comment: None,
                condition_text: "TRUE".into(),
                action_text: "START V".into(),
            }],
            source: "loans.chain:3".into(),
        };
        let mut cat = Catalog::default();
        cat.chains.insert("LOAN".into(), chain);
        let c = chains(&cat, None);
        assert_eq!((c[0].number_of_steps, c[0].number_of_rules), (3, 1));
        assert_eq!(c[0].evaluation_interval, Some(300.0));
        assert_eq!(c[0].source, "loans.chain:3");
        assert!(chains(&cat, Some("NOPE")).is_empty());
        let s = chain_steps(&cat, Some("LOAN"));
        let types: Vec<&str> = s.iter().map(|r| r.step_type.as_str()).collect();
        assert_eq!(types, vec!["PROGRAM", "EVENT", "SUBCHAIN"]);
        assert!(s[0].restart_on_failure);
        assert_eq!(s[1].event_condition.as_deref(), Some("size > 0"));
        assert_eq!(s[2].subchain_name.as_deref(), Some("FUND"));
        assert!(s[2].pause_before);
        let r = chain_rules(&cat, None);
        assert_eq!(
            (r[0].rule_name.as_str(), r[0].position, r[0].action.as_str()),
            ("RULE$1", 1, "START V")
        );
    }
}
