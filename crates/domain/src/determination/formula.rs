//! The formula: what one component comes to for one region, and what a
//! stated working multiplies out to.

use rust_decimal::Decimal;

use super::{Allocation, Basis, Component, Working};
use crate::money::Money;
use crate::region::region_matches;

/// One component's formula amount for one region, before nothing else: the
/// amount per region, times the region's authorities for per-authority, only
/// for its own region if fixed; times (1 + uplift) for an uplifted region,
/// rounded to the penny (half away from zero) because an uplift fraction can
/// yield fractions of a penny.
pub(crate) fn component_amount_checked(
    component: &Component,
    allocation: &Allocation,
) -> Option<Money> {
    let base = match component.basis {
        Basis::PerRegion => component.amount.amount(),
        Basis::PerAuthority => {
            let count = u32::try_from(allocation.authorities.len()).ok()?;
            component
                .amount
                .amount()
                .checked_mul(Decimal::from(count))?
        }
        Basis::Fixed => match &component.region {
            Some(region) if region_matches(&allocation.region, region) => component.amount.amount(),
            _ => Decimal::ZERO,
        },
    };
    let uplift = component
        .uplift
        .iter()
        .find(|(region, _)| region_matches(&allocation.region, region))
        .map(|(_, fraction)| *fraction)
        .unwrap_or(Decimal::ZERO);
    let factor = Decimal::ONE.checked_add(uplift)?;
    let amount = base
        .checked_mul(factor)?
        .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    Money::from_decimal(amount).ok()
}

/// As [`component_amount_checked`], clamped for determinations built by hand
/// that skipped [`Determination::validate`].
pub(crate) fn component_amount(component: &Component, allocation: &Allocation) -> Money {
    component_amount_checked(component, allocation).unwrap_or(Money::MAX)
}

/// The product of a working's factors times its rate, if representable.
pub(crate) fn working_amount(working: &Working) -> Option<Money> {
    let mut total = working.rate.amount();
    for factor in &working.factors {
        total = total.checked_mul(Decimal::from(*factor))?;
    }
    Money::from_decimal(total).ok()
}
