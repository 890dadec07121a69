//! The journal's contract, through the library API: what `Core::take_changes` reports after a
//! state change is the records that changed — as many, and as large, for a step of a 10-step
//! chain as for a step of a 2,000-step chain — and a job rebuilt from its stored records
//! continues exactly like the live one. (The random-chain, random-crash-point version of the
//! last property is in core_props.rs.)

mod core_support;

use chainsched::core::*;
use chainsched::store::records::encode_compact;
use chainsched::store::{ChainStore, StateBatch};
use core_support::*;

fn noop_chain(n: usize) -> String {
    let mut s = String::from("program NOOP { builtin noop; }\nchain C {\n");
    for i in 0..n {
        s.push_str(&format!("  step S{i} program NOOP;\n"));
    }
    s.push_str("  rule R0 when TRUE then START S0;\n");
    for i in 1..n {
        s.push_str(&format!(
            "  rule R{i} when S{} SUCCEEDED then START S{i};\n",
            i - 1
        ));
    }
    s.push_str(&format!(
        "  rule DONE when S{} COMPLETED then END;\n}}\n",
        n - 1
    ));
    s
}

/// Step `S<i>` of job J succeeds (at instant (i + 1) × 10).
fn succeed(core: &mut Core, i: usize) {
    core.handle(
        (i as u64 + 1) * 10,
        Input::StepFinished {
            job: "J".into(),
            subname: format!("S{i}"),
            attempt: 1,
            outcome: Outcome::Succeeded,
            variables: Vec::new(),
        },
    )
    .expect("finish");
}

/// (records, bytes) the journal reports for the completion of step `k` of an `n`-step chain.
fn change_of_one_completion(n: usize, k: usize) -> (usize, usize) {
    let mut core = Core::new(catalog(&noop_chain(n)));
    core.handle(
        0,
        Input::StartJob(StartRequest {
            job: Some("J".into()),
            chain: "C".into(),
            ..StartRequest::default()
        }),
    )
    .expect("start");
    for i in 0..k {
        succeed(&mut core, i);
    }
    core.take_changes();
    succeed(&mut core, k);
    let changes = core.take_changes();
    assert_eq!(changes.len(), 1, "only job J changed");
    let ch = &changes[0];
    assert!(!ch.ended);
    let bytes = ch.header.as_ref().map_or(0, |h| encode_compact(h).len())
        + ch.instances
            .iter()
            .map(|(_, r)| encode_compact(r).len())
            .sum::<usize>()
        + ch.steps
            .iter()
            .map(|(_, _, r)| encode_compact(r).len())
            .sum::<usize>();
    let records = usize::from(ch.header.is_some()) + ch.instances.len() + ch.steps.len();
    (records, bytes)
}

#[test]
fn a_state_change_writes_the_same_records_whatever_the_size_of_the_chain() {
    let small = change_of_one_completion(10, 5);
    let large = change_of_one_completion(2000, 5);
    let late = change_of_one_completion(2000, 1500);
    // The finished step and the started one.
    assert_eq!(small.0, 2, "records for one completion: {small:?}");
    assert_eq!(large.0, small.0);
    assert_eq!(late.0, small.0);
    // Bytes differ only by the digits of the step names and times.
    for (n, got) in [("2000/5", large), ("2000/1500", late)] {
        assert!(
            got.1 <= small.1 + 16,
            "{n}: {} bytes against {} for a 10-step chain",
            got.1,
            small.1
        );
    }
}

#[test]
fn a_job_rebuilt_from_its_stored_records_equals_the_live_one_at_every_turn() {
    let src = r#"
        program P { builtin noop; }
        chain INNER {
            step I1 program P;
            step I2 program P;
            rule when TRUE then START I1;
            rule when I1 SUCCEEDED then START I2;
            rule when I2 COMPLETED then END;
        }
        chain C {
            step A program P with restart_on_failure;
            step N chain INNER;
            step B program P;
            rule when TRUE then START A;
            rule when A SUCCEEDED then START N;
            rule when N SUCCEEDED then AFTER 00:00:05 START B;
            rule when B COMPLETED then END;
        }
    "#;
    let mut live = Driver::new(src);
    live.script("A", vec![fail(3), ok()]);
    live.start("C", "J");
    let store = ChainStore::in_memory();
    let mut clock = 0;
    while clock < 60 * S {
        clock += 500;
        live.run_until(clock);
        let mut batch = StateBatch::default();
        for ch in live.core.take_changes() {
            if ch.ended {
                for k in store.job_state_keys(&ch.job).unwrap() {
                    batch.delete_raw(k);
                }
                continue;
            }
            batch.put_job_changes(&ch);
            batch.put_definitions(&ch.job, &live.core.job_definitions(&ch.job).unwrap());
        }
        store.apply(batch).unwrap();
        let Some(rec) = live.core.job_record("J") else {
            break;
        };
        if rec.state.is_finished() {
            assert!(
                store.unfinished_jobs().unwrap().is_empty(),
                "records removed"
            );
            break;
        }
        // Rebuild from the store and compare with the live job.
        let mut rebuilt = Core::new(live.core.catalog.clone());
        let defs = store.definitions_json("J").unwrap().expect("definitions");
        rebuilt
            .restore_from_records(
                store.job_records("J").unwrap(),
                serde_json::from_value(defs).unwrap(),
            )
            .expect("restore");
        assert_eq!(
            serde_json::to_value(rebuilt.snapshot_job("J").unwrap()).unwrap(),
            serde_json::to_value(live.core.snapshot_job("J").unwrap()).unwrap(),
            "at {clock} ms"
        );
        assert_eq!(rebuilt.step_records("J"), live.core.step_records("J"));
    }
    assert_eq!(live.state("J"), JobState::Succeeded);
}

#[test]
fn incomplete_records_are_refused_and_change_nothing() {
    let mut core = Core::new(catalog(&noop_chain(3)));
    core.handle(
        0,
        Input::StartJob(StartRequest {
            job: Some("J".into()),
            chain: "C".into(),
            ..StartRequest::default()
        }),
    )
    .unwrap();
    let all = core.job_records("J").unwrap();
    let defs = core.job_definitions("J").unwrap();
    let mut records = JobRecords {
        header: all.header.clone(),
        ..JobRecords::default()
    };
    for (i, r) in &all.instances {
        records.instances.insert(*i, r.clone());
    }
    for (i, s, r) in all.steps.iter().skip(1) {
        records.steps.insert((*i, *s), r.clone());
    }
    let mut fresh = Core::new(core.catalog.clone());
    let err = fresh
        .restore_from_records(records, defs.clone())
        .unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
    assert!(fresh.job_names().is_empty(), "nothing restored");
    // Definitions of another version are refused too.
    let mut records = JobRecords {
        header: all.header.clone(),
        ..JobRecords::default()
    };
    if let Some(h) = records.header.as_mut() {
        h.defs_version += 1;
    }
    let err = fresh.restore_from_records(records, defs).unwrap_err();
    assert!(err.to_string().contains("version"), "{err}");
}
