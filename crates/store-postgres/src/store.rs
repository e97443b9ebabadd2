//! Opening a ledger on a database, and the store handle itself.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use grant_ledger_store::{forward_event_store, Clock, Engine, StoreError};
use postgres::Config;

use crate::connect::Connector;
use crate::error;
use crate::listen::{self, Listener};
use crate::pg_backend::PgBackend;
use crate::schema::{self, Found};

/// The [`grant_ledger_store::EventStore`] on PostgreSQL. `Send + Sync`: share it between
/// threads with `Arc`. Other processes may hold the same ledger open at the same time:
/// their writes are serialised with this one's by the database (see the crate doc).
pub struct PostgresStore {
    engine: Engine<PgBackend>,
    connector: Connector,
    channel: String,
    place: String,
    listeners: Mutex<Vec<Listener>>,
}

impl PostgresStore {
    /// Opens the ledger in the database at `url` (`postgres://USER@HOST:PORT/DATABASE`),
    /// creating or upgrading its schema: for writers.
    ///
    /// Fails with [`StoreError::Database`] if the database cannot be reached or refuses the
    /// login, [`StoreError::NewerSchema`] if a newer build migrated it, and
    /// [`StoreError::Corrupt`] if its last event does not match the committed head.
    pub fn open(url: &str, clock: Arc<dyn Clock>) -> Result<PostgresStore, StoreError> {
        Self::open_with(Connector::parse(url)?, true, clock)
    }

    /// Opens the ledger at `url` only if the database holds one: for readers, so that a
    /// mistyped database name is an error instead of a new, empty ledger. A database
    /// without the ledger's schema is [`StoreError::NoLedger`] and nothing is created.
    pub fn open_existing(url: &str, clock: Arc<dyn Clock>) -> Result<PostgresStore, StoreError> {
        Self::open_with(Connector::parse(url)?, false, clock)
    }

    /// As [`PostgresStore::open`] or [`PostgresStore::open_existing`] (`create`), from a
    /// parsed configuration (e.g. one whose `options` set another `search_path`, so that
    /// several ledgers live in one database, one per schema).
    /// TLS follows its `sslmode`, trusting the Mozilla roots (see `docs/storage.md`).
    pub fn open_config(
        config: Config,
        create: bool,
        clock: Arc<dyn Clock>,
    ) -> Result<PostgresStore, StoreError> {
        Self::open_with(Connector::new(config, None)?, create, clock)
    }

    fn open_with(
        connector: Connector,
        create: bool,
        clock: Arc<dyn Clock>,
    ) -> Result<PostgresStore, StoreError> {
        let place = connector.place();
        let mut client = connector.connect()?;
        if schema::migrate(&mut client, create)? == Found::Nothing {
            return Err(StoreError::NoLedger {
                path: PathBuf::from(&place),
            });
        }
        // One channel per schema, so ledgers sharing a database do not wake each other.
        let row = client
            .query_one("SELECT current_schema()", &[])
            .map_err(|e| error::db(&e, "reading the schema name"))?;
        let schema_name: String = row.try_get(0).unwrap_or_else(|_| "public".into());
        let channel = format!("grant_ledger.{schema_name}");
        let engine = Engine::new(
            PgBackend::new(connector.clone(), channel.clone(), client),
            clock,
        );
        engine.load_damage()?;
        engine.watched(|engine| {
            let head = grant_ledger_store::Backend::head(&engine.backend)?;
            engine.check_head(&head)
        })?;
        Ok(PostgresStore {
            engine,
            connector,
            channel,
            place,
            listeners: Mutex::new(Vec::new()),
        })
    }

    /// Where the ledger is, as `postgres://USER@HOST:PORT/DATABASE` (never the password).
    pub fn place(&self) -> &str {
        &self.place
    }

    /// Calls `wake` with the new head position after every commit to this ledger, by any
    /// process (this one's included), and with 0 after a lost connection came back; see
    /// [`grant_ledger_store::EventStore::watch`]. The listening thread ends with the store.
    pub fn watch_commits(&self, wake: Box<dyn Fn(u64) + Send + Sync>) -> Result<(), StoreError> {
        let listener = listen::start(self.connector.clone(), self.channel.clone(), wake)?;
        self.listeners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(listener);
        Ok(())
    }
}

forward_event_store!(PostgresStore, watch = watch_commits);
