//! How projections read the log and persist themselves: decoding recorded events into domain
//! events, turning them into history entries, and the versioned envelope every stored model
//! is wrapped in (so a model written by an older build is rebuilt, and one written by a newer
//! build is refused rather than misread).

use chrono::NaiveDate;
use grant_ledger_domain::{AccessData, AccessEvent, Event, EventData};
use grant_ledger_store::{NewEvent, RecordedEvent};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::LedgerError;
use crate::rows::HistoryEntry;

/// An event of the log: one of a determination's, or one of the access stream's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Logged {
    Grant(Event),
    Access(AccessEvent),
}

impl Logged {
    pub fn effective_date(&self) -> NaiveDate {
        match self {
            Logged::Grant(e) => e.data.effective_date(),
            Logged::Access(e) => e.data.effective_date(),
        }
    }
}

fn unreadable(position: u64, why: &str) -> LedgerError {
    LedgerError::corrupt(format!(
        "the event at position {position} cannot be read: {why}"
    ))
}

/// Decodes a stored event; one that does not decode means the ledger is corrupt or newer.
pub(crate) fn decode(rec: &RecordedEvent) -> Result<Logged, LedgerError> {
    decode_parts(
        rec.position,
        rec.event_id,
        &rec.event_type,
        rec.schema_version,
        rec.payload.get().as_bytes(),
    )
}

/// [`decode`] from an envelope's fields, for a reader that holds them borrowed (verify's
/// one pass) rather than as a [`RecordedEvent`].
pub(crate) fn decode_parts(
    position: u64,
    id: Uuid,
    event_type: &str,
    schema_version: u32,
    payload: &[u8],
) -> Result<Logged, LedgerError> {
    if let Some(access) = AccessData::from_payload(event_type, payload) {
        let data = access.map_err(|e| unreadable(position, e.message()))?;
        return Ok(Logged::Access(AccessEvent { id, data }));
    }
    let data = EventData::from_payload(event_type, schema_version, payload)
        .map_err(|e| unreadable(position, e.message()))?;
    Ok(Logged::Grant(Event { id, data }))
}

/// Decodes a stored event that must be a determination's (a reversal's target, an event of
/// a determination stream).
pub(crate) fn decode_grant(rec: &RecordedEvent) -> Result<Event, LedgerError> {
    match decode(rec)? {
        Logged::Grant(event) => Ok(event),
        Logged::Access(_) => Err(unreadable(
            rec.position,
            "an access event stands where a determination's event must be",
        )),
    }
}

/// An access event as the store takes it, recorded by `actor`.
pub(crate) fn new_access_event(event: &AccessEvent, key: Option<&str>) -> NewEvent {
    NewEvent {
        event_id: event.id,
        event_type: event.data.event_type().to_string(),
        schema_version: 1,
        payload: event.data.to_payload(),
        key: key.map(str::to_string),
        key_fingerprint: None,
        actor: None,
    }
}

/// A domain event as the store takes it.
pub(crate) fn new_event(event: &Event, key: Option<&str>) -> NewEvent {
    NewEvent {
        event_id: event.id,
        event_type: event.data.event_type().as_str().to_string(),
        schema_version: event.data.schema_version(),
        payload: event.data.to_payload(),
        key: key.map(str::to_string),
        key_fingerprint: None,
        actor: None,
    }
}

/// The audit-trail view of a stored event whose domain form is already decoded.
pub(crate) fn history_entry(
    rec: &RecordedEvent,
    event: &Logged,
) -> Result<HistoryEntry, LedgerError> {
    let data = serde_json::from_str(rec.payload.get()).map_err(|e| {
        LedgerError::corrupt(format!(
            "the event at position {} cannot be read: {e}",
            rec.position
        ))
    })?;
    Ok(HistoryEntry {
        position: rec.position,
        event_id: rec.event_id,
        event_type: rec.event_type.clone(),
        stream: rec.stream.clone(),
        version: rec.stream_version,
        recorded_at: rec.recorded_at,
        actor: rec.actor.clone(),
        key: rec.key.clone(),
        effective_date: event.effective_date(),
        data,
        hash: hex::encode(rec.hash),
    })
}

/// The stored form of every model: what it is, which layout version, and the body.
#[derive(Serialize, Deserialize)]
struct Envelope<T> {
    model: String,
    version: u32,
    body: T,
}

/// What reading a stored model can find.
pub(crate) enum Stored<T> {
    /// Current layout, decoded.
    Current(T),
    /// Absent, or written by an older layout: rebuild from the log.
    Rebuild,
}

pub(crate) fn encode_model<T: Serialize>(
    kind: &str,
    version: u32,
    body: &T,
) -> Result<Vec<u8>, LedgerError> {
    serde_json::to_vec(&Envelope {
        model: kind.to_string(),
        version,
        body,
    })
    .map_err(|e| LedgerError::corrupt(format!("read model '{kind}' cannot be encoded: {e}")))
}

/// Decodes a stored model named `name` of kind `kind` at layout `version`.
pub(crate) fn decode_model<T: DeserializeOwned>(
    name: &str,
    kind: &str,
    version: u32,
    bytes: Option<&[u8]>,
) -> Result<Stored<T>, LedgerError> {
    let Some(bytes) = bytes else {
        return Ok(Stored::Rebuild);
    };
    #[derive(Deserialize)]
    struct Header {
        model: String,
        version: u32,
    }
    let header: Header = serde_json::from_slice(bytes)
        .map_err(|e| LedgerError::corrupt(format!("read model '{name}' is corrupt: {e}")))?;
    if header.model != kind {
        return Err(LedgerError::corrupt(format!(
            "read model '{name}' holds a '{}' model, not '{kind}'",
            header.model
        )));
    }
    if header.version > version {
        return Err(LedgerError::corrupt(format!(
            "read model '{name}' was written by a newer version of grant-ledger (layout {}, this build reads up to {version})",
            header.version
        )));
    }
    if header.version < version {
        return Ok(Stored::Rebuild);
    }
    let envelope: Envelope<T> = serde_json::from_slice(bytes)
        .map_err(|e| LedgerError::corrupt(format!("read model '{name}' is corrupt: {e}")))?;
    Ok(Stored::Current(envelope.body))
}
