//! `export 360giving` end to end: the demo ledger's export, as JSON and as CSV read back
//! into the standard's shape, validates against the 360Giving 1.4.3 schemas in
//! `tests/fixtures/360giving` (draft 2020-12 chosen explicitly, format checking on, the
//! package's grant `$ref` resolved to the local grant schema); a broken export does not;
//! and the grants say what the ledger holds.

mod common;

use std::sync::OnceLock;

use common::*;
use jsonschema::{Draft, Validator};
use serde_json::{json, Map, Value};

const GRANT_SCHEMA: &str = include_str!("fixtures/360giving/360-giving-schema.json");
const PACKAGE_SCHEMA: &str = include_str!("fixtures/360giving/360-giving-package-schema.json");

fn grant_schema() -> Value {
    serde_json::from_str(GRANT_SCHEMA).unwrap()
}

/// The dialect URI both schema files declare: draft 2020-12, but over http.
const HTTP_DIALECT: &str = "http://json-schema.org/draft/2020-12/schema";
/// The same dialect's canonical URI, whose meta-schema the validator ships with.
const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// The package validator: draft 2020-12 chosen explicitly, formats checked. This build of
/// jsonschema cannot fetch anything, so every URI the schemas name is registered here:
/// the package's online `$ref` to the grant schema resolves to the local copy, and the
/// http dialect URI to the canonical 2020-12 meta-schema it means.
fn validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let package: Value = serde_json::from_str(PACKAGE_SCHEMA).unwrap();
        let reference = package["properties"]["grants"]["items"]["$ref"]
            .as_str()
            .unwrap()
            .to_string();
        let dialect = json!({"$id": HTTP_DIALECT, "$ref": DIALECT});
        jsonschema::options()
            .with_draft(Draft::Draft202012)
            .should_validate_formats(true)
            .with_resource(
                reference,
                Draft::Draft202012.create_resource(grant_schema()),
            )
            .with_resource(HTTP_DIALECT, Draft::Draft202012.create_resource(dialect))
            .build(&package)
            .unwrap()
    })
}

fn errors(package: &Value) -> Vec<String> {
    validator()
        .iter_errors(package)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

/// What the demo ledger (every allocation paid, spend, a reversal) exports. Exported once,
/// one command after another: a ledger is held by one process at a time, so tests
/// running in parallel must not each open it.
struct Demo {
    json: Value,
    json_dfe: Value,
    csv: String,
}

fn demo() -> &'static Demo {
    static DEMO: OnceLock<Demo> = OnceLock::new();
    DEMO.get_or_init(|| {
        let l = Ledger::empty();
        l.ok(&["demo"]);
        Demo {
            json: l.json(&["export", "360giving"]),
            json_dfe: l.json(&["export", "360giving", "31/7421", "--prefix", "DfE"]),
            csv: l.ok_line("export 360giving --format csv").stdout,
        }
    })
}

/// The flat CSV read back into grant objects by the schema's own titles: `Title` is the
/// property titled so, `Recipient Org:Identifier` (or with an index, `...:0:...`) the
/// property of the array's items, a `a/0/b` column a JSON path; numbers where the schema
/// says number. Independent of the exporter: it knows only the schema.
fn read_back(csv_text: &str) -> Vec<Value> {
    let schema = grant_schema();
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let mut grants = Vec::new();
    for record in reader.records() {
        let record = record.unwrap();
        let mut grant = Map::new();
        for (header, cell) in headers.iter().zip(record.iter()) {
            if cell.is_empty() {
                continue;
            }
            let (path, property) = schema_path(&schema, header);
            let value = match property["type"].as_str() {
                Some("number") => json!(cell.parse::<f64>().unwrap()),
                _ => json!(cell),
            };
            insert(&mut grant, &path, value);
        }
        grants.push(Value::Object(grant));
    }
    grants
}

