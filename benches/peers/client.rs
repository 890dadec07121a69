//! The measuring side of benches/peers.sh (built as the example `peers_client`): an HTTP load
//! client for `chainsched serve`, and the machine's physical limits. Not part of chainsched.
//!
//! Why a Rust client rather than curl: a curl process per request costs a fork and exec on the
//! same two cores the server uses, so starts/s would measure curl. Here K threads, each with
//! its own keep-alive connection, POST the starts; the end of every job is seen on the
//! server-sent event stream (`GET /api/v1/events/stream`, opened before the first start), so
//! "all ended" is known within a millisecond without polling the store. If the stream reports
//! `lagged` (events dropped), the client falls back to reading `/metrics` every 100 ms.
//!
//! ```text
//! peers_client load --url http://127.0.0.1:PORT --chain C --jobs N --concurrency K [--timeout S]
//!   -> jobs=N started=N start_errors=0 start_secs=.. starts_per_s=.. start_p50_ms=..
//!      start_p99_ms=.. ended_secs=.. succeeded=N finished=N lagged=0
//! peers_client spawn N          -> spawn_us=..   (posix_spawn + waitpid of /bin/true, mean)
//! peers_client flush N DIR      -> sled_flush_us=.. fdatasync_us=..   (means)
//! ```
//! `succeeded` and `finished` come from `/metrics` once every job has ended (the store's
//! count, so a fresh `--db` per run is assumed).

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
        _ => {
            // Built and run without arguments by `cargo test --all-targets`? Examples are
            // only built; say how to use it.
            eprintln!("usage: peers_client load|spawn|flush ... (see benches/peers/client.rs)");
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

fn load(args: &[String]) {
    let url = arg(args, "--url").unwrap_or_else(|| fail("load needs --url"));
    let chain = arg(args, "--chain").unwrap_or_else(|| fail("load needs --chain"));
    let jobs = num(args, "--jobs", 1000) as usize;
    let concurrency = num(args, "--concurrency", 16).max(1) as usize;
    let timeout = Duration::from_secs(num(args, "--timeout", 900));
    let prefix = arg(args, "--prefix").unwrap_or_else(|| "J".into());

    let seen = Arc::new((Mutex::new(Seen::default()), Condvar::new()));
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
        let (url, chain, prefix) = (url.clone(), chain.clone(), prefix.clone());
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

    // Wait for every started job to end: on the stream, or (after a lag) by the store's counts.
    let deadline = t0 + timeout;
    let (lock, cvar) = &*seen;
    let mut ended_secs = None;
    let mut fallback = false;
    {
        let mut s = lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if s.ended.len() >= started {
                ended_secs = Some(t0.elapsed().as_secs_f64());
                break;
            }
            if s.lagged || s.broken.is_some() {
                fallback = true;
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
    if fallback {
        while Instant::now() < deadline {
            if let Some((finished, _)) = store_counts(&agent, &url) {
                if finished >= started {
                    ended_secs = Some(t0.elapsed().as_secs_f64());
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
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
    println!(
        "jobs={jobs} started={started} start_errors={start_errors} start_secs={start_secs:.3} \
         starts_per_s={:.1} start_p50_ms={:.2} start_p99_ms={:.2} ended_secs={} \
         succeeded={succeeded} finished={finished} lagged={}",
        started as f64 / start_secs,
        pct(0.5),
        pct(0.99),
        ended_secs.map_or("timeout".to_string(), |s| format!("{s:.3}")),
        u8::from(lagged),
    );
    if ended_secs.is_none() {
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
