//! The DBMS_SCHEDULER procedures the importer knows: their parameters, in Oracle's order.
//!
//! Why a table: PL/SQL lets callers mix positional and named arguments, so each call is
//! bound to parameter names first ([`bind`]); the translator then only asks for
//! `chain_name`, `condition`, ... A misspelt parameter name, a duplicate, a missing required
//! one or too many arguments is a script error (Oracle would reject it too, PLS-00306).
//! Overloads that differ in their positional order (DEFINE_CHAIN_EVENT_STEP with an event
//! schedule or with a condition and queue) are told apart by the argument values.

use super::calls::Call;
use super::value::Value;
use crate::lang::diagnostic::{nearest_name, Diagnostic};
use crate::lang::span::Span;
use std::collections::BTreeMap;

/// A call with its arguments bound to parameter names.
#[derive(Debug, Clone)]
pub struct Bound {
    pub proc: String,
    /// The span of the procedure name.
    pub span: Span,
    /// Parameter name → (value, span of the argument).
    pub args: BTreeMap<&'static str, (Value, Span)>,
}

impl Bound {
    /// The argument, unless absent or NULL.
    pub fn get(&self, name: &str) -> Option<&(Value, Span)> {
        self.args.get(name).filter(|(v, _)| *v != Value::Null)
    }
}

struct Signature {
    /// Every parameter name any overload accepts (for named arguments).
    named: &'static [&'static str],
    required: &'static [&'static str],
}

fn signature(proc: &str) -> Option<Signature> {
    let s = |named, required| Some(Signature { named, required });
    match proc {
        "CREATE_PROGRAM" => s(
            &[
                "program_name",
                "program_type",
                "program_action",
                "number_of_arguments",
                "enabled",
                "comments",
            ],
            &["program_name", "program_type", "program_action"],
        ),
        "DEFINE_PROGRAM_ARGUMENT" | "DEFINE_ANYDATA_ARGUMENT" => s(
            &[
                "program_name",
                "argument_position",
                "argument_name",
                "argument_type",
                "default_value",
                "out_argument",
            ],
            &["program_name", "argument_position"],
        ),
        "DEFINE_METADATA_ARGUMENT" => s(
            &[
                "program_name",
                "metadata_attribute",
                "argument_position",
                "argument_name",
            ],
            &["program_name", "argument_position"],
        ),
        "DROP_PROGRAM_ARGUMENT" => s(
            &["program_name", "argument_position", "argument_name"],
            &["program_name"],
        ),
        "CREATE_CHAIN" => s(
            &[
                "chain_name",
                "rule_set_name",
                "evaluation_interval",
                "comments",
            ],
            &["chain_name"],
        ),
        "DEFINE_CHAIN_STEP" => s(
            &["chain_name", "step_name", "program_name"],
            &["chain_name", "step_name", "program_name"],
        ),
        "DEFINE_CHAIN_EVENT_STEP" => s(
            &[
                "chain_name",
                "step_name",
                "event_schedule_name",
                "event_condition",
                "queue_spec",
                "timeout",
            ],
            &["chain_name", "step_name"],
        ),
        "DEFINE_CHAIN_RULE" => s(
            &["chain_name", "condition", "action", "rule_name", "comments"],
            &["chain_name", "condition", "action"],
        ),
        "ALTER_CHAIN" => s(
            &[
                "chain_name",
                "step_name",
                "attribute",
                "value",
                "char_value",
            ],
            &["chain_name", "step_name", "attribute"],
        ),
        "ALTER_RUNNING_CHAIN" => s(
            &["job_name", "step_name", "attribute", "value"],
            &["job_name"],
        ),
        "CREATE_JOB" => s(
            &[
                "job_name",
                "job_type",
                "job_action",
                "number_of_arguments",
                "start_date",
                "repeat_interval",
                "end_date",
                "job_class",
                "enabled",
                "auto_drop",
                "comments",
                "credential_name",
                "destination_name",
                "program_name",
                "schedule_name",
                "event_condition",
                "queue_spec",
                "job_style",
            ],
            &["job_name"],
        ),
        "CREATE_SCHEDULE" => s(
            &[
                "schedule_name",
                "start_date",
                "repeat_interval",
                "end_date",
                "comments",
            ],
            &["schedule_name", "repeat_interval"],
        ),
        "CREATE_EVENT_SCHEDULE" => s(
            &[
                "schedule_name",
                "start_date",
                "event_condition",
                "queue_spec",
                "end_date",
                "comments",
            ],
            &["schedule_name", "event_condition"],
        ),
        "SET_JOB_ARGUMENT_VALUE" | "SET_JOB_ANYDATA_VALUE" => s(
            &[
                "job_name",
                "argument_position",
                "argument_name",
                "argument_value",
            ],
            &["job_name", "argument_value"],
        ),
        "SET_ATTRIBUTE" => s(
            &["name", "attribute", "value", "value2"],
            &["name", "attribute"],
        ),
        "SET_ATTRIBUTE_NULL" => s(&["name", "attribute"], &["name", "attribute"]),
        "ENABLE" => s(&["name", "commit_semantics"], &["name"]),
        "DISABLE" => s(&["name", "force", "commit_semantics"], &["name"]),
        "RUN_CHAIN" => s(
            &[
                "chain_name",
                "start_steps",
                "step_state_list",
                "job_name",
                "start_date",
            ],
            &["chain_name"],
        ),
        "RUN_JOB" => s(&["job_name", "use_current_session"], &["job_name"]),
        "STOP_JOB" => s(&["job_name", "force", "commit_semantics"], &["job_name"]),
        "EVALUATE_RUNNING_CHAIN" => s(&["job_name"], &["job_name"]),
        "DROP_CHAIN" => s(&["chain_name", "force"], &["chain_name"]),
        "DROP_PROGRAM" => s(&["program_name", "force"], &["program_name"]),
        "DROP_JOB" => s(
            &["job_name", "force", "defer", "commit_semantics"],
            &["job_name"],
        ),
        "DROP_SCHEDULE" => s(&["schedule_name", "force"], &["schedule_name"]),
        "DROP_CHAIN_STEP" => s(
            &["chain_name", "step_name", "force"],
            &["chain_name", "step_name"],
        ),
        "DROP_CHAIN_RULE" => s(
            &["chain_name", "rule_name", "force"],
            &["chain_name", "rule_name"],
        ),
        _ => None,
    }
}

