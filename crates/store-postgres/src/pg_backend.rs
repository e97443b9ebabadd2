//! The storage primitives on PostgreSQL: which connection a call uses, the write
//! transaction, and the SQL for each primitive.
//!
//! Two connections: the writer's, which holds the write transaction from `begin_write`
//! (where it locks the head row) to `commit` or `end_write`, and a reader's for every other
//! thread. The engine's writer lock means only the thread that began a write calls in
//! during it, so a call from that thread uses the transaction (and sees what it staged)
//! and any other thread reads committed data only, which is how staged events stay
//! invisible to readers.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::thread::ThreadId;

use grant_ledger_store::{Backend, Commit, Head, KeyEntry, RawIter, Staged, StoreError};
use postgres::types::ToSql;
use postgres::Client;
use uuid::Uuid;

use crate::conn::{Cached, Conn};
use crate::connect::Connector;
use crate::error;
use crate::paged::{Paged, PAGE};
use crate::rows::{self, get, to_i64, to_u64};

pub(crate) struct PgBackend {
    connector: Connector,
    /// The channel each commit notifies with its new head position.
    channel: String,
    writer: Mutex<Conn>,
    /// The thread whose write is open, whose calls go to `writer`.
    writing: Mutex<Option<ThreadId>>,
    reader: Mutex<Conn>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a connection leaves at worst a broken connection, which the
    // next call notices (and a transaction the server rolls back).
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl PgBackend {
    pub(crate) fn new(connector: Connector, channel: String, first: Client) -> Self {
        PgBackend {
            connector,
            channel,
            writer: Mutex::new(Conn::new(None)),
            writing: Mutex::new(None),
            reader: Mutex::new(Conn::new(Some(first))),
        }
    }

    fn in_write(&self) -> bool {
        *lock(&self.writing) == Some(std::thread::current().id())
    }

    /// Runs `f` on the connection this thread should use (see the module doc).
    pub(crate) fn with<T>(
        &self,
        what: &str,
        f: impl FnOnce(&mut Cached<'_>) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        let conn = if self.in_write() {
            &self.writer
        } else {
            &self.reader
        };
        let mut conn = lock(conn);
        let mut client = conn.cached(&self.connector)?;
        f(&mut client).map_err(|e| error::db(&e, what))
    }

    pub(crate) fn query(
        &self,
        what: &str,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, StoreError> {
        self.with(what, |c| c.query(sql, params))
    }

    /// Ends the writer's transaction with `statement` (COMMIT or ROLLBACK).
    fn finish(&self, statement: &str, what: &str) -> Result<(), StoreError> {
        let mut w = lock(&self.writer);
        if !w.in_transaction {
            return Ok(());
        }
        w.in_transaction = false;
        let client = w.client(&self.connector)?;
        client
            .batch_execute(statement)
            .map_err(|e| error::db(&e, what))
    }
}

impl Backend for PgBackend {
    type Raw = Vec<u8>;

    fn begin_write(&self) -> Result<(), StoreError> {
        let mut w = lock(&self.writer);
        *lock(&self.writing) = Some(std::thread::current().id());
        let begun = w.client(&self.connector).and_then(|c| {
            c.batch_execute("BEGIN; SELECT position FROM ledger_head FOR UPDATE")
                .map_err(|e| error::db(&e, "locking the head"))
        });
        match begun {
            Ok(()) => {
                w.in_transaction = true;
                Ok(())
            }
            Err(e) => {
                if let Some(c) = w.client.as_mut() {
                    let _ = c.batch_execute("ROLLBACK");
                }
                *lock(&self.writing) = None;
                Err(e)
            }
        }
    }

    fn end_write(&self) {
        // Whatever did not commit is undone; a failure here means the connection is gone,
        // and the server has rolled the transaction back already.
        let _ = self.finish("ROLLBACK", "rolling back");
        *lock(&self.writing) = None;
    }

    fn head(&self) -> Result<Head, StoreError> {
        let rows = self.query(
            "reading the head",
            "SELECT position, hash FROM ledger_head",
            &[],
        )?;
        match rows.first() {
            Some(row) => rows::head(row),
            None => Err(error::corrupt("no head row")),
        }
    }

    fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
        let rows = self.query(
            "reading a stream version",
            "SELECT version FROM streams WHERE stream = $1",
            &[&stream],
        )?;
        match rows.first() {
            Some(row) => to_u64(get(row, 0, "stream version")?, "stream version"),
            None => Ok(0),
        }
    }

    fn key_entry(&self, key: &str) -> Result<Option<KeyEntry>, StoreError> {
        Ok(self.key_entries(&[key])?.pop().flatten())
    }

    fn key_entries(&self, keys: &[&str]) -> Result<Vec<Option<KeyEntry>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self.query(
            "reading idempotency keys",
            "SELECT key, fingerprint, event_id, first_position, last_position, streams \
             FROM idempotency_keys WHERE key = ANY($1)",
            &[&keys],
        )?;
        let mut found = HashMap::with_capacity(rows.len());
        for row in &rows {
            let key: String = get(row, 0, "key")?;
            found.insert(key, rows::key_entry(row)?);
        }
        // A key may be asked for more than once (verify asks for every event of a command
        // recorded under one key), so each answer is a copy.
        Ok(keys.iter().map(|k| found.get(*k).cloned()).collect())
    }

