//! End-to-end: the whole life of a two-instalment determination with the real binary, from
//! import to the final payment, with a variation in between and `--as-of` before and after
//! it; and a withdrawal.

mod common;

use common::{money, row, Ledger};

/// 31/9001: North East £58,000 and London £100,000, 50% due by 2025-06-30 and 50% by
/// 2025-10-31.
const TWO_INSTALMENTS: &str = include_str!("fixtures/two-instalments-9001.toml");

const VARIATION: &str = "[[allocation]]\nregion = \"london\"\namount = \"90,000\"\n";

fn imported() -> Ledger {
    let l = Ledger::empty();
    let file = l.file("two.toml", TWO_INSTALMENTS);
    l.ok(&["determination", "import", &file]);
    l
}

#[test]
fn a_two_instalment_determination_from_import_to_the_final_payment() {
    let l = imported();
    // Nothing is paid: each region's first instalment is due by 2025-06-30.
    let due = l.json_line("deadlines 31/9001 --today 2025-06-01");
    let ne = row(&due, "North East");
    assert_eq!(
        (ne["deadline"].as_str(), ne["status"].as_str()),
        (Some("2025-06-30"), Some("due"))
    );
    assert_eq!(money(&ne["outstanding"]), "58000.00");
    assert_eq!(ne["instalments_paid"], 0);
    let schedule = ne["schedule"].as_array().expect("schedule");
    assert_eq!(schedule.len(), 2);
    assert_eq!(money(&schedule[0]["amount"]), "29000.00");
    assert_eq!(schedule[1]["due"], "2025-10-31");

    // More than is due by the first instalment is refused; its share is accepted.
    l.fails_line(
        "pay 31/9001 --region north-east --amount 30000 --date 2025-06-01",
        1,
        &["beyond the £29,000.00 due by instalment 1 of determination 31/9001 (due 2025-06-30)"],
    );
    l.ok_line("pay 31/9001 --region north-east --amount 20000 --date 2025-06-01");
    // The last permitted instalment must complete the allocation.
    l.fails(
        &common::cmd(
            "pay 31/9001 --region north-east --amount 20000 --date 2025-09-01 --late-reason {}",
            &["remittance held"],
        ),
        1,
        &["it must be £38,000.00"],
    );
    // Between the two due dates the first instalment is what is outstanding.
    let mid = l.json_line("deadlines 31/9001 --today 2025-06-15");
    let ne = row(&mid, "North East");
    assert_eq!(ne["deadline"], "2025-06-30");
    assert_eq!(money(&ne["schedule"][0]["outstanding"]), "9000.00");
    assert_eq!(money(&ne["schedule"][1]["outstanding"]), "29000.00");
    assert_eq!(ne["instalments_paid"], 1);

    // The second payment also settles the first instalment, paid short, after its due
    // date: it is late, though the second instalment is not due until October.
    let paid = l.json(&common::cmd(
        "pay 31/9001 --region north-east --amount 38000 --date 2025-09-01 --late-reason {}",
        &["remittance held"],
    ));
    assert_eq!(paid["data"]["late"], true);
    assert_eq!(paid["data"]["instalment"], 2);
    let balances = l.json_line("balances 31/9001");
    let ne = row(&balances, "North East");
    assert_eq!(ne["status"], "paid-late");
    assert_eq!(money(&ne["outstanding"]), "0.00");
    assert_eq!(ne["instalments_paid"], 2);
    let table = l.ok_line("deadlines 31/9001 --today 2025-09-02").stdout;
    assert!(
        table.contains("Instalments") && table.contains("£29,000.00"),
        "{table}"
    );
}

