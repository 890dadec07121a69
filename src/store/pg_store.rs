//! The PostgreSQL [`KvStore`]: the same keys and sealed values as the sled store, in one table
//! of a PostgreSQL database (docs/scale-out.md).
//!
//! Why PostgreSQL: it is the durable store that a site already runs, backs up and fails over,
//! and the one several engines share (`runtime::cluster` holds their lease protocol; this
//! module stores, fences batches and runs the protocol's statements).
//!
//! **Schema.** `chainsched_kv (key bytea PRIMARY KEY, value bytea NOT NULL)` holds every record;
//! `chainsched_schema (version integer)` the schema version. An engine creates and migrates the
//! schema when it opens the database ([`MIGRATIONS`], applied in one transaction); a database
//! whose version is newer than this build knows is refused ([`StoreError::SchemaVersion`]).
//! Readers (views, `store check`) never create or migrate anything.
//!
//! **Ordering.** `bytea` compares bytewise (memcmp, then length) with no collation, which is the
//! order the key layout relies on (`layout`): a prefix scan is the range `key >= prefix AND key
//! < successor(prefix)` ([`prefix_successor`]), served by the primary-key index.
//!
//! **Atomicity and durability.** A [`WriteBatch`] is applied by ONE SQL statement (a
//! data-modifying `WITH … DELETE` plus an `INSERT … ON CONFLICT DO UPDATE`), which PostgreSQL
//! runs as one transaction: all of it or none, also after a crash. When the statement returns,
//! the transaction has committed, and with the default `synchronous_commit = on` its WAL record
//! is flushed to disk: the batch is durable already, so [`KvStore::flush`] has nothing left to
//! do. (The engine's relaxed durability mode maps to `synchronous_commit = off` for its writing
//! session: commits return before the WAL flush, which PostgreSQL's WAL writer does within
//! about 3 × `wal_writer_delay`.)
//!
//! **Threading.** The [`KvStore`] trait is synchronous and is called from inside tokio tasks
//! (the actor applies its batch inline, as with sled), where `block_on` would panic. So the
//! store owns a thread of its own with a current-thread tokio runtime and the connections; the
//! trait methods send a request over a channel and block on a plain `std` channel for the
//! answer. Reads are pipelined on a reading connection while the writing connection commits.
//!
//! **Several engines per database.** Engines share the database through job leases
//! (`chainsched_leases`, driven by `runtime::cluster`): a batch that carries a [`Fence`] is
//! written by one statement that first locks and checks the leases of every job it writes
//! (`FOR SHARE`, owner + epoch + unexpired) and writes nothing when one is not held. A third
//! connection, the **coordination session**, runs the cluster's own statements (heartbeat,
//! claims, events, requests: [`PgStore::coord`]), so they never queue behind a commit or a
//! view. The writing session is never reconnected: a write whose outcome is unknown (lost
//! connection, timeout) makes every later write fail and the engine stops; its leases then
//! expire and another engine takes its jobs over. Schema migrations are serialized by a
//! transaction-level advisory lock ([`ENGINE_LOCK_KEY`]). Views never write.

use super::{Fence, KvStore, Pair, StoreError, WriteBatch, WriteOp};
use std::collections::BTreeMap;
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Config, NoTls, Statement};

/// The schema version this build writes and reads (the last entry of [`MIGRATIONS`]).
pub const SCHEMA_VERSION: i32 = 2;

/// One step of the schema: applied, in order, to a database whose version is lower.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i32,
    pub what: &'static str,
    pub sql: &'static str,
}

/// Every schema version, oldest first. A new version appends an entry (never edit a released
/// one: databases already carry it) and raises [`SCHEMA_VERSION`].
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        what: "the key-value table",
        // fillfactor: the engine rewrites the same keys on every step (a step's record, its
        // job's record); room left on each page lets PostgreSQL update them in place (HOT
        // updates, no index change).
        sql: "CREATE TABLE chainsched_kv (key bytea PRIMARY KEY, value bytea NOT NULL) \
              WITH (fillfactor = 80)",
    },
    Migration {
        version: 2,
        what: "engines, job leases, events, schedule occurrences and forwarded requests",
        sql: CLUSTER_SCHEMA,
    },
];

