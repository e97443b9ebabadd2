//! End-to-end tests of `spend-report`'s lines (issue 11: finding 5, `--by authority`,
//! `--as-of`, every determination), each running the real binary on its own ledger.

mod common;

use common::{cmd, money, Ledger, ID};
use serde_json::Value;

fn rows(v: &Value) -> &Vec<Value> {
    v.as_array().unwrap_or_else(|| panic!("not an array: {v}"))
}

/// The sum of a money field over rows, in pence.
fn pence(rows: &[Value], field: &str) -> i64 {
    rows.iter()
        .map(|r| {
            let text = money(&r[field]).replace('.', "");
            text.parse::<i64>().unwrap_or_else(|_| panic!("{r}"))
        })
        .sum()
}

/// What a report's line for `purpose` says was spent.
fn spent_on(report: &Value, purpose: &str) -> String {
    rows(report)
        .iter()
        .find(|r| r["purpose"] == purpose)
        .map(|r| money(&r["spent"]).to_string())
        .unwrap_or_else(|| panic!("no {purpose} line in {report}"))
}

fn south_west_spent_and_recovered() -> Ledger {
    let l = Ledger::paid();
    l.ok_line(
        "spend 31/7421 --region south-west --amount 6400 --date 2024-10-01 --purpose data-coordinator",
    );
    l.ok(&cmd(
        "recover 31/7421 --region south-west --amount 1500 --date 2024-11-01 --reason {}",
        &["unspent at year end"],
    ));
    l
}

#[test]
fn a_regions_remaining_in_spend_report_is_its_unspent_in_balances() {
    let l = south_west_spent_and_recovered();
    let report = l.json_line("spend-report 31/7421 --region south-west");
    let balances = l.json_line("balances 31/7421 --region south-west");
    assert_eq!(
        pence(rows(&report), "remaining"),
        pence(rows(&balances), "unspent"),
        "{report}"
    );
}

#[test]
fn the_gap_between_allocation_and_formula_is_its_own_line_with_the_recoveries() {
    let l = south_west_spent_and_recovered();
    let report = l.json_line("spend-report 31/7421 --region south-west");
    let above: Vec<&Value> = rows(&report)
        .iter()
        .filter(|r| r["line"] == "above-formula")
        .collect();
    assert_eq!(above.len(), 1, "{report}");
    // £260,600 determined against £249,200 of formula components.
    assert_eq!(money(&above[0]["budget"]), "11400.00");
    assert_eq!(money(&above[0]["recovered"]), "1500.00");
    assert_eq!(above[0]["purpose"], Value::Null);
    let table = l.ok_line("spend-report 31/7421 --region south-west").stdout;
    assert!(table.contains("determined above formula"), "{table}");
    assert!(table.contains("recovered"), "{table}");
}

#[test]
fn by_authority_each_authority_is_budgeted_the_per_authority_component() {
    let l = Ledger::paid();
    l.ok(&cmd(
        "spend 31/7421 --region south-west --amount 700 --date 2024-10-01 --purpose data-coordinator --authority {}",
        &["Bristol, City of"],
    ));
    let report = l.json_line("spend-report 31/7421 --region south-west --by authority");
    let bristol = rows(&report)
        .iter()
        .find(|r| r["authority"] == "Bristol, City of")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(bristol["line"], "authority");
    assert_eq!(money(&bristol["budget"]), "3200.00");
    assert_eq!(money(&bristol["spent"]), "700.00");
    assert_eq!(money(&bristol["remaining"]), "2500.00");
}

#[test]
fn by_authority_the_lines_add_up_to_the_allocation() {
    let l = south_west_spent_and_recovered();
    let report = l.json_line("spend-report 31/7421 --region south-west --by authority");
    // 15 authorities and one region-wide line.
    assert_eq!(rows(&report).len(), 16, "{report}");
    assert_eq!(pence(rows(&report), "budget"), 26_060_000);
    let wide = rows(&report).last().unwrap_or_else(|| panic!("{report}"));
    assert_eq!(wide["line"], "region-wide");
    assert_eq!(money(&wide["spent"]), "6400.00");
    assert_eq!(money(&wide["recovered"]), "1500.00");
}

