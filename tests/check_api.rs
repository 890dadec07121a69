//! The catalog through its library API (`load_sources`, `resolve_rule`, `ChainGraph`):
//! what resolution produces, and the lints' edge cases, one rule file per case.

use chainsched::catalog::graph::{ChainGraph, EdgeKind, GraphNode};
use chainsched::catalog::{
    load_sources, resolve_rule, Condition, EndAction, RetryPolicy, RuleAction, StepTarget,
};
use chainsched::lang::ast::StateTest;

fn load(text: &str) -> chainsched::catalog::Loaded {
    load_sources(&[("t.chain".to_string(), text.to_string())])
}

/// The diagnostic codes for a rule file.
fn codes(text: &str) -> Vec<&'static str> {
    load(text).diagnostics.iter().map(|d| d.code).collect()
}

const LOAN: &str = "
program P { shell 'true'; }
program Q { builtin noop; }
chain FUNDING {
    step T program Q;
    rule when TRUE then START T;
    rule when T SUCCEEDED then END;
}
chain LOAN {
    step validate program P with restart_on_failure;
    step \"fix\"  program P with restart_on_failure(retries 2), pause_before;
    step WAIT_OK event approval_granted where amount > 0;
    step FUND chain FUNDING;
    rule        when TRUE then START VALIDATE;
    rule GO     when validate SUCCEEDED then START WAIT_OK;
    rule        when Validate ERROR_CODE = 20100 then START \"fix\";
    rule        when WAIT_OK SUCCEEDED then AFTER 01:00:00 START FUND;
    rule        when VALIDATE FAILED AND VALIDATE ERROR_CODE != 20100 then END VALIDATE.ERROR_CODE;
    rule        when \"fix\" COMPLETED OR FUND COMPLETED then END 3;
}
group FINANCE.LOANS { max_running 1; }
job nightly { chain LOAN; group FINANCE.LOANS; parameters run_date = 'today'; serialize by deptno; }
";

#[test]
fn resolution_builds_the_model() {
    let loaded = load(LOAN);
    assert_eq!(loaded.diagnostics, vec![], "{:?}", loaded.diagnostics);
    let cat = loaded.catalog.expect("loads");
    let loan = &cat.chains["LOAN"];
    assert_eq!(loan.source, "t.chain:9");
    let names: Vec<&str> = loan.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["VALIDATE", "fix", "WAIT_OK", "FUND"]);
    // Unnamed rules are RULE$N by position; named ones keep their name.
    let rules: Vec<(&str, usize)> = loan
        .rules
        .iter()
        .map(|r| (r.name.as_str(), r.position))
        .collect();
    assert_eq!(rules[0], ("RULE$1", 1));
    assert_eq!(rules[1], ("GO", 2));
    assert_eq!(rules[5], ("RULE$6", 6));
    // Default Oracle policy, and a partial policy completed from it.
    assert_eq!(
        loan.steps[0].attrs.restart_on_failure,
        Some(RetryPolicy::oracle())
    );
    assert_eq!(
        loan.steps[1].attrs.restart_on_failure,
        Some(RetryPolicy {
            retries: 2,
            ..RetryPolicy::oracle()
        })
    );
    assert!(loan.steps[1].attrs.pause_before);
    // Event steps need no declaration; nested chains are referenced by name.
    assert!(
        matches!(&loan.steps[2].kind, StepTarget::Event { name, .. } if name == "APPROVAL_GRANTED")
    );
    assert_eq!(loan.steps[3].kind, StepTarget::Chain("FUNDING".into()));
    // Names in conditions and actions are indices.
    assert_eq!(
        loan.rules[1].condition,
        Condition::StepState {
            step: 0,
            negated: false,
            test: StateTest::Succeeded
        }
    );
    assert_eq!(
        loan.rules[3].action,
        RuleAction::Start {
            after: Some(3_600_000),
            steps: vec![3]
        }
    );
    assert_eq!(
        loan.rules[4].action,
        RuleAction::End(EndAction::StepErrorCode(0))
    );
    let job = &cat.jobs["NIGHTLY"];
    assert_eq!(job.group.as_deref(), Some("FINANCE.LOANS"));
    assert_eq!(
        job.parameters.get("RUN_DATE").map(String::as_str),
        Some("today")
    );
    assert_eq!(job.serialize_by.as_deref(), Some("DEPTNO"));
    assert_eq!(cat.groups["FINANCE.LOANS"].max_running, Some(1));
}

