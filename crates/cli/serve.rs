//! `serve`: opens the ledger directory with this binary's engine and hands it to the
//! server, which serves it until SIGTERM or SIGINT.

use std::sync::Arc;

use grant_ledger_server::{ServeConfig, Tls};

use crate::args::ServeArgs;
use crate::backend::{open_dir, Use};
use crate::error::{CliError, CliResult};
use crate::served;

pub fn run(dir: &std::path::Path, args: &ServeArgs) -> CliResult {
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
    let ledger = open_dir(dir, Use::Read).map_err(|e| match e {
        grant_ledger_projections::LedgerError::Store(grant_ledger_store::StoreError::NoLedger {
            ..
        }) => CliError::unavailable(format!(
            "no ledger at {} to serve; create it first, e.g. grant-ledger --ledger {} access grant --name admin --role admin",
            dir.display(),
            dir.display()
        )),
        other => other.into(),
    })?;
    let config = ServeConfig { listen, tls };
    let dir = dir.to_path_buf();
    grant_ledger_server::serve(Arc::new(ledger), config, move |url| {
        // Kept for as long as the server runs; removed when it returns.
        let note = served::announce(&dir, url);
        println!("listening on {url}");
        note
    })
    .map_err(|e| CliError::unavailable(e.to_string()))
}
