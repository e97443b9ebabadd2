//! The conformance suite, part one: append, read, conflict, idempotency, limit and model
//! semantics, the same for every backend.
//!
//! A backend's test crate includes this file as a module (`#[path]`), next to `common`,
//! and defines at its root `fresh() -> Option<Fresh>`: a new, empty store of that backend
//! (`None` when the backend cannot run here, e.g. no database, after saying so once).

use crate::common::*;
use crate::fresh;
use grant_ledger_store::*;

/// Runs `f` on a fresh store of the backend under test.
pub(crate) fn each(f: impl Fn(&dyn EventStore)) {
    if let Some(store) = fresh() {
        f(&*store);
    }
}

/// A bulk append by actor "t", with no key for the whole append and no models.
pub(crate) fn bulk(
    s: &dyn EventStore,
    stream: &str,
    expected: ExpectedVersion,
    events: &mut dyn Iterator<Item = Result<NewEvent, StoreError>>,
) -> Result<AppendOutcome, StoreError> {
    let bulk = BulkAppend {
        actor: "t".into(),
        keys: vec![],
        stream: stream.into(),
        expected,
    };
    s.append_stream_bulk(bulk, events, &mut |_| vec![])
}

#[test]
fn positions_are_gapless_and_streams_versioned() {
    each(|s| {
        assert_eq!(s.head().unwrap(), Head::default());
        let a = s
            .append(req(vec![batch("a", ExpectedVersion::NoStream, 2)]))
            .unwrap();
        assert_eq!(
            a,
            AppendOutcome::Written(Appended {
                first_position: 1,
                last_position: 2,
                streams: vec![("a".into(), 2)]
            })
        );
        let b = s
            .append(req(vec![
                batch("b", ExpectedVersion::Any, 1),
                batch("a", ExpectedVersion::Exact(2), 3),
            ]))
            .unwrap();
        assert_eq!(b.appended().first_position, 3);
        assert_eq!(b.appended().last_position, 6);
        assert_eq!(b.appended().streams, vec![("b".into(), 1), ("a".into(), 5)]);
        assert_eq!(s.stream_version("a").unwrap(), 5);
        assert_eq!(s.stream_version("nope").unwrap(), 0);

        let all: Vec<_> = s.read_all(0).map(Result::unwrap).collect();
        assert_eq!(all.len(), 6);
        let mut prev = [0u8; 32];
        for (i, e) in all.iter().enumerate() {
            assert_eq!(e.position, i as u64 + 1);
            assert_eq!(e.prev_hash, prev);
            assert_eq!(e.actor, "tester");
            prev = e.hash;
        }
        assert_eq!(
            s.head().unwrap(),
            Head {
                position: 6,
                hash: prev
            }
        );

        let a_versions: Vec<_> = s
            .read_stream("a", 0)
            .map(|e| e.unwrap().stream_version)
            .collect();
        assert_eq!(a_versions, vec![1, 2, 3, 4, 5]);
        let from4: Vec<_> = s.read_stream("a", 4).map(|e| e.unwrap().position).collect();
        assert_eq!(from4, vec![5, 6]);
        assert_eq!(s.read_stream("a", 6).count(), 0);
        assert_eq!(s.read_stream("nope", 0).count(), 0);
        assert_eq!(s.read_all(5).count(), 2);
        assert_eq!(s.read_all(7).count(), 0);

        let third = s.event_at(3).unwrap().unwrap();
        assert_eq!(third.stream, "b");
        assert!(s.event_at(0).unwrap().is_none());
        assert!(s.event_at(7).unwrap().is_none());
        let by_id = s.event_by_id(third.event_id).unwrap().unwrap();
        assert_eq!(by_id.position, 3);
        assert!(s.event_by_id(uuid::Uuid::now_v7()).unwrap().is_none());

        assert_eq!(
            s.verify().unwrap(),
            VerifyReport {
                events: 6,
                head: s.head().unwrap()
            }
        );
    });
}

