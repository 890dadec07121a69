//! The embedding API: schedules fire only when asked (`EngineOptions::schedules` /
//! `Engine::enable_schedules`), runs are named like the job definition, a busy job skips its
//! occurrence, a reload with a changed schedule is picked up, and the due time is durable in
//! the store (`sched/` keys) so a new engine on the same store fires a missed due time once.

use chainsched::catalog::{load_sources, Catalog};
use chainsched::runtime::{Engine, EngineOptions};
use chainsched::store::ChainStore;
use std::time::Duration;

fn catalog(schedule: &str) -> Catalog {
    let text = format!(
        "program OK {{ builtin noop; }}\n\
         chain C {{ step A program OK; rule when TRUE then START A; rule when A SUCCEEDED then END; }}\n\
         job J {{ chain C; schedule '{schedule}'; }}\n"
    );
    let loaded = load_sources(&[("t.chain".to_string(), text)]);
    assert_eq!(loaded.error_count(), 0, "{:?}", loaded.diagnostics);
    loaded.catalog.expect("a catalog")
}

fn chain_runs(e: &Engine) -> usize {
    e.job_log("J")
        .unwrap()
        .iter()
        .filter(|r| r.subname.is_none())
        .count()
}

async fn open(store: ChainStore, schedule: &str, schedules: bool) -> Engine {
    Engine::open_with_store(
        store,
        EngineOptions {
            catalog: Some(catalog(schedule)),
            // 20 engine seconds per real second: FREQ=SECONDLY;INTERVAL=2 fires every 100 ms.
            time_scale: 20.0,
            schedules,
            ..EngineOptions::default()
        },
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_fire_only_when_enabled() {
    let off = open(ChainStore::in_memory(), "FREQ=SECONDLY;INTERVAL=2", false).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        chain_runs(&off),
        0,
        "run/resume-style engines never fire schedules"
    );
    assert!(off.schedules().unwrap().is_empty());

    off.enable_schedules();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let n = chain_runs(&off);
    assert!(n >= 2, "{n} runs");
    let s = &off.schedules().unwrap()[0];
    assert_eq!((s.job.as_str(), s.chain.as_deref()), ("J", Some("C")));
    assert!(s.next_run.unwrap() > s.last_start.unwrap());
    assert_eq!(off.job("J").unwrap().unwrap().job, "J");
    off.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_schedule_is_recomputed_and_a_missed_due_time_fires_once() {
    let store = ChainStore::in_memory();
    let e = open(store.clone(), "FREQ=SECONDLY;INTERVAL=2", true).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(chain_runs(&e) >= 1);
    // A yearly schedule: recomputed from now, it is not due for months.
    e.load_catalog(catalog("FREQ=YEARLY;BYMONTH=JAN;BYMONTHDAY=1"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let s = e.schedules().unwrap().remove(0);
    assert_eq!(s.schedule, "FREQ=YEARLY;BYMONTH=JAN;BYMONTHDAY=1");
    let before = chain_runs(&e);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(chain_runs(&e), before, "no run after the schedule changed");
    e.shutdown().await;
    drop(e);

    // Pretend the engine was down through several occurrences: the stored due time is long
    // past. A new engine with the same schedule string fires it once, then goes on.
    let mut state = s.clone();
    state.next_run = Some(state.next_run.unwrap() - 400 * 86_400_000);
    let mut b = chainsched::store::WriteBatch::default();
    b.put(
        chainsched::store::layout::schedule_key("J"),
        chainsched::store::records::encode(&state),
    );
    store.kv().commit(b).unwrap();
    let e = open(store.clone(), "FREQ=YEARLY;BYMONTH=JAN;BYMONTHDAY=1", true).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        chain_runs(&e),
        before + 1,
        "the missed due time fires exactly once"
    );
    let after = e.schedules().unwrap().remove(0);
    assert!(
        after.next_run.unwrap() > e.now(),
        "next run recomputed after now"
    );
    e.shutdown().await;
}
