//! End-to-end: the real binary on temporary ledgers, against the public
//! contract `docs/reference/cli.md`. Every refusal is checked for its exit code,
//! its one sentence on stderr, and an unchanged audit trail.

mod common;

use common::{bin, cmd, money, row, words, Ledger, ALLOCATIONS, ID};
use serde_json::Value;

// ---------------------------------------------------------------- determinations

#[test]
fn builtin_import_then_identical_reimport_appends_nothing() {
    let l = Ledger::empty();
    let first = l.json(&["determination", "import", "--builtin", ID]);
    assert_eq!(first["type"], "DeterminationMade");
    assert_eq!(first["position"], 1);
    let before = l.history();
    let again = l.run_line("determination import --builtin 31/7421 --format json");
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stderr.contains("identical"), "{}", again.stderr);
    assert_eq!(again.json()["position"], 1);
    assert_eq!(before, l.history());

    let list = l.json(&["determination", "list"]);
    assert_eq!(list[0]["id"], ID);
    assert_eq!(money(&list[0]["total"]), "2413000.00");
    let show = l.json(&["determination", "show", ID]);
    assert_eq!(show["payment_deadline"], "2024-08-30");
    let table = l.ok(&["determination", "show", ID]).stdout;
    assert!(table.contains("Wiltshire County Council") && table.contains("£260,600.00"));
}

#[test]
fn import_from_file_refuses_changed_content_and_malformed_files() {
    let l = Ledger::empty();
    let toml = grant_ledger_domain::builtin_toml(ID).expect("builtin");
    let file = l.file("d.toml", toml);
    l.ok(&["determination", "import", &file]);
    // The same content again is fine.
    l.ok(&["determination", "import", &file]);
    // Different content under the same id is refused.
    let changed = l.file("changed.toml", &toml.replace("233200.00", "233300.00"));
    l.fails(&["determination", "import", &changed], 1, &[ID]);
    // A file missing a key: exit 2 naming it.
    let broken = l.file(
        "broken.toml",
        &toml.replace("payment_deadline = 2024-08-30\n", ""),
    );
    l.fails(
        &["determination", "import", &broken],
        2,
        &["payment_deadline"],
    );
    let bad_amount = l.file("bad.toml", &toml.replace("\"318000.00\"", "\"31800x\""));
    l.fails(&["determination", "import", &bad_amount], 2, &["amount"]);
    l.fails_line(
        "determination import /nonexistent/d.toml",
        2,
        &["/nonexistent/d.toml"],
    );
    l.fails_line("determination import --builtin 99/9999", 1, &["99/9999"]);
}

#[test]
fn determination_check_reports_south_west_and_workings() {
    let l = Ledger::with_determination();
    let table = l.ok(&["determination", "check", ID]).stdout;
    assert!(
        table.contains("£249,200.00") && table.contains("£11,400.00"),
        "{table}"
    );
    assert!(table.contains("sector-led-improvement"));
    let regions = l.json(&["determination", "check", ID]);
    let sw = row(&regions, "South West");
    assert_eq!(money(&sw["formula"]), "249200.00");
    assert_eq!(money(&sw["determined"]), "260600.00");
    assert_eq!(money(&sw["difference"]), "11400.00");
    assert_eq!(sw["authorities"], 15);
    assert_eq!(money(&sw["components"]["self-assessment"]), "48000.00");
    assert_eq!(
        money(&row(&regions, "London")["components"]["data-coordinator"]),
        "91200.00"
    );
    assert_eq!(money(&row(&regions, "London")["difference"]), "0.00");

    let workings = l.json(&["determination", "check", ID, "--workings"]);
    let workings = workings.as_array().expect("array");
    assert!(!workings.is_empty());
    for w in workings {
        for field in ["purpose", "working", "amount", "difference"] {
            assert!(w.get(field).is_some(), "{w}");
        }
    }
    let sli = workings
        .iter()
        .find(|w| w["purpose"] == "sector-led-improvement")
        .expect("sector-led-improvement working");
    assert_eq!(money(&sli["amount"]), "94000.00");
    assert_eq!(money(&sli["difference"]), "400.00");

    let strict = l.run(&["determination", "check", ID, "--strict"]);
    assert_eq!(strict.code, 1);
    assert!(strict.stderr.contains("South West"), "{}", strict.stderr);
    let csv = l.ok_line("determination check 31/7421 --format csv").stdout;
    assert!(csv.starts_with("region,authorities,formula,determined,difference,"));
    assert!(
        csv.contains("South West,15,249200.00,260600.00,11400.00"),
        "{csv}"
    );
    l.fails(&["determination", "check", "12/3456"], 1, &["12/3456"]);
}

// ---------------------------------------------------------------- payments