#[test]
fn payload_and_envelope_fields_round_trip_exactly() {
    each(|s| {
        let payload = br#"{"b":1,  "a":"x\u00e9",  "n":[1.50,2]}"#.to_vec();
        let id = uuid::Uuid::now_v7();
        let mut r = req(vec![StreamBatch {
            stream: "determination-31/7421".into(),
            expected: ExpectedVersion::NoStream,
            events: vec![NewEvent {
                event_id: id,
                event_type: "DeterminationMade".into(),
                schema_version: 3,
                payload: payload.clone(),
                key: Some("cmd-1".into()),
                key_fingerprint: None,
                actor: None,
            }],
        }]);
        r.actor = "treasury-officer".into();
        s.append(r).unwrap();
        let e = s.event_at(1).unwrap().unwrap();
        assert_eq!(e.payload.get().as_bytes(), &payload[..]);
        assert_eq!(e.event_id, id);
        assert_eq!(e.event_type, "DeterminationMade");
        assert_eq!(e.schema_version, 3);
        assert_eq!(e.key.as_deref(), Some("cmd-1"));
        assert_eq!(e.actor, "treasury-officer");
        assert_eq!(e.recorded_at, clock().now());
    });
}

#[test]
fn stale_expected_version_is_a_conflict_naming_both_versions() {
    each(|s| {
        s.append(req(vec![batch(
            "determination-31/7421",
            ExpectedVersion::Any,
            12,
        )]))
        .unwrap();
        let err = s
            .append(req(vec![batch(
                "determination-31/7421",
                ExpectedVersion::Exact(11),
                1,
            )]))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Conflict);
        assert_eq!(
            err.to_string(),
            "stream determination-31/7421 is at version 12, but version 11 was expected"
        );
        let err = s
            .append(req(vec![batch(
                "determination-31/7421",
                ExpectedVersion::NoStream,
                1,
            )]))
            .unwrap_err();
        assert!(matches!(
            err,
            StoreError::Conflict {
                expected: 0,
                actual: 12,
                ..
            }
        ));
        assert_eq!(s.head().unwrap().position, 12);
    });
}

#[test]
fn a_multi_stream_append_is_all_or_nothing() {
    each(|s| {
        s.append(req(vec![batch("b", ExpectedVersion::Any, 1)]))
            .unwrap();
        let head = s.head().unwrap();
        let err = s
            .append(req(vec![
                batch("a", ExpectedVersion::NoStream, 3),
                batch("b", ExpectedVersion::NoStream, 1),
            ]))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Conflict);
        assert_eq!(s.head().unwrap(), head);
        assert_eq!(s.stream_version("a").unwrap(), 0);
        assert_eq!(s.read_all(0).count(), 1);
        // A later append continues gaplessly.
        let ok = s
            .append(req(vec![batch("a", ExpectedVersion::NoStream, 1)]))
            .unwrap();
        assert_eq!(ok.appended().first_position, 2);
        s.verify().unwrap();
    });
}

#[test]
fn a_repeated_key_returns_the_original_result_and_writes_nothing() {
    each(|s| {
        let mut r = req(vec![batch("a", ExpectedVersion::Any, 2)]);
        r.keys = vec![key("abc", 1)];
        r.models = vec![ModelWrite {
            name: "m".into(),
            bytes: b"v1".to_vec(),
        }];
        let first = s.append(r.clone()).unwrap();
        assert!(!first.is_duplicate());

        // Same key and fingerprint, even with fresh event ids: original result, no write.
        let mut again = req(vec![batch("a", ExpectedVersion::Any, 2)]);
        again.keys = vec![key("abc", 1)];
        let second = s.append(again).unwrap();
        assert_eq!(second, AppendOutcome::Duplicate(first.appended().clone()));
        assert_eq!(s.head().unwrap().position, 2);
        assert_eq!(s.key("abc").unwrap().unwrap().appended, *first.appended());

        // Same key, different command.
        let mut other = req(vec![batch("a", ExpectedVersion::Any, 1)]);
        other.keys = vec![key("abc", 2)];
        let err = s.append(other).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::KeyReused);
        assert_eq!(
            err.to_string(),
            "idempotency key 'abc' was already used for a different command at position 1"
        );

        // One recorded key plus a fresh one is not the same command either.
        let mut mixed = req(vec![batch("a", ExpectedVersion::Any, 1)]);
        mixed.keys = vec![key("abc", 1), key("new", 1)];
        assert_eq!(s.append(mixed).unwrap_err().kind(), ErrorKind::KeyReused);
        assert!(s.key("new").unwrap().is_none());

        // Bulk honours keys the same way.
        let out = s
            .append_stream_bulk(
                BulkAppend {
                    actor: "tester".into(),
                    keys: vec![key("abc", 1)],
                    stream: "a".into(),
                    expected: ExpectedVersion::Any,
                },
                &mut (0..3).map(|n| Ok(event(n))),
                &mut |_| vec![],
            )
            .unwrap();
        assert!(out.is_duplicate());
        assert_eq!(s.head().unwrap().position, 2);
    });
}

