//! Each subcommand: turn parsed arguments into one call of the `Ledger`
//! facade and render what it returns. No rules live here.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use grant_ledger_domain::{
    builtin, parse_determination, Command, Determination, EventType, Money, BUILTIN_IDS,
};
use grant_ledger_projections::{
    BalanceRow, DeadlineRow, HistoryEntry, HistoryFilter, ImportSummary, Ledger, LedgerError,
    Recorded, SpendReportRow,
};
use grant_ledger_store::StoreError;
use serde::Serialize;
use uuid::Uuid;

use crate::args::{self, Format};
use crate::error::{CliError, CliResult};
use crate::output::{self, Cell, Report};
use crate::{import, parse, render};

/// What every command needs besides its own arguments.
pub struct Context {
    pub ledger_dir: PathBuf,
    pub actor: String,
    pub format: Format,
}

impl Context {
    /// Opens the ledger for `determination import`, the one command that may create it:
    /// the contract's "created on first write".
    pub fn open_or_create(&self) -> CliResult<Ledger> {
        Ok(Ledger::open(&self.ledger_dir)?)
    }

    /// Opens the ledger for a command that adds to what it already holds: a payment, spend,
    /// recovery or reversal names a determination or an event that must be on record.
    /// Without a ledger there is nothing it could name, so the command is refused as that
    /// unknown name would be (exit 1), and no directory is created for the refusal.
    pub fn open_to_add(&self, unknown: &str) -> CliResult<Ledger> {
        self.open_existing(CliError::refused, |place| {
            format!("{unknown}: there is no ledger at {place} yet")
        })
    }

    /// Opens the ledger for a query: an existing ledger only, creating nothing, so that a
    /// mistyped `--ledger` is an error and never an empty answer.
    pub fn open_for_reading(&self) -> CliResult<Ledger> {
        self.open_existing(CliError::unavailable, |place| {
            format!("no ledger at {place}")
        })
    }

    /// An existing ledger. Without one, the error of kind `error` says what `missing` says
    /// of the path, and how a ledger comes to be.
    fn open_existing(
        &self,
        error: fn(String) -> CliError,
        missing: impl FnOnce(String) -> String,
    ) -> CliResult<Ledger> {
        Ledger::open_existing(&self.ledger_dir).map_err(|e| match e {
            LedgerError::Store(StoreError::NoLedger { path }) => error(format!(
                "{}; it is created by the first determination import \
                 (e.g. grant-ledger determination import --builtin {})",
                missing(path.display().to_string()),
                BUILTIN_IDS.first().copied().unwrap_or("31/7421"),
            )),
            other => other.into(),
        })
    }
}

pub fn run(ctx: &Context, command: args::Command) -> CliResult {
    match command {
        args::Command::Determination(sub) => determination(ctx, sub),
        args::Command::Pay(a) => pay(ctx, a),
        args::Command::Spend(a) => spend(ctx, a),
        args::Command::SpendImport(a) => spend_import(ctx, &a.file),
        args::Command::Recover(a) => recover(ctx, a),
        args::Command::Reverse(a) => reverse(ctx, a),
        args::Command::Balances(a) => balances(ctx, a),
        args::Command::Deadlines(a) => deadlines(ctx, a),
        args::Command::SpendReport(a) => spend_report(ctx, a),
        args::Command::History(a) => history(ctx, a),
        args::Command::Verify => verify(ctx),
        args::Command::Export(a) => crate::export::run(ctx, a),
        // The demo chooses its own ledger directory, and these need none; see main.
        args::Command::Demo | args::Command::Completions(_) | args::Command::Man => Err(
            CliError::unavailable("the demo, completions and man must be started through main"),
        ),
    }
}

// ---------------------------------------------------------------- determinations

