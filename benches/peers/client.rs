//! The measuring side of benches/peers.sh and benches/cluster.sh (built as the example
//! `peers_client`): an HTTP load client for `chainsched serve`, a reader of the store's step
//! runs (latencies, failover), and the machine's physical limits. Not part of chainsched.
//!
//! Why a Rust client rather than curl: a curl process per request costs a fork and exec on the
//! same two cores the server uses, so starts/s would measure curl. Here K threads, each with
//! its own keep-alive connections, POST the starts. With several `--url`s (engines sharing one
//! PostgreSQL database) start i goes to engine i mod n (round-robin).
//!
//! When every job has ended is seen in one of two ways (`--ended`):
//! * `stream` (the default with one URL): the server-sent event stream
//!   (`GET /api/v1/events/stream`, opened before the first start) shows every job's end within
//!   a millisecond without polling; if it reports `lagged` (events dropped), the client falls
//!   back to `/metrics`. An engine's stream shows only the jobs that engine runs, so this mode
//!   takes exactly one URL.
//! * `store` (the default with several URLs): `/metrics` of the first URL is read every
//!   `--poll-ms` (default 20) until the store's count of ended jobs reaches the started ones.
//!   Its `chainsched_jobs{state=…}` counts are read from the store at each request (all jobs,
//!   whichever engine owns them), so this works for any number of engines; the end is known
//!   within one poll period.
//! * `none`: start the jobs and exit (the caller watches them).
//!
//! ```text
//! peers_client load --url URL[,URL…] --chain C --jobs N --concurrency K [--timeout S]
//!                   [--prefix P] [--ended stream|store|none] [--poll-ms MS]
//!   -> jobs=N started=N start_errors=0 start_secs=.. starts_per_s=.. start_p50_ms=..
//!      start_p99_ms=.. ended_secs=.. succeeded=N finished=N lagged=0 engines=n ended_by=..
//! peers_client raise --url URL[,URL…] --event NAME --jobs N [--poll-ms MS] [--timeout S]
//!   -> completed_steps=.. burst_secs=.. succeeded=.. finished=..
//! peers_client runs --url URL [--prefix P] [--after MS] [--concurrency K]
//!   -> step_runs=.. jobs=.. gaps=.. gap_p50_ms=.. gap_p99_ms=.. gap_max_ms=..
//!      [resumed=.. of=.. resume_min_ms=.. resume_p50_ms=.. resume_max_ms=..]
//! peers_client spawn N          -> spawn_us=..   (posix_spawn + waitpid of /bin/true, mean)
//! peers_client flush N DIR      -> sled_flush_us=.. fdatasync_us=..   (means)
//! ```
//! `succeeded` and `finished` come from `/metrics` once every job has ended (the store's
//! count, so a fresh `--db` per run is assumed).
//!
//! `raise` is the burst measure: jobs started before (`load --ended none`) wait in an event
//! step; the event is raised at every engine at once (`POST /api/v1/events`, one thread per
//! engine: each engine completes its own waiting steps), and `burst_secs` is the time from the
//! first raise until the store counts N ended jobs (`/metrics`, every `--poll-ms`): the jobs'
//! remaining steps alone, without the cost of starting the jobs. `completed_steps` adds up the
//! engines' answers.
//!
//! `runs` reads every step run of the jobs whose names start with P (default: all jobs) from
//! the job log (`GET /api/v1/log`, paged) and each run's details (`GET /api/v1/log/{id}`):
//! the executor's actual start and run duration, in milliseconds. For each job, its runs in
//! order of actual start give the **step-end → dependent-step-start gaps**: the next run's
//! actual start minus the previous run's end (actual start + duration), i.e. the engine's
//! whole reaction (the end reaching the engine, the evaluation, the durable commit of the next
//! start, the launch). That is the dependent-start latency only for chains whose steps run
//! one after another (benches/cluster.sh uses such chains). With `--after MS` (a Unix time in
//! ms, e.g. when an engine was killed), it also gives, per job, the first actual start after
//! MS, minus MS: when that job ran again. Any engine's API can answer: the store is shared.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("peers_client: {msg}");
    std::process::exit(1)
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn num(args: &[String], name: &str, default: u64) -> u64 {
    match arg(args, name) {
        Some(v) => v
            .parse()
            .unwrap_or_else(|_| fail(format!("{name} {v}: not a number"))),
        None => default,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("load") => load(&args),
        Some("spawn") => spawn(&args),
        Some("flush") => flush(&args),
        Some("runs") => runs(&args),
        Some("raise") => raise(&args),
        _ => {
            // Built and run without arguments by `cargo test --all-targets`? Examples are
            // only built; say how to use it.
            eprintln!(
                "usage: peers_client load|raise|runs|spawn|flush ... (see benches/peers/client.rs)"
            );
            std::process::exit(2);
        }
    }
}

