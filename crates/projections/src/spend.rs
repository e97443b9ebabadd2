//! The spend read model: what each region spent on each purpose against the formula budget
//! (`Determination::budget`), and what it spent through each authority it named (for
//! `spend-report --by authority`). The per-region overspend rule is the domain's; this only
//! counts.

use std::collections::BTreeMap;

use grant_ledger_domain::{Determination, EventData, EventType, Money};
use serde::{Deserialize, Serialize};

use crate::money_ops::{minus, plus};

/// One region's spend on one purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PurposeSpend {
    pub region: String,
    pub purpose: String,
    pub budget: Money,
    pub spent: Money,
}

/// One region's spend naming one authority (`None`: spend that named none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AuthoritySpend {
    pub region: String,
    pub authority: Option<String>,
    pub spent: Money,
}

/// Spend lines per determination, in allocation order then purpose order; and spend per
/// authority, in the order authorities were first spent through.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SpendByPurpose {
    pub determinations: BTreeMap<String, Vec<PurposeSpend>>,
    pub authorities: BTreeMap<String, Vec<AuthoritySpend>>,
}

impl SpendByPurpose {
    /// Folds one event. `reversed` is the event an `EventReversed` names (looked up by the
    /// caller): a reversal carries its amount and region but not the spend's purpose.
    pub fn apply(&mut self, event: &EventData, reversed: Option<&EventData>) {
        match event {
            EventData::DeterminationMade(made) => self.made(&made.determination),
            EventData::FundsSpent(s) => self.spent(
                &s.determination,
                &s.region,
                &s.purpose,
                s.authority.as_deref(),
                s.amount,
            ),
            EventData::EventReversed(r) if r.reversed_type == EventType::FundsSpent => {
                if let Some(EventData::FundsSpent(s)) = reversed {
                    if let Some(line) = self.line(&r.determination, &r.region, &s.purpose) {
                        line.spent = minus(line.spent, r.amount);
                    }
                    let by = self.by_authority(&r.determination, &r.region, s.authority.as_deref());
                    by.spent = minus(by.spent, r.amount);
                }
            }
            _ => {}
        }
    }

    /// Folds a determination being made: a line for each purpose the formula funds.
    pub fn made(&mut self, d: &Determination) {
        self.determinations.entry(d.id.clone()).or_insert_with(|| {
            d.allocations
                .iter()
                .flat_map(|a| {
                    d.budget(&a.region)
                        .into_iter()
                        .map(|(purpose, budget)| PurposeSpend {
                            region: a.region.clone(),
                            purpose,
                            budget,
                            spent: Money::ZERO,
                        })
                        .collect::<Vec<_>>()
                })
                .collect()
        });
    }

    /// Folds `amount` spent by `region` on `purpose` naming `authority`. Several spends of
    /// the same line may be folded as one sum: what depends on order is only where a line
    /// first appears, so summed spends must be folded in the order of their first spend.
    pub fn spent(
        &mut self,
        determination: &str,
        region: &str,
        purpose: &str,
        authority: Option<&str>,
        amount: Money,
    ) {
        if let Some(line) = self.line(determination, region, purpose) {
            line.spent = plus(line.spent, amount);
        }
        let by = self.by_authority(determination, region, authority);
        by.spent = plus(by.spent, amount);
    }

    /// The line for a purpose, created with a zero budget if the formula gives this region
    /// nothing for it (a purpose funded for one region may still be spent on by another).
    fn line(
        &mut self,
        determination: &str,
        region: &str,
        purpose: &str,
    ) -> Option<&mut PurposeSpend> {
        let lines = self.determinations.get_mut(determination)?;
        let index = match lines
            .iter()
            .position(|l| l.region == region && l.purpose == purpose)
        {
            Some(i) => i,
            None => {
                // Keep the region's lines together: insert after its last line.
                let at = lines
                    .iter()
                    .rposition(|l| l.region == region)
                    .map_or(lines.len(), |i| i + 1);
                lines.insert(
                    at,
                    PurposeSpend {
                        region: region.to_string(),
                        purpose: purpose.to_string(),
                        budget: Money::ZERO,
                        spent: Money::ZERO,
                    },
                );
                at
            }
        };
        lines.get_mut(index)
    }

    /// The running total of spend by `region` naming `authority`, made on first use.
    fn by_authority(
        &mut self,
        determination: &str,
        region: &str,
        authority: Option<&str>,
    ) -> &mut AuthoritySpend {
        let lines = self
            .authorities
            .entry(determination.to_string())
            .or_default();
        let index = match lines
            .iter()
            .position(|l| l.region == region && l.authority.as_deref() == authority)
        {
            Some(i) => i,
            None => {
                lines.push(AuthoritySpend {
                    region: region.to_string(),
                    authority: authority.map(str::to_string),
                    spent: Money::ZERO,
                });
                lines.len() - 1
            }
        };
        &mut lines[index]
    }

    /// What `region` of `determination` spent naming `authority` (`None`: naming none).
    pub fn spent_by(&self, determination: &str, region: &str, authority: Option<&str>) -> Money {
        self.authorities
            .get(determination)
            .into_iter()
            .flatten()
            .filter(|l| l.region == region && l.authority.as_deref() == authority)
            .fold(Money::ZERO, |sum, l| plus(sum, l.spent))
    }

    /// The purpose lines of one determination, optionally of one region, leaving out a
    /// purpose the formula gives the region nothing for and that it has not spent on (Data
    /// to Insight outside the South East): noise in a report.
    pub fn lines<'a>(
        &'a self,
        determination: &'a str,
        region: Option<&'a str>,
    ) -> impl Iterator<Item = &'a PurposeSpend> + 'a {
        self.determinations
            .get(determination)
            .into_iter()
            .flatten()
            .filter(move |l| region.map_or(true, |r| r == l.region))
            .filter(|l| !(l.budget.is_zero() && l.spent.is_zero()))
    }
}
