//! The faulty backend: the memory, which outlives every simulated process, behind a fault
//! plan that strikes at a seeded write call. After a strike the simulated process has
//! crashed: every call fails until the ledger is opened again over what the memory holds.
//!
//! The faults are what a crash can leave of writes the backend contract (`Backend` in
//! `crates/store/src/backend.rs`) does not promise to keep: staged, uncommitted data may be
//! lost, torn, or kept in part and out of order. A commit itself is atomic and durable; a
//! commit that outruns the events it commits is not a crash the contract allows but damage,
//! which [`Fault::CommitWithoutEvents`] makes so that a test can show it is caught.

use std::sync::{Arc, Mutex, MutexGuard};

use grant_ledger_store::{
    forward_event_store, Backend, Commit, Engine, Head, KeyEntry, MemoryBackend, RawIter, Staged,
    StoreError, SystemClock,
};
use uuid::Uuid;

/// How the armed fault strikes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The write is refused and nothing of it happens.
    Refuse,
    /// The write happens, then the call fails: the caller never learns it succeeded.
    LoseAck,
    /// Staging events: only a prefix of them is written, the last of it cut short.
    Tear,
    /// Staging the index: the events staged before it are lost and the index lands, as
    /// when a disk makes the later write durable and not the earlier.
    Reorder,
    /// The commit lands but the events it commits were lost: damage, not a crash.
    CommitWithoutEvents,
}

/// Which write primitive a call is, so that a fault that needs one kind of call can tell.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Call {
    StageEvents,
    StageIndex,
    Commit,
    PutModel,
}

#[derive(Default)]
struct Plan {
    /// Write calls left before the fault strikes; `None` when nothing is armed.
    countdown: Option<u32>,
    fault: Option<Fault>,
    /// A seeded number the fault uses to choose where to cut (how much a tear keeps).
    cut: u64,
    /// What struck, once it has.
    struck: Option<Fault>,
    crashed: bool,
}

/// The memory behind the fault plan. Cloning shares both.
#[derive(Clone)]
pub struct Faulty {
    memory: Arc<MemoryBackend>,
    plan: Arc<Mutex<Plan>>,
}

pub fn crashed() -> StoreError {
    StoreError::Io(std::io::Error::other("the simulated process has crashed"))
}

impl Faulty {
    pub fn new() -> Faulty {
        Faulty {
            memory: Arc::new(MemoryBackend::default()),
            plan: Arc::new(Mutex::new(Plan::default())),
        }
    }

    fn plan(&self) -> MutexGuard<'_, Plan> {
        self.plan.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Arms `fault` to strike at the write call `countdown` calls from now.
    pub fn arm(&self, fault: Fault, countdown: u32, cut: u64) {
        let mut plan = self.plan();
        plan.countdown = Some(countdown);
        plan.fault = Some(fault);
        plan.cut = cut;
        plan.struck = None;
    }

    /// Disarms whatever did not strike and says what did, if anything.
    pub fn disarm(&self) -> Option<Fault> {
        let mut plan = self.plan();
        plan.countdown = None;
        plan.fault = None;
        plan.struck
    }

    pub fn crashed(&self) -> bool {
        self.plan().crashed
    }

    /// The next process starts: calls work again, over whatever the memory holds.
    pub fn restart(&self) {
        let mut plan = self.plan();
        plan.crashed = false;
        plan.struck = None;
    }

    fn alive(&self) -> Result<(), StoreError> {
        if self.crashed() {
            return Err(crashed());
        }
        Ok(())
    }

