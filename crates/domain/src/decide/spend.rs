//! Spending what a region received: on a purpose of the determination with a
//! budget there, by one of its authorities, within the grant period and not before the
//! determination was made.

use chrono::NaiveDate;
use uuid::Uuid;

use super::suggestion::suggestion;
use super::{allocation, figures, not_before_made, not_withdrawn, positive};
use crate::determination::Determination;
use crate::echo::echo;
use crate::error::DomainError;
use crate::event::{Event, EventData, FundsSpent};
use crate::money::Money;
use crate::state::State;

/// The fields of a spend command, gathered so the rule reads as one unit.
pub(super) struct Spend {
    pub(super) region: String,
    pub(super) amount: Money,
    pub(super) date: NaiveDate,
    pub(super) purpose: String,
    pub(super) authority: Option<String>,
    pub(super) description: Option<String>,
    pub(super) reference: Option<String>,
}

pub(super) fn spend_funds(
    state: &State,
    d: &Determination,
    id: Uuid,
    spend: Spend,
) -> Result<Vec<Event>, DomainError> {
    positive("spend", spend.amount)?;
    let allocation = allocation(d, &spend.region)?;
    not_withdrawn(state, d, "spent")?;
    let purpose = d.purpose(&spend.purpose).ok_or_else(|| {
        DomainError::refused(format!(
            "unknown purpose \"{}\" in determination {}; its purposes are {}",
            echo(&spend.purpose),
            d.id,
            d.purpose_names()
        ))
    })?;
    if crate::determination::component_amount(purpose, allocation).is_zero() {
        let whose = match (&purpose.basis, &purpose.region) {
            (crate::determination::Basis::Fixed, Some(region)) => {
                format!("; it is a fixed sum for {region} only")
            }
            _ => String::new(),
        };
        return Err(DomainError::refused(format!(
            "purpose {} has no budget for {} in determination {}{whose}",
            purpose.purpose, allocation.region, d.id
        )));
    }
    let authority =
        match &spend.authority {
            None => None,
            Some(query) => Some(allocation.authority(query).map(str::to_string).ok_or_else(
                || {
                    DomainError::refused(format!(
                        "\"{}\" is not an authority of {} in determination {}; {}",
                        echo(query),
                        allocation.region,
                        d.id,
                        suggestion(query, &allocation.authorities, &d.id)
                    ))
                },
            )?),
        };
    if !d.grant_period.contains(spend.date) {
        return Err(DomainError::refused(format!(
            "spend dated {} is outside the grant period {} to {} of determination {}",
            spend.date, d.grant_period.start, d.grant_period.end, d.id
        )));
    }
    // Spend may come before the payment (an authority may spend in anticipation of a
    // grant once it is determined), but not before the determination: until then there
    // is no grant to spend, and `balances --as-of` would show spend against nothing.
    not_before_made(d, "spend", spend.date)?;
    let figures = figures(state, allocation);
    let received = figures.received();
    figures
        .spent
        .checked_add(spend.amount)
        .filter(|spent| *spent <= received)
        .ok_or_else(|| {
            DomainError::refused(format!(
                "spend of {} would take {}'s spent to {}, above the {} received",
                spend.amount,
                allocation.region,
                figures.spent.saturating_add(spend.amount),
                received
            ))
        })?;
    Ok(vec![Event {
        id,
        data: EventData::FundsSpent(FundsSpent {
            determination: d.id.clone(),
            region: allocation.region.clone(),
            amount: spend.amount,
            date: spend.date,
            purpose: purpose.purpose.clone(),
            authority,
            description: spend.description,
            reference: spend.reference,
        }),
    }])
}
