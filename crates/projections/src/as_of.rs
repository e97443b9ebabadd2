//! Answers "as of a date" by streaming the log: every event whose effective date is on or
//! before the date is folded into fresh models, so a back-dated event counts exactly where
//! its date puts it. `spend-report --as-of` folds the spend model too (it needs each
//! reversed spend's purpose and authority, looked up in the log).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use grant_ledger_domain::EventData;
use grant_ledger_store::EventStore;

use crate::balances::Balances;
use crate::codec::{decode, Logged};
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
    /// Streams the whole log in constant memory, folding only events effective on or
    /// before `date` (and the spend model only `with_spend`). A reversal dated like its
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