/// A column title to the JSON path it stands for and the schema of the value there.
fn schema_path(schema: &Value, header: &str) -> (Vec<String>, Value) {
    if header.contains('/') {
        let path: Vec<String> = header.split('/').map(str::to_string).collect();
        let item = item_schema(schema, &schema["properties"][&path[0]]);
        return (
            path.clone(),
            resolved(schema, &item["properties"][&path[2]]),
        );
    }
    let parts: Vec<&str> = header.split(':').collect();
    let (name, top) = by_title(schema, &schema["properties"], parts[0]);
    match parts.as_slice() {
        [_] => (vec![name], top),
        [_, rest @ ..] => {
            let (index, title) = match rest {
                [index, title] => (index.to_string(), *title),
                [title] => ("0".to_string(), *title),
                _ => panic!("column {header} is nested deeper than the export writes"),
            };
            let item = item_schema(schema, &top);
            let (field, property) = by_title(schema, &item["properties"], title);
            (vec![name, index, field], property)
        }
        [] => panic!("empty column title"),
    }
}

/// The property titled `title`, its title read through a local `$ref` where it has one
/// (`currency` is titled in `#/$defs/currency`).
fn by_title(schema: &Value, properties: &Value, title: &str) -> (String, Value) {
    properties
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, p)| (name.clone(), resolved(schema, p)))
        .find(|(_, p)| p["title"] == title)
        .unwrap_or_else(|| panic!("the schema has no property titled {title:?}"))
}

fn resolved(schema: &Value, property: &Value) -> Value {
    match property["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/$defs/"))
    {
        Some(name) => schema["$defs"][name].clone(),
        None => property.clone(),
    }
}

/// The schema of an array property's items, following a local `#/$defs/...` reference.
fn item_schema(schema: &Value, array: &Value) -> Value {
    let reference = array["items"]["$ref"].as_str().unwrap();
    let name = reference.strip_prefix("#/$defs/").unwrap();
    schema["$defs"][name].clone()
}

fn insert(grant: &mut Map<String, Value>, path: &[String], value: Value) {
    match path {
        [name] => {
            grant.insert(name.clone(), value);
        }
        [name, index, field] => {
            let items = grant
                .entry(name.clone())
                .or_insert_with(|| json!([]))
                .as_array_mut()
                .unwrap();
            let index: usize = index.parse().unwrap();
            while items.len() <= index {
                items.push(json!({}));
            }
            items[index][field] = value;
        }
        _ => panic!("unexpected path {path:?}"),
    }
}

#[test]
fn the_demo_export_as_json_validates_against_the_package_schema() {
    let package = &demo().json_dfe;
    assert_eq!(package["grants"].as_array().unwrap().len(), 9);
    assert_eq!(errors(package), Vec::<String>::new());
}

#[test]
fn the_demo_export_as_csv_read_back_validates_against_the_package_schema() {
    let grants = read_back(&demo().csv);
    assert_eq!(grants.len(), 9);
    let package = json!({"grants": grants, "version": "1.4"});
    assert_eq!(errors(&package), Vec::<String>::new());
}

#[test]
fn the_csv_read_back_holds_what_the_json_holds() {
    assert_eq!(Value::Array(read_back(&demo().csv)), demo().json["grants"]);
}

#[test]
fn an_amount_awarded_written_as_a_string_fails_validation() {
    let mut package = demo().json.clone();
    package["grants"][0]["amountAwarded"] = json!("233200.00");
    let found = errors(&package);
    assert!(
        found.iter().any(|e| e.contains("/grants/0/amountAwarded")),
        "{found:?}"
    );
}

#[test]
fn an_award_date_that_is_no_date_fails_validation() {
    // Proves format checking is on: without it, this string would match the date-time branch.
    let mut package = demo().json.clone();
    package["grants"][0]["awardDate"] = json!("16 August 2024");
    assert!(!errors(&package).is_empty());
}