/// The tables of several engines on one database (docs/scale-out.md). Times that decide
/// anything (heartbeats, lease expiry) are the database's `now()`, so engines' clocks do not
/// matter.
const CLUSTER_SCHEMA: &str = "
CREATE TABLE chainsched_engines (
    id text PRIMARY KEY,
    slot integer NOT NULL UNIQUE,
    host text NOT NULL,
    pid integer NOT NULL,
    role text NOT NULL,
    address text,
    started timestamptz NOT NULL DEFAULT now(),
    heartbeat timestamptz NOT NULL DEFAULT now(),
    lease_ms bigint NOT NULL
);
CREATE TABLE chainsched_leases (
    job text PRIMARY KEY,
    owner text NOT NULL,
    epoch bigint NOT NULL,
    expires_at timestamptz NOT NULL,
    affinity text
) WITH (fillfactor = 80);
CREATE INDEX chainsched_leases_owner ON chainsched_leases (owner);
CREATE INDEX chainsched_leases_expiry ON chainsched_leases (expires_at);
CREATE TABLE chainsched_homes (
    key text PRIMARY KEY,
    owner text NOT NULL,
    epoch bigint NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE TABLE chainsched_events (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    payload text NOT NULL,
    job text,
    origin text NOT NULL,
    raised timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE chainsched_fired (
    schedule text NOT NULL,
    due bigint NOT NULL,
    engine text NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schedule, due)
);
CREATE TABLE chainsched_requests (
    id bigserial PRIMARY KEY,
    job text NOT NULL,
    target text,
    input text NOT NULL,
    origin text NOT NULL,
    created timestamptz NOT NULL DEFAULT now(),
    taken_by text,
    answered timestamptz,
    answer text
);
CREATE INDEX chainsched_requests_open ON chainsched_requests (job) WHERE answered IS NULL;
";

/// The advisory-lock key that serializes schema migrations (`pg_advisory_xact_lock`, held by
/// the migrating transaction only): the bytes "chainsch" read as a big-endian i64.
pub const ENGINE_LOCK_KEY: i64 = i64::from_be_bytes(*b"chainsch");

/// What a connection is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgAccess {
    /// An engine: creates and migrates the schema, reads and writes (fenced by its leases).
    Engine,
    /// A reader (views, `store check`): needs an existing schema; writes are refused.
    Read,
}

/// Settings of a PostgreSQL store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgOptions {
    pub access: PgAccess,
    /// `synchronous_commit` of the writing session: `true` (a commit returns once its WAL is
    /// on disk) unless the engine runs in relaxed durability mode.
    pub synchronous_commit: bool,
    /// Longest wait for one request (a statement or the connection). A write that times out
    /// has an unknown outcome, so the store refuses every later write (the engine stops).
    pub request_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            access: PgAccess::Engine,
            synchronous_commit: true,
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// Whether `db` names a PostgreSQL database (`postgres://` or `postgresql://`).
pub fn is_postgres_url(db: &str) -> bool {
    let lower = db.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// `url` with its password (in the user part or a `password=` parameter) replaced by `***`,
/// for messages and views.
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..]
            .find(['/', '?'])
            .map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                let from = rest_start + colon + 1;
                let to = rest_start + at;
                out.replace_range(from..to, "***");
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let parts: Vec<String> = query
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => p.to_string(),
            })
            .collect();
        out = format!("{head}{}", parts.join("&"));
    }
    out
}

/// The least byte string greater than every string that starts with `prefix` (the prefix with
/// its last byte below 0xFF raised by one, what follows dropped): the exclusive upper bound of
/// a prefix scan. `None` when there is no such string (an empty prefix, or all 0xFF): the
/// range is then unbounded above. The same bound the other stores use
/// ([`layout::prefix_end`](super::layout::prefix_end)).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    super::layout::prefix_end(prefix)
}

/// Why an engine refuses the server whose `SELECT version()` is `version` (docs/scale-out.md,
/// "PostgreSQL-compatible databases"), if it does.
pub fn lock_not_trusted(version: &str) -> Option<&'static str> {
    version.contains("CockroachDB").then_some(
        "this is CockroachDB, on which chainsched's lease fencing (row locks taken by FOR SHARE \
         inside the write statement, READ COMMITTED re-checks) and migration lock \
         (pg_advisory_xact_lock) are not verified; chainsched engines run on PostgreSQL",
    )
}

/// Parameters of a coordination statement ([`PgStore::coord`]).
pub type SqlParams = Vec<Box<dyn ToSql + Sync + Send>>;

/// The rows a coordination statement returned.
pub type Rows = Vec<tokio_postgres::Row>;

type Reply<T> = std_mpsc::SyncSender<Result<T, StoreError>>;

/// One batch to write: its keys to delete, its pairs to insert or update (disjoint).
struct WriteJob {
    deletes: Vec<Vec<u8>>,
    puts: Vec<Pair>,
    fence: Option<Fence>,
    reply: Reply<()>,
}

/// Where the answer of a coordination statement goes: a blocked caller (the actor, which is
/// synchronous like the store trait) or an awaiting task (the cluster's background loops).
enum CoordReply {
    Blocking(Reply<Rows>),
    Async(tokio::sync::oneshot::Sender<Result<Rows, StoreError>>),
}

impl CoordReply {
    fn send(self, r: Result<Rows, StoreError>) {
        match self {
            CoordReply::Blocking(tx) => {
                let _ = tx.send(r);
            }
            CoordReply::Async(tx) => {
                let _ = tx.send(r);
            }
        }
    }
}

