//! The schema, created and upgraded by embedded, versioned migrations.
//!
//! `schema_migrations` holds one row per applied version. Opening applies whatever is
//! missing, in order, in one transaction under an advisory lock, so two servers starting
//! together do not both migrate. A database migrated by a newer build is refused: its
//! tables may mean something this build does not know.

use grant_ledger_store::StoreError;
use postgres::Client;

use crate::error;

/// Every migration, in order; the last one's number is the version this build writes.
pub const MIGRATIONS: &[(u32, &str)] = &[
    (1, include_str!("../migrations/0001_ledger.sql")),
    (2, include_str!("../migrations/0002_damage.sql")),
];

/// The schema version this build creates and understands.
pub fn supported() -> u32 {
    MIGRATIONS.last().map_or(0, |(v, _)| *v)
}

/// Any number, the same in every build: the advisory lock under which schemas change.
const MIGRATION_LOCK: i64 = 0x6772_616e_745f_6c67;

/// What a database holds before opening it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Found {
    /// No `schema_migrations` table (in the connection's schema): no ledger yet.
    Nothing,
    /// A ledger at this schema version.
    Version(u32),
}

pub(crate) fn inspect(client: &mut Client) -> Result<Found, StoreError> {
    let row = client
        .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
        .map_err(|e| error::db(&e, "looking for the schema"))?;
    let present: bool = row.try_get(0).unwrap_or(false);
    if !present {
        return Ok(Found::Nothing);
    }
    let row = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )
        .map_err(|e| error::db(&e, "reading the schema version"))?;
    let v: i32 = row.try_get(0).unwrap_or(0);
    Ok(Found::Version(u32::try_from(v).unwrap_or(0)))
}

fn refuse_newer(found: Found) -> Result<(), StoreError> {
    match found {
        Found::Version(v) if v > supported() => Err(StoreError::NewerSchema {
            found: v,
            supported: supported(),
        }),
        _ => Ok(()),
    }
}

/// Brings the schema to [`supported`], creating it if `create` (else a database without
/// one is [`Found::Nothing`], returned untouched). Refuses a newer schema.
pub(crate) fn migrate(client: &mut Client, create: bool) -> Result<Found, StoreError> {
    let found = inspect(client)?;
    refuse_newer(found)?;
    if found == Found::Version(supported()) || (found == Found::Nothing && !create) {
        return Ok(found);
    }
    let fail = |e: postgres::Error| error::db(&e, "migrating the schema");
    let mut tx = client.transaction().map_err(fail)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(fail)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .map_err(fail)?;
    // Read again under the lock: another process may have migrated meanwhile.
    let row = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )
        .map_err(fail)?;
    let current = u32::try_from(row.try_get::<_, i32>(0).map_err(fail)?).unwrap_or(0);
    refuse_newer(Found::Version(current))?;
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        tx.batch_execute(sql).map_err(fail)?;
        let v = i32::try_from(*version).unwrap_or(i32::MAX);
        tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&v])
            .map_err(fail)?;
    }
    tx.commit().map_err(fail)?;
    Ok(Found::Version(supported()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_one_up_from_one() {
        for (i, (v, _)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*v as usize, i + 1);
        }
    }

    #[test]
    fn a_newer_schema_is_refused_in_one_sentence() {
        let err = refuse_newer(Found::Version(supported() + 1)).unwrap_err();
        assert!(matches!(err, StoreError::NewerSchema { .. }));
        assert_eq!(err.to_string().matches(". ").count(), 0, "{err}");
    }

    #[test]
    fn the_supported_schema_is_accepted() {
        assert!(refuse_newer(Found::Version(supported())).is_ok());
        assert!(refuse_newer(Found::Nothing).is_ok());
    }
}
