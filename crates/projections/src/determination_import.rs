//! Importing a determination, and which of three things that came to: appended now, a
//! repeat of a key already recorded for it, or identical to one already in the ledger. The
//! command line treats the last two alike (nothing was appended); the server may not: a key's
//! repeat answers the original status (201) with `Idempotency-Hit`, while an identical
//! re-import is the contract's own 200, key or none.

use grant_ledger_domain::{Command, Determination};
use grant_ledger_store::EventStore;
use uuid::Uuid;

use crate::access::Caller;
use crate::error::LedgerError;
use crate::ledger::Ledger;
use crate::rows::Recorded;

/// What an import of a determination came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Imported {
    /// Appended now: the new `DeterminationMade` event.
    New,
    /// The same key and determination again: the event appended under that key.
    KeyRepeat,
    /// Identical to one already in the ledger (not under this key): nothing appended, and
    /// the key, if any, not recorded; the event on record.
    Identical,
}

impl<S: EventStore> Ledger<S> {
    /// Imports `determination` for `caller` (see [`Imported`]); every answer carries the
    /// `DeterminationMade` event.
    pub fn import_determination(
        &self,
        caller: &Caller,
        key: Option<&str>,
        determination: Determination,
    ) -> Result<(Recorded, Imported), LedgerError> {
        let id = determination.id.clone();
        let mut recorded = self.record(
            caller,
            key,
            Command::MakeDetermination {
                id: Uuid::now_v7(),
                determination,
            },
        )?;
        // The writer answers a key's repeat with the events recorded under it, and an
        // identical re-import with none (it appended nothing).
        let imported = match (recorded.duplicate, recorded.events.is_empty()) {
            (false, _) => Imported::New,
            (true, false) => Imported::KeyRepeat,
            (true, true) => Imported::Identical,
        };
        if imported == Imported::Identical {
            recorded.events = self.determination_made(&id)?.into_iter().collect();
        }
        Ok((recorded, imported))
    }
}