enum Request {
    Write(WriteJob),
    /// A statement of the cluster (docs/scale-out.md) on the coordination session.
    Coord {
        sql: String,
        params: SqlParams,
        reply: CoordReply,
    },
    Get(Vec<u8>, Reply<Option<Vec<u8>>>),
    /// Keys `>= from` and `< below`, in key order or (`backward`) greatest first.
    Range {
        from: Vec<u8>,
        below: Option<Vec<u8>>,
        limit: Option<i64>,
        backward: bool,
        reply: Reply<Vec<Pair>>,
    },
}

/// A [`KvStore`] in a PostgreSQL database. See the module docs.
pub struct PgStore {
    requests: Option<mpsc::UnboundedSender<Request>>,
    worker: Option<std::thread::JoinHandle<()>>,
    display: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("url", &self.display)
            .finish()
    }
}

impl PgStore {
    /// Connect to the database at `url`; as an engine, create or migrate the schema and open
    /// the writing, reading and coordination sessions; as a reader, check that a schema this build reads is there.
    pub fn open(url: &str, options: &PgOptions) -> Result<PgStore, StoreError> {
        let display = redact_url(url);
        let mut config: Config = url.parse().map_err(|e| StoreError::Open {
            path: display.clone(),
            message: format!("not a PostgreSQL URL ({e})"),
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("chainsched");
        }
        let (requests, inbox) = mpsc::unbounded_channel();
        let (ready_tx, ready_rx) = std_mpsc::sync_channel(1);
        let setup = Setup {
            config,
            options: options.clone(),
            display: display.clone(),
            connections: std::sync::Mutex::new(Vec::new()),
        };
        let worker = std::thread::Builder::new()
            .name("chainsched-pg".into())
            .spawn(move || worker(setup, inbox, ready_tx))
            .map_err(|e| StoreError::Open {
                path: display.clone(),
                message: format!("cannot start the connection thread: {e}"),
            })?;
        let ready = ready_rx.recv().unwrap_or_else(|_| {
            Err(StoreError::Open {
                path: display.clone(),
                message: "the connection thread stopped while connecting".into(),
            })
        });
        let store = PgStore {
            requests: Some(requests),
            worker: Some(worker),
            display,
        };
        ready.map(|()| store)
    }

    /// The database's URL, password hidden.
    pub fn display(&self) -> &str {
        &self.display
    }

    fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> Result<T, StoreError> {
        let gone = || StoreError::Io(format!("the connection to {} is closed", self.display));
        let (tx, rx) = std_mpsc::sync_channel(1);
        self.requests
            .as_ref()
            .ok_or_else(gone)?
            .send(make(tx))
            .map_err(|_| gone())?;
        rx.recv().map_err(|_| gone())?
    }

    /// Run one statement of the cluster's protocol (heartbeat, lease claims, events, forwarded
    /// requests) on the coordination session, blocking until it is done. It is its own
    /// transaction (autocommit): every protocol step is written as one statement.
    pub fn coord(&self, sql: &str, params: SqlParams) -> Result<Rows, StoreError> {
        let sql = sql.to_string();
        self.ask(|reply| Request::Coord {
            sql,
            params,
            reply: CoordReply::Blocking(reply),
        })
    }

    /// [`PgStore::coord`] for async callers.
    pub async fn coord_async(&self, sql: &str, params: SqlParams) -> Result<Rows, StoreError> {
        let gone = || StoreError::Io(format!("the connection to {} is closed", self.display));
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.requests
            .as_ref()
            .ok_or_else(gone)?
            .send(Request::Coord {
                sql: sql.to_string(),
                params,
                reply: CoordReply::Async(tx),
            })
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }

    fn range(
        &self,
        from: Vec<u8>,
        below: Option<Vec<u8>>,
        limit: Option<i64>,
        backward: bool,
    ) -> Result<Vec<Pair>, StoreError> {
        self.ask(|reply| Request::Range {
            from,
            below,
            limit,
            backward,
            reply,
        })
    }
}

impl Drop for PgStore {
    /// Close the connections and wait for the thread, so an engine's lock is released when its
    /// store is dropped (a new engine in the same process can take it right away).
    fn drop(&mut self) {
        self.requests.take();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

impl KvStore for PgStore {
    fn apply(&self, batch: WriteBatch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let fence = batch.fence;
        // One statement writes the batch: the last write of each key wins, as if the writes
        // were applied in order (a key cannot be both deleted and inserted by it).
        let mut last: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        for op in batch.ops {
            match op {
                WriteOp::Put(k, v) => last.insert(k, Some(v)),
                WriteOp::Delete(k) => last.insert(k, None),
            };
        }
        let mut deletes = Vec::new();
        let mut puts = Vec::new();
        for (k, v) in last {
            match v {
                Some(v) => puts.push((k, v)),
                None => deletes.push(k),
            }
        }
        self.ask(|reply| {
            Request::Write(WriteJob {
                deletes,
                puts,
                fence,
                reply,
            })
        })
    }

    /// Nothing to do: [`KvStore::apply`] returns once its transaction has committed, and a
    /// committed transaction is durable (module docs).
    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let key = key.to_vec();
        self.ask(|reply| Request::Get(key, reply))
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<Pair>, StoreError> {
        self.range(prefix.to_vec(), prefix_successor(prefix), None, false)
    }

    fn shared(&self) -> Option<&PgStore> {
        Some(self)
    }

    fn scan_from(&self, prefix: &[u8], from: &[u8], limit: usize) -> Result<Vec<Pair>, StoreError> {
        if limit == 0 {
            return Ok(vec![]);
        }
        let start = std::cmp::max(prefix, from).to_vec();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.range(start, prefix_successor(prefix), Some(limit), false)
    }

    fn last_with_prefix(&self, prefix: &[u8]) -> Result<Option<Pair>, StoreError> {
        Ok(self
            .range(prefix.to_vec(), prefix_successor(prefix), Some(1), true)?
            .pop())
    }

    /// One indexed backward range read of at most `limit` rows (`ORDER BY key DESC LIMIT n`).
    fn scan_back(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Pair>, StoreError> {
        let below = super::memory::bounded_end(prefix, before);
        if limit == 0 || below.as_deref().is_some_and(|b| b <= prefix) {
            return Ok(vec![]);
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.range(prefix.to_vec(), below, Some(limit), true)
    }
}

// ---- the connection thread ----

struct Setup {
    config: Config,
    options: PgOptions,
    display: String,
    /// The tasks driving the connections, awaited at close so the sessions end (and the
    /// server sees them gone) before the store's thread returns.
    connections: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

/// The prepared statements of one connection.
struct Statements {
    get: Statement,
    range: Statement,
    range_open: Statement,
    back: Statement,
    back_open: Statement,
}

/// A fenced batch ([`Fence`]): the leases of every job it writes are locked in job order (the
/// order the heartbeat's renewal locks them in, so the two never deadlock; `FOR SHARE`: a
/// takeover's `UPDATE` waits for this statement, and one that committed first is seen by READ
/// COMMITTED's re-check of the locked row) and checked — owner, epoch, not expired —; the
/// writes and the released leases happen only if every one is held. Returns whether they
/// were, and the jobs whose lease was.
const FENCED_WRITE_SQL: &str = "WITH fence AS ( \
        SELECT l.job FROM chainsched_leases l \
        JOIN unnest($4::text[], $5::int8[]) AS f(job, epoch) ON l.job = f.job AND l.epoch = f.epoch \
        WHERE l.owner = $6 AND l.expires_at > now() ORDER BY l.job FOR SHARE OF l), \
    held AS (SELECT count(*) = cardinality($4::text[]) AS ok, array_agg(job) AS jobs FROM fence), \
    gone AS (DELETE FROM chainsched_kv WHERE key = ANY($1) AND (SELECT ok FROM held)), \
    released AS (DELETE FROM chainsched_leases WHERE job = ANY($7::text[]) AND owner = $6 \
        AND (SELECT ok FROM held)), \
    put AS (INSERT INTO chainsched_kv (key, value) SELECT k, v FROM unnest($2::bytea[], $3::bytea[]) \
        AS t(k, v) WHERE (SELECT ok FROM held) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value) \
    SELECT ok, jobs FROM held";

const WRITE_SQL: &str = "WITH gone AS (DELETE FROM chainsched_kv WHERE key = ANY($1)) \
    INSERT INTO chainsched_kv (key, value) SELECT k, v FROM unnest($2::bytea[], $3::bytea[]) \
    AS t(k, v) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value";

/// A PostgreSQL error as one line: the server's message (with its detail and hint) when there
/// is one, else the client's error and its causes.
pub fn pg_error_text(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut text = format!("{} (SQLSTATE {})", db.message(), db.code().code());
        if let Some(d) = db.detail() {
            text.push_str(&format!("; {d}"));
        }
        if let Some(h) = db.hint() {
            text.push_str(&format!("; hint: {h}"));
        }
        return text;
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(&format!(": {more}"));
        }
        source = s.source();
    }
    text
}

impl Setup {
    fn open_error(&self, message: String) -> StoreError {
        StoreError::Open {
            path: self.display.clone(),
            message,
        }
    }

    async fn connect(&self) -> Result<Client, StoreError> {
        let connecting =
            tokio::time::timeout(self.options.request_timeout, self.config.connect(NoTls));
        let (client, connection) = match connecting.await {
            Ok(Ok(pair)) => pair,
            Ok(Err(e)) => return Err(self.open_error(pg_error_text(&e))),
            Err(_) => return Err(self.open_error("timed out while connecting".into())),
        };
        let db_name = self.display.clone();
        let driving = tokio::spawn(async move {
            if let Err(e) = connection.await {
                let error = pg_error_text(&e);
                tracing::error!(db = %db_name, %error, "the connection to PostgreSQL failed");
            }
        });
        self.connections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(driving);
        Ok(client)
    }

    /// Refuse a server the engine's fencing is not verified on.
    async fn check_server(&self, client: &Client) -> Result<(), StoreError> {
        let version: String = client
            .query_one("SELECT version()", &[])
            .await
            .map_err(|e| self.open_error(pg_error_text(&e)))?
            .get(0);
        match lock_not_trusted(&version) {
            Some(why) => Err(self.open_error(why.into())),
            None => Ok(()),
        }
    }

    /// The schema version recorded in the database (`None`: no chainsched schema).
    async fn schema_version(
        &self,
        client: &impl tokio_postgres::GenericClient,
    ) -> Result<Option<i32>, StoreError> {
        let exists: bool = client
            // Not to_regclass(): it answers from the session's catalog cache, which keeps a
            // "no such table" from before another engine's migration committed.
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables \
                 WHERE tablename = 'chainsched_schema' AND schemaname = current_schema())",
                &[],
            )
            .await
            .map_err(|e| self.open_error(pg_error_text(&e)))?
            .get(0);
        if !exists {
            return Ok(None);
        }
        let version: Option<i32> = client
            .query_one("SELECT max(version) FROM chainsched_schema", &[])
            .await
            .map_err(|e| self.open_error(pg_error_text(&e)))?
            .get(0);
        Ok(Some(version.unwrap_or(0)))
    }

    fn too_new(&self, found: i32) -> StoreError {
        StoreError::SchemaVersion {
            path: self.display.clone(),
            found,
            known: SCHEMA_VERSION,
        }
    }

    /// Create or migrate the schema (engine only), in one transaction that holds the
    /// migration lock, so engines starting together migrate once.
    async fn migrate(&self, client: &mut Client) -> Result<(), StoreError> {
        match self.schema_version(client).await? {
            Some(v) if v > SCHEMA_VERSION => return Err(self.too_new(v)),
            Some(v) if v == SCHEMA_VERSION => return Ok(()),
            _ => {}
        }
        let sql_error = |e: tokio_postgres::Error| {
            self.open_error(format!(
                "cannot create or migrate the chainsched schema: {}",
                pg_error_text(&e)
            ))
        };
        let tx = client.transaction().await.map_err(sql_error)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&ENGINE_LOCK_KEY])
            .await
            .map_err(sql_error)?;
        // Read again under the lock: another engine may have migrated meanwhile.
        let found = self.schema_version(&tx).await?;
        match found {
            Some(v) if v > SCHEMA_VERSION => return Err(self.too_new(v)),
            Some(v) if v == SCHEMA_VERSION => return Ok(()),
            _ => {}
        }
        let from = found.unwrap_or(0);
        tx.batch_execute("CREATE TABLE IF NOT EXISTS chainsched_schema (version integer NOT NULL)")
            .await
            .map_err(sql_error)?;
        for m in MIGRATIONS.iter().filter(|m| m.version > from) {
            tx.batch_execute(m.sql).await.map_err(sql_error)?;
            tracing::info!(db = %self.display, version = m.version, what = m.what, "migrated the chainsched schema");
        }
        tx.execute("DELETE FROM chainsched_schema", &[])
            .await
            .map_err(sql_error)?;
        tx.execute(
            "INSERT INTO chainsched_schema (version) VALUES ($1)",
            &[&SCHEMA_VERSION],
        )
        .await
        .map_err(sql_error)?;
        tx.commit().await.map_err(sql_error)
    }

