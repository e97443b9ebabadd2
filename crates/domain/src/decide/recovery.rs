//! Recovering (clawing back) what a region holds unspent.

use chrono::NaiveDate;
use uuid::Uuid;

use super::{allocation, figures, not_before_made, positive};
use crate::determination::Determination;
use crate::error::DomainError;
use crate::event::{Event, EventData, GrantRecovered};
use crate::money::Money;
use crate::state::State;

pub(super) fn recover_grant(
    state: &State,
    d: &Determination,
    id: Uuid,
    region: &str,
    amount: Money,
    date: NaiveDate,
    reason: String,
) -> Result<Vec<Event>, DomainError> {
    positive("recovery", amount)?;
    let allocation = allocation(d, region)?;
    not_before_made(d, "recovery", date)?;
    let unspent = figures(state, allocation).unspent();
    if amount > unspent {
        return Err(DomainError::refused(format!(
            "recovery of {amount} from {} is above its unspent balance of {unspent}",
            allocation.region
        )));
    }
    Ok(vec![Event {
        id,
        data: EventData::GrantRecovered(GrantRecovered {
            determination: d.id.clone(),
            region: allocation.region.clone(),
            amount,
            date,
            reason,
        }),
    }])
}
