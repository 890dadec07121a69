//! Embedding chainsched in a service: run chains for real from Rust.
//!
//! `cargo run --example embed` — opens a store in a temporary folder, loads a catalog from
//! source text, registers an in-process handler, starts two jobs of one chain, raises the event
//! for one of them, stops the other, waits for both, and prints what the views show.
//! See docs/embedding.md.

use chainsched::catalog::load_sources;
use chainsched::core::types::{Outcome, StartRequest};
use chainsched::runtime::{Engine, EngineEvent, EngineOptions};
use std::collections::BTreeMap;
use std::time::Duration;

const RULES: &str = r#"
program EXTRACT   { shell 'echo "::progress 1/2 reading"; sleep 0.2; echo "::progress 2/2 done"; echo extracted'; }
program TRANSFORM { handler 'transform'; }
program PUBLISH   { executable '/bin/echo'; arguments 'published' '${RUN_DATE}'; }

chain DAILY {
    step EXTRACT   program EXTRACT;
    step TRANSFORM program TRANSFORM with restart_on_failure(retries 2, delay 1s, backoff 2);
    step APPROVED  event REPORT_APPROVED where region = 'EU';
    step PUBLISH   program PUBLISH;
    rule START_IT  when TRUE then START EXTRACT;
    rule           when EXTRACT SUCCEEDED then START TRANSFORM, APPROVED;
    rule           when TRANSFORM SUCCEEDED AND APPROVED SUCCEEDED then START PUBLISH;
    rule FAILED_IT when EXTRACT FAILED OR TRANSFORM FAILED then END 1;
    rule DONE      when PUBLISH COMPLETED then END PUBLISH.ERROR_CODE;
}
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // First thing, before any runtime or thread: when the engine re-executes this binary as its
    // step guardian, this serves and exits; otherwise it returns at once (docs/embedding.md).
    chainsched::runtime::serve_guardian_if_requested();
    tokio::runtime::Runtime::new()?.block_on(run())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    // 1. The catalog: from files with `catalog::load_paths`, or from text as here.
    let loaded = load_sources(&[("daily.chain".to_string(), RULES.to_string())]);
    let Some(catalog) = loaded.catalog else {
        return Err(format!("the rules have errors: {:?}", loaded.diagnostics).into());
    };

    // 2. Handlers are registered on the options' registry BEFORE opening, so that steps
    //    restarted by recovery find them.
    let options = EngineOptions {
        catalog: Some(catalog),
        time_scale: 10.0, // retry delays and AFTER delays run 10× faster (demo)
        ..EngineOptions::default()
    };
    options.handlers.register("transform", |ctx| async move {
        for i in 1..=4u64 {
            if ctx.is_cancelled() {
                return Outcome::Stopped;
            }
            ctx.progress(i, 4, Some("transforming"));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if ctx.parameter("run_date").is_none() {
            return Outcome::Failed(20001);
        }
        Outcome::Succeeded
    });

    // 3. Open the store (recovering whatever a previous engine left unfinished).
    let dir = std::env::temp_dir().join(format!("chainsched-embed-{}", std::process::id()));
    let engine = Engine::open(&dir, options).await?;
    println!("store at {}", dir.display());

    // 4. Watch state changes as they become durable.
    let mut events = engine.subscribe();
    let watcher = tokio::spawn(async move {
        while let Ok(ev) = events.recv().await {
            if let EngineEvent::Step { job, step } = ev {
                println!("  {job} {:<10} {}", step.subname, step.state.as_str());
            }
        }
    });

    // 5. Start two jobs of the same chain.
    let mut jobs = Vec::new();
    for name in ["EU_RUN", "US_RUN"] {
        let job = engine
            .start(StartRequest {
                job: Some(name.to_string()),
                chain: "DAILY".to_string(),
                parameters: BTreeMap::from([("RUN_DATE".to_string(), "2024-06-01".to_string())]),
                ..StartRequest::default()
            })
            .await?;
        jobs.push(job);
    }

    // 6. Raise the event the jobs wait for: for one job only (`None` would reach every job
    //    whose waiting step's payload condition holds).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let n = engine
        .raise_event(
            "REPORT_APPROVED",
            serde_json::json!({"region": "EU"}),
            Some("EU_RUN"),
        )
        .await?;
    println!("REPORT_APPROVED completed {n} waiting step(s)");
    // A payload that fails the step's condition completes nothing.
    let n = engine
        .raise_event("REPORT_APPROVED", serde_json::json!({"region": "US"}), None)
        .await?;
    println!("REPORT_APPROVED (region US) completed {n} waiting step(s)");
    // The US job still waits: stop it (its waiting step ends STOPPED).
    engine.stop("US_RUN", None).await?;

    // 7. Wait for the end and read the views.
    for job in &jobs {
        let record = engine.wait(job).await?;
        println!("\njob {job}: {}", record.state.as_str());
        for view in engine.step_views(job)? {
            let p = &view.progress;
            println!(
                "  {:<10} {:<11} attempts={} progress={:?}/{:?} {}",
                view.record.subname,
                view.record.state.as_str(),
                view.record.attempts,
                p.sofar,
                p.totalwork,
                p.status_message.as_deref().unwrap_or("")
            );
        }
        for row in engine.job_log(job)? {
            let details = engine.run_details(row.log_id)?;
            let output = details.map(|d| d.output).unwrap_or_default();
            println!(
                "  log {:>3} {:<10} {:<9} {:>5}  {}",
                row.log_id,
                row.subname.as_deref().unwrap_or("(job)"),
                row.status.as_str(),
                row.error_code,
                output.trim()
            );
        }
    }
    watcher.abort();
    engine.shutdown().await;
    drop(engine);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