    fn key_entries_after(
        &self,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(String, KeyEntry)>, StoreError> {
        crate::beside::key_entries_after(self, after, limit)
    }

    fn event_id_position(&self, id: Uuid) -> Result<Option<u64>, StoreError> {
        let rows = self.query(
            "looking up an event id",
            "SELECT position FROM events WHERE event_id = $1",
            &[&id],
        )?;
        match rows.first() {
            Some(row) => Ok(Some(to_u64(get(row, 0, "position")?, "position")?)),
            None => Ok(None),
        }
    }

    fn indexed_ids(&self, sorted: &[Uuid]) -> Result<Vec<(Uuid, u64)>, StoreError> {
        if sorted.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self.query(
            "looking up event ids",
            "SELECT event_id, position FROM events WHERE event_id = ANY($1) ORDER BY event_id",
            &[&sorted],
        )?;
        rows.iter()
            .map(|row| {
                Ok((
                    get(row, 0, "event id")?,
                    to_u64(get(row, 1, "position")?, "position")?,
                ))
            })
            .collect()
    }

    fn raw_event(&self, position: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let rows = self.query(
            "reading an event",
            "SELECT envelope FROM events WHERE position = $1",
            &[&to_i64(position)?],
        )?;
        match rows.first() {
            Some(row) => Ok(Some(get(row, 0, "envelope")?)),
            None => Ok(None),
        }
    }

    fn raw_range(&self, from: u64, to: u64) -> RawIter<'_, Vec<u8>> {
        Box::new(Paged {
            next: from,
            to,
            buffer: VecDeque::new(),
            done: false,
            fetch: Box::new(move |from, to| {
                let rows = self.query(
                    "reading events",
                    "SELECT position, envelope FROM events \
                     WHERE position >= $1 AND position <= $2 ORDER BY position LIMIT $3",
                    &[&to_i64(from)?, &to_i64(to)?, &PAGE],
                )?;
                rows.iter()
                    .map(|row| {
                        Ok((
                            to_u64(get(row, 0, "position")?, "position")?,
                            get(row, 1, "envelope")?,
                        ))
                    })
                    .collect()
            }),
        })
    }