/// Jobs seen ended on the event stream, and whether the stream dropped events.
#[derive(Default)]
struct Seen {
    ended: HashSet<String>,
    lagged: bool,
    broken: Option<String>,
}

/// The `--url` list: one or more base URLs, comma-separated.
fn urls(args: &[String], command: &str) -> Vec<String> {
    let raw = arg(args, "--url").unwrap_or_else(|| fail(format!("{command} needs --url")));
    let list: Vec<String> = raw
        .split(',')
        .map(|u| u.trim().trim_end_matches('/').to_string())
        .filter(|u| !u.is_empty())
        .collect();
    if list.is_empty() {
        fail("--url: no URL given");
    }
    list
}

/// How `load` learns that every job has ended (see the module docs).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ended {
    Stream,
    Store,
    NoWait,
}

impl Ended {
    fn name(self) -> &'static str {
        match self {
            Ended::Stream => "stream",
            Ended::Store => "store",
            Ended::NoWait => "none",
        }
    }
}

fn load(args: &[String]) {
    let urls = urls(args, "load");
    let url = urls[0].clone();
    let chain = arg(args, "--chain").unwrap_or_else(|| fail("load needs --chain"));
    let jobs = num(args, "--jobs", 1000) as usize;
    let concurrency = num(args, "--concurrency", 16).max(1) as usize;
    let timeout = Duration::from_secs(num(args, "--timeout", 900));
    let prefix = arg(args, "--prefix").unwrap_or_else(|| "J".into());
    let poll = Duration::from_millis(num(args, "--poll-ms", 20).max(1));
    let ended_by = match arg(args, "--ended").as_deref() {
        None if urls.len() == 1 => Ended::Stream,
        None | Some("store") => Ended::Store,
        Some("stream") if urls.len() == 1 => Ended::Stream,
        Some("stream") => fail(
            "--ended stream takes one --url: an engine's event stream shows only its own jobs \
             (use --ended store)",
        ),
        Some("none") => Ended::NoWait,
        Some(other) => fail(format!("--ended {other}: one of stream, store, none")),
    };

    let seen = Arc::new((Mutex::new(Seen::default()), Condvar::new()));
    if ended_by == Ended::Stream {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
        {
            let seen = seen.clone();
            let url = format!("{url}/api/v1/events/stream");
            std::thread::spawn(move || watch_stream(&url, &seen, ready_tx));
        }
        match ready_rx.recv_timeout(Duration::from_secs(10)) {
            Ok(()) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                fail("the event stream did not become ready within 10 s")
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                let why = seen
                    .0
                    .lock()
                    .ok()
                    .and_then(|s| s.broken.clone())
                    .unwrap_or_else(|| "it ended".into());
                fail(format!("the event stream failed: {why}"))
            }
        }
    }

    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let first_error: Arc<Mutex<Option<String>>> = Arc::default();
    let latencies: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let t0 = Instant::now();
    let mut threads = Vec::new();
    for _ in 0..concurrency.min(jobs.max(1)) {
        let (next, errors, first_error, latencies) = (
            next.clone(),
            errors.clone(),
            first_error.clone(),
            latencies.clone(),
        );
        let (urls, chain, prefix) = (urls.clone(), chain.clone(), prefix.clone());
        threads.push(std::thread::spawn(move || {
            let agent = ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(120))
                .build();
            let mut mine = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= jobs {
                    break;
                }
                let body = serde_json::json!({"chain": chain, "job": format!("{prefix}{i}")});
                let url = &urls[i % urls.len()];
                let t = Instant::now();
                match agent.post(&format!("{url}/api/v1/jobs")).send_json(body) {
                    Ok(_) => mine.push(t.elapsed()),
                    Err(e) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut f) = first_error.lock() {
                            f.get_or_insert_with(|| e.to_string());
                        }
                    }
                }
            }
            if let Ok(mut l) = latencies.lock() {
                l.extend(mine);
            }
        }));
    }
    for t in threads {
        let _ = t.join();
    }
    let start_secs = t0.elapsed().as_secs_f64();
    let start_errors = errors.load(Ordering::Relaxed);
    if let Ok(Some(e)) = first_error.lock().map(|f| f.clone()) {
        eprintln!("peers_client: {start_errors} start(s) failed; the first: {e}");
    }
    let started = jobs - start_errors;

    // Wait for every started job to end: on the stream, or (after a lag, or with several
    // engines) by the store's counts.
    let deadline = t0 + timeout;
    let (lock, cvar) = &*seen;
    let mut ended_secs = None;
    let mut poll_store = ended_by == Ended::Store;
    if ended_by == Ended::Stream {
        let mut s = lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if s.ended.len() >= started {
                ended_secs = Some(t0.elapsed().as_secs_f64());
                break;
            }
            if s.lagged || s.broken.is_some() {
                poll_store = true;
                break;
            }
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            s = cvar
                .wait_timeout(s, (deadline - now).min(Duration::from_millis(200)))
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build();
    if poll_store {
        let every = if ended_by == Ended::Store {
            poll
        } else {
            Duration::from_millis(100)
        };
        while Instant::now() < deadline {
            if let Some((finished, _)) = store_counts(&agent, &url) {
                if finished >= started {
                    ended_secs = Some(t0.elapsed().as_secs_f64());
                    break;
                }
            }
            std::thread::sleep(every);
        }
    }
    let (finished, succeeded) = store_counts(&agent, &url).unwrap_or((0, 0));
    let mut lat = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    lat.sort();
    let pct = |q: f64| {
        lat.get(((lat.len() as f64 * q) as usize).min(lat.len().saturating_sub(1)))
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(0.0)
    };
    let lagged = lock.lock().map(|s| s.lagged).unwrap_or(false);
    let ended = match (ended_by, ended_secs) {
        (Ended::NoWait, _) => "not_waited".to_string(),
        (_, Some(s)) => format!("{s:.3}"),
        (_, None) => "timeout".to_string(),
    };
    println!(
        "jobs={jobs} started={started} start_errors={start_errors} start_secs={start_secs:.3} \
         starts_per_s={:.1} start_p50_ms={:.2} start_p99_ms={:.2} ended_secs={ended} \
         succeeded={succeeded} finished={finished} lagged={} engines={} ended_by={}",
        started as f64 / start_secs,
        pct(0.5),
        pct(0.99),
        u8::from(lagged),
        urls.len(),
        if poll_store && ended_by == Ended::Stream {
            "stream+store"
        } else {
            ended_by.name()
        },
    );
    if ended_secs.is_none() && ended_by != Ended::NoWait {
        std::process::exit(1);
    }
}

