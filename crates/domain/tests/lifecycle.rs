//! The whole life of a determination, given/when/then: instalment schedules, the last
//! instalment completing the allocation, withdrawal and variation, each rule on both sides.

mod common;

use common::*;
use grant_ledger_domain::{parse_determination, EventData, EventType};

// ---- the last permitted instalment ---------------------------------------

#[test]
fn the_last_permitted_instalment_must_complete_the_allocation() {
    let mut ledger = given(d7421_in_two());
    ledger.accept(ledger.pay("London", "20000", "2024-08-20"));
    ledger
        .when(ledger.pay("London", "20000", "2024-08-21"))
        .refused("last permitted instalment (2 of 2) of determination 31/7421, so it must complete the allocation of £318,000.00: it must be £298,000.00");
}

#[test]
fn a_last_instalment_that_completes_the_allocation_is_accepted() {
    let mut ledger = given(d7421_in_two());
    ledger.accept(ledger.pay("London", "20000", "2024-08-20"));
    let events = ledger
        .when(ledger.pay("London", "298000", "2024-08-21"))
        .accepted();
    let EventData::PaymentIssued(p) = &events[0].data else {
        panic!("{events:?}")
    };
    assert_eq!(p.instalment, 2);
}

// ---- schedules -------------------------------------------------------------

#[test]
fn a_scheduled_instalment_may_not_pay_beyond_what_is_due_by_it() {
    let ledger = given(d7421_scheduled());
    ledger
        .when(ledger.pay("London", "200000", "2024-08-20"))
        .refused(
            "beyond the £159,000.00 due by instalment 1 of determination 31/7421 (due 2024-08-30)",
        );
}

#[test]
fn a_scheduled_instalment_of_its_share_is_accepted() {
    let ledger = given(d7421_scheduled());
    ledger
        .when(ledger.pay("London", "159000", "2024-08-20"))
        .accepted();
}

#[test]
fn each_instalment_is_late_against_its_own_due_date() {
    let mut ledger = given(d7421_scheduled());
    // After the first due date: the first instalment is late without a reason.
    ledger
        .when(ledger.pay("London", "159000", "2024-09-02"))
        .refused("after the due date 2024-08-30 of instalment 1");
    ledger.accept(ledger.pay("London", "159000", "2024-08-30"));
    // The same day is on time for the second: it is due by 2024-10-31.
    let events = ledger
        .when(ledger.pay("London", "159000", "2024-09-02"))
        .accepted();
    let EventData::PaymentIssued(p) = &events[0].data else {
        panic!("{events:?}")
    };
    assert!(!p.late);
    ledger
        .when(ledger.pay("London", "159000", "2024-11-01"))
        .refused("after the due date 2024-10-31 of instalment 2");
}

fn scheduled_file(instalments: &str) -> String {
    let builtin = grant_ledger_domain::builtin_toml(ID).unwrap();
    let body = builtin
        .replace("instalments = 1", "instalments = 2")
        .replace("payment_deadline = 2024-08-30\n", "");
    format!("{body}\n{instalments}")
}

#[test]
fn a_schedule_file_of_shares_that_make_100_percent_reads() {
    let d = parse_determination(&scheduled_file(
        "[[instalment]]\ndue = 2024-08-30\nshare = \"50%\"\n[[instalment]]\ndue = 2024-10-31\nshare = 50\n",
    ))
    .unwrap();
    assert_eq!(d.payment_deadline, date("2024-10-31"));
    assert_eq!(
        d.instalment_amounts("London", money("318000")),
        vec![money("159000"), money("159000")]
    );
}

#[test]
fn a_schedule_file_whose_shares_do_not_make_100_percent_is_malformed() {
    let error = parse_determination(&scheduled_file(
        "[[instalment]]\ndue = 2024-08-30\nshare = \"50%\"\n[[instalment]]\ndue = 2024-10-31\nshare = \"40%\"\n",
    ))
    .unwrap_err();
    assert!(error.is_malformed());
    assert_eq!(
        error.to_string(),
        "instalment: the shares add up to 90%, not 100%"
    );
}

#[test]
fn a_schedule_file_with_due_dates_out_of_order_is_malformed() {
    let error = parse_determination(&scheduled_file(
        "[[instalment]]\ndue = 2024-10-31\nshare = \"50%\"\n[[instalment]]\ndue = 2024-08-30\nshare = \"50%\"\n",
    ))
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "instalment[2].due: 2024-08-30 is not after instalment[1].due 2024-10-31; due dates must ascend"
    );
}

