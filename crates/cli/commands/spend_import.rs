//! `spend-import`: a CSV file (or standard input) of spends streamed into one atomic
//! import, with a progress bar on a terminal.

use std::io::{IsTerminal, Write};
use std::path::Path;

use grant_ledger_projections::ImportSummary;

use super::{budget, clamp, plural, Context};
use crate::args::Format;
use crate::error::{CliError, CliResult};
use crate::files::io_reason;
use crate::output::{self, Cell, Report};

pub(super) fn run(ctx: &Context, file: &Path, today: Option<&str>) -> CliResult {
    if file.as_os_str() == "-" {
        // Standard input: streamed like a file, with no size to draw progress against.
        let api = ctx.adding_on("no spend can be recorded", today)?;
        let before = budget::before_import(api.as_ref());
        let summary = api.import_spends(None, Box::new(std::io::stdin().lock()), &mut |_| {})?;
        budget::warn_after_import(api.as_ref(), &before);
        return print_import_summary(ctx.format, &summary);
    }
    // Opened (not read) before the ledger, so a missing file never touches it; the rows are
    // streamed from it during the import.
    let cannot =
        |reason: String| CliError::malformed(format!("cannot read {}: {reason}", file.display()));
    let opened = std::fs::File::open(file).map_err(|e| cannot(io_reason(file, &e)))?;
    let meta = opened.metadata().map_err(|e| cannot(io_reason(file, &e)))?;
    if meta.is_dir() {
        return Err(cannot("it is a directory".to_string()));
    }
    let api = ctx.adding_on("no spend can be recorded", today)?;
    let before = budget::before_import(api.as_ref());
    let bar = std::io::stderr()
        .is_terminal()
        .then(|| progress_bar(meta.len()));
    let summary = api.import_spends(None, Box::new(opened), &mut |bytes| {
        if let Some(bar) = &bar {
            bar.set_position(bytes);
        }
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let summary = summary?;
    budget::warn_after_import(api.as_ref(), &before);
    print_import_summary(ctx.format, &summary)
}

fn progress_bar(len: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} importing spends [{bar:40}] {bytes}/{total_bytes}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn print_import_summary(format: Format, summary: &ImportSummary) -> CliResult {
    let mut out = output::stdout();
    match format {
        Format::Json => output::write_json(&mut out, summary)?,
        Format::Csv => {
            let mut report =
                Report::new(["recorded", "skipped", "first_position", "last_position"]);
            report.push(vec![
                Cell::Int(clamp(summary.recorded)),
                Cell::Int(clamp(summary.skipped)),
                summary
                    .first_position
                    .map_or(Cell::Null, |p| Cell::Int(clamp(p))),
                summary
                    .last_position
                    .map_or(Cell::Null, |p| Cell::Int(clamp(p))),
            ]);
            report.write(&mut out, true)?;
        }
        Format::Table => {
            let positions = match (summary.first_position, summary.last_position) {
                (Some(first), Some(last)) if first == last => format!(" at position {first}"),
                (Some(first), Some(last)) => format!(" at positions {first}-{last}"),
                _ => String::new(),
            };
            writeln!(
                out,
                "imported {} spend{}{positions}; {} row{} already recorded with the same key",
                summary.recorded,
                plural(summary.recorded),
                summary.skipped,
                plural(summary.skipped)
            )?;
        }
    }
    Ok(out.finish()?)
}