#[test]
fn errors_are_all_reported_and_nothing_is_loaded() {
    let loaded = load(
        "program P { builtin noop; }
         chain C { step A program P; step A program PP;
                   rule when TRUE then START B;
                   rule when A SUCCEEDED then END X.ERROR_CODE; }",
    );
    assert!(loaded.catalog.is_none());
    let codes: Vec<&str> = loaded.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["duplicate-step", "unknown-step", "unknown-step"]);
    // `step A program PP` is a duplicate; its program is not looked up (one error per line).
}

#[test]
fn warnings_do_not_stop_loading() {
    let loaded = load(
        "program P { builtin noop; } chain C { step A program P; rule when TRUE then START A; }",
    );
    assert_eq!(
        loaded
            .diagnostics
            .iter()
            .map(|d| d.code)
            .collect::<Vec<_>>(),
        ["no-end"]
    );
    assert!(loaded.catalog.is_some());
}

#[test]
fn resolve_rule_for_run_time_redefinition() {
    let cat = load(LOAN).catalog.unwrap();
    let loan = &cat.chains["LOAN"];
    let r = resolve_rule(loan, None, 7, "validate   COMPLETED", "start  \"fix\"").unwrap();
    assert_eq!(r.name, "RULE$7");
    assert_eq!(r.position, 7);
    assert_eq!(r.condition_text, "validate COMPLETED");
    assert_eq!(
        r.action,
        RuleAction::Start {
            after: None,
            steps: vec![1]
        }
    );
    let named = resolve_rule(loan, Some("go"), 2, "TRUE", "END").unwrap();
    assert_eq!(named.name, "GO");
    let exact = resolve_rule(loan, Some("\"go\""), 2, "TRUE", "END").unwrap();
    assert_eq!(exact.name, "go");

    let err = resolve_rule(loan, None, 7, "VALIDAT SUCCEEDED", "START FIX").unwrap_err();
    let codes: Vec<&str> = err.iter().map(|d| d.code).collect();
    assert_eq!(
        codes,
        ["unknown-step", "unknown-step"],
        "FIX is not \"fix\""
    );
    assert_eq!(err[0].suggestion.as_deref(), Some("VALIDATE"));
    assert_eq!(
        (err[0].span.file, err[1].span.file),
        (0, 1),
        "condition is file 0, action file 1"
    );
    assert!(resolve_rule(loan, None, 7, "VALIDATE SUCCEEDED AND", "START WAIT_OK").is_err());
}

#[test]
fn chain_graph_has_rule_edges_and_virtual_nodes() {
    let cat = load(LOAN).catalog.unwrap();
    let g = ChainGraph::build(&cat.chains["LOAN"]);
    assert_eq!(g.graph.node_count(), 4 + 2);
    assert_eq!(
        g.graph[g.steps[2]],
        GraphNode::Step {
            index: 2,
            kind: chainsched::catalog::graph::StepKindTag::Event
        }
    );
    assert_eq!(g.rules_starting(0), vec![0]);
    assert_eq!(g.rules_starting(1), vec![2]);
    assert_eq!(g.end_rules(), vec![4, 5]);
    // The TRUE rule comes from the virtual start node.
    let from_start: Vec<_> = g.graph.edges(g.start).map(|e| e.weight().clone()).collect();
    assert_eq!(from_start.len(), 1);
    assert_eq!(from_start[0].rule_name, "RULE$1");
    assert_eq!(from_start[0].kind, EdgeKind::Start);
    // `"fix" COMPLETED OR FUND COMPLETED then END 3`: one edge per mentioned step.
    let into_end = g
        .graph
        .edges_directed(g.end, petgraph::Direction::Incoming)
        .count();
    assert_eq!(into_end, 1 + 2);
}

// ------------------------------------------------------------------ lints, case by case

/// A chain around one rule under test: A (a program that can fail) started at once,
/// B started by the rule under test; both outcomes of A handled.
fn with_rule(cond: &str) -> String {
    format!(
        "program P {{ shell 'true'; }}
         program N {{ builtin noop; }}
         chain C {{
            step A program P; step B program N;
            rule when TRUE then START A;
            rule UNDER_TEST when {cond} then START B;
            rule when A COMPLETED then END;
         }}"
    )
}

