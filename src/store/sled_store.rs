//! The on-disk [`KvStore`]: one sled tree, one `sled::Batch` per [`WriteBatch`].
//!
//! sled applies a batch atomically within one tree, which is why the whole layout lives in the
//! default tree (see `layout`). `flush` calls sled's flush, which writes the dirty log buffers and
//! waits for them with `sync_file_range` on Linux (not a full `fsync` of the disk cache): see
//! docs/durability.md for what that guarantees.
//!
//! Three defences around sled 0.34.7, each for a failure seen with it (docs/durability.md,
//! "What survives what"):
//!
//! * **Leftover `snap.*.generating` files are set aside before sled opens.** At each open sled
//!   computes its page-table snapshot from the previous snapshot plus the log, writes it to
//!   `snap.<lsn>.generating`, syncs it, renames it to `snap.<lsn>` and only then deletes older
//!   snapshots. A kill before the rename leaves the `.generating` file, and sled's next open
//!   picks it as the newest snapshot and fails with "Read corrupted data" — for good. Such a
//!   file is never the only copy of anything (what it was computed from, the previous snapshot
//!   and the log, is intact), so it is moved into `set-aside/<time>/` in the store folder (never
//!   deleted) and logged. Complete `snap.<lsn>` files are left alone: sled cannot always
//!   rebuild them from its log.
//! * **sled panics are caught.** Damaged files can make sled panic (e.g. "tried to serialize
//!   Uninitialized") instead of returning an error. Every sled call runs under
//!   `catch_unwind`; a panic becomes [`StoreError::Damaged`] naming the store and what to do.
//!   [`install_quiet_panic_hook`] keeps such caught panics off stderr.
//! * **A witness of how far the store got.** When sled finds damaged bytes in its log it takes
//!   them for the torn end of a crash: it stops reading there, drops (zeroes) everything after
//!   and opens "successfully" with older data. To tell that from a normal crash, the store
//!   keeps an epoch counter twice: in its own sled tree and in `chainsched.witness` beside it
//!   (written after the sled value is flushed). The epoch is raised at each open and each
//!   clean close. If the sled value is ever behind the file, sled lost changes it had made
//!   durable, and the open is refused instead of going on with a silently shorter store.

use super::sled_chunks::{self, Chunks, Translated};
use super::{KvStore, Pair, StoreError, WriteBatch};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Tuning of the sled database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SledOptions {
    /// Page-cache size in bytes (sled's `cache_capacity`).
    pub cache_capacity: u64,
    /// sled's background flush period; `None` disables it (then only explicit flushes persist).
    pub flush_every_ms: Option<u64>,
}

impl Default for SledOptions {
    fn default() -> Self {
        SledOptions {
            cache_capacity: 64 * 1024 * 1024,
            flush_every_ms: Some(500),
        }
    }
}

/// The folder (inside the store folder) that receives files moved out of sled's way.
pub const SET_ASIDE_DIR: &str = "set-aside";
/// The witness file (inside the store folder): see the module docs.
pub const WITNESS_FILE: &str = "chainsched.witness";
/// The sled tree that holds the store's side of the witness.
const WITNESS_TREE: &[u8] = b"chainsched-witness";
const WITNESS_KEY: &[u8] = b"epoch";

#[derive(Debug)]
pub struct SledStore {
    db: sled::Db,
    path: PathBuf,
    /// Set once sled failed on damaged data: the clean-close witness is then not raised (it
    /// would vouch for a store known to be damaged).
    damaged: AtomicBool,
    /// The witness epoch found at open (0: this store was never opened and closed, or opened
    /// with data, before).
    previous_epoch: u64,
    /// Large values are stored in chunks (`sled_chunks`): the counts of the chunked keys.
    chunks: std::sync::Mutex<Chunks>,
}

// ---- caught panics ----

thread_local! {
    /// True while this thread runs a sled call under `catch_unwind`.
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

/// Install (once per process) a panic hook that stays silent for panics the store catches and
/// turns into errors, and prints every other panic as before. The CLI installs it; an embedding
/// program may too (without it a caught sled panic still becomes an error, but the default hook
/// prints "thread … panicked" first).
pub fn install_quiet_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !GUARDED.try_with(Cell::get).unwrap_or(false) {
                previous(info);
            }
        }));
    });
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Run `f` with panics caught: `Err(panic message)` when it panicked.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    let was = GUARDED.with(|g| g.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(was));
    result.map_err(|p| panic_text(p.as_ref()))
}

