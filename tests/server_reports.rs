//! End-to-end through the real `grant-ledger serve`: the report options and history
//! filters of issue 11, each run as `--server` commands (and, where the HTTP parameter is
//! the point, as plain requests).

mod server_common;

use serde_json::Value;
use server_common::{Shared, ID};

fn rows(v: &Value) -> &Vec<Value> {
    v.as_array().unwrap_or_else(|| panic!("not an array: {v}"))
}

/// A JSON money string ("11400.00") in pence, exactly: money is never summed as floats.
fn pence(amount: &Value) -> i64 {
    amount
        .as_str()
        .and_then(|a| a.replace('.', "").parse().ok())
        .unwrap_or_else(|| panic!("not money: {amount}"))
}

fn spent_on(report: &Value, purpose: &str) -> String {
    rows(report)
        .iter()
        .find(|r| r["purpose"] == purpose)
        .and_then(|r| r["spent"].as_str())
        .unwrap_or_else(|| panic!("no {purpose} line in {report}"))
        .to_string()
}

#[test]
fn through_the_server_spend_report_by_authority_gives_a_line_per_authority() {
    let s = Shared::paid();
    let report = s
        .server
        .cli(
            s.token("reader"),
            &[
                "spend-report",
                ID,
                "--region",
                "south-west",
                "--by",
                "authority",
                "--format",
                "json",
            ],
        )
        .json();
    let authorities = rows(&report)
        .iter()
        .filter(|r| r["line"] == "authority")
        .count();
    assert_eq!(authorities, 15, "{report}");
    assert_eq!(
        rows(&report).last().map(|r| &r["line"]),
        Some(&"region-wide".into())
    );
}

#[test]
fn through_the_server_spend_report_as_of_leaves_out_later_spend() {
    let s = Shared::paid();
    // Dated 2024-09-01.
    s.spend("sw", "south-west", "100");
    let report = |extra: &[&str]| {
        let mut args = vec![
            "spend-report",
            ID,
            "--region",
            "south-west",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        s.server.cli(s.token("reader"), &args).json()
    };
    assert_eq!(
        spent_on(&report(&["--as-of", "2024-08-31"]), "data-coordinator"),
        "0.00"
    );
    assert_eq!(spent_on(&report(&[]), "data-coordinator"), "100.00");
}

#[test]
fn through_the_server_the_above_formula_line_reconciles_with_balances() {
    let s = Shared::paid();
    s.spend("sw", "south-west", "100");
    let reader = s.token("reader");
    let report = s
        .server
        .cli(
            reader,
            &[
                "spend-report",
                ID,
                "--region",
                "south-west",
                "--format",
                "json",
            ],
        )
        .json();
    let above = rows(&report)
        .iter()
        .find(|r| r["line"] == "above-formula")
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(above["budget"], "11400.00");
    let remaining: i64 = rows(&report).iter().map(|r| pence(&r["remaining"])).sum();
    let balances = s
        .server
        .cli(
            reader,
            &["balances", ID, "--region", "south-west", "--format", "json"],
        )
        .json();
    // Paid in full, so nothing is unpaid: the lines' remaining is exactly the unspent.
    assert_eq!(remaining, pence(&balances[0]["unspent"]), "{report}");
}

#[test]
fn spend_report_without_a_determination_parameter_reports_every_determination() {
    let s = Shared::paid();
    let answer = s
        .http
        .get("/api/v1/spend-report", Some(s.token("reader")))
        .status(200)
        .json();
    assert!(!rows(&answer).is_empty());
    assert!(
        rows(&answer).iter().all(|r| r["determination"] == ID),
        "{answer}"
    );
}

#[test]
fn spend_report_by_an_unknown_division_is_400() {
    let s = Shared::paid();
    let answer = s
        .http
        .get("/api/v1/spend-report?by=council", Some(s.token("reader")));
    assert_eq!(answer.status, 400, "{answer:?}");
    assert!(
        answer.body.contains("purpose or authority"),
        "{}",
        answer.body
    );
}

#[test]
fn through_the_server_spend_report_without_an_id_reports_both_of_two_determinations() {
    let s = Shared::paid();
    let file = s.dir.file(
        "small.toml",
        include_str!("fixtures/small-determination-9-1.toml").as_bytes(),
    );
    let imported = s
        .server
        .cli(s.token("admin"), &["determination", "import", &file]);
    assert_eq!(imported.code, 0, "{imported:?}");
    let report = s
        .server
        .cli(s.token("reader"), &["spend-report", "--format", "json"])
        .json();
    let mut ids: Vec<&str> = rows(&report)
        .iter()
        .filter_map(|r| r["determination"].as_str())
        .collect();
    ids.dedup();
    assert_eq!(ids, vec![ID, "9/1"], "{report}");
}
