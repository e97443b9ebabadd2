//! Identifiers in determinations: the built-in 31/7421 carries exactly what the 2024
//! identifiers list says, the shipped register table is that list, files without
//! identifiers still parse, bad identifiers are malformed naming their key, and events
//! written before identifiers existed still decode and re-encode byte for byte.

use std::collections::BTreeMap;

use grant_ledger_domain::register::local_authorities;
use grant_ledger_domain::{
    builtin, builtin_toml, check, official_name, parse_determination, register_code, EventData,
    SCHEMA_VERSION,
};

const IDENTIFIERS_CSV: &str = include_str!("fixtures/local-authority-identifiers-2024.csv");
const OLD_PAYLOAD: &str = include_str!("fixtures/determination-made-without-identifiers.json");

/// One row of the identifiers list.
#[derive(Debug, serde::Deserialize)]
struct Row {
    region: String,
    ons_code: String,
    name: String,
    register_code: String,
    official_name: String,
}

fn rows() -> Vec<Row> {
    csv::Reader::from_reader(IDENTIFIERS_CSV.as_bytes())
        .deserialize()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn builtin_text() -> &'static str {
    builtin_toml("31/7421").unwrap()
}

fn malformed(text: &str, expected_start: &str) {
    let error = parse_determination(text).unwrap_err();
    assert!(error.is_malformed(), "{error}");
    assert!(
        error.message().starts_with(expected_start),
        "{error:?} should start with {expected_start:?}"
    );
}

#[test]
fn every_authority_of_the_builtin_has_the_ons_code_of_the_list() {
    let d = builtin("31/7421").unwrap().unwrap();
    let listed: BTreeMap<(String, String), String> = rows()
        .into_iter()
        .map(|r| ((r.region, r.name), r.ons_code))
        .collect();
    for allocation in &d.allocations {
        assert_eq!(
            allocation.authority_ons_codes.len(),
            allocation.authorities.len(),
            "{}",
            allocation.region
        );
        for (authority, code) in &allocation.authority_ons_codes {
            let key = (allocation.region.clone(), authority.clone());
            assert_eq!(listed.get(&key), Some(code), "{key:?}");
        }
    }
}

#[test]
fn every_lead_authority_of_the_builtin_has_an_org_id_of_its_region() {
    let d = builtin("31/7421").unwrap().unwrap();
    let rows = rows();
    for allocation in &d.allocations {
        let org_id = allocation.org_id.as_deref().unwrap();
        let code = register_code(org_id).unwrap();
        let row = rows.iter().find(|r| r.register_code == code).unwrap();
        assert_eq!(row.region, allocation.region, "{org_id}");
        // Annex A names the council itself or, where renamed, by the place it serves.
        let lead = &allocation.lead_authority;
        let by_place = lead.starts_with(&format!("{} ", row.name));
        let by_name = *lead == row.official_name || lead.contains(&row.name);
        assert!(by_place || by_name, "{lead} is not {row:?}");
    }
}

#[test]
fn the_builtin_regions_carry_their_ons_region_codes() {
    // The ONS codes of the English regions, as the source documents list them.
    let expected = [
        ("North East", "E12000001"),
        ("North West", "E12000002"),
        ("Yorkshire and Humber", "E12000003"),
        ("East Midlands", "E12000004"),
        ("West Midlands", "E12000005"),
        ("East of England", "E12000006"),
        ("London", "E12000007"),
        ("South East", "E12000008"),
        ("South West", "E12000009"),
    ];
    let d = builtin("31/7421").unwrap().unwrap();
    for (region, code) in expected {
        let allocation = d.allocation(region).unwrap();
        assert_eq!(
            allocation.region_ons_code.as_deref(),
            Some(code),
            "{region}"
        );
    }
}

#[test]
fn the_builtin_funder_is_the_department_for_education() {
    let funder = builtin("31/7421").unwrap().unwrap().funder.unwrap();
    assert_eq!(funder.name, "Department for Education");
    assert_eq!(funder.org_id, "GB-GOVUK-department_for_education");
}

#[test]
fn the_shipped_register_is_the_identifiers_list() {
    let mut listed: Vec<(String, String)> = rows()
        .into_iter()
        .map(|r| (r.register_code, r.official_name))
        .collect();
    listed.sort();
    let shipped: Vec<(String, String)> = local_authorities()
        .map(|(code, name)| (code.to_string(), name.to_string()))
        .collect();
    assert_eq!(shipped, listed);
}

#[test]
fn the_register_knows_north_yorkshire_council() {
    assert_eq!(official_name("GB-LAE-NYE"), Some("North Yorkshire Council"));
}