    /// Check the schema a reader finds.
    async fn check_readable(&self, client: &Client) -> Result<(), StoreError> {
        match self.schema_version(client).await? {
            None => Err(self.open_error(
                "no chainsched store in this database (an engine creates it: `chainsched run`, \
                 `resume` or `serve` with this --db)"
                    .into(),
            )),
            Some(v) if v > SCHEMA_VERSION => Err(self.too_new(v)),
            Some(v) if v < SCHEMA_VERSION => Err(self.open_error(format!(
                "its chainsched schema is version {v}, this chainsched reads version \
                 {SCHEMA_VERSION}; open it once with an engine of this version (`chainsched \
                 resume --db …`) to migrate it"
            ))),
            Some(_) => Ok(()),
        }
    }

    async fn prepare(&self, client: &Client) -> Result<Statements, StoreError> {
        let p = |sql: &'static str, types: &'static [Type]| async move {
            client
                .prepare_typed(sql, types)
                .await
                .map_err(|e| self.open_error(pg_error_text(&e)))
        };
        const B: Type = Type::BYTEA;
        const I: Type = Type::INT8;
        Ok(Statements {
            get: p("SELECT value FROM chainsched_kv WHERE key = $1", &[B]).await?,
            range: p(
                "SELECT key, value FROM chainsched_kv WHERE key >= $1 AND key < $2 \
                 ORDER BY key LIMIT $3",
                &[B, B, I],
            )
            .await?,
            range_open: p(
                "SELECT key, value FROM chainsched_kv WHERE key >= $1 ORDER BY key LIMIT $2",
                &[B, I],
            )
            .await?,
            back: p(
                "SELECT key, value FROM chainsched_kv WHERE key >= $1 AND key < $2 \
                 ORDER BY key DESC LIMIT $3",
                &[B, B, I],
            )
            .await?,
            back_open: p(
                "SELECT key, value FROM chainsched_kv WHERE key >= $1 ORDER BY key DESC LIMIT $2",
                &[B, I],
            )
            .await?,
        })
    }

