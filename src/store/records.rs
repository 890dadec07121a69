//! Values kept in the store besides the core's own records, and their codecs.
//!
//! Every value chainsched writes is **sealed** in an envelope:
//!
//! ```text
//! [codec tag: 1 byte] [crc32 of the payload: 4 bytes, little-endian] [payload]
//! ```
//!
//! Why an envelope: sled checks its own log records, but a value can still be damaged on its way
//! (a bit flip in memory before the write, a damaged page that sled reads back without noticing,
//! a bug that writes the wrong bytes). A checksum per value turns "reads back as something
//! plausible but wrong" into a refusal naming the key ([`StoreError::Corrupt`]), and lets
//! `chainsched store check` walk the whole store and report each damaged key. The tag says how
//! the payload was encoded, so a reader never parses bytes with the wrong codec.
//!
//! Two codecs:
//! * **JSON** (tag 1, [`encode`]/[`decode`], serde_json): for most values. They are small (a
//!   record, a log row, a snapshot of one job), encoding cost is far below the cost of a flush,
//!   the payload can be inspected with ordinary tools, and serde's defaults let a later version
//!   add optional fields without a migration.
//! * **postcard** (tag 2, [`encode_compact`]/[`decode_compact`]): a compact binary serde format
//!   for records written very often, where size and encoding time matter more than
//!   readability. postcard is not self-describing: a reader must know the exact type, and an
//!   added field is a format change (unlike JSON).
//!
//! Keys, where order matters, are binary (see `layout`). `meta/format` is the one value stored
//! raw: it is read first, to know how to read everything else.

use super::StoreError;
use crate::core::types::{JobRecord, StepState, TimerKey};
use crate::lang::duration::Millis;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Output and error output are kept bounded: the last 64 KiB of each.
pub const OUTPUT_LIMIT: usize = 64 * 1024;

/// The codec tag of a JSON payload.
pub const TAG_JSON: u8 = 1;
/// The codec tag of a postcard payload.
pub const TAG_POSTCARD: u8 = 2;
/// Bytes before the payload: the tag and the checksum.
pub const ENVELOPE_HEADER: usize = 5;

/// The codec a tag names, for messages.
pub fn codec_name(tag: u8) -> &'static str {
    match tag {
        TAG_JSON => "JSON",
        TAG_POSTCARD => "postcard",
        _ => "unknown",
    }
}

/// Wrap `payload` in an envelope with codec `tag`.
pub fn seal(tag: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ENVELOPE_HEADER + payload.len());
    out.push(tag);
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Check an envelope and return its codec tag and payload. Errors name the key (rendered with
/// [`layout::display_key`](super::layout::display_key)) and say what is wrong.
pub fn unseal<'a>(key: &[u8], bytes: &'a [u8]) -> Result<(u8, &'a [u8]), StoreError> {
    let corrupt = |message: String| StoreError::Corrupt {
        key: super::layout::display_key(key),
        message,
    };
    if bytes.len() < ENVELOPE_HEADER {
        return Err(corrupt(format!(
            "value of {} bytes is too short for a record envelope ({ENVELOPE_HEADER} bytes of \
             codec tag and checksum come first)",
            bytes.len()
        )));
    }
    let tag = bytes[0];
    if tag != TAG_JSON && tag != TAG_POSTCARD {
        return Err(corrupt(format!(
            "unknown codec tag {tag} (expected {TAG_JSON} = JSON or {TAG_POSTCARD} = postcard)"
        )));
    }
    let mut crc = [0u8; 4];
    crc.copy_from_slice(&bytes[1..ENVELOPE_HEADER]);
    let stored = u32::from_le_bytes(crc);
    let payload = &bytes[ENVELOPE_HEADER..];
    let computed = crc32fast::hash(payload);
    if stored != computed {
        return Err(corrupt(format!(
            "checksum mismatch: stored crc32 {stored:08x}, computed {computed:08x} over {} \
             payload bytes",
            payload.len()
        )));
    }
    Ok((tag, payload))
}

fn expect_tag<'a>(key: &[u8], bytes: &'a [u8], want: u8) -> Result<&'a [u8], StoreError> {
    let (tag, payload) = unseal(key, bytes)?;
    if tag != want {
        return Err(StoreError::Corrupt {
            key: super::layout::display_key(key),
            message: format!(
                "the value was written as {} but this record is read as {}",
                codec_name(tag),
                codec_name(want)
            ),
        });
    }
    Ok(payload)
}

