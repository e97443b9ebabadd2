//! Where a command runs: on a ledger opened here, in a directory (sled, the embedded
//! default) or in a PostgreSQL database (`--store postgres://...`), or on a running
//! `grant-ledger serve` (`--server`). Either way the command gets an [`Api`], so what it
//! prints cannot depend on where it ran. This is the one place the binary chooses a
//! storage backend; everything above it sees a `Box<dyn EventStore>`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use grant_ledger_domain::BUILTIN_IDS;
use grant_ledger_projections::{Api, Caller, Ledger, LedgerError, Session};
use grant_ledger_store::{EventStore, StoreError, SystemClock};
use grant_ledger_store_postgres::PostgresStore;
use grant_ledger_store_sled::SledStore;

use crate::error::{CliError, CliResult};
use crate::remote::Remote;
use crate::served;
use crate::signing_key;

/// The store a ledger opened here runs on, whichever backend was chosen.
pub type Store = Box<dyn EventStore>;

/// Where a ledger opened by this process lives.
#[derive(Debug, Clone)]
pub enum Place {
    /// A ledger directory, on sled.
    Dir(PathBuf),
    /// A PostgreSQL database, by its connection URL (which may carry a password).
    Database(String),
}

impl Place {
    /// `--store` takes a PostgreSQL URL only; a directory is `--ledger`'s.
    pub fn database(url: &str) -> CliResult<Place> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            checked_url("--store", url)?;
            Ok(Place::Database(url.to_string()))
        } else {
            Err(CliError::malformed(
                "--store takes a PostgreSQL URL such as postgres://USER@HOST:5432/DATABASE; a ledger directory is given with --ledger",
            ))
        }
    }

    /// `migrate --to`: a PostgreSQL URL, or else a ledger directory.
    pub fn target(to: &str) -> CliResult<Place> {
        let to = to.trim();
        Ok(
            if to.starts_with("postgres://") || to.starts_with("postgresql://") {
                checked_url("--to", to)?;
                Place::Database(to.to_string())
            } else {
                Place::Dir(PathBuf::from(to))
            },
        )
    }

    /// The place for messages: the directory, or the URL without its password.
    pub fn describe(&self) -> String {
        match self {
            Place::Dir(dir) => dir.display().to_string(),
            Place::Database(url) => redact(url),
        }
    }
}

/// A store URL that cannot work as written (a bad `sslmode`, say) is malformed input
/// naming `option`, refused before anything connects.
fn checked_url(option: &str, url: &str) -> CliResult<()> {
    match grant_ledger_store_postgres::url_problem(url) {
        None => Ok(()),
        Some(problem) => Err(CliError::malformed(format!("{option}: {problem}"))),
    }
}

/// `postgres://user:secret@host/db` as `postgres://user@host/db`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}@{host}")
        }
        None => url.to_string(),
    }
}

/// What a command needs to reach the ledger.
pub enum Target {
    /// A ledger opened here, recorded as `actor`, waiting up to `wait` for another process
    /// that holds it, with its signing key where `--signing-key` says (else where
    /// [`signing_key::location`] puts it).
    Local {
        place: Place,
        actor: String,
        wait: Duration,
        signing_key: Option<PathBuf>,
    },
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
    /// `verify` and `rebuild`: the commands a ledger found damaged still answers (rebuild
    /// reads only the log, so it is refused in its turn if that is what is damaged).
    Audit,
}

/// Opens the store at `place` (and nothing above it), creating a ledger only if `create`.
pub fn open_store(place: &Place, create: bool) -> Result<Store, StoreError> {
    let clock = Arc::new(SystemClock);
    Ok(match (place, create) {
        (Place::Dir(dir), true) => Box::new(SledStore::open(dir, clock)?),
        (Place::Dir(dir), false) => Box::new(SledStore::open_existing(dir, clock)?),
        (Place::Database(url), true) => Box::new(PostgresStore::open(url, clock)?),
        (Place::Database(url), false) => Box::new(PostgresStore::open_existing(url, clock)?),
    })
}

/// Opens the ledger at `place`, creating it only for [`Use::Create`].
pub fn open(place: &Place, usage: Use) -> Result<Ledger<Store>, LedgerError> {
    Ledger::with_store(open_store(place, usage == Use::Create)?)
}

/// Opens the ledger directory `dir` with sled, creating it only for [`Use::Create`].
pub fn open_dir(dir: &Path, usage: Use) -> Result<Ledger<Store>, LedgerError> {
    open(&Place::Dir(dir.to_path_buf()), usage)
}

/// What a command needs of the ledger's signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// Nothing.
    Unused,
    /// The key if there is one (`verify --against`: a missing key signed no receipt).
    Existing,
    /// The key, made now if there is none yet (creating a ledger, `checkpoint`, `serve`).
    Made,
}

