//! Library-level tests of the core against semantics.md, one group per section. Chains are
//! written in the rule language and driven by a tiny virtual-time driver (tests/core_support).

mod core_support;

use chainsched::catalog::resolve_rule;
use chainsched::core::*;
use core_support::*;
use serde_json::json;

const PROGS: &str = "program P { builtin noop; }\n";

fn src(body: &str) -> String {
    format!("{PROGS}{body}")
}

fn alter(job: &str, step: Option<&str>, change: AlterChange) -> Input {
    Input::Alter {
        job: job.into(),
        step: step.map(String::from),
        change,
    }
}

fn set_state(state: PresetState) -> AlterChange {
    AlterChange {
        state: Some(state),
        ..Default::default()
    }
}

fn evaluate(job: &str) -> Input {
    Input::Evaluate { job: job.into() }
}

fn snapshot_json(d: &Driver, job: &str) -> String {
    serde_json::to_string(&d.core.snapshot_job(job).expect("job")).expect("serialize")
}

const SEQ: &str = "chain C { step A program P; step B program P;
    rule R1 when TRUE then START A;
    rule R2 when A SUCCEEDED then START B;
    rule R3 when B COMPLETED then END; }";

// ------------------------------------------------------------------ jobs, runs, subnames

#[test]
fn simple_sequence_runs_and_logs() {
    let mut d = Driver::new(&src(SEQ));
    d.start("C", "J1");
    assert_eq!(d.st("J1", "A"), "RUNNING");
    assert_eq!(d.st("J1", "B"), "NOT_STARTED");
    d.run();
    assert_eq!(d.state("J1"), JobState::Succeeded);
    assert_eq!(d.job("J1").error_code, Some(0));
    assert_eq!(d.job("J1").ended_at, Some(2 * S));
    assert_eq!(
        d.log_lines("J1"),
        vec![
            "A RUN SUCCEEDED 0",
            "B RUN SUCCEEDED 0",
            "- RUN SUCCEEDED 0"
        ]
    );
    let ids: Vec<u64> = d.logs().iter().map(|r| r.log_id).collect();
    assert_eq!(ids, vec![1, 2, 3]);
    assert_eq!(
        d.timeline("J1", TimelineKind::RuleFired),
        vec!["R1: START A", "R2: START B", "R3: END"]
    );
    assert_eq!(d.timeline("J1", TimelineKind::JobStarted).len(), 1);
    assert_eq!(d.timeline("J1", TimelineKind::JobEnded), vec!["SUCCEEDED"]);
    assert!(d
        .timeline("J1", TimelineKind::StepState)
        .contains(&"A RUNNING".to_string()));
    assert_eq!(
        d.timeline("J1", TimelineKind::Evaluation)
            .first()
            .map(String::as_str),
        Some("fired: R1")
    );
    let a = d.step("J1", "A");
    assert_eq!(
        (a.started_at, a.ended_at, a.attempts),
        (Some(0), Some(S), 1)
    );
    assert_eq!(a.log_id, Some(1));
}

#[test]
fn launch_comes_after_the_running_state_change() {
    let mut d = Driver::new(&src(SEQ));
    d.start("C", "J1");
    let pos_running = d.effects.iter().position(|e| {
        matches!(e, Effect::StepChanged { step, .. } if step.subname == "A" && step.state == StepState::Running)
    });
    let pos_launch = d
        .effects
        .iter()
        .position(|e| matches!(e, Effect::Launch { subname, .. } if subname == "A"));
    assert!(pos_running.is_some() && pos_launch.is_some());
    assert!(pos_running < pos_launch);
}

#[test]
fn generated_names_duplicates_and_unknown_chains() {
    let mut d = Driver::new(&src(
        "chain LOAN_APPROVAL { step A program P; rule R1 when TRUE then START A;
           rule R2 when A COMPLETED then END; }",
    ));
    let req = StartRequest {
        chain: "LOAN_APPROVAL".into(),
        ..Default::default()
    };
    d.start_req(req.clone());
    d.start_req(req.clone());
    assert_eq!(
        d.core.job_names(),
        vec!["RUN_CHAIN$_LOAN_APP1", "RUN_CHAIN$_LOAN_APP2"]
    );
    d.start("LOAN_APPROVAL", "J1");
    let dup = d.input(Input::StartJob(StartRequest {
        job: Some("J1".into()),
        ..req.clone()
    }));
    assert_eq!(dup, Err(CoreError::DuplicateJob("J1".into())));
    let unknown = d.input(Input::StartJob(StartRequest {
        chain: "NOPE".into(),
        ..Default::default()
    }));
    assert_eq!(
        unknown,
        Err(CoreError::UnknownChain {
            chain: "NOPE".into(),
            nearest: None
        })
    );
    let misspelt = d.input(Input::StartJob(StartRequest {
        chain: "LOAN_APROVAL".into(),
        ..Default::default()
    }));
    assert_eq!(
        misspelt.map_err(|e| e.to_string()),
        Err("unknown chain LOAN_APROVAL (did you mean LOAN_APPROVAL?)".to_string())
    );
    // Once J1 has ended, its name may be used again.
    d.run();
    assert_eq!(d.state("J1"), JobState::Succeeded);
    d.start("LOAN_APPROVAL", "J1");
    assert_eq!(d.state("J1"), JobState::Running);
}

#[test]
fn nested_subnames_at_depth_three() {
    let mut d = Driver::new(&src(
        "chain C3 { step X program P; rule when TRUE then START X; rule when X SUCCEEDED then END; }
         chain C2 { step B chain C3; rule when TRUE then START B; rule when B COMPLETED then END B.ERROR_CODE; }
         chain C1 { step A chain C2; step Z program P; rule when TRUE then START A;
                    rule when A SUCCEEDED then START Z; rule when Z SUCCEEDED then END; }",
    ));
    d.start("C1", "J");
    assert_eq!(d.st("J", "A.B.X"), "RUNNING");
    assert_eq!(d.st("J", "A.B"), "RUNNING");
    assert_eq!(d.st("J", "A"), "RUNNING");
    let subs: Vec<String> = d
        .core
        .step_records("J")
        .into_iter()
        .map(|s| s.subname)
        .collect();
    assert_eq!(subs, vec!["A", "A.B", "A.B.X", "Z"]);
    let x = d.step("J", "A.B.X");
    assert_eq!(x.parent_subname.as_deref(), Some("A.B"));
    assert_eq!(x.chain, "C3");
    d.run();
    assert_eq!(d.state("J"), JobState::Succeeded);
    assert_eq!(
        d.log_lines("J"),
        vec![
            "A.B.X RUN SUCCEEDED 0",
            "A.B RUN SUCCEEDED 0",
            "A RUN SUCCEEDED 0",
            "Z RUN SUCCEEDED 0",
            "- RUN SUCCEEDED 0"
        ]
    );
}

// ------------------------------------------------------------------ conditions

#[test]
fn error_code_is_null_until_completed_and_not_succeeded_is_true_before_running() {
    let mut d = Driver::new(&src(
        "chain C { step A program P; step B program P; step N program P;
           rule R1 when TRUE then START A;
           rule R2 when A ERROR_CODE != 20100 then START B;
           rule R3 when A NOT SUCCEEDED then START N;
           rule R4 when B COMPLETED and N COMPLETED then END; }",
    ));
    d.start("C", "J");
    // N starts at once (A has not succeeded); B waits for A's error code (NULL until then).
    assert_eq!(d.st("J", "N"), "RUNNING");
    assert_eq!(d.st("J", "B"), "NOT_STARTED");
    d.run_until(S);
    assert_eq!(d.st("J", "B"), "RUNNING");
    d.run();
    assert_eq!(d.state("J"), JobState::Succeeded);
}

