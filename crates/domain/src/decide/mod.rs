//! The rules. `decide` turns a command and the current state of its
//! determination's stream into new events, or refuses. Every rule of the CLI
//! contract lives here and nowhere else; `evolve` (in `state`) only adds up.
//!
//! Input that cannot be understood (an empty reason, an over-long reference)
//! is reported as malformed before any rule is consulted, so the exit code
//! depends on the input alone, not on what the ledger holds.

mod determination;
mod payment;
mod recovery;
mod reversal;
mod spend;
mod suggestion;

pub use suggestion::suggestion;

use chrono::NaiveDate;

use crate::command::Command;
use crate::determination::{Allocation, Determination};
use crate::echo::echo;
use crate::error::DomainError;
use crate::event::Event;
use crate::limits::MAX_TEXT_LEN;
use crate::money::Money;
use crate::state::{evolve, AllocationState, State};

use determination::{make_determination, vary_determination, withdraw_determination};
use payment::{issue_payment, Payment};
use recovery::recover_grant;
use reversal::reverse_event;
use spend::{spend_funds, Spend};

/// Decides one command against the state of its determination's stream.
pub fn decide(state: &State, command: Command) -> Result<Vec<Event>, DomainError> {
    match command {
        Command::MakeDetermination { id, determination } => {
            make_determination(state, id, determination)
        }
        Command::IssuePayment {
            id,
            determination,
            region,
            amount,
            date,
            reference,
            late_reason,
        } => {
            let reference = optional_text("reference", reference)?;
            let late_reason = optional_text("late reason", late_reason)?;
            let d = known(state, &determination)?;
            let payment = Payment {
                region,
                amount,
                date,
                reference,
                late_reason,
            };
            issue_payment(state, d, id, payment)
        }
        Command::SpendFunds {
            id,
            determination,
            region,
            amount,
            date,
            purpose,
            authority,
            description,
            reference,
        } => {
            let description = optional_text("description", description)?;
            let reference = optional_text("reference", reference)?;
            let authority = optional_text("authority", authority)?;
            let d = known(state, &determination)?;
            let spend = Spend {
                region,
                amount,
                date,
                purpose,
                authority,
                description,
                reference,
            };
            spend_funds(state, d, id, spend)
        }
        Command::RecoverGrant {
            id,
            determination,
            region,
            amount,
            date,
            reason,
        } => {
            let reason = required_text("reason", reason)?;
            let d = known(state, &determination)?;
            recover_grant(state, d, id, &region, amount, date, reason)
        }
        Command::ReverseEvent {
            id,
            determination,
            target,
            reason,
            date,
        } => {
            let reason = required_text("reason", reason)?;
            let d = known(state, &determination)?;
            reverse_event(state, d, id, &target, reason, date)
        }
        Command::WithdrawDetermination {
            id,
            determination,
            date,
            reason,
        } => {
            let reason = required_text("reason", reason)?;
            let d = known(state, &determination)?;
            withdraw_determination(state, d, id, date, reason)
        }
        Command::VaryDetermination {
            id,
            determination,
            date,
            reason,
            allocations,
        } => {
            let reason = required_text("reason", reason)?;
            let d = known(state, &determination)?;
            vary_determination(state, d, id, date, reason, allocations)
        }
    }
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

/// The stream's determination, if it is the one the command names.
fn known<'s>(state: &'s State, id: &str) -> Result<&'s Determination, DomainError> {
    state
        .determination
        .as_ref()
        .filter(|d| d.id == id)
        .ok_or_else(|| DomainError::refused(format!("unknown determination {}", echo(id))))
}

fn allocation<'d>(d: &'d Determination, region: &str) -> Result<&'d Allocation, DomainError> {
    d.allocation(region).ok_or_else(|| {
        DomainError::refused(format!(
            "unknown region \"{}\" in determination {}; its regions are {}",
            echo(region),
            d.id,
            d.region_names()
        ))
    })
}

/// Refuses `what` ("payment", "a variation"...) dated before the determination was made:
/// nothing can be paid, spent, recovered, varied or withdrawn before it exists.
fn not_before_made(d: &Determination, what: &str, date: NaiveDate) -> Result<(), DomainError> {
    if date < d.made_on {
        return Err(DomainError::refused(format!(
            "{what} dated {date} is before determination {} was made on {}",
            d.id, d.made_on
        )));
    }
    Ok(())
}

/// Refuses to pay or spend (`what`) on a withdrawn determination.
fn not_withdrawn(state: &State, d: &Determination, what: &str) -> Result<(), DomainError> {
    match &state.withdrawn {
        None => Ok(()),
        // The reason is free text (it may run over lines); a refusal stays one line.
        Some(w) => Err(DomainError::refused(format!(
            "determination {} was withdrawn on {} ({}), so nothing more can be {what} on it",
            d.id,
            w.date,
            echo(&w.reason)
        ))),
    }
}

/// A region's running figures; a region nothing has happened to yet has none.
fn figures(state: &State, allocation: &Allocation) -> AllocationState {
    state
        .allocations
        .get(&allocation.region)
        .cloned()
        .unwrap_or_default()
}

/// Amounts in commands come from [`Money::parse`], which only yields positive
/// amounts, but `Money` can hold computed negatives, so a command built in
/// code could carry one.
fn positive(what: &str, amount: Money) -> Result<(), DomainError> {
    if amount.is_positive() {
        Ok(())
    } else {
        Err(DomainError::malformed(format!(
            "{what} amount {amount} must be greater than zero"
        )))
    }
}

fn required_text(what: &str, text: String) -> Result<String, DomainError> {
    optional_text(what, Some(text))?
        .ok_or_else(|| DomainError::malformed(format!("{what} must not be empty")))
}

/// Empty text is no text: CSV imports carry empty fields for absent ones.
fn optional_text(what: &str, text: Option<String>) -> Result<Option<String>, DomainError> {
    let Some(text) = text else { return Ok(None) };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.chars().count() > MAX_TEXT_LEN {
        return Err(DomainError::malformed(format!(
            "{what} is longer than {MAX_TEXT_LEN} characters"
        )));
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(DomainError::malformed(format!(
            "{what} must not contain control characters"
        )));
    }
    Ok(Some(trimmed.to_string()))
}
