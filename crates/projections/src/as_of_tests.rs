//! Property test of the per-day models: over random command sequences on two determinations
//! (one made during the sequence, later than the other), with back-dated payments, spends,
//! recoveries, reversals, variations and withdrawals, single commands and many-row imports,
//! the as-of answer read from the day models equals the replay of the log on every day.

use std::sync::Arc;

use chrono::{Days, NaiveDate, TimeZone, Utc};
use grant_ledger_domain::{builtin, Command, Determination, Money};
use grant_ledger_store::{EventStore, FixedClock, MemoryStore};
use proptest::prelude::*;
use uuid::Uuid;

use crate::ledger::Ledger;
use crate::rows::SpendRow;
use crate::Caller;

const FIRST: &str = "31/7421";
const SECOND: &str = "31/7499";
const PURPOSES: [&str; 3] = ["data-coordinator", "self-assessment", "national-framework"];

#[derive(Debug, Clone)]
enum Op {
    MakeSecond,
    Pay {
        second: bool,
        region: usize,
        day: u64,
    },
    Spend(Spend),
    Import(Vec<Spend>),
    Recover {
        region: usize,
        pounds: i64,
        day: u64,
    },
    Reverse {
        back: u64,
        day: Option<u64>,
    },
    Vary {
        second: bool,
        region: usize,
        pounds: i64,
        day: u64,
    },
    Withdraw {
        second: bool,
        day: u64,
    },
}

#[derive(Debug, Clone)]
struct Spend {
    second: bool,
    region: usize,
    pounds: i64,
    purpose: usize,
    authority: bool,
    day: u64,
}