#[test]
fn sql_syntax_conditions() {
    let mut d = Driver::new(&src(
        "chain C { step A program P; step B program P; step F program P; step G program P;
           rule R1 when 1=1 then START A;
           rule R2 when :A.state = 'FAILED' AND :A.error_code IN (3, 20001) then START B;
           rule R3 when :A.completed = 'TRUE' AND :A.error_code IS NOT NULL then START F;
           rule R4 when :A.duration >= INTERVAL '2' SECOND then START G;
           rule R5 when :B.state = 'SUCCEEDED' AND :F.end_date > SYSTIMESTAMP - INTERVAL '1' HOUR then END 7; }",
    ));
    d.script("A", vec![fail(20001)]);
    d.start("C", "J");
    d.run();
    assert_eq!(d.st("J", "B"), "SUCCEEDED");
    assert_eq!(d.st("J", "F"), "SUCCEEDED");
    // A ran 1s: its duration never reached 2s.
    assert_eq!(d.st("J", "G"), "NOT_STARTED");
    assert_eq!(d.state("J"), JobState::Failed);
    assert_eq!(d.job("J").error_code, Some(7));
}

// ------------------------------------------------------------------ when the rules are evaluated

#[test]
fn alter_does_not_evaluate_by_itself() {
    let mut d = Driver::new(&src("chain C { step A program P; step B program P;
           rule R1 when TRUE then START A;
           rule R2 when A SUCCEEDED then START B;
           rule R3 when B SUCCEEDED then END; }"));
    d.hang.push("A".into());
    d.start("C", "J");
    d.input(Input::Stop {
        job: "J".into(),
        step: Some("A".into()),
    })
    .unwrap();
    // STOP completes A (STOPPED) → evaluated → nothing starts → stalled.
    assert_eq!(d.st("J", "A"), "STOPPED");
    assert_eq!(d.state("J"), JobState::ChainStalled);
    d.input(alter("J", Some("A"), set_state(PresetState::Succeeded)))
        .unwrap();
    assert_eq!(d.st("J", "A"), "SUCCEEDED");
    assert_eq!(d.st("J", "B"), "NOT_STARTED");
    assert_eq!(d.state("J"), JobState::ChainStalled);
    d.input(evaluate("J")).unwrap();
    assert_eq!(d.st("J", "B"), "RUNNING");
    assert_eq!(d.state("J"), JobState::Running);
    assert_eq!(d.job("J").stall_reason, None);
    d.run();
    assert_eq!(d.state("J"), JobState::Succeeded);
}

#[test]
fn evaluation_interval_reevaluates_time_dependent_rules_and_never_stalls() {
    let mut d = Driver::new(&src(
        "chain C { evaluation_interval 5s; step A program P; step B program P;
           rule R1 when TRUE then START A;
           rule R2 when :A.duration > INTERVAL '10' SECOND then STOP A;
           rule R3 when A STOPPED then START B;
           rule R4 when B SUCCEEDED then END; }",
    ));
    d.script("A", vec![ok_after(100 * S)]);
    d.start("C", "J");
    d.run_until(14 * S);
    assert_eq!(d.st("J", "A"), "RUNNING");
    d.run_until(15 * S);
    assert_eq!(d.st("J", "A"), "STOPPED");
    assert_eq!(d.step("J", "A").ended_at, Some(15 * S));
    d.run();
    assert_eq!(d.state("J"), JobState::Succeeded);
    assert_eq!(d.job("J").ended_at, Some(16 * S));
    // The interval timer is cancelled at the end; nothing pending.
    assert!(d.timers.is_empty());

    // A chain with an interval and no TRUE rule does not stall: it keeps evaluating.
    let mut d = Driver::new(&src("chain W { evaluation_interval 1m; step A program P;
           rule R1 when :A.start_date IS NOT NULL then END; }"));
    d.start("W", "J");
    d.run_until(10 * 60 * S);
    assert_eq!(d.state("J"), JobState::Running);
    assert_eq!(d.timers.len(), 1);
}

// ------------------------------------------------------------------ one evaluation pass

#[test]
fn first_true_end_wins_and_blocks_the_pass() {
    let mut d = Driver::new(&src("chain C { step A program P; step B program P;
           rule R1 when TRUE then START A;
           rule R2 when A SUCCEEDED then START B;
           rule R3 when A SUCCEEDED then END 5;
           rule R4 when A COMPLETED then END 6; }"));
    d.start("C", "J");
    d.run();
    assert_eq!(d.state("J"), JobState::Failed);
    assert_eq!(d.job("J").error_code, Some(5));
    assert_eq!(d.st("J", "B"), "NOT_STARTED");
    assert_eq!(d.launched("J", "B"), 0);
}

#[test]
fn stops_apply_before_starts_and_or_joins_run_once() {
    let mut d = Driver::new(&src(
        "chain C { step A program P; step B program P; step C2 program P; step K program P;
           rule R1 when TRUE then START A, B, K;
           rule R2 when A SUCCEEDED then START C2;
           rule R3 when B SUCCEEDED then START C2;
           rule R4 when A SUCCEEDED then STOP K;
           rule R5 when C2 SUCCEEDED then END; }",
    ));
    d.hang.push("K".into());
    d.start("C", "J");
    d.run();
    assert_eq!(d.launched("J", "C2"), 1);
    assert_eq!(d.st("J", "K"), "STOPPED");
    assert_eq!(d.step("J", "K").error_code, Some(1013));
    assert!(d
        .effects
        .iter()
        .any(|e| matches!(e, Effect::Kill { subname, .. } if subname == "K")));
    assert_eq!(d.state("J"), JobState::Succeeded);
    // R2 fired; R3 found C2 already started and did not fire.
    let fired = d.timeline("J", TimelineKind::RuleFired);
    assert!(fired.contains(&"R2: START C2".to_string()));
    assert!(!fired.contains(&"R3: START C2".to_string()));
    assert!(d.log_lines("J").contains(&"K RUN STOPPED 1013".to_string()));
}

#[test]
fn skip_makes_a_step_succeed_without_running() {
    let mut d = Driver::new(&src(
        "chain C { step A program P with skip; step B program P; step Q program P with skip, pause;
           rule R1 when TRUE then START A, Q;
           rule R2 when A SUCCEEDED then START B;
           rule R3 when B SUCCEEDED then END; }",
    ));
    d.start("C", "J");
    // A was skipped at once, and the synchronous completion started B in the same evaluation.
    assert_eq!(d.st("J", "A"), "SUCCEEDED");
    assert_eq!(d.step("J", "A").error_code, Some(0));
    assert_eq!(d.st("J", "B"), "RUNNING");
    assert_eq!(d.st("J", "Q"), "PAUSED");
    d.run();
    assert_eq!(d.launched("J", "A"), 0);
    assert_eq!(d.launched("J", "Q"), 0);
    assert_eq!(d.state("J"), JobState::Succeeded);
    assert_eq!(
        d.log_lines("J"),
        vec!["B RUN SUCCEEDED 0", "- RUN SUCCEEDED 0"]
    );
}

