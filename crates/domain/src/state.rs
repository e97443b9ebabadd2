//! What one determination's stream adds up to: the aggregates the rules need,
//! and nothing that grows with the number of spends. The CLI persists this as
//! a snapshot, so a million spends must leave it the same size as one.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::determination::Determination;
use crate::event::{Event, EventData, EventType, VariedAllocation};
use crate::money::Money;

/// The state of one determination's stream after `version` events.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub determination: Option<Determination>,
    /// Canonical region name -> its running figures.
    pub allocations: BTreeMap<String, AllocationState>,
    /// Ids of events that have been reversed. Reversals are rare corrections,
    /// so this stays small in practice; it must be kept to refuse reversing
    /// anything twice.
    pub reversed: BTreeSet<Uuid>,
    /// Number of events folded: the stream version a writer expects.
    pub version: u64,
    /// Set once the determination is withdrawn.
    #[serde(default)]
    pub withdrawn: Option<Withdrawal>,
    /// Every variation, oldest first (rare letters, so this stays small).
    #[serde(default)]
    pub variations: Vec<Variation>,
}

/// When and why a determination was withdrawn.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawal {
    pub date: NaiveDate,
    pub reason: String,
}

/// One variation of the allocation table, as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variation {
    pub id: Uuid,
    pub date: NaiveDate,
    pub reason: String,
    pub allocations: Vec<VariedAllocation>,
}

/// One region's running figures.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocationState {
    pub paid: Money,
    pub recovered: Money,
    pub spent: Money,
    /// Unreversed instalments paid.
    pub instalments: u32,
    /// Date of the latest unreversed payment.
    pub paid_on: Option<NaiveDate>,
    /// Whether any unreversed payment was late.
    pub late: bool,
    /// The unreversed payments; at most the determination's instalments, so
    /// tiny, and enough to recompute `paid_on` and `late` when one is reversed.
    #[serde(default)]
    pub payments: Vec<PaymentRecord>,
    /// The allocation as last varied; `None` while it stands as determined.
    #[serde(default)]
    pub varied: Option<Money>,
}

/// One unreversed payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRecord {
    pub id: Uuid,
    pub amount: Money,
    pub date: NaiveDate,
    pub late: bool,
}

impl AllocationState {
    /// Paid less recovered: what the region has to spend from.
    pub fn received(&self) -> Money {
        self.paid.saturating_sub(self.recovered)
    }

    /// Paid less recovered less spent.
    pub fn unspent(&self) -> Money {
        self.received().saturating_sub(self.spent)
    }

    fn refresh_payment_summary(&mut self) {
        self.instalments = u32::try_from(self.payments.len()).unwrap_or(u32::MAX);
        self.paid_on = self.payments.iter().map(|p| p.date).max();
        self.late = self.payments.iter().any(|p| p.late);
    }
}

impl State {
    /// The running figures of a region, by canonical name.
    pub fn allocation_state(&self, region: &str) -> Option<&AllocationState> {
        self.allocations.get(region)
    }

    /// What a region is to be paid now: its allocation as last varied, else as determined.
    /// Zero for a region the determination does not have.
    pub fn allocated(&self, region: &str) -> Money {
        self.allocations
            .get(region)
            .and_then(|a| a.varied)
            .or_else(|| {
                self.determination
                    .as_ref()
                    .and_then(|d| d.allocations.iter().find(|a| a.region == region))
                    .map(|a| a.amount)
            })
            .unwrap_or(Money::ZERO)
    }

    /// What a region was to be paid on `date`: its allocation as the last variation dated
    /// on or before it left it, else as determined. A payment is judged against this, and
    /// the read models count it so, so a payment dated before a variation is held to the
    /// allocation of its own day, not to one that came later.
    pub fn allocated_on(&self, region: &str, date: NaiveDate) -> Money {
        let mut changes = self.variations.iter().flat_map(|v| {
            v.allocations
                .iter()
                .filter(|a| a.region == region)
                .map(move |a| (v.date, a))
        });
        let Some((first_date, first)) = changes.next() else {
            return self.allocated(region);
        };
        // Variations follow one another in time (the domain refuses one dated before the
        // last), so the last one by `date` is the one in force.
        let mut in_force = (first_date <= date).then_some(first.amount);
        for (varied_on, change) in changes {
            if varied_on <= date {
                in_force = Some(change.amount);
            }
        }
        in_force.unwrap_or(first.previous)
    }

