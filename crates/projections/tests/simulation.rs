//! Fault simulation, in the manner of TigerBeetle's simulator and sized to this project: a
//! store backend wrapper that, at a seeded point, refuses a write or carries it out and then
//! fails (the acknowledgement lost), after which the simulated process has crashed and every
//! call fails until the ledger is opened again over what the memory holds. Random commands
//! go through the application layer (`Session`, as the CLI and the server call it). After
//! every crash and reopen:
//! - nothing acknowledged is lost: every command that answered Ok is in the log once;
//! - nothing unacknowledged is half there: a failed command is wholly in the log or not
//!   at all (a spend import's rows all or none), and retrying it with its key records it
//!   exactly once;
//! - the hash chain verifies and every stored model equals a fresh replay (`verify`).
//!
//! Each seed is one run. A failing seed prints itself; `GL_SIM_SEED=N` replays just that one,
//! and `GL_SIM_SEEDS=N` runs seeds 0..N (default 32).

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use grant_ledger_domain::Money;
use grant_ledger_projections::{
    Api, Caller, DeterminationSource, Ledger, LedgerError, PayRequest, SpendRequest,
};
use grant_ledger_store::{
    forward_event_store, Backend, Commit, Engine, EventStore, Head, KeyEntry, MemoryBackend,
    RawIter, Staged, StoreError, SystemClock,
};
use uuid::Uuid;

/// How the armed fault strikes.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// The write is refused and nothing of it happens.
    Refuse,
    /// The write happens, then the call fails: the caller never learns it succeeded.
    LoseAck,
}

#[derive(Default)]
struct Plan {
    /// Write calls left before the fault strikes; `None` when nothing is armed.
    countdown: Option<u32>,
    fault: Option<Fault>,
    crashed: bool,
}

/// The memory, which outlives every simulated process, behind the fault plan.
#[derive(Clone)]
struct Faulty {
    memory: Arc<MemoryBackend>,
    plan: Arc<Mutex<Plan>>,
}

fn crashed() -> StoreError {
    StoreError::Io(std::io::Error::other("the simulated process has crashed"))
}

impl Faulty {
    fn plan(&self) -> std::sync::MutexGuard<'_, Plan> {
        self.plan.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn alive(&self) -> Result<(), StoreError> {
        if self.plan().crashed {
            return Err(crashed());
        }
        Ok(())
    }

    /// A write primitive: `write` runs unless the armed fault strikes here.
    fn write<T>(&self, write: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
        let strike = {
            let mut plan = self.plan();
            if plan.crashed {
                return Err(crashed());
            }
            match plan.countdown {
                Some(0) => {
                    plan.countdown = None;
                    plan.crashed = true;
                    plan.fault
                }
                Some(n) => {
                    plan.countdown = Some(n - 1);
                    None
                }
                None => None,
            }
        };
        match strike {
            None => write(),
            Some(Fault::Refuse) => Err(crashed()),
            Some(Fault::LoseAck) => {
                write()?;
                Err(crashed())
            }
        }
    }
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
        if self.plan().crashed {
            return Box::new(std::iter::once(Err(crashed())));
        }
        self.memory.raw_range(from, to)
    }
    fn stream_positions(&self, stream: &str, from: u64, to: u64) -> RawIter<'_, u64> {
        if self.plan().crashed {
            return Box::new(std::iter::once(Err(crashed())));
        }
        self.memory.stream_positions(stream, from, to)
    }
    fn stage_events(&self, events: &[Staged]) -> Result<(), StoreError> {
        self.write(|| self.memory.stage_events(events))
    }
    fn stage_index(&self, events: &[Staged]) -> Result<(), StoreError> {
        self.write(|| self.memory.stage_index(events))
    }
    fn discard_above(&self, head: u64) -> Result<(), StoreError> {
        self.alive()?;
        self.memory.discard_above(head)
    }
    fn commit(&self, commit: Commit) -> Result<(), StoreError> {
        self.write(|| self.memory.commit(commit))
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
        self.write(|| self.memory.put_model(name, position, bytes))
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
struct SimStore {
    engine: Engine<Faulty>,
}

forward_event_store!(SimStore);

impl SimStore {
    /// Opens the memory as a store opens its files: staged leftovers discarded, the head
    /// checked.
    fn open(faulty: Faulty) -> Result<SimStore, StoreError> {
        let engine = Engine::new(faulty, Arc::new(SystemClock));
        engine.load_damage()?;
        let head = engine.backend.head()?;
        engine.backend.discard_above(head.position)?;
        engine.check_head(&head)?;
        Ok(SimStore { engine })
    }
}

/// A small deterministic generator (xorshift64*): the run is the seed.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const REGIONS: [(&str, &str); 4] = [
    ("London", "318000"),
    ("North East", "239600"),
    ("South West", "260600"),
    ("East Midlands", "233200"),
];
const STEPS: usize = 40;

