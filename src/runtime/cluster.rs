//! Several engines on one PostgreSQL database: membership, job leases, fencing, takeover,
//! events and requests between engines (docs/scale-out.md).
//!
//! Why here and not in the store: the store stays a key-value trait with one extra duty — a
//! batch may carry a [`Fence`] that the PostgreSQL store checks in the transaction that writes
//! it. Everything else about sharing a database is the runtime's business and lives in this
//! module, written against the database's own guarantees (row locks, `SKIP LOCKED`, one
//! statement = one transaction, `now()` of the server) rather than a coordination scheme of its
//! own:
//!
//! * **Membership.** An engine registers a row in `chainsched_engines` with a random id and a
//!   *slot* (the smallest free one below [`MAX_ENGINES`]; the slot makes its job-log ids
//!   disjoint from every other engine's, see `Core::set_log_id_slot`), and refreshes its
//!   heartbeat with every lease renewal.
//! * **Leases.** Each unfinished job has a row `(job, owner, epoch, expires_at)`. The engine
//!   that starts a job inserts it (the insert is also what makes a job name unique across
//!   engines); the heartbeat task renews every lease the engine holds (`expires_at = now() +
//!   lease`) every `lease / 5`. A renewal that finds a lease gone or expired, or no renewal for
//!   longer than the lease's safety margin, means this engine may no longer act: it stops.
//! * **Fencing.** Every batch the engine writes carries the leases (job, epoch) of the jobs it
//!   writes; the store writes nothing unless all of them are held, unexpired, at that epoch.
//! * **The deadline.** With each renewal the guardian process is told to kill every step
//!   process group unless a newer renewal arrives within `lease × 0.8` measured from *before*
//!   the renewal statement was sent. A paused engine (SIGSTOP, a VM stall) cannot kill its
//!   steps; its guardian, another process, does so before the lease can expire for the
//!   others. The actor refuses to commit once the deadline has passed.
//! * **Takeover.** Engines that adopt work (`serve`, `resume`) claim expired leases with one
//!   `UPDATE … WHERE job IN (SELECT … WHERE expires_at < now() … FOR UPDATE SKIP LOCKED)`
//!   that bumps the epoch; the claimed jobs are recovered exactly as `resume` recovers them.
//! * **Events** are rows of `chainsched_events`, polled by every engine; **requests** for a job
//!   another engine owns (stop, alter, evaluate, …) are rows of `chainsched_requests` that the
//!   owner answers; a **scheduled occurrence** is started by the engine whose insert into
//!   `chainsched_fired` succeeds.

use super::actor::{Accepted, Msg};
use super::error::EngineError;
use super::executor::Launcher;
use crate::core::types::{CoreError, Input};
use crate::store::pg_store::{PgStore, SqlParams};
use crate::store::records::json_from_slice;
use crate::store::{ChainStore, Fence, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// At most this many engines share one database at a time (job-log ids interleave by slot).
pub const MAX_ENGINES: u64 = 64;

/// The default lease of a job.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(10);

/// What an engine does in the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterOptions {
    /// How long a lease lasts without renewal (default 10 s). Takeover waits for it.
    pub lease: Duration,
    /// Whether this engine takes over the jobs of engines that died (`serve`, `resume`);
    /// `run` and the control commands only own what they start.
    pub adopt: bool,
    /// What the engines view calls it: `serve`, `run`, `resume`, `control`.
    pub role: String,
    /// Where its HTTP API listens, for the engines view.
    pub address: Option<String>,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            lease: DEFAULT_LEASE,
            adopt: false,
            role: "engine".into(),
            address: None,
        }
    }
}

/// This engine's membership of the cluster. Shared by the actor (which claims names, fences
/// its batches and releases ended jobs, all from its synchronous turn) and the background
/// tasks (heartbeat, claims, events, requests).
pub(crate) struct Cluster {
    store: ChainStore,
    pub id: String,
    pub slot: u64,
    pub options: ClusterOptions,
    /// Jobs this engine holds a lease on, with the lease's epoch.
    leases: Mutex<HashMap<String, i64>>,
    /// Placement keys (`group:G`, `serialize:DEF`) this engine is the home of: every job
    /// with that key runs here, so one core enforces the group's limit.
    homes: Mutex<HashSet<String>>,
    /// Until when this engine may act (renewal start + lease × 0.8).
    deadline: Mutex<Instant>,
    /// Set once the engine stopped: the background tasks end.
    stopped: AtomicBool,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("id", &self.id)
            .field("slot", &self.slot)
            .finish()
    }
}

