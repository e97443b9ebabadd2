//! The determination file: the built-in one parses, and every kind of broken
//! file is refused as malformed with the offending key named.

use grant_ledger_domain::{
    builtin, builtin_toml, parse_determination, stream_for, Basis, BUILTIN_IDS,
};

fn builtin_text() -> &'static str {
    builtin_toml("31/7421").unwrap()
}

/// The built-in file with one line replaced, to break exactly one thing.
fn with(from: &str, to: &str) -> String {
    let text = builtin_text();
    assert!(
        text.contains(from),
        "fixture text {from:?} not in the built-in file"
    );
    text.replacen(from, to, 1)
}

fn malformed(text: &str, expected: &str) {
    let error = parse_determination(text).unwrap_err();
    assert!(error.is_malformed(), "{error}");
    assert!(
        error.to_string().contains(expected),
        "{error:?} should contain {expected:?}"
    );
    assert!(
        !error.to_string().contains('\n'),
        "{error:?} should be one line"
    );
}

#[test]
fn the_builtin_determination_parses_with_its_header() {
    assert_eq!(BUILTIN_IDS, &["31/7421"]);
    let d = builtin("31/7421").unwrap().unwrap();
    assert_eq!(d.id, "31/7421");
    assert_eq!(
        d.title,
        "Regional Improvement and Innovation Alliance Investment - Children's Social Care"
    );
    assert_eq!(d.financial_year, "2024-25");
    assert_eq!(d.made_on.to_string(), "2024-08-16");
    assert_eq!(d.payment_deadline.to_string(), "2024-08-30");
    assert_eq!(d.grant_period.start.to_string(), "2024-04-01");
    assert_eq!(d.grant_period.end.to_string(), "2025-03-31");
    assert_eq!(d.instalments, 1);
    assert_eq!(d.allocations.len(), 9);
    assert_eq!(
        d.allocations
            .iter()
            .map(|a| a.authorities.len())
            .sum::<usize>(),
        153
    );
    assert_eq!(d.components.len(), 5);
    assert_eq!(d.stream(), "determination/31/7421");
    assert_eq!(stream_for("31/7421"), "determination/31/7421");
    let fixed = d.purpose("data-to-insight").unwrap();
    assert_eq!(fixed.basis, Basis::Fixed);
    assert_eq!(fixed.region.as_deref(), Some("South East"));
    assert!(builtin("31/9999").is_none());
    assert!(builtin_toml("nope").is_none());
}

#[test]
fn lookups_accept_any_case_or_slug() {
    let d = builtin("31/7421").unwrap().unwrap();
    assert_eq!(
        d.allocation("yorkshire-and-humber").unwrap().region,
        "Yorkshire and Humber"
    );
    assert_eq!(
        d.allocation("EAST OF ENGLAND").unwrap().lead_authority,
        "Essex County Council"
    );
    assert!(d.allocation("Wales").is_none());
    assert_eq!(
        d.purpose("Self-Assessment").unwrap().purpose,
        "self-assessment"
    );
    assert_eq!(
        d.allocation("south west")
            .unwrap()
            .authority("bristol, city of"),
        Some("Bristol, City of")
    );
}

#[test]
fn budget_gives_each_purpose_for_one_region() {
    let d = builtin("31/7421").unwrap().unwrap();
    let london = d.budget("london");
    assert_eq!(london["data-coordinator"].plain(), "91200.00");
    assert_eq!(london["self-assessment"].plain(), "105600.00");
    assert_eq!(london["data-to-insight"].plain(), "0.00");
    assert_eq!(
        d.budget("south-east")["data-to-insight"].plain(),
        "90000.00"
    );
    assert!(d.budget("Wales").is_empty());
}

#[test]
fn json_round_trip_keeps_the_determination_identical() {
    let d = builtin("31/7421").unwrap().unwrap();
    let json = serde_json::to_string(&d).unwrap();
    assert_eq!(
        serde_json::from_str::<grant_ledger_domain::Determination>(&json).unwrap(),
        d
    );
}

#[test]
fn the_contract_example_form_parses() {
    let text = r#"
id = "31/1"
title = "Example"
financial_year = "2024-25"
made_on = 2024-08-16
payment_deadline = "2024-08-30"
grant_period = { start = 2024-04-01, end = 2025-03-31 }
instalments = 2

[[allocation]]
region = "East Midlands"
lead_authority = "Lincolnshire County Council"
amount = "£233,200"
authorities = ["Derby", "Derbyshire"]

[[component]]
purpose = "data-coordinator"
basis = "per-region"
amount = 80000
uplift = { "East Midlands" = "0.5" }
"#;
    let d = parse_determination(text).unwrap();
    assert_eq!(d.instalments, 2);
    assert_eq!(d.allocations[0].amount.plain(), "233200.00");
    assert_eq!(
        d.budget("east-midlands")["data-coordinator"].plain(),
        "120000.00"
    );
}

