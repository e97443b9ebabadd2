//! End-to-end tests for what a new user's trial found (issue 11's findings): each test
//! names the finding's rule and fails without its fix.

mod common;

use common::*;

#[test]
fn a_day_that_does_not_exist_is_not_a_real_date() {
    let l = Ledger::with_determination();
    l.fails_line(
        "pay 31/7421 --region london --amount 318000 --date 2024-02-30",
        2,
        &["\"2024-02-30\" is not a real date"],
    );
}

#[test]
fn a_purpose_is_matched_as_a_region_is() {
    let l = Ledger::paid();
    let spent = l.json(&cmd(
        "spend 31/7421 --region london --amount 100 --date 2024-10-01 --purpose {}",
        &["self assessment"],
    ));
    assert_eq!(spent["data"]["purpose"], "self-assessment");
}

#[test]
fn the_format_is_accepted_in_any_case() {
    let l = Ledger::with_determination();
    let run = l.ok_line("determination list --format JSON");
    assert!(run.stdout.trim_start().starts_with('['), "{}", run.stdout);
}

#[test]
fn a_late_reason_on_a_payment_on_time_is_refused() {
    let l = Ledger::with_determination();
    l.fails(
        &cmd(
            "pay 31/7421 --region london --amount 318000 --date 2024-08-20 --late-reason {}",
            &["bank holiday"],
        ),
        1,
        &["on time", "leave the late reason out"],
    );
}

#[test]
fn deadlines_before_a_determination_was_made_list_nothing_of_it() {
    let l = Ledger::with_determination();
    let rows = l.json_line("deadlines --today 2024-08-01");
    assert_eq!(rows.as_array().map(Vec::len), Some(0), "{rows}");
    let rows = l.json_line("deadlines --today 2024-08-16");
    assert_eq!(rows.as_array().map(Vec::len), Some(9), "{rows}");
}

#[test]
fn a_query_given_actor_says_it_is_ignored_and_recorded_by_filters() {
    let l = Ledger::with_determination();
    l.ok(&cmd(
        "--actor {} pay 31/7421 --region london --amount 318000 --date 2024-08-20",
        &["Fiona Finance"],
    ));
    let run = l.run_line("--actor Wiltshire history");
    assert_eq!(run.code, 0);
    assert!(run.stderr.contains("ignores it"), "{}", run.stderr);
    let mine = l.json(&cmd("history --recorded-by {}", &["fiona finance"]));
    assert_eq!(mine.as_array().map(Vec::len), Some(1), "{mine}");
    assert_eq!(mine[0]["type"], "PaymentIssued");
}

#[test]
fn spend_import_reads_standard_input_given_a_dash() {
    let l = Ledger::paid();
    let out = bin()
        .arg("--ledger")
        .arg(l.dir())
        .args(["spend-import", "-", "--format", "json"])
        .write_stdin(
            "determination,region,amount,date,purpose,authority,description,reference,key\n\
             31/7421,London,12.50,2024-10-01,data-coordinator,,,,\n",
        )
        .output()
        .expect("binary runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
    assert_eq!(summary["imported"], 1);
}

#[test]
fn a_semicolon_separated_spend_file_is_named_as_such() {
    let l = Ledger::paid();
    let file = l.file(
        "semi.csv",
        "determination;region;amount;date;purpose;authority;description;reference;key\n\
         31/7421;London;12.50;2024-10-01;data-coordinator;;;;\n",
    );
    l.fails(&["spend-import", &file], 2, &["\";\"-separated", "commas"]);
}

#[test]
fn an_empty_ledger_directory_setting_is_one_clear_sentence() {
    let run = bin()
        .env("GRANT_LEDGER_DIR", "")
        .args(["balances"])
        .output()
        .expect("binary runs");
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("GRANT_LEDGER_DIR is set but empty"),
        "{stderr}"
    );
}

