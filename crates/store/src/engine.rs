//! The append, read and verify logic shared by every backend, so that the sled store and the
//! in-memory store cannot drift apart in semantics.
//!
//! Commit protocol: events (and their index entries) are first *staged* at positions above
//! the committed head, where no reader looks. Then one atomic *commit* moves the head and
//! records stream versions, idempotency keys and read models, and is made durable. Anything
//! staged but not committed is discarded on failure and again on the next open.
//!
//! Per-event idempotency keys (`NewEvent::key_fingerprint`) are index entries like the
//! event-id index: staged with their events, so an append may carry any number of them, and
//! trusted only when they name an event at or below the head whose envelope carries that
//! key. Keys of a whole append (`AppendRequest::keys`, few) are written by the commit.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use uuid::Uuid;

use crate::backend::{Backend, Commit, KeyEntry, Staged, BULK_CHUNK_EVENTS};
use crate::clock::Clock;
use crate::envelope::{self, Fields};
use crate::error::StoreError;
use crate::limits;
use crate::types::{
    AppendOutcome, AppendRequest, Appended, BulkAppend, ExpectedVersion, Head, Idempotency,
    KeyRecord, ModelWrite, NewEvent, RecordedEvent, VerifyReport,
};
use crate::EventIter;

/// The writer lock held and the backend's write begun; ends the write when dropped.
pub(crate) struct Writing<'a, B: Backend> {
    backend: &'a B,
    _lock: MutexGuard<'a, ()>,
}

impl<B: Backend> Drop for Writing<'_, B> {
    fn drop(&mut self) {
        // Runs before the lock field is dropped, so the write ends under the lock.
        self.backend.end_write();
    }
}

/// A backend plus the clock and the lock that serialises writers.
pub struct Engine<B> {
    pub backend: B,
    clock: Arc<dyn Clock>,
    writer: Mutex<()>,
}

