//! Each subcommand: turn parsed arguments into one call of the `Ledger`
//! facade and render what it returns. No rules live here.

use std::io::{IsTerminal, Write};
use std::path::Path;

use grant_ledger_domain::{builtin, parse_determination, Determination, Role, BUILTIN_IDS};
use grant_ledger_projections::{
    event_type_names, input, Api, BalanceRow, BalancesQuery, DeadlineRow, DeadlinesQuery,
    DeterminationSource, HistoryEntry, HistoryFilter, ImportSummary, PayRequest, Recorded,
    RecoverRequest, ReverseRequest, SpendReportBy, SpendReportQuery, SpendReportRow, SpendRequest,
};

use crate::args::{self, Format};
use crate::backend::{Key, Target, Use};
use crate::error::{CliError, CliResult};
use crate::output::{self, Cell, Report};
use crate::render;

/// What every command needs besides its own arguments.
pub struct Context {
    pub target: Target,
    pub format: Format,
}

impl Context {
    /// The ledger for a command that may create it (`determination import`, `access
    /// grant`): the contract's "created on first write".
    fn creating(&self) -> CliResult<Box<dyn Api>> {
        self.target.api(Use::Create, "")
    }

    /// The ledger for a command that adds to what it already holds; `unknown` is what it
    /// names, for the refusal when there is no ledger yet.
    pub fn adding(&self, unknown: &str) -> CliResult<Box<dyn Api>> {
        self.target.api(Use::Add, unknown)
    }

    /// [`Context::adding`] for a dated command, refusing dates after `today` (`--today`;
    /// `None`: the clock's date).
    fn adding_on(&self, unknown: &str, today: Option<&str>) -> CliResult<Box<dyn Api>> {
        let today = input::opt_date("--today", today)?;
        self.target.api_on(Use::Add, unknown, today)
    }

    /// The ledger for a query: an existing one only.
    pub fn reading(&self) -> CliResult<Box<dyn Api>> {
        self.target.api(Use::Read, "")
    }

    /// An existing ledger, with its signing key as `key` asks.
    pub fn keyed(&self, key: Key) -> CliResult<Box<dyn Api>> {
        self.target.api_with(Use::Read, "", None, key)
    }
}

pub fn run(ctx: &Context, command: args::Command) -> CliResult {
    match command {
        args::Command::Determination(sub) => determination(ctx, sub),
        args::Command::Pay(a) => pay(ctx, a),
        args::Command::Spend(a) => spend(ctx, a),
        args::Command::SpendImport(a) => spend_import(ctx, &a.file, a.today.as_deref()),
        args::Command::Recover(a) => recover(ctx, a),
        args::Command::Reverse(a) => reverse(ctx, a),
        args::Command::Balances(a) => balances(ctx, a),
        args::Command::Deadlines(a) => deadlines(ctx, a),
        args::Command::SpendReport(a) => spend_report(ctx, a),
        args::Command::History(a) => history(ctx, a),
        args::Command::Verify(a) => verify(ctx, &a.against),
        args::Command::Checkpoint(_) => crate::checkpoint::take(ctx),
        args::Command::Rebuild(a) => rebuild(ctx, &a.reason),
        args::Command::Access(sub) => access(ctx, sub),
        args::Command::Export(a) => crate::export::run(ctx, a),
        // These choose their own ledger, or need none; see main.
        args::Command::Demo
        | args::Command::Migrate(_)
        | args::Command::Serve(_)
        | args::Command::Completions(_)
        | args::Command::Man => Err(CliError::unavailable(
            "this command must be started through main",
        )),
    }
}

// ---------------------------------------------------------------- determinations

fn determination(ctx: &Context, command: args::DeterminationCommand) -> CliResult {
    match command {
        args::DeterminationCommand::Import(a) => determination_import(ctx, a),
        args::DeterminationCommand::List => determination_list(ctx),
        args::DeterminationCommand::Show(a) if a.authorities => {
            determination_authorities(ctx, &a.id, a.region.as_deref())
        }
        args::DeterminationCommand::Show(a) => determination_show(ctx, &a.id),
        args::DeterminationCommand::Check(a) => determination_check(ctx, a),
        args::DeterminationCommand::Withdraw(a) => crate::lifecycle::withdraw(ctx, a),
        args::DeterminationCommand::Vary(a) => crate::lifecycle::vary(ctx, a),
    }
}

