//! Shared fixtures: a memory-backed ledger with 31/7421 and command builders.
#![allow(dead_code)]

use std::sync::Arc;

use chrono::{NaiveDate, TimeZone, Utc};
use grant_ledger_domain::{builtin, Command, Money};
use grant_ledger_projections::Caller;
use grant_ledger_projections::{Ledger, Recorded, SpendRow};
use grant_ledger_store::{EventStore, FixedClock, MemoryStore};
use uuid::Uuid;

pub const D: &str = "31/7421";

pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

pub fn money(s: &str) -> Money {
    Money::parse(s).unwrap()
}

pub fn store() -> MemoryStore {
    let at = Utc.with_ymd_and_hms(2024, 9, 1, 12, 0, 0).unwrap();
    MemoryStore::new(Arc::new(FixedClock::new(at)))
}

pub fn make() -> Command {
    Command::MakeDetermination {
        id: Uuid::now_v7(),
        determination: builtin(D).unwrap().unwrap(),
    }
}

/// A fresh ledger holding 31/7421.
pub fn ledger() -> Ledger<MemoryStore> {
    let ledger = Ledger::with_store(store()).unwrap();
    ledger.record(&Caller::owner("test"), None, make()).unwrap();
    ledger
}

/// Records `command` as actor "a" without a key, requiring it to succeed.
#[track_caller]
pub fn record<S: EventStore>(ledger: &Ledger<S>, command: Command) -> Recorded {
    ledger.record(&Caller::owner("a"), None, command).unwrap()
}

/// A fresh ledger holding 31/7421, with London paid in full on 2024-08-20 (by "a").
pub fn london_paid() -> Ledger<MemoryStore> {
    let ledger = ledger();
    record(&ledger, pay("London", "318000", "2024-08-20"));
    ledger
}

pub fn pay(region: &str, amount: &str, on: &str) -> Command {
    Command::IssuePayment {
        id: Uuid::now_v7(),
        determination: D.into(),
        region: region.into(),
        amount: money(amount),
        date: date(on),
        reference: None,
        late_reason: None,
    }
}

pub fn spend(region: &str, amount: &str, on: &str, purpose: &str) -> Command {
    Command::SpendFunds {
        id: Uuid::now_v7(),
        determination: D.into(),
        region: region.into(),
        amount: money(amount),
        date: date(on),
        purpose: purpose.into(),
        authority: None,
        description: None,
        reference: None,
    }
}

pub fn recover(region: &str, amount: &str, on: &str) -> Command {
    Command::RecoverGrant {
        id: Uuid::now_v7(),
        determination: D.into(),
        region: region.into(),
        amount: money(amount),
        date: date(on),
        reason: "underspend".into(),
    }
}

pub fn row(line: u64, region: &str, amount: &str, purpose: &str, key: Option<&str>) -> SpendRow {
    SpendRow {
        line,
        determination: D.into(),
        region: region.into(),
        amount: money(amount),
        date: date("2024-10-01"),
        purpose: purpose.into(),
        authority: None,
        description: None,
        reference: None,
        key: key.map(str::to_string),
    }
}
