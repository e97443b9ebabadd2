//! Every rule of the contract, accepted side and refused side, as
//! given/when/then over the built-in determination 31/7421.

mod common;

use common::*;
use grant_ledger_domain::{
    decide, decide_many, evolve, Command, Determination, EventData, EventType, Money, State,
};

// ---- determinations ----------------------------------------------------

#[test]
fn making_a_determination_records_it_once() {
    let ledger = given_empty();
    let events = ledger.when(ledger.make(d7421())).accepted();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data.event_type(), EventType::DeterminationMade);
    assert_eq!(events[0].data.effective_date(), date("2024-08-16"));
    assert_eq!(events[0].data.region(), None);

    let ledger = given_made();
    assert_eq!(ledger.state.version, 1);
    assert_eq!(ledger.state.allocations.len(), 9);
    assert!(
        ledger.when(ledger.make(d7421())).accepted().is_empty(),
        "identical repeat is idempotent"
    );
}

#[test]
fn a_different_determination_with_the_same_id_is_refused() {
    let ledger = given_made();
    let mut changed = d7421();
    changed.allocations[0].amount = money("1");
    ledger
        .when(ledger.make(changed))
        .refused("determination 31/7421 already exists with different content");
}

#[test]
fn an_invalid_determination_is_malformed() {
    let ledger = given_empty();
    let mut broken: Determination = d7421();
    broken.instalments = 0;
    ledger.when(ledger.make(broken)).malformed("instalments");
    let mut broken = d7421();
    broken.allocations[1].region = "london".to_string();
    ledger
        .when(ledger.make(broken))
        .malformed("allocation[3].region: \"London\" appears more than once");
}

#[test]
fn commands_for_an_unknown_determination_are_refused() {
    let ledger = given_empty();
    ledger
        .when(ledger.pay("London", "318000", "2024-08-20"))
        .refused("unknown determination 31/7421");
    ledger
        .when(ledger.spend("London", "1", "2024-08-20", "data-coordinator"))
        .refused("unknown determination 31/7421");
    ledger
        .when(ledger.recover("London", "1", "2024-08-20"))
        .refused("unknown determination 31/7421");
    let ledger = given_made();
    let mut other = ledger.pay("London", "318000", "2024-08-20");
    if let Command::IssuePayment { determination, .. } = &mut other {
        *determination = "31/9999".to_string();
    }
    assert_eq!(other.stream(), "determination/31/9999");
    ledger.when(other).refused("unknown determination 31/9999");
}

// ---- payments ------------------------------------------------------------

#[test]
fn a_payment_on_time_goes_to_the_lead_authority_of_the_canonical_region() {
    let ledger = given_made();
    let events = ledger
        .when(ledger.pay("south-west", "260,600", "2024-08-30"))
        .accepted();
    let EventData::PaymentIssued(paid) = &events[0].data else {
        panic!("{events:?}")
    };
    assert_eq!(paid.region, "South West");
    assert_eq!(paid.lead_authority, "Wiltshire County Council");
    assert_eq!(paid.amount, money("260600"));
    assert_eq!(paid.instalment, 1);
    assert!(!paid.late);
    assert_eq!(events[0].data.effective_date(), date("2024-08-30"));
}

#[test]
fn a_payment_after_the_deadline_is_refused_without_a_late_reason() {
    let ledger = given_made();
    ledger
        .when(ledger.pay("London", "318000", "2024-08-31"))
        .refused(
            "payment dated 2024-08-31 is after the deadline 2024-08-30 of determination 31/7421",
        );
}

#[test]
fn a_payment_on_time_with_a_late_reason_is_refused() {
    let ledger = given_made();
    ledger
        .when(ledger.pay_late("London", "318000", "2024-08-30", "bank holiday"))
        .refused("payment dated 2024-08-30 is on time");
}

#[test]
fn spend_on_a_purpose_with_no_budget_for_the_region_is_refused() {
    let mut ledger = given_made();
    ledger.accept(ledger.pay("London", "318000", "2024-08-20"));
    ledger
        .when(ledger.spend("London", "100", "2024-10-01", "data-to-insight"))
        .refused("purpose data-to-insight has no budget for London in determination 31/7421; it is a fixed sum for South East only");
}

