//! The figures: `balances`, `deadlines` and `spend-report`, each a query of the read
//! models and its rendering (shared with the demo).

use std::io::Write;

use grant_ledger_projections::{
    input, BalanceRow, BalancesQuery, DeadlineRow, DeadlinesQuery, SpendReportBy, SpendReportQuery,
    SpendReportRow,
};

use super::Context;
use crate::args::{self, Format};
use crate::error::CliResult;
use crate::output;
use crate::render;

pub(super) fn balances(ctx: &Context, a: args::BalancesArgs) -> CliResult {
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

pub(super) fn deadlines(ctx: &Context, a: args::DeadlinesArgs) -> CliResult {
    let today = input::date_or_today("--today", a.today.as_deref())?;
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

pub(super) fn spend_report(ctx: &Context, a: args::SpendReportArgs) -> CliResult {
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
