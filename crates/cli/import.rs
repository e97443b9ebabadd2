//! `spend-import`: reading the CSV file into spend rows for the ledger, which
//! records all of them in one atomic append or none.
//!
//! The file is streamed (a `csv::Reader` over a buffered `File`), never read whole: the
//! ledger pulls one row at a time, so a million-row file costs no more memory than a short
//! one. The progress bar follows the bytes parsed against the file's size, which needs no
//! pass over the file up front.

use std::cell::{Cell, RefCell};
use std::fs::File;
use std::rc::Rc;

use grant_ledger_projections::{ImportSummary, Ledger, LedgerError, SpendRow};
use indicatif::{ProgressBar, ProgressStyle};

use crate::error::{CliError, CliResult};
use crate::lines::{LineTracking, Window};
use crate::parse;

/// The header of a spend import file, in the contract's order.
pub const HEADER: [&str; 9] = [
    "determination",
    "region",
    "amount",
    "date",
    "purpose",
    "authority",
    "description",
    "reference",
    "key",
];

/// The first five must have a value on every row; the last four may be empty.
const REQUIRED: usize = 5;

/// Where each of [`HEADER`]'s columns is in the file.
struct Columns([usize; 9]);

fn columns(header: &csv::StringRecord) -> Result<Columns, CliError> {
    let names: Vec<String> = header
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_lowercase())
        .collect();
    let mut found = [0usize; 9];
    for (slot, wanted) in found.iter_mut().zip(HEADER) {
        *slot = names.iter().position(|n| n == wanted).ok_or_else(|| {
            CliError::malformed(format!(
                "line 1: the header has no column \"{wanted}\"; it must be {}",
                HEADER.join(",")
            ))
        })?;
    }
    if let Some(extra) = names.iter().find(|n| !HEADER.contains(&n.as_str())) {
        return Err(CliError::malformed(format!(
            "line 1: the header has an unknown column \"{extra}\"; it must be {}",
            HEADER.join(",")
        )));
    }
    Ok(Columns(found))
}

fn at_line(line: u64, message: String) -> LedgerError {
    LedgerError::AtLine {
        line,
        source: Box::new(LedgerError::Malformed(message)),
    }
}

fn parse_row(
    columns: &Columns,
    line: u64,
    record: &csv::StringRecord,
) -> Result<SpendRow, LedgerError> {
    let field = |index: usize| -> &str { record.get(columns.0[index]).unwrap_or("").trim() };
    for (index, name) in HEADER.iter().enumerate().take(REQUIRED) {
        if field(index).is_empty() {
            return Err(at_line(line, format!("{name} is empty")));
        }
    }
    let optional = |index: usize| -> Option<String> {
        let value = field(index);
        (!value.is_empty()).then(|| value.to_string())
    };
    let amount = parse::money("amount", field(2)).map_err(|e| at_line(line, e.to_string()))?;
    let date = parse::date("date", field(3)).map_err(|e| at_line(line, e.to_string()))?;
    Ok(SpendRow {
        line,
        determination: field(0).to_string(),
        region: field(1).to_string(),
        amount,
        date,
        purpose: field(4).to_string(),
        authority: optional(5),
        description: optional(6),
        reference: optional(7),
        key: optional(8),
    })
}

/// Parses the file lazily, row by row, handing each to the ledger.
struct Rows {
    reader: csv::Reader<LineTracking<File>>,
    /// Where each record really starts: the csv crate's line numbers are not to be trusted.
    lines: Rc<RefCell<Window>>,
    columns: Columns,
    record: csv::StringRecord,
    done: bool,
    /// Bytes parsed so far, shared with the progress bar (which cannot borrow the reader
    /// while the ledger pulls rows from it).
    parsed: Rc<Cell<u64>>,
}

impl Iterator for Rows {
    type Item = Result<SpendRow, LedgerError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let read = self.reader.read_record(&mut self.record);
        self.parsed.set(self.reader.position().byte());
        match read {
            Ok(true) => {
                let offset = self.record.position().map_or(0, |p| p.byte());
                let line = self.lines.borrow_mut().line_at(offset);
                if self.record.iter().all(|f| f.trim().is_empty()) {
                    // A blank line: skip it.
                    return self.next();
                }
                Some(parse_row(&self.columns, line, &self.record))
            }
            Ok(false) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                let offset = e.position().map_or(0, |p| p.byte());
                let line = self.lines.borrow_mut().line_at(offset);
                let reason = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => "is not UTF-8 text".to_string(),
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => format!("has {len} fields, the header has {expected_len}"),
                    csv::ErrorKind::Io(io) => format!("cannot be read ({io})"),
                    _ => format!("does not parse as CSV ({e})"),
                };
                Some(Err(at_line(line, format!("the row {reason}"))))
            }
        }
    }
}

/// Records every spend in `file` (a CSV file of `len` bytes) or none. With `progress`, draws
/// a bar on stderr.
pub fn import_csv(
    ledger: &Ledger,
    actor: &str,
    file: File,
    len: u64,
    progress: bool,
) -> CliResult<ImportSummary> {
    // The csv reader buffers what it reads, so the file needs no BufReader of its own.
    let (tracking, lines) = LineTracking::new(file);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(tracking);
    let header = reader
        .headers()
        .map_err(|e| {
            CliError::malformed(format!("line 1: the header does not parse as CSV ({e})"))
        })?
        .clone();
    if header.is_empty() {
        return Err(CliError::malformed(format!(
            "line 1: the file is empty; it needs the header {}",
            HEADER.join(",")
        )));
    }
    let columns = columns(&header)?;
    let parsed = Rc::new(Cell::new(reader.position().byte()));
    let mut rows = Rows {
        reader,
        lines,
        columns,
        record: csv::StringRecord::new(),
        done: false,
        parsed: Rc::clone(&parsed),
    };
    let bar = progress.then(|| progress_bar(len));
    let summary = ledger.import_spends(actor, &mut rows, &mut |_rows: u64| {
        if let Some(bar) = &bar {
            bar.set_position(parsed.get());
        }
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    Ok(summary?)
}

fn progress_bar(len: u64) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} importing spends [{bar:40}] {bytes}/{total_bytes}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
