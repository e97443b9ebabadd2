//! The facts the ledger keeps. Each event carries its effective date (when the
//! thing happened in the world); when it was recorded, by whom, and where in
//! the log it sits are the store's business. An event's payload ("own
//! fields") is the JSON of its inner struct; its type name and schema version
//! travel beside the payload so old readers can refuse what they do not know.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::determination::Determination;
use crate::error::DomainError;
use crate::limits::MAX_PAYLOAD_BYTES;
use crate::money::Money;

/// The schema version every event type is written with today. A reader
/// refuses events with a higher version rather than misread them.
pub const SCHEMA_VERSION: u32 = 1;

/// One fact, with the id the command chose for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub id: Uuid,
    pub data: EventData,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum EventData {
    DeterminationMade(DeterminationMade),
    PaymentIssued(PaymentIssued),
    FundsSpent(FundsSpent),
    GrantRecovered(GrantRecovered),
    EventReversed(EventReversed),
    DeterminationWithdrawn(DeterminationWithdrawn),
    DeterminationVaried(DeterminationVaried),
}

/// A determination entered the ledger. Its effective date is `made_on`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeterminationMade {
    pub determination: Determination,
}

/// A region's allocation (or one instalment of it) was paid to its lead authority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentIssued {
    pub determination: String,
    /// Canonical region name, as in the determination.
    pub region: String,
    pub lead_authority: String,
    pub amount: Money,
    pub date: NaiveDate,
    /// 1-based number of this instalment at the time it was paid.
    pub instalment: u32,
    pub reference: Option<String>,
    /// Paid after the payment deadline (only possible with a late reason).
    pub late: bool,
    pub late_reason: Option<String>,
}

/// Part of a region's grant was spent on one of the determination's purposes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FundsSpent {
    pub determination: String,
    pub region: String,
    pub amount: Money,
    pub date: NaiveDate,
    /// Canonical purpose, as in the determination.
    pub purpose: String,
    /// Canonical authority name, when the spend names one.
    pub authority: Option<String>,
    pub description: Option<String>,
    pub reference: Option<String>,
}

/// Grant was recovered (clawed back) from a region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantRecovered {
    pub determination: String,
    pub region: String,
    pub amount: Money,
    pub date: NaiveDate,
    pub reason: String,
}

/// An earlier payment, spend or recovery is undone. `date` is when the
/// reversal takes effect: the reversed event's own date for a correction, or
/// a later date when money really moved back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventReversed {
    pub determination: String,
    pub region: String,
    pub reversed_event_id: Uuid,
    pub reversed_type: EventType,
    /// The reversed event's amount, so projections need not look it up.
    pub amount: Money,
    pub date: NaiveDate,
    /// The reversed event's effective date.
    pub reversed_date: NaiveDate,
    pub reason: String,
}

/// A determination was withdrawn before anything was paid on it: nothing more may be
/// paid or spent on it. Its effective date is `date`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeterminationWithdrawn {
    pub determination: String,
    pub date: NaiveDate,
    pub reason: String,
}

/// A determination's allocation table was varied (as a department does by letter):
/// the regions whose amount changed, each with its amount before and after. Effective
/// from `date`, so figures as of an earlier day are the ones before it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeterminationVaried {
    pub determination: String,
    pub date: NaiveDate,
    pub reason: String,
    pub allocations: Vec<VariedAllocation>,
}

/// One region's allocation as a variation changed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariedAllocation {
    /// Canonical region name, as in the determination.
    pub region: String,
    pub previous: Money,
    pub amount: Money,
}

/// The names of the event types, as stored and as shown in `history`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EventType {
    DeterminationMade,
    PaymentIssued,
    FundsSpent,
    GrantRecovered,
    EventReversed,
    DeterminationWithdrawn,
    DeterminationVaried,
}