#[test]
fn per_event_keys_are_recorded_found_and_never_recorded_twice() {
    each(|s| {
        s.append(req(vec![batch("a", ExpectedVersion::Any, 1)]))
            .unwrap();
        let mut b = batch("a", ExpectedVersion::Exact(1), 0);
        b.events = vec![
            keyed_event(0, "row-1", 1),
            event(1),
            keyed_event(2, "row-2", 2),
        ];
        let out = s.append(req(vec![b])).unwrap();
        assert_eq!(out.appended().first_position, 2);

        // Each key guards exactly its own event.
        let r1 = s.key("row-1").unwrap().unwrap();
        assert_eq!(r1.fingerprint, [1; 32]);
        assert_eq!(
            r1.appended,
            Appended {
                first_position: 2,
                last_position: 2,
                streams: vec![("a".into(), 2)]
            }
        );
        assert_eq!(s.key("row-2").unwrap().unwrap().appended.first_position, 4);
        assert_eq!(
            s.event_at(4).unwrap().unwrap().key.as_deref(),
            Some("row-2")
        );

        // Recorded with another fingerprint, or (a race the caller should have filtered
        // out) the same one: refused, naming the key, nothing written.
        for fp in [9, 1] {
            let mut again = batch("a", ExpectedVersion::Any, 0);
            again.events = vec![event(5), keyed_event(6, "row-1", fp)];
            let err = s.append(req(vec![again])).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::KeyReused, "{err}");
            assert_eq!(
                err.to_string(),
                "idempotency key 'row-1' was already used for a different command at position 2"
            );
        }
        // A key recorded for a whole append is just as taken.
        let mut whole = req(vec![batch("b", ExpectedVersion::Any, 1)]);
        whole.keys = vec![key("cmd", 3)];
        s.append(whole).unwrap();
        let mut clash = batch("a", ExpectedVersion::Any, 0);
        clash.events = vec![keyed_event(7, "cmd", 3)];
        assert_eq!(
            s.append(req(vec![clash])).unwrap_err().kind(),
            ErrorKind::KeyReused
        );
        // ... and a whole-append key finds a per-event record like its own.
        let mut repeat = req(vec![batch("b", ExpectedVersion::Any, 1)]);
        repeat.keys = vec![key("row-2", 2)];
        assert!(s.append(repeat).unwrap().is_duplicate());

        // Twice in one append: within a chunk, across bulk chunks, or as the append's own key.
        let mut twice = batch("a", ExpectedVersion::Any, 0);
        twice.events = vec![keyed_event(8, "x", 1), keyed_event(9, "x", 2)];
        let err = s.append(req(vec![twice])).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Invalid);
        assert_eq!(
            err.to_string(),
            "invalid request: idempotency key 'x' appears twice"
        );
        let mut events = (0..5_000u64).map(|i| {
            let k = if i == 4_999 { 3 } else { i };
            Ok(keyed_event(i, &format!("bulk-{k}"), 1))
        });
        let err = bulk(s, "bulk", ExpectedVersion::Any, &mut events).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid request: idempotency key 'bulk-3' appears twice"
        );
        let mut own = req(vec![batch("a", ExpectedVersion::Any, 0)]);
        own.batches[0].events = vec![keyed_event(10, "own", 1)];
        own.keys = vec![key("own", 1)];
        assert_eq!(s.append(own).unwrap_err().kind(), ErrorKind::Invalid);
        assert!(s.key("x").unwrap().is_none());
        assert!(s.key("bulk-0").unwrap().is_none());
        assert!(s.key("own").unwrap().is_none());

        // A fingerprint needs a key.
        let mut orphan = batch("a", ExpectedVersion::Any, 1);
        orphan.events[0].key_fingerprint = Some([1; 32]);
        assert_eq!(
            s.append(req(vec![orphan])).unwrap_err().kind(),
            ErrorKind::Invalid
        );

        // A bulk append records any number of per-event keys, all at its commit.
        let mut events = (0..5_000u64).map(|i| Ok(keyed_event(i, &format!("bulk-{i}"), 4)));
        let out = bulk(s, "bulk", ExpectedVersion::NoStream, &mut events).unwrap();
        let first = out.appended().first_position;
        let rec = s.key("bulk-4321").unwrap().unwrap();
        assert_eq!(rec.appended.first_position, first + 4321);
        assert_eq!(rec.appended.streams, vec![("bulk".to_string(), 4322)]);
        assert_eq!(s.head().unwrap().position, first + 4_999);
        s.verify().unwrap();
    });
}

