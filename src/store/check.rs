//! `chainsched store check`: walk every key of a store and verify it.
//!
//! Why a separate walk: reads in normal operation touch only what a view or recovery needs, so
//! damage in an old log row or a finished job's steps would show up only when someone looks at
//! it. The check reads everything once: each value's envelope (codec tag, crc32) and that its
//! payload decodes as the type its key prefix says (`layout`). It reports counts per prefix and
//! every damaged key with the reason, and it never writes a record (opening the store does
//! raise its witness and may set aside a leftover `.generating` file, as every open does).
//!
//! A store that sled itself cannot open (or that makes sled fail while it is walked) is
//! reported too, as [`CheckReport::error`], not as a crash. A PostgreSQL store ([`check_db`])
//! is walked the same way through a read-only connection; there the database itself guards
//! its pages (its own checksums, if the cluster has them on), and this check verifies what
//! chainsched wrote into them.

use super::layout::{self, FORMAT_KEY, FORMAT_VERSION};
use super::open::DbLocation;
use super::pg_store::{redact_url, PgAccess, PgOptions, PgStore};
use super::records::{self, JobEntry, LivePid, Progress, RunDetails, TimerEntry};
use super::schedules::ScheduleState;
use super::sled_store::{set_aside_generating, SledOptions, SledStore};
use super::{KvStore, StoreError};
use crate::catalog::Catalog;
use crate::core::types::{LogRow, StepRecord, TimelineEntry};
use crate::core::{InstanceRecord, JobDefinitions, StepStateRecord};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The records of one key prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PrefixCount {
    pub prefix: String,
    pub records: u64,
    pub damaged: u64,
}

/// One damaged key and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DamagedKey {
    pub key: String,
    pub reason: String,
}

/// What `store check` found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    pub store: String,
    /// True when the store opened, every key was read, and nothing is damaged.
    pub clean: bool,
    /// The store's format version (`meta/format`), when there is one.
    pub format: Option<String>,
    /// Files moved out of sled's way before opening (`*.generating`), as `from -> to`.
    pub set_aside: Vec<String>,
    /// Per key prefix, in prefix order.
    pub prefixes: Vec<PrefixCount>,
    pub damaged: Vec<DamagedKey>,
    /// Keys under a prefix this build does not know: their envelope was checked, their type
    /// cannot be (a newer chainsched may have written them). Not counted as damage.
    pub unknown_prefixes: Vec<String>,
    /// Why the walk could not be done (or not finished): the store cannot be opened, has
    /// another format version, or sled failed on its files.
    pub error: Option<String>,
}

/// Check the store at `path`. Never creates a store: a missing folder is reported.
pub fn check_store(path: &Path) -> CheckReport {
    let mut report = CheckReport {
        store: path.display().to_string(),
        ..CheckReport::default()
    };
    if !path.join("db").exists() && !path.join("conf").exists() {
        report.error = Some(format!("no store at {}", path.display()));
        return report;
    }
    match set_aside_generating(path) {
        Ok(moved) => {
            report.set_aside = moved
                .iter()
                .map(|(from, to)| format!("{} -> {}", from.display(), to.display()))
                .collect();
        }
        Err(e) => {
            report.error = Some(e.to_string());
            return report;
        }
    }
    let store = match SledStore::open(path, &SledOptions::default()) {
        Ok(s) => s,
        Err(e) => {
            report.error = Some(e.to_string());
            return report;
        }
    };
    let mut tally = Tally::default();
    let walked = store.for_each(|key, value| tally.record(&mut report, key, value));
    tally.finish(&mut report, walked, store.was_used());
    report
}

