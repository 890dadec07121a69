//! Runtime benchmarks (`cargo bench --bench runtime`): what the engine costs on top of tokio and
//! sled. Results go to docs/benchmarks.md, "Runtime".
//!
//! * no-op step throughput in sync and relaxed durability (sled on disk);
//! * 1,000 concurrent jobs (each waiting for an event), memory per running job, time to end them;
//! * latency from a step's end to the start of the step that depends on it (p50/p99);
//! * a raw baseline doing the same number of task spawns, channel round trips and sled batches
//!   (with the same group-commit flushing) without the engine, so the ratio shows the overhead;
//! * with `CHAINSCHED_BENCH_PG` set to a PostgreSQL server URL whose user may create databases
//!   (e.g. the cluster of `.ci/pg-cluster`), the no-op throughput again on a fresh database of
//!   that server (docs/benchmarks.md, "PostgreSQL store").

use chainsched::catalog::{load_sources, Catalog};
use chainsched::core::types::{Outcome, StartRequest};
use chainsched::runtime::{Durability, Engine, EngineOptions};
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Counts live heap bytes, to measure memory per running job precisely (RSS moves in pages
/// and keeps freed memory).
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const STEPS: usize = 10;

/// Sizes: the full run under `cargo bench` (which passes `--bench`); a quick smoke run when the
/// binary is run by `cargo test --all-targets`, so the suite stays fast but the code is exercised.
struct Sizes {
    jobs: usize,
    concurrent: usize,
    latency_jobs: usize,
}

fn sizes() -> Sizes {
    if std::env::args().any(|a| a == "--bench") {
        Sizes {
            jobs: 200,
            concurrent: 1000,
            latency_jobs: 500,
        }
    } else {
        Sizes {
            jobs: 10,
            concurrent: 20,
            latency_jobs: 10,
        }
    }
}

fn catalog(extra: &str) -> Catalog {
    let mut text = String::from("program OK { builtin noop; }\nchain SEQ {\n");
    for i in 0..STEPS {
        text.push_str(&format!("  step S{i} program OK;\n"));
    }
    text.push_str("  rule R0 when TRUE then START S0;\n");
    for i in 1..STEPS {
        text.push_str(&format!(
            "  rule R{i} when S{} SUCCEEDED then START S{i};\n",
            i - 1
        ));
    }
    text.push_str(&format!(
        "  rule DONE when S{} SUCCEEDED then END;\n}}\n",
        STEPS - 1
    ));
    text.push_str(extra);
    load_sources(&[("bench.chain".into(), text)])
        .catalog
        .expect("bench catalog")
}

fn start(chain: &str) -> StartRequest {
    StartRequest {
        chain: chain.into(),
        ..StartRequest::default()
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// `jobs` jobs of STEPS no-op steps, all at once; returns steps per second. On a sled folder of
/// its own, or on the PostgreSQL database at `pg`.
async fn noop_throughput(durability: Durability, jobs: usize, pg: Option<&str>) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let options = EngineOptions {
        catalog: Some(catalog("")),
        durability,
        ..EngineOptions::default()
    };
    let engine = match pg {
        Some(url) => Engine::open_db(url, options).await.unwrap(),
        None => Engine::open(dir.path(), options).await.unwrap(),
    };
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..jobs {
        let e = engine.clone();
        tasks.push(tokio::spawn(async move {
            let j = e.start(start("SEQ")).await.unwrap();
            e.wait(&j).await.unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let secs = t0.elapsed().as_secs_f64();
    engine.shutdown().await;
    (jobs * STEPS) as f64 / secs
}

/// Run one SQL statement on the server at `url`.
async fn pg_sql(url: &str, sql: &str) {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let driving = tokio::spawn(conn);
    client.batch_execute(sql).await.unwrap();
    drop(client);
    let _ = driving.await;
}

/// `noop_throughput` on a fresh database of the server at `admin` (dropped afterwards).
async fn noop_throughput_pg(durability: Durability, jobs: usize, admin: &str) -> f64 {
    let name = format!("chainsched_bench_{}", std::process::id());
    pg_sql(admin, &format!("DROP DATABASE IF EXISTS {name}")).await;
    pg_sql(admin, &format!("CREATE DATABASE {name}")).await;
    let (base, _) = admin.rsplit_once('/').unwrap();
    let steps = noop_throughput(durability, jobs, Some(&format!("{base}/{name}"))).await;
    pg_sql(admin, &format!("DROP DATABASE {name} WITH (FORCE)")).await;
    steps
}

/// The same work without the engine: per job, STEPS times { ask a writer task to commit a
/// batch of the size the engine writes (job record, step record, log row, timeline rows,
/// snapshot), wait for it, spawn the "step" task and wait for it }. The writer drains every
/// ready request, applies one batch per request and flushes once (group commit) in sync mode.
async fn baseline_throughput(sync: bool, jobs: usize) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::Config::new()
        .path(dir.path())
        .cache_capacity(64 * 1024 * 1024)
        .flush_every_ms(Some(if sync { 500 } else { 100 }))
        .open()
        .unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel::<(u64, oneshot::Sender<()>)>();
    let writer_db = db.clone();
    let writer = tokio::spawn(async move {
        let value = vec![b'x'; 400];
        let snapshot = vec![b'y'; 3000];
        while let Some(first) = rx.recv().await {
            let mut ready = vec![first];
            while let Ok(m) = rx.try_recv() {
                ready.push(m);
            }
            for (id, _) in &ready {
                let mut b = sled::Batch::default();
                for k in 0..5u64 {
                    b.insert(&(id * 8 + k).to_be_bytes(), value.clone());
                }
                b.insert(&(id * 8 + 7).to_be_bytes(), snapshot.clone());
                writer_db.apply_batch(b).unwrap();
            }
            if sync {
                let d = writer_db.clone();
                tokio::task::spawn_blocking(move || d.flush().unwrap())
                    .await
                    .unwrap();
            }
            for (_, reply) in ready {
                let _ = reply.send(());
            }
        }
    });
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for j in 0..jobs as u64 {
        let tx = tx.clone();
        tasks.push(tokio::spawn(async move {
            for s in 0..=STEPS as u64 {
                let (reply, rx) = oneshot::channel();
                tx.send(((j * 1000 + s) * 16, reply)).unwrap();
                rx.await.unwrap();
                if (s as usize) < STEPS {
                    tokio::spawn(async {}).await.unwrap();
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let secs = t0.elapsed().as_secs_f64();
    drop(tx);
    writer.await.unwrap();
    (jobs * STEPS) as f64 / secs
}

/// 1,000 jobs waiting for an event: start time, memory per job (heap bytes and RSS), time to
/// end them all.
async fn concurrent_jobs(n: usize) -> (f64, f64, f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let extra = "chain WAITS { step W event GO; step A program OK;
        rule R1 when TRUE then START W; rule R2 when W SUCCEEDED then START A;
        rule R3 when A SUCCEEDED then END; }";
    let engine = Engine::open(
        dir.path(),
        EngineOptions {
            catalog: Some(catalog(extra)),
            ..EngineOptions::default()
        },
    )
    .await
    .unwrap();
    // Warm up allocations and the store.
    let j = engine.start(start("SEQ")).await.unwrap();
    engine.wait(&j).await.unwrap();
    let rss0 = rss_kib();
    let heap0 = LIVE.load(Ordering::Relaxed);
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..n {
        let e = engine.clone();
        tasks.push(tokio::spawn(async move {
            e.start(start("WAITS")).await.unwrap()
        }));
    }
    let mut jobs = Vec::new();
    for t in tasks {
        jobs.push(t.await.unwrap());
    }
    let start_secs = t0.elapsed().as_secs_f64();
    let rss1 = rss_kib();
    let heap1 = LIVE.load(Ordering::Relaxed);
    let per_job_kib = (rss1.saturating_sub(rss0)) as f64 / n as f64;
    let heap_per_job_kib = heap1.saturating_sub(heap0) as f64 / 1024.0 / n as f64;
    let t1 = Instant::now();
    let ended = engine
        .raise_event("GO", serde_json::Value::Null, None)
        .await
        .unwrap();
    assert_eq!(ended, n);
    for j in &jobs {
        engine.wait(j).await.unwrap();
    }
    let end_secs = t1.elapsed().as_secs_f64();
    engine.shutdown().await;
    (start_secs, heap_per_job_kib, per_job_kib, end_secs)
}

/// Step end → dependent step start, measured inside handlers, one job at a time (no queueing).
async fn latency(durability: Durability, jobs: usize) -> (Duration, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let extra = "program H1 { handler 'first'; } program H2 { handler 'second'; }
        chain LAT { step A program H1; step B program H2;
          rule R1 when TRUE then START A; rule R2 when A SUCCEEDED then START B;
          rule R3 when B SUCCEEDED then END; }";
    let options = EngineOptions {
        catalog: Some(catalog(extra)),
        durability,
        ..EngineOptions::default()
    };
    let ended: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let samples: Arc<Mutex<Vec<Duration>>> = Arc::default();
    {
        let first_ended = ended.clone();
        options.handlers.register("first", move |ctx| {
            let ended = first_ended.clone();
            async move {
                ended
                    .lock()
                    .unwrap()
                    .insert(ctx.job().to_string(), Instant::now());
                Outcome::Succeeded
            }
        });
        let (ended, samples) = (ended.clone(), samples.clone());
        options.handlers.register("second", move |ctx| {
            let t = Instant::now();
            if let Some(a) = ended.lock().unwrap().remove(ctx.job()) {
                samples.lock().unwrap().push(t - a);
            }
            async { Outcome::Succeeded }
        });
    }
    let engine = Engine::open(dir.path(), options).await.unwrap();
    for _ in 0..jobs {
        let j = engine.start(start("LAT")).await.unwrap();
        engine.wait(&j).await.unwrap();
    }
    engine.shutdown().await;
    let mut s = samples.lock().unwrap().clone();
    s.sort();
    let p = |q: f64| s[((s.len() as f64 * q) as usize).min(s.len() - 1)];
    (p(0.50), p(0.99))
}

fn main() {
    let sz = sizes();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let relaxed = Durability::Relaxed {
            flush_every_ms: 100,
        };
        let jobs = sz.jobs;
        let sync_steps = noop_throughput(Durability::Sync, jobs, None).await;
        let sync_base = baseline_throughput(true, jobs).await;
        let relaxed_steps = noop_throughput(relaxed, jobs, None).await;
        let relaxed_base = baseline_throughput(false, jobs).await;
        println!("## no-op steps ({jobs} jobs x {STEPS} steps, concurrently, sled on disk)");
        println!("| mode | engine steps/s | raw tokio+sled baseline ops/s | engine / baseline |");
        println!("|---|---|---|---|");
        println!(
            "| sync | {sync_steps:.0} | {sync_base:.0} | {:.2} |",
            sync_steps / sync_base
        );
        println!(
            "| relaxed | {relaxed_steps:.0} | {relaxed_base:.0} | {:.2} |",
            relaxed_steps / relaxed_base
        );

        if let Ok(admin) = std::env::var("CHAINSCHED_BENCH_PG") {
            let sync_pg = noop_throughput_pg(Durability::Sync, jobs, &admin).await;
            let relaxed_pg = noop_throughput_pg(relaxed, jobs, &admin).await;
            println!(
                "\n## no-op steps ({jobs} jobs x {STEPS} steps, concurrently, PostgreSQL store)"
            );
            println!("| mode | engine steps/s |");
            println!("|---|---|");
            println!("| sync (synchronous_commit on) | {sync_pg:.0} |");
            println!("| relaxed (synchronous_commit off) | {relaxed_pg:.0} |");
        }

        let n = sz.concurrent;
        let (start_secs, heap_per_job, per_job, end_secs) = concurrent_jobs(n).await;
        println!("\n## {n} concurrent jobs (sync)");
        println!("| measure | value |");
        println!("|---|---|");
        println!("| start {n} jobs | {:.0} ms |", start_secs * 1000.0);
        println!("| memory per running job (live heap delta / {n}) | {heap_per_job:.1} KiB |");
        println!("| memory per running job (RSS delta / {n}) | {per_job:.1} KiB |");
        println!(
            "| raise the event, all {n} jobs end | {:.0} ms |",
            end_secs * 1000.0
        );

        let l = sz.latency_jobs;
        let (p50, p99) = latency(Durability::Sync, l).await;
        let (rp50, rp99) = latency(relaxed, l).await;
        println!("\n## step end -> dependent step start ({l} jobs, one at a time)");
        println!("| mode | p50 | p99 |");
        println!("|---|---|---|");
        println!("| sync | {p50:.2?} | {p99:.2?} |");
        println!("| relaxed | {rp50:.2?} | {rp99:.2?} |");
    });
}
