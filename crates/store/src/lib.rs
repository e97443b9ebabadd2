//! `grant-ledger-store`: the only code that touches the disk.
//!
//! It keeps an append-only, gapless, hash-chained log of opaque JSON events grouped into
//! streams, with idempotency keys and read-model documents committed atomically alongside.
//! It knows positions, streams, versions and hashes, never grant rules.
//!
//! This crate is neutral: it names no database. The log's semantics (conflicts, idempotency,
//! the hash chain, models, verify) are written once, in [`Engine`], over the primitives of
//! a [`Backend`]; every backend shares the engine and the envelope encoding, so an event
//! hashes the same wherever it is stored. The backends:
//! - `grant-ledger-store-sled` (crates/store-sled): durable and embedded, on sled 0.34;
//! - `grant-ledger-store-postgres` (crates/store-postgres): on a PostgreSQL database that
//!   several processes share;
//! - [`MemoryStore`] (here): in memory, for fast tests elsewhere.
//!
//! Only the binary chooses one (crates/cli/backend.rs); everything above the store is
//! generic over [`EventStore`].

mod backend;
pub mod caught;
mod clock;
mod copy;
mod engine;
pub mod envelope;
mod error;
pub mod limits;
mod memory;
mod types;

pub use backend::{Backend, Commit, KeyEntry, RawIter, Staged, BULK_CHUNK_EVENTS};
pub use clock::{Clock, FixedClock, SystemClock};
pub use engine::{Damage, Engine};
pub use envelope::{event_hash, STORAGE_FORMAT};
pub use error::{describe_io, ErrorKind, StoreError};
pub use memory::{MemoryBackend, MemoryStore};
pub use types::{
    AppendOutcome, AppendRequest, Appended, BulkAppend, ExpectedVersion, Head, Idempotency,
    KeyRecord, ModelWrite, NewEvent, RecordedEvent, StreamBatch, VerifiedEvent, VerifyReport,
};

use uuid::Uuid;

/// A boxed, streamed sequence of recorded events.
pub type EventIter<'a> = Box<dyn Iterator<Item = Result<RecordedEvent, StoreError>> + 'a>;

/// The event store. Both implementations are `Send + Sync`; appends are serialised
/// internally so expected-version checks are race-free within a process.
pub trait EventStore: Send + Sync {
    /// Appends all batches, records all keys and writes all models atomically, or nothing.
    ///
    /// Refuses a stale expected version ([`StoreError::Conflict`]), a key reused for a
    /// different fingerprint ([`StoreError::KeyReused`]) and duplicate event ids. If every
    /// key is already recorded with the same fingerprint, returns the original result as
    /// [`AppendOutcome::Duplicate`] and writes nothing. An append must carry at least one
    /// event; every event in it gets the same `recorded_at`.
    fn append(&self, req: AppendRequest) -> Result<AppendOutcome, StoreError>;

    /// Bulk import of one stream (`bulk.stream`) from an iterator, for up to millions of
    /// events, by `bulk.actor`, guarded by `bulk.keys` and `bulk.expected`.
    ///
    /// Events are pulled from `events` and staged in chunks above the committed head,
    /// invisible to readers; nothing is held in memory beyond one chunk. Once the iterator
    /// ends, `models` is called with the new head position and the commit (head, stream
    /// version, keys, models) is written atomically and made durable with one sync. If the
    /// iterator yields an error, a check fails, or the process dies before the commit, the
    /// staged events are removed (immediately, or on the next open) and nothing is visible.
    /// Idempotency, expected-version and duplicate-id checks are as for [`EventStore::append`].
    fn append_stream_bulk(
        &self,
        bulk: BulkAppend,
        events: &mut dyn Iterator<Item = Result<NewEvent, StoreError>>,
        models: &mut dyn FnMut(u64) -> Vec<ModelWrite>,
    ) -> Result<AppendOutcome, StoreError>;

    /// Committed events of `stream` with `stream_version >= from_version` (0 and 1 both mean
    /// from the start), in order, streamed.
    fn read_stream(&self, stream: &str, from_version: u64) -> EventIter<'_>;