#[test]
fn the_figures_the_docs_quote_of_the_demo_are_the_demos_own() {
    let l = Ledger::empty();
    let run = l.ok(&["demo"]);
    // "Demo ledger at DIR (250 events: 1 determination, 9 payments, 239 spends, 1 reversal)."
    let first = run.stdout.lines().next().unwrap_or_default();
    let inside = first
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(inside, _)| inside)
        .unwrap_or_default();
    let figure = |unit: &str| -> String {
        inside
            .split([',', ':'])
            .map(str::trim)
            .find(|part| part.ends_with(unit))
            .and_then(|part| part.split_whitespace().next())
            .unwrap_or_default()
            .to_string()
    };
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/cli.md"))
        .expect("docs/cli.md is readable");
    for unit in ["events", "spends"] {
        let n = figure(unit);
        assert!(
            !n.is_empty(),
            "the demo's first line names no {unit}: {first}"
        );
        assert!(
            docs.contains(&format!("{n} {unit}")),
            "docs/cli.md does not say the demo's {n} {unit}"
        );
    }
}

#[test]
fn spend_on_a_purpose_with_no_budget_for_the_region_is_refused() {
    let l = Ledger::paid();
    l.fails_line(
        "spend 31/7421 --region london --amount 100 --date 2024-10-01 --purpose data-to-insight",
        1,
        &["no budget for London", "South East only"],
    );
}

