//! The stored event envelope: its canonical byte encoding, its hash, and cheap decoding.
//!
//! A stored envelope is `canonical || hash`, where `hash = SHA-256(canonical)` and
//! `canonical` is (all integers big-endian):
//!
//! ```text
//! tag            16 bytes  ASCII "grant-ledger.ev1" (domain separation + format)
//! position        u64
//! event_id       16 bytes  (uuid, RFC 4122 byte order)
//! stream         u32 length + UTF-8 bytes
//! stream_version  u64
//! event_type     u32 length + UTF-8 bytes
//! schema_version  u32
//! recorded_at     i64 seconds since the Unix epoch (UTC) + u32 nanoseconds
//! actor          u32 length + UTF-8 bytes
//! key            u8 (0 = none, 1 = some) [+ u32 length + UTF-8 bytes]
//! payload        u32 length + the exact payload JSON bytes
//! prev_hash      32 bytes (all zero for position 1)
//! ```
//!
//! Storing the canonical bytes themselves (rather than re-deriving them from, say, JSON)
//! means verification is "hash everything but the last 32 bytes", which an auditor can
//! reproduce with any SHA-256 tool, and decoding is slicing rather than parsing.

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::types::RecordedEvent;

/// The storage format this build writes and the newest it reads (kept in `meta`/`format`).
/// 2 added per-event key entries to the `keys` tree, 3 the `event_id_extents` tree (one
/// entry per run of increasing event ids). Each only adds entries an older build would
/// misread or miss, so an older ledger is upgraded on open by rewriting the number.
pub const STORAGE_FORMAT: u32 = 3;

const TAG: &[u8; 16] = b"grant-ledger.ev1";
const HASH_LEN: usize = 32;

/// SHA-256 of an envelope's canonical bytes (a stored envelope minus its last 32 bytes).
pub fn event_hash(canonical: &[u8]) -> [u8; 32] {
    Sha256::digest(canonical).into()
}

/// The fields of an envelope, borrowed.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    pub position: u64,
    pub event_id: Uuid,
    pub stream: &'a str,
    pub stream_version: u64,
    pub event_type: &'a str,
    pub schema_version: u32,
    pub recorded_at: DateTime<Utc>,
    pub actor: &'a str,
    pub key: Option<&'a str>,
    pub payload: &'a [u8],
    pub prev_hash: [u8; 32],
}

impl RecordedEvent {
    /// The envelope fields this event was stored with, borrowed: what its hash covers.
    pub fn envelope_fields(&self) -> Fields<'_> {
        Fields {
            position: self.position,
            event_id: self.event_id,
            stream: &self.stream,
            stream_version: self.stream_version,
            event_type: &self.event_type,
            schema_version: self.schema_version,
            recorded_at: self.recorded_at,
            actor: &self.actor,
            key: self.key.as_deref(),
            payload: self.payload.get().as_bytes(),
            prev_hash: self.prev_hash,
        }
    }
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    // Limits keep every field far below u32::MAX; a longer one is a bug in validation.
    assert!(s.len() <= u32::MAX as usize, "envelope field too long");
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s);
}

/// Encodes `f` into the stored form `canonical || hash` and returns it with the hash.
pub fn encode(f: &Fields<'_>) -> (Vec<u8>, [u8; 32]) {
    let len = 16
        + 8
        + 16
        + 4
        + f.stream.len()
        + 8
        + 4
        + f.event_type.len()
        + 4
        + 12
        + 4
        + f.actor.len()
        + 1
        + f.key.map_or(0, |k| 4 + k.len())
        + 4
        + f.payload.len()
        + HASH_LEN
        + HASH_LEN;
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(TAG);
    out.extend_from_slice(&f.position.to_be_bytes());
    out.extend_from_slice(f.event_id.as_bytes());
    put_str(&mut out, f.stream.as_bytes());
    out.extend_from_slice(&f.stream_version.to_be_bytes());
    put_str(&mut out, f.event_type.as_bytes());
    out.extend_from_slice(&f.schema_version.to_be_bytes());
    out.extend_from_slice(&f.recorded_at.timestamp().to_be_bytes());
    out.extend_from_slice(&f.recorded_at.timestamp_subsec_nanos().to_be_bytes());
    put_str(&mut out, f.actor.as_bytes());
    match f.key {
        None => out.push(0),
        Some(k) => {
            out.push(1);
            put_str(&mut out, k.as_bytes());
        }
    }
    put_str(&mut out, f.payload);
    out.extend_from_slice(&f.prev_hash);
    let hash = event_hash(&out);
    out.extend_from_slice(&hash);
    debug_assert_eq!(out.len(), len);
    (out, hash)
}

/// A decoded envelope borrowing from the stored bytes.
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    pub fields: Fields<'a>,
    /// The hash as stored (not recomputed).
    pub hash: [u8; 32],
    /// The canonical bytes the hash is over.
    pub canonical: &'a [u8],
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| format!("envelope truncated in {what}"))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], String> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u8(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u32(&mut self, what: &str) -> Result<u32, String> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &str) -> Result<u64, String> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    fn bytes(&mut self, what: &str) -> Result<&'a [u8], String> {
        let n = self.u32(what)? as usize;
        self.take(n, what)
    }

    fn str(&mut self, what: &str) -> Result<&'a str, String> {
        std::str::from_utf8(self.bytes(what)?).map_err(|_| format!("{what} is not UTF-8"))
    }
}