#[test]
fn duplicate_event_ids_are_refused() {
    each(|s| {
        let b = batch("a", ExpectedVersion::Any, 2);
        let dup = b.events[0].clone();
        s.append(req(vec![b])).unwrap();
        let mut again = batch("c", ExpectedVersion::Any, 1);
        again.events.push(dup.clone());
        let err = s.append(req(vec![again])).unwrap_err();
        assert!(matches!(
            err,
            StoreError::DuplicateEventId {
                position: Some(1),
                ..
            }
        ));
        assert_eq!(err.kind(), ErrorKind::Invalid);

        let mut twice = batch("c", ExpectedVersion::Any, 1);
        twice.events.push(twice.events[0].clone());
        let err = s.append(req(vec![twice])).unwrap_err();
        assert!(matches!(
            err,
            StoreError::DuplicateEventId { position: None, .. }
        ));
        assert_eq!(s.head().unwrap().position, 2);
        s.verify().unwrap();
    });
}

#[test]
fn limits_and_malformed_requests_are_invalid() {
    each(|s| {
        let invalid = |r: AppendRequest| {
            let err = s.append(r).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Invalid, "{err}");
        };
        invalid(req(vec![]));
        invalid(req(vec![batch("a", ExpectedVersion::Any, 0)]));
        invalid(req(vec![batch("", ExpectedVersion::Any, 1)]));
        invalid(req(vec![batch(
            &"s".repeat(limits::MAX_STREAM_NAME_BYTES + 1),
            ExpectedVersion::Any,
            1,
        )]));
        invalid(req(vec![
            batch("a", ExpectedVersion::Any, 1),
            batch("a", ExpectedVersion::Any, 1),
        ]));
        let with_payload = |p: Vec<u8>| {
            let mut b = batch("a", ExpectedVersion::Any, 1);
            b.events[0].payload = p;
            req(vec![b])
        };
        let mut big = b"{\"x\":\"".to_vec();
        big.resize(limits::MAX_PAYLOAD_BYTES, b'a');
        big.extend_from_slice(b"\"}");
        invalid(with_payload(big));
        invalid(with_payload(b"[1,2]".to_vec()));
        invalid(with_payload(b" {}".to_vec()));
        invalid(with_payload(b"{\"a\":}".to_vec()));
        invalid(with_payload(b"{}{}".to_vec()));
        let mut b = batch("a", ExpectedVersion::Any, 1);
        b.events[0].event_type = "T".repeat(limits::MAX_EVENT_TYPE_BYTES + 1);
        invalid(req(vec![b]));
        let mut r = req(vec![batch("a", ExpectedVersion::Any, 1)]);
        r.actor = String::new();
        invalid(r);
        let mut r = req(vec![batch("a", ExpectedVersion::Any, 1)]);
        r.keys = vec![key("k", 1), key("k", 1)];
        invalid(r);
        let mut r = req(vec![batch("a", ExpectedVersion::Any, 1)]);
        r.keys = vec![key(&"k".repeat(limits::MAX_KEY_BYTES + 1), 1)];
        invalid(r);
        assert_eq!(s.head().unwrap().position, 0);
        // The largest allowed payload is fine.
        let mut ok = b"{\"x\":\"".to_vec();
        ok.resize(limits::MAX_PAYLOAD_BYTES - 2, b'a');
        ok.extend_from_slice(b"\"}");
        s.append(with_payload(ok)).unwrap();
    });
}

