//! Making a determination: the one event that opens a stream.

use uuid::Uuid;

use crate::determination::Determination;
use crate::error::DomainError;
use crate::event::{DeterminationMade, Event, EventData};
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
