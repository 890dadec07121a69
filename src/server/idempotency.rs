//! `Idempotency-Key` on `POST /api/v1/jobs`: a client that lost the answer to a start sends
//! the same request with the same key again and gets the first answer back, instead of a
//! second run.
//!
//! Why in memory: the answers are kept by the process for [`TTL`] (at most [`MAX_KEYS`] of
//! them, the oldest dropped first), not in the store. A retry after a restart of `serve` is
//! still safe when the job was named (`job`): the name is then refused (409, the run exists or
//! has ended). docs/http-api.md says so. Only answers that a retry would get again are kept:
//! successes and refusals (4xx); after a 5xx (engine unavailable) the key is free, and a retry
//! runs the request for real.

use axum::http::StatusCode;
use serde_json::Value;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an answer is kept for its key.
pub const TTL: Duration = Duration::from_secs(24 * 3600);
/// At most this many keys are remembered.
pub const MAX_KEYS: usize = 10_000;
/// The longest key accepted (bytes of visible ASCII).
pub const MAX_KEY_LEN: usize = 255;

enum Slot {
    InFlight {
        fingerprint: u64,
        since: Instant,
    },
    Done {
        fingerprint: u64,
        at: Instant,
        status: StatusCode,
        body: Value,
    },
}

/// What to do with a request carrying a key.
#[derive(Debug, PartialEq)]
pub enum Begin {
    /// First time: run it, then [`Idempotency::finish`].
    Fresh,
    /// Seen and answered: send this answer again.
    Replay(StatusCode, Value),
    /// The first request with this key has not been answered yet.
    InProgress,
    /// The key was used with another request body.
    Mismatch,
}

#[derive(Default)]
pub struct Idempotency {
    slots: Mutex<HashMap<String, Slot>>,
}

/// A key must be 1 to [`MAX_KEY_LEN`] bytes of visible ASCII.
pub fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "header Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters"
        ));
    }
    Ok(())
}

pub fn fingerprint(body: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut h);
    h.finish()
}

impl Idempotency {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn begin(&self, key: &str, fingerprint: u64) -> Begin {
        let now = Instant::now();
        let mut slots = self.lock();
        let answer = match slots.get(key) {
            Some(Slot::Done { at, .. }) if now.duration_since(*at) > TTL => None,
            Some(Slot::Done {
                fingerprint: f,
                status,
                body,
                ..
            }) => Some(if *f == fingerprint {
                Begin::Replay(*status, body.clone())
            } else {
                Begin::Mismatch
            }),
            Some(Slot::InFlight { fingerprint: f, .. }) => Some(if *f == fingerprint {
                Begin::InProgress
            } else {
                Begin::Mismatch
            }),
            None => None,
        };
        if let Some(a) = answer {
            return a;
        }
        if slots.len() >= MAX_KEYS {
            slots.retain(|_, s| match s {
                Slot::Done { at, .. } => now.duration_since(*at) <= TTL,
                Slot::InFlight { .. } => true,
            });
        }
        if slots.len() >= MAX_KEYS {
            let oldest = slots
                .iter()
                .map(|(k, s)| match s {
                    Slot::Done { at, .. } => (*at, k),
                    Slot::InFlight { since, .. } => (*since, k),
                })
                .min()
                .map(|(_, k)| k.clone());
            if let Some(k) = oldest {
                slots.remove(&k);
            }
        }
        slots.insert(
            key.to_string(),
            Slot::InFlight {
                fingerprint,
                since: now,
            },
        );
        Begin::Fresh
    }

    /// Keep the answer of a fresh request (a 5xx frees the key instead).
    pub fn finish(&self, key: &str, fingerprint: u64, status: StatusCode, body: Value) {
        let mut slots = self.lock();
        if status.is_server_error() {
            slots.remove(key);
        } else {
            slots.insert(
                key.to_string(),
                Slot::Done {
                    fingerprint,
                    at: Instant::now(),
                    status,
                    body,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_replayed_for_the_same_body_only_and_a_5xx_frees_the_key() {
        let idem = Idempotency::default();
        assert_eq!(idem.begin("k", 1), Begin::Fresh);
        assert_eq!(idem.begin("k", 1), Begin::InProgress);
        assert_eq!(idem.begin("k", 2), Begin::Mismatch);
        idem.finish("k", 1, StatusCode::CREATED, serde_json::json!({"job": "J"}));
        assert_eq!(
            idem.begin("k", 1),
            Begin::Replay(StatusCode::CREATED, serde_json::json!({"job": "J"}))
        );
        assert_eq!(idem.begin("other", 1), Begin::Fresh);
        idem.finish("other", 1, StatusCode::SERVICE_UNAVAILABLE, Value::Null);
        assert_eq!(idem.begin("other", 1), Begin::Fresh);
        assert!(check_key("").is_err());
        assert!(check_key("a b").is_err());
        assert!(check_key(&"x".repeat(MAX_KEY_LEN + 1)).is_err());
        assert!(check_key("8e03978e-40d5-43e8-bc93-6894a57f9324").is_ok());
    }
}