#[test]
fn a_variation_changes_the_figures_from_its_date_and_as_of_before_it_they_stand() {
    let l = imported();
    l.ok_line("pay 31/9001 --region london --amount 50000 --date 2025-06-20");
    let file = l.file("variation.toml", VARIATION);
    let varied = l.json(&[
        "determination",
        "vary",
        "31/9001",
        &file,
        "--reason",
        "letter of 1 September",
        "--date",
        "2025-09-01",
    ]);
    assert_eq!(varied["type"], "DeterminationVaried");
    assert_eq!(varied["effective_date"], "2025-09-01");
    assert_eq!(
        money(&varied["data"]["allocations"][0]["previous"]),
        "100000.00"
    );

    let before = l.json_line("balances 31/9001 --region london --as-of 2025-08-31");
    assert_eq!(money(&row(&before, "London")["determined"]), "100000.00");
    assert_eq!(money(&row(&before, "London")["outstanding"]), "50000.00");
    let after = l.json_line("balances 31/9001 --region london --as-of 2025-09-01");
    assert_eq!(money(&row(&after, "London")["determined"]), "90000.00");
    assert_eq!(money(&row(&after, "London")["unpaid"]), "40000.00");

    // Deadlines on a day before the variation count the allocation before it.
    let on = |today: &str| {
        let rows = l.json_line(&format!("deadlines 31/9001 --today {today}"));
        let london = row(&rows, "London");
        (
            money(&london["outstanding"]).to_string(),
            money(&london["schedule"][1]["amount"]).to_string(),
        )
    };
    assert_eq!(on("2025-08-31"), ("50000.00".into(), "50000.00".into()));
    // Instalment 1 (due 2025-06-30, before the variation) keeps its £50,000.00, paid on
    // time; the cut falls to instalment 2.
    assert_eq!(on("2025-09-01"), ("40000.00".into(), "40000.00".into()));

    // The spend report's lines add up to the allocation in force on the day.
    let sum = |rows: &serde_json::Value| {
        rows.as_array()
            .unwrap()
            .iter()
            .filter(|r| r["region"] == "London")
            .map(|r| money(&r["budget"]).parse::<f64>().unwrap())
            .sum::<f64>()
    };
    assert_eq!(
        sum(&l.json_line("spend-report 31/9001 --as-of 2025-08-31")),
        100000.0
    );
    assert_eq!(sum(&l.json_line("spend-report 31/9001")), 90000.0);

    // The final instalment now completes the varied allocation.
    l.fails_line(
        "pay 31/9001 --region london --amount 50000 --date 2025-10-01",
        1,
        &["above its allocation of £90,000.00"],
    );
    l.ok_line("pay 31/9001 --region london --amount 40000 --date 2025-10-01");

    let show = l.ok_line("determination show 31/9001").stdout;
    assert!(
        show.contains("Variations")
            && show.contains("letter of 1 September")
            && show.contains("£90,000.00"),
        "{show}"
    );
    let shown = l.json_line("determination show 31/9001");
    assert_eq!(shown["variations"][0]["date"], "2025-09-01");
    assert_eq!(
        money(&l.json_line("determination list")[0]["total"]),
        "148000.00"
    );
}

#[test]
fn a_variation_below_what_is_paid_is_refused() {
    let l = imported();
    l.ok_line("pay 31/9001 --region london --amount 50000 --date 2025-06-20");
    let file = l.file(
        "variation.toml",
        "[[allocation]]\nregion = \"London\"\namount = \"40000\"\n",
    );
    l.fails(
        &[
            "determination",
            "vary",
            "31/9001",
            &file,
            "--reason",
            "cut",
            "--date",
            "2025-09-01",
        ],
        1,
        &["varying London's allocation to £40,000.00 would leave its paid of £50,000.00 above it"],
    );
    let broken = l.file("broken.toml", "[[allocation]]\nregion = \"London\"\n");
    l.fails(
        &[
            "determination",
            "vary",
            "31/9001",
            &broken,
            "--reason",
            "cut",
        ],
        2,
        &["allocation[1].amount: is missing"],
    );
}