// ---- errors ----

fn is_lock_error(io: &std::io::Error) -> bool {
    io.kind() == std::io::ErrorKind::WouldBlock || io.to_string().contains("lock")
}

fn damaged(path: &Path, message: String) -> StoreError {
    StoreError::Damaged {
        path: path.display().to_string(),
        message,
    }
}

/// sled's own report of damaged data, a file of the store gone (sled keeps large values in
/// files of their own under `blobs/`), or a failure the store cannot classify.
fn sled_error(path: &Path, e: sled::Error) -> StoreError {
    match e {
        sled::Error::Corruption { .. } => {
            damaged(path, format!("sled found damaged data in its files ({e})"))
        }
        sled::Error::Io(io) if io.kind() == std::io::ErrorKind::NotFound => {
            damaged(path, format!("a file of the store is missing ({io})"))
        }
        other => StoreError::Io(other.to_string()),
    }
}

// ---- set-aside ----

/// `20261204T191052.587Z` for the current time (folder names under `set-aside/`).
fn stamp() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let secs = ms / 1000;
    let (y, m, d) = crate::schedule::civil::civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}.{:03}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        ms % 1000
    )
}

/// Move every `*.generating` file of the store folder `path` into
/// `path/set-aside/<time>/` (never deleting anything) and return where each went. Nothing to
/// do (and no folder created) when there is none or the store does not exist yet.
pub fn set_aside_generating(path: &Path) -> Result<Vec<(PathBuf, PathBuf)>, StoreError> {
    let io = |what: &str, p: &Path, e: std::io::Error| {
        StoreError::Io(format!("{what} {}: {e}", p.display()))
    };
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(io("cannot list the store folder", path, e)),
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".generating"))
        })
        .collect();
    if found.is_empty() {
        return Ok(vec![]);
    }
    found.sort();
    let base = path.join(SET_ASIDE_DIR).join(stamp());
    let mut dir = base.clone();
    let mut n = 1;
    while dir.exists() {
        n += 1;
        dir = PathBuf::from(format!("{}-{n}", base.display()));
    }
    std::fs::create_dir_all(&dir).map_err(|e| io("cannot create", &dir, e))?;
    let mut moved = Vec::with_capacity(found.len());
    for from in found {
        let Some(name) = from.file_name() else {
            continue;
        };
        let to = dir.join(name);
        std::fs::rename(&from, &to).map_err(|e| io("cannot move aside", &from, e))?;
        let size = std::fs::metadata(&to).map(|m| m.len()).unwrap_or(0);
        tracing::warn!(
            from = %from.display(),
            to = %to.display(),
            bytes = size,
            "set aside an unfinished sled snapshot file left by a process killed while it \
             opened the store (sled computes it again from its previous snapshot and log; \
             nothing is lost)"
        );
        moved.push((from, to));
    }
    sync_dir(path);
    Ok(moved)
}

/// fsync a directory so renames in it are durable (best effort: some file systems refuse).
fn sync_dir(dir: &Path) {
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
}

// ---- witness ----

fn read_witness_file(path: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(path.join(WITNESS_FILE)).ok()?;
    let epoch = text
        .lines()
        .find_map(|l| l.strip_prefix("epoch "))
        .and_then(|n| n.trim().parse().ok());
    if epoch.is_none() {
        tracing::warn!(
            file = %path.join(WITNESS_FILE).display(),
            "the store's witness file is unreadable; it is rewritten"
        );
    }
    epoch
}

fn write_witness_file(path: &Path, epoch: u64) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.join(format!("{WITNESS_FILE}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(
        format!(
            "chainsched store witness: the store's log reached at least this epoch (see \
             docs/durability.md)\nepoch {epoch}\n"
        )
        .as_bytes(),
    )?;
    f.sync_all()?;
    std::fs::rename(&tmp, path.join(WITNESS_FILE))?;
    sync_dir(path);
    Ok(())
}

