//! Answers "as of a date": from the per-day models (`days/`), reading the index and the
//! last day on or before the date, so the answer costs two reads however long the log is.
//! A ledger that keeps no day models (written before they existed, until a `rebuild`, or
//! one that stopped keeping them) is answered by streaming the log instead: every event
//! whose effective date is on or before the date is folded into fresh models, so a
//! back-dated event counts exactly where its date puts it. That replay is also the oracle
//! the day models are tested against.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use grant_ledger_domain::EventData;
use grant_ledger_store::{EventStore, StoreError};

use crate::balances::Balances;
use crate::codec::{decode, Logged};
use crate::days::{day_model_name, load_day, load_index, DayModel};
use crate::error::LedgerError;
use crate::ledger::Ledger;
use crate::projection::reversed_target;
use crate::spend::SpendByPurpose;

/// The models as of one date.
#[derive(Debug, Default)]
pub(crate) struct AsOf {
    pub balances: Balances,
    /// Folded only when asked for.
    pub spend: SpendByPurpose,
}

impl<S: EventStore> Ledger<S> {
    /// The models as of the end of `date` (the spend model only `with_spend`).
    pub(crate) fn as_of(&self, date: NaiveDate, with_spend: bool) -> Result<AsOf, LedgerError> {
        // Taken first: every determination it knows is in the day models read after it.
        let snapshot = self.snapshot();
        let Some(index) = load_index(self.store())?.filter(|i| i.off.is_none()) else {
            return self.replay_as_of(date, with_spend);
        };
        let upto = index.days.partition_point(|day| *day <= date);
        let mut day = match upto.checked_sub(1).and_then(|i| index.days.get(i)) {
            Some(&day) => {
                load_day(self.store(), day)?
                    .ok_or_else(|| {
                        LedgerError::Store(StoreError::ModelDamaged {
                            name: day_model_name(day),
                        })
                    })?
                    .1
            }
            None => DayModel::default(),
        };
        // In the day's models: something dated by then counts against it. Made later than
        // the day, it is shown (so that early spend is not hidden) with nothing determined.
        for (id, made_on) in &day.made_on {
            if *made_on > date {
                day.balances.nothing_determined(id);
            }
        }
        // Not in them: nothing of it counts yet; made by then, it is shown as made.
        for d in snapshot
            .states
            .values()
            .filter_map(|s| s.determination.as_ref())
        {
            if d.made_on <= date && !day.balances.determinations.contains_key(&d.id) {
                day.balances.made(d);
                day.spend.made(d);
            }
        }
        Ok(AsOf {
            balances: day.balances,
            spend: if with_spend {
                day.spend
            } else {
                SpendByPurpose::default()
            },
        })
    }

    /// Streams the whole log in constant memory, folding only events effective on or
    /// before `date` (and the spend model only `with_spend`): the answer when no day
    /// models are kept, and the oracle they are tested against. A reversal dated like its
    /// target is skipped with it, so as of any date a correction reads as if the corrected
    /// event never happened.
    pub(crate) fn replay_as_of(
        &self,
        date: NaiveDate,
        with_spend: bool,
    ) -> Result<AsOf, LedgerError> {
        let mut models = AsOf::default();
        // Determinations made after `date`, and whether anything dated by then (spend
        // early in the grant period, before the letter) is counted against them.
        let mut made_later: BTreeMap<String, bool> = BTreeMap::new();
        for rec in self.store().read_all(1) {
            let Logged::Grant(event) = decode(&rec?)? else {
                continue;
            };
            let counts = match &event.data {
                // Always folded first (it is first in its stream), so later events have
                // allocations to count against; whether it counts is settled below.
                EventData::DeterminationMade(made) => {
                    if made.determination.made_on > date {
                        made_later.insert(made.determination.id.clone(), false);
                    }
                    true
                }
                data if data.effective_date() <= date => {
                    if let Some(touched) = made_later.get_mut(data.determination_id()) {
                        *touched = true;
                    }
                    true
                }
                _ => false,
            };
            if counts {
                models.balances.apply(&event);
                if with_spend {
                    let reversed = reversed_target(self.store(), &event)?;
                    models.spend.apply(&event.data, reversed.as_ref());
                }
            }
        }
        for (id, touched) in made_later {
            if touched {
                // Shown, so that early spend is not hidden, but nothing was determined yet.
                models.balances.nothing_determined(&id);
            } else {
                models.balances.determinations.remove(&id);
                models.spend.determinations.remove(&id);
                models.spend.authorities.remove(&id);
            }
        }
        Ok(models)
    }
}
