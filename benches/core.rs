//! Core evaluator benchmark: drives the pure core end to end with a tiny virtual-time loop
//! (every Launch is answered by a StepFinished after the step's duration; everything due at one
//! instant goes to the core as one batch) and reports the wall-clock cost per step completion.
//!
//! Workloads:
//! * `sequence N`: S1 → S2 → … → SN (one rule per step), N = 100 … 10,000;
//! * `fan N (together)`: A → B1..BN in parallel → Z, all Bi finishing at the same instant;
//! * `fan N (staggered)`: the same, each Bi finishing at its own instant (N batches), so the
//!   fan-in rule `B1 SUCCEEDED AND … AND BN SUCCEEDED` is re-evaluated after every completion;
//! * `concurrent`: 10,000 jobs of a 20-step chain (sequence, fan-out of 8, fan-in, sequence);
//! * the same small workloads with the reference (full re-evaluation) mode, for contrast.
//!
//! Run: `cargo bench --bench core` (results go to docs/benchmarks.md by hand). Without
//! `--bench` (as under `cargo test --all-targets`) it is a quick smoke run.

use chainsched::catalog::*;
use chainsched::core::*;
use chainsched::lang::ast::StateTest;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::time::Instant;

fn succeeded(step: StepIdx) -> Condition {
    Condition::StepState {
        step,
        negated: false,
        test: StateTest::Succeeded,
    }
}

/// A balanced AND (the rule language's parser would build a left-deep one; the core flattens
/// both).
fn all_succeeded(steps: &[StepIdx]) -> Condition {
    if steps.len() == 1 {
        return succeeded(steps[0]);
    }
    let (a, b) = steps.split_at(steps.len() / 2);
    Condition::And(Box::new(all_succeeded(a)), Box::new(all_succeeded(b)))
}

fn rule(i: usize, condition: Condition, action: RuleAction) -> Rule {
    Rule {
        name: format!("R{}", i + 1),
        position: i + 1,
        condition,
        action,
        comment: None,
        condition_text: String::new(),
        action_text: String::new(),
    }
}

fn start(steps: Vec<StepIdx>) -> RuleAction {
    RuleAction::Start { after: None, steps }
}

fn chain(name: &str, n_steps: usize, rules: Vec<(Condition, RuleAction)>) -> Chain {
    Chain {
        name: name.into(),
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
            .map(|(i, (c, a))| rule(i, c, a))
            .collect(),
        source: "bench".into(),
    }
}

fn sequence(n: usize) -> Chain {
    let mut rules = vec![(Condition::Const(true), start(vec![0]))];
    for i in 1..n {
        rules.push((succeeded(i - 1), start(vec![i])));
    }
    rules.push((succeeded(n - 1), RuleAction::End(EndAction::Code(0))));
    chain("SEQ", n, rules)
}

/// S0 → S1..Sn (one rule each) → S(n+1) → END.
fn fan(n: usize) -> Chain {
    let mut rules = vec![(Condition::Const(true), start(vec![0]))];
    for i in 1..=n {
        rules.push((succeeded(0), start(vec![i])));
    }
    let middle: Vec<StepIdx> = (1..=n).collect();
    rules.push((all_succeeded(&middle), start(vec![n + 1])));
    rules.push((succeeded(n + 1), RuleAction::End(EndAction::Code(0))));
    chain("FAN", n + 2, rules)
}

/// 20 steps: S0 → S1 → (S2..S9 in parallel) → S10 → S11 → … → S19 → END.
fn twenty() -> Chain {
    let mut rules = vec![(Condition::Const(true), start(vec![0]))];
    rules.push((succeeded(0), start(vec![1])));
    rules.push((succeeded(1), start((2..10).collect())));
    rules.push((all_succeeded(&(2..10).collect::<Vec<_>>()), start(vec![10])));
    for i in 11..20 {
        rules.push((succeeded(i - 1), start(vec![i])));
    }
    rules.push((succeeded(19), RuleAction::End(EndAction::Code(0))));
    chain("TWENTY", 20, rules)
}

struct Run {
    completions: u64,
    jobs_succeeded: usize,
    nanos: u128,
}

