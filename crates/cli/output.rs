//! Rendering rows as a table for people, as CSV, or as one JSON document.
//!
//! Query rows are described once as a [`Report`] (headers plus typed cells)
//! for table and CSV; JSON serializes the library's row structs directly, so
//! its field names are exactly the contract's.

use std::io::{self, Write};

use chrono::NaiveDate;
use comfy_table::{presets, CellAlignment, ColumnConstraint, ContentArrangement, Table};
use grant_ledger_domain::Money;
use serde::Serialize;

use crate::error::CliResult;

/// One value in a table or CSV cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Money(Money),
    Int(i64),
    Date(NaiveDate),
    Null,
}

impl Cell {
    pub fn text(value: impl Into<String>) -> Cell {
        Cell::Text(value.into())
    }

    pub fn opt_text(value: Option<&str>) -> Cell {
        value.map_or(Cell::Null, Cell::text)
    }

    fn is_numeric(&self) -> bool {
        matches!(self, Cell::Money(_) | Cell::Int(_))
    }

    /// For people: money as `£318,000.00`, nothing as empty.
    fn for_table(&self) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Money(m) => m.to_string(),
            Cell::Int(i) => i.to_string(),
            Cell::Date(d) => d.to_string(),
            Cell::Null => String::new(),
        }
    }

    /// For machines: money as `318000.00`, nothing as empty.
    fn for_csv(&self) -> String {
        match self {
            Cell::Money(m) => m.plain(),
            other => other.for_table(),
        }
    }
}

/// Rows with named columns, and an optional totals row for tables.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    pub totals: Option<Vec<Cell>>,
}

