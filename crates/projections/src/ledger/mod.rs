//! The application facade the binary calls: every command and query of the CLI contract,
//! over any `EventStore`. It owns the write path (decide against the stored state, fold the
//! new events into every model, append events and models in one commit) and answers queries
//! from the models held current that way.

use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use chrono::NaiveDate;
use grant_ledger_store::EventStore;

use crate::access::Caller;
use crate::checkpoint::Signer;
use crate::error::LedgerError;
use crate::projection::{Projections, Verified};
use crate::rows::{BalanceRow, DeadlineRow, VerifySummary};
use crate::writer::WriteQueue;

mod lookups;

/// Called with the new head position after every commit (e.g. to wake event streams).
type Observer = Box<dyn Fn(u64) + Send + Sync>;

/// The ledger: an event store plus the read models kept exactly current with it.
pub struct Ledger<S: EventStore> {
    store: S,
    /// The writer's own copy of the models. The lock serialises writes: whoever holds it
    /// commits the queued group (see `writer`).
    models: Mutex<Projections>,
    /// What every query answers from: the models as of the last commit, replaced whole
    /// after each one, so a reader never waits for a writer's decisions or fsync.
    snapshot: RwLock<Arc<Projections>>,
    /// Commands waiting for the writer, and who is leading.
    pub(crate) writes: WriteQueue,
    observers: Mutex<Vec<Observer>>,
    /// The key checkpoints are signed with, if the binary found or made one.
    pub(crate) signer: Option<Signer>,
    /// The store was damaged when this was made, so the models were not read: they are
    /// read after the first `verify` that passes.
    opened_damaged: std::sync::atomic::AtomicBool,
    /// The stored model found not to match its seal when this was made, or not to match
    /// the log by a `verify` (with why: that damage is noted in the store, so the next
    /// process finds it too), until a rebuild.
    models_damaged: Mutex<Option<(String, Option<String>)>>,
}

impl<S: EventStore> Ledger<S> {
    /// Wraps a store, catching every read model up to its log (and saving those that moved).
    ///
    /// A store already found damaged is still wrapped, so that `verify` can run on it (and,
    /// on a server, authenticate its caller): its models are read again once a `verify`
    /// passes, and until then the front ends answer nothing else (see [`Ledger::damaged`]).
    pub fn with_store(store: S) -> Result<Self, LedgerError> {
        let mut models_damaged = None;
        let models = match Projections::open(&store) {
            Ok(models) => models,
            // A stored model no longer matches its seal: the log is sound, so it is folded
            // afresh here (the server can still authenticate), and every front end answers
            // nothing but verify and rebuild until a rebuild stores the models again.
            Err(LedgerError::Store(grant_ledger_store::StoreError::ModelDamaged { name })) => {
                models_damaged = Some((name, None));
                Projections::replay(&store)?
            }
            // Models behind a damaged log cannot be caught up; they are read again once a
            // verify passes.
            Err(_) if store.damage().is_some() => Projections::access_only(&store)?,
            Err(e) => return Err(e),
        };
        let opened_damaged = store.damage().is_some();
        if let Some(noted) = store.model_damage() {
            models_damaged = models_damaged.or(noted.model.map(|name| (name, Some(noted.reason))));
        }
        Ok(Ledger {
            opened_damaged: std::sync::atomic::AtomicBool::new(opened_damaged),
            models_damaged: Mutex::new(models_damaged),
            store,
            snapshot: RwLock::new(Arc::new(models.clone())),
            models: Mutex::new(models),
            writes: WriteQueue::default(),
            observers: Mutex::new(Vec::new()),
            signer: None,
        })
    }

    /// This ledger, signing its checkpoints with `signer`.
    pub fn with_signer(mut self, signer: Signer) -> Self {
        self.signer = Some(signer);
        self
    }

    /// The damage the store has found, as the error every front end answers with while
    /// there is some (all but `verify`).
    pub fn damaged(&self) -> Option<LedgerError> {
        if let Some(d) = self.store.damage() {
            return Some(LedgerError::Store(
                grant_ledger_store::StoreError::Damaged {
                    position: d.position,
                    reason: d.reason,
                },
            ));
        }
        let found = self
            .models_damaged
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        found.map(|(name, reason)| {
            LedgerError::Store(match reason {
                None => grant_ledger_store::StoreError::ModelDamaged { name },
                Some(reason) => grant_ledger_store::StoreError::ModelMismatch { name, reason },
            })
        })
    }