impl SledStore {
    pub fn open(path: &Path, options: &SledOptions) -> Result<SledStore, StoreError> {
        set_aside_generating(path)?;
        let db = Self::open_db(path, options)?;
        let chunks = match guarded(|| Chunks::load(&db)) {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return Err(sled_error(path, e)),
            Err(panic) => {
                return Err(damaged(
                    path,
                    format!("sled failed while reading it ({panic})"),
                ))
            }
        };
        let mut store = SledStore {
            db,
            path: path.to_path_buf(),
            damaged: AtomicBool::new(false),
            previous_epoch: 0,
            chunks: std::sync::Mutex::new(chunks),
        };
        store.check_witness()?;
        store.previous_epoch = store
            .witness_epoch()?
            .max(read_witness_file(path).unwrap_or(0));
        // A brand-new store (no witness, no data) is first witnessed when it holds something:
        // at its first clean close, or at the next open if the process was killed. Raising it
        // now would make a kill before the first record look like a store that lost it.
        let empty = store.call("reading its first key", || Ok(store.db.is_empty()))?;
        if store.previous_epoch > 0 || !empty {
            store.raise_witness()?;
        }
        // Name this process as the holder, for the busy errors of others (`holder`).
        super::holder::claim(path);
        Ok(store)
    }

    /// Whether this store was witnessed before this open (it held data and was opened or
    /// closed since): then a missing record that every store has (`meta/format`) is damage,
    /// not a new store.
    pub fn was_used(&self) -> bool {
        self.previous_epoch > 0
    }

