//! A small given/when/then harness over decide and evolve, and command
//! builders for the built-in determination 31/7421.
#![allow(dead_code)] // each test binary uses its own share of the harness

use chrono::NaiveDate;
use grant_ledger_domain::{
    builtin, decide, evolve, Command, Determination, DomainError, Event, Money, State,
};
use uuid::Uuid;

pub const ID: &str = "31/7421";

pub fn d7421() -> Determination {
    builtin(ID).unwrap().unwrap()
}

pub fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

pub fn money(text: &str) -> Money {
    Money::parse(text).unwrap()
}

/// A ledger built by deciding and folding commands that must all succeed.
pub struct Ledger {
    pub state: State,
    pub log: Vec<Event>,
    next_id: std::cell::Cell<u128>,
}

/// `given` a fresh, empty stream.
pub fn given_empty() -> Ledger {
    Ledger {
        state: State::default(),
        log: Vec::new(),
        next_id: std::cell::Cell::new(1),
    }
}

/// `given` the built-in determination, made and nothing else.
pub fn given_made() -> Ledger {
    let mut ledger = given_empty();
    ledger.accept(ledger.make(d7421()));
    ledger
}

/// 31/7421 as if paid in two instalments (no schedule): one payment deadline.
pub fn d7421_in_two() -> Determination {
    let mut d = d7421();
    d.instalments = 2;
    d
}

/// 31/7421 paid 50% by 2024-08-30 and 50% by 2024-10-31.
pub fn d7421_scheduled() -> Determination {
    let mut d = d7421();
    d.instalments = 2;
    d.payment_deadline = date("2024-10-31");
    d.schedule = vec![
        grant_ledger_domain::Instalment {
            due: date("2024-08-30"),
            share: Some(50.into()),
            amount: None,
        },
        grant_ledger_domain::Instalment {
            due: date("2024-10-31"),
            share: Some(50.into()),
            amount: None,
        },
    ];
    d
}

/// `given` this determination, made and nothing else.
pub fn given(determination: Determination) -> Ledger {
    let mut ledger = given_empty();
    ledger.accept(ledger.make(determination));
    ledger
}

/// What `when` yields/// What `when` yields: the events decided, or the error.
pub struct Outcome(pub Result<Vec<Event>, DomainError>);

impl Ledger {
    pub fn id(&self) -> Uuid {
        self.next_id.set(self.next_id.get() + 1);
        Uuid::from_u128(self.next_id.get())
    }

    /// Decides and folds a command that must be accepted; returns its events.
    pub fn accept(&mut self, command: Command) -> Vec<Event> {
        let events = decide(&self.state, command.clone())
            .unwrap_or_else(|e| panic!("{command:?} refused: {e}"));
        for event in &events {
            self.state = evolve(std::mem::take(&mut self.state), event);
            self.log.push(event.clone());
        }
        events
    }

    /// `when` this command is decided (its events are not folded).
    pub fn when(&self, command: Command) -> Outcome {
        Outcome(decide(&self.state, command))
    }

    pub fn last(&self) -> Event {
        self.log.last().unwrap().clone()
    }

    pub fn figures(&self, region: &str) -> (String, String, String, u32) {
        let f = self
            .state
            .allocations
            .get(region)
            .cloned()
            .unwrap_or_default();
        (
            f.paid.plain(),
            f.recovered.plain(),
            f.spent.plain(),
            f.instalments,
        )
    }

    pub fn make(&self, determination: Determination) -> Command {
        Command::MakeDetermination {
            id: self.id(),
            determination,
        }
    }

    pub fn pay(&self, region: &str, amount: &str, on: &str) -> Command {
        Command::IssuePayment {
            id: self.id(),
            determination: ID.to_string(),
            region: region.to_string(),
            amount: money(amount),
            date: date(on),
            reference: None,
            late_reason: None,
        }
    }

    pub fn pay_late(&self, region: &str, amount: &str, on: &str, reason: &str) -> Command {
        Command::IssuePayment {
            id: self.id(),
            determination: ID.to_string(),
            region: region.to_string(),
            amount: money(amount),
            date: date(on),
            reference: Some("BACS-1".to_string()),
            late_reason: Some(reason.to_string()),
        }
    }

    pub fn spend(&self, region: &str, amount: &str, on: &str, purpose: &str) -> Command {
        Command::SpendFunds {
            id: self.id(),
            determination: ID.to_string(),
            region: region.to_string(),
            amount: money(amount),
            date: date(on),
            purpose: purpose.to_string(),
            authority: None,
            description: None,
            reference: None,
        }
    }

    pub fn spend_by(
        &self,
        region: &str,
        amount: &str,
        on: &str,
        purpose: &str,
        authority: &str,
    ) -> Command {
        match self.spend(region, amount, on, purpose) {
            Command::SpendFunds {
                id,
                determination,
                region,
                amount,
                date,
                purpose,
                ..
            } => Command::SpendFunds {
                id,
                determination,
                region,
                amount,
                date,
                purpose,
                authority: Some(authority.to_string()),
                description: Some("peer review".to_string()),
                reference: Some("INV-1".to_string()),
            },
            _ => unreachable!(),
        }
    }

    pub fn recover(&self, region: &str, amount: &str, on: &str) -> Command {
        Command::RecoverGrant {
            id: self.id(),
            determination: ID.to_string(),
            region: region.to_string(),
            amount: money(amount),
            date: date(on),
            reason: "underspend returned".to_string(),
        }
    }

    pub fn withdraw(&self, on: &str) -> Command {
        Command::WithdrawDetermination {
            id: self.id(),
            determination: ID.to_string(),
            date: date(on),
            reason: "superseded by 31/7422".to_string(),
        }
    }

    pub fn vary(&self, on: &str, table: &[(&str, &str)]) -> Command {
        Command::VaryDetermination {
            id: self.id(),
            determination: ID.to_string(),
            date: date(on),
            reason: "letter of 1 November".to_string(),
            allocations: table
                .iter()
                .map(|(region, amount)| (region.to_string(), money(amount)))
                .collect(),
        }
    }

    pub fn reverse(&self, target: &Event, on: Option<&str>) -> Command {
        Command::ReverseEvent {
            id: self.id(),
            determination: ID.to_string(),
            target: target.clone(),
            reason: "entered in error".to_string(),
            date: on.map(date),
        }
    }
}

impl Outcome {
    /// `then` accepted, with these events.
    pub fn accepted(self) -> Vec<Event> {
        self.0
            .unwrap_or_else(|e| panic!("expected acceptance, got: {e}"))
    }

    /// `then` refused by a rule, with a message containing `text`.
    pub fn refused(self, text: &str) {
        match self.0 {
            Err(e) if e.is_refusal() => assert!(
                e.to_string().contains(text),
                "refusal {e:?} should contain {text:?}"
            ),
            other => panic!("expected a refusal containing {text:?}, got {other:?}"),
        }
    }

    /// `then` malformed input, with a message containing `text`.
    pub fn malformed(self, text: &str) {
        match self.0 {
            Err(e) if e.is_malformed() => assert!(
                e.to_string().contains(text),
                "error {e:?} should contain {text:?}"
            ),
            other => panic!("expected malformed input containing {text:?}, got {other:?}"),
        }
    }
}
