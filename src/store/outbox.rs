//! The notification outbox (`ntf/`) and the job-definition record of a run (`jdn/`).
//!
//! Why an outbox in the store: a notification is owed because of a state change (a job ended
//! FAILED, a step failed, …). It is written in the SAME batch as that change, so either both
//! are durable or neither is: a notification due before a crash is still there after it and
//! is sent by the next engine, and a state change never happens without its notification. The
//! engine's actor only writes the record; delivery (HTTP, a program) happens outside it, in the
//! notifier task (`runtime::notifier`), which updates the record after each attempt (SENT,
//! retried later with backoff, FAILED once the retries are spent, SKIPPED when the condition no
//! longer holds). Delivery is therefore *at least once*: a crash between a delivery and its
//! record's update sends it again.
//!
//! `jdn/<job>` keeps the name of the job definition a run belongs to (the core knows it only
//! while the job is unfinished): the `for job D` filter of late notifications and the stats per
//! job definition read it.

use super::chain_store::{ChainStore, StateBatch};
use super::records::{decode, encode};
use super::{StoreError, WriteBatch};
use crate::lang::duration::Millis;
use serde::{Deserialize, Serialize};

/// `ntf/<created_at BE u64><seq BE u32><job>`: one notification to deliver on one channel.
pub const OUTBOX: &str = "ntf/";
/// `jdn/<job>`: the job definition a run belongs to.
pub const JOB_DEFINITION_NAME: &str = "jdn/";

/// Final rows older than this are removed by the notifier (the outbox is not a history).
pub const KEEP_FINISHED: Millis = 7 * 24 * 3600 * 1000;

/// How a notification is delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// HTTP POST of the JSON message; a 2xx answer is a delivery.
    Webhook(String),
    /// A program (and its arguments) run with the message on standard input and in
    /// `CHAINSCHED_NOTIFY_*` variables; exit status 0 is a delivery.
    Command(Vec<String>),
}

impl Channel {
    pub fn kind(&self) -> &'static str {
        match self {
            Channel::Webhook(_) => "WEBHOOK",
            Channel::Command(_) => "COMMAND",
        }
    }
    pub fn target(&self) -> String {
        match self {
            Channel::Webhook(u) => u.clone(),
            Channel::Command(c) => c.join(" "),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryStatus {
    /// Not delivered yet: due at `next_attempt_at`.
    Pending,
    Sent,
    /// Every attempt failed.
    Failed,
    /// Its condition no longer held when it came due (the job left ENQUEUED in time).
    Skipped,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "PENDING",
            DeliveryStatus::Sent => "SENT",
            DeliveryStatus::Failed => "FAILED",
            DeliveryStatus::Skipped => "SKIPPED",
        }
    }
    pub fn is_final(self) -> bool {
        self != DeliveryStatus::Pending
    }
}

/// One outbox row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// The key after `ntf/`, hex: stable, sortable by creation time.
    #[serde(skip)]
    pub id: String,
    /// The `notify` declaration.
    pub notify: String,
    /// `FAILED`, `STEP FAILED`, `ENQUEUED LONGER THAN 10m`, …
    pub event: String,
    pub job: String,
    pub chain: String,
    pub definition: Option<String>,
    /// The step (`STEP FAILED`).
    pub subname: Option<String>,
    pub channel: Channel,
    /// The JSON message.
    pub message: serde_json::Value,
    pub created_at: Millis,
    /// Send only if the job is still ENQUEUED when it comes due.
    pub only_if_enqueued: bool,
    pub status: DeliveryStatus,
    pub attempts: u32,
    /// Attempts allowed in all (1 + retries).
    pub max_attempts: u32,
    /// First retry delay; doubled after each failure, at most one hour.
    pub delay: Millis,
    pub next_attempt_at: Millis,
    pub last_error: Option<String>,
    pub sent_at: Option<Millis>,
    /// Engines sharing a database: the engine that delivers it (the one that wrote it).
    #[serde(default)]
    pub owner: Option<String>,
}

impl Notification {
    /// The wait before attempt `attempts + 1` after a failure.
    pub fn backoff(&self) -> Millis {
        let exp = self.attempts.saturating_sub(1).min(20);
        self.delay.saturating_mul(1u64 << exp).clamp(1, 3_600_000)
    }
}

