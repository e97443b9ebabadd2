//! The application facade the binary calls: every command and query of the CLI contract,
//! over any `EventStore`. It owns the write path (decide against the stored state, fold the
//! new events into every model, append events and models in one commit) and answers queries
//! from the models held current that way.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::NaiveDate;
use grant_ledger_domain::{
    check, decide, region_matches, Command, Determination, Event, EventData, FormulaCheck,
};
use grant_ledger_store::{
    AppendOutcome, AppendRequest, Appended, Clock, ErrorKind as StoreKind, EventStore,
    ExpectedVersion, Idempotency, RecordedEvent, SledStore, StreamBatch, SystemClock,
};
use uuid::Uuid;

use crate::balances::Balances;
use crate::codec::{decode, history_entry, new_event};
use crate::error::LedgerError;
use crate::fingerprint::fingerprint;
use crate::projection::{reversed_target, Projections};
use crate::rows::{
    BalanceRow, DeadlineRow, DeadlineStatus, HistoryEntry, HistoryFilter, Recorded, SpendReportRow,
    VerifySummary,
};

/// How often a write is re-decided after another writer moved its stream first.
const MAX_WRITE_ATTEMPTS: usize = 3;

/// The ledger: an event store plus the read models kept exactly current with it.
pub struct Ledger<S: EventStore = SledStore> {
    store: S,
    /// The models as of the last write or refresh. The lock serialises this handle's
    /// writes, so its models can never be written from two stale copies at once.
    models: Mutex<Projections>,
}

impl Ledger<SledStore> {
    /// Opens (creating if needed) the ledger in `dir`, stamping events with the system clock.
    /// For commands that record: the directory is created on first write.
    pub fn open(dir: &Path) -> Result<Self, LedgerError> {
        Self::open_with_clock(dir, Arc::new(SystemClock))
    }

    /// Opens the ledger in `dir` with the given clock for `recorded_at` stamps.
    pub fn open_with_clock(dir: &Path, clock: Arc<dyn Clock>) -> Result<Self, LedgerError> {
        Ledger::with_store(SledStore::open(dir, clock)?)
    }

    /// Opens the ledger in `dir` only if there is one, creating nothing: for queries, so a
    /// mistyped path is an error ([`grant_ledger_store::StoreError::NoLedger`], kind
    /// `Unavailable`) rather than an empty answer from a new, empty ledger.
    pub fn open_existing(dir: &Path) -> Result<Self, LedgerError> {
        Ledger::with_store(SledStore::open_existing(dir, Arc::new(SystemClock))?)
    }
}

impl<S: EventStore> Ledger<S> {
    /// Wraps a store, catching every read model up to its log (and saving those that moved).
    pub fn with_store(store: S) -> Result<Self, LedgerError> {
        let models = Projections::open(&store)?;
        Ok(Ledger {
            store,
            models: Mutex::new(models),
        })
    }

