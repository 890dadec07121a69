//! Catalog benchmark: a generated catalog of 100 chains x 100 steps (10,000 steps, about
//! 20,000 rules, 1-2 MB of rule text), timed phase by phase: parse, resolve, lint.
//!
//! Run: `cargo bench --bench catalog` (release build). Prints the median of several rounds;
//! results are recorded in docs/benchmarks.md ("Catalog").

use chainsched::catalog::lints::lint_chain;
use chainsched::catalog::resolve::resolve;
use chainsched::lang::parser::parse_file;
use chainsched::lang::SourceMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

const CHAINS: usize = 100;
const STEPS: usize = 100;
const ROUNDS: usize = 7;

/// One file per chain: its programs, 100 steps and about 200 rules mixing sequences, joins,
/// error-code branches and END rules, in both condition syntaxes.
fn generate() -> Vec<(String, String)> {
    (0..CHAINS)
        .map(|c| {
            let mut t = String::new();
            let _ = writeln!(t, "-- generated chain {c}");
            let _ = writeln!(t, "program LOAD_{c} {{ executable '/opt/etl/bin/load'; arguments '--part' '{c}'; timeout 1h; }}");
            let _ = writeln!(t, "program NOOP_{c} {{ builtin noop; }}");
            let _ = writeln!(t, "chain CHAIN_{c} {{");
            let _ = writeln!(t, "    comment 'generated chain number {c}';");
            for s in 0..STEPS {
                let program = if s % 3 == 0 { format!("NOOP_{c}") } else { format!("LOAD_{c}") };
                let attrs = if s % 10 == 0 { " with restart_on_failure(retries 2, delay 5s)" } else { "" };
                let _ = writeln!(t, "    step S{s} program {program}{attrs};");
            }
            let _ = writeln!(t, "    rule START_IT when TRUE then START S0;");
            for s in 1..STEPS {
                let p = s - 1;
                match s % 4 {
                    0 if s >= 2 => {
                        let _ = writeln!(t, "    rule NEXT_{s} when S{p} SUCCEEDED AND S{} COMPLETED then START S{s};", s - 2);
                    }
                    1 => {
                        let _ = writeln!(t, "    rule NEXT_{s} when :S{p}.state = 'SUCCEEDED' then START S{s};");
                    }
                    _ => {
                        let _ = writeln!(t, "    rule NEXT_{s} when S{p} SUCCEEDED then START S{s};");
                    }
                }
            }
            for s in 0..STEPS {
                if s % 5 == 0 {
                    let _ = writeln!(
                        t,
                        "    rule FAIL_{s} when S{s} FAILED AND S{s} ERROR_CODE NOT IN (20100, 20101) then END S{s}.ERROR_CODE;"
                    );
                } else {
                    let _ = writeln!(t, "    rule FAIL_{s} when S{s} FAILED AND S{s} ERROR_CODE != 20100 then END S{s}.ERROR_CODE;");
                }
            }
            let _ = writeln!(t, "    rule DONE when S{} COMPLETED then END S{}.ERROR_CODE;", STEPS - 1, STEPS - 1);
            let _ = writeln!(t, "}}");
            (format!("gen/chain_{c}.chain"), t)
        })
        .collect()
}

/// Worst case for the lints: one chain whose rules have the parser's maximum of 1000
/// predicates, every one a pitfall (`NOT SUCCEEDED`, unguarded `ERROR_CODE !=`).
fn worst_case() -> (String, String) {
    let n = 1000;
    let mut t = String::from("program P { shell 'true'; }\nchain WORST {\n");
    for i in 0..n {
        let _ = writeln!(t, "    step S{i} program P;");
    }
    let all: Vec<String> = (0..n).map(|i| format!("S{i}")).collect();
    let _ = writeln!(t, "    rule when TRUE then START {};", all.join(", "));
    let and: Vec<String> = (0..n).map(|i| format!("S{i} NOT SUCCEEDED")).collect();
    let _ = writeln!(t, "    rule R1 when {} then END;", and.join(" AND "));
    let or: Vec<String> = (0..n / 2)
        .map(|i| format!("(S{i} ERROR_CODE != {} AND S{} FAILED)", i + 1, (i + 1) % n))
        .collect();
    let _ = writeln!(t, "    rule R2 when {} then END 2;\n}}", or.join(" OR "));
    ("gen/worst.chain".to_string(), t)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let sources = generate();
    let bytes: usize = sources.iter().map(|(_, t)| t.len()).sum();
    let mut parse_t = Vec::new();
    let mut resolve_t = Vec::new();
    let mut lint_t = Vec::new();
    let mut total_t = Vec::new();
    let mut counts = (0, 0, 0, 0);
    for _ in 0..ROUNDS {
        let mut map = SourceMap::default();
        let t0 = Instant::now();
        let mut files = Vec::with_capacity(sources.len());
        for (path, text) in &sources {
            let id = map.add(path.clone(), text.clone());
            match parse_file(id, text) {
                Ok(f) => files.push(f),
                Err(d) => panic!("generated file does not parse: {:?}", d.first()),
            }
        }
        let t1 = Instant::now();
        let resolution = resolve(&files, &map, true);
        assert!(
            resolution.diagnostics.is_empty(),
            "{:?}",
            resolution.diagnostics.first()
        );
        let t2 = Instant::now();
        let mut warnings = 0;
        for (name, chain) in &resolution.catalog.chains {
            warnings += lint_chain(chain, &resolution.spans[name], &resolution.catalog, &map).len();
        }
        let t3 = Instant::now();
        parse_t.push(t1 - t0);
        resolve_t.push(t2 - t1);
        lint_t.push(t3 - t2);
        total_t.push(t3 - t0);
        let steps = resolution
            .catalog
            .chains
            .values()
            .map(|c| c.steps.len())
            .sum();
        let rules = resolution
            .catalog
            .chains
            .values()
            .map(|c| c.rules.len())
            .sum();
        counts = (resolution.catalog.chains.len(), steps, rules, warnings);
    }
    let mb = bytes as f64 / 1_000_000.0;
    let (chains, steps, rules, warnings) = counts;
    println!("catalog: {chains} chains, {steps} steps, {rules} rules, {mb:.2} MB of rule text, {warnings} warnings");
    println!("median of {ROUNDS} rounds:");
    for (name, t) in [
        ("parse", median(parse_t)),
        ("resolve", median(resolve_t)),
        ("lint", median(lint_t)),
        ("total", median(total_t)),
    ] {
        let s = t.as_secs_f64();
        println!("  {name:<8} {:>8.1} ms   {:>7.1} MB/s", s * 1000.0, mb / s);
    }

    let (path, text) = worst_case();
    let mut map = SourceMap::default();
    let id = map.add(path, text.clone());
    let file = match parse_file(id, &text) {
        Ok(f) => f,
        Err(d) => panic!("worst case does not parse: {:?}", d.first()),
    };
    let resolution = resolve(&[file], &map, true);
    let mut times = Vec::new();
    let mut warnings = 0;
    for _ in 0..ROUNDS {
        let t0 = Instant::now();
        warnings = 0;
        for (name, chain) in &resolution.catalog.chains {
            warnings += lint_chain(chain, &resolution.spans[name], &resolution.catalog, &map).len();
        }
        times.push(t0.elapsed());
    }
    println!(
        "worst case (2 rules of 1000 and 1000 predicates, {warnings} warnings): lint {:.1} ms",
        median(times).as_secs_f64() * 1000.0
    );
}
