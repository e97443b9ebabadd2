//! The spend read model: what each region spent on each purpose against the formula budget
//! (`Determination::budget`). The per-region overspend rule is the domain's; this only counts.

use std::collections::BTreeMap;

use grant_ledger_domain::{EventData, EventType, Money};
use serde::{Deserialize, Serialize};

use crate::money_ops::{minus, plus};
use crate::rows::SpendReportRow;

/// One region's spend on one purpose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PurposeSpend {
    pub region: String,
    pub purpose: String,
    pub budget: Money,
    pub spent: Money,
}

/// Spend lines per determination, in allocation order then purpose order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SpendByPurpose {
    pub determinations: BTreeMap<String, Vec<PurposeSpend>>,
}

impl SpendByPurpose {
    /// Folds one event. `reversed` is the event an `EventReversed` names (looked up by the
    /// caller): a reversal carries its amount and region but not the spend's purpose.
    pub fn apply(&mut self, event: &EventData, reversed: Option<&EventData>) {
        match event {
            EventData::DeterminationMade(made) => {
                let d = &made.determination;
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
            EventData::FundsSpent(s) => {
                if let Some(line) = self.line(&s.determination, &s.region, &s.purpose) {
                    line.spent = plus(line.spent, s.amount);
                }
            }
            EventData::EventReversed(r) if r.reversed_type == EventType::FundsSpent => {
                if let Some(EventData::FundsSpent(s)) = reversed {
                    if let Some(line) = self.line(&r.determination, &r.region, &s.purpose) {
                        line.spent = minus(line.spent, r.amount);
                    }
                }
            }
            _ => {}
        }
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

    pub fn rows<'a>(
        &'a self,
        determination: &'a str,
        region: Option<&'a str>,
    ) -> impl Iterator<Item = SpendReportRow> + 'a {
        self.determinations
            .get(determination)
            .into_iter()
            .flatten()
            .filter(move |l| region.map_or(true, |r| r == l.region))
            // A purpose the formula gives this region nothing for, and that it has not
            // spent on (Data to Insight outside the South East), is noise in a report.
            .filter(|l| !(l.budget.is_zero() && l.spent.is_zero()))
            .map(move |l| SpendReportRow {
                determination: determination.to_string(),
                region: l.region.clone(),
                purpose: l.purpose.clone(),
                budget: l.budget,
                spent: l.spent,
                remaining: minus(l.budget, l.spent),
            })
    }
}
