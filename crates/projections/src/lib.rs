//! `grant-ledger-projections`: the read models of the grant ledger and the [`Ledger`]
//! facade the binary calls.
//!
//! It owns what is *derived* from the log, never a rule: every rule is the domain's
//! `decide`, every fact is the store's log. Each read model is a pure fold over events,
//! stored in the same commit as the events that changed it, so queries read it without
//! replaying anything; on open a model behind the log catches up, and `verify` compares
//! every stored model with a fresh replay. See `docs/projections.md`.

mod access;
mod api;
mod as_of;
#[cfg(test)]
mod as_of_tests;
mod balances;
mod checkpoint;
mod codec;
mod days;
mod deadlines;
mod determination_import;
mod error;
mod export;
mod fingerprint;
mod history;
mod import;
pub mod input;
mod ledger;
mod lines;
mod money_ops;
mod projection;
#[cfg(test)]
mod property_tests;
mod rebuild;
mod report;
mod rows;
mod spend;
mod spend_csv;
mod verify;
mod writer;

pub use access::{AccessRow, Caller, GrantedAccess};
pub use api::{
    may_read, Api, BalancesQuery, DeadlinesQuery, DeterminationSource, PayRequest, Recording,
    RecoverRequest, ReverseRequest, Session, SpendReportQuery, SpendRequest, VariedAmount,
    VaryRequest, WithdrawRequest,
};
pub use checkpoint::{signed_text, PublicKey, Receipt, Signer, RECEIPT_FORMAT};
pub use determination_import::Imported;
pub use error::{ErrorKind, LedgerError};
pub use export::{
    ExportRequest, Grant, GrantPackage, GrantProgramme, Location, Organization, PlannedDates,
    Publisher, Transaction, DEFAULT_PREFIX, STANDARD_VERSION,
};
pub use import::IMPORT_BUFFER_ROWS;
pub use ledger::Ledger;
pub use rows::{
    BalanceRow, BalanceStatus, DeadlineRow, DeadlineStatus, DeterminationRecord,
    DeterminationSummary, HistoryEntry, HistoryFilter, ImportSummary, InstalmentRow, Recorded,
    SpendLine, SpendReportBy, SpendReportRow, SpendRow, VerifySummary,
};
pub use spend_csv::{SpendRows, HEADER as SPEND_CSV_HEADER};
pub use writer::{event_type_names, MAX_GROUP};
