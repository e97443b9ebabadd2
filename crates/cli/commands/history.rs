//! `history`: the filtered audit trail, streamed as JSON or CSV and laid out in pages
//! as a table, so that a trail of any length is never held whole.

use std::io::Write;

use grant_ledger_projections::{input, HistoryEntry, HistoryFilter};

use super::Context;
use crate::args::{self, Format};
use crate::error::{CliError, CliResult};
use crate::output;
use crate::render;

pub(super) fn run(ctx: &Context, a: args::HistoryArgs) -> CliResult {
    let event_type = a
        .event_type
        .as_deref()
        .map(|t| input::event_type("--type", t))
        .transpose()?;
    let filter = HistoryFilter {
        region: a.region,
        event_type,
        since: input::opt_date("--since", a.since.as_deref())?,
        until: input::opt_date("--until", a.until.as_deref())?,
        limit: a.limit,
        after: a.after,
        recorded_by: input::non_empty(a.recorded_by),
        determination: input::non_empty(a.determination),
        key: input::non_empty(a.key),
        purpose: input::non_empty(a.purpose),
        authority: input::non_empty(a.authority),
        newest_first: a.newest_first,
    };
    if let (Some(since), Some(until)) = (filter.since, filter.until) {
        if since > until {
            return Err(CliError::malformed(format!(
                "--since {since} is after --until {until}, so no event could match"
            )));
        }
    }
    let ledger = ctx.reading()?;
    let mut out = output::stdout();
    match ctx.format {
        Format::Json => {
            // Streamed: the trail may be long, so never hold it all.
            let mut first = true;
            let mut write_err: Option<std::io::Error> = None;
            write!(out, "[")?;
            ledger
                .history(&filter, &mut |entry: HistoryEntry| {
                    let written = (|| -> std::io::Result<()> {
                        out.write_all(if first { b"\n  " } else { b",\n  " })?;
                        serde_json::to_writer(&mut out, &entry)?;
                        Ok(())
                    })();
                    first = false;
                    if let Err(e) = written {
                        write_err = Some(e);
                        return Err(stop_streaming());
                    }
                    Ok(())
                })
                .map_err(|e| write_err.take().map_or(CliError::from(e), CliError::Output))?;
            writeln!(out, "{}]", if first { "" } else { "\n" })?;
        }
        Format::Csv => {
            let mut write_err: Option<CliError> = None;
            {
                let mut writer = render::history_csv_writer(&mut out)?;
                ledger
                    .history(&filter, &mut |entry: HistoryEntry| {
                        if let Err(e) = render::history_csv_row(&mut writer, &entry) {
                            write_err = Some(e);
                            return Err(stop_streaming());
                        }
                        Ok(())
                    })
                    .map_err(|e| write_err.take().unwrap_or(CliError::from(e)))?;
                writer.flush()?;
            }
        }
        Format::Table => {
            // In pages: laying out the whole trail as one table would hold all of it.
            let mut page = render::history_report();
            let mut pages = 0usize;
            let mut write_err: Option<CliError> = None;
            ledger
                .history(&filter, &mut |entry: HistoryEntry| {
                    page.push(render::history_row(&entry));
                    if page.rows.len() >= render::HISTORY_TABLE_PAGE {
                        if let Err(e) = page.write(&mut out, false) {
                            write_err = Some(e);
                            return Err(stop_streaming());
                        }
                        page.rows.clear();
                        pages += 1;
                    }
                    Ok(())
                })
                .map_err(|e| write_err.take().unwrap_or(CliError::from(e)))?;
            if pages == 0 || !page.rows.is_empty() {
                page.write(&mut out, false)?;
            }
        }
    }
    Ok(out.finish()?)
}

/// The error handed back to `Ledger::history` to stop it when our output fails;
/// the real cause is kept by the caller and reported instead.
fn stop_streaming() -> grant_ledger_projections::LedgerError {
    grant_ledger_projections::LedgerError::Malformed("output stopped".to_string())
}