/// Decodes a stored envelope without allocating. Checks structure only; the hash is
/// compared by the caller (see [`Envelope::hash_matches`]).
pub fn decode(bytes: &[u8]) -> Result<Envelope<'_>, String> {
    if bytes.len() < TAG.len() + HASH_LEN {
        return Err("envelope too short".into());
    }
    let split = bytes.len() - HASH_LEN;
    let (canonical, hash) = bytes.split_at(split);
    let mut r = Reader {
        bytes: canonical,
        at: 0,
    };
    if r.take(TAG.len(), "tag")? != TAG {
        return Err("envelope tag is not grant-ledger.ev1".into());
    }
    let position = r.u64("position")?;
    let event_id = Uuid::from_bytes(r.array("event id")?);
    let stream = r.str("stream")?;
    let stream_version = r.u64("stream version")?;
    let event_type = r.str("event type")?;
    let schema_version = r.u32("schema version")?;
    let secs = i64::from_be_bytes(r.array("recorded at")?);
    let nanos = r.u32("recorded at")?;
    let recorded_at = DateTime::<Utc>::from_timestamp(secs, nanos)
        .ok_or_else(|| "recorded at is out of range".to_string())?;
    let actor = r.str("actor")?;
    let key = match r.u8("key flag")? {
        0 => None,
        1 => Some(r.str("key")?),
        other => return Err(format!("key flag is {other}, not 0 or 1")),
    };
    let payload = r.bytes("payload")?;
    let prev_hash = r.array("prev hash")?;
    if r.at != canonical.len() {
        return Err("trailing bytes after prev hash".into());
    }
    let mut h = [0u8; 32];
    h.copy_from_slice(hash);
    Ok(Envelope {
        fields: Fields {
            position,
            event_id,
            stream,
            stream_version,
            event_type,
            schema_version,
            recorded_at,
            actor,
            key,
            payload,
            prev_hash,
        },
        hash: h,
        canonical,
    })
}

/// Just the event id, for duplicate checks, without decoding the rest.
pub fn event_id_of(bytes: &[u8]) -> Option<Uuid> {
    let start = TAG.len() + 8;
    let id = bytes.get(start..start + 16)?;
    Uuid::from_slice(id).ok()
}

impl Envelope<'_> {
    pub fn hash_matches(&self) -> bool {
        event_hash(self.canonical) == self.hash
    }

    /// An owned copy; validates the payload JSON so a `RawValue` is never built from junk.
    pub fn to_recorded(&self) -> Result<RecordedEvent, String> {
        let f = &self.fields;
        let text =
            std::str::from_utf8(f.payload).map_err(|_| "payload is not UTF-8".to_string())?;
        let payload = RawValue::from_string(text.to_owned())
            .map_err(|e| format!("payload is not valid JSON: {e}"))?;
        // `RawValue` drops surrounding whitespace, which no writer stores (the store refuses
        // it); handing out other bytes than those hashed would fail every later re-check.
        if payload.get().len() != text.len() {
            return Err("payload has whitespace around its JSON".into());
        }
        Ok(RecordedEvent {
            position: f.position,
            event_id: f.event_id,
            stream: f.stream.to_owned(),
            stream_version: f.stream_version,
            event_type: f.event_type.to_owned(),
            schema_version: f.schema_version,
            recorded_at: f.recorded_at,
            actor: f.actor.to_owned(),
            key: f.key.map(str::to_owned),
            payload,
            prev_hash: f.prev_hash,
            hash: self.hash,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Fields<'static> {
        Fields {
            position: 7,
            event_id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001),
            stream: "determination-31/7421",
            stream_version: 3,
            event_type: "PaymentIssued",
            schema_version: 2,
            recorded_at: DateTime::<Utc>::from_timestamp(1_700_000_000, 123).unwrap(),
            actor: "alice",
            key: Some("k-1"),
            payload: br#"{"amount":"10.00"}"#,
            prev_hash: [9; 32],
        }
    }

    #[test]
    fn round_trips_and_hashes_the_canonical_bytes() {
        let (bytes, hash) = encode(&sample());
        let env = decode(&bytes).unwrap();
        assert_eq!(env.hash, hash);
        assert!(env.hash_matches());
        assert_eq!(env.canonical, &bytes[..bytes.len() - 32]);
        assert_eq!(event_hash(env.canonical), hash);
        let rec = env.to_recorded().unwrap();
        assert_eq!(rec.stream, "determination-31/7421");
        assert_eq!(rec.key.as_deref(), Some("k-1"));
        assert_eq!(rec.payload.get(), r#"{"amount":"10.00"}"#);
        assert_eq!(event_id_of(&bytes), Some(sample().event_id));
    }

    #[test]
    fn every_single_byte_flip_is_detected() {
        let (bytes, _) = encode(&sample());
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            let caught = match decode(&b) {
                Err(_) => true,
                Ok(env) => !env.hash_matches(),
            };
            assert!(caught, "flip at byte {i} not caught");
        }
    }

    // Found by fuzzing (fuzz/ target envelope): a payload with whitespace around its JSON
    // decoded to a recorded event whose payload was not the bytes its hash covers.
    #[test]
    fn a_payload_with_surrounding_whitespace_is_not_handed_out_altered() {
        let fields = Fields {
            payload: b"\t\t1",
            ..sample()
        };
        let (bytes, _) = encode(&fields);
        let env = decode(&bytes).unwrap();
        assert!(env.hash_matches());
        let err = env.to_recorded().unwrap_err();
        assert!(err.contains("whitespace"), "{err}");
    }

    #[test]
    fn truncation_is_an_error_not_a_panic() {
        let (bytes, _) = encode(&sample());
        for n in 0..bytes.len() {
            let _ = decode(&bytes[..n]);
        }
        assert!(decode(&[]).is_err());
    }
}
