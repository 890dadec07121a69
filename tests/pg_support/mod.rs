//! Shared by the tests that need a real PostgreSQL (`store_pg.rs`, `cluster_pg.rs`): a fresh
//! database per test from `CHAINSCHED_TEST_PG` (dropped at the end), the binary, SQL.
//!
//! Without `CHAINSCHED_TEST_PG` a test prints "skipped" and passes — unless
//! `CHAINSCHED_REQUIRE_PG` is set (as in CI), then it fails.
#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

pub const BIN: &str = env!("CARGO_BIN_EXE_chainsched");

/// A database of one test, dropped when the value is.
pub struct TestDb {
    pub admin: String,
    pub name: String,
    pub url: String,
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Run SQL statements on the database at `url`.
pub fn sql(url: &str, statements: &str) {
    runtime().block_on(async {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
        let driving = tokio::spawn(conn);
        client
            .batch_execute(statements)
            .await
            .unwrap_or_else(|e| panic!("{statements}: {e:?}"));
        drop(client);
        let _ = driving.await;
    })
}

/// The URL of database `name` on the server of `admin`.
pub fn with_dbname(admin: &str, name: &str) -> String {
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin, String::new()),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let cut = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    format!("{}/{name}{query}", &base[..cut])
}

/// A fresh database, or `None` (test skipped) when no server is configured.
pub fn test_db(test: &str) -> Option<TestDb> {
    let admin = match std::env::var("CHAINSCHED_TEST_PG") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => {
            assert!(
                std::env::var_os("CHAINSCHED_REQUIRE_PG").is_none(),
                "CHAINSCHED_REQUIRE_PG is set but CHAINSCHED_TEST_PG is not: the PostgreSQL \
                 tests must run here (.ci/run starts a cluster and sets it)"
            );
            // Straight to stderr, past the test harness's capture, so the skip is seen.
            let _ = writeln!(
                std::io::stderr(),
                "{test}: skipped: CHAINSCHED_TEST_PG not set"
            );
            return None;
        }
    };
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "chainsched_t_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        test.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(20)
            .collect::<String>()
            .to_lowercase()
    );
    sql(&admin, &format!("CREATE DATABASE {name}"));
    let url = with_dbname(&admin, &name);
    Some(TestDb { admin, name, url })
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let name = self.name.clone();
        // WITH (FORCE) ends sessions a failed test left open.
        let _ = std::panic::catch_unwind(move || {
            sql(
                &admin,
                &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            )
        });
    }
}

pub fn cli(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("CHAINSCHED_DB")
        .env_remove("CHAINSCHED_SERVER")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

pub fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
