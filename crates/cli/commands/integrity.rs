//! The auditor's commands on the log itself: `verify` (with `--against` receipts) and
//! `rebuild`.

use std::io::Write;

use super::{announced, clamp, count, plural, Context};
use crate::args::Format;
use crate::backend::{Key, Use};
use grant_ledger_projections::LedgerError;

use crate::error::CliResult;
use crate::output::{self, Cell, Report};

pub(super) fn rebuild(ctx: &Context, key: Option<String>, reason: &str) -> CliResult {
    let key = grant_ledger_projections::input::key(key)?;
    let recorded = ctx
        .target
        .api(Use::Audit, "")?
        .rebuild(key.as_deref(), reason)?;
    announced(ctx, key.as_deref(), recorded)
}

pub(super) fn verify(ctx: &Context, against: &[std::path::PathBuf]) -> CliResult {
    // Every receipt is read before the ledger is opened, so a bad one touches nothing.
    let receipts = crate::checkpoint::read_receipts(against)?;
    let api = if receipts.is_empty() {
        ctx.target.api(Use::Audit, "")?
    } else {
        ctx.target.api_with(Use::Audit, "", None, Key::Existing)?
    };
    // A damaged log proves nothing: its one sentence is the answer. Otherwise receipts are
    // proven whatever else failed, so that a rolled-back ledger whose models no longer
    // match still names each receipt it no longer extends, before verify's own failure.
    let verified = match api.verify() {
        Err(LedgerError::Store(e)) if e.is_damage() => return Err(LedgerError::Store(e).into()),
        other => other,
    };
    let proven = crate::checkpoint::prove(api.as_ref(), &receipts);
    match (verified, proven) {
        (Ok(summary), Ok(proven)) => write_verified(ctx, &summary, &proven, !receipts.is_empty()),
        (Ok(_), Err(failed)) => Err(failed),
        (Err(e), Ok(_)) => Err(e.into()),
        (Err(e), Err(failed)) => {
            eprintln!("error: {failed}");
            Err(e.into())
        }
    }
}

/// What a `verify` that passed prints, with the receipts proven if `against` any.
fn write_verified(
    ctx: &Context,
    summary: &grant_ledger_projections::VerifySummary,
    proven: &[crate::checkpoint::Proven],
    against: bool,
) -> CliResult {
    let mut out = output::stdout();
    match ctx.format {
        Format::Json if !against => output::write_json(&mut out, summary)?,
        Format::Json => output::write_json(
            &mut out,
            &crate::checkpoint::VerifiedAgainst {
                summary,
                receipts: proven,
            },
        )?,
        Format::Csv => {
            let mut columns = vec!["events", "head_hash", "models"];
            let mut row = vec![
                Cell::Int(clamp(summary.events)),
                Cell::text(summary.head_hash.clone()),
                Cell::Int(count(summary.models)),
            ];
            if against {
                columns.push("receipts");
                row.push(Cell::Int(count(proven.len())));
            }
            let mut report = Report::new(columns);
            report.push(row);
            report.write(&mut out, true)?;
        }
        Format::Table => writeln!(
            out,
            "ok: {} event{} verified, hash chain intact (head {}), {} stored projection{} equal a fresh replay",
            summary.events,
            plural(summary.events),
            if summary.head_hash.is_empty() { "none" } else { &summary.head_hash },
            summary.models,
            plural(summary.models as u64)
        )
        .and_then(|()| crate::checkpoint::write_proven(&mut out, proven))?,
    }
    Ok(out.finish()?)
}