#[test]
fn a_withdrawn_determination_takes_no_payment_and_says_it_was_withdrawn() {
    let l = imported();
    let withdrawn =
        l.json_line("determination withdraw 31/9001 --reason superseded --date 2025-05-10");
    assert_eq!(withdrawn["type"], "DeterminationWithdrawn");
    l.fails_line(
        "pay 31/9001 --region london --amount 50000 --date 2025-06-20",
        1,
        &["determination 31/9001 was withdrawn on 2025-05-10 (superseded), so nothing more can be paid on it"],
    );
    l.fails_line(
        "determination withdraw 31/9001 --reason again --date 2025-05-11",
        1,
        &["already withdrawn"],
    );
    let list = l.json_line("determination list");
    assert_eq!(list[0]["withdrawn"]["date"], "2025-05-10");
    assert_eq!(
        l.json_line("determination show 31/9001")["withdrawn"]["reason"],
        "superseded"
    );
    assert!(l
        .ok_line("determination show 31/9001")
        .stdout
        .contains("withdrawn         2025-05-10 (superseded)"));
    // Nothing is due on it any more.
    assert_eq!(
        l.json_line("deadlines 31/9001 --today 2025-06-01"),
        serde_json::json!([])
    );
}

#[test]
fn deadlines_on_a_day_before_a_withdrawal_show_what_was_due_then() {
    let l = imported();
    l.ok_line("determination withdraw 31/9001 --reason superseded --date 2025-05-10");
    let before = l.json_line("deadlines 31/9001 --today 2025-05-05");
    let london = row(&before, "London");
    assert_eq!(london["status"], "due");
    assert_eq!(money(&london["outstanding"]), "100000.00");
    assert_eq!(money(&london["schedule"][0]["outstanding"]), "50000.00");
    assert_eq!(
        l.json_line("deadlines 31/9001 --today 2025-05-10"),
        serde_json::json!([])
    );
}

#[test]
fn a_determination_with_a_payment_cannot_be_withdrawn() {
    let l = imported();
    l.ok_line("pay 31/9001 --region london --amount 50000 --date 2025-06-20");
    l.fails_line(
        "determination withdraw 31/9001 --reason superseded --date 2025-07-01",
        1,
        &["cannot be withdrawn, because London has been paid £50,000.00"],
    );
}

#[test]
fn a_keyed_variation_repeated_appends_nothing_and_the_key_cannot_be_reused() {
    let l = imported();
    let file = l.file("variation.toml", VARIATION);
    let vary = |file: &str| {
        vec![
            "determination".to_string(),
            "vary".into(),
            "31/9001".into(),
            file.to_string(),
            "--reason".into(),
            "letter".into(),
            "--date".into(),
            "2025-09-01".into(),
            "--key".into(),
            "letter-1".into(),
        ]
    };
    let args = vary(&file);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    l.ok(&args);
    let events = l.events();
    let again = l.ok(&args);
    assert!(
        again.stderr.contains("already recorded with key letter-1"),
        "{}",
        again.stderr
    );
    assert_eq!(l.events(), events);
    let other = l.file(
        "other.toml",
        "[[allocation]]\nregion = \"london\"\namount = \"80000\"\n",
    );
    let args = vary(&other);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    l.fails(&args, 1, &["letter-1"]);
}

#[test]
fn a_withdrawal_or_a_variation_dated_after_today_is_refused_and_records_nothing() {
    let l = imported();
    let before = l.events();
    l.fails_line(
        "determination withdraw 31/9001 --reason later --date 2999-01-01",
        1,
        &["withdrawal dated 2999-01-01 is after today"],
    );
    let file = l.file("variation.toml", VARIATION);
    l.fails(
        &[
            "determination",
            "vary",
            "31/9001",
            &file,
            "--reason",
            "letter",
            "--date",
            "2999-01-01",
        ],
        1,
        &["variation dated 2999-01-01 is after today"],
    );
    assert_eq!(l.events(), before);
}

/// `determination vary 31/9001 FILE --reason letter --date D`.
fn vary_args<'a>(file: &'a str, date: &'a str) -> Vec<&'a str> {
    vec![
        "determination",
        "vary",
        "31/9001",
        file,
        "--reason",
        "letter",
        "--date",
        date,
    ]
}

