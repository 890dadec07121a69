//! The [`KvStore`] contract, as one function every implementation's tests call: the memory and
//! sled stores in `store::contract_tests`, PostgreSQL in tests/store_pg.rs. Test support (it
//! panics on the first violation), public so integration tests can reach it.

use super::{layout, KvStore, WriteBatch};

/// Check `store` (which must be empty) against the contract of [`KvStore`]: ordered scans in
/// byte order, pages forward and backward, the last key of a prefix, ids, deletes, overwrites, large values, keys
/// with 0xFF bytes (whose prefix has no successor) and the last-write-wins order inside a
/// batch. Panics with a message on the first violation.
pub fn check_contract(store: &dyn KvStore) {
    let mut b = WriteBatch::default();
    b.put(layout::log_key(2), b"two".to_vec());
    b.put(layout::log_key(10), b"ten".to_vec());
    b.put(layout::log_key(1), b"one".to_vec());
    b.put(b"job/J1".to_vec(), b"x".to_vec());
    store.commit(b).unwrap();

    let scanned: Vec<Vec<u8>> = store
        .scan_prefix(layout::LOG.as_bytes())
        .unwrap()
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    assert_eq!(
        scanned,
        vec![b"one".to_vec(), b"two".to_vec(), b"ten".to_vec()]
    );
    assert_eq!(store.next_id(layout::LOG.as_bytes()).unwrap(), 11);
    assert_eq!(store.next_id(b"nothing/").unwrap(), 1);
    let page = store
        .scan_from(layout::LOG.as_bytes(), &layout::log_key(2), 1)
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].1, b"two".to_vec());

    let back: Vec<Vec<u8>> = store
        .scan_back(layout::LOG.as_bytes(), None, 2)
        .unwrap()
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    assert_eq!(back, vec![b"ten".to_vec(), b"two".to_vec()]);
    let back: Vec<Vec<u8>> = store
        .scan_back(layout::LOG.as_bytes(), Some(&layout::log_key(10)), 5)
        .unwrap()
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    assert_eq!(back, vec![b"two".to_vec(), b"one".to_vec()]);
    // A bound past the prefix, and keys of a neighbouring prefix, change nothing.
    let back = store
        .scan_back(layout::LOG.as_bytes(), Some(b"zzz"), 1)
        .unwrap();
    assert_eq!(back[0].1, b"ten".to_vec());
    assert!(store.scan_back(b"nothing/", None, 3).unwrap().is_empty());
    assert!(store
        .scan_back(layout::LOG.as_bytes(), Some(&layout::log_key(1)), 3)
        .unwrap()
        .is_empty());

    let mut b = WriteBatch::default();
    b.delete(b"job/J1".to_vec());
    b.put(b"job/J2".to_vec(), b"y".to_vec());
    store.commit(b).unwrap();
    assert_eq!(store.get(b"job/J1").unwrap(), None);
    assert_eq!(store.get(b"job/J2").unwrap(), Some(b"y".to_vec()));

    // Large values (the sled store cuts them into chunks) read back whole, also after an
    // overwrite with a shorter value, and are gone after a delete.
    let big: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    let mut b = WriteBatch::default();
    b.put(b"jdef/J2".to_vec(), big.clone());
    b.put(b"jdef/J3".to_vec(), b"small".to_vec());
    store.commit(b).unwrap();
    assert_eq!(store.get(b"jdef/J2").unwrap(), Some(big.clone()));
    let scanned = store.scan_prefix(b"jdef/").unwrap();
    assert_eq!(scanned.len(), 2);
    assert_eq!(scanned[0], (b"jdef/J2".to_vec(), big.clone()));
    assert_eq!(
        store.last_with_prefix(b"jdef/J2").unwrap(),
        Some((b"jdef/J2".to_vec(), big.clone()))
    );
    let mut b = WriteBatch::default();
    b.put(b"jdef/J2".to_vec(), big[..5000].to_vec());
    store.commit(b).unwrap();
    assert_eq!(store.get(b"jdef/J2").unwrap(), Some(big[..5000].to_vec()));
    let mut b = WriteBatch::default();
    b.delete(b"jdef/J2".to_vec());
    b.put(b"jdef/J3".to_vec(), big.clone());
    store.commit(b).unwrap();
    assert_eq!(store.get(b"jdef/J2").unwrap(), None);
    assert_eq!(store.get(b"jdef/J3").unwrap(), Some(big));

    // Within one batch the writes apply in order: the last write of a key wins.
    let mut b = WriteBatch::default();
    b.put(b"ord/K".to_vec(), b"first".to_vec());
    b.delete(b"ord/K".to_vec());
    b.put(b"ord/K".to_vec(), b"second".to_vec());
    b.put(b"ord/L".to_vec(), b"gone".to_vec());
    b.delete(b"ord/L".to_vec());
    store.commit(b).unwrap();
    assert_eq!(store.get(b"ord/K").unwrap(), Some(b"second".to_vec()));
    assert_eq!(store.get(b"ord/L").unwrap(), None);

    // Bytes above 0x7F order as unsigned bytes, after every ASCII tag; a prefix of 0xFF bytes
    // has no successor, and its scans still end where the prefix does.
    let mut b = WriteBatch::default();
    b.put(b"\xFE\xFF".to_vec(), b"fe-ff".to_vec());
    b.put(b"\xFF\xFF".to_vec(), b"ff-ff".to_vec());
    b.put(b"\xFF\xFF\x00".to_vec(), b"ff-ff-00".to_vec());
    b.put(b"\xFF\xFF\xFF".to_vec(), b"ff-ff-ff".to_vec());
    store.commit(b).unwrap();
    let values =
        |pairs: Vec<super::Pair>| -> Vec<Vec<u8>> { pairs.into_iter().map(|(_, v)| v).collect() };
    assert_eq!(
        values(store.scan_prefix(b"\xFF\xFF").unwrap()),
        vec![
            b"ff-ff".to_vec(),
            b"ff-ff-00".to_vec(),
            b"ff-ff-ff".to_vec()
        ]
    );
    assert_eq!(
        values(store.scan_prefix(b"\xFE").unwrap()),
        vec![b"fe-ff".to_vec()]
    );
    assert_eq!(
        store.last_with_prefix(b"\xFF").unwrap().map(|p| p.1),
        Some(b"ff-ff-ff".to_vec())
    );
    assert_eq!(
        values(store.scan_from(b"\xFF", b"\xFF\xFF\x00", 10).unwrap()),
        vec![b"ff-ff-00".to_vec(), b"ff-ff-ff".to_vec()]
    );
    assert_eq!(
        values(store.scan_back(b"\xFF\xFF", None, 2).unwrap()),
        vec![b"ff-ff-ff".to_vec(), b"ff-ff-00".to_vec()]
    );
    assert_eq!(
        values(store.scan_back(b"\xFF", Some(b"\xFF\xFF\x00"), 5).unwrap()),
        vec![b"ff-ff".to_vec()]
    );
    assert!(store.scan_back(b"log/", None, 0).unwrap().is_empty());
    // A start below the prefix starts at the prefix.
    assert_eq!(
        values(store.scan_from(b"\xFF\xFF", b"a", 1).unwrap()),
        vec![b"ff-ff".to_vec()]
    );
    // The empty prefix is every key, in order.
    let all = store.scan_prefix(b"").unwrap();
    assert!(all.windows(2).all(|w| w[0].0 < w[1].0), "keys out of order");
    assert_eq!(
        all.last().map(|p| p.0.clone()),
        Some(b"\xFF\xFF\xFF".to_vec())
    );
    assert_eq!(all.first().map(|p| p.0.clone()), Some(b"jdef/J3".to_vec()));
    assert!(store.scan_from(b"log/", b"", 0).unwrap().is_empty());
}