/// Follow the event stream; record every job that reaches an end state.
fn watch_stream(url: &str, seen: &(Mutex<Seen>, Condvar), ready: std::sync::mpsc::Sender<()>) {
    let (lock, cvar) = seen;
    let broken = |why: String| {
        if let Ok(mut s) = lock.lock() {
            s.broken = Some(why);
        }
        cvar.notify_all();
    };
    let reader = match ureq::get(url).call() {
        Ok(r) => BufReader::new(r.into_reader()),
        Err(e) => return broken(format!("event stream: {e}")),
    };
    let mut event = String::new();
    for line in reader.lines() {
        let Ok(line) = line else {
            return broken("event stream ended".into());
        };
        if let Some(name) = line.strip_prefix("event:") {
            event = name.trim().to_string();
        } else if let Some(data) = line.strip_prefix("data:") {
            match event.as_str() {
                "ready" => {
                    let _ = ready.send(());
                }
                "lagged" => {
                    if let Ok(mut s) = lock.lock() {
                        s.lagged = true;
                    }
                    cvar.notify_all();
                }
                "job" => {
                    let Ok(row) = serde_json::from_str::<serde_json::Value>(data.trim()) else {
                        continue;
                    };
                    let state = row["state"].as_str().unwrap_or("");
                    if matches!(state, "SUCCEEDED" | "FAILED" | "STOPPED") {
                        if let (Some(job), Ok(mut s)) = (row["job_name"].as_str(), lock.lock()) {
                            s.ended.insert(job.to_string());
                        }
                        cvar.notify_all();
                    }
                }
                _ => {}
            }
        } else if line.is_empty() {
            event.clear();
        }
    }
    broken("event stream ended".into());
}

