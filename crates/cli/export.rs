//! `grant-ledger export 360giving`: the ledger's grants as 360Giving open data. The grants
//! themselves come from the `Ledger`'s one export function (the server will serve the same);
//! this module owns the arguments and the three renderings: the JSON data package, the
//! standard's flat CSV (one row per grant, columns titled as the standard titles them) and
//! a short table for people.

use clap::builder::NonEmptyStringValueParser;
use clap::{Args, Subcommand};
use grant_ledger_projections::{ExportRequest, Grant, DEFAULT_PREFIX};

use crate::args::Format;
use crate::commands::Context;
use crate::error::CliResult;
use crate::output::{self, Cell, Report};
use grant_ledger_projections::input;

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// One grant per allocation, as a 360Giving 1.4 data package (JSON) or flat CSV
    #[command(
        name = "360giving",
        long_about = "One grant per allocation, as 360Giving Data Standard 1.4 data: with \
--format json a data package {grants, version, title, publisher}, with --format csv the \
standard's flat CSV (one row per grant, columns titled as the standard titles them), and \
as a table a short list of the grants. Each grant's id is \
360G-<prefix>-<determination id with / as _>-<register code>; amountDisbursed is what \
was paid less what was recovered as of --as-of (default: everything recorded), with one \
disbursementTransaction per payment not reversed. Refused for a determination without a \
funder or a lead authority without an org_id. See docs/reference/cli.md.",
        after_help = "Example:\n  grant-ledger export 360giving 31/7421 --format json --prefix DfE\n  grant-ledger export 360giving --format csv --as-of 2024-12-31 > grants.csv"
    )]
    ThreeSixtyGiving(ThreeSixtyGivingArgs),
}

#[derive(Debug, Args)]
pub struct ThreeSixtyGivingArgs {
    /// Only this determination [default: every determination in the ledger]
    #[arg(value_name = "ID", value_parser = NonEmptyStringValueParser::new())]
    pub id: Option<String>,
    /// Count only payments and recoveries effective on or before this date, YYYY-MM-DD
    #[arg(long = "as-of", value_name = "D")]
    pub as_of: Option<String>,
    /// The publisher's 360Giving prefix, the P of 360G-P-... [default: grant-ledger]
    #[arg(long, env = "GRANT_LEDGER_360G_PREFIX", value_name = "P")]
    pub prefix: Option<String>,
    /// The URI every grant's dataSource names [default: urn:grant-ledger:<prefix>]
    #[arg(long = "data-source", value_name = "URI")]
    pub data_source: Option<String>,
}

pub fn run(ctx: &Context, command: ExportCommand) -> CliResult {
    let ExportCommand::ThreeSixtyGiving(a) = command;
    let request = ExportRequest {
        determination: a.id,
        as_of: input::opt_date("--as-of", a.as_of.as_deref())?,
        prefix: a
            .prefix
            .map(|p| p.trim().to_string())
            .unwrap_or_else(|| DEFAULT_PREFIX.to_string()),
        data_source: input::non_empty(a.data_source),
    };
    let package = ctx.reading()?.export_360giving(&request)?;
    let mut out = output::stdout();
    match ctx.format {
        Format::Json => output::write_json(&mut out, &package)?,
        Format::Csv => flat(&package.grants).write(&mut out, true)?,
        Format::Table => summary(&package.grants).write(&mut out, false)?,
    }
    Ok(out.finish()?)
}

/// The flat CSV. Column titles are the standard's own: a property's title, and within an
/// array of objects the item property's title after a colon. Arrays the standard rolls up
/// (one recipient, funder, programme, planned dates) are titled without an index; the
/// beneficiary location carries its index, as the standard's templates write it.
/// `disbursementTransaction` has no title in the schema, so its columns are JSON paths
/// (`disbursementTransaction/0/value`), which the standard's tools read alike; there are
/// as many as the grant with the most payments needs.
pub fn flat(grants: &[Grant]) -> Report {
    let transactions = grants
        .iter()
        .map(|g| g.disbursement_transaction.len())
        .max()
        .unwrap_or(0);
    let mut headers: Vec<String> = [
        "Identifier",
        "Title",
        "Description",
        "Currency",
        "Amount Awarded",
        "Amount Disbursed",
        "Award Date",
        "Planned Dates:Start Date",
        "Planned Dates:End Date",
        "Recipient Org:Identifier",
        "Recipient Org:Name",
        "Funding Org:Identifier",
        "Funding Org:Name",
        "Grant Programme:Code",
        "Grant Programme:Title",
        "Beneficiary Location:0:Name",
        "Beneficiary Location:0:Country Code",
        "Beneficiary Location:0:Geographic Code",
        "Beneficiary Location:0:Geographic Code Type",
        "Last Modified",
        "Data Source",
    ]
    .iter()
    .map(|h| h.to_string())
    .collect();
    for i in 0..transactions {
        for field in ["id", "transactionDate", "value", "currency"] {
            headers.push(format!("disbursementTransaction/{i}/{field}"));
        }
    }
    let mut report = Report::new(headers);
    for g in grants {
        let first = |o: &[grant_ledger_projections::Organization]| {
            o.first().map_or((Cell::Null, Cell::Null), |o| {
                (Cell::text(&o.id), Cell::text(&o.name))
            })
        };
        let (recipient_id, recipient_name) = first(&g.recipient_organization);
        let (funder_id, funder_name) = first(&g.funding_organization);
        let dates = g.planned_dates.first();
        let programme = g.grant_programme.first();
        let location = g.beneficiary_location.first();
        let mut row = vec![
            Cell::text(&g.id),
            Cell::text(&g.title),
            Cell::text(&g.description),
            Cell::text(&g.currency),
            Cell::Money(g.amount_awarded),
            Cell::Money(g.amount_disbursed),
            Cell::Date(g.award_date),
            dates.map_or(Cell::Null, |d| Cell::Date(d.start_date)),
            dates.map_or(Cell::Null, |d| Cell::Date(d.end_date)),
            recipient_id,
            recipient_name,
            funder_id,
            funder_name,
            programme.map_or(Cell::Null, |p| Cell::text(&p.code)),
            programme.map_or(Cell::Null, |p| Cell::text(&p.title)),
            location.map_or(Cell::Null, |l| Cell::text(&l.name)),
            location.map_or(Cell::Null, |l| Cell::text(&l.country_code)),
            Cell::opt_text(location.and_then(|l| l.geo_code.as_deref())),
            Cell::opt_text(location.and_then(|l| l.geo_code_type.as_deref())),
            Cell::text(&g.date_modified),
            Cell::text(&g.data_source),
        ];
        for i in 0..transactions {
            match g.disbursement_transaction.get(i) {
                Some(t) => row.extend([
                    Cell::text(&t.id),
                    Cell::Date(t.transaction_date),
                    Cell::Money(t.value),
                    Cell::text(&t.currency),
                ]),
                None => row.extend([Cell::Null, Cell::Null, Cell::Null, Cell::Null]),
            }
        }
        report.push(row);
    }
    report
}

/// For people: which grant, to whom, how much awarded and disbursed.
fn summary(grants: &[Grant]) -> Report {
    let mut report = Report::new(["id", "recipient", "org_id", "awarded", "disbursed"]);
    for g in grants {
        let recipient = g.recipient_organization.first();
        report.push(vec![
            Cell::text(&g.id),
            Cell::opt_text(recipient.map(|r| r.name.as_str())),
            Cell::opt_text(recipient.map(|r| r.id.as_str())),
            Cell::Money(g.amount_awarded),
            Cell::Money(g.amount_disbursed),
        ]);
    }
    report
}