/// The positional order of `proc`'s parameters, given the positional values.
fn positional(proc: &str, values: &[&Value]) -> &'static [&'static str] {
    let is_num = |i: usize| matches!(values.get(i), Some(Value::Num(_)));
    match proc {
        "DEFINE_PROGRAM_ARGUMENT" if values.len() == 5 && matches!(values[4], Value::Bool(_)) => &[
            "program_name",
            "argument_position",
            "argument_name",
            "argument_type",
            "out_argument",
        ],
        "DROP_PROGRAM_ARGUMENT" if !is_num(1) => &["program_name", "argument_name"],
        "DROP_PROGRAM_ARGUMENT" => &["program_name", "argument_position"],
        "DEFINE_CHAIN_EVENT_STEP"
            if values.len() >= 4 && !matches!(values[3], Value::Interval(_)) =>
        {
            &[
                "chain_name",
                "step_name",
                "event_condition",
                "queue_spec",
                "timeout",
            ]
        }
        "DEFINE_CHAIN_EVENT_STEP" => &["chain_name", "step_name", "event_schedule_name", "timeout"],
        "SET_JOB_ARGUMENT_VALUE" | "SET_JOB_ANYDATA_VALUE" if !is_num(1) => {
            &["job_name", "argument_name", "argument_value"]
        }
        "SET_JOB_ARGUMENT_VALUE" | "SET_JOB_ANYDATA_VALUE" => {
            &["job_name", "argument_position", "argument_value"]
        }
        "CREATE_JOB" => &[
            "job_name",
            "job_type",
            "job_action",
            "number_of_arguments",
            "start_date",
            "repeat_interval",
            "end_date",
            "job_class",
            "enabled",
            "auto_drop",
            "comments",
            "credential_name",
            "destination_name",
        ],
        "RUN_CHAIN" => &["chain_name", "start_steps", "job_name", "start_date"],
        _ => signature(proc).map(|s| s.named).unwrap_or(&[]),
    }
}

