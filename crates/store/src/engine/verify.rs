//! `verify`: the full scan of the log, checking every position, link, hash and stream
//! version against the committed head and the stream index; and `verify_each`, the same
//! scan handing every checked event to a caller as it goes, so that a caller folding the
//! log (the read models' replay) needs no second pass.

use std::sync::mpsc;

use super::damage::reason;
use super::*;
use crate::types::VerifiedEvent;

/// Events the scanning thread hands over at a time: one channel message per batch, so the
/// hand-over costs next to nothing per event.
const BATCH: usize = 1024;
/// Batches in flight between the scan and the caller: bounds memory (a few MB at most)
/// while letting the faster side run ahead a little.
const BATCHES_IN_FLIGHT: usize = 4;

fn tampered(position: u64, reason: String) -> StoreError {
    StoreError::Tampered { position, reason }
}

/// Whether the key-index `entry` for a key the event at `position` (`id`) was recorded
/// under leads to that event's append (see [`Scan::indexes`]).
fn key_leads_to(entry: Option<&KeyEntry>, position: u64, id: Uuid) -> bool {
    match entry {
        None => false,
        Some(KeyEntry::Event {
            position: at,
            event_id,
            ..
        }) => *at < position || (*at == position && *event_id == id),
        Some(KeyEntry::Append(record)) => record.appended.first_position <= position,
    }
}

/// The state of one scan: the next position expected, the previous event's hash and each
/// stream's last version. Fed every stored envelope in key order, it fails at the first
/// bad one; `finish` then checks the end of the log against the head and the index.
struct Scan {
    expected: u64,
    prev: [u8; 32],
    streams: HashMap<String, u64>,
    /// Ids (with their positions) checked since the index was last asked, led by the last
    /// one asked before, so a backend can compare each with the one before it.
    ids: Vec<(Uuid, u64)>,
    /// The keys events were recorded under since the index was last asked.
    keys: Vec<(u64, Uuid, String)>,
}

impl Scan {
    fn new() -> Self {
        Scan {
            expected: 1,
            prev: [0u8; 32],
            streams: HashMap::new(),
            ids: Vec::with_capacity(BATCH + 1),
            keys: Vec::new(),
        }
    }

    /// Whether a batch of ids waits for [`Scan::indexes`].
    fn batch_full(&self) -> bool {
        self.ids.len() > BATCH
    }

    /// Checks the store's indexes for the events scanned since the last call: every
    /// event's id leads to its position, and every key an event was recorded under leads
    /// to its append (the event itself, or an earlier one of the same command, or a
    /// whole-append record that starts at or before it). An index entry that is missing or
    /// wrong makes a lookup lie (a keyed command repeated appends again; a reversal finds
    /// no target), so it is damage at that event. One batched lookup per ~1,000 events.
    fn indexes<B: Backend>(&mut self, backend: &B) -> Result<(), StoreError> {
        let ids_bad = match self.ids.len() {
            0 => None,
            _ => backend.misindexed_id(&self.ids)?,
        };
        let mut keys_bad = None;
        if !self.keys.is_empty() {
            let names: Vec<&str> = self.keys.iter().map(|(_, _, k)| k.as_str()).collect();
            let entries = backend.key_entries(&names)?;
            keys_bad = self
                .keys
                .iter()
                .zip(entries)
                .find(|((position, id, _), entry)| !key_leads_to(entry.as_ref(), *position, *id))
                .map(|((position, _, _), _)| *position);
        }
        let bad = match (ids_bad, keys_bad) {
            (Some(i), Some(k)) if k < i => Some((k, reason::UNINDEXED_KEY)),
            (Some(i), _) => Some((i, reason::UNINDEXED_ID)),
            (None, Some(k)) => Some((k, reason::UNINDEXED_KEY)),
            (None, None) => None,
        };
        if let Some((position, why)) = bad {
            return Err(tampered(position, why.into()));
        }
        let last = self.ids.last().copied();
        self.ids.clear();
        self.ids.extend(last);
        self.keys.clear();
        Ok(())
    }

    fn check(&mut self, position: u64, raw: &[u8]) -> Result<(), StoreError> {
        if position != self.expected {
            return Err(tampered(self.expected, reason::MISSING.into()));
        }
        let env = envelope::decode(raw).map_err(|r| tampered(position, reason::undecodable(&r)))?;
        let f = &env.fields;
        // In the order `decode_at` checks, so both name the same fault of the same event.
        if !env.hash_matches() {
            return Err(tampered(position, reason::HASH.into()));
        }
        if f.position != position {
            return Err(tampered(position, reason::moved(f.position)));
        }
        if f.prev_hash != self.prev {
            return Err(tampered(position, reason::LINK.into()));
        }
        let last = match self.streams.get_mut(f.stream) {
            Some(v) => v,
            None => self.streams.entry(f.stream.to_owned()).or_insert(0),
        };
        if f.stream_version != *last + 1 {
            return Err(tampered(
                position,
                format!(
                    "stream {} version {} follows version {}",
                    f.stream, f.stream_version, *last
                ),
            ));
        }
        *last += 1;
        self.ids.push((f.event_id, position));
        if let Some(key) = f.key {
            self.keys.push((position, f.event_id, key.to_owned()));
        }
        self.prev = env.hash;
        self.expected += 1;
        Ok(())
    }

