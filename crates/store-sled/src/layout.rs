//! The on-disk layout inside sled: tree names, key and value encodings (positions, stream
//! extents, the head, key records, models), as docs/storage.md describes them.

use std::path::Path;

use uuid::Uuid;

use grant_ledger_store::{Appended, Head, KeyEntry, KeyRecord, StoreError};

use crate::error::from_sled;

pub(crate) const TREE_EVENTS: &str = "events";
pub(crate) const TREE_EVENT_IDS: &str = "event_ids";
/// Runs of increasing ids indexed as one entry (format 3, see `id_extents`).
pub(crate) const TREE_EVENT_ID_EXTENTS: &str = "event_id_extents";
pub(crate) const TREE_STREAM_EVENTS: &str = "stream_events";
pub(crate) const TREE_STREAMS: &str = "streams";
pub(crate) const TREE_KEYS: &str = "keys";
pub(crate) const TREE_MODELS: &str = "models";
pub(crate) const TREE_META: &str = "meta";
pub(crate) const META_FORMAT: &[u8] = b"format";
pub(crate) const META_HEAD: &[u8] = b"head";
/// sled's page cache. sled keeps every page it touched up to this size (its default is
/// 1 GiB), so this, not the store's own buffers, bounds the memory a million-event import
/// or full read costs: at 256 MB, `verify` of a million events peaked at 420 MB. Appends
/// touch the tail and scans stream the log once, reading each page once whatever the
/// cache, so 32 MB (which holds every index and model page a query touches) keeps them
/// as fast and their memory flat (docs/storage.md has the figures).
pub(crate) const SLED_CACHE_BYTES: u64 = 32 << 20;
/// Staged leftovers removed per batch when discarding.
pub(crate) const DISCARD_BATCH: usize = 4096;

pub(crate) fn pos_key(p: u64) -> [u8; 8] {
    p.to_be_bytes()
}

pub(crate) fn be_u64(bytes: &[u8], what: &str) -> Result<u64, StoreError> {
    let a: [u8; 8] = bytes
        .try_into()
        .map_err(|_| StoreError::corrupt(format!("{what} is {} bytes, not 8", bytes.len())))?;
    Ok(u64::from_be_bytes(a))
}

/// `u16 length || name || u64 version`: the length prefix keeps one stream's keys from
/// interleaving with another whose name it prefixes.
pub(crate) fn stream_key(stream: &str, version: u64) -> Vec<u8> {
    // Stream names are limited far below u16::MAX.
    assert!(stream.len() <= u16::MAX as usize);
    let mut k = Vec::with_capacity(2 + stream.len() + 8);
    k.extend_from_slice(&(stream.len() as u16).to_be_bytes());
    k.extend_from_slice(stream.as_bytes());
    k.extend_from_slice(&version.to_be_bytes());
    k
}

/// A stream extent: `count` consecutive versions stored at consecutive positions from
/// `first_position`, keyed by the stream and its first version.
pub(crate) fn extent_value(first_position: u64, count: u64) -> [u8; 16] {
    let mut v = [0u8; 16];
    v[..8].copy_from_slice(&first_position.to_be_bytes());
    v[8..].copy_from_slice(&count.to_be_bytes());
    v
}

/// Walks a stream's extents, yielding (version, position) for versions in `from..=to`.
pub(crate) struct ExtentIter<'a> {
    pub(crate) extents: sled::Iter,
    pub(crate) prefix_len: usize,
    pub(crate) path: &'a Path,
    /// (next version, its position, last version) of the extent being walked.
    pub(crate) current: Option<(u64, u64, u64)>,
    pub(crate) from: u64,
    pub(crate) to: u64,
}

impl ExtentIter<'_> {
    fn load(&mut self, k: &[u8], v: &[u8]) -> Result<(), StoreError> {
        let first_version = be_u64(k.get(self.prefix_len..).unwrap_or(&[]), "stream extent key")?;
        let first_position = be_u64(v.get(..8).unwrap_or(&[]), "stream extent position")?;
        let count = be_u64(v.get(8..).unwrap_or(&[]), "stream extent count")?;
        let last = count
            .checked_sub(1)
            .and_then(|c| first_version.checked_add(c))
            .filter(|_| first_position.checked_add(count).is_some())
            .ok_or_else(|| StoreError::corrupt("stream extent is empty or overflows"))?;
        let skip = self.from.saturating_sub(first_version);
        self.current = Some((
            first_version.saturating_add(skip),
            first_position.saturating_add(skip),
            last.min(self.to),
        ));
        Ok(())
    }
}

