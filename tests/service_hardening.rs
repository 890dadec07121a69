//! Issue 12, the service points: `serve --read-only` changes nothing (point 8), connection
//! limits and descriptors kept for steps (point 2), events that are refused, explained or kept
//! (point 11), and `run` taking control commands while it runs (point 12). Each drives the
//! binary as an operator would.

mod server_support;

use server_support::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Point 8: a store whose engine died while a `restart_on_recovery` step ran. `serve
/// --read-only` on it shows the job as it was left: the step is not run again, not stopped, and
/// the store is not changed; the next writing engine recovers it as usual.
#[test]
fn read_only_serve_recovers_and_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mark = dir.path().join("marks");
    let rules = write_rules(
        dir.path(),
        &format!(
            "program HOLD {{ shell 'echo start >> {}; sleep 30'; }}\n\
             chain RR {{ step A program HOLD with restart_on_recovery;\n\
             rule when TRUE then START A; rule when A COMPLETED then END; }}\n",
            mark.display()
        ),
    );
    let db = dir.path().join("db");
    let mut run = Command::new(bin())
        .arg("run")
        .arg(&rules)
        .args(["--chain", "RR", "--job", "J", "--db"])
        .arg(&db)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the step to start", || lines(&mark).len() == 1);
    run.kill().unwrap();
    run.wait().unwrap();

    let mut ro = Server::spawn(dir, rules, db.clone(), &["--read-only"], None);
    let steps = |s: &Server| s.get("/api/v1/jobs/J/steps").1;
    assert_eq!(steps(&ro)[0]["state"], "RUNNING", "{}", steps(&ro));
    // A writing engine would restart A at once (RECOVERY_RUN) and write `start` again.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(lines(&ro.dir.path().join("marks")).len(), 1, "A ran again");
    assert_eq!(steps(&ro)[0]["state"], "RUNNING");
    assert_eq!(ro.get("/api/v1/jobs/J").1["state"], "RUNNING");
    let (status, v) = ro.post_with("/api/v1/reload", serde_json::json!({}), None);
    assert_eq!(status, 403, "{v}");
    let (code, err) = ro.terminate();
    assert_eq!(code, Some(0), "{err}");

    // Nothing was written: the next engine recovers the step (it runs again).
    let out = Command::new(bin())
        .args(["resume", "--db"])
        .arg(&db)
        .env("CHAINSCHED_TIME_SCALE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mark = ro.dir.path().join("marks");
    wait_for("recovery to restart A", || lines(&mark).len() == 2);
    let mut out = out;
    let _ = out.kill();
    let _ = out.wait();
}

const EVENT_RULES: &str = r#"
program NAP { builtin sleep 300ms; }
chain EV {
    step W event FILE_ARRIVED where size > 0;
    rule when TRUE then START W;
    rule when W SUCCEEDED then END;
}
chain LATE {
    step A program NAP;
    step W event GO_LATE;
    rule when TRUE then START A;
    rule when A SUCCEEDED then START W;
    rule when W SUCCEEDED then END;
}
"#;

