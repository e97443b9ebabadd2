//! The rules about when things may be dated, given/when/then over 31/7421 (made on
//! 2024-08-16, grant period 2024-04-01 to 2025-03-31): nothing after today (issue 11,
//! finding 1), and no spend before the determination was made (finding 3).

mod common;

use common::*;
use grant_ledger_domain::{happened_by, Command, DomainError};

fn paid_london() -> Ledger {
    let mut ledger = given_made();
    ledger.accept(ledger.pay("London", "318000", "2024-08-20"));
    ledger
}

/// `when` the command is dated against `today`.
fn on(today: &str, command: &Command) -> Result<(), DomainError> {
    happened_by(command, date(today))
}

#[test]
fn a_payment_dated_after_today_is_refused_and_one_dated_today_is_not() {
    let ledger = given_made();
    let payment = ledger.pay("London", "318000", "2024-08-20");
    let refused = on("2024-08-19", &payment).unwrap_err();
    assert!(refused.is_refusal());
    assert_eq!(
        refused.to_string(),
        "payment dated 2024-08-20 is after today (2024-08-19); record it on or after the day it happens"
    );
    assert!(on("2024-08-20", &payment).is_ok());
}

#[test]
fn a_late_payment_dated_in_years_to_come_is_refused() {
    let ledger = given_made();
    let payment = ledger.pay_late("London", "318000", "2031-01-01", "backlog");
    assert!(on("2026-12-02", &payment).unwrap_err().is_refusal());
}

#[test]
fn spend_recovery_and_a_dated_reversal_after_today_are_refused() {
    let ledger = paid_london();
    let today = "2024-09-30";
    let spend = ledger.spend("London", "1", "2024-10-01", "data-coordinator");
    assert!(on(today, &spend)
        .unwrap_err()
        .to_string()
        .starts_with("spend dated 2024-10-01 is after today"));
    let recovery = ledger.recover("London", "1", "2024-10-01");
    assert!(on(today, &recovery)
        .unwrap_err()
        .to_string()
        .starts_with("recovery dated 2024-10-01 is after today"));
    let paid = ledger.last();
    let reversal = ledger.reverse(&paid, Some("2024-10-01"));
    assert!(on(today, &reversal)
        .unwrap_err()
        .to_string()
        .starts_with("reversal dated 2024-10-01 is after today"));
    for command in [
        ledger.spend("London", "1", today, "data-coordinator"),
        ledger.recover("London", "1", today),
        ledger.reverse(&paid, Some(today)),
    ] {
        assert!(on(today, &command).is_ok(), "{command:?}");
    }
}

#[test]
fn a_reversal_without_a_date_takes_the_reversed_events_and_is_not_refused() {
    let ledger = paid_london();
    let reversal = ledger.reverse(&ledger.last(), None);
    assert!(on("2024-08-20", &reversal).is_ok());
}

#[test]
fn a_determination_is_not_refused_for_being_made_later_than_today() {
    let ledger = given_empty();
    assert!(on("2024-01-01", &ledger.make(d7421())).is_ok());
}

#[test]
fn spend_dated_before_the_determination_was_made_is_refused() {
    let ledger = paid_london();
    ledger
        .when(ledger.spend("London", "1", "2024-08-15", "data-coordinator"))
        .refused("spend dated 2024-08-15 is before determination 31/7421 was made on 2024-08-16");
    ledger
        .when(ledger.spend("London", "1", "2024-04-01", "data-coordinator"))
        .refused("before determination 31/7421 was made");
    ledger
        .when(ledger.spend("London", "1", "2024-08-16", "data-coordinator"))
        .accepted();
}

#[test]
fn spend_dated_before_the_payment_is_allowed_once_the_determination_is_made() {
    // Authorities may spend in anticipation of a grant that has been determined: the
    // limit is what the region has received by the time the spend is recorded.
    let mut ledger = given_made();
    ledger.accept(ledger.pay("London", "318000", "2024-08-30"));
    ledger
        .when(ledger.spend("London", "100", "2024-08-17", "data-coordinator"))
        .accepted();
}

#[test]
fn a_withdrawal_or_a_variation_dated_after_today_is_refused() {
    let withdrawal = Command::WithdrawDetermination {
        id: uuid::Uuid::nil(),
        determination: "31/7421".into(),
        date: date("2024-09-02"),
        reason: "letter of 2 September".into(),
    };
    assert!(on("2024-09-01", &withdrawal).unwrap_err().is_refusal());
    assert!(on("2024-09-02", &withdrawal).is_ok());
    let variation = Command::VaryDetermination {
        id: uuid::Uuid::nil(),
        determination: "31/7421".into(),
        date: date("2024-09-02"),
        reason: "letter of 2 September".into(),
        allocations: vec![],
    };
    let refused = on("2024-09-01", &variation).unwrap_err();
    assert!(
        refused.to_string().starts_with("variation dated"),
        "{refused}"
    );
}