    /// Everything done before the first request: connections, lock, schema, statements.
    async fn start(&self) -> Result<(Option<Writer>, Reader), StoreError> {
        match self.options.access {
            PgAccess::Read => {
                let client = self.connect().await?;
                self.check_readable(&client).await?;
                let statements = self.prepare(&client).await?;
                Ok((
                    None,
                    Reader {
                        client: Arc::new(client),
                        statements: Arc::new(statements),
                        coord: None,
                    },
                ))
            }
            PgAccess::Engine => {
                let mut writer = self.connect().await?;
                self.check_server(&writer).await?;
                if !self.options.synchronous_commit {
                    writer
                        .batch_execute("SET synchronous_commit = off")
                        .await
                        .map_err(|e| self.open_error(pg_error_text(&e)))?;
                }
                self.migrate(&mut writer).await?;
                let write = writer
                    .prepare_typed(
                        WRITE_SQL,
                        &[Type::BYTEA_ARRAY, Type::BYTEA_ARRAY, Type::BYTEA_ARRAY],
                    )
                    .await
                    .map_err(|e| self.open_error(pg_error_text(&e)))?;
                let fenced = writer
                    .prepare_typed(
                        FENCED_WRITE_SQL,
                        &[
                            Type::BYTEA_ARRAY,
                            Type::BYTEA_ARRAY,
                            Type::BYTEA_ARRAY,
                            Type::TEXT_ARRAY,
                            Type::INT8_ARRAY,
                            Type::TEXT,
                            Type::TEXT_ARRAY,
                        ],
                    )
                    .await
                    .map_err(|e| self.open_error(pg_error_text(&e)))?;
                let reading = self.connect().await?;
                let statements = self.prepare(&reading).await?;
                let coordinating = self.connect().await?;
                // The cluster's statements need not wait for their own WAL flush: whatever
                // acts on them — the batch that writes a started job, the first fenced write
                // of a job taken over — is a synchronous commit, which flushes the WAL up to
                // its own record and so every earlier record with it. A server crash can lose
                // only coordination nothing durable depends on yet (a heartbeat, an event no
                // engine has acted on). Without this, each start paid a second fsync.
                coordinating
                    .batch_execute("SET synchronous_commit = off")
                    .await
                    .map_err(|e| self.open_error(pg_error_text(&e)))?;
                Ok((
                    Some(Writer {
                        client: writer,
                        write,
                        fenced,
                        failed: None,
                    }),
                    Reader {
                        client: Arc::new(reading),
                        statements: Arc::new(statements),
                        coord: Some(Arc::new(coordinating)),
                    },
                ))
            }
        }
    }
}