/// One command of the run, kept so that a failed one can be retried with its key.
#[derive(Clone, Debug)]
enum Step {
    Pay(usize),
    Spend { region: usize, pence: u64 },
    Import { region: usize, rows: usize },
}

impl Step {
    /// How many events the command appends, all under keys starting with its key.
    fn events(&self) -> usize {
        match self {
            Step::Import { rows, .. } => *rows,
            _ => 1,
        }
    }
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::from_str(text).unwrap_or_default()
}

fn run_step(api: &dyn Api, key: &str, step: &Step) -> Result<(), LedgerError> {
    match step {
        Step::Pay(r) => api
            .pay(
                Some(key),
                PayRequest {
                    determination: "31/7421".into(),
                    region: REGIONS[*r].0.into(),
                    amount: Money::from_str(REGIONS[*r].1).unwrap_or_default(),
                    date: date("2024-08-20"),
                    reference: None,
                    late_reason: None,
                },
            )
            .map(|_| ()),
        Step::Spend { region, pence } => api
            .spend(
                Some(key),
                SpendRequest {
                    determination: "31/7421".into(),
                    region: REGIONS[*region].0.into(),
                    amount: Money::from_str(&format!("{}.{:02}", pence / 100, pence % 100))
                        .unwrap_or_default(),
                    date: date("2024-10-01"),
                    purpose: "data-coordinator".into(),
                    authority: None,
                    description: None,
                    reference: None,
                },
            )
            .map(|_| ()),
        Step::Import { region, rows } => {
            let mut csv = String::from(
                "determination,region,amount,date,purpose,authority,description,reference,key\n",
            );
            for row in 0..*rows {
                csv.push_str(&format!(
                    "31/7421,{},1.00,2024-10-02,data-coordinator,,,,{key}-row-{row}\n",
                    REGIONS[*region].0
                ));
            }
            api.import_spends(
                Some(key),
                Box::new(std::io::Cursor::new(csv.into_bytes())),
                &mut |_| {},
            )
            .map(|_| ())
        }
    }
}

/// How many events of the log carry a key that `key` begins (a command's own key, or its
/// import rows' keys, which begin with it).
fn recorded(store: &SimStore, key: &str) -> Result<usize, String> {
    let mut n = 0;
    for rec in store.read_all(1) {
        let rec = rec.map_err(|e| format!("reading the log: {e}"))?;
        if rec
            .key
            .as_deref()
            .is_some_and(|k| k == key || k.starts_with(&format!("{key}-row-")))
        {
            n += 1;
        }
    }
    Ok(n)
}

fn open_ledger(faulty: &Faulty) -> Result<Arc<Ledger<SimStore>>, String> {
    faulty.plan().crashed = false;
    let store = SimStore::open(faulty.clone()).map_err(|e| format!("reopening: {e}"))?;
    Ledger::with_store(store)
        .map(Arc::new)
        .map_err(|e| format!("opening the ledger: {e}"))
}

fn session(ledger: &Arc<Ledger<SimStore>>) -> grant_ledger_projections::Session<SimStore> {
    grant_ledger_projections::Session::new(Arc::clone(ledger), Caller::owner("sim"))
}

/// What one run went through.
#[derive(Default)]
struct Tally {
    refused: u32,
    lost_acks: u32,
}