#[test]
fn pause_before_holds_the_step_until_cleared_and_evaluated() {
    let mut d = Driver::new(&src(
        "chain C { step A program P with pause_before; step B program P;
           rule R1 when TRUE then START A;
           rule R2 when A SUCCEEDED then END; }",
    ));
    d.start("C", "J");
    assert_eq!(d.st("J", "A"), "PAUSED");
    assert_eq!(d.launched("J", "A"), 0);
    assert_eq!(d.state("J"), JobState::ChainStalled);
    assert!(d.job("J").stall_reason.unwrap().contains("A is PAUSED"));
    d.input(alter(
        "J",
        Some("A"),
        AlterChange {
            pause_before: Some(false),
            ..Default::default()
        },
    ))
    .unwrap();
    assert_eq!(d.st("J", "A"), "PAUSED");
    d.input(evaluate("J")).unwrap();
    assert_eq!(d.st("J", "A"), "RUNNING");
    d.run();
    assert_eq!(d.state("J"), JobState::Succeeded);
}

#[test]
fn after_delay_schedules_then_runs() {
    let mut d = Driver::new(&src("chain C { step A program P; step B program P;
           rule R1 when TRUE then START A;
           rule R2 when A SUCCEEDED then AFTER 00:00:05 START B;
           rule R3 when B SUCCEEDED then END; }"));
    d.start("C", "J");
    d.run_until(S);
    assert_eq!(d.st("J", "B"), "SCHEDULED");
    assert!(d.timers.values().any(|due| *due == 6 * S));
    d.run_until(6 * S);
    assert_eq!(d.st("J", "B"), "RUNNING");
    assert_eq!(d.step("J", "B").started_at, Some(6 * S));
    d.run();
    assert_eq!(d.job("J").ended_at, Some(7 * S));
}

#[test]
fn stop_cancels_scheduled_steps() {
    let mut d = Driver::new(&src(
        "chain C { step A program P; step B program P; step T program P;
           rule R1 when TRUE then START A, T;
           rule R2 when TRUE then AFTER 01:00:00 START B;
           rule R3 when A SUCCEEDED then STOP B;
           rule R4 when B STOPPED AND T COMPLETED then END; }",
    ));
    d.script("T", vec![ok_after(3 * S)]);
    d.start("C", "J");
    assert_eq!(d.st("J", "B"), "SCHEDULED");
    d.run_until(S);
    assert_eq!(d.st("J", "B"), "STOPPED");
    assert_eq!(d.step("J", "B").error_code, Some(1013));
    assert!(d.effects.iter().any(
        |e| matches!(e, Effect::CancelTimer { timer: TimerKey::AfterDelay { subname }, .. } if subname == "B")
    ));
    d.run();
    assert_eq!(d.state("J"), JobState::Succeeded);
    assert_eq!(d.job("J").ended_at, Some(3 * S));
    assert_eq!(d.launched("J", "B"), 0);
}

#[test]
fn stall_when_nothing_reacts_then_alter_and_evaluate() {
    let mut d = Driver::new(&src(SEQ.replace("B COMPLETED", "B SUCCEEDED").as_str()));
    d.script("A", vec![fail(20001)]);
    d.start("C", "J");
    d.run();
    assert_eq!(d.state("J"), JobState::ChainStalled);
    assert_eq!(
        d.job("J").stall_reason.as_deref(),
        Some("A FAILED with 20001; no rule reacts to A failing")
    );
    assert_eq!(
        d.timeline("J", TimelineKind::Stall),
        vec!["A FAILED with 20001; no rule reacts to A failing"]
    );
    d.input(alter("J", Some("A"), set_state(PresetState::Succeeded)))
        .unwrap();
    d.input(evaluate("J")).unwrap();
    assert_eq!(d.state("J"), JobState::Running);
    d.run();
    assert_eq!(d.state("J"), JobState::Succeeded);
}

#[test]
fn a_chain_with_no_true_rule_stalls_at_once() {
    let mut d = Driver::new(&src(
        "chain C { step A program P; rule R1 when A SUCCEEDED then END; }",
    ));
    d.start("C", "J");
    assert_eq!(d.state("J"), JobState::ChainStalled);
    assert_eq!(d.job("J").stall_reason.as_deref(), Some("no rule is TRUE"));
}

#[test]
fn redefined_rule_plus_evaluate_unstalls_and_applies_to_future_runs() {
    let mut d = Driver::new(&src("chain C { step A program P; step B program P;
           rule R1 when TRUE then START A;
           rule R2 when A SUCCEEDED then START B;
           rule R3 when B SUCCEEDED then END; }"));
    d.script("A", vec![fail(3)]);
    d.start("C", "J");
    d.run();
    assert_eq!(d.state("J"), JobState::ChainStalled);
    let chain = d.core.catalog.chains["C"].clone();
    let rule = resolve_rule(&chain, Some("R2"), 2, "A COMPLETED", "START B").expect("rule");
    d.input(Input::DefineRule {
        chain: "C".into(),
        rule,
    })
    .unwrap();
    // A rule change does not evaluate by itself.
    assert_eq!(d.state("J"), JobState::ChainStalled);
    d.input(evaluate("J")).unwrap();
    assert_eq!(d.st("J", "B"), "RUNNING");
    d.run();
    assert_eq!(d.state("J"), JobState::Succeeded);
    // The rule kept its position; future runs use it.
    assert_eq!(d.core.catalog.chains["C"].rules[1].name, "R2");
    assert_eq!(d.core.catalog.chains["C"].rules.len(), 3);
    d.script("A", vec![fail(3)]);
    d.start("C", "J2");
    d.run();
    assert_eq!(d.state("J2"), JobState::Succeeded);
    // A new name appends a rule.
    let extra = resolve_rule(&chain, Some("R9"), 4, "A FAILED", "END 9").expect("rule");
    d.input(Input::DefineRule {
        chain: "C".into(),
        rule: extra,
    })
    .unwrap();
    assert_eq!(d.core.catalog.chains["C"].rules.len(), 4);
    assert_eq!(d.core.catalog.chains["C"].rules[3].position, 4);
}

// ------------------------------------------------------------------ ending a chain

#[test]
fn end_values() {
    let cases = [
        ("END", JobState::Succeeded, 0),
        ("END 0", JobState::Succeeded, 0),
        ("END 42", JobState::Failed, 42),
        ("END A.ERROR_CODE", JobState::Failed, 20100),
        ("END B.ERROR_CODE", JobState::Failed, 27435),
    ];
    for (action, state, code) in cases {
        let mut d = Driver::new(&src(&format!(
            "chain C {{ step A program P; step B program P;
               rule R1 when TRUE then START A;
               rule R2 when A COMPLETED then {action}; }}"
        )));
        d.script("A", vec![fail(20100)]);
        d.start("C", "J");
        d.run();
        assert_eq!(d.state("J"), state, "{action}");
        assert_eq!(d.job("J").error_code, Some(code), "{action}");
        let last = d.log_lines("J").pop().unwrap();
        assert_eq!(last, format!("- RUN {} {code}", state.as_str()), "{action}");
    }
    let mut d = Driver::new(&src(
        "chain C { step A program P; rule R1 when TRUE then START A;
           rule R2 when A COMPLETED then END A.ERROR_CODE; }",
    ));
    d.start("C", "J");
    d.run();
    assert_eq!(d.state("J"), JobState::Succeeded);
}

