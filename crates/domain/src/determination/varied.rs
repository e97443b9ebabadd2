//! What each instalment of a schedule comes to once the allocation has been varied: the
//! one rule the payment decision, `deadlines` and `balances` all read, so that a variation
//! never makes an instalment already due (and perhaps paid on time) look short.
//!
//! A variation changes only what falls due on or after its date. An instalment due before
//! it keeps the amount it had; the change is spread over the instalments due on or after
//! it: by share, the rest of the allocation is split among them in proportion to their
//! shares (the last taking the pennies of rounding); by amount (the schedule's or the
//! allocation's own), the last instalment takes the difference. A variation dated after
//! every due date changes the last instalment. A cut larger than what the instalments due
//! on or after the variation come to is taken from the instalments before them, latest
//! first, because no instalment can be less than nothing.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::Determination;
use crate::money::Money;

impl Determination {
    /// What each instalment of `region`'s schedule comes to after `variations` (each its
    /// date and the new allocation, oldest first), starting from the allocation as
    /// determined: empty without a schedule. Pass only the variations dated on or before
    /// the day asked about: a later one had not happened yet.
    pub fn instalments_as_varied(
        &self,
        region: &str,
        variations: impl IntoIterator<Item = (NaiveDate, Money)>,
    ) -> Vec<Money> {
        let Some(allocation) = self.allocation(region) else {
            return Vec::new();
        };
        let mut amounts = self.instalment_amounts(&allocation.region, allocation.amount);
        if amounts.is_empty() {
            return amounts;
        }
        let by_share = allocation.instalment_amounts.is_empty()
            && self.schedule.iter().all(|i| i.share.is_some());
        for (date, total) in variations {
            // The first instalment the variation can change: the first due on or after
            // it, else (every due date passed) the last.
            let open = self
                .schedule
                .iter()
                .position(|i| i.due >= date)
                .unwrap_or(amounts.len() - 1);
            let kept = sum(&amounts[..open]);
            match total.checked_sub(kept).filter(|rest| !rest.is_negative()) {
                Some(rest) if by_share => {
                    let shares: Vec<Decimal> = self.schedule[open..]
                        .iter()
                        .map(|i| i.share.unwrap_or(Decimal::ZERO))
                        .collect();
                    spread(&mut amounts[open..], rest, &shares);
                }
                _ => take_difference(&mut amounts, total),
            }
        }
        amounts
    }
}

fn sum(amounts: &[Money]) -> Money {
    amounts
        .iter()
        .fold(Money::ZERO, |s, a| s.saturating_add(*a))
}

/// Splits `rest` over `amounts` in proportion to `shares`, rounded to the penny (half away
/// from zero); the last takes what the others leave, so they add up to `rest` exactly.
fn spread(amounts: &mut [Money], rest: Money, shares: &[Decimal]) {
    let whole = shares
        .iter()
        .try_fold(Decimal::ZERO, |s, share| s.checked_add(*share))
        .unwrap_or(Decimal::ZERO);
    let mut left = rest;
    let last = amounts.len().saturating_sub(1);
    for (index, (amount, share)) in amounts.iter_mut().zip(shares).enumerate() {
        let part = if index == last {
            left
        } else if whole.is_zero() {
            Money::ZERO
        } else {
            rest.amount()
                .checked_mul(*share)
                .and_then(|a| a.checked_div(whole))
                .map(|a| {
                    a.round_dp_with_strategy(
                        2,
                        rust_decimal::RoundingStrategy::MidpointAwayFromZero,
                    )
                })
                .and_then(|a| Money::from_decimal(a).ok())
                .unwrap_or(Money::ZERO)
                .min(left)
        };
        left = left.saturating_sub(part);
        *amount = part;
    }
}

/// Makes `amounts` add up to `total` by changing the last instalment: a rise goes to it; a
/// cut comes out of it and, where it is larger, out of the ones before it, latest first.
fn take_difference(amounts: &mut [Money], total: Money) {
    let current = sum(amounts);
    if total >= current {
        if let Some(last) = amounts.last_mut() {
            *last = last.saturating_add(total.saturating_sub(current));
        }
        return;
    }
    let mut cut = current.saturating_sub(total);
    for amount in amounts.iter_mut().rev() {
        let taken = cut.min(*amount);
        *amount = amount.saturating_sub(taken);
        cut = cut.saturating_sub(taken);
        if cut.is_zero() {
            break;
        }
    }
}
