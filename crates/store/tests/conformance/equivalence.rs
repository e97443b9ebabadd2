//! The conformance suite, part two. Property: for any sequence of appends, the in-memory
//! store and the backend under test give the same outcomes (results, or error kinds) and
//! end with the same head hash. Included like `semantics.rs` (see there).

use crate::common::*;
use crate::fresh;
use grant_ledger_store::*;
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Op {
    stream: u8,
    expect: u8, // 0 Any, 1 NoStream, 2 exact current, 3 exact stale
    events: u8,
    key: Option<(u8, u8)>, // (key, fingerprint)
    dup_id: bool,
}

fn op() -> impl Strategy<Value = Op> {
    (
        0u8..3,
        0u8..4,
        0u8..4,
        proptest::option::of((0u8..3, 0u8..2)),
        proptest::bool::weighted(0.1),
    )
        .prop_map(|(stream, expect, events, key, dup_id)| Op {
            stream,
            expect,
            events,
            key,
            dup_id,
        })
}

fn request(op: &Op, current: u64, seq: u64, last_id: Option<uuid::Uuid>) -> AppendRequest {
    let expected = match op.expect {
        0 => ExpectedVersion::Any,
        1 => ExpectedVersion::NoStream,
        2 => ExpectedVersion::Exact(current),
        _ => ExpectedVersion::Exact(current + 1),
    };
    let mut events: Vec<NewEvent> = (0..u64::from(op.events))
        .map(|i| NewEvent {
            // Deterministic ids so both stores hash identical envelopes.
            event_id: uuid::Uuid::from_u128(u128::from(seq) << 16 | u128::from(i)),
            ..event(seq * 10 + i)
        })
        .collect();
    if let (true, Some(id), Some(first)) = (op.dup_id, last_id, events.first_mut()) {
        first.event_id = id;
    }
    AppendRequest {
        actor: "prop".into(),
        keys: op
            .key
            .map(|(k, f)| key(&format!("k{k}"), f))
            .into_iter()
            .collect(),
        batches: vec![StreamBatch {
            stream: format!("s{}", op.stream),
            expected,
            events,
        }],
        models: vec![],
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: crate::EQUIVALENCE_CASES, ..ProptestConfig::default() })]

    #[test]
    fn the_backend_agrees_with_the_memory_store(ops in proptest::collection::vec(op(), 1..20)) {
        let mem = MemoryStore::new(dyn_clock());
        let Some(disk) = fresh() else { return Ok(()) };
        let mut last_id = None;
        for (seq, op) in ops.iter().enumerate() {
            let current = mem.stream_version(&format!("s{}", op.stream)).unwrap();
            let r = request(op, current, seq as u64, last_id);
            let a = mem.append(r.clone());
            let b = disk.append(r);
            match (&a, &b) {
                (Ok(x), Ok(y)) => prop_assert_eq!(x, y),
                (Err(x), Err(y)) => prop_assert_eq!(x.kind(), y.kind(), "{} vs {}", x, y),
                _ => prop_assert!(false, "{:?} vs {:?}", a, b),
            }
            if let Ok(AppendOutcome::Written(_)) = a {
                last_id = mem.event_at(mem.head().unwrap().position).unwrap().map(|e| e.event_id);
            }
        }
        prop_assert_eq!(mem.head().unwrap(), disk.head().unwrap());
        prop_assert_eq!(mem.verify().unwrap(), disk.verify().unwrap());
    }
}