/// One seeded run; an error says what broke.
fn simulate(seed: u64, tally: &mut Tally) -> Result<(), String> {
    let mut rng = Rng::new(seed);
    let faulty = Faulty {
        memory: Arc::new(MemoryBackend::default()),
        plan: Arc::new(Mutex::new(Plan::default())),
    };
    let mut ledger = open_ledger(&faulty)?;
    let determination = grant_ledger_domain::builtin("31/7421")
        .ok_or("31/7421 is not built in")?
        .map_err(|e| format!("31/7421: {e}"))?;
    session(&ledger)
        .import_determination(
            None,
            &DeterminationSource::Builtin("31/7421".into()),
            determination,
        )
        .map_err(|e| format!("importing 31/7421: {e}"))?;
    let mut acked: BTreeMap<String, Step> = BTreeMap::new();
    let mut paid = [false; REGIONS.len()];
    for n in 0..STEPS {
        let unpaid: Vec<usize> = (0..REGIONS.len()).filter(|r| !paid[*r]).collect();
        let payable: Vec<usize> = (0..REGIONS.len()).filter(|r| paid[*r]).collect();
        let step = match (rng.below(3), unpaid.is_empty(), payable.is_empty()) {
            (0, false, _) | (_, false, true) => {
                Step::Pay(unpaid[rng.below(unpaid.len() as u64) as usize])
            }
            (1, _, false) => Step::Import {
                region: payable[rng.below(payable.len() as u64) as usize],
                rows: 1 + rng.below(4) as usize,
            },
            _ => Step::Spend {
                region: payable[rng.below(payable.len() as u64) as usize],
                pence: 1 + rng.below(50_000),
            },
        };
        let key = format!("s{seed}-{n}");
        let armed = (rng.below(3) == 0).then(|| {
            if rng.below(2) == 0 {
                Fault::Refuse
            } else {
                Fault::LoseAck
            }
        });
        if let Some(fault) = armed {
            let mut plan = faulty.plan();
            plan.countdown = Some(rng.below(4) as u32);
            plan.fault = Some(fault);
        }
        let outcome = run_step(&session(&ledger), &key, &step);
        let struck = faulty.plan().crashed;
        // Disarm whatever did not strike: the next command starts clean.
        faulty.plan().countdown = None;
        match outcome {
            Ok(()) => {
                if let Step::Pay(r) = step {
                    paid[r] = true;
                }
                acked.insert(key.clone(), step.clone());
            }
            Err(e) if !struck => return Err(format!("step {n} ({step:?}) refused: {e}")),
            Err(_) => {
                match armed {
                    Some(Fault::Refuse) => tally.refused += 1,
                    _ => tally.lost_acks += 1,
                }
                // The process crashed under this command: open the memory again.
                drop(ledger);
                ledger = open_ledger(&faulty)?;
                let there = recorded(ledger.store(), &key)?;
                if there != 0 && there != step.events() {
                    return Err(format!(
                        "step {n} ({step:?}) failed, yet {there} of its {} events are in the log",
                        step.events()
                    ));
                }
                run_step(&session(&ledger), &key, &step)
                    .map_err(|e| format!("step {n} ({step:?}) retried after the crash: {e}"))?;
                if let Step::Pay(r) = step {
                    paid[r] = true;
                }
                acked.insert(key.clone(), step.clone());
            }
        }
        if struck || n + 1 == STEPS {
            check(&ledger, &acked).map_err(|e| format!("after step {n}: {e}"))?;
        }
    }
    Ok(())
}

/// What must hold after every reopen: each acknowledged command in the log exactly once,
/// the chain intact and the stored models equal to a replay.
fn check(ledger: &Ledger<SimStore>, acked: &BTreeMap<String, Step>) -> Result<(), String> {
    for (k, s) in acked {
        let there = recorded(ledger.store(), k)?;
        if there != s.events() {
            return Err(format!(
                "acknowledged {k} ({s:?}) is in the log {there} times, not {}",
                s.events()
            ));
        }
    }
    ledger
        .verify()
        .map(|_| ())
        .map_err(|e| format!("verify: {e}"))
}

fn seeds() -> Vec<u64> {
    let number = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    match number("GL_SIM_SEED") {
        Some(one) => vec![one],
        None => (0..number("GL_SIM_SEEDS").unwrap_or(32)).collect(),
    }
}

#[test]
fn every_seeded_crash_keeps_what_was_acknowledged_and_nothing_half_done() {
    let mut failed = Vec::new();
    let mut tally = Tally::default();
    let seeds = seeds();
    for &seed in &seeds {
        if let Err(why) = simulate(seed, &mut tally) {
            eprintln!(
                "simulation seed {seed} failed: {why}; replay it with GL_SIM_SEED={seed} cargo test -p grant-ledger-projections --test simulation"
            );
            failed.push(seed);
        }
    }
    assert!(failed.is_empty(), "failing seeds: {failed:?}");
    eprintln!(
        "simulation: {} seeds of {STEPS} commands, {} crashes with the write refused, {} with the write done and its acknowledgement lost",
        seeds.len(),
        tally.refused,
        tally.lost_acks
    );
    if seeds.len() >= 8 {
        assert!(
            tally.refused > 0 && tally.lost_acks > 0,
            "the simulator must have struck both ways"
        );
    }
}
