//! The conformance suite (`conformance/`) on the in-memory backend.

mod common;

use grant_ledger_store::{EventStore, MemoryStore};

/// Memory is the reference the equivalence property compares against, so comparing it with
/// itself only checks determinism: a few cases do.
const EQUIVALENCE_CASES: u32 = 8;

type Fresh = Box<dyn EventStore>;

fn fresh() -> Option<Fresh> {
    Some(Box::new(MemoryStore::new(common::dyn_clock())))
}

#[path = "conformance/semantics.rs"]
mod semantics;

#[path = "conformance/equivalence.rs"]
mod equivalence;

#[path = "conformance/verify_each.rs"]
mod verify_each;
