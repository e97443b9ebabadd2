//! The pure heart of the grant ledger: section 31 grant determinations and
//! everything that may happen to them (payments, spend, recovery, reversals)
//! as commands decided into events by the rules of the CLI contract.
//!
//! No I/O, no clock, no randomness: ids and dates come in with commands, so
//! the same state and command always give the same events.
//!
//! - [`money`]: pounds as exact decimals; the one input parser.
//! - [`echo()`]: how every refusal quotes the input it refuses (short, one line).
//! - [`determination`], [`determination_file`], [`builtin`](mod@builtin): what was
//!   determined (with its instalment schedule, if any), how it is read from TOML, and
//!   31/7421 as shipped; [`variation_file`]: a variation's new allocation table.
//! - [`identifiers`], [`register`]: org ids and ONS codes a determination may carry,
//!   and the official names of English local authorities by register code.
//! - [`check`](mod@check): recomputing allocations from the formula, and lead
//!   authorities named otherwise than the register names them.
//! - [`command`], [`event`], [`state`], [`decide`](mod@decide): the decider: commands
//!   are decided against the [`State`] of one stream into [`Event`]s, which
//!   [`evolve`] folds back into the state.
//! - [`error`]: malformed input (exit 2) versus refusals (exit 1).
//! - [`limits`]: the bounds on everything input can make large.
//! - [`access`]: the roles of a shared ledger, what each may do, and the access events.
//!
//! # Consistency boundary
//!
//! Every event of a determination belongs to one stream,
//! [`stream_for`]`(id)` (`determination/31/7421`), and [`State`] is the fold of
//! exactly that stream. Every rule reads only that state: payments against
//! the allocation and deadline, spend against net received, recovery against
//! unspent, reversals against all of them. The store appends a command's
//! events only if the stream is still at the version the state was folded
//! to ([`State::version`]), so of two concurrent writers deciding against the
//! same state only one can append; the other must re-read and decide again,
//! against a state that now includes the first writer's events. No rule
//! spans two determinations, so no wider lock is ever needed.

#![forbid(unsafe_code)]

pub mod access;
pub mod builtin;
pub mod check;
pub mod command;
pub mod decide;
pub mod determination;
pub mod determination_file;
mod echo;
pub mod error;
pub mod event;
pub mod identifiers;
pub mod limits;
pub mod money;
pub mod rebuild;
pub mod region;
pub mod register;
pub mod state;
pub mod variation_file;

pub use access::{
    authorize, decide_access, evolve_access, permits, AccessCommand, AccessData, AccessEvent,
    AccessGranted, AccessRevoked, AccessState, Action, ActiveGrant, Role, ACCESS_GRANTED,
    ACCESS_REVOKED, ACCESS_STREAM,
};
pub use builtin::{builtin, builtin_toml, BUILTIN_IDS};
pub use check::{check, FormulaCheck, RegionCheck, RegisterName, WorkingCheck};
pub use command::Command;
pub use decide::{decide, decide_many};
pub use determination::{
    schedule_amounts, stream_for, Allocation, Basis, Component, Determination, GrantPeriod,
    Instalment, Working,
};
pub use determination_file::parse_determination;
pub use echo::echo;
pub use error::DomainError;
pub use event::{
    DeterminationMade, DeterminationVaried, DeterminationWithdrawn, Event, EventData,
    EventReversed, EventType, FundsSpent, GrantRecovered, PaymentIssued, VariedAllocation,
    SCHEMA_VERSION,
};
pub use identifiers::{register_code, Funder};
pub use money::{Money, MoneyError};
pub use rebuild::{rebuild_reason, ModelsRebuilt, MODELS_REBUILT};
pub use region::{region_matches, region_slug};
pub use register::official_name;
pub use state::{evolve, AllocationState, PaymentRecord, State, Variation, Withdrawal};
pub use variation_file::parse_variation;
