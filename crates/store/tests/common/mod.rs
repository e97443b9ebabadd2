//! Helpers shared by the store's integration tests.
#![allow(dead_code)]

use std::sync::Arc;

use chrono::{DateTime, Utc};
use grant_ledger_store::{
    AppendRequest, Clock, ExpectedVersion, FixedClock, Idempotency, NewEvent, StreamBatch,
};
use uuid::Uuid;

pub fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new(
        DateTime::<Utc>::from_timestamp(1_750_000_000, 0).unwrap(),
    ))
}

pub fn dyn_clock() -> Arc<dyn Clock> {
    clock()
}

pub fn event(n: u64) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        event_type: "PaymentIssued".into(),
        schema_version: 1,
        payload: format!(r#"{{"n":{n},"amount":"12.50"}}"#).into_bytes(),
        key: None,
        key_fingerprint: None,
        actor: None,
    }
}

/// An event that records `k` as its own idempotency key with fingerprint `[fp; 32]`.
pub fn keyed_event(n: u64, k: &str, fp: u8) -> NewEvent {
    NewEvent {
        key: Some(k.into()),
        key_fingerprint: Some([fp; 32]),
        actor: None,
        ..event(n)
    }
}

pub fn batch(stream: &str, expected: ExpectedVersion, n: usize) -> StreamBatch {
    StreamBatch {
        stream: stream.into(),
        expected,
        events: (0..n as u64).map(event).collect(),
    }
}

pub fn req(batches: Vec<StreamBatch>) -> AppendRequest {
    AppendRequest {
        actor: "tester".into(),
        keys: vec![],
        batches,
        models: vec![],
    }
}

pub fn key(k: &str, fp: u8) -> Idempotency {
    Idempotency {
        key: k.into(),
        fingerprint: [fp; 32],
    }
}