    /// The fault that strikes at this call, if one does. A fault that cannot strike at this
    /// kind of call (a tear where no events are staged) strikes as a refusal, so that every
    /// armed countdown ends in a crash of some kind.
    fn strike(&self, call: Call) -> Result<Option<(Fault, u64)>, StoreError> {
        let mut plan = self.plan();
        if plan.crashed {
            return Err(crashed());
        }
        match plan.countdown {
            Some(0) => {
                plan.countdown = None;
                plan.crashed = true;
                let fault = match (plan.fault, call) {
                    (Some(Fault::Tear), Call::StageEvents)
                    | (Some(Fault::Reorder), Call::StageIndex)
                    | (Some(Fault::CommitWithoutEvents), Call::Commit) => plan.fault,
                    (Some(Fault::LoseAck), _) => plan.fault,
                    (Some(_), _) => Some(Fault::Refuse),
                    (None, _) => None,
                };
                plan.struck = fault;
                Ok(fault.map(|f| (f, plan.cut)))
            }
            Some(n) => {
                plan.countdown = Some(n - 1);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    /// A write primitive: `write` runs unless a fault strikes here, and then only as far
    /// as the fault lets it (`partial` is what a tear or a reorder does instead).
    fn write<T>(
        &self,
        call: Call,
        write: impl FnOnce() -> Result<T, StoreError>,
        partial: impl FnOnce(Fault, u64) -> Result<(), StoreError>,
    ) -> Result<T, StoreError> {
        match self.strike(call)? {
            None => write(),
            Some((Fault::Refuse, _)) => Err(crashed()),
            Some((Fault::LoseAck, _)) => {
                write()?;
                Err(crashed())
            }
            Some((fault, cut)) => {
                partial(fault, cut)?;
                Err(crashed())
            }
        }
    }

    fn no_partial(_: Fault, _: u64) -> Result<(), StoreError> {
        Ok(())
    }
}

/// The events a tear leaves: a prefix, the last of it cut short (by at least one byte).
fn torn(events: &[Staged], cut: u64) -> Vec<Staged> {
    if events.is_empty() {
        return Vec::new();
    }
    let keep = (cut as usize) % events.len();
    let mut kept: Vec<Staged> = events[..=keep]
        .iter()
        .map(|e| Staged {
            position: e.position,
            event_id: e.event_id,
            stream: e.stream.clone(),
            stream_version: e.stream_version,
            bytes: e.bytes.clone(),
            event_key: e.event_key.clone(),
        })
        .collect();
    if let Some(e) = kept.last_mut() {
        let len = (cut as usize / events.len()) % e.bytes.len().max(1);
        e.bytes.truncate(len);
    }
    kept
}

impl Backend for Faulty {
    type Raw = <MemoryBackend as Backend>::Raw;

    fn head(&self) -> Result<Head, StoreError> {
        self.alive()?;
        self.memory.head()
    }
    fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
        self.alive()?;
        self.memory.stream_version(stream)
    }
    fn key_entry(&self, key: &str) -> Result<Option<KeyEntry>, StoreError> {
        self.alive()?;
        self.memory.key_entry(key)
    }
    fn key_entries_after(
        &self,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(String, KeyEntry)>, StoreError> {
        self.alive()?;
        self.memory.key_entries_after(after, limit)
    }
    fn event_id_position(&self, id: Uuid) -> Result<Option<u64>, StoreError> {
        self.alive()?;
        self.memory.event_id_position(id)
    }
    fn indexed_ids(&self, sorted: &[Uuid]) -> Result<Vec<(Uuid, u64)>, StoreError> {
        self.alive()?;
        self.memory.indexed_ids(sorted)
    }
    fn raw_event(&self, position: u64) -> Result<Option<Self::Raw>, StoreError> {
        self.alive()?;
        self.memory.raw_event(position)
    }
    fn raw_range(&self, from: u64, to: u64) -> RawIter<'_, Self::Raw> {
        if self.crashed() {
            return Box::new(std::iter::once(Err(crashed())));
        }
        self.memory.raw_range(from, to)
    }
    fn stream_positions(&self, stream: &str, from: u64, to: u64) -> RawIter<'_, u64> {
        if self.crashed() {
            return Box::new(std::iter::once(Err(crashed())));
        }
        self.memory.stream_positions(stream, from, to)
    }
    fn stage_events(&self, events: &[Staged]) -> Result<(), StoreError> {
        self.write(
            Call::StageEvents,
            || self.memory.stage_events(events),
            |_, cut| self.memory.stage_events(&torn(events, cut)),
        )
    }
    fn stage_index(&self, events: &[Staged]) -> Result<(), StoreError> {
        self.write(
            Call::StageIndex,
            || self.memory.stage_index(events),
            |_, _| {
                let head = self.memory.head()?.position;
                self.memory.discard_above(head)?;
                self.memory.stage_index(events)
            },
        )
    }
    fn discard_above(&self, head: u64) -> Result<(), StoreError> {
        self.alive()?;
        self.memory.discard_above(head)
    }
    fn commit(&self, commit: Commit) -> Result<(), StoreError> {
        // The commit is consumed by whichever path runs; the head it carries is what a
        // commit without its events needs to know.
        let head = self.memory.head()?.position;
        let commit = std::cell::Cell::new(Some(commit));
        let take = || commit.take().ok_or_else(crashed);
        self.write(
            Call::Commit,
            || self.memory.commit(take()?),
            |_, _| {
                self.memory.discard_above(head)?;
                self.memory.commit(take()?)
            },
        )
    }
    fn model(&self, name: &str) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        self.alive()?;
        self.memory.model(name)
    }
    fn model_names(&self) -> Result<Vec<String>, StoreError> {
        self.alive()?;
        self.memory.model_names()
    }
    fn put_model(&self, name: &str, position: u64, bytes: &[u8]) -> Result<(), StoreError> {
        self.write(
            Call::PutModel,
            || self.memory.put_model(name, position, bytes),
            Faulty::no_partial,
        )
    }
    fn all_streams(&self) -> Result<Vec<(String, u64)>, StoreError> {
        self.alive()?;
        self.memory.all_streams()
    }
    fn damage_note(&self) -> Result<Option<Vec<u8>>, StoreError> {
        self.alive()?;
        self.memory.damage_note()
    }
    fn set_damage_note(&self, note: Option<&[u8]>) -> Result<(), StoreError> {
        self.alive()?;
        self.memory.set_damage_note(note)
    }
}

/// One simulated process's store.
pub struct SimStore {
    engine: Engine<Faulty>,
}

forward_event_store!(SimStore);

impl SimStore {
    /// Opens the memory as a store opens its files: staged leftovers discarded, the head
    /// checked.
    pub fn open(faulty: Faulty) -> Result<SimStore, StoreError> {
        let engine = Engine::new(faulty, Arc::new(SystemClock));
        engine.load_damage()?;
        let head = engine.backend.head()?;
        engine.backend.discard_above(head.position)?;
        engine.check_head(&head)?;
        Ok(SimStore { engine })
    }
}