    fn open_db(path: &Path, options: &SledOptions) -> Result<sled::Db, StoreError> {
        let config = sled::Config::new()
            .path(path)
            .cache_capacity(options.cache_capacity)
            .flush_every_ms(options.flush_every_ms);
        // After a `Db` in this process is dropped, sled's flusher thread can hold the file lock
        // for a moment longer; an immediate reopen (recovery in an embedding service, tests)
        // then fails with a lock error. Retry lock errors briefly before giving up: another
        // *process* holding the store still gets the clear error below after ~2 s.
        let mut attempt = 0;
        let opened = loop {
            match guarded(|| config.open()) {
                Err(panic) => {
                    return Err(damaged(
                        path,
                        format!("sled failed while opening it ({panic})"),
                    ))
                }
                Ok(Err(sled::Error::Io(io))) if is_lock_error(&io) && attempt < 100 => {
                    attempt += 1;
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Ok(other) => break other,
            }
        };
        opened.map_err(|e| match e {
            sled::Error::Io(io) if is_lock_error(&io) => StoreError::Open {
                path: path.display().to_string(),
                message: super::holder::busy_message(path),
            },
            e @ sled::Error::Corruption { .. } => sled_error(path, e),
            other => StoreError::Open {
                path: path.display().to_string(),
                message: other.to_string(),
            },
        })
    }

    /// Run one sled call with its panics caught and its errors classified.
    fn call<T>(&self, what: &str, f: impl FnOnce() -> sled::Result<T>) -> Result<T, StoreError> {
        match guarded(f) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                let e = sled_error(&self.path, e);
                if matches!(e, StoreError::Damaged { .. }) {
                    self.damaged.store(true, Ordering::Relaxed);
                }
                Err(e)
            }
            Err(panic) => {
                self.damaged.store(true, Ordering::Relaxed);
                Err(damaged(
                    &self.path,
                    format!("sled failed while {what} ({panic})"),
                ))
            }
        }
    }

    fn witness_epoch(&self) -> Result<u64, StoreError> {
        let value = self.call("reading the witness", || {
            self.db.open_tree(WITNESS_TREE)?.get(WITNESS_KEY)
        })?;
        Ok(value
            .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
            .map_or(0, u64::from_be_bytes))
    }

    /// Refuse a store whose log is behind its witness file (see the module docs).
    fn check_witness(&self) -> Result<(), StoreError> {
        let Some(file) = read_witness_file(&self.path) else {
            return Ok(());
        };
        let stored = self.witness_epoch()?;
        if stored >= file {
            return Ok(());
        }
        self.damaged.store(true, Ordering::Relaxed);
        Err(damaged(
            &self.path,
            format!(
                "its data log ends before a point it had durably reached (the witness file \
                 {WITNESS_FILE} says epoch {file}, the log holds epoch {stored}). sled stops \
                 reading its log at damaged bytes and drops what follows, so changes are \
                 missing. To go on with what is left instead, move {} out of the store folder",
                self.path.join(WITNESS_FILE).display()
            ),
        ))
    }

    /// Raise the witness: the next epoch, durable in sled first, then in the file.
    fn raise_witness(&self) -> Result<(), StoreError> {
        let next = self
            .witness_epoch()?
            .max(read_witness_file(&self.path).unwrap_or(0))
            .saturating_add(1);
        self.call("writing the witness", || {
            self.db
                .open_tree(WITNESS_TREE)?
                .insert(WITNESS_KEY, &next.to_be_bytes())?;
            self.db.flush()
        })?;
        write_witness_file(&self.path, next).map_err(|e| {
            StoreError::Io(format!(
                "cannot write {}: {e}",
                self.path.join(WITNESS_FILE).display()
            ))
        })
    }

    /// Bytes the database uses on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        self.call("measuring its size", || self.db.size_on_disk())
    }

    /// Call `f` with every pair of the default tree, in key order, one at a time (`store
    /// check`): what was read before sled fails on damaged data has been seen by `f` when the
    /// error comes back.
    pub fn for_each(&self, mut f: impl FnMut(Vec<u8>, Vec<u8>)) -> Result<(), StoreError> {
        let mut broken = None;
        self.call("walking every key", || {
            for pair in self.db.iter() {
                let (k, v) = pair?;
                if sled_chunks::is_internal(&k) {
                    continue;
                }
                match sled_chunks::assemble(&self.db, &k, v)? {
                    Ok(v) => f(k.to_vec(), v),
                    Err(why) => {
                        broken = Some((k.to_vec(), why));
                        break;
                    }
                }
            }
            Ok(())
        })?;
        match broken {
            Some((k, why)) => Err(self.broken_chunks(&k, why)),
            None => Ok(()),
        }
    }

    /// How many raw sled keys start with `prefix` (tests of the chunked layout).
    #[cfg(test)]
    pub(crate) fn raw_keys_with_prefix(&self, prefix: &[u8]) -> usize {
        self.db.scan_prefix(prefix).count()
    }

    /// Remove one raw sled key, bypassing the chunk bookkeeping (tests of damage).
    #[cfg(test)]
    pub(crate) fn remove_raw_for_test(&self, key: &[u8]) {
        let _ = self.db.remove(key);
    }

    fn broken_chunks(&self, key: &[u8], why: String) -> StoreError {
        self.damaged.store(true, Ordering::Relaxed);
        StoreError::Corrupt {
            key: super::layout::display_key(key),
            message: why,
        }
    }

    /// Whole values for pairs read from sled (chunks assembled, the chunk region skipped).
    fn assembled(&self, pairs: Vec<(sled::IVec, sled::IVec)>) -> Result<Vec<Pair>, StoreError> {
        let mut out = Vec::with_capacity(pairs.len());
        for (k, v) in pairs {
            if sled_chunks::is_internal(&k) {
                continue;
            }
            let whole = self.call("reading a large value", || {
                sled_chunks::assemble(&self.db, &k, v)
            })?;
            match whole {
                Ok(v) => out.push((k.to_vec(), v)),
                Err(why) => return Err(self.broken_chunks(&k, why)),
            }
        }
        Ok(out)
    }
}

/// A clean close raises the witness, so damage to anything written since the open is caught
/// by the next open too (see the module docs).
impl Drop for SledStore {
    fn drop(&mut self) {
        super::holder::release(&self.path);
        if self.damaged.load(Ordering::Relaxed) {
            return;
        }
        if let Err(e) = self.raise_witness() {
            tracing::debug!(error = %e, "could not raise the store's witness at close");
        }
    }
}

fn collect(
    iter: impl Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>,
) -> sled::Result<Vec<(sled::IVec, sled::IVec)>> {
    iter.collect()
}

