//! What the ledger keeps in the database beside the log and its commit: the listing of
//! idempotency keys (for a copy of the ledger), and the note of damage found in it.

use grant_ledger_store::{KeyEntry, StoreError};

use crate::pg_backend::PgBackend;
use crate::rows::{self, get};

pub(crate) fn key_entries_after(
    backend: &PgBackend,
    after: &str,
    limit: usize,
) -> Result<Vec<(String, KeyEntry)>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = backend.query(
        "reading idempotency keys",
        "SELECT key, fingerprint, event_id, first_position, last_position, streams \
         FROM idempotency_keys WHERE key > $1 ORDER BY key LIMIT $2",
        &[&after, &limit],
    )?;
    rows.iter()
        .map(|row| Ok((get(row, 0, "key")?, rows::key_entry(row)?)))
        .collect()
}

pub(crate) fn damage_note(backend: &PgBackend) -> Result<Option<Vec<u8>>, StoreError> {
    let rows = backend.query(
        "reading the damage note",
        "SELECT note FROM ledger_damage",
        &[],
    )?;
    rows.first().map(|row| get(row, 0, "note")).transpose()
}

pub(crate) fn set_damage_note(backend: &PgBackend, note: Option<&[u8]>) -> Result<(), StoreError> {
    match note {
        Some(note) => backend.with("recording damage", |c| {
            c.execute(
                "INSERT INTO ledger_damage (singleton, note) VALUES (true, $1) \
                 ON CONFLICT (singleton) DO UPDATE SET note = EXCLUDED.note, \
                     recorded_at = now()",
                &[&note],
            )
        }),
        None => backend.with("clearing the damage note", |c| {
            c.execute("DELETE FROM ledger_damage", &[])
        }),
    }?;
    Ok(())
}
