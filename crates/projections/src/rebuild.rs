//! `rebuild`: every read model folded afresh from the log and stored again (sealed), in the
//! same commit as a `ModelsRebuilt` event that says who did it and why. The remedy for a
//! stored model that no longer matches its seal (damage of a model, not of the log): the
//! log is the truth, and the rebuild itself is audited in the hash chain.
//!
//! With a key it is idempotent like every recording command: the same key and reason again
//! answer the original event and rebuild nothing (the key guards that one event in the
//! store); the same key with another reason is refused.

use chrono::{DateTime, Utc};
use grant_ledger_domain::{
    rebuild_reason, AccessData, AccessEvent, Action, ModelsRebuilt, ACCESS_STREAM,
};
use grant_ledger_store::{AppendRequest, EventStore, ExpectedVersion, NewEvent, StreamBatch};
use uuid::Uuid;

use crate::access::Caller;
use crate::codec::{encode_model, history_entry, new_access_event, Logged};
use crate::days::day_of_model;
use crate::error::LedgerError;
use crate::fingerprint::rebuild_fingerprint;
use crate::ledger::Ledger;
use crate::projection::{Projections, ACCESS, ACCESS_VERSION};
use crate::rows::Recorded;
use crate::writer::permit;

impl<S: EventStore> Ledger<S> {
    /// Rebuilds every read model from the log, by `caller` (admin), for `reason`; with
    /// `key`, a repeat of the same key and reason answers the original event instead.
    pub fn rebuild(
        &self,
        caller: &Caller,
        key: Option<&str>,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<Recorded, LedgerError> {
        permit(caller, Action::RebuildModels)?;
        let reason = rebuild_reason(reason)?;
        let print = rebuild_fingerprint(&reason);
        // Writers wait: the models written below must be the fold of the log as it stands
        // when the event is appended.
        let mut writer = self.lock();
        // Looked up under the lock, so two rebuilds with one key cannot both pass it.
        if let Some(key) = key {
            if let Some(original) = self.recorded_under(key, print)? {
                return Ok(original);
            }
        }
        let mut fresh = Projections::replay(self.store())?;
        let determinations: Vec<String> = fresh.states.keys().cloned().collect();
        let mut models = fresh.writes(self.store(), determinations.iter().map(String::as_str))?;
        // The index `asof` stands for the day models it lists: the event stays short.
        let mut names: Vec<String> = models
            .iter()
            .map(|w| w.name.clone())
            .filter(|name| day_of_model(name).is_none())
            .collect();
        names.sort();
        let event = AccessEvent {
            id: Uuid::now_v7(),
            data: AccessData::ModelsRebuilt(ModelsRebuilt {
                reason,
                models: names,
                rebuilt_at: at,
            }),
        };
        let expected = fresh.access.state.version;
        let logged = Logged::Access(event.clone());
        // The event changes no figure; folding it keeps the access stream's version (which
        // the next grant expects) in step.
        fresh.access_mut().apply(&event, &caller.name);
        for write in models.iter_mut().filter(|w| w.name == ACCESS) {
            write.bytes = encode_model(ACCESS, ACCESS_VERSION, &*fresh.access)?;
        }
        let outcome = self.store().append(AppendRequest {
            actor: caller.name.clone(),
            keys: vec![],
            batches: vec![StreamBatch {
                stream: ACCESS_STREAM.to_string(),
                expected: if expected == 0 {
                    ExpectedVersion::NoStream
                } else {
                    ExpectedVersion::Exact(expected)
                },
                events: vec![NewEvent {
                    key_fingerprint: key.map(|_| print),
                    ..new_access_event(&event, key)
                }],
            }],
            models,
        })?;
        let position = outcome.appended().last_position;
        fresh.position = position;
        let rec = self
            .store()
            .event_at(position)?
            .ok_or_else(|| LedgerError::corrupt("the rebuild's own event cannot be read back"))?;
        let entry = history_entry(&rec, &logged)?;
        self.publish(&fresh);
        *writer = fresh;
        self.models_mended();
        Ok(Recorded {
            duplicate: false,
            events: vec![entry],
        })
    }
}
