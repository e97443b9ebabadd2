//! Property tests over random command sequences on 31/7421: the incrementally maintained
//! models always equal a fresh replay of the log (and what a reopen would load), and no
//! allocation ever shows more spent than received, and a region's spend-report lines
//! always add up to its balance.

use std::sync::Arc;

use chrono::{Days, NaiveDate, TimeZone, Utc};
use grant_ledger_domain::{builtin, Command, Money};
use grant_ledger_store::{EventStore, FixedClock, MemoryStore};
use proptest::prelude::*;
use uuid::Uuid;

use crate::error::ErrorKind;
use crate::ledger::Ledger;
use crate::money_ops::{minus, plus};
use crate::projection::Projections;
use crate::Caller;
use crate::{SpendReportBy, SpendReportQuery};

const REGIONS: [&str; 9] = [
    "East Midlands",
    "East of England",
    "London",
    "North East",
    "North West",
    "South East",
    "South West",
    "West Midlands",
    "Yorkshire and Humber",
];
const PURPOSES: [&str; 4] = [
    "data-coordinator",
    "sector-led-improvement",
    "self-assessment",
    "national-framework",
];

#[derive(Debug, Clone)]
enum Op {
    Pay {
        region: usize,
        late: bool,
    },
    Spend {
        region: usize,
        pounds: i64,
        purpose: usize,
        day: u64,
    },
    Recover {
        region: usize,
        pounds: i64,
        day: u64,
    },
    Reverse {
        back: u64,
        dated: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..9usize, any::<bool>()).prop_map(|(region, late)| Op::Pay { region, late }),
        (0..9usize, 1..120_000i64, 0..4usize, 0..200u64).prop_map(
            |(region, pounds, purpose, day)| Op::Spend {
                region,
                pounds,
                purpose,
                day
            }
        ),
        (0..9usize, 1..50_000i64, 0..200u64).prop_map(|(region, pounds, day)| Op::Recover {
            region,
            pounds,
            day
        }),
        (1..6u64, any::<bool>()).prop_map(|(back, dated)| Op::Reverse { back, dated }),
    ]
}

fn day(n: u64) -> NaiveDate {
    let start = NaiveDate::from_ymd_opt(2024, 9, 1).unwrap_or_default();
    start.checked_add_days(Days::new(n)).unwrap_or(start)
}

fn run(ops: &[Op]) -> Ledger<MemoryStore> {
    let clock = Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2024, 9, 1, 0, 0, 0).unwrap(),
    ));
    let ledger = Ledger::with_store(MemoryStore::new(clock)).unwrap();
    let determination = builtin("31/7421").unwrap().unwrap();
    let amounts: Vec<Money> = determination.allocations.iter().map(|a| a.amount).collect();
    ledger
        .record(
            &Caller::owner("p"),
            None,
            Command::MakeDetermination {
                id: Uuid::now_v7(),
                determination,
            },
        )
        .unwrap();
    for op in ops {
        let d = "31/7421".to_string();
        let result = match op {
            Op::Pay { region, late } => ledger.record(
                &Caller::owner("p"),
                None,
                Command::IssuePayment {
                    id: Uuid::now_v7(),
                    determination: d,
                    region: REGIONS[*region].into(),
                    amount: amounts[*region],
                    date: if *late {
                        day(5)
                    } else {
                        day(0) - Days::new(10)
                    },
                    reference: None,
                    late_reason: late.then(|| "system outage".to_string()),
                },
            ),
            Op::Spend {
                region,
                pounds,
                purpose,
                day: n,
            } => ledger.record(
                &Caller::owner("p"),
                None,
                Command::SpendFunds {
                    id: Uuid::now_v7(),
                    determination: d,
                    region: REGIONS[*region].into(),
                    amount: Money::from_pounds(*pounds).unwrap(),
                    date: day(*n),
                    purpose: PURPOSES[*purpose].into(),
                    authority: None,
                    description: None,
                    reference: None,
                },
            ),
            Op::Recover {
                region,
                pounds,
                day: n,
            } => ledger.record(
                &Caller::owner("p"),
                None,
                Command::RecoverGrant {
                    id: Uuid::now_v7(),
                    determination: d,
                    region: REGIONS[*region].into(),
                    amount: Money::from_pounds(*pounds).unwrap(),
                    date: day(*n),
                    reason: "clawback".into(),
                },
            ),
            Op::Reverse { back, dated } => {
                let head = ledger.store().head().unwrap().position;
                let target = head.saturating_sub(*back).max(1).to_string();
                ledger.reverse(
                    &Caller::owner("p"),
                    None,
                    &target,
                    "correction",
                    dated.then(|| day(250)),
                )
            }
        };
        if let Err(e) = result {
            assert_ne!(e.kind(), ErrorKind::Unavailable, "{e}");
        }
    }
    ledger
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn replay_equals_the_stored_projection(ops in proptest::collection::vec(op(), 0..40)) {
        let ledger = run(&ops);
        let live = ledger.lock().clone();
        let fresh = Projections::replay(ledger.store()).unwrap();
        prop_assert_eq!(&live, &fresh);
        let reopened = Projections::open(ledger.store()).unwrap();
        prop_assert_eq!(&reopened, &fresh);
        prop_assert!(ledger.verify().is_ok());
        // As of a date after everything, the streamed answer is the stored one.
        let late = NaiveDate::from_ymd_opt(2030, 1, 1).unwrap();
        prop_assert_eq!(ledger.balances(None, None, Some(late)).unwrap(), ledger.balances(None, None, None).unwrap());
    }

    #[test]
    fn spent_never_exceeds_received(ops in proptest::collection::vec(op(), 0..40)) {
        let ledger = run(&ops);
        for row in ledger.balances(None, None, None).unwrap() {
            prop_assert!(row.spent <= minus(row.paid, row.recovered), "{:?}", row);
            prop_assert!(!row.unspent.is_negative(), "{:?}", row);
            prop_assert!(row.paid <= row.determined, "{:?}", row);
        }
        for row in ledger.spend_report(&SpendReportQuery::default()).unwrap() {
            prop_assert!(!row.spent.is_negative(), "{:?}", row);
        }
    }

    #[test]
    fn a_regions_spend_report_lines_reconcile_with_its_balance(
        ops in proptest::collection::vec(op(), 0..40),
        by_authority in any::<bool>(),
        as_of in proptest::option::of(0..260u64),
    ) {
        let ledger = run(&ops);
        let as_of = as_of.map(day);
        let query = SpendReportQuery {
            by: if by_authority { SpendReportBy::Authority } else { SpendReportBy::Purpose },
            as_of,
            ..SpendReportQuery::default()
        };
        let report = ledger.spend_report(&query).unwrap();
        for balance in ledger.balances(None, None, as_of).unwrap() {
            let remaining = report
                .iter()
                .filter(|r| r.region == balance.region)
                .fold(Money::ZERO, |sum, r| plus(sum, r.remaining));
            prop_assert_eq!(remaining, plus(balance.unspent, balance.unpaid), "{:?}", balance);
        }
    }
}
