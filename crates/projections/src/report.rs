//! `spend-report`: each region's allocation in lines (by purpose, or by authority) that add
//! up to it, so that a region's `remaining` reconciles with its `unspent` in `balances`.
//!
//! By purpose, a region has one line per formula component, then one `above-formula` line:
//! what it was determined beyond the sum of its components (South West: £260,600
//! determined against a formula of £249,200), carrying the region's recoveries too, since a
//! recovery is clawed back from the allocation, not from a purpose; `below-formula` when a
//! variation cut it below its formula, the gap then negative. A withdrawn determination's
//! lines budget nothing, so nothing remains on them. By authority, each
//! authority's budget is the formula's per-authority components (zero where the formula has
//! none), its spend is every spend naming it, and a `region-wide` line holds the rest of the
//! allocation, the spend naming no authority, and the recoveries.

use grant_ledger_domain::{Basis, Determination, Money};
use grant_ledger_store::EventStore;

use crate::balances::{AllocationBalance, Balances};
use crate::error::LedgerError;
use crate::ledger::Ledger;
use crate::money_ops::{minus, plus};
use crate::rows::{SpendLine, SpendReportBy, SpendReportRow};
use crate::spend::SpendByPurpose;
use crate::SpendReportQuery;

impl<S: EventStore> Ledger<S> {
    /// The spend report of one determination, or of every one, optionally of one region,
    /// now or as of a date.
    pub fn spend_report(&self, q: &SpendReportQuery) -> Result<Vec<SpendReportRow>, LedgerError> {
        let determination = self.known_determination(q.determination.as_deref())?;
        let region = q
            .region
            .as_deref()
            .map(|r| self.resolve_region(determination.as_deref(), r))
            .transpose()?;
        let snapshot = self.snapshot();
        let as_of = q.as_of.map(|d| self.as_of(d, true)).transpose()?;
        let (balances, spend) = match &as_of {
            Some(m) => (&m.balances, &m.spend),
            None => (&*snapshot.balances, &*snapshot.spend),
        };
        let mut rows = Vec::new();
        for d in snapshot
            .states
            .values()
            .filter_map(|s| s.determination.as_ref())
            .filter(|d| determination.as_deref().map_or(true, |id| id == d.id))
        {
            for allocation in &d.allocations {
                if region.as_deref().is_some_and(|r| r != allocation.region) {
                    continue;
                }
                // As of a day before the determination was made, and nothing yet counted
                // against it: it is not in the ledger yet.
                let Some(balance) = allocation_of(balances, &d.id, &allocation.region) else {
                    continue;
                };
                let first = rows.len();
                match q.by {
                    SpendReportBy::Purpose => by_purpose(&mut rows, d, balance, spend),
                    SpendReportBy::Authority => by_authority(&mut rows, d, balance, spend),
                }
                if balance.withdrawn {
                    nothing_awarded(&mut rows[first..]);
                }
            }
        }
        Ok(rows)
    }
}

fn allocation_of<'a>(
    balances: &'a Balances,
    determination: &'a str,
    region: &str,
) -> Option<&'a AllocationBalance> {
    balances
        .allocations(Some(determination))
        .find(|(_, a)| a.region == region)
        .map(|(_, a)| a)
}

fn row(
    d: &Determination,
    region: &str,
    line: SpendLine,
    budget: Money,
    spent: Money,
    recovered: Money,
) -> SpendReportRow {
    SpendReportRow {
        determination: d.id.clone(),
        region: region.to_string(),
        line,
        purpose: None,
        authority: None,
        budget,
        spent,
        recovered,
        remaining: minus(minus(budget, spent), recovered),
    }
}

/// A withdrawn determination awards nothing: its lines stay (what was spent or recovered
/// stays on record) but budget nothing, so nothing remains to be spent from them and the
/// region's lines still add up to its `unspent` plus `unpaid` in `balances`.
fn nothing_awarded(lines: &mut [SpendReportRow]) {
    for line in lines {
        line.budget = Money::ZERO;
        line.remaining = minus(minus(Money::ZERO, line.spent), line.recovered);
    }
}

fn by_purpose(
    rows: &mut Vec<SpendReportRow>,
    d: &Determination,
    balance: &AllocationBalance,
    spend: &SpendByPurpose,
) {
    let region = balance.region.as_str();
    for line in spend.lines(&d.id, Some(region)) {
        rows.push(SpendReportRow {
            purpose: Some(line.purpose.clone()),
            ..row(
                d,
                region,
                SpendLine::Purpose,
                line.budget,
                line.spent,
                Money::ZERO,
            )
        });
    }
    let formula = d.budget(region).into_values().fold(Money::ZERO, plus);
    let above = minus(balance.determined, formula);
    // A variation may cut an allocation below its formula: the gap is then negative, and
    // the line says so rather than calling a cut "above".
    let line = if above.is_negative() {
        SpendLine::BelowFormula
    } else {
        SpendLine::AboveFormula
    };
    if !(above.is_zero() && balance.recovered.is_zero()) {
        rows.push(row(d, region, line, above, Money::ZERO, balance.recovered));
    }
}

fn by_authority(
    rows: &mut Vec<SpendReportRow>,
    d: &Determination,
    balance: &AllocationBalance,
    spend: &SpendByPurpose,
) {
    let region = balance.region.as_str();
    let Some(allocation) = d.allocation(region) else {
        return;
    };
    let each = per_authority_budget(d, region);
    let mut budgeted = Money::ZERO;
    for authority in &allocation.authorities {
        budgeted = plus(budgeted, each);
        rows.push(SpendReportRow {
            authority: Some(authority.clone()),
            ..row(
                d,
                region,
                SpendLine::Authority,
                each,
                spend.spent_by(&d.id, region, Some(authority)),
                Money::ZERO,
            )
        });
    }
    rows.push(row(
        d,
        region,
        SpendLine::RegionWide,
        minus(balance.determined, budgeted),
        spend.spent_by(&d.id, region, None),
        balance.recovered,
    ));
}

/// What the formula gives one authority of `region` through its per-authority components:
/// the formula's own arithmetic (uplift and rounding included) for a region of one.
fn per_authority_budget(d: &Determination, region: &str) -> Money {
    let mut one = d.clone();
    one.allocations.retain(|a| a.region == region);
    for a in &mut one.allocations {
        a.authorities.truncate(1);
    }
    let budget = one.budget(region);
    d.components
        .iter()
        .filter(|c| c.basis == Basis::PerAuthority)
        .filter_map(|c| budget.get(&c.purpose).copied())
        .fold(Money::ZERO, plus)
}

#[cfg(test)]
mod tests {
    use super::*;
    use grant_ledger_domain::builtin;

    #[test]
    fn an_authority_of_the_south_west_is_budgeted_one_self_assessment() {
        let d = builtin("31/7421").unwrap().unwrap();
        assert_eq!(
            per_authority_budget(&d, "South West"),
            Money::parse("3200").unwrap()
        );
    }

    #[test]
    fn an_authority_is_budgeted_nothing_where_the_formula_has_no_per_authority_component() {
        let mut d = builtin("31/7421").unwrap().unwrap();
        d.components.retain(|c| c.basis != Basis::PerAuthority);
        assert_eq!(per_authority_budget(&d, "South West"), Money::ZERO);
    }
}