/// Point 11: an event is never lost silently. A name no chain declares is refused with the
/// nearest one, a payload that is not an object is refused, "0 completed" says why, and an
/// event raised before its step waits is kept when asked (`--keep`), shown in the events view.
#[test]
fn events_are_refused_explained_or_kept() {
    let s = Server::start(EVENT_RULES);
    // A misspelt name: 400 with the nearest name (HTTP), exit 1 (CLI).
    let (status, v) = s.post(
        "/api/v1/events",
        serde_json::json!({ "name": "FILE_ARIVED" }),
    );
    assert_eq!(status, 400, "{v}");
    let msg = v["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("no chain declares event FILE_ARIVED"), "{v}");
    assert!(msg.contains("did you mean FILE_ARRIVED?"), "{v}");
    let o = s.cli(&["event", "FILE_ARIVED"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("did you mean FILE_ARRIVED?"));
    // A payload that is not an object.
    let (status, v) = s.post(
        "/api/v1/events",
        serde_json::json!({ "name": "FILE_ARRIVED", "payload": [1, 2] }),
    );
    assert_eq!(status, 400, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("payload"),
        "{v}"
    );
    let o = s.cli(&["event", "FILE_ARRIVED", "--payload", "42"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("JSON object"));

    // Nobody waits: the answer says so.
    let o = s.cli(&["event", "FILE_ARRIVED", "--payload", r#"{"size": 3}"#]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    assert!(
        out.contains("0 waiting step(s) completed (no step is waiting for FILE_ARRIVED)"),
        "{out}"
    );
    // One waits, the payload does not match: the condition that failed is named.
    let job = s.start_job(serde_json::json!({ "chain": "EV", "job": "E1" }));
    wait_for("W to wait", || {
        s.get(&format!("/api/v1/jobs/{job}/steps")).1[0]["state"] == "RUNNING"
    });
    let (status, v) = s.post(
        "/api/v1/events",
        serde_json::json!({ "name": "FILE_ARRIVED", "payload": { "size": 0 } }),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["completed_steps"], 0);
    assert_eq!(v["waiting_steps"], 1);
    let why = v["message"].as_str().unwrap_or_default();
    assert!(
        why.contains("1 step(s) waiting, none matched: job E1 step W: where size > 0 is FALSE"),
        "{v}"
    );
    let (_, v) = s.post(
        "/api/v1/events",
        serde_json::json!({ "name": "file_arrived", "payload": { "size": 5 } }),
    );
    assert_eq!(v["completed_steps"], 1, "{v}");
    s.wait_state("E1", &["SUCCEEDED"]);

    // Raised before its step waits: dropped without --keep, kept with it.
    let o = s.cli(&["event", "GO_LATE", "--keep", "10m", "--format", "json"]);
    let kept: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(kept["completed_steps"], 0, "{kept}");
    assert!(kept["kept"]["event_id"].is_u64(), "{kept}");
    let (_, rows) = s.get("/api/v1/events");
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{rows}");
    assert_eq!(rows[0]["event_name"], "GO_LATE");
    let o = s.cli(&["events"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("GO_LATE"));
    // A job whose W starts waiting later takes it at once and ends.
    s.start_job(serde_json::json!({ "chain": "LATE", "job": "L1" }));
    s.wait_state("L1", &["SUCCEEDED"]);
    let (_, rows) = s.get("/api/v1/events");
    assert_eq!(rows, serde_json::json!([]), "the event was consumed");
    // A second job finds nothing kept: it waits.
    s.start_job(serde_json::json!({ "chain": "LATE", "job": "L2" }));
    wait_for("W of L2 to wait", || {
        s.get("/api/v1/jobs/L2/steps").1[1]["state"] == "RUNNING"
    });
    assert_eq!(s.get("/api/v1/jobs/L2").1["state"], "RUNNING");
}

/// Point 11: a kept event survives a restart of the engine (it is in the store) and expires.
#[test]
fn kept_events_are_durable_and_expire() {
    let s = Server::start(EVENT_RULES);
    let (_, v) = s.post(
        "/api/v1/events",
        serde_json::json!({ "name": "GO_LATE", "keep": "1h" }),
    );
    assert!(v["kept"]["event_id"].is_u64(), "{v}");
    let (_, v) = s.post(
        "/api/v1/events",
        serde_json::json!({ "name": "GO_LATE", "keep": "1s" }),
    );
    assert!(v["kept"]["event_id"].is_u64(), "{v}");
    let (status, v) = s.post(
        "/api/v1/events",
        serde_json::json!({ "name": "GO_LATE", "keep": "soon" }),
    );
    assert_eq!(status, 400, "{v}");
    // For a job that has not started yet.
    let (status, v) = s.post(
        "/api/v1/events",
        serde_json::json!({ "name": "GO_LATE", "job": "L9", "keep": "1h" }),
    );
    assert_eq!(status, 200, "{v}");
    let s = s.restart(&[]);
    // The 1s one expires (not shown); the 1h one is still there after the restart.
    wait_for("the short event to expire", || {
        s.get("/api/v1/events").1.as_array().map(Vec::len) == Some(2)
    });
    s.start_job(serde_json::json!({ "chain": "LATE", "job": "L1" }));
    s.wait_state("L1", &["SUCCEEDED"]);
    let (_, rows) = s.get("/api/v1/events");
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{rows}");
    assert_eq!(rows[0]["job_name"], "L9", "L1 took the event for any job");
    s.start_job(serde_json::json!({ "chain": "LATE", "job": "L9" }));
    s.wait_state("L9", &["SUCCEEDED"]);
    assert_eq!(s.get("/api/v1/events").1, serde_json::json!([]));
}

fn chainsched(args: &[&str], db: &Path) -> std::process::Output {
    Command::new(bin())
        .args(args)
        .arg("--db")
        .arg(db)
        .env_remove("CHAINSCHED_SERVER")
        .env_remove("CHAINSCHED_TOKEN")
        .output()
        .unwrap()
}

/// Point 12: `run` holds its store, and takes events, control commands and views from `--db`
/// commands meanwhile (it serves the API on a loopback port named in the store folder).
#[test]
fn run_takes_events_and_views_from_db_commands_while_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write_rules(
        dir.path(),
        "chain W { step E event GO; rule when TRUE then START E; rule when E SUCCEEDED then END; }",
    );
    let db = dir.path().join("db");
    let run = Command::new(bin())
        .arg("run")
        .arg(&rules)
        .args(["--chain", "W", "--job", "J", "--db"])
        .arg(&db)
        .env_remove("CHAINSCHED_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("run to take requests", || {
        let o = chainsched(&["jobs", "--format", "json"], &db);
        o.status.success() && String::from_utf8_lossy(&o.stdout).contains("\"RUNNING\"")
    });
    let o = chainsched(&["event", "GO"], &db);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("1 waiting step(s) completed"));
    let out = run.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("SUCCEEDED"));
    // The store is free again: a view opens it directly.
    let o = chainsched(&["jobs", "--format", "json"], &db);
    assert!(o.status.success());
    assert!(!db.join("chainsched.holder").exists());
}

/// Point 12: a store held by a process that serves no API: the error names the process (pid
/// and command) and what to do; a holder that died is ignored.
#[test]
fn a_busy_store_names_its_holder_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let rules = write_rules(
        dir.path(),
        "program LONG { builtin sleep 60s; }\n\
         chain S { step A program LONG; rule when TRUE then START A; rule when A COMPLETED then END; }",
    );
    let db = dir.path().join("db");
    // `run` once to create the store with its catalog, then an embedded `start` holds it.
    let o = Command::new(bin())
        .arg("run")
        .arg(&rules)
        .args(["--chain", "S", "--job", "FIRST", "--db"])
        .arg(&db)
        .env("CHAINSCHED_TIME_SCALE", "1000")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut holder = Command::new(bin())
        .args(["start", "S", "--job", "HOLD", "--db"])
        .arg(&db)
        .env_remove("CHAINSCHED_SERVER")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the holder file", || db.join("chainsched.holder").exists());
    let pid = holder.id();
    for args in [
        &["jobs"][..],
        &["purge", "--keep-jobs", "1"][..],
        &["stop", "HOLD"][..],
    ] {
        let o = chainsched(args, &db);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains(&format!("in use by process {pid}")) && err.contains("chainsched start S"),
            "{args:?}: {err}"
        );
        assert!(
            err.contains("wait for that process to end"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("WouldBlock"), "{args:?}: {err}");
    }
    // A holder killed without cleaning up: its file stays, but names a dead process.
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert!(db.join("chainsched.holder").exists());
    wait_for("the store to be free", || {
        chainsched(&["jobs"], &db).status.success()
    });
}