#[test]
fn payment_rules() {
    let l = Ledger::with_determination();
    l.fails_line(
        "pay 31/7421 --region london --amount 318000 --date 2024-08-31",
        1,
        &["2024-08-31", "2024-08-30", ID],
    );
    l.fails_line(
        "pay 31/7421 --region london --amount 318000 --date 2024-08-15",
        1,
        &["2024-08-15"],
    );
    l.fails_line(
        "pay 31/7421 --region london --amount 300000 --date 2024-08-20",
        1,
        &["£318,000.00"],
    );
    // On the deadline is on time (inclusive).
    let paid = l.json_line(
        "pay 31/7421 --region London --amount £318,000 --date 2024-08-30 --reference BACS-1",
    );
    assert_eq!(paid["type"], "PaymentIssued");
    assert_eq!(money(&paid["data"]["amount"]), "318000.00");
    assert_eq!(paid["data"]["region"], "London");
    assert_eq!(paid["effective_date"], "2024-08-30");
    assert_eq!(paid["actor"], "tester");
    l.fails_line(
        "pay 31/7421 --region london --amount 318000 --date 2024-08-30",
        1,
        &["London"],
    );
    // Late with a reason: recorded and flagged.
    let table = l
        .ok(&cmd(
            "pay 31/7421 --region south-west --amount 260600 --date 2024-08-31 --late-reason {}",
            &["BACS run failed"],
        ))
        .stdout;
    assert!(
        table.contains("position 3") && table.contains("event id"),
        "{table}"
    );
    let balances = l.json(&["balances", ID]);
    assert_eq!(row(&balances, "South West")["status"], "paid-late");
    assert_eq!(row(&balances, "London")["status"], "paid");
    assert_eq!(row(&balances, "London")["paid_on"], "2024-08-30");
    assert_eq!(row(&balances, "North East")["status"], "unpaid");
    assert_eq!(row(&balances, "North East")["paid_on"], Value::Null);
    let deadlines = l.json(&["deadlines", ID, "--today", "2024-09-02"]);
    assert_eq!(row(&deadlines, "South West")["status"], "paid-late");
    assert_eq!(row(&deadlines, "South West")["days_left"], Value::Null);
    assert_eq!(row(&deadlines, "North East")["status"], "overdue");
    assert_eq!(row(&deadlines, "North East")["days_left"], -3);
    let due = l.json(&["deadlines", "--today", "2024-08-20"]);
    assert_eq!(row(&due, "North East")["status"], "due");
    assert_eq!(row(&due, "North East")["days_left"], 10);
    assert_eq!(row(&due, "North East")["deadline"], "2024-08-30");
}

#[test]
fn unknown_names_are_refused() {
    let l = Ledger::paid();
    let spend = |det, region, purpose, authority| {
        format!(
            "spend {det} --region {region} --amount 100 --date 2024-10-01 \
             --purpose {purpose} --authority {authority}"
        )
    };
    let unknown = spend("99/1", "london", "data-coordinator", "Camden");
    l.fails_line(&unknown, 1, &["99/1"]);
    let unknown = spend(ID, "atlantis", "data-coordinator", "Camden");
    l.fails_line(&unknown, 1, &["atlantis"]);
    let unknown = spend(ID, "london", "biscuits", "Camden");
    l.fails_line(&unknown, 1, &["biscuits"]);
    let unknown = spend(ID, "london", "data-coordinator", "Wiltshire");
    l.fails_line(&unknown, 1, &["Wiltshire"]);
    l.fails_line(
        "pay 99/1 --region london --amount 1 --date 2024-08-20",
        1,
        &["99/1"],
    );
    l.fails(&["balances", "--region", "atlantis"], 1, &["atlantis"]);
    l.fails(&["spend-report", "99/1"], 1, &["99/1"]);
}

// ---------------------------------------------------------------- spend and recovery

#[test]
fn spend_and_recovery_rules() {
    let l = Ledger::paid();
    let spent = l.json_line("spend 31/7421 --region north-east --amount 200,000 --date 2024-10-01 --purpose data-coordinator --authority durham --description Q3");
    assert_eq!(spent["type"], "FundsSpent");
    assert_eq!(spent["data"]["authority"], "Durham");
    // Over net received (239,600 paid): refused with the figures.
    let over = cmd(
        "spend 31/7421 --region {} --amount 39600.01 --date 2024-10-02 --purpose data-coordinator",
        &["north east"],
    );
    l.fails(&over, 1, &["North East"]);
    // Outside the grant period.
    for date in ["2024-03-31", "2025-04-01"] {
        let spend = cmd(
            "spend 31/7421 --region london --amount 10 --date {} --purpose data-coordinator",
            &[date],
        );
        l.fails(&spend, 1, &[date]);
    }
    // Recovery above unspent (39,600) is refused; up to it is fine.
    l.fails_line(
        "recover 31/7421 --region north-east --amount 39600.01 --date 2025-04-30 --reason underspend",
        1,
        &["North East"],
    );
    let recovered = l.json(&cmd(
        "recover 31/7421 --region north-east --amount 9600 --date 2025-04-30 --reason {}",
        &["underspend returned"],
    ));
    assert_eq!(recovered["type"], "GrantRecovered");
    let ne = l.json(&cmd("balances 31/7421 --region {}", &["North East"]));
    let ne = row(&ne, "North East").clone();
    assert_eq!(money(&ne["paid"]), "239600.00");
    assert_eq!(money(&ne["spent"]), "200000.00");
    assert_eq!(money(&ne["recovered"]), "9600.00");
    assert_eq!(money(&ne["unpaid"]), "0.00");
    assert_eq!(money(&ne["unspent"]), "30000.00");
    assert_eq!(ne["lead_authority"], "Durham County Council");
    assert_eq!(ne["determination"], ID);
    // Spending what was recovered is now over net received.
    l.fails_line(
        "spend 31/7421 --region north-east --amount 30000.01 --date 2024-12-01 --purpose national-framework",
        1,
        &["North East"],
    );
}