#[test]
fn a_schedule_file_of_amounts_must_add_up_to_every_allocation() {
    let error = parse_determination(&scheduled_file(
        "[[instalment]]\ndue = 2024-08-30\namount = \"100000\"\n[[instalment]]\ndue = 2024-10-31\namount = \"100000\"\n",
    ))
    .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("instalment: the amounts add up to £200,000.00, not allocation[1]'s"),
        "{error}"
    );
}

#[test]
fn a_schedule_must_have_one_table_per_instalment() {
    let text = scheduled_file("[[instalment]]\ndue = 2024-08-30\nshare = \"100%\"\n");
    let error = parse_determination(&text).unwrap_err();
    assert_eq!(
        error.to_string(),
        "instalments: 2 is not the number of [[instalment]] tables (1)"
    );
}

// ---- withdrawal ------------------------------------------------------------

#[test]
fn a_determination_nothing_is_paid_on_can_be_withdrawn() {
    let ledger = given_made();
    let events = ledger.when(ledger.withdraw("2024-08-20")).accepted();
    assert_eq!(
        events[0].data.event_type(),
        EventType::DeterminationWithdrawn
    );
}

#[test]
fn a_determination_with_a_payment_cannot_be_withdrawn() {
    let mut ledger = given_made();
    ledger.accept(ledger.pay("London", "318000", "2024-08-20"));
    ledger
        .when(ledger.withdraw("2024-08-21"))
        .refused("cannot be withdrawn, because London has been paid £318,000.00");
}

#[test]
fn a_reversed_payment_leaves_nothing_paid_so_it_can_be_withdrawn() {
    let mut ledger = given_made();
    let paid = ledger
        .accept(ledger.pay("London", "318000", "2024-08-20"))
        .remove(0);
    ledger.accept(ledger.reverse(&paid, None));
    ledger.when(ledger.withdraw("2024-08-21")).accepted();
}

#[test]
fn nothing_can_be_paid_or_spent_on_a_withdrawn_determination() {
    let mut ledger = given_made();
    ledger.accept(ledger.withdraw("2024-08-20"));
    ledger
        .when(ledger.pay("London", "318000", "2024-08-21"))
        .refused("determination 31/7421 was withdrawn on 2024-08-20 (superseded by 31/7422), so nothing more can be paid on it");
    ledger
        .when(ledger.spend("London", "1", "2024-08-21", "data-coordinator"))
        .refused("so nothing more can be spent on it");
    ledger
        .when(ledger.withdraw("2024-08-22"))
        .refused("already withdrawn on 2024-08-20");
}

#[test]
fn a_withdrawal_needs_a_reason() {
    let ledger = given_made();
    let mut command = ledger.withdraw("2024-08-20");
    if let grant_ledger_domain::Command::WithdrawDetermination { reason, .. } = &mut command {
        *reason = "  ".to_string();
    }
    ledger.when(command).malformed("reason must not be empty");
}

// ---- variation -------------------------------------------------------------

#[test]
fn a_variation_changes_what_a_region_is_to_be_paid() {
    let mut ledger = given_made();
    let events = ledger.accept(ledger.vary("2024-08-20", &[("london", "300000")]));
    let EventData::DeterminationVaried(v) = &events[0].data else {
        panic!("{events:?}")
    };
    assert_eq!(
        (v.allocations[0].region.as_str(), v.allocations[0].previous),
        ("London", money("318000"))
    );
    ledger
        .when(ledger.pay("London", "318000", "2024-08-21"))
        .refused("not its allocation of £300,000.00");
    ledger
        .when(ledger.pay("London", "300000", "2024-08-21"))
        .accepted();
}

#[test]
fn a_variation_below_what_is_paid_is_refused() {
    let mut ledger = given(d7421_in_two());
    ledger.accept(ledger.pay("London", "200000", "2024-08-20"));
    ledger
        .when(ledger.vary("2024-09-01", &[("London", "150000")]))
        .refused("varying London's allocation to £150,000.00 would leave its paid of £200,000.00 above it");
    ledger
        .when(ledger.vary("2024-09-01", &[("London", "250000")]))
        .accepted();
}

#[test]
fn a_variation_raising_an_allocation_paid_in_all_its_instalments_is_refused() {
    let mut ledger = given_made();
    ledger.accept(ledger.pay("London", "318000", "2024-08-20"));
    ledger
        .when(ledger.vary("2024-09-01", &[("London", "400000")]))
        .refused("could never be paid");
}

