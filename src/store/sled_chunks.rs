//! Large values cut into chunks, for the sled store.
//!
//! WHY: sled 0.34 splits a leaf node only when it holds more than 16 keys, whatever their size,
//! and rewrites the whole node each time it consolidates the node's updates. A large value (a
//! job's chain definitions, the catalog, a job's step order: hundreds of kilobytes for a chain
//! of thousands of steps) therefore shares its node with up to 15 neighbours that change on
//! every step (`jh/<job>`, `js/<job>…`, `job/<job>`), and every few updates of those the large
//! value is written again — a chain of N steps cost O(N²) bytes written. A value larger than
//! [`CHUNK`] is stored as a small marker under its key and its bytes as chunks in a region of
//! the key space of their own (`\xFFchunk/…`, after every other key), so a node holding hot keys
//! never holds more than a marker, and the chunks' nodes are written once.
//!
//! The marker and the chunks are written in the same sled batch as the rest of the change, so
//! the atomicity of a batch is kept. The chunk count of every chunked key is kept in memory
//! (loaded when the store opens) so that an overwrite or a delete can remove the old chunks
//! without reading the old value first. Readers of the store see the whole value: chunking is
//! invisible above `SledStore`.

use std::collections::HashMap;

/// Values larger than this are chunked; chunks are this large (the last one smaller).
pub(crate) const CHUNK: usize = 4096;

/// Where chunks live: after every key the layout uses (all start with ASCII).
pub(crate) const REGION: &[u8] = b"\xFFchunk/";

/// The first bytes of a marker value (no sealed value starts with them: sealed values start
/// with their codec tag, 1 or 2; the raw `meta/format` with `c`).
const MARKER: [u8; 2] = [0xC5, 0x4B];
const MARKER_LEN: usize = 2 + 4 + 8;

/// A marker: the chunk count and the total length.
fn marker(count: u32, total: u64) -> Vec<u8> {
    let mut m = Vec::with_capacity(MARKER_LEN);
    m.extend_from_slice(&MARKER);
    m.extend_from_slice(&count.to_be_bytes());
    m.extend_from_slice(&total.to_be_bytes());
    m
}

/// `Some((count, total))` when `value` is a marker.
pub(crate) fn parse_marker(value: &[u8]) -> Option<(u32, u64)> {
    if value.len() != MARKER_LEN || value[..2] != MARKER {
        return None;
    }
    let count = u32::from_be_bytes(value[2..6].try_into().ok()?);
    let total = u64::from_be_bytes(value[6..14].try_into().ok()?);
    Some((count, total))
}

/// The prefix of every chunk of `key`: region, key length, key.
pub(crate) fn chunk_prefix(key: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(REGION.len() + 4 + key.len() + 4);
    p.extend_from_slice(REGION);
    p.extend_from_slice(&(key.len() as u32).to_be_bytes());
    p.extend_from_slice(key);
    p
}

fn chunk_key(key: &[u8], index: u32) -> Vec<u8> {
    let mut k = chunk_prefix(key);
    k.extend_from_slice(&index.to_be_bytes());
    k
}

/// The logical key and index of a chunk key.
fn parse_chunk_key(k: &[u8]) -> Option<(Vec<u8>, u32)> {
    let rest = k.strip_prefix(REGION)?;
    let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let key = rest.get(4..4 + len)?;
    let index = u32::from_be_bytes(rest.get(4 + len..8 + len)?.try_into().ok()?);
    Some((key.to_vec(), index))
}

/// Whether `key` is one of the store's own chunk keys (never shown above `SledStore`).
pub(crate) fn is_internal(key: &[u8]) -> bool {
    key.starts_with(REGION)
}

/// Chunk counts of the chunked keys, and the translation of writes into sled batches.
#[derive(Debug, Default)]
pub(crate) struct Chunks {
    counts: HashMap<Vec<u8>, u32>,
}

/// A batch translated for sled, with the chunk counts it leaves behind (applied to [`Chunks`]
/// only once sled has applied the batch).
pub(crate) struct Translated {
    pub batch: sled::Batch,
    pub counts: HashMap<Vec<u8>, u32>,
}