fn spend() -> impl Strategy<Value = Spend> {
    (
        any::<bool>(),
        0..9usize,
        1..20_000i64,
        0..3usize,
        any::<bool>(),
        0..120u64,
    )
        .prop_map(|(second, region, pounds, purpose, authority, day)| Spend {
            second,
            region,
            pounds,
            purpose,
            authority,
            day,
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => Just(Op::MakeSecond),
        3 => (any::<bool>(), 0..9usize, 0..120u64)
            .prop_map(|(second, region, day)| Op::Pay { second, region, day }),
        6 => spend().prop_map(Op::Spend),
        2 => proptest::collection::vec(spend(), 1..12).prop_map(Op::Import),
        2 => (0..9usize, 1..30_000i64, 0..120u64)
            .prop_map(|(region, pounds, day)| Op::Recover { region, pounds, day }),
        2 => (1..8u64, proptest::option::of(0..130u64))
            .prop_map(|(back, day)| Op::Reverse { back, day }),
        1 => (any::<bool>(), 0..9usize, 100_000..2_000_000i64, 0..120u64).prop_map(
            |(second, region, pounds, day)| Op::Vary { second, region, pounds, day }
        ),
        1 => (any::<bool>(), 0..130u64).prop_map(|(second, day)| Op::Withdraw { second, day }),
    ]
}

/// Day `n` of the sequence: from a week before the first determination was made.
fn day(n: u64) -> NaiveDate {
    let start = NaiveDate::from_ymd_opt(2024, 8, 9).unwrap_or_default();
    start.checked_add_days(Days::new(n)).unwrap_or(start)
}

fn second_determination(first: &Determination) -> Determination {
    let mut d = first.clone();
    d.id = SECOND.to_string();
    d.made_on = day(40);
    d.payment_deadline = day(60);
    d
}

struct Run {
    ledger: Ledger<MemoryStore>,
    first: Determination,
}

impl Run {
    fn id(second: bool) -> String {
        if second { SECOND } else { FIRST }.to_string()
    }

    fn region(&self, region: usize) -> String {
        self.first.allocations[region % self.first.allocations.len()]
            .region
            .clone()
    }

    fn spend_row(&self, s: &Spend, line: u64) -> SpendRow {
        let allocation = &self.first.allocations[s.region % self.first.allocations.len()];
        SpendRow {
            line,
            determination: Run::id(s.second),
            region: allocation.region.clone(),
            amount: Money::from_pounds(s.pounds).unwrap_or(Money::ZERO),
            date: day(s.day),
            purpose: PURPOSES[s.purpose].to_string(),
            authority: s
                .authority
                .then(|| allocation.authorities.first().cloned())
                .flatten(),
            description: None,
            reference: None,
            key: None,
        }
    }

    fn apply(&self, op: &Op) {
        let owner = Caller::owner("p");
        let command = match op {
            Op::MakeSecond => Command::MakeDetermination {
                id: Uuid::now_v7(),
                determination: second_determination(&self.first),
            },
            Op::Pay {
                second,
                region,
                day: n,
            } => {
                let deadline = if *second {
                    day(60)
                } else {
                    self.first.payment_deadline
                };
                Command::IssuePayment {
                    id: Uuid::now_v7(),
                    determination: Run::id(*second),
                    region: self.region(*region),
                    amount: self.first.allocations[*region].amount,
                    date: day(*n),
                    reference: None,
                    late_reason: (day(*n) > deadline).then(|| "late".to_string()),
                }
            }
            Op::Spend(s) => {
                let row = self.spend_row(s, 1);
                Command::SpendFunds {
                    id: Uuid::now_v7(),
                    determination: row.determination,
                    region: row.region,
                    amount: row.amount,
                    date: row.date,
                    purpose: row.purpose,
                    authority: row.authority,
                    description: None,
                    reference: None,
                }
            }
            Op::Import(spends) => {
                let mut rows = spends
                    .iter()
                    .enumerate()
                    .map(|(i, s)| Ok(self.spend_row(s, i as u64 + 2)));
                // Refused as a whole when any row is: that is fine here.
                let _ = self.ledger.import_spends(&owner, &mut rows, &mut |_| {});
                return;
            }
            Op::Recover {
                region,
                pounds,
                day: n,
            } => Command::RecoverGrant {
                id: Uuid::now_v7(),
                determination: FIRST.to_string(),
                region: self.region(*region),
                amount: Money::from_pounds(*pounds).unwrap_or(Money::ZERO),
                date: day(*n),
                reason: "clawback".into(),
            },
            Op::Reverse { back, day: n } => {
                let head = self.ledger.store().head().map_or(0, |h| h.position);
                let target = head.saturating_sub(*back).max(1).to_string();
                let _ = self
                    .ledger
                    .reverse(&owner, None, &target, "correction", n.map(day));
                return;
            }
            Op::Vary {
                second,
                region,
                pounds,
                day: n,
            } => Command::VaryDetermination {
                id: Uuid::now_v7(),
                determination: Run::id(*second),
                date: day(*n),
                reason: "varied".into(),
                allocations: vec![(
                    self.region(*region),
                    Money::from_pounds(*pounds).unwrap_or(Money::ZERO),
                )],
            },
            Op::Withdraw { second, day: n } => Command::WithdrawDetermination {
                id: Uuid::now_v7(),
                determination: Run::id(*second),
                date: day(*n),
                reason: "withdrawn".into(),
            },
        };
        // Refusals (a date before the determination, an overspend...) are part of the run.
        let _ = self.ledger.record(&owner, None, command);
    }
}

fn run(ops: &[Op]) -> Ledger<MemoryStore> {
    let clock = Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2024, 9, 1, 0, 0, 0).unwrap(),
    ));
    let ledger = Ledger::with_store(MemoryStore::new(clock)).unwrap();
    let first = builtin(FIRST).unwrap().unwrap();
    ledger
        .record(
            &Caller::owner("p"),
            None,
            Command::MakeDetermination {
                id: Uuid::now_v7(),
                determination: first.clone(),
            },
        )
        .unwrap();
    let run = Run { ledger, first };
    for op in ops {
        run.apply(op);
    }
    run.ledger
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn as_of_from_the_day_model_equals_the_replay(ops in proptest::collection::vec(op(), 0..32)) {
        let ledger = run(&ops);
        prop_assert!(ledger.snapshot().days.kept());
        // Every day an event can fall on, and the days just before and after them all.
        for n in 0..=132 {
            let date = day(n);
            let fast = ledger.as_of(date, true).unwrap();
            let replay = ledger.replay_as_of(date, true).unwrap();
            prop_assert_eq!(&fast.balances, &replay.balances, "as of {}", date);
            prop_assert_eq!(&fast.spend, &replay.spend, "as of {}", date);
        }
        prop_assert!(ledger.verify().is_ok());
    }
}