fn determination(ctx: &Context, command: args::DeterminationCommand) -> CliResult {
    match command {
        args::DeterminationCommand::Import(a) => determination_import(ctx, a),
        args::DeterminationCommand::List => determination_list(ctx),
        args::DeterminationCommand::Show(a) => determination_show(ctx, &a.id),
        args::DeterminationCommand::Check(a) => determination_check(ctx, a),
    }
}

/// Reads and parses the determination to import, before the ledger is opened,
/// so a bad file never touches it.
pub fn load_determination(a: &args::ImportArgs) -> CliResult<Determination> {
    if let Some(id) = &a.builtin {
        return match builtin(id) {
            Some(Ok(d)) => Ok(d),
            Some(Err(e)) => Err(CliError::unavailable(format!(
                "the built-in determination {id} does not parse: {e}"
            ))),
            None => Err(CliError::refused(format!(
                "there is no built-in determination {id}; the built-in ones are {}",
                grant_ledger_domain::BUILTIN_IDS.join(", ")
            ))),
        };
    }
    let Some(path) = &a.file else {
        return Err(CliError::malformed(
            "give a determination FILE or --builtin ID",
        ));
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::malformed(format!("cannot read {}: {}", path.display(), io_reason(&e)))
    })?;
    parse_determination(&text).map_err(|e| {
        if e.is_malformed() {
            CliError::malformed(format!("{}: {}", path.display(), e.message()))
        } else {
            CliError::refused(format!("{}: {}", path.display(), e.message()))
        }
    })
}

pub fn import_determination(
    ledger: &Ledger,
    actor: &str,
    determination: Determination,
) -> CliResult<Recorded> {
    let id = determination.id.clone();
    let recorded = ledger.record(
        actor,
        None,
        Command::MakeDetermination {
            id: Uuid::now_v7(),
            determination,
        },
    )?;
    if recorded.duplicate {
        eprintln!(
            "determination {id} is already in the ledger with identical content; nothing was appended"
        );
    }
    Ok(recorded)
}

fn determination_import(ctx: &Context, a: args::ImportArgs) -> CliResult {
    let determination = load_determination(&a)?;
    let ledger = ctx.open_or_create()?;
    let id = determination.id.clone();
    let mut recorded = import_determination(&ledger, &ctx.actor, determination)?;
    if recorded.duplicate && recorded.events.is_empty() {
        // An identical re-import appends nothing: show the event already on record.
        recorded.events = original_import(&ledger, &id)?;
    }
    print_recorded(ctx.format, &recorded)
}

/// The `DeterminationMade` event of determination `id`.
fn original_import(ledger: &Ledger, id: &str) -> CliResult<Vec<HistoryEntry>> {
    let filter = HistoryFilter {
        event_type: Some(EventType::DeterminationMade),
        ..HistoryFilter::default()
    };
    let mut found = Vec::new();
    ledger.history(&filter, &mut |entry: HistoryEntry| {
        let this = entry
            .data
            .get("determination")
            .and_then(|d| d.get("id"))
            .and_then(serde_json::Value::as_str)
            == Some(id);
        if this && found.is_empty() {
            found.push(entry);
        }
        Ok(())
    })?;
    Ok(found)
}

#[derive(Serialize)]
struct DeterminationSummary<'a> {
    id: &'a str,
    title: &'a str,
    financial_year: &'a str,
    made_on: NaiveDate,
    payment_deadline: NaiveDate,
    grant_period_start: NaiveDate,
    grant_period_end: NaiveDate,
    instalments: u32,
    allocations: usize,
    total: Money,
}

fn summary(d: &Determination) -> DeterminationSummary<'_> {
    DeterminationSummary {
        id: &d.id,
        title: &d.title,
        financial_year: &d.financial_year,
        made_on: d.made_on,
        payment_deadline: d.payment_deadline,
        grant_period_start: d.grant_period.start,
        grant_period_end: d.grant_period.end,
        instalments: d.instalments,
        allocations: d.allocations.len(),
        total: render::sum(d.allocations.iter().map(|a| a.amount)),
    }
}