impl Report {
    pub fn new<I, S>(headers: I) -> Report
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Report {
            headers: headers.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
            totals: None,
        }
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }

    /// The table for people, fitted into `width` columns when given: text columns wrap,
    /// numbers and dates never do, and a table whose figures alone are wider than `width`
    /// is shown as records instead (one block per row, a line per column), which fits any
    /// width without breaking a figure. Numeric columns are right-aligned.
    pub fn to_table(&self, width: Option<u16>) -> String {
        let Some(width) = width else {
            return self.table(&[], None);
        };
        // First only the long texts wrap; if the rest is still too wide, every text may;
        // if even the figures are too wide, each row becomes a record.
        let columns = self.columns();
        for keep_short_texts in [true, false] {
            let fixed: Vec<bool> = columns
                .iter()
                .map(|c| c.figures || (keep_short_texts && c.natural <= MAX_UNBROKEN_TEXT))
                .collect();
            let least: usize = 1 + columns
                .iter()
                .zip(&fixed)
                .map(|(c, fixed)| {
                    3 + if *fixed {
                        c.natural
                    } else {
                        MIN_TEXT_WIDTH.min(c.natural)
                    }
                })
                .sum::<usize>();
            if least <= usize::from(width) {
                return self.table(&fixed, Some(width));
            }
        }
        self.records(usize::from(width))
    }

    /// Each row as a block of `column  value` lines under a rule naming the row, values
    /// wrapped at word boundaries to fit `width` (the way `psql` shows a wide row).
    fn records(&self, width: usize) -> String {
        let label = self
            .headers
            .iter()
            .map(|h| h.chars().count())
            .max()
            .unwrap_or(0);
        let room = width.saturating_sub(label + 2).max(MIN_TEXT_WIDTH);
        let count = self.rows.len();
        let titled = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, row)| (format!("row {} of {count}", i + 1), row, false))
            .chain(
                self.totals
                    .iter()
                    .map(|row| ("totals".to_string(), row, true)),
            );
        let mut out = String::new();
        for (title, row, totals) in titled {
            let rule = width.saturating_sub(title.chars().count() + 4);
            out.push_str(&format!("── {title} {}\n", "─".repeat(rule)));
            for (header, cell) in self.headers.iter().zip(row) {
                let value = cell.for_table();
                // A totals row sums some columns only; the rest would be empty lines.
                if totals && value.is_empty() {
                    continue;
                }
                let mut lines = wrap(&value, room).into_iter();
                let first = lines.next().unwrap_or_default();
                out.push_str(format!("{header:<label$}  {first}").trim_end());
                out.push('\n');
                for more in lines {
                    out.push_str(&format!("{:label$}  {more}\n", ""));
                }
            }
        }
        out.pop();
        out
    }

    /// What fitting needs to know of each column: its widest cell, and whether it holds
    /// figures (money, counts, dates), which never break.
    fn columns(&self) -> Vec<ColumnShape> {
        (0..self.headers.len())
            .map(|index| {
                let cells = self
                    .rows
                    .iter()
                    .chain(self.totals.iter())
                    .filter_map(|row| row.get(index));
                ColumnShape {
                    figures: cells
                        .clone()
                        .any(|c| c.is_numeric() || matches!(c, Cell::Date(_))),
                    natural: cells
                        .map(|c| c.for_table().chars().count())
                        .chain(self.headers.get(index).map(|h| h.chars().count()))
                        .max()
                        .unwrap_or(0),
                }
            })
            .collect()
    }

    /// The table, with the `fixed` columns kept at their content's width and the rest
    /// wrapped to fit `width` (when given).
    fn table(&self, fixed: &[bool], width: Option<u16>) -> String {
        let mut table = Table::new();
        table
            .load_preset(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(self.headers.clone());
        let all_rows = self.rows.iter().chain(self.totals.iter());
        for row in all_rows.clone() {
            table.add_row(row.iter().map(Cell::for_table).collect::<Vec<_>>());
        }
        for index in 0..self.headers.len() {
            let numeric = all_rows
                .clone()
                .filter_map(|row| row.get(index))
                .any(Cell::is_numeric);
            if let Some(column) = table.column_mut(index) {
                if numeric {
                    column.set_cell_alignment(CellAlignment::Right);
                }
                if fixed.get(index).copied().unwrap_or(false) {
                    column.set_constraint(ColumnConstraint::ContentWidth);
                }
            }
        }
        if let Some(width) = width {
            table
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(width);
        }
        table.to_string()
    }

    /// Writes the report in the chosen text format (table or CSV). Totals are
    /// only for people, so CSV leaves them out.
    pub fn write(&self, out: &mut dyn Write, csv_format: bool) -> CliResult {
        if csv_format {
            let mut writer = csv::Writer::from_writer(out);
            writer.write_record(&self.headers)?;
            for row in &self.rows {
                writer.write_record(row.iter().map(Cell::for_csv))?;
            }
            writer.flush()?;
        } else if self.rows.is_empty() {
            writeln!(out, "(no rows)")?;
        } else {
            writeln!(out, "{}", self.to_table(terminal_width()))?;
        }
        Ok(())
    }
}