#[test]
fn models_are_checkpointed_with_appends_and_saved_durably() {
    each(|s| {
        let mut r = req(vec![batch("a", ExpectedVersion::Any, 3)]);
        r.models = vec![
            ModelWrite {
                name: "totals".into(),
                bytes: b"{\"t\":3}".to_vec(),
            },
            ModelWrite {
                name: "balances".into(),
                bytes: vec![],
            },
        ];
        s.append(r).unwrap();
        assert_eq!(s.model("totals").unwrap(), Some((3, b"{\"t\":3}".to_vec())));
        assert_eq!(s.model("balances").unwrap(), Some((3, vec![])));
        assert_eq!(s.model("none").unwrap(), None);
        assert_eq!(
            s.model_names().unwrap(),
            vec!["balances".to_string(), "totals".to_string()]
        );
        s.save_model("totals", 2, b"old".to_vec()).unwrap();
        assert_eq!(s.model("totals").unwrap(), Some((2, b"old".to_vec())));
        let err = s.save_model("totals", 4, vec![]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Invalid);
        assert_eq!(
            s.save_model("", 1, vec![]).unwrap_err().kind(),
            ErrorKind::Invalid
        );
    });
}

#[test]
fn bulk_append_commits_many_chunks_at_once() {
    each(|s| {
        s.append(req(vec![batch("other", ExpectedVersion::Any, 1)]))
            .unwrap();
        let n = 5_000u64;
        let mut seen_head = 0;
        let out = s
            .append_stream_bulk(
                BulkAppend {
                    actor: "import".into(),
                    keys: vec![key("import-1", 7)],
                    stream: "import".into(),
                    expected: ExpectedVersion::NoStream,
                },
                &mut (0..n).map(|i| Ok(event(i))),
                &mut |head| {
                    seen_head = head;
                    vec![ModelWrite {
                        name: "import".into(),
                        bytes: b"done".to_vec(),
                    }]
                },
            )
            .unwrap();
        assert_eq!(
            out,
            AppendOutcome::Written(Appended {
                first_position: 2,
                last_position: n + 1,
                streams: vec![("import".into(), n)]
            })
        );
        assert_eq!(seen_head, n + 1);
        assert_eq!(s.model("import").unwrap(), Some((n + 1, b"done".to_vec())));
        assert_eq!(s.read_stream("import", 0).count() as u64, n);
        assert_eq!(s.verify().unwrap().events, n + 1);
    });
}

pub(crate) fn failed_bulk_appends_leave_no_trace(s: &dyn EventStore) {
    s.append(req(vec![batch("a", ExpectedVersion::Any, 1)]))
        .unwrap();
    let head = s.head().unwrap();
    let mut ids = vec![];
    let mut events = (0..5_000u64).map(|i| {
        if i == 4_500 {
            return Err(StoreError::Invalid("row 4500 is malformed".into()));
        }
        let e = keyed_event(i, &format!("row-{i}"), 1);
        ids.push(e.event_id);
        Ok(e)
    });
    let err = s
        .append_stream_bulk(
            BulkAppend {
                actor: "t".into(),
                keys: vec![key("k", 1)],
                stream: "import".into(),
                expected: ExpectedVersion::Any,
            },
            &mut events,
            &mut |_| vec![],
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "invalid request: row 4500 is malformed");
    assert_eq!(s.head().unwrap(), head);
    assert_eq!(s.stream_version("import").unwrap(), 0);
    assert!(s.key("k").unwrap().is_none());
    assert!(s.key("row-0").unwrap().is_none());
    assert!(s.key("row-4000").unwrap().is_none());
    assert_eq!(s.read_all(0).count(), 1);
    assert!(s.event_by_id(ids[0]).unwrap().is_none());
    assert!(s.event_by_id(ids[4_000]).unwrap().is_none());

    // A duplicate id across chunks fails the same way; the ids of the failed import
    // are free to be used again.
    let first = event(0);
    let mut dup_events = vec![Ok(first.clone())];
    dup_events.extend((1..3_000u64).map(|i| Ok(event(i))));
    dup_events.push(Ok(first.clone()));
    let err = bulk(
        s,
        "import",
        ExpectedVersion::Any,
        &mut dup_events.into_iter(),
    )
    .unwrap_err();
    assert!(matches!(err, StoreError::DuplicateEventId { .. }), "{err}");
    assert_eq!(s.head().unwrap(), head);

    let mut reuse = batch("import", ExpectedVersion::NoStream, 1);
    reuse.events[0].event_id = ids[0];
    let ok = s.append(req(vec![reuse])).unwrap();
    assert_eq!(ok.appended().first_position, 2);
    assert_eq!(s.event_by_id(ids[0]).unwrap().unwrap().position, 2);
    // The failed import's keys are free, even where its positions were reused.
    let mut rekeyed = batch("import", ExpectedVersion::Exact(1), 0);
    rekeyed.events = vec![keyed_event(0, "row-3", 2)];
    s.append(req(vec![rekeyed])).unwrap();
    assert_eq!(s.key("row-3").unwrap().unwrap().fingerprint, [2; 32]);
    assert!(s.key("row-2").unwrap().is_none());
    s.verify().unwrap();
}

