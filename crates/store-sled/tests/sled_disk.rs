//! Properties only the sled store has: racing writers in threads, opening errors (in use,
//! newer format, corrupt) and tamper detection through raw sled edits.

mod common;

use std::path::Path;
use std::sync::{Arc, Barrier};

use common::*;
use grant_ledger_store::*;
use grant_ledger_store_sled::SledStore;
use tempfile::TempDir;

fn open(dir: &Path) -> SledStore {
    SledStore::open(dir, dyn_clock()).unwrap()
}

/// Writes 10 events over two streams and closes the store.
fn ledger_of_ten(dir: &Path) -> Vec<RecordedEvent> {
    let s = open(dir);
    for i in 0..5 {
        s.append(req(vec![
            batch("a", ExpectedVersion::Exact(i), 1),
            batch("b", ExpectedVersion::Exact(i), 1),
        ]))
        .unwrap();
    }
    s.verify().unwrap();
    s.read_all(0).map(Result::unwrap).collect()
}

#[test]
fn racing_writers_on_one_stream_exactly_one_wins() {
    let dir = TempDir::new().unwrap();
    let store = Arc::new(open(dir.path()));
    store
        .append(req(vec![batch(
            "determination-31/1",
            ExpectedVersion::NoStream,
            1,
        )]))
        .unwrap();
    for round in 1..=5u64 {
        let base = store.stream_version("determination-31/1").unwrap();
        let threads = 8;
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let store = Arc::clone(&store);
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    store.append(req(vec![batch(
                        "determination-31/1",
                        ExpectedVersion::Exact(base),
                        2,
                    )]))
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let wins = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "round {round}: {results:?}");
        for r in results.iter().filter_map(|r| r.as_ref().err()) {
            assert_eq!(r.kind(), ErrorKind::Conflict);
            assert!(matches!(r, StoreError::Conflict { expected, actual, .. }
                if *expected == base && *actual == base + 2));
        }
        // Retry the losers' way: reload the version and append again.
        let v = store.stream_version("determination-31/1").unwrap();
        store
            .append(req(vec![batch(
                "determination-31/1",
                ExpectedVersion::Exact(v),
                1,
            )]))
            .unwrap();
        assert_eq!(store.stream_version("determination-31/1").unwrap(), v + 1);
    }
    assert_eq!(store.verify().unwrap().events, 1 + 5 * 3);
}

#[test]
fn concurrent_appends_to_many_streams_stay_gapless() {
    let dir = TempDir::new().unwrap();
    let store = Arc::new(open(dir.path()));
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..10 {
                    store
                        .append(req(vec![batch(
                            &format!("s{t}"),
                            ExpectedVersion::Exact(i * 2),
                            2,
                        )]))
                        .unwrap();
                }
            })
        })
        .collect();
    // Readers run alongside and only ever see whole, committed appends.
    for _ in 0..20 {
        let n = store.read_all(0).map(Result::unwrap).count();
        assert_eq!(n % 2, 0);
    }
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(store.verify().unwrap().events, 80);
}

