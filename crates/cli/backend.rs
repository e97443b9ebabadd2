//! Where a command runs: on a ledger directory opened here (sled, the embedded engine this
//! binary chooses), or on a running `grant-ledger serve` (`--server`). Either way the
//! command gets an [`Api`], so what it prints cannot depend on where it ran.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use grant_ledger_domain::BUILTIN_IDS;
use grant_ledger_projections::{Api, Caller, Ledger, LedgerError, Session};
use grant_ledger_store::{StoreError, SystemClock};
use grant_ledger_store_sled::SledStore;

use crate::error::{CliError, CliResult};
use crate::remote::Remote;
use crate::served;

/// The one storage engine this binary opens ledger directories with.
pub type Store = SledStore;

/// What a command needs to reach the ledger.
pub enum Target {
    /// A ledger directory, recorded as `actor`.
    Local { dir: PathBuf, actor: String },
    /// A server, with the token to present.
    Remote { url: String, token: Option<String> },
}

/// How a command uses the ledger, which decides what a missing ledger means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// `determination import` and `access grant`: the ledger is created on first write.
    Create,
    /// A payment, spend, recovery or reversal names something that must be on record:
    /// without a ledger it is refused as that unknown name would be.
    Add,
    /// A query: an existing ledger only, so a mistyped path is an error, never an empty
    /// answer.
    Read,
}

/// Opens the ledger directory `dir` with sled, creating it only for [`Use::Create`].
pub fn open_dir(dir: &Path, usage: Use) -> Result<Ledger<Store>, LedgerError> {
    let store = match usage {
        Use::Create => SledStore::open(dir, Arc::new(SystemClock)),
        Use::Add | Use::Read => SledStore::open_existing(dir, Arc::new(SystemClock)),
    };
    Ledger::with_store(store?)
}

impl Target {
    /// The API for a command of this kind. `unknown` is what an `Add` command names, for
    /// its refusal when there is no ledger yet.
    pub fn api(&self, usage: Use, unknown: &str) -> CliResult<Box<dyn Api>> {
        match self {
            Target::Remote { url, token } => Ok(Box::new(Remote::new(url, token.as_deref())?)),
            Target::Local { dir, actor } => {
                let ledger = open_dir(dir, usage).map_err(|e| missing(dir, usage, unknown, e))?;
                Ok(Box::new(Session::new(
                    Arc::new(ledger),
                    Caller::owner(actor),
                )))
            }
        }
    }
}

/// The error for a ledger that could not be opened: no ledger there yet (worded for the
/// command's use), or one held by a running server (which says where to send it instead).
fn missing(dir: &Path, usage: Use, unknown: &str, error: LedgerError) -> CliError {
    let place = dir.display().to_string();
    let hint = || {
        format!(
            "it is created by the first determination import (e.g. grant-ledger determination import --builtin {})",
            BUILTIN_IDS.first().copied().unwrap_or("31/7421"),
        )
    };
    match error {
        LedgerError::Store(StoreError::NoLedger { .. }) if usage == Use::Add => {
            CliError::refused(format!("{unknown}: there is no ledger at {place} yet; {}", hint()))
        }
        LedgerError::Store(StoreError::NoLedger { .. }) => {
            CliError::unavailable(format!("no ledger at {place}; {}", hint()))
        }
        LedgerError::Store(StoreError::InUse { path }) => match served::find(dir) {
            Some(url) => CliError::unavailable(format!(
                "the ledger at {place} is served by grant-ledger serve at {url}; run the command through it with --server {url} --token TOKEN"
            )),
            None => CliError::from(LedgerError::Store(StoreError::InUse { path })),
        },
        other => other.into(),
    }
}
