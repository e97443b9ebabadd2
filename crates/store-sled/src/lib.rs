//! `grant-ledger-store-sled`: the embedded, durable backend of the grant ledger's store, on
//! sled 0.34 (see `docs/storage.md` for the on-disk format).
//!
//! It supplies only storage primitives (a [`grant_ledger_store::Backend`]); the log's
//! semantics come from the neutral [`grant_ledger_store::Engine`], so [`SledStore`] behaves
//! exactly as every other backend does.

mod damage_note;
mod error;
mod id_check;
mod id_extents;
mod layout;
mod open_registry;
mod sled_backend;
mod sled_store;

pub use sled_store::SledStore;