#[test]
fn spend_report_as_of_a_date_leaves_out_spend_effective_after_it() {
    let l = Ledger::paid();
    l.ok_line(
        "spend 31/7421 --region london --amount 100 --date 2024-10-01 --purpose data-coordinator",
    );
    l.ok_line(
        "spend 31/7421 --region london --amount 40 --date 2024-12-01 --purpose data-coordinator",
    );
    let spent = |line: &str| spent_on(&l.json_line(line), "data-coordinator");
    assert_eq!(
        spent("spend-report 31/7421 --region london --as-of 2024-11-01"),
        "100.00"
    );
    assert_eq!(spent("spend-report 31/7421 --region london"), "140.00");
}

#[test]
fn spend_report_as_of_leaves_out_a_reversed_spend_from_its_date_on() {
    let l = Ledger::paid();
    let spend = l.json_line(
        "spend 31/7421 --region london --amount 100 --date 2024-10-01 --purpose data-coordinator",
    );
    let position = spend["position"].to_string();
    l.ok(&[
        "reverse",
        &position,
        "--reason",
        "duplicate",
        "--date",
        "2024-11-01",
    ]);
    let spent = |as_of: &str| {
        let report = l.json(&["spend-report", ID, "--region", "london", "--as-of", as_of]);
        spent_on(&report, "data-coordinator")
    };
    assert_eq!(spent("2024-10-15"), "100.00");
    assert_eq!(spent("2024-11-01"), "0.00");
}

#[test]
fn spend_report_without_an_id_reports_every_determination() {
    let l = Ledger::with_determination();
    let file = l.file(
        "small.toml",
        include_str!("fixtures/small-determination-9-1.toml"),
    );
    l.ok(&["determination", "import", &file]);
    let report = l.json_line("spend-report");
    let mut ids: Vec<&str> = rows(&report)
        .iter()
        .filter_map(|r| r["determination"].as_str())
        .collect();
    ids.dedup();
    assert_eq!(ids, vec![ID, "9/1"], "{report}");
}

#[test]
fn spend_report_by_something_else_is_malformed() {
    Ledger::with_determination().fails_line(
        "spend-report --by council",
        2,
        &["purpose or authority"],
    );
}

#[test]
fn an_allocation_varied_below_its_formula_has_a_line_determined_below_formula() {
    let l = Ledger::with_determination();
    let cut = l.file(
        "cut.toml",
        "[[allocation]]\nregion = \"South West\"\namount = \"240000\"\n",
    );
    l.ok(&cmd(
        "determination vary 31/7421 {} --reason cut --date 2024-08-20",
        &[&cut],
    ));
    let report = l.json_line("spend-report 31/7421 --region south-west");
    let gap: Vec<&Value> = rows(&report)
        .iter()
        .filter(|r| r["purpose"].is_null())
        .collect();
    assert_eq!(gap.len(), 1, "{report}");
    // £240,000 determined against £249,200 of formula components.
    assert_eq!(gap[0]["line"], "below-formula");
    assert_eq!(money(&gap[0]["budget"]), "-9200.00");
    let table = l.ok_line("spend-report 31/7421 --region south-west").stdout;
    assert!(table.contains("determined below formula"), "{table}");
    assert!(!table.contains("above formula"), "{table}");
}

#[test]
fn a_withdrawn_determination_has_nothing_remaining_in_spend_report() {
    let l = Ledger::with_determination();
    l.ok_line("determination withdraw 31/7421 --reason superseded --date 2024-08-20");
    let report = l.json_line("spend-report 31/7421");
    assert!(!rows(&report).is_empty(), "{report}");
    for line in rows(&report) {
        assert_eq!(
            (money(&line["budget"]), money(&line["remaining"])),
            ("0.00", "0.00"),
            "{line}"
        );
    }
    // The day before the withdrawal its budgets stood.
    let before = l.json_line("spend-report 31/7421 --as-of 2024-08-19");
    assert!(pence(rows(&before), "remaining") > 0, "{before}");
}
