//! Changing chains while jobs run them (drop a rule, drop a step, alter chain attributes),
//! step timeouts, and a reload's rules reaching running jobs — at the core, in virtual time.

mod core_support;

use chainsched::catalog::{resolve_rule, rule_from_text};
use chainsched::core::*;
use core_support::*;

const PROGS: &str = "program P { builtin noop; }\n";

fn src(body: &str) -> String {
    format!("{PROGS}{body}")
}

fn evaluate(job: &str) -> Input {
    Input::Evaluate { job: job.into() }
}

#[test]
fn dropping_a_rule_reaches_the_running_job_and_future_runs() {
    let mut d = Driver::new(&src("chain C { step A program P; step B program P;
           rule R1 when TRUE then START A;
           rule R2 when A SUCCEEDED then START B;
           rule R3 when A SUCCEEDED then END 7;
           rule R4 when B SUCCEEDED then END; }"));
    d.script("A", vec![ok_after(10 * S)]);
    d.start("C", "J");
    d.input(Input::DropRule {
        chain: "C".into(),
        rule: "R3".into(),
    })
    .unwrap();
    d.run();
    // Without R3, A's success starts B and the chain ends through R4.
    assert_eq!(d.state("J"), JobState::Succeeded);
    assert_eq!(d.st("J", "B"), "SUCCEEDED");
    let c = &d.core.catalog.chains["C"];
    assert_eq!(c.rules.len(), 3);
    assert_eq!(
        c.rules.iter().map(|r| r.position).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    // An unknown rule is refused with the nearest name, and changes nothing.
    let before = format!("{:?}", d.core.catalog.chains["C"]);
    let e = d
        .input(Input::DropRule {
            chain: "C".into(),
            rule: "R22".into(),
        })
        .unwrap_err();
    assert!(e.to_string().contains("has no rule R22"), "{e}");
    assert_eq!(before, format!("{:?}", d.core.catalog.chains["C"]));
}

#[test]
fn a_step_named_by_a_rule_or_in_a_running_job_is_not_dropped() {
    let mut d = Driver::new(&src(
        "chain C { step A program P; step B program P; step X program P;
           rule R1 when TRUE then START A;
           rule R2 when A SUCCEEDED then START B;
           rule R3 when B SUCCEEDED then END; }",
    ));
    d.hang.push("A".into());
    d.start("C", "J");
    let before = format!("{:?}", d.core.catalog.chains["C"]);
    let named = d
        .input(Input::DropStep {
            chain: "C".into(),
            step: "B".into(),
            force: true,
        })
        .unwrap_err();
    assert!(named.to_string().contains("rule(s) R2, R3"), "{named}");
    let running = d
        .input(Input::DropStep {
            chain: "C".into(),
            step: "X".into(),
            force: false,
        })
        .unwrap_err();
    assert!(running.to_string().contains("job(s) J"), "{running}");
    assert_eq!(before, format!("{:?}", d.core.catalog.chains["C"]));
    // --force: future runs lose the step, the running job keeps its definition.
    d.input(Input::DropStep {
        chain: "C".into(),
        step: "X".into(),
        force: true,
    })
    .unwrap();
    let c = &d.core.catalog.chains["C"];
    assert_eq!(c.steps.len(), 2);
    assert!(d.core.step_records("J").iter().any(|s| s.step == "X"));
    d.start("C", "J2");
    assert!(!d.core.step_records("J2").iter().any(|s| s.step == "X"));
}

#[test]
fn dropping_a_step_renumbers_the_rules_of_future_runs() {
    let mut d = Driver::new(&src(
        "chain C { step X program P; step A program P; step B program P;
           rule R1 when TRUE then START A;
           rule R2 when A SUCCEEDED then START B;
           rule R3 when B SUCCEEDED then END 5; }",
    ));
    d.input(Input::DropStep {
        chain: "C".into(),
        step: "X".into(),
        force: false,
    })
    .unwrap();
    d.start("C", "J");
    d.run();
    assert_eq!(d.job("J").error_code, Some(5));
    assert_eq!(d.st("J", "B"), "SUCCEEDED");
}