// ---------------------------------------------------------------- reversals

#[test]
fn reversal_rules() {
    let l = Ledger::paid();
    // Position 11: a spend in London.
    let spend = l.json_line("spend 31/7421 --region london --amount 5000 --date 2024-10-10 --purpose self-assessment --authority Camden");
    assert_eq!(spend["position"], 11);
    let london_payment = "4"; // import, then East Midlands, East of England, London
    l.fails(
        &cmd("reverse {} --reason duplicate", &[london_payment]),
        1,
        &[],
    );
    // Not before the reversed event's date.
    l.fails_line(
        "reverse 11 --reason refund --date 2024-10-09",
        1,
        &["2024-10-09"],
    );
    // A correction by event id: takes the original's date.
    let id = spend["event_id"].as_str().expect("event id").to_string();
    let reversal = l.json(&["reverse", &id, "--reason", "mis-keyed"]);
    assert_eq!(reversal["type"], "EventReversed");
    assert_eq!(reversal["effective_date"], "2024-10-10");
    assert_eq!(reversal["position"], 12);
    l.fails_line("reverse 11 --reason again", 1, &["already"]);
    l.fails_line("reverse 12 --reason undo", 1, &["reversal"]);
    l.fails_line("reverse 999 --reason x", 1, &["999"]);
    l.fails_line("reverse not-an-event --reason x", 2, &["not-an-event"]);
    l.fails_line(
        "reverse 11 --reason x --date 2024-13-01",
        2,
        &["2024-13-01"],
    );
    // Now the payment has no spend against it: a dated reversal (money returned).
    let returned = l.json(&cmd(
        "reverse {} --reason returned --date 2024-09-15",
        &[london_payment],
    ));
    assert_eq!(returned["effective_date"], "2024-09-15");
    let before = l.json_line("balances 31/7421 --region london --as-of 2024-09-01");
    assert_eq!(money(&row(&before, "London")["paid"]), "318000.00");
    let after = l.json_line("balances 31/7421 --region london");
    assert_eq!(money(&row(&after, "London")["paid"]), "0.00");
    assert_eq!(row(&after, "London")["status"], "unpaid");
}

// ---------------------------------------------------------------- idempotency

#[test]
fn keys_make_commands_idempotent() {
    let l = Ledger::with_determination();
    let pay =
        words("pay 31/7421 --region london --amount 318000 --date 2024-08-20 --key pay-london");
    let first = l.json(&pay);
    let before = l.history();
    let again = l.run(&[&pay[..], &["--format", "json"]].concat());
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.json()["event_id"], first["event_id"]);
    assert!(again.stderr.contains("pay-london"), "{}", again.stderr);
    assert_eq!(before, l.history());
    // Same key, different command.
    l.fails_line(
        "pay 31/7421 --region london --amount 318000 --date 2024-08-21 --key pay-london",
        1,
        &["pay-london"],
    );
    l.fails_line(
        "spend 31/7421 --region london --amount 1 --date 2024-10-01 --purpose data-coordinator --key pay-london",
        1,
        &["pay-london"],
    );
    let spend = "spend 31/7421 --region london --amount 1 --date 2024-10-01 --purpose data-coordinator --key s1";
    l.ok_line(spend);
    let n = l.events();
    l.ok_line(spend);
    let recover =
        "recover 31/7421 --region london --amount 1 --date 2024-10-01 --reason r --key r1";
    l.ok_line(recover);
    l.ok_line(recover);
    l.ok_line("reverse 3 --reason x --key v1");
    l.ok_line("reverse 3 --reason x --key v1");
    assert_eq!(l.events(), n + 2);
}

// ---------------------------------------------------------------- malformed input

#[test]
fn malformed_input_exits_2() {
    let l = Ledger::with_determination();
    for amount in ["1e5", "-5", "0", "0.00", "1.234", "12,34", "ten", "£", ""] {
        let pay = cmd(
            "pay 31/7421 --region london --amount {} --date 2024-08-20",
            &[amount],
        );
        l.fails(&pay, 2, &["amount"]);
    }
    for date in ["2024-8-20", "20/08/2024", "2024-02-30", "yesterday"] {
        let pay = cmd("pay 31/7421 --region london --amount 1 --date {}", &[date]);
        l.fails(&pay, 2, &[date]);
    }
    for key in ["", "   "] {
        let pay = cmd(
            "pay 31/7421 --region london --amount 318000 --date 2024-08-20 --key {}",
            &[key],
        );
        l.fails(&pay, 2, &["--key is empty"]);
    }
    l.fails_line("balances --as-of 2024/12/31", 2, &["--as-of"]);
    l.fails_line("deadlines --today today", 2, &["--today"]);
    l.fails_line("history --since x", 2, &["--since"]);
    l.fails_line("history --type Paid", 2, &["Paid"]);
    // clap's own usage errors: exit 2, nothing written.
    let before = l.history();
    for args in [
        vec!["pay", ID, "--region", "london", "--amount", "1"],
        vec!["pay", "--bogus"],
        vec!["history", "--limit", "abc"],
        vec!["--format", "xml", "balances"],
        vec!["frobnicate"],
        vec!["determination", "import"],
        vec!["determination", "import", "f.toml", "--builtin", ID],
        vec!["balances", ""],
        vec!["reverse", "", "--reason", "r"],
    ] {
        let run = l.run(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty());
        // One line, like every other error.
        assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
        assert_eq!(run.stderr.trim_end().lines().count(), 1, "{}", run.stderr);
    }
    assert_eq!(before, l.history());
}

