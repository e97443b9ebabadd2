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
/// Most read models written with one append.
pub const MAX_MODELS_PER_APPEND: usize = 64;

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
