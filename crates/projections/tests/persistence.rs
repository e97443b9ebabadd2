//! Models stored with their checkpoint: exactly current after each write, caught up on open
//! when behind, missing or of an older layout, and checked against a replay by `verify`.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use grant_ledger_domain::{decide, evolve, stream_for, Event, EventData, State};
use grant_ledger_projections::Caller;
use grant_ledger_projections::{ErrorKind, Ledger};
use grant_ledger_store::{
    AppendOutcome, AppendRequest, BulkAppend, EventIter, EventStore, ExpectedVersion, Head,
    KeyRecord, MemoryStore, ModelWrite, NewEvent, RecordedEvent, StoreError, StreamBatch,
    VerifyReport,
};
use uuid::Uuid;

#[test]
fn models_are_checkpointed_at_the_head_of_every_write() {
    let ledger = london_paid();
    let head = ledger.store().head().unwrap().position;
    for name in ["balances", "spend", "state/31/7421"] {
        let (at, _) = ledger.store().model(name).unwrap().unwrap();
        assert_eq!(at, head, "{name}");
    }
}

#[test]
fn a_model_behind_the_log_catches_up_on_open() {
    let ledger = london_paid();
    let (old_at, old_balances) = ledger.store().model("balances").unwrap().unwrap();
    let (_, old_state) = ledger.store().model("state/31/7421").unwrap().unwrap();
    record(
        &ledger,
        spend("London", "4000", "2024-09-10", "self-assessment"),
    );
    record(&ledger, pay("North East", "239600", "2024-08-21"));
    let expected = ledger.balances(None, None, None).unwrap();
    let store = ledger.into_store();
    // Put back the older documents, as if the process had stopped before saving them.
    store.save_model("balances", old_at, old_balances).unwrap();
    store
        .save_model("state/31/7421", old_at, old_state)
        .unwrap();

    let reopened = Ledger::with_store(store).unwrap();
    assert_eq!(reopened.balances(None, None, None).unwrap(), expected);
    let head = reopened.store().head().unwrap().position;
    assert_eq!(reopened.store().model("balances").unwrap().unwrap().0, head);
    // The caught-up decision state is current: the next command is not a conflict.
    record(
        &reopened,
        spend("London", "1000", "2024-09-11", "self-assessment"),
    );
    reopened.verify().unwrap();
}

#[test]
fn a_missing_or_older_layout_model_is_rebuilt_from_the_log() {
    let ledger = london_paid();
    record(
        &ledger,
        spend("London", "4000", "2024-09-10", "self-assessment"),
    );
    let expected = ledger
        .spend_report(&grant_ledger_projections::SpendReportQuery::of(D, None))
        .unwrap();
    let balances = ledger.balances(None, None, None).unwrap();
    let store = ledger.into_store();
    let head = store.head().unwrap().position;
    // An older build's layout: the model's version is below this build's.
    store
        .save_model(
            "spend",
            head,
            br#"{"model":"spend","version":0,"body":null}"#.to_vec(),
        )
        .unwrap();
    store
        .save_model(
            "state/31/7421",
            0,
            br#"{"model":"state","version":0,"body":null}"#.to_vec(),
        )
        .unwrap();
    let reopened = Ledger::with_store(store).unwrap();
    assert_eq!(
        reopened
            .spend_report(&grant_ledger_projections::SpendReportQuery::of(D, None))
            .unwrap(),
        expected
    );
    assert_eq!(reopened.balances(None, None, None).unwrap(), balances);
    reopened.verify().unwrap();
}

#[test]
fn a_model_from_a_newer_build_or_undecodable_is_unavailable() {
    let store = ledger().into_store();
    let head = store.head().unwrap().position;
    store
        .save_model(
            "balances",
            head,
            br#"{"model":"balances","version":99,"body":{}}"#.to_vec(),
        )
        .unwrap();
    let err = Ledger::with_store(store).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.to_string().contains("newer"), "{err}");

    let store = ledger().into_store();
    store
        .save_model("spend", head, b"not json".to_vec())
        .unwrap();
    let err = Ledger::with_store(store).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.to_string().contains("'spend'"), "{err}");
}