#[test]
fn grants_are_named_by_prefix_determination_and_register_code() {
    let package = &demo().json_dfe;
    let ids: Vec<&str> = package["grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"360G-DfE-31_7421-WIL"), "{ids:?}");
    assert!(ids.contains(&"360G-DfE-31_7421-NYE"), "{ids:?}");
}

#[test]
fn a_grant_carries_the_allocation_region_and_funder() {
    let package = &demo().json;
    let grant = package["grants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["recipientOrganization"][0]["id"] == "GB-LAE-WIL")
        .unwrap();
    assert_eq!(grant["amountAwarded"], json!(260600.0));
    assert_eq!(grant["awardDate"], "2024-08-16");
    assert_eq!(grant["currency"], "GBP");
    assert_eq!(
        grant["recipientOrganization"][0]["name"],
        "Wiltshire County Council"
    );
    assert_eq!(
        grant["fundingOrganization"][0]["id"],
        "GB-GOVUK-department_for_education"
    );
    assert_eq!(grant["beneficiaryLocation"][0]["geoCode"], "E12000009");
    assert_eq!(grant["beneficiaryLocation"][0]["geoCodeType"], "RGN");
    assert_eq!(grant["plannedDates"][0]["startDate"], "2024-04-01");
    assert_eq!(grant["plannedDates"][0]["endDate"], "2025-03-31");
    assert_eq!(grant["grantProgramme"][0]["code"], "31/7421");
}

#[test]
fn amount_disbursed_is_net_paid_as_of_the_day() {
    let l = Ledger::paid();
    l.ok(&cmd(
        "recover 31/7421 --region london --amount 5000 --date 2024-12-01 --reason {}",
        &["Underspend returned"],
    ));
    let london = |package: &Value| {
        package["grants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["beneficiaryLocation"][0]["name"] == "London")
            .cloned()
            .unwrap()
    };
    let now = london(&l.json(&["export", "360giving"]));
    assert_eq!(now["amountDisbursed"], json!(313000.0));
    assert_eq!(now["disbursementTransaction"][0]["value"], json!(318000.0));
    let before = london(&l.json_line("export 360giving --as-of 2024-11-30"));
    assert_eq!(before["amountDisbursed"], json!(318000.0));
    let unpaid = london(&l.json_line("export 360giving --as-of 2024-08-22"));
    assert_eq!(unpaid["amountDisbursed"], json!(0.0));
    assert_eq!(unpaid["disbursementTransaction"], json!([]));
}

#[test]
fn a_reversed_payment_is_no_disbursement() {
    let l = Ledger::with_determination();
    let paid = l.json_line("pay 31/7421 --region london --amount 318000 --date 2024-08-23");
    let position = paid["position"].to_string();
    l.ok(&cmd(
        "reverse {} --reason {}",
        &[&position, "Paid twice by mistake"],
    ));
    let package = l.json(&["export", "360giving"]);
    let london = &package["grants"][2];
    assert_eq!(london["beneficiaryLocation"][0]["name"], "London");
    assert_eq!(london["amountDisbursed"], json!(0.0));
    assert_eq!(london["disbursementTransaction"], json!([]));
}

#[test]
fn a_determination_without_a_funder_is_refused() {
    let l = Ledger::empty();
    let text = include_str!("../crates/domain/determinations/31-7421.toml")
        .lines()
        .filter(|line| !line.starts_with("funder"))
        .collect::<Vec<_>>()
        .join("\n");
    let file = l.file("no-funder.toml", &text);
    l.ok(&["determination", "import", &file]);
    l.fails_line(
        "export 360giving",
        1,
        &[
            "31/7421",
            "funder",
            "only in the file a determination is imported from",
            "each by its id",
        ],
    );
}

#[test]
fn a_prefix_with_a_slash_is_malformed() {
    Ledger::with_determination().fails_line("export 360giving --prefix a/b", 2, &["a/b"]);
}

#[test]
fn a_data_source_that_is_no_uri_is_malformed() {
    Ledger::with_determination().fails(
        &["export", "360giving", "--data-source", "grants.json"],
        2,
        &["grants.json"],
    );
}

#[test]
fn a_data_source_given_is_every_grant_s_data_source() {
    let l = Ledger::with_determination();
    let uri = "https://example.org/grants.json";
    let package = l.json(&["export", "360giving", "--data-source", uri]);
    assert!(package["grants"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["dataSource"] == uri));
}

#[test]
fn an_export_as_of_a_day_before_any_determination_is_refused() {
    Ledger::with_determination().fails_line(
        "export 360giving --as-of 2024-01-01",
        1,
        &["2024-01-01"],
    );
}

#[test]
fn an_export_of_an_unknown_determination_is_refused() {
    Ledger::with_determination().fails_line("export 360giving 12/3456", 1, &["12/3456"]);
}

#[test]
fn one_lead_authority_for_two_regions_gives_two_grant_ids() {
    let l = Ledger::empty();
    let file = l.file(
        "two.toml",
        r#"id = "9/1"
title = "Two regions, one lead"
financial_year = "2024-25"
made_on = 2024-08-16
payment_deadline = 2024-08-30
grant_period = { start = 2024-04-01, end = 2025-03-31 }
instalments = 1
funder = { name = "Department for Education", org_id = "GB-GOVUK-department_for_education" }

[[allocation]]
region = "North East"
lead_authority = "Durham County Council"
org_id = "GB-LAE-DUR"
amount = "100.00"
authorities = ["Durham"]

[[allocation]]
region = "North West"
lead_authority = "Durham County Council"
org_id = "GB-LAE-DUR"
amount = "200.00"
authorities = ["Cumberland"]
"#,
    );
    l.ok(&["determination", "import", &file]);
    let package = l.json(&["export", "360giving", "--prefix", "X"]);
    assert_eq!(package["grants"][0]["id"], "360G-X-9_1-DUR-north-east");
    assert_eq!(package["grants"][1]["id"], "360G-X-9_1-DUR-north-west");
    assert_eq!(errors(&package), Vec::<String>::new());
}

#[test]
fn the_table_lists_each_grant_with_its_recipient_and_amounts() {
    let l = Ledger::paid();
    let table = l.ok_line("export 360giving 31/7421 --prefix DfE").stdout;
    let line = table
        .lines()
        .find(|line| line.contains("360G-DfE-31_7421-WIL"))
        .unwrap_or_else(|| panic!("no Wiltshire grant in\n{table}"));
    assert!(line.contains("Wiltshire County Council"), "{line}");
    assert!(line.contains("GB-LAE-WIL"), "{line}");
    assert_eq!(line.matches("£260,600.00").count(), 2, "{line}");
}

/// 31/7421 and a copy of it as 31/7422, which is then withdrawn.
fn one_withdrawn() -> Ledger {
    let l = Ledger::with_determination();
    let toml = grant_ledger_domain::builtin_toml(ID)
        .expect("builtin")
        .replace("id = \"31/7421\"", "id = \"31/7422\"");
    let file = l.file("other.toml", &toml);
    l.ok(&["determination", "import", &file]);
    l.ok_line("determination withdraw 31/7422 --reason superseded --date 2024-09-01");
    l
}

#[test]
fn a_withdrawn_determination_publishes_no_grant() {
    let l = one_withdrawn();
    let package = l.json_line("export 360giving");
    let grants = package["grants"].as_array().expect("grants");
    assert!(!grants.is_empty());
    assert!(
        grants.iter().all(|g| g["grantProgramme"][0]["code"] == ID),
        "{package}"
    );
    assert_eq!(errors(&package), Vec::<String>::new());
    let csv = l.ok_line("export 360giving --format csv").stdout;
    assert!(!csv.contains("31/7422"), "{csv}");
    // Alone, it has nothing to export; as of a day before the withdrawal it had.
    l.fails_line(
        "export 360giving 31/7422",
        1,
        &["a withdrawn determination awarded nothing (31/7422 withdrawn on 2024-09-01)"],
    );
    let before = l.json_line("export 360giving 31/7422 --as-of 2024-08-31");
    assert!(!before["grants"].as_array().expect("grants").is_empty());
}
