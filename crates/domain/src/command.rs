//! What a user of the ledger can ask for. Ids of the events a command would
//! produce are chosen by the caller, so deciding stays pure and repeatable.

use chrono::NaiveDate;
use uuid::Uuid;

use crate::determination::{stream_for, Determination};
use crate::event::Event;
use crate::money::Money;

/// A request to change the ledger. Regions, purposes and authorities are as
/// typed (any case, or a region's slug); events record canonical names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    MakeDetermination {
        id: Uuid,
        determination: Determination,
    },
    IssuePayment {
        id: Uuid,
        determination: String,
        region: String,
        amount: Money,
        date: NaiveDate,
        reference: Option<String>,
        late_reason: Option<String>,
    },
    SpendFunds {
        id: Uuid,
        determination: String,
        region: String,
        amount: Money,
        date: NaiveDate,
        purpose: String,
        authority: Option<String>,
        description: Option<String>,
        reference: Option<String>,
    },
    RecoverGrant {
        id: Uuid,
        determination: String,
        region: String,
        amount: Money,
        date: NaiveDate,
        reason: String,
    },
    /// `target` is the event to reverse, as read from the log by the caller
    /// (by id or position). Without `date` the reversal takes the target's
    /// effective date.
    ReverseEvent {
        id: Uuid,
        determination: String,
        target: Event,
        reason: String,
        date: Option<NaiveDate>,
    },
    /// Withdraws a determination on which nothing is paid.
    WithdrawDetermination {
        id: Uuid,
        determination: String,
        date: NaiveDate,
        reason: String,
    },
    /// Varies the allocation table: each `(region as typed, new amount)`; regions left out
    /// keep their allocation.
    VaryDetermination {
        id: Uuid,
        determination: String,
        date: NaiveDate,
        reason: String,
        allocations: Vec<(String, Money)>,
    },
}

impl Command {
    /// The determination whose stream this command writes to.
    pub fn determination_id(&self) -> &str {
        match self {
            Command::MakeDetermination { determination, .. } => &determination.id,
            Command::IssuePayment { determination, .. }
            | Command::SpendFunds { determination, .. }
            | Command::RecoverGrant { determination, .. }
            | Command::ReverseEvent { determination, .. }
            | Command::WithdrawDetermination { determination, .. }
            | Command::VaryDetermination { determination, .. } => determination,
        }
    }

    /// The stream this command reads its state from and appends to.
    pub fn stream(&self) -> String {
        stream_for(self.determination_id())
    }

    /// The id the event this command produces will carry.
    pub fn event_id(&self) -> Uuid {
        match self {
            Command::MakeDetermination { id, .. }
            | Command::IssuePayment { id, .. }
            | Command::SpendFunds { id, .. }
            | Command::RecoverGrant { id, .. }
            | Command::ReverseEvent { id, .. }
            | Command::WithdrawDetermination { id, .. }
            | Command::VaryDetermination { id, .. } => *id,
        }
    }
}
