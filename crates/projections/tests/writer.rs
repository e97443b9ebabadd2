//! The one writer: commands that arrive while a commit is in progress are decided one by
//! one in arrival order, committed together, and each answered on its own.

mod common;

use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use grant_ledger_projections::{Caller, ErrorKind, Ledger, LedgerError, Recorded};
use grant_ledger_store::{
    AppendOutcome, AppendRequest, BulkAppend, EventIter, EventStore, Head, KeyRecord, MemoryStore,
    ModelWrite, NewEvent, RecordedEvent, StoreError, VerifyReport,
};
use uuid::Uuid;

/// A store whose appends wait while the gate is shut, and which counts the events of every
/// append that reached it.
struct Gated {
    inner: MemoryStore,
    shut: Mutex<bool>,
    opened: Condvar,
    /// Events per append, in order (0 for one the store refused).
    appends: Mutex<Vec<usize>>,
    /// Appends waiting at the shut gate.
    waiting: Mutex<usize>,
}

impl Gated {
    fn new() -> Self {
        Gated {
            inner: store(),
            shut: Mutex::new(false),
            opened: Condvar::new(),
            appends: Mutex::new(Vec::new()),
            waiting: Mutex::new(0),
        }
    }

    fn set(&self, shut: bool) {
        *self.shut.lock().unwrap() = shut;
        self.opened.notify_all();
    }
}

impl EventStore for Gated {
    fn append(&self, req: AppendRequest) -> Result<AppendOutcome, StoreError> {
        let mut shut = self.shut.lock().unwrap();
        *self.waiting.lock().unwrap() += 1;
        while *shut {
            shut = self.opened.wait(shut).unwrap();
        }
        *self.waiting.lock().unwrap() -= 1;
        drop(shut);
        let events = req.batches.iter().map(|b| b.events.len()).sum();
        let outcome = self.inner.append(req);
        self.appends
            .lock()
            .unwrap()
            .push(if outcome.is_ok() { events } else { 0 });
        outcome
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

type Answer = thread::JoinHandle<Result<Recorded, LedgerError>>;

/// A ledger with London paid, its appends counted from here on.
fn gated_ledger() -> Arc<Ledger<Gated>> {
    let ledger = Arc::new(Ledger::with_store(Gated::new()).unwrap());
    record(&ledger, make());
    record(&ledger, pay("London", "318000", "2024-08-20"));
    ledger.store().appends.lock().unwrap().clear();
    ledger
}

fn submit(
    ledger: &Arc<Ledger<Gated>>,
    actor: &str,
    key: Option<&str>,
    command: grant_ledger_domain::Command,
) -> Answer {
    let ledger = Arc::clone(ledger);
    let (actor, key) = (actor.to_string(), key.map(str::to_string));
    thread::spawn(move || ledger.record(&Caller::owner(actor), key.as_deref(), command))
}

/// Waits until a commit is held at the shut gate.
fn until_held(ledger: &Ledger<Gated>) {
    let start = Instant::now();
    while *ledger.store().waiting.lock().unwrap() == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no commit reached the gate"
        );
        thread::sleep(Duration::from_millis(2));
    }
}