impl EventType {
    pub const ALL: [EventType; 7] = [
        EventType::DeterminationMade,
        EventType::PaymentIssued,
        EventType::FundsSpent,
        EventType::GrantRecovered,
        EventType::EventReversed,
        EventType::DeterminationWithdrawn,
        EventType::DeterminationVaried,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::DeterminationMade => "DeterminationMade",
            EventType::PaymentIssued => "PaymentIssued",
            EventType::FundsSpent => "FundsSpent",
            EventType::GrantRecovered => "GrantRecovered",
            EventType::EventReversed => "EventReversed",
            EventType::DeterminationWithdrawn => "DeterminationWithdrawn",
            EventType::DeterminationVaried => "DeterminationVaried",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventType {
    type Err = DomainError;

    /// Accepts the type names in any case.
    fn from_str(name: &str) -> Result<EventType, DomainError> {
        EventType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| {
                DomainError::malformed(format!(
                    "unknown event type \"{}\"; known types are DeterminationMade, PaymentIssued, FundsSpent, GrantRecovered, EventReversed, DeterminationWithdrawn, DeterminationVaried",
                    crate::echo(name)
                ))
            })
    }
}

impl EventData {
    pub fn event_type(&self) -> EventType {
        match self {
            EventData::DeterminationMade(_) => EventType::DeterminationMade,
            EventData::PaymentIssued(_) => EventType::PaymentIssued,
            EventData::FundsSpent(_) => EventType::FundsSpent,
            EventData::GrantRecovered(_) => EventType::GrantRecovered,
            EventData::EventReversed(_) => EventType::EventReversed,
            EventData::DeterminationWithdrawn(_) => EventType::DeterminationWithdrawn,
            EventData::DeterminationVaried(_) => EventType::DeterminationVaried,
        }
    }

    /// When the thing happened; `--as-of` queries filter on this.
    pub fn effective_date(&self) -> NaiveDate {
        match self {
            EventData::DeterminationMade(e) => e.determination.made_on,
            EventData::PaymentIssued(e) => e.date,
            EventData::FundsSpent(e) => e.date,
            EventData::GrantRecovered(e) => e.date,
            EventData::EventReversed(e) => e.date,
            EventData::DeterminationWithdrawn(e) => e.date,
            EventData::DeterminationVaried(e) => e.date,
        }
    }

    pub fn determination_id(&self) -> &str {
        match self {
            EventData::DeterminationMade(e) => &e.determination.id,
            EventData::PaymentIssued(e) => &e.determination,
            EventData::FundsSpent(e) => &e.determination,
            EventData::GrantRecovered(e) => &e.determination,
            EventData::EventReversed(e) => &e.determination,
            EventData::DeterminationWithdrawn(e) => &e.determination,
            EventData::DeterminationVaried(e) => &e.determination,
        }
    }

    /// The canonical region the event concerns; none for a determination.
    pub fn region(&self) -> Option<&str> {
        match self {
            EventData::DeterminationMade(_) => None,
            EventData::PaymentIssued(e) => Some(&e.region),
            EventData::FundsSpent(e) => Some(&e.region),
            EventData::GrantRecovered(e) => Some(&e.region),
            EventData::EventReversed(e) => Some(&e.region),
            EventData::DeterminationWithdrawn(_) | EventData::DeterminationVaried(_) => None,
        }
    }

    /// Whether the event concerns `region` (a canonical name, or one matched as regions
    /// are): the region a payment, spend, recovery or reversal names; every region of the
    /// determination when it is made or withdrawn; every region a variation changes. A
    /// withdrawal names no region, so it needs its `determination` (none: it concerns none).
    pub fn concerns_region(&self, region: &str, determination: Option<&Determination>) -> bool {
        let named = |name: &str| crate::region::region_matches(name, region);
        match self {
            EventData::DeterminationMade(e) => {
                e.determination.allocations.iter().any(|a| named(&a.region))
            }
            EventData::DeterminationVaried(e) => e.allocations.iter().any(|a| named(&a.region)),
            EventData::DeterminationWithdrawn(_) => {
                determination.is_some_and(|d| d.allocations.iter().any(|a| named(&a.region)))
            }
            _ => self.region().is_some_and(named),
        }
    }