#[test]
fn verify_names_a_tampered_model() {
    let ledger = london_paid();
    let store = ledger.into_store();
    let (at, bytes) = store.model("balances").unwrap().unwrap();
    let text = String::from_utf8(bytes)
        .unwrap()
        .replacen("318000.00", "318001.00", 1);
    store.save_model("balances", at, text.into_bytes()).unwrap();

    let ledger = Ledger::with_store(store).unwrap();
    let err = ledger.verify().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.to_string().contains("'balances'"), "{err}");
    assert!(err.to_string().contains(&format!("position {at}")), "{err}");
}

/// A store shared by several ledgers, with a hook run before the next append: the other
/// writer that gets in between a ledger's decision and its append.
type Hook = Box<dyn FnOnce(&MemoryStore) + Send>;

struct Racing {
    inner: Arc<MemoryStore>,
    before_append: Mutex<Option<Hook>>,
}

impl EventStore for Racing {
    fn append(&self, req: AppendRequest) -> Result<AppendOutcome, StoreError> {
        let hook = self.before_append.lock().unwrap().take();
        if let Some(hook) = hook {
            hook(&self.inner);
        }
        self.inner.append(req)
    }
    fn append_stream_bulk(
        &self,
        bulk: BulkAppend,
        events: &mut dyn Iterator<Item = Result<NewEvent, StoreError>>,
        models: &mut dyn FnMut(u64) -> Vec<ModelWrite>,
    ) -> Result<AppendOutcome, StoreError> {
        self.inner.append_stream_bulk(bulk, events, models)
    }
    fn read_stream(&self, stream: &str, from_version: u64) -> EventIter<'_> {
        self.inner.read_stream(stream, from_version)
    }
    fn read_all(&self, from_position: u64) -> EventIter<'_> {
        self.inner.read_all(from_position)
    }
    fn event_at(&self, position: u64) -> Result<Option<RecordedEvent>, StoreError> {
        self.inner.event_at(position)
    }
    fn event_by_id(&self, id: Uuid) -> Result<Option<RecordedEvent>, StoreError> {
        self.inner.event_by_id(id)
    }
    fn stream_version(&self, stream: &str) -> Result<u64, StoreError> {
        self.inner.stream_version(stream)
    }
    fn head(&self) -> Result<Head, StoreError> {
        self.inner.head()
    }
    fn key(&self, key: &str) -> Result<Option<KeyRecord>, StoreError> {
        self.inner.key(key)
    }
    fn whole_append_keys(
        &self,
        after: &str,
        limit: usize,
    ) -> Result<Vec<(String, KeyRecord)>, StoreError> {
        self.inner.whole_append_keys(after, limit)
    }
    fn damage(&self) -> Option<grant_ledger_store::Damage> {
        self.inner.damage()
    }
    fn model(&self, name: &str) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        self.inner.model(name)
    }
    fn model_names(&self) -> Result<Vec<String>, StoreError> {
        self.inner.model_names()
    }
    fn save_model(&self, name: &str, position: u64, bytes: Vec<u8>) -> Result<(), StoreError> {
        self.inner.save_model(name, position, bytes)
    }
    fn verify(&self) -> Result<VerifyReport, StoreError> {
        self.inner.verify()
    }
}

/// Appends `command`'s events straight to the store, as another writer would.
fn interloper(command: grant_ledger_domain::Command) -> Hook {
    Box::new(move |store: &MemoryStore| {
        let stream = stream_for(D);
        let mut state = State::default();
        for rec in store.read_stream(&stream, 1) {
            let rec = rec.unwrap();
            let data = EventData::from_payload(
                &rec.event_type,
                rec.schema_version,
                rec.payload.get().as_bytes(),
            )
            .unwrap();
            state = evolve(
                state,
                &Event {
                    id: rec.event_id,
                    data,
                },
            );
        }
        let events = decide(&state, command).unwrap();
        let batch = StreamBatch {
            stream,
            expected: ExpectedVersion::Exact(state.version),
            events: events
                .iter()
                .map(|e| NewEvent {
                    event_id: e.id,
                    event_type: e.data.event_type().as_str().into(),
                    schema_version: e.data.schema_version(),
                    payload: e.data.to_payload(),
                    key: None,
                    key_fingerprint: None,
                    actor: None,
                })
                .collect(),
        };
        store
            .append(AppendRequest {
                actor: "other".into(),
                keys: vec![],
                batches: vec![batch],
                models: vec![],
            })
            .unwrap();
    })
}