// ---------------------------------------------------------------- spend import

const HEADER: &str =
    "determination,region,amount,date,purpose,authority,description,reference,key\n";

#[test]
fn spend_import_is_atomic_and_names_the_bad_line() {
    let l = Ledger::paid();
    let good = l.file(
        "good.csv",
        &format!(
            "{HEADER}\
             31/7421,London,12500,2024-10-01,data-coordinator,Camden,Coordinator Q3,INV-1,k1\n\
             31/7421,south-west,\"£1,000.50\",2024-11-01,self-assessment,Wiltshire,,,\n\
             31/7421,North East,300,2024-12-01,national-framework,,,,\n"
        ),
    );
    let summary = l.json(&["spend-import", &good]);
    assert_eq!(summary["recorded"], 3);
    assert_eq!(summary["first_position"], 11);
    assert_eq!(summary["last_position"], 13);
    // Repeating the file: the keyed row is skipped, the others recorded again.
    let report = l.json(&["spend-report", ID, "--region", "south west"]);
    let sa = report
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["purpose"] == "self-assessment"))
        .expect("self-assessment row");
    assert_eq!(money(&sa["spent"]), "1000.50");
    assert_eq!(money(&sa["budget"]), "48000.00");
    assert_eq!(money(&sa["remaining"]), "46999.50");
    assert_eq!(sa["region"], "South West");

    let bad_date = l.file(
        "bad.csv",
        &format!(
            "{HEADER}\
             31/7421,London,1,2024-10-01,data-coordinator,,,,\n\
             31/7421,London,2,2024-13-01,data-coordinator,,,,\n"
        ),
    );
    l.fails(&["spend-import", &bad_date], 2, &["line 3"]);
    let bad_amount = l.file(
        "amount.csv",
        &format!("{HEADER}31/7421,London,1e3,2024-10-01,data-coordinator,,,,\n"),
    );
    l.fails(&["spend-import", &bad_amount], 2, &["line 2", "1e3"]);
    let refused = l.file(
        "refused.csv",
        &format!(
            "{HEADER}\
             31/7421,London,1,2024-10-01,data-coordinator,,,,\n\
             31/7421,London,1,2024-10-01,data-coordinator,,,,\n\
             31/7421,London,1,2024-10-01,biscuits,,,,\n"
        ),
    );
    l.fails(&["spend-import", &refused], 1, &["line 4", "biscuits"]);
    // Blank lines and CRLF line ends still leave the line named the one a person finds
    // the row on in an editor (the bad row is on line 6).
    let spaced = l.file(
        "spaced.csv",
        &format!(
            "{}\r\n\r\n\
             31/7421,London,1,2024-10-01,data-coordinator,,,,\r\n\r\n\r\n\
             31/7421,London,1,2024-10-01,biscuits,,,,\r\n",
            HEADER.trim_end()
        ),
    );
    l.fails(&["spend-import", &spaced], 1, &["line 6", "biscuits"]);
    let over = l.file(
        "over.csv",
        &format!("{HEADER}31/7421,London,400000,2024-10-01,data-coordinator,,,,\n"),
    );
    l.fails(&["spend-import", &over], 1, &["line 2"]);
    let short = l.file(
        "short.csv",
        &format!("{HEADER}31/7421,London,1,2024-10-01\n"),
    );
    l.fails(&["spend-import", &short], 2, &["line 2"]);
    let header = l.file("header.csv", "determination,region,amount\n");
    l.fails(&["spend-import", &header], 2, &["line 1"]);
    l.fails(
        &["spend-import", "/nonexistent.csv"],
        2,
        &["/nonexistent.csv"],
    );
}

#[test]
fn a_keyed_spend_import_can_be_run_again_and_refuses_a_changed_row() {
    let l = Ledger::paid();
    let rows = |changed: Option<usize>| {
        let mut csv = HEADER.to_string();
        for i in 0..200 {
            let amount = if Some(i) == changed { "2.00" } else { "1.00" };
            csv.push_str(&format!(
                "31/7421,London,{amount},2024-10-01,data-coordinator,,,INV-{i},row-{i}\n"
            ));
        }
        csv
    };
    let file = l.file("keyed.csv", &rows(None));
    let first = l.json(&["spend-import", &file]);
    assert_eq!(
        (first["recorded"].as_u64(), first["skipped"].as_u64()),
        (Some(200), Some(0))
    );
    let history = l.history();

    // The same file again: exit 0, every row skipped, the history unchanged.
    let again = l.json(&["spend-import", &file]);
    assert_eq!(
        (again["recorded"].as_u64(), again["skipped"].as_u64()),
        (Some(0), Some(200))
    );
    assert_eq!(l.history(), history);

    // Row 150 (line 152) changed under its key: refused naming the line, nothing written.
    let changed = l.file("changed.csv", &rows(Some(150)));
    l.fails(&["spend-import", &changed], 1, &["line 152", "row-150"]);
    assert_eq!(l.history(), history);
}