/// Start `jobs` jobs of `chain` at t=0 and run them to the end. `duration(subname)` gives each
/// step's virtual duration.
fn drive(chain: Chain, jobs: usize, reference: bool, duration: impl Fn(&str) -> u64) -> Run {
    let mut catalog = Catalog::default();
    let name = chain.name.clone();
    catalog.chains.insert(name.clone(), chain);
    let mut core = Core::new(catalog).with_reference_evaluation(reference);
    let t0 = Instant::now();
    let starts: Vec<Input> = (0..jobs)
        .map(|j| {
            Input::StartJob(StartRequest {
                job: Some(format!("J{j}")),
                chain: name.clone(),
                parameters: BTreeMap::new(),
                ..Default::default()
            })
        })
        .collect();
    let (mut effects, _) = core.handle_batch(0, starts);
    // (due, job, subname, attempt)
    let mut pending: BinaryHeap<Reverse<(u64, String, String, u32)>> = BinaryHeap::new();
    let mut now = 0;
    let mut completions = 0u64;
    loop {
        for e in effects.drain(..) {
            if let Effect::Launch {
                job,
                subname,
                attempt,
                ..
            } = e
            {
                let due = now + duration(&subname);
                pending.push(Reverse((due, job, subname, attempt)));
            }
        }
        let Some(Reverse((due, ..))) = pending.peek() else {
            break;
        };
        now = *due;
        let mut batch = Vec::new();
        while let Some(Reverse((d, ..))) = pending.peek() {
            if *d != now {
                break;
            }
            let Some(Reverse((_, job, subname, attempt))) = pending.pop() else {
                break;
            };
            batch.push(Input::StepFinished {
                job,
                subname,
                attempt,
                outcome: Outcome::Succeeded,
                variables: Vec::new(),
            });
        }
        completions += batch.len() as u64;
        let (more, _) = core.handle_batch(now, batch);
        effects = more;
    }
    let nanos = t0.elapsed().as_nanos();
    let jobs_succeeded = core
        .job_names()
        .iter()
        .filter(|j| core.job_record(j).map(|r| r.state) == Some(JobState::Succeeded))
        .count();
    Run {
        completions,
        jobs_succeeded,
        nanos,
    }
}

fn report(label: &str, run: &Run, jobs: usize) {
    assert_eq!(run.jobs_succeeded, jobs, "{label}: every job must succeed");
    let per = run.nanos as f64 / run.completions as f64;
    let secs = run.nanos as f64 / 1e9;
    println!(
        "{label:<36} {:>9} completions {:>10.1} ms {:>9.0} ns/completion {:>10.0} jobs/s",
        run.completions,
        secs * 1e3,
        per,
        jobs as f64 / secs
    );
}

fn best_of(times: usize, f: impl Fn() -> Run) -> Run {
    let mut best = f();
    for _ in 1..times {
        let r = f();
        if r.nanos < best.nanos {
            best = r;
        }
    }
    best
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo bench` passes `--bench`; under `cargo test --all-targets` this is a smoke run.
    let quick = args.iter().any(|a| a == "--quick") || !args.iter().any(|a| a == "--bench");
    // `--sizes 100,1000,100000` overrides the chain sizes.
    let custom: Option<Vec<usize>> = args
        .iter()
        .position(|a| a == "--sizes")
        .and_then(|i| args.get(i + 1))
        .map(|v| v.split(',').filter_map(|x| x.parse().ok()).collect());
    let sizes: &[usize] = match &custom {
        Some(v) => v,
        None if quick => &[100, 500],
        None => &[100, 1000, 10_000],
    };
    let reps = if quick { 1 } else { 3 };
    println!("incremental evaluator (best of {reps}):");
    for &n in sizes {
        let run = best_of(reps, || drive(sequence(n), 1, false, |_| 1000));
        report(&format!("sequence {n}"), &run, 1);
    }
    for &n in sizes {
        let run = best_of(reps, || drive(fan(n), 1, false, |_| 1000));
        report(&format!("fan {n} (together)"), &run, 1);
    }
    for &n in sizes {
        let run = best_of(reps, || {
            drive(fan(n), 1, false, |sub| {
                1000 + sub[1..].parse::<u64>().unwrap_or(0)
            })
        });
        report(&format!("fan {n} (staggered)"), &run, 1);
    }
    let jobs = if quick { 200 } else { 10_000 };
    let run = best_of(reps, || drive(twenty(), jobs, false, |_| 1000));
    report(&format!("concurrent {jobs} x 20 steps"), &run, jobs);
    let run = best_of(reps, || {
        drive(twenty(), jobs, false, |sub| {
            1000 + sub[1..].parse::<u64>().unwrap_or(0) * 7
        })
    });
    report(&format!("concurrent {jobs} x 20 (staggered)"), &run, jobs);

    println!("reference evaluator (every rule, every pass), for contrast:");
    let reference_sizes: &[usize] = if quick { &[100] } else { &[100, 1000] };
    for &n in reference_sizes {
        let run = drive(sequence(n), 1, true, |_| 1000);
        report(&format!("sequence {n} (reference)"), &run, 1);
    }
}