fn addr_of(url: &str) -> String {
    url.trim_start_matches("http://").to_string()
}

/// Read until the server closes the connection (or 10 s pass); returns what was read and
/// whether it was closed.
fn read_to_close(s: &mut std::net::TcpStream) -> (String, bool) {
    use std::io::Read as _;
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (String::from_utf8_lossy(&got).into_owned(), true)
            }
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), false),
        }
    }
}

/// Point 2: idle connections, connections that send nothing and slow header senders are
/// closed after `--idle-timeout`; a kept-alive connection too once its answer is sent.
#[test]
fn idle_and_slow_connections_are_closed_after_the_timeout() {
    use std::io::Write as _;
    let s = Server::start_with(RULES, &["--idle-timeout", "1s"], Some(TOKEN));
    let addr = addr_of(&s.url);
    let mut silent: Vec<std::net::TcpStream> = (0..50)
        .map(|_| std::net::TcpStream::connect(&addr).unwrap())
        .collect();
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let mut kept = std::net::TcpStream::connect(&addr).unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    for c in silent.iter_mut() {
        let (_, closed) = read_to_close(c);
        assert!(closed, "an idle connection stayed open");
    }
    let (_, closed) = read_to_close(&mut slow);
    assert!(closed, "a slow header sender stayed open");
    let (answer, closed) = read_to_close(&mut kept);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        closed,
        "a kept-alive connection stayed open after its answer"
    );
    // The service still answers.
    assert_eq!(s.get("/healthz").0, 200);
}