// ---------------------------------------------------------------- queries

#[test]
fn the_totals_row_adds_up_each_column() {
    let l = Ledger::with_determination();
    l.ok_line("pay 31/7421 --region london --amount 318000 --date 2024-08-20");
    l.ok_line(
        "spend 31/7421 --region london --amount 1000 --date 2024-10-01 --purpose data-coordinator",
    );
    let table = l.ok(&["balances"]).stdout;
    let total = table
        .lines()
        .find(|line| line.contains("Total"))
        .unwrap_or_else(|| panic!("no totals row:\n{table}"));
    let figures: Vec<&str> = total
        .split(['┆', '│'])
        .map(str::trim)
        .filter(|cell| cell.starts_with('£'))
        .collect();
    // determined, paid, recovered, spent, unpaid, unspent, outstanding
    assert_eq!(
        figures,
        [
            "£2,413,000.00",
            "£318,000.00",
            "£0.00",
            "£1,000.00",
            "£2,095,000.00",
            "£317,000.00",
            "£2,095,000.00"
        ],
        "{total}"
    );
}

#[test]
fn balances_as_of_totals_and_csv() {
    let l = Ledger::paid();
    l.ok(&cmd(
        "spend 31/7421 --region south-east --amount 90000 --date 2024-11-15 --purpose data-to-insight --authority {}",
        &["East Sussex"],
    ));
    let rows = l.json(&["balances"]);
    assert_eq!(
        rows.as_array().map(Vec::len),
        Some(9),
        "no totals row in JSON"
    );
    let se = row(&rows, "South East");
    for field in [
        "determination",
        "region",
        "lead_authority",
        "determined",
        "paid",
        "recovered",
        "spent",
        "unpaid",
        "unspent",
        "status",
        "paid_on",
        "outstanding",
        "instalments_paid",
    ] {
        assert!(se.get(field).is_some(), "missing {field}: {se}");
    }
    assert_eq!(money(&se["spent"]), "90000.00");
    assert_eq!(money(&se["unspent"]), "262000.00");
    let early = l.json_line("balances 31/7421 --as-of 2024-08-22");
    assert_eq!(money(&row(&early, "South East")["paid"]), "0.00");
    assert_eq!(row(&early, "South East")["status"], "unpaid");
    let mid = l.json(&cmd(
        "balances --as-of 2024-11-14 --region {}",
        &["South East"],
    ));
    assert_eq!(mid.as_array().map(Vec::len), Some(1));
    assert_eq!(money(&row(&mid, "South East")["spent"]), "0.00");

    let table = l.ok(&["balances"]).stdout;
    assert!(
        table.contains("Total") && table.contains("£2,413,000.00"),
        "{table}"
    );
    let csv = l.ok_line("balances --format csv").stdout;
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("determination,region,lead_authority,determined,paid,recovered,spent,unpaid,unspent,status,paid_on,outstanding,instalments_paid,withdrawn")
    );
    assert!(csv.contains(
        "31/7421,South East,East Sussex County Council,352000.00,352000.00,0.00,90000.00,0.00,262000.00,paid,2024-08-23,0.00,1"
    ), "{csv}");
    assert_eq!(csv.lines().count(), 10, "no totals row in CSV");
    // Global options after the subcommand, and the ledger from the environment.
    let env = bin()
        .env("GRANT_LEDGER_DIR", l.dir())
        .args(["balances", "--format", "json", "--region", "london"])
        .output()
        .expect("runs");
    assert!(env.status.success());
    let v: Value = serde_json::from_slice(&env.stdout).expect("json");
    assert_eq!(v[0]["region"], "London");
}

