//! A ledger written before determinations carried identifiers: its DeterminationMade still
//! decodes, verifies and answers queries, and the ledger goes on accepting commands.

use std::sync::Arc;

use grant_ledger_domain::{stream_for, Command, Money};
use grant_ledger_projections::Caller;
use grant_ledger_projections::{ExportRequest, Ledger};
use grant_ledger_store::{
    AppendRequest, EventStore, ExpectedVersion, MemoryStore, NewEvent, StreamBatch, SystemClock,
};
use uuid::Uuid;

/// The built-in 31/7421's payload exactly as the ledger wrote it before identifiers.
const OLD_PAYLOAD: &str =
    include_str!("../../domain/tests/fixtures/determination-made-without-identifiers.json");

fn old_ledger() -> Ledger<MemoryStore> {
    let store = MemoryStore::new(Arc::new(SystemClock));
    store
        .append(AppendRequest {
            actor: "finance".into(),
            keys: Vec::new(),
            batches: vec![StreamBatch {
                stream: stream_for("31/7421"),
                expected: ExpectedVersion::NoStream,
                events: vec![NewEvent {
                    event_id: Uuid::now_v7(),
                    event_type: "DeterminationMade".into(),
                    schema_version: 1,
                    payload: OLD_PAYLOAD.trim_end().as_bytes().to_vec(),
                    key: None,
                    key_fingerprint: None,
                    actor: None,
                }],
            }],
            models: Vec::new(),
        })
        .unwrap();
    Ledger::with_store(store).unwrap()
}

#[test]
fn an_old_determination_verifies_and_keeps_its_bytes() {
    let ledger = old_ledger();
    let summary = ledger.verify().unwrap();
    assert_eq!(summary.events, 1);
    let stored = ledger.store().read_all(1).next().unwrap().unwrap();
    assert_eq!(stored.payload.get(), OLD_PAYLOAD.trim_end());
}

#[test]
fn an_old_determination_has_no_identifiers_and_no_renamed_lead() {
    let ledger = old_ledger();
    let d = ledger.determination("31/7421").unwrap();
    assert!(d.funder.is_none());
    assert!(d.allocations.iter().all(|a| a.org_id.is_none()));
    assert_eq!(ledger.check("31/7421").unwrap().renamed().count(), 0);
}

#[test]
fn an_old_ledger_accepts_a_payment_and_still_verifies() {
    let ledger = old_ledger();
    ledger
        .record(
            &Caller::owner("finance"),
            None,
            Command::IssuePayment {
                id: Uuid::now_v7(),
                determination: "31/7421".into(),
                region: "London".into(),
                amount: Money::parse("318000").unwrap(),
                date: "2024-08-23".parse().unwrap(),
                reference: None,
                late_reason: None,
            },
        )
        .unwrap();
    assert_eq!(ledger.verify().unwrap().events, 2);
}

#[test]
fn an_old_determination_cannot_be_exported_without_a_funder() {
    let ledger = old_ledger();
    let request = ExportRequest {
        determination: None,
        as_of: None,
        prefix: "X".into(),
        data_source: None,
    };
    let error = ledger.export_360giving(&request).unwrap_err();
    assert_eq!(error.kind(), grant_ledger_projections::ErrorKind::Refused);
    assert!(error.to_string().contains("funder"), "{error}");
}
