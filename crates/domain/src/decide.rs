//! The rules. `decide` turns a command and the current state of its
//! determination's stream into new events, or refuses.

use crate::command::Command;
use crate::error::DomainError;
use crate::event::Event;
use crate::state::{evolve, State};

/// Decides one command against the state of its determination's stream.
pub fn decide(state: &State, command: Command) -> Result<Vec<Event>, DomainError> {
    let _ = (state, command);
    Err(DomainError::refused("not implemented yet"))
}

/// Decides commands in order, folding each one's events before deciding the
/// next, so a batch is checked exactly as if its commands came one by one.
/// All or nothing: on the first refusal, returns its index and error.
pub fn decide_many(
    state: &State,
    commands: impl IntoIterator<Item = Command>,
) -> Result<(State, Vec<Event>), (usize, DomainError)> {
    let mut state = state.clone();
    let mut events = Vec::new();
    for (index, command) in commands.into_iter().enumerate() {
        let new = decide(&state, command).map_err(|error| (index, error))?;
        for event in &new {
            state = evolve(state, event);
        }
        events.extend(new);
    }
    Ok((state, events))
}
