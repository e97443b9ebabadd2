//! An in-memory store with exactly the sled store's semantics, for fast tests elsewhere.
//!
//! It runs the same engine and stores the same encoded envelopes, so hashes, conflicts,
//! idempotency and verify behave identically; only durability is missing.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use uuid::Uuid;

use crate::backend::{Backend, Commit, KeyEntry, RawIter, Staged};
use crate::clock::Clock;
use crate::engine::Engine;
use crate::error::StoreError;
use crate::forward_event_store;
use crate::types::Head;

#[derive(Default)]
struct State {
    /// Committed and staged envelopes by position.
    events: BTreeMap<u64, Arc<[u8]>>,
    ids: HashMap<Uuid, u64>,
    stream_events: BTreeMap<(String, u64), u64>,
    streams: BTreeMap<String, u64>,
    keys: HashMap<String, KeyEntry>,
    models: BTreeMap<String, (u64, Vec<u8>)>,
    head: Head,
    damage_note: Option<Vec<u8>>,
}

/// The in-memory backend itself, for a store built over it with its own wrapper (e.g. a
/// test that injects faults between the engine and the memory).
pub struct MemoryBackend(Mutex<State>);

impl Default for MemoryBackend {
    fn default() -> Self {
        MemoryBackend(Mutex::new(State::default()))
    }
}

impl MemoryBackend {
    fn state(&self) -> MutexGuard<'_, State> {
        // Every mutation below completes before the guard drops, so a poisoned lock still
        // guards consistent data.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Backend for MemoryBackend {
    type Raw = Arc<[u8]>;

    fn head(&self) -> Result<Head, StoreError> {
        Ok(self.state().head)
    }

    fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
        Ok(self.state().streams.get(stream).copied().unwrap_or(0))
    }

    fn key_entry(&self, key: &str) -> Result<Option<KeyEntry>, StoreError> {
        Ok(self.state().keys.get(key).cloned())
    }

    fn key_entries_after(
        &self,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(String, KeyEntry)>, StoreError> {
        let s = self.state();
        let mut found: Vec<(String, KeyEntry)> = s
            .keys
            .iter()
            .filter(|(k, _)| k.as_str() > after)
            .map(|(k, e)| (k.clone(), e.clone()))
            .collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found.truncate(limit);
        Ok(found)
    }

    fn event_id_position(&self, id: Uuid) -> Result<Option<u64>, StoreError> {
        Ok(self.state().ids.get(&id).copied())
    }

    fn indexed_ids(&self, sorted: &[Uuid]) -> Result<Vec<(Uuid, u64)>, StoreError> {
        let s = self.state();
        Ok(sorted
            .iter()
            .filter_map(|id| s.ids.get(id).map(|&p| (*id, p)))
            .collect())
    }

    fn raw_event(&self, position: u64) -> Result<Option<Self::Raw>, StoreError> {
        Ok(self.state().events.get(&position).cloned())
    }

    fn raw_range(&self, from: u64, to: u64) -> RawIter<'_, Self::Raw> {
        // Lock per item so a long read never blocks writers.
        Box::new(
            (from..=to)
                .filter_map(move |p| self.state().events.get(&p).cloned().map(|r| Ok((p, r)))),
        )
    }

    fn stream_positions(
        &self,
        stream: &str,
        from: u64,
        to: u64,
    ) -> Box<dyn Iterator<Item = Result<(u64, u64), StoreError>> + '_> {
        let stream = stream.to_owned();
        Box::new((from..=to).filter_map(move |v| {
            self.state()
                .stream_events
                .get(&(stream.clone(), v))
                .map(|&p| Ok((v, p)))
        }))
    }

    fn stage_events(&self, events: &[Staged]) -> Result<(), StoreError> {
        let mut s = self.state();
        for e in events {
            s.events.insert(e.position, Arc::from(e.bytes.as_slice()));
        }
        Ok(())
    }

    fn stage_index(&self, events: &[Staged]) -> Result<(), StoreError> {
        let mut s = self.state();
        for e in events {
            s.ids.insert(e.event_id, e.position);
            s.stream_events
                .insert((e.stream.clone(), e.stream_version), e.position);
            if let Some((key, fingerprint)) = &e.event_key {
                let entry = KeyEntry::Event {
                    position: e.position,
                    event_id: e.event_id,
                    fingerprint: *fingerprint,
                };
                s.keys.insert(key.clone(), entry);
            }
        }
        Ok(())
    }

    fn discard_above(&self, head: u64) -> Result<(), StoreError> {
        let mut s = self.state();
        let staged = s.events.split_off(&(head + 1));
        for (position, raw) in staged {
            if let Ok(env) = crate::envelope::decode(&raw) {
                let f = env.fields;
                if s.ids.get(&f.event_id) == Some(&position) {
                    s.ids.remove(&f.event_id);
                }
                let k = (f.stream.to_owned(), f.stream_version);
                if s.stream_events.get(&k) == Some(&position) {
                    s.stream_events.remove(&k);
                }
                if let Some(key) = f.key {
                    let ours = matches!(s.keys.get(key),
                        Some(KeyEntry::Event { position: p, .. }) if *p == position);
                    if ours {
                        s.keys.remove(key);
                    }
                }
            }
        }
        Ok(())
    }

    fn commit(&self, c: Commit) -> Result<(), StoreError> {
        let mut s = self.state();
        for (name, v) in c.streams {
            s.streams.insert(name, v);
        }
        for (k, rec) in c.keys {
            s.keys.insert(k, KeyEntry::Append(rec));
        }
        for (name, value) in c.models {
            // `value` is the engine's checkpoint-prefixed form; keep it split here.
            let (pos, bytes) = value.split_at(8);
            let mut p = [0u8; 8];
            p.copy_from_slice(pos);
            s.models
                .insert(name, (u64::from_be_bytes(p), bytes.to_vec()));
        }
        s.head = c.head;
        Ok(())
    }

    fn model(&self, name: &str) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        Ok(self.state().models.get(name).cloned())
    }

    fn model_names(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.state().models.keys().cloned().collect())
    }

    fn put_model(&self, name: &str, position: u64, bytes: &[u8]) -> Result<(), StoreError> {
        self.state()
            .models
            .insert(name.to_owned(), (position, bytes.to_vec()));
        Ok(())
    }

    fn damage_note(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.state().damage_note.clone())
    }

    fn set_damage_note(&self, note: Option<&[u8]>) -> Result<(), StoreError> {
        self.state().damage_note = note.map(<[u8]>::to_vec);
        Ok(())
    }

    fn all_streams(&self) -> Result<Vec<(String, u64)>, StoreError> {
        Ok(self
            .state()
            .streams
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect())
    }
}

