//! `grant-ledger-store-postgres`: the grant ledger's store on a PostgreSQL database, which a
//! department's platform team runs, backs up and replicates, and which several
//! `grant-ledger serve` processes can share as one ledger.
//!
//! It supplies only storage primitives (a [`grant_ledger_store::Backend`]); the log's
//! semantics, the envelope encoding and so the hashes come from the neutral
//! [`grant_ledger_store::Engine`], so [`PostgresStore`] behaves, and hashes, exactly as the
//! sled store does. What is particular to a shared database:
//! - every write is one transaction that first locks the one row of `ledger_head`
//!   ([`Backend::begin_write`](grant_ledger_store::Backend::begin_write)), so writers in
//!   different processes are serialised and positions stay gapless (see `docs/storage.md`);
//! - the schema is created and upgraded by embedded, versioned migrations ([`schema`]);
//! - each commit sends a NOTIFY, which [`PostgresStore::watch`] turns into a wake-up for
//!   other processes' readers.
//!
//! The driver is the synchronous `postgres` crate: the backend trait is synchronous and
//! called from the ledger's one writer thread, so a blocking client behind a mutex fits it
//! without a runtime of its own.

mod beside;
mod conn;
mod connect;
mod error;
mod listen;
mod paged;
mod pg_backend;
mod rows;
pub mod schema;
mod store;

pub use connect::url_problem;
pub use postgres::Config;
pub use store::PostgresStore;
