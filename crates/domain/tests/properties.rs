//! Properties over random command sequences: whatever is accepted, the folded
//! state never breaks a ledger invariant, replay reproduces it, and decide
//! never panics on any input.

mod common;

use chrono::{Days, NaiveDate};
use common::*;
use grant_ledger_domain::{
    decide, evolve, parse_determination, Command, Event, EventData, EventReversed, EventType,
    FundsSpent, Money, PaymentIssued, State,
};
use proptest::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

/// One step of a random scenario, in terms of indexes into the determination
/// so most steps name real regions and purposes (and so get past the
/// lookups to the money rules, which is where the invariants live).
#[derive(Clone, Debug)]
enum Step {
    Pay {
        region: usize,
        whole_allocation: bool,
        cents: i64,
        day: u64,
        late_reason: bool,
    },
    Spend {
        region: usize,
        cents: i64,
        day: u64,
        purpose: usize,
        authority: Option<usize>,
    },
    Recover {
        region: usize,
        cents: i64,
        day: u64,
    },
    Reverse {
        target: usize,
        later_by: Option<u64>,
    },
    Vary {
        region: usize,
        cents: i64,
        day: u64,
    },
    Withdraw {
        day: u64,
    },
}

fn step() -> impl Strategy<Value = Step> {
    // Amounts from a penny to beyond an allocation, weighted so that most
    // spends and recoveries fit a region's balance and get accepted.
    let cents = prop_oneof![4 => 1i64..5_000_000, 1 => 1i64..40_000_000];
    let day = 0u64..500; // from 2024-04-01, across made_on, deadline and period end
                         // Mostly three regions, so payments, spends and recoveries meet in one.
    let region = || prop_oneof![6 => 0usize..3, 1 => 0usize..10];
    let pay_day = prop_oneof![4 => 135u64..160, 1 => 0u64..500]; // around made_on and the deadline
    prop_oneof![
        2 => (region(), proptest::bool::weighted(0.8), cents.clone(), pay_day, any::<bool>()).prop_map(
            |(region, whole_allocation, cents, day, late_reason)| Step::Pay {
                region,
                whole_allocation,
                cents,
                day,
                late_reason
            }
        ),
        5 => (region(), cents.clone(), day.clone(), 0usize..6, proptest::option::of(0usize..40)).prop_map(
            |(region, cents, day, purpose, authority)| Step::Spend { region, cents, day, purpose, authority }
        ),
        1 => (region(), cents, day.clone()).prop_map(|(region, cents, day)| Step::Recover { region, cents, day }),
        1 => (0usize..64, proptest::option::of(0u64..30)).prop_map(|(target, later_by)| Step::Reverse { target, later_by }),
        1 => (region(), 1i64..40_000_000, day.clone()).prop_map(|(region, cents, day)| Step::Vary { region, cents, day }),
        1 => day.prop_map(|day| Step::Withdraw { day }),
    ]
}

fn day(offset: u64) -> NaiveDate {
    date("2024-04-01")
        .checked_add_days(Days::new(offset))
        .unwrap()
}

fn cents(n: i64) -> Money {
    Money::from_decimal(Decimal::new(n, 2)).unwrap()
}

fn command(ledger: &Ledger, step: &Step) -> Command {
    let d = ledger.state.determination.clone().unwrap();
    let region_name = |i: usize| {
        d.allocations
            .get(i)
            .map(|a| a.region.clone())
            .unwrap_or_else(|| "Atlantis".into())
    };
    match step {
        Step::Pay {
            region,
            whole_allocation,
            cents: c,
            day: o,
            late_reason,
        } => {
            let amount = match d.allocations.get(*region) {
                Some(a) if *whole_allocation => {
                    let paid = ledger
                        .state
                        .allocations
                        .get(&a.region)
                        .map(|f| f.paid)
                        .unwrap_or_default();
                    let left = a.amount.checked_sub(paid).unwrap();
                    if left.is_positive() {
                        left
                    } else {
                        a.amount
                    }
                }
                _ => cents(*c),
            };
            Command::IssuePayment {
                id: ledger.id(),
                determination: ID.into(),
                region: region_name(*region),
                amount,
                date: day(*o),
                reference: None,
                late_reason: late_reason.then(|| "late".to_string()),
            }
        }
        Step::Spend {
            region,
            cents: c,
            day: o,
            purpose,
            authority,
        } => Command::SpendFunds {
            id: ledger.id(),
            determination: ID.into(),
            region: region_name(*region).to_lowercase(),
            amount: cents(*c),
            date: day(*o),
            purpose: d
                .components
                .get(*purpose)
                .map(|c| c.purpose.clone())
                .unwrap_or_else(|| "gold".into()),
            authority: authority.map(|i| {
                d.allocations
                    .get(*region)
                    .and_then(|a| a.authorities.get(i))
                    .cloned()
                    .unwrap_or_else(|| "Nowhere".into())
            }),
            description: None,
            reference: None,
        },
        Step::Recover {
            region,
            cents: c,
            day: o,
        } => ledger.recover(
            &region_name(*region),
            &cents(*c).plain(),
            &day(*o).to_string(),
        ),
        Step::Reverse { target, later_by } => {
            let target = ledger.log[*target % ledger.log.len()].clone();
            let on = later_by.map(|n| {
                target
                    .data
                    .effective_date()
                    .checked_add_days(Days::new(n))
                    .unwrap()
                    .to_string()
            });
            ledger.reverse(&target, on.as_deref())
        }
        Step::Vary {
            region,
            cents: c,
            day: o,
        } => ledger.vary(
            &day(*o).to_string(),
            &[(region_name(*region).as_str(), cents(*c).plain().as_str())],
        ),
        Step::Withdraw { day: o } => ledger.withdraw(&day(*o).to_string()),
    }
}

