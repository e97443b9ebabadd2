//! Copying a whole ledger into an empty store (`grant-ledger migrate`), keeping every
//! envelope byte for byte, so every hash and the head stay what they were.
//!
//! Events are read from the source through `read_all`, which checks each against its own
//! hash and its link to the one before; each is encoded again from its fields and must
//! give the stored hash back (the encoding is deterministic, so equal hashes mean equal
//! bytes). They are staged in chunks like a bulk append and committed once, with stream
//! versions, keys and models.
//!
//! Keys: every key an event was recorded under is looked up in the source. A per-event
//! key (its record covers exactly that event) is staged with the event; a key of a whole
//! append is committed once, at the last event of its range. A key no event names is not
//! copied: the store has no list of keys, and every key the ledger writes names its events.

use std::collections::HashMap;

use crate::backend::{Backend, Commit, Staged, BULK_CHUNK_EVENTS};
use crate::engine::{model_value, Engine};
use crate::envelope::{self, Fields};
use crate::error::StoreError;
use crate::types::{Head, KeyRecord, RecordedEvent};
use crate::EventStore;

/// The staged form of `rec`, and its key's whole-append record if `rec` ends its range.
fn stage_one(
    source: &dyn EventStore,
    rec: &RecordedEvent,
) -> Result<(Staged, Option<(String, KeyRecord)>), StoreError> {
    let (bytes, hash) = envelope::encode(&Fields {
        position: rec.position,
        event_id: rec.event_id,
        stream: &rec.stream,
        stream_version: rec.stream_version,
        event_type: &rec.event_type,
        schema_version: rec.schema_version,
        recorded_at: rec.recorded_at,
        actor: &rec.actor,
        key: rec.key.as_deref(),
        payload: rec.payload.get().as_bytes(),
        prev_hash: rec.prev_hash,
    });
    if hash != rec.hash {
        return Err(StoreError::corrupt(format!(
            "the event at position {} does not encode back to its stored bytes",
            rec.position
        )));
    }
    let mut event_key = None;
    let mut append_key = None;
    if let Some(key) = &rec.key {
        if let Some(record) = source.key(key)? {
            let a = &record.appended;
            if a.first_position == rec.position && a.last_position == rec.position {
                event_key = Some((key.clone(), record.fingerprint));
            } else if a.last_position == rec.position {
                append_key = Some((key.clone(), record));
            }
        }
    }
    let staged = Staged {
        position: rec.position,
        event_id: rec.event_id,
        stream: rec.stream.clone(),
        stream_version: rec.stream_version,
        bytes,
        event_key,
    };
    Ok((staged, append_key))
}

impl<B: Backend> Engine<B> {
    /// See [`crate::EventStore::copy_from`].
    pub fn copy_from(&self, source: &dyn EventStore) -> Result<Head, StoreError> {
        let _writer = self.lock()?;
        let head = self.backend.head()?;
        if head.position != 0 {
            return Err(StoreError::invalid(format!(
                "the target already holds a ledger of {} events; copy into an empty one",
                head.position
            )));
        }
        let source_head = source.head()?;
        self.staged_attempt(0, || {
            let mut streams: HashMap<String, u64> = HashMap::new();
            let mut keys = Vec::new();
            let mut chunk = Vec::with_capacity(BULK_CHUNK_EVENTS);
            let mut last = Head::default();
            for rec in source.read_all(1) {
                let rec = rec?;
                if rec.position > source_head.position {
                    break;
                }
                let (staged, append_key) = stage_one(source, &rec)?;
                keys.extend(append_key);
                streams.insert(rec.stream.clone(), rec.stream_version);
                last = Head {
                    position: rec.position,
                    hash: rec.hash,
                };
                chunk.push(staged);
                if chunk.len() == BULK_CHUNK_EVENTS {
                    self.backend.stage_events(&chunk)?;
                    self.backend.stage_index(&chunk)?;
                    chunk.clear();
                }
            }
            if !chunk.is_empty() {
                self.backend.stage_events(&chunk)?;
                self.backend.stage_index(&chunk)?;
            }
            if last != source_head {
                return Err(StoreError::corrupt(format!(
                    "the source's log ends at position {}, its head says {}",
                    last.position, source_head.position
                )));
            }
            let mut models = Vec::new();
            for name in source.model_names()? {
                if let Some((position, bytes)) = source.model(&name)? {
                    models.push((name, model_value(position.min(last.position), &bytes)));
                }
            }
            if last.position == 0 {
                return Ok(last);
            }
            self.backend.commit(Commit {
                head: last,
                streams: streams.into_iter().collect(),
                keys,
                models,
            })?;
            Ok(last)
        })
    }
}
