//! What only a database that several processes share has to show: reopening, two handles
//! (as two servers would) on one ledger, schema versions, wake-ups, the hashes sled gives.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use crate::common::*;
use crate::support::TestSchema;
use grant_ledger_store::*;
use grant_ledger_store_postgres::PostgresStore;

fn open(schema: &TestSchema) -> PostgresStore {
    PostgresStore::open_config(schema.config.clone(), true, dyn_clock()).unwrap()
}

#[test]
fn a_reopened_ledger_keeps_everything() {
    let Some(schema) = TestSchema::new() else {
        return;
    };
    let head = {
        let s = open(&schema);
        let mut r = req(vec![batch("a", ExpectedVersion::Any, 4)]);
        r.keys = vec![key("k1", 9)];
        r.models = vec![ModelWrite {
            name: "m".into(),
            bytes: b"x".to_vec(),
        }];
        s.append(r).unwrap();
        s.head().unwrap()
    };
    let s = open(&schema);
    assert_eq!(s.head().unwrap(), head);
    assert_eq!(s.stream_version("a").unwrap(), 4);
    assert_eq!(s.key("k1").unwrap().unwrap().fingerprint, [9; 32]);
    assert_eq!(s.model("m").unwrap(), Some((4, b"x".to_vec())));
    assert_eq!(s.verify().unwrap().events, 4);
}

#[test]
fn racing_writers_on_two_handles_never_both_pass_one_expected_version() {
    let Some(schema) = TestSchema::new() else {
        return;
    };
    let a = Arc::new(open(&schema));
    let b = Arc::new(open(&schema));
    a.append(req(vec![batch("s", ExpectedVersion::NoStream, 1)]))
        .unwrap();
    let rounds = 20;
    let barrier = Arc::new(Barrier::new(2));
    let run = |store: Arc<PostgresStore>, barrier: Arc<Barrier>| {
        std::thread::spawn(move || {
            let mut won = 0;
            for round in 0..rounds {
                barrier.wait();
                // Both decide against version `round + 1`: only one may append on it.
                let r = req(vec![batch("s", ExpectedVersion::Exact(round + 1), 1)]);
                match store.append(r) {
                    Ok(_) => won += 1,
                    Err(StoreError::Conflict { .. }) => {}
                    Err(e) => panic!("{e}"),
                }
                barrier.wait();
                // The loser catches up so the next round starts level.
                while store.stream_version("s").unwrap() < round + 2 {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            won
        })
    };
    let ta = run(Arc::clone(&a), Arc::clone(&barrier));
    let tb = run(Arc::clone(&b), Arc::clone(&barrier));
    let won = ta.join().unwrap() + tb.join().unwrap();
    assert_eq!(won, rounds, "exactly one writer wins each round");
    let report = a.verify().unwrap();
    assert_eq!(report.events, rounds + 1);
    assert_eq!(b.head().unwrap(), report.head);
}

#[test]
fn concurrent_appends_from_two_handles_leave_no_gap() {
    let Some(schema) = TestSchema::new() else {
        return;
    };
    let stores = [Arc::new(open(&schema)), Arc::new(open(&schema))];
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let s = Arc::clone(&stores[i % 2]);
            std::thread::spawn(move || {
                for _ in 0..25 {
                    s.append(req(vec![batch(&format!("t{i}"), ExpectedVersion::Any, 2)]))
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let all: Vec<_> = stores[0].read_all(0).map(Result::unwrap).collect();
    assert_eq!(all.len(), 200);
    for (i, e) in all.iter().enumerate() {
        assert_eq!(e.position, i as u64 + 1);
    }
    stores[1].verify().unwrap();
}

#[test]
fn an_empty_database_is_no_ledger_for_a_reader() {
    let Some(schema) = TestSchema::new() else {
        return;
    };
    let err = PostgresStore::open_config(schema.config.clone(), false, dyn_clock())
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::NoLedger { .. }), "{err}");
}

#[test]
fn a_schema_newer_than_the_build_is_refused() {
    let Some(schema) = TestSchema::new() else {
        return;
    };
    drop(open(&schema));
    let mut c = schema.config.connect(postgres::NoTls).unwrap();
    c.batch_execute("INSERT INTO schema_migrations (version) VALUES (999)")
        .unwrap();
    let err = PostgresStore::open_config(schema.config.clone(), true, dyn_clock())
        .err()
        .unwrap();
    assert!(
        matches!(err, StoreError::NewerSchema { found: 999, .. }),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::Unavailable);
}

#[test]
fn a_server_that_does_not_answer_is_one_sentence() {
    let err = PostgresStore::open("postgres://postgres@127.0.0.1:1/none", dyn_clock())
        .err()
        .unwrap();
    assert!(matches!(err, StoreError::Database { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("cannot reach the server"), "{text}");
    assert!(!text.contains("os error") && !text.contains('\n'), "{text}");
}

#[test]
fn a_commit_through_another_handle_wakes_a_watcher() {
    let Some(schema) = TestSchema::new() else {
        return;
    };
    let watched = open(&schema);
    let seen = Arc::new(AtomicU64::new(0));
    let s = Arc::clone(&seen);
    watched
        .watch(Box::new(move |p| {
            s.fetch_max(p, Ordering::SeqCst);
        }))
        .unwrap();
    let other = open(&schema);
    other
        .append(req(vec![batch("a", ExpectedVersion::Any, 3)]))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(1);
    while seen.load(Ordering::SeqCst) < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(seen.load(Ordering::SeqCst), 3);
}

#[test]
fn the_same_appends_give_the_same_hashes_on_sled_and_postgresql() {
    let Some(schema) = TestSchema::new() else {
        return;
    };
    let pg = open(&schema);
    let dir = tempfile::TempDir::new().unwrap();
    let sled = grant_ledger_store_sled::SledStore::open(dir.path(), dyn_clock()).unwrap();
    for round in 0..5u64 {
        let mut r = req(vec![batch(
            &format!("s{}", round % 2),
            ExpectedVersion::Any,
            3,
        )]);
        r.keys = vec![key(&format!("k{round}"), 1)];
        sled.append(r.clone()).unwrap();
        pg.append(r).unwrap();
    }
    // The same events (ids included) to both, in chunks above the bulk chunk size.
    let rows: Vec<_> = (0..3_000u64)
        .map(|i| keyed_event(i, &format!("row-{i}"), 2))
        .collect();
    let mut events = rows.clone().into_iter().map(Ok);
    let mut events2 = rows.into_iter().map(Ok);
    let bulk = BulkAppend {
        actor: "t".into(),
        keys: vec![],
        stream: "import".into(),
        expected: ExpectedVersion::NoStream,
    };
    sled.append_stream_bulk(bulk.clone(), &mut events, &mut |_| vec![])
        .unwrap();
    pg.append_stream_bulk(bulk, &mut events2, &mut |_| vec![])
        .unwrap();
    assert_eq!(sled.head().unwrap(), pg.head().unwrap());
    let a: Vec<_> = sled.read_all(0).map(|e| e.unwrap().hash).collect();
    let b: Vec<_> = pg.read_all(0).map(|e| e.unwrap().hash).collect();
    assert_eq!(a, b);
    assert_eq!(sled.verify().unwrap(), pg.verify().unwrap());
}
