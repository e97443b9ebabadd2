//! `serve`: opens the ledger (a directory, or a database with `--store`) and hands it to
//! the server, which serves it until SIGTERM or SIGINT. Several servers may serve one
//! database: each follows the others' commits (see `Ledger::follow_store`).

use std::path::Path;
use std::sync::Arc;

use grant_ledger_server::{ServeConfig, Tls};

use crate::args::ServeArgs;
use crate::backend::{open, with_key, Key, Place, Use};
use crate::error::{CliError, CliResult};
use crate::served;

pub fn run(place: &Place, args: &ServeArgs, signing_key: Option<&Path>) -> CliResult {
    let listen = args.listen.trim().parse().map_err(|_| {
        CliError::malformed(format!(
            "--listen \"{}\" is not an address such as 127.0.0.1:7421",
            args.listen.trim()
        ))
    })?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(Tls {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ => None,
    };
    let ledger = open(place, Use::Read).map_err(|e| match e {
        grant_ledger_projections::LedgerError::Store(grant_ledger_store::StoreError::NoLedger {
            ..
        }) => {
            let (flag, at) = match place {
                Place::Dir(dir) => ("--ledger", dir.display().to_string()),
                Place::Database(_) => ("--store", place.describe()),
            };
            CliError::unavailable(format!(
                "no ledger at {at} to serve; create it first, e.g. grant-ledger {flag} {at} access grant --name admin --role admin"
            ))
        }
        other => other.into(),
    })?;
    // The server signs checkpoints with the ledger's key, made now if it has none yet.
    let file = crate::signing_key::location(place, signing_key);
    let ledger = with_key(ledger, file.as_deref(), Key::Made)?;
    let config = ServeConfig { listen, tls };
    let dir = match place {
        Place::Dir(dir) => Some(dir.clone()),
        Place::Database(_) => None,
    };
    grant_ledger_server::serve(Arc::new(ledger), config, move |url| {
        // Kept for as long as the server runs; removed when it returns. A database has no
        // directory to be refused "in use" for, so nothing to note.
        let note = dir.as_deref().and_then(|dir| served::announce(dir, url));
        println!("listening on {url}");
        note
    })
    .map_err(|e| CliError::unavailable(e.to_string()))
}