#[test]
fn spend_report_and_history_filters() {
    let l = Ledger::paid();
    l.ok_line("spend 31/7421 --region london --amount 1000 --date 2024-10-01 --purpose data-coordinator --authority Hackney --key h1");
    l.ok_line("--actor auditor spend 31/7421 --region west-midlands --amount 2000 --date 2025-01-15 --purpose national-framework");
    let report = l.json(&["spend-report", ID]);
    let rows: Vec<&serde_json::Value> = report
        .as_array()
        .expect("array")
        .iter()
        .filter(|r| r["line"] == "purpose")
        .collect();
    // Five purposes in nine regions, less Data to Insight where the formula gives a
    // region nothing and nothing was spent on it (all but the South East).
    assert_eq!(rows.len(), 9 * 5 - 8);
    assert!(rows
        .iter()
        .filter(|r| r["purpose"] == "data-to-insight")
        .all(|r| r["region"] == "South East"));
    let london_dc = rows
        .iter()
        .find(|r| r["region"] == "London" && r["purpose"] == "data-coordinator")
        .expect("row");
    assert_eq!(money(&london_dc["budget"]), "91200.00");
    assert_eq!(money(&london_dc["spent"]), "1000.00");
    assert_eq!(money(&london_dc["remaining"]), "90200.00");

    let all = l.json(&["history"]);
    let all = all.as_array().expect("array");
    assert_eq!(all.len(), 12);
    for field in [
        "position",
        "event_id",
        "type",
        "stream",
        "version",
        "recorded_at",
        "actor",
        "key",
        "effective_date",
        "data",
        "hash",
    ] {
        assert!(all[10].get(field).is_some(), "missing {field}");
    }
    assert_eq!(all[10]["key"], "h1");
    assert_eq!(all[11]["actor"], "auditor");
    assert_eq!(all[0]["stream"], "determination/31/7421");
    let paid = l.json_line("history --type PaymentIssued");
    assert_eq!(paid.as_array().map(Vec::len), Some(9));
    // The making of 31/7421 (it allocates London's £318,000), London's payment and spend.
    let london = l.json_line("history --region london");
    assert_eq!(london.as_array().map(Vec::len), Some(3));
    let window = l.json_line("history --since 2024-09-01 --until 2024-12-31");
    assert_eq!(window.as_array().map(Vec::len), Some(1));
    assert_eq!(window[0]["data"]["authority"], "Hackney");
    let limited = l.json_line("history --limit 3");
    assert_eq!(limited.as_array().map(Vec::len), Some(3));
    assert_eq!(limited[2]["position"], 3);
    let none = l.json_line("history --type GrantRecovered");
    assert_eq!(none, Value::Array(vec![]));
    let csv = l.ok_line("history --format csv --limit 2").stdout;
    assert!(csv.starts_with(
        "position,event_id,type,stream,version,recorded_at,actor,key,effective_date,data,hash\n"
    ));
    assert_eq!(csv.lines().count(), 3);
    // recorded_at reads the same in CSV as in JSON.
    let first_json = l.json_line("history --limit 1");
    let recorded_at = first_json[0]["recorded_at"].as_str().expect("text");
    assert!(recorded_at.ends_with('Z'), "{recorded_at}");
    assert!(csv.contains(&format!(",{recorded_at},")), "{csv}");
    l.fails_line(
        "history --since 2025-01-01 --until 2024-12-31",
        2,
        &["--since 2025-01-01 is after --until 2024-12-31"],
    );
    let table = l.ok(&["history", "--region", "west midlands"]).stdout;
    assert!(
        table.contains("£2,000.00") && table.contains("auditor"),
        "{table}"
    );
    let report_csv = l
        .ok_line("spend-report 31/7421 --region london --format csv")
        .stdout;
    assert!(report_csv.contains("31/7421,London,data-coordinator,91200.00,1000.00,90200.00"));
}

const QUERIES: [&[&str]; 9] = [
    &["balances"],
    &["history"],
    &["determination", "list"],
    &["determination", "show", ID],
    &["determination", "check", ID],
    &["deadlines"],
    &["spend-report", ID],
    &["verify"],
    &["balances", "--format", "json"],
];

#[test]
fn queries_need_an_existing_ledger_and_create_nothing() {
    let l = Ledger::empty();
    let needles = [
        "no ledger at",
        "created by the first determination import",
        "determination import --builtin 31/7421",
    ];
    // A mistyped path: no directory at all, not even its parent.
    let missing = l.path().join("typo").join("ledger");
    for args in QUERIES {
        let run = bin()
            .arg("--ledger")
            .arg(&missing)
            .args(args)
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(3), "{args:?}: {stderr}");
        assert!(run.stdout.is_empty(), "{args:?}");
        assert!(stderr.contains(&missing.display().to_string()), "{stderr}");
        assert!(!l.path().join("typo").exists(), "{args:?} created it");
        // And an existing, empty directory gets no files.
        l.fails(args, 3, &needles);
        assert!(!l.dir().exists(), "{args:?} created the ledger directory");
        std::fs::create_dir(l.dir()).expect("mkdir");
        l.fails(args, 3, &needles);
        let entries = std::fs::read_dir(l.dir()).expect("read dir").count();
        assert_eq!(entries, 0, "{args:?} wrote into the empty directory");
        std::fs::remove_dir(l.dir()).expect("rmdir");
    }
    // Recording commands that name what a ledger must already hold are refused as
    // unknown (exit 1) and create nothing either.
    let csv = l.file(
        "spends.csv",
        &format!("{HEADER}31/7421,London,1,2024-10-01,data-coordinator,,,,\n"),
    );
    let import = format!("spend-import {csv}");
    for (command, unknown) in [
        (
            "pay 31/7421 --region london --amount 318000 --date 2024-08-20",
            "unknown determination 31/7421",
        ),
        (
            "recover 31/7421 --region london --amount 1 --date 2024-10-01 --reason r",
            "unknown determination 31/7421",
        ),
        ("reverse 2 --reason r", "unknown event 2"),
        (import.as_str(), "no spend can be recorded"),
    ] {
        l.fails_line(
            command,
            1,
            &[unknown, "no ledger at", "determination import"],
        );
        assert!(!l.dir().exists(), "{command} created the ledger directory");
    }
    // The first determination import creates it; then queries answer.
    l.ok(&["determination", "import", "--builtin", ID]);
    assert_eq!(
        l.json(&["determination", "list"]).as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(l.json(&["history"]).as_array().map(Vec::len), Some(1));
    l.ok(&["verify"]);
}

#[test]
fn a_ledger_holds_only_sleds_files_and_its_signing_key() {
    let l = Ledger::paid();
    for entry in std::fs::read_dir(l.dir()).expect("read dir") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        assert!(
            ["blobs", "conf", "db", "signing.key"].contains(&name.as_str())
                || name.starts_with("snap."),
            "{name} is not one of sled's files nor the checkpoint signing key"
        );
    }
    // And sled alone opens it, as the contract says, the key beside its files.
    let db = common::sled_open(&l.dir());
    let events = db.open_tree("events").expect("events tree");
    assert_eq!(events.len(), 10);
}

