//! The one rule that needs the day's date, which the domain never reads: nothing is
//! recorded as having happened after today. A payment dated 2031 would be "paid late" in
//! `balances` while `deadlines` on any earlier day calls the allocation overdue, and
//! neither answer would be true. The caller (the application layer) passes today in.

use chrono::NaiveDate;

use crate::command::Command;
use crate::error::DomainError;

/// Refuses a payment, spend, recovery, dated reversal, withdrawal or variation dated after
/// `today`. Other commands carry no date of their own that could lie ahead.
pub fn happened_by(command: &Command, today: NaiveDate) -> Result<(), DomainError> {
    let (what, date) = match command {
        Command::IssuePayment { date, .. } => ("payment", *date),
        Command::SpendFunds { date, .. } => ("spend", *date),
        Command::RecoverGrant { date, .. } => ("recovery", *date),
        Command::ReverseEvent {
            date: Some(date), ..
        } => ("reversal", *date),
        Command::WithdrawDetermination { date, .. } => ("withdrawal", *date),
        Command::VaryDetermination { date, .. } => ("variation", *date),
        _ => return Ok(()),
    };
    dated_by(what, date, today)
}

/// Refuses `what` (a payment, spend...) dated after `today`.
pub fn dated_by(what: &str, date: NaiveDate, today: NaiveDate) -> Result<(), DomainError> {
    if date > today {
        return Err(DomainError::refused(format!(
            "{what} dated {date} is after today ({today}); record it on or after the day it happens"
        )));
    }
    Ok(())
}