    fn stream_positions(
        &self,
        stream: &str,
        from: u64,
        to: u64,
    ) -> Box<dyn Iterator<Item = Result<(u64, u64), StoreError>> + '_> {
        let stream = stream.to_owned();
        Box::new(Paged {
            next: from,
            to,
            buffer: VecDeque::new(),
            done: false,
            fetch: Box::new(move |from, to| {
                let rows = self.query(
                    "reading a stream",
                    "SELECT stream_version, position FROM events WHERE stream = $1 \
                     AND stream_version >= $2 AND stream_version <= $3 \
                     ORDER BY stream_version LIMIT $4",
                    &[&stream, &to_i64(from)?, &to_i64(to)?, &PAGE],
                )?;
                rows.iter()
                    .map(|row| {
                        Ok((
                            to_u64(get(row, 0, "stream version")?, "stream version")?,
                            to_u64(get(row, 1, "position")?, "position")?,
                        ))
                    })
                    .collect()
            }),
        })
    }

    fn stage_events(&self, events: &[Staged]) -> Result<(), StoreError> {
        let positions = events
            .iter()
            .map(|e| to_i64(e.position))
            .collect::<Result<Vec<_>, _>>()?;
        let versions = events
            .iter()
            .map(|e| to_i64(e.stream_version))
            .collect::<Result<Vec<_>, _>>()?;
        let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
        let streams: Vec<&str> = events.iter().map(|e| e.stream.as_str()).collect();
        let envelopes: Vec<&[u8]> = events.iter().map(|e| e.bytes.as_slice()).collect();
        self.with("staging events", |c| {
            c.execute(
                "INSERT INTO events (position, event_id, stream, stream_version, envelope) \
                 SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::bigint[], $5::bytea[])",
                &[&positions, &ids, &streams, &versions, &envelopes],
            )
        })?;
        Ok(())
    }

    fn stage_index(&self, events: &[Staged]) -> Result<(), StoreError> {
        // The id and stream indexes are the events table's own; only per-event keys remain.
        let mut keys = Vec::new();
        let mut fingerprints = Vec::new();
        let mut ids = Vec::new();
        let mut positions = Vec::new();
        for e in events {
            if let Some((key, fingerprint)) = &e.event_key {
                keys.push(key.as_str());
                fingerprints.push(fingerprint.as_slice());
                ids.push(e.event_id);
                positions.push(to_i64(e.position)?);
            }
        }
        if keys.is_empty() {
            return Ok(());
        }
        self.with("staging idempotency keys", |c| {
            c.execute(
                "INSERT INTO idempotency_keys \
                     (key, fingerprint, event_id, first_position, last_position, streams) \
                 SELECT k, f, e, p, p, NULL \
                 FROM unnest($1::text[], $2::bytea[], $3::uuid[], $4::bigint[]) AS t(k, f, e, p) \
                 ON CONFLICT (key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, \
                     event_id = EXCLUDED.event_id, first_position = EXCLUDED.first_position, \
                     last_position = EXCLUDED.last_position, streams = NULL",
                &[&keys, &fingerprints, &ids, &positions],
            )
        })?;
        Ok(())
    }

    fn discard_above(&self, head: u64) -> Result<(), StoreError> {
        // Staged rows exist only inside the write transaction: rolling it back is the
        // discard, and outside a write there is nothing staged to remove.
        let _ = head;
        if self.in_write() {
            self.finish("ROLLBACK", "discarding a failed append")?;
        }
        Ok(())
    }

    fn commit(&self, c: Commit) -> Result<(), StoreError> {
        let stream_names: Vec<&str> = c.streams.iter().map(|(s, _)| s.as_str()).collect();
        let stream_versions = c
            .streams
            .iter()
            .map(|(_, v)| to_i64(*v))
            .collect::<Result<Vec<_>, _>>()?;
        let position = to_i64(c.head.position)?;
        let payload = c.head.position.to_string();
        let mut key_rows = Vec::with_capacity(c.keys.len());
        for (key, rec) in &c.keys {
            key_rows.push((
                key.as_str(),
                rec.fingerprint,
                to_i64(rec.appended.first_position)?,
                to_i64(rec.appended.last_position)?,
                rows::streams_json(&rec.appended.streams)?,
            ));
        }
        let mut models = Vec::with_capacity(c.models.len());
        for (name, value) in &c.models {
            // The engine's value is the checkpoint (8 bytes, big-endian) then the document.
            let (checkpoint, bytes) = value.split_at(value.len().min(8));
            let checkpoint: [u8; 8] = checkpoint
                .try_into()
                .map_err(|_| StoreError::invalid("a model write without its checkpoint"))?;
            models.push((
                name.as_str(),
                to_i64(u64::from_be_bytes(checkpoint))?,
                bytes,
            ));
        }
        let channel = self.channel.as_str();
        self.with("committing", |client| {
            for (key, fingerprint, first, last, streams) in &key_rows {
                client.execute(
                    "INSERT INTO idempotency_keys \
                         (key, fingerprint, event_id, first_position, last_position, streams) \
                     VALUES ($1, $2, NULL, $3, $4, $5) \
                     ON CONFLICT (key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, \
                         event_id = NULL, first_position = EXCLUDED.first_position, \
                         last_position = EXCLUDED.last_position, streams = EXCLUDED.streams",
                    &[key, &fingerprint.as_slice(), first, last, streams],
                )?;
            }
            for (name, checkpoint, bytes) in &models {
                client.execute(
                    "INSERT INTO models (name, position, bytes) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, \
                         bytes = EXCLUDED.bytes",
                    &[name, checkpoint, bytes],
                )?;
            }
            // Stream versions, the head and the notice in one statement (one round trip).
            // The notice is delivered to listeners only if, and when, the transaction commits.
            client.query(
                "WITH s AS (INSERT INTO streams (stream, version) \
                     SELECT * FROM unnest($1::text[], $2::bigint[]) \
                     ON CONFLICT (stream) DO UPDATE SET version = EXCLUDED.version \
                     RETURNING 1), \
                 h AS (UPDATE ledger_head SET position = $3, hash = $4 RETURNING 1) \
                 SELECT pg_notify($5, $6)",
                &[
                    &stream_names,
                    &stream_versions,
                    &position,
                    &c.head.hash.as_slice(),
                    &channel,
                    &payload,
                ],
            )?;
            Ok(())
        })?;
        self.finish("COMMIT", "committing")
    }

    fn model(&self, name: &str) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        let rows = self.query(
            "reading a model",
            "SELECT position, bytes FROM models WHERE name = $1",
            &[&name],
        )?;
        match rows.first() {
            Some(row) => Ok(Some((
                to_u64(get(row, 0, "model checkpoint")?, "model checkpoint")?,
                get(row, 1, "model")?,
            ))),
            None => Ok(None),
        }
    }

    fn model_names(&self) -> Result<Vec<String>, StoreError> {
        // Byte order, as the other backends sort, whatever the database's collation.
        let rows = self.query(
            "listing models",
            "SELECT name FROM models ORDER BY name COLLATE \"C\"",
            &[],
        )?;
        rows.iter().map(|row| get(row, 0, "model name")).collect()
    }

    fn put_model(&self, name: &str, position: u64, bytes: &[u8]) -> Result<(), StoreError> {
        let position = to_i64(position)?;
        self.with("saving a model", |c| {
            c.execute(
                "INSERT INTO models (name, position, bytes) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, \
                     bytes = EXCLUDED.bytes",
                &[&name, &position, &bytes],
            )
        })?;
        self.finish("COMMIT", "saving a model")
    }

    fn damage_note(&self) -> Result<Option<Vec<u8>>, StoreError> {
        crate::beside::damage_note(self)
    }

    fn set_damage_note(&self, note: Option<&[u8]>) -> Result<(), StoreError> {
        crate::beside::set_damage_note(self, note)
    }

    fn all_streams(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let rows = self.query(
            "listing streams",
            "SELECT stream, version FROM streams",
            &[],
        )?;
        rows.iter()
            .map(|row| {
                Ok((
                    get(row, 0, "stream")?,
                    to_u64(get(row, 1, "stream version")?, "stream version")?,
                ))
            })
            .collect()
    }
}
