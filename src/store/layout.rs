//! The key layout of the store: every key the engine writes is built here, so the layout is
//! described (and changed) in one place.
//!
//! Everything lives in ONE sled tree so that one state change is one `apply_batch` (sled batches
//! are atomic per tree only). Keys are ASCII tags followed by their parts; job names and subnames
//! are separated by a NUL byte (a job name cannot contain NUL: the runtime refuses it), and
//! numbers are 8-byte big-endian so that byte order is numeric order (a prefix scan of `log/`
//! returns the job log in log-id order, i.e. time order).
//!
//! Every value is sealed (codec tag, crc32, payload: see `records`) except `meta/format`.
//!
//! | key | value | written |
//! |---|---|---|
//! | `meta/format` | format version string ([`FORMAT_VERSION`]) | when the store is created |
//! | `meta/store_id` | a random id of this store, given to every step process (`CHAINSCHED_STORE_ID`) so recovery can find the strays of a crashed engine | when the store is created |
//! | `meta/catalog` | the catalog the engine runs (`catalog::Catalog`) | on each catalog load |
//! | `job/<job>` | [`JobEntry`](super::records::JobEntry): the job record | each change of the job |
//! | `jh/<job>` | the core's `JobHeaderRecord` (postcard): an unfinished job's own state — view record, start request, definitions version, queue position, number of instances | when it changes; removed when the job ends |
//! | `ji/<job>\0<instance BE u32>` | the core's `InstanceRecord` (postcard): one chain instance's status, interval tick, number of steps | when it changes; removed when the job ends |
//! | `js/<job>\0<instance BE u32><step BE u32>` | the core's `StepStateRecord` (postcard): one step's runtime state (state, attempts, retries, held outcome, timer, …) | when that step changes; removed when the job ends |
//! | `jdef/<job>` | the core's `JobDefinitions`: the chain definitions the job runs (as started, then altered), with their version | when the job starts and when an alter chain or rule redefinition changes them; removed when it ends |
//! | `step/<job>\0<subname>` | `StepRecord` | each step change |
//! | `ord/<job>` | the job's subnames in definition order (nested right after their outer step) | when a new subname appears |
//! | `prog/<job>\0<subname>` | [`Progress`](super::records::Progress): SOFAR, TOTALWORK, STATUS_MESSAGE | `::progress`/`::status` lines, handler progress |
//! | `timer/<job>\0<timer>` | [`TimerEntry`](super::records::TimerEntry): the timer and its absolute due time | `SetTimer`; removed by `CancelTimer`/firing/job end |
//! | `log/<log_id BE>` | `LogRow` | at the end of each step-job run and of the chain job |
//! | `run/<log_id BE>` | [`RunDetails`](super::records::RunDetails): pid, requested/actual start, duration, last 64 KiB of output and errors | with its log row (completed when the process is reaped) |
//! | `tl/<job>\0<seq BE>` | `TimelineEntry` | each timeline effect |
//! | `sched/<job definition>` | [`ScheduleState`](crate::runtime::scheduler::ScheduleState): a scheduled job definition's schedule string, next due time, last start | by the scheduler (`serve`), when a schedule is loaded, fires or changes; removed with the schedule |
//! | `schen/<job definition>` | [`EnabledOverride`](super::schedules::EnabledOverride): `chainsched enable|disable JOB`, and the file's `enabled` setting it overrides | by `enable`/`disable` (CLI or HTTP); ignored, then removed, once the file's setting changes |
//! | `cedit/<chain>` | [`ChainEdit`](super::chain_edits::ChainEdit): the chain as its rule file defined it and as changed by `define-rule`, `drop-rule`, `alter-chain` or `drop-step` | with each such change; removed when the chain's file changes (the file wins) |
//! | `kev/<id BE>` | [`KeptEvent`](crate::core::KeptEvent): an event kept for a step that starts waiting later (`event … --keep`) | when raised with `--keep` and it completed no step; removed when a step takes it or once it expired |
//! | `jv/<job>\0<NAME>` | the core's `Variable`: one job variable a step set (value, the step that set it, when) | with the outcome of the step that set it (same batch); kept after the job ends (views), removed with the job or by a new run of its name |
//! | `pid/<job>\0<subname>` | [`LivePid`](super::records::LivePid): process group of a running external step | after the process is spawned; removed when it is reaped |
//! | `meta/next_log_id` | the next free log id, when retention removed the newest log rows (so ids are never reused) | by retention, with the deletes of log rows |
//! | `meta/indexes` | the version of the indexes below ([`INDEX_VERSION`]) | when the store is created, or once the indexes of an older store are built |
//! | `jt/<!instant BE><job>` | empty: index of every job, newest first (`!instant` is `u64::MAX - instant`, the instant being ENQUEUED_AT, else STARTED_AT) | with the job record |
//! | `jend/<ended_at BE><job>` | empty: index of the ended jobs by end time, oldest first | with the job record that ends the job |
//! | `jact/<job>` | empty: index of the unfinished jobs (enqueued, running, stalled) | with the job record; removed with the record that ends the job |
//! | `jlog/<job>\0<log_id BE>` | empty: index of a job's log rows | with the log row |
//! | `jdn/<job>` | the job definition the run belongs to ([`outbox`](super::outbox)) | when the job is started (removed for an ad-hoc run) |
//! | `ntf/<created_at BE><seq BE><job>` | [`Notification`](super::outbox::Notification): one notification to deliver, its status and attempts | in the batch of the state change that owes it; updated by the notifier after each attempt; final rows removed after 7 days |
//!
//! Index entries are written in the same batch as the records they index ([`super::StateBatch`]),
//! so a reader never sees one without the other. Why these four: the views list the newest jobs
//! and the newest log rows (`jt/`, and `log/` read backwards), the running jobs (`jact/`) and one
//! job's log (`jlog/`) without reading the whole history; retention finds the oldest ended jobs
//! (`jend/`) and everything of one job (`jlog/` and the per-job prefixes) without scanning
//! either. Reads check the record an index entry points to, so an entry that no longer matches
//! (a job name reused by a new run before the old entry was removed) is skipped, never shown.

