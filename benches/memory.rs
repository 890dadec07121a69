//! Memory held by the core for a waiting job (`cargo bench --bench memory`): the live heap bytes
//! `chainsched::core::Core` keeps per job, as a function of the chain's size. Results go to
//! docs/benchmarks.md, "Core memory".
//!
//! Why through the core alone: the runtime's figure (benches/runtime.rs) mixes the core's state
//! with sled's page cache and tokio's buffers; the core is what every driver keeps in memory
//! for every unfinished job, so its size decides how many jobs one engine can hold.
//!
//! How: a counting global allocator tracks live heap bytes. For each chain size n (10, 100,
//! 1,000, 10,000 steps: an event step `W` waiting for its event, then n-1 `builtin noop` steps
//! in sequence, n+1 rules), the bench starts enough jobs to hold ~200,000 steps in all, drops
//! the effects, and divides the heap growth by the number of jobs. The first job of a chain is
//! started before measuring: it compiles the chain's definition (`Def`), which is shared by
//! every later job (an `Arc`) and is reported apart. The part per step is the slope between
//! the two largest sizes, the fixed part per job what the smallest job holds beyond its steps.
//!
//! Variants isolate what a step costs: the same chains with 24-character step names instead of
//! 2–6 (how many copies of each step name a job holds), and with two rules per step instead of
//! one (what a rule costs per job). Without `--bench` (as under `cargo test --all-targets`) it
//! is a quick smoke run with small sizes.

use chainsched::catalog::{load_sources, Catalog};
use chainsched::core::{Core, Input, JobState, StartRequest};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

/// Live heap bytes (requested sizes; the allocator's own rounding is not counted).
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

/// How the measured chain is written.
#[derive(Clone, Copy)]
struct Shape {
    /// Step names padded to 24 characters (`S0000…0001`) instead of `S1`.
    long_names: bool,
    /// A second rule per step (`when Si FAILED then END 1`) besides the sequence rule.
    two_rules: bool,
}

fn step_name(i: usize, shape: Shape) -> String {
    if shape.long_names {
        format!("S{i:023}")
    } else {
        format!("S{i}")
    }
}

/// `W` (event step, waits for GO) → S1 → … → S(n-1) → END.
fn chain_text(n: usize, shape: Shape) -> String {
    let mut t = String::from("program OK { builtin noop; }\nchain C {\n  step W event GO;\n");
    for i in 1..n {
        t.push_str(&format!("  step {} program OK;\n", step_name(i, shape)));
    }
    t.push_str("  rule R0 when TRUE then START W;\n");
    let mut prev = "W".to_string();
    for i in 1..n {
        let s = step_name(i, shape);
        t.push_str(&format!(
            "  rule R{i} when {prev} SUCCEEDED then START {s};\n"
        ));
        if shape.two_rules {
            t.push_str(&format!("  rule F{i} when {prev} FAILED then END 1;\n"));
        }
        prev = s;
    }
    t.push_str(&format!(
        "  rule DONE when {prev} SUCCEEDED then END;\n}}\n"
    ));
    t
}

fn catalog(n: usize, shape: Shape) -> Catalog {
    let loaded = load_sources(&[("memory.chain".into(), chain_text(n, shape))]);
    match loaded.catalog {
        Some(c) if loaded.error_count() == 0 => c,
        _ => {
            eprintln!("the bench's chain of {n} steps does not load");
            std::process::exit(1);
        }
    }
}

fn start(core: &mut Core, job: String) {
    let req = StartRequest {
        job: Some(job.clone()),
        chain: "C".into(),
        ..StartRequest::default()
    };
    match core.handle(0, Input::StartJob(req)) {
        // The runtime takes the journal's changes after every turn; the core then keeps the
        // job's record as last written (`journaled_header`), which belongs to its cost.
        Ok(effects) => {
            drop(effects);
            drop(core.take_changes());
        }
        Err(e) => {
            eprintln!("job {job} was refused: {e}");
            std::process::exit(1);
        }
    }
}

struct Measure {
    steps: usize,
    jobs: usize,
    per_job: f64,
    /// Heap the first job added beyond a later job's share: the compiled definition.
    def_bytes: isize,
}

