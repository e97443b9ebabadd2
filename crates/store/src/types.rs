//! The values that cross the store's API: what callers append and what they read back.

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use uuid::Uuid;

/// An event to append. The payload is opaque JSON chosen by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// Chosen by the caller (uuid v7); must be unique across the ledger.
    pub event_id: Uuid,
    /// E.g. `"PaymentIssued"`.
    pub event_type: String,
    pub schema_version: u32,
    /// A serde_json-encoded object, stored and hashed verbatim.
    pub payload: Vec<u8>,
    /// The idempotency key this event was recorded under, kept in the envelope for audit.
    pub key: Option<String>,
    /// With `key`: also record `key` as this event's own idempotency key, guarding exactly
    /// this event, with this fingerprint (the caller's hash of what the event records).
    /// Staged and committed with the event, so an append may carry any number of them;
    /// refused as [`crate::StoreError::KeyReused`] if the key is already recorded (whatever
    /// its fingerprint: callers filter repeats out first with [`crate::EventStore::key`]),
    /// and as invalid if it appears twice in one append. `None` keeps `key` as audit only.
    pub key_fingerprint: Option<[u8; 32]>,
    /// Who recorded this event, when not the append's own actor: lets one commit carry the
    /// commands of several users (a server groups concurrent commands into one fsync) while
    /// each event still names the person who made it. `None` means the append's actor.
    pub actor: Option<String>,
}

/// What the caller believes a stream's version is. A stream's version is the number of
/// events in it, so `NoStream` is the same as `Exact(0)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    Any,
    NoStream,
    Exact(u64),
}

impl ExpectedVersion {
    /// The exact version required, if any.
    pub fn required(self) -> Option<u64> {
        match self {
            ExpectedVersion::Any => None,
            ExpectedVersion::NoStream => Some(0),
            ExpectedVersion::Exact(v) => Some(v),
        }
    }
}

/// Events for one stream within an append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamBatch {
    pub stream: String,
    pub expected: ExpectedVersion,
    pub events: Vec<NewEvent>,
}

/// An idempotency key and the caller's hash of the command it guards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    pub key: String,
    pub fingerprint: [u8; 32],
}

/// A read-model or snapshot document stored atomically with an append, checkpointed at the
/// append's new head position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelWrite {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// One atomic append: all batches, keys and models are written, or none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendRequest {
    pub actor: String,
    pub keys: Vec<Idempotency>,
    pub batches: Vec<StreamBatch>,
    pub models: Vec<ModelWrite>,
}

/// Everything about a bulk import of one stream except its events and models, which
/// [`crate::EventStore::append_stream_bulk`] takes separately (an iterator and a callback)
/// so that they need not be held in memory. Keys, expected version and duplicate-id checks
/// are as for an [`AppendRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkAppend {
    pub actor: String,
    pub keys: Vec<Idempotency>,
    pub stream: String,
    pub expected: ExpectedVersion,
}

/// Where an append landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub first_position: u64,
    pub last_position: u64,
    /// The new version of each stream written, in request order.
    pub streams: Vec<(String, u64)>,
}

/// Result of an append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendOutcome {
    /// The events were written now.
    Written(Appended),
    /// Every key was already recorded with the same fingerprint: this is the original
    /// result and nothing was written.
    Duplicate(Appended),
}

impl AppendOutcome {
    pub fn appended(&self) -> &Appended {
        match self {
            AppendOutcome::Written(a) | AppendOutcome::Duplicate(a) => a,
        }
    }

    pub fn is_duplicate(&self) -> bool {
        matches!(self, AppendOutcome::Duplicate(_))
    }
}

/// An event as stored, with its envelope.
#[derive(Debug, Clone)]
pub struct RecordedEvent {
    pub position: u64,
    pub event_id: Uuid,
    pub stream: String,
    pub stream_version: u64,
    pub event_type: String,
    pub schema_version: u32,
    pub recorded_at: DateTime<Utc>,
    pub actor: String,
    pub key: Option<String>,
    /// The exact payload JSON that was appended and hashed.
    pub payload: Box<RawValue>,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
}

/// The last committed position and its hash: position 0 and an all-zero hash when empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Head {
    pub position: u64,
    pub hash: [u8; 32],
}

/// What an idempotency key was recorded with.
///
/// For a key of a whole append (`AppendRequest::keys`), `appended` is that append's result.
/// For a per-event key (`NewEvent::key_fingerprint`), it covers exactly that one event:
/// `first_position == last_position` is its position and `streams` holds its stream and
/// stream version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub fingerprint: [u8; 32],
    pub appended: Appended,
}

/// An event as [`crate::EventStore::verify_each`] hands it out: it has passed every check
/// of its own (position, link, hash, stream version), and borrows from the stored bytes.
/// The payload is the exact bytes hashed, not yet parsed.
#[derive(Debug, Clone)]
pub struct VerifiedEvent<'a> {
    pub fields: crate::envelope::Fields<'a>,
    pub hash: [u8; 32],
}

/// A successful `verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub events: u64,
    pub head: Head,
}