#[test]
fn end_stops_running_scheduled_and_waiting_steps_but_leaves_paused_ones() {
    let mut d = Driver::new(&src(
        "chain C { step A program P; step L program P; step S1 program P; step W event GO;
                   step Q program P with pause_before;
           rule R1 when TRUE then START A, L, W, Q;
           rule R2 when TRUE then AFTER 01:00:00 START S1;
           rule R3 when A SUCCEEDED then END 3; }",
    ));
    d.hang.push("L".into());
    d.start("C", "J");
    d.run();
    assert_eq!(d.state("J"), JobState::Failed);
    for s in ["L", "S1", "W"] {
        assert_eq!(d.st("J", s), "STOPPED", "{s}");
        assert_eq!(d.step("J", s).error_code, Some(1013), "{s}");
    }
    assert_eq!(d.st("J", "Q"), "PAUSED");
    let logs = d.log_lines("J");
    for row in [
        "L RUN STOPPED 1013",
        "S1 RUN STOPPED 1013",
        "W RUN STOPPED 1013",
    ] {
        assert!(logs.contains(&row.to_string()), "{row} in {logs:?}");
    }
    assert_eq!(logs.last().unwrap(), "- RUN FAILED 3");
    assert!(d.timers.is_empty());
    assert!(d.running.is_empty());
}

#[test]
fn stopping_a_job_stops_every_running_step() {
    let mut d = Driver::new(&src(
        "chain I { step X program P; rule when TRUE then START X; rule when X SUCCEEDED then END; }
         chain C { step A program P; step N chain I;
           rule R1 when TRUE then START A, N;
           rule R2 when A SUCCEEDED then END; }",
    ));
    d.hang.push("A".into());
    d.hang.push("N.X".into());
    d.start("C", "J");
    d.input(Input::Stop {
        job: "J".into(),
        step: None,
    })
    .unwrap();
    assert_eq!(d.state("J"), JobState::Stopped);
    assert_eq!(d.job("J").error_code, Some(1013));
    for s in ["A", "N", "N.X"] {
        assert_eq!(d.st("J", s), "STOPPED", "{s}");
    }
    assert_eq!(
        d.log_lines("J"),
        vec![
            "A RUN STOPPED 1013",
            "N.X RUN STOPPED 1013",
            "N RUN STOPPED 1013",
            "- RUN STOPPED 1013"
        ]
    );
    // A stopped job cannot be stopped or evaluated again.
    assert_eq!(
        d.input(Input::Stop {
            job: "J".into(),
            step: None
        }),
        Err(CoreError::JobEnded("J".into()))
    );
    assert_eq!(d.input(evaluate("J")), Err(CoreError::JobEnded("J".into())));
    // A late report from a killed step is ignored.
    assert_eq!(
        d.input(Input::StepFinished {
            job: "J".into(),
            subname: "A".into(),
            attempt: 1,
            outcome: Outcome::Succeeded,
            variables: Vec::new(),
        }),
        Ok(())
    );
    assert_eq!(d.st("J", "A"), "STOPPED");
}

#[test]
fn stopping_one_step_is_a_completion_and_refuses_idle_steps() {
    let mut d = Driver::new(&src("chain C { step A program P; step B program P;
           rule R1 when TRUE then START A;
           rule R2 when A STOPPED then END 4; }"));
    d.hang.push("A".into());
    d.start("C", "J");
    let before = snapshot_json(&d, "J");
    let err = d.input(Input::Stop {
        job: "J".into(),
        step: Some("B".into()),
    });
    assert!(matches!(err, Err(CoreError::Invalid(m)) if m.contains("NOT_STARTED")));
    assert_eq!(snapshot_json(&d, "J"), before);
    assert_eq!(
        d.input(Input::Stop {
            job: "J".into(),
            step: Some("Z".into())
        }),
        Err(CoreError::UnknownStep {
            job: "J".into(),
            step: "Z".into(),
            nearest: None
        })
    );
    d.input(Input::Stop {
        job: "J".into(),
        step: Some("A".into()),
    })
    .unwrap();
    assert_eq!(d.state("J"), JobState::Failed);
    assert_eq!(d.job("J").error_code, Some(4));
}

// ------------------------------------------------------------------ nested chains

const NESTED: &str = "
    chain INNER { step I1 program P; step I2 program P;
        rule when TRUE then START I1;
        rule when I1 SUCCEEDED then START I2;
        rule when I2 SUCCEEDED then END;
        rule when I2 FAILED then END I2.ERROR_CODE; }
    chain OUTER { step N chain INNER; step Z program P;
        rule R1 when TRUE then START N;
        rule R2 when N SUCCEEDED then START Z;
        rule R3 when N FAILED then END N.ERROR_CODE;
        rule R4 when Z SUCCEEDED then END; }";

#[test]
fn nested_chain_end_gives_the_outer_step_its_outcome() {
    let mut d = Driver::new(&src(NESTED));
    d.start("OUTER", "J");
    assert_eq!(d.st("J", "N"), "RUNNING");
    assert_eq!(d.st("J", "N.I1"), "RUNNING");
    d.run();
    assert_eq!(d.st("J", "N"), "SUCCEEDED");
    assert_eq!(d.state("J"), JobState::Succeeded);

    let mut d = Driver::new(&src(NESTED));
    d.script("N.I2", vec![fail(77)]);
    d.start("OUTER", "J");
    d.run();
    assert_eq!(d.st("J", "N"), "FAILED 77");
    assert_eq!(d.state("J"), JobState::Failed);
    assert_eq!(d.job("J").error_code, Some(77));
    assert!(d.log_lines("J").contains(&"N RUN FAILED 77".to_string()));
}

#[test]
fn nested_stall_stalls_the_outer_step_and_alter_evaluate_resumes_it() {
    let body = NESTED.replace("rule when I2 FAILED then END I2.ERROR_CODE;", "");
    let mut d = Driver::new(&src(&body));
    d.script("N.I1", vec![fail(5)]);
    d.start("OUTER", "J");
    d.run();
    assert_eq!(d.st("J", "N.I1"), "FAILED 5");
    assert_eq!(d.st("J", "N"), "STALLED");
    assert_eq!(d.state("J"), JobState::ChainStalled);
    // Refused: a running step's state; unknown steps. Nothing changes.
    let before = snapshot_json(&d, "J");
    assert_eq!(
        d.input(alter(
            "J",
            Some("N.NOPE"),
            set_state(PresetState::Succeeded)
        )),
        Err(CoreError::UnknownStep {
            job: "J".into(),
            step: "N.NOPE".into(),
            nearest: None
        })
    );
    assert_eq!(snapshot_json(&d, "J"), before);
    d.input(alter("J", Some("N.I1"), set_state(PresetState::Succeeded)))
        .unwrap();
    d.input(evaluate("J")).unwrap();
    assert_eq!(d.st("J", "N"), "RUNNING");
    assert_eq!(d.st("J", "N.I2"), "RUNNING");
    assert_eq!(d.state("J"), JobState::Running);
    d.run();
    assert_eq!(d.state("J"), JobState::Succeeded);
}

#[test]
fn nested_evaluation_interval_uses_the_outer_subname() {
    let mut d = Driver::new(&src(
        "chain I { evaluation_interval 10s; step X program P;
                   rule when :X.start_date IS NULL AND SYSTIMESTAMP > :X.start_date then START X;
                   rule when TRUE then START X;
                   rule when X SUCCEEDED then END; }
         chain O { step N chain I; rule when TRUE then START N; rule when N COMPLETED then END; }",
    ));
    d.start("O", "J");
    assert!(d.timers.keys().any(|(_, k)| *k
        == TimerKey::Interval {
            subname: "N".into()
        }));
    d.run();
    assert_eq!(d.state("J"), JobState::Succeeded);
    assert!(d.timers.is_empty());
}

// ------------------------------------------------------------------ attributes, manual control

