//! The evaluator's cost does not grow with the chain (semantics: "evaluating after a step
//! completes costs in proportion to the rules that mention the steps that changed"). Measured
//! deterministically — rule conditions evaluated and step facts read, counted by the core —
//! not with a clock: the same chain shapes at 50 and at 2,000 steps must cost the same per
//! completion, while the reference (full) evaluator's cost grows with the chain.

mod core_support;

use chainsched::catalog::*;
use chainsched::core::*;
use chainsched::lang::ast::StateTest;
use core_support::*;

fn succeeded(step: StepIdx) -> Condition {
    Condition::StepState {
        step,
        negated: false,
        test: StateTest::Succeeded,
    }
}

/// `B1 SUCCEEDED AND … AND Bn SUCCEEDED`, left-deep as the parser builds it.
fn all_succeeded(steps: impl IntoIterator<Item = StepIdx>) -> Condition {
    let mut it = steps.into_iter();
    let first = succeeded(it.next().expect("at least one step"));
    it.fold(first, |acc, s| {
        Condition::And(Box::new(acc), Box::new(succeeded(s)))
    })
}

fn chain(n_steps: usize, rules: Vec<(Condition, RuleAction)>) -> Catalog {
    let chain = Chain {
        name: "C".into(),
        comment: None,
        evaluation_interval: None,
        steps: (0..n_steps)
            .map(|i| Step {
                name: format!("S{i}"),
                kind: StepTarget::Program("P".into()),
                attrs: StepAttributes::default(),
            })
            .collect(),
        rules: rules
            .into_iter()
            .enumerate()
            .map(|(i, (condition, action))| Rule {
                name: format!("R{}", i + 1),
                position: i + 1,
                condition,
                action,
                comment: None,
                condition_text: String::new(),
                action_text: String::new(),
            })
            .collect(),
        source: "test".into(),
    };
    let mut cat = Catalog::default();
    cat.chains.insert("C".into(), chain);
    cat
}

fn start(steps: Vec<StepIdx>) -> RuleAction {
    RuleAction::Start { after: None, steps }
}

fn sequence(n: usize) -> Catalog {
    let mut rules = vec![(Condition::Const(true), start(vec![0]))];
    for i in 1..n {
        rules.push((succeeded(i - 1), start(vec![i])));
    }
    rules.push((succeeded(n - 1), RuleAction::End(EndAction::Code(0))));
    chain(n, rules)
}

/// S0 → S1..Sn (one rule each) → S(n+1) → END.
fn fan(n: usize) -> Catalog {
    let mut rules = vec![(Condition::Const(true), start(vec![0]))];
    for i in 1..=n {
        rules.push((succeeded(0), start(vec![i])));
    }
    rules.push((all_succeeded(1..=n), start(vec![n + 1])));
    rules.push((succeeded(n + 1), RuleAction::End(EndAction::Code(0))));
    chain(n + 2, rules)
}

/// Run one job to its end; each step Si takes `duration(i)`. Returns the work per completion
/// (rules evaluated, facts read).
fn cost(catalog: Catalog, reference: bool, duration: impl Fn(usize) -> u64) -> (f64, f64) {
    let n = catalog.chains["C"].steps.len();
    let mut d = Driver::with_core(Core::new(catalog).with_reference_evaluation(reference));
    for i in 0..n {
        d.script(&format!("S{i}"), vec![ok_after(duration(i))]);
    }
    d.start("C", "J");
    d.run();
    assert_eq!(d.state("J"), JobState::Succeeded);
    let stats = d.core.eval_stats("J").expect("stats");
    let completions = n as f64;
    (
        stats.rules_evaluated as f64 / completions,
        stats.facts_read as f64 / completions,
    )
}

#[test]
fn a_sequence_costs_the_same_per_completion_at_any_length() {
    let (rules_small, facts_small) = cost(sequence(50), false, |_| S);
    let (rules_big, facts_big) = cost(sequence(2000), false, |_| S);
    assert!(
        rules_big <= rules_small + 0.5,
        "{rules_small} → {rules_big}"
    );
    assert!(
        facts_big <= facts_small + 0.5,
        "{facts_small} → {facts_big}"
    );
    assert!(rules_big < 6.0, "{rules_big} rules per completion");
    // The reference evaluator re-evaluates every rule: its cost grows with the chain.
    let (reference_small, _) = cost(sequence(50), true, |_| S);
    let (reference_big, _) = cost(sequence(2000), true, |_| S);
    assert!(
        reference_big > 20.0 * reference_small,
        "{reference_small} → {reference_big}"
    );
}

#[test]
fn a_fan_in_rule_costs_constant_work_per_completion() {
    // Every Bi finishes at its own instant: the 2,000-term fan-in rule is re-evaluated after each.
    let staggered = |i: usize| S + i as u64;
    let (rules_small, facts_small) = cost(fan(50), false, staggered);
    let (rules_big, facts_big) = cost(fan(2000), false, staggered);
    assert!(
        rules_big <= rules_small + 0.5,
        "{rules_small} → {rules_big}"
    );
    assert!(
        facts_big <= facts_small * 1.5,
        "{facts_small} → {facts_big}"
    );
    assert!(facts_big < 12.0, "{facts_big} facts read per completion");
    // Finishing together: one evaluation sees them all.
    let (_, facts_together) = cost(fan(2000), false, |_| S);
    assert!(facts_together < 12.0, "{facts_together}");
}

#[test]
fn many_jobs_do_not_make_a_completion_dearer() {
    let catalog = sequence(20);
    let mut d = Driver::with_core(Core::new(catalog));
    for j in 0..300 {
        d.start("C", &format!("J{j}"));
    }
    d.run();
    let first = d.core.eval_stats("J0").expect("stats");
    let last = d.core.eval_stats("J299").expect("stats");
    assert_eq!(first, last);
    assert!(first.rules_evaluated < 6 * 20);
}