/// (finished jobs, SUCCEEDED jobs) in the store, from `/metrics`.
fn store_counts(agent: &ureq::Agent, url: &str) -> Option<(usize, usize)> {
    let text = agent
        .get(&format!("{url}/metrics"))
        .call()
        .ok()?
        .into_string()
        .ok()?;
    let count = |state: &str| -> usize {
        let key = format!("chainsched_jobs{{state=\"{state}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&key))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    let succeeded = count("SUCCEEDED");
    Some((succeeded + count("FAILED") + count("STOPPED"), succeeded))
}

/// Raise an event at every engine at once; time until the store counts N ended jobs.
fn raise(args: &[String]) {
    let urls = urls(args, "raise");
    let event = arg(args, "--event").unwrap_or_else(|| fail("raise needs --event"));
    let jobs = num(args, "--jobs", 1) as usize;
    let poll = Duration::from_millis(num(args, "--poll-ms", 20).max(1));
    let timeout = Duration::from_secs(num(args, "--timeout", 900));
    let t0 = Instant::now();
    let raisers: Vec<_> = urls
        .iter()
        .map(|url| {
            let (url, event) = (url.clone(), event.clone());
            std::thread::spawn(move || -> Result<u64, String> {
                let answer: serde_json::Value = ureq::post(&format!("{url}/api/v1/events"))
                    .send_json(serde_json::json!({ "name": event }))
                    .map_err(|e| format!("POST {url}/api/v1/events: {e}"))?
                    .into_json()
                    .map_err(|e| format!("POST {url}/api/v1/events: {e}"))?;
                Ok(answer["completed_steps"].as_u64().unwrap_or(0))
            })
        })
        .collect();
    let mut completed = 0;
    for r in raisers {
        match r.join() {
            Ok(Ok(n)) => completed += n,
            Ok(Err(e)) => fail(e),
            Err(_) => fail("a raising thread panicked"),
        }
    }
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build();
    let mut burst = None;
    while t0.elapsed() < timeout {
        if let Some((finished, _)) = store_counts(&agent, &urls[0]) {
            if finished >= jobs {
                burst = Some(t0.elapsed().as_secs_f64());
                break;
            }
        }
        std::thread::sleep(poll);
    }
    let (finished, succeeded) = store_counts(&agent, &urls[0]).unwrap_or((0, 0));
    println!(
        "completed_steps={completed} burst_secs={} succeeded={succeeded} finished={finished}",
        burst.map_or("timeout".to_string(), |s| format!("{s:.3}")),
    );
    if burst.is_none() {
        std::process::exit(1);
    }
}

/// One step run, from the job log and its run details (milliseconds since the Unix epoch).
struct StepRun {
    job: String,
    subname: String,
    start: i64,
    end: i64,
}

/// Step-end → dependent-step-start gaps, and (with `--after`) when each job ran again.
fn runs(args: &[String]) {
    let url = urls(args, "runs")[0].clone();
    let prefix = arg(args, "--prefix").unwrap_or_default();
    let after = arg(args, "--after").map(|v| {
        v.parse::<i64>()
            .unwrap_or_else(|_| fail(format!("--after {v}: not a Unix time in ms")))
    });
    let concurrency = num(args, "--concurrency", 8).max(1) as usize;
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build();
    let get = |agent: &ureq::Agent, path: &str| -> serde_json::Value {
        agent
            .get(&format!("{url}{path}"))
            .call()
            .map_err(|e| e.to_string())
            .and_then(|r| r.into_json().map_err(|e| e.to_string()))
            .unwrap_or_else(|e| fail(format!("GET {path}: {e}")))
    };

    // Every step row of the job log, paged forward by log id.
    let mut ids: Vec<u64> = Vec::new();
    let mut since = 0u64;
    loop {
        let page = get(&agent, &format!("/api/v1/log?since_id={since}&limit=5000"));
        let rows = page
            .as_array()
            .unwrap_or_else(|| fail("GET /api/v1/log: not a JSON array"));
        let Some(last) = rows.last().and_then(|r| r["log_id"].as_u64()) else {
            break;
        };
        for r in rows {
            let job = r["job_name"].as_str().unwrap_or("");
            if job.starts_with(&prefix) && !r["job_subname"].is_null() {
                if let Some(id) = r["log_id"].as_u64() {
                    ids.push(id);
                }
            }
        }
        if last <= since {
            break;
        }
        since = last;
    }

    // Their details, K requests at a time.
    let ids = Arc::new(ids);
    let next = Arc::new(AtomicUsize::new(0));
    let found: Arc<Mutex<Vec<StepRun>>> = Arc::default();
    let mut threads = Vec::new();
    for _ in 0..concurrency {
        let (ids, next, found, url) = (ids.clone(), next.clone(), found.clone(), url.clone());
        threads.push(std::thread::spawn(move || {
            let agent = ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(60))
                .build();
            let mut mine = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(id) = ids.get(i) else { break };
                let path = format!("/api/v1/log/{id}");
                let d: serde_json::Value = agent
                    .get(&format!("{url}{path}"))
                    .call()
                    .map_err(|e| e.to_string())
                    .and_then(|r| r.into_json().map_err(|e| e.to_string()))
                    .unwrap_or_else(|e| fail(format!("GET {path}: {e}")));
                let start = d["actual_start_date"].as_str().and_then(epoch_ms);
                let (Some(start), Some(job)) = (start, d["job_name"].as_str()) else {
                    continue;
                };
                let duration = d["run_duration"].as_f64().unwrap_or(0.0);
                mine.push(StepRun {
                    job: job.to_string(),
                    subname: d["job_subname"].as_str().unwrap_or("").to_string(),
                    start,
                    end: start + (duration * 1000.0).round() as i64,
                });
            }
            if let Ok(mut f) = found.lock() {
                f.extend(mine);
            }
        }));
    }
    for t in threads {
        let _ = t.join();
    }
    let mut all = found
        .lock()
        .map(|mut f| std::mem::take(&mut *f))
        .unwrap_or_default();
    // A run can have more than one log row (e.g. a recovery row): one run per (job, step,
    // start). Runs of one job in order of start (then end: a step of no duration that
    // started in the same millisecond as the next one comes first).
    let mut once = HashSet::new();
    all.retain(|r| once.insert((r.job.clone(), r.subname.clone(), r.start)));
    all.sort_by(|a, b| (&a.job, a.start, a.end).cmp(&(&b.job, b.start, b.end)));

    let mut gaps = Vec::new();
    let mut resumed = Vec::new();
    let mut jobs = 0usize;
    for group in all.chunk_by(|a, b| a.job == b.job) {
        jobs += 1;
        gaps.extend(group.windows(2).map(|w| w[1].start - w[0].end));
        if let Some(t) = after {
            if let Some(r) = group.iter().find(|r| r.start > t) {
                resumed.push(r.start - t);
            }
        }
    }
    gaps.sort_unstable();
    resumed.sort_unstable();
    let pct = |v: &[i64], q: f64| -> String {
        if v.is_empty() {
            return "none".into();
        }
        v[((v.len() as f64 * q) as usize).min(v.len() - 1)].to_string()
    };
    print!(
        "step_runs={} jobs={jobs} gaps={} gap_p50_ms={} gap_p99_ms={} gap_max_ms={}",
        all.len(),
        gaps.len(),
        pct(&gaps, 0.5),
        pct(&gaps, 0.99),
        pct(&gaps, 1.0),
    );
    if after.is_some() {
        print!(
            " resumed={} of={jobs} resume_min_ms={} resume_p50_ms={} resume_max_ms={}",
            resumed.len(),
            pct(&resumed, 0.0),
            pct(&resumed, 0.5),
            pct(&resumed, 1.0),
        );
    }
    println!();
}

