//! The set of read models kept exactly current together, and how they are loaded, caught up
//! from the log, persisted with each append, and rebuilt from scratch for `verify`.
//!
//! Stored models (all JSON in the codec's versioned envelope):
//! - `balances`: every allocation's figures, checkpointed at the head after every write;
//! - `spend`: spend by region and purpose, checkpointed likewise;
//! - `access`: the access stream folded (grants in force, and every grant's audit facts);
//! - `state/<id>`: the domain decision state of one determination's stream, written with
//!   each append to that stream; its own checkpoint is `State::version` (events folded);
//! - `asof` and `asof/<day>`: the per-day models behind `--as-of` (see `days/`).

use std::collections::BTreeMap;
use std::sync::Arc;

use grant_ledger_domain::{evolve, stream_for, Event, EventData, State};
use grant_ledger_store::{EventStore, ModelWrite, VerifiedEvent};

use crate::access::AccessModel;
use crate::balances::Balances;
use crate::codec::{
    decode, decode_grant, decode_model, decode_parts, encode_model, Logged, Stored,
};
use crate::days::{load_day, Days};
use crate::error::LedgerError;
use crate::spend::SpendByPurpose;

pub(crate) const BALANCES: &str = "balances";
// 4: allocations know whether their determination was withdrawn.
pub(crate) const BALANCES_VERSION: u32 = 4;
pub(crate) const SPEND: &str = "spend";
pub(crate) const SPEND_VERSION: u32 = 2;
pub(crate) const ACCESS: &str = "access";
pub(crate) const ACCESS_VERSION: u32 = 1;
pub(crate) const STATE_KIND: &str = "state";
// 2: withdrawal, variations and each allocation's varied amount.
pub(crate) const STATE_VERSION: u32 = 2;

/// The store name of a determination's decision-state snapshot.
pub(crate) fn state_model_name(determination: &str) -> String {
    format!("{STATE_KIND}/{determination}")
}

/// All read models, as of `position`.
///
/// Each model is behind an `Arc`, so a copy of the whole set (the snapshot published to
/// readers after every commit, a writer's draft) copies pointers, and a commit copies only
/// the models it changes, when it first changes them (`Arc::make_mut`): a spend copies the
/// balances, the spend model and its own determination's state, never the access model or
/// another determination's. A model added here is shared the same way.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Projections {
    /// The log position `balances` and `spend` reflect.
    pub position: u64,
    pub balances: Arc<Balances>,
    pub spend: Arc<SpendByPurpose>,
    /// Who holds access, as of `position` too.
    pub access: Arc<AccessModel>,
    /// Decision state per determination id.
    pub states: BTreeMap<String, Arc<State>>,
    /// The per-day models, kept in step with `balances` and `spend`.
    pub days: Days,
}

impl Projections {
    /// Folds one event into every model. `reversed` is the event an `EventReversed` names.
    pub fn apply(&mut self, event: &Event, reversed: Option<&EventData>) {
        Arc::make_mut(&mut self.balances).apply(event);
        Arc::make_mut(&mut self.spend).apply(&event.data, reversed);
        self.days.record(event, reversed);
        let id = event.data.determination_id();
        match self.states.get_mut(id) {
            Some(state) => {
                let state = Arc::make_mut(state);
                *state = evolve(std::mem::take(state), event);
            }
            None => {
                let state = evolve(State::default(), event);
                self.states.insert(id.to_string(), Arc::new(state));
            }
        }
    }

    /// The access model, to fold an event into (copied first if a snapshot shares it).
    pub fn access_mut(&mut self) -> &mut AccessModel {
        Arc::make_mut(&mut self.access)
    }

    /// Folds one event of the log, whichever stream it is of, recorded by `actor`.
    pub fn apply_logged(&mut self, actor: &str, logged: &Logged, reversed: Option<&EventData>) {
        match logged {
            Logged::Grant(event) => self.apply(event, reversed),
            Logged::Access(event) => self.access_mut().apply(event, actor),
        }
    }