#[test]
fn a_failed_bulk_append_leaves_no_trace() {
    each(failed_bulk_appends_leave_no_trace);
}

#[test]
fn the_same_appends_give_the_memory_stores_hashes() {
    let Some(store) = fresh() else { return };
    let mem = MemoryStore::new(dyn_clock());
    for round in 0..5 {
        let r = req(vec![batch(
            &format!("s{}", round % 2),
            ExpectedVersion::Any,
            round + 1,
        )]);
        mem.append(r.clone()).unwrap();
        store.append(r).unwrap();
    }
    assert_eq!(mem.head().unwrap(), store.head().unwrap());
    assert_eq!(mem.verify().unwrap(), store.verify().unwrap());
    let ours: Vec<_> = store.read_all(0).map(|e| e.unwrap().hash).collect();
    let theirs: Vec<_> = mem.read_all(0).map(|e| e.unwrap().hash).collect();
    assert_eq!(ours, theirs);
}

#[test]
fn duplicate_ids_are_caught_even_when_ids_are_spread_over_the_key_space() {
    each(|s| {
        // Ids that do not sort after the recorded ones (old or random ids on import) take
        // the store's fallback lookup path.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut id = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            uuid::Uuid::from_u128(u128::from(x) << 64 | u128::from(x.rotate_left(17)))
        };
        let mut first = batch("a", ExpectedVersion::Any, 500);
        for e in &mut first.events {
            e.event_id = id();
        }
        let recorded = first.events[250].event_id;
        s.append(req(vec![first])).unwrap();
        let mut events: Vec<NewEvent> = (0..3_000).map(event).collect();
        for e in &mut events {
            e.event_id = id();
        }
        events[2_500].event_id = recorded;
        let err = bulk(
            s,
            "b",
            ExpectedVersion::Any,
            &mut events.clone().into_iter().map(Ok),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::DuplicateEventId {
                    position: Some(251),
                    ..
                }
            ),
            "{err}"
        );
        events[2_500].event_id = id();
        bulk(
            s,
            "b",
            ExpectedVersion::Any,
            &mut events.into_iter().map(Ok),
        )
        .unwrap();
        assert_eq!(
            s.read_stream("b", 2_999)
                .map(|e| e.unwrap().position)
                .collect::<Vec<_>>(),
            vec![3_499, 3_500]
        );
        assert_eq!(s.event_by_id(recorded).unwrap().unwrap().position, 251);
        s.verify().unwrap();
    });
}

/// Ids `base + step * k` for `k` in `1..=n`: increasing, with room between them.
fn spaced_ids(base: u128, step: u128, n: u128) -> Vec<uuid::Uuid> {
    (1..=n)
        .map(|k| uuid::Uuid::from_u128(base + step * k))
        .collect()
}

fn with_ids(stream: &str, ids: &[uuid::Uuid]) -> AppendRequest {
    let mut b = batch(stream, ExpectedVersion::Any, ids.len());
    for (e, id) in b.events.iter_mut().zip(ids) {
        e.event_id = *id;
    }
    req(vec![b])
}

fn assert_found(s: &dyn EventStore, ids: &[uuid::Uuid], first_position: u64) {
    for (i, id) in ids.iter().enumerate() {
        let ev = s.event_by_id(*id).unwrap();
        let ev = ev.unwrap_or_else(|| panic!("event {i} ({id}) not found"));
        assert_eq!(ev.position, first_position + i as u64, "event {i}");
        assert_eq!(ev.event_id, *id);
    }
}