#[test]
fn unguarded_negation_cases() {
    let warns = |cond: &str| codes(&with_rule(cond)).contains(&"unguarded-negation");
    // Pitfalls.
    assert!(warns("A NOT SUCCEEDED"));
    assert!(warns("A NOT FAILED"));
    assert!(warns("NOT (A SUCCEEDED)"));
    assert!(warns("A ERROR_CODE != 20100"));
    assert!(warns("A ERROR_CODE <> 20100"));
    assert!(warns("A ERROR_CODE NOT IN (1, 2)"));
    assert!(warns("NOT (A ERROR_CODE = 5)"));
    assert!(warns(":A.state != 'SUCCEEDED'"));
    assert!(warns(":A.error_code != 3"));
    assert!(warns("TRUE AND (A NOT SUCCEEDED OR FALSE)"));
    // Guarded, or not a pitfall at all.
    assert!(!warns("A COMPLETED AND A NOT SUCCEEDED"));
    assert!(!warns("A NOT SUCCEEDED AND A COMPLETED"));
    assert!(!warns("A STOPPED AND A NOT FAILED"));
    assert!(!warns("A FAILED AND A ERROR_CODE != 20100"));
    assert!(!warns("A ERROR_CODE > 0 AND A ERROR_CODE != 20100"));
    assert!(!warns("A ERROR_CODE != 0"));
    assert!(!warns("A ERROR_CODE NOT IN (0, 20100)"));
    assert!(!warns(
        "A COMPLETED AND (A NOT SUCCEEDED OR A ERROR_CODE = 3)"
    ));
    assert!(!warns("NOT (A NOT COMPLETED OR A SUCCEEDED)"));
    assert!(!warns("A NOT COMPLETED"));
    assert!(!warns("A SUCCEEDED"));
}

#[test]
fn rule_never_fires_cases() {
    let warns = |cond: &str| codes(&with_rule(cond)).contains(&"rule-never-fires");
    assert!(warns("FALSE"));
    assert!(warns("A SUCCEEDED AND A FAILED"));
    assert!(warns("A ERROR_CODE > 5 AND A ERROR_CODE < 6"));
    assert!(warns("A ERROR_CODE = 20100 AND A SUCCEEDED"));
    assert!(warns(":A.state = 'RUNNING' AND A COMPLETED"));
    assert!(warns("A NOT COMPLETED AND A ERROR_CODE = 1"));
    assert!(!warns("A SUCCEEDED OR A FAILED"));
    assert!(
        !warns("A ERROR_CODE = 1013"),
        "a STOPPED step has error code 1013"
    );
    assert!(
        !warns(":A.end_date < SYSTIMESTAMP - INTERVAL '1' HOUR"),
        "time is not decided statically"
    );
    assert!(!warns("1=1"));
}

#[test]
fn an_event_step_never_fails() {
    let text = "program N { builtin noop; }
        chain C { step W event GO; step B program N;
                  rule when TRUE then START W;
                  rule R when W FAILED then START B;
                  rule when W SUCCEEDED then END; }";
    let c = codes(text);
    assert!(c.contains(&"rule-never-fires"), "{c:?}");
    assert!(c.contains(&"unreachable-step"), "{c:?}");
    assert!(!c.contains(&"stall-risk"), "{c:?}");
}

#[test]
fn stall_risk_cases() {
    let chain = |prog: &str, step_attrs: &str, reaction: &str| {
        format!(
            "{prog}
             chain INNER {{ step X program N; rule when TRUE then START X; rule when X SUCCEEDED then END 7; }}
             program N {{ builtin noop; }}
             chain C {{
                step A {step_attrs};
                rule when TRUE then START A;
                rule when {reaction} then END;
             }}"
        )
    };
    let stalls = |t: String| {
        let l = load(&t);
        l.diagnostics
            .iter()
            .find(|d| d.code == "stall-risk")
            .map(|d| d.message.clone())
    };
    // A program that can fail, retried or not.
    assert_eq!(
        stalls(chain(
            "program P { shell 'x'; }",
            "program P with restart_on_failure",
            "A SUCCEEDED"
        )),
        Some("the chain stalls if A fails".into())
    );
    assert_eq!(
        stalls(chain(
            "program P { shell 'x'; }",
            "program P",
            "A COMPLETED"
        )),
        None
    );
    assert_eq!(
        stalls(chain(
            "program P { shell 'x'; }",
            "program P",
            "A ERROR_CODE IN (0, 1)"
        )),
        None
    );
    assert_eq!(
        stalls(chain(
            "program P { shell 'x'; }",
            "program P",
            ":A.completed = 'TRUE'"
        )),
        None
    );
    // `A ERROR_CODE = 0` only reacts to success.
    assert!(stalls(chain(
        "program P { shell 'x'; }",
        "program P",
        "A ERROR_CODE = 0"
    ))
    .is_some());
    // noop and sleep cannot fail, unless sleep has a timeout.
    assert_eq!(
        stalls(chain(
            "program P { builtin sleep 1s; }",
            "program P",
            "A SUCCEEDED"
        )),
        None
    );
    assert!(stalls(chain(
        "program P { builtin sleep 1m; timeout 1s; }",
        "program P",
        "A SUCCEEDED"
    ))
    .is_some());
    // A nested chain fails only if it can END with a non-zero code.
    assert!(stalls(chain("", "chain INNER", "A SUCCEEDED")).is_some());
}

