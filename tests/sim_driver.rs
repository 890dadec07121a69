//! The virtual-time driver through the library API: order within an instant, scripted
//! outcomes, kills, timers, job names, termination.

use chainsched::catalog::{load_sources, Catalog};
use chainsched::core::{JobState, StepState};
use chainsched::sim::{simulate, Scenario, SimJob, SimResult};
use std::path::Path;

const RULES: &str = "
program WORK { builtin noop; }
program LONG_WORK { builtin sleep 1h; }
chain SEQ {
    step A program WORK;
    step B program WORK;
    rule when TRUE then START A;
    rule when A SUCCEEDED then START B;
    rule when A FAILED then END A.ERROR_CODE;
    rule when B COMPLETED then END;
}
chain HOLD {
    step A program WORK with pause_before;
    rule when TRUE then START A;
    rule when A COMPLETED then END;
}
chain RETRY2 {
    step R program WORK with restart_on_failure(retries 2, delay 1s, backoff 1);
    rule when TRUE then START R;
    rule when R COMPLETED then END R.ERROR_CODE;
}
chain LONGER {
    step L program LONG_WORK;
    rule when TRUE then START L;
    rule when L COMPLETED then END;
}
chain TICKING {
    evaluation_interval 1m;
    step A program WORK with pause_before;
    rule when TRUE then START A;
    rule when A COMPLETED then END;
}
chain CLOCK {
    evaluation_interval 1m;
    step A program WORK;
    step B program WORK;
    rule when TRUE then START A;
    rule when :A.end_date < SYSTIMESTAMP - INTERVAL '1' HOUR then START B;
    rule when B COMPLETED then END;
}
";

fn catalog() -> Catalog {
    let loaded = load_sources(&[("rules.chain".to_string(), RULES.to_string())]);
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.message.clone())
        .collect();
    loaded
        .catalog
        .unwrap_or_else(|| panic!("test rules load: {errors:?}"))
}

fn sim(text: &str) -> SimResult {
    let catalog = catalog();
    let mut s = Scenario::parse("t.scenario.toml", Path::new("."), text).expect("scenario parses");
    s.bind(&catalog).expect("scenario binds");
    simulate(catalog, &s)
}

fn job<'a>(r: &'a SimResult, name: &str) -> &'a SimJob {
    r.jobs
        .iter()
        .find(|j| j.record.job == name)
        .unwrap_or_else(|| {
            panic!(
                "no job {name} in {:?}",
                r.jobs.iter().map(|j| &j.record.job).collect::<Vec<_>>()
            )
        })
}

fn step<'a>(j: &'a SimJob, subname: &str) -> &'a chainsched::core::StepRecord {
    j.steps
        .iter()
        .find(|s| s.subname == subname)
        .expect("step exists")
}

