//! The engines view: every engine registered on a database that several engines share
//! (docs/scale-out.md), with its host, process, role, heartbeat and the jobs it owns.
//!
//! Why a view like the others: an operator running several `serve` processes needs to see at a
//! glance which are alive and how the jobs are spread, from the CLI (`chainsched engines`,
//! directly on the database or through `--server`), the HTTP API and the dashboard — the same
//! rows everywhere. The rows are read from the engines and leases tables with the database's
//! clock (`now()`), so the heartbeat age does not depend on the reader's clock. A store one
//! process owns (sled, memory) has no such tables: the view is empty.

use super::rows::ViewRow;
use super::ViewError;
use crate::store::ChainStore;
use serde::{Deserialize, Serialize};

/// engines: one row per registered engine, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EngineRow {
    pub engine_id: String,
    /// Its slot: the job-log ids it hands out are those `≡ slot (mod 64)`.
    pub slot: i32,
    pub host: String,
    pub pid: i32,
    /// `serve`, `resume`, `run` or `control`.
    pub role: String,
    /// Where its HTTP API listens (`serve`).
    pub address: Option<String>,
    /// RFC 3339, UTC.
    pub started: String,
    pub last_heartbeat: String,
    /// Seconds since the last heartbeat, by the database's clock.
    pub heartbeat_age: f64,
    /// 'TRUE' while the last heartbeat is younger than the engine's lease.
    pub alive: String,
    /// Unexpired job leases it holds.
    pub jobs_owned: i64,
}

impl ViewRow for EngineRow {
    const COLUMNS: &'static [&'static str] = &[
        "ENGINE_ID",
        "SLOT",
        "HOST",
        "PID",
        "ROLE",
        "ADDRESS",
        "STARTED",
        "LAST_HEARTBEAT",
        "HEARTBEAT_AGE",
        "ALIVE",
        "JOBS_OWNED",
    ];
    const DEFAULT_COLUMNS: &'static [&'static str] = &[
        "ENGINE_ID",
        "HOST",
        "PID",
        "ROLE",
        "HEARTBEAT_AGE",
        "ALIVE",
        "JOBS_OWNED",
    ];
}

const ENGINES_SQL: &str = "SELECT e.id, e.slot, e.host, e.pid, e.role, e.address, \
     to_char(e.started AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), \
     to_char(e.heartbeat AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), \
     round(extract(epoch FROM now() - e.heartbeat)::numeric, 3)::float8, \
     e.heartbeat > now() - e.lease_ms * interval '1 millisecond', \
     (SELECT count(*) FROM chainsched_leases l WHERE l.owner = e.id AND l.expires_at > now()) \
     FROM chainsched_engines e ORDER BY e.started, e.id";

/// The rows of the engines view (empty for a store that is not shared).
pub fn engine_rows(store: &ChainStore) -> Result<Vec<EngineRow>, ViewError> {
    let Some(pg) = store.kv().shared() else {
        return Ok(vec![]);
    };
    let rows = pg.coord(ENGINES_SQL, vec![])?;
    Ok(rows
        .into_iter()
        .map(|r| EngineRow {
            engine_id: r.get(0),
            slot: r.get(1),
            host: r.get(2),
            pid: r.get(3),
            role: r.get(4),
            address: r.get(5),
            started: r.get(6),
            last_heartbeat: r.get(7),
            heartbeat_age: r.get(8),
            alive: if r.get::<_, bool>(9) { "TRUE" } else { "FALSE" }.into(),
            jobs_owned: r.get(10),
        })
        .collect())
}