struct Writer {
    client: Client,
    write: Statement,
    fenced: Statement,
    /// Set once a write failed in a way that leaves its outcome in doubt
    /// (connection lost, timeout): every later write is refused with this reason.
    failed: Option<String>,
}

#[derive(Clone)]
struct Reader {
    client: Arc<Client>,
    statements: Arc<Statements>,
    /// The coordination session (engines only).
    coord: Option<Arc<Client>>,
}

fn worker(
    setup: Setup,
    mut inbox: mpsc::UnboundedReceiver<Request>,
    ready: std_mpsc::SyncSender<Result<(), StoreError>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(
                setup.open_error(format!("cannot start the connection thread's runtime: {e}"))
            ));
            return;
        }
    };
    runtime.block_on(async move {
        let (writer, reader) = match setup.start().await {
            Ok(pair) => pair,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        let _ = ready.send(Ok(()));
        let setup = Arc::new(setup);
        // Writes are carried out one after the other by their own task, in arrival order;
        // reads are spawned at once and pipelined on the reading connection.
        let (write_tx, write_rx) = mpsc::unbounded_channel();
        let writing = tokio::spawn(write_loop(setup.clone(), writer, write_rx));
        let mut reads = tokio::task::JoinSet::new();
        while let Some(request) = inbox.recv().await {
            match request {
                Request::Write(job) => {
                    if let Err(mpsc::error::SendError(job)) = write_tx.send(job) {
                        let _ = job
                            .reply
                            .send(Err(StoreError::Io("the store's writer has stopped".into())));
                    }
                }
                read => {
                    let reader = reader.clone();
                    let setup = setup.clone();
                    reads.spawn(async move { serve_read(&setup, &reader, read).await });
                }
            }
            // Reap finished reads so the set does not grow.
            while reads.try_join_next().is_some() {}
        }
        drop(write_tx);
        let _ = writing.await;
        while reads.join_next().await.is_some() {}
        // Dropping the clients ends their sessions; wait
        // for that, briefly.
        drop(reader);
        let connections =
            std::mem::take(&mut *setup.connections.lock().unwrap_or_else(|p| p.into_inner()));
        for c in connections {
            let _ = tokio::time::timeout(Duration::from_secs(2), c).await;
        }
    });
}

