//! Signed checkpoints on the command line: `checkpoint` prints a receipt of the head,
//! `verify --against RECEIPT...` proves the ledger still extends each receipt, and
//! `checkpoint verify RECEIPT --public-key K` checks a receipt's signature with no ledger.
//! The receipt format and its cryptography are the application layer's
//! (`grant_ledger_projections::Receipt`); every sentence about a receipt is written here.

use std::io::Write;
use std::path::{Path, PathBuf};

use grant_ledger_projections::{Api, HistoryFilter, PublicKey, Receipt, VerifySummary};
use serde::Serialize;

use crate::args::CheckpointVerifyArgs;
use crate::backend::Key;
use crate::commands::Context;
use crate::error::{CliError, CliResult};
use crate::output;

/// `checkpoint`: the head's receipt, always as JSON (it is meant to be kept as a file).
pub fn take(ctx: &Context) -> CliResult {
    let receipt = ctx.keyed(Key::Made)?.checkpoint()?;
    let mut out = output::stdout();
    output::write_json(&mut out, &receipt)?;
    Ok(out.finish()?)
}

/// A receipt read from a file, with the file's name for messages.
pub struct Named {
    pub file: String,
    pub receipt: Receipt,
}

/// Reads and checks the form of every receipt; the first that does not parse is malformed.
pub fn read_receipts(files: &[PathBuf]) -> CliResult<Vec<Named>> {
    files.iter().map(|file| read_receipt(file)).collect()
}

fn read_receipt(file: &Path) -> CliResult<Named> {
    let name = file.display().to_string();
    let text = crate::files::read_text(file)
        .map_err(|why| CliError::malformed(format!("cannot read receipt {name}: {why}")))?;
    let receipt = Receipt::parse(&text)
        .map_err(|why| CliError::malformed(format!("receipt {name} {why}")))?;
    Ok(Named {
        file: name,
        receipt,
    })
}

/// One receipt the ledger still extends, as `verify --against` reports it.
#[derive(Serialize)]
pub struct Proven {
    pub file: String,
    pub position: u64,
    pub head_hash: String,
    pub public_key_id: String,
}

/// `verify --format json --against ...`: the summary's fields, then the receipts proven.
#[derive(Serialize)]
pub struct VerifiedAgainst<'a> {
    #[serde(flatten)]
    pub summary: &'a VerifySummary,
    pub receipts: &'a [Proven],
}

/// Proves that the ledger behind `api` still holds each receipt's position with its hash,
/// and that each is signed by the ledger's key. Every receipt that fails is named in one
/// sentence on stderr, the last as the error (exit 3, as any verify failure).
pub fn prove(api: &dyn Api, receipts: &[Named]) -> CliResult<Vec<Proven>> {
    if receipts.is_empty() {
        return Ok(Vec::new());
    }
    // The current head and the ledger's key, in one receipt.
    let now = api.checkpoint();
    let mut proven = Vec::new();
    let mut failed = Vec::new();
    for named in receipts {
        let checked = match &now {
            Ok(now) => prove_one(api, now, named),
            Err(e) => Err(format!("receipt {} cannot be checked: {e}", named.file)),
        };
        match checked {
            Ok(p) => proven.push(p),
            Err(sentence) => failed.push(sentence),
        }
    }
    match failed.split_last() {
        None => Ok(proven),
        Some((last, others)) => {
            for sentence in others {
                eprintln!("error: {sentence}");
            }
            Err(CliError::unavailable(last.clone()))
        }
    }
}

fn prove_one(api: &dyn Api, now: &Receipt, named: &Named) -> Result<Proven, String> {
    let (file, r) = (&named.file, &named.receipt);
    let key = PublicKey::parse(&now.public_key)
        .map_err(|why| format!("receipt {file} cannot be checked: the ledger's key {why}"))?;
    if r.public_key != key.hex() {
        return Err(format!(
            "receipt {file} is signed by key {}, not by this ledger's key {}",
            r.public_key_id,
            key.id()
        ));
    }
    if !r.signed_by(&key) {
        return Err(format!(
            "receipt {file} does not match its signature by this ledger's key {}: its position, hash or time was changed after it was signed",
            key.id()
        ));
    }
    if r.position > now.position {
        return Err(format!(
            "the ledger ends at position {}, before position {} of receipt {file}, so it no longer extends that receipt (truncated or rolled back)",
            now.position, r.position
        ));
    }
    let held = hash_at(api, r.position).map_err(|e| {
        format!(
            "receipt {file} cannot be checked: position {} cannot be read: {e}",
            r.position
        )
    })?;
    match held {
        Some(hash) if hash == r.head_hash => Ok(Proven {
            file: file.clone(),
            position: r.position,
            head_hash: r.head_hash.clone(),
            public_key_id: r.public_key_id.clone(),
        }),
        Some(hash) => Err(format!(
            "the ledger holds hash {hash} at position {}, not {} of receipt {file}, so it no longer extends that receipt (rewritten)",
            r.position, r.head_hash
        )),
        None => Err(format!(
            "the ledger holds no event at position {} of receipt {file}, so it no longer extends that receipt (truncated or rolled back)",
            r.position
        )),
    }
}

/// The hash of the event at `position`, if the ledger holds one there.
fn hash_at(
    api: &dyn Api,
    position: u64,
) -> Result<Option<String>, grant_ledger_projections::LedgerError> {
    let filter = HistoryFilter {
        after: Some(position.saturating_sub(1)),
        limit: Some(1),
        ..HistoryFilter::default()
    };
    let mut found = None;
    api.history(&filter, &mut |entry| {
        if entry.position == position {
            found = Some(entry.hash);
        }
        Ok(())
    })?;
    Ok(found)
}

/// The table lines of `verify --against`, after the summary line.
pub fn write_proven(out: &mut dyn Write, proven: &[Proven]) -> std::io::Result<()> {
    for p in proven {
        writeln!(
            out,
            "ok: receipt {}: position {} still has hash {}, signed by this ledger's key {}",
            p.file, p.position, p.head_hash, p.public_key_id
        )?;
    }
    Ok(())
}

/// `checkpoint verify RECEIPT --public-key K`: the signature alone, no ledger.
pub fn verify_signature(args: &CheckpointVerifyArgs) -> CliResult {
    let named = read_receipt(&args.receipt)?;
    let key = public_key(&args.public_key)?;
    let (file, r) = (&named.file, &named.receipt);
    if r.public_key != key.hex() {
        return Err(CliError::refused(format!(
            "receipt {file} is not signed by key {}: it names key {}",
            key.id(),
            r.public_key_id
        )));
    }
    if !r.signed_by(&key) {
        return Err(CliError::refused(format!(
            "receipt {file} is not signed by key {}: its signature does not match its position, hash and time",
            key.id()
        )));
    }
    let mut out = output::stdout();
    writeln!(
        out,
        "ok: receipt {file} is signed by key {}: position {}, head hash {}, at {}",
        key.id(),
        r.position,
        r.head_hash,
        r.time
    )?;
    Ok(out.finish()?)
}

/// `--public-key K`: 64 hex digits, or a file holding them.
fn public_key(given: &str) -> CliResult<PublicKey> {
    let given = given.trim();
    if let Ok(key) = PublicKey::parse(given) {
        return Ok(key);
    }
    let bad = || {
        CliError::malformed(format!(
            "--public-key \"{}\" is neither 64 hex digits nor a file holding them",
            grant_ledger_domain::echo(given)
        ))
    };
    let text = std::fs::read_to_string(given).map_err(|_| bad())?;
    PublicKey::parse(&text).map_err(|_| bad())
}
