//! The durable store on sled 0.34: tree layout, the commit transaction, making acknowledged
//! writes really durable, and opening (creating only for writers, lock, format, loss of
//! contents, recovery of interrupted appends, the check of the last event).
//!
//! Durability: sled's `flush()` ends in `sync_file_range`, which neither flushes the disk's
//! write cache nor the file's metadata (sled issue #1452). After every commit we therefore
//! call `flush()` and then `fsync` (`File::sync_all`) on sled's data file `DIR/db`; on
//! creation we also fsync `DIR/conf` and the directories, so the files themselves survive.

use std::fs::File;
use std::ops::Bound;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::{Batch, IVec, Transactional, Tree};
use uuid::Uuid;

use grant_ledger_store::envelope::{self, STORAGE_FORMAT};
use grant_ledger_store::{
    describe_io, forward_event_store, limits, Appended, Backend, Clock, Commit, Engine, Head,
    KeyEntry, KeyRecord, RawIter, Staged, StoreError,
};

use crate::error::from_sled;
use crate::id_extents::{self, IdExtent, MIN_EXTENT_EVENTS};
use crate::open_registry::{open_exclusive, OpenGuard};

const TREE_EVENTS: &str = "events";
const TREE_EVENT_IDS: &str = "event_ids";
/// Runs of increasing ids indexed as one entry (format 3, see `id_extents`).
const TREE_EVENT_ID_EXTENTS: &str = "event_id_extents";
const TREE_STREAM_EVENTS: &str = "stream_events";
const TREE_STREAMS: &str = "streams";
const TREE_KEYS: &str = "keys";
const TREE_MODELS: &str = "models";
const TREE_META: &str = "meta";
const META_FORMAT: &[u8] = b"format";
const META_HEAD: &[u8] = b"head";
/// sled's page cache. sled keeps every page it touched up to this size (its default is
/// 1 GiB), so this, not the store's own buffers, bounds the memory a million-event import
/// or full read costs. Appends and scans touch the tail and stream once, so a modest
/// cache costs little.
const SLED_CACHE_BYTES: u64 = 256 << 20;
/// Staged leftovers removed per batch when discarding.
const DISCARD_BATCH: usize = 4096;

fn pos_key(p: u64) -> [u8; 8] {
    p.to_be_bytes()
}

fn be_u64(bytes: &[u8], what: &str) -> Result<u64, StoreError> {
    let a: [u8; 8] = bytes
        .try_into()
        .map_err(|_| StoreError::corrupt(format!("{what} is {} bytes, not 8", bytes.len())))?;
    Ok(u64::from_be_bytes(a))
}