fn determination_list(ctx: &Context) -> CliResult {
    let ledger = ctx.open_for_reading()?;
    let determinations = ledger.determinations()?;
    let rows: Vec<_> = determinations.iter().map(summary).collect();
    let mut out = output::stdout();
    match ctx.format {
        Format::Json => output::write_json(&mut out, &rows)?,
        format => {
            let mut report = Report::new([
                "id",
                "title",
                "financial_year",
                "made_on",
                "payment_deadline",
                "grant_period_start",
                "grant_period_end",
                "instalments",
                "allocations",
                "total",
            ]);
            for r in &rows {
                report.push(vec![
                    Cell::text(r.id),
                    Cell::text(r.title),
                    Cell::text(r.financial_year),
                    Cell::Date(r.made_on),
                    Cell::Date(r.payment_deadline),
                    Cell::Date(r.grant_period_start),
                    Cell::Date(r.grant_period_end),
                    Cell::Int(i64::from(r.instalments)),
                    Cell::Int(count(r.allocations)),
                    Cell::Money(r.total),
                ]);
            }
            report.write(&mut out, format == Format::Csv)?;
        }
    }
    Ok(out.finish()?)
}

fn determination_show(ctx: &Context, id: &str) -> CliResult {
    let ledger = ctx.open_for_reading()?;
    let d = ledger.determination(id)?;
    let mut out = output::stdout();
    match ctx.format {
        Format::Json => output::write_json(&mut out, &d)?,
        Format::Csv => render::allocations(&d).write(&mut out, true)?,
        Format::Table => {
            writeln!(out, "Determination {}: {}", d.id, d.title)?;
            writeln!(out, "  financial year    {}", d.financial_year)?;
            writeln!(out, "  made on           {}", d.made_on)?;
            writeln!(
                out,
                "  payment deadline  {} (inclusive)",
                d.payment_deadline
            )?;
            writeln!(
                out,
                "  grant period      {} to {}",
                d.grant_period.start, d.grant_period.end
            )?;
            writeln!(out, "  instalments       {}", d.instalments)?;
            if let Some(funder) = &d.funder {
                writeln!(
                    out,
                    "  funder            {} ({})",
                    funder.name, funder.org_id
                )?;
            }
            writeln!(out)?;
            writeln!(out, "Allocations")?;
            render::allocations(&d).write(&mut out, false)?;
            writeln!(out)?;
            writeln!(out, "Formula components")?;
            render::components(&d).write(&mut out, false)?;
        }
    }
    Ok(out.finish()?)
}

fn determination_check(ctx: &Context, a: args::CheckArgs) -> CliResult {
    let ledger = ctx.open_for_reading()?;
    let check = ledger.check(&a.id)?;
    let mut out = output::stdout();
    render::write_check(&mut out, ctx.format, &check, a.workings)?;
    out.finish()?;
    if a.strict {
        render::strict_outcome(&a.id, &check)?;
    }
    Ok(())
}

// ---------------------------------------------------------------- recording

fn pay(ctx: &Context, a: args::PayArgs) -> CliResult {
    let e = a.entry;
    let command = Command::IssuePayment {
        id: Uuid::now_v7(),
        amount: parse::money("--amount", &e.amount)?,
        date: parse::date("--date", &e.date)?,
        determination: e.id,
        region: e.region,
        reference: parse::non_empty(a.reference),
        late_reason: a.late_reason,
    };
    record(ctx, parse::key(e.key)?.as_deref(), command)
}

fn spend(ctx: &Context, a: args::SpendArgs) -> CliResult {
    let e = a.entry;
    let command = Command::SpendFunds {
        id: Uuid::now_v7(),
        amount: parse::money("--amount", &e.amount)?,
        date: parse::date("--date", &e.date)?,
        determination: e.id,
        region: e.region,
        purpose: a.purpose,
        authority: parse::non_empty(a.authority),
        description: parse::non_empty(a.description),
        reference: parse::non_empty(a.reference),
    };
    record(ctx, parse::key(e.key)?.as_deref(), command)
}