/// A value as sealed JSON.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising our own plain data types to JSON cannot fail (no maps with non-string keys,
    // no custom serialisers that error); fall back to `null` rather than panic.
    let payload = serde_json::to_vec(value).unwrap_or_else(|_| b"null".to_vec());
    seal(TAG_JSON, &payload)
}

/// Decode JSON of any nesting depth. serde_json refuses more than 128 levels by default, and a
/// rule condition is a tree (150 `AND`s nest 150 deep): a catalog or a job's definitions that
/// `check` accepts must always read back, or recovery would refuse the store. The recursion
/// limit is off, and the stack grows on the heap as deep input needs it (serde_stacker) rather
/// than overflowing.
pub fn json_from_slice<T: DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    de.disable_recursion_limit();
    let value = T::deserialize(serde_stacker::Deserializer::new(&mut de))?;
    de.end()?;
    Ok(value)
}

/// Read a value written by [`encode`]: the envelope is checked first (tag, checksum), then the
/// JSON payload is decoded as `T`.
pub fn decode<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    let payload = expect_tag(key, bytes, TAG_JSON)?;
    json_from_slice(payload).map_err(|e| StoreError::Corrupt {
        key: super::layout::display_key(key),
        message: format!("the JSON payload does not decode: {e}"),
    })
}

/// A value as sealed postcard (compact binary).
pub fn encode_compact<T: Serialize>(value: &T) -> Vec<u8> {
    // postcard fails only for types it cannot represent (sequences of unknown length, which
    // derived serde types never produce); an empty payload then fails on read, loudly.
    let payload = postcard::to_allocvec(value).unwrap_or_default();
    seal(TAG_POSTCARD, &payload)
}

/// Read a value written by [`encode_compact`]. Trailing bytes after the value are refused
/// (a valid envelope around the wrong payload is damage too).
pub fn decode_compact<T: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    let payload = expect_tag(key, bytes, TAG_POSTCARD)?;
    let corrupt = |message: String| StoreError::Corrupt {
        key: super::layout::display_key(key),
        message,
    };
    match postcard::take_from_bytes::<T>(payload) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(corrupt(format!(
            "the postcard payload has {} bytes left over after the value",
            rest.len()
        ))),
        Err(e) => Err(corrupt(format!(
            "the postcard payload does not decode: {e}"
        ))),
    }
}

/// `job/<job>`: the job record, as the core last reported it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobEntry {
    pub record: JobRecord,
}

/// `prog/<job>\0<subname>`: progress reported by a running step (`::progress`, `::status`, or a
/// handler's context). Kept after the step ends so views show the last value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub sofar: Option<u64>,
    pub totalwork: Option<u64>,
    pub status_message: Option<String>,
    pub updated_at: Millis,
}

/// `timer/<job>\0<timer>`: a timer the core asked for, with its absolute due time (engine
/// milliseconds since the Unix epoch) so recovery re-arms it at the same instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimerEntry {
    pub job: String,
    pub timer: TimerKey,
    pub due: Millis,
}

/// `run/<log_id>`: details of one job-log row (docs/views.md, job_run_details).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDetails {
    pub log_id: u64,
    pub job: String,
    pub subname: Option<String>,
    pub status: StepState,
    pub error_code: i64,
    /// When the engine asked for the run (the step became RUNNING / the job started).
    pub req_start: Option<Millis>,
    /// When the process or handler actually started.
    pub actual_start: Option<Millis>,
    pub run_duration: Option<Millis>,
    /// Process id of an external program.
    pub pid: Option<u32>,
    /// Last 64 KiB of standard output (control lines `::progress`, `::status`, `::error-code`
    /// excluded).
    pub output: String,
    /// Last 64 KiB of standard error, plus engine notes (a timeout, a launch error).
    pub errors: String,
    /// The job variables the run set, in order (docs/variables.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<(String, String)>,
}

/// `pid/<job>\0<subname>`: the process group of a running external step, so that recovery can
/// kill what is left of it (grandchildren do not get the parent-death signal) before the step is
/// restarted or marked STOPPED.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LivePid {
    pub pid: u32,
    pub attempt: u32,
}

