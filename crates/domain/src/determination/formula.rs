//! The formula: what one component comes to for one region, what a stated
//! working multiplies out to, and what each instalment of a schedule comes to.

use rust_decimal::Decimal;

use super::{Allocation, Basis, Component, Instalment, Working};
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

/// Each instalment's amount of an allocation of `allocation`: the allocation's own amount
/// for it (`fixed`, when the allocation gives its instalment amounts), else the
/// instalment's share rounded to the penny (half away from zero) or its stated amount;
/// except the last, which is what the earlier ones leave (never below zero).
pub fn schedule_amounts(schedule: &[Instalment], allocation: Money, fixed: &[Money]) -> Vec<Money> {
    let mut amounts = Vec::with_capacity(schedule.len());
    let mut left = allocation;
    for (index, instalment) in schedule.iter().enumerate() {
        let amount = if index + 1 == schedule.len() {
            left
        } else {
            let part = match (instalment.share, instalment.amount) {
                _ if !fixed.is_empty() => fixed.get(index).copied().unwrap_or(Money::ZERO),
                (Some(share), _) => allocation
                    .amount()
                    .checked_mul(share)
                    .and_then(|a| a.checked_div(Decimal::ONE_HUNDRED))
                    .map(|a| {
                        a.round_dp_with_strategy(
                            2,
                            rust_decimal::RoundingStrategy::MidpointAwayFromZero,
                        )
                    })
                    .and_then(|a| Money::from_decimal(a).ok())
                    .unwrap_or(Money::ZERO),
                (None, Some(amount)) => amount,
                (None, None) => Money::ZERO,
            };
            part.min(left)
        };
        left = left.saturating_sub(amount);
        amounts.push(amount);
    }
    amounts
}