/// `ledger` with its signing key at `file` attached as `key` asks.
pub fn with_key(ledger: Ledger<Store>, file: Option<&Path>, key: Key) -> CliResult<Ledger<Store>> {
    let Some(file) = file else {
        return Ok(ledger);
    };
    let signer = match key {
        Key::Unused => None,
        Key::Existing => signing_key::load(file)?,
        Key::Made => Some(signing_key::load_or_create(file)?),
    };
    Ok(match signer {
        Some(signer) => ledger.with_signer(signer),
        None => ledger,
    })
}

impl Target {
    /// The API for a command of this kind. `unknown` is what an `Add` command names, for
    /// its refusal when there is no ledger yet. A ledger created here gets its signing key.
    pub fn api(&self, usage: Use, unknown: &str) -> CliResult<Box<dyn Api>> {
        self.api_on(usage, unknown, None)
    }

    /// [`Target::api`] on `today`, the day a recording command may not be dated after
    /// (`None`: the clock's date); through a server it is the server's own, so it cannot
    /// be given.
    pub fn api_on(
        &self,
        usage: Use,
        unknown: &str,
        today: Option<NaiveDate>,
    ) -> CliResult<Box<dyn Api>> {
        let key = if usage == Use::Create {
            Key::Made
        } else {
            Key::Unused
        };
        self.api_with(usage, unknown, today, key)
    }

    /// [`Target::api_on`], with the signing key as `key` asks (a server uses its own).
    pub fn api_with(
        &self,
        usage: Use,
        unknown: &str,
        today: Option<NaiveDate>,
        key: Key,
    ) -> CliResult<Box<dyn Api>> {
        match self {
            Target::Remote { .. } if today.is_some() => Err(CliError::malformed(
                "--today cannot be given with --server: there, today is the server's own date",
            )),
            Target::Remote { url, token } => Ok(Box::new(Remote::new(url, token.as_deref())?)),
            Target::Local {
                place,
                actor,
                wait,
                signing_key,
            } => {
                let ledger = open_waiting(place, usage, *wait)
                    .map_err(|e| missing(place, usage, unknown, *wait, e))?;
                if usage != Use::Audit {
                    if let Some(damaged) = ledger.damaged() {
                        return Err(damaged.into());
                    }
                }
                let file = signing_key::location(place, signing_key.as_deref());
                let ledger = with_key(ledger, file.as_deref(), key)?;
                Ok(Box::new(
                    Session::new(Arc::new(ledger), Caller::owner(actor)).on(today),
                ))
            }
        }
    }
}

/// How often a ledger in use is tried again while waiting for it.
const WAIT_STEP: Duration = Duration::from_millis(100);

/// [`open`], trying again for up to `wait` while another process holds the directory, so
/// that a few people or scripts on one machine queue instead of failing. A directory held
/// by `serve` is not waited for: a server holds it until it stops.
fn open_waiting(place: &Place, usage: Use, wait: Duration) -> Result<Ledger<Store>, LedgerError> {
    let deadline = Instant::now().checked_add(wait);
    loop {
        match open(place, usage) {
            Err(LedgerError::Store(StoreError::InUse { .. }))
                if deadline.is_some_and(|d| Instant::now() < d) && !served_here(place) =>
            {
                std::thread::sleep(WAIT_STEP);
            }
            other => return other,
        }
    }
}

fn served_here(place: &Place) -> bool {
    match place {
        Place::Dir(dir) => served::find(dir).is_some(),
        Place::Database(_) => false,
    }
}

/// The error for a ledger that could not be opened: no ledger there yet (worded for the
/// command's use), or one held by a running server (which says where to send it instead),
/// or by another process for longer than `wait`.
fn missing(at: &Place, usage: Use, unknown: &str, wait: Duration, error: LedgerError) -> CliError {
    let place = at.describe();
    let hint = || {
        format!(
            "it is created by the first determination import or access grant (e.g. grant-ledger determination import --builtin {})",
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
        LedgerError::Store(StoreError::InUse { path }) => match at {
            Place::Dir(dir) => match served::find(dir) {
                Some(url) => CliError::unavailable(format!(
                    "the ledger at {place} is served by grant-ledger serve at {url}; run the command through it with --server {url} --token TOKEN"
                )),
                None if wait.is_zero() => {
                    CliError::from(LedgerError::Store(StoreError::InUse { path }))
                }
                None => CliError::unavailable(format!(
                    "the ledger at {place} was still in use by another process after {} s of waiting; --wait SECONDS waits longer",
                    wait.as_secs()
                )),
            },
            Place::Database(_) => CliError::from(LedgerError::Store(StoreError::InUse { path })),
        },
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_never_reaches_a_message() {
        let place = Place::database("postgres://ann:secret@db.example:5432/ledger").unwrap();
        assert_eq!(place.describe(), "postgres://ann@db.example:5432/ledger");
    }

    #[test]
    fn store_takes_a_postgres_url_only() {
        assert!(Place::database("./ledger").is_err());
        assert!(Place::database("postgresql://h/db").is_ok());
    }
}
