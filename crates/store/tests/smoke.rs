mod common;
use common::*;
use grant_ledger_store::*;

#[test]
fn sled_smoke() {
    let dir = tempfile::tempdir().unwrap();
    let s = SledStore::open(dir.path(), dyn_clock()).unwrap();
    let out = s.append(req(vec![batch("a", ExpectedVersion::NoStream, 3)])).unwrap();
    assert_eq!(out.appended().last_position, 3);
    assert_eq!(s.read_all(0).count(), 3);
    assert_eq!(s.read_stream("a", 0).count(), 3);
    s.verify().unwrap();
    drop(s);
    let s = SledStore::open(dir.path(), dyn_clock()).unwrap();
    assert_eq!(s.head().unwrap().position, 3);
    s.verify().unwrap();
}
