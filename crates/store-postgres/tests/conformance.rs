//! The store's conformance suite (crates/store/tests/conformance) on PostgreSQL, each
//! store in a schema of its own, plus what only a shared database has: reopening, two
//! handles (as two processes would) writing one ledger, and the hashes sled gives.

#[path = "../../store/tests/common/mod.rs"]
mod common;
mod support;

use std::ops::Deref;

use common::*;
use grant_ledger_store::*;
use grant_ledger_store_postgres::PostgresStore;
use support::TestSchema;

/// Each case makes a schema and migrates it: fewer cases than on sled keep it quick.
const EQUIVALENCE_CASES: u32 = 16;

/// A store in its own schema, dropped when this is.
struct Fresh {
    store: PostgresStore,
    _schema: TestSchema,
}

impl Deref for Fresh {
    type Target = dyn EventStore;
    fn deref(&self) -> &Self::Target {
        &self.store
    }
}

fn fresh() -> Option<Fresh> {
    let schema = TestSchema::new()?;
    let store = PostgresStore::open_config(schema.config.clone(), true, dyn_clock()).unwrap();
    Some(Fresh {
        store,
        _schema: schema,
    })
}

#[path = "../../store/tests/conformance/semantics.rs"]
mod semantics;

#[path = "../../store/tests/conformance/equivalence.rs"]
mod equivalence;

#[path = "../../store/tests/conformance/verify_each.rs"]
mod verify_each;

#[path = "conformance/shared.rs"]
mod shared;