#[test]
fn spend_beyond_a_purposes_budget_is_recorded_with_a_warning() {
    let l = Ledger::paid();
    // London's self-assessment budget is 33 authorities x £3,200 = £105,600 (with no uplift).
    let run = l.ok_line(
        "spend 31/7421 --region london --amount 110000 --date 2024-10-01 --purpose self-assessment",
    );
    assert!(
        run.stderr.contains("warning: London has now spent"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("above its formula budget"),
        "{}",
        run.stderr
    );
    let quiet = l.ok_line(
        "spend 31/7421 --region london --amount 100 --date 2024-10-01 --purpose data-coordinator",
    );
    assert!(quiet.stderr.is_empty(), "{}", quiet.stderr);
}

#[test]
fn spend_import_beyond_a_purposes_budget_is_recorded_with_a_warning() {
    let l = Ledger::paid();
    let header = "determination,region,amount,date,purpose,authority,description,reference,key\n";
    // London's data-coordinator budget is £91,200.
    let within = l.file(
        "within.csv",
        &format!("{header}31/7421,london,90000,2024-10-01,data-coordinator,,,,\n"),
    );
    let quiet = l.ok(&["spend-import", &within]);
    assert!(quiet.stderr.is_empty(), "{}", quiet.stderr);
    let beyond = l.file(
        "beyond.csv",
        &format!(
            "{header}31/7421,london,2000,2024-10-02,data-coordinator,,,,\n31/7421,london,10,2024-10-02,self-assessment,,,,\n"
        ),
    );
    let run = l.ok(&["spend-import", &beyond]);
    assert_eq!(
        run.stderr.trim(),
        "warning: London has now spent £92,000.00 on data-coordinator, above its formula budget of £91,200.00 (see spend-report)"
    );
    assert_eq!(
        l.events(),
        13,
        "the determination, nine payments and three spends"
    );
}

#[test]
fn an_unknown_authority_names_the_closest_and_where_the_list_is() {
    let l = Ledger::paid();
    l.fails(
        &cmd(
            "spend 31/7421 --region south-west --amount 100 --date 2024-10-01 --purpose data-coordinator --authority {}",
            &["Bristol City"],
        ),
        1,
        &["did you mean \"Bristol, City of\"?", "determination show 31/7421 --authorities"],
    );
    l.fails_line(
        "spend 31/7421 --region south-west --amount 100 --date 2024-10-01 --purpose data-coordinator --authority Bristol",
        1,
        &["did you mean \"Bristol, City of\"?"],
    );
    let rows = l.json_line("determination show 31/7421 --authorities --region south-west");
    let names: Vec<&str> = rows
        .as_array()
        .map(|r| r.iter().filter_map(|x| x["authority"].as_str()).collect())
        .unwrap_or_default();
    assert!(names.contains(&"Bristol, City of"), "{rows}");
    assert_eq!(names.len(), 15);
}

#[test]
fn an_empty_actor_is_one_clear_sentence_and_records_nothing() {
    let l = Ledger::with_determination();
    for actor in ["", "   "] {
        l.fails(
            &[
                "--actor",
                actor,
                "pay",
                ID,
                "--region",
                "london",
                "--amount",
                "318000",
                "--date",
                "2024-08-20",
            ],
            2,
            &["--actor is empty"],
        );
    }
    for blank in ["", "  "] {
        let run = bin()
            .arg("--ledger")
            .arg(l.dir())
            .env("GRANT_LEDGER_ACTOR", blank)
            .args([
                "pay",
                ID,
                "--region",
                "london",
                "--amount",
                "318000",
                "--date",
                "2024-08-20",
            ])
            .output()
            .expect("binary runs");
        assert_eq!(run.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(
            stderr.contains("GRANT_LEDGER_ACTOR is set but empty"),
            "{stderr}"
        );
    }
    assert_eq!(l.events(), 1, "nothing was recorded");
}

#[test]
fn a_payment_dated_after_today_is_refused_so_balances_and_deadlines_cannot_disagree() {
    let l = Ledger::with_determination();
    l.fails(
        &cmd(
            "pay 31/7421 --region london --amount 318000 --date 2031-01-01 --late-reason {}",
            &["backlog"],
        ),
        1,
        &["payment dated 2031-01-01 is after today"],
    );
    l.fails_line(
        "pay 31/7421 --region london --amount 318000 --date 2024-08-20 --today 2024-08-19",
        1,
        &["payment dated 2024-08-20 is after today (2024-08-19)"],
    );
    l.ok_line("pay 31/7421 --region london --amount 318000 --date 2024-08-20 --today 2024-08-20");
    let balance = row(&l.json_line("balances"), "London").clone();
    let deadline = row(&l.json_line("deadlines --today 2024-08-20"), "London").clone();
    assert_eq!(balance["status"], "paid");
    assert_eq!(deadline["status"], "paid");
}

#[test]
fn every_recording_command_refuses_a_date_after_today() {
    let l = Ledger::paid();
    let today = "--today 2024-09-30";
    l.fails_line(
        &format!("spend 31/7421 --region london --amount 1 --date 2024-10-01 --purpose data-coordinator {today}"),
        1,
        &["spend dated 2024-10-01 is after today (2024-09-30)"],
    );
    l.fails(
        &[
            &words("recover 31/7421 --region london --amount 1 --date 2024-10-01 --reason")[..],
            &["underspend"],
            &words(today),
        ]
        .concat(),
        1,
        &["recovery dated 2024-10-01 is after today"],
    );
    l.fails(
        &[
            &words("reverse 2 --date 2024-10-01 --reason")[..],
            &["sent twice"],
            &words(today),
        ]
        .concat(),
        1,
        &["reversal dated 2024-10-01 is after today"],
    );
    let file = l.file(
        "spends.csv",
        "determination,region,amount,date,purpose,authority,description,reference,key\n\
         31/7421,London,1,2024-09-30,data-coordinator,,,,\n\
         31/7421,London,1,2024-10-01,data-coordinator,,,,\n",
    );
    l.fails(
        &[&["spend-import", &file][..], &words(today)].concat(),
        1,
        &["line 3", "spend dated 2024-10-01 is after today"],
    );
}

#[test]
fn today_is_the_servers_own_date_through_a_server() {
    let run = Run::from(
        bin()
            .args(words(
                "--server http://127.0.0.1:9 pay 31/7421 --region london --amount 1 --date 2024-08-20 --today 2024-08-20",
            ))
            .output()
            .expect("binary runs"),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("--today cannot be given with --server"),
        "{}",
        run.stderr
    );
}

#[test]
fn spend_dated_before_the_determination_was_made_is_refused_at_the_command_line() {
    let l = Ledger::paid();
    l.fails_line(
        "spend 31/7421 --region london --amount 3200 --date 2024-08-01 --purpose data-coordinator",
        1,
        &["spend dated 2024-08-01 is before determination 31/7421 was made on 2024-08-16"],
    );
}

/// Runs `line` with standard output on a terminal of `columns` columns (through
/// util-linux's `script`), returning what the terminal showed.
fn on_a_terminal(l: &Ledger, columns: u16, line: &str) -> Option<String> {
    let bin = assert_cmd::cargo::cargo_bin("grant-ledger");
    let shell = format!(
        "stty cols {columns} rows 50; exec {} --ledger {} {line}",
        bin.display(),
        l.dir().display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &shell, "/dev/null"])
        .env("NO_COLOR", "1")
        .env("USER", "tester")
        .env_remove("GRANT_LEDGER_DIR")
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).replace('\r', ""))
}