/// The layout version this build reads and writes. A store with another version is refused
/// with a clear error instead of being misread.
///
/// * `chainsched-store-1`: values were bare JSON.
/// * `chainsched-store-2`: every value (but `meta/format`) is sealed: codec tag, crc32, payload
///   (`records`). Upgrading a version-1 store means rewriting every value sealed (docs/durability.md).
pub const FORMAT_VERSION: &str = "chainsched-store-2";

pub const FORMAT_KEY: &[u8] = b"meta/format";
pub const CATALOG_KEY: &[u8] = b"meta/catalog";
pub const STORE_ID_KEY: &[u8] = b"meta/store_id";
pub const INDEX_KEY: &[u8] = b"meta/indexes";
pub const NEXT_LOG_ID_KEY: &[u8] = b"meta/next_log_id";

/// The version of the indexes (`jt/`, `jend/`, `jact/`, `jlog/`) this build maintains. A store
/// without it (written before the indexes existed) gets them built once when it is opened.
pub const INDEX_VERSION: &str = "1";

pub const JOB: &str = "job/";
pub const JOB_HEADER: &str = "jh/";
pub const JOB_INSTANCE: &str = "ji/";
pub const JOB_STEP: &str = "js/";
pub const DEFINITIONS: &str = "jdef/";
pub const STEP: &str = "step/";
pub const ORDER: &str = "ord/";
pub const PROGRESS: &str = "prog/";
pub const TIMER: &str = "timer/";
pub const LOG: &str = "log/";
pub const RUN: &str = "run/";
pub const TIMELINE: &str = "tl/";
pub const PID: &str = "pid/";
pub const SCHEDULE: &str = "sched/";
pub const SCHEDULE_ENABLED: &str = "schen/";
pub const CHAIN_EDIT: &str = "cedit/";
pub const KEPT_EVENT: &str = "kev/";
pub const JOB_BY_TIME: &str = "jt/";
pub const ENDED: &str = "jend/";
pub const ACTIVE: &str = "jact/";
pub const JOB_LOG: &str = "jlog/";
pub const VARIABLE: &str = "jv/";

/// The tags of the keys `<tag><job>\0<part>` that belong to one run of a job (not its log
/// rows): a new run of the same name replaces them, and retention removes them with the job.
/// A new per-job record kind must be listed here.
pub const PER_JOB_PREFIXES: &[&str] = &[
    STEP,
    PROGRESS,
    TIMELINE,
    TIMER,
    PID,
    JOB_INSTANCE,
    JOB_STEP,
    VARIABLE,
];

/// The tags of the keys `<tag><job>` (one per job) that retention removes with the job.
pub const PER_JOB_KEYS: &[&str] = &[
    JOB,
    JOB_HEADER,
    DEFINITIONS,
    ORDER,
    ACTIVE,
    super::outbox::JOB_DEFINITION_NAME,
];

const SEP: u8 = 0;

fn tagged(tag: &str, part: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(tag.len() + part.len());
    k.extend_from_slice(tag.as_bytes());
    k.extend_from_slice(part.as_bytes());
    k
}