/// `u16 length || name || u64 version`: the length prefix keeps one stream's keys from
/// interleaving with another whose name it prefixes.
fn stream_key(stream: &str, version: u64) -> Vec<u8> {
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
fn extent_value(first_position: u64, count: u64) -> [u8; 16] {
    let mut v = [0u8; 16];
    v[..8].copy_from_slice(&first_position.to_be_bytes());
    v[8..].copy_from_slice(&count.to_be_bytes());
    v
}

/// Walks a stream's extents, yielding (version, position) for versions in `from..=to`.
struct ExtentIter<'a> {
    extents: sled::Iter,
    prefix_len: usize,
    path: &'a Path,
    /// (next version, its position, last version) of the extent being walked.
    current: Option<(u64, u64, u64)>,
    from: u64,
    to: u64,
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

fn head_value(h: &Head) -> [u8; 40] {
    let mut v = [0u8; 40];
    v[..8].copy_from_slice(&h.position.to_be_bytes());
    v[8..].copy_from_slice(&h.hash);
    v
}

fn decode_head(v: &[u8]) -> Result<Head, StoreError> {
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
struct KeyRecordDisk {
    fingerprint: String,
    first_position: u64,
    last_position: u64,
    streams: Vec<(String, u64)>,
}

fn encode_key_record(r: &KeyRecord) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(&KeyRecordDisk {
        fingerprint: hex::encode(r.fingerprint),
        first_position: r.appended.first_position,
        last_position: r.appended.last_position,
        streams: r.appended.streams.clone(),
    })
    .map_err(|e| StoreError::invalid(format!("cannot encode key record: {e}")))
}

/// First byte of a per-event key entry. A whole-append record is JSON and starts with `{`.
const EVENT_KEY_TAG: u8 = 1;
/// Tag, position `u64`, event id (16 bytes), fingerprint (32 bytes).
const EVENT_KEY_LEN: usize = 1 + 8 + 16 + 32;

/// Per-event keys can number millions per import, so they are fixed-size binary, not JSON.
fn encode_event_key(position: u64, event_id: Uuid, fingerprint: &[u8; 32]) -> [u8; EVENT_KEY_LEN] {
    let mut v = [0u8; EVENT_KEY_LEN];
    v[0] = EVENT_KEY_TAG;
    v[1..9].copy_from_slice(&position.to_be_bytes());
    v[9..25].copy_from_slice(event_id.as_bytes());
    v[25..].copy_from_slice(fingerprint);
    v
}

fn decode_key_entry(key: &str, v: &[u8]) -> Result<KeyEntry, StoreError> {
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

fn decode_model(name: &str, v: &[u8]) -> Result<(u64, Vec<u8>), StoreError> {
    if v.len() < 8 {
        return Err(StoreError::corrupt(format!(
            "model '{name}' is shorter than its checkpoint"
        )));
    }
    Ok((be_u64(&v[..8], "model checkpoint")?, v[8..].to_vec()))
}

pub(crate) struct SledBackend {
    db: sled::Db,
    events: Tree,
    event_ids: Tree,
    event_id_extents: Tree,
    stream_events: Tree,
    streams: Tree,
    keys: Tree,
    models: Tree,
    meta: Tree,
    /// A second handle on sled's data file, only for `fsync`.
    data_file: File,
    path: PathBuf,
}

impl SledBackend {
    fn sled<T>(&self, r: sled::Result<T>) -> Result<T, StoreError> {
        r.map_err(|e| from_sled(e, &self.path))
    }

    /// Makes everything written so far durable (see the module doc for why both steps).
    fn sync(&self) -> Result<(), StoreError> {
        self.sled(self.db.flush())?;
        self.data_file.sync_all()?;
        Ok(())
    }

    /// The event id stored at `position`, if an envelope is there.
    fn id_at(&self, position: u64) -> Result<Option<Uuid>, StoreError> {
        Ok(self
            .raw_event(position)?
            .and_then(|raw| envelope::event_id_of(&raw)))
    }

    fn id_extent(&self, item: sled::Result<(IVec, IVec)>) -> Result<IdExtent, StoreError> {
        let (k, v) = self.sled(item)?;
        IdExtent::decode(&k, &v)
    }

    /// Position of `id` in the extent that covers it, if any. Extents are disjoint, so only
    /// the last one starting at or before `id` can.
    fn id_in_extents(&self, id: Uuid) -> Result<Option<u64>, StoreError> {
        match self.event_id_extents.range(..=*id.as_bytes()).next_back() {
            Some(item) => self.id_extent(item)?.search(id, |p| self.id_at(p)),
            None => Ok(None),
        }
    }

    /// Whether an extent over ids `first..=last` may be written: no per-event entry and no
    /// extent (stale ones included) lies in that range, and the extent before it ends
    /// below it. This keeps extents disjoint and per-event entries out of them.
    fn id_range_is_free(&self, first: Uuid, last: Uuid) -> Result<bool, StoreError> {
        let range = *first.as_bytes()..=*last.as_bytes();
        if self.event_ids.range(range.clone()).next().is_some()
            || self.event_id_extents.range(range).next().is_some()
        {
            return Ok(false);
        }
        match self.event_id_extents.range(..*first.as_bytes()).next_back() {
            Some(item) => Ok(self.id_extent(item)?.last_id < first),
            None => Ok(true),
        }
    }

    /// Which of `sorted` lie in extents, with their positions: the extents overlapping the
    /// ids' range are scanned once (for new v7 ids typically none), past a budget it is one
    /// lookup per id, as for the per-event entries.
    fn ids_in_extents(
        &self,
        sorted: &[Uuid],
        found: &mut Vec<(Uuid, u64)>,
    ) -> Result<(), StoreError> {
        let (Some(first), Some(last)) = (sorted.first(), sorted.last()) else {
            return Ok(());
        };
        let budget = sorted.len() * 4 + 64;
        let mut overlapping = Vec::new();
        if let Some(item) = self
            .event_id_extents
            .range(..=*first.as_bytes())
            .next_back()
        {
            overlapping.push(self.id_extent(item)?);
        }
        let after_first = (
            Bound::Excluded(*first.as_bytes()),
            Bound::Included(*last.as_bytes()),
        );
        for (visited, item) in self.event_id_extents.range(after_first).enumerate() {
            if visited > budget {
                for id in sorted {
                    if let Some(p) = self.id_in_extents(*id)? {
                        found.push((*id, p));
                    }
                }
                return Ok(());
            }
            overlapping.push(self.id_extent(item)?);
        }
        for extent in overlapping {
            let from = sorted.partition_point(|id| *id < extent.first_id);
            let to = sorted.partition_point(|id| *id <= extent.last_id);
            for id in sorted.get(from..to).unwrap_or(&[]) {
                if let Some(p) = extent.search(*id, |p| self.id_at(p))? {
                    found.push((*id, p));
                }
            }
        }
        Ok(())
    }

    /// Indexes a staged chunk's ids: a run of increasing ids as one extent where its range
    /// is free, per event otherwise (where the extent could make a lookup miss).
    fn stage_ids(&self, events: &[Staged]) -> Result<(), StoreError> {
        let ids: Vec<(Uuid, u64)> = events.iter().map(|e| (e.event_id, e.position)).collect();
        for (start, len) in id_extents::runs(&ids) {
            let run = ids.get(start..start + len).unwrap_or(&[]);
            let (Some(&(first_id, first_position)), Some(&(last_id, _))) =
                (run.first(), run.last())
            else {
                continue;
            };
            if len >= MIN_EXTENT_EVENTS && self.id_range_is_free(first_id, last_id)? {
                let extent = IdExtent {
                    first_id,
                    first_position,
                    count: len as u64,
                    last_id,
                };
                self.sled(
                    self.event_id_extents
                        .insert(first_id.as_bytes(), &extent.value()[..]),
                )?;
                continue;
            }
            for (id, position) in run {
                self.sled(self.event_ids.insert(id.as_bytes(), &pos_key(*position)))?;
            }
        }
        Ok(())
    }
}

fn tx_err(e: TransactionError<()>, path: &Path) -> StoreError {
    match e {
        TransactionError::Storage(e) => from_sled(e, path),
        TransactionError::Abort(()) => StoreError::corrupt("commit transaction aborted"),
    }
}

impl Backend for SledBackend {
    type Raw = IVec;

    fn head(&self) -> Result<Head, StoreError> {
        match self.sled(self.meta.get(META_HEAD))? {
            Some(v) => decode_head(&v),
            None => Ok(Head::default()),
        }
    }

    fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
        match self.sled(self.streams.get(stream.as_bytes()))? {
            Some(v) => be_u64(&v, "stream version"),
            None => Ok(0),
        }
    }

    fn key_entry(&self, key: &str) -> Result<Option<KeyEntry>, StoreError> {
        match self.sled(self.keys.get(key.as_bytes()))? {
            Some(v) => decode_key_entry(key, &v).map(Some),
            None => Ok(None),
        }
    }

    fn event_id_position(&self, id: Uuid) -> Result<Option<u64>, StoreError> {
        let single = match self.sled(self.event_ids.get(id.as_bytes()))? {
            Some(v) => Some(be_u64(&v, "event id index entry")?),
            None => None,
        };
        // A per-event entry is the answer if its envelope agrees; one left behind by a
        // discard that failed must not hide the extent that really holds the id.
        if let Some(p) = single {
            if self.id_at(p)? == Some(id) {
                return Ok(Some(p));
            }
        }
        Ok(self.id_in_extents(id)?.or(single))
    }

    fn indexed_ids(&self, sorted: &[Uuid]) -> Result<Vec<(Uuid, u64)>, StoreError> {
        let (Some(first), Some(last)) = (sorted.first(), sorted.last()) else {
            return Ok(vec![]);
        };
        // uuid v7 ids of new events usually sort after every recorded one, so scanning the
        // index between the chunk's smallest and largest id is typically empty. Ids spread
        // over the whole key space (imports of old or random ids) would make the scan long:
        // past a budget, fall back to one lookup per id.
        let budget = sorted.len() * 4 + 64;
        let mut found = Vec::new();
        let mut i = 0;
        for (visited, item) in self
            .event_ids
            .range(*first.as_bytes()..=*last.as_bytes())
            .enumerate()
        {
            if visited > budget {
                // `event_id_position` looks in the extents too.
                return sorted
                    .iter()
                    .filter_map(|id| match self.event_id_position(*id) {
                        Ok(Some(p)) => Some(Ok((*id, p))),
                        Ok(None) => None,
                        Err(e) => Some(Err(e)),
                    })
                    .collect();
            }
            let (k, v) = self.sled(item)?;
            let id = Uuid::from_slice(&k)
                .map_err(|_| StoreError::corrupt("an event id index key is not 16 bytes"))?;
            while i < sorted.len() && sorted[i] < id {
                i += 1;
            }
            if sorted.get(i) == Some(&id) {
                found.push((id, be_u64(&v, "event id index entry")?));
            }
        }
        self.ids_in_extents(sorted, &mut found)?;
        Ok(found)
    }

    fn raw_event(&self, position: u64) -> Result<Option<IVec>, StoreError> {
        self.sled(self.events.get(pos_key(position)))
    }

    fn raw_range(&self, from: u64, to: u64) -> RawIter<'_, IVec> {
        Box::new(
            self.events
                .range(pos_key(from)..=pos_key(to))
                .map(move |item| {
                    let (k, v) = self.sled(item)?;
                    Ok((be_u64(&k, "event key")?, v))
                }),
        )
    }

    fn stream_positions(
        &self,
        stream: &str,
        from: u64,
        to: u64,
    ) -> Box<dyn Iterator<Item = Result<(u64, u64), StoreError>> + '_> {
        // Start at the extent containing `from`: the last one starting at or before it.
        let start = match self
            .stream_events
            .range(stream_key(stream, 0)..=stream_key(stream, from))
            .next_back()
        {
            Some(Ok((k, _))) => k.to_vec(),
            Some(Err(e)) => return Box::new(std::iter::once(Err(from_sled(e, &self.path)))),
            None => stream_key(stream, from),
        };
        Box::new(ExtentIter {
            extents: self.stream_events.range(start..=stream_key(stream, to)),
            prefix_len: 2 + stream.len(),
            path: &self.path,
            current: None,
            from,
            to,
        })
    }

    fn stage_events(&self, events: &[Staged]) -> Result<(), StoreError> {
        for e in events {
            self.sled(self.events.insert(pos_key(e.position), e.bytes.as_slice()))?;
        }
        Ok(())
    }

    fn stage_index(&self, events: &[Staged]) -> Result<(), StoreError> {
        let extent = |first: &Staged, n: u64| {
            self.sled(self.stream_events.insert(
                stream_key(&first.stream, first.stream_version),
                &extent_value(first.position, n)[..],
            ))
            .map(drop)
        };
        self.stage_ids(events)?;
        let mut run: Option<(&Staged, u64)> = None;
        for e in events {
            if let Some((key, fingerprint)) = &e.event_key {
                let entry = encode_event_key(e.position, e.event_id, fingerprint);
                self.sled(self.keys.insert(key.as_bytes(), &entry[..]))?;
            }
            run = match run {
                Some((first, n))
                    if first.stream == e.stream
                        && first.stream_version + n == e.stream_version
                        && first.position + n == e.position =>
                {
                    Some((first, n + 1))
                }
                Some((first, n)) => {
                    extent(first, n)?;
                    Some((e, 1))
                }
                None => Some((e, 1)),
            };
        }
        if let Some((first, n)) = run {
            extent(first, n)?;
        }
        Ok(())
    }

    fn discard_above(&self, head: u64) -> Result<(), StoreError> {
        let start = head
            .checked_add(1)
            .ok_or_else(|| StoreError::corrupt("head position is u64::MAX"))?;
        loop {
            let mut eb = Batch::default();
            let mut ib = Batch::default();
            let mut xb = Batch::default();
            let mut sb = Batch::default();
            let mut kb = Batch::default();
            let mut n = 0;
            for item in self.events.range(pos_key(start)..).take(DISCARD_BATCH) {
                let (k, v) = self.sled(item)?;
                eb.remove(k.clone());
                n += 1;
                // Only well-formed leftovers have index entries we could have written;
                // anything else is just removed.
                let decoded = envelope::decode(&v)
                    .ok()
                    .filter(|env| env.fields.stream.len() <= limits::MAX_STREAM_NAME_BYTES);
                if let Some(env) = decoded {
                    let f = env.fields;
                    if self
                        .sled(self.event_ids.get(f.event_id.as_bytes()))?
                        .as_deref()
                        == Some(&k[..])
                    {
                        ib.remove(f.event_id.as_bytes());
                    }
                    // Likewise an id extent: it is keyed by, and starts at, its first event.
                    if self
                        .sled(self.event_id_extents.get(f.event_id.as_bytes()))?
                        .as_deref()
                        .and_then(|v| v.get(..8))
                        == Some(&k[..])
                    {
                        xb.remove(f.event_id.as_bytes());
                    }
                    // An extent starts at its first event, so the first event removes it.
                    let sk = stream_key(f.stream, f.stream_version);
                    if self
                        .sled(self.stream_events.get(&sk))?
                        .as_deref()
                        .and_then(|v| v.get(..8))
                        == Some(&k[..])
                    {
                        sb.remove(sk);
                    }
                    // Only a per-event entry naming this position is ours to remove: a
                    // whole-append record under the same key is committed.
                    if let Some(key) = f.key {
                        let entry = self.sled(self.keys.get(key.as_bytes()))?;
                        let ours = entry.as_deref().is_some_and(|v| {
                            v.len() == EVENT_KEY_LEN && v[0] == EVENT_KEY_TAG && v[1..9] == k[..]
                        });
                        if ours {
                            kb.remove(key.as_bytes());
                        }
                    }
                }
            }
            if n == 0 {
                break;
            }
            self.sled(self.event_ids.apply_batch(ib))?;
            self.sled(self.event_id_extents.apply_batch(xb))?;
            self.sled(self.stream_events.apply_batch(sb))?;
            self.sled(self.keys.apply_batch(kb))?;
            self.sled(self.events.apply_batch(eb))?;
        }
        self.sync()
    }

    fn commit(&self, c: Commit) -> Result<(), StoreError> {
        let keys = c
            .keys
            .iter()
            .map(|(k, r)| Ok((k.as_bytes(), encode_key_record(r)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let head = head_value(&c.head);
        (&self.streams, &self.keys, &self.models, &self.meta)
            .transaction(|(streams, keys_t, models, meta)| {
                for (name, v) in &c.streams {
                    streams.insert(name.as_bytes(), &v.to_be_bytes())?;
                }
                for (k, v) in &keys {
                    keys_t.insert(*k, v.as_slice())?;
                }
                for (name, v) in &c.models {
                    models.insert(name.as_bytes(), v.as_slice())?;
                }
                meta.insert(META_HEAD, &head[..])?;
                Ok::<(), ConflictableTransactionError<()>>(())
            })
            .map_err(|e| tx_err(e, &self.path))?;
        self.sync()
    }

    fn model(&self, name: &str) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        match self.sled(self.models.get(name.as_bytes()))? {
            Some(v) => decode_model(name, &v).map(Some),
            None => Ok(None),
        }
    }

    fn model_names(&self) -> Result<Vec<String>, StoreError> {
        self.models
            .iter()
            .keys()
            .map(|k| {
                let k = self.sled(k)?;
                String::from_utf8(k.to_vec())
                    .map_err(|_| StoreError::corrupt("a model name is not UTF-8"))
            })
            .collect()
    }

    fn put_model(&self, name: &str, position: u64, bytes: &[u8]) -> Result<(), StoreError> {
        let mut v = Vec::with_capacity(8 + bytes.len());
        v.extend_from_slice(&position.to_be_bytes());
        v.extend_from_slice(bytes);
        self.sled(self.models.insert(name.as_bytes(), v))?;
        self.sync()
    }

    fn all_streams(&self) -> Result<Vec<(String, u64)>, StoreError> {
        self.streams
            .iter()
            .map(|item| {
                let (k, v) = self.sled(item)?;
                let name = String::from_utf8(k.to_vec())
                    .map_err(|_| StoreError::corrupt("a stream name is not UTF-8"))?;
                Ok((name, be_u64(&v, "stream version")?))
            })
            .collect()
    }
}

fn sync_dir(path: &Path) -> Result<(), StoreError> {
    File::open(path)?.sync_all()?;
    Ok(())
}

/// The durable [`grant_ledger_store::EventStore`]. `Send + Sync`: share it between threads with `Arc`.
pub struct SledStore {
    engine: Engine<SledBackend>,
    _open: OpenGuard,
}

impl SledStore {
    /// Opens the ledger in directory `path`, creating it (and the directory) if there is
    /// none yet: for writers.
    ///
    /// Fails with [`StoreError::InUse`] if another process (or another open handle) holds it,
    /// [`StoreError::NewerFormat`] if a newer build wrote it, [`StoreError::Corrupt`] if sled
    /// or our metadata say it is damaged (including a last event that does not match the
    /// committed head), and [`StoreError::CannotOpen`] if the path cannot hold a ledger (a
    /// file, no permission, a directory holding other files, ...). Any staged events left
    /// by an interrupted append are discarded here, before anything can read them.
    pub fn open(path: &Path, clock: Arc<dyn Clock>) -> Result<SledStore, StoreError> {
        Self::open_as(path, clock, true).map_err(|e| e.opening(path))
    }

    /// Opens the ledger in directory `path` only if one is there: for readers, so that a
    /// mistyped path is an error instead of a new, empty ledger. A missing or empty
    /// directory is [`StoreError::NoLedger`] and nothing is created; otherwise as
    /// [`SledStore::open`].
    pub fn open_existing(path: &Path, clock: Arc<dyn Clock>) -> Result<SledStore, StoreError> {
        Self::open_as(path, clock, false).map_err(|e| e.opening(path))
    }

    fn open_as(path: &Path, clock: Arc<dyn Clock>, create: bool) -> Result<SledStore, StoreError> {
        let fresh = match inspect_dir(path)? {
            DirState::Sled => false,
            DirState::Missing | DirState::Empty if !create => {
                return Err(StoreError::NoLedger {
                    path: path.to_path_buf(),
                })
            }
            DirState::Missing => {
                std::fs::create_dir_all(path)?;
                true
            }
            DirState::Empty => true,
        };
        let (backend, open) = open_exclusive(path, || open_backend(path, fresh))?;
        let head = backend.head()?;
        backend.discard_above(head.position)?;
        if fresh {
            backend.sync()?;
            let conf = path.join("conf");
            if conf.exists() {
                File::open(conf)?.sync_all()?;
            }
            sync_dir(&path.join("blobs"))?;
            sync_dir(path)?;
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                sync_dir(parent)?;
            }
        }
        let engine = Engine::new(backend, clock);
        engine.check_head(&head)?;
        Ok(SledStore {
            engine,
            _open: open,
        })
    }

    /// The directory this ledger lives in.
    pub fn path(&self) -> &Path {
        &self.engine.backend.path
    }
}