/// Bind a call's arguments to parameter names. `Ok(None)`: not a procedure the importer knows.
pub fn bind(call: &Call) -> Result<Option<Bound>, Box<Diagnostic>> {
    let Some(sig) = signature(&call.proc) else {
        return Ok(None);
    };
    let span = Span::new(0, call.start, call.end);
    let full = format!("DBMS_SCHEDULER.{}", call.proc);
    let pos_values: Vec<&Value> = call
        .args
        .iter()
        .filter(|a| a.name.is_none())
        .map(|a| &a.value)
        .collect();
    let order = positional(&call.proc, &pos_values);
    let mut args: BTreeMap<&'static str, (Value, Span)> = BTreeMap::new();
    let mut next_pos = 0;
    for a in &call.args {
        let aspan = Span::new(0, a.start, a.end);
        let param = match &a.name {
            None => {
                let Some(p) = order.get(next_pos) else {
                    return Err(Box::new(
                        Diagnostic::error(
                            "syntax",
                            format!("{full} takes at most {} positional arguments", order.len()),
                            aspan,
                        )
                        .with_expected("`)`"),
                    ));
                };
                next_pos += 1;
                *p
            }
            Some(n) => match sig.named.iter().find(|p| **p == n.as_str()) {
                Some(p) => *p,
                None => {
                    return Err(Box::new(
                        Diagnostic::error(
                            "syntax",
                            format!("{full} has no parameter `{n}`"),
                            aspan,
                        )
                        .with_expected(format!("one of {}", sig.named.join(", ")))
                        .with_suggestion(nearest_name(n, sig.named.iter().copied())),
                    ))
                }
            },
        };
        if args.insert(param, (a.value.clone(), aspan)).is_some() {
            return Err(Box::new(Diagnostic::error(
                "syntax",
                format!("{full}: parameter `{param}` is given twice"),
                aspan,
            )));
        }
    }
    let bound = Bound {
        proc: call.proc.clone(),
        span,
        args,
    };
    // A required parameter given as NULL is bound (Oracle compiles the call and fails it
    // when it runs): the translator warns about it.
    if let Some(missing) = sig.required.iter().find(|r| !bound.args.contains_key(*r)) {
        return Err(Box::new(
            Diagnostic::error(
                "syntax",
                format!("{full} needs a value for `{missing}`"),
                span,
            )
            .with_expected(format!("an argument `{missing} => ...`")),
        ));
    }
    Ok(Some(bound))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::calls::{parse, Item};

    fn bind_text(text: &str) -> Result<Option<Bound>, Box<Diagnostic>> {
        let item = parse(text).into_iter().flat_map(|u| u.items).next();
        match item {
            Some(Item::Call(c)) => bind(&c),
            other => panic!("not a call: {other:?}"),
        }
    }

    #[test]
    fn positional_and_named_mix() {
        let b =
            bind_text("EXEC DBMS_SCHEDULER.DEFINE_CHAIN_RULE('c', 'TRUE', action => 'START s')")
                .unwrap()
                .unwrap();
        assert_eq!(b.get("condition").unwrap().0, Value::Str("TRUE".into()));
        assert_eq!(b.get("action").unwrap().0, Value::Str("START s".into()));
    }

    #[test]
    fn event_step_overloads() {
        let b = bind_text("EXEC DBMS_SCHEDULER.DEFINE_CHAIN_EVENT_STEP('c', 's', 'tab.user_data.x = 1', 'q, agent')")
            .unwrap()
            .unwrap();
        assert!(b.get("queue_spec").is_some());
        let b = bind_text("EXEC DBMS_SCHEDULER.DEFINE_CHAIN_EVENT_STEP('c', 's', 'sched')")
            .unwrap()
            .unwrap();
        assert!(b.get("event_schedule_name").is_some());
    }

    #[test]
    fn bad_bindings() {
        let e = bind_text("EXEC DBMS_SCHEDULER.CREATE_CHAIN(chian_name => 'c')").unwrap_err();
        assert_eq!(e.suggestion.as_deref(), Some("chain_name"));
        assert!(bind_text("EXEC DBMS_SCHEDULER.DEFINE_CHAIN_STEP('c', 's')").is_err());
        assert!(bind_text("EXEC DBMS_SCHEDULER.DROP_CHAIN('c', TRUE, 3)").is_err());
        // NULL is a value (Oracle fails the call when it runs, not when it compiles).
        assert!(bind_text("EXEC DBMS_SCHEDULER.DEFINE_CHAIN_STEP('c', 's', NULL)").is_ok());
        assert!(bind_text("EXEC DBMS_SCHEDULER.NO_SUCH('c')")
            .unwrap()
            .is_none());
    }
}