/// `text` in lines of at most `width` characters, broken between words where it can be
/// and inside a word longer than a line.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        loop {
            let used = line.chars().count();
            let gap = usize::from(used > 0);
            if used + gap + word.len() <= width {
                if gap == 1 {
                    line.push(' ');
                }
                line.extend(word.iter());
                break;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            let rest = word.split_off(width.min(word.len()));
            lines.push(word.into_iter().collect());
            word = rest;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// A column as fitting sees it.
struct ColumnShape {
    figures: bool,
    natural: usize,
}

/// The narrowest a wrapped text column may become.
const MIN_TEXT_WIDTH: usize = 12;

/// Text columns no wider than this are kept whole when a table is fitted.
const MAX_UNBROKEN_TEXT: usize = 24;

/// The width of the terminal when standard output is one; `None` (full width) when it is a
/// file or a pipe, so that a script reading a table gets it whole.
fn terminal_width() -> Option<u16> {
    use std::io::IsTerminal;
    if !io::stdout().is_terminal() {
        return None;
    }
    Table::new().width().filter(|w| *w >= 40)
}

/// One JSON document, pretty-printed, newline-terminated.
pub fn write_json<T: Serialize + ?Sized>(out: &mut dyn Write, value: &T) -> CliResult {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}

/// How much output is held back before it starts to stream. Every answer up to this size
/// reaches stdout whole or not at all, so a command that fails half-way (a corrupt event
/// met by `history`) leaves no half-written JSON document behind it. Larger answers
/// (the whole trail of a big ledger) stream, since holding them would cost their size.
pub const WHOLE_OUTPUT_LIMIT: usize = 16 * 1024 * 1024;

/// Stdout for one command's answer: held in memory up to [`WHOLE_OUTPUT_LIMIT`], written
/// by [`Output::finish`]; dropped unfinished, whatever is still held is discarded.
pub struct Output {
    held: Vec<u8>,
    streaming: Option<io::BufWriter<io::StdoutLock<'static>>>,
}

pub fn stdout() -> Output {
    Output {
        held: Vec::new(),
        streaming: None,
    }
}

impl Output {
    /// The answer is complete: write it all out.
    pub fn finish(mut self) -> io::Result<()> {
        let held = std::mem::take(&mut self.held);
        let out = self
            .streaming
            .get_or_insert_with(|| io::BufWriter::new(io::stdout().lock()));
        out.write_all(&held)?;
        out.flush()
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(out) = &mut self.streaming {
            return out.write(buf);
        }
        self.held.extend_from_slice(buf);
        if self.held.len() > WHOLE_OUTPUT_LIMIT {
            let mut out = io::BufWriter::new(io::stdout().lock());
            out.write_all(&self.held)?;
            self.held = Vec::new();
            self.streaming = Some(out);
        }
        Ok(buf.len())
    }

    /// Deliberately keeps held output held: writers layered on top (csv) flush when they
    /// are dropped, also on an error path, and that must not publish half an answer.
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.streaming {
            Some(out) => out.flush(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(pounds: i64) -> Cell {
        Cell::Money(Money::from_pounds(pounds).unwrap_or(Money::ZERO))
    }

    #[test]
    fn a_table_fits_the_width_it_is_given_wrapping_text_not_money() {
        let mut report = Report::new(["region", "lead_authority", "detail", "paid"]);
        report.push(vec![
            Cell::text("Yorkshire and Humber"),
            Cell::text("North Yorkshire County Council"),
            Cell::text("to North Yorkshire County Council; ref BACS-2024-7429; a long description of what was paid"),
            money(249_200),
        ]);
        let wide = report.to_table(None);
        assert!(wide.lines().any(|l| l.chars().count() > 80), "{wide}");
        let fitted = report.to_table(Some(80));
        assert!(fitted.lines().all(|l| l.chars().count() <= 80), "{fitted}");
        assert!(fitted.contains("£249,200.00"), "{fitted}");
    }

    #[test]
    fn a_table_whose_figures_alone_overflow_is_shown_as_records_that_fit() {
        let headers: Vec<String> = (0..9).map(|i| format!("figure_{i}")).collect();
        let mut report = Report::new(headers);
        report.push((0..9).map(|_| money(318_000)).collect());
        report.push((0..9).map(|_| money(1)).collect());
        report.totals = Some((0..9).map(|_| money(318_001)).collect());
        let fitted = report.to_table(Some(40));
        assert!(fitted.lines().all(|l| l.chars().count() <= 40), "{fitted}");
        assert!(fitted.starts_with("── row 1 of 2 "), "{fitted}");
        assert!(fitted.contains("── totals "), "{fitted}");
        assert!(fitted.contains("figure_8  £318,000.00"), "{fitted}");
        assert_eq!(fitted.matches("£318,001.00").count(), 9, "{fitted}");
    }

    #[test]
    fn a_record_wraps_a_long_value_between_words_and_breaks_only_a_word_too_long() {
        assert_eq!(
            wrap("to North Yorkshire County", 12),
            ["to North", "Yorkshire", "County"]
        );
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), [""]);
    }

    #[test]
    fn table_shows_pounds_and_csv_plain() {
        let mut report = Report::new(["region", "paid"]);
        report.push(vec![Cell::text("London"), money(318_000)]);
        report.totals = Some(vec![Cell::text("Total"), money(318_000)]);
        let table = report.to_table(None);
        assert!(table.contains("£318,000.00"), "{table}");
        assert!(table.contains("Total"));
        let mut csv = Vec::new();
        assert!(report.write(&mut csv, true).is_ok());
        assert_eq!(
            String::from_utf8_lossy(&csv),
            "region,paid\nLondon,318000.00\n"
        );
    }
}