    /// The underlying store (for tests and tools that inspect it).
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Gives the store back (to reopen it, or hand it to another `Ledger`).
    pub fn into_store(self) -> S {
        self.store
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Projections> {
        // Models are only replaced whole after a successful append, so a panic elsewhere
        // cannot leave a half-updated copy behind the lock.
        self.models.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records one command (import, pay, spend, recover, reverse).
    ///
    /// With a key: the same key and the same command again returns the originally appended
    /// events with `duplicate: true`; the same key with a different command is refused.
    /// Importing an identical determination again returns `duplicate: true` and no events.
    pub fn record(
        &self,
        actor: &str,
        key: Option<&str>,
        command: Command,
    ) -> Result<Recorded, LedgerError> {
        let guard = key.map(|k| Idempotency {
            key: k.to_string(),
            fingerprint: fingerprint(&command),
        });
        if let Some(guard) = &guard {
            if let Some(original) = self.recorded_under(guard)? {
                return Ok(original);
            }
        }
        let id = command.determination_id().to_string();
        let mut models = self.lock();
        let mut attempt = 0;
        loop {
            attempt += 1;
            models.refresh(&self.store)?;
            let state = models.states.get(&id).cloned().unwrap_or_default();
            if state.determination.is_none()
                && !matches!(command, Command::MakeDetermination { .. })
            {
                return Err(LedgerError::refused(format!("unknown determination {id}")));
            }
            let events = decide(&state, command.clone())?;
            if events.is_empty() {
                return Ok(Recorded {
                    duplicate: true,
                    events: Vec::new(),
                });
            }
            let target = match &command {
                Command::ReverseEvent { target, .. } => Some(target.data.clone()),
                _ => None,
            };
            let mut next = models.draft([id.as_str()]);
            for event in &events {
                let reversed = match &event.data {
                    EventData::EventReversed(_) => target.clone(),
                    _ => None,
                };
                next.apply(event, reversed.as_ref());
            }
            let request = AppendRequest {
                actor: actor.to_string(),
                keys: guard.iter().cloned().collect(),
                batches: vec![StreamBatch {
                    stream: command.stream(),
                    expected: ExpectedVersion::Exact(state.version),
                    events: events.iter().map(|e| new_event(e, key)).collect(),
                }],
                models: next.writes([id.as_str()])?,
            };
            match self.store.append(request) {
                Ok(AppendOutcome::Written(appended)) => {
                    self.settle(&mut models, next, &appended, [id.as_str()])?;
                    return Ok(Recorded {
                        duplicate: false,
                        events: self.entries(&appended, None)?,
                    });
                }
                Ok(AppendOutcome::Duplicate(appended)) => {
                    return Ok(Recorded {
                        duplicate: true,
                        events: self.entries(&appended, key)?,
                    })
                }
                Err(e) if e.kind() == StoreKind::Conflict && attempt < MAX_WRITE_ATTEMPTS => continue,
                Err(e) if e.kind() == StoreKind::Conflict => {
                    return Err(LedgerError::refused(format!(
                        "determination {id} kept changing while this command was decided ({e}); try again"
                    )))
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// If `guard`'s key is already recorded: the original events for the same command, or a
    /// refusal for a different one.
    pub(crate) fn recorded_under(
        &self,
        guard: &Idempotency,
    ) -> Result<Option<Recorded>, LedgerError> {
        match self.store.key(&guard.key)? {
            None => Ok(None),
            Some(rec) if rec.fingerprint == guard.fingerprint => Ok(Some(Recorded {
                duplicate: true,
                events: self.entries(&rec.appended, Some(&guard.key))?,
            })),
            Some(rec) => Err(LedgerError::refused(format!(
                "idempotency key '{}' was already used for a different command at position {}",
                guard.key, rec.appended.first_position
            ))),
        }
    }

    /// Installs the models of a successful append (`next` holds the touched states only).
    /// If another writer appended between our refresh and our append (other streams only:
    /// ours were guarded by their versions), its events are folded in and the models saved
    /// again, so the stored ones stay exact.
    pub(crate) fn settle<'a>(
        &self,
        models: &mut Projections,
        next: Projections,
        appended: &Appended,
        touched: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), LedgerError> {
        let expected_first = models.position.saturating_add(1);
        models.balances = next.balances;
        models.spend = next.spend;
        models.states.extend(next.states);
        models.position = appended.last_position;
        if appended.first_position == expected_first {
            return Ok(());
        }
        let mut moved: Vec<String> = touched.into_iter().map(str::to_string).collect();
        for rec in self.store.read_all(expected_first) {
            let rec = rec?;
            if rec.position >= appended.first_position {
                break;
            }
            let event = decode(&rec)?;
            let reversed = reversed_target(&self.store, &event)?;
            models.apply(&event, reversed.as_ref());
            moved.push(event.data.determination_id().to_string());
        }
        for write in models.writes(moved.iter().map(String::as_str))? {
            self.store
                .save_model(&write.name, appended.last_position, write.bytes)?;
        }
        Ok(())
    }

    /// History entries for an append's positions; with `key`, only events recorded under it
    /// (a spend import appends many rows' events under one range).
    pub(crate) fn entries(
        &self,
        appended: &Appended,
        key: Option<&str>,
    ) -> Result<Vec<HistoryEntry>, LedgerError> {
        let mut out = Vec::new();
        for rec in self.store.read_all(appended.first_position) {
            let rec = rec?;
            if rec.position > appended.last_position {
                break;
            }
            if key.is_some() && rec.key.as_deref() != key {
                continue;
            }
            out.push(history_entry(&rec, &decode(&rec)?)?);
        }
        Ok(out)
    }

    /// Reverses the event named by `target` (an event id, or a log position), then records
    /// the reversal like any other command.
    pub fn reverse(
        &self,
        actor: &str,
        key: Option<&str>,
        target: &str,
        reason: &str,
        date: Option<NaiveDate>,
    ) -> Result<Recorded, LedgerError> {
        let rec = self.find_event(target)?;
        let event = decode(&rec)?;
        let command = Command::ReverseEvent {
            id: Uuid::now_v7(),
            determination: event.data.determination_id().to_string(),
            target: event,
            reason: reason.to_string(),
            date,
        };
        self.record(actor, key, command)
    }

    fn find_event(&self, target: &str) -> Result<RecordedEvent, LedgerError> {
        let text = target.trim();
        if let Ok(id) = Uuid::parse_str(text) {
            return self
                .store
                .event_by_id(id)?
                .ok_or_else(|| LedgerError::refused(format!("there is no event with id {id}")));
        }
        match text.parse::<u64>() {
            Ok(position) if position > 0 => self.store.event_at(position)?.ok_or_else(|| {
                LedgerError::refused(format!("there is no event at position {position}"))
            }),
            _ => Err(LedgerError::malformed(format!(
                "\"{}\" is neither an event id nor a position",
                text.chars().take(60).collect::<String>()
            ))),
        }
    }

    /// Every determination, by id.
    pub fn determinations(&self) -> Result<Vec<Determination>, LedgerError> {
        Ok(self
            .lock()
            .states
            .values()
            .filter_map(|s| s.determination.clone())
            .collect())
    }

    /// One determination; an unknown id is refused.
    pub fn determination(&self, id: &str) -> Result<Determination, LedgerError> {
        let id = id.trim();
        self.lock()
            .states
            .get(id)
            .and_then(|s| s.determination.clone())
            .ok_or_else(|| LedgerError::refused(format!("unknown determination {id}")))
    }

    /// The formula check of a determination.
    pub fn check(&self, id: &str) -> Result<FormulaCheck, LedgerError> {
        Ok(check(&self.determination(id)?))
    }

    /// Resolves a region query to canonical names: within one determination if given, else
    /// across all. Unknown is a refusal naming it.
    fn resolve_region(
        &self,
        determination: Option<&str>,
        region: &str,
    ) -> Result<String, LedgerError> {
        let models = self.lock();
        let determinations: Vec<_> = models
            .states
            .iter()
            .filter(|(id, _)| determination.map_or(true, |d| d == id.as_str()))
            .filter_map(|(_, s)| s.determination.as_ref())
            .collect();
        let mut known: Vec<&str> = determinations
            .iter()
            .flat_map(|d| d.allocations.iter())
            .map(|a| a.region.as_str())
            .collect();
        if let Some(name) = known.iter().find(|name| region_matches(name, region)) {
            return Ok(name.to_string());
        }
        // Worded as the domain words it for a recording command, so a user sees one
        // message for one mistake whichever command they typed.
        known.sort_unstable();
        known.dedup();
        let within = determination.map_or(String::new(), |d| format!(" in determination {d}"));
        let listed = match (known.is_empty(), determination) {
            (true, _) => "the ledger holds no determination yet".to_string(),
            (false, Some(_)) => format!("its regions are {}", known.join(", ")),
            (false, None) => format!("the ledger's regions are {}", known.join(", ")),
        };
        Err(LedgerError::refused(format!(
            "unknown region \"{}\"{within}; {listed}",
            region.trim()
        )))
    }

    fn known_determination(&self, id: Option<&str>) -> Result<Option<String>, LedgerError> {
        match id {
            None => Ok(None),
            Some(id) => Ok(Some(self.determination(id)?.id)),
        }
    }

    /// One row per allocation, optionally of one determination and region. With `as_of`,
    /// the log is streamed and only events effective on or before that date count.
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
        match as_of {
            None => Ok(self
                .lock()
                .balances
                .rows(determination.as_deref(), region.as_deref())
                .collect()),
            Some(date) => {
                let balances = self.balances_as_of(date)?;
                Ok(balances
                    .rows(determination.as_deref(), region.as_deref())
                    .collect())
            }
        }
    }

    /// Streams the whole log in constant memory, folding only events effective on or before
    /// `date`. A reversal dated like its target is skipped with it, so as of any date a
    /// correction reads as if the corrected event never happened.
    fn balances_as_of(&self, date: NaiveDate) -> Result<Balances, LedgerError> {
        let mut balances = Balances::default();
        // Determinations made after `date`, and whether anything dated by then (spend
        // early in the grant period, before the letter) is counted against them.
        let mut made_later: BTreeMap<String, bool> = BTreeMap::new();
        for rec in self.store.read_all(1) {
            let event = decode(&rec?)?;
            match &event.data {
                // Always folded first (it is first in its stream), so later events have
                // allocations to count against; whether it counts is settled below.
                EventData::DeterminationMade(made) => {
                    if made.determination.made_on > date {
                        made_later.insert(made.determination.id.clone(), false);
                    }
                    balances.apply(&event);
                }
                data if data.effective_date() <= date => {
                    if let Some(touched) = made_later.get_mut(data.determination_id()) {
                        *touched = true;
                    }
                    balances.apply(&event);
                }
                _ => {}
            }
        }
        for (id, touched) in made_later {
            if touched {
                // Shown, so that early spend is not hidden, but nothing was determined yet.
                balances.nothing_determined(&id);
            } else {
                balances.determinations.remove(&id);
            }
        }
        Ok(balances)
    }

    /// Each allocation against its determination's payment deadline on `today`.
    pub fn deadlines(
        &self,
        determination: Option<&str>,
        today: NaiveDate,
    ) -> Result<Vec<DeadlineRow>, LedgerError> {
        let determination = self.known_determination(determination)?;
        let models = self.lock();
        let mut rows = Vec::new();
        for (id, allocation) in models.balances.allocations(determination.as_deref()) {
            let Some(deadline) = models
                .states
                .get(id)
                .and_then(|s| s.determination.as_ref())
                .map(|d| d.payment_deadline)
            else {
                continue;
            };
            // As of `today`: a payment dated later has not happened yet on that day.
            let (status, days_left) = match allocation.paid_by(today) {
                Some(false) => (DeadlineStatus::Paid, None),
                Some(true) => (DeadlineStatus::PaidLate, None),
                None if today <= deadline => {
                    (DeadlineStatus::Due, Some((deadline - today).num_days()))
                }
                None => (DeadlineStatus::Overdue, Some((deadline - today).num_days())),
            };
            rows.push(DeadlineRow {
                determination: id.to_string(),
                region: allocation.region.clone(),
                deadline,
                status,
                days_left,
            });
        }
        Ok(rows)
    }

    /// Spend per region and purpose against the formula budget.
    pub fn spend_report(
        &self,
        determination: &str,
        region: Option<&str>,
    ) -> Result<Vec<SpendReportRow>, LedgerError> {
        let id = self.determination(determination)?.id;
        let region = region
            .map(|r| self.resolve_region(Some(&id), r))
            .transpose()?;
        Ok(self.lock().spend.rows(&id, region.as_deref()).collect())
    }

    /// Streams the audit trail oldest first, filtered. Costs one pass over the log (up to
    /// the limit-th match), decoding every event; there is no index.
    pub fn history(
        &self,
        filter: &HistoryFilter,
        each: &mut dyn FnMut(HistoryEntry) -> Result<(), LedgerError>,
    ) -> Result<(), LedgerError> {
        if let Some(region) = &filter.region {
            self.resolve_region(None, region)?;
        }
        if filter.limit == Some(0) {
            return Ok(());
        }
        let mut emitted = 0usize;
        for rec in self.store.read_all(1) {
            let rec = rec?;
            let event = decode(&rec)?;
            if !matches(filter, &event) {
                continue;
            }
            each(history_entry(&rec, &event)?)?;
            emitted += 1;
            if filter.limit.is_some_and(|limit| emitted >= limit) {
                break;
            }
        }
        Ok(())
    }

    /// Checks the log's hash chain, then that every stored model equals a fresh replay.
    pub fn verify(&self) -> Result<VerifySummary, LedgerError> {
        let report = self.store.verify()?;
        let fresh = Projections::replay(&self.store)?;
        let compared = crate::verify::compare_stored(&self.store, &fresh)?;
        Ok(VerifySummary {
            events: report.events,
            head_hash: hex::encode(report.head.hash),
            models: compared,
        })
    }
}

fn matches(filter: &HistoryFilter, event: &Event) -> bool {
    let data = &event.data;
    if filter.event_type.is_some_and(|t| t != data.event_type()) {
        return false;
    }
    let date = data.effective_date();
    if filter.since.is_some_and(|since| date < since)
        || filter.until.is_some_and(|until| date > until)
    {
        return false;
    }
    match &filter.region {
        None => true,
        Some(query) => data.region().is_some_and(|r| region_matches(r, query)),
    }
}
