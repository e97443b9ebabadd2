//! The hash chain of one append: positions, links and the staging of chunks, refusing
//! duplicate event ids and reused per-event keys.

use super::*;

/// Builds the hash chain for one append and rejects duplicate ids.
pub(super) struct Chain<'a, B> {
    backend: &'a B,
    head: u64,
    next: u64,
    prev_hash: [u8; 32],
    actor: &'a str,
    recorded_at: chrono::DateTime<chrono::Utc>,
    /// Ids in the current, not yet staged, chunk.
    pending_ids: HashSet<Uuid>,
    /// The append's own keys (`AppendRequest::keys`): no event may reuse one.
    append_keys: HashSet<String>,
}

impl<'a, B: Backend> Chain<'a, B> {
    pub(super) fn new(
        backend: &'a B,
        head: Head,
        actor: &'a str,
        clock: &dyn Clock,
        append_keys: &[Idempotency],
    ) -> Self {
        Chain {
            append_keys: append_keys.iter().map(|k| k.key.clone()).collect(),
            backend,
            head: head.position,
            next: head.position + 1,
            prev_hash: head.hash,
            actor,
            recorded_at: clock.now(),
            pending_ids: HashSet::new(),
        }
    }

    pub(super) fn duplicate_in_chunk(id: Uuid) -> StoreError {
        StoreError::DuplicateEventId {
            event_id: id,
            position: None,
        }
    }

    /// Refuses ids of `chunk` that are already recorded, committed or staged earlier in
    /// this append. Looked up per chunk, not per event: one sorted index probe is far
    /// cheaper than a point lookup per event.
    pub(super) fn check_chunk_ids(&self, chunk: &[Staged]) -> Result<(), StoreError> {
        let Some(chunk_start) = chunk.first().map(|e| e.position) else {
            return Ok(());
        };
        let mut ids: Vec<Uuid> = chunk.iter().map(|e| e.event_id).collect();
        ids.sort_unstable();
        for (id, p) in self.backend.indexed_ids(&ids)? {
            // The index may hold stale entries from a discarded append (any at or above
            // `chunk_start` are), so only an entry whose envelope carries the id counts.
            if p >= chunk_start {
                continue;
            }
            if let Some(raw) = self.backend.raw_event(p)? {
                if envelope::event_id_of(raw.as_ref()) == Some(id) {
                    return Err(StoreError::DuplicateEventId {
                        event_id: id,
                        position: (p <= self.head).then_some(p),
                    });
                }
            }
        }
        Ok(())
    }

    /// Refuses per-event keys of `chunk` that are already recorded (whatever the
    /// fingerprint: a repeat should have been filtered out by the caller, and recording a key
    /// twice would make it ambiguous) or that appear earlier in this append. Earlier chunks
    /// are found through their staged entries, so memory stays at one chunk's keys.
    pub(super) fn check_chunk_keys(&self, chunk: &[Staged]) -> Result<(), StoreError> {
        let Some(chunk_start) = chunk.first().map(|e| e.position) else {
            return Ok(());
        };
        let mut in_chunk = HashSet::new();
        let mut keys = Vec::new();
        for e in chunk {
            let Some((key, _)) = &e.event_key else {
                continue;
            };
            if self.append_keys.contains(key) || !in_chunk.insert(key.as_str()) {
                return Err(key_twice(key));
            }
            keys.push(key.as_str());
        }
        // One lookup for the chunk: a backend across a network answers it in one round trip.
        let entries = self.backend.key_entries(&keys)?;
        for (key, entry) in keys.into_iter().zip(entries) {
            match entry {
                None => {}
                Some(KeyEntry::Append(rec)) => {
                    return Err(StoreError::KeyReused {
                        key: key.to_owned(),
                        position: rec.appended.first_position,
                    })
                }
                Some(KeyEntry::Event {
                    position, event_id, ..
                }) => {
                    let live = position < chunk_start
                        && event_with_key(self.backend, position, event_id, key)?.is_some();
                    if live && position <= self.head {
                        return Err(StoreError::KeyReused {
                            key: key.to_owned(),
                            position,
                        });
                    }
                    if live {
                        return Err(key_twice(key));
                    }
                }
            }
        }
        Ok(())
    }

    pub(super) fn push(
        &mut self,
        stream: &str,
        stream_version: u64,
        ev: &NewEvent,
    ) -> Result<Staged, StoreError> {
        if !self.pending_ids.insert(ev.event_id) {
            return Err(Self::duplicate_in_chunk(ev.event_id));
        }
        let (bytes, hash) = envelope::encode(&Fields {
            position: self.next,
            event_id: ev.event_id,
            stream,
            stream_version,
            event_type: &ev.event_type,
            schema_version: ev.schema_version,
            recorded_at: self.recorded_at,
            actor: ev.actor.as_deref().unwrap_or(self.actor),
            key: ev.key.as_deref(),
            payload: &ev.payload,
            prev_hash: self.prev_hash,
        });
        let staged = Staged {
            position: self.next,
            event_id: ev.event_id,
            stream: stream.to_owned(),
            stream_version,
            bytes,
            event_key: match (&ev.key, ev.key_fingerprint) {
                (Some(k), Some(f)) => Some((k.clone(), f)),
                _ => None,
            },
        };
        self.prev_hash = hash;
        self.next += 1;
        Ok(staged)
    }

    /// Stages a chunk: its events, then its index entries, so an index entry that survives
    /// a crash always has its event (which `discard_above` finds and cleans up with it).
    pub(super) fn stage(&mut self, chunk: Vec<Staged>) -> Result<(), StoreError> {
        self.check_chunk_ids(&chunk)?;
        self.check_chunk_keys(&chunk)?;
        self.backend.stage_events(&chunk)?;
        self.backend.stage_index(&chunk)?;
        self.pending_ids.clear();
        Ok(())
    }

    pub(super) fn new_head(&self) -> Head {
        Head {
            position: self.next - 1,
            hash: self.prev_hash,
        }
    }
}