fn measure(n: usize, total_steps: usize, shape: Shape) -> Measure {
    let jobs = (total_steps / n).max(2);
    let cat = catalog(n, shape);
    let mut core = Core::new(cat);
    let with_core = live();
    start(&mut core, "FIRST".into());
    let first = live() - with_core;
    // Job names are made before measuring so that only the core's copies count.
    let names: Vec<String> = (0..jobs).map(|j| format!("JOB_{j:08}")).collect();
    let h0 = live();
    for name in &names {
        start(&mut core, name.clone());
    }
    let h1 = live();
    for name in names.iter().take(3) {
        let state = core.job_record(name).map(|r| r.state);
        if state != Some(JobState::Running) {
            eprintln!("job {name} is {state:?}, expected RUNNING (waiting for its event)");
            std::process::exit(1);
        }
    }
    let per_job = (h1 - h0) as f64 / jobs as f64;
    drop(core);
    Measure {
        steps: n,
        jobs,
        per_job,
        def_bytes: first - per_job as isize,
    }
}

/// `bytes = fixed + per_step * steps`: the part per step is the slope between the two largest
/// sizes (where the fixed part is negligible), the fixed part what the smallest size holds
/// beyond its steps. (A least-squares line would let the ±1 % noise of the 10,000-step figure
/// swamp the fixed part.)
fn fit(points: &[Measure]) -> (f64, f64) {
    let (Some(small), Some(big)) = (points.first(), points.last()) else {
        return (0.0, 0.0);
    };
    let prev = &points[points.len().saturating_sub(2)];
    let per_step = if big.steps > prev.steps {
        (big.per_job - prev.per_job) / (big.steps - prev.steps) as f64
    } else {
        big.per_job / big.steps as f64
    };
    (small.per_job - per_step * small.steps as f64, per_step)
}

fn run(label: &str, sizes: &[usize], total: usize, shape: Shape) -> (f64, f64) {
    println!("\n## {label}");
    println!("| steps | jobs measured | bytes per job | bytes per step (whole job / steps) | bytes per added step (from the previous size) | compiled definition (shared, once per chain) |");
    println!("|---|---|---|---|---|---|");
    let points: Vec<Measure> = sizes.iter().map(|&n| measure(n, total, shape)).collect();
    for (i, p) in points.iter().enumerate() {
        let marginal = match i.checked_sub(1).and_then(|j| points.get(j)) {
            Some(q) => format!(
                "{:.0}",
                (p.per_job - q.per_job) / (p.steps - q.steps) as f64
            ),
            None => "—".into(),
        };
        println!(
            "| {} | {} | {:.0} | {:.0} | {marginal} | {} |",
            p.steps,
            p.jobs,
            p.per_job,
            p.per_job / p.steps as f64,
            p.def_bytes
        );
    }
    let (fixed, per_step) = fit(&points);
    println!(
        "fit: {fixed:.0} B per job + {per_step:.1} B per step (target: <= 8192 B per job + <= 256 B per step: {} / {})",
        if fixed <= 8192.0 { "met" } else { "NOT met" },
        if per_step <= 256.0 { "met" } else { "NOT met" },
    );
    (fixed, per_step)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (sizes, total): (&[usize], usize) = if full {
        (&[10, 100, 1000, 10_000], 200_000)
    } else {
        (&[10, 100, 1000], 5_000)
    };
    let plain = Shape {
        long_names: false,
        two_rules: false,
    };
    let (_, base_step) = run(
        "waiting job: event step W, then n-1 steps not started, n+1 rules",
        sizes,
        total,
        plain,
    );
    let (_, long_step) = run(
        "the same with 24-character step names",
        sizes,
        total,
        Shape {
            long_names: true,
            two_rules: false,
        },
    );
    let (_, rules_step) = run(
        "the same with two rules per step (2n+1 rules)",
        sizes,
        total,
        Shape {
            long_names: false,
            two_rules: true,
        },
    );
    // A 24-character name is ~19-21 bytes longer than `S1`..`S9999` (average over the sizes).
    let extra_name_bytes = 24.0 - 4.5;
    println!("\n## what a step costs");
    println!("| part | bytes per step |");
    println!("|---|---|");
    println!("| all (plain chain) | {base_step:.1} |");
    println!(
        "| copies of the step name held per job: (long - plain) / {extra_name_bytes} | {:.1} copies |",
        (long_step - base_step) / extra_name_bytes
    );
    println!(
        "| one more rule per step (two rules - plain) | {:.1} |",
        rules_step - base_step
    );
}
