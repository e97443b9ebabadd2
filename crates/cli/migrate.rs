//! `migrate --to`: copies a ledger into an empty one on any backend (sled to PostgreSQL,
//! and back), every envelope byte for byte, then checks that both heads agree and
//! verifies the copy, which gets the source's signing key. The copy itself is the store's
//! (`EventStore::copy_from`).

use std::io::Write;

use grant_ledger_store::StoreError;
use serde::Serialize;

use crate::args::{Format, MigrateArgs};
use crate::backend::{open_store, Place};
use crate::error::{CliError, CliResult};
use crate::output::{self, Cell, Report};

#[derive(Serialize)]
struct Migrated {
    events: u64,
    from: String,
    to: String,
    head_position: u64,
    head_hash: String,
}

pub fn run(
    source: &Place,
    args: &MigrateArgs,
    format: Format,
    signing_key: Option<&std::path::Path>,
) -> CliResult {
    let target = Place::target(&args.to)?;
    let (from, to) = (source.describe(), target.describe());
    if from == to {
        return Err(CliError::malformed(format!(
            "--to names the ledger being migrated ({from}); give another directory or database"
        )));
    }
    let source_store = open_store(source, false).map_err(|e| match e {
        StoreError::NoLedger { .. } => {
            CliError::unavailable(format!("there is no ledger at {from} to migrate"))
        }
        other => CliError::from(grant_ledger_projections::LedgerError::Store(other)),
    })?;
    let store_error =
        |e: StoreError| CliError::from(grant_ledger_projections::LedgerError::Store(e));
    let target_store = open_store(&target, true).map_err(store_error)?;
    let head = target_store
        .copy_from(&*source_store)
        .map_err(|e| match e {
            StoreError::Invalid(reason) if reason.contains("already holds a ledger") => {
                CliError::refused(format!(
                    "{to} already holds a ledger; migrate copies into an empty one"
                ))
            }
            other => store_error(other),
        })?;
    let source_head = source_store.head().map_err(store_error)?;
    if source_head != head {
        return Err(CliError::unavailable(format!(
            "the copy's head (position {}) is not the source's (position {}); the source changed while it was copied, migrate it again into an empty ledger",
            head.position, source_head.position
        )));
    }
    target_store.verify().map_err(store_error)?;
    // The copy is the same ledger, so it signs with the same key.
    if let Some(note) = crate::signing_key::follow(source, signing_key, &target)? {
        eprintln!("note: {note}");
    }
    let migrated = Migrated {
        events: head.position,
        from,
        to,
        head_position: head.position,
        head_hash: if head.position == 0 {
            String::new()
        } else {
            hex::encode(head.hash)
        },
    };
    let mut out = output::stdout();
    match format {
        Format::Json => output::write_json(&mut out, &migrated)?,
        Format::Csv => {
            let mut report = Report::new(["events", "from", "to", "head_position", "head_hash"]);
            report.push(vec![
                Cell::Int(crate::commands::clamp(migrated.events)),
                Cell::text(migrated.from.clone()),
                Cell::text(migrated.to.clone()),
                Cell::Int(crate::commands::clamp(migrated.head_position)),
                Cell::text(migrated.head_hash.clone()),
            ]);
            report.write(&mut out, true)?;
        }
        Format::Table => writeln!(
            out,
            "migrated {} event{} from {} to {}; both heads are at position {} (hash {}), and the copy verifies",
            migrated.events,
            crate::commands::plural(migrated.events),
            migrated.from,
            migrated.to,
            migrated.head_position,
            if migrated.head_hash.is_empty() { "none" } else { &migrated.head_hash },
        )?,
    }
    Ok(out.finish()?)
}
