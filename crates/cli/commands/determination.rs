//! `determination import | list | show | check`: reading a determination file and
//! what the ledger holds of each determination. Withdrawing and varying are in
//! `crate::lifecycle`.

use std::io::Write;

use grant_ledger_domain::{builtin, parse_determination, Determination, BUILTIN_IDS};
use grant_ledger_projections::DeterminationSource;

use super::{count, print_recorded, Context};
use crate::args::{self, Format};
use crate::error::{CliError, CliResult};
use crate::output::{self, Cell, Report};
use crate::render;

pub(super) fn run(ctx: &Context, command: args::DeterminationCommand) -> CliResult {
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
    let text = crate::files::read_text(path)
        .map_err(|why| CliError::malformed(format!("cannot read {}: {why}", path.display())))?;
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
