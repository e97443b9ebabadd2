//! The storage primitives a backend supplies to the [`crate::Engine`], with their contracts:
//! the one boundary between the log's semantics (written once, in the engine) and where
//! the bytes live (sled, PostgreSQL, memory).

use uuid::Uuid;

use crate::error::StoreError;
use crate::types::{Head, KeyRecord};

/// Events staged per backend write during a bulk append: bounds memory, not correctness.
pub const BULK_CHUNK_EVENTS: usize = 2048;

/// An encoded event waiting above the head.
pub struct Staged {
    pub position: u64,
    pub event_id: Uuid,
    pub stream: String,
    pub stream_version: u64,
    pub bytes: Vec<u8>,
    /// The event's own idempotency key and fingerprint, staged into the key index with it.
    pub event_key: Option<(String, [u8; 32])>,
}

/// An entry of the key index as a backend stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyEntry {
    /// A key of a whole append, written by its commit: always committed.
    Append(KeyRecord),
    /// A per-event key, staged with its event: it counts only once that event is committed,
    /// and only if the envelope there is still that event (a discarded append may have left
    /// the entry behind, and its position may since have been reused).
    Event {
        position: u64,
        event_id: Uuid,
        fingerprint: [u8; 32],
    },
}

/// Everything that becomes visible at once when an append commits.
pub struct Commit {
    pub head: Head,
    pub streams: Vec<(String, u64)>,
    pub keys: Vec<(String, KeyRecord)>,
    pub models: Vec<(String, Vec<u8>)>,
}

/// Stored envelopes with their positions, streamed.
pub type RawIter<'a, R> = Box<dyn Iterator<Item = Result<(u64, R), StoreError>> + 'a>;

/// Storage primitives: everything a backend supplies, and nothing more. The engine writes
/// the log's semantics (positions, versions, keys, the hash chain, models, verify) once over
/// these, so a new backend cannot get them subtly different.
///
/// Contracts, which the conformance suite (`crates/store/tests/conformance`) checks for
/// every backend:
/// - Calls need not be atomic with each other. The engine serialises writers in the process
///   (one writer lock), and brackets every write in [`Backend::begin_write`] and
///   [`Backend::end_write`], where a backend shared by several processes serialises them.
/// - `stage_events` and `stage_index` write *above* the committed head: no reader looks
///   there (every read is bounded by [`Backend::head`]), so staged data is invisible until
///   `commit`. Staged data may be read back by the writer (`raw_event`, `indexed_ids`,
///   `key_entry`) before the commit. A crash before the commit may lose staged data, tear
///   it (keep a prefix, the last entry cut short) or keep part of it out of order (index
///   entries whose events are gone): opening discards everything above the head, and the
///   engine trusts no staged or stale entry it has not checked against the envelope it
///   names. `crates/projections/tests/simulation.rs` strikes in each of these ways.
/// - `commit` is atomic and durable: when it returns `Ok`, the head, stream versions, keys
///   and models it carries are all visible and survive a crash; when it fails, either none
///   of it took effect or (a failed sync after the write) all of it did, which the engine
///   tells apart by reading the head.
///   The events it commits must be durable by then too: a committed head whose events
///   are gone is damage, which opening refuses, not a crash to recover from.
/// - `discard_above(head)` removes whatever was staged above `head` and its index entries,
///   and must be safe to call when nothing is staged.
/// - `raw_range` and `stream_positions` stream in constant memory and may return stale
///   (staged or discarded) entries: the engine checks positions, hashes and envelopes.
pub trait Backend: Send + Sync {
    /// The stored bytes of one envelope, as the backend hands them out without copying
    /// where it can.
    type Raw: AsRef<[u8]>;

