//! The sled backend: the primitives the neutral engine needs (reads, staging, discarding
//! staged leftovers, the commit transaction), and making acknowledged writes durable.
//!
//! Durability: sled's `flush()` ends in `sync_file_range`, which neither flushes the disk's
//! write cache nor the file's metadata (sled issue #1452). After every commit we therefore
//! call `flush()` and then `fsync` (`File::sync_all`) on sled's data file `DIR/db`; on
//! creation we also fsync `DIR/conf` and the directories, so the files themselves survive.

use std::fs::File;
use std::ops::Bound;
use std::path::{Path, PathBuf};

use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::{Batch, IVec, Transactional, Tree};
use uuid::Uuid;

use grant_ledger_store::envelope::{self};
use grant_ledger_store::{limits, Backend, Commit, Head, KeyEntry, RawIter, Staged, StoreError};

use crate::error::from_sled;
use crate::id_extents::{self, IdExtent, MIN_EXTENT_EVENTS};
use crate::layout::*;

pub(crate) struct SledBackend {
    pub(crate) db: sled::Db,
    pub(crate) events: Tree,
    pub(crate) event_ids: Tree,
    pub(crate) event_id_extents: Tree,
    pub(crate) stream_events: Tree,
    pub(crate) streams: Tree,
    pub(crate) keys: Tree,
    pub(crate) models: Tree,
    pub(crate) meta: Tree,
    /// A second handle on sled's data file, only for `fsync`.
    pub(crate) data_file: File,
    pub(crate) path: PathBuf,
}

impl SledBackend {
    pub(crate) fn sled<T>(&self, r: sled::Result<T>) -> Result<T, StoreError> {
        r.map_err(|e| from_sled(e, &self.path))
    }

    /// Makes everything written so far durable (see the module doc for why both steps).
    pub(crate) fn sync(&self) -> Result<(), StoreError> {
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

    pub(crate) fn id_extent(
        &self,
        item: sled::Result<(IVec, IVec)>,
    ) -> Result<IdExtent, StoreError> {
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

    fn key_entries_after(
        &self,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(String, KeyEntry)>, StoreError> {
        use std::ops::Bound;
        let range = (Bound::Excluded(after.as_bytes()), Bound::Unbounded);
        let mut found = Vec::new();
        for item in self.keys.range::<&[u8], _>(range).take(limit) {
            let (k, v) = self.sled(item)?;
            let key = String::from_utf8(k.to_vec())
                .map_err(|_| StoreError::corrupt("a key record whose key is not UTF-8"))?;
            let entry = decode_key_entry(&key, &v)?;
            found.push((key, entry));
        }
        Ok(found)
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

    fn misindexed_id(&self, events: &[(Uuid, u64)]) -> Result<Option<u64>, StoreError> {
        crate::id_check::misindexed_id(self, events)
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

    fn damage_note(&self) -> Result<Option<Vec<u8>>, StoreError> {
        crate::damage_note::read(&self.path)
    }

    fn set_damage_note(&self, note: Option<&[u8]>) -> Result<(), StoreError> {
        crate::damage_note::write(&self.path, note)
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