/// Reads and parses the determination to import, before the ledger is opened, so a bad
/// file never touches it; also returns its source, for a server to parse the same.
pub fn load_determination(a: &args::ImportArgs) -> CliResult<(DeterminationSource, Determination)> {
    if let Some(id) = &a.builtin {
        return match builtin(id) {
            Some(Ok(d)) => Ok((DeterminationSource::Builtin(id.trim().to_string()), d)),
            Some(Err(e)) => Err(CliError::unavailable(format!(
                "the built-in determination {id} does not parse: {e}"
            ))),
            None => Err(CliError::refused(format!(
                "there is no built-in determination {id}; the built-in ones are {}",
                BUILTIN_IDS.join(", ")
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
    let parsed = parse_determination(&text).map_err(|e| {
        if e.is_malformed() {
            CliError::malformed(format!("{}: {}", path.display(), e.message()))
        } else {
            CliError::refused(format!("{}: {}", path.display(), e.message()))
        }
    })?;
    Ok((DeterminationSource::Toml(text), parsed))
}

fn determination_import(ctx: &Context, a: args::ImportArgs) -> CliResult {
    let (source, determination) = load_determination(&a)?;
    let id = determination.id.clone();
    let api = ctx.creating()?;
    let recorded = api.import_determination(None, &source, determination)?;
    if recorded.duplicate {
        eprintln!(
            "determination {id} is already in the ledger with identical content; nothing was appended"
        );
    }
    print_recorded(ctx.format, &recorded)
}

fn determination_list(ctx: &Context) -> CliResult {
    let rows = ctx.reading()?.determinations()?;
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
                "withdrawn",
            ]);
            for r in &rows {
                report.push(vec![
                    Cell::text(&r.id),
                    Cell::text(&r.title),
                    Cell::text(&r.financial_year),
                    Cell::Date(r.made_on),
                    Cell::Date(r.payment_deadline),
                    Cell::Date(r.grant_period_start),
                    Cell::Date(r.grant_period_end),
                    Cell::Int(i64::from(r.instalments)),
                    Cell::Int(count(r.allocations)),
                    Cell::Money(r.total),
                    r.withdrawn
                        .as_ref()
                        .map_or(Cell::Null, |w| Cell::Date(w.date)),
                ]);
            }
            report.write(&mut out, format == Format::Csv)?;
        }
    }
    Ok(out.finish()?)
}

/// One authority of a region, as `determination show --authorities` lists it.
#[derive(serde::Serialize)]
struct AuthorityRow<'a> {
    region: &'a str,
    authority: &'a str,
    ons_code: Option<&'a str>,
}

fn determination_authorities(ctx: &Context, id: &str, region: Option<&str>) -> CliResult {
    let d = ctx.reading()?.determination(id)?.determination;
    let allocations: Vec<_> = d
        .allocations
        .iter()
        .filter(|a| region.map_or(true, |r| grant_ledger_domain::region_matches(&a.region, r)))
        .collect();
    if let (Some(r), true) = (region, allocations.is_empty()) {
        return Err(CliError::refused(format!(
            "unknown region \"{}\" in determination {}",
            r.trim(),
            d.id
        )));
    }
    let rows: Vec<AuthorityRow<'_>> = allocations
        .iter()
        .flat_map(|a| {
            a.authorities.iter().map(|name| AuthorityRow {
                region: &a.region,
                authority: name,
                ons_code: a.authority_ons_codes.get(name).map(String::as_str),
            })
        })
        .collect();
    let mut out = output::stdout();
    match ctx.format {
        Format::Json => output::write_json(&mut out, &rows)?,
        format => {
            let mut report = Report::new(["region", "authority", "ons_code"]);
            for r in &rows {
                report.push(vec![
                    Cell::text(r.region),
                    Cell::text(r.authority),
                    Cell::opt_text(r.ons_code),
                ]);
            }
            report.write(&mut out, format == Format::Csv)?;
        }
    }
    Ok(out.finish()?)
}

