//! How each kind of row looks in a table or CSV file.

use std::io::Write;

use grant_ledger_domain::{Determination, FormulaCheck, Money};
use grant_ledger_projections::{
    BalanceRow, DeadlineRow, HistoryEntry, SpendReportBy, SpendReportRow,
};

use crate::args::Format;
use crate::error::{CliError, CliResult};
use crate::output::{self, Cell, Report};
use crate::register_names;

/// A sum for display; saturates rather than fails (figures on record are bounded).
pub fn sum(amounts: impl IntoIterator<Item = Money>) -> Money {
    amounts.into_iter().fold(Money::ZERO, |total, amount| {
        total.checked_add(amount).unwrap_or(Money::MAX)
    })
}

pub fn allocations(d: &Determination) -> Report {
    let mut report = Report::new([
        "region",
        "region_ons_code",
        "lead_authority",
        "org_id",
        "authorities",
        "amount",
    ]);
    for a in &d.allocations {
        report.push(vec![
            Cell::text(&a.region),
            Cell::opt_text(a.region_ons_code.as_deref()),
            Cell::text(&a.lead_authority),
            Cell::opt_text(a.org_id.as_deref()),
            Cell::Int(i64::try_from(a.authorities.len()).unwrap_or(i64::MAX)),
            Cell::Money(a.amount),
        ]);
    }
    report.totals = Some(vec![
        Cell::text("Total"),
        Cell::Null,
        Cell::Null,
        Cell::Null,
        Cell::Int(
            i64::try_from(
                d.allocations
                    .iter()
                    .map(|a| a.authorities.len())
                    .sum::<usize>(),
            )
            .unwrap_or(i64::MAX),
        ),
        Cell::Money(sum(d.allocations.iter().map(|a| a.amount))),
    ]);
    report
}

pub fn components(d: &Determination) -> Report {
    let mut report = Report::new(["purpose", "basis", "amount", "region", "uplift", "working"]);
    for c in &d.components {
        let uplift = c
            .uplift
            .iter()
            .map(|(region, fraction)| format!("{region} +{fraction}"))
            .collect::<Vec<_>>()
            .join(", ");
        let working = c.working.as_ref().map(|w| {
            let factors = w
                .factors
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(" x ");
            match &w.note {
                Some(note) => format!("{factors} x {} ({note})", w.rate),
                None => format!("{factors} x {}", w.rate),
            }
        });
        report.push(vec![
            Cell::text(&c.purpose),
            Cell::text(c.basis.as_str()),
            Cell::Money(c.amount),
            Cell::opt_text(c.region.as_deref()),
            if uplift.is_empty() {
                Cell::Null
            } else {
                Cell::Text(uplift)
            },
            Cell::opt_text(working.as_deref()),
        ]);
    }
    report
}

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

pub fn balances(rows: &[BalanceRow]) -> Report {
    let mut report = Report::new([
        "determination",
        "region",
        "lead_authority",
        "determined",
        "paid",
        "recovered",
        "spent",
        "unpaid",
        "unspent",
        "status",
        "paid_on",
        // Added last, so that a script reading the older columns by position still finds them.
        "outstanding",
        "instalments_paid",
    ]);
    for r in rows {
        report.push(vec![
            Cell::text(&r.determination),
            Cell::text(&r.region),
            Cell::text(&r.lead_authority),
            Cell::Money(r.determined),
            Cell::Money(r.paid),
            Cell::Money(r.recovered),
            Cell::Money(r.spent),
            Cell::Money(r.unpaid),
            Cell::Money(r.unspent),
            Cell::text(r.status.as_str()),
            r.paid_on.map_or(Cell::Null, Cell::Date),
            Cell::Money(r.outstanding),
            Cell::Int(i64::from(r.instalments_paid)),
        ]);
    }
    report.totals = Some(vec![
        Cell::text("Total"),
        Cell::Null,
        Cell::Null,
        Cell::Money(sum(rows.iter().map(|r| r.determined))),
        Cell::Money(sum(rows.iter().map(|r| r.paid))),
        Cell::Money(sum(rows.iter().map(|r| r.recovered))),
        Cell::Money(sum(rows.iter().map(|r| r.spent))),
        Cell::Money(sum(rows.iter().map(|r| r.unpaid))),
        Cell::Money(sum(rows.iter().map(|r| r.unspent))),
        Cell::Null,
        Cell::Null,
        Cell::Money(sum(rows.iter().map(|r| r.outstanding))),
        Cell::Null,
    ]);
    report
}

