//! Copying a whole ledger into an empty store (`grant-ledger migrate`), keeping every
//! envelope byte for byte, so every hash and the head stay what they were.
//!
//! Events are read from the source through `read_all`, which checks each against its own
//! hash and its link to the one before; each is encoded again from its fields and must
//! give the stored hash back (the encoding is deterministic, so equal hashes mean equal
//! bytes). They are staged in chunks like a bulk append and committed once, with stream
//! versions, keys and models.
//!
//! Keys: every key an event was recorded under is looked up in the source, and a per-event
//! key (its record covers exactly that event) is staged with the event. The keys of whole
//! appends, which an event may or may not name, are listed from the source in pages of
//! [`KEY_PAGE`] and committed with the rest, each once.

use std::collections::{HashMap, HashSet};

use crate::backend::{Backend, Commit, Staged, BULK_CHUNK_EVENTS};
use crate::engine::{model_value, sealed, Engine};
use crate::envelope;
use crate::error::StoreError;
use crate::types::{Head, KeyRecord, RecordedEvent};
use crate::EventStore;

/// Whole-append keys read from the source per call.
const KEY_PAGE: usize = 1000;

/// The staged form of `rec`, with its key if that is a per-event one.
/// `whole_append` names the keys committed as whole-append records, which are not staged
/// again with their events.
fn stage_one(
    source: &dyn EventStore,
    rec: &RecordedEvent,
    whole_append: &HashSet<String>,
) -> Result<Staged, StoreError> {
    let (bytes, hash) = envelope::encode(&rec.envelope_fields());
    if hash != rec.hash {
        return Err(StoreError::corrupt(format!(
            "the event at position {} does not encode back to its stored bytes",
            rec.position
        )));
    }
    let mut event_key = None;
    if let Some(key) = rec.key.as_ref().filter(|k| !whole_append.contains(*k)) {
        if let Some(record) = source.key(key)? {
            let a = &record.appended;
            if a.first_position == rec.position && a.last_position == rec.position {
                event_key = Some((key.clone(), record.fingerprint));
            }
        }
    }
    Ok(Staged {
        position: rec.position,
        event_id: rec.event_id,
        stream: rec.stream.clone(),
        stream_version: rec.stream_version,
        bytes,
        event_key,
    })
}

/// Every whole-append key of `source` whose range the copy holds (up to `head`).
fn whole_append_keys(
    source: &dyn EventStore,
    head: u64,
) -> Result<Vec<(String, KeyRecord)>, StoreError> {
    let mut keys = Vec::new();
    let mut after = String::new();
    loop {
        let page = source.whole_append_keys(&after, KEY_PAGE)?;
        let Some((last, _)) = page.last() else {
            return Ok(keys);
        };
        after = last.clone();
        let full = page.len() == KEY_PAGE;
        keys.extend(
            page.into_iter()
                .filter(|(_, r)| r.appended.last_position <= head),
        );
        if !full {
            return Ok(keys);
        }
    }
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
        let keys = whole_append_keys(source, source_head.position)?;
        let whole_append: HashSet<String> = keys.iter().map(|(k, _)| k.clone()).collect();
        self.staged_attempt(0, || {
            let mut streams: HashMap<String, u64> = HashMap::new();
            let mut chunk = Vec::with_capacity(BULK_CHUNK_EVENTS);
            let mut last = Head::default();
            for rec in source.read_all(1) {
                let rec = rec?;
                if rec.position > source_head.position {
                    break;
                }
                let staged = stage_one(source, &rec, &whole_append)?;
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
                    // Sealed again to the same event of the copy, whose hashes are the
                    // source's.
                    let position = position.min(last.position);
                    let hash = match position {
                        0 => [0; 32],
                        p => source.event_at(p)?.map_or([0xff; 32], |e| e.hash),
                    };
                    let doc = sealed(&name, position, &hash, &bytes);
                    models.push((name, model_value(position, &doc)));
                }
            }
            if last.position == 0 {
                return Ok(last);
            }
            self.backend.commit(Commit {
                head: last,
                streams: streams.into_iter().collect(),
                keys: keys.clone(),
                models,
            })?;
            Ok(last)
        })
    }
}