    /// The amount of money the event moves; none for a determination.
    pub fn amount(&self) -> Option<Money> {
        match self {
            EventData::DeterminationMade(_) => None,
            EventData::PaymentIssued(e) => Some(e.amount),
            EventData::FundsSpent(e) => Some(e.amount),
            EventData::GrantRecovered(e) => Some(e.amount),
            EventData::EventReversed(e) => Some(e.amount),
            EventData::DeterminationWithdrawn(_) | EventData::DeterminationVaried(_) => None,
        }
    }

    /// The schema version this event is written with.
    pub fn schema_version(&self) -> u32 {
        SCHEMA_VERSION
    }

    /// The event's own fields as JSON: the inner struct only, without the
    /// type name or id, which the store keeps beside it.
    pub fn to_payload(&self) -> Vec<u8> {
        let encoded = match self {
            EventData::DeterminationMade(e) => serde_json::to_vec(e),
            EventData::PaymentIssued(e) => serde_json::to_vec(e),
            EventData::FundsSpent(e) => serde_json::to_vec(e),
            EventData::GrantRecovered(e) => serde_json::to_vec(e),
            EventData::EventReversed(e) => serde_json::to_vec(e),
            EventData::DeterminationWithdrawn(e) => serde_json::to_vec(e),
            EventData::DeterminationVaried(e) => serde_json::to_vec(e),
        };
        // These structs hold only strings, dates, numbers and string-keyed
        // maps, which serde_json always encodes.
        encoded.unwrap_or_else(|error| unreachable!("event payload failed to encode: {error}"))
    }

    /// Reads a payload written by [`EventData::to_payload`]. Refuses an
    /// unknown type, a schema version newer than this build knows, and a
    /// payload that does not decode; a determination is validated again.
    pub fn from_payload(
        event_type: &str,
        schema_version: u32,
        payload: &[u8],
    ) -> Result<EventData, DomainError> {
        let event_type = EventType::from_str(event_type)?;
        if schema_version == 0 || schema_version > SCHEMA_VERSION {
            return Err(DomainError::malformed(format!(
                "{event_type} event has schema version {schema_version}, but this build reads versions 1 to {SCHEMA_VERSION}"
            )));
        }
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(DomainError::malformed(format!(
                "{event_type} event payload is {} bytes, above the limit of {MAX_PAYLOAD_BYTES}",
                payload.len()
            )));
        }
        let undecodable = |error: serde_json::Error| {
            DomainError::malformed(format!(
                "{event_type} event payload does not decode: {error}"
            ))
        };
        let data = match event_type {
            EventType::DeterminationMade => {
                let made: DeterminationMade =
                    serde_json::from_slice(payload).map_err(undecodable)?;
                made.determination.validate()?;
                EventData::DeterminationMade(made)
            }
            EventType::PaymentIssued => {
                EventData::PaymentIssued(serde_json::from_slice(payload).map_err(undecodable)?)
            }
            EventType::FundsSpent => {
                EventData::FundsSpent(serde_json::from_slice(payload).map_err(undecodable)?)
            }
            EventType::GrantRecovered => {
                EventData::GrantRecovered(serde_json::from_slice(payload).map_err(undecodable)?)
            }
            EventType::EventReversed => {
                EventData::EventReversed(serde_json::from_slice(payload).map_err(undecodable)?)
            }
            EventType::DeterminationWithdrawn => EventData::DeterminationWithdrawn(
                serde_json::from_slice(payload).map_err(undecodable)?,
            ),
            EventType::DeterminationVaried => EventData::DeterminationVaried(
                serde_json::from_slice(payload).map_err(undecodable)?,
            ),
        };
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // `history --type` takes whatever a user typed; a newline in it must not split the
    // refusal over two lines.
    #[test]
    fn an_unknown_type_is_echoed_on_one_line() {
        let message = "Payment\nIssued"
            .parse::<EventType>()
            .unwrap_err()
            .to_string();
        assert!(message.contains(r#""Payment\nIssued""#), "{message}");
    }
}
