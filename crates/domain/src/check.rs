//! The formula check: recompute every allocation from the determination's
//! components and report where it differs from what was determined. It only
//! reports; the determined amounts are the law and are never changed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::determination::{component_amount, working_amount, Determination};
use crate::money::Money;

/// The whole report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormulaCheck {
    pub regions: Vec<RegionCheck>,
    /// Only components whose stated working does not equal their amount.
    pub workings: Vec<WorkingCheck>,
}

/// One region's recomputation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionCheck {
    pub region: String,
    pub authorities: usize,
    /// Purpose -> this region's amount of it.
    pub components: BTreeMap<String, Money>,
    pub formula: Money,
    pub determined: Money,
    /// determined - formula.
    pub difference: Money,
}

/// A component whose stated working multiplies out to something else.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkingCheck {
    pub purpose: String,
    /// e.g. "4 x 39 x £600.00".
    pub working: String,
    pub working_amount: Money,
    pub amount: Money,
    /// amount - working_amount.
    pub difference: Money,
}

impl FormulaCheck {
    /// Whether every region reconciles and every working multiplies out.
    pub fn is_clean(&self) -> bool {
        self.regions.iter().all(|r| r.difference.is_zero()) && self.workings.is_empty()
    }
}

/// Recomputes every allocation of `d` from its components, in the order of
/// the allocations, and lists the components whose stated working differs
/// from their amount. Figures saturate at the money limit, which a validated
/// determination never reaches.
pub fn check(d: &Determination) -> FormulaCheck {
    let regions = d
        .allocations
        .iter()
        .map(|allocation| {
            let components: BTreeMap<String, Money> = d
                .components
                .iter()
                .map(|component| {
                    (
                        component.purpose.clone(),
                        component_amount(component, allocation),
                    )
                })
                .collect();
            let formula = components
                .values()
                .fold(Money::ZERO, |sum, amount| sum.saturating_add(*amount));
            RegionCheck {
                region: allocation.region.clone(),
                authorities: allocation.authorities.len(),
                components,
                formula,
                determined: allocation.amount,
                difference: allocation.amount.saturating_sub(formula),
            }
        })
        .collect();
    let workings = d
        .components
        .iter()
        .filter_map(|component| {
            let working = component.working.as_ref()?;
            let working_amount = working_amount(working).unwrap_or(Money::MAX);
            (working_amount != component.amount).then(|| WorkingCheck {
                purpose: component.purpose.clone(),
                working: working
                    .factors
                    .iter()
                    .map(u32::to_string)
                    .chain(std::iter::once(working.rate.to_string()))
                    .collect::<Vec<_>>()
                    .join(" x "),
                working_amount,
                amount: component.amount,
                difference: component.amount.saturating_sub(working_amount),
            })
        })
        .collect();
    FormulaCheck { regions, workings }
}
