//! `determination check`: the formula recomputed per region, the stated workings that
//! do not multiply out, and what `--strict` refuses.

use std::io::Write;

use grant_ledger_domain::FormulaCheck;

use super::sum;
use crate::args::Format;
use crate::error::{CliError, CliResult};
use crate::output::{self, Cell, Report};
use crate::register_names;

/// The regions of a formula check: fixed columns, then one per component.
fn check_regions(check: &FormulaCheck) -> Report {
    let purposes: Vec<String> = check
        .regions
        .first()
        .map(|r| r.components.keys().cloned().collect())
        .unwrap_or_default();
    let mut headers: Vec<String> = [
        "region",
        "authorities",
        "formula",
        "determined",
        "difference",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    headers.extend(purposes.iter().cloned());
    let mut report = Report::new(headers);
    for r in &check.regions {
        let mut row = vec![
            Cell::text(&r.region),
            Cell::Int(i64::try_from(r.authorities).unwrap_or(i64::MAX)),
            Cell::Money(r.formula),
            Cell::Money(r.determined),
            Cell::Money(r.difference),
        ];
        for purpose in &purposes {
            row.push(
                r.components
                    .get(purpose)
                    .map_or(Cell::Null, |m| Cell::Money(*m)),
            );
        }
        report.push(row);
    }
    let mut totals = vec![
        Cell::text("Total"),
        Cell::Int(
            i64::try_from(check.regions.iter().map(|r| r.authorities).sum::<usize>())
                .unwrap_or(i64::MAX),
        ),
        Cell::Money(sum(check.regions.iter().map(|r| r.formula))),
        Cell::Money(sum(check.regions.iter().map(|r| r.determined))),
        Cell::Money(sum(check.regions.iter().map(|r| r.difference))),
    ];
    for purpose in &purposes {
        totals.push(Cell::Money(sum(check
            .regions
            .iter()
            .filter_map(|r| r.components.get(purpose).copied()))));
    }
    report.totals = Some(totals);
    report
}

fn check_workings(check: &FormulaCheck) -> Report {
    let mut report = Report::new([
        "purpose",
        "working",
        "working_amount",
        "amount",
        "difference",
    ]);
    for w in &check.workings {
        report.push(vec![
            Cell::text(&w.purpose),
            Cell::text(&w.working),
            Cell::Money(w.working_amount),
            Cell::Money(w.amount),
            Cell::Money(w.difference),
        ]);
    }
    report
}

/// `determination check`: regions (JSON: array of region objects), or with
/// `--workings` only the workings that do not multiply out. A table also
/// lists those workings under the regions.
pub fn write_check(
    out: &mut dyn Write,
    format: Format,
    check: &FormulaCheck,
    workings_only: bool,
) -> CliResult {
    match (format, workings_only) {
        (Format::Json, false) => output::write_json(out, &check.regions),
        (Format::Json, true) => output::write_json(out, &check.workings),
        (Format::Csv, false) => check_regions(check).write(out, true),
        (Format::Csv, true) => check_workings(check).write(out, true),
        (Format::Table, true) => write_workings_table(out, check),
        (Format::Table, false) => {
            check_regions(check).write(out, false)?;
            let differing: Vec<_> = check
                .regions
                .iter()
                .filter(|r| !r.difference.is_zero())
                .collect();
            if differing.is_empty() {
                writeln!(out, "Every allocation equals its formula.")?;
            }
            for r in differing {
                writeln!(
                    out,
                    "{}: formula {} vs determined {}, difference {}",
                    r.region, r.formula, r.determined, r.difference
                )?;
            }
            writeln!(out)?;
            write_workings_table(out, check)?;
            writeln!(out)?;
            register_names::write_renamed(out, check)
        }
    }
}

fn write_workings_table(out: &mut dyn Write, check: &FormulaCheck) -> CliResult {
    if check.workings.is_empty() {
        writeln!(out, "Every stated working equals its amount.")?;
        Ok(())
    } else {
        writeln!(out, "Stated workings that do not equal their amount:")?;
        check_workings(check).write(out, false)
    }
}

/// `--strict`: refused when anything does not reconcile.
pub fn strict_outcome(id: &str, check: &FormulaCheck) -> CliResult {
    let regions: Vec<String> = check
        .regions
        .iter()
        .filter(|r| !r.difference.is_zero())
        .map(|r| format!("{} by {}", r.region, r.difference))
        .collect();
    let workings: Vec<String> = check
        .workings
        .iter()
        .map(|w| format!("{} by {}", w.purpose, w.difference))
        .collect();
    let renamed = register_names::strict_part(check);
    if regions.is_empty() && workings.is_empty() && renamed.is_none() {
        return Ok(());
    }
    let mut parts = Vec::new();
    if !regions.is_empty() {
        parts.push(format!(
            "allocations differ from the formula ({})",
            regions.join(", ")
        ));
    }
    if !workings.is_empty() {
        parts.push(format!(
            "stated workings differ from their amounts ({})",
            workings.join(", ")
        ));
    }
    parts.extend(renamed);
    Err(CliError::refused(format!(
        "determination {id} does not reconcile: {}",
        parts.join("; ")
    )))
}