/// The invariants of the contract, for every region of the state.
fn assert_invariants(state: &State) {
    let d = state.determination.as_ref().unwrap();
    for (region, f) in &state.allocations {
        // What the region is to be paid now, as a variation may have changed it.
        let determined = state.allocated(region);
        assert!(d.allocation(region).is_some(), "{region} is not a region");
        for figure in [f.paid, f.recovered, f.spent] {
            assert!(!figure.is_negative(), "{region}: negative figure in {f:?}");
        }
        assert!(
            f.paid <= determined,
            "{region}: paid {} above determined {determined}",
            f.paid
        );
        assert!(
            f.spent <= f.paid.checked_sub(f.recovered).unwrap(),
            "{region}: spent above net received in {f:?}"
        );
        assert!(
            f.instalments <= d.instalments,
            "{region}: too many instalments"
        );
        assert_eq!(f.instalments as usize, f.payments.len());
        // The last permitted instalment completes the allocation: nothing is left unpayable.
        if f.instalments == d.instalments {
            assert_eq!(
                f.paid, determined,
                "{region}: all instalments paid, yet {f:?}"
            );
        }
        let unreversed: Money = f
            .payments
            .iter()
            .fold(Money::ZERO, |s, p| s.checked_add(p.amount).unwrap());
        assert_eq!(
            unreversed, f.paid,
            "{region}: payments list disagrees with paid"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn accepted_events_never_break_an_invariant(instalments in 1u32..4, steps in proptest::collection::vec(step(), 1..60)) {
        let mut d = d7421();
        d.instalments = instalments;
        let mut ledger = given_empty();
        ledger.accept(ledger.make(d));
        for step in &steps {
            let command = command(&ledger, step);
            let withdrawn = ledger.state.withdrawn.is_some();
            match decide(&ledger.state, command) {
                Ok(events) => {
                    for event in events {
                        // Nothing is paid or spent on a withdrawn determination.
                        prop_assert!(!(withdrawn && matches!(event.data, EventData::PaymentIssued(_) | EventData::FundsSpent(_))));
                        ledger.state = evolve(std::mem::take(&mut ledger.state), &event);
                        ledger.log.push(event);
                    }
                }
                Err(error) => prop_assert!(!error.to_string().is_empty() && !error.to_string().contains('\n')),
            }
            assert_invariants(&ledger.state);
        }
        let replayed = ledger.log.iter().fold(State::default(), evolve);
        prop_assert_eq!(&replayed, &ledger.state);
        let snapshot: State = serde_json::from_slice(&serde_json::to_vec(&ledger.state).unwrap()).unwrap();
        prop_assert_eq!(snapshot, ledger.state);
    }

    #[test]
    fn decide_never_panics_on_any_input(
        made in any::<bool>(),
        kind in 0u8..7,
        text in "\\PC{0,30}",
        other in "[ -~]{0,12}",
        amount in any::<i64>(),
        scale in 0u32..4,
        days in any::<i32>(),
        target_kind in 0u8..5,
    ) {
        let ledger = if made {
            let mut ledger = given_made();
            ledger.accept(ledger.pay("London", "318000", "2024-08-20"));
            ledger.accept(ledger.spend("London", "1000", "2024-09-01", "self-assessment"));
            ledger
        } else {
            given_empty()
        };
        let amount = Money::from_decimal(Decimal::new(amount % 100_000_000_000_000, scale)).unwrap_or(Money::MAX);
        let on = NaiveDate::from_num_days_from_ce_opt(days % 3_000_000).unwrap_or(NaiveDate::MIN);
        let id = Uuid::from_u128(days.unsigned_abs() as u128);
        let target = Event {
            id,
            data: match target_kind {
                0 => EventData::PaymentIssued(PaymentIssued {
                    determination: other.clone(), region: text.clone(), lead_authority: text.clone(), amount,
                    date: on, instalment: 0, reference: None, late: false, late_reason: None,
                }),
                1 => EventData::FundsSpent(FundsSpent {
                    determination: ID.into(), region: "London".into(), amount, date: on, purpose: text.clone(),
                    authority: None, description: None, reference: None,
                }),
                2 => EventData::EventReversed(EventReversed {
                    determination: ID.into(), region: text.clone(), reversed_event_id: id,
                    reversed_type: EventType::FundsSpent, amount, date: on, reversed_date: on, reason: text.clone(),
                }),
                3 => ledger.log.get(1).map(|e| e.data.clone()).unwrap_or(EventData::FundsSpent(FundsSpent {
                    determination: ID.into(), region: "london".into(), amount, date: on, purpose: "x".into(),
                    authority: None, description: None, reference: None,
                })),
                _ => ledger.log.first().map(|e| e.data.clone()).unwrap_or_else(|| EventData::FundsSpent(FundsSpent {
                    determination: ID.into(), region: "London".into(), amount, date: on, purpose: "x".into(),
                    authority: None, description: None, reference: None,
                })),
            },
        };
        let determination = if made { ID.to_string() } else { other.clone() };
        let command = match kind {
            0 => Command::IssuePayment { id, determination, region: text.clone(), amount, date: on, reference: Some(other.clone()), late_reason: Some(text.clone()) },
            1 => Command::SpendFunds { id, determination, region: "london".into(), amount, date: on, purpose: text.clone(), authority: Some(other.clone()), description: Some(text.clone()), reference: None },
            2 => Command::RecoverGrant { id, determination, region: text.clone(), amount, date: on, reason: other.clone() },
            3 => Command::ReverseEvent { id, determination, target, reason: text.clone(), date: Some(on) },
            5 => Command::WithdrawDetermination { id, determination, date: on, reason: text.clone() },
            6 => Command::VaryDetermination { id, determination, date: on, reason: other.clone(), allocations: vec![(text.clone(), amount), ("London".into(), amount)] },
            _ => {
                let mut d = d7421();
                d.id = other.clone();
                d.title = text.clone();
                d.made_on = on;
                Command::MakeDetermination { id, determination: d }
            }
        };
        // Whatever a caller builds, even a forged reversal target, what is
        // accepted keeps the invariants.
        if let Ok(events) = decide(&ledger.state, command) {
            if made {
                let state = events.iter().fold(ledger.state.clone(), evolve);
                assert_invariants(&state);
            }
        }
    }

    #[test]
    fn money_parse_never_panics(input in "\\PC{0,40}") {
        if let Ok(money) = Money::parse(&input) {
            prop_assert!(money.is_positive());
            prop_assert_eq!(Money::parse(&money.plain()).unwrap(), money);
            prop_assert_eq!(Money::parse(&money.to_string()).unwrap(), money);
        }
    }

    #[test]
    fn money_parse_reads_back_what_it_prints(c in 1i64..100_000_000_000_000) {
        let money = Money::from_decimal(Decimal::new(c, 2)).unwrap();
        prop_assert_eq!(Money::parse(&money.to_string()).unwrap(), money);
        prop_assert_eq!(Money::parse(&money.plain()).unwrap(), money);
    }

    #[test]
    fn parse_determination_never_panics(input in "\\PC{0,200}", cut in 0usize..20_000, insert in "[\\[\\]=\"a-z0-9., \n-]{0,20}") {
        let _ = parse_determination(&input);
        let text = builtin_text();
        let at = (0..=cut.min(text.len())).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        let mutated = format!("{}{}{}", &text[..at], insert, &text[at..]);
        if let Err(error) = parse_determination(&mutated) {
            prop_assert!(error.is_malformed());
            prop_assert!(!error.to_string().contains('\n'), "{}", error);
        }
    }
}

fn builtin_text() -> &'static str {
    grant_ledger_domain::builtin_toml(ID).unwrap()
}