async fn write_loop(
    setup: Arc<Setup>,
    mut writer: Option<Writer>,
    mut rx: mpsc::UnboundedReceiver<WriteJob>,
) {
    while let Some(WriteJob {
        deletes,
        puts,
        fence,
        reply,
    }) = rx.recv().await
    {
        let result = match writer.as_mut() {
            None => Err(StoreError::Io(format!(
                "{} is open for reading only (views and checks do not write)",
                setup.display
            ))),
            Some(w) => w.write(&setup, deletes, puts, fence).await,
        };
        let _ = reply.send(result);
    }
}

impl Writer {
    async fn write(
        &mut self,
        setup: &Setup,
        deletes: Vec<Vec<u8>>,
        puts: Vec<Pair>,
        fence: Option<Fence>,
    ) -> Result<(), StoreError> {
        if let Some(why) = &self.failed {
            return Err(StoreError::Io(why.clone()));
        }
        let (keys, values): (Vec<Vec<u8>>, Vec<Vec<u8>>) = puts.into_iter().unzip();
        // A statement PostgreSQL rolled back to break a deadlock, or for a serialization
        // failure, wrote nothing and may simply run again.
        let mut attempts = 0;
        let outcome = loop {
            attempts += 1;
            let outcome = match &fence {
                None => {
                    let params: [&(dyn ToSql + Sync); 3] = [&deletes, &keys, &values];
                    let running = self.client.execute(&self.write, &params);
                    tokio::time::timeout(setup.options.request_timeout, running)
                        .await
                        .map(|r| r.map(|_| None))
                }
                Some(f) => {
                    let (jobs, epochs): (Vec<&str>, Vec<i64>) =
                        f.hold.iter().map(|(j, e)| (j.as_str(), *e)).unzip();
                    let params: [&(dyn ToSql + Sync); 7] = [
                        &deletes, &keys, &values, &jobs, &epochs, &f.owner, &f.release,
                    ];
                    let running = self.client.query_one(&self.fenced, &params);
                    tokio::time::timeout(setup.options.request_timeout, running)
                        .await
                        .map(|r| {
                            r.map(|row| {
                                let ok: bool = row.get(0);
                                let held: Option<Vec<String>> = row.get(1);
                                (!ok).then(|| held.unwrap_or_default())
                            })
                        })
                }
            };
            let retry = matches!(&outcome, Ok(Err(e)) if attempts < 4 && e.code().is_some_and(|c| {
                *c == tokio_postgres::error::SqlState::T_R_DEADLOCK_DETECTED
                    || *c == tokio_postgres::error::SqlState::T_R_SERIALIZATION_FAILURE
            }));
            if !retry {
                break outcome;
            }
            tracing::warn!(attempt = attempts, "a store write was rolled back by PostgreSQL (deadlock or serialization failure); writing it again");
        };
        let why = match outcome {
            Ok(Ok(None)) => return Ok(()),
            Ok(Ok(Some(held))) => {
                let lost: Vec<&str> = fence
                    .iter()
                    .flat_map(|f| f.hold.iter())
                    .map(|(j, _)| j.as_str())
                    .filter(|j| !held.iter().any(|h| h == j))
                    .collect();
                return Err(StoreError::LeaseLost(format!(
                    "this engine no longer holds the lease of {}; nothing of the batch was \
                     written",
                    lost.join(", ")
                )));
            }
            // The server refused the statement and rolled it back: nothing was written, the
            // session (and its lock) is intact.
            Ok(Err(e)) if e.as_db_error().is_some() && !self.client.is_closed() => {
                return Err(StoreError::Io(format!(
                    "PostgreSQL refused a write to {}: {}",
                    setup.display,
                    pg_error_text(&e)
                )))
            }
            Ok(Err(e)) => format!(
                "the connection to {} was lost during a write ({}); whether that write \
                 committed is unknown and this engine's lock on the database is gone, so it \
                 writes nothing more (run `chainsched resume` to go on)",
                setup.display,
                pg_error_text(&e)
            ),
            Err(_) => format!(
                "a write to {} did not finish within {} s; whether it committed is unknown, so \
                 this engine writes nothing more (run `chainsched resume` to go on)",
                setup.display,
                setup.options.request_timeout.as_secs()
            ),
        };
        self.failed = Some(why.clone());
        Err(StoreError::Io(why))
    }
}