#[test]
fn a_second_open_is_refused_as_in_use() {
    let dir = TempDir::new().unwrap();
    let first = open(dir.path());
    let err = SledStore::open(dir.path(), dyn_clock()).err().unwrap();
    assert!(matches!(err, StoreError::InUse { .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.to_string().contains("is in use"), "{err}");
    drop(first);
    // Once closed, it opens again.
    open(dir.path());
}

#[test]
fn raw_sled_lock_error_text_is_mapped_to_in_use() {
    // Guards the text match: if a sled upgrade changes its lock message, this fails.
    let dir = TempDir::new().unwrap();
    let _held = open(dir.path());
    let err = sled::open(dir.path()).err().unwrap();
    assert!(err.to_string().contains("could not acquire lock"), "{err}");
}

#[test]
fn a_newer_storage_format_is_refused() {
    let dir = TempDir::new().unwrap();
    ledger_of_ten(dir.path());
    {
        let db = raw_db(dir.path());
        db.open_tree("meta")
            .unwrap()
            .insert("format", &(STORAGE_FORMAT + 1).to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    let err = SledStore::open(dir.path(), dyn_clock()).err().unwrap();
    assert!(
        matches!(err, StoreError::NewerFormat { found, supported, .. } if found == STORAGE_FORMAT + 1 && supported == STORAGE_FORMAT),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::Unavailable);
}

#[test]
fn format_1_and_2_ledgers_are_upgraded_on_open_and_their_ids_found() {
    for old in [1u32, 2] {
        let dir = TempDir::new().unwrap();
        // Appends of two events: runs too short for an extent, so every id has its own
        // entry, which is all an older format has.
        let events = ledger_of_ten(dir.path());
        {
            let db = raw_db(dir.path());
            assert!(db.open_tree("event_id_extents").unwrap().is_empty());
            db.open_tree("meta")
                .unwrap()
                .insert("format", &old.to_be_bytes())
                .unwrap();
            db.flush().unwrap();
        }
        {
            let s = open(dir.path());
            assert_eq!(s.read_all(0).count(), events.len());
            for e in &events {
                let found = s.event_by_id(e.event_id).unwrap().map(|f| f.position);
                assert_eq!(found, Some(e.position));
            }
            s.verify().unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        let db = raw_db(dir.path());
        let format = db
            .open_tree("meta")
            .unwrap()
            .get("format")
            .unwrap()
            .unwrap();
        assert_eq!(format.as_ref(), &STORAGE_FORMAT.to_be_bytes()[..]);
    }
    assert_eq!(STORAGE_FORMAT, 3);
}

#[test]
fn inconsistent_metadata_is_corrupt() {
    let dir = TempDir::new().unwrap();
    ledger_of_ten(dir.path());
    {
        let db = raw_db(dir.path());
        let mut head = [0u8; 40];
        head[..8].copy_from_slice(&42u64.to_be_bytes());
        db.open_tree("meta")
            .unwrap()
            .insert("head", &head[..])
            .unwrap();
        db.flush().unwrap();
    }
    let err = SledStore::open(dir.path(), dyn_clock()).err().unwrap();
    assert!(
        matches!(err, StoreError::Tampered { position: 42, .. }),
        "{err:?}"
    );

    // A sled database that is not a ledger at all.
    let other = TempDir::new().unwrap();
    {
        let db = sled::open(other.path()).unwrap();
        db.open_tree("streams").unwrap().insert("x", "y").unwrap();
        db.flush().unwrap();
    }
    let err = SledStore::open(other.path(), dyn_clock()).err().unwrap();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
}

#[test]
fn a_damaged_database_file_is_an_error_not_a_panic() {
    let dir = TempDir::new().unwrap();
    ledger_of_ten(dir.path());
    std::thread::sleep(std::time::Duration::from_millis(200));
    let db_file = dir.path().join("db");
    let mut bytes = std::fs::read(&db_file).unwrap();
    // Overwrite everything after sled's first segment header with junk.
    for (i, b) in bytes.iter_mut().enumerate().skip(64) {
        *b = (i as u8).wrapping_mul(31) ^ 0x5a;
    }
    std::fs::write(&db_file, &bytes).unwrap();
    // sled itself recovers an empty database from this; that sled's files were already
    // there makes it an error, not a new ledger, for writers and readers alike.
    for open in [SledStore::open, SledStore::open_existing] {
        let err = open(dir.path(), dyn_clock()).err().unwrap();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("lost its contents"), "{text}");
        assert!(text.contains(&dir.path().display().to_string()), "{text}");
    }
}

#[test]
fn only_sleds_own_files_are_kept_in_the_ledger_directory() {
    let dir = TempDir::new().unwrap();
    ledger_of_ten(dir.path());
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in &names {
        assert!(
            ["blobs", "conf", "db"].contains(&name.as_str()) || name.starts_with("snap."),
            "{name} is not one of sled's files: {names:?}"
        );
    }
}

#[test]
fn open_existing_refuses_a_missing_or_empty_directory_and_creates_nothing() {
    let tmp = TempDir::new().unwrap();
    let missing = tmp.path().join("a").join("new");
    let err = SledStore::open_existing(&missing, dyn_clock())
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::NoLedger { .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(!tmp.path().join("a").exists());

    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let err = SledStore::open_existing(&empty, dyn_clock()).err().unwrap();
    assert!(matches!(err, StoreError::NoLedger { .. }), "{err:?}");
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);

    // Once a writer created it, readers open it.
    drop(open(&empty));
    SledStore::open_existing(&empty, dyn_clock()).unwrap();
}

#[test]
fn a_path_that_cannot_hold_a_ledger_is_named_in_words() {
    let tmp = TempDir::new().unwrap();
    let file = tmp.path().join("f");
    std::fs::write(&file, b"x").unwrap();
    let cases = [
        (file.clone(), "it is a file, not a directory".to_string()),
        (
            file.join("sub"),
            format!("{} is a file, not a directory", file.display()),
        ),
    ];
    for (path, problem) in cases {
        for open in [SledStore::open, SledStore::open_existing] {
            let err = open(&path, dyn_clock()).err().unwrap();
            assert!(matches!(err, StoreError::CannotOpen { .. }), "{err:?}");
            assert_eq!(
                err.to_string(),
                format!("cannot open the ledger at {}: {problem}", path.display())
            );
        }
    }
    // A directory holding other things is not made into a ledger.
    let other = tmp.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("notes.txt"), b"x").unwrap();
    let err = SledStore::open(&other, dyn_clock()).err().unwrap();
    assert!(err.to_string().contains("holds other files"), "{err}");
    assert!(!other.join("db").exists());
}

#[test]
fn a_damaged_or_missing_last_event_makes_the_ledger_unavailable_on_open() {
    let dir = TempDir::new().unwrap();
    ledger_of_ten(dir.path());
    flip(dir.path(), 10, 60);
    for open in [SledStore::open, SledStore::open_existing] {
        let err = open(dir.path(), dyn_clock()).err().unwrap();
        assert!(
            matches!(err, StoreError::Tampered { position: 10, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("position 10"), "{err}");
    }

    let dir = TempDir::new().unwrap();
    ledger_of_ten(dir.path());
    {
        let db = raw_db(dir.path());
        db.open_tree("events")
            .unwrap()
            .remove(10u64.to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    let err = SledStore::open(dir.path(), dyn_clock()).err().unwrap();
    assert!(err.to_string().contains("missing"), "{err}");

    // A middle event is not looked at on open (that would cost a scan): verify finds it.
    let dir = TempDir::new().unwrap();
    ledger_of_ten(dir.path());
    {
        let db = raw_db(dir.path());
        db.open_tree("events")
            .unwrap()
            .remove(7u64.to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    assert_tampered_at(dir.path(), 7);
}

/// Flips one byte at `offset` (from the end if negative) of the event at `position`.
fn flip(dir: &Path, position: u64, offset: isize) {
    let db = raw_db(dir);
    let events = db.open_tree("events").unwrap();
    let key = position.to_be_bytes();
    let mut v = events.get(key).unwrap().unwrap().to_vec();
    let i = if offset < 0 {
        (v.len() as isize + offset) as usize
    } else {
        offset as usize
    };
    v[i] ^= 0x20;
    events.insert(key, v).unwrap();
    db.flush().unwrap();
}

/// Both verifies name `position`; the one-pass verify has handed over every event before
/// it and none at or after it, however far its caller wanted to read.
fn assert_tampered_at(dir: &Path, position: u64) {
    let s = open(dir);
    let plain = s.verify();
    let mut seen = Vec::new();
    let each = s.verify_each(&mut |ev| {
        seen.push(ev.fields.position);
        true
    });
    for result in [plain.map(drop), each.map(drop)] {
        match result {
            Err(StoreError::Tampered {
                position: p,
                reason,
            }) => {
                assert_eq!(p, position, "{reason}")
            }
            other => panic!("expected tamper at {position}, got {other:?}"),
        }
    }
    assert_eq!(seen, (1..position).collect::<Vec<_>>());
}

#[test]
fn verify_each_names_damage_beyond_where_its_caller_stopped() {
    let dir = TempDir::new().unwrap();
    ledger_of_ten(dir.path());
    flip(dir.path(), 7, -70);
    let s = open(dir.path());
    let mut seen = 0;
    let found = s.verify_each(&mut |_| {
        seen += 1;
        seen < 2
    });
    assert!(
        matches!(found, Err(StoreError::Tampered { position: 7, .. })),
        "{found:?}"
    );
    assert_eq!(seen, 2);
}

#[test]
fn verify_names_the_position_of_a_flipped_byte_anywhere_in_an_event() {
    // Offsets: tag, position, event id, stream name, payload, prev hash, stored hash.
    let offsets: [isize; 7] = [3, 20, 30, 45, -70, -40, -1];
    for (i, offset) in offsets.into_iter().enumerate() {
        let dir = TempDir::new().unwrap();
        ledger_of_ten(dir.path());
        // The stored-hash flip is tried on the last event, whose hash is also the head's.
        let position = if offset == -1 { 10 } else { 3 + i as u64 };
        flip(dir.path(), position, offset);
        if position == 10 {
            // The last event is also checked on every open, so the ledger does not open.
            let err = SledStore::open(dir.path(), dyn_clock()).err().unwrap();
            assert!(err.to_string().contains("position 10"), "{err}");
        } else {
            assert_tampered_at(dir.path(), position);
        }
    }
}

#[test]
fn verify_catches_a_flip_in_every_byte_of_one_event() {
    let dir = TempDir::new().unwrap();
    ledger_of_ten(dir.path());
    // Every 7th byte and the last, flipped in turn (each open/verify cycle costs ~10 ms).
    let original = {
        let db = raw_db(dir.path());
        let v = db
            .open_tree("events")
            .unwrap()
            .get(5u64.to_be_bytes())
            .unwrap();
        v.unwrap().to_vec()
    };
    let len = original.len();
    assert!(len > 100);
    for i in (0..len).step_by(7).chain([len - 1]) {
        {
            let db = raw_db(dir.path());
            let mut v = original.clone();
            v[i] ^= 0x01;
            db.open_tree("events")
                .unwrap()
                .insert(5u64.to_be_bytes(), v)
                .unwrap();
            db.flush().unwrap();
        }
        assert_tampered_at(dir.path(), 5);
    }
}

#[test]
fn verify_names_a_missing_or_moved_event() {
    let dir = TempDir::new().unwrap();
    ledger_of_ten(dir.path());
    {
        let db = raw_db(dir.path());
        db.open_tree("events")
            .unwrap()
            .remove(4u64.to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    assert_tampered_at(dir.path(), 4);

    let dir = TempDir::new().unwrap();
    ledger_of_ten(dir.path());
    {
        let db = raw_db(dir.path());
        let events = db.open_tree("events").unwrap();
        let seven = events.get(7u64.to_be_bytes()).unwrap().unwrap();
        events.insert(6u64.to_be_bytes(), seven).unwrap();
        db.flush().unwrap();
    }
    assert_tampered_at(dir.path(), 6);
}

#[test]
fn verify_names_an_event_rehashed_to_hide_a_broken_link() {
    // A forger who alters an event's prev hash and recomputes its own hash leaves an
    // envelope that is consistent with itself: only the link to the event before it
    // shows the change, and verify must name this event, not the one after it.
    let dir = TempDir::new().unwrap();
    ledger_of_ten(dir.path());
    {
        let db = raw_db(dir.path());
        let events = db.open_tree("events").unwrap();
        let key = 5u64.to_be_bytes();
        let stored = events.get(key).unwrap().unwrap().to_vec();
        let mut canonical = stored[..stored.len() - 32].to_vec();
        let prev_hash_at = canonical.len() - 32;
        canonical[prev_hash_at] ^= 0x01;
        let hash = event_hash(&canonical);
        canonical.extend_from_slice(&hash);
        events.insert(key, canonical).unwrap();
        db.flush().unwrap();
    }
    assert_tampered_at(dir.path(), 5);
}
