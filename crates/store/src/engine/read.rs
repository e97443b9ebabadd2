//! Reads: the head check made on open and before every append, and every read of events,
//! keys and models, each event checked against its own hash before it is handed out.

use super::damage::reason;
use super::*;

impl<B: Backend> Engine<B> {
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
        let at = |reason: String| StoreError::Tampered {
            position: p,
            reason,
        };
        let raw = self
            .backend
            .raw_event(p)?
            .ok_or_else(|| at(reason::MISSING.into()))?;
        let env = envelope::decode(raw.as_ref()).map_err(|r| at(reason::undecodable(&r)))?;
        if env.fields.position != p {
            return Err(at(reason::moved(env.fields.position)));
        }
        if !env.hash_matches() {
            return Err(at(reason::HASH.into()));
        }
        if env.hash != head.hash {
            return Err(at(reason::NOT_HEAD.into()));
        }
        Ok(())
    }

    /// Every event handed out is checked against its own hash first (a SHA-256 of a few
    /// hundred bytes, next to nothing beside the decode), so no reader, `history` and
    /// the rebuild of a read model included, ever passes on an altered event.
    fn decode_at(&self, position: u64, raw: &[u8]) -> Result<RecordedEvent, StoreError> {
        // Damage at a known position is said as such, so the damage latch can name it.
        let at = |reason: String| StoreError::Tampered { position, reason };
        let env = envelope::decode(raw).map_err(|r| at(reason::undecodable(&r)))?;
        if !env.hash_matches() {
            return Err(at(reason::HASH.into()));
        }
        if env.fields.position != position {
            return Err(at(reason::moved(env.fields.position)));
        }
        env.to_recorded().map_err(|r| at(reason::undecodable(&r)))
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
                        return Err(StoreError::Tampered {
                            position: expected,
                            reason: reason::MISSING.into(),
                        });
                    }
                    expected += 1;
                    let event = self.decode_at(position, raw.as_ref())?;
                    if previous.is_some_and(|hash| hash != event.prev_hash) {
                        return Err(StoreError::Tampered {
                            position,
                            reason: reason::LINK.into(),
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
            None => Err(StoreError::Tampered {
                position,
                reason: reason::MISSING.into(),
            }),
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

    /// See [`crate::EventStore::whole_append_keys`].
    pub fn whole_append_keys(
        &self,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(String, KeyRecord)>, StoreError> {
        let mut found = Vec::new();
        let mut from = after.to_string();
        // Per-event entries are skipped, so read on until `limit` records or the end.
        loop {
            let page = self.backend.key_entries_after(&from, limit.max(1))?;
            let Some((last, _)) = page.last() else {
                return Ok(found);
            };
            from = last.clone();
            let full = page.len() == limit.max(1);
            for (key, entry) in page {
                if let KeyEntry::Append(record) = entry {
                    found.push((key, record));
                    if found.len() == limit {
                        return Ok(found);
                    }
                }
            }
            if !full {
                return Ok(found);
            }
        }
    }

    pub fn model(&self, name: &str) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        let Some((position, stored)) = self.backend.model(name)? else {
            return Ok(None);
        };
        let hash = self.seal_hash(position)?;
        Ok(Some((
            position,
            seal::unsealed(name, position, &hash, stored)?,
        )))
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
        let doc = seal::sealed(name, position, &self.seal_hash(position)?, &bytes);
        self.backend.put_model(name, position, &doc)
    }
}
