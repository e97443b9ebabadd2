//! Explicit limits on everything a caller can hand the store, and the checks that enforce them.
//!
//! Limits exist so that no input can make the store allocate without bound or write a
//! record that an auditor's tool could not reasonably read back.

use crate::error::StoreError;

/// Largest event payload (JSON bytes).
pub const MAX_PAYLOAD_BYTES: usize = 1 << 20;
/// Longest stream name.
pub const MAX_STREAM_NAME_BYTES: usize = 200;
/// Longest event type name.
pub const MAX_EVENT_TYPE_BYTES: usize = 128;
/// Longest idempotency key.
pub const MAX_KEY_BYTES: usize = 256;
/// Longest actor name.
pub const MAX_ACTOR_BYTES: usize = 256;
/// Longest read-model name.
pub const MAX_MODEL_NAME_BYTES: usize = 200;
/// Largest read-model document.
pub const MAX_MODEL_BYTES: usize = 256 << 20;
/// Most events in one (non-bulk) `append`: it is one sled transaction plus staging, held in memory.
pub const MAX_EVENTS_PER_APPEND: usize = 100_000;
/// Most streams in one `append`.
pub const MAX_STREAMS_PER_APPEND: usize = 1_000;
/// Most idempotency keys on one append.
pub const MAX_KEYS_PER_APPEND: usize = 64;
/// Most read models written with one append. Sized for the application's per-day as-of
/// models: a back-dated event rewrites every later day's model in the same append as the
/// event (up to 1,460 days there, plus the index and its few global models and one state
/// per command of a group), and a `rebuild` stores them all at once. Every model is
/// still one bounded document, and the append stays one transaction the backends hold in
/// memory: 2,048 of the application's day models (a few KiB each for real determinations)
/// are megabytes, not gigabytes.
pub const MAX_MODELS_PER_APPEND: usize = 2_048;

fn check_len(what: &'static str, len: usize, max: usize) -> Result<(), StoreError> {
    if len > max {
        return Err(StoreError::LimitExceeded { what, len, max });
    }
    Ok(())
}

fn check_name(what: &'static str, value: &str, max: usize) -> Result<(), StoreError> {
    if value.is_empty() {
        return Err(StoreError::invalid(format!("{what} is empty")));
    }
    check_len(what, value.len(), max)?;
    if value.chars().any(char::is_control) {
        return Err(StoreError::invalid(format!(
            "{what} {value:?} contains a control character"
        )));
    }
    Ok(())
}

pub(crate) fn stream_name(s: &str) -> Result<(), StoreError> {
    check_name("stream name", s, MAX_STREAM_NAME_BYTES)
}

pub(crate) fn event_type(s: &str) -> Result<(), StoreError> {
    check_name("event type", s, MAX_EVENT_TYPE_BYTES)
}

pub(crate) fn key(s: &str) -> Result<(), StoreError> {
    check_name("idempotency key", s, MAX_KEY_BYTES)
}

pub(crate) fn actor(s: &str) -> Result<(), StoreError> {
    check_name("actor", s, MAX_ACTOR_BYTES)
}

pub(crate) fn model_name(s: &str) -> Result<(), StoreError> {
    check_name("model name", s, MAX_MODEL_NAME_BYTES)
}

pub(crate) fn model_bytes(len: usize) -> Result<(), StoreError> {
    check_len("model document", len, MAX_MODEL_BYTES)
}

/// The payload must be exactly one JSON object with no surrounding whitespace, so the bytes
/// we hash are the bytes a reader gets back as a `RawValue`.
pub(crate) fn payload(bytes: &[u8]) -> Result<(), StoreError> {
    check_len("event payload", bytes.len(), MAX_PAYLOAD_BYTES)?;
    if bytes.first() != Some(&b'{') || bytes.last() != Some(&b'}') {
        return Err(StoreError::invalid(
            "event payload must be a JSON object with no surrounding whitespace",
        ));
    }
    serde_json::from_slice::<&serde_json::value::RawValue>(bytes)
        .map_err(|e| StoreError::invalid(format!("event payload is not valid JSON: {e}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{
        AppendRequest, EventStore, ExpectedVersion, MemoryStore, ModelWrite, NewEvent, StreamBatch,
        SystemClock,
    };

    fn append_with_models(n: usize) -> Result<(), StoreError> {
        let store = MemoryStore::new(Arc::new(SystemClock));
        let models = (0..n)
            .map(|i| ModelWrite {
                name: format!("m/{i}"),
                bytes: b"{}".to_vec(),
            })
            .collect();
        store
            .append(AppendRequest {
                actor: "t".into(),
                keys: Vec::new(),
                batches: vec![StreamBatch {
                    stream: "s".into(),
                    expected: ExpectedVersion::Any,
                    events: vec![NewEvent {
                        event_id: uuid::Uuid::now_v7(),
                        event_type: "E".into(),
                        schema_version: 1,
                        payload: b"{}".to_vec(),
                        key: None,
                        key_fingerprint: None,
                        actor: None,
                    }],
                }],
                models,
            })
            .map(drop)
    }

    #[test]
    fn an_append_may_write_as_many_models_as_the_limit() {
        assert!(append_with_models(MAX_MODELS_PER_APPEND).is_ok());
    }

    #[test]
    fn an_append_writing_one_model_more_than_the_limit_is_refused() {
        let refused = append_with_models(MAX_MODELS_PER_APPEND + 1);
        assert!(
            matches!(refused, Err(StoreError::Invalid(_))),
            "{refused:?}"
        );
    }
}