#[test]
fn broken_files_are_malformed_and_name_the_key() {
    malformed("id = ", "not valid TOML at line 1");
    malformed(
        &with("title = \"Regional", "# title = \"Regional"),
        "title: is missing",
    );
    malformed(
        &with("instalments = 1", "instalments = 1\ncolour = \"red\""),
        "colour: is not a known key",
    );
    malformed(
        &with("instalments = 1", "instalments = 0"),
        "instalments: 0 must be between 1",
    );
    malformed(
        &with("instalments = 1", "instalments = -1"),
        "instalments: -1",
    );
    malformed(
        &with("instalments = 1", "instalments = \"one\""),
        "instalments: must be a whole number",
    );
    malformed(
        &with("made_on = 2024-08-16", "made_on = 2024-08-31"),
        "payment_deadline: 2024-08-30 is before made_on 2024-08-31",
    );
    malformed(
        &with("made_on = 2024-08-16", "made_on = \"16/08/2024\""),
        "made_on: \"16/08/2024\" is not a date",
    );
    malformed(
        &with("made_on = 2024-08-16", "made_on = 2024-08-16T10:00:00"),
        "made_on:",
    );
    malformed(
        &with("end = 2025-03-31", "end = 2024-03-31"),
        "grant_period.end: 2024-03-31 is before grant_period.start",
    );
    malformed(
        &with(
            "grant_period = { start",
            "grant_period = { middle = 2024-06-01, start",
        ),
        "grant_period.middle: is not a known key",
    );
    malformed(
        &with("amount = \"236400.00\"", "amount = \"236,40\""),
        "allocation[2].amount: amount \"236,40\"",
    );
    malformed(
        &with("amount = \"236400.00\"", "amount = \"-236400.00\""),
        "allocation[2].amount: amount \"-236400.00\" is negative",
    );
    malformed(
        &with("amount = \"236400.00\"", "amount = 236400.5"),
        "allocation[2].amount: 236400.5 is a float",
    );
    malformed(
        &with("amount = \"236400.00\"", "amount = \"0\""),
        "allocation[2].amount: amount \"0\" is zero",
    );
    malformed(
        &with(
            "lead_authority = \"Essex County Council\"",
            "leader = \"Essex\"",
        ),
        "allocation[2].leader: is not a known key",
    );
    malformed(
        &with("lead_authority = \"Essex County Council\"\n", ""),
        "allocation[2].lead_authority: is missing",
    );
    malformed(
        &with("region = \"East of England\"", "region = \"east midlands\""),
        "allocation[2].region: \"east midlands\" appears more than once",
    );
    malformed(
        &with("\"Derbyshire\",", "\"Derbyshire\", \"derbyshire\","),
        "allocation[1].authorities[3]: \"derbyshire\" appears more than once",
    );
    malformed(
        &with("\"Derbyshire\",", "\"Derbyshire\", 7,"),
        "allocation[1].authorities[3]: must be a string",
    );
    malformed(
        &with("basis = \"fixed\"", "basis = \"lump-sum\""),
        "component[4].basis: \"lump-sum\" is not a basis",
    );
    malformed(
        &with(
            "region = \"South East\"\nworking",
            "region = \"Wales\"\nworking",
        ),
        "component[4].region: \"Wales\" is not a region",
    );
    malformed(
        &with("region = \"South East\"\nworking", "working"),
        "component[4].region: is missing; a fixed component must name",
    );
    malformed(
        &with(
            "basis = \"per-authority\"",
            "basis = \"per-authority\"\nregion = \"London\"",
        ),
        "component[3].region: only a fixed component",
    );
    malformed(
        &with(
            "uplift = { \"London\" = \"0.14\" }",
            "uplift = { \"Londres\" = \"0.14\" }",
        ),
        "component[1].uplift.\"Londres\": \"Londres\" is not a region",
    );
    malformed(
        &with(
            "uplift = { \"London\" = \"0.14\" }",
            "uplift = { \"London\" = 0.14 }",
        ),
        "component[1].uplift.\"London\": 0.14 is a float",
    );
    malformed(
        &with(
            "uplift = { \"London\" = \"0.14\" }",
            "uplift = { \"London\" = \"-0.14\" }",
        ),
        "component[1].uplift.\"London\": \"-0.14\" is not a fraction",
    );
    malformed(
        &with(
            "purpose = \"self-assessment\"",
            "purpose = \"data-coordinator\"",
        ),
        "component[3].purpose: \"data-coordinator\" appears more than once",
    );
    malformed(
        &with("factors = [4, 39]", "factors = []"),
        "component[2].working.factors: needs between 1",
    );
    malformed(
        &with("factors = [4, 39]", "factors = [4, 0]"),
        "component[2].working.factors: 0 must be between 1",
    );
    malformed(
        &with("factors = [4, 39]", "factors = [4, -39]"),
        "component[2].working.factors[2]: -39 must be a positive",
    );
    malformed(
        &with("rate = \"800.00\"", "rate = \"800.001\""),
        "component[3].working.rate: amount \"800.001\" has more than 2 decimal places",
    );
    malformed(
        &with("rate = \"800.00\",", "rate = \"800.00\", hours = 3,"),
        "component[3].working.hours: is not a known key",
    );
    malformed(
        &with("[[component]]", "[extra]\nx = 1\n\n[[component]]"),
        "extra: is not a known key",
    );
    malformed(
        &with(
            "[[component]]",
            "[[allocation]]\nregion = \"Wales\"\n\n[[component]]",
        ),
        "allocation[10].lead_authority: is missing",
    );
    malformed("id = \"x\"\ntitle = \"t\"\nfinancial_year = \"y\"\nmade_on = 2024-01-01\npayment_deadline = 2024-01-02\ngrant_period = { start = 2024-01-01, end = 2024-12-31 }\ninstalments = 1\n", "allocation: is missing");
    malformed(
        &with("id = \"31/7421\"", "id = \"31 7421\""),
        "id: \"31 7421\" may contain only",
    );
    malformed(
        &with("id = \"31/7421\"", "id = \"\""),
        "id: must not be empty",
    );
}

#[test]
fn a_file_of_only_rubbish_is_malformed_not_a_crash() {
    for text in [
        "",
        "\u{0}",
        "[[[",
        "id = 1",
        "allocation = 5",
        "component = [1, 2]",
        "grant_period = 3",
    ] {
        assert!(
            parse_determination(text).unwrap_err().is_malformed(),
            "{text:?}"
        );
    }
}