#[test]
fn every_event_is_found_by_id_whether_ids_increase_or_not() {
    each(|s| {
        // A bulk of 5,000 increasing (v7) ids: indexed as extents, over chunk borders.
        let events: Vec<NewEvent> = (0..5_000).map(event).collect();
        let ids: Vec<uuid::Uuid> = events.iter().map(|e| e.event_id).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        bulk(
            s,
            "bulk",
            ExpectedVersion::NoStream,
            &mut events.into_iter().map(Ok),
        )
        .unwrap();
        assert_found(s, &ids, 1);
        // Ids between and around the members are not there.
        for id in [ids[0], ids[2_047], ids[2_048], ids[4_999]] {
            let below = uuid::Uuid::from_u128(id.as_u128() - 1);
            let above = uuid::Uuid::from_u128(id.as_u128() + 1);
            assert!(s.event_by_id(below).unwrap().is_none());
            assert!(s.event_by_id(above).unwrap().is_none());
        }

        // Random ids, spread over the key space and in no order, some landing inside the
        // bulk's id range: indexed per event.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let (lo, hi) = (ids[0].as_u128(), ids[4_999].as_u128());
        let mut position = 5_001;
        for round in 0..3u128 {
            let random: Vec<uuid::Uuid> = (0..300)
                .map(|i| {
                    let r = u128::from(next()) << 64 | u128::from(next());
                    if i % 10 == 0 {
                        uuid::Uuid::from_u128(lo + r % (hi - lo))
                    } else {
                        uuid::Uuid::from_u128(r ^ round)
                    }
                })
                .collect();
            s.append(with_ids("random", &random)).unwrap();
            assert_found(s, &random, position);
            position += 300;
        }
        // The bulk's ids are still found, whatever landed inside their range.
        assert_found(s, &ids, 1);
        s.verify().unwrap();
    });
}

