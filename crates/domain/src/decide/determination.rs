//! A determination's own life: making it (the one event that opens a stream),
//! varying its allocation table, and withdrawing it while nothing is paid.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use uuid::Uuid;

use super::{allocation, figures, not_before_made, positive};
use crate::determination::Determination;
use crate::error::DomainError;
use crate::event::{
    DeterminationMade, DeterminationVaried, DeterminationWithdrawn, Event, EventData,
    VariedAllocation,
};
use crate::limits::MAX_ALLOCATIONS;
use crate::money::Money;
use crate::state::State;

pub(super) fn make_determination(
    state: &State,
    id: Uuid,
    determination: Determination,
) -> Result<Vec<Event>, DomainError> {
    determination.validate()?;
    if let Some(existing) = &state.determination {
        if *existing == determination {
            return Ok(Vec::new());
        }
        return Err(DomainError::refused(format!(
            "determination {} already exists with different content",
            determination.id
        )));
    }
    Ok(vec![Event {
        id,
        data: EventData::DeterminationMade(DeterminationMade { determination }),
    }])
}

pub(super) fn withdraw_determination(
    state: &State,
    d: &Determination,
    id: Uuid,
    date: NaiveDate,
    reason: String,
) -> Result<Vec<Event>, DomainError> {
    if let Some(w) = &state.withdrawn {
        return Err(DomainError::refused(format!(
            "determination {} was already withdrawn on {}",
            d.id, w.date
        )));
    }
    not_before_made(d, "a withdrawal", date)?;
    if let Some((region, figures)) = state.allocations.iter().find(|(_, f)| !f.paid.is_zero()) {
        return Err(DomainError::refused(format!(
            "determination {} cannot be withdrawn, because {region} has been paid {}; only a determination nothing is paid on can be withdrawn",
            d.id, figures.paid
        )));
    }
    Ok(vec![Event {
        id,
        data: EventData::DeterminationWithdrawn(DeterminationWithdrawn {
            determination: d.id.clone(),
            date,
            reason,
        }),
    }])
}

pub(super) fn vary_determination(
    state: &State,
    d: &Determination,
    id: Uuid,
    date: NaiveDate,
    reason: String,
    table: Vec<(String, Money)>,
) -> Result<Vec<Event>, DomainError> {
    if table.is_empty() {
        return Err(DomainError::malformed(
            "a variation needs at least one [[allocation]]",
        ));
    }
    if table.len() > MAX_ALLOCATIONS {
        return Err(DomainError::malformed(format!(
            "a variation has more than {MAX_ALLOCATIONS} allocations"
        )));
    }
    for (_, amount) in &table {
        positive("allocation", *amount)?;
    }
    if let Some(w) = &state.withdrawn {
        return Err(DomainError::refused(format!(
            "determination {} was withdrawn on {}, so it cannot be varied",
            d.id, w.date
        )));
    }
    not_before_made(d, "a variation", date)?;
    // Variations follow one another in time, so that the allocation in force on any day
    // is the last one recorded by then, whichever order they were entered in.
    if let Some(last) = state.variations.last().filter(|v| date < v.date) {
        return Err(DomainError::refused(format!(
            "a variation dated {date} is before the last variation of determination {}, dated {}",
            d.id, last.date
        )));
    }
    let mut seen = BTreeSet::new();
    let mut changes = Vec::new();
    for (query, amount) in table {
        let allocation = allocation(d, &query)?;
        let region = &allocation.region;
        if !seen.insert(region.clone()) {
            return Err(DomainError::refused(format!(
                "the variation names {region} more than once"
            )));
        }
        let previous = state.allocated(region);
        if amount == previous {
            continue;
        }
        let figures = figures(state, allocation);
        if figures.paid > amount {
            return Err(DomainError::refused(format!(
                "varying {region}'s allocation to {amount} would leave its paid of {} above it",
                figures.paid
            )));
        }
        if amount > previous && figures.instalments >= d.instalments {
            return Err(DomainError::refused(format!(
                "{region} has had all {} instalment(s) of determination {}, so the {} more a raised allocation of {amount} gives could never be paid",
                d.instalments,
                d.id,
                amount.saturating_sub(previous)
            )));
        }
        changes.push(VariedAllocation {
            region: region.clone(),
            previous,
            amount,
        });
    }
    if changes.is_empty() {
        return Err(DomainError::refused(format!(
            "the variation changes no allocation of determination {}: every amount it gives is the one in force",
            d.id
        )));
    }
    Ok(vec![Event {
        id,
        data: EventData::DeterminationVaried(DeterminationVaried {
            determination: d.id.clone(),
            date,
            reason,
            allocations: changes,
        }),
    }])
}