    /// Called with the engine's writer lock held, before an append or a model save reads
    /// anything it decides on. A backend that several processes share takes its
    /// cross-process write lock here, so that everything the write reads, stages and
    /// commits until [`Backend::end_write`] is serialised with the other processes'
    /// writes. Embedded backends have nothing to do.
    fn begin_write(&self) -> Result<(), StoreError> {
        Ok(())
    }
    /// Called when a write begun by [`Backend::begin_write`] ends, whether it committed,
    /// failed or found nothing to do: a backend undoes here whatever did not commit.
    fn end_write(&self) {}
    /// The committed head.
    fn head(&self) -> Result<Head, StoreError>;
    /// The committed version of `stream`, 0 if it has none.
    fn stream_version(&self, stream: &str) -> Result<u64, StoreError>;
    /// The raw key-index entry, committed, staged or stale; the engine decides which.
    fn key_entry(&self, key: &str) -> Result<Option<KeyEntry>, StoreError>;
    /// The raw key-index entries of `keys`, in order, as [`Backend::key_entry`] gives them
    /// one by one (which the default does); a backend across a network answers at once.
    fn key_entries(&self, keys: &[&str]) -> Result<Vec<Option<KeyEntry>>, StoreError> {
        keys.iter().map(|k| self.key_entry(k)).collect()
    }
    /// Up to `limit` key-index entries with keys after `after` ("" for the first), in
    /// ascending key order: how a copy of the ledger finds the keys of whole appends, which
    /// no event names.
    fn key_entries_after(
        &self,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(String, KeyEntry)>, StoreError>;
    /// Position an event id is indexed at, staged or committed (may be stale garbage).
    fn event_id_position(&self, id: Uuid) -> Result<Option<u64>, StoreError>;
    /// Which of `sorted` (ascending, distinct) are in the id index, with their positions.
    fn indexed_ids(&self, sorted: &[Uuid]) -> Result<Vec<(Uuid, u64)>, StoreError>;
    /// The first of `events` (ids with their positions, in position order, each read from
    /// its envelope by `verify`, the first possibly repeated from the call before) whose id
    /// the index does not lead to that position, if any. The default asks
    /// [`Backend::indexed_ids`] once; a backend where that costs more than a read per id
    /// answers more cheaply.
    fn misindexed_id(&self, events: &[(Uuid, u64)]) -> Result<Option<u64>, StoreError> {
        let mut sorted: Vec<Uuid> = events.iter().map(|(id, _)| *id).collect();
        sorted.sort_unstable();
        sorted.dedup();
        let mut found: Vec<(Uuid, u64)> = self.indexed_ids(&sorted)?;
        found.sort_unstable();
        Ok(events
            .iter()
            .find(|(id, position)| found.binary_search(&(*id, *position)).is_err())
            .map(|(_, position)| *position))
    }
    /// The stored envelope at a position, staged or committed.
    fn raw_event(&self, position: u64) -> Result<Option<Self::Raw>, StoreError>;
    /// Stored envelopes in `from..=to` by key order, streamed.
    fn raw_range(&self, from: u64, to: u64) -> RawIter<'_, Self::Raw>;
    /// Positions of `stream`'s events with versions in `from..=to`, as (version, position).
    fn stream_positions(
        &self,
        stream: &str,
        from: u64,
        to: u64,
    ) -> Box<dyn Iterator<Item = Result<(u64, u64), StoreError>> + '_>;
    /// Writes staged envelopes above the head.
    fn stage_events(&self, events: &[Staged]) -> Result<(), StoreError>;
    /// Writes the id, stream and per-event key index entries of events already written by
    /// `stage_events`.
    fn stage_index(&self, events: &[Staged]) -> Result<(), StoreError>;
    /// Removes every staged event above `head` and its index entries (per-event keys too).
    fn discard_above(&self, head: u64) -> Result<(), StoreError>;
    /// Makes a staged append the ledger's, atomically and durably (see the trait doc).
    fn commit(&self, commit: Commit) -> Result<(), StoreError>;
    /// A stored read model and its checkpoint.
    fn model(&self, name: &str) -> Result<Option<(u64, Vec<u8>)>, StoreError>;
    /// Names of all stored read models, sorted.
    fn model_names(&self) -> Result<Vec<String>, StoreError>;
    /// Stores a read model durably; called inside a write, with the checkpoint checked.
    fn put_model(&self, name: &str, position: u64, bytes: &[u8]) -> Result<(), StoreError>;
    /// All (stream, committed version) pairs, for verify.
    fn all_streams(&self) -> Result<Vec<(String, u64)>, StoreError>;
    /// The note of damage found earlier (see `engine/damage.rs`), if one is kept. Kept
    /// apart from the log where the backend can (a damaged store may not take writes).
    fn damage_note(&self) -> Result<Option<Vec<u8>>, StoreError>;
    /// Keeps (`Some`) or removes (`None`) the damage note, durably.
    fn set_damage_note(&self, note: Option<&[u8]>) -> Result<(), StoreError>;
}
