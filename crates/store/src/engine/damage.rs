//! The damage latch: once any read finds the ledger damaged (an event that fails its hash,
//! a broken chain, a store file its engine cannot read), the ledger answers nothing but
//! `verify` from then on, in this process and, through a note the backend keeps beside the
//! ledger, in every process that opens it later. A damaged ledger must not go on answering
//! balances from models built on what may be wrong, nor take appends that chain onto it.
//!
//! The latch is cleared only by a `verify` that passes over the whole log (the ledger was
//! restored in place, or what was found is no longer there).
//!
//! The same note carries damage of the read models that `verify` found (a stored model
//! that is not a replay of the log): then the log is still read, so that `verify` and
//! `rebuild` can run, and the layer that owns the models refuses everything else until a
//! rebuild stores them afresh (or a `verify` passes, models and all).

use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use super::Engine;
use crate::backend::Backend;
use crate::error::StoreError;
use crate::EventIter;

/// What was found, and where when it is known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Damage {
    /// The first bad position, where the check that found it can tell.
    pub position: Option<u64>,
    /// What is wrong, in words.
    pub reason: String,
    /// The stored read model found not to match the log, when the damage is of the models
    /// rather than of the log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

impl Damage {
    fn of(error: &StoreError) -> Option<Damage> {
        match error {
            StoreError::Tampered { position, reason } => Some(Damage {
                position: Some(*position),
                reason: reason.clone(),
                model: None,
            }),
            StoreError::Corrupt { reason, .. } => Some(Damage {
                position: None,
                reason: reason.clone(),
                model: None,
            }),
            StoreError::Damaged { position, reason } => Some(Damage {
                position: *position,
                reason: reason.clone(),
                model: None,
            }),
            _ => None,
        }
    }

    fn error(&self) -> StoreError {
        StoreError::Damaged {
            position: self.position,
            reason: self.reason.clone(),
        }
    }
}

/// The latch itself, in memory; the backend keeps its copy. The second is damage of the
/// models, which does not stop reads of the log.
#[derive(Default)]
pub(crate) struct Latch(Mutex<Option<Damage>>, Mutex<Option<Damage>>);

impl Latch {
    fn get(&self) -> MutexGuard<'_, Option<Damage>> {
        // The guarded value is replaced whole, never left half-written.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn models(&self) -> MutexGuard<'_, Option<Damage>> {
        self.1.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<B: Backend> Engine<B> {
    /// The damage found so far, if any.
    pub fn damage(&self) -> Option<Damage> {
        self.latch.get().clone()
    }

    /// Reads the note a process that found damage left: called once as a store opens.
    /// A note that cannot be read is itself damage.
    pub fn load_damage(&self) -> Result<(), StoreError> {
        let found = self.backend.damage_note()?.map(|bytes| {
            serde_json::from_slice::<Damage>(&bytes).unwrap_or(Damage {
                position: None,
                reason: "the note recording earlier damage is unreadable".into(),
                model: None,
            })
        });
        match found {
            Some(d) if d.model.is_some() => *self.latch.models() = Some(d),
            found => *self.latch.get() = found,
        }
        Ok(())
    }

    /// The damage of the read models `verify` found, if any, until a rebuild.
    pub fn model_damage(&self) -> Option<Damage> {
        self.latch.models().clone()
    }

    /// Latches (and notes beside the ledger) that `verify` found the stored model `name`
    /// not to match the log, for `reason`; damage of the log, if any, takes precedence.
    pub fn note_model_damage(&self, name: &str, reason: &str) {
        if self.latch.get().is_some() {
            return;
        }
        let damage = Damage {
            position: None,
            reason: reason.to_string(),
            model: Some(name.to_string()),
        };
        if let Ok(bytes) = serde_json::to_vec(&damage) {
            let _ = self.backend.set_damage_note(Some(&bytes));
        }
        *self.latch.models() = Some(damage);
    }

    /// Clears the damage of the models once they were rebuilt from the log.
    pub fn mend_models(&self) {
        if self.latch.models().take().is_some() && self.latch.get().is_none() {
            // As in `checked`: a note that stays is cleared by the next verify that passes.
            let _ = self.backend.set_damage_note(None);
        }
    }

    /// Refuses at once if damage was found; otherwise runs `op` and latches what it finds.
    pub fn guarded<T>(
        &self,
        op: impl FnOnce(&Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if let Some(damage) = self.damage() {
            return Err(damage.error());
        }
        self.watched(op)
    }

    /// Runs `op`, latching what it finds, whether or not damage was found before: for the
    /// checks a store makes as it opens, which must let `verify` open a damaged ledger.
    pub fn watched<T>(
        &self,
        op: impl FnOnce(&Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let result = op(self);
        if let Err(e) = &result {
            self.latch_on(e);
        }
        result
    }

    /// As [`Engine::guarded`], for a streamed read: each item is watched as it comes.
    pub fn guarded_iter<'a>(&'a self, op: impl FnOnce(&'a Self) -> EventIter<'a>) -> EventIter<'a> {
        if let Some(damage) = self.damage() {
            return Box::new(std::iter::once(Err(damage.error())));
        }
        Box::new(op(self).inspect(move |item| {
            if let Err(e) = item {
                self.latch_on(e);
            }
        }))
    }

    /// `verify` runs whatever was found before, so an auditor can always learn the first
    /// bad position; what it finds is latched, and a pass over the whole log clears the
    /// latch.
    pub fn checked<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        match &result {
            Err(e) => self.latch_on(e),
            Ok(_) => {
                // The log passed: what the models' owner compares next latches again if
                // the models still do not match it.
                let models = self.latch.models().take().is_some();
                if self.latch.get().take().is_some() || models {
                    // A note that cannot be removed comes back on the next open, where
                    // verify clears it again: nothing is lost by going on.
                    let _ = self.backend.set_damage_note(None);
                }
            }
        }
        result
    }

    fn latch_on(&self, error: &StoreError) {
        let Some(damage) = Damage::of(error) else {
            return;
        };
        let mut latch = self.latch.get();
        if latch.is_some() {
            return;
        }
        // Best effort: the store may be too damaged to keep the note, and the latch in
        // memory holds for this process whatever happens to it.
        if let Ok(bytes) = serde_json::to_vec(&damage) {
            let _ = self.backend.set_damage_note(Some(&bytes));
        }
        *latch = Some(damage);
    }
}

/// What is wrong with an event, in the words every check uses, so that damage found by
/// `verify` and by any other read (or by the check made on open) reads alike. Each is a
/// clause after "the ledger is damaged at position N: ".
pub(crate) mod reason {
    pub(crate) const MISSING: &str = "the event there is missing from the log";
    pub(crate) const HASH: &str = "its stored hash does not match its contents";
    pub(crate) const LINK: &str = "it does not link to the hash of the event before it";
    pub(crate) const NOT_HEAD: &str = "its hash is not the committed head's";
    pub(crate) const UNINDEXED_ID: &str =
        "the event-id index does not lead to it, so a lookup of its id would not find it";
    pub(crate) const UNINDEXED_KEY: &str =
        "the key index does not lead to the command it was recorded for, so a repeat of that command would be recorded again";

    pub(crate) fn undecodable(why: &str) -> String {
        format!("its stored envelope does not decode ({why})")
    }

    pub(crate) fn moved(says: u64) -> String {
        format!("the event stored there says it is at position {says}")
    }
}
