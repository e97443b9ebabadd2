//! Paying a region's lead authority: against the allocation, the instalments
//! and the payment deadline.

use chrono::NaiveDate;
use uuid::Uuid;

use super::{allocation, figures, not_before_made, not_withdrawn, positive};
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
    not_withdrawn(state, d, "paid")?;
    let figures = figures(state, allocation);
    // What the region was to be paid on the payment's day: a variation may have changed
    // it, and one dated later had not happened yet then.
    let allocated = state.allocated_on(&allocation.region, date);
    not_before_made(d, "payment", date)?;
    let instalment = figures.instalments.saturating_add(1);
    // Each instalment of a schedule is late against its own due date, and a payment pays
    // the instalments in order: one that settles an earlier instalment paid short is late
    // against that instalment's due date, not its own.
    // A variation changes only what falls due on or after its date, so an instalment due
    // before it keeps what it was: the schedule on the payment's day says which.
    let schedule = state.instalments_on(&allocation.region, date);
    let settles = first_unsettled(&schedule, figures.paid).min(instalment);
    let due = d.due_date(settles);
    let late = date > due;
    let deadline = if d.schedule.is_empty() {
        format!("the deadline of determination {} is {due}", d.id)
    } else {
        format!(
            "instalment {settles} of determination {} is due by {due}",
            d.id
        )
    };
    if !late && late_reason.is_some() {
        // Stored but shown nowhere a reader would look, a late reason on an on-time
        // payment would only mislead.
        return Err(DomainError::refused(format!(
            "payment dated {date} is on time ({deadline}), so it takes no late reason; leave the late reason out"
        )));
    }
    if late && late_reason.is_none() {
        let after = if d.schedule.is_empty() {
            format!("the deadline {due} of determination {}", d.id)
        } else {
            format!(
                "the due date {due} of instalment {settles} of determination {}",
                d.id
            )
        };
        return Err(DomainError::refused(format!(
            "payment dated {date} is after {after} and no late reason was given"
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
    if d.instalments == 1 && amount != allocated {
        return Err(DomainError::refused(format!(
            "payment of {amount} to {} is not its allocation of {allocated}; determination {} is paid in one instalment",
            allocation.region, d.id
        )));
    }
    let paid = figures
        .paid
        .checked_add(amount)
        .filter(|paid| *paid <= allocated)
        .ok_or_else(|| {
            DomainError::refused(format!(
                "payment of {amount} would take {}'s paid to {}, above its allocation of {allocated}",
                allocation.region,
                figures.paid.saturating_add(amount),
            ))
        })?;
    // A variation dated after the payment may not be left below what is paid: it would
    // have been refused had it come after the payment (the paid stays within the
    // allocation in force on every day).
    if let Some((varied_on, lower)) = state
        .varied_after(&allocation.region, date)
        .find(|(_, amount)| paid > *amount)
    {
        return Err(DomainError::refused(format!(
            "payment of {amount} would take {}'s paid to {paid}, above its allocation of {lower} as varied on {varied_on}",
            allocation.region
        )));
    }
    // A schedule says how much is due by each instalment: no more may be paid by then.
    let due_so_far = schedule
        .iter()
        .copied()
        .take(usize::try_from(instalment).unwrap_or(usize::MAX))
        .fold(Money::ZERO, Money::saturating_add);
    if !d.schedule.is_empty() && paid > due_so_far {
        return Err(DomainError::refused(format!(
            "payment of {amount} would take {}'s paid to {paid}, beyond the {due_so_far} due by instalment {instalment} of determination {} (due {due})",
            allocation.region, d.id
        )));
    }
    // The last permitted instalment must complete the allocation: any less could never
    // be paid afterwards.
    if instalment == d.instalments && paid != allocated {
        return Err(DomainError::refused(format!(
            "payment of {amount} is {}'s last permitted instalment ({instalment} of {}) of determination {}, so it must complete the allocation of {allocated}: it must be {}",
            allocation.region,
            d.instalments,
            d.id,
            allocated.saturating_sub(figures.paid)
        )));
    }
    // Nor may a later variation have raised the allocation beyond what the last instalment
    // pays: the rise could never be paid (as such a variation is refused after the payment).
    if instalment == d.instalments {
        if let Some((varied_on, later)) = state
            .varied_after(&allocation.region, date)
            .find(|(_, amount)| *amount != paid)
        {
            return Err(DomainError::refused(format!(
                "payment of {amount} would be {}'s last permitted instalment ({instalment} of {}) of determination {}, but a variation dated {varied_on} raised its allocation to {later}, which no later instalment could then complete",
                allocation.region, d.instalments, d.id
            )));
        }
    }
    debug_assert!(paid.is_positive());
    Ok(vec![Event {
        id,
        data: EventData::PaymentIssued(PaymentIssued {
            determination: d.id.clone(),
            region: allocation.region.clone(),
            lead_authority: allocation.lead_authority.clone(),
            amount,
            date,
            instalment,
            reference,
            late,
            late_reason,
        }),
    }])
}

/// The first instalment (from 1) of `schedule` not paid in full once `paid` is counted
/// towards the instalments in order; past the last one when all are (and 1 without a
/// schedule, whose every payment is judged against the one deadline).
fn first_unsettled(schedule: &[Money], paid: Money) -> u32 {
    let mut due_so_far = Money::ZERO;
    let mut number = 0u32;
    for &amount in schedule {
        number = number.saturating_add(1);
        due_so_far = due_so_far.saturating_add(amount);
        if due_so_far > paid {
            return number;
        }
    }
    number.saturating_add(1)
}
