//! Checks of a request before anything is staged (limits, keys, models, expected
//! versions), the lookup of recorded idempotency keys, and the stored form of a model.

use super::*;

pub(super) fn validate_event(ev: &NewEvent) -> Result<(), StoreError> {
    limits::event_type(&ev.event_type)?;
    limits::payload(&ev.payload)?;
    if let Some(k) = &ev.key {
        limits::key(k)?;
    }
    if let Some(actor) = &ev.actor {
        limits::actor(actor)?;
    }
    if ev.key_fingerprint.is_some() && ev.key.is_none() {
        return Err(StoreError::invalid(
            "an event has a key fingerprint but no key",
        ));
    }
    Ok(())
}

pub(super) fn key_twice(key: &str) -> StoreError {
    StoreError::invalid(format!("idempotency key '{key}' appears twice"))
}

/// `(stream, version)` of the event at `position` if it is `event_id` and carries `key`;
/// `None` if the position is empty or holds something else (a stale key entry).
pub(super) fn event_with_key<B: Backend>(
    backend: &B,
    position: u64,
    event_id: Uuid,
    key: &str,
) -> Result<Option<(String, u64)>, StoreError> {
    let Some(raw) = backend.raw_event(position)? else {
        return Ok(None);
    };
    // An envelope that does not decode carries no key we wrote; `verify` reports it.
    Ok(envelope::decode(raw.as_ref()).ok().and_then(|env| {
        let f = env.fields;
        (f.event_id == event_id && f.key == Some(key))
            .then(|| (f.stream.to_owned(), f.stream_version))
    }))
}

/// What `key` is recorded with as of committed head `head`, if anything.
pub(super) fn recorded_key<B: Backend>(
    backend: &B,
    key: &str,
    head: u64,
) -> Result<Option<KeyRecord>, StoreError> {
    match backend.key_entry(key)? {
        None => Ok(None),
        Some(KeyEntry::Append(rec)) => Ok(Some(rec)),
        Some(KeyEntry::Event {
            position,
            event_id,
            fingerprint,
        }) => {
            if position == 0 || position > head {
                return Ok(None);
            }
            Ok(
                event_with_key(backend, position, event_id, key)?.map(|stream| KeyRecord {
                    fingerprint,
                    appended: Appended {
                        first_position: position,
                        last_position: position,
                        streams: vec![stream],
                    },
                }),
            )
        }
    }
}

pub(super) fn validate_keys(keys: &[Idempotency]) -> Result<(), StoreError> {
    if keys.len() > limits::MAX_KEYS_PER_APPEND {
        return Err(StoreError::invalid(format!(
            "{} idempotency keys, the limit is {}",
            keys.len(),
            limits::MAX_KEYS_PER_APPEND
        )));
    }
    let mut seen = HashSet::new();
    for k in keys {
        limits::key(&k.key)?;
        if !seen.insert(k.key.as_str()) {
            return Err(key_twice(&k.key));
        }
    }
    Ok(())
}

pub(super) fn validate_models(models: &[ModelWrite]) -> Result<(), StoreError> {
    if models.len() > limits::MAX_MODELS_PER_APPEND {
        return Err(StoreError::invalid(format!(
            "{} models, the limit is {}",
            models.len(),
            limits::MAX_MODELS_PER_APPEND
        )));
    }
    let mut seen = HashSet::new();
    for m in models {
        limits::model_name(&m.name)?;
        limits::model_bytes(m.bytes.len())?;
        if !seen.insert(m.name.as_str()) {
            return Err(StoreError::invalid(format!(
                "model '{}' appears twice",
                m.name
            )));
        }
    }
    Ok(())
}

pub(super) fn check_expected(
    stream: &str,
    expected: ExpectedVersion,
    actual: u64,
) -> Result<(), StoreError> {
    match expected.required() {
        Some(exp) if exp != actual => Err(StoreError::Conflict {
            stream: stream.to_owned(),
            expected: exp,
            actual,
        }),
        _ => Ok(()),
    }
}

pub(crate) fn model_value(position: u64, bytes: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + bytes.len());
    v.extend_from_slice(&position.to_be_bytes());
    v.extend_from_slice(bytes);
    v
}