/// Check the store `db` names: a sled folder ([`check_store`]) or a PostgreSQL database, read
/// in pages of [`PG_PAGE`] keys on a read-only connection (it may run beside
/// an engine, and then sees each page as of its own moment).
pub fn check_db(db: &str) -> CheckReport {
    let url = match DbLocation::parse(db) {
        Ok(DbLocation::Sled(path)) => return check_store(&path),
        Ok(DbLocation::Postgres(url)) => url,
        Err(e) => {
            return CheckReport {
                store: super::open::display_db(db),
                error: Some(e.to_string()),
                ..CheckReport::default()
            }
        }
    };
    let mut report = CheckReport {
        store: redact_url(&url),
        ..CheckReport::default()
    };
    let options = PgOptions {
        access: PgAccess::Read,
        ..PgOptions::default()
    };
    let store = match PgStore::open(&url, &options) {
        Ok(s) => s,
        Err(e) => {
            report.error = Some(e.to_string());
            return report;
        }
    };
    let mut tally = Tally::default();
    let mut from = Vec::new();
    let walked = loop {
        let page = match store.scan_from(b"", &from, PG_PAGE) {
            Ok(p) => p,
            Err(e) => break Err(e),
        };
        let full = page.len() == PG_PAGE;
        if let Some((last, _)) = page.last() {
            from = last.clone();
            from.push(0);
        }
        for (k, v) in page {
            tally.record(&mut report, k, v);
        }
        if !full {
            break Ok(());
        }
    };
    tally.finish(&mut report, walked, false);
    report
}

/// Keys read per query by [`check_db`] on PostgreSQL.
pub const PG_PAGE: usize = 1000;

/// Counts per prefix while walking.
#[derive(Default)]
struct Tally {
    counts: BTreeMap<String, PrefixCount>,
    unknown: BTreeMap<String, ()>,
}

impl Tally {
    fn record(&mut self, report: &mut CheckReport, key: Vec<u8>, value: Vec<u8>) {
        let prefix = prefix_of(&key);
        let count = self
            .counts
            .entry(prefix.clone())
            .or_insert_with(|| PrefixCount {
                prefix: prefix.clone(),
                ..PrefixCount::default()
            });
        count.records += 1;
        if key == FORMAT_KEY {
            report.format = Some(String::from_utf8_lossy(&value).into_owned());
            return;
        }
        match check_value(&key, &value) {
            Verdict::Good => {}
            Verdict::Unknown => {
                self.unknown.insert(prefix, ());
            }
            Verdict::Damaged(reason) => {
                count.damaged += 1;
                report.damaged.push(DamagedKey {
                    key: layout::display_key(&key),
                    reason,
                });
            }
        }
    }

    /// `used`: the store is known to have held data (sled's witness), so a missing format
    /// record is damage even when it is empty.
    fn finish(self, report: &mut CheckReport, walked: Result<(), StoreError>, used: bool) {
        report.prefixes = self.counts.into_values().collect();
        report.unknown_prefixes = self.unknown.into_keys().collect();
        if let Err(e) = walked {
            report.error = Some(format!("the walk stopped: {e}"));
        }
        match report.format.as_deref() {
            Some(FORMAT_VERSION) => {}
            Some(other) if report.error.is_none() => {
                report.error = Some(format!(
                    "the store has format version '{other}', this chainsched checks \
                     '{FORMAT_VERSION}' (values of another version are reported as damaged above)"
                ));
            }
            None if report.error.is_none() && (used || !report.prefixes.is_empty()) => {
                report.damaged.push(DamagedKey {
                    key: layout::display_key(FORMAT_KEY),
                    reason: "missing: every chainsched store has one".into(),
                });
            }
            _ => {}
        }
        report.clean = report.error.is_none() && report.damaged.is_empty();
    }
}

/// The part of a key that says its type: `meta/<name>` whole, otherwise up to the first `/`.
fn prefix_of(key: &[u8]) -> String {
    if key.starts_with(b"meta/") {
        return layout::display_key(key);
    }
    match key.iter().position(|b| *b == b'/') {
        Some(i) => layout::display_key(&key[..=i]),
        None => layout::display_key(key),
    }
}

enum Verdict {
    Good,
    Unknown,
    Damaged(String),
}

fn as_type<T: serde::de::DeserializeOwned>(key: &[u8], value: &[u8]) -> Verdict {
    match records::decode::<T>(key, value) {
        Ok(_) => Verdict::Good,
        Err(StoreError::Corrupt { message, .. }) => Verdict::Damaged(message),
        Err(other) => Verdict::Damaged(other.to_string()),
    }
}

fn as_compact<T: serde::de::DeserializeOwned>(key: &[u8], value: &[u8]) -> Verdict {
    match records::decode_compact::<T>(key, value) {
        Ok(_) => Verdict::Good,
        Err(StoreError::Corrupt { message, .. }) => Verdict::Damaged(message),
        Err(other) => Verdict::Damaged(other.to_string()),
    }
}