#[test]
fn a_variation_that_changes_nothing_is_refused() {
    let ledger = given_made();
    ledger
        .when(ledger.vary("2024-09-01", &[("London", "318000")]))
        .refused("changes no allocation");
    ledger
        .when(ledger.vary("2024-09-01", &[("Narnia", "1")]))
        .refused("unknown region \"Narnia\"");
}

#[test]
fn a_withdrawn_determination_cannot_be_varied() {
    let mut ledger = given_made();
    ledger.accept(ledger.withdraw("2024-08-20"));
    ledger
        .when(ledger.vary("2024-09-01", &[("London", "1")]))
        .refused("was withdrawn on 2024-08-20, so it cannot be varied");
}

#[test]
fn a_scheduled_share_follows_the_varied_allocation() {
    let mut ledger = given(d7421_scheduled());
    ledger.accept(ledger.vary("2024-08-17", &[("London", "300000")]));
    ledger
        .when(ledger.pay("London", "159000", "2024-08-20"))
        .refused("beyond the £150,000.00 due by instalment 1");
    ledger.accept(ledger.pay("London", "150000", "2024-08-20"));
    ledger
        .when(ledger.pay("London", "150000", "2024-10-01"))
        .accepted();
}

#[test]
fn a_variation_cannot_be_reversed() {
    let mut ledger = given_made();
    let varied = ledger
        .accept(ledger.vary("2024-08-20", &[("London", "300000")]))
        .remove(0);
    ledger
        .when(ledger.reverse(&varied, None))
        .refused("cannot be reversed");
}

#[test]
fn a_variation_dated_before_the_last_one_is_refused() {
    let mut ledger = given_made();
    ledger.accept(ledger.vary("2024-10-01", &[("London", "300000")]));
    ledger
        .when(ledger.vary("2024-09-30", &[("London", "310000")]))
        .refused("a variation dated 2024-09-30 is before the last variation of determination 31/7421, dated 2024-10-01");
    ledger
        .when(ledger.vary("2024-10-01", &[("London", "310000")]))
        .accepted();
}

const ONE_REGION: &str = r#"
id = "31/9003"
title = "One region in fixed instalments"
financial_year = "2025-26"
made_on = 2025-05-01
grant_period = { start = 2025-04-01, end = 2026-03-31 }
instalments = 2

[[instalment]]
due = 2025-06-30
amount = "20000"

[[instalment]]
due = 2025-10-31
amount = "38000"

[[allocation]]
region = "North East"
lead_authority = "Durham County Council"
amount = "58000.00"
authorities = ["Durham"]
"#;

#[test]
fn a_schedule_of_amounts_pays_each_amount_by_its_due_date() {
    let d = parse_determination(ONE_REGION).unwrap();
    assert_eq!(
        d.instalment_amounts("North East", money("58000")),
        vec![money("20000"), money("38000")]
    );
    let mut ledger = given(d);
    let pay = |ledger: &Ledger, amount: &str, on: &str| {
        let mut command = ledger.pay("North East", amount, on);
        if let grant_ledger_domain::Command::IssuePayment { determination, .. } = &mut command {
            *determination = "31/9003".to_string();
        }
        command
    };
    ledger
        .when(pay(&ledger, "29000", "2025-06-01"))
        .refused("beyond the £20,000.00 due by instalment 1");
    ledger.accept(pay(&ledger, "20000", "2025-06-01"));
    ledger.when(pay(&ledger, "38000", "2025-10-31")).accepted();
}

#[test]
fn a_schedule_mixing_shares_and_amounts_is_malformed() {
    let text = ONE_REGION.replacen("amount = \"20000\"", "share = \"50%\"", 1);
    let error = parse_determination(&text).unwrap_err();
    assert_eq!(
        error.to_string(),
        "instalment[2].amount: every instalment gives a share, as instalment[1] does, or every one an amount"
    );
}

/// Two regions, each with its own amount for each instalment.
fn own_amounts(north_east: &str) -> String {
    let text = ONE_REGION
        .replace("amount = \"20000\"\n", "")
        .replace("amount = \"38000\"\n", "")
        .replace(
            "authorities = [\"Durham\"]",
            &format!("authorities = [\"Durham\"]\ninstalment_amounts = {north_east}"),
        );
    format!(
        "{text}\n[[allocation]]\nregion = \"London\"\nlead_authority = \"Camden London Borough Council\"\namount = \"100000\"\nauthorities = [\"Camden\"]\ninstalment_amounts = [\"60000\", \"40000\"]\n"
    )
}