/// Milliseconds since the Unix epoch of an RFC 3339 UTC time as the views write it
/// (`2024-05-01T12:34:56.789Z`); `None` for anything else.
fn epoch_ms(text: &str) -> Option<i64> {
    let t = text.strip_suffix('Z')?;
    let (date, time) = t.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|x| x.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut h = hms.splitn(3, ':').map(|x| x.parse::<i64>().ok());
    let (hh, mm, ss) = (h.next()??, h.next()??, h.next()??);
    let millis: i64 = format!("{frac:0<3}").get(..3)?.parse().ok()?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + hh * 3600 + mm * 60 + ss) * 1000) + millis)
}

/// Mean cost of posix_spawn + waitpid of /bin/true.
fn spawn(args: &[String]) {
    let n = args
        .get(1)
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(1000)
        .max(1);
    let path = c"/bin/true";
    let argv = [path.as_ptr() as *mut libc::c_char, std::ptr::null_mut()];
    let envp = [std::ptr::null_mut::<libc::c_char>()];
    let t0 = Instant::now();
    for _ in 0..n {
        let mut pid: libc::pid_t = 0;
        // SAFETY: argv and envp are NULL-terminated arrays of valid C strings that outlive the
        // call; null file actions and attributes are allowed.
        let rc = unsafe {
            libc::posix_spawn(
                &mut pid,
                path.as_ptr(),
                std::ptr::null(),
                std::ptr::null(),
                argv.as_ptr(),
                envp.as_ptr(),
            )
        };
        if rc != 0 {
            fail(format!(
                "posix_spawn /bin/true: {}",
                std::io::Error::from_raw_os_error(rc)
            ));
        }
        let mut status = 0;
        // SAFETY: pid is our child, status a valid out-pointer.
        if unsafe { libc::waitpid(pid, &mut status, 0) } != pid {
            fail(format!("waitpid: {}", std::io::Error::last_os_error()));
        }
    }
    println!(
        "spawn_us={:.1}",
        t0.elapsed().as_secs_f64() * 1e6 / f64::from(n)
    );
}