fn recover(ctx: &Context, a: args::RecoverArgs) -> CliResult {
    let e = a.entry;
    let command = Command::RecoverGrant {
        id: Uuid::now_v7(),
        amount: parse::money("--amount", &e.amount)?,
        date: parse::date("--date", &e.date)?,
        determination: e.id,
        region: e.region,
        reason: a.reason,
    };
    record(ctx, parse::key(e.key)?.as_deref(), command)
}

fn record(ctx: &Context, key: Option<&str>, command: Command) -> CliResult {
    let unknown = format!(
        "unknown determination {}",
        command.determination_id().trim()
    );
    let ledger = ctx.open_to_add(&unknown)?;
    let recorded = ledger.record(&ctx.actor, key, command)?;
    announce_duplicate(key, &recorded);
    print_recorded(ctx.format, &recorded)
}

fn reverse(ctx: &Context, a: args::ReverseArgs) -> CliResult {
    let date = parse::opt_date("--date", a.date.as_deref())?;
    let key = parse::key(a.key)?;
    let ledger = ctx.open_to_add(&format!("unknown event {}", a.event.trim()))?;
    let recorded = ledger.reverse(&ctx.actor, key.as_deref(), &a.event, &a.reason, date)?;
    announce_duplicate(key.as_deref(), &recorded);
    print_recorded(ctx.format, &recorded)
}

fn announce_duplicate(key: Option<&str>, recorded: &Recorded) {
    if recorded.duplicate {
        let position = recorded
            .events
            .first()
            .map(|e| format!(" at position {}", e.position))
            .unwrap_or_default();
        eprintln!(
            "already recorded with key {}{position}; nothing was appended",
            key.unwrap_or("(none)")
        );
    }
}

/// A recording command's output: the appended (or, for a repeat, the
/// original) event. JSON: the history object (an array if there were several).
pub fn print_recorded(format: Format, recorded: &Recorded) -> CliResult {
    let mut out = output::stdout();
    match format {
        Format::Json => match recorded.events.as_slice() {
            [one] => output::write_json(&mut out, one)?,
            many => output::write_json(&mut out, many)?,
        },
        Format::Csv => {
            let mut writer = render::history_csv_writer(&mut out)?;
            for entry in &recorded.events {
                render::history_csv_row(&mut writer, entry)?;
            }
            writer.flush()?;
        }
        Format::Table => {
            for entry in &recorded.events {
                render::write_event_summary(&mut out, entry, recorded.duplicate)?;
            }
        }
    }
    Ok(out.finish()?)
}

