//! End-to-end tests of `history`'s filters and orders (issue 11): each filter keeps only
//! what it names, they combine, names are matched as the recording commands match them,
//! and `--newest-first` pages downwards with `--after`.

mod common;
mod server_common;

use common::*;
use serde_json::Value;

/// 31/7421 paid, then spends in London on two purposes and authorities, one keyed, and a
/// second determination (positions 1 to 10 are the determination and the payments).
fn trail() -> Ledger {
    let l = Ledger::paid();
    for line in [
        "spend 31/7421 --region london --amount 100 --date 2024-10-01 --purpose self-assessment --authority camden",
        "spend 31/7421 --region london --amount 200 --date 2024-10-02 --purpose data-coordinator --authority camden",
        "spend 31/7421 --region london --amount 300 --date 2024-10-03 --purpose self-assessment --authority Hackney --key hk-1",
        "spend 31/7421 --region south-west --amount 400 --date 2024-10-04 --purpose self-assessment",
    ] {
        l.ok_line(line);
    }
    let toml = grant_ledger_domain::builtin_toml(ID)
        .expect("builtin")
        .replace("id = \"31/7421\"", "id = \"31/9999\"");
    let file = l.file("other.toml", &toml);
    l.ok(&["determination", "import", &file]);
    l
}

fn positions(rows: &Value) -> Vec<u64> {
    rows.as_array()
        .map(|rows| rows.iter().filter_map(|r| r["position"].as_u64()).collect())
        .unwrap_or_default()
}

#[test]
fn history_keeps_only_the_named_determination() {
    let l = trail();
    assert_eq!(
        positions(&l.json_line("history --determination 31/9999")),
        [15]
    );
    assert_eq!(
        positions(&l.json_line("history --determination 31/7421")),
        (1..=14).collect::<Vec<u64>>()
    );
}

#[test]
fn history_keeps_only_the_events_of_a_key() {
    let l = trail();
    let rows = l.json_line("history --key hk-1");
    assert_eq!(positions(&rows), [13]);
    assert_eq!(rows[0]["key"], "hk-1");
}

#[test]
fn a_purpose_is_matched_in_history_as_spend_matches_it() {
    let l = trail();
    let rows = l.json(&cmd("history --purpose {}", &["Self Assessment"]));
    assert_eq!(positions(&rows), [11, 13, 14]);
}

#[test]
fn an_authority_keeps_spend_naming_it_and_payments_to_it_as_lead() {
    let l = trail();
    assert_eq!(
        positions(&l.json_line("history --authority CAMDEN")),
        [11, 12]
    );
    // A lead authority is named as the determination names it.
    let lead = l.json_line("determination show 31/7421");
    let london = lead["allocations"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["region"] == "London"))
        .and_then(|a| a["lead_authority"].as_str())
        .unwrap_or_default()
        .to_string();
    assert!(!london.is_empty(), "{lead}");
    let rows = l.json(&["history", "--authority", &london, "--type", "PaymentIssued"]);
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{rows}");
    assert_eq!(rows[0]["data"]["region"], "London");
}

#[test]
fn history_filters_combine() {
    let l = trail();
    let rows = l.json(&cmd(
        "history --determination 31/7421 --region london --purpose {} --authority camden --since 2024-10-01",
        &["self assessment"],
    ));
    assert_eq!(positions(&rows), [11]);
}

#[test]
fn newest_first_starts_at_the_head_and_the_limit_keeps_the_newest() {
    let l = trail();
    assert_eq!(
        positions(&l.json_line("history --newest-first --limit 3")),
        [15, 14, 13]
    );
}

#[test]
fn newest_first_pages_downwards_with_after() {
    let l = trail();
    // Each page's last position is the next page's --after, as when paging oldest first.
    let mut seen = Vec::new();
    let mut after: Option<u64> = None;
    loop {
        let mut args = vec!["history", "--newest-first", "--limit", "4"];
        let cursor = after.map(|a| a.to_string());
        if let Some(cursor) = &cursor {
            args.extend(["--after", cursor]);
        }
        let page = positions(&l.json(&args));
        if page.is_empty() {
            break;
        }
        after = page.last().copied();
        seen.extend(page);
    }
    assert_eq!(seen, (1..=15).rev().collect::<Vec<u64>>());
    // And a filter pages the same way.
    let page =
        positions(&l.json_line("history --newest-first --purpose self-assessment --after 14"));
    assert_eq!(page, [13, 11]);
}