#[test]
fn the_check_names_exactly_the_two_renamed_lead_authorities() {
    let report = check(&builtin("31/7421").unwrap().unwrap());
    let renamed: Vec<(&str, &str, &str, &str)> = report
        .renamed()
        .map(|(region, n)| {
            (
                region,
                n.lead_authority.as_str(),
                n.official_name.as_str(),
                n.org_id.as_str(),
            )
        })
        .collect();
    assert_eq!(
        renamed,
        vec![
            (
                "South West",
                "Wiltshire County Council",
                "Wiltshire Council",
                "GB-LAE-WIL"
            ),
            (
                "Yorkshire and Humber",
                "North Yorkshire County Council",
                "North Yorkshire Council",
                "GB-LAE-NYE"
            ),
        ]
    );
}

#[test]
fn a_renamed_lead_authority_keeps_its_determined_name_and_amount() {
    let d = builtin("31/7421").unwrap().unwrap();
    let report = check(&d);
    let south_west = d.allocation("south-west").unwrap();
    assert_eq!(south_west.lead_authority, "Wiltshire County Council");
    let row = report
        .regions
        .iter()
        .find(|r| r.region == "South West")
        .unwrap();
    assert_eq!(row.determined, south_west.amount);
}

#[test]
fn a_file_without_identifiers_parses_with_none() {
    let plain: String = builtin_text()
        .lines()
        .filter(|l| {
            !l.starts_with("org_id")
                && !l.starts_with("region_ons_code")
                && !l.starts_with("funder")
                && !l.starts_with("\"")
                && !l.starts_with("[allocation.authority_ons_codes]")
        })
        .collect::<Vec<_>>()
        .join("\n");
    let d = parse_determination(&plain).unwrap();
    assert!(d.funder.is_none());
    assert!(d.allocations.iter().all(|a| a.org_id.is_none()
        && a.region_ons_code.is_none()
        && a.authority_ons_codes.is_empty()));
    assert_eq!(check(&d).renamed().count(), 0);
}

#[test]
fn an_unknown_org_id_prefix_is_malformed_naming_the_key() {
    let text = builtin_text().replacen("GB-LAE-CMD", "GB-XX-CMD", 1);
    malformed(&text, "allocation[3].org_id: \"GB-XX-CMD\"");
}

#[test]
fn a_malformed_region_ons_code_is_malformed_naming_the_key() {
    let text = builtin_text().replacen("\"E12000007\"", "\"E1200007\"", 1);
    malformed(&text, "allocation[3].region_ons_code: \"E1200007\"");
}

#[test]
fn a_malformed_authority_ons_code_is_malformed_naming_the_key() {
    let text = builtin_text().replacen("\"Derby\" = \"E06000015\"", "\"Derby\" = \"06000015\"", 1);
    malformed(&text, "allocation[1].authority_ons_codes.\"Derby\"");
}

#[test]
fn an_ons_code_for_an_authority_not_in_the_allocation_is_malformed() {
    let text = builtin_text().replacen("\"Derby\" = ", "\"Derbyy\" = ", 1);
    malformed(&text, "allocation[1].authority_ons_codes.\"Derbyy\"");
}

#[test]
fn an_ons_code_for_an_authority_in_another_case_names_the_canonical_name() {
    let text = builtin_text().replacen("\"Derby\" = ", "\"DERBY\" = ", 1);
    malformed(&text, "allocation[1].authority_ons_codes.\"DERBY\": write the authority as in authorities: \"Derby\"");
}

#[test]
fn a_funder_org_id_with_an_unknown_prefix_is_malformed() {
    let text = builtin_text().replacen("GB-GOVUK-department", "XX-GOVUK-department", 1);
    malformed(&text, "funder.org_id");
}

#[test]
fn a_funder_without_a_name_is_malformed() {
    let text = builtin_text().replacen("name = \"Department for Education\", ", "", 1);
    malformed(&text, "funder.name: is missing");
}

#[test]
fn an_event_written_before_identifiers_decodes_and_reencodes_byte_for_byte() {
    let old = OLD_PAYLOAD.trim_end().as_bytes();
    let data = EventData::from_payload("DeterminationMade", SCHEMA_VERSION, old).unwrap();
    let EventData::DeterminationMade(made) = &data else {
        panic!("not a DeterminationMade: {data:?}");
    };
    assert!(made.determination.funder.is_none());
    assert!(made.determination.allocations[0].org_id.is_none());
    assert_eq!(data.to_payload(), old);
}

#[test]
fn identifiers_survive_the_event_payload() {
    let d = builtin("31/7421").unwrap().unwrap();
    let data = EventData::DeterminationMade(grant_ledger_domain::DeterminationMade {
        determination: d.clone(),
    });
    let read =
        EventData::from_payload("DeterminationMade", SCHEMA_VERSION, &data.to_payload()).unwrap();
    assert_eq!(read, data);
}