fn determination_show(ctx: &Context, id: &str) -> CliResult {
    let record = ctx.reading()?.determination(id)?;
    let d = &record.determination;
    let mut out = output::stdout();
    match ctx.format {
        Format::Json => output::write_json(&mut out, &record)?,
        Format::Csv => render::allocations(d).write(&mut out, true)?,
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
            crate::lifecycle::write_withdrawn(&mut out, &record)?;
            if let Some(funder) = &d.funder {
                writeln!(
                    out,
                    "  funder            {} ({})",
                    funder.name, funder.org_id
                )?;
            }
            writeln!(out)?;
            writeln!(out, "Allocations")?;
            render::allocations(d).write(&mut out, false)?;
            crate::lifecycle::write_schedule(&mut out, d)?;
            writeln!(out)?;
            writeln!(out, "Formula components")?;
            render::components(d).write(&mut out, false)?;
            crate::lifecycle::write_variations(&mut out, &record)?;
        }
    }
    Ok(out.finish()?)
}

fn determination_check(ctx: &Context, a: args::CheckArgs) -> CliResult {
    let check = ctx.reading()?.check(&a.id)?;
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
    let request = PayRequest {
        amount: input::money("--amount", &e.amount)?,
        date: input::date("--date", &e.date)?,
        determination: e.id,
        region: e.region,
        reference: a.reference,
        late_reason: a.late_reason,
    };
    let key = input::key(e.key)?;
    let api = ctx.adding_on(
        &unknown_determination(&request.determination),
        a.today.as_deref(),
    )?;
    announced(ctx, key.as_deref(), api.pay(key.as_deref(), request)?)
}

fn spend(ctx: &Context, a: args::SpendArgs) -> CliResult {
    let e = a.entry;
    let request = SpendRequest {
        amount: input::money("--amount", &e.amount)?,
        date: input::date("--date", &e.date)?,
        determination: e.id,
        region: e.region,
        purpose: a.purpose,
        authority: a.authority,
        description: a.description,
        reference: a.reference,
    };
    let key = input::key(e.key)?;
    let api = ctx.adding_on(
        &unknown_determination(&request.determination),
        a.today.as_deref(),
    )?;
    let recorded = api.spend(key.as_deref(), request)?;
    if !recorded.duplicate {
        warn_over_budget(api.as_ref(), &recorded);
    }
    announced(ctx, key.as_deref(), recorded)
}

/// Spend beyond a purpose's formula budget is allowed (the rule is the region's net
/// received), but it is said, so that it is a choice and not a slip.
fn warn_over_budget(api: &dyn Api, recorded: &Recorded) {
    let Some(event) = recorded.events.first() else {
        return;
    };
    let field = |name: &str| event.data.get(name).and_then(serde_json::Value::as_str);
    let (Some(id), Some(region), Some(purpose)) =
        (field("determination"), field("region"), field("purpose"))
    else {
        return;
    };
    let query = SpendReportQuery::of(id, Some(region));
    // Only a warning: a report that cannot be read now leaves the spend as recorded.
    let Ok(rows) = api.spend_report(&query) else {
        return;
    };
    if let Some(row) = rows
        .iter()
        .find(|r| r.purpose.as_deref() == Some(purpose) && r.remaining.is_negative())
    {
        eprintln!(
            "warning: {region} has now spent {} on {purpose}, above its formula budget of {} (see spend-report)",
            row.spent, row.budget
        );
    }
}

fn recover(ctx: &Context, a: args::RecoverArgs) -> CliResult {
    let e = a.entry;
    let request = RecoverRequest {
        amount: input::money("--amount", &e.amount)?,
        date: input::date("--date", &e.date)?,
        determination: e.id,
        region: e.region,
        reason: a.reason,
    };
    let key = input::key(e.key)?;
    let api = ctx.adding_on(
        &unknown_determination(&request.determination),
        a.today.as_deref(),
    )?;
    announced(ctx, key.as_deref(), api.recover(key.as_deref(), request)?)
}

pub fn unknown_determination(id: &str) -> String {
    format!("unknown determination {}", id.trim())
}

