//! A determination's life after it is made: `determination withdraw` and `determination
//! vary`, and what `determination show` says of them (the withdrawal, the instalment
//! schedule, the history of variations).

use std::io::Write;

use grant_ledger_domain::{parse_variation, Determination};
use grant_ledger_projections::{
    input, DeterminationRecord, VariedAmount, VaryRequest, WithdrawRequest,
};

use crate::args;
use crate::commands::{announced, unknown_determination, Context};
use crate::error::{CliError, CliResult};
use crate::output::{Cell, Report};

/// The date a withdrawal or variation takes effect: `--date`, else `--today`, else today's
/// local date.
fn effective(date: Option<&str>, today: Option<&str>) -> CliResult<chrono::NaiveDate> {
    Ok(match input::opt_date("--date", date)? {
        Some(day) => day,
        None => input::date_or_today("--today", today)?,
    })
}

pub fn withdraw(ctx: &Context, a: args::WithdrawArgs) -> CliResult {
    let request = WithdrawRequest {
        reason: a.reason,
        date: effective(a.date.as_deref(), a.today.as_deref())?,
    };
    let key = input::key(a.key)?;
    let api = ctx.adding_on(&unknown_determination(&a.id), a.today.as_deref())?;
    announced(
        ctx,
        key.as_deref(),
        api.withdraw(key.as_deref(), &a.id, request)?,
    )
}

pub fn vary(ctx: &Context, a: args::VaryArgs) -> CliResult {
    // Read and parsed before the ledger is opened, so a bad file never touches it.
    let text = crate::files::read_text(&a.file)
        .map_err(|why| CliError::malformed(format!("cannot read {}: {why}", a.file.display())))?;
    let table = parse_variation(&text)
        .map_err(|e| CliError::malformed(format!("{}: {}", a.file.display(), e.message())))?;
    let request = VaryRequest {
        allocations: table
            .into_iter()
            .map(|(region, amount)| VariedAmount { region, amount })
            .collect(),
        reason: a.reason,
        date: effective(a.date.as_deref(), a.today.as_deref())?,
    };
    let key = input::key(a.key)?;
    let api = ctx.adding_on(&unknown_determination(&a.id), a.today.as_deref())?;
    announced(
        ctx,
        key.as_deref(),
        api.vary(key.as_deref(), &a.id, request)?,
    )
}

/// The `withdrawn` line of `determination show`, when it was.
pub fn write_withdrawn(out: &mut dyn Write, record: &DeterminationRecord) -> CliResult {
    if let Some(w) = &record.withdrawn {
        writeln!(out, "  withdrawn         {} ({})", w.date, w.reason)?;
    }
    Ok(())
}

/// The schedule under the allocations, when the determination has one.
pub fn write_schedule(out: &mut dyn Write, d: &Determination) -> CliResult {
    if d.schedule.is_empty() {
        return Ok(());
    }
    let mut report = Report::new(["instalment", "due", "share", "amount"]);
    for (index, i) in d.schedule.iter().enumerate() {
        report.push(vec![
            Cell::Int(crate::commands::count(index + 1)),
            Cell::Date(i.due),
            i.share
                .map_or(Cell::Null, |s| Cell::text(format!("{}%", s.normalize()))),
            i.amount.map_or(Cell::Null, Cell::Money),
        ]);
    }
    writeln!(out)?;
    writeln!(out, "Instalments")?;
    report.write(out, false)?;
    if d.allocations
        .iter()
        .all(|a| a.instalment_amounts.is_empty())
    {
        return Ok(());
    }
    let mut own = Report::new(["region", "instalment", "due", "amount"]);
    for a in &d.allocations {
        for (index, (amount, i)) in a.instalment_amounts.iter().zip(&d.schedule).enumerate() {
            own.push(vec![
                Cell::text(&a.region),
                Cell::Int(crate::commands::count(index + 1)),
                Cell::Date(i.due),
                Cell::Money(*amount),
            ]);
        }
    }
    writeln!(out)?;
    writeln!(out, "Instalment amounts by region")?;
    own.write(out, false)
}

/// Every variation, oldest first: one row per region it changed.
pub fn write_variations(out: &mut dyn Write, record: &DeterminationRecord) -> CliResult {
    if record.variations.is_empty() {
        return Ok(());
    }
    let mut report = Report::new(["date", "reason", "region", "previous", "amount"]);
    for v in &record.variations {
        for change in &v.allocations {
            report.push(vec![
                Cell::Date(v.date),
                Cell::text(&v.reason),
                Cell::text(&change.region),
                Cell::Money(change.previous),
                Cell::Money(change.amount),
            ]);
        }
    }
    writeln!(out)?;
    writeln!(out, "Variations")?;
    report.write(out, false)
}
