//! Identifiers end to end: `determination check` names the lead authorities the register
//! knows otherwise, in table and JSON, and `--strict` counts them; a file with identifiers
//! round-trips through import and `determination show`; a bad identifier is exit 2
//! naming its key.

mod common;

use common::*;
use serde_json::{json, Value};

const BUILTIN: &str = include_str!("../crates/domain/determinations/31-7421.toml");

fn renamed(regions: &Value) -> Vec<Value> {
    regions
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["lead_authority_register"].is_null())
        .map(|r| json!([r["region"], r["lead_authority_register"]]))
        .collect()
}

#[test]
fn check_json_names_exactly_the_two_renamed_lead_authorities() {
    let l = Ledger::with_determination();
    let regions = l.json_line("determination check 31/7421");
    assert_eq!(
        renamed(&regions),
        vec![
            json!(["South West", {
                "lead_authority": "Wiltshire County Council",
                "official_name": "Wiltshire Council",
                "org_id": "GB-LAE-WIL"
            }]),
            json!(["Yorkshire and Humber", {
                "lead_authority": "North Yorkshire County Council",
                "official_name": "North Yorkshire Council",
                "org_id": "GB-LAE-NYE"
            }]),
        ]
    );
}

#[test]
fn check_table_lists_the_renamed_lead_authorities() {
    let l = Ledger::with_determination();
    let table = l.ok_line("determination check 31/7421").stdout;
    let section = table
        .split("Lead authorities the register knows by another name:")
        .nth(1)
        .unwrap_or_else(|| panic!("no register section in\n{table}"));
    for needle in [
        "Wiltshire County Council",
        "Wiltshire Council",
        "GB-LAE-WIL",
        "North Yorkshire County Council",
        "North Yorkshire Council",
        "GB-LAE-NYE",
    ] {
        assert!(section.contains(needle), "{needle} not in\n{section}");
    }
    assert!(!section.contains("Camden"), "{section}");
}

#[test]
fn check_never_changes_what_was_determined() {
    let l = Ledger::with_determination();
    l.ok_line("determination check 31/7421");
    let balances = l.json_line("balances 31/7421 --region south-west");
    assert_eq!(balances[0]["lead_authority"], "Wiltshire County Council");
    assert_eq!(money(&balances[0]["determined"]), "260600.00");
}

#[test]
fn strict_counts_a_renamed_lead_authority_alone() {
    // A file whose formula reconciles everywhere, so only the name can fail --strict.
    let l = Ledger::empty();
    let file = l.file(
        "one.toml",
        r#"id = "1/1"
title = "One region"
financial_year = "2024-25"
made_on = 2024-08-16
payment_deadline = 2024-08-30
grant_period = { start = 2024-04-01, end = 2025-03-31 }
instalments = 1

[[allocation]]
region = "South West"
lead_authority = "Wiltshire County Council"
org_id = "GB-LAE-WIL"
amount = "1000.00"
authorities = ["Wiltshire"]

[[component]]
purpose = "all"
basis = "per-region"
amount = "1000.00"
"#,
    );
    l.ok(&["determination", "import", &file]);
    let run = l.run_line("determination check 1/1 --strict");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("Wiltshire Council (GB-LAE-WIL)"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("formula"), "{}", run.stderr);
}

#[test]
fn a_file_with_identifiers_round_trips_through_import_and_show() {
    let l = Ledger::empty();
    let file = l.file("31-7421.toml", BUILTIN);
    l.ok(&["determination", "import", &file]);
    let shown = l.json_line("determination show 31/7421");
    assert_eq!(
        shown["funder"],
        json!({"name": "Department for Education", "org_id": "GB-GOVUK-department_for_education"})
    );
    let south_west = &shown["allocations"][6];
    assert_eq!(south_west["region"], "South West");
    assert_eq!(south_west["org_id"], "GB-LAE-WIL");
    assert_eq!(south_west["region_ons_code"], "E12000009");
    assert_eq!(south_west["authority_ons_codes"]["Wiltshire"], "E06000054");
    // The same file again is identical, so nothing is appended.
    l.ok(&["determination", "import", &file]);
    assert_eq!(l.events(), 1);
    let table = l.ok_line("determination show 31/7421").stdout;
    assert!(
        table.contains("GB-GOVUK-department_for_education"),
        "{table}"
    );
    assert!(table.contains("GB-LAE-WIL"), "{table}");
}

#[test]
fn a_file_without_identifiers_imports() {
    let l = Ledger::empty();
    let plain: String = BUILTIN
        .lines()
        .filter(|line| {
            ![
                "org_id",
                "region_ons_code",
                "funder",
                "\"",
                "[allocation.authority_ons_codes]",
            ]
            .iter()
            .any(|start| line.starts_with(start))
        })
        .collect::<Vec<_>>()
        .join("\n");
    let file = l.file("plain.toml", &plain);
    l.ok(&["determination", "import", &file]);
    let shown = l.json_line("determination show 31/7421");
    assert!(shown.get("funder").is_none(), "{shown}");
    assert!(shown["allocations"][0].get("org_id").is_none());
    assert_eq!(
        renamed(&l.json_line("determination check 31/7421")),
        Vec::<Value>::new()
    );
}

#[test]
fn an_unknown_org_id_prefix_is_exit_2_naming_the_key() {
    let l = Ledger::empty();
    let file = l.file("bad.toml", &BUILTIN.replacen("GB-LAE-CMD", "GB-LAX-CMD", 1));
    l.fails(
        &["determination", "import", &file],
        2,
        &["allocation[3].org_id", "GB-LAX-CMD"],
    );
}

#[test]
fn a_malformed_ons_code_is_exit_2_naming_the_key() {
    let l = Ledger::empty();
    let file = l.file(
        "bad.toml",
        &BUILTIN.replacen("\"E12000007\"", "\"E12-7\"", 1),
    );
    l.fails(
        &["determination", "import", &file],
        2,
        &["allocation[3].region_ons_code", "E12-7"],
    );
}
