//! Where the day models live in the store: their names, reading the index and a day back,
//! what one write stores, and whether the stored models still follow the log.

use std::sync::Arc;

use chrono::NaiveDate;
use grant_ledger_domain::EventData;
use grant_ledger_store::{EventStore, ModelWrite, StoreError};

use super::{DayIndex, DayModel, Days, DAYS_INDEX, DAYS_INDEX_VERSION, DAY_KIND, DAY_VERSION};
use crate::codec::{decode, decode_model, encode_model, Logged, Stored};
use crate::error::LedgerError;

/// The store name of one day's model.
pub(crate) fn day_model_name(day: NaiveDate) -> String {
    format!("{DAYS_INDEX}/{}", day.format("%Y-%m-%d"))
}

/// The day a model name names, if it is one of the day models.
pub(crate) fn day_of_model(name: &str) -> Option<NaiveDate> {
    let day = name.strip_prefix(DAYS_INDEX)?.strip_prefix('/')?;
    NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()
}

impl Days {
    /// The documents to store for what changed (call after [`Days::flush`]); afterwards
    /// only the last day stays in memory, the one nearly every later write changes.
    pub fn writes(&mut self) -> Result<Vec<ModelWrite>, LedgerError> {
        let mut writes = Vec::new();
        if self.index_dirty && (self.kept || self.index.off.is_some()) {
            writes.push(ModelWrite {
                name: DAYS_INDEX.to_string(),
                bytes: encode_model(DAYS_INDEX, DAYS_INDEX_VERSION, &self.index)?,
            });
        }
        for day in &self.dirty {
            if let Some(model) = self.loaded.get(day) {
                writes.push(ModelWrite {
                    name: day_model_name(*day),
                    bytes: encode_model(DAY_KIND, DAY_VERSION, model.as_ref())?,
                });
            }
        }
        self.index_dirty = false;
        self.dirty.clear();
        let last = self.index.days.last().copied();
        self.loaded.retain(|day, _| Some(*day) == last);
        Ok(writes)
    }

    /// The day models as stored: kept when the index says so and no event that a day model
    /// must count was appended after the last day model was written (an older build would
    /// not have written it). A ledger with no index is kept from an empty log, and not
    /// kept if it holds events (written before day models existed).
    pub fn open<S: EventStore>(store: &S) -> Result<Days, LedgerError> {
        let Some(index) = load_index(store)? else {
            if store.head()?.position == 0 {
                return Ok(Days::from_start());
            }
            return Ok(Days::default());
        };
        let mut days = Days {
            kept: index.off.is_none(),
            index,
            ..Days::default()
        };
        if !days.kept {
            return Ok(days);
        }
        let written_at = match days.index.days.last() {
            Some(&last) => {
                let (at, model) = load_day(store, last)?.ok_or_else(|| {
                    LedgerError::Store(StoreError::ModelDamaged {
                        name: day_model_name(last),
                    })
                })?;
                days.loaded.insert(last, Arc::new(model));
                at
            }
            None => store.model(DAYS_INDEX)?.map_or(0, |(at, _)| at),
        };
        if let Some(position) = counted_after(store, written_at)? {
            days.stop(&format!(
                "the event at position {position} was appended without updating the day models"
            ));
        }
        Ok(days)
    }

    /// After another process appended: its day models (if it kept them) are in the store,
    /// so what is in memory is forgotten and the index read again; if it appended events
    /// without updating the day models, they are no longer kept (saved at once, so no
    /// reader trusts them).
    pub fn followed<S: EventStore>(&mut self, store: &S) -> Result<(), LedgerError> {
        let mut fresh = Days::open(store)?;
        if fresh.index_dirty && fresh.index.off.is_some() {
            let head = store.head()?.position;
            for write in fresh.writes()? {
                store.save_model(&write.name, head, write.bytes)?;
            }
        }
        *self = fresh;
        Ok(())
    }
}

/// The stored index, if there is one in the current layout.
pub(crate) fn load_index<S: EventStore>(store: &S) -> Result<Option<DayIndex>, LedgerError> {
    let stored = store.model(DAYS_INDEX)?;
    match decode_model(
        DAYS_INDEX,
        DAYS_INDEX,
        DAYS_INDEX_VERSION,
        stored.as_ref().map(|(_, b)| b.as_slice()),
    )? {
        Stored::Current(index) => Ok(Some(index)),
        Stored::Rebuild => Ok(None),
    }
}

/// One stored day model and its checkpoint. An older layout reads as missing: the index
/// lists it, so the caller treats it as a model to rebuild.
pub(crate) fn load_day<S: EventStore>(
    store: &S,
    day: NaiveDate,
) -> Result<Option<(u64, DayModel)>, LedgerError> {
    let name = day_model_name(day);
    let Some((at, bytes)) = store.model(&name)? else {
        return Ok(None);
    };
    match decode_model(&name, DAY_KIND, DAY_VERSION, Some(&bytes))? {
        Stored::Current(model) => Ok(Some((at, model))),
        Stored::Rebuild => Ok(None),
    }
}

/// The last event after `position` that a day model counts (any of a determination's but
/// its making), if any.
fn counted_after<S: EventStore>(store: &S, position: u64) -> Result<Option<u64>, LedgerError> {
    let mut last = None;
    for rec in store.read_all(position.saturating_add(1)) {
        let rec = rec?;
        if let Logged::Grant(event) = decode(&rec)? {
            if !matches!(event.data, EventData::DeterminationMade(_)) {
                last = Some(rec.position);
            }
        }
    }
    Ok(last)
}
