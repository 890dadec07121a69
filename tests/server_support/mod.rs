//! Shared by the server tests: a real `chainsched serve` process on a free port with a temp
//! store and rule folder, and small HTTP helpers (ureq).
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

pub const TOKEN: &str = "test-token-42";
/// The operating-system user the CLI runs as in these tests (its REQUESTED_BY).
pub const CLI_USER: &str = "operator";

/// Rules used by most server tests: builtin programs and one shell program that reports
/// progress and prints output.
pub const RULES: &str = r#"
program OK    { builtin noop; }
program NAP   { builtin sleep 300ms; }
program LONG  { builtin sleep 60s; }
program BAD   { builtin fail 20001; }
program TALK  { shell 'echo "::progress 3/10 copying"; echo hello from talk; echo oops >&2'; }

chain DEMO {
    comment 'three steps and an END';
    step A program OK;
    step B program TALK;
    step C program NAP;
    rule START_IT when TRUE then START A;
    rule R2 when A SUCCEEDED then START B, C;
    rule DONE when B SUCCEEDED AND C SUCCEEDED then END;
}

chain STALLS {
    step A program BAD;
    step B program OK;
    rule R1 when TRUE then START A;
    rule R2 when A SUCCEEDED then START B;
    rule R3 when B COMPLETED then END;
}

chain SLOW {
    step A program LONG;
    rule when TRUE then START A;
    rule when A COMPLETED then END;
}

chain INNER {
    step I1 program NAP;
    rule when TRUE then START I1;
    rule when I1 COMPLETED then END I1.ERROR_CODE;
}

chain OUTER {
    step N chain INNER;
    step W event GO;
    rule when TRUE then START N, W;
    rule when N SUCCEEDED AND W SUCCEEDED then END;
}
"#;

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_chainsched")
}

pub struct Server {
    pub child: Option<Child>,
    /// Everything `serve` wrote to stderr so far. A thread drains the pipe continuously, so a
    /// chatty server can never block on a full pipe while a test runs.
    pub stderr: Arc<Mutex<String>>,
    stderr_reader: Option<std::thread::JoinHandle<()>>,
    pub url: String,
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    pub rules: PathBuf,
}

pub fn write_rules(dir: &Path, text: &str) -> PathBuf {
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join("main.chain"), text).unwrap();
    rules
}

impl Server {
    /// Start `serve` with the token configured (CHAINSCHED_TOKEN) on a free loopback port.
    pub fn start(rules_text: &str) -> Server {
        Server::start_with(rules_text, &[], Some(TOKEN))
    }