#[test]
fn a_table_newest_first_lists_the_head_first() {
    let l = trail();
    let run = l.ok_line("history --newest-first --determination 31/7421 --limit 2");
    let rows: Vec<&str> = run
        .stdout
        .lines()
        .filter(|line| line.contains("FundsSpent"))
        .collect();
    assert_eq!(rows.len(), 2, "{}", run.stdout);
    assert!(rows[0].contains("2024-10-04"), "{}", run.stdout);
    assert!(rows[1].contains("2024-10-03"), "{}", run.stdout);
}

#[test]
fn an_unknown_purpose_in_history_is_refused() {
    let l = trail();
    l.fails_line(
        "history --purpose biscuits",
        1,
        &["no determination has a purpose \"biscuits\""],
    );
}

#[test]
fn an_unknown_authority_in_history_is_refused() {
    let l = trail();
    l.fails_line(
        "history --determination 31/7421 --authority Narnia",
        1,
        &[
            "\"Narnia\" is not an authority",
            "determination show 31/7421 --authorities",
        ],
    );
}

#[test]
fn a_mistyped_authority_in_history_names_the_closest() {
    let l = trail();
    l.fails(
        &cmd("history --authority {}", &["Bristol City"]),
        1,
        &[
            "did you mean \"Bristol, City of\"?",
            "determination show ID --authorities",
        ],
    );
}

#[test]
fn an_unknown_determination_in_history_is_refused() {
    let l = trail();
    l.fails_line("history --determination 99/1", 1, &["99/1"]);
}

#[test]
fn a_long_history_table_is_laid_out_a_page_of_1000_rows_at_a_time() {
    let l = Ledger::paid();
    let mut csv = String::from(
        "determination,region,amount,date,purpose,authority,description,reference,key\n",
    );
    for n in 0..1_200 {
        csv.push_str(&format!(
            "31/7421,london,1,2024-10-01,data-coordinator,,spend {n},,\n"
        ));
    }
    let file = l.file("spends.csv", &csv);
    l.ok(&["spend-import", &file]);
    let table = l.ok_line("history").stdout;
    // Each page is a table of its own, with its own header: 1,210 events make two.
    let headers = table
        .lines()
        .filter(|line| line.contains("effective_date"))
        .count();
    assert_eq!(headers, 2, "{}", &table[..table.len().min(2_000)]);
    let rows = table
        .lines()
        .filter(|line| line.contains("FundsSpent") || line.contains("PaymentIssued"))
        .count();
    assert_eq!(rows, 1_209);
}

/// 31/7421 with London and the South West varied, a copy of it (31/9999) made and
/// withdrawn, and a payment to each of the two regions varied.
fn varied_and_withdrawn() -> Ledger {
    let l = Ledger::with_determination();
    for (name, region, amount) in [
        ("london.toml", "London", "300000"),
        ("south-west.toml", "South West", "250000"),
    ] {
        let file = l.file(
            name,
            &format!("[[allocation]]\nregion = \"{region}\"\namount = \"{amount}\"\n"),
        );
        l.ok(&cmd(
            "determination vary 31/7421 {} --reason letter --date 2024-08-20",
            &[&file],
        ));
    }
    let toml = grant_ledger_domain::builtin_toml(ID)
        .expect("builtin")
        .replace("id = \"31/7421\"", "id = \"31/9999\"");
    let file = l.file("other.toml", &toml);
    l.ok(&["determination", "import", &file]);
    l.ok_line("determination withdraw 31/9999 --reason superseded --date 2024-08-20");
    l.ok_line("pay 31/7421 --region london --amount 300000 --date 2024-08-23");
    l.ok_line("pay 31/7421 --region south-west --amount 250000 --date 2024-08-23");
    l
}

#[test]
fn a_region_keeps_the_making_variation_and_withdrawal_of_determinations_naming_it() {
    let l = varied_and_withdrawn();
    // 1 made, 2 London varied, 3 the South West varied, 4 31/9999 made, 5 withdrawn,
    // 6 London paid, 7 the South West paid.
    assert_eq!(
        positions(&l.json_line("history --region london")),
        [1, 2, 4, 5, 6]
    );
    assert_eq!(
        positions(&l.json_line("history --region london --type DeterminationVaried")),
        [2]
    );
}

#[test]
fn through_the_server_a_region_keeps_the_making_variation_and_withdrawal_naming_it() {
    let l = varied_and_withdrawn();
    let granted = l.json(&[
        "--actor", "root", "access", "grant", "--name", "reader", "--role", "reader",
    ]);
    let token = server_common::token_of(&granted);
    let server = server_common::Server::start(&l.dir(), &[], &l.path().join("server.log"));
    let rows = server
        .http()
        .get("/api/v1/history?region=london", Some(&token))
        .ok()
        .json();
    assert_eq!(positions(&rows), [1, 2, 4, 5, 6]);
}
