//! Events: payload round trips, schema versions, and type names.

mod common;

use std::str::FromStr;

use common::*;
use grant_ledger_domain::{EventData, EventType, SCHEMA_VERSION};

fn one_of_each() -> Vec<grant_ledger_domain::Event> {
    let mut ledger = given_made();
    ledger.accept(ledger.pay_late("London", "318000", "2024-09-02", "late"));
    let spend = ledger
        .accept(ledger.spend_by("London", "10", "2024-10-01", "self-assessment", "camden"))
        .remove(0);
    ledger.accept(ledger.recover("London", "5", "2024-12-01"));
    ledger.accept(ledger.reverse(&spend, Some("2024-12-02")));
    ledger.accept(ledger.vary("2024-12-03", &[("North East", "200000")]));
    let mut log = ledger.log;
    // A withdrawal needs a determination nothing is paid on.
    let mut other = given_made();
    other.accept(other.withdraw("2024-08-20"));
    log.insert(5, other.last());
    log
}

#[test]
fn every_event_round_trips_through_its_payload() {
    let events = one_of_each();
    let types: Vec<_> = events.iter().map(|e| e.data.event_type()).collect();
    assert_eq!(types, EventType::ALL.to_vec());
    for event in &events {
        let payload = event.data.to_payload();
        let name = event.data.event_type().as_str();
        assert_eq!(event.data.schema_version(), SCHEMA_VERSION);
        let read = EventData::from_payload(name, SCHEMA_VERSION, &payload).unwrap();
        assert_eq!(read, event.data, "{name}");
        assert_eq!(read.determination_id(), "31/7421");
    }
}

#[test]
fn payloads_are_the_own_fields_with_plain_money() {
    let events = one_of_each();
    let payment: serde_json::Value = serde_json::from_slice(&events[1].data.to_payload()).unwrap();
    assert_eq!(payment["amount"], "318000.00");
    assert_eq!(payment["date"], "2024-09-02");
    assert_eq!(payment["region"], "London");
    assert_eq!(payment["lead_authority"], "Camden London Borough Council");
    assert_eq!(payment["late"], true);
    assert!(payment.get("type").is_none() && payment.get("id").is_none());
    let spend: serde_json::Value = serde_json::from_slice(&events[2].data.to_payload()).unwrap();
    assert_eq!(spend["authority"], "Camden");
    let reversal: serde_json::Value = serde_json::from_slice(&events[4].data.to_payload()).unwrap();
    assert_eq!(reversal["reversed_type"], "FundsSpent");
    assert_eq!(reversal["reversed_date"], "2024-10-01");
    assert_eq!(reversal["date"], "2024-12-02");
}

#[test]
fn unknown_types_newer_schemas_and_bad_payloads_are_refused() {
    let events = one_of_each();
    let payload = events[1].data.to_payload();
    let error = EventData::from_payload("GrantCancelled", 1, &payload).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("unknown event type \"GrantCancelled\""),
        "{error}"
    );
    let error = EventData::from_payload("PaymentIssued", SCHEMA_VERSION + 1, &payload).unwrap_err();
    assert!(error.to_string().contains("schema version 2"), "{error}");
    assert!(EventData::from_payload("PaymentIssued", 0, &payload).is_err());
    assert!(
        EventData::from_payload("FundsSpent", 1, &payload).is_err(),
        "a payment is not a spend"
    );
    assert!(EventData::from_payload("PaymentIssued", 1, b"{").is_err());
    assert!(EventData::from_payload("PaymentIssued", 1, b"\xff\xfe").is_err());
    let mut extra: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    extra["surprise"] = serde_json::json!(1);
    assert!(
        EventData::from_payload("PaymentIssued", 1, &serde_json::to_vec(&extra).unwrap()).is_err()
    );
    let mut bad_money: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    bad_money["amount"] = serde_json::json!("£318,000");
    assert!(
        EventData::from_payload("PaymentIssued", 1, &serde_json::to_vec(&bad_money).unwrap())
            .is_err()
    );
}

#[test]
fn a_stored_determination_is_validated_again_on_reading() {
    let events = one_of_each();
    let mut made: serde_json::Value = serde_json::from_slice(&events[0].data.to_payload()).unwrap();
    made["determination"]["instalments"] = serde_json::json!(0);
    let error =
        EventData::from_payload("DeterminationMade", 1, &serde_json::to_vec(&made).unwrap())
            .unwrap_err();
    assert!(error.to_string().contains("instalments"), "{error}");
}

#[test]
fn event_type_names_parse_in_any_case() {
    for t in EventType::ALL {
        assert_eq!(EventType::from_str(t.as_str()).unwrap(), t);
        assert_eq!(EventType::from_str(&t.as_str().to_lowercase()).unwrap(), t);
        assert_eq!(t.to_string(), t.as_str());
    }
    assert!(EventType::from_str("Payment").is_err());
}

#[test]
fn events_serialize_whole_with_type_and_data() {
    let events = one_of_each();
    let json = serde_json::to_value(&events[3]).unwrap();
    assert_eq!(json["data"]["type"], "GrantRecovered");
    assert_eq!(json["data"]["data"]["reason"], "underspend returned");
    let back: grant_ledger_domain::Event = serde_json::from_value(json).unwrap();
    assert_eq!(back, events[3]);
}
