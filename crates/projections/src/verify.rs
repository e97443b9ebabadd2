//! `verify`'s second half: every stored read model must equal a fresh replay of the log.
//! A model that differs was tampered with or written by a faulty build; it is named with
//! the position it claims to reflect.

use grant_ledger_domain::State;
use grant_ledger_store::{EventStore, StoreError};

use crate::access::AccessModel;
use crate::balances::Balances;
use crate::days::{day_of_model, load_day, load_index, DAYS_INDEX};
use crate::error::LedgerError;
use crate::projection::{
    load, Projections, ACCESS, ACCESS_VERSION, BALANCES, BALANCES_VERSION, SPEND, SPEND_VERSION,
    STATE_KIND, STATE_VERSION,
};
use crate::spend::SpendByPurpose;

/// Compares each stored model this crate owns with `fresh`; returns how many were compared.
pub(crate) fn compare_stored<S: EventStore>(
    store: &S,
    fresh: &Projections,
) -> Result<usize, LedgerError> {
    let mut compared = 0;
    // The day models are compared only while the index says they are kept: once it says
    // they are not, those left stored are no longer read (see `days/`).
    let index = load_index(store)?;
    let days_kept = index.as_ref().is_some_and(|i| i.off.is_none());
    for name in store.model_names()? {
        let checkpoint = store.model(&name)?.map_or(0, |(at, _)| at);
        let equal = if name == BALANCES {
            let (_, stored) = load::<_, Balances>(store, &name, BALANCES, BALANCES_VERSION)?;
            checkpoint == fresh.position && stored.as_ref() == Some(&*fresh.balances)
        } else if name == SPEND {
            let (_, stored) = load::<_, SpendByPurpose>(store, &name, SPEND, SPEND_VERSION)?;
            checkpoint == fresh.position && stored.as_ref() == Some(&*fresh.spend)
        } else if name == ACCESS {
            let (_, stored) = load::<_, AccessModel>(store, &name, ACCESS, ACCESS_VERSION)?;
            checkpoint == fresh.position && stored.as_ref() == Some(&*fresh.access)
        } else if name == DAYS_INDEX {
            // Not kept is a state the ledger may be in (kept again by a rebuild); kept, the
            // index must list exactly the days a replay finds.
            !days_kept || index.as_ref() == Some(&fresh.days.index)
        } else if let Some(day) = day_of_model(&name) {
            let listed = index
                .as_ref()
                .is_some_and(|i| i.days.binary_search(&day).is_ok());
            if !days_kept || !listed {
                continue;
            }
            let stored = load_day(store, day)?.map(|(_, model)| model);
            stored.is_some() && stored.as_ref() == fresh.days.in_memory(day)
        } else if let Some(id) = name
            .strip_prefix(STATE_KIND)
            .and_then(|rest| rest.strip_prefix('/'))
        {
            let (_, stored) = load::<_, State>(store, &name, STATE_KIND, STATE_VERSION)?;
            stored.is_some() && stored.as_ref() == fresh.states.get(id).map(|s| &**s)
        } else {
            // Not one of ours (another tool's document): nothing to compare it with.
            continue;
        };
        if !equal {
            // Damage of the models, not of the log: latched as a seal mismatch is (see
            // `Ledger::verify`), so nothing answers from them until a rebuild.
            return Err(LedgerError::Store(StoreError::ModelMismatch {
                name,
                reason: format!(
                    "checkpointed at position {checkpoint} does not match a fresh replay of the log up to position {}",
                    fresh.position
                ),
            }));
        }
        compared += 1;
    }
    Ok(compared)
}