/// Waits until `n` commands are queued behind the commit held at the gate.
fn until_queued(ledger: &Ledger<Gated>, n: usize) {
    let start = Instant::now();
    while ledger.queued() < n {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the commands never queued"
        );
        thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn commands_that_wait_for_a_commit_share_the_next_one_and_each_get_their_own_answer() {
    let ledger = gated_ledger();
    ledger.store().set(true);
    let first = submit(
        &ledger,
        "a",
        None,
        spend("London", "100", "2024-09-01", "data-coordinator"),
    );
    // The first command takes the writer and waits at the gate inside its append.
    until_held(&ledger);
    let valid = submit(
        &ledger,
        "b",
        None,
        spend("London", "200", "2024-09-02", "data-coordinator"),
    );
    until_queued(&ledger, 1);
    let overspend = submit(
        &ledger,
        "c",
        None,
        spend("London", "999999", "2024-09-02", "data-coordinator"),
    );
    until_queued(&ledger, 2);
    let keyed = submit(
        &ledger,
        "d",
        Some("k"),
        spend("London", "300", "2024-09-03", "data-coordinator"),
    );
    until_queued(&ledger, 3);
    let again = submit(
        &ledger,
        "d",
        Some("k"),
        spend("London", "300", "2024-09-03", "data-coordinator"),
    );
    until_queued(&ledger, 4);
    ledger.store().set(false);

    assert!(first.join().unwrap().is_ok());
    let valid = valid.join().unwrap().unwrap();
    let refused = overspend.join().unwrap().unwrap_err();
    let keyed = keyed.join().unwrap().unwrap();
    let again = again.join().unwrap().unwrap();
    assert_eq!(refused.kind(), ErrorKind::Refused, "{refused}");
    assert!(!keyed.duplicate);
    assert!(again.duplicate);
    assert_eq!(again.events[0].position, keyed.events[0].position);
    assert_eq!(valid.events[0].actor, "b");
    assert_eq!(keyed.events[0].actor, "d");
    // The held commit had one event; the four waiting commands made one more commit of two.
    assert_eq!(*ledger.store().appends.lock().unwrap(), vec![1, 2]);
    assert_eq!(
        ledger.balances(Some(D), Some("London"), None).unwrap()[0].spent,
        money("600")
    );
    assert!(ledger.verify().is_ok());
}

#[test]
fn a_command_the_store_refuses_does_not_fail_the_rest_of_its_group() {
    let ledger = gated_ledger();
    ledger.store().set(true);
    let first = submit(
        &ledger,
        "a",
        None,
        spend("London", "100", "2024-09-01", "data-coordinator"),
    );
    until_held(&ledger);
    let too_long = "x".repeat(300);
    let bad = submit(
        &ledger,
        &too_long,
        None,
        spend("London", "5", "2024-09-02", "data-coordinator"),
    );
    until_queued(&ledger, 1);
    let good = submit(
        &ledger,
        "b",
        None,
        spend("London", "7", "2024-09-02", "data-coordinator"),
    );
    until_queued(&ledger, 2);
    ledger.store().set(false);

    assert!(first.join().unwrap().is_ok());
    let bad = bad.join().unwrap().unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::Malformed, "{bad}");
    assert!(good.join().unwrap().is_ok());
    assert_eq!(
        ledger.balances(Some(D), Some("London"), None).unwrap()[0].spent,
        money("107")
    );
}

#[test]
fn many_threads_recording_at_once_are_all_recorded_exactly_once() {
    let ledger = gated_ledger();
    let threads: Vec<Answer> = (0..16)
        .map(|i| {
            submit(
                &ledger,
                &format!("t{i}"),
                Some(&format!("key-{i}")),
                spend("London", "10", "2024-09-01", "data-coordinator"),
            )
        })
        .collect();
    for t in threads {
        assert!(t.join().unwrap().is_ok());
    }
    let appends = ledger.store().appends.lock().unwrap().clone();
    assert_eq!(appends.iter().sum::<usize>(), 16);
    assert_eq!(
        ledger.balances(Some(D), Some("London"), None).unwrap()[0].spent,
        money("160")
    );
    assert!(ledger.verify().is_ok());
}

#[test]
fn verify_while_others_write_never_reports_a_mismatch() {
    let ledger = gated_ledger();
    let writer = {
        let ledger = Arc::clone(&ledger);
        thread::spawn(move || {
            for i in 0..100 {
                let amount = format!("{}", 1 + i % 7);
                ledger
                    .record(
                        &Caller::owner("w"),
                        None,
                        spend("London", &amount, "2024-09-01", "data-coordinator"),
                    )
                    .unwrap();
            }
        })
    };
    let mut verified = 0;
    while !writer.is_finished() {
        let summary = ledger.verify();
        assert!(
            summary.is_ok(),
            "{:?}",
            summary.err().map(|e| e.to_string())
        );
        verified += 1;
    }
    writer.join().unwrap();
    assert!(verified > 0);
}