/// What a ledger directory holds before sled opens it (sled creates what is missing, so
/// this must be looked at first).
enum DirState {
    /// Nothing at the path.
    Missing,
    /// An empty directory.
    Empty,
    /// sled's files (`conf` or a non-empty `db`): a ledger, or what is left of one.
    Sled,
}

fn inspect_dir(path: &Path) -> Result<DirState, StoreError> {
    let cannot = |problem: String| StoreError::CannotOpen {
        path: path.to_path_buf(),
        problem,
    };
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(cannot("it is a file, not a directory".into())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(DirState::Missing),
        Err(e) => {
            // e.g. `/tmp/file/sub`: name the part of the path that is not a directory.
            let file = path
                .ancestors()
                .skip(1)
                .find(|a| std::fs::metadata(a).is_ok_and(|m| !m.is_dir()));
            return Err(cannot(match file {
                Some(f) => format!("{} is a file, not a directory", f.display()),
                None => describe_io(&e),
            }));
        }
    }
    let db_len = match std::fs::metadata(path.join("db")) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(e.into()),
    };
    if db_len > 0 || path.join("conf").exists() {
        return Ok(DirState::Sled);
    }
    let mut entries = std::fs::read_dir(path)?;
    match entries.next() {
        None => Ok(DirState::Empty),
        Some(_) => Err(cannot(
            "the directory holds other files and no ledger; give an empty or new directory".into(),
        )),
    }
}