    /// Folds the next event of the log as [`EventStore::verify_each`] hands it out, as
    /// [`Projections::replay`] folds it: `verify`'s one pass. The payload is decoded
    /// straight from the checked bytes, once.
    ///
    /// A payload the log's readers would not hand out as it is (not JSON, or whitespace
    /// around it) is not folded: the answer is [`Verified::ReadAgain`], and the caller
    /// refuses it after the scan with [`Projections::read_again`], as a reader refuses it.
    /// Not during the scan: a read that finds damage latches it, and the scan's pass would
    /// clear the latch again.
    pub fn apply_verified<S: EventStore>(
        &mut self,
        store: &S,
        ev: &VerifiedEvent<'_>,
    ) -> Result<Verified, LedgerError> {
        let f = &ev.fields;
        if around_json(f.payload) {
            return Ok(Verified::ReadAgain);
        }
        let Ok(logged) = decode_parts(
            f.position,
            f.event_id,
            f.event_type,
            f.schema_version,
            f.payload,
        ) else {
            return Ok(Verified::ReadAgain);
        };
        let reversed = match &logged {
            Logged::Grant(event) => reversed_target(store, event)?,
            Logged::Access(_) => None,
        };
        self.apply_logged(f.actor, &logged, reversed.as_ref());
        self.position = f.position;
        if self.days.wants_flush() {
            self.flush_in_memory()?;
        }
        Ok(Verified::Folded)
    }

    /// Why the event at `position`, which [`Projections::apply_verified`] did not fold,
    /// cannot be: the error its ordinary read, or the decoding of what that read hands
    /// out, gives, as the replay would have met it.
    pub fn read_again<S: EventStore>(store: &S, position: u64) -> LedgerError {
        match store.event_at(position) {
            Err(e) => e.into(),
            Ok(None) => {
                LedgerError::corrupt(format!("position {position} is missing from the log"))
            }
            Ok(Some(rec)) => match decode(&rec) {
                Err(e) => e,
                // The same bytes decoded once already failed; nothing else can be said.
                Ok(_) => {
                    LedgerError::corrupt(format!("the event at position {position} cannot be read"))
                }
            },
        }
    }