impl Iterator for ExtentIter<'_> {
    type Item = Result<(u64, u64), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((v, p, last)) = self.current {
                if v <= last {
                    self.current = Some((v + 1, p + 1, last));
                    return Some(Ok((v, p)));
                }
                self.current = None;
            }
            let (k, v) = match self.extents.next()? {
                Ok(kv) => kv,
                Err(e) => return Some(Err(from_sled(e, self.path))),
            };
            if let Err(e) = self.load(&k, &v) {
                return Some(Err(e));
            }
        }
    }
}

pub(crate) fn head_value(h: &Head) -> [u8; 40] {
    let mut v = [0u8; 40];
    v[..8].copy_from_slice(&h.position.to_be_bytes());
    v[8..].copy_from_slice(&h.hash);
    v
}

pub(crate) fn decode_head(v: &[u8]) -> Result<Head, StoreError> {
    if v.len() != 40 {
        return Err(StoreError::corrupt(format!(
            "meta head is {} bytes, not 40",
            v.len()
        )));
    }
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&v[8..]);
    Ok(Head {
        position: be_u64(&v[..8], "meta head position")?,
        hash,
    })
}

/// Key records are stored as JSON: rare, small, and readable by an auditor.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct KeyRecordDisk {
    fingerprint: String,
    first_position: u64,
    last_position: u64,
    streams: Vec<(String, u64)>,
}

pub(crate) fn encode_key_record(r: &KeyRecord) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(&KeyRecordDisk {
        fingerprint: hex::encode(r.fingerprint),
        first_position: r.appended.first_position,
        last_position: r.appended.last_position,
        streams: r.appended.streams.clone(),
    })
    .map_err(|e| StoreError::invalid(format!("cannot encode key record: {e}")))
}

/// First byte of a per-event key entry. A whole-append record is JSON and starts with `{`.
pub(crate) const EVENT_KEY_TAG: u8 = 1;
/// Tag, position `u64`, event id (16 bytes), fingerprint (32 bytes).
pub(crate) const EVENT_KEY_LEN: usize = 1 + 8 + 16 + 32;

/// Per-event keys can number millions per import, so they are fixed-size binary, not JSON.
pub(crate) fn encode_event_key(
    position: u64,
    event_id: Uuid,
    fingerprint: &[u8; 32],
) -> [u8; EVENT_KEY_LEN] {
    let mut v = [0u8; EVENT_KEY_LEN];
    v[0] = EVENT_KEY_TAG;
    v[1..9].copy_from_slice(&position.to_be_bytes());
    v[9..25].copy_from_slice(event_id.as_bytes());
    v[25..].copy_from_slice(fingerprint);
    v
}

pub(crate) fn decode_key_entry(key: &str, v: &[u8]) -> Result<KeyEntry, StoreError> {
    let bad = |why: String| StoreError::corrupt(format!("key record '{key}': {why}"));
    if v.first() == Some(&EVENT_KEY_TAG) {
        if v.len() != EVENT_KEY_LEN {
            return Err(bad(format!(
                "an event key entry is {} bytes, not {EVENT_KEY_LEN}",
                v.len()
            )));
        }
        let mut fingerprint = [0u8; 32];
        fingerprint.copy_from_slice(&v[25..]);
        return Ok(KeyEntry::Event {
            position: be_u64(&v[1..9], "event key position")?,
            event_id: Uuid::from_slice(&v[9..25]).map_err(|e| bad(e.to_string()))?,
            fingerprint,
        });
    }
    let d: KeyRecordDisk = serde_json::from_slice(v).map_err(|e| bad(e.to_string()))?;
    let mut fingerprint = [0u8; 32];
    hex::decode_to_slice(&d.fingerprint, &mut fingerprint).map_err(|e| bad(e.to_string()))?;
    Ok(KeyEntry::Append(KeyRecord {
        fingerprint,
        appended: Appended {
            first_position: d.first_position,
            last_position: d.last_position,
            streams: d.streams,
        },
    }))
}

pub(crate) fn decode_model(name: &str, v: &[u8]) -> Result<(u64, Vec<u8>), StoreError> {
    if v.len() < 8 {
        return Err(StoreError::corrupt(format!(
            "model '{name}' is shorter than its checkpoint"
        )));
    }
    Ok((be_u64(&v[..8], "model checkpoint")?, v[8..].to_vec()))
}