/// Prefix of every key of `tag` that belongs to `job` (`tag<job>\0`).
pub fn job_prefix(tag: &str, job: &str) -> Vec<u8> {
    let mut k = tagged(tag, job);
    k.push(SEP);
    k
}

fn job_part(tag: &str, job: &str, part: &[u8]) -> Vec<u8> {
    let mut k = job_prefix(tag, job);
    k.extend_from_slice(part);
    k
}

pub fn job_key(job: &str) -> Vec<u8> {
    tagged(JOB, job)
}

pub fn job_header_key(job: &str) -> Vec<u8> {
    tagged(JOB_HEADER, job)
}

pub fn job_instance_key(job: &str, instance: u32) -> Vec<u8> {
    job_part(JOB_INSTANCE, job, &instance.to_be_bytes())
}

pub fn job_step_key(job: &str, instance: u32, step: u32) -> Vec<u8> {
    let mut k = job_prefix(JOB_STEP, job);
    k.extend_from_slice(&instance.to_be_bytes());
    k.extend_from_slice(&step.to_be_bytes());
    k
}

/// The (instance, step) numbers at the end of a `js/` key.
pub fn job_step_of(key: &[u8]) -> Option<(u32, u32)> {
    let tail = key.get(key.len().checked_sub(8)?..)?;
    let (i, s) = tail.split_at(4);
    Some((
        u32::from_be_bytes(i.try_into().ok()?),
        u32::from_be_bytes(s.try_into().ok()?),
    ))
}

/// The instance number at the end of a `ji/` key.
pub fn job_instance_of(key: &[u8]) -> Option<u32> {
    let tail = key.get(key.len().checked_sub(4)?..)?;
    Some(u32::from_be_bytes(tail.try_into().ok()?))
}

pub fn definitions_key(job: &str) -> Vec<u8> {
    tagged(DEFINITIONS, job)
}

pub fn order_key(job: &str) -> Vec<u8> {
    tagged(ORDER, job)
}

pub fn variable_key(job: &str, name: &str) -> Vec<u8> {
    job_part(VARIABLE, job, name.as_bytes())
}

pub fn step_key(job: &str, subname: &str) -> Vec<u8> {
    job_part(STEP, job, subname.as_bytes())
}

pub fn progress_key(job: &str, subname: &str) -> Vec<u8> {
    job_part(PROGRESS, job, subname.as_bytes())
}

pub fn pid_key(job: &str, subname: &str) -> Vec<u8> {
    job_part(PID, job, subname.as_bytes())
}

/// Timers are keyed by their JSON form (stable: the `TimerKey` enum's serde representation).
pub fn timer_key(job: &str, timer_json: &str) -> Vec<u8> {
    job_part(TIMER, job, timer_json.as_bytes())
}

pub fn log_key(log_id: u64) -> Vec<u8> {
    let mut k = LOG.as_bytes().to_vec();
    k.extend_from_slice(&log_id.to_be_bytes());
    k
}

pub fn run_key(log_id: u64) -> Vec<u8> {
    let mut k = RUN.as_bytes().to_vec();
    k.extend_from_slice(&log_id.to_be_bytes());
    k
}

pub fn timeline_key(job: &str, seq: u64) -> Vec<u8> {
    job_part(TIMELINE, job, &seq.to_be_bytes())
}

/// `sched/<job definition>`: the scheduler's durable state of one scheduled job definition.
pub fn schedule_key(definition: &str) -> Vec<u8> {
    tagged(SCHEDULE, definition)
}

/// `schen/<job definition>`: `chainsched enable|disable` of a job definition.
pub fn schedule_enabled_key(definition: &str) -> Vec<u8> {
    tagged(SCHEDULE_ENABLED, definition)
}

/// `cedit/<chain>`: a chain changed while the engine runs (`store::chain_edits`).
pub fn chain_edit_key(chain: &str) -> Vec<u8> {
    tagged(CHAIN_EDIT, chain)
}