impl KvStore for SledStore {
    fn apply(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut chunks = self.chunks.lock().unwrap_or_else(|p| p.into_inner());
        let translated = chunks.translate(batch.ops);
        let Translated { batch, counts } = translated;
        self.call("applying a batch", || self.db.apply_batch(batch))?;
        chunks.applied(counts);
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.call("flushing", || self.db.flush().map(|_| ()))
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let stored = self.call("reading a key", || self.db.get(key))?;
        match stored {
            Some(v) => Ok(self
                .assembled(vec![(sled::IVec::from(key), v)])?
                .pop()
                .map(|p| p.1)),
            None => Ok(None),
        }
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<Pair>, StoreError> {
        let pairs = self.call("scanning keys", || collect(self.db.scan_prefix(prefix)))?;
        self.assembled(pairs)
    }

    fn scan_from(&self, prefix: &[u8], from: &[u8], limit: usize) -> Result<Vec<Pair>, StoreError> {
        let start = std::cmp::max(prefix.to_vec(), from.to_vec());
        let pairs = self.call("scanning keys", || {
            collect(
                self.db
                    .range(start..)
                    .take_while(|r| r.as_ref().map_or(true, |(k, _)| k.starts_with(prefix)))
                    .take(limit),
            )
        })?;
        self.assembled(pairs)
    }

    fn last_with_prefix(&self, prefix: &[u8]) -> Result<Option<Pair>, StoreError> {
        let last = self.call("scanning keys", || {
            self.db.scan_prefix(prefix).next_back().transpose()
        })?;
        Ok(self.assembled(last.into_iter().collect())?.pop())
    }

    fn scan_back(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Pair>, StoreError> {
        let start = prefix.to_vec();
        let end = super::memory::bounded_end(prefix, before);
        if end.as_ref().is_some_and(|e| *e <= start) {
            return Ok(Vec::new());
        }
        let pairs = self.call("scanning keys backwards", || {
            let iter = match end {
                Some(end) => self.db.range(start..end),
                None => self.db.range(start..),
            };
            collect(iter.rev().take(limit))
        })?;
        self.assembled(pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_in_a_guarded_call_is_an_error_and_the_flag_is_reset() {
        install_quiet_panic_hook();
        let caught = guarded(|| -> u32 { panic!("tried to serialize Uninitialized") });
        assert_eq!(caught, Err("tried to serialize Uninitialized".to_string()));
        assert!(!GUARDED.with(Cell::get), "the flag is reset after the call");
        assert_eq!(guarded(|| 7), Ok(7));
    }

    #[test]
    fn set_aside_moves_only_generating_files_and_creates_nothing_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("snap.00000000000000AA"), b"kept").unwrap();
        assert!(set_aside_generating(dir.path()).unwrap().is_empty());
        assert!(!dir.path().join(SET_ASIDE_DIR).exists());

        std::fs::write(dir.path().join("snap.00000000000000AB.generating"), b"cut").unwrap();
        let moved = set_aside_generating(dir.path()).unwrap();
        assert_eq!(moved.len(), 1);
        assert_eq!(std::fs::read(&moved[0].1).unwrap(), b"cut");
        assert!(moved[0].1.starts_with(dir.path().join(SET_ASIDE_DIR)));
        assert!(dir.path().join("snap.00000000000000AA").exists());
        assert!(set_aside_generating(&dir.path().join("absent"))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_new_store_is_witnessed_once_it_holds_data() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path(), &SledOptions::default()).unwrap();
            assert!(!store.was_used());
            assert!(
                read_witness_file(dir.path()).is_none(),
                "empty: not yet witnessed"
            );
            let mut b = WriteBatch::default();
            b.put(b"k".to_vec(), b"v".to_vec());
            store.commit(b).unwrap();
        }
        assert_eq!(
            read_witness_file(dir.path()),
            Some(1),
            "raised at the clean close"
        );
        let store = SledStore::open(dir.path(), &SledOptions::default()).unwrap();
        assert!(store.was_used());
        assert_eq!(read_witness_file(dir.path()), Some(2), "raised at the open");
    }
}
