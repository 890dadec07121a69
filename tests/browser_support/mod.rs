//! Headless chromium for the dashboard tests (`browser_dashboard.rs`, `cluster_pg.rs`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Chromium, or `None` with a visible skip: under `CI=true` (or `CI=1`) a missing browser fails
/// the test instead, so that CI never reports a browser test "ok" that did not run. The skip
/// line is written to stderr directly, past the test harness's output capture, so that it shows
/// in `cargo test` output.
pub fn chromium_or_skip(test: &str) -> Option<PathBuf> {
    if let Some(bin) = chromium() {
        return Some(bin);
    }
    let why = "chromium is not installed (apt-get install chromium; see .ci/apt-packages)";
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !ci,
        "{test}: {why}; CI is set, so a missing browser is a failure"
    );
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
    None
}

/// Run chromium headless on `url` with `extra` output flags; returns stdout. Bounded in time.
pub fn run_chromium(bin: &Path, profile: &Path, url: &str, extra: &[&str]) -> String {
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--virtual-time-budget=5000",
            "--window-size=1400,1000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        use std::io::Read;
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 90 s on {url}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().unwrap()
}

/// Where screenshots go: `$CHAINSCHED_SCREENSHOTS`, else `target/screenshots/` (next to the
/// test binaries' `tmp` folder). Created if missing.
pub fn screenshot_dir() -> PathBuf {
    let dir = std::env::var_os("CHAINSCHED_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_TARGET_TMPDIR"))
                .parent()
                .map(|p| p.join("screenshots"))
                .unwrap_or_else(|| PathBuf::from("target/screenshots"))
        });
    std::fs::create_dir_all(&dir).expect("create the screenshot folder");
    dir
}

/// Chromium flags that cut the browser off from every host but the service on 127.0.0.1: a
/// page that needed anything from the network would show it missing.
pub const OFFLINE: &[&str] = &[
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=127.0.0.1",
];

/// The page's DOM after it settled, offline, without the text of its scripts (which spell the
/// markup they make, and would match searches for it).
pub fn dump_dom(bin: &Path, profile: &Path, url: &str) -> String {
    let mut flags = OFFLINE.to_vec();
    flags.push("--dump-dom");
    let dom = run_chromium(bin, profile, url, &flags);
    let mut out = String::with_capacity(dom.len());
    let mut rest = dom.as_str();
    while let Some(i) = rest.find("<script>") {
        out.push_str(&rest[..i]);
        rest = rest[i..]
            .find("</script>")
            .map_or("", |e| &rest[i + e + "</script>".len()..]);
    }
    out.push_str(rest);
    out
}

/// A screenshot of `url` as `NAME.png` in [`screenshot_dir`], offline; returns its path after
/// checking that a real picture was written.
pub fn screenshot(bin: &Path, profile: &Path, url: &str, name: &str) -> PathBuf {
    let shot = screenshot_dir().join(format!("{name}.png"));
    let _ = std::fs::remove_file(&shot);
    let arg = format!("--screenshot={}", shot.display());
    let mut flags = OFFLINE.to_vec();
    flags.push(&arg);
    run_chromium(bin, profile, url, &flags);
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(
        size > 10_000,
        "a screenshot was written to {}",
        shot.display()
    );
    println!("screenshot: {}", shot.display());
    shot
}

/// The opening tags of the elements of `dom` that carry `class="CLASS…"`, in order.
pub fn tags_with_class<'a>(dom: &'a str, class: &str) -> Vec<&'a str> {
    let needle = format!("class=\"{class}");
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = dom[at..].find(&needle) {
        let pos = at + i;
        let start = dom[..pos].rfind('<').unwrap_or(pos);
        let end = dom[pos..].find('>').map_or(dom.len(), |e| pos + e + 1);
        out.push(&dom[start..end]);
        at = end;
    }
    out
}

/// The value of attribute `name` in an opening tag.
pub fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let needle = format!(" {name}=\"");
    let i = tag.find(&needle)? + needle.len();
    let end = tag[i..].find('"')? + i;
    Some(&tag[i..end])
}