async fn serve_read(setup: &Setup, reader: &Reader, request: Request) {
    let timeout = setup.options.request_timeout;
    let failed = |e: tokio_postgres::Error| {
        StoreError::Io(format!(
            "cannot read from {}: {}",
            setup.display,
            pg_error_text(&e)
        ))
    };
    let late = || {
        StoreError::Io(format!(
            "a read from {} did not finish within {} s",
            setup.display,
            timeout.as_secs()
        ))
    };
    let s = &reader.statements;
    let c = &reader.client;
    match request {
        Request::Get(key, reply) => {
            let result = match tokio::time::timeout(timeout, c.query_opt(&s.get, &[&key])).await {
                Ok(Ok(row)) => Ok(row.map(|r| r.get::<_, Vec<u8>>(0))),
                Ok(Err(e)) => Err(failed(e)),
                Err(_) => Err(late()),
            };
            let _ = reply.send(result);
        }
        Request::Range {
            from,
            below,
            limit,
            backward,
            reply,
        } => {
            let (statement, params): (&Statement, Vec<&(dyn ToSql + Sync)>) =
                match (&below, backward) {
                    (Some(b), false) => (&s.range, vec![&from, b, &limit]),
                    (None, false) => (&s.range_open, vec![&from, &limit]),
                    (Some(b), true) => (&s.back, vec![&from, b, &limit]),
                    (None, true) => (&s.back_open, vec![&from, &limit]),
                };
            let rows = c.query(statement, &params);
            let result = match tokio::time::timeout(timeout, rows).await {
                Ok(Ok(rows)) => Ok(rows
                    .into_iter()
                    .map(|r| (r.get::<_, Vec<u8>>(0), r.get::<_, Vec<u8>>(1)))
                    .collect()),
                Ok(Err(e)) => Err(failed(e)),
                Err(_) => Err(late()),
            };
            let _ = reply.send(result);
        }
        Request::Write(job) => {
            let _ = job
                .reply
                .send(Err(StoreError::Io("a write reached the reader".into())));
        }
        Request::Coord { sql, params, reply } => {
            // Readers (the engines view) run their SELECTs on the reading session.
            let coord = reader.coord.as_ref().unwrap_or(&reader.client);
            let refs: Vec<&(dyn ToSql + Sync)> = params
                .iter()
                .map(|p| p.as_ref() as &(dyn ToSql + Sync))
                .collect();
            let result = match tokio::time::timeout(timeout, coord.query(sql.as_str(), &refs)).await
            {
                Ok(Ok(rows)) => Ok(rows),
                Ok(Err(e)) => Err(StoreError::Io(format!(
                    "a coordination statement on {} failed: {}",
                    setup.display,
                    pg_error_text(&e)
                ))),
                Err(_) => Err(late()),
            };
            reply.send(result);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_successor_bounds_exactly_the_keys_with_the_prefix() {
        assert_eq!(prefix_successor(b"log/"), Some(b"log0".to_vec()));
        assert_eq!(prefix_successor(b"a\xFF"), Some(b"b".to_vec()));
        assert_eq!(prefix_successor(b"a\xFE\xFF\xFF"), Some(b"a\xFF".to_vec()));
        assert_eq!(prefix_successor(b"\xFF\xFF"), None);
        assert_eq!(prefix_successor(b""), None);
        // Every key with the prefix is below the successor, the successor itself is not.
        let p = b"js/J\x00".to_vec();
        let s = prefix_successor(&p).unwrap();
        for tail in [&b""[..], b"\x00", b"\xFF\xFF\xFF"] {
            let mut k = p.clone();
            k.extend_from_slice(tail);
            assert!(k < s);
        }
        assert!(!s.starts_with(&p));
    }

    #[test]
    fn urls_are_recognised_and_passwords_hidden() {
        assert!(is_postgres_url("postgres://u@h:5432/d"));
        assert!(is_postgres_url("postgresql://u@h/d"));
        assert!(is_postgres_url("PostgreSQL://u@h/d"));
        assert!(!is_postgres_url("./chainsched-data"));
        assert!(!is_postgres_url("/var/lib/postgres://x"));
        assert_eq!(
            redact_url("postgres://u:s3cret@h:5432/d"),
            "postgres://u:***@h:5432/d"
        );
        assert_eq!(
            redact_url("postgres://u@h/d?password=x&sslmode=disable"),
            "postgres://u@h/d?password=***&sslmode=disable"
        );
        assert_eq!(redact_url("postgres://u@h/d"), "postgres://u@h/d");
        assert_eq!(redact_url("postgres://h/d?a=b"), "postgres://h/d?a=b");
    }

    #[test]
    fn an_engine_refuses_cockroachdb_where_its_fencing_is_not_verified() {
        assert!(lock_not_trusted(
            "PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on x86_64-pc-linux-gnu"
        )
        .is_none());
        let why = lock_not_trusted("CockroachDB CCL v23.1.11 (x86_64-pc-linux-gnu, built …)")
            .unwrap_or_default();
        assert!(why.contains("not verified"), "{why}");
    }

    #[test]
    fn a_bad_url_is_refused_before_any_connection() {
        let err = PgStore::open("postgres://u@h:notaport/d", &PgOptions::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a PostgreSQL URL"), "{err}");
    }
}
