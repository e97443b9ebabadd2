//! How an event looks to people and to spreadsheets: the one-line detail of each type,
//! the `history` table in pages, its CSV, and what a recording command prints.

use std::io::Write;

use grant_ledger_domain::Money;
use grant_ledger_projections::HistoryEntry;

use super::timestamp;
use crate::error::CliResult;
use crate::output::{Cell, Report};

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
        "ModelsRebuilt" => {
            let models = entry.data.get("models").and_then(|m| m.as_array());
            let count = models.map_or(0, Vec::len);
            parts.push(format!(
                "{count} read model{} rebuilt",
                if count == 1 { "" } else { "s" }
            ));
            if let Some(reason) = data_str(entry, "reason") {
                parts.push(reason.to_string());
            }
        }
        _ => {}
    }
    parts.join("; ")
}

/// How many rows of a `history` table are laid out at a time. Each page is a table of its
/// own, its columns as wide as its own rows need, so that a trail of any length costs the
/// memory of one page rather than of the whole table.
pub const HISTORY_TABLE_PAGE: usize = 1_000;

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
