//! The spend import file format: reading CSV (a file, standard input, an HTTP body) into
//! spend rows for [`Ledger::import_spends`](crate::Ledger::import_spends), which records all
//! of them in one atomic append or none.
//!
//! The input is streamed (a `csv::Reader` over any `Read`), never read whole: the ledger
//! pulls one row at a time, so a million-row file costs no more memory than a short one.
//! [`SpendRows::bytes_parsed`] lets a caller draw progress against the input's size.

use std::cell::{Cell, RefCell};
use std::io::Read;
use std::rc::Rc;

use crate::error::LedgerError;
use crate::input;
use crate::lines::{LineTracking, Window};
use crate::rows::SpendRow;

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

fn columns(header: &csv::StringRecord) -> Result<Columns, LedgerError> {
    let names: Vec<String> = header
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_lowercase())
        .collect();
    if let [only] = names.as_slice() {
        for separator in [';', '\t', '|'] {
            // Any of the header's names between such separators gives it away, however
            // many columns the file has.
            let mut parts = only.split(separator).map(str::trim);
            if only.contains(separator) && parts.any(|part| HEADER.contains(&part)) {
                let shown = if separator == '\t' {
                    "tab".to_string()
                } else {
                    format!("\"{separator}\"")
                };
                return Err(LedgerError::malformed(format!(
                    "line 1: the file looks like {shown}-separated values; spend-import needs commas between columns: {}",
                    HEADER.join(",")
                )));
            }
        }
    }
    let mut found = [0usize; 9];
    for (slot, wanted) in found.iter_mut().zip(HEADER) {
        *slot = names.iter().position(|n| n == wanted).ok_or_else(|| {
            LedgerError::malformed(format!(
                "line 1: the header has no column \"{wanted}\"; it must be {}",
                HEADER.join(",")
            ))
        })?;
    }
    if let Some(extra) = names.iter().find(|n| !HEADER.contains(&n.as_str())) {
        return Err(LedgerError::malformed(format!(
            "line 1: the header has an unknown column \"{}\"; it must be {}",
            grant_ledger_domain::echo(extra),
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
    let amount = input::money("amount", field(2)).map_err(|e| at_line(line, e.to_string()))?;
    let date = input::date("date", field(3)).map_err(|e| at_line(line, e.to_string()))?;
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

/// The rows of a spend import, parsed lazily as the ledger pulls them.
pub struct SpendRows<R: Read> {
    reader: csv::Reader<LineTracking<R>>,
    /// Where each record really starts: the csv crate's line numbers are not to be trusted.
    lines: Rc<RefCell<Window>>,
    columns: Columns,
    record: csv::StringRecord,
    done: bool,
    /// Bytes parsed so far, shared with the progress bar (which cannot borrow the reader
    /// while the ledger pulls rows from it).
    parsed: Rc<Cell<u64>>,
}

impl<R: Read> SpendRows<R> {
    /// Reads and checks the header of `input`; the rows follow as the iterator is pulled.
    pub fn new(input: R) -> Result<Self, LedgerError> {
        // The csv reader buffers what it reads, so the input needs no BufReader of its own.
        let (tracking, lines) = LineTracking::new(input);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(tracking);
        let header = reader
            .headers()
            .map_err(|e| {
                LedgerError::malformed(format!("line 1: the header does not parse as CSV ({e})"))
            })?
            .clone();
        if header.is_empty() {
            return Err(LedgerError::malformed(format!(
                "line 1: the file is empty; it needs the header {}",
                HEADER.join(",")
            )));
        }
        let columns = columns(&header)?;
        let parsed = Rc::new(Cell::new(reader.position().byte()));
        Ok(SpendRows {
            reader,
            lines,
            columns,
            record: csv::StringRecord::new(),
            done: false,
            parsed,
        })
    }

    /// A handle on how many bytes of the input have been parsed so far, for progress.
    pub fn bytes_parsed(&self) -> Rc<Cell<u64>> {
        Rc::clone(&self.parsed)
    }
}

impl<R: Read> Iterator for SpendRows<R> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn header_error(text: &str) -> Option<String> {
        SpendRows::new(text.as_bytes()).err().map(|e| e.to_string())
    }

    #[test]
    fn a_semicolon_separated_file_is_named_as_such() {
        let e = header_error(
            "determination;region;amount;date;purpose;authority;description;reference;key\n",
        );
        assert!(e.is_some_and(|m| m.contains("\";\"-separated") && m.contains("commas")));
    }

    #[test]
    fn a_semicolon_separated_file_with_fewer_columns_is_named_as_such() {
        let e = header_error("determination;region;amount;date;purpose\n");
        assert!(e.is_some_and(|m| m.contains("\";\"-separated") && m.contains("commas")));
    }

    #[test]
    fn a_header_without_a_column_names_it() {
        let e = header_error("determination,region,amount\n");
        assert!(e.is_some_and(|m| m.contains("no column \"date\"")));
    }

    #[test]
    fn an_unknown_column_spanning_lines_is_named_on_one_line() {
        // Found by the spend_csv fuzz target: a quoted header field holding newlines.
        let e = header_error(
            "determination,region,amount,date,purpose,\"authority,description,reference,key\n31/7421,x\",authority,description,reference,key\n",
        );
        let message = e.expect("an unknown column is refused");
        assert!(message.contains("unknown column"), "{message}");
        assert!(!message.contains('\n'), "{message:?}");
    }
}
