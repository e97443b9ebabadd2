//! How a determination's own tables look: its allocations and its formula components.

use grant_ledger_domain::Determination;

use super::sum;
use crate::output::{Cell, Report};

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
