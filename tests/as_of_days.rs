//! `--as-of` from the per-day models (issue 12): a back-dated event counts from its own day
//! on, a ledger without day models (written before they existed) still answers by replaying
//! the log until `rebuild` makes them, and a day model changed outside the ledger is
//! refused naming `rebuild`. Each test runs the real binary on its own ledger.

mod common;

use std::path::Path;

use common::{words, Ledger};

const PAY_LONDON: &str = "pay 31/7421 --region london --amount 318000 --date 2024-08-20";
const SPEND_LATER: &str =
    "spend 31/7421 --region london --amount 1000 --date 2024-09-10 --purpose data-coordinator";
/// Recorded after `SPEND_LATER`, dated before it.
const SPEND_BACK_DATED: &str =
    "spend 31/7421 --region london --amount 500 --date 2024-09-01 --purpose self-assessment";

/// London's `spent` as of `date`.
fn spent_as_of(l: &Ledger, date: &str) -> String {
    let rows = l.json(&["balances", "--region", "london", "--as-of", date]);
    common::money(&rows[0]["spent"]).to_string()
}

/// A paid ledger with a spend and a back-dated spend.
fn with_back_dated_spend() -> Ledger {
    let l = Ledger::with_determination();
    l.ok_line(PAY_LONDON);
    l.ok_line(SPEND_LATER);
    l.ok_line(SPEND_BACK_DATED);
    l
}

fn model_names(dir: &Path) -> Vec<String> {
    let db = common::sled_open(dir);
    let models = db.open_tree("models").expect("models tree");
    models
        .iter()
        .keys()
        .map(|k| String::from_utf8_lossy(&k.expect("key")).into_owned())
        .collect()
}

/// The answers of `balances --as-of` on the days around the spends.
fn answers(l: &Ledger) -> Vec<String> {
    [
        "2024-08-31",
        "2024-09-01",
        "2024-09-09",
        "2024-09-10",
        "2025-01-01",
    ]
    .iter()
    .map(|d| spent_as_of(l, d))
    .collect()
}

#[test]
fn a_back_dated_spend_counts_from_its_own_day_on() {
    let l = with_back_dated_spend();
    assert_eq!(
        answers(&l),
        ["0.00", "500.00", "500.00", "1500.00", "1500.00"]
    );
    let names = model_names(&l.dir());
    for day in [
        "asof",
        "asof/2024-08-20",
        "asof/2024-09-01",
        "asof/2024-09-10",
    ] {
        assert!(names.iter().any(|n| n == day), "no {day} in {names:?}");
    }
    assert_eq!(l.run(&["verify"]).code, 0);
}

#[test]
fn spend_report_as_of_a_day_counts_what_was_spent_by_then() {
    let l = with_back_dated_spend();
    let report = l.json(&[
        "spend-report",
        "31/7421",
        "--region",
        "london",
        "--as-of",
        "2024-09-05",
    ]);
    let spent = |purpose: &str| {
        report
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["purpose"] == purpose))
            .map(|r| common::money(&r["spent"]).to_string())
    };
    assert_eq!(spent("self-assessment").as_deref(), Some("500.00"));
    assert_eq!(spent("data-coordinator").as_deref(), Some("0.00"));
}

#[test]
fn a_ledger_without_day_models_answers_by_replay_until_a_rebuild_makes_them() {
    let l = with_back_dated_spend();
    let expected = answers(&l);
    // As a ledger written before day models existed: none stored.
    {
        let names = model_names(&l.dir());
        let db = common::sled_open(&l.dir());
        let models = db.open_tree("models").expect("models tree");
        for name in names {
            if name == "asof" || name.starts_with("asof/") {
                models.remove(name.as_bytes()).expect("remove");
            }
        }
        db.flush().expect("flush");
    }
    assert_eq!(answers(&l), expected);
    // A write to such a ledger keeps no day models (it has none to keep in step).
    l.ok_line(
        "spend 31/7421 --region london --amount 1 --date 2025-02-01 --purpose data-coordinator",
    );
    assert!(!model_names(&l.dir()).iter().any(|n| n == "asof"));
    assert_eq!(l.run(&["verify"]).code, 0);
    l.ok(&words("rebuild --reason day-models"));
    assert!(model_names(&l.dir()).iter().any(|n| n == "asof/2025-02-01"));
    assert_eq!(spent_as_of(&l, "2025-02-01"), "1501.00");
    assert_eq!(answers(&l), expected);
    assert_eq!(l.run(&["verify"]).code, 0);
}

#[test]
fn a_day_model_changed_outside_the_ledger_is_refused_naming_rebuild() {
    let l = with_back_dated_spend();
    {
        let db = common::sled_open(&l.dir());
        let models = db.open_tree("models").expect("models tree");
        let name = "asof/2024-09-01";
        let mut bytes = models.get(name).expect("get").expect("the model").to_vec();
        let at = bytes
            .windows(3)
            .position(|w| w == b"500")
            .expect("the day model holds the spend");
        bytes[at] = b'4';
        models.insert(name, bytes).expect("insert");
        db.flush().expect("flush");
    }
    let run = l.run(&words("balances --as-of 2024-09-05"));
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr.contains("asof/2024-09-01") && run.stderr.contains("grant-ledger rebuild"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("400"), "{}", run.stdout);
    l.ok(&words("rebuild --reason edited"));
    assert_eq!(spent_as_of(&l, "2024-09-05"), "500.00");
}