    /// A copy to fold a write's events into: the global models and only the named
    /// determinations' states, so a write costs the same however many determinations exist.
    /// Shared until the write changes them.
    pub fn draft<'a>(&self, determinations: impl IntoIterator<Item = &'a str>) -> Projections {
        let states = determinations
            .into_iter()
            .filter_map(|id| Some((id.to_string(), Arc::clone(self.states.get(id)?))))
            .collect();
        Projections {
            position: self.position,
            balances: Arc::clone(&self.balances),
            spend: Arc::clone(&self.spend),
            access: Arc::clone(&self.access),
            states,
            days: self.days.clone(),
        }
    }

    /// The stored documents for the global models, the named determinations' states and
    /// the day models the folded events changed (read from `store` as needed).
    pub fn writes<'a, S: EventStore>(
        &mut self,
        store: &S,
        determinations: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<ModelWrite>, LedgerError> {
        self.days.flush(&self.states, &mut |day| {
            Ok(load_day(store, day)?.map(|(_, model)| model))
        })?;
        let mut writes = vec![
            ModelWrite {
                name: BALANCES.to_string(),
                bytes: encode_model(BALANCES, BALANCES_VERSION, &*self.balances)?,
            },
            ModelWrite {
                name: ACCESS.to_string(),
                bytes: encode_model(ACCESS, ACCESS_VERSION, &*self.access)?,
            },
            ModelWrite {
                name: SPEND.to_string(),
                bytes: encode_model(SPEND, SPEND_VERSION, &*self.spend)?,
            },
        ];
        for id in determinations {
            if let Some(state) = self.states.get(id) {
                writes.push(ModelWrite {
                    name: state_model_name(id),
                    bytes: encode_model(STATE_KIND, STATE_VERSION, &**state)?,
                });
            }
        }
        writes.extend(self.days.writes()?);
        Ok(writes)
    }

    /// Loads the stored models and catches every one up to the log; saves what moved.
    /// Only the access model, as stored (not caught up): what a server on a ledger found
    /// damaged needs to authenticate the `verify` it still answers, and nothing else.
    pub fn access_only<S: EventStore>(store: &S) -> Result<Projections, LedgerError> {
        let (_, access) = load(store, ACCESS, ACCESS, ACCESS_VERSION)?;
        Ok(Projections {
            access: Arc::new(access.unwrap_or_default()),
            ..Projections::default()
        })
    }

    pub fn open<S: EventStore>(store: &S) -> Result<Projections, LedgerError> {
        let head = store.head()?.position;
        let (balances_at, balances) = load(store, BALANCES, BALANCES, BALANCES_VERSION)?;
        let (spend_at, spend) = load(store, SPEND, SPEND, SPEND_VERSION)?;
        let (access_at, access) = load(store, ACCESS, ACCESS, ACCESS_VERSION)?;
        for (name, at) in [
            (BALANCES, balances_at),
            (SPEND, spend_at),
            (ACCESS, access_at),
        ] {
            if at > head {
                return Err(LedgerError::corrupt(format!(
                    "read model '{name}' is checkpointed at position {at}, beyond the last event at {head}"
                )));
            }
        }
        let mut p = Projections {
            position: balances_at.min(spend_at).min(access_at),
            balances: Arc::new(balances.unwrap_or_default()),
            spend: Arc::new(spend.unwrap_or_default()),
            access: Arc::new(access.unwrap_or_default()),
            states: BTreeMap::new(),
            days: Days::open(store)?,
        };
        // The two global models may stand at different checkpoints (one deleted, one
        // tampered with, an older layout): each folds only events it has not seen.
        let mut last = p.position;
        for rec in store.read_all(p.position.saturating_add(1)) {
            let rec = rec?;
            match decode(&rec)? {
                Logged::Grant(event) => {
                    let reversed = reversed_target(store, &event)?;
                    if rec.position > balances_at {
                        Arc::make_mut(&mut p.balances).apply(&event);
                    }
                    if rec.position > spend_at {
                        Arc::make_mut(&mut p.spend).apply(&event.data, reversed.as_ref());
                    }
                }
                Logged::Access(event) if rec.position > access_at => {
                    p.access_mut().apply(&event, &rec.actor);
                }
                Logged::Access(_) => {}
            }
            last = rec.position;
        }
        let global_moved = last != balances_at || last != spend_at || last != access_at;
        p.position = last;

        let mut moved_states = Vec::new();
        let ids: Vec<String> = p.balances.determinations.keys().cloned().collect();
        for id in ids {
            let name = state_model_name(&id);
            let (_, stored) = load::<_, State>(store, &name, STATE_KIND, STATE_VERSION)?;
            let mut state = stored.unwrap_or_default();
            let (state_now, moved) = catch_up_state(store, &id, state)?;
            state = state_now;
            if moved {
                moved_states.push(id.clone());
            }
            p.states.insert(id, Arc::new(state));
        }

        if global_moved || !moved_states.is_empty() {
            for write in p.writes(store, moved_states.iter().map(String::as_str))? {
                let global = write.name == BALANCES || write.name == SPEND || write.name == ACCESS;
                if global && !global_moved {
                    continue;
                }
                store.save_model(&write.name, p.position, write.bytes)?;
            }
        }
        Ok(p)
    }

    /// Folds events appended after `self.position` (by another writer on the same store).
    pub fn refresh<S: EventStore>(&mut self, store: &S) -> Result<(), LedgerError> {
        let head = store.head()?.position;
        if head == self.position {
            return Ok(());
        }
        let mut touched = Vec::new();
        for rec in store.read_all(self.position.saturating_add(1)) {
            let rec = rec?;
            let event = match decode(&rec)? {
                Logged::Grant(event) => event,
                Logged::Access(event) => {
                    self.access_mut().apply(&event, &rec.actor);
                    self.position = rec.position;
                    continue;
                }
            };
            let reversed = reversed_target(store, &event)?;
            let id = event.data.determination_id().to_string();
            let expected = self.states.get(&id).map_or(0, |s| s.version);
            if rec.stream_version == expected.saturating_add(1) {
                self.apply(&event, reversed.as_ref());
            } else {
                // Not the next event of the stream we hold: keep the global models moving
                // and re-read the stream below.
                Arc::make_mut(&mut self.balances).apply(&event);
                Arc::make_mut(&mut self.spend).apply(&event.data, reversed.as_ref());
            }
            self.position = rec.position;
            if !touched.contains(&id) {
                touched.push(id);
            }
        }
        for id in touched {
            let state = self
                .states
                .remove(&id)
                .map(Arc::unwrap_or_clone)
                .unwrap_or_default();
            let (state, _) = catch_up_state(store, &id, state)?;
            self.states.insert(id, Arc::new(state));
        }
        // The other process stored its own day models with its events.
        self.days.followed(store)?;
        Ok(())
    }

    /// A fresh fold of the whole log, for `verify` and `rebuild`, with every day model in
    /// memory.
    pub fn replay<S: EventStore>(store: &S) -> Result<Projections, LedgerError> {
        let mut p = Projections::fresh();
        for rec in store.read_all(1) {
            let rec = rec?;
            let logged = decode(&rec)?;
            let reversed = match &logged {
                Logged::Grant(event) => reversed_target(store, event)?,
                Logged::Access(_) => None,
            };
            p.apply_logged(&rec.actor, &logged, reversed.as_ref());
            p.position = rec.position;
            if p.days.wants_flush() {
                p.flush_in_memory()?;
            }
        }
        p.flush_in_memory()?;
        Ok(p)
    }

    /// Empty models about to fold the whole log (a replay, or verify's one pass), with
    /// every day model kept in memory.
    pub fn fresh() -> Projections {
        Projections {
            days: Days::from_start(),
            ..Projections::default()
        }
    }

    /// Folds pending work into day models that are all in memory (a replay's); the last
    /// step of a fold of the whole log.
    pub fn flush_in_memory(&mut self) -> Result<(), LedgerError> {
        self.days.flush(&self.states, &mut |_| Ok(None))
    }
}