/// `fresh`: the directory held none of sled's files before this open, so an empty
/// database is a new ledger rather than one that lost its contents.
fn open_backend(path: &Path, fresh: bool) -> Result<SledBackend, StoreError> {
    // sled 0.34 can panic on some damaged files instead of returning an error; a damaged
    // ledger must be an error for the caller, never a crash.
    let opened = catch_unwind(AssertUnwindSafe(|| {
        sled::Config::new()
            .path(path)
            .cache_capacity(SLED_CACHE_BYTES)
            .open()
    }))
    .map_err(|_| StoreError::corrupt("sled panicked while opening the database"))?;
    let db = opened.map_err(|e| from_sled(e, path))?;
    let tree = |name: &str| db.open_tree(name).map_err(|e| from_sled(e, path));
    let events = tree(TREE_EVENTS)?;
    let meta = tree(TREE_META)?;
    let backend = SledBackend {
        event_ids: tree(TREE_EVENT_IDS)?,
        event_id_extents: tree(TREE_EVENT_ID_EXTENTS)?,
        stream_events: tree(TREE_STREAM_EVENTS)?,
        streams: tree(TREE_STREAMS)?,
        keys: tree(TREE_KEYS)?,
        models: tree(TREE_MODELS)?,
        data_file: File::open(path.join("db"))?,
        path: path.to_path_buf(),
        db,
        events,
        meta,
    };
    check_format(&backend, fresh)?;
    Ok(backend)
}