pub fn deadlines(rows: &[DeadlineRow]) -> Report {
    let mut report = Report::new([
        "determination",
        "region",
        "deadline",
        "status",
        "days_left",
        "outstanding",
        "instalments_paid",
    ]);
    for r in rows {
        report.push(vec![
            Cell::text(&r.determination),
            Cell::text(&r.region),
            Cell::Date(r.deadline),
            Cell::text(r.status.as_str()),
            r.days_left.map_or(Cell::Null, Cell::Int),
            Cell::Money(r.outstanding),
            Cell::Int(i64::from(r.instalments_paid)),
        ]);
    }
    report
}

/// Each scheduled instalment of `rows`, for the table under `deadlines`; `None` when no
/// row's determination has a schedule.
pub fn instalments(rows: &[DeadlineRow]) -> Option<Report> {
    let mut report = Report::new([
        "determination",
        "region",
        "instalment",
        "due",
        "amount",
        "outstanding",
    ]);
    let mut any = false;
    for r in rows {
        for i in &r.schedule {
            any = true;
            report.push(vec![
                Cell::text(&r.determination),
                Cell::text(&r.region),
                Cell::Int(i64::from(i.instalment)),
                Cell::Date(i.due),
                Cell::Money(i.amount),
                Cell::Money(i.outstanding),
            ]);
        }
    }
    any.then_some(report)
}

pub fn spend_report(by: SpendReportBy, rows: &[SpendReportRow]) -> Report {
    let mut report = Report::new([
        "determination",
        "region",
        by.as_str(),
        "budget",
        "spent",
        "remaining",
        // Last, so that a script reading the older columns by position still finds them.
        "recovered",
    ]);
    for r in rows {
        let name = r
            .purpose
            .as_deref()
            .or(r.authority.as_deref())
            .or(r.line.label());
        report.push(vec![
            Cell::text(&r.determination),
            Cell::text(&r.region),
            Cell::opt_text(name),
            Cell::Money(r.budget),
            Cell::Money(r.spent),
            Cell::Money(r.remaining),
            Cell::Money(r.recovered),
        ]);
    }
    report.totals = Some(vec![
        Cell::text("Total"),
        Cell::Null,
        Cell::Null,
        Cell::Money(sum(rows.iter().map(|r| r.budget))),
        Cell::Money(sum(rows.iter().map(|r| r.spent))),
        Cell::Money(sum(rows.iter().map(|r| r.remaining))),
        Cell::Money(sum(rows.iter().map(|r| r.recovered))),
    ]);
    report
}

fn data_str<'a>(entry: &'a HistoryEntry, field: &str) -> Option<&'a str> {
    entry.data.get(field).and_then(serde_json::Value::as_str)
}

fn data_money(entry: &HistoryEntry, field: &str) -> Option<Money> {
    data_str(entry, field).and_then(|m| serde_json::from_value(m.into()).ok())
}

/// One line of what an event is about, for tables.
fn event_detail(entry: &HistoryEntry) -> String {
    let mut parts = Vec::new();
    match entry.event_type.as_str() {
        "DeterminationMade" => {
            if let Some(d) = entry.data.get("determination") {
                if let Some(id) = d.get("id").and_then(|v| v.as_str()) {
                    parts.push(id.to_string());
                }
                if let Some(title) = d.get("title").and_then(|v| v.as_str()) {
                    parts.push(title.to_string());
                }
            }
        }
        "PaymentIssued" => {
            if let Some(lead) = data_str(entry, "lead_authority") {
                parts.push(format!("to {lead}"));
            }
            if entry.data.get("late").and_then(serde_json::Value::as_bool) == Some(true) {
                parts.push(format!(
                    "LATE: {}",
                    data_str(entry, "late_reason").unwrap_or("no reason")
                ));
            }
            if let Some(reference) = data_str(entry, "reference") {
                parts.push(format!("ref {reference}"));
            }
        }
        "FundsSpent" => {
            for field in ["purpose", "authority", "description", "reference"] {
                if let Some(v) = data_str(entry, field) {
                    parts.push(v.to_string());
                }
            }
        }
        "GrantRecovered" => {
            if let Some(reason) = data_str(entry, "reason") {
                parts.push(reason.to_string());
            }
        }
        "EventReversed" => {
            if let Some(t) = data_str(entry, "reversed_type") {
                parts.push(format!("reverses {t}"));
            }
            if let Some(id) = data_str(entry, "reversed_event_id") {
                parts.push(id.to_string());
            }
            if let Some(reason) = data_str(entry, "reason") {
                parts.push(reason.to_string());
            }
        }
        "DeterminationWithdrawn" => {
            if let Some(reason) = data_str(entry, "reason") {
                parts.push(format!("withdrawn: {reason}"));
            }
        }
        "DeterminationVaried" => {
            let changes = entry.data.get("allocations").and_then(|a| a.as_array());
            for change in changes.into_iter().flatten() {
                let field = |name: &str| change.get(name).and_then(serde_json::Value::as_str);
                let money = |name: &str| {
                    field(name)
                        .and_then(|m| Money::parse(m).ok())
                        .map_or(String::new(), |m| m.to_string())
                };
                if let Some(region) = field("region") {
                    parts.push(format!(
                        "{region} {} to {}",
                        money("previous"),
                        money("amount")
                    ));
                }
            }
            if let Some(reason) = data_str(entry, "reason") {
                parts.push(reason.to_string());
            }
        }
        "AccessGranted" | "AccessRevoked" => {
            let verb = if entry.event_type == "AccessGranted" {
                "granted to"
            } else {
                "revoked from"
            };
            if let (Some(name), Some(role)) = (data_str(entry, "name"), data_str(entry, "role")) {
                parts.push(format!("{role} {verb} {name}"));
            }
        }
        _ => {}
    }
    parts.join("; ")
}

