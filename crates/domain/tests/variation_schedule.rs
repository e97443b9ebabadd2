//! Given/when/then: what a variation does to an instalment schedule. It changes only what
//! falls due on or after its date; an instalment due before it keeps what it was, so one
//! paid on time stays paid on time and the next payment is judged against its own due date.

mod common;

use common::*;
use grant_ledger_domain::{Determination, EventData, Instalment, Money};

fn amounts(ledger: &Ledger, on: &str) -> Vec<Money> {
    ledger.state.instalments_on("London", date(on))
}

fn late(events: &[grant_ledger_domain::Event]) -> bool {
    let EventData::PaymentIssued(p) = &events[0].data else {
        panic!("{events:?}")
    };
    p.late
}

#[test]
fn a_variation_leaves_an_instalment_due_before_it_as_it_was() {
    // London: £318,000.00, half by 2024-08-30 and half by 2024-10-31; instalment 1 paid on
    // time, then the allocation is raised after its due date.
    let mut ledger = given(d7421_scheduled());
    ledger.accept(ledger.pay("London", "159000", "2024-08-20"));
    ledger.accept(ledger.vary("2024-09-01", &[("London", "330000")]));
    assert_eq!(
        amounts(&ledger, "2024-09-02"),
        vec![money("159000"), money("171000")]
    );
    // The rest is due by instalment 2's own date, so paying it before then is on time.
    let events = ledger
        .when(ledger.pay("London", "171000", "2024-10-01"))
        .accepted();
    assert!(!late(&events));
    ledger
        .when(ledger.pay_late("London", "171000", "2024-10-01", "remittance delayed"))
        .refused("is on time (instalment 2 of determination 31/7421 is due by 2024-10-31)");
}

#[test]
fn a_variation_dated_before_every_due_date_changes_every_instalment() {
    let mut ledger = given(d7421_scheduled());
    ledger.accept(ledger.vary("2024-08-17", &[("London", "330000")]));
    assert_eq!(
        amounts(&ledger, "2024-08-17"),
        vec![money("165000"), money("165000")]
    );
    // The day before the variation the schedule was as determined.
    assert_eq!(
        amounts(&ledger, "2024-08-16"),
        vec![money("159000"), money("159000")]
    );
}

/// 31/7421 paid 20% by 2024-08-30, 30% by 2024-09-30 and 50% by 2024-10-31.
fn in_three_shares() -> Determination {
    let mut d = d7421_scheduled();
    d.instalments = 3;
    let share = |due: &str, share: u32| Instalment {
        due: date(due),
        share: Some(share.into()),
        amount: None,
    };
    d.schedule = vec![
        share("2024-08-30", 20),
        share("2024-09-30", 30),
        share("2024-10-31", 50),
    ];
    d
}

#[test]
fn by_share_the_change_is_spread_over_the_later_instalments_in_proportion_to_their_shares() {
    let mut ledger = given(in_three_shares());
    ledger.accept(ledger.vary("2024-09-01", &[("London", "418000")]));
    // Instalment 1 keeps its £63,600.00; the other £354,400.00 goes 30:50.
    assert_eq!(
        amounts(&ledger, "2024-09-01"),
        vec![money("63600"), money("132900"), money("221500")]
    );
}

#[test]
fn a_variation_after_every_due_date_changes_the_last_instalment() {
    let mut ledger = given(in_three_shares());
    ledger.accept(ledger.vary("2024-11-05", &[("London", "300000")]));
    assert_eq!(
        amounts(&ledger, "2024-11-05"),
        vec![money("63600"), money("95400"), money("141000")]
    );
}

/// 31/7421 in two instalments of each allocation's own amounts: £10,000.00 by 2024-08-30,
/// the rest by 2024-10-31.
fn in_own_amounts() -> Determination {
    let mut d = d7421_scheduled();
    for i in &mut d.schedule {
        i.share = None;
    }
    for a in &mut d.allocations {
        a.instalment_amounts = vec![
            money("10000"),
            a.amount.checked_sub(money("10000")).unwrap(),
        ];
    }
    d
}

#[test]
fn by_amount_the_last_instalment_takes_the_difference() {
    let mut ledger = given(in_own_amounts());
    // Dated before both due dates, yet the first instalment keeps its stated amount.
    ledger.accept(ledger.vary("2024-08-17", &[("London", "330000")]));
    assert_eq!(
        amounts(&ledger, "2024-08-17"),
        vec![money("10000"), money("320000")]
    );
}

#[test]
fn a_cut_beyond_the_later_instalments_comes_out_of_the_earlier_ones_latest_first() {
    let mut ledger = given(d7421_scheduled());
    ledger.accept(ledger.vary("2024-11-05", &[("London", "100000")]));
    assert_eq!(
        amounts(&ledger, "2024-11-05"),
        vec![money("100000"), Money::ZERO]
    );
    // What is left is all instalment 1's, due by 2024-08-30, and one payment completes it.
    ledger
        .when(ledger.pay("London", "100000", "2024-11-06"))
        .refused("after the due date 2024-08-30 of instalment 1");
    ledger.accept(ledger.pay_late("London", "100000", "2024-11-06", "letter awaited"));
    assert_eq!(ledger.state.allocations["London"].paid, money("100000"));
}
