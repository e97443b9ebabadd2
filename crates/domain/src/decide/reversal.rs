//! Reversing a payment, spend or recovery: only what is on record, and only
//! where the figures it leaves still add up.

use chrono::NaiveDate;
use uuid::Uuid;

use super::{allocation, figures};
use crate::determination::Determination;
use crate::echo::echo;
use crate::error::DomainError;
use crate::event::{Event, EventData, EventReversed, EventType};
use crate::money::Money;
use crate::state::State;

pub(super) fn reverse_event(
    state: &State,
    d: &Determination,
    id: Uuid,
    target: &Event,
    reason: String,
    date: Option<NaiveDate>,
) -> Result<Vec<Event>, DomainError> {
    let target_id = target.id;
    let target_type = target.data.event_type();
    match target_type {
        EventType::EventReversed => {
            return Err(DomainError::refused(format!(
                "a reversal cannot be reversed, and event {target_id} is itself a reversal"
            )))
        }
        EventType::DeterminationMade => {
            return Err(DomainError::refused(format!(
                "a determination cannot be reversed, and event {target_id} made determination {}",
                target.data.determination_id()
            )))
        }
        EventType::DeterminationWithdrawn | EventType::DeterminationVaried => {
            return Err(DomainError::refused(format!(
                "a withdrawal or variation of a determination cannot be reversed, and event {target_id} is one; record a new variation instead"
            )))
        }
        EventType::PaymentIssued | EventType::FundsSpent | EventType::GrantRecovered => {}
    }
    if target.data.determination_id() != d.id {
        return Err(DomainError::refused(format!(
            "event {target_id} belongs to determination {}, not {}",
            echo(target.data.determination_id()),
            d.id
        )));
    }
    if state.reversed.contains(&target_id) {
        return Err(DomainError::refused(format!(
            "event {target_id} has already been reversed"
        )));
    }
    let allocation = allocation(d, target.data.region().unwrap_or_default())?;
    let amount = target.data.amount().unwrap_or(Money::ZERO);
    if !amount.is_positive() {
        // Every recorded payment, spend and recovery is positive, so this
        // target was not read from the log.
        return Err(DomainError::refused(format!(
            "event {target_id} has no positive amount to reverse ({amount})"
        )));
    }
    let reversed_date = target.data.effective_date();
    let effective = date.unwrap_or(reversed_date);
    if effective < reversed_date {
        return Err(DomainError::refused(format!(
            "a reversal dated {effective} cannot take effect before the reversed event's date {reversed_date}"
        )));
    }
    let figures = figures(state, allocation);
    let region = &allocation.region;
    match target_type {
        EventType::PaymentIssued => {
            if !figures
                .payments
                .iter()
                .any(|p| p.id == target_id && p.amount == amount)
            {
                return Err(DomainError::refused(format!(
                    "event {target_id} is not a payment on record for {region} in determination {}",
                    d.id
                )));
            }
            let paid_after = figures.paid.saturating_sub(amount);
            if figures.recovered > paid_after {
                return Err(DomainError::refused(format!(
                    "reversing payment {target_id} of {amount} would leave {region} with {} recovered, more than the {paid_after} paid",
                    figures.recovered
                )));
            }
            let received = paid_after.saturating_sub(figures.recovered);
            if figures.spent > received {
                return Err(DomainError::refused(format!(
                    "reversing payment {target_id} of {amount} would leave {region}'s spent of {} above the {received} received",
                    figures.spent
                )));
            }
        }
        EventType::FundsSpent if amount > figures.spent => {
            return Err(DomainError::refused(format!(
                "event {target_id} spends {amount} but {region}'s spent on record is only {}",
                figures.spent
            )));
        }
        EventType::GrantRecovered if amount > figures.recovered => {
            return Err(DomainError::refused(format!(
                "event {target_id} recovers {amount} but {region}'s recovered on record is only {}",
                figures.recovered
            )));
        }
        _ => {}
    }
    Ok(vec![Event {
        id,
        data: EventData::EventReversed(EventReversed {
            determination: d.id.clone(),
            region: region.clone(),
            reversed_event_id: target_id,
            reversed_type: target_type,
            amount,
            date: effective,
            reversed_date,
            reason,
        }),
    }])
}