#[test]
fn pause_holds_the_outcome_until_cleared() {
    let mut d = Driver::new(&src(
        "chain C { step A program P with pause; step B program P;
           rule R1 when TRUE then START A;
           rule R2 when A FAILED then START B;
           rule R3 when B SUCCEEDED then END; }",
    ));
    d.script("A", vec![fail(9)]);
    d.start("C", "J");
    d.run();
    assert_eq!(d.st("J", "A"), "PAUSED");
    assert_eq!(d.step("J", "A").error_code, None);
    assert_eq!(d.log_lines("J"), vec!["A RUN FAILED 9"]);
    assert_eq!(d.state("J"), JobState::ChainStalled);
    d.input(alter(
        "J",
        Some("A"),
        AlterChange {
            pause: Some(false),
            ..Default::default()
        },
    ))
    .unwrap();
    assert_eq!(d.st("J", "A"), "FAILED 9");
    assert_eq!(d.st("J", "B"), "NOT_STARTED");
    d.input(evaluate("J")).unwrap();
    d.run();
    assert_eq!(d.state("J"), JobState::Succeeded);
}

#[test]
fn restart_on_failure_retries_with_the_policy() {
    let mut d = Driver::new(&src("chain C { step A program P with restart_on_failure;
                   step B program P with restart_on_failure(retries 2, delay 5s, backoff 2);
           rule R1 when TRUE then START A;
           rule R2 when A SUCCEEDED then START B;
           rule R3 when B COMPLETED then END B.ERROR_CODE; }"));
    d.script("A", vec![fail(1), fail(2), ok()]);
    d.script("B", vec![fail(11), fail(12), fail(13), ok()]);
    d.start("C", "J");
    d.run_until(S);
    assert_eq!(d.st("J", "A"), "RETRY SCHEDULED");
    assert_eq!(d.step("J", "A").error_code, None);
    d.run();
    // A: fails at 1s, retry at 2s (1s), fails at 3s, retry at 13s (10s), succeeds at 14s.
    let a_launches: Vec<(u64, u32, RunOperation)> = d
        .launches
        .iter()
        .filter(|l| l.2 == "A")
        .map(|l| (l.0, l.3, l.4))
        .collect();
    assert_eq!(
        a_launches,
        vec![
            (0, 1, RunOperation::Run),
            (2 * S, 2, RunOperation::RetryRun),
            (13 * S, 3, RunOperation::RetryRun)
        ]
    );
    assert_eq!(d.step("J", "A").attempts, 3);
    assert_eq!(d.step("J", "A").started_at, Some(0));
    // B: 2 retries after 5s then 10s; the last failure is final.
    assert_eq!(d.st("J", "B"), "FAILED 13");
    assert_eq!(d.launched("J", "B"), 3);
    assert_eq!(d.state("J"), JobState::Failed);
    assert_eq!(d.job("J").error_code, Some(13));
    assert_eq!(
        d.log_lines("J"),
        vec![
            "A RUN FAILED 1",
            "A RETRY_RUN FAILED 2",
            "A RETRY_RUN SUCCEEDED 0",
            "B RUN FAILED 11",
            "B RETRY_RUN FAILED 12",
            "B RETRY_RUN FAILED 13",
            "- RUN FAILED 13"
        ]
    );
}

#[test]
fn alter_running_chain_refusals_change_nothing() {
    let mut d = Driver::new(&src(SEQ));
    d.start("C", "J1");
    let before = snapshot_json(&d, "J1");
    let err = d
        .input(alter("J1", Some("A"), set_state(PresetState::Succeeded)))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "step A of job J1 is RUNNING; its state cannot be altered"
    );
    assert_eq!(
        PresetState::parse("FAILED").unwrap_err(),
        "state 'FAILED': FAILED needs a positive error code, e.g. 'FAILED 20100'"
    );
    assert!(matches!(
        d.input(alter("J1", Some("B"), set_state(PresetState::Failed(0)))),
        Err(CoreError::Invalid(_))
    ));
    assert!(matches!(
        d.input(alter("J1", None, set_state(PresetState::Succeeded))),
        Err(CoreError::Invalid(_))
    ));
    assert_eq!(
        d.input(alter("NOPE", Some("A"), AlterChange::default())),
        Err(CoreError::UnknownJob("NOPE".into()))
    );
    assert_eq!(
        d.input(alter("J1", Some("X"), AlterChange::default())),
        Err(CoreError::UnknownStep {
            job: "J1".into(),
            step: "X".into(),
            nearest: None
        })
    );
    assert_eq!(snapshot_json(&d, "J1"), before);
    // A refused input in handle() returns no effects.
    assert!(d
        .core
        .handle(
            0,
            alter("J1", Some("A"), set_state(PresetState::NotStarted))
        )
        .is_err());
}

#[test]
fn alter_all_steps_and_states() {
    let mut d = Driver::new(&src(
        "chain C { step A program P; step B program P; step C3 program P;
           rule R1 when TRUE then START A;
           rule R2 when A SUCCEEDED then START B;
           rule R3 when B SUCCEEDED then START C3;
           rule R4 when C3 SUCCEEDED then END; }",
    ));
    d.start("C", "J");
    d.input(alter(
        "J",
        None,
        AlterChange {
            skip: Some(true),
            ..Default::default()
        },
    ))
    .unwrap();
    assert!(d.core.step_records("J").iter().all(|s| s.skip));
    assert_eq!(
        d.timeline("J", TimelineKind::Alter),
        vec!["all steps: skip=true"]
    );
    d.run();
    // A was already running; B and C3 were skipped.
    assert_eq!(d.launched("J", "A"), 1);
    assert_eq!(d.launched("J", "B"), 0);
    assert_eq!(d.launched("J", "C3"), 0);
    assert_eq!(d.state("J"), JobState::Succeeded);

    // Set a step back to NOT_STARTED: the next evaluation starts it again.
    let mut d = Driver::new(&src(
        "chain C { step A program P; step B program P; step G program P;
           rule R1 when TRUE then START A;
           rule R2 when A SUCCEEDED then START B;
           rule R3 when G SUCCEEDED then END; }",
    ));
    d.start("C", "J");
    d.run();
    assert_eq!(d.state("J"), JobState::ChainStalled);
    d.input(alter("J", Some("A"), set_state(PresetState::NotStarted)))
        .unwrap();
    assert_eq!(d.step("J", "A").error_code, None);
    d.input(alter("J", Some("G"), set_state(PresetState::Failed(20100))))
        .unwrap();
    assert_eq!(d.st("J", "G"), "FAILED 20100");
    d.input(evaluate("J")).unwrap();
    assert_eq!(d.st("J", "A"), "RUNNING");
    assert_eq!(d.step("J", "A").attempts, 2);
    d.input(alter("J", Some("G"), set_state(PresetState::Succeeded)))
        .unwrap();
    d.input(evaluate("J")).unwrap();
    assert_eq!(d.state("J"), JobState::Succeeded);
}

