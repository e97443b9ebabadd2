//! Connecting: the store URL, what of it may be printed, and the session settings every
//! connection gets.

use std::str::FromStr;

use grant_ledger_store::StoreError;
use postgres::{Client, Config, NoTls};

use crate::error;

/// Parses a `postgres://` URL (or libpq key=value string). A malformed one is refused
/// without echoing it, since it may carry a password.
pub(crate) fn parse(url: &str) -> Result<Config, StoreError> {
    Config::from_str(url).map_err(|_| StoreError::Database {
        problem: "the store URL is not a PostgreSQL connection string (postgres://USER@HOST:PORT/DATABASE)".into(),
    })
}

/// `postgres://user@host:port/database`: the URL without its password, for messages.
pub(crate) fn place(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config
        .get_user()
        .map(|u| format!("{u}@"))
        .unwrap_or_default();
    let db = config.get_dbname().unwrap_or("");
    format!("postgres://{user}{host}:{port}/{db}")
}

/// A new connection with the settings the store relies on: a commit is acknowledged only
/// once it is durable (`synchronous_commit = on`, whatever the server's default), and
/// reads see the latest commit (`read committed`).
pub(crate) fn connect(config: &Config) -> Result<Client, StoreError> {
    let mut client = config
        .connect(NoTls)
        .map_err(|e| error::db(&e, "connecting"))?;
    client
        .batch_execute(
            "SET synchronous_commit = on; \
             SET default_transaction_isolation = 'read committed'; \
             SET application_name = 'grant-ledger'",
        )
        .map_err(|e| error::db(&e, "setting up the session"))?;
    Ok(client)
}