#[test]
fn a_payment_back_dated_before_a_variation_is_held_to_the_allocation_of_its_day() {
    let l = imported();
    let file = l.file("variation.toml", VARIATION);
    l.ok(&vary_args(&file, "2025-09-01"));
    // On 2025-06-20 London's allocation was £100,000.00, half of it due by 2025-06-30.
    l.ok_line("pay 31/9001 --region london --amount 50000 --date 2025-06-20");
    // As of that summer its first instalment was paid in full: nothing is overdue.
    let summer = l.json_line("deadlines 31/9001 --today 2025-07-01");
    let london = row(&summer, "London");
    assert_eq!(
        (london["status"].as_str(), london["deadline"].as_str()),
        (Some("due"), Some("2025-10-31")),
        "{london}"
    );
    assert_eq!(money(&london["outstanding"]), "50000.00");
    // The last instalment completes the allocation as varied by its own day.
    l.fails_line(
        "pay 31/9001 --region london --amount 30000 --date 2025-10-01",
        1,
        &["it must be £40,000.00"],
    );
    l.ok_line("pay 31/9001 --region london --amount 40000 --date 2025-10-01");
    let paid = l.json_line("balances 31/9001 --region london");
    assert_eq!(paid[0]["status"], "paid");
    assert_eq!(money(&paid[0]["outstanding"]), "0.00");
}

#[test]
fn an_instalment_paid_short_and_settled_after_its_due_date_is_paid_late() {
    let l = imported();
    // North East's first instalment is £29,000.00 by 2025-06-30: £20,000.00 is paid.
    l.ok_line("pay 31/9001 --region north-east --amount 20000 --date 2025-06-20");
    // The rest of it comes with the second, after the first's due date.
    l.fails_line(
        "pay 31/9001 --region north-east --amount 38000 --date 2025-07-15",
        1,
        &["after the due date 2025-06-30 of instalment 1 of determination 31/9001"],
    );
    let late = l.json(&common::cmd(
        "pay 31/9001 --region north-east --amount 38000 --date 2025-07-15 --late-reason {}",
        &["remittance held"],
    ));
    assert_eq!(late["data"]["late"], true);
    let balances = l.json_line("balances 31/9001 --region north-east");
    assert_eq!(balances[0]["status"], "paid-late");
    let deadlines = l.json_line("deadlines 31/9001 --today 2025-08-01");
    assert_eq!(row(&deadlines, "North East")["status"], "paid-late");
}

#[test]
fn a_withdrawn_determinations_balances_say_it_was_withdrawn_with_nothing_outstanding() {
    let l = imported();
    l.ok_line("determination withdraw 31/9001 --reason superseded --date 2025-05-10");
    let rows = l.json_line("balances 31/9001");
    let london = row(&rows, "London");
    assert_eq!(london["withdrawn"], "2025-05-10");
    assert_eq!(money(&london["outstanding"]), "0.00");
    // Before the withdrawal it stood.
    let before = l.json_line("balances 31/9001 --as-of 2025-05-05");
    assert_eq!(row(&before, "London")["withdrawn"], serde_json::Value::Null);
    let csv = l.ok_line("balances 31/9001 --format csv").stdout;
    let mut lines = csv.lines();
    assert!(
        lines.next().is_some_and(|h| h.ends_with(",withdrawn")),
        "{csv}"
    );
    assert!(
        lines.any(|r| r.starts_with("31/9001,London,") && r.ends_with(",0.00,0,2025-05-10")),
        "{csv}"
    );
    let table = l.ok_line("balances 31/9001").stdout;
    assert!(
        table.contains("withdrawn") && table.contains("2025-05-10"),
        "{table}"
    );
}

#[test]
fn a_variation_or_withdrawal_of_an_unknown_determination_is_refused() {
    let l = imported();
    let file = l.file("variation.toml", VARIATION);
    let mut args = vary_args(&file, "2025-09-01");
    args[2] = "99/1";
    l.fails(&args, 1, &["unknown determination 99/1"]);
    l.fails_line(
        "determination withdraw 99/1 --reason superseded --date 2025-05-10",
        1,
        &["unknown determination 99/1"],
    );
}