fn spend_import(ctx: &Context, file: &Path) -> CliResult {
    // Opened (not read) before the ledger, so a missing file never touches it; the rows are
    // streamed from it during the import.
    let cannot =
        |reason: String| CliError::malformed(format!("cannot read {}: {reason}", file.display()));
    let opened = std::fs::File::open(file).map_err(|e| cannot(io_reason(&e)))?;
    let meta = opened.metadata().map_err(|e| cannot(io_reason(&e)))?;
    if meta.is_dir() {
        return Err(cannot("it is a directory".to_string()));
    }
    let ledger = ctx.open_to_add("no spend can be recorded")?;
    let summary = import::import_csv(
        &ledger,
        &ctx.actor,
        opened,
        meta.len(),
        std::io::stderr().is_terminal(),
    )?;
    print_import_summary(ctx.format, &summary)
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

// ---------------------------------------------------------------- queries

fn balances(ctx: &Context, a: args::BalancesArgs) -> CliResult {
    let as_of = parse::opt_date("--as-of", a.as_of.as_deref())?;
    let ledger = ctx.open_for_reading()?;
    let rows = ledger.balances(a.id.as_deref(), a.region.as_deref(), as_of)?;
    let mut out = output::stdout();
    write_balances(&mut out, ctx.format, &rows)?;
    Ok(out.finish()?)
}

pub fn write_balances(out: &mut dyn Write, format: Format, rows: &[BalanceRow]) -> CliResult {
    match format {
        Format::Json => output::write_json(out, rows),
        format => render::balances(rows).write(out, format == Format::Csv),
    }
}

fn deadlines(ctx: &Context, a: args::DeadlinesArgs) -> CliResult {
    let today = match parse::opt_date("--today", a.today.as_deref())? {
        Some(day) => day,
        None => chrono::Local::now().date_naive(),
    };
    let ledger = ctx.open_for_reading()?;
    let rows = ledger.deadlines(a.id.as_deref(), today)?;
    let mut out = output::stdout();
    write_deadlines(&mut out, ctx.format, &rows)?;
    Ok(out.finish()?)
}

pub fn write_deadlines(out: &mut dyn Write, format: Format, rows: &[DeadlineRow]) -> CliResult {
    match format {
        Format::Json => output::write_json(out, rows),
        format => render::deadlines(rows).write(out, format == Format::Csv),
    }
}

fn spend_report(ctx: &Context, a: args::SpendReportArgs) -> CliResult {
    let ledger = ctx.open_for_reading()?;
    let rows = ledger.spend_report(&a.id, a.region.as_deref())?;
    let mut out = output::stdout();
    write_spend_report(&mut out, ctx.format, &rows)?;
    Ok(out.finish()?)
}

pub fn write_spend_report(
    out: &mut dyn Write,
    format: Format,
    rows: &[SpendReportRow],
) -> CliResult {
    match format {
        Format::Json => output::write_json(out, rows),
        format => render::spend_report(rows).write(out, format == Format::Csv),
    }
}

fn history(ctx: &Context, a: args::HistoryArgs) -> CliResult {
    let event_type = a
        .event_type
        .as_deref()
        .map(|t| {
            t.parse::<EventType>().map_err(|_| {
                CliError::malformed(format!(
                    "--type \"{t}\" is not an event type; use one of {}",
                    EventType::ALL.map(EventType::as_str).join(", ")
                ))
            })
        })
        .transpose()?;
    let filter = HistoryFilter {
        region: a.region,
        event_type,
        since: parse::opt_date("--since", a.since.as_deref())?,
        until: parse::opt_date("--until", a.until.as_deref())?,
        limit: a.limit,
    };
    if let (Some(since), Some(until)) = (filter.since, filter.until) {
        if since > until {
            return Err(CliError::malformed(format!(
                "--since {since} is after --until {until}, so no event could match"
            )));
        }
    }
    let ledger = ctx.open_for_reading()?;
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
            let mut report = render::history_report();
            ledger.history(&filter, &mut |entry: HistoryEntry| {
                report.push(render::history_row(&entry));
                Ok(())
            })?;
            report.write(&mut out, false)?;
        }
    }
    Ok(out.finish()?)
}

/// The error handed back to `Ledger::history` to stop it when our output fails;
/// the real cause is kept by the caller and reported instead.
fn stop_streaming() -> grant_ledger_projections::LedgerError {
    grant_ledger_projections::LedgerError::Malformed("output stopped".to_string())
}

fn verify(ctx: &Context) -> CliResult {
    let ledger = ctx.open_for_reading()?;
    let summary = ledger.verify()?;
    let mut out = output::stdout();
    match ctx.format {
        Format::Json => output::write_json(&mut out, &summary)?,
        Format::Csv => {
            let mut report = Report::new(["events", "head_hash", "models"]);
            report.push(vec![
                Cell::Int(clamp(summary.events)),
                Cell::text(summary.head_hash.clone()),
                Cell::Int(count(summary.models)),
            ]);
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
        )?,
    }
    Ok(out.finish()?)
}

// ---------------------------------------------------------------- helpers

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::InvalidData => "it is not UTF-8 text".to_string(),
        _ => e.to_string(),
    }
}

pub fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

pub fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