/// `record_then`, with the answer sent back on a channel.
fn submit_then(
    ledger: &Arc<Ledger<Gated>>,
    actor: &str,
    key: Option<&str>,
    command: grant_ledger_domain::Command,
) -> std::sync::mpsc::Receiver<Result<Recorded, LedgerError>> {
    let (tx, rx) = std::sync::mpsc::channel();
    ledger.record_then(&Caller::owner(actor), key, command, move |answer| {
        let _ = tx.send(answer);
    });
    rx
}

#[test]
fn commands_that_do_not_wait_are_grouped_behind_a_commit_and_each_answered_once() {
    let ledger = gated_ledger();
    ledger.store().set(true);
    let first = submit(
        &ledger,
        "a",
        None,
        spend("London", "100", "2024-09-01", "data-coordinator"),
    );
    until_held(&ledger);
    let valid = submit_then(
        &ledger,
        "b",
        Some("k"),
        spend("London", "200", "2024-09-02", "data-coordinator"),
    );
    let overspend = submit_then(
        &ledger,
        "c",
        None,
        spend("London", "999999", "2024-09-02", "data-coordinator"),
    );
    let again = submit_then(
        &ledger,
        "b",
        Some("k"),
        spend("London", "200", "2024-09-02", "data-coordinator"),
    );
    until_queued(&ledger, 3);
    ledger.store().set(false);

    assert!(first.join().unwrap().is_ok());
    let wait = Duration::from_secs(10);
    let valid = valid.recv_timeout(wait).unwrap().unwrap();
    let refused = overspend.recv_timeout(wait).unwrap().unwrap_err();
    let again = again.recv_timeout(wait).unwrap().unwrap();
    assert_eq!(refused.kind(), ErrorKind::Refused, "{refused}");
    assert!(!valid.duplicate && again.duplicate);
    assert_eq!(again.events[0].position, valid.events[0].position);
    // The held commit, then one commit for the three that queued behind it.
    assert_eq!(*ledger.store().appends.lock().unwrap(), vec![1, 1]);
    assert_eq!(
        ledger.balances(Some(D), Some("London"), None).unwrap()[0].spent,
        money("300")
    );
}

#[test]
fn waiting_and_not_waiting_commands_at_once_are_all_recorded_exactly_once() {
    let ledger = gated_ledger();
    let mut waiting = Vec::new();
    let mut not_waiting = Vec::new();
    for i in 0..32 {
        let command = spend("London", "10", "2024-09-01", "data-coordinator");
        let (actor, key) = (format!("t{i}"), format!("key-{i}"));
        if i % 2 == 0 {
            waiting.push(submit(&ledger, &actor, Some(&key), command));
        } else {
            not_waiting.push(submit_then(&ledger, &actor, Some(&key), command));
        }
    }
    for t in waiting {
        assert!(t.join().unwrap().is_ok());
    }
    for rx in not_waiting {
        assert!(rx.recv_timeout(Duration::from_secs(10)).unwrap().is_ok());
    }
    let appends = ledger.store().appends.lock().unwrap().clone();
    assert_eq!(appends.iter().sum::<usize>(), 32);
    assert_eq!(
        ledger.balances(Some(D), Some("London"), None).unwrap()[0].spent,
        money("320")
    );
    assert!(ledger.verify().is_ok());
}

#[test]
fn a_command_that_does_not_wait_is_refused_at_once_if_its_caller_may_not_make_it() {
    let ledger = gated_ledger();
    let region = Caller {
        name: "lead-london".into(),
        role: Some(grant_ledger_domain::Role::Region("london".into())),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    ledger.record_then(
        &region,
        None,
        pay("London", "1", "2024-09-01"),
        move |answer| {
            let _ = tx.send(answer);
        },
    );
    let refused = rx
        .recv_timeout(Duration::from_secs(10))
        .unwrap()
        .unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Forbidden, "{refused}");
    assert!(ledger.store().appends.lock().unwrap().is_empty());
}