#[test]
fn alter_state_of_a_scheduled_step_cancels_its_timer() {
    let mut d = Driver::new(&src("chain C { step A program P; step B program P;
           rule R1 when TRUE then AFTER 00:10:00 START A;
           rule R2 when A SUCCEEDED then END; }"));
    d.start("C", "J");
    assert_eq!(d.st("J", "A"), "SCHEDULED");
    d.input(alter("J", Some("A"), set_state(PresetState::Succeeded)))
        .unwrap();
    assert!(d.timers.is_empty());
    d.input(evaluate("J")).unwrap();
    assert_eq!(d.state("J"), JobState::Succeeded);
    assert_eq!(d.launched("J", "A"), 0);
}

#[test]
fn alter_chain_changes_running_jobs_and_future_runs() {
    let mut d = Driver::new(&src(SEQ));
    d.start("C", "J1");
    d.input(Input::AlterChain {
        chain: "C".into(),
        step: Some("B".into()),
        change: AlterChange {
            skip: Some(true),
            ..Default::default()
        },
    })
    .unwrap();
    assert!(d.step("J1", "B").skip);
    d.run();
    assert_eq!(d.launched("J1", "B"), 0);
    assert_eq!(d.state("J1"), JobState::Succeeded);
    d.start("C", "J2");
    d.run();
    assert_eq!(d.launched("J2", "B"), 0);
    assert!(matches!(
        d.input(Input::AlterChain {
            chain: "C".into(),
            step: Some("B".into()),
            change: set_state(PresetState::Succeeded)
        }),
        Err(CoreError::Invalid(_))
    ));
    assert_eq!(
        d.input(Input::AlterChain {
            chain: "C".into(),
            step: Some("Q".into()),
            change: AlterChange::default()
        }),
        Err(CoreError::UnknownChainStep {
            chain: "C".into(),
            step: "Q".into(),
            nearest: None
        })
    );
}

#[test]
fn run_with_start_steps() {
    let mut d = Driver::new(&src(
        "chain C { step A program P; step B program P; step C3 program P;
           rule R1 when TRUE then START A;
           rule R2 when B SUCCEEDED then START C3;
           rule R3 when C3 SUCCEEDED then END; }",
    ));
    d.start_req(StartRequest {
        job: Some("J".into()),
        chain: "C".into(),
        start_steps: vec!["B".into()],
        ..Default::default()
    });
    assert_eq!(d.st("J", "B"), "RUNNING");
    assert_eq!(d.st("J", "A"), "PAUSED");
    assert!(d.step("J", "A").skip && d.step("J", "A").pause);
    d.run();
    assert_eq!(d.launched("J", "A"), 0);
    // C3 was started by a later evaluation: it ran normally.
    assert_eq!(d.launched("J", "C3"), 1);
    assert_eq!(d.state("J"), JobState::Succeeded);
    assert_eq!(
        d.input(Input::StartJob(StartRequest {
            chain: "C".into(),
            start_steps: vec!["ZZ".into()],
            ..Default::default()
        })),
        Err(CoreError::UnknownChainStep {
            chain: "C".into(),
            step: "ZZ".into(),
            nearest: None
        })
    );
}

#[test]
fn run_with_step_states() {
    let mut d = Driver::new(&src(&format!(
        "{NESTED}
         chain T {{ step A program P; step B program P; step M chain INNER;
           rule R1 when TRUE then START A, M;
           rule R2 when A FAILED AND M SUCCEEDED then START B;
           rule R3 when B SUCCEEDED then END; }}"
    )));
    d.start_req(StartRequest {
        job: Some("J".into()),
        chain: "T".into(),
        step_states: vec![
            ("A".into(), PresetState::Failed(20009)),
            ("M.I1".into(), PresetState::Succeeded),
        ],
        ..Default::default()
    });
    assert_eq!(d.st("J", "A"), "FAILED 20009");
    assert_eq!(d.st("J", "M.I1"), "SUCCEEDED");
    d.run();
    assert_eq!(d.launched("J", "A"), 0);
    assert_eq!(d.launched("J", "M.I1"), 0);
    assert_eq!(d.state("J"), JobState::Succeeded);
    assert!(!d
        .log_lines("J")
        .iter()
        .any(|l| l.starts_with("A ") || l.starts_with("M.I1 ")));
    assert!(d
        .input(Input::StartJob(StartRequest {
            chain: "T".into(),
            step_states: vec![("M.NOPE".into(), PresetState::Succeeded)],
            ..Default::default()
        }))
        .is_err());
}

// ------------------------------------------------------------------ events

const EVENTS: &str = "chain E {
    step W event FILE_ARRIVED where file = 'sales.csv' AND size > 0;
    step A program P;
    rule R1 when TRUE then START W;
    rule R2 when W SUCCEEDED then START A;
    rule R3 when W STOPPED then END 2;
    rule R4 when A SUCCEEDED then END; }";

fn raise(name: &str, payload: serde_json::Value, job: Option<&str>) -> Input {
    Input::RaiseEvent {
        name: name.into(),
        payload,
        job: job.map(String::from),
    }
}

#[test]
fn events_complete_waiting_steps_whose_payload_matches() {
    let mut d = Driver::new(&src(EVENTS));
    // Raised before anyone waits: not seen.
    d.input(raise(
        "FILE_ARRIVED",
        json!({"file": "sales.csv", "size": 3}),
        None,
    ))
    .unwrap();
    assert_eq!(d.core.last_event_matches(), 0);
    d.start("E", "J1");
    d.start("E", "J2");
    assert_eq!(d.st("J1", "W"), "RUNNING");
    assert_eq!(d.state("J1"), JobState::Running);
    d.input(raise(
        "FILE_ARRIVED",
        json!({"file": "x.csv", "size": 3}),
        None,
    ))
    .unwrap();
    d.input(raise("FILE_ARRIVED", json!({"file": "sales.csv"}), None))
        .unwrap();
    assert_eq!(d.core.last_event_matches(), 0);
    // A name no chain declares is refused (it would otherwise be lost without a word).
    let refused = d
        .input(raise(
            "OTHER",
            json!({"file": "sales.csv", "size": 3}),
            None,
        ))
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("no chain declares event OTHER"),
        "{refused}"
    );
    // A payload that is not an object is refused.
    assert!(d.input(raise("FILE_ARRIVED", json!([1]), None)).is_err());
    // Why nothing was completed: the step that waits and the condition it found FALSE.
    d.input(raise(
        "FILE_ARRIVED",
        json!({"file": "x.csv", "size": 3}),
        Some("J1"),
    ))
    .unwrap();
    let why = d.core.last_event();
    assert_eq!((why.completed, why.waiting), (0, 1));
    assert!(
        why.unmatched[0].starts_with("job J1 step W: where"),
        "{why:?}"
    );
    d.input(raise(
        "FILE_ARRIVED",
        json!({"file": "sales.csv", "size": 3}),
        Some("J1"),
    ))
    .unwrap();
    assert_eq!(d.core.last_event_matches(), 1);
    assert_eq!(d.st("J1", "W"), "SUCCEEDED");
    assert_eq!(d.st("J2", "W"), "RUNNING");
    assert_eq!(d.st("J1", "A"), "RUNNING");
    assert_eq!(
        d.timeline("J1", TimelineKind::EventRaised),
        vec!["FILE_ARRIVED completed W"]
    );
    assert_eq!(d.log_lines("J1"), vec!["W RUN SUCCEEDED 0"]);
    // Unquoted names follow identifier rules.
    d.input(raise(
        "file_arrived",
        json!({"file": "sales.csv", "size": 1}),
        None,
    ))
    .unwrap();
    assert_eq!(d.core.last_event_matches(), 1);
    assert_eq!(d.st("J2", "W"), "SUCCEEDED");
    assert_eq!(
        d.input(raise("FILE_ARRIVED", json!({}), Some("NOPE"))),
        Err(CoreError::UnknownJob("NOPE".into()))
    );
    d.run();
    assert_eq!(d.state("J1"), JobState::Succeeded);
}

#[test]
fn stop_ends_an_event_wait() {
    let mut d = Driver::new(&src(EVENTS));
    d.start("E", "J");
    d.input(Input::Stop {
        job: "J".into(),
        step: Some("W".into()),
    })
    .unwrap();
    assert_eq!(d.st("J", "W"), "STOPPED");
    assert_eq!(d.state("J"), JobState::Failed);
    assert_eq!(d.job("J").error_code, Some(2));
}