fn racing_ledger() -> (Arc<MemoryStore>, Ledger<Racing>) {
    let inner = Arc::new(store());
    let ledger = Ledger::with_store(Racing {
        inner: inner.clone(),
        before_append: Mutex::new(None),
    })
    .unwrap();
    record(&ledger, make());
    record(&ledger, pay("London", "318000", "2024-08-20"));
    (inner, ledger)
}

#[test]
fn a_stale_version_is_decided_again_against_the_new_state() {
    // The other writer spends £300,000 first: a further £50,000 would now overspend.
    let (_, ledger) = racing_ledger();
    *ledger.store().before_append.lock().unwrap() = Some(interloper(spend(
        "London",
        "300000",
        "2024-09-01",
        "self-assessment",
    )));
    let err = ledger
        .record(
            &Caller::owner("a"),
            None,
            spend("London", "50000", "2024-09-02", "self-assessment"),
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Refused, "{err}");
    assert_eq!(
        ledger.balances(Some(D), Some("London"), None).unwrap()[0].spent,
        money("300000")
    );

    // A spend that still fits succeeds on the retry, and the models include both.
    *ledger.store().before_append.lock().unwrap() = Some(interloper(spend(
        "London",
        "1000",
        "2024-09-01",
        "self-assessment",
    )));
    record(
        &ledger,
        spend("London", "10000", "2024-09-02", "self-assessment"),
    );
    assert_eq!(
        ledger.balances(Some(D), Some("London"), None).unwrap()[0].spent,
        money("311000")
    );
    ledger.verify().unwrap();
}

#[test]
fn another_writers_append_to_another_stream_is_folded_into_the_saved_models() {
    let (_inner, ledger) = racing_ledger();
    // Another determination's stream moves between this ledger's refresh and its append.
    let mut other = grant_ledger_domain::builtin(D).unwrap().unwrap();
    other.id = "31/9000".into();
    let command = grant_ledger_domain::Command::MakeDetermination {
        id: Uuid::now_v7(),
        determination: other,
    };
    *ledger.store().before_append.lock().unwrap() = Some(Box::new(move |store: &MemoryStore| {
        let events = decide(&State::default(), command).unwrap();
        let e = &events[0];
        store
            .append(AppendRequest {
                actor: "other".into(),
                keys: vec![],
                batches: vec![StreamBatch {
                    stream: stream_for("31/9000"),
                    expected: ExpectedVersion::NoStream,
                    events: vec![NewEvent {
                        event_id: e.id,
                        event_type: e.data.event_type().as_str().into(),
                        schema_version: 1,
                        payload: e.data.to_payload(),
                        key: None,
                        key_fingerprint: None,
                        actor: None,
                    }],
                }],
                models: vec![],
            })
            .unwrap();
    }));
    record(
        &ledger,
        spend("London", "10000", "2024-09-02", "self-assessment"),
    );
    assert_eq!(ledger.determinations().unwrap().len(), 2);
    ledger.verify().unwrap();
}

fn open_sled(
    path: &std::path::Path,
) -> Result<Ledger<grant_ledger_store_sled::SledStore>, grant_ledger_projections::LedgerError> {
    Ledger::with_store(grant_ledger_store_sled::SledStore::open(
        path,
        Arc::new(grant_ledger_store::SystemClock),
    )?)
}

#[test]
fn a_sled_ledger_reopens_with_its_models_and_refuses_a_second_opener() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    {
        let ledger = open_sled(&path).unwrap();
        ledger.record(&Caller::owner("a"), None, make()).unwrap();
        ledger
            .record(
                &Caller::owner("a"),
                Some("k"),
                pay("London", "318000", "2024-08-20"),
            )
            .unwrap();
        let err = open_sled(&path).err().unwrap();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
    }
    let ledger = open_sled(&path).unwrap();
    let london = ledger.balances(Some(D), Some("London"), None).unwrap();
    assert_eq!(london[0].paid, money("318000"));
    let again = ledger
        .record(
            &Caller::owner("a"),
            Some("k"),
            pay("London", "318000", "2024-08-20"),
        )
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(ledger.verify().unwrap().events, 2);
}