#[test]
fn an_event_step_that_waits_longer_than_its_timeout_fails_124() {
    let mut d = Driver::new(&src("chain C { step W event GO with timeout 30s;
           rule R1 when TRUE then START W;
           rule R2 when W FAILED then END W.ERROR_CODE;
           rule R3 when W SUCCEEDED then END; }"));
    d.start("C", "J");
    d.run_until(29 * S);
    assert_eq!(d.st("J", "W"), "RUNNING");
    d.run();
    assert_eq!(d.st("J", "W"), "FAILED 124");
    assert_eq!(d.step("J", "W").error_code, Some(STEP_TIMED_OUT));
    assert_eq!(d.job("J").error_code, Some(124));
    assert_eq!(d.now, 30 * S);
}

#[test]
fn a_program_step_that_runs_longer_than_its_timeout_is_killed_and_fails() {
    let mut d = Driver::new(&src("chain C { step A program P with timeout 5s;
           rule R1 when TRUE then START A;
           rule R2 when A COMPLETED then END A.ERROR_CODE; }"));
    d.script("A", vec![ok_after(60 * S)]);
    d.start("C", "J");
    d.run();
    assert_eq!(d.step("J", "A").error_code, Some(124));
    assert_eq!(d.job("J").error_code, Some(124));
    assert!(d
        .effects
        .iter()
        .any(|e| matches!(e, Effect::Kill { subname, .. } if subname == "A")));
    // A step that ends in time cancels its timer: nothing fires later.
    let mut d = Driver::new(&src("chain C { step A program P with timeout 5s;
           rule R1 when TRUE then START A;
           rule R2 when A COMPLETED then END A.ERROR_CODE; }"));
    d.start("C", "J");
    d.run();
    assert_eq!(d.job("J").state, JobState::Succeeded);
    assert!(d.effects.iter().any(|e| matches!(
        e,
        Effect::CancelTimer {
            timer: TimerKey::StepTimeout { .. },
            ..
        }
    )));
}

#[test]
fn alter_chain_sets_a_timeout_and_retries_for_running_jobs() {
    let mut d = Driver::new(&src("chain C { step A program P; step B program P;
           rule R1 when TRUE then START A;
           rule R2 when A SUCCEEDED then START B;
           rule R3 when B COMPLETED then END B.ERROR_CODE; }"));
    d.script("A", vec![ok_after(10 * S)]);
    let mut attempts = vec![fail(3)];
    attempts.extend(std::iter::repeat_n(ok_after(60 * S), 6));
    d.script("B", attempts);
    d.start("C", "J");
    d.input(Input::AlterChain {
        chain: "C".into(),
        step: Some("B".into()),
        change: AlterChange {
            restart_on_failure: Some(true),
            timeout: Some(20 * S),
            ..Default::default()
        },
    })
    .unwrap();
    let rec = d.step("J", "B");
    assert!(rec.restart_on_failure);
    d.run();
    // Attempt 1 fails (3) and is retried; the 6 retries run past 20s and time out.
    assert_eq!(d.launched("J", "B"), 7);
    assert_eq!(d.step("J", "B").error_code, Some(124));
    // alter (one job) accepts restart_on_recovery and clears retries.
    let mut d = Driver::new(&src("chain C { step A program P with restart_on_failure;
           rule R1 when TRUE then START A;
           rule R2 when A COMPLETED then END A.ERROR_CODE; }"));
    d.hang.push("A".into());
    d.start("C", "J");
    d.input(Input::Alter {
        job: "J".into(),
        step: Some("A".into()),
        change: AlterChange {
            restart_on_failure: Some(false),
            restart_on_recovery: Some(true),
            ..Default::default()
        },
    })
    .unwrap();
    let rec = d.step("J", "A");
    assert!(!rec.restart_on_failure && rec.restart_on_recovery);
}

#[test]
fn a_reload_applies_rule_changes_to_running_jobs() {
    let v1 = src("chain C { step A program P; step B program P;
           rule R1 when TRUE then START A;
           rule R2 when B SUCCEEDED then END; }");
    let mut d = Driver::new(&v1);
    d.script("A", vec![ok_after(2 * S)]);
    d.start("C", "J");
    d.run();
    assert_eq!(d.state("J"), JobState::ChainStalled);
    // The file gains the missing rule (and a step, which reaches future runs only).
    let v2 = catalog(&src(
        "chain C { step A program P; step B program P; step N program P;
           rule R1 when TRUE then START A;
           rule R5 when A SUCCEEDED then START B;
           rule R6 when N SUCCEEDED then END 9;
           rule R2 when B SUCCEEDED then END; }",
    ));
    let effects = d.core.reload_catalog(d.now, v2);
    d.effects_apply(effects);
    assert!(!d.core.step_records("J").iter().any(|s| s.step == "N"));
    d.input(evaluate("J")).unwrap();
    d.run();
    assert_eq!(d.state("J"), JobState::Succeeded);
    assert_eq!(d.st("J", "B"), "SUCCEEDED");
}

#[test]
fn a_rule_from_text_is_resolved_with_positions_in_the_text() {
    let c = catalog(&src(
        "chain C { step LOAD program P; rule R1 when TRUE then START LOAD; }",
    ));
    let chain = &c.chains["C"];
    let r = rule_from_text(chain, "rule R2 when LOAD SUCCEEDED then END;").expect("resolves");
    assert_eq!(r.name, "R2");
    let diags = rule_from_text(chain, "rule R2\n  when LAOD SUCCEEDED then END;").unwrap_err();
    let d = &diags[0];
    assert_eq!(d.suggestion.as_deref(), Some("LOAD"));
    assert_eq!((d.span.start, d.span.end), (15, 19));
    let same = resolve_rule(chain, Some("R2"), 2, "LOAD SUCCEEDED", "END").expect("rule");
    assert_eq!(same.condition, r.condition);
}