#[test]
fn a_purpose_is_named_in_any_case_with_spaces_or_hyphens() {
    let mut ledger = given_made();
    ledger.accept(ledger.pay("London", "318000", "2024-08-20"));
    let events = ledger
        .when(ledger.spend("London", "100", "2024-10-01", "Self Assessment"))
        .accepted();
    assert!(
        matches!(&events[0].data, grant_ledger_domain::EventData::FundsSpent(s) if s.purpose == "self-assessment")
    );
}

#[test]
fn a_late_payment_with_a_reason_is_recorded_and_flagged() {
    let mut ledger = given_made();
    let events =
        ledger.accept(ledger.pay_late("London", "318000", "2024-09-02", "bank holiday backlog"));
    let EventData::PaymentIssued(paid) = &events[0].data else {
        panic!()
    };
    assert!(paid.late);
    assert_eq!(paid.late_reason.as_deref(), Some("bank holiday backlog"));
    let london = &ledger.state.allocations["London"];
    assert!(london.late);
    assert_eq!(london.paid_on, Some(date("2024-09-02")));
}

#[test]
fn a_payment_before_the_determination_was_made_is_refused() {
    let ledger = given_made();
    ledger
        .when(ledger.pay("London", "318000", "2024-08-15"))
        .refused("payment dated 2024-08-15 is before determination 31/7421 was made on 2024-08-16");
    ledger
        .when(ledger.pay("London", "318000", "2024-08-16"))
        .accepted();
}

#[test]
fn no_more_instalments_than_allowed() {
    let mut ledger = given_made();
    ledger.accept(ledger.pay("London", "318000", "2024-08-20"));
    ledger
        .when(ledger.pay("London", "318000", "2024-08-21"))
        .refused(
            "London is already paid in its 1 instalment(s) of determination 31/7421 \
             (£318,000.00 on 2024-08-20)",
        );
}

#[test]
fn a_single_instalment_must_be_the_whole_allocation() {
    let ledger = given_made();
    ledger
        .when(ledger.pay("London", "300000", "2024-08-20"))
        .refused("payment of £300,000.00 to London is not its allocation of £318,000.00");
    ledger
        .when(ledger.pay("London", "318001", "2024-08-20"))
        .refused("is not its allocation of £318,000.00");
}

fn two_instalments() -> Ledger {
    let mut d = d7421();
    d.instalments = 2;
    let mut ledger = given_empty();
    ledger.accept(ledger.make(d));
    ledger
}

#[test]
fn instalments_never_add_up_above_the_allocation() {
    let mut ledger = two_instalments();
    ledger.accept(ledger.pay("London", "200000", "2024-08-20"));
    ledger
        .when(ledger.pay("London", "118000.01", "2024-08-21"))
        .refused("payment of £118,000.01 would take London's paid to £318,000.01, above its allocation of £318,000.00");
    let events = ledger.accept(ledger.pay("London", "118000", "2024-08-21"));
    let EventData::PaymentIssued(second) = &events[0].data else {
        panic!()
    };
    assert_eq!(second.instalment, 2);
    ledger
        .when(ledger.pay("London", "1", "2024-08-22"))
        .refused("already paid in its 2 instalment(s)");
    assert_eq!(
        ledger.figures("London"),
        ("318000.00".into(), "0.00".into(), "0.00".into(), 2)
    );
}

#[test]
fn an_unknown_region_is_refused_listing_the_regions() {
    let ledger = given_made();
    ledger
        .when(ledger.pay("Wales", "1", "2024-08-20"))
        .refused("unknown region \"Wales\" in determination 31/7421; its regions are East Midlands, East of England, London");
}

#[test]
fn over_long_or_empty_text_is_malformed() {
    let ledger = given_made();
    let long = "x".repeat(grant_ledger_domain::limits::MAX_TEXT_LEN + 1);
    ledger
        .when(ledger.pay_late("London", "318000", "2024-09-01", &long))
        .malformed("late reason is longer than");
    let mut recover = ledger.recover("London", "1", "2024-08-20");
    if let Command::RecoverGrant { reason, .. } = &mut recover {
        *reason = "   ".to_string();
    }
    ledger.when(recover).malformed("reason must not be empty");
}

// ---- spend ----------------------------------------------------------------

fn paid_everywhere() -> Ledger {
    let mut ledger = given_made();
    for allocation in d7421().allocations {
        ledger.accept(ledger.pay(&allocation.region, &allocation.amount.plain(), "2024-08-28"));
    }
    ledger
}

