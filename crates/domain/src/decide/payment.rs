//! Paying a region's lead authority: against the allocation, the instalments
//! and the payment deadline.

use chrono::NaiveDate;
use uuid::Uuid;

use super::{allocation, figures, positive};
use crate::determination::Determination;
use crate::error::DomainError;
use crate::event::{Event, EventData, PaymentIssued};
use crate::money::Money;
use crate::state::State;

/// The fields of a payment command, gathered so the rule reads as one unit.
pub(super) struct Payment {
    pub(super) region: String,
    pub(super) amount: Money,
    pub(super) date: NaiveDate,
    pub(super) reference: Option<String>,
    pub(super) late_reason: Option<String>,
}

pub(super) fn issue_payment(
    state: &State,
    d: &Determination,
    id: Uuid,
    payment: Payment,
) -> Result<Vec<Event>, DomainError> {
    let Payment {
        region,
        amount,
        date,
        reference,
        late_reason,
    } = payment;
    positive("payment", amount)?;
    let allocation = allocation(d, &region)?;
    let figures = figures(state, allocation);
    if date < d.made_on {
        return Err(DomainError::refused(format!(
            "payment dated {date} is before determination {} was made on {}",
            d.id, d.made_on
        )));
    }
    let late = date > d.payment_deadline;
    if !late && late_reason.is_some() {
        // Stored but shown nowhere a reader would look, a late reason on an on-time
        // payment would only mislead.
        return Err(DomainError::refused(format!(
            "payment dated {date} is on time (the deadline of determination {} is {}), so it takes no late reason; leave the late reason out",
            d.id, d.payment_deadline
        )));
    }
    if late && late_reason.is_none() {
        return Err(DomainError::refused(format!(
            "payment dated {date} is after the deadline {} of determination {} and no late reason was given",
            d.payment_deadline, d.id
        )));
    }
    if figures.instalments >= d.instalments {
        // Name what is on record, so the officer can see which payment stands.
        let on_record = figures
            .payments
            .iter()
            .map(|p| format!("{} on {}", p.amount, p.date))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(DomainError::refused(format!(
            "{} is already paid in its {} instalment(s) of determination {} ({on_record})",
            allocation.region, d.instalments, d.id
        )));
    }
    if d.instalments == 1 && amount != allocation.amount {
        return Err(DomainError::refused(format!(
            "payment of {amount} to {} is not its allocation of {}; determination {} is paid in one instalment",
            allocation.region, allocation.amount, d.id
        )));
    }
    let paid = figures
        .paid
        .checked_add(amount)
        .filter(|paid| *paid <= allocation.amount)
        .ok_or_else(|| {
            DomainError::refused(format!(
                "payment of {amount} would take {}'s paid to {}, above its allocation of {}",
                allocation.region,
                figures.paid.saturating_add(amount),
                allocation.amount
            ))
        })?;
    debug_assert!(paid.is_positive());
    Ok(vec![Event {
        id,
        data: EventData::PaymentIssued(PaymentIssued {
            determination: d.id.clone(),
            region: allocation.region.clone(),
            lead_authority: allocation.lead_authority.clone(),
            amount,
            date,
            instalment: figures.instalments.saturating_add(1),
            reference,
            late,
            late_reason,
        }),
    }])
}