#[test]
fn a_variation_putting_paid_above_the_new_amount_records_nothing() {
    let l = imported();
    l.ok_line("pay 31/9001 --region london --amount 50000 --date 2025-06-20");
    let before = l.events();
    let file = l.file(
        "cut.toml",
        "[[allocation]]\nregion = \"london\"\namount = \"49999.99\"\n",
    );
    l.fails(
        &vary_args(&file, "2025-09-01"),
        1,
        &["would leave its paid of £50,000.00 above it"],
    );
    assert_eq!(l.events(), before);
}

/// The trial of issue 11's finding A: North East's first instalment (£29,000.00 by
/// 2025-06-30) paid on time, then its allocation raised to £60,000.00 on 2025-08-01.
#[test]
fn a_variation_changes_only_the_instalments_due_on_or_after_its_date() {
    let l = imported();
    l.ok_line("pay 31/9001 --region north-east --amount 29000 --date 2025-06-20");
    let rise = l.file(
        "rise.toml",
        "[[allocation]]\nregion = \"North East\"\namount = \"60000\"\n",
    );
    l.ok(&vary_args(&rise, "2025-08-01"));
    // Instalment 1 keeps its £29,000.00 and is paid; the rise falls to instalment 2.
    let due = l.json_line("deadlines 31/9001 --today 2025-08-02");
    let ne = row(&due, "North East");
    assert_eq!(
        (
            ne["deadline"].as_str(),
            ne["status"].as_str(),
            ne["days_left"].as_i64()
        ),
        (Some("2025-10-31"), Some("due"), Some(90))
    );
    assert_eq!(money(&ne["schedule"][0]["amount"]), "29000.00");
    assert_eq!(money(&ne["schedule"][0]["outstanding"]), "0.00");
    assert_eq!(money(&ne["schedule"][1]["amount"]), "31000.00");
    assert_eq!(money(&ne["outstanding"]), "31000.00");
    // Paid before instalment 2's due date, the rest is on time: no late reason.
    l.fails(
        &common::cmd(
            "pay 31/9001 --region north-east --amount 31000 --date 2025-10-01 --late-reason {}",
            &["held"],
        ),
        1,
        &["is on time (instalment 2 of determination 31/9001 is due by 2025-10-31)"],
    );
    l.ok_line("pay 31/9001 --region north-east --amount 31000 --date 2025-10-01");
    let paid = l.json_line("deadlines 31/9001 --today 2025-10-02");
    assert_eq!(row(&paid, "North East")["status"], "paid");
    for line in ["balances 31/9001", "balances 31/9001 --as-of 2025-10-02"] {
        let ne = row(&l.json_line(line), "North East").clone();
        assert_eq!(
            (ne["status"].as_str(), money(&ne["paid"])),
            (Some("paid"), "60000.00"),
            "{line}"
        );
    }
}

#[test]
fn a_withdrawn_determination_is_neither_unpaid_nor_outstanding_in_the_totals() {
    let l = imported();
    l.ok_line("determination withdraw 31/9001 --reason superseded --date 2025-05-10");
    let london = row(&l.json_line("balances 31/9001"), "London").clone();
    assert_eq!(
        (money(&london["unpaid"]), money(&london["outstanding"])),
        ("0.00", "0.00")
    );
    assert_eq!(london["withdrawn"], "2025-05-10");
    // The table's totals row: each column of the header, the total under it.
    let table = l.ok_line("balances 31/9001").stdout;
    let cells = |line: &str| -> Vec<String> {
        line.split(['┆', '│'])
            .map(|c| c.trim().to_string())
            .collect()
    };
    let header = table
        .lines()
        .map(cells)
        .find(|c| c.iter().any(|c| c == "unpaid"))
        .expect("a header");
    let total = table
        .lines()
        .map(cells)
        .find(|c| c.iter().any(|c| c == "Total"))
        .expect("a totals row");
    for column in ["unpaid", "outstanding"] {
        let at = header.iter().position(|c| c == column).expect("column");
        assert_eq!(total[at], "£0.00", "{column}: {table}");
    }
    // Before the withdrawal it was unpaid.
    let before = l.json_line("balances 31/9001 --as-of 2025-05-05");
    assert_eq!(money(&row(&before, "London")["unpaid"]), "100000.00");
}
