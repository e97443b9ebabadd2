//! `demo`: a realistic year of determination 31/7421 in a fresh ledger,
//! written through the `Ledger` API exactly as a user's commands would be.
//!
//! Everything is generated from the determination itself, deterministically:
//! the nine payments on time (each exactly its allocation), spend on every
//! purpose a region has a budget for, spread over named authorities of the
//! region and the quarters of the grant period, and one mis-keyed spend that
//! is reversed and re-entered. Every write carries an idempotency key.

use std::io::Write;
use std::path::PathBuf;

use chrono::{Days, NaiveDate};
use grant_ledger_domain::{builtin, region_slug, Basis, Command, Determination, Money};
use grant_ledger_projections::{Caller, Ledger, SpendRow};
use grant_ledger_store::EventStore;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use uuid::Uuid;

use crate::args::Format;
use crate::commands;
use crate::error::{CliError, CliResult};
use crate::output;
use crate::render;

const DEMO_ID: &str = "31/7421";

pub fn run(dir: Option<PathBuf>, actor: &str, format: Format) -> CliResult {
    let dir = match dir {
        Some(dir) => {
            let occupied = std::fs::read_dir(&dir)
                .map(|mut entries| entries.next().is_some())
                .unwrap_or(false);
            if occupied {
                return Err(CliError::refused(format!(
                    "the demo builds a fresh ledger, but {} is not empty; give an empty or new directory",
                    dir.display()
                )));
            }
            dir
        }
        None => tempfile::Builder::new()
            .prefix("grant-ledger-demo-")
            .tempdir()
            .map_err(|e| {
                CliError::unavailable(format!("cannot create a temporary directory: {e}"))
            })?
            .keep(),
    };
    let determination = match builtin(DEMO_ID) {
        Some(Ok(d)) => d,
        _ => {
            return Err(CliError::unavailable(format!(
                "the built-in determination {DEMO_ID} is missing or does not parse"
            )))
        }
    };
    let ledger = crate::backend::open_dir(&dir, crate::backend::Use::Create)?;
    // Made with its signing key, as a ledger created any other way is. Always in the demo's
    // own directory: like GRANT_LEDGER_DIR, a --signing-key meant for a real ledger is not
    // the demo's to use.
    let key = crate::signing_key::location(&crate::backend::Place::Dir(dir.clone()), None);
    let ledger = crate::backend::with_key(ledger, key.as_deref(), crate::backend::Key::Made)?;
    let built = build(&ledger, &Caller::owner(actor), &determination)?;
    let today = grant_ledger_projections::input::date_or_today("--today", None)?;
    let balances = ledger.balances(Some(DEMO_ID), None, None)?;
    let deadlines = ledger.deadlines(Some(DEMO_ID), today)?;
    let spend_report = ledger.spend_report(&grant_ledger_projections::SpendReportQuery::of(
        DEMO_ID, None,
    ))?;
    let check = ledger.check(DEMO_ID)?;

    let mut out = output::stdout();
    match format {
        Format::Json => {
            #[derive(Serialize)]
            struct Demo<'a, B, D, S, C> {
                ledger: String,
                events: u64,
                balances: B,
                deadlines: D,
                spend_report: S,
                check: C,
                #[serde(skip_serializing_if = "Option::is_none")]
                workings: Option<&'a [grant_ledger_domain::WorkingCheck]>,
            }
            output::write_json(
                &mut out,
                &Demo {
                    ledger: dir.display().to_string(),
                    events: built.events,
                    balances: &balances,
                    deadlines: &deadlines,
                    spend_report: &spend_report,
                    check: &check.regions,
                    workings: Some(&check.workings),
                },
            )?;
        }
        format => {
            let csv = format == Format::Csv;
            if !csv {
                writeln!(
                    out,
                    "Demo ledger at {} ({} events: 1 determination, {} payments, {} spends, 1 reversal).",
                    dir.display(),
                    built.events,
                    built.payments,
                    built.spends
                )?;
                writeln!(
                    out,
                    "Explore it with: grant-ledger --ledger {} history --limit 20",
                    dir.display()
                )?;
                writeln!(out)?;
                writeln!(out, "== Balances ==")?;
            }
            commands::write_balances(&mut out, format, &balances)?;
            if !csv {
                writeln!(out)?;
                writeln!(out, "== Deadlines (today {today}) ==")?;
            } else {
                writeln!(out)?;
            }
            commands::write_deadlines(&mut out, format, &deadlines)?;
            if !csv {
                writeln!(out)?;
                writeln!(out, "== Spend report ==")?;
            } else {
                writeln!(out)?;
            }
            commands::write_spend_report(
                &mut out,
                format,
                grant_ledger_projections::SpendReportBy::Purpose,
                &spend_report,
            )?;
            if !csv {
                writeln!(out)?;
                writeln!(out, "== Determination check ==")?;
            } else {
                writeln!(out)?;
            }
            render::write_check(&mut out, format, &check, false)?;
        }
    }
    Ok(out.finish()?)
}

