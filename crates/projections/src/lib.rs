//! `grant-ledger-projections`: the read models of the grant ledger and the [`Ledger`]
//! facade the binary calls.
//!
//! It owns what is *derived* from the log, never a rule: every rule is the domain's
//! `decide`, every fact is the store's log. Each read model is a pure fold over events,
//! stored in the same commit as the events that changed it, so queries read it without
//! replaying anything; on open a model behind the log catches up, and `verify` compares
//! every stored model with a fresh replay. See `docs/projections.md`.

mod balances;
mod codec;
mod error;
mod export;
mod fingerprint;
mod import;
mod ledger;
mod money_ops;
mod projection;
#[cfg(test)]
mod property_tests;
mod rows;
mod spend;
mod verify;

pub use error::{ErrorKind, LedgerError};
pub use export::{
    ExportRequest, Grant, GrantPackage, GrantProgramme, Location, Organization, PlannedDates,
    Publisher, Transaction, DEFAULT_PREFIX, STANDARD_VERSION,
};
pub use import::IMPORT_BUFFER_ROWS;
pub use ledger::Ledger;
pub use rows::{
    BalanceRow, BalanceStatus, DeadlineRow, DeadlineStatus, HistoryEntry, HistoryFilter,
    ImportSummary, Recorded, SpendReportRow, SpendRow, VerifySummary,
};
