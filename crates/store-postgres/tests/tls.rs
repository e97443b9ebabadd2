//! TLS to the database: a ledger opened with `sslmode=require` works over a verified TLS
//! connection, and each way verification can fail is refused in one sentence.

mod support;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use grant_ledger_store::{
    AppendRequest, EventStore, ExpectedVersion, NewEvent, StoreError, StreamBatch, SystemClock,
};
use grant_ledger_store_postgres::PostgresStore;
use support::tls_proxy::{TestCa, TlsProxy};
use support::TestDatabase;

fn one_event() -> AppendRequest {
    AppendRequest {
        actor: "tls-test".into(),
        keys: vec![],
        batches: vec![StreamBatch {
            stream: "determination/1/1".into(),
            expected: ExpectedVersion::Any,
            events: vec![NewEvent {
                event_id: uuid::Uuid::now_v7(),
                event_type: "Noted".into(),
                schema_version: 1,
                payload: br#"{"over":"tls"}"#.to_vec(),
                key: None,
                key_fingerprint: None,
                actor: None,
            }],
        }],
        models: vec![],
    }
}

fn refusal(url: &str) -> String {
    match PostgresStore::open(url, Arc::new(SystemClock)) {
        Ok(_) => panic!("opening {url} must fail"),
        Err(StoreError::Database { problem }) => problem,
        Err(other) => panic!("expected a database error, got {other}"),
    }
}

#[test]
fn a_ledger_works_over_tls_verified_against_its_ca() {
    let Some(db) = TestDatabase::new() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path(), &["127.0.0.1"]);
    let proxy = TlsProxy::start(&ca);
    let url = proxy.url(
        &db.url,
        &format!("sslmode=verify-full&sslrootcert={}", ca.ca_file.display()),
    );
    let store = PostgresStore::open(&url, Arc::new(SystemClock)).unwrap();
    let appended = store.append(one_event()).unwrap();
    let first = appended.appended().first_position;
    let read: Vec<_> = store.read_all(first).collect::<Result<_, _>>().unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].payload.get(), r#"{"over":"tls"}"#);
    assert!(
        proxy.handshakes.load(Ordering::SeqCst) >= 1,
        "the connection went through the TLS front"
    );
}

#[test]
fn a_certificate_from_an_unknown_authority_is_refused() {
    let Some(db) = TestDatabase::new() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let served = TestCa::new(dir.path(), &["127.0.0.1"]);
    let other_dir = tempfile::tempdir().unwrap();
    let trusted = TestCa::new(other_dir.path(), &["127.0.0.1"]);
    let proxy = TlsProxy::start(&served);
    let url = proxy.url(
        &db.url,
        &format!("sslmode=require&sslrootcert={}", trusted.ca_file.display()),
    );
    let problem = refusal(&url);
    assert!(problem.contains("not signed by an authority"), "{problem}");
}

#[test]
fn a_certificate_for_another_host_is_refused() {
    let Some(db) = TestDatabase::new() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path(), &["db.example.org"]);
    let proxy = TlsProxy::start(&ca);
    let url = proxy.url(
        &db.url,
        &format!("sslmode=require&sslrootcert={}", ca.ca_file.display()),
    );
    let problem = refusal(&url);
    assert!(problem.contains("does not name the host"), "{problem}");
}

#[test]
fn require_without_a_root_certificate_trusts_only_public_authorities() {
    let Some(db) = TestDatabase::new() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new(dir.path(), &["127.0.0.1"]);
    let proxy = TlsProxy::start(&ca);
    let problem = refusal(&proxy.url(&db.url, "sslmode=require"));
    assert!(problem.contains("sslrootcert"), "{problem}");
}