#[test]
fn spend_for_a_purpose_by_an_authority_of_the_region_is_recorded_canonically() {
    let ledger = paid_everywhere();
    let events = ledger
        .when(ledger.spend_by(
            "south west",
            "5000",
            "2024-10-01",
            "Sector-Led-Improvement",
            "bristol, city of",
        ))
        .accepted();
    let EventData::FundsSpent(spent) = &events[0].data else {
        panic!()
    };
    assert_eq!(spent.region, "South West");
    assert_eq!(spent.purpose, "sector-led-improvement");
    assert_eq!(spent.authority.as_deref(), Some("Bristol, City of"));
    assert_eq!(spent.description.as_deref(), Some("peer review"));
}

#[test]
fn an_authority_is_named_as_a_region_is_by_its_slug() {
    let ledger = paid_everywhere();
    let events = ledger
        .when(ledger.spend_by(
            "south west",
            "5000",
            "2024-10-01",
            "sector-led-improvement",
            "bristol-city-of",
        ))
        .accepted();
    let EventData::FundsSpent(spent) = &events[0].data else {
        panic!()
    };
    assert_eq!(spent.authority.as_deref(), Some("Bristol, City of"));
}

#[test]
fn spend_for_an_unknown_purpose_is_refused_listing_the_purposes() {
    let ledger = paid_everywhere();
    ledger
        .when(ledger.spend("London", "5000", "2024-10-01", "catering"))
        .refused("unknown purpose \"catering\" in determination 31/7421; its purposes are data-coordinator, sector-led-improvement");
}

#[test]
fn spend_by_an_authority_outside_the_region_is_refused() {
    let ledger = paid_everywhere();
    ledger
        .when(ledger.spend_by("London", "5000", "2024-10-01", "self-assessment", "Derby"))
        .refused("\"Derby\" is not an authority of London in determination 31/7421; grant-ledger determination show 31/7421 --authorities lists them");
}

#[test]
fn spend_must_be_dated_inside_the_grant_period_inclusive() {
    // Made before its grant period starts, so that the period's first day can be spent on
    // (spend before the determination was made is refused: see tests/dates.rs).
    let mut early = d7421();
    early.made_on = date("2024-03-01");
    let mut ledger = given_empty();
    ledger.accept(ledger.make(early));
    ledger.accept(ledger.pay("London", "318000", "2024-03-20"));
    ledger
        .when(ledger.spend("London", "1", "2024-04-01", "data-coordinator"))
        .accepted();
    ledger
        .when(ledger.spend("London", "1", "2025-03-31", "data-coordinator"))
        .accepted();
    ledger
        .when(ledger.spend("London", "1", "2024-03-31", "data-coordinator"))
        .refused("spend dated 2024-03-31 is outside the grant period 2024-04-01 to 2025-03-31 of determination 31/7421");
    ledger
        .when(ledger.spend("London", "1", "2025-04-01", "data-coordinator"))
        .refused("outside the grant period");
}

#[test]
fn spend_never_takes_spent_above_net_received() {
    let ledger = given_made();
    ledger
        .when(ledger.spend("London", "1", "2024-10-01", "data-coordinator"))
        .refused("spend of £1.00 would take London's spent to £1.00, above the £0.00 received");

    let mut ledger = paid_everywhere();
    ledger.accept(ledger.recover("South West", "11400", "2024-09-01"));
    ledger.accept(ledger.spend("South West", "245000", "2024-10-01", "self-assessment"));
    ledger
        .when(ledger.spend("South West", "5000", "2024-10-02", "self-assessment"))
        .refused("spend of £5,000.00 would take South West's spent to £250,000.00, above the £249,200.00 received");
    ledger.accept(ledger.spend("South West", "4200", "2024-10-02", "self-assessment"));
    assert_eq!(
        ledger.figures("South West"),
        ("260600.00".into(), "11400.00".into(), "249200.00".into(), 1)
    );
}

// ---- recovery -------------------------------------------------------------

#[test]
fn recovery_never_exceeds_unspent() {
    let mut ledger = paid_everywhere();
    ledger.accept(ledger.spend("North East", "200000", "2024-10-01", "data-coordinator"));
    ledger
        .when(ledger.recover("North East", "39600.01", "2025-04-30"))
        .refused(
            "recovery of £39,600.01 from North East is above its unspent balance of £39,600.00",
        );
    let events = ledger.accept(ledger.recover("north-east", "39600", "2025-04-30"));
    let EventData::GrantRecovered(recovered) = &events[0].data else {
        panic!()
    };
    assert_eq!(recovered.region, "North East");
    assert_eq!(recovered.reason, "underspend returned");
    ledger
        .when(ledger.recover("North East", "0.01", "2025-04-30"))
        .refused("above its unspent balance of £0.00");
}