impl Chunks {
    /// Read the chunk counts of a tree (at open).
    pub fn load(tree: &sled::Tree) -> sled::Result<Chunks> {
        let mut counts: HashMap<Vec<u8>, u32> = HashMap::new();
        for pair in tree.scan_prefix(REGION) {
            let (k, _) = pair?;
            if let Some((key, index)) = parse_chunk_key(&k) {
                let c = counts.entry(key).or_default();
                *c = (*c).max(index + 1);
            }
        }
        Ok(Chunks { counts })
    }

    /// Translate one batch: large values become a marker plus chunks, and the chunks of a
    /// value that is overwritten or deleted are removed.
    pub fn translate(&self, ops: Vec<super::WriteOp>) -> Translated {
        let mut batch = sled::Batch::default();
        let mut counts: HashMap<Vec<u8>, u32> = HashMap::new();
        for op in ops {
            let (key, value) = match op {
                super::WriteOp::Put(k, v) => (k, Some(v)),
                super::WriteOp::Delete(k) => (k, None),
            };
            let old = counts
                .get(&key)
                .or_else(|| self.counts.get(&key))
                .copied()
                .unwrap_or(0);
            let new = match &value {
                Some(v) if v.len() > CHUNK => v.len().div_ceil(CHUNK) as u32,
                _ => 0,
            };
            if old == 0 && new == 0 {
                // The common case: a small value, never chunked. Nothing to track.
                match value {
                    Some(v) => batch.insert(key, v),
                    None => batch.remove(key),
                }
                continue;
            }
            for i in new..old {
                batch.remove(chunk_key(&key, i));
            }
            match value {
                Some(v) if new > 0 => {
                    for (i, piece) in v.chunks(CHUNK).enumerate() {
                        batch.insert(chunk_key(&key, i as u32), piece);
                    }
                    batch.insert(key.clone(), marker(new, v.len() as u64));
                }
                Some(v) => batch.insert(key.clone(), v),
                None => batch.remove(key.clone()),
            }
            counts.insert(key, new);
        }
        Translated { batch, counts }
    }

    /// Record the counts of a batch sled has applied.
    pub fn applied(&mut self, counts: HashMap<Vec<u8>, u32>) {
        for (k, c) in counts {
            if c == 0 {
                self.counts.remove(&k);
            } else {
                self.counts.insert(k, c);
            }
        }
    }
}

/// The whole value of `key` whose stored value is `stored`: the value itself, or the chunks a
/// marker stands for. `Err` names what is missing when the chunks do not add up.
pub(crate) fn assemble(
    tree: &sled::Tree,
    key: &[u8],
    stored: sled::IVec,
) -> sled::Result<Result<Vec<u8>, String>> {
    let Some((count, total)) = parse_marker(&stored) else {
        return Ok(Ok(stored.to_vec()));
    };
    let mut out = Vec::with_capacity(total as usize);
    let mut seen = 0u32;
    for pair in tree.scan_prefix(chunk_prefix(key)) {
        let (k, v) = pair?;
        match parse_chunk_key(&k) {
            Some((_, index)) if index == seen => {
                out.extend_from_slice(&v);
                seen += 1;
            }
            _ => break,
        }
    }
    if seen != count || out.len() as u64 != total {
        return Ok(Err(format!(
            "a large value stored in {count} chunks ({total} bytes) has {seen} chunks \
             ({} bytes) left",
            out.len()
        )));
    }
    Ok(Ok(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_keys_round_trip_and_sort_after_every_layout_key() {
        let k = chunk_key(b"jdef/J\0X", 7);
        assert_eq!(parse_chunk_key(&k), Some((b"jdef/J\0X".to_vec(), 7)));
        assert!(k.as_slice() > b"tl/ZZZZ".as_slice());
        assert!(is_internal(&k));
        assert!(!is_internal(b"jdef/J"));
    }

    #[test]
    fn a_marker_is_never_a_sealed_value() {
        assert_eq!(parse_marker(&marker(3, 9000)), Some((3, 9000)));
        assert_eq!(parse_marker(b"\x01\0\0\0\0{}"), None);
        assert_eq!(parse_marker(b"chainsched-store-2"), None);
    }
}