#[test]
fn completions_are_applied_before_interventions_of_the_same_instant() {
    // A finishes at 1s; an alter of A's state at 1s is not refused as "RUNNING".
    let r = sim(r#"
[[job]]
name = "J1"
chain = "SEQ"
[job.outcomes]
A = "fail 9"
[[at]]
time = "1s"
alter = { job = "J1", step = "A", state = "SUCCEEDED" }
"#);
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    // ... and the one evaluation pass at 1s sees the altered state: B runs, not END 9.
    let j = job(&r, "J1");
    assert_eq!(j.record.state, JobState::Succeeded);
    assert_eq!(step(j, "B").started_at, Some(1000));
}

#[test]
fn interventions_at_a_jobs_start_come_before_its_first_evaluation() {
    // Without the alter, A would be PAUSED by pause_before; clearing it at the same instant the
    // job starts, before the first pass, lets A run at once.
    let r = sim(r#"
[[job]]
name = "J1"
chain = "HOLD"
[[at]]
time = "0s"
alter = { job = "J1", step = "A", pause_before = false }
"#);
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    let j = job(&r, "J1");
    assert_eq!(j.record.state, JobState::Succeeded);
    assert_eq!(step(j, "A").started_at, Some(0));
}

#[test]
fn attempts_take_successive_outcomes_and_the_last_repeats() {
    let r = sim(r#"
[[job]]
name = "J1"
chain = "RETRY2"
[job.outcomes]
R = ["fail 1", { result = "fail 2", duration = "3s" }]
"#);
    let j = job(&r, "J1");
    let rs = step(j, "R");
    assert_eq!(rs.attempts, 3);
    assert_eq!((rs.state, rs.error_code), (StepState::Failed, Some(2)));
    // 0-1s fail 1; retry at 2s, 3s long: fail 2 at 5s; retry at 6s, the last entry repeats: 9s.
    let times: Vec<u64> = r
        .log
        .iter()
        .filter(|l| l.subname.is_some())
        .map(|l| l.time)
        .collect();
    assert_eq!(times, vec![1000, 5000, 9000]);
    assert_eq!(j.record.error_code, Some(2));
}

#[test]
fn a_stopped_step_never_reports_its_scripted_completion() {
    let r = sim(r#"
[[job]]
name = "J1"
chain = "LONGER"
[[at]]
time = "10s"
stop = { job = "J1", step = "L" }
[settings]
until = "2h"
"#);
    let j = job(&r, "J1");
    assert_eq!(step(j, "L").state, StepState::Stopped);
    assert_eq!(
        r.ended_at, 10_000,
        "the 1h completion was cancelled; nothing else was pending"
    );
    assert!(r.log.iter().all(|l| l.time == 10_000), "{:?}", r.log);
}

#[test]
fn until_cuts_the_simulation_and_says_so() {
    let r = sim(r#"
[[job]]
name = "J1"
chain = "LONGER"
[settings]
until = "30m"
"#);
    assert_eq!(r.ended_at, 30 * 60_000);
    assert_eq!(job(&r, "J1").record.state, JobState::Running);
    assert!(
        r.notes.iter().any(|n| n.contains("time limit")),
        "{:?}",
        r.notes
    );
}

#[test]
fn generated_names_follow_start_order_and_keep_their_outcomes() {
    let r = sim(r#"
[[job]]
chain = "SEQ"
[job.outcomes]
A = "fail 3"
[[job]]
chain = "SEQ"
"#);
    let names: Vec<&str> = r.jobs.iter().map(|j| j.record.job.as_str()).collect();
    assert_eq!(names, vec!["RUN_CHAIN$_SEQ1", "RUN_CHAIN$_SEQ2"]);
    assert_eq!(job(&r, "RUN_CHAIN$_SEQ1").record.error_code, Some(3));
    assert_eq!(job(&r, "RUN_CHAIN$_SEQ2").record.state, JobState::Succeeded);
}

#[test]
fn interventions_may_name_generated_jobs() {
    let r = sim(r#"
[[job]]
chain = "HOLD"
[[at]]
time = "1s"
alter = { job = "RUN_CHAIN$_HOLD1", step = "A", pause_before = false }
[[at]]
time = "1s"
evaluate = { job = "run_chain$_hold1" }
"#);
    assert!(r.rejected.is_empty(), "{:?}", r.rejected);
    assert_eq!(
        job(&r, "RUN_CHAIN$_HOLD1").record.state,
        JobState::Succeeded
    );
}

#[test]
fn periodic_evaluations_alone_end_the_simulation_once_they_change_nothing() {
    let r = sim("[[job]]\nname = \"J1\"\nchain = \"TICKING\"\n");
    // A is paused before running and no rule reads the clock: stalled, interval or not
    // (docs/evaluator.md, "Stalls").
    assert_eq!(job(&r, "J1").record.state, JobState::ChainStalled);
    assert!(r.ended_at <= 60_000, "ended at {}", r.ended_at);
    assert!(r.notes.is_empty(), "{:?}", r.notes);
}

#[test]
fn time_dependent_conditions_keep_time_moving() {
    // B waits until one hour after A ended: only time (seen by the periodic evaluations) makes
    // that TRUE, so the simulation must not stop at the first quiet tick.
    let r = sim("[[job]]\nname = \"J1\"\nchain = \"CLOCK\"\n");
    let j = job(&r, "J1");
    assert_eq!(j.record.state, JobState::Succeeded);
    let b = step(j, "B").started_at.expect("B started");
    assert!((3_601_000..=3_661_000).contains(&b), "B started at {b}");
}

#[test]
fn the_same_scenario_gives_the_same_result() {
    let text = r#"
[[job]]
chain = "RETRY2"
[job.outcomes]
R = ["fail 1", "ok"]
[[job]]
chain = "SEQ"
at = "0.5s"
[[at]]
time = "1s"
evaluate = { job = "RUN_CHAIN$_SEQ1" }
"#;
    assert_eq!(sim(text), sim(text));
}

#[test]
fn refused_define_rule_names_the_problem() {
    let r = sim(r#"
[[job]]
name = "J1"
chain = "SEQ"
[[at]]
time = "0.5s"
define_rule = { chain = "SEQ", name = "BAD", when = "NOPE SUCCEEDED", then = "END" }
"#);
    assert_eq!(r.rejected.len(), 1);
    assert_eq!(r.rejected[0].intervention, "define_rule");
    assert!(
        r.rejected[0].error.contains("NOPE"),
        "{}",
        r.rejected[0].error
    );
    assert_eq!(job(&r, "J1").record.state, JobState::Succeeded);
}