#[test]
fn a_duplicate_id_inside_an_extents_range_is_refused() {
    each(|s| {
        let base = 0x0190_0000_0000_7000_8000_0000_0000_0000;
        let ids = spaced_ids(base, 10, 100);
        s.append(with_ids("a", &ids)).unwrap();
        // A member strictly inside the range: neither the extent's key nor its last id.
        let mut again = spaced_ids(base + 5_000, 10, 20);
        again[7] = ids[49];
        let err = s.append(with_ids("b", &again)).unwrap_err();
        assert!(
            matches!(err, StoreError::DuplicateEventId { event_id, position: Some(50) } if event_id == ids[49]),
            "{err}"
        );
        // The same in the second chunk of a bulk append.
        let mut events: Vec<NewEvent> = (0..3_000).map(event).collect();
        events[2_500].event_id = ids[98];
        let err = bulk(
            s,
            "bulk",
            ExpectedVersion::Any,
            &mut events.into_iter().map(Ok),
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::DuplicateEventId {
                    position: Some(99),
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(s.head().unwrap().position, 100);

        // An id inside the range that is not a member is new: recorded (per event), and it
        // hides none of the extent's members.
        let between = [uuid::Uuid::from_u128(base + 505)];
        s.append(with_ids("b", &between)).unwrap();
        assert_found(s, &between, 101);
        assert_found(s, &ids, 1);
        s.verify().unwrap();
    });
}

#[test]
fn interleaved_ids_across_appends_fall_back_and_are_found() {
    each(|s| {
        let base = 0x0190_0000_0000_7000_8000_0000_0000_0000;
        let odd = spaced_ids(base + 1, 2, 200);
        let even = spaced_ids(base, 2, 200);
        // The second append's range overlaps the first's extent.
        s.append(with_ids("a", &odd)).unwrap();
        s.append(with_ids("b", &even)).unwrap();
        // Within one append: a run far above, then a run interleaved with it.
        let third: Vec<uuid::Uuid> = spaced_ids(base + 1_000_000, 2, 50)
            .into_iter()
            .chain(spaced_ids(base + 1_000_001, 2, 50))
            .collect();
        s.append(with_ids("c", &third)).unwrap();
        assert_found(s, &odd, 1);
        assert_found(s, &even, 201);
        assert_found(s, &third, 401);
        // Every id of the three is a duplicate now.
        for id in [odd[0], odd[137], even[1], even[199], third[25], third[99]] {
            let err = s.append(with_ids("d", &[id])).unwrap_err();
            assert!(matches!(err, StoreError::DuplicateEventId { .. }), "{err}");
        }
        s.verify().unwrap();
    });
}

/// verify asks the key index for every keyed event, so for a key several events of one
/// command carry, more than once in one batch: each must be answered.
#[test]
fn events_of_one_command_under_one_key_verify() {
    each(|s| {
        let mut r = req(vec![batch("a", ExpectedVersion::Any, 3)]);
        r.keys = vec![key("shared", 7)];
        for e in &mut r.batches[0].events {
            e.key = Some("shared".into());
        }
        s.append(r).unwrap();
        s.verify().unwrap();
    });
}

#[test]
fn a_copied_ledger_keeps_its_hashes_keys_and_models() {
    each(|target| {
        let source = MemoryStore::new(dyn_clock());
        let mut r = req(vec![batch("a", ExpectedVersion::Any, 2)]);
        r.keys = vec![key("whole", 3)];
        for e in &mut r.batches[0].events {
            e.key = Some("whole".into());
        }
        r.models = vec![ModelWrite {
            name: "m".into(),
            bytes: b"x".to_vec(),
        }];
        source.append(r).unwrap();
        let mut rows = (0..3_000u64).map(|i| Ok(keyed_event(i, &format!("row-{i}"), 4)));
        bulk(&source, "import", ExpectedVersion::NoStream, &mut rows).unwrap();

        let head = target.copy_from(&source).unwrap();
        assert_eq!(head, source.head().unwrap());
        assert_eq!(target.head().unwrap(), head);
        assert_eq!(target.verify().unwrap(), source.verify().unwrap());
        let a: Vec<_> = target.read_all(0).map(|e| e.unwrap().hash).collect();
        let b: Vec<_> = source.read_all(0).map(|e| e.unwrap().hash).collect();
        assert_eq!(a, b);
        assert_eq!(target.key("whole").unwrap(), source.key("whole").unwrap());
        assert_eq!(
            target.key("row-2999").unwrap(),
            source.key("row-2999").unwrap()
        );
        assert_eq!(target.model("m").unwrap(), Some((2, b"x".to_vec())));
        assert_eq!(target.stream_version("import").unwrap(), 3_000);
        // A repeat of the copied append is still a repeat.
        let mut again = req(vec![batch("a", ExpectedVersion::Any, 1)]);
        again.keys = vec![key("whole", 3)];
        assert!(target.append(again).unwrap().is_duplicate());
        // And a second copy is refused: the target is no longer empty.
        let err = target.copy_from(&source).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Invalid, "{err}");
    });
}

#[test]
fn a_copy_keeps_whole_append_keys_that_no_event_names() {
    each(|target| {
        let source = MemoryStore::new(dyn_clock());
        let mut unnamed = req(vec![batch("a", ExpectedVersion::Any, 2)]);
        unnamed.keys = vec![key("nobody-names-me", 5)];
        source.append(unnamed).unwrap();
        // One event under a whole-append key it also carries: copied once, as it was.
        let mut single = req(vec![batch("b", ExpectedVersion::Any, 1)]);
        single.keys = vec![key("single", 6)];
        single.batches[0].events[0].key = Some("single".into());
        source.append(single).unwrap();

        target.copy_from(&source).unwrap();
        for k in ["nobody-names-me", "single"] {
            assert_eq!(target.key(k).unwrap(), source.key(k).unwrap(), "{k}");
        }
        let mut again = req(vec![batch("a", ExpectedVersion::Any, 2)]);
        again.keys = vec![key("nobody-names-me", 5)];
        assert!(target.append(again).unwrap().is_duplicate());
        target.verify().unwrap();
    });
}

#[test]
fn whole_append_keys_are_listed_in_key_order_and_paged_without_per_event_keys() {
    each(|s| {
        for k in ["k3", "k1", "k2"] {
            let mut r = req(vec![batch(k, ExpectedVersion::Any, 1)]);
            r.keys = vec![key(k, 1)];
            s.append(r).unwrap();
        }
        let mut rows = (0..3u64).map(|i| Ok(keyed_event(i, &format!("k1-row-{i}"), 4)));
        bulk(s, "import", ExpectedVersion::NoStream, &mut rows).unwrap();

        let names = |page: Vec<(String, grant_ledger_store::KeyRecord)>| -> Vec<String> {
            page.into_iter().map(|(k, _)| k).collect()
        };
        assert_eq!(
            names(s.whole_append_keys("", 10).unwrap()),
            ["k1", "k2", "k3"]
        );
        assert_eq!(names(s.whole_append_keys("", 2).unwrap()), ["k1", "k2"]);
        assert_eq!(names(s.whole_append_keys("k2", 2).unwrap()), ["k3"]);
        assert!(s.whole_append_keys("k3", 2).unwrap().is_empty());
    });
}