    /// The stored model found damaged (not matching its seal, or the log), until a rebuild.
    pub fn models_damaged(&self) -> Option<String> {
        self.models_damaged
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|(name, _)| name.clone())
    }

    /// What `verify` found wrong with the stored models, kept until a rebuild.
    fn models_mismatch(&self, found: &LedgerError) {
        if let LedgerError::Store(grant_ledger_store::StoreError::ModelMismatch { name, reason }) =
            found
        {
            self.store.note_model_damage(name, reason);
            *self
                .models_damaged
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some((name.clone(), Some(reason.clone())));
        }
    }

    pub(crate) fn models_mended(&self) {
        self.store.mend_models();
        *self
            .models_damaged
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The underlying store (for tests and tools that inspect it).
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Gives the store back (to reopen it, or hand it to another `Ledger`).
    pub fn into_store(self) -> S {
        self.store
    }

    /// The writer's models, held for the whole of a write.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Projections> {
        // Models are only replaced whole after a successful append, so a panic elsewhere
        // cannot leave a half-updated copy behind the lock.
        self.models.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The models as of the last commit.
    pub(crate) fn snapshot(&self) -> Arc<Projections> {
        let guard = self.snapshot.read().unwrap_or_else(|p| p.into_inner());
        Arc::clone(&guard)
    }

    /// Makes `models` what readers see, then tells every observer the new head.
    pub(crate) fn publish(&self, models: &Projections) {
        let next = Arc::new(models.clone());
        let position = next.position;
        *self.snapshot.write().unwrap_or_else(|p| p.into_inner()) = next;
        for observer in self
            .observers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            observer(position);
        }
    }

    /// Calls `observer` with the new head position after every commit from now on.
    pub fn on_commit(&self, observer: impl Fn(u64) + Send + Sync + 'static) {
        self.observers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Box::new(observer));
    }

    /// How many recording commands wait for the writer right now (for monitoring, and for
    /// tests that need a group to form).
    pub fn queued(&self) -> usize {
        self.writes
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// Keeps readers current with commits made by *other processes* on the same store (a
    /// database several servers share): on each wake-up from [`EventStore::watch`] the
    /// ledger takes its writer lock, catches its models up from the log, which stays the
    /// truth, and publishes them, so observers (event streams) see the other process's
    /// events too. A wake-up at or below what readers already see (this process's own
    /// commits) costs nothing. With an embedded store this does nothing.
    pub fn follow_store(self: &Arc<Self>) -> Result<(), LedgerError>
    where
        S: 'static,
    {
        // Weak: the store owns the watcher, so a strong reference would keep the ledger
        // (and its store) alive forever.
        let ledger = Arc::downgrade(self);
        self.store.watch(Box::new(move |position| {
            if let Some(ledger) = ledger.upgrade() {
                ledger.catch_up(position);
            }
        }))?;
        Ok(())
    }

    /// Catches the models up with the log now, whoever committed last.
    pub fn catch_up_now(&self) {
        self.catch_up(0);
    }

    /// Catches the models up with the log if `position` (0: unknown) is beyond what
    /// readers see. A failure is left for the next wake-up or command to meet again.
    fn catch_up(&self, position: u64) {
        if position != 0 && position <= self.head_position() {
            return;
        }
        let mut models = self.lock();
        if models.refresh(&self.store).is_ok() && models.position != self.head_position() {
            self.publish(&models);
        }
    }

    /// The last committed position readers can see.
    pub fn head_position(&self) -> u64 {
        self.snapshot().position
    }

    /// The caller a presented access token belongs to.
    pub fn authenticate(&self, token: &str) -> Result<Caller, LedgerError> {
        self.snapshot().access.authenticate(token)
    }

    /// One row per allocation, optionally of one determination and region. With `as_of`,
    /// only events effective on or before that date count (read from the day models).
    pub fn balances(
        &self,
        determination: Option<&str>,
        region: Option<&str>,
        as_of: Option<NaiveDate>,
    ) -> Result<Vec<BalanceRow>, LedgerError> {
        let determination = self.known_determination(determination)?;
        let region = region
            .map(|r| self.resolve_region(determination.as_deref(), r))
            .transpose()?;
        let models = self.snapshot();
        let mut rows: Vec<BalanceRow> = match as_of {
            None => models
                .balances
                .rows(determination.as_deref(), region.as_deref())
                .collect(),
            Some(date) => {
                let balances = self.as_of(date, false)?.balances;
                balances
                    .rows(determination.as_deref(), region.as_deref())
                    .collect()
            }
        };
        for row in &mut rows {
            row.withdrawn = models
                .states
                .get(&row.determination)
                .and_then(|s| s.withdrawn.as_ref())
                .map(|w| w.date)
                .filter(|day| as_of.map_or(true, |as_of| *day <= as_of));
        }
        Ok(rows)
    }

    /// Each allocation against its determination's payment deadline on `today`.
    pub fn deadlines(
        &self,
        determination: Option<&str>,
        today: NaiveDate,
    ) -> Result<Vec<DeadlineRow>, LedgerError> {
        let determination = self.known_determination(determination)?;
        let models = self.snapshot();
        let mut rows = Vec::new();
        for (id, allocation) in models.balances.allocations(determination.as_deref()) {
            let Some(state) = models.states.get(id) else {
                continue;
            };
            let Some(determination) = state.determination.as_ref() else {
                continue;
            };
            // Not yet made on `today`, or withdrawn by then: nothing of it is due. A
            // withdrawal dated after `today` had not happened yet on that day.
            let withdrawn = state.withdrawn.as_ref().is_some_and(|w| w.date <= today);
            if determination.made_on > today || withdrawn {
                continue;
            }
            rows.push(crate::deadlines::deadline_row(
                determination,
                allocation,
                today,
            ));
        }
        Ok(rows)
    }

    /// Checks the log's hash chain, then that every stored model equals a fresh replay.
    pub fn verify(&self) -> Result<VerifySummary, LedgerError> {
        // Writes wait while verify runs: a commit between the replay and the comparison
        // would move the stored models past the replay and read as a mismatch. Queries do
        // not wait (they read the snapshot).
        let mut writer = self.lock();
        let damaged = self
            .opened_damaged
            .load(std::sync::atomic::Ordering::SeqCst)
            || self.store.damage().is_some();
        let (report, fresh) = if damaged {
            // Nothing but the scan may read a ledger found damaged: the replay waits until
            // the log passes (restored in place), and the models are read again then.
            let report = self.store.verify()?;
            if self
                .opened_damaged
                .swap(false, std::sync::atomic::Ordering::SeqCst)
            {
                let models = Projections::open(&self.store)?;
                self.publish(&models);
                *writer = models;
            }
            (report, Projections::replay(&self.store)?)
        } else {
            // One pass: the store checks the log on one thread while this one folds what
            // passed into fresh models. A damaged log is refused as the plain scan refuses
            // it, whatever the fold found, so the first bad position is the one named.
            let mut fresh = Projections::fresh();
            let mut failed = None;
            let mut read_again = None;
            let report = self.store.verify_each(&mut |ev| match fresh
                .apply_verified(&self.store, ev)
            {
                Ok(Verified::Folded) => true,
                Ok(Verified::ReadAgain) => {
                    read_again = Some(ev.fields.position);
                    false
                }
                Err(e) => {
                    failed = Some(e);
                    false
                }
            })?;
            if let Some(e) = failed {
                return Err(e);
            }
            if let Some(position) = read_again {
                return Err(Projections::read_again(&self.store, position));
            }
            fresh.flush_in_memory()?;
            (report, fresh)
        };
        let compared = crate::verify::compare_stored(&self.store, &fresh)
            .inspect_err(|e| self.models_mismatch(e))?;
        // Everything matches: whatever was noted of the models earlier is no longer there.
        self.models_mended();
        Ok(VerifySummary {
            ok: true,
            events: report.events,
            head_position: report.head.position,
            head_hash: hex::encode(report.head.hash),
            models: compared,
        })
    }
}