    fn finish(self, head: Head, indexed: Vec<(String, u64)>) -> Result<VerifyReport, StoreError> {
        if self.expected - 1 != head.position {
            return Err(tampered(self.expected, reason::MISSING.into()));
        }
        if self.prev != head.hash {
            return Err(tampered(head.position, reason::NOT_HEAD.into()));
        }
        if self.streams.len() != indexed.len() {
            return Err(tampered(
                head.position,
                format!(
                    "the log holds {} streams, the stream index {}",
                    self.streams.len(),
                    indexed.len()
                ),
            ));
        }
        for (stream, version) in indexed {
            let logged = self.streams.get(&stream).copied().unwrap_or(0);
            if logged != version {
                return Err(tampered(
                    head.position,
                    format!(
                        "stream {stream} is indexed at version {version}, the log holds {logged}"
                    ),
                ));
            }
        }
        Ok(VerifyReport {
            events: head.position,
            head,
        })
    }
}

/// The events of `batch` before the position `found` names.
fn before<R>(mut batch: Vec<(u64, R)>, found: &StoreError) -> Vec<(u64, R)> {
    if let StoreError::Tampered { position, .. } = found {
        batch.retain(|(p, _)| p < position);
    }
    batch
}

impl<B: Backend> Engine<B> {
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        let head = self.backend.head()?;
        let mut scan = Scan::new();
        if head.position > 0 {
            for item in self.backend.raw_range(1, head.position) {
                let (position, raw) = item?;
                if let Err(e) = scan.check(position, raw.as_ref()) {
                    // An index fault before this one is the first bad position.
                    scan.indexes(&self.backend)?;
                    return Err(e);
                }
                if scan.batch_full() {
                    scan.indexes(&self.backend)?;
                }
            }
        }
        scan.indexes(&self.backend)?;
        scan.finish(head, self.backend.all_streams()?)
    }

    /// [`Engine::verify`], handing each event to `each` in position order once it has
    /// passed every check of its own (its position, its link to the one before, its hash
    /// and its stream version), until `each` returns `false`.
    ///
    /// The scan runs on a thread of its own, a few batches ahead of `each` on the calling
    /// thread, so that checking the log and folding it take two cores rather than one
    /// after the other. Whatever `each` answers, the whole log is checked: a damaged log is
    /// reported as [`Engine::verify`] reports it, naming the first bad position, even if
    /// `each` stopped earlier; `each` never sees an event at or after that position.
    pub fn verify_each(
        &self,
        each: &mut dyn FnMut(&VerifiedEvent<'_>) -> bool,
    ) -> Result<VerifyReport, StoreError>
    where
        B::Raw: Send,
    {
        let head = self.backend.head()?;
        let (batches, received) = mpsc::sync_channel::<Vec<(u64, B::Raw)>>(BATCHES_IN_FLIGHT);
        std::thread::scope(|scope| {
            let scanner = scope.spawn(move || -> Result<VerifyReport, StoreError> {
                let mut scan = Scan::new();
                let mut batch = Vec::with_capacity(BATCH);
                if head.position > 0 {
                    for item in self.backend.raw_range(1, head.position) {
                        let (position, raw) = item?;
                        if let Err(e) = scan.check(position, raw.as_ref()) {
                            // What passed is still handed over, so `each` sees every event
                            // before the first bad one, as a reader of the log would; an
                            // index fault before this one is the first bad one.
                            let found = scan.indexes(&self.backend).err().unwrap_or(e);
                            let _ = batches.send(before(batch, &found));
                            return Err(found);
                        }
                        batch.push((position, raw));
                        if batch.len() == BATCH {
                            if let Err(e) = scan.indexes(&self.backend) {
                                let _ = batches.send(before(batch, &e));
                                return Err(e);
                            }
                            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                            // The caller stops receiving only when it is unwinding: then
                            // nothing reads this answer, and the scan need not go on.
                            if batches.send(full).is_err() {
                                return Err(StoreError::invalid("verify was abandoned"));
                            }
                        }
                    }
                }
                if let Err(e) = scan.indexes(&self.backend) {
                    let _ = batches.send(before(batch, &e));
                    return Err(e);
                }
                let _ = batches.send(batch);
                drop(batches);
                scan.finish(head, self.backend.all_streams()?)
            });
            let mut wanted = true;
            for batch in received {
                for (position, raw) in batch {
                    if !wanted {
                        break;
                    }
                    // Checked by the scan already; decoding again is slicing, not parsing.
                    if let Ok(env) = envelope::decode(raw.as_ref()) {
                        debug_assert_eq!(env.fields.position, position);
                        wanted = each(&VerifiedEvent {
                            fields: env.fields,
                            hash: env.hash,
                        });
                    }
                }
            }
            match scanner.join() {
                Ok(report) => report,
                // A panic in the scan is a bug, not damage: it goes on as it would have had
                // the scan run on this thread.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }
}