    /// What each instalment of `region`'s schedule comes to on `date`: as determined, then
    /// changed by each variation dated on or before it, by the one rule of
    /// [`Determination::instalments_as_varied`]. Empty without a schedule.
    pub fn instalments_on(&self, region: &str, date: NaiveDate) -> Vec<Money> {
        let Some(d) = &self.determination else {
            return Vec::new();
        };
        let changes = self
            .variations
            .iter()
            .filter(|v| v.date <= date)
            .flat_map(|v| {
                v.allocations
                    .iter()
                    .filter(|a| a.region == region)
                    .map(move |a| (v.date, a.amount))
            });
        d.instalments_as_varied(region, changes)
    }

    /// The allocations a region has had from after `date` on: each variation of it dated
    /// later, with its date, oldest first.
    pub fn varied_after(
        &self,
        region: &str,
        date: NaiveDate,
    ) -> impl Iterator<Item = (NaiveDate, Money)> + '_ {
        let region = region.to_string();
        self.variations
            .iter()
            .filter(move |v| v.date > date)
            .flat_map(move |v| {
                let region = region.clone();
                v.allocations
                    .iter()
                    .filter(move |a| a.region == region)
                    .map(move |a| (v.date, a.amount))
            })
    }
}

/// Folds one event into the state. Total: any event, even one `decide` would
/// never have produced, yields a state (figures saturate at the money limit),
/// because a fact already on record must always replay.
pub fn evolve(mut state: State, event: &Event) -> State {
    state.version = state.version.saturating_add(1);
    match &event.data {
        EventData::DeterminationMade(made) => {
            if state.determination.is_none() {
                state.allocations = made
                    .determination
                    .allocations
                    .iter()
                    .map(|a| (a.region.clone(), AllocationState::default()))
                    .collect();
                state.determination = Some(made.determination.clone());
            }
        }
        EventData::PaymentIssued(paid) => {
            let figures = state.allocations.entry(paid.region.clone()).or_default();
            figures.paid = figures.paid.saturating_add(paid.amount);
            figures.payments.push(PaymentRecord {
                id: event.id,
                amount: paid.amount,
                date: paid.date,
                late: paid.late,
            });
            figures.refresh_payment_summary();
        }
        EventData::FundsSpent(spent) => {
            let figures = state.allocations.entry(spent.region.clone()).or_default();
            figures.spent = figures.spent.saturating_add(spent.amount);
        }
        EventData::GrantRecovered(recovered) => {
            let figures = state
                .allocations
                .entry(recovered.region.clone())
                .or_default();
            figures.recovered = figures.recovered.saturating_add(recovered.amount);
        }
        EventData::EventReversed(reversal) => {
            state.reversed.insert(reversal.reversed_event_id);
            let figures = state
                .allocations
                .entry(reversal.region.clone())
                .or_default();
            match reversal.reversed_type {
                EventType::PaymentIssued => {
                    figures.paid = figures.paid.saturating_sub(reversal.amount);
                    figures
                        .payments
                        .retain(|p| p.id != reversal.reversed_event_id);
                    figures.refresh_payment_summary();
                }
                EventType::FundsSpent => {
                    figures.spent = figures.spent.saturating_sub(reversal.amount)
                }
                EventType::GrantRecovered => {
                    figures.recovered = figures.recovered.saturating_sub(reversal.amount)
                }
                // decide never reverses these; a stored one changes no figure.
                EventType::DeterminationMade
                | EventType::EventReversed
                | EventType::DeterminationWithdrawn
                | EventType::DeterminationVaried => {}
            }
        }
        EventData::DeterminationWithdrawn(withdrawn) => {
            state.withdrawn.get_or_insert(Withdrawal {
                date: withdrawn.date,
                reason: withdrawn.reason.clone(),
            });
        }
        EventData::DeterminationVaried(varied) => {
            for change in &varied.allocations {
                let figures = state.allocations.entry(change.region.clone()).or_default();
                figures.varied = Some(change.amount);
            }
            state.variations.push(Variation {
                id: event.id,
                date: varied.date,
                reason: varied.reason.clone(),
                allocations: varied.allocations.clone(),
            });
        }
    }
    state
}