// ------------------------------------------------------------------ order within an instant

#[test]
fn steps_finishing_together_are_seen_together_in_a_batch() {
    let body = "chain C { step A program P; step B program P;
        rule R0 when TRUE then START A, B;
        rule R1 when A SUCCEEDED AND NOT (B COMPLETED) then END 1;
        rule R2 when B SUCCEEDED AND NOT (A COMPLETED) then END 2;
        rule R3 when A SUCCEEDED AND B SUCCEEDED then END 3; }";
    let mut d = Driver::new(&src(body));
    d.start("C", "J");
    d.run();
    assert_eq!(d.job("J").error_code, Some(3));

    // Fed one at a time, the first completion is seen alone.
    let mut core = Core::new(catalog(&src(body)));
    core.handle(
        0,
        Input::StartJob(StartRequest {
            job: Some("J".into()),
            chain: "C".into(),
            ..Default::default()
        }),
    )
    .unwrap();
    for sub in ["A", "B"] {
        core.handle(
            S,
            Input::StepFinished {
                job: "J".into(),
                subname: sub.into(),
                attempt: 1,
                outcome: Outcome::Succeeded,
                variables: Vec::new(),
            },
        )
        .unwrap();
    }
    assert_eq!(core.job_record("J").unwrap().error_code, Some(1));
}

#[test]
fn handle_batch_reports_each_input() {
    let mut core = Core::new(catalog(&src(SEQ)));
    let (effects, results) = core.handle_batch(
        0,
        vec![
            Input::StartJob(StartRequest {
                job: Some("J".into()),
                chain: "C".into(),
                ..Default::default()
            }),
            Input::Evaluate { job: "NOPE".into() },
            Input::Alter {
                job: "J".into(),
                step: Some("B".into()),
                change: AlterChange {
                    skip: Some(true),
                    ..Default::default()
                },
            },
        ],
    );
    assert!(results[0].is_ok());
    assert_eq!(results[1], Err(CoreError::UnknownJob("NOPE".into())));
    assert!(results[2].is_ok());
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::Launch { subname, .. } if subname == "A")));
}

// ------------------------------------------------------------------ durability and recovery

const RECOVER: &str = "chain C {
    step A program P with restart_on_recovery; step B program P; step D program P;
    rule R1 when TRUE then START A, B;
    rule R2 when TRUE then AFTER 00:01:00 START D;
    rule R3 when B STOPPED then END 8;
    rule R4 when A SUCCEEDED AND D SUCCEEDED then END; }";

fn crashed_core(src_text: &str) -> (JobSnapshot, u64) {
    let mut d = Driver::new(src_text);
    d.hang.push("A".into());
    d.hang.push("B".into());
    d.start("C", "J");
    d.run_until(10 * S);
    let snap = d.core.snapshot_job("J").unwrap();
    // Through JSON, as a store would keep it.
    let text = serde_json::to_string(&snap).unwrap();
    (serde_json::from_str(&text).unwrap(), d.core.next_log_id())
}

#[test]
fn recovery_restarts_or_stops_running_steps_and_rearms_timers() {
    let (snap, next_log) = crashed_core(&src(RECOVER));
    let mut core = Core::new(catalog(&src(RECOVER)));
    core.set_next_log_id(next_log);
    core.restore_job(snap);
    let effects = core.recover_job(20 * S, "J", false).unwrap();
    // D's AFTER delay resumes at its absolute due time.
    assert!(effects.iter().any(|e| matches!(e,
        Effect::SetTimer { timer: TimerKey::AfterDelay { subname }, due, .. } if subname == "D" && *due == 60 * S)));
    // A (restart_on_recovery) is relaunched with RECOVERY_RUN; B is STOPPED and logged.
    assert!(effects.iter().any(|e| matches!(e,
        Effect::Launch { subname, operation: RunOperation::RecoveryRun, attempt: 2, .. } if subname == "A")));
    let logs: Vec<&LogRow> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Log(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(logs[0].subname.as_deref(), Some("B"));
    assert_eq!(logs[0].status, StepState::Stopped);
    assert_eq!(logs[0].log_id, next_log);
    // The rules were evaluated: R3 ended the job (and stopped A again, and D).
    assert_eq!(core.job_record("J").unwrap().state, JobState::Failed);
    assert_eq!(core.job_record("J").unwrap().error_code, Some(8));
}

#[test]
fn recovery_resumes_and_the_job_finishes() {
    let text = src(&RECOVER.replace("rule R3 when B STOPPED then END 8;", ""));
    let (snap, next_log) = crashed_core(&text);
    let mut d = Driver::new(&text);
    d.core.set_next_log_id(next_log);
    d.core.restore_job(snap);
    d.now = 20 * S;
    let effects = d.core.recover_job(20 * S, "J", false).unwrap();
    // Carry the effects out through the driver.
    for e in effects {
        match e {
            Effect::Launch {
                job,
                subname,
                attempt,
                ..
            } => {
                d.running
                    .insert((job, subname), (attempt, 21 * S, Outcome::Succeeded));
            }
            Effect::SetTimer { job, timer, due } => {
                d.timers.insert((job, timer), due);
            }
            other => d.effects.push(other),
        }
    }
    assert_eq!(d.st("J", "B"), "STOPPED");
    d.run();
    assert_eq!(d.state("J"), JobState::Succeeded);
    assert_eq!(d.job("J").ended_at, Some(61 * S));
    assert_eq!(d.step("J", "A").attempts, 2);
}

#[test]
fn restartable_jobs_restart_from_the_beginning() {
    let (snap, _) = crashed_core(&src(RECOVER));
    let mut core = Core::new(catalog(&src(RECOVER)));
    core.restore_job(snap);
    let effects = core.recover_job(20 * S, "J", true).unwrap();
    let launches: Vec<(String, u32)> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Launch {
                subname, attempt, ..
            } => Some((subname.clone(), *attempt)),
            _ => None,
        })
        .collect();
    assert_eq!(launches, vec![("A".to_string(), 1), ("B".to_string(), 1)]);
    assert!(effects.iter().any(|e| matches!(e,
        Effect::SetTimer { timer: TimerKey::AfterDelay { subname }, due, .. } if subname == "D" && *due == 80 * S)));
    assert_eq!(core.job_record("J").unwrap().state, JobState::Running);
    assert_eq!(core.step_records("J")[2].state, StepState::Scheduled);
}

#[test]
fn unknown_inputs_are_reported() {
    let mut core = Core::new(catalog(&src(SEQ)));
    assert_eq!(
        core.handle(0, Input::Evaluate { job: "X".into() }),
        Err(CoreError::UnknownJob("X".into()))
    );
    assert_eq!(
        core.handle(
            0,
            Input::AlterChain {
                chain: "X".into(),
                step: None,
                change: AlterChange::default()
            }
        ),
        Err(CoreError::UnknownChain {
            chain: "X".into(),
            nearest: None
        })
    );
    assert_eq!(
        core.recover_job(0, "X", false),
        Err(CoreError::UnknownJob("X".into()))
    );
    assert!(core.job_record("X").is_none());
    assert!(core.step_records("X").is_empty());
}

// ------------------------------------------------------------------ more decisions (docs/evaluator.md)