/// The in-memory [`crate::EventStore`].
pub struct MemoryStore {
    engine: Engine<MemoryBackend>,
}

impl MemoryStore {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        MemoryStore {
            engine: Engine::new(MemoryBackend::default(), clock),
        }
    }
}

forward_event_store!(MemoryStore);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AppendRequest, EventStore, ExpectedVersion, NewEvent, StreamBatch, SystemClock};

    fn one_event(expected: ExpectedVersion) -> AppendRequest {
        AppendRequest {
            actor: "tester".into(),
            keys: vec![],
            batches: vec![StreamBatch {
                stream: "s".into(),
                expected,
                events: vec![NewEvent {
                    event_id: Uuid::now_v7(),
                    event_type: "T".into(),
                    schema_version: 1,
                    payload: br#"{"n":1}"#.to_vec(),
                    key: None,
                    key_fingerprint: None,
                    actor: None,
                }],
            }],
            models: vec![],
        }
    }

    fn two_events() -> MemoryStore {
        let store = MemoryStore::new(Arc::new(SystemClock));
        store.append(one_event(ExpectedVersion::NoStream)).unwrap();
        store.append(one_event(ExpectedVersion::Exact(1))).unwrap();
        store
    }

    #[test]
    fn an_append_is_refused_when_the_last_event_no_longer_matches_the_head() {
        let store = two_events();
        {
            let mut state = store.engine.backend.state();
            let mut bytes = state.events[&2].to_vec();
            bytes[60] ^= 0x01;
            state.events.insert(2, bytes.into());
        }
        let err = store
            .append(one_event(ExpectedVersion::Exact(2)))
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Tampered { position: 2, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("position 2"), "{err}");
        assert_eq!(store.head().unwrap().position, 2);
        // And from then on the damage is latched: refused before anything is read.
        let err = store
            .append(one_event(ExpectedVersion::Exact(2)))
            .unwrap_err();
        assert!(matches!(err, StoreError::Damaged { .. }), "{err:?}");
        assert!(store.damage().is_some());
        assert_eq!(store.head().unwrap().position, 2);
    }

    #[test]
    fn an_append_is_refused_when_the_last_event_is_missing() {
        let store = two_events();
        store.engine.backend.state().events.remove(&2);
        let err = store
            .append(one_event(ExpectedVersion::Exact(2)))
            .unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
        assert_eq!(store.head().unwrap().position, 2);
    }

    #[test]
    fn a_verify_that_passes_clears_the_damage_latch() {
        let store = two_events();
        let original = store.engine.backend.state().events[&1].to_vec();
        {
            let mut state = store.engine.backend.state();
            let mut bytes = original.clone();
            bytes[60] ^= 0x01;
            state.events.insert(1, bytes.into());
        }
        assert!(store.read_all(1).any(|e| e.is_err()));
        assert!(store.damage().is_some());
        assert!(store.event_at(2).is_err(), "refused while damaged");
        store
            .engine
            .backend
            .state()
            .events
            .insert(1, original.into());
        store.verify().unwrap();
        assert!(store.damage().is_none());
        assert!(store.event_at(2).unwrap().is_some());
    }
}