struct Built {
    events: u64,
    payments: usize,
    spends: usize,
}

fn build<S: EventStore>(ledger: &Ledger<S>, actor: &Caller, d: &Determination) -> CliResult<Built> {
    ledger.record(
        actor,
        None,
        Command::MakeDetermination {
            id: Uuid::now_v7(),
            determination: d.clone(),
        },
    )?;

    // The nine payments, on time: the week before the deadline.
    let first_day = d.payment_deadline - Days::new(7);
    let mut last_payment = d.made_on;
    for (i, allocation) in d.allocations.iter().enumerate() {
        let date = first_day + Days::new(u64::try_from(i % 7).unwrap_or(0));
        let date = date.max(d.made_on).min(d.payment_deadline);
        last_payment = last_payment.max(date);
        ledger.record(
            actor,
            Some(&format!("demo-pay-{}", region_slug(&allocation.region))),
            Command::IssuePayment {
                id: Uuid::now_v7(),
                determination: d.id.clone(),
                region: allocation.region.clone(),
                amount: allocation.amount,
                date,
                reference: Some(format!("BACS-2024-{:04}", 7421 + i)),
                late_reason: None,
            },
        )?;
    }

    // Spend from after the payments to the end of the grant period.
    let earliest = (last_payment + Days::new(1)).max(d.grant_period.start);
    let rows = spend_rows(d, earliest);
    let spends = rows.len();
    // One import per region, as each region would send in its own return.
    for allocation in &d.allocations {
        let mut iter = rows
            .iter()
            .filter(|r| r.region == allocation.region)
            .cloned()
            .map(Ok);
        ledger.import_spends(actor, &mut iter, &mut |_| {})?;
    }

    // A mis-keyed spend (a zero too many), reversed as a correction and re-entered.
    let Some(region) = d.allocations.get(1).or(d.allocations.first()) else {
        return Err(CliError::unavailable(format!(
            "determination {} has no allocations",
            d.id
        )));
    };
    let purpose = d
        .components
        .iter()
        .find(|c| c.basis == Basis::PerRegion)
        .map_or_else(String::new, |c| c.purpose.clone());
    let authority = region.authorities.first().cloned();
    let invoice_date = clamp(earliest + Days::new(45), d);
    let right = Money::from_pounds(825).map_err(|e| CliError::unavailable(e.to_string()))?;
    let wrong = Money::from_pounds(8_250).map_err(|e| CliError::unavailable(e.to_string()))?;
    let spend = |amount: Money| Command::SpendFunds {
        id: Uuid::now_v7(),
        determination: d.id.clone(),
        region: region.region.clone(),
        amount,
        date: invoice_date,
        purpose: purpose.clone(),
        authority: authority.clone(),
        description: Some("Peer review travel and venue".to_string()),
        reference: Some("INV-MIS-0001".to_string()),
    };
    let mistaken = ledger.record(actor, Some("demo-miskeyed-spend"), spend(wrong))?;
    if let Some(event) = mistaken.events.first() {
        ledger.reverse(
            actor,
            Some("demo-reverse-miskeyed"),
            &event.event_id.to_string(),
            &format!("mis-keyed: invoice INV-MIS-0001 is for {right}, entered as {wrong}"),
            None,
        )?;
    }
    ledger.record(actor, Some("demo-rekeyed-spend"), spend(right))?;

    let payments = d.allocations.len();
    Ok(Built {
        events: u64::try_from(1 + payments + spends + 3).unwrap_or(u64::MAX),
        payments,
        spends: spends + 2,
    })
}

fn clamp(date: NaiveDate, d: &Determination) -> NaiveDate {
    date.max(d.grant_period.start).min(d.grant_period.end)
}

/// `amount × percent / 100`, to whole pounds.
fn share(amount: Money, percent: u64) -> Option<Money> {
    let pounds = (amount.amount() * Decimal::from(percent) / Decimal::from(100))
        .round_dp_with_strategy(0, RoundingStrategy::MidpointNearestEven);
    Money::from_decimal(pounds).ok().filter(|m| m.is_positive())
}