/// Mean cost of one sled flush after a small insert, and of one fdatasync after a small write.
fn flush(args: &[String]) {
    let n = args
        .get(1)
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(200)
        .max(1);
    let dir = std::path::PathBuf::from(args.get(2).cloned().unwrap_or_else(|| ".".into()));
    let db = sled::Config::new()
        .path(dir.join("sled"))
        .flush_every_ms(None)
        .open()
        .unwrap_or_else(|e| fail(format!("sled at {}: {e}", dir.display())));
    let value = [b'x'; 100];
    let t0 = Instant::now();
    for i in 0..n {
        if let Err(e) = db.insert(i.to_be_bytes(), &value[..]) {
            fail(format!("sled insert: {e}"));
        }
        if let Err(e) = db.flush() {
            fail(format!("sled flush: {e}"));
        }
    }
    let sled_us = t0.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    let path = dir.join("fsync-probe");
    let mut f =
        std::fs::File::create(&path).unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
    let t0 = Instant::now();
    for _ in 0..n {
        if let Err(e) = f.write_all(&value).and_then(|()| f.sync_data()) {
            fail(format!("write + fdatasync: {e}"));
        }
    }
    let sync_us = t0.elapsed().as_secs_f64() * 1e6 / f64::from(n);
    println!("sled_flush_us={sled_us:.1} fdatasync_us={sync_us:.1}");
}
