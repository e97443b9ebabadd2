//! The rules. `decide` turns a command and the current state of its
//! determination's stream into new events, or refuses. Every rule of the CLI
//! contract lives here and nowhere else; `evolve` (in `state`) only adds up.
//!
//! Input that cannot be understood (an empty reason, an over-long reference)
//! is reported as malformed before any rule is consulted, so the exit code
//! depends on the input alone, not on what the ledger holds.

use chrono::NaiveDate;
use uuid::Uuid;

use crate::command::Command;
use crate::determination::{Allocation, Determination};
use crate::echo::echo;
use crate::error::DomainError;
use crate::event::{
    DeterminationMade, Event, EventData, EventReversed, EventType, FundsSpent, GrantRecovered,
    PaymentIssued,
};
use crate::limits::MAX_TEXT_LEN;
use crate::money::Money;
use crate::state::{evolve, AllocationState, State};

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

fn make_determination(
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

/// The fields of a payment command, gathered so the rule reads as one unit.
struct Payment {
    region: String,
    amount: Money,
    date: NaiveDate,
    reference: Option<String>,
    late_reason: Option<String>,
}

fn issue_payment(
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

/// The fields of a spend command, gathered so the rule reads as one unit.
struct Spend {
    region: String,
    amount: Money,
    date: NaiveDate,
    purpose: String,
    authority: Option<String>,
    description: Option<String>,
    reference: Option<String>,
}

fn spend_funds(
    state: &State,
    d: &Determination,
    id: Uuid,
    spend: Spend,
) -> Result<Vec<Event>, DomainError> {
    positive("spend", spend.amount)?;
    let allocation = allocation(d, &spend.region)?;
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

fn recover_grant(
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
    if date < d.made_on {
        return Err(DomainError::refused(format!(
            "recovery dated {date} is before determination {} was made on {}",
            d.id, d.made_on
        )));
    }
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

fn reverse_event(
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

/// The first few names and how many there are in all.
/// What to say of a name that is not one of `names`: the closest of them, if any is close,
/// and where the whole list is (a list in a sentence is unreadable once names hold commas,
/// as "Bristol, City of" does).
fn suggestion(query: &str, names: &[String], id: &str) -> String {
    let query = query.trim().to_lowercase();
    let closest = names
        .iter()
        .map(|name| (edit_distance(&query, &name.to_lowercase()), name))
        .min_by_key(|(distance, _)| *distance)
        .filter(|(distance, name)| *distance <= (name.chars().count() / 3).max(2));
    let list = format!("grant-ledger determination show {id} --authorities lists them");
    match closest {
        Some((_, name)) => format!("did you mean \"{name}\"? ({list})"),
        None => list,
    }
}

/// Levenshtein distance by characters: the fewest insertions, deletions and substitutions
/// that turn one name into the other.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            let delete = previous[j + 1] + 1;
            let insert = current[j] + 1;
            current.push(substitute.min(delete).min(insert));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_changes() {
        assert_eq!(edit_distance("camden", "camden"), 0);
        assert_eq!(edit_distance("camdem", "camden"), 1);
        assert_eq!(edit_distance("bristol", "bristol, city of"), 9);
    }

    #[test]
    fn a_close_name_is_suggested_and_a_far_one_is_not() {
        let names = vec!["Camden".to_string(), "Bristol, City of".to_string()];
        assert!(suggestion("Camdem", &names, "31/7421").starts_with("did you mean \"Camden\"?"));
        assert_eq!(
            suggestion("Narnia", &names, "31/7421"),
            "grant-ledger determination show 31/7421 --authorities lists them"
        );
    }
}