/// Point 2: `--max-connections` is enforced: one connection more is answered 503 and closed;
/// once one closes, a new one is served.
#[test]
fn the_connection_cap_is_enforced() {
    let s = Server::start_with(RULES, &["--max-connections", "5"], Some(TOKEN));
    let addr = addr_of(&s.url);
    let mut held: Vec<std::net::TcpStream> = (0..5)
        .map(|_| std::net::TcpStream::connect(&addr).unwrap())
        .collect();
    // The first five are accepted (a request on one is answered).
    {
        use std::io::Write as _;
        held[0]
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut buf = [0u8; 12];
        use std::io::Read as _;
        held[0].read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"HTTP/1.1 200");
    }
    let mut extra = std::net::TcpStream::connect(&addr).unwrap();
    let (answer, closed) = read_to_close(&mut extra);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("--max-connections"), "{answer}");
    assert!(closed);
    drop(held.pop());
    wait_for("a free connection slot", || s.get("/healthz").0 == 200);
}

/// Point 2: under a descriptor limit of 256, 400 connections opened while a job runs do not
/// starve its steps: the service keeps descriptors for them (refusing connections instead,
/// 503), and every step launched meanwhile runs.
#[test]
fn steps_run_under_a_low_descriptor_limit_with_many_open_connections() {
    let dir = tempfile::tempdir().unwrap();
    let marks = dir.path().join("marks");
    let say = format!("echo hello >> {}; echo oops >&2", marks.display());
    let rules = write_rules(
        dir.path(),
        &format!(
            "program NAP {{ builtin sleep 2s; }}\n\
             program SAY {{ shell '{say}'; }}\n\
             chain MANY {{\n\
               step W program NAP;\n\
               step A program SAY; step B program SAY; step C program SAY; step D program SAY;\n\
               step E program SAY; step F program SAY; step G program SAY; step H program SAY;\n\
               rule when TRUE then START W;\n\
               rule when W SUCCEEDED then START A, B, C, D, E, F, G, H;\n\
               rule when A SUCCEEDED AND B SUCCEEDED AND C SUCCEEDED AND D SUCCEEDED AND\n\
                         E SUCCEEDED AND F SUCCEEDED AND G SUCCEEDED AND H SUCCEEDED then END;\n\
               rule when A FAILED OR B FAILED OR C FAILED OR D FAILED OR\n\
                         E FAILED OR F FAILED OR G FAILED OR H FAILED then END 1;\n\
             }}\n"
        ),
    );
    let db = dir.path().join("db");
    // `ulimit -n` sets the hard limit too, so the engine cannot raise it.
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n 256 && exec {} serve --rules {} --db {} --listen 127.0.0.1:0 --idle-timeout 60s --max-connections 10000",
            bin(),
            rules.display(),
            db.display()
        ))
        .env("CHAINSCHED_TOKEN", TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = {
        use std::io::BufRead as _;
        let out = child.stdout.take().unwrap();
        let mut line = String::new();
        let mut reader = std::io::BufReader::new(out);
        loop {
            line.clear();
            assert!(
                reader.read_line(&mut line).unwrap() > 0,
                "serve did not start"
            );
            if let Some(rest) = line.split("listening on ").nth(1) {
                break rest.trim().to_string();
            }
        }
    };
    let status = ureq::post(&format!("{url}/api/v1/jobs"))
        .set("Authorization", &format!("Bearer {TOKEN}"))
        .send_json(serde_json::json!({ "chain": "MANY", "job": "M1" }))
        .map(|r| r.status())
        .unwrap_or(0);
    assert_eq!(status, 201);
    // While W sleeps, 400 idle connections: more than the descriptors the engine has.
    let addr = addr_of(&url);
    let mut conns: Vec<std::net::TcpStream> = (0..400)
        .filter_map(|_| std::net::TcpStream::connect(&addr).ok())
        .collect();
    assert!(conns.len() > 250, "the test holds the connections");
    let (answer, _) = read_to_close(conns.last_mut().unwrap());
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("file descriptors are kept"), "{answer}");
    // The eight steps start while the connections are held, and all of them run.
    wait_for("the eight steps to run", || lines(&marks).len() == 8);
    drop(conns);
    let job = loop {
        let v: serde_json::Value = ureq::get(&format!("{url}/api/v1/jobs/M1"))
            .call()
            .map(|r| r.into_json().unwrap())
            .unwrap_or_default();
        if matches!(v["state"].as_str(), Some("SUCCEEDED" | "FAILED")) {
            break v;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(job["state"], "SUCCEEDED", "a step could not start: {job}");
    let _ = child.kill();
    let _ = child.wait();
}

/// Point 2: a step whose process cannot be started for lack of descriptors (EMFILE) is retried
/// until descriptors are free again, instead of ending FAILED 127. Under a descriptor limit that
/// leaves room for one step at a time, four parallel steps all run, one after the other.
#[test]
fn a_step_that_cannot_spawn_for_lack_of_descriptors_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let count_file = dir.path().join("fds");
    // How many descriptors `run --db :memory:` has open while one step runs.
    let probe = write_rules(
        dir.path(),
        &format!(
            "program C {{ shell 'ls /proc/$PPID/fd | wc -l > {}'; }}\n\
             chain F {{ step A program C; rule when TRUE then START A; rule when A COMPLETED then END; }}\n",
            count_file.display()
        ),
    );
    let o = Command::new(bin())
        .arg("run")
        .arg(&probe)
        .args(["--chain", "F", "--db", ":memory:"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let in_use: u64 = std::fs::read_to_string(&count_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // `ls` itself adds one (the directory it reads). One step holds two pipes and a pidfd, and
    // its spawn needs two more for a moment: the limit lets one spawn through, not two.
    let limit = in_use + 1;
    let marks = dir.path().join("marks");
    let rules = dir.path().join("four.chain");
    std::fs::write(
        &rules,
        format!(
            "program P {{ shell 'sleep 0.3; echo $CHAINSCHED_JOB_SUBNAME >> {}'; }}\n\
             chain FOUR {{ step A program P; step B program P; step C program P; step D program P;\n\
               rule when TRUE then START A, B, C, D;\n\
               rule when A COMPLETED AND B COMPLETED AND C COMPLETED AND D COMPLETED then END; }}\n",
            marks.display()
        ),
    )
    .unwrap();
    let o = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n {limit} && exec {} run {} --chain FOUR --db :memory: --format json",
            bin(),
            rules.display()
        ))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{err}", String::from_utf8_lossy(&o.stdout)));
    let steps = &v["jobs"][0]["steps"];
    for s in steps.as_array().unwrap() {
        assert_eq!(s["state"], "SUCCEEDED", "limit {limit}: {s}\n{err}");
    }
    assert_eq!(lines(&marks).len(), 4);
    // Some spawn did fail for lack of descriptors, and was retried (the log says so).
    assert!(
        err.contains("for lack of resources"),
        "limit {limit}: {err}"
    );
}