// ---------------------------------------------------------------- verify and availability

fn flip_reference(dir: &std::path::Path, from: &[u8], to: &[u8]) -> u64 {
    let db = common::sled_open(dir);
    let events = db.open_tree("events").expect("events tree");
    let mut tampered = 0;
    for item in events.iter() {
        let (key, value) = item.expect("entry");
        if let Some(at) = value.windows(from.len()).position(|w| w == from) {
            let mut bytes = value.to_vec();
            bytes[at..at + to.len()].copy_from_slice(to);
            events.insert(&key, bytes).expect("insert");
            let mut position = [0u8; 8];
            position.copy_from_slice(&key[..8]);
            tampered = u64::from_be_bytes(position);
            break;
        }
    }
    db.flush().expect("flush");
    tampered
}

#[test]
fn verify_passes_then_names_a_tampered_position() {
    let l = Ledger::with_determination();
    l.ok_line(
        "pay 31/7421 --region london --amount 318000 --date 2024-08-20 --reference REF-TAMPER",
    );
    l.ok_line("pay 31/7421 --region north-east --amount 239600 --date 2024-08-20");
    let ok = l.ok(&["verify"]).stdout;
    assert_eq!(ok.lines().count(), 1, "{ok}");
    assert!(ok.contains("3 events"), "{ok}");
    assert_eq!(l.json(&["verify"])["events"], 3);

    let position = flip_reference(&l.dir(), b"REF-TAMPER", b"REF-TAMPEX");
    assert_eq!(position, 2);
    let bad = l.run(&["verify"]);
    assert_eq!(bad.code, 3, "{}\n{}", bad.stdout, bad.stderr);
    assert!(bad.stderr.contains("position 2"), "{}", bad.stderr);
    assert_eq!(bad.stderr.trim_end().lines().count(), 1, "{}", bad.stderr);

    // Reading the trail meets the altered event after printing the one before it: the
    // answer is refused whole, never half a JSON document or half a CSV file.
    for format in ["json", "csv", "table"] {
        let trail = l.run(&["history", "--format", format]);
        assert_eq!(trail.code, 3, "{format}: {}", trail.stderr);
        assert_eq!(trail.stdout, "", "{format}");
    }
}

#[test]
fn a_ledger_in_use_is_unavailable() {
    let l = Ledger::with_determination();
    let held = sled::open(l.dir()).expect("hold the ledger");
    for args in [
        words("--wait 0 balances"),
        words(&format!("--wait 0 {PAY_LONDON}")),
    ] {
        let run = l.run(&args);
        assert_eq!(run.code, 3, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("in use"), "{}", run.stderr);
        assert_eq!(run.stderr.trim_end().lines().count(), 1);
    }
    drop(held);
}

const PAY_LONDON: &str = "pay 31/7421 --region london --amount 318000 --date 2024-08-20";

/// Runs `args` against `--ledger dir` and requires exit 3 with exactly `message`.
fn fails_to_open(dir: &std::path::Path, args: &[&str], message: &str) {
    let run = bin()
        .arg("--ledger")
        .arg(dir)
        .args(args)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(3), "{args:?}: {stderr}");
    assert_eq!(stderr, format!("error: {message}\n"), "{args:?}");
    assert!(run.stdout.is_empty());
}

#[test]
fn a_path_that_cannot_hold_a_ledger_is_named_in_one_sentence() {
    let l = Ledger::empty();
    // A file where the ledger directory should be, and a path under that file.
    std::fs::write(l.dir(), b"not a ledger").expect("write");
    let file = l.dir();
    let under = file.join("sub");
    for args in [
        &["balances"][..],
        &words(PAY_LONDON)[..],
        &["determination", "import", "--builtin", ID],
    ] {
        fails_to_open(
            &file,
            args,
            &format!(
                "cannot open the ledger at {}: it is a file, not a directory",
                file.display()
            ),
        );
        fails_to_open(
            &under,
            args,
            &format!(
                "cannot open the ledger at {}: {} is a file, not a directory",
                under.display(),
                file.display()
            ),
        );
    }
    assert_eq!(std::fs::read(&file).expect("read"), b"not a ledger");

    // A directory holding other things is not turned into a ledger.
    let other = l.path().join("documents");
    std::fs::create_dir(&other).expect("mkdir");
    std::fs::write(other.join("notes.txt"), b"x").expect("write");
    let run = bin()
        .arg("--ledger")
        .arg(&other)
        .args(["determination", "import", "--builtin", ID])
        .output()
        .expect("runs");
    assert_eq!(run.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&run.stderr).contains("holds other files"));
    assert_eq!(std::fs::read_dir(&other).expect("read dir").count(), 1);
}