/// Checks (or, for a fresh directory, writes) the storage format.
///
/// sled treats an unreadable log as torn and quietly recovers what precedes it, which for a
/// thoroughly damaged file is an empty database. A ledger writes its format entry (durably)
/// as soon as it is created, so a directory that already held sled's files but opens
/// without a format entry has lost its contents: only a directory that held none of sled's
/// files is a new ledger.
fn check_format(b: &SledBackend, fresh: bool) -> Result<(), StoreError> {
    match b.sled(b.meta.get(META_FORMAT))? {
        Some(v) => {
            let a: [u8; 4] = v[..].try_into().map_err(|_| {
                StoreError::corrupt(format!("meta format is {} bytes, not 4", v.len()))
            })?;
            let found = u32::from_be_bytes(a);
            if found > STORAGE_FORMAT {
                return Err(StoreError::NewerFormat {
                    path: b.path.clone(),
                    found,
                    supported: STORAGE_FORMAT,
                });
            }
            if found == 0 {
                return Err(StoreError::corrupt("meta format is 0"));
            }
            if found < STORAGE_FORMAT {
                // Every older format is a subset of this one (format 2 only added per-event
                // key entries, format 3 id extents), so upgrading is just the number, written
                // before anything new is: an older build then refuses the ledger rather than
                // misreading it.
                b.sled(b.meta.insert(META_FORMAT, &STORAGE_FORMAT.to_be_bytes()))?;
                b.sync()?;
            }
            Ok(())
        }
        None => {
            let untouched = b.meta.is_empty() && b.events.is_empty() && b.streams.is_empty();
            if !untouched {
                return Err(StoreError::corrupt(
                    "the database has data but no format entry: not a grant ledger",
                ));
            }
            if !fresh {
                return Err(StoreError::corrupt(
                    "it has lost its contents (sled's files are there but hold no format \
                     entry, which is what sled recovers from a badly damaged file)",
                ));
            }
            b.sled(b.meta.insert(META_FORMAT, &STORAGE_FORMAT.to_be_bytes()))?;
            b.sync()
        }
    }
}

forward_event_store!(SledStore);