#[test]
fn unreachable_steps_cascade_through_rules_that_cannot_fire() {
    let text = "program N { builtin noop; }
        chain C { step A program N; step B program N; step D program N;
                  rule when TRUE then START A;
                  rule when A SUCCEEDED then END;
                  rule when B SUCCEEDED then START D; }";
    let loaded = load(text);
    let unreachable: Vec<&str> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == "unreachable-step")
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(
        unreachable,
        [
            "step B can never start: no rule starts it",
            "step D can never start: the rules that start it (RULE$3) can never fire"
        ]
    );
}

#[test]
fn no_start_rule_and_sql_start_rules() {
    let warns = |cond: &str| {
        codes(&format!(
            "program N {{ builtin noop; }}
             chain C {{ step A program N; rule when {cond} then START A; rule when A COMPLETED then END; }}"
        ))
        .contains(&"no-start-rule")
    };
    assert!(!warns("TRUE"));
    assert!(!warns("1=1"));
    assert!(!warns(":A.state = 'NOT_STARTED'"));
    assert!(!warns("A NOT COMPLETED"));
    assert!(warns("A SUCCEEDED"));
    assert!(warns("FALSE"));
}

#[test]
fn many_steps_in_one_condition_are_skipped_not_slow() {
    // 12 steps in one AND: too many combinations; the lint stays silent instead of guessing.
    let steps: String = (0..12).map(|i| format!("step S{i} program N; ")).collect();
    let cond: Vec<String> = (0..12).map(|i| format!("S{i} SUCCEEDED")).collect();
    let text = format!(
        "program N {{ builtin noop; }}
         chain C {{ {steps}
            rule when TRUE then START {};
            rule when {} AND S0 FAILED then END; }}",
        (0..12)
            .map(|i| format!("S{i}"))
            .collect::<Vec<_>>()
            .join(", "),
        cond.join(" AND ")
    );
    let c = codes(&text);
    assert!(!c.contains(&"rule-never-fires"), "{c:?}");
}

#[test]
fn nesting_graph_links_chains_and_finds_loops() {
    use chainsched::catalog::graph::NestingGraph;
    let cat = load(LOAN).catalog.unwrap();
    let g = NestingGraph::build(&cat);
    assert_eq!(
        g.nested_in("LOAN"),
        vec![("FUNDING".to_string(), "FUND".to_string())]
    );
    assert_eq!(g.nested_in("FUNDING"), vec![]);
    assert!(g.cycles().is_empty(), "a loaded catalog has no loop");

    let links = [
        ("A", "B", "s1"),
        ("B", "C", "s2"),
        ("C", "A", "s3"),
        ("C", "D", "s4"),
        ("D", "D", "s5"),
    ];
    let g = NestingGraph::from_links(links.map(|(a, b, w)| (a.to_string(), b.to_string(), w)));
    let loops: Vec<Vec<(String, &str)>> = g.cycles();
    assert_eq!(
        loops,
        vec![
            vec![
                ("A".to_string(), "s1"),
                ("B".to_string(), "s2"),
                ("C".to_string(), "s3")
            ],
            vec![("D".to_string(), "s5")],
        ]
    );
}

/// The Oracle pitfall in its SQL forms: `NOT BETWEEN` on an error code is TRUE on success,
/// `NOT LIKE` on a state before the step runs; a guard in the same AND silences it.
#[test]
fn unguarded_negation_in_sql_forms() {
    let text = "
program F { builtin fail 3; }
program P { builtin noop; }
chain C {
    step A program F;
    step B program P;
    step X program P;
    rule R1 when TRUE then START A;
    rule R2 when :A.error_code NOT BETWEEN 20000 AND 20999 then START B;
    rule R3 when :A.state NOT LIKE 'SUCC%' then START X;
    rule R4 when A FAILED AND :A.error_code NOT BETWEEN 20000 AND 20999 then END 1;
    rule R5 when A COMPLETED AND NOT (:A.state LIKE 'SUCC%') then END 2;
    rule R6 when B COMPLETED OR X COMPLETED then END;
}
";
    let loaded = load(text);
    let found: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == "unguarded-negation")
        .map(|d| d.message.clone())
        .collect();
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].contains("rule R2 also fires on success"),
        "{found:#?}"
    );
    assert!(
        found[1].contains("rule R3 can fire before A even starts"),
        "{found:#?}"
    );
}