pub fn outbox_key(created_at: Millis, seq: u32, job: &str) -> Vec<u8> {
    let mut k = OUTBOX.as_bytes().to_vec();
    k.extend_from_slice(&created_at.to_be_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    k.extend_from_slice(job.as_bytes());
    k
}

/// The id of an outbox key (hex of the part after `ntf/`).
pub fn id_of_key(key: &[u8]) -> String {
    key.get(OUTBOX.len()..)
        .unwrap_or_default()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The key of an id made by [`id_of_key`].
pub fn key_of_id(id: &str) -> Option<Vec<u8>> {
    if id.len() % 2 != 0 || id.len() < 24 {
        return None;
    }
    let mut k = OUTBOX.as_bytes().to_vec();
    for i in (0..id.len()).step_by(2) {
        k.push(u8::from_str_radix(id.get(i..i + 2)?, 16).ok()?);
    }
    Some(k)
}

pub fn job_definition_key(job: &str) -> Vec<u8> {
    let mut k = JOB_DEFINITION_NAME.as_bytes().to_vec();
    k.extend_from_slice(job.as_bytes());
    k
}

impl StateBatch {
    /// A new outbox row (in the batch of the state change that owes it).
    pub fn put_notification(&mut self, key: Vec<u8>, n: &Notification) {
        self.put_raw(key, encode(n));
    }
    /// The job definition of a run (`None`: an ad-hoc run; a record of an earlier run of the
    /// same name is removed).
    pub fn put_job_definition(&mut self, job: &str, definition: Option<&str>) {
        match definition {
            Some(d) => self.put_raw(job_definition_key(job), encode(&d)),
            None => self.delete_raw(job_definition_key(job)),
        }
    }
}

impl ChainStore {
    /// The outbox rows, newest first, at most `limit`.
    pub fn notifications(&self, limit: usize) -> Result<Vec<Notification>, StoreError> {
        let pairs = self.kv().scan_back(OUTBOX.as_bytes(), None, limit)?;
        pairs.into_iter().map(|(k, v)| read(&k, &v)).collect()
    }

    /// Every row still to deliver (oldest first), and the keys of final rows finished before
    /// `expired_before` (for removal).
    pub fn pending_notifications(
        &self,
        expired_before: Millis,
    ) -> Result<(Vec<Notification>, Vec<Vec<u8>>), StoreError> {
        let mut pending = Vec::new();
        let mut expired = Vec::new();
        for (k, v) in self.kv().scan_prefix(OUTBOX.as_bytes())? {
            let n = read(&k, &v)?;
            if n.status == DeliveryStatus::Pending {
                pending.push(n);
            } else if n.created_at < expired_before {
                expired.push(k);
            }
        }
        Ok((pending, expired))
    }

    pub fn notification(&self, id: &str) -> Result<Option<Notification>, StoreError> {
        let Some(key) = key_of_id(id) else {
            return Ok(None);
        };
        match self.kv().get(&key)? {
            Some(v) => read(&key, &v).map(Some),
            None => Ok(None),
        }
    }

    /// Write one updated row (the notifier, after an attempt), durably.
    pub fn update_notification(&self, n: &Notification) -> Result<(), StoreError> {
        let Some(key) = key_of_id(&n.id) else {
            return Err(StoreError::Io(format!("bad notification id {}", n.id)));
        };
        let mut b = WriteBatch::default();
        b.put(key, encode(n));
        self.kv().commit(b)
    }

    /// Remove outbox rows (final ones past [`KEEP_FINISHED`]).
    pub fn delete_notifications(&self, keys: Vec<Vec<u8>>) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut b = WriteBatch::default();
        for k in keys {
            b.delete(k);
        }
        self.kv().commit(b)
    }

    /// The job definition a run belongs to, if it was a run of one.
    pub fn job_definition(&self, job: &str) -> Result<Option<String>, StoreError> {
        let key = job_definition_key(job);
        match self.kv().get(&key)? {
            Some(v) => decode::<String>(&key, &v).map(Some),
            None => Ok(None),
        }
    }
}

fn read(key: &[u8], value: &[u8]) -> Result<Notification, StoreError> {
    let mut n: Notification = decode(key, value)?;
    n.id = id_of_key(key);
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_to_keys() {
        let k = outbox_key(1_700_000_000_000, 7, "J1");
        let id = id_of_key(&k);
        assert_eq!(key_of_id(&id), Some(k));
        assert_eq!(key_of_id("zz"), None);
        assert_eq!(key_of_id("abc"), None);
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let mut n = Notification {
            id: String::new(),
            notify: "N".into(),
            event: "FAILED".into(),
            job: "J".into(),
            chain: "C".into(),
            definition: None,
            subname: None,
            channel: Channel::Webhook("http://x".into()),
            message: serde_json::Value::Null,
            created_at: 0,
            only_if_enqueued: false,
            status: DeliveryStatus::Pending,
            attempts: 1,
            max_attempts: 3,
            delay: 1000,
            next_attempt_at: 0,
            last_error: None,
            sent_at: None,
            owner: None,
        };
        assert_eq!(n.backoff(), 1000);
        n.attempts = 3;
        assert_eq!(n.backoff(), 4000);
        n.attempts = 40;
        assert_eq!(n.backoff(), 3_600_000);
    }
}