/// Verify one value as the type its key says (`layout`'s table). A new key prefix needs an arm
/// here, or it is reported as unknown.
fn check_value(key: &[u8], value: &[u8]) -> Verdict {
    if key == layout::STORE_ID_KEY {
        return as_type::<String>(key, value);
    }
    if key == layout::CATALOG_KEY {
        return as_type::<Catalog>(key, value);
    }
    if key == layout::NEXT_LOG_ID_KEY {
        return as_type::<u64>(key, value);
    }
    if key == layout::INDEX_KEY {
        return if value == layout::INDEX_VERSION.as_bytes() {
            Verdict::Good
        } else {
            Verdict::Damaged(format!(
                "index version {:?}, expected {:?}",
                String::from_utf8_lossy(value),
                layout::INDEX_VERSION
            ))
        };
    }
    let tag = layout::TAGS
        .iter()
        .copied()
        .find(|t| key.starts_with(t.as_bytes()));
    match tag {
        Some(layout::JOB) => as_type::<JobEntry>(key, value),
        // Index entries: the key is the information, the value is empty.
        Some(layout::JOB_BY_TIME | layout::ENDED | layout::ACTIVE | layout::JOB_LOG) => {
            if value.is_empty() {
                Verdict::Good
            } else {
                Verdict::Damaged(format!("an index entry holds {} bytes", value.len()))
            }
        }
        Some(layout::JOB_HEADER) => match super::chain_store::decode_job_header(key, value) {
            Ok(_) => Verdict::Good,
            Err(StoreError::Corrupt { message, .. }) => Verdict::Damaged(message),
            Err(other) => Verdict::Damaged(other.to_string()),
        },
        Some(layout::JOB_INSTANCE) => as_compact::<InstanceRecord>(key, value),
        Some(layout::JOB_STEP) => as_compact::<StepStateRecord>(key, value),
        Some(layout::DEFINITIONS) => as_type::<JobDefinitions>(key, value),
        Some(layout::STEP) => as_type::<StepRecord>(key, value),
        Some(layout::ORDER) => as_type::<Vec<String>>(key, value),
        Some(layout::PROGRESS) => as_type::<Progress>(key, value),
        Some(layout::TIMER) => as_type::<TimerEntry>(key, value),
        Some(layout::KEPT_EVENT) => as_type::<crate::core::KeptEvent>(key, value),
        Some(layout::LOG) => as_type::<LogRow>(key, value),
        Some(layout::RUN) => as_type::<RunDetails>(key, value),
        Some(layout::TIMELINE) => as_type::<TimelineEntry>(key, value),
        Some(layout::PID) => as_type::<LivePid>(key, value),
        Some(layout::VARIABLE) => as_type::<crate::core::types::Variable>(key, value),
        Some(layout::SCHEDULE) => as_type::<ScheduleState>(key, value),
        Some(layout::SCHEDULE_ENABLED) => as_type::<super::schedules::EnabledOverride>(key, value),
        Some(layout::CHAIN_EDIT) => as_type::<super::chain_edits::ChainEdit>(key, value),
        Some(super::outbox::OUTBOX) => as_type::<super::outbox::Notification>(key, value),
        Some(super::outbox::JOB_DEFINITION_NAME) => as_type::<String>(key, value),
        _ => match records::unseal(key, value) {
            Ok(_) => Verdict::Unknown,
            Err(StoreError::Corrupt { message, .. }) => Verdict::Damaged(message),
            Err(other) => Verdict::Damaged(other.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_group_keys_by_type() {
        assert_eq!(prefix_of(&layout::step_key("J", "A")), "step/");
        assert_eq!(prefix_of(&layout::log_key(3)), "log/");
        assert_eq!(prefix_of(FORMAT_KEY), "meta/format");
        assert_eq!(prefix_of(b"odd"), "odd");
    }

    #[test]
    fn a_value_of_the_wrong_type_is_damage() {
        let key = layout::job_key("J");
        match check_value(&key, &records::encode(&vec!["not", "a", "job"])) {
            Verdict::Damaged(reason) => assert!(reason.contains("does not decode"), "{reason}"),
            _ => panic!("a list under job/ must be reported"),
        }
    }

    #[test]
    fn an_unknown_prefix_has_its_envelope_checked() {
        assert!(matches!(
            check_value(b"jx/J", &records::encode(&1)),
            Verdict::Unknown
        ));
        assert!(matches!(check_value(b"jx/J", b"raw"), Verdict::Damaged(_)));
    }
}