fn reverse(ctx: &Context, a: args::ReverseArgs) -> CliResult {
    let request = ReverseRequest {
        date: input::opt_date("--date", a.date.as_deref())?,
        event: a.event,
        reason: a.reason,
    };
    let key = input::key(a.key)?;
    let api = ctx.adding_on(
        &format!("unknown event {}", request.event.trim()),
        a.today.as_deref(),
    )?;
    announced(ctx, key.as_deref(), api.reverse(key.as_deref(), request)?)
}

/// Prints what a recording command appended, saying so first if it was a repeat.
pub fn announced(ctx: &Context, key: Option<&str>, recorded: Recorded) -> CliResult {
    announce_duplicate(key, &recorded);
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

fn spend_import(ctx: &Context, file: &Path, today: Option<&str>) -> CliResult {
    if file.as_os_str() == "-" {
        // Standard input: streamed like a file, with no size to draw progress against.
        let api = ctx.adding_on("no spend can be recorded", today)?;
        let summary = api.import_spends(None, Box::new(std::io::stdin().lock()), &mut |_| {})?;
        return print_import_summary(ctx.format, &summary);
    }
    // Opened (not read) before the ledger, so a missing file never touches it; the rows are
    // streamed from it during the import.
    let cannot =
        |reason: String| CliError::malformed(format!("cannot read {}: {reason}", file.display()));
    let opened = std::fs::File::open(file).map_err(|e| cannot(io_reason(&e)))?;
    let meta = opened.metadata().map_err(|e| cannot(io_reason(&e)))?;
    if meta.is_dir() {
        return Err(cannot("it is a directory".to_string()));
    }
    let api = ctx.adding_on("no spend can be recorded", today)?;
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
    print_import_summary(ctx.format, &summary?)
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

// ---------------------------------------------------------------- queries

fn balances(ctx: &Context, a: args::BalancesArgs) -> CliResult {
    let query = BalancesQuery {
        as_of: input::opt_date("--as-of", a.as_of.as_deref())?,
        determination: a.id,
        region: a.region,
    };
    let rows = ctx.reading()?.balances(&query)?;
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
    let today = match input::opt_date("--today", a.today.as_deref())? {
        Some(day) => day,
        None => chrono::Local::now().date_naive(),
    };
    let query = DeadlinesQuery {
        determination: a.id,
        today,
    };
    let rows = ctx.reading()?.deadlines(&query)?;
    let mut out = output::stdout();
    write_deadlines(&mut out, ctx.format, &rows)?;
    Ok(out.finish()?)
}

pub fn write_deadlines(out: &mut dyn Write, format: Format, rows: &[DeadlineRow]) -> CliResult {
    match format {
        Format::Json => output::write_json(out, rows),
        Format::Csv => render::deadlines(rows).write(out, true),
        Format::Table => {
            render::deadlines(rows).write(out, false)?;
            if let Some(instalments) = render::instalments(rows) {
                writeln!(out)?;
                writeln!(out, "Instalments")?;
                instalments.write(out, false)?;
            }
            Ok(())
        }
    }
}

fn spend_report(ctx: &Context, a: args::SpendReportArgs) -> CliResult {
    let query = SpendReportQuery {
        determination: a.id,
        region: a.region,
        by: match a.by.as_deref() {
            None => SpendReportBy::default(),
            Some(by) => SpendReportBy::parse("--by", by)?,
        },
        as_of: input::opt_date("--as-of", a.as_of.as_deref())?,
    };
    let rows = ctx.reading()?.spend_report(&query)?;
    let mut out = output::stdout();
    write_spend_report(&mut out, ctx.format, query.by, &rows)?;
    Ok(out.finish()?)
}

pub fn write_spend_report(
    out: &mut dyn Write,
    format: Format,
    by: SpendReportBy,
    rows: &[SpendReportRow],
) -> CliResult {
    match format {
        Format::Json => output::write_json(out, rows),
        format => render::spend_report(by, rows).write(out, format == Format::Csv),
    }
}

fn history(ctx: &Context, a: args::HistoryArgs) -> CliResult {
    let names = event_type_names();
    let event_type = a
        .event_type
        .as_deref()
        .map(|t| {
            names
                .iter()
                .find(|name| name.eq_ignore_ascii_case(t.trim()))
                .map(|name| name.to_string())
                .ok_or_else(|| {
                    CliError::malformed(format!(
                        "--type \"{t}\" is not an event type; use one of {}",
                        names.join(", ")
                    ))
                })
        })
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

/// `rebuild`: one of the two commands a ledger whose stored model failed its seal answers.
fn rebuild(ctx: &Context, reason: &str) -> CliResult {
    let recorded = ctx.target.api(Use::Audit, "")?.rebuild(reason)?;
    print_recorded(ctx.format, &recorded)
}

fn verify(ctx: &Context, against: &[std::path::PathBuf]) -> CliResult {
    // Every receipt is read before the ledger is opened, so a bad one touches nothing.
    let receipts = crate::checkpoint::read_receipts(against)?;
    let api = if receipts.is_empty() {
        ctx.target.api(Use::Audit, "")?
    } else {
        ctx.target.api_with(Use::Audit, "", None, Key::Existing)?
    };
    let summary = api.verify()?;
    let proven = crate::checkpoint::prove(api.as_ref(), &receipts)?;
    let mut out = output::stdout();
    match ctx.format {
        Format::Json if receipts.is_empty() => output::write_json(&mut out, &summary)?,
        Format::Json => output::write_json(
            &mut out,
            &crate::checkpoint::VerifiedAgainst {
                summary: &summary,
                receipts: &proven,
            },
        )?,
        Format::Csv => {
            let mut columns = vec!["events", "head_hash", "models"];
            let mut row = vec![
                Cell::Int(clamp(summary.events)),
                Cell::text(summary.head_hash.clone()),
                Cell::Int(count(summary.models)),
            ];
            if !receipts.is_empty() {
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
        .and_then(|()| crate::checkpoint::write_proven(&mut out, &proven))?,
    }
    Ok(out.finish()?)
}

// ---------------------------------------------------------------- access

fn access(ctx: &Context, command: args::AccessCommand) -> CliResult {
    match command {
        args::AccessCommand::Grant(a) => {
            let role: Role = a
                .role
                .parse()
                .map_err(|e: grant_ledger_domain::DomainError| {
                    CliError::malformed(format!("--role: {}", e.message()))
                })?;
            let key = input::key(a.key)?;
            let granted = ctx
                .creating()?
                .grant_access(key.as_deref(), &a.name, role)?;
            let mut out = output::stdout();
            match ctx.format {
                Format::Json => output::write_json(&mut out, &granted)?,
                Format::Csv => {
                    let mut report = Report::new(["name", "role", "token"]);
                    report.push(vec![
                        Cell::text(&granted.name),
                        Cell::text(granted.role.to_string()),
                        Cell::text(&granted.token),
                    ]);
                    report.write(&mut out, true)?;
                }
                Format::Table => {
                    writeln!(
                        out,
                        "Granted {} to {}. Their token, shown only this once:",
                        granted.role, granted.name
                    )?;
                    writeln!(out, "  {}", granted.token)?;
                }
            }
            Ok(out.finish()?)
        }
        args::AccessCommand::List => {
            let rows = ctx.reading()?.list_access()?;
            let mut out = output::stdout();
            match ctx.format {
                Format::Json => output::write_json(&mut out, &rows)?,
                format => {
                    let mut report =
                        Report::new(["name", "role", "granted_at", "granted_by", "revoked_at"]);
                    for r in &rows {
                        report.push(vec![
                            Cell::text(&r.name),
                            Cell::text(r.role.to_string()),
                            Cell::text(render::timestamp(r.granted_at)),
                            Cell::text(&r.granted_by),
                            r.revoked_at
                                .map_or(Cell::Null, |t| Cell::text(render::timestamp(t))),
                        ]);
                    }
                    report.write(&mut out, format == Format::Csv)?;
                }
            }
            Ok(out.finish()?)
        }
        args::AccessCommand::Revoke(a) => {
            let key = input::key(a.key)?;
            let api = ctx.adding(&format!("no access named \"{}\" to revoke", a.name.trim()))?;
            announced(
                ctx,
                key.as_deref(),
                api.revoke_access(key.as_deref(), &a.name)?,
            )
        }
    }
}

// ---------------------------------------------------------------- helpers

pub fn io_reason(e: &std::io::Error) -> String {
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