fn description(purpose: &str, quarter: usize) -> String {
    let what = match purpose {
        "data-coordinator" => "Regional data coordinator salary and on-costs",
        "sector-led-improvement" => "Sector-led improvement: peer review and diagnostic days",
        "self-assessment" => "Self-assessment and peer challenge: DCS days",
        "data-to-insight" => "Data to Insight project: regional data improvement",
        "national-framework" => "National Framework implementation support days",
        other => other,
    };
    format!("{what}, Q{}", quarter + 2)
}

/// A plausible year of spend for every region, from the formula budgets.
fn spend_rows(d: &Determination, earliest: NaiveDate) -> Vec<SpendRow> {
    let mut rows = Vec::new();
    let mut push = |region: &str,
                    authority: Option<&String>,
                    purpose: &str,
                    amount: Money,
                    date: NaiveDate,
                    quarter: usize| {
        let n = rows.len() + 1;
        rows.push(SpendRow {
            line: u64::try_from(n + 1).unwrap_or(u64::MAX),
            determination: d.id.clone(),
            region: region.to_string(),
            amount,
            date: clamp(date.max(earliest), d),
            purpose: purpose.to_string(),
            authority: authority.cloned(),
            description: Some(description(purpose, quarter)),
            reference: Some(format!("INV-{}-{n:04}", region_slug(region).to_uppercase())),
            key: Some(format!("demo-spend-{n:04}")),
        });
    };
    // Quarters 2 to 4 of the grant period, as days after its start.
    let quarter_start = |q: usize| d.grant_period.start + Days::new(91 * (q as u64 + 1));
    for (ri, allocation) in d.allocations.iter().enumerate() {
        let authorities = &allocation.authorities;
        let budget = d.budget(&allocation.region);
        for (pi, component) in d.components.iter().enumerate() {
            let Some(amount) = budget.get(&component.purpose).copied() else {
                continue;
            };
            if !amount.is_positive() {
                continue;
            }
            if component.basis == Basis::PerAuthority && !authorities.is_empty() {
                // Each authority's own self-assessment days, most of them used.
                for (ai, authority) in authorities.iter().enumerate() {
                    let percent = 50 + ((ri * 7 + ai * 11) % 51) as u64;
                    if let Some(each) = share(component.amount, percent) {
                        let quarter = 1 + (ai + ri) % 2;
                        let offset = ((ai * 17 + ri * 5) % 80) as u64;
                        push(
                            &allocation.region,
                            Some(authority),
                            &component.purpose,
                            each,
                            quarter_start(quarter) + Days::new(offset),
                            quarter,
                        );
                    }
                }
                continue;
            }
            // Per-region and fixed components: 60-90% spent over three quarters,
            // each quarter by a different authority of the region.
            let percent = 60 + ((ri * 7 + pi * 13) % 31) as u64;
            let Some(total) = share(amount, percent) else {
                continue;
            };
            let parts = [30u64, 35];
            let mut left = total;
            for quarter in 0..3 {
                let part = if quarter < 2 {
                    share(total, parts[quarter])
                } else {
                    Some(left).filter(|m| m.is_positive())
                };
                let Some(part) = part else { continue };
                left = left.checked_sub(part).unwrap_or(Money::ZERO);
                let authority = (!authorities.is_empty())
                    .then(|| &authorities[(ri * 3 + pi * 5 + quarter * 7) % authorities.len()]);
                let offset = if quarter == 0 {
                    // The first quarter's spend comes after the money arrived.
                    70 + ((ri + pi) % 18) as u64
                } else {
                    ((ri * 3 + pi * 11 + quarter) % 80) as u64
                };
                push(
                    &allocation.region,
                    authority,
                    &component.purpose,
                    part,
                    quarter_start(quarter) + Days::new(offset),
                    quarter,
                );
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_spend_stays_within_each_budget_and_period() {
        let Some(Ok(d)) = builtin(DEMO_ID) else {
            panic!("built-in 31/7421 must parse");
        };
        let earliest = d.payment_deadline + Days::new(1);
        let rows = spend_rows(&d, earliest);
        assert!(rows.len() > 100);
        for allocation in &d.allocations {
            let spent = render::sum(
                rows.iter()
                    .filter(|r| r.region == allocation.region)
                    .map(|r| r.amount),
            );
            assert!(spent < allocation.amount, "{}", allocation.region);
        }
        for r in &rows {
            assert!(d.grant_period.contains(r.date) && r.date >= earliest);
        }
        let purposes: std::collections::BTreeSet<_> = rows.iter().map(|r| &r.purpose).collect();
        assert_eq!(purposes.len(), d.components.len());
    }
}
