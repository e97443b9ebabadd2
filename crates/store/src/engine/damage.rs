//! The damage latch: once any read finds the ledger damaged (an event that fails its hash,
//! a broken chain, a store file its engine cannot read), the ledger answers nothing but
//! `verify` from then on, in this process and, through a note the backend keeps beside the
//! ledger, in every process that opens it later. A damaged ledger must not go on answering
//! balances from models built on what may be wrong, nor take appends that chain onto it.
//!
//! The latch is cleared only by a `verify` that passes over the whole log (the ledger was
//! restored in place, or what was found is no longer there).

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
}

impl Damage {
    fn of(error: &StoreError) -> Option<Damage> {
        match error {
            StoreError::Tampered { position, reason } => Some(Damage {
                position: Some(*position),
                reason: reason.clone(),
            }),
            StoreError::Corrupt { reason, .. } => Some(Damage {
                position: None,
                reason: reason.clone(),
            }),
            StoreError::Damaged { position, reason } => Some(Damage {
                position: *position,
                reason: reason.clone(),
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

/// The latch itself, in memory; the backend keeps its copy.
#[derive(Default)]
pub(crate) struct Latch(Mutex<Option<Damage>>);

impl Latch {
    fn get(&self) -> MutexGuard<'_, Option<Damage>> {
        // The guarded value is replaced whole, never left half-written.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
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
            })
        });
        *self.latch.get() = found;
        Ok(())
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
                if self.latch.get().take().is_some() {
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