pub fn history_report() -> Report {
    Report::new([
        "position",
        "type",
        "effective_date",
        "region",
        "amount",
        "detail",
        "actor",
        "recorded_at",
    ])
}

pub fn history_row(entry: &HistoryEntry) -> Vec<Cell> {
    vec![
        Cell::Int(i64::try_from(entry.position).unwrap_or(i64::MAX)),
        Cell::text(&entry.event_type),
        Cell::Date(entry.effective_date),
        Cell::opt_text(data_str(entry, "region")),
        data_money(entry, "amount").map_or(Cell::Null, Cell::Money),
        Cell::Text(event_detail(entry)),
        Cell::text(&entry.actor),
        Cell::Text(timestamp(entry.recorded_at)),
    ]
}

/// A moment for people, to the second, in UTC (and saying so).
pub fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

pub const HISTORY_FIELDS: [&str; 11] = [
    "position",
    "event_id",
    "type",
    "stream",
    "version",
    "recorded_at",
    "actor",
    "key",
    "effective_date",
    "data",
    "hash",
];

pub fn history_csv_writer(out: &mut dyn Write) -> CliResult<csv::Writer<&mut dyn Write>> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(HISTORY_FIELDS)?;
    Ok(writer)
}

/// One history entry as CSV: its `data` as a JSON string.
pub fn history_csv_row(writer: &mut csv::Writer<&mut dyn Write>, e: &HistoryEntry) -> CliResult {
    writer.write_record([
        e.position.to_string(),
        e.event_id.to_string(),
        e.event_type.clone(),
        e.stream.clone(),
        e.version.to_string(),
        // The same text as JSON's (serde's RFC 3339 with Z), so CSV and JSON agree.
        e.recorded_at
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        e.actor.clone(),
        e.key.clone().unwrap_or_default(),
        e.effective_date.to_string(),
        serde_json::to_string(&e.data)?,
        e.hash.clone(),
    ])?;
    Ok(())
}

/// A recording command's table output: what was appended, where, and its id.
pub fn write_event_summary(out: &mut dyn Write, e: &HistoryEntry, repeat: bool) -> CliResult {
    let verb = if repeat {
        "Already recorded"
    } else {
        "Recorded"
    };
    writeln!(
        out,
        "{verb} {} at position {} (version {} of {})",
        e.event_type, e.position, e.version, e.stream
    )?;
    writeln!(out, "  event id        {}", e.event_id)?;
    writeln!(out, "  effective date  {}", e.effective_date)?;
    if let Some(region) = data_str(e, "region") {
        writeln!(out, "  region          {region}")?;
    }
    if let Some(amount) = data_money(e, "amount") {
        writeln!(out, "  amount          {amount}")?;
    }
    let detail = event_detail(e);
    if !detail.is_empty() {
        writeln!(out, "  detail          {detail}")?;
    }
    if let Some(key) = &e.key {
        writeln!(out, "  key             {key}")?;
    }
    writeln!(out, "  actor           {}", e.actor)?;
    Ok(())
}
