//! The commands a simulated run drives through the application layer, and the seeded
//! generator that chooses them: the run is the seed.

use std::str::FromStr;

use chrono::NaiveDate;
use grant_ledger_domain::Money;
use grant_ledger_projections::{Api, LedgerError, PayRequest, SpendRequest};

/// A small deterministic generator (xorshift64*): the run is the seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

pub const REGIONS: [(&str, &str); 4] = [
    ("London", "318000"),
    ("North East", "239600"),
    ("South West", "260600"),
    ("East Midlands", "233200"),
];
pub const STEPS: usize = 40;

/// One command of the run, kept so that a failed one can be retried with its key.
#[derive(Clone, Debug)]
pub enum Step {
    Pay(usize),
    Spend { region: usize, pence: u64 },
    Import { region: usize, rows: usize },
}

impl Step {
    /// How many events the command appends, all under keys starting with its key.
    pub fn events(&self) -> usize {
        match self {
            Step::Import { rows, .. } => *rows,
            _ => 1,
        }
    }
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::from_str(text).unwrap_or_default()
}

pub fn run_step(api: &dyn Api, key: &str, step: &Step) -> Result<(), LedgerError> {
    match step {
        Step::Pay(r) => api
            .pay(
                Some(key),
                PayRequest {
                    determination: "31/7421".into(),
                    region: REGIONS[*r].0.into(),
                    amount: Money::from_str(REGIONS[*r].1).unwrap_or_default(),
                    date: date("2024-08-20"),
                    reference: None,
                    late_reason: None,
                },
            )
            .map(|_| ()),
        Step::Spend { region, pence } => api
            .spend(
                Some(key),
                SpendRequest {
                    determination: "31/7421".into(),
                    region: REGIONS[*region].0.into(),
                    amount: Money::from_str(&format!("{}.{:02}", pence / 100, pence % 100))
                        .unwrap_or_default(),
                    date: date("2024-10-01"),
                    purpose: "data-coordinator".into(),
                    authority: None,
                    description: None,
                    reference: None,
                },
            )
            .map(|_| ()),
        Step::Import { region, rows } => {
            let mut csv = String::from(
                "determination,region,amount,date,purpose,authority,description,reference,key\n",
            );
            for row in 0..*rows {
                csv.push_str(&format!(
                    "31/7421,{},1.00,2024-10-02,data-coordinator,,,,{key}-row-{row}\n",
                    REGIONS[*region].0
                ));
            }
            api.import_spends(
                Some(key),
                Box::new(std::io::Cursor::new(csv.into_bytes())),
                &mut |_| {},
            )
            .map(|_| ())
        }
    }
}