#[test]
fn recovery_before_anything_was_paid_is_refused() {
    let ledger = given_made();
    ledger
        .when(ledger.recover("London", "1", "2024-09-01"))
        .refused("above its unspent balance of £0.00");
    ledger
        .when(ledger.recover("London", "1", "2024-08-01"))
        .refused("before determination 31/7421 was made");
}

// ---- reversals --------------------------------------------------------------

#[test]
fn reversing_a_payment_with_nothing_spent_undoes_it_and_allows_paying_again() {
    let mut ledger = given_made();
    let paid = ledger
        .accept(ledger.pay_late("London", "318000", "2024-09-03", "late"))
        .remove(0);
    let events = ledger.accept(ledger.reverse(&paid, None));
    let EventData::EventReversed(reversal) = &events[0].data else {
        panic!()
    };
    assert_eq!(reversal.reversed_event_id, paid.id);
    assert_eq!(reversal.reversed_type, EventType::PaymentIssued);
    assert_eq!(reversal.amount, money("318000"));
    assert_eq!(
        reversal.date,
        date("2024-09-03"),
        "without a date the reversal takes the reversed event's date"
    );
    assert_eq!(reversal.reversed_date, date("2024-09-03"));
    let london = &ledger.state.allocations["London"];
    assert_eq!(
        (london.paid, london.instalments, london.paid_on, london.late),
        (Money::ZERO, 0, None, false)
    );
    ledger.accept(ledger.pay("London", "318000", "2024-08-30"));
}

#[test]
fn reversing_a_payment_with_spend_against_it_is_refused_with_figures() {
    let mut ledger = paid_everywhere();
    let payment = ledger
        .log
        .iter()
        .find(|e| e.data.region() == Some("South West"))
        .unwrap()
        .clone();
    ledger.accept(ledger.spend("South West", "1000", "2024-10-01", "self-assessment"));
    ledger
        .when(ledger.reverse(&payment, None))
        .refused("would leave South West's spent of £1,000.00 above the £0.00 received");
}

#[test]
fn reversing_a_payment_with_a_recovery_against_it_is_refused_with_figures() {
    let mut ledger = paid_everywhere();
    let payment = ledger
        .log
        .iter()
        .find(|e| e.data.region() == Some("North East"))
        .unwrap()
        .clone();
    ledger.accept(ledger.recover("North East", "10", "2025-04-30"));
    ledger
        .when(ledger.reverse(&payment, None))
        .refused("would leave North East with £10.00 recovered, more than the £0.00 paid");
}

#[test]
fn reversing_a_spend_frees_its_amount() {
    let mut ledger = paid_everywhere();
    let spend = ledger
        .accept(ledger.spend("London", "318000", "2024-10-01", "self-assessment"))
        .remove(0);
    ledger
        .when(ledger.spend("London", "1", "2024-10-02", "self-assessment"))
        .refused("above the £318,000.00 received");
    ledger.accept(ledger.reverse(&spend, Some("2024-11-01")));
    assert_eq!(ledger.figures("London").2, "0.00");
    ledger.accept(ledger.spend("London", "1", "2024-10-02", "self-assessment"));
}

#[test]
fn reversing_a_recovery_restores_the_balance() {
    let mut ledger = paid_everywhere();
    let recovery = ledger
        .accept(ledger.recover("London", "18000", "2024-12-01"))
        .remove(0);
    ledger.accept(ledger.reverse(&recovery, None));
    assert_eq!(ledger.figures("London").1, "0.00");
}

#[test]
fn a_reversal_cannot_be_reversed() {
    let mut ledger = paid_everywhere();
    let spend = ledger
        .accept(ledger.spend("London", "10", "2024-10-01", "self-assessment"))
        .remove(0);
    let reversal = ledger.accept(ledger.reverse(&spend, None)).remove(0);
    ledger
        .when(ledger.reverse(&reversal, None))
        .refused("a reversal cannot be reversed");
    let made = ledger.log[0].clone();
    ledger
        .when(ledger.reverse(&made, None))
        .refused("a determination cannot be reversed");
}