/// What [`Projections::apply_verified`] did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verified {
    Folded,
    /// Not folded: it must be read the ordinary way, after the scan, to be refused.
    ReadAgain,
}

/// Whether `payload` starts or ends with JSON whitespace (or is empty), which no writer
/// stores and no reader of the log hands out.
fn around_json(payload: &[u8]) -> bool {
    let space = |b: Option<&u8>| b.map_or(true, |b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    space(payload.first()) || space(payload.last())
}

/// Reads a stored model: its checkpoint (0 when it must be rebuilt) and body.
pub(crate) fn load<S: EventStore, T: serde::de::DeserializeOwned>(
    store: &S,
    name: &str,
    kind: &str,
    version: u32,
) -> Result<(u64, Option<T>), LedgerError> {
    let stored = store.model(name)?;
    let (at, bytes) = match &stored {
        Some((at, bytes)) => (*at, Some(bytes.as_slice())),
        None => (0, None),
    };
    match decode_model::<T>(name, kind, version, bytes)? {
        Stored::Current(body) => Ok((at, Some(body))),
        Stored::Rebuild => Ok((0, None)),
    }
}

/// Folds the events of `id`'s stream that `state` has not seen; reports whether it moved.
fn catch_up_state<S: EventStore>(
    store: &S,
    id: &str,
    mut state: State,
) -> Result<(State, bool), LedgerError> {
    let stream = stream_for(id);
    let version = store.stream_version(&stream)?;
    if state.version > version {
        return Err(LedgerError::corrupt(format!(
            "read model '{}' has folded {} events, but stream {stream} holds only {version}",
            state_model_name(id),
            state.version
        )));
    }
    if state.version == version {
        return Ok((state, false));
    }
    for rec in store.read_stream(&stream, state.version.saturating_add(1)) {
        let rec = rec?;
        state = evolve(state, &decode_grant(&rec)?);
    }
    Ok((state, true))
}

/// The event an `EventReversed` names, read from the log; `None` for other events.
pub(crate) fn reversed_target<S: EventStore>(
    store: &S,
    event: &Event,
) -> Result<Option<EventData>, LedgerError> {
    let EventData::EventReversed(r) = &event.data else {
        return Ok(None);
    };
    match store.event_by_id(r.reversed_event_id)? {
        Some(rec) => Ok(Some(decode_grant(&rec)?.data)),
        None => Err(LedgerError::corrupt(format!(
            "event {} reverses event {}, which is not in the log",
            event.id, r.reversed_event_id
        ))),
    }
}
