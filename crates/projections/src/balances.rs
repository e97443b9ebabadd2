//! The balances read model: what each allocation was determined, paid, recovered and spent.
//! Fed only by events; a reversal undoes exactly the effect of the event it reverses.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use grant_ledger_domain::{Determination, Event, EventData, EventType, Money};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::money_ops::{minus, plus};
use crate::rows::{BalanceRow, BalanceStatus};

/// One allocation's running totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AllocationBalance {
    pub region: String,
    pub lead_authority: String,
    pub determined: Money,
    pub recovered: Money,
    pub spent: Money,
    /// The counted (unreversed) payments: at most the determination's instalments. What
    /// was paid, whether late, when and by which day are all derived from them, so a
    /// reversal has one thing to undo.
    pub payments: Vec<CountedPayment>,
    /// The determination was withdrawn: nothing more is to be paid.
    #[serde(default)]
    pub withdrawn: bool,
    /// Each variation of this allocation, in date order (the domain refuses one dated
    /// before the last), so that a day before one reads the allocation before it.
    #[serde(default)]
    pub variations: Vec<VariedOn>,
}

/// One variation of an allocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct VariedOn {
    pub date: NaiveDate,
    pub previous: Money,
    pub amount: Money,
}

/// One unreversed payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CountedPayment {
    pub id: Uuid,
    pub amount: Money,
    pub date: NaiveDate,
    pub late: bool,
}

impl AllocationBalance {
    /// Whether the allocation had been paid in full by the end of `day`, counting only
    /// payments dated on or before it: `deadlines --today` must not call an allocation paid
    /// on a day before its payment was made. `None` while it was not yet fully paid; else
    /// whether any payment counted was late.
    /// Nothing determined (as of a day before the determination) is never "paid".
    pub fn paid_by(&self, day: NaiveDate) -> Option<bool> {
        let counted = self.payments.iter().filter(|p| p.date <= day);
        let paid = counted
            .clone()
            .fold(Money::ZERO, |sum, p| plus(sum, p.amount));
        let determined = self.determined_on(day);
        (paid == determined && !determined.is_zero()).then(|| counted.clone().any(|p| p.late))
    }

    /// The allocation in force on `day`: as varied by then, else as first determined.
    pub fn determined_on(&self, day: NaiveDate) -> Money {
        match self.variations.iter().rev().find(|v| v.date <= day) {
            Some(v) => v.amount,
            None => self
                .variations
                .first()
                .map_or(self.determined, |v| v.previous),
        }
    }

    /// Everything paid and not reversed.
    pub fn paid(&self) -> Money {
        self.payments
            .iter()
            .fold(Money::ZERO, |sum, p| plus(sum, p.amount))
    }

    /// What is still to be paid of `determined` once `paid` is: nothing once the
    /// determination is withdrawn.
    pub fn outstanding(&self, determined: Money, paid: Money) -> Money {
        if self.withdrawn {
            Money::ZERO
        } else {
            minus(determined, paid)
        }
    }

    /// Instalments paid and not reversed.
    pub fn instalments_paid(&self) -> u32 {
        u32::try_from(self.payments.len()).unwrap_or(u32::MAX)
    }

    pub fn row(&self, determination: &str) -> BalanceRow {
        let paid = self.paid();
        let in_full = self.paid_by(NaiveDate::MAX);
        let status = match in_full {
            None => BalanceStatus::Unpaid,
            Some(false) => BalanceStatus::Paid,
            Some(true) => BalanceStatus::PaidLate,
        };
        BalanceRow {
            determination: determination.to_string(),
            region: self.region.clone(),
            lead_authority: self.lead_authority.clone(),
            determined: self.determined,
            paid,
            recovered: self.recovered,
            spent: self.spent,
            // Nothing of a withdrawn determination is to be paid, so nothing is unpaid
            // either (the row's `withdrawn` says why), and totals leave it out.
            unpaid: self.outstanding(self.determined, paid),
            unspent: minus(minus(paid, self.recovered), self.spent),
            outstanding: self.outstanding(self.determined, paid),
            instalments_paid: self.instalments_paid(),
            status,
            // The date of the last counted payment: the one that completed the allocation.
            paid_on: if in_full.is_some() {
                self.payments.iter().map(|p| p.date).max()
            } else {
                None
            },
            // Its day is the decision state's; the ledger fills it in.
            withdrawn: None,
        }
    }
}