#[test]
fn nothing_is_reversed_twice() {
    let mut ledger = paid_everywhere();
    let spend = ledger
        .accept(ledger.spend("London", "10", "2024-10-01", "self-assessment"))
        .remove(0);
    ledger.accept(ledger.reverse(&spend, None));
    ledger
        .when(ledger.reverse(&spend, None))
        .refused(&format!("event {} has already been reversed", spend.id));
}

#[test]
fn a_reversal_cannot_take_effect_before_the_reversed_event() {
    let mut ledger = paid_everywhere();
    let spend = ledger
        .accept(ledger.spend("London", "10", "2024-10-01", "self-assessment"))
        .remove(0);
    ledger
        .when(ledger.reverse(&spend, Some("2024-09-30")))
        .refused("a reversal dated 2024-09-30 cannot take effect before the reversed event's date 2024-10-01");
    let events = ledger
        .when(ledger.reverse(&spend, Some("2024-10-01")))
        .accepted();
    assert_eq!(events[0].data.effective_date(), date("2024-10-01"));
}

#[test]
fn an_event_of_another_determination_or_not_on_record_is_refused() {
    let mut ledger = paid_everywhere();
    let mut foreign = ledger
        .accept(ledger.spend("London", "10", "2024-10-01", "self-assessment"))
        .remove(0);
    if let EventData::FundsSpent(spent) = &mut foreign.data {
        spent.determination = "31/1".to_string();
    }
    ledger
        .when(ledger.reverse(&foreign, None))
        .refused("belongs to determination 31/1, not 31/7421");

    let mut phantom = ledger.log[1].clone();
    phantom.id = uuid::Uuid::from_u128(999_999);
    ledger
        .when(ledger.reverse(&phantom, None))
        .refused("is not a payment on record for");
    let mut too_big = ledger.log.last().unwrap().clone();
    too_big.id = uuid::Uuid::from_u128(999_998);
    if let EventData::FundsSpent(spent) = &mut too_big.data {
        spent.amount = money("11");
    }
    ledger
        .when(ledger.reverse(&too_big, None))
        .refused("spends £11.00 but London's spent on record is only £10.00");
}

// ---- batches and the state ----------------------------------------------

#[test]
fn decide_many_is_all_or_nothing_and_names_the_failing_command() {
    let ledger = paid_everywhere();
    let batch = vec![
        ledger.spend("London", "100", "2024-10-01", "self-assessment"),
        ledger.spend("London", "317900", "2024-10-02", "self-assessment"),
        ledger.spend("London", "0.01", "2024-10-03", "self-assessment"),
    ];
    let (index, error) = decide_many(&ledger.state, batch.clone()).unwrap_err();
    assert_eq!(index, 2, "the third spend is the one over the balance");
    assert!(error.is_refusal());
    let (state, events) = decide_many(&ledger.state, batch[..2].to_vec()).unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(state.allocations["London"].spent, money("318000"));
    assert_eq!(state.version, ledger.state.version + 2);
}

#[test]
fn state_stays_the_same_size_however_many_spends() {
    let mut ledger = paid_everywhere();
    ledger.accept(ledger.spend("London", "1", "2024-10-01", "self-assessment"));
    let small = serde_json::to_vec(&ledger.state).unwrap().len();
    for _ in 0..2_000 {
        ledger.accept(ledger.spend("London", "1", "2024-10-01", "self-assessment"));
    }
    let after = serde_json::to_vec(&ledger.state).unwrap().len();
    assert!(after <= small + 8, "{small} -> {after}");
    let restored: State =
        serde_json::from_slice(&serde_json::to_vec(&ledger.state).unwrap()).unwrap();
    assert_eq!(restored, ledger.state);
}

#[test]
fn replaying_the_log_gives_the_same_state() {
    let mut ledger = paid_everywhere();
    let spend = ledger
        .accept(ledger.spend("London", "10", "2024-10-01", "self-assessment"))
        .remove(0);
    ledger.accept(ledger.reverse(&spend, None));
    ledger.accept(ledger.recover("London", "100", "2024-12-01"));
    let replayed = ledger.log.iter().fold(State::default(), evolve);
    assert_eq!(replayed, ledger.state);
    assert_eq!(replayed.version as usize, ledger.log.len());
    assert!(decide(
        &replayed,
        ledger.spend("London", "1", "2024-10-01", "self-assessment")
    )
    .is_ok());
}