#[cfg(unix)]
#[test]
fn a_directory_without_write_permission_is_named() {
    use std::os::unix::fs::PermissionsExt;
    let l = Ledger::empty();
    let locked = l.path().join("locked");
    std::fs::create_dir(&locked).expect("mkdir");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    // root ignores permissions: then there is nothing to observe.
    if std::fs::write(locked.join("probe"), b"").is_ok() {
        eprintln!("skipped: running with permission to write anywhere");
        return;
    }
    for dir in [locked.clone(), locked.join("ledger")] {
        fails_to_open(
            &dir,
            &["determination", "import", "--builtin", ID],
            &format!(
                "cannot open the ledger at {}: permission denied",
                dir.display()
            ),
        );
    }
}

/// The number of stored events and the head, read with sled alone.
fn stored_events(dir: &std::path::Path) -> (usize, Vec<u8>) {
    let db = common::sled_open(dir);
    let events = db.open_tree("events").expect("events tree").len();
    let head = db
        .open_tree("meta")
        .expect("meta")
        .get("head")
        .expect("get");
    (events, head.map(|h| h.to_vec()).unwrap_or_default())
}

#[test]
fn a_damaged_last_event_makes_the_ledger_unavailable_for_everything() {
    let l = Ledger::with_determination();
    l.ok_line(PAY_LONDON);
    common::flip_event_byte(&l.dir(), 2, 60);
    let before = stored_events(&l.dir());
    let spend = words(
        "spend 31/7421 --region london --amount 100 --date 2024-09-01 --purpose data-coordinator",
    );
    for args in [
        &spend[..],
        &["balances"][..],
        &["history"][..],
        &["verify"][..],
    ] {
        let run = l.run(args);
        assert_eq!(run.code, 3, "{args:?}: {}", run.stderr);
        // One sentence, whichever command (and check) found it.
        assert_eq!(
            run.stderr.trim_end(),
            "error: the ledger is damaged at position 2: its stored hash does not match its contents; it answers nothing until it is restored from a backup",
            "{args:?}"
        );
        assert!(run.stdout.is_empty());
    }
    assert_eq!(stored_events(&l.dir()), before, "something was appended");
}

#[test]
fn a_deleted_middle_event_is_found_by_verify() {
    // Open checks only the last event (a full scan on every command would not scale);
    // verify reads everything and names the gap.
    let l = Ledger::paid();
    {
        let db = common::sled_open(&l.dir());
        let events = db.open_tree("events").expect("events tree");
        events.remove(7u64.to_be_bytes()).expect("remove");
        db.flush().expect("flush");
    }
    let run = l.run(&["verify"]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(run.stderr.contains("position 7"), "{}", run.stderr);
}

// ---------------------------------------------------------------- demo and help

#[test]
fn demo_prints_four_sections_and_verifies() {
    let l = Ledger::empty();
    let run = l.ok(&["demo"]);
    for section in [
        "Balances",
        "Deadlines",
        "Spend report",
        "Determination check",
    ] {
        assert!(run.stdout.contains(section), "missing {section}");
    }
    assert!(run.stdout.contains("£249,200.00") && run.stdout.contains("£11,400.00"));
    let balances = l.json(&["balances", ID]);
    for (region, amount) in ALLOCATIONS {
        let r = row(&balances, region);
        assert_eq!(r["status"], "paid", "{region}");
        assert_eq!(money(&r["paid"]), format!("{amount}.00"));
        assert!(money(&r["spent"]) != "0.00", "{region} spent nothing");
    }
    let reversals = l.json(&["history", "--type", "EventReversed"]);
    assert_eq!(reversals.as_array().map(Vec::len), Some(1));
    l.ok(&["verify"]);
    // A second demo into the same (now non-empty) directory is refused.
    l.fails(&["demo"], 1, &["not empty"]);
    let json = bin()
        .args(["--format", "json", "demo", "--ledger"])
        .arg(l.path().join("second"))
        .output()
        .expect("runs");
    assert!(json.status.success());
    let v: Value = serde_json::from_slice(&json.stdout).expect("one JSON document");
    assert_eq!(
        money(&row(&v["check"], "South West")["difference"]),
        "11400.00"
    );
}

#[test]
fn every_command_has_help_with_an_example() {
    let commands: [&[&str]; 16] = [
        &[],
        &["determination"],
        &["determination", "import"],
        &["determination", "list"],
        &["determination", "show"],
        &["determination", "check"],
        &["pay"],
        &["spend"],
        &["spend-import"],
        &["recover"],
        &["reverse"],
        &["balances"],
        &["deadlines"],
        &["spend-report"],
        &["history"],
        &["verify"],
    ];
    for command in commands.iter().chain([&["demo"][..]].iter()) {
        let out = bin().args(*command).arg("--help").output().expect("runs");
        assert!(out.status.success(), "{command:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Example:"), "{command:?} help has no example");
    }
    let version = bin().arg("--version").output().expect("runs");
    assert!(version.status.success());
}

#[test]
fn a_long_spend_import_the_store_refuses_fails_with_the_stores_sentence() {
    // More rows than are held in memory, so the import is streamed through the store's bulk
    // append; the store refuses the actor before it pulls a single row.
    let l = Ledger::paid();
    let mut csv = String::from(
        "determination,region,amount,date,purpose,authority,description,reference,key\n",
    );
    for _ in 0..20_001 {
        csv.push_str("31/7421,London,1,2024-10-01,data-coordinator,,,,\n");
    }
    let file = l.file("long.csv", &csv);
    let actor = "a".repeat(300);
    l.fails(&["--actor", &actor, "spend-import", &file], 2, &["actor"]);
}
