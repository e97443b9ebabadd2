//! The formula check: recompute every allocation from the determination's
//! components and report where it differs from what was determined, and each
//! lead authority the determination names otherwise than the register does. It
//! only reports; what was determined is the law and is never changed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::determination::{component_amount, working_amount, Allocation, Determination};
use crate::money::Money;
use crate::register::{official_name, same_council};

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
    /// Set when the lead authority's name differs from its official name for its org id.
    pub lead_authority_register: Option<RegisterName>,
}

/// A lead authority the determination names otherwise than the register does: Annex A's
/// "Wiltshire County Council" for the register's Wiltshire Council (GB-LAE-WIL).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterName {
    /// As the determination names it.
    pub lead_authority: String,
    pub official_name: String,
    pub org_id: String,
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
    /// Whether every region reconciles, every working multiplies out and every lead
    /// authority is named as the register names it.
    pub fn is_clean(&self) -> bool {
        self.regions
            .iter()
            .all(|r| r.difference.is_zero() && r.lead_authority_register.is_none())
            && self.workings.is_empty()
    }

    /// The lead authorities named otherwise than the register names them.
    pub fn renamed(&self) -> impl Iterator<Item = (&str, &RegisterName)> {
        self.regions.iter().filter_map(|r| {
            r.lead_authority_register
                .as_ref()
                .map(|n| (r.region.as_str(), n))
        })
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
                lead_authority_register: register_name(allocation),
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

/// The register's name for the allocation's lead authority, when it is another council's
/// name than the one the determination gives. Nothing to say without an org id, or for an
/// org id the register does not know.
fn register_name(allocation: &Allocation) -> Option<RegisterName> {
    let org_id = allocation.org_id.as_deref()?;
    let official = official_name(org_id)?;
    (!same_council(&allocation.lead_authority, official)).then(|| RegisterName {
        lead_authority: allocation.lead_authority.clone(),
        official_name: official.to_string(),
        org_id: org_id.to_string(),
    })
}