    pub fn start_with(rules_text: &str, extra: &[&str], token: Option<&str>) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let rules = write_rules(dir.path(), rules_text);
        let db = dir.path().join("db");
        Server::spawn(dir, rules, db, extra, token)
    }

    pub fn spawn(
        dir: tempfile::TempDir,
        rules: PathBuf,
        db: PathBuf,
        extra: &[&str],
        token: Option<&str>,
    ) -> Server {
        let mut cmd = Command::new(bin());
        cmd.args(["serve", "--rules"])
            .arg(&rules)
            .arg("--db")
            .arg(&db)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .env_remove("CHAINSCHED_TOKEN")
            .env_remove("CHAINSCHED_SERVER")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(t) = token {
            cmd.env("CHAINSCHED_TOKEN", t);
        }
        let mut child = cmd.spawn().expect("spawn chainsched serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        let stderr_reader = child.stderr.take().map(|pipe| {
            let sink = Arc::clone(&stderr);
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    let mut text = sink.lock().unwrap_or_else(|p| p.into_inner());
                    text.push_str(&line);
                    text.push('\n');
                }
            })
        });
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let url = loop {
            match rx.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    if let Some(rest) = line.split("listening on ").nth(1) {
                        break rest.trim().to_string();
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    if let Some(h) = stderr_reader {
                        let _ = h.join();
                    }
                    let text = stderr.lock().unwrap_or_else(|p| p.into_inner()).clone();
                    panic!("serve did not start: {text}");
                }
            }
        };
        Server {
            child: Some(child),
            stderr,
            stderr_reader,
            url,
            dir,
            db,
            rules,
        }
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        answer(ureq::get(&format!("{}{path}", self.url)).call())
    }

    pub fn get_text(&self, path: &str) -> (u16, String, String) {
        match ureq::get(&format!("{}{path}", self.url)).call() {
            Ok(r) | Err(ureq::Error::Status(_, r)) => {
                let status = r.status();
                let ct = r.content_type().to_string();
                (status, ct, r.into_string().unwrap_or_default())
            }
            Err(e) => panic!("GET {path}: {e}"),
        }
    }

    pub fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.post_with(path, body, Some(TOKEN))
    }

    pub fn post_with(&self, path: &str, body: Value, token: Option<&str>) -> (u16, Value) {
        let mut req = ureq::post(&format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        answer(req.send_json(body))
    }

    pub fn post_raw(&self, path: &str, body: &str) -> (u16, Value) {
        let req = ureq::post(&format!("{}{path}", self.url))
            .set("Authorization", &format!("Bearer {TOKEN}"))
            .set("Content-Type", "application/json");
        answer(req.send_string(body))
    }

    /// POST announcing a `Content-Length` of `declared` bytes with `Expect: 100-continue`, and
    /// read the answer before sending any of the body (a refused body is never transferred, so
    /// the answer cannot be lost to a reset, as it can with a client that writes it all first).
    pub fn post_declared(&self, path: &str, declared: usize) -> (u16, Value) {
        use std::io::{Read, Write};
        let addr = self.url.trim_start_matches("http://");
        let mut tcp = std::net::TcpStream::connect(addr).expect("connect");
        tcp.set_read_timeout(Some(Duration::from_secs(10))).ok();
        write!(
            tcp,
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\n\
             Content-Type: application/json\r\nContent-Length: {declared}\r\n\
             Expect: 100-continue\r\nConnection: close\r\n\r\n"
        )
        .expect("write headers");
        let mut raw = Vec::new();
        let _ = tcp.read_to_end(&mut raw);
        let text = String::from_utf8_lossy(&raw);
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no HTTP status in {text:?}"));
        let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        (
            status,
            serde_json::from_str(body).unwrap_or(Value::String(body.to_string())),
        )
    }

    /// Start a job and return its name.
    pub fn start_job(&self, body: Value) -> String {
        let (status, v) = self.post("/api/v1/jobs", body);
        assert_eq!(status, 201, "{v}");
        v["job"].as_str().unwrap().to_string()
    }

    /// Wait until the job's state is one of `states`; returns the job row.
    pub fn wait_state(&self, job: &str, states: &[&str]) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (status, row) = self.get(&format!("/api/v1/jobs/{}", enc(job)));
            if status == 200 && states.contains(&row["state"].as_str().unwrap_or("")) {
                return row;
            }
            assert!(
                Instant::now() < deadline,
                "job {job} never reached {states:?}: {row}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Run the CLI against this service.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(bin())
            .args(args)
            .env("CHAINSCHED_SERVER", &self.url)
            .env("CHAINSCHED_TOKEN", TOKEN)
            .env("USER", CLI_USER)
            .output()
            .unwrap()
    }

    /// SIGTERM, then wait for the process; returns its exit code and stderr.
    pub fn terminate(&mut self) -> (Option<i32>, String) {
        let mut child = self.child.take().expect("running");
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                // The pipe is closed now: the reader thread ends after the last line.
                if let Some(h) = self.stderr_reader.take() {
                    let _ = h.join();
                }
                let err = self
                    .stderr
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                return (status.code(), err);
            }
            assert!(
                Instant::now() < deadline,
                "serve did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM this service, then start `serve` again on the same rule folder and `--db`.
    pub fn restart(mut self, extra: &[&str]) -> Server {
        let (code, err) = self.terminate();
        assert_eq!(code, Some(0), "serve did not stop cleanly: {err}");
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        Server::spawn(dir, self.rules.clone(), self.db.clone(), extra, Some(TOKEN))
    }

    pub fn signal(&self, sig: i32) {
        if let Some(c) = &self.child {
            unsafe {
                libc::kill(c.id() as i32, sig);
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn answer(r: Result<ureq::Response, ureq::Error>) -> (u16, Value) {
    match r {
        Ok(resp) | Err(ureq::Error::Status(_, resp)) => {
            let status = resp.status();
            let text = resp.into_string().unwrap_or_default();
            (
                status,
                serde_json::from_str(&text).unwrap_or(Value::String(text)),
            )
        }
        Err(e) => panic!("request failed: {e}"),
    }
}

/// Keys of a JSON object, sorted.
pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
    k.sort();
    k
}

/// Lower-case column names, sorted.
pub fn columns(cols: &[&str]) -> Vec<String> {
    let mut c: Vec<String> = cols.iter().map(|c| c.to_ascii_lowercase()).collect();
    c.sort();
    c
}