fn p<T: tokio_postgres::types::ToSql + Sync + Send + 'static>(
    v: T,
) -> Box<dyn tokio_postgres::types::ToSql + Sync + Send> {
    Box::new(v)
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A random engine id: 16 hex digits from the kernel's random source (not a clock: two engines
/// started in the same instant on two machines must differ).
fn random_id() -> String {
    let mut bytes = [0u8; 8];
    let got = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
    if got.is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes = ((t as u64) ^ (u64::from(std::process::id()) << 32)).to_be_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// The shared database behind `store`, or why there is none.
fn shared(store: &ChainStore) -> Result<&PgStore, StoreError> {
    store
        .kv()
        .shared()
        .ok_or_else(|| StoreError::Io("this store is not shared by engines".into()))
}

impl Cluster {
    fn pg(&self) -> Result<&PgStore, StoreError> {
        shared(&self.store)
    }

    /// Register this engine: evict engines whose heartbeat is older than three of their
    /// leases (dead; their leases have long expired), then take the smallest free slot.
    pub fn join(store: ChainStore, options: ClusterOptions) -> Result<Cluster, StoreError> {
        let pg = shared(&store)?;
        let id = random_id();
        pg.coord(
            "DELETE FROM chainsched_engines \
             WHERE heartbeat < now() - 3 * lease_ms * interval '1 millisecond'",
            vec![],
        )?;
        let mut slot = None;
        for _ in 0..20 {
            let rows = pg.coord(
                "INSERT INTO chainsched_engines (id, slot, host, pid, role, address, lease_ms) \
                 SELECT $1, s, $2, $3, $4, $5, $6 FROM generate_series(0, $7::int - 1) AS s \
                 WHERE s NOT IN (SELECT slot FROM chainsched_engines) ORDER BY s LIMIT 1 \
                 ON CONFLICT DO NOTHING RETURNING slot",
                vec![
                    p(id.clone()),
                    p(hostname()),
                    p(std::process::id() as i32),
                    p(options.role.clone()),
                    p(options.address.clone()),
                    p(ms(options.lease)),
                    p(MAX_ENGINES as i32),
                ],
            )?;
            if let Some(r) = rows.first() {
                slot = Some(r.get::<_, i32>(0) as u64);
                break;
            }
            let live: i64 = pg
                .coord("SELECT count(*) FROM chainsched_engines", vec![])?
                .first()
                .map_or(0, |r| r.get(0));
            if live as u64 >= MAX_ENGINES {
                return Err(StoreError::Io(format!(
                    "{live} engines already share this database (at most {MAX_ENGINES})"
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let slot = slot.ok_or_else(|| {
            StoreError::Io("could not register this engine in chainsched_engines".into())
        })?;
        tracing::info!(engine = %id, slot, role = %options.role, "joined the engines sharing the database");
        let lease = options.lease;
        Ok(Cluster {
            store,
            id,
            slot,
            options,
            leases: Mutex::new(HashMap::new()),
            homes: Mutex::new(HashSet::new()),
            deadline: Mutex::new(Instant::now() + lease.mul_f64(0.8)),
            stopped: AtomicBool::new(false),
        })
    }

    fn leases(&self) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
        self.leases.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether this engine holds the lease of `job`.
    pub fn holds(&self, job: &str) -> bool {
        self.leases().contains_key(job)
    }

    /// Whether the engine may still act (its last renewal's deadline has not passed).
    pub fn in_time(&self) -> bool {
        Instant::now() < *self.deadline.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The engine where jobs with placement key `key` run: this one if it is (or has just
    /// become, the key having no live home) their home, else the live home's id.
    pub fn home_of(&self, key: &str) -> Result<String, StoreError> {
        if self.homes().contains(key) {
            return Ok(self.id.clone());
        }
        // A home inserted concurrently by another engine is invisible to this statement's
        // snapshot (its insert waited for it, then did nothing): the next statement sees it.
        let mut owner = None;
        for _ in 0..5 {
            let rows = self.pg()?.coord(
                HOME_SQL,
                vec![
                    p(key.to_string()),
                    p(self.id.clone()),
                    p(ms(self.options.lease)),
                ],
            )?;
            if let Some(r) = rows.first() {
                owner = Some(r.get::<_, String>(0));
                break;
            }
        }
        let owner = owner.ok_or_else(|| StoreError::Io(format!("no home for {key}")))?;
        if owner == self.id {
            self.homes().insert(key.to_string());
        }
        Ok(owner)
    }

    fn homes(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.homes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Claim the name of a job this engine starts: insert its lease (with its placement key,
    /// so that only that key's home takes it over). `Ok(false)`: another engine runs a job of
    /// that name.
    pub fn claim_job(&self, job: &str) -> Result<bool, StoreError> {
        self.claim_job_at(job, None)
    }

    pub fn claim_job_at(&self, job: &str, affinity: Option<&str>) -> Result<bool, StoreError> {
        let rows = self.pg()?.coord(
            "INSERT INTO chainsched_leases (job, owner, epoch, expires_at, affinity) \
             VALUES ($1, $2, 1, now() + $3::bigint * interval '1 millisecond', $4) \
             ON CONFLICT (job) DO NOTHING RETURNING epoch",
            vec![
                p(job.to_string()),
                p(self.id.clone()),
                p(ms(self.options.lease)),
                p(affinity.map(str::to_string)),
            ],
        )?;
        match rows.first() {
            Some(r) => {
                self.leases().insert(job.to_string(), r.get(0));
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Give up the lease of a job this engine claimed but did not start (the core refused it).
    pub fn unclaim_job(&self, job: &str) {
        let epoch = self.leases().remove(job);
        if let Some(epoch) = epoch {
            let done = self.pg().and_then(|pg| {
                pg.coord(
                    "DELETE FROM chainsched_leases WHERE job = $1 AND owner = $2 AND epoch = $3",
                    vec![p(job.to_string()), p(self.id.clone()), p(epoch)],
                )
            });
            if let Err(e) = done {
                tracing::warn!(job, "cannot give up the lease of a refused start: {e}");
            }
        }
    }

    /// The fence of a batch writing `jobs`, releasing `ended` (which are forgotten here: their
    /// leases go with the batch). A job this engine holds no lease of gets epoch -1, which
    /// never matches: such a batch is refused as a whole.
    pub fn fence(&self, jobs: &HashSet<String>, ended: &[String]) -> Fence {
        let mut leases = self.leases();
        let hold = jobs
            .iter()
            .map(|j| (j.clone(), leases.get(j).copied().unwrap_or(-1)))
            .collect();
        for j in ended {
            leases.remove(j);
        }
        Fence {
            owner: self.id.clone(),
            hold,
            release: ended.to_vec(),
        }
    }

    /// Take over up to `limit` jobs whose lease expired (their engine died or stalled), bumping
    /// each epoch. Jobs with no lease row at all (written before leases existed) are given one
    /// first. Returns the jobs now held.
    pub fn claim_expired(&self, limit: i64) -> Result<Vec<String>, StoreError> {
        let pg = self.pg()?;
        // Homes first: a group's jobs follow its home.
        let homes = pg.coord(
            "UPDATE chainsched_homes SET owner = $1, epoch = epoch + 1, \
                 expires_at = now() + $2::bigint * interval '1 millisecond' \
             WHERE key IN (SELECT key FROM chainsched_homes WHERE expires_at < now() \
                 FOR UPDATE SKIP LOCKED) RETURNING key",
            vec![p(self.id.clone()), p(ms(self.options.lease))],
        )?;
        self.homes()
            .extend(homes.into_iter().map(|r| r.get::<_, String>(0)));
        let rows = pg.coord(
            "UPDATE chainsched_leases l SET owner = $1, epoch = l.epoch + 1, \
                 expires_at = now() + $2::bigint * interval '1 millisecond' \
             WHERE l.job IN (SELECT job FROM chainsched_leases WHERE expires_at < now() \
                 AND (affinity IS NULL OR affinity IN (SELECT key FROM chainsched_homes \
                     WHERE owner = $1 AND expires_at > now())) \
                 ORDER BY expires_at LIMIT $3 FOR UPDATE SKIP LOCKED) \
             RETURNING l.job, l.epoch",
            vec![p(self.id.clone()), p(ms(self.options.lease)), p(limit)],
        )?;
        let mut leases = self.leases();
        Ok(rows
            .into_iter()
            .map(|r| {
                let job: String = r.get(0);
                leases.insert(job.clone(), r.get(1));
                job
            })
            .collect())
    }

    /// Unexpired leases of other engines: all of them, and those whose engine looks dead (no
    /// heartbeat for 0.3 of its lease — it renews every 0.2 — or gone from the engines table).
    /// `resume` waits for the dead ones to expire.
    pub fn other_leases(&self) -> Result<(i64, i64), StoreError> {
        let rows = self.pg()?.coord(
            "SELECT count(*), count(*) FILTER (WHERE e.id IS NULL \
                 OR e.heartbeat < now() - e.lease_ms * 0.3 * interval '1 millisecond') \
             FROM chainsched_leases l LEFT JOIN chainsched_engines e ON e.id = l.owner \
             WHERE l.expires_at >= now() AND l.owner <> $1",
            vec![p(self.id.clone())],
        )?;
        Ok(rows.first().map_or((0, 0), |r| (r.get(0), r.get(1))))
    }

    /// Give unfinished jobs that have no lease row one that has already expired, so that an
    /// engine adopting work takes them over (a store written by an engine of phase 1).
    pub fn adopt_orphans(&self, unfinished: Vec<String>) -> Result<(), StoreError> {
        if unfinished.is_empty() {
            return Ok(());
        }
        self.pg()?.coord(
            "INSERT INTO chainsched_leases (job, owner, epoch, expires_at) \
             SELECT j, '', 0, '-infinity' FROM unnest($1::text[]) AS j \
             ON CONFLICT (job) DO NOTHING",
            vec![p(unfinished)],
        )?;
        Ok(())
    }

    /// Renew every lease this engine holds and its heartbeat, and move the deadline (from
    /// `started`, taken before the statement was sent). Returns the jobs whose lease it found
    /// gone or expired (another engine may own them now).
    async fn renew(&self, started: Instant) -> Result<Vec<String>, StoreError> {
        let before = self.held_now();
        let rows = self
            .pg()?
            .coord_async(RENEW_SQL, self.renew_params())
            .await?;
        self.renewed(before, rows, started)
    }

    /// [`Cluster::renew`] from a thread that may block (while joining).
    pub fn renew_blocking(&self) -> Result<Vec<String>, StoreError> {
        let started = Instant::now();
        let before = self.held_now();
        let rows = self.pg()?.coord(RENEW_SQL, self.renew_params())?;
        self.renewed(before, rows, started)
    }

    fn held_now(&self) -> (Vec<String>, Vec<String>) {
        (
            self.leases().keys().cloned().collect(),
            self.homes().iter().cloned().collect(),
        )
    }

    fn renew_params(&self) -> SqlParams {
        vec![p(self.id.clone()), p(ms(self.options.lease))]
    }

    fn renewed(
        &self,
        (before, homes_before): (Vec<String>, Vec<String>),
        rows: crate::store::pg_store::Rows,
        started: Instant,
    ) -> Result<Vec<String>, StoreError> {
        let Some(row) = rows.first() else {
            return Err(StoreError::Io("the heartbeat returned nothing".into()));
        };
        let registered: i64 = row.get(0);
        if registered == 0 {
            return Err(StoreError::LeaseLost(
                "this engine's registration is gone (it was taken for dead)".into(),
            ));
        }
        let renewed: HashSet<String> = row.get::<_, Vec<String>>(1).into_iter().collect();
        let homes: HashSet<String> = row.get::<_, Vec<String>>(2).into_iter().collect();
        let mut lost: Vec<String> = {
            let now_held = self.leases();
            before
                .into_iter()
                .filter(|j| !renewed.contains(j) && now_held.contains_key(j))
                .collect()
        };
        lost.extend(
            homes_before
                .into_iter()
                .filter(|k| !homes.contains(k))
                .map(|k| format!("the home of {k}")),
        );
        if lost.is_empty() {
            *self.deadline.lock().unwrap_or_else(|p| p.into_inner()) =
                started + self.options.lease.mul_f64(0.8);
        }
        Ok(lost)
    }

    /// How long the engine may still act (time left to its deadline).
    pub fn time_left(&self) -> Duration {
        self.deadline
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .saturating_duration_since(Instant::now())
    }

    /// Record a raised event for the other engines.
    pub async fn publish_event(
        &self,
        name: &str,
        payload: &serde_json::Value,
        job: Option<&str>,
    ) -> Result<(), StoreError> {
        self.pg()?
            .coord_async(
                "INSERT INTO chainsched_events (name, payload, job, origin) VALUES ($1, $2, $3, $4)",
                vec![
                    p(name.to_string()),
                    p(payload.to_string()),
                    p(job.map(str::to_string)),
                    p(self.id.clone()),
                ],
            )
            .await?;
        Ok(())
    }

    /// Claim a scheduled occurrence: `true` for exactly one engine.
    pub async fn claim_occurrence(&self, schedule: &str, due: u64) -> Result<bool, StoreError> {
        let rows = self
            .pg()?
            .coord_async(
                "INSERT INTO chainsched_fired (schedule, due, engine) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING RETURNING 1",
                vec![
                    p(schedule.to_string()),
                    p(i64::try_from(due).unwrap_or(i64::MAX)),
                    p(self.id.clone()),
                ],
            )
            .await?;
        Ok(!rows.is_empty())
    }

    /// The live serving engine that owns the fewest jobs (not this one), if there is one:
    /// where a start from a short-lived control command goes.
    pub async fn least_busy_server(&self) -> Result<Option<String>, StoreError> {
        let rows = self
            .pg()?
            .coord_async(
                "SELECT e.id FROM chainsched_engines e \
                 WHERE e.role = 'serve' AND e.id <> $1 \
                     AND e.heartbeat > now() - e.lease_ms * interval '1 millisecond' \
                 ORDER BY (SELECT count(*) FROM chainsched_leases l WHERE l.owner = e.id), e.id \
                 LIMIT 1",
                vec![p(self.id.clone())],
            )
            .await?;
        Ok(rows.first().map(|r| r.get(0)))
    }

    /// The other live engines (their heartbeat younger than their lease).
    pub async fn other_live_engines(&self) -> Result<Vec<String>, StoreError> {
        let rows = self
            .pg()?
            .coord_async(
                "SELECT id FROM chainsched_engines WHERE id <> $1 \
                 AND heartbeat > now() - lease_ms * interval '1 millisecond' ORDER BY id",
                vec![p(self.id.clone())],
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.get(0)).collect())
    }

    /// The engine that holds the lease of `job`, if another one does.
    pub async fn owner_elsewhere(&self, job: &str) -> Result<Option<String>, StoreError> {
        let rows = self
            .pg()?
            .coord_async(
                "SELECT owner FROM chainsched_leases WHERE job = $1 AND owner <> $2",
                vec![p(job.to_string()), p(self.id.clone())],
            )
            .await?;
        Ok(rows.first().map(|r| r.get(0)))
    }

    /// Send an input to the engine that owns its job (or to `target`) and wait for its
    /// answer.
    pub async fn forward(
        &self,
        job: &str,
        target: Option<&str>,
        input: &Input,
    ) -> Result<Accepted, EngineError> {
        let text = serde_json::to_string(input)
            .map_err(|e| EngineError::Invalid(format!("cannot forward the request: {e}")))?;
        let pg = self.pg()?;
        let rows = pg
            .coord_async(
                "INSERT INTO chainsched_requests (job, target, input, origin) \
                 VALUES ($1, $2, $3, $4) RETURNING id",
                vec![
                    p(job.to_string()),
                    p(target.map(str::to_string)),
                    p(text),
                    p(self.id.clone()),
                ],
            )
            .await?;
        let id: i64 = rows
            .first()
            .map(|r| r.get(0))
            .ok_or_else(|| EngineError::Invalid("the request was not recorded".into()))?;
        let give_up = Instant::now() + FORWARD_TIMEOUT;
        loop {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let rows = pg
                .coord_async(
                    "DELETE FROM chainsched_requests WHERE id = $1 AND answered IS NOT NULL \
                     RETURNING answer",
                    vec![p(id)],
                )
                .await?;
            if let Some(r) = rows.first() {
                let answer: Option<String> = r.get(0);
                let answer: RemoteAnswer =
                    json_from_slice(answer.as_deref().unwrap_or("").as_bytes()).map_err(|e| {
                        EngineError::Invalid(format!("unreadable answer of the owner: {e}"))
                    })?;
                return answer.into_result();
            }
            if Instant::now() >= give_up {
                let _ = pg
                    .coord_async(
                        "DELETE FROM chainsched_requests WHERE id = $1 AND taken_by IS NULL",
                        vec![p(id)],
                    )
                    .await;
                return Err(EngineError::NotRunning(format!(
                    "the engine that owns job {job} did not answer within {} s",
                    FORWARD_TIMEOUT.as_secs()
                )));
            }
        }
    }

    /// Give every lease up at once (the engine stops: its steps are killed), so other engines
    /// take its jobs over without waiting for the leases to expire; and leave the engines
    /// table.
    pub fn leave(&self) {
        if self.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        let Ok(pg) = self.pg() else { return };
        let held: Vec<(String, i64)> = self.leases().drain().collect();
        let (jobs, epochs): (Vec<String>, Vec<i64>) = held.into_iter().unzip();
        self.homes().clear();
        let r = pg.coord(
            "WITH homes AS (UPDATE chainsched_homes SET expires_at = '-infinity' WHERE owner = $1), \
             gone AS (UPDATE chainsched_leases SET expires_at = '-infinity' \
                 FROM unnest($2::text[], $3::int8[]) AS h(job, epoch) \
                 WHERE chainsched_leases.job = h.job AND chainsched_leases.epoch = h.epoch \
                 AND chainsched_leases.owner = $1) \
             DELETE FROM chainsched_engines WHERE id = $1",
            vec![p(self.id.clone()), p(jobs), p(epochs)],
        );
        if let Err(e) = r {
            tracing::warn!("cannot leave the engines table cleanly: {e}");
        }
    }

    pub fn stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }
}

/// A purge beside running engines (`chainsched purge` on a shared database): every ended job is
/// claimed (its name's lease) before its keys go, and each chunk's batch releases the claims,
/// fenced by them.
pub struct PurgeClaims {
    cluster: Cluster,
    claimed: Mutex<Vec<String>>,
}

impl PurgeClaims {
    /// Join the database's engines to purge (role `purge`; it takes no jobs over).
    pub fn join(store: ChainStore) -> Result<PurgeClaims, StoreError> {
        let options = ClusterOptions {
            role: "purge".into(),
            ..ClusterOptions::default()
        };
        Ok(PurgeClaims {
            cluster: Cluster::join(store, options)?,
            claimed: Mutex::new(Vec::new()),
        })
    }

    /// Leave the engines table.
    pub fn leave(&self) {
        self.cluster.leave();
    }
}

impl crate::store::retention::PurgeGuard for PurgeClaims {
    fn claim(&self, job: &str) -> bool {
        let claimed = matches!(self.cluster.claim_job(job), Ok(true));
        if claimed {
            self.claimed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(job.to_string());
        }
        claimed
    }

    fn seal(&self, batch: &mut crate::store::StateBatch) {
        let claimed: Vec<String> =
            std::mem::take(&mut *self.claimed.lock().unwrap_or_else(|p| p.into_inner()));
        if claimed.is_empty() {
            return;
        }
        let jobs: HashSet<String> = claimed.iter().cloned().collect();
        batch.set_fence(self.cluster.fence(&jobs, &claimed));
    }
}

/// Claim the home of placement key `$1` for engine `$2` (lease `$3` ms) when it has none or its
/// home's lease expired; answer the home.
const HOME_SQL: &str =
    "WITH claim AS (INSERT INTO chainsched_homes (key, owner, epoch, expires_at) \
        VALUES ($1, $2, 1, now() + $3::bigint * interval '1 millisecond') \
        ON CONFLICT (key) DO UPDATE SET owner = EXCLUDED.owner, \
            epoch = chainsched_homes.epoch + 1, expires_at = EXCLUDED.expires_at \
        WHERE chainsched_homes.expires_at < now() RETURNING owner) \
    SELECT owner FROM claim UNION ALL \
    SELECT owner FROM chainsched_homes WHERE key = $1 AND NOT EXISTS (SELECT 1 FROM claim)";

/// Renew the heartbeat, the leases and the homes of engine `$1` for `$2` ms: only unexpired
/// ones (an expired lease may already be another engine's), and only while the engine is still
/// registered. The lease rows are locked in job order, the order the fenced write locks them
/// in (`store::pg_store`): locked in the table's order, a renewal and a write of the same
/// engine could each hold a row the other waits for (a deadlock, found by the cluster
/// benchmark under load).
const RENEW_SQL: &str = "WITH me AS (UPDATE chainsched_engines SET heartbeat = now() WHERE id = $1 \
        RETURNING id), \
    renewed AS (UPDATE chainsched_leases SET expires_at = now() + $2::bigint * interval '1 millisecond' \
        WHERE job IN (SELECT job FROM chainsched_leases WHERE owner = $1 AND expires_at > now() \
            AND EXISTS (SELECT 1 FROM me) ORDER BY job FOR UPDATE) \
        AND owner = $1 AND expires_at > now() RETURNING job), \
    homes AS (UPDATE chainsched_homes SET expires_at = now() + $2::bigint * interval '1 millisecond' \
        WHERE owner = $1 AND expires_at > now() AND EXISTS (SELECT 1 FROM me) RETURNING key) \
    SELECT (SELECT count(*) FROM me), ARRAY(SELECT job FROM renewed), ARRAY(SELECT key FROM homes)";

/// How long a request forwarded to another engine may wait for its answer.
pub const FORWARD_TIMEOUT: Duration = Duration::from_secs(15);

/// An answer carried back through `chainsched_requests`.
#[derive(Debug, Serialize, Deserialize)]
enum RemoteAnswer {
    Ok {
        job: Option<String>,
        completed_steps: usize,
    },
    Core(CoreError),
    Invalid(String),
    NotRunning(String),
}

impl RemoteAnswer {
    fn of(r: &Result<Accepted, EngineError>) -> RemoteAnswer {
        match r {
            Ok(a) => RemoteAnswer::Ok {
                job: a.job.clone(),
                completed_steps: a.completed_steps,
            },
            Err(EngineError::Core(e)) => RemoteAnswer::Core(e.clone()),
            Err(EngineError::UnknownJobNear { job, .. }) => {
                RemoteAnswer::Core(CoreError::UnknownJob(job.clone()))
            }
            Err(EngineError::Invalid(m)) => RemoteAnswer::Invalid(m.clone()),
            Err(EngineError::NotRunning(m)) => RemoteAnswer::NotRunning(m.clone()),
            Err(EngineError::Store(e)) => RemoteAnswer::NotRunning(e.to_string()),
            Err(EngineError::Elsewhere { engine }) => RemoteAnswer::NotRunning(format!(
                "the request went to engine {engine}, which is not the home of its job"
            )),
        }
    }

    fn into_result(self) -> Result<Accepted, EngineError> {
        match self {
            RemoteAnswer::Ok {
                job,
                completed_steps,
            } => Ok(Accepted {
                job,
                completed_steps,
                event: None,
            }),
            RemoteAnswer::Core(e) => Err(EngineError::Core(e)),
            RemoteAnswer::Invalid(m) => Err(EngineError::Invalid(m)),
            RemoteAnswer::NotRunning(m) => Err(EngineError::NotRunning(m)),
        }
    }
}

/// Start the background tasks of a member: the heartbeat (lease renewal and guardian deadline),
/// takeover of expired leases (adopting engines), the event and request pollers. They end when
/// the actor's channel closes or the engine stops.
pub(crate) fn spawn(
    cluster: std::sync::Arc<Cluster>,
    launcher: Launcher,
    tx: mpsc::WeakUnboundedSender<Msg>,
) {
    tokio::spawn(heartbeat(cluster.clone(), launcher, tx.clone()));
    if cluster.options.adopt {
        tokio::spawn(takeover(cluster.clone(), tx.clone()));
    }
    tokio::spawn(poll_events(cluster.clone(), tx.clone()));
    tokio::spawn(poll_requests(cluster, tx));
}

async fn heartbeat(
    cluster: std::sync::Arc<Cluster>,
    launcher: Launcher,
    tx: mpsc::WeakUnboundedSender<Msg>,
) {
    let lease = cluster.options.lease;
    let every = lease / 5;
    // The first deadline: from joining (or its last renewal).
    launcher.set_deadline(Some(cluster.time_left()));
    loop {
        tokio::time::sleep(every).await;
        if cluster.stopped() {
            return;
        }
        let Some(actor) = tx.upgrade() else { return };
        let started = Instant::now();
        match cluster.renew(started).await {
            Ok(lost) if lost.is_empty() => {
                launcher.set_deadline(Some(cluster.time_left()));
            }
            Ok(lost) => {
                let why = format!(
                    "lease lost: this engine no longer holds {} (it was paused or cut off \
                     longer than its lease, and another engine took over)",
                    lost.join(", ")
                );
                let _ = actor.send(Msg::LeaseLost { why });
                return;
            }
            Err(StoreError::LeaseLost(why)) => {
                let _ = actor.send(Msg::LeaseLost {
                    why: format!("lease lost: {why}"),
                });
                return;
            }
            Err(e) => {
                // The deadline stays: if renewals keep failing, the guardian kills the steps
                // and the actor stops committing before the leases can expire.
                tracing::warn!(engine = %cluster.id, "cannot renew the leases: {e}");
            }
        }
    }
}

async fn takeover(cluster: std::sync::Arc<Cluster>, tx: mpsc::WeakUnboundedSender<Msg>) {
    let every =
        (cluster.options.lease / 20).clamp(Duration::from_millis(100), Duration::from_secs(1));
    loop {
        tokio::time::sleep(every).await;
        if cluster.stopped() || !cluster.in_time() {
            if cluster.stopped() {
                return;
            }
            continue;
        }
        let Some(actor) = tx.upgrade() else { return };
        let c = cluster.clone();
        let claimed = tokio::task::spawn_blocking(move || c.claim_expired(256)).await;
        match claimed {
            Ok(Ok(jobs)) if !jobs.is_empty() => {
                tracing::info!(engine = %cluster.id, jobs = jobs.len(), "took over jobs whose lease expired");
                let _ = actor.send(Msg::Adopt { jobs });
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!("cannot claim expired leases: {e}"),
            Err(e) => tracing::warn!("cannot claim expired leases: {e}"),
        }
    }
}

async fn poll_events(cluster: std::sync::Arc<Cluster>, tx: mpsc::WeakUnboundedSender<Msg>) {
    let Ok(pg) = cluster.pg() else { return };
    // Ids can commit out of order (a sequence hands them out before commit), so the poll
    // re-reads a recent window and skips what it has seen, instead of trusting "id > last".
    let mut seen: HashMap<i64, Instant> = HashMap::new();
    let mut last_cleanup = Instant::now();
    let mut since: Option<i64> = match pg
        .coord_async("SELECT coalesce(max(id), 0) FROM chainsched_events", vec![])
        .await
    {
        Ok(rows) => rows.first().map(|r| r.get(0)),
        Err(_) => None,
    };
    loop {
        tokio::time::sleep(EVENT_POLL).await;
        if cluster.stopped() {
            return;
        }
        let Some(actor) = tx.upgrade() else { return };
        let rows = pg
            .coord_async(
                "SELECT id, name, payload, job FROM chainsched_events \
                 WHERE id > $1 AND origin <> $2 AND raised > now() - interval '60 seconds' \
                 ORDER BY id",
                vec![p(since.unwrap_or(0) - 1000), p(cluster.id.clone())],
            )
            .await;
        let rows = match rows {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("cannot read the events of other engines: {e}");
                continue;
            }
        };
        for r in rows {
            let id: i64 = r.get(0);
            since = Some(since.map_or(id, |s| s.max(id)));
            if seen.insert(id, Instant::now()).is_some() {
                continue;
            }
            let name: String = r.get(1);
            let payload: String = r.get(2);
            let job: Option<String> = r.get(3);
            if job.as_deref().is_some_and(|j| !cluster.holds(j)) {
                continue;
            }
            let (reply, _answer) = oneshot::channel();
            let input = Input::RaiseEvent {
                name,
                payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
                job,
            };
            let _ = actor.send(Msg::Input { input, reply });
        }
        if last_cleanup.elapsed() > Duration::from_secs(30) {
            last_cleanup = Instant::now();
            seen.retain(|_, at| at.elapsed() < Duration::from_secs(120));
            // Housekeeping any engine may do: old events, occurrences and requests whose
            // sender gave up.
            for sql in [
                "DELETE FROM chainsched_events WHERE raised < now() - interval '1 hour'",
                "DELETE FROM chainsched_fired WHERE at < now() - interval '7 days'",
                "DELETE FROM chainsched_requests WHERE created < now() - interval '1 hour'",
            ] {
                let _ = pg.coord_async(sql, vec![]).await;
            }
        }
    }
}

/// How often engines look for events raised on other engines and for requests to answer.
pub const EVENT_POLL: Duration = Duration::from_millis(200);

async fn poll_requests(cluster: std::sync::Arc<Cluster>, tx: mpsc::WeakUnboundedSender<Msg>) {
    let Ok(pg) = cluster.pg() else { return };
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if cluster.stopped() {
            return;
        }
        let Some(actor) = tx.upgrade() else { return };
        let rows = pg
            .coord_async(
                "UPDATE chainsched_requests SET taken_by = $1 WHERE id IN ( \
                     SELECT r.id FROM chainsched_requests r \
                     WHERE r.taken_by IS NULL AND (r.target = $1 OR (r.target IS NULL AND \
                         r.job IN (SELECT job FROM chainsched_leases WHERE owner = $1))) \
                     ORDER BY r.id LIMIT 100 FOR UPDATE SKIP LOCKED) \
                 RETURNING id, input",
                vec![p(cluster.id.clone())],
            )
            .await;
        let rows = match rows {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("cannot read the requests forwarded to this engine: {e}");
                continue;
            }
        };
        for r in rows {
            let id: i64 = r.get(0);
            let text: String = r.get(1);
            let answer = match json_from_slice::<Input>(text.as_bytes()) {
                Ok(input) => {
                    let (reply, rx) = oneshot::channel();
                    let _ = actor.send(Msg::Input { input, reply });
                    match rx.await {
                        Ok(Err(EngineError::Elsewhere { engine })) => {
                            // A start whose group lives on another engine: pass it on.
                            let moved = pg
                                .coord_async(
                                    "UPDATE chainsched_requests SET target = $2, taken_by = NULL \
                                     WHERE id = $1",
                                    vec![p(id), p(engine)],
                                )
                                .await;
                            if moved.is_ok() {
                                continue;
                            }
                            RemoteAnswer::NotRunning(
                                "cannot pass the start on to its group's home".into(),
                            )
                        }
                        Ok(r) => RemoteAnswer::of(&r),
                        Err(_) => RemoteAnswer::NotRunning("the engine stopped".into()),
                    }
                }
                Err(e) => RemoteAnswer::Invalid(format!("unreadable forwarded request: {e}")),
            };
            let text = serde_json::to_string(&answer).unwrap_or_default();
            let params: SqlParams = vec![p(id), p(text)];
            if let Err(e) = pg
                .coord_async(
                    "UPDATE chainsched_requests SET answered = now(), answer = $2 WHERE id = $1",
                    params,
                )
                .await
            {
                tracing::warn!("cannot answer a forwarded request: {e}");
            }
        }
    }
}
