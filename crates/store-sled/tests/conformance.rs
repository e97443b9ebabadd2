//! The store's conformance suite (crates/store/tests/conformance) on sled, plus the
//! properties of a failed bulk append and of reopening that only an on-disk store has.

mod common;

use std::ops::Deref;

use common::*;
use grant_ledger_store::*;
use grant_ledger_store_sled::SledStore;
use tempfile::TempDir;

const EQUIVALENCE_CASES: u32 = 64;

/// A sled store in its own temporary directory, removed when dropped.
struct Fresh {
    store: SledStore,
    _dir: TempDir,
}

impl Deref for Fresh {
    type Target = dyn EventStore;
    fn deref(&self) -> &Self::Target {
        &self.store
    }
}

fn fresh() -> Option<Fresh> {
    let dir = TempDir::new().unwrap();
    let store = SledStore::open(dir.path(), dyn_clock()).unwrap();
    Some(Fresh { store, _dir: dir })
}

#[path = "../../store/tests/conformance/semantics.rs"]
mod semantics;

#[path = "../../store/tests/conformance/equivalence.rs"]
mod equivalence;

#[path = "../../store/tests/conformance/verify_each.rs"]
mod verify_each;

use semantics::{bulk, failed_bulk_appends_leave_no_trace};

#[test]
fn a_failed_bulk_append_leaves_no_id_extent_behind() {
    let dir = TempDir::new().unwrap();
    let s = SledStore::open(dir.path(), dyn_clock()).unwrap();
    failed_bulk_appends_leave_no_trace(&s);
    let head = s.head().unwrap().position;
    drop(s);
    // The failed imports staged whole chunks of increasing ids, i.e. id extents: none may be
    // left behind, and the three committed single events have one entry each.
    let db = raw_db(dir.path());
    assert_eq!(head, 3);
    assert_eq!(db.open_tree("event_ids").unwrap().len(), 3);
    assert!(
        db.open_tree("event_id_extents").unwrap().is_empty(),
        "a failed bulk append left an id extent behind"
    );
    drop(db);
    // ... whereas a bulk append that commits is indexed by extents (so the check above was
    // looking at the right tree).
    std::thread::sleep(std::time::Duration::from_millis(100));
    let s = SledStore::open(dir.path(), dyn_clock()).unwrap();
    let mut events = (0..3_000u64).map(|i| Ok(event(i)));
    bulk(&s, "later", ExpectedVersion::NoStream, &mut events).unwrap();
    drop(s);
    let db = raw_db(dir.path());
    assert_eq!(db.open_tree("event_id_extents").unwrap().len(), 2);
    assert_eq!(db.open_tree("event_ids").unwrap().len(), 3);
}

#[test]
fn sled_store_keeps_everything_across_reopen() {
    let dir = TempDir::new().unwrap();
    let head = {
        let s = SledStore::open(dir.path(), dyn_clock()).unwrap();
        let mut r = req(vec![batch("a", ExpectedVersion::Any, 4)]);
        r.keys = vec![key("k1", 9)];
        r.models = vec![ModelWrite {
            name: "m".into(),
            bytes: b"x".to_vec(),
        }];
        s.append(r).unwrap();
        s.head().unwrap()
    };
    let s = SledStore::open(dir.path(), dyn_clock()).unwrap();
    assert_eq!(s.head().unwrap(), head);
    assert_eq!(s.stream_version("a").unwrap(), 4);
    assert_eq!(s.key("k1").unwrap().unwrap().fingerprint, [9; 32]);
    assert_eq!(s.model("m").unwrap(), Some((4, b"x".to_vec())));
    assert_eq!(s.verify().unwrap().events, 4);
    let next = s
        .append(req(vec![batch("a", ExpectedVersion::Exact(4), 1)]))
        .unwrap();
    assert_eq!(next.appended().first_position, 5);
}