/// `kev/<id BE>`: an event kept for a step that starts waiting later (`core::events`).
pub fn kept_event_key(id: u64) -> Vec<u8> {
    let mut k = KEPT_EVENT.as_bytes().to_vec();
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// Every key tag, for walking the store (`store check`) and for messages.
pub const TAGS: &[&str] = &[
    JOB,
    JOB_HEADER,
    JOB_INSTANCE,
    JOB_STEP,
    DEFINITIONS,
    STEP,
    ORDER,
    PROGRESS,
    TIMER,
    LOG,
    RUN,
    TIMELINE,
    PID,
    SCHEDULE,
    SCHEDULE_ENABLED,
    CHAIN_EDIT,
    KEPT_EVENT,
    JOB_BY_TIME,
    ENDED,
    ACTIVE,
    JOB_LOG,
    super::outbox::OUTBOX,
    super::outbox::JOB_DEFINITION_NAME,
    VARIABLE,
];

/// A key as text for messages: `log/` and `run/` ids and timeline sequence numbers as numbers,
/// the job/subname separator as `\0`, other bytes that are not printable ASCII as `\xNN`.
pub fn display_key(key: &[u8]) -> String {
    let numbered = |tag: &str| -> Option<String> {
        let rest = key.strip_prefix(tag.as_bytes())?;
        if tag == TIMELINE {
            let cut = rest.iter().position(|b| *b == SEP)?;
            if rest.len() != cut + 9 {
                return None;
            }
            let job = escape(&rest[..cut]);
            return Some(format!("{tag}{job}\\0#{}", trailing_u64(rest)?));
        }
        (rest.len() == 8).then(|| format!("{tag}#{}", trailing_u64(rest).unwrap_or(0)))
    };
    [LOG, RUN, TIMELINE]
        .iter()
        .find_map(|tag| numbered(tag))
        .unwrap_or_else(|| escape(key))
}

fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\0' => out.push_str("\\0"),
                c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// `jt/<u64::MAX - instant BE><job>`: key order is newest first, then job name.
pub fn job_by_time_key(instant: u64, job: &str) -> Vec<u8> {
    let mut k = JOB_BY_TIME.as_bytes().to_vec();
    k.extend_from_slice(&(u64::MAX - instant).to_be_bytes());
    k.extend_from_slice(job.as_bytes());
    k
}

/// The first `jt/` key of the jobs whose instant is at most `instant` (`jt/` keys from here on
/// are of jobs no newer than `instant`).
pub fn job_by_time_from(instant: u64) -> Vec<u8> {
    let mut k = JOB_BY_TIME.as_bytes().to_vec();
    k.extend_from_slice(&(u64::MAX - instant).to_be_bytes());
    k
}

/// `jend/<ended_at BE><job>`.
pub fn ended_key(ended_at: u64, job: &str) -> Vec<u8> {
    let mut k = ENDED.as_bytes().to_vec();
    k.extend_from_slice(&ended_at.to_be_bytes());
    k.extend_from_slice(job.as_bytes());
    k
}

/// The first `jend/` key of jobs that ended at `ended_at` or later (keys below it ended
/// earlier).
pub fn ended_from(ended_at: u64) -> Vec<u8> {
    let mut k = ENDED.as_bytes().to_vec();
    k.extend_from_slice(&ended_at.to_be_bytes());
    k
}

/// `jact/<job>`.
pub fn active_key(job: &str) -> Vec<u8> {
    tagged(ACTIVE, job)
}

/// `jlog/<job>\0<log_id BE>`.
pub fn job_log_key(job: &str, log_id: u64) -> Vec<u8> {
    job_part(JOB_LOG, job, &log_id.to_be_bytes())
}

/// The instant and job name of a `jt/` or `jend/` key (`tag`, 8-byte number, name); for
/// `jt/` the number is turned back into the instant.
pub fn split_time_key(tag: &str, key: &[u8]) -> Option<(u64, String)> {
    let rest = key.strip_prefix(tag.as_bytes())?;
    if rest.len() < 8 {
        return None;
    }
    let mut b = [0u8; 8];
    b.copy_from_slice(&rest[..8]);
    let n = u64::from_be_bytes(b);
    let n = if tag == JOB_BY_TIME { u64::MAX - n } else { n };
    let name = String::from_utf8(rest[8..].to_vec()).ok()?;
    Some((n, name))
}

/// The name of a `<tag><job>` key.
pub fn name_after(tag: &str, key: &[u8]) -> Option<String> {
    let rest = key.strip_prefix(tag.as_bytes())?;
    String::from_utf8(rest.to_vec()).ok()
}

/// The smallest key greater than every key that starts with `prefix` (`None`: no such key,
/// the prefix is all 0xFF bytes).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// The big-endian number at the end of a key (log ids, timeline sequence numbers).
pub fn trailing_u64(key: &[u8]) -> Option<u64> {
    if key.len() < 8 {
        return None;
    }
    let mut b = [0u8; 8];
    b.copy_from_slice(&key[key.len() - 8..]);
    Some(u64::from_be_bytes(b))
}

/// The job name of a `job/<job>` key.
pub fn job_name_of(key: &[u8]) -> Option<String> {
    let rest = key.strip_prefix(JOB.as_bytes())?;
    String::from_utf8(rest.to_vec()).ok()
}

/// Whether a job name can be used as a key part.
pub fn valid_job_name(job: &str) -> bool {
    !job.is_empty() && !job.as_bytes().contains(&SEP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_keys_sort_numerically() {
        let mut keys: Vec<Vec<u8>> = [300u64, 2, 70_000, 1].iter().map(|i| log_key(*i)).collect();
        keys.sort();
        let ids: Vec<u64> = keys.iter().filter_map(|k| trailing_u64(k)).collect();
        assert_eq!(ids, vec![1, 2, 300, 70_000]);
    }

    #[test]
    fn a_job_prefix_does_not_match_a_longer_job_name() {
        let a = step_key("J1", "A");
        let b = step_key("J10", "A");
        assert!(a.starts_with(&job_prefix(STEP, "J1")));
        assert!(!b.starts_with(&job_prefix(STEP, "J1")));
    }

    #[test]
    fn keys_display_readably() {
        assert_eq!(display_key(&log_key(5)), "log/#5");
        assert_eq!(display_key(&run_key(300)), "run/#300");
        assert_eq!(display_key(&timeline_key("J1", 7)), "tl/J1\\0#7");
        assert_eq!(display_key(&step_key("J1", "A")), "step/J1\\0A");
        assert_eq!(display_key(b"x\x01\xff"), "x\\x01\\xff");
    }

    #[test]
    fn job_by_time_keys_list_the_newest_first_then_by_name() {
        let mut keys = [
            job_by_time_key(1_000, "OLD"),
            job_by_time_key(5_000, "B"),
            job_by_time_key(5_000, "A"),
            job_by_time_key(u64::MAX, "MAX"),
            job_by_time_key(0, "ZERO"),
        ];
        keys.sort();
        let names: Vec<(u64, String)> = keys
            .iter()
            .filter_map(|k| split_time_key(JOB_BY_TIME, k))
            .collect();
        assert_eq!(
            names,
            vec![
                (u64::MAX, "MAX".to_string()),
                (5_000, "A".to_string()),
                (5_000, "B".to_string()),
                (1_000, "OLD".to_string()),
                (0, "ZERO".to_string()),
            ]
        );
        // Seeking: every key from `job_by_time_from(t)` on is of a job no newer than t.
        let from = job_by_time_from(4_999);
        assert!(keys
            .iter()
            .filter(|k| **k >= from)
            .all(|k| { split_time_key(JOB_BY_TIME, k).is_some_and(|(t, _)| t <= 4_999) }));
        assert_eq!(keys.iter().filter(|k| **k >= from).count(), 2);
    }

    #[test]
    fn ended_keys_list_the_oldest_first_and_split_back() {
        let mut keys = [
            ended_key(70_000, "C"),
            ended_key(300, "B"),
            ended_key(300, "A"),
        ];
        keys.sort();
        let split: Vec<(u64, String)> = keys
            .iter()
            .filter_map(|k| split_time_key(ENDED, k))
            .collect();
        assert_eq!(
            split,
            vec![
                (300, "A".to_string()),
                (300, "B".to_string()),
                (70_000, "C".to_string())
            ]
        );
        assert!(ended_key(299, "ZZZ") < ended_from(300));
        assert!(ended_key(300, "") >= ended_from(300));
        assert_eq!(split_time_key(ENDED, b"jend/short"), None);
    }

    #[test]
    fn job_log_keys_are_per_job_in_log_id_order() {
        let a = job_log_key("J1", 2);
        let b = job_log_key("J1", 10);
        let other = job_log_key("J10", 1);
        assert!(a < b);
        assert!(a.starts_with(&job_prefix(JOB_LOG, "J1")));
        assert!(!other.starts_with(&job_prefix(JOB_LOG, "J1")));
        assert_eq!(trailing_u64(&b), Some(10));
    }

    #[test]
    fn prefix_end_bounds_the_prefix() {
        assert_eq!(prefix_end(b"log/"), Some(b"log0".to_vec()));
        assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff\xff"), None);
        let end = prefix_end(&job_prefix(JOB_LOG, "J")).unwrap();
        assert!(job_log_key("J", u64::MAX) < end);
        assert!(job_log_key("J0", 0) >= end, "J0 sorts after every key of J");
    }

    #[test]
    fn nul_in_a_job_name_is_refused() {
        assert!(!valid_job_name("A\0B"));
        assert!(!valid_job_name(""));
        assert!(valid_job_name("RUN_CHAIN$_C1"));
    }
}