    /// Committed events with `position >= from_position` (0 and 1 both mean from the start),
    /// up to the head as of the call, streamed in constant memory.
    fn read_all(&self, from_position: u64) -> EventIter<'_>;

    /// The committed event at `position`, if any.
    fn event_at(&self, position: u64) -> Result<Option<RecordedEvent>, StoreError>;

    /// The committed event with this id, if any.
    fn event_by_id(&self, id: Uuid) -> Result<Option<RecordedEvent>, StoreError>;

    /// Number of committed events in `stream` (0 if it does not exist).
    fn stream_version(&self, stream: &str) -> Result<u64, StoreError>;

    /// The last committed position and its hash.
    fn head(&self) -> Result<Head, StoreError>;

    /// What `key` was recorded with, if it was.
    fn key(&self, key: &str) -> Result<Option<KeyRecord>, StoreError>;

    /// Up to `limit` keys of whole appends (`AppendRequest::keys`) with their records, in
    /// ascending key order after `after` ("" for the first): page with the last key seen.
    /// Keys recorded on single events are not listed; their events name them.
    fn whole_append_keys(
        &self,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(String, KeyRecord)>, StoreError>;

    /// A stored read model and the position it is checkpointed at.
    fn model(&self, name: &str) -> Result<Option<(u64, Vec<u8>)>, StoreError>;

    /// Names of all stored read models, sorted.
    fn model_names(&self) -> Result<Vec<String>, StoreError>;

    /// Stores a read model checkpointed at `position` (which must not exceed the head),
    /// durably. Used by projection catch-up and rebuild.
    fn save_model(&self, name: &str, position: u64, bytes: Vec<u8>) -> Result<(), StoreError>;

    /// Re-reads the whole log, checking for every event: its key is the next position (no
    /// gaps), the envelope decodes and names that position, its `prev_hash` is the previous
    /// event's hash, its hash matches its contents, and its stream version follows the
    /// previous one in its stream; finally that the last hash is the committed head's.
    /// Fails with [`StoreError::Tampered`] naming the first bad position.
    fn verify(&self) -> Result<VerifyReport, StoreError>;

    /// [`EventStore::verify`], handing every event to `each` in position order once it
    /// has passed its own checks, until `each` returns `false`: for a caller that folds
    /// the log as it is verified (`verify`'s replay of the read models), in one pass
    /// instead of two. Whatever `each` answers, the whole log is checked and a damaged one
    /// fails as `verify` fails, naming the first bad position; `each` sees no event at or
    /// after it. The stores of this workspace scan on a thread of their own while `each`
    /// runs on the caller's. The default verifies, then reads the log again.
    fn verify_each(
        &self,
        each: &mut dyn FnMut(&VerifiedEvent<'_>) -> bool,
    ) -> Result<VerifyReport, StoreError> {
        let report = self.verify()?;
        for rec in self
            .read_all(1)
            .take(usize::try_from(report.events).unwrap_or(usize::MAX))
        {
            let rec = rec?;
            let verified = VerifiedEvent {
                fields: rec.envelope_fields(),
                hash: rec.hash,
            };
            if !each(&verified) {
                break;
            }
        }
        Ok(report)
    }

    /// Asks the store to call `wake` with a committed head position whenever another
    /// process may have committed (a store several processes share), so that a caller
    /// holding a view of the log can catch up; the log, re-read, stays the truth, and
    /// `wake` may be called spuriously or with a position already seen. The default does
    /// nothing: with an embedded store, every commit is made by this process.
    fn watch(&self, wake: Box<dyn Fn(u64) + Send + Sync>) -> Result<(), StoreError> {
        drop(wake);
        Ok(())
    }

    /// The damage found in this ledger so far (by any read, or recorded by a process that
    /// opened it before), if any. While there is some, every append and every read of the
    /// log fails with [`StoreError::Damaged`] ([`EventStore::verify`] excepted); the stored
    /// read models can still be read (the server needs its access model to authenticate
    /// the `verify` that names the damage), and the front ends answer nothing from them.
    /// A `verify` that passes clears it.
    fn damage(&self) -> Option<Damage>;

    /// Damage of the read models that `verify` found and noted with
    /// [`EventStore::note_model_damage`] (in this process or an earlier one), until
    /// [`EventStore::mend_models`] or a `verify` that passes. Reads of the log go on.
    fn model_damage(&self) -> Option<Damage> {
        None
    }

    /// Notes, durably where the store can, that the stored model `name` does not match the
    /// log, for `reason` (a clause: "checkpointed at position N does not match ...").
    fn note_model_damage(&self, name: &str, reason: &str) {
        let _ = (name, reason);
    }

    /// Clears what [`EventStore::note_model_damage`] noted: the models were rebuilt.
    fn mend_models(&self) {}

    /// Copies `source`'s whole log into this store, which must be empty: every envelope
    /// byte for byte (so every hash, and the head, are unchanged), the idempotency keys the
    /// events were recorded under, and the read models, committed at once. Returns the new
    /// head, which is `source`'s. Each event is checked against its own hash and its link
    /// to the one before as it is read.
    fn copy_from(&self, source: &dyn EventStore) -> Result<Head, StoreError> {
        let _ = source;
        Err(StoreError::invalid(
            "this store cannot take a copy of a ledger",
        ))
    }
}

/// A boxed store is a store, so a binary can choose its backend at run time and hand
/// everything above it one type (`Ledger<Box<dyn EventStore>>`).
impl<S: EventStore + ?Sized> EventStore for Box<S> {
    fn append(&self, req: AppendRequest) -> Result<AppendOutcome, StoreError> {
        (**self).append(req)
    }
    fn append_stream_bulk(
        &self,
        bulk: BulkAppend,
        events: &mut dyn Iterator<Item = Result<NewEvent, StoreError>>,
        models: &mut dyn FnMut(u64) -> Vec<ModelWrite>,
    ) -> Result<AppendOutcome, StoreError> {
        (**self).append_stream_bulk(bulk, events, models)
    }
    fn read_stream(&self, stream: &str, from_version: u64) -> EventIter<'_> {
        (**self).read_stream(stream, from_version)
    }
    fn read_all(&self, from_position: u64) -> EventIter<'_> {
        (**self).read_all(from_position)
    }
    fn event_at(&self, position: u64) -> Result<Option<RecordedEvent>, StoreError> {
        (**self).event_at(position)
    }
    fn event_by_id(&self, id: Uuid) -> Result<Option<RecordedEvent>, StoreError> {
        (**self).event_by_id(id)
    }
    fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
        (**self).stream_version(stream)
    }
    fn head(&self) -> Result<Head, StoreError> {
        (**self).head()
    }
    fn key(&self, key: &str) -> Result<Option<KeyRecord>, StoreError> {
        (**self).key(key)
    }
    fn whole_append_keys(
        &self,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(String, KeyRecord)>, StoreError> {
        (**self).whole_append_keys(after, limit)
    }
    fn model(&self, name: &str) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        (**self).model(name)
    }
    fn model_names(&self) -> Result<Vec<String>, StoreError> {
        (**self).model_names()
    }
    fn save_model(&self, name: &str, position: u64, bytes: Vec<u8>) -> Result<(), StoreError> {
        (**self).save_model(name, position, bytes)
    }
    fn verify(&self) -> Result<VerifyReport, StoreError> {
        (**self).verify()
    }
    fn verify_each(
        &self,
        each: &mut dyn FnMut(&VerifiedEvent<'_>) -> bool,
    ) -> Result<VerifyReport, StoreError> {
        (**self).verify_each(each)
    }
    fn watch(&self, wake: Box<dyn Fn(u64) + Send + Sync>) -> Result<(), StoreError> {
        (**self).watch(wake)
    }
    fn damage(&self) -> Option<Damage> {
        (**self).damage()
    }
    fn model_damage(&self) -> Option<Damage> {
        (**self).model_damage()
    }
    fn note_model_damage(&self, name: &str, reason: &str) {
        (**self).note_model_damage(name, reason)
    }
    fn mend_models(&self) {
        (**self).mend_models()
    }
    fn copy_from(&self, source: &dyn EventStore) -> Result<Head, StoreError> {
        (**self).copy_from(source)
    }
}