#[test]
fn each_allocation_may_give_its_own_amount_for_each_instalment() {
    let d = parse_determination(&own_amounts("[\"20000\", \"38000\"]")).unwrap();
    assert_eq!(
        d.instalment_amounts("north-east", money("58000")),
        vec![money("20000"), money("38000")]
    );
    assert_eq!(
        d.instalment_amounts("London", money("100000")),
        vec![money("60000"), money("40000")]
    );
}

#[test]
fn an_allocations_own_instalment_amounts_must_add_up_to_it() {
    let error = parse_determination(&own_amounts("[\"20000\", \"30000\"]")).unwrap_err();
    assert_eq!(
        error.to_string(),
        "allocation[1].instalment_amounts: adds up to £50,000.00, not the allocation's amount of £58,000.00"
    );
    let error = parse_determination(&own_amounts("[\"58000\"]")).unwrap_err();
    assert_eq!(
        error.to_string(),
        "allocation[1].instalment_amounts: has 1 amounts, not one for each of the 2 instalments"
    );
}

#[test]
fn a_withdrawal_dated_before_the_determination_was_made_is_refused() {
    let ledger = given_made();
    ledger.when(ledger.withdraw("2024-08-15")).refused(
        "a withdrawal dated 2024-08-15 is before determination 31/7421 was made on 2024-08-16",
    );
}

#[test]
fn a_variation_dated_before_the_determination_was_made_is_refused() {
    let ledger = given_made();
    ledger
        .when(ledger.vary("2024-08-15", &[("London", "300000")]))
        .refused(
            "a variation dated 2024-08-15 is before determination 31/7421 was made on 2024-08-16",
        );
}

// ---- a payment dated before a variation ----------------------------------------

#[test]
fn a_payment_dated_before_a_variation_is_judged_against_the_allocation_then_in_force() {
    let mut ledger = given(d7421_scheduled());
    ledger.accept(ledger.vary("2024-09-01", &[("London", "300000")]));
    // On 2024-08-20 London's allocation was still £318,000.00, half of it due by 08-30.
    ledger
        .when(ledger.pay("London", "159000", "2024-08-20"))
        .accepted();
}

#[test]
fn a_payment_dated_after_a_variation_is_judged_against_the_varied_allocation() {
    let mut ledger = given(d7421_scheduled());
    ledger.accept(ledger.vary("2024-08-19", &[("London", "300000")]));
    ledger
        .when(ledger.pay("London", "159000", "2024-08-20"))
        .refused("beyond the £150,000.00 due by instalment 1");
}

#[test]
fn a_payment_dated_before_a_variation_may_not_leave_paid_above_the_varied_allocation() {
    let mut ledger = given(d7421_in_two());
    ledger.accept(ledger.vary("2024-09-01", &[("London", "150000")]));
    ledger
        .when(ledger.pay("London", "200000", "2024-08-20"))
        .refused("payment of £200,000.00 would take London's paid to £200,000.00, above its allocation of £150,000.00 as varied on 2024-09-01");
}

#[test]
fn a_last_instalment_dated_before_a_variation_that_raised_the_allocation_is_refused() {
    let mut ledger = given_made();
    ledger.accept(ledger.vary("2024-09-01", &[("London", "400000")]));
    ledger
        .when(ledger.pay("London", "318000", "2024-08-20"))
        .refused("but a variation dated 2024-09-01 raised its allocation to £400,000.00, which no later instalment could then complete");
}

// ---- an instalment paid short ---------------------------------------------------

#[test]
fn a_payment_settling_an_instalment_paid_short_after_its_due_date_is_late() {
    let mut ledger = given(d7421_scheduled());
    // Instalment 1 (£159,000.00 by 2024-08-30) paid short, on time.
    ledger.accept(ledger.pay("London", "100000", "2024-08-20"));
    // The rest of it comes with instalment 2, after instalment 1's due date.
    ledger
        .when(ledger.pay("London", "218000", "2024-09-02"))
        .refused("after the due date 2024-08-30 of instalment 1 of determination 31/7421");
    let events = ledger
        .when(ledger.pay_late("London", "218000", "2024-09-02", "remittance delayed"))
        .accepted();
    let EventData::PaymentIssued(p) = &events[0].data else {
        panic!("{events:?}")
    };
    assert!(p.late);
}

#[test]
fn a_payment_after_an_instalment_paid_in_full_is_judged_against_the_next_due_date() {
    let mut ledger = given(d7421_scheduled());
    ledger.accept(ledger.pay("London", "159000", "2024-08-20"));
    ledger
        .when(ledger.pay_late("London", "159000", "2024-09-02", "remittance delayed"))
        .refused("is on time (instalment 2 of determination 31/7421 is due by 2024-10-31)");
}