#[test]
fn redefined_rules_reach_running_nested_chains() {
    let body = NESTED.replace("rule when I2 FAILED then END I2.ERROR_CODE;", "");
    let mut d = Driver::new(&src(&body));
    d.script("N.I1", vec![fail(5)]);
    d.start("OUTER", "J");
    d.run();
    assert_eq!(d.st("J", "N"), "STALLED");
    let inner = d.core.catalog.chains["INNER"].clone();
    let rule = resolve_rule(&inner, Some("FIX"), 4, "I1 FAILED", "END 12").expect("rule");
    d.input(Input::DefineRule {
        chain: "INNER".into(),
        rule,
    })
    .unwrap();
    assert_eq!(d.st("J", "N"), "STALLED");
    d.input(evaluate("J")).unwrap();
    assert_eq!(d.st("J", "N"), "FAILED 12");
    assert_eq!(d.state("J"), JobState::Failed);
    assert_eq!(d.job("J").error_code, Some(12));
    assert_eq!(d.core.job_definitions("J").map(|x| x.version), Some(2));
}

#[test]
fn after_delay_looks_at_attributes_when_it_expires() {
    let mut d = Driver::new(&src("chain C { step A program P; step B program P;
           rule R1 when TRUE then AFTER 00:00:10 START A;
           rule R2 when A SUCCEEDED then END; }"));
    d.start("C", "J");
    d.run_until(5 * S);
    d.input(alter(
        "J",
        Some("A"),
        AlterChange {
            skip: Some(true),
            ..Default::default()
        },
    ))
    .unwrap();
    d.run();
    assert_eq!(d.launched("J", "A"), 0);
    assert_eq!(d.state("J"), JobState::Succeeded);
    assert_eq!(d.job("J").ended_at, Some(10 * S));
}

#[test]
fn event_steps_with_pause_hold_their_success() {
    let mut d = Driver::new(&src(
        "chain E { step W event GO with pause; step A program P;
           rule R1 when TRUE then START W;
           rule R2 when W SUCCEEDED then START A;
           rule R3 when A SUCCEEDED then END; }",
    ));
    d.start("E", "J");
    d.input(raise("GO", json!(null), None)).unwrap();
    assert_eq!(d.core.last_event_matches(), 1);
    assert_eq!(d.st("J", "W"), "PAUSED");
    assert_eq!(d.state("J"), JobState::ChainStalled);
    // Alter chain releases the held outcome in running jobs too.
    d.input(Input::AlterChain {
        chain: "E".into(),
        step: Some("W".into()),
        change: AlterChange {
            pause: Some(false),
            ..Default::default()
        },
    })
    .unwrap();
    assert_eq!(d.st("J", "W"), "SUCCEEDED");
    d.input(evaluate("J")).unwrap();
    d.run();
    assert_eq!(d.state("J"), JobState::Succeeded);
}

#[test]
fn rule_values_explain_the_current_truth() {
    let mut d = Driver::new(&src(SEQ));
    d.start("C", "J");
    let values: Vec<(String, Truth)> = d
        .core
        .rule_values("J", None, 0)
        .into_iter()
        .map(|v| (v.rule, v.truth))
        .collect();
    assert_eq!(
        values,
        vec![
            ("R1".to_string(), Truth::True),
            ("R2".to_string(), Truth::False),
            ("R3".to_string(), Truth::False)
        ]
    );
    assert!(d.core.rule_values("NOPE", None, 0).is_empty());
}

#[test]
fn forget_only_ended_jobs() {
    let mut d = Driver::new(&src(SEQ));
    d.start("C", "J");
    assert!(!d.core.forget_job("J"));
    d.run();
    assert!(d.core.forget_job("J"));
    assert!(d.core.job_record("J").is_none());
}

#[test]
fn state_snapshots_need_their_definitions() {
    let mut d = Driver::new(&src(SEQ));
    d.start("C", "J");
    let mut state = d.core.snapshot_job_state("J").unwrap();
    assert!(!state.has_definitions());
    let mut defs = d.core.job_definitions("J").unwrap();
    defs.version += 1;
    assert!(state.attach_definitions(defs).is_err());
    let defs = d.core.job_definitions("J").unwrap();
    state.attach_definitions(defs).unwrap();
    assert!(state.has_definitions());
    let mut core = Core::new(catalog(&src(SEQ)));
    core.restore_job(state);
    let effects = core.recover_job(S, "J", false).unwrap();
    // A was RUNNING without restart_on_recovery: STOPPED, then nothing reacts → stalled.
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::Log(r) if r.status == StepState::Stopped)));
    assert_eq!(core.job_record("J").unwrap().state, JobState::ChainStalled);
}

#[test]
fn a_snapshot_that_does_not_fit_its_definitions_is_refused() {
    let mut d = Driver::new(&src(SEQ));
    d.start("C", "J");
    let state = d.core.snapshot_job_state("J").unwrap();
    // Restored without its definitions against a catalog where C has other steps.
    let other = src("chain C { step X program P; rule R1 when TRUE then START X; }");
    let mut core = Core::new(catalog(&other));
    let err = core.try_restore_job(state.clone()).unwrap_err();
    assert!(err.to_string().contains("do not match"), "{err}");
    core.restore_job(state);
    assert!(core.job_record("J").is_none());
    assert_eq!(
        core.recover_job(0, "J", false),
        Err(CoreError::UnknownJob("J".into()))
    );
}

#[test]
fn a_true_stop_does_not_undo_a_start_of_the_same_pass_but_acts_at_the_next_evaluation() {
    let mut d = Driver::new(&src(
        "chain C { step A program P; step B program P; step T program P;
           rule R1 when TRUE then START A, T;
           rule R2 when A SUCCEEDED then START B;
           rule R3 when A SUCCEEDED then STOP B;
           rule R4 when B COMPLETED then END B.ERROR_CODE; }",
    ));
    d.script("B", vec![ok_after(10 * S)]);
    d.script("T", vec![ok_after(3 * S)]);
    d.start("C", "J");
    d.run_until(S);
    // At 1s: STOPs first (B NOT_STARTED: nothing), then R2 starts B.
    assert_eq!(d.st("J", "B"), "RUNNING");
    // At 3s T completes: the next evaluation applies the still-TRUE STOP B.
    d.run_until(3 * S);
    assert_eq!(d.st("J", "B"), "STOPPED");
    d.run();
    assert_eq!(d.state("J"), JobState::Failed);
    assert_eq!(d.job("J").error_code, Some(1013));
}

#[test]
fn events_reach_event_steps_of_nested_chains() {
    let mut d = Driver::new(&src(
        "chain I { step W event GO where n > 1; rule when TRUE then START W;
                   rule when W SUCCEEDED then END; }
         chain O { step N chain I; rule when TRUE then START N;
                   rule when N SUCCEEDED then END; }",
    ));
    d.start("O", "J");
    assert_eq!(d.st("J", "N.W"), "RUNNING");
    d.input(raise("GO", json!({"n": 1}), None)).unwrap();
    assert_eq!(d.core.last_event_matches(), 0);
    d.input(raise("GO", json!({"n": "2"}), Some("J"))).unwrap();
    assert_eq!(d.core.last_event_matches(), 1);
    assert_eq!(d.state("J"), JobState::Succeeded);
    assert_eq!(
        d.log_lines("J"),
        vec![
            "N.W RUN SUCCEEDED 0",
            "N RUN SUCCEEDED 0",
            "- RUN SUCCEEDED 0"
        ]
    );
    // Raising at a job that has ended completes nothing.
    d.input(raise("GO", json!({"n": 5}), Some("J"))).unwrap();
    assert_eq!(d.core.last_event_matches(), 0);
}