#[test]
fn every_table_fits_an_80_column_terminal_and_is_whole_in_a_pipe() {
    let l = Ledger::paid();
    l.ok_line("spend 31/7421 --region london --amount 100 --date 2024-10-01 --purpose data-coordinator --description a-long-description-of-what-was-bought-for-the-alliance");
    let Some(_) = on_a_terminal(&l, 80, "history --limit 1") else {
        eprintln!("skipped: util-linux's script is not on this machine");
        return;
    };
    for query in [
        "balances",
        "balances --region london",
        "deadlines --today 2024-09-01",
        "spend-report 31/7421",
        "history",
        "determination list",
    ] {
        let shown = on_a_terminal(&l, 80, query).unwrap_or_default();
        let widest = shown.lines().map(|x| x.chars().count()).max().unwrap_or(0);
        assert!(widest <= 80, "{query}: {widest} columns\n{shown}");
        assert!(shown.contains("31/7421"), "{query}\n{shown}");
        let piped = l.ok_line(query).stdout;
        let widest = piped.lines().map(|x| x.chars().count()).max().unwrap_or(0);
        if query.starts_with("balances") {
            assert!(widest > 80, "{query} in a pipe is whole: {widest} columns");
        }
    }
}

#[test]
fn a_rebuilds_reason_is_shown_in_the_printed_event_and_the_history_table() {
    let l = Ledger::paid();
    let run = l.ok_line("rebuild --reason routine-check-after-restore");
    assert!(
        run.stdout.contains("routine-check-after-restore"),
        "{}",
        run.stdout
    );
    let table = l.ok_line("history --type ModelsRebuilt").stdout;
    assert!(table.contains("routine-check-after-restore"), "{table}");
    assert!(table.contains("read models rebuilt"), "{table}");
}

#[test]
fn a_negative_count_or_position_is_named_as_an_invalid_value_of_its_option() {
    let l = Ledger::paid();
    for (option, line) in [
        ("--limit", "history --limit -1"),
        ("--after", "history --after -1"),
        ("--wait", "--wait -1 balances"),
    ] {
        let run = l.fails_line(line, 2, &["invalid value '-1' for", option]);
        assert!(
            !run.stderr.contains("unexpected argument"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn a_query_refusal_quotes_its_input_short_and_with_control_characters_escaped() {
    let l = Ledger::paid();
    let long = "x".repeat(3_000);
    let escape = "a\u{1b}[31mred";
    for query in [
        &["balances", "--region"][..],
        &["history", "--region"][..],
        &["spend-report", "31/7421", "--region"][..],
        &["balances"][..],
        &["deadlines"][..],
        &["history", "--type"][..],
        &["determination", "show"][..],
    ] {
        for input in [long.as_str(), escape] {
            let mut args = query.to_vec();
            args.push(input);
            let run = l.run(&args);
            assert!(matches!(run.code, 1 | 2), "{args:?}: {}", run.stderr);
            assert!(
                run.stderr.len() < 400,
                "{query:?}: {} bytes",
                run.stderr.len()
            );
            assert!(!run.stderr.contains('\u{1b}'), "{query:?}: {}", run.stderr);
        }
    }
}