/// Balances of every allocation of every determination, in determination-id order and,
/// within one, in the determination's allocation order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Balances {
    pub determinations: BTreeMap<String, Vec<AllocationBalance>>,
}

impl Balances {
    /// Folds one event.
    pub fn apply(&mut self, event: &Event) {
        match &event.data {
            EventData::DeterminationMade(made) => self.made(&made.determination),
            EventData::PaymentIssued(p) => {
                if let Some(a) = self.allocation(&p.determination, &p.region) {
                    a.payments.push(CountedPayment {
                        id: event.id,
                        amount: p.amount,
                        date: p.date,
                        late: p.late,
                    });
                }
            }
            EventData::FundsSpent(s) => self.spent(&s.determination, &s.region, s.amount),
            EventData::GrantRecovered(r) => {
                if let Some(a) = self.allocation(&r.determination, &r.region) {
                    a.recovered = plus(a.recovered, r.amount);
                }
            }
            EventData::EventReversed(r) => {
                if let Some(a) = self.allocation(&r.determination, &r.region) {
                    match r.reversed_type {
                        EventType::PaymentIssued => {
                            a.payments.retain(|p| p.id != r.reversed_event_id);
                        }
                        EventType::FundsSpent => a.spent = minus(a.spent, r.amount),
                        EventType::GrantRecovered => a.recovered = minus(a.recovered, r.amount),
                        // The domain refuses reversing a determination or a reversal.
                        EventType::DeterminationMade
                        | EventType::EventReversed
                        | EventType::DeterminationWithdrawn
                        | EventType::DeterminationVaried => {}
                    }
                }
            }
            EventData::DeterminationWithdrawn(w) => {
                for a in self
                    .determinations
                    .get_mut(&w.determination)
                    .into_iter()
                    .flatten()
                {
                    a.withdrawn = true;
                }
            }
            EventData::DeterminationVaried(v) => {
                for change in &v.allocations {
                    if let Some(a) = self.allocation(&v.determination, &change.region) {
                        a.determined = change.amount;
                        a.variations.push(VariedOn {
                            date: v.date,
                            previous: change.previous,
                            amount: change.amount,
                        });
                    }
                }
            }
        }
    }

    /// Folds a determination being made: each allocation, nothing yet paid or spent.
    pub fn made(&mut self, d: &Determination) {
        // An identical re-import appends nothing, so a second DeterminationMade for the
        // same id never reaches here from an accepted log; keep the first if it did.
        self.determinations.entry(d.id.clone()).or_insert_with(|| {
            d.allocations
                .iter()
                .map(|a| AllocationBalance {
                    region: a.region.clone(),
                    lead_authority: a.lead_authority.clone(),
                    determined: a.amount,
                    recovered: Money::ZERO,
                    spent: Money::ZERO,
                    payments: Vec::new(),
                    withdrawn: false,
                    variations: Vec::new(),
                })
                .collect()
        });
    }

    /// Folds `amount` spent by `region` of `determination` (one spend, or several summed:
    /// the figure is a sum, so the order they are folded in does not matter).
    pub fn spent(&mut self, determination: &str, region: &str, amount: Money) {
        if let Some(a) = self.allocation(determination, region) {
            a.spent = plus(a.spent, amount);
        }
    }

    fn allocation(&mut self, determination: &str, region: &str) -> Option<&mut AllocationBalance> {
        self.determinations
            .get_mut(determination)?
            .iter_mut()
            .find(|a| a.region == region)
    }