/// Keep only the last `OUTPUT_LIMIT` bytes of `text`, cut at a character boundary.
pub fn bounded_tail(text: &str) -> String {
    if text.len() <= OUTPUT_LIMIT {
        return text.to_string();
    }
    let mut start = text.len() - OUTPUT_LIMIT;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_is_bounded_and_keeps_the_end() {
        let text = format!("{}END", "é".repeat(40_000));
        let tail = bounded_tail(&text);
        assert!(tail.len() <= OUTPUT_LIMIT);
        assert!(tail.ends_with("END"));
    }

    #[test]
    fn a_corrupt_value_is_an_error_naming_the_key() {
        let err = decode::<Progress>(b"prog/J\0A", &seal(TAG_JSON, b"{not json")).unwrap_err();
        assert!(err.to_string().contains("prog/J"), "{err}");
    }

    fn progress() -> Progress {
        Progress {
            sofar: Some(2),
            totalwork: Some(3),
            status_message: Some("counting".into()),
            updated_at: 1_700_000_000_000,
        }
    }

    #[test]
    fn both_codecs_round_trip_and_carry_their_tag() {
        let p = progress();
        let json = encode(&p);
        assert_eq!(json[0], TAG_JSON);
        assert_eq!(decode::<Progress>(b"prog/J\0A", &json).unwrap(), p);
        let compact = encode_compact(&p);
        assert_eq!(compact[0], TAG_POSTCARD);
        assert_eq!(
            decode_compact::<Progress>(b"prog/J\0A", &compact).unwrap(),
            p
        );
        assert!(compact.len() < json.len());
    }

    #[test]
    fn a_flipped_payload_bit_is_a_checksum_mismatch_naming_the_key() {
        for mut bytes in [encode(&progress()), encode_compact(&progress())] {
            let last = bytes.len() - 1;
            bytes[last] ^= 0x10;
            let err = if bytes[0] == TAG_JSON {
                decode::<Progress>(b"prog/J\0A", &bytes).unwrap_err()
            } else {
                decode_compact::<Progress>(b"prog/J\0A", &bytes).unwrap_err()
            };
            let text = err.to_string();
            assert!(text.contains("checksum mismatch"), "{text}");
            assert!(text.contains("prog/J\\0A"), "{text}");
        }
    }

    #[test]
    fn a_value_read_with_the_other_codec_is_refused() {
        let err = decode::<Progress>(b"k", &encode_compact(&progress())).unwrap_err();
        assert!(err.to_string().contains("written as postcard"), "{err}");
        let err = decode_compact::<Progress>(b"k", &encode(&progress())).unwrap_err();
        assert!(err.to_string().contains("written as JSON"), "{err}");
    }

    #[test]
    fn short_unknown_and_unsealed_values_are_refused() {
        let short = decode::<Progress>(b"k", &[TAG_JSON, 0, 0]).unwrap_err();
        assert!(short.to_string().contains("too short"), "{short}");
        let unknown = decode::<Progress>(b"k", &[9, 0, 0, 0, 0, b'{', b'}']).unwrap_err();
        assert!(
            unknown.to_string().contains("unknown codec tag 9"),
            "{unknown}"
        );
        // A value of the previous format (bare JSON) is not mistaken for a sealed one.
        let bare = decode::<Progress>(b"k", br#"{"sofar":1,"updated_at":0}"#).unwrap_err();
        assert!(matches!(bare, StoreError::Corrupt { .. }), "{bare}");
    }

    #[test]
    fn leftover_postcard_bytes_are_damage() {
        let mut payload = postcard::to_allocvec(&7u32).unwrap();
        payload.push(0);
        let err = decode_compact::<u32>(b"k", &seal(TAG_POSTCARD, &payload)).unwrap_err();
        assert!(err.to_string().contains("left over"), "{err}");
    }

    proptest::proptest! {
        #[test]
        fn random_bytes_never_panic_a_decoder(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = decode::<Progress>(b"k", &bytes);
            let _ = decode::<RunDetails>(b"k", &bytes);
            let _ = decode_compact::<Progress>(b"k", &bytes);
            let _ = decode_compact::<RunDetails>(b"k", &bytes);
            let _ = decode_compact::<TimerEntry>(b"k", &bytes);
        }

        #[test]
        fn random_payloads_in_valid_envelopes_never_panic(
            tag in 0u8..4,
            payload in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
        ) {
            let bytes = seal(tag, &payload);
            let _ = decode::<RunDetails>(b"k", &bytes);
            let _ = decode_compact::<RunDetails>(b"k", &bytes);
            let _ = decode_compact::<Vec<String>>(b"k", &bytes);
        }

        #[test]
        fn any_single_bit_flip_is_detected(bit in 0usize..(8 * 60)) {
            for sealed in [encode(&progress()), encode_compact(&progress())] {
                let mut bytes = sealed.clone();
                let bit = bit % (8 * bytes.len());
                bytes[bit / 8] ^= 1 << (bit % 8);
                let json = decode::<Progress>(b"k", &bytes);
                let compact = decode_compact::<Progress>(b"k", &bytes);
                proptest::prop_assert!(json.is_err() && compact.is_err());
            }
        }
    }
}