fn validate_event(ev: &NewEvent) -> Result<(), StoreError> {
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

fn key_twice(key: &str) -> StoreError {
    StoreError::invalid(format!("idempotency key '{key}' appears twice"))
}

/// `(stream, version)` of the event at `position` if it is `event_id` and carries `key`;
/// `None` if the position is empty or holds something else (a stale key entry).
fn event_with_key<B: Backend>(
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
fn recorded_key<B: Backend>(
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

fn validate_keys(keys: &[Idempotency]) -> Result<(), StoreError> {
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

fn validate_models(models: &[ModelWrite]) -> Result<(), StoreError> {
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

fn check_expected(stream: &str, expected: ExpectedVersion, actual: u64) -> Result<(), StoreError> {
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

/// Builds the hash chain for one append and rejects duplicate ids.
struct Chain<'a, B> {
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
    fn new(
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

    fn duplicate_in_chunk(id: Uuid) -> StoreError {
        StoreError::DuplicateEventId {
            event_id: id,
            position: None,
        }
    }

    /// Refuses ids of `chunk` that are already recorded, committed or staged earlier in
    /// this append. Looked up per chunk, not per event: one sorted index probe is far
    /// cheaper than a point lookup per event.
    fn check_chunk_ids(&self, chunk: &[Staged]) -> Result<(), StoreError> {
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
    fn check_chunk_keys(&self, chunk: &[Staged]) -> Result<(), StoreError> {
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

    fn push(
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
    fn stage(&mut self, chunk: Vec<Staged>) -> Result<(), StoreError> {
        self.check_chunk_ids(&chunk)?;
        self.check_chunk_keys(&chunk)?;
        self.backend.stage_events(&chunk)?;
        self.backend.stage_index(&chunk)?;
        self.pending_ids.clear();
        Ok(())
    }

    fn new_head(&self) -> Head {
        Head {
            position: self.next - 1,
            hash: self.prev_hash,
        }
    }
}

impl<B: Backend> Engine<B> {
    pub fn new(backend: B, clock: Arc<dyn Clock>) -> Self {
        Engine {
            backend,
            clock,
            writer: Mutex::new(()),
        }
    }

    pub(crate) fn lock(&self) -> Result<Writing<'_, B>, StoreError> {
        // The guarded data is `()`: a panic elsewhere cannot have left it inconsistent, and
        // staged leftovers are discarded by every append's error path and on open.
        let lock = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        self.backend.begin_write()?;
        Ok(Writing {
            backend: &self.backend,
            _lock: lock,
        })
    }

    /// `Some(original)` if every key is recorded with the same fingerprint, `None` if none
    /// is; anything else is a reuse.
    fn check_keys(&self, keys: &[Idempotency]) -> Result<Option<Appended>, StoreError> {
        let mut recorded: Option<(&str, Appended)> = None;
        let mut fresh = false;
        for k in keys {
            match self.key(&k.key)? {
                Some(rec) if rec.fingerprint != k.fingerprint => {
                    return Err(StoreError::KeyReused {
                        key: k.key.clone(),
                        position: rec.appended.first_position,
                    })
                }
                Some(rec) => match &recorded {
                    Some((_, a)) if *a != rec.appended => {
                        return Err(StoreError::KeyReused {
                            key: k.key.clone(),
                            position: rec.appended.first_position,
                        })
                    }
                    Some(_) => {}
                    None => recorded = Some((k.key.as_str(), rec.appended)),
                },
                None => fresh = true,
            }
        }
        match recorded {
            None => Ok(None),
            Some((_, a)) if !fresh => Ok(Some(a)),
            Some((key, a)) => Err(StoreError::KeyReused {
                key: key.to_owned(),
                position: a.first_position,
            }),
        }
    }

    fn finish(
        &self,
        chain: &Chain<'_, B>,
        first_position: u64,
        streams: Vec<(String, u64)>,
        keys: Vec<Idempotency>,
        models: Vec<ModelWrite>,
    ) -> Result<Appended, StoreError> {
        let head = chain.new_head();
        let appended = Appended {
            first_position,
            last_position: head.position,
            streams: streams.clone(),
        };
        let commit = Commit {
            head,
            streams,
            keys: keys
                .into_iter()
                .map(|k| {
                    (
                        k.key,
                        KeyRecord {
                            fingerprint: k.fingerprint,
                            appended: appended.clone(),
                        },
                    )
                })
                .collect(),
            models: models
                .into_iter()
                .map(|m| (m.name, model_value(head.position, &m.bytes)))
                .collect(),
        };
        self.backend.commit(commit)?;
        Ok(appended)
    }

    /// Runs `f` (which stages and commits); on failure discards whatever it staged.
    pub(crate) fn staged_attempt<T>(
        &self,
        head: u64,
        f: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let result = f();
        if result.is_err() {
            // Only if the commit did not take effect: when it did and only the sync after it
            // failed, the events are the ledger's now and must not be removed. Best effort:
            // if this fails too, open() discards the leftovers, and readers never look above
            // the head meanwhile. The original error is the useful one.
            if matches!(self.backend.head(), Ok(h) if h.position == head) {
                let _ = self.backend.discard_above(head);
            }
        }
        result
    }

    pub fn append(&self, req: AppendRequest) -> Result<AppendOutcome, StoreError> {
        limits::actor(&req.actor)?;
        validate_keys(&req.keys)?;
        validate_models(&req.models)?;
        if req.batches.len() > limits::MAX_STREAMS_PER_APPEND {
            return Err(StoreError::invalid(format!(
                "{} streams in one append, the limit is {}",
                req.batches.len(),
                limits::MAX_STREAMS_PER_APPEND
            )));
        }
        let mut total = 0usize;
        let mut names = HashSet::new();
        for b in &req.batches {
            limits::stream_name(&b.stream)?;
            if !names.insert(b.stream.as_str()) {
                return Err(StoreError::invalid(format!(
                    "stream {} appears twice in one append",
                    b.stream
                )));
            }
            total += b.events.len();
            b.events.iter().try_for_each(validate_event)?;
        }
        if total == 0 {
            return Err(StoreError::invalid(
                "an append must carry at least one event",
            ));
        }
        if total > limits::MAX_EVENTS_PER_APPEND {
            return Err(StoreError::invalid(format!(
                "{total} events in one append, the limit is {}; use the bulk append",
                limits::MAX_EVENTS_PER_APPEND
            )));
        }

        let _writer = self.lock()?;
        if let Some(original) = self.check_keys(&req.keys)? {
            return Ok(AppendOutcome::Duplicate(original));
        }
        let mut versions = Vec::with_capacity(req.batches.len());
        for b in &req.batches {
            let actual = self.backend.stream_version(&b.stream)?;
            check_expected(&b.stream, b.expected, actual)?;
            versions.push(actual);
        }
        let head = self.backend.head()?;
        self.check_head(&head)?;
        let mut chain = Chain::new(
            &self.backend,
            head,
            &req.actor,
            self.clock.as_ref(),
            &req.keys,
        );
        let mut staged = Vec::with_capacity(total);
        let mut streams = Vec::with_capacity(req.batches.len());
        for (b, base) in req.batches.iter().zip(versions) {
            let mut v = base;
            for ev in &b.events {
                v += 1;
                staged.push(chain.push(&b.stream, v, ev)?);
            }
            if v > base {
                streams.push((b.stream.clone(), v));
            }
        }
        let appended = self.staged_attempt(head.position, || {
            chain.stage(staged)?;
            self.finish(&chain, head.position + 1, streams, req.keys, req.models)
        })?;
        Ok(AppendOutcome::Written(appended))
    }

    pub fn append_stream_bulk(
        &self,
        bulk: BulkAppend,
        events: &mut dyn Iterator<Item = Result<NewEvent, StoreError>>,
        models: &mut dyn FnMut(u64) -> Vec<ModelWrite>,
    ) -> Result<AppendOutcome, StoreError> {
        let BulkAppend {
            actor,
            keys,
            stream,
            expected,
        } = bulk;
        let (actor, stream) = (actor.as_str(), stream.as_str());
        limits::actor(actor)?;
        limits::stream_name(stream)?;
        validate_keys(&keys)?;

        let _writer = self.lock()?;
        if let Some(original) = self.check_keys(&keys)? {
            return Ok(AppendOutcome::Duplicate(original));
        }
        let base = self.backend.stream_version(stream)?;
        check_expected(stream, expected, base)?;
        let head = self.backend.head()?;
        self.check_head(&head)?;
        let mut chain = Chain::new(&self.backend, head, actor, self.clock.as_ref(), &keys);
        let appended = self.staged_attempt(head.position, || {
            let mut chunk = Vec::with_capacity(BULK_CHUNK_EVENTS);
            let mut version = base;
            for ev in events {
                let ev = ev?;
                validate_event(&ev)?;
                version += 1;
                chunk.push(chain.push(stream, version, &ev)?);
                if chunk.len() == BULK_CHUNK_EVENTS {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(BULK_CHUNK_EVENTS));
                    chain.stage(full)?;
                }
            }
            if !chunk.is_empty() {
                chain.stage(chunk)?;
            }

            if version == base {
                return Err(StoreError::invalid(
                    "a bulk append must carry at least one event",
                ));
            }
            let new_head = chain.new_head().position;
            let models = models(new_head);
            validate_models(&models)?;
            self.finish(
                &chain,
                head.position + 1,
                vec![(stream.to_owned(), version)],
                keys,
                models,
            )
        })?;
        Ok(AppendOutcome::Written(appended))
    }

    /// The cheap check made when a ledger is opened and before every append: the event at
    /// the committed head is stored, decodes, names its position and matches its own stored
    /// hash, and that hash is the head's. It reads one event whatever the ledger's size, so
    /// a damaged or missing *last* event is never built upon; damage further back (a
    /// deleted or altered middle event) needs the full scan of [`Engine::verify`].
    pub fn check_head(&self, head: &Head) -> Result<(), StoreError> {
        let p = head.position;
        if p == 0 {
            return Ok(());
        }
        let raw = self.backend.raw_event(p)?.ok_or_else(|| {
            StoreError::corrupt(format!(
                "its last event, at position {p} (the committed head), is missing"
            ))
        })?;
        let env = envelope::decode(raw.as_ref()).map_err(|r| {
            StoreError::corrupt(format!(
                "its last event, at position {p}, does not decode ({r})"
            ))
        })?;
        if env.fields.position != p {
            return Err(StoreError::corrupt(format!(
                "its last event, stored at position {p}, says it is at {}",
                env.fields.position
            )));
        }
        if !env.hash_matches() {
            return Err(StoreError::corrupt(format!(
                "its last event, at position {p}, does not match its stored hash"
            )));
        }
        if env.hash != head.hash {
            return Err(StoreError::corrupt(format!(
                "the hash of its last event, at position {p}, is not the committed head's"
            )));
        }
        Ok(())
    }

    /// Every event handed out is checked against its own hash first (a SHA-256 of a few
    /// hundred bytes, next to nothing beside the decode), so no reader, `history` and
    /// the rebuild of a read model included, ever passes on an altered event.
    fn decode_at(&self, position: u64, raw: &[u8]) -> Result<RecordedEvent, StoreError> {
        let env = envelope::decode(raw)
            .map_err(|r| StoreError::corrupt(format!("event at position {position}: {r}")))?;
        if !env.hash_matches() {
            return Err(StoreError::Tampered {
                position,
                reason: "its stored hash does not match its contents".into(),
            });
        }
        if env.fields.position != position {
            return Err(StoreError::corrupt(format!(
                "event stored at position {position} says it is at {}",
                env.fields.position
            )));
        }
        env.to_recorded()
            .map_err(|r| StoreError::corrupt(format!("event at position {position}: {r}")))
    }

    pub fn read_all(&self, from_position: u64) -> EventIter<'_> {
        let head = match self.backend.head() {
            Ok(h) => h,
            Err(e) => return Box::new(std::iter::once(Err(e))),
        };
        let from = from_position.max(1);
        if from > head.position {
            return Box::new(std::iter::empty());
        }
        let mut expected = from;
        // Reading in order, each event's link to the one before is checked too.
        let mut previous: Option<[u8; 32]> = None;
        Box::new(
            self.backend
                .raw_range(from, head.position)
                .map(move |item| {
                    let (position, raw) = item?;
                    if position != expected {
                        return Err(StoreError::corrupt(format!(
                            "position {expected} is missing from the log"
                        )));
                    }
                    expected += 1;
                    let event = self.decode_at(position, raw.as_ref())?;
                    if previous.is_some_and(|hash| hash != event.prev_hash) {
                        return Err(StoreError::Tampered {
                            position,
                            reason: "it does not link to the hash of the event before it".into(),
                        });
                    }
                    previous = Some(event.hash);
                    Ok(event)
                }),
        )
    }

    pub fn read_stream(&self, stream: &str, from_version: u64) -> EventIter<'_> {
        let to = match self.backend.stream_version(stream) {
            Ok(v) => v,
            Err(e) => return Box::new(std::iter::once(Err(e))),
        };
        let from = from_version.max(1);
        if from > to {
            return Box::new(std::iter::empty());
        }
        let stream_owned = stream.to_owned();
        let mut expected = from;
        Box::new(
            self.backend
                .stream_positions(stream, from, to)
                .map(move |item| {
                    let (version, position) = item?;
                    if version != expected {
                        return Err(StoreError::corrupt(format!(
                            "stream {stream_owned} is missing version {expected}"
                        )));
                    }
                    expected += 1;
                    let raw = self.backend.raw_event(position)?.ok_or_else(|| {
                        StoreError::corrupt(format!(
                            "stream {stream_owned} version {version} points at missing position {position}"
                        ))
                    })?;
                    let ev = self.decode_at(position, raw.as_ref())?;
                    if ev.stream != stream_owned || ev.stream_version != version {
                        return Err(StoreError::corrupt(format!(
                            "stream {stream_owned} version {version} points at position {position}, which holds {} version {}",
                            ev.stream, ev.stream_version
                        )));
                    }
                    Ok(ev)
                }),
        )
    }

    pub fn event_at(&self, position: u64) -> Result<Option<RecordedEvent>, StoreError> {
        let head = self.backend.head()?;
        if position == 0 || position > head.position {
            return Ok(None);
        }
        match self.backend.raw_event(position)? {
            Some(raw) => self.decode_at(position, raw.as_ref()).map(Some),
            None => Err(StoreError::corrupt(format!(
                "position {position} is missing from the log"
            ))),
        }
    }

    pub fn event_by_id(&self, id: Uuid) -> Result<Option<RecordedEvent>, StoreError> {
        let Some(position) = self.backend.event_id_position(id)? else {
            return Ok(None);
        };
        // Stale index entries (from discarded appends) are ignored rather than trusted.
        match self.event_at(position)? {
            Some(ev) if ev.event_id == id => Ok(Some(ev)),
            _ => Ok(None),
        }
    }

    pub fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
        self.backend.stream_version(stream)
    }

    pub fn head(&self) -> Result<Head, StoreError> {
        self.backend.head()
    }

    pub fn key(&self, key: &str) -> Result<Option<KeyRecord>, StoreError> {
        // Head first: an entry committed after this read is above it and so not yet found.
        let head = self.backend.head()?.position;
        recorded_key(&self.backend, key, head)
    }

    pub fn model(&self, name: &str) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        self.backend.model(name)
    }

    pub fn model_names(&self) -> Result<Vec<String>, StoreError> {
        self.backend.model_names()
    }

    pub fn save_model(&self, name: &str, position: u64, bytes: Vec<u8>) -> Result<(), StoreError> {
        limits::model_name(name)?;
        limits::model_bytes(bytes.len())?;
        let _writer = self.lock()?;
        let head = self.backend.head()?;
        if position > head.position {
            return Err(StoreError::invalid(format!(
                "model '{name}' checkpoint {position} is beyond the head {}",
                head.position
            )));
        }
        self.backend.put_model(name, position, &bytes)
    }

    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        let head = self.backend.head()?;
        let mut expected: u64 = 1;
        let mut prev = [0u8; 32];
        let mut streams: HashMap<String, u64> = HashMap::new();
        let tampered = |position: u64, reason: String| StoreError::Tampered { position, reason };
        if head.position > 0 {
            for item in self.backend.raw_range(1, head.position) {
                let (position, raw) = item?;
                if position != expected {
                    return Err(tampered(
                        expected,
                        format!("missing: the next stored position is {position}"),
                    ));
                }
                let env = envelope::decode(raw.as_ref())
                    .map_err(|r| tampered(position, format!("envelope does not decode: {r}")))?;
                let f = &env.fields;
                if f.position != position {
                    return Err(tampered(
                        position,
                        format!("envelope says position {}", f.position),
                    ));
                }
                if f.prev_hash != prev {
                    return Err(tampered(
                        position,
                        "prev_hash is not the previous event's hash".into(),
                    ));
                }
                if !env.hash_matches() {
                    return Err(tampered(
                        position,
                        "hash does not match the event's contents".into(),
                    ));
                }
                let last = match streams.get_mut(f.stream) {
                    Some(v) => v,
                    None => streams.entry(f.stream.to_owned()).or_insert(0),
                };
                if f.stream_version != *last + 1 {
                    return Err(tampered(
                        position,
                        format!(
                            "stream {} version {} follows version {}",
                            f.stream, f.stream_version, *last
                        ),
                    ));
                }
                *last += 1;
                prev = env.hash;
                expected += 1;
            }
        }
        if expected - 1 != head.position {
            return Err(tampered(
                expected,
                format!("missing: the committed head is {}", head.position),
            ));
        }
        if prev != head.hash {
            return Err(tampered(
                head.position,
                "hash differs from the committed head hash".into(),
            ));
        }
        let indexed = self.backend.all_streams()?;
        if streams.len() != indexed.len() {
            return Err(tampered(
                head.position,
                format!(
                    "the log holds {} streams, the stream index {}",
                    streams.len(),
                    indexed.len()
                ),
            ));
        }
        for (stream, version) in indexed {
            let logged = streams.get(&stream).copied().unwrap_or(0);
            if logged != version {
                return Err(tampered(
                    head.position,
                    format!(
                        "stream {stream} is indexed at version {version}, the log holds {logged}"
                    ),
                ));
            }
        }
        Ok(VerifyReport {
            events: head.position,
            head,
        })
    }
}

/// Implements [`crate::EventStore`] for a type with an `engine: Engine<_>` field.
///
/// `forward_event_store!(T, watch = method)` also forwards [`crate::EventStore::watch`] to
/// `T::method`, for a backend that other processes write to.
#[macro_export]
macro_rules! forward_event_store {
    ($ty:ty) => {
        $crate::forward_event_store!(@impl $ty, {});
    };
    ($ty:ty, watch = $watch:ident) => {
        $crate::forward_event_store!(@impl $ty, {
            fn watch(
                &self,
                wake: Box<dyn Fn(u64) + Send + Sync>,
            ) -> Result<(), $crate::StoreError> {
                self.$watch(wake)
            }
        });
    };
    (@impl $ty:ty, { $($extra:tt)* }) => {
        impl $crate::EventStore for $ty {
            $($extra)*
            fn append(
                &self,
                req: $crate::AppendRequest,
            ) -> Result<$crate::AppendOutcome, $crate::StoreError> {
                self.engine.append(req)
            }
            fn append_stream_bulk(
                &self,
                bulk: $crate::BulkAppend,
                events: &mut dyn Iterator<Item = Result<$crate::NewEvent, $crate::StoreError>>,
                models: &mut dyn FnMut(u64) -> Vec<$crate::ModelWrite>,
            ) -> Result<$crate::AppendOutcome, $crate::StoreError> {
                self.engine.append_stream_bulk(bulk, events, models)
            }
            fn read_stream(&self, stream: &str, from_version: u64) -> $crate::EventIter<'_> {
                self.engine.read_stream(stream, from_version)
            }
            fn read_all(&self, from_position: u64) -> $crate::EventIter<'_> {
                self.engine.read_all(from_position)
            }
            fn event_at(
                &self,
                position: u64,
            ) -> Result<Option<$crate::RecordedEvent>, $crate::StoreError> {
                self.engine.event_at(position)
            }
            fn event_by_id(
                &self,
                id: uuid::Uuid,
            ) -> Result<Option<$crate::RecordedEvent>, $crate::StoreError> {
                self.engine.event_by_id(id)
            }
            fn stream_version(&self, stream: &str) -> Result<u64, $crate::StoreError> {
                self.engine.stream_version(stream)
            }
            fn head(&self) -> Result<$crate::Head, $crate::StoreError> {
                self.engine.head()
            }
            fn key(&self, key: &str) -> Result<Option<$crate::KeyRecord>, $crate::StoreError> {
                self.engine.key(key)
            }
            fn model(&self, name: &str) -> Result<Option<(u64, Vec<u8>)>, $crate::StoreError> {
                self.engine.model(name)
            }
            fn model_names(&self) -> Result<Vec<String>, $crate::StoreError> {
                self.engine.model_names()
            }
            fn save_model(
                &self,
                name: &str,
                position: u64,
                bytes: Vec<u8>,
            ) -> Result<(), $crate::StoreError> {
                self.engine.save_model(name, position, bytes)
            }
            fn verify(&self) -> Result<$crate::VerifyReport, $crate::StoreError> {
                self.engine.verify()
            }
            fn copy_from(
                &self,
                source: &dyn $crate::EventStore,
            ) -> Result<$crate::Head, $crate::StoreError> {
                self.engine.copy_from(source)
            }
        }
    };
}
