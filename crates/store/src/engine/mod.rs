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

mod chain;
mod checks;
mod damage;
mod forward;
mod read;
mod seal;
mod verify;

use chain::Chain;
pub(crate) use checks::model_value;
use checks::{
    check_expected, event_with_key, key_twice, recorded_key, validate_event, validate_keys,
    validate_models,
};
pub use damage::Damage;
use damage::Latch;
pub(crate) use seal::sealed;

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
    latch: Latch,
}
impl<B: Backend> Engine<B> {
    pub fn new(backend: B, clock: Arc<dyn Clock>) -> Self {
        Engine {
            backend,
            clock,
            writer: Mutex::new(()),
            latch: Latch::default(),
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
                .map(|m| {
                    let doc = seal::sealed(&m.name, head.position, &head.hash, &m.bytes);
                    (m.name, model_value(head.position, &doc))
                })
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
}