    /// Sets what `determination` determined to nothing, for an answer as of a day before
    /// it was made.
    pub fn nothing_determined(&mut self, determination: &str) {
        for a in self
            .determinations
            .get_mut(determination)
            .into_iter()
            .flatten()
        {
            a.determined = Money::ZERO;
        }
    }

    /// Every allocation with its determination id, optionally of one determination.
    pub fn allocations<'a>(
        &'a self,
        determination: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a str, &'a AllocationBalance)> + 'a {
        self.determinations
            .iter()
            .filter(move |(id, _)| determination.map_or(true, |d| d == id.as_str()))
            .flat_map(|(id, allocations)| allocations.iter().map(move |a| (id.as_str(), a)))
    }

    /// Every row, optionally of one determination, filtered by canonical region name.
    pub fn rows<'a>(
        &'a self,
        determination: Option<&'a str>,
        region: Option<&'a str>,
    ) -> impl Iterator<Item = BalanceRow> + 'a {
        self.allocations(determination)
            .filter(move |(_, a)| region.map_or(true, |r| r == a.region))
            .map(|(id, a)| a.row(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use grant_ledger_domain::{builtin, DeterminationMade, EventReversed, PaymentIssued};

    fn event(data: EventData) -> Event {
        Event {
            id: Uuid::now_v7(),
            data,
        }
    }

    fn payment(amount: &str, date: NaiveDate, late: bool) -> Event {
        event(EventData::PaymentIssued(PaymentIssued {
            determination: "31/7421".into(),
            region: "London".into(),
            lead_authority: "Camden London Borough Council".into(),
            amount: Money::parse(amount).unwrap(),
            date,
            instalment: 1,
            reference: None,
            late,
            late_reason: late.then(|| "outage".into()),
        }))
    }

    #[test]
    fn reversing_the_late_payment_clears_paid_late() {
        let mut b = Balances::default();
        let determination = builtin("31/7421").unwrap().unwrap();
        b.apply(&event(EventData::DeterminationMade(DeterminationMade {
            determination,
        })));
        let on = NaiveDate::from_ymd_opt(2024, 9, 3).unwrap();
        let late = payment("318000", on, true);
        b.apply(&late);
        let row = b.rows(Some("31/7421"), Some("London")).next().unwrap();
        assert_eq!(
            (row.status, row.paid_on),
            (BalanceStatus::PaidLate, Some(on))
        );

        b.apply(&event(EventData::EventReversed(EventReversed {
            determination: "31/7421".into(),
            region: "London".into(),
            reversed_event_id: late.id,
            reversed_type: EventType::PaymentIssued,
            amount: Money::parse("318000").unwrap(),
            date: on,
            reversed_date: on,
            reason: "wrong account".into(),
        })));
        let row = b.rows(Some("31/7421"), Some("London")).next().unwrap();
        assert_eq!((row.status, row.paid_on), (BalanceStatus::Unpaid, None));
        assert_eq!(row.unpaid, Money::parse("318000").unwrap());
        let on_time = NaiveDate::from_ymd_opt(2024, 8, 29).unwrap();
        b.apply(&payment("318000", on_time, false));
        let row = b.rows(Some("31/7421"), Some("London")).next().unwrap();
        assert_eq!(
            (row.status, row.paid_on),
            (BalanceStatus::Paid, Some(on_time))
        );
    }

    #[test]
    fn an_allocation_is_paid_by_a_day_only_once_its_payments_dated_by_then_cover_it() {
        let mut b = Balances::default();
        let determination = builtin("31/7421").unwrap().unwrap();
        b.apply(&event(EventData::DeterminationMade(DeterminationMade {
            determination,
        })));
        let paid_on = NaiveDate::from_ymd_opt(2024, 9, 20).unwrap();
        b.apply(&payment("318000", paid_on, true));
        let (_, london) = b
            .allocations(Some("31/7421"))
            .find(|(_, a)| a.region == "London")
            .unwrap();
        assert_eq!(london.paid_by(paid_on.pred_opt().unwrap()), None);
        assert_eq!(london.paid_by(paid_on), Some(true));
    }
}
