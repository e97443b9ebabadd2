//! End-to-end tests for what a new user's trial found after issue 11's lifecycle work:
//! each test names the rule and fails without its fix.

mod common;

use common::*;

const BACKUP_ADVICE: &str = "it answers nothing until it is restored from a backup";

/// Requires exit 3 and the one sentence of a damaged ledger.
fn said_damaged(l: &Ledger, args: &[&str]) {
    let run = l.run(args);
    assert_eq!(run.code, 3, "{args:?}: {}", run.stderr);
    assert_eq!(run.stderr.trim_end().lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("is damaged") && run.stderr.contains(BACKUP_ADVICE),
        "{args:?}: {}",
        run.stderr
    );
}

#[test]
fn damage_to_the_last_event_is_said_as_any_damage_is() {
    let l = Ledger::with_determination();
    l.ok_line("pay 31/7421 --region london --amount 318000 --date 2024-08-20");
    // The last event, which opening checks against the head.
    flip_event_byte(&l.dir(), 2, 60);
    for line in ["balances", "verify", "history"] {
        said_damaged(&l, &words(line));
    }
}

#[test]
fn damage_verify_finds_in_the_middle_is_said_as_later_commands_say_it() {
    let l = Ledger::with_determination();
    l.ok_line("pay 31/7421 --region london --amount 318000 --date 2024-08-20");
    l.ok_line("pay 31/7421 --region north-east --amount 239600 --date 2024-08-20");
    flip_event_byte(&l.dir(), 2, 60);
    said_damaged(&l, &["verify"]);
    said_damaged(&l, &["balances"]);
}

#[test]
fn a_bad_sslmode_is_malformed_input_naming_the_option() {
    let run = bin()
        .args([
            "--store",
            "postgres://ann:secret@127.0.0.1:1/ledger?sslmode=requried",
            "balances",
        ])
        .output()
        .expect("binary runs");
    let run = Run::from(run);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("--store: sslmode \"requried\" is not one of disable, prefer, require, verify-ca, verify-full"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("secret"), "{}", run.stderr);
}

#[test]
fn a_receipt_whose_fields_are_of_the_wrong_kind_is_refused_in_our_words() {
    let l = Ledger::with_determination();
    let receipt: serde_json::Value =
        serde_json::from_str(&l.ok(&["checkpoint"]).stdout).expect("receipt");
    let mut bad = receipt.clone();
    bad["position"] = (-1).into();
    let file = l.file("bad.json", &bad.to_string());
    let key = receipt["public_key"].as_str().expect("key").to_string();
    let run = bin()
        .args(["checkpoint", "verify", &file, "--public-key", &key])
        .output()
        .expect("binary runs");
    let run = Run::from(run);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("has a position that is not a whole number of 1 or more"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("invalid value"), "{}", run.stderr);
}

#[test]
fn a_directory_given_as_a_file_is_said_in_words() {
    let l = Ledger::with_determination();
    let dir = l.path().display().to_string();
    for args in [
        vec!["determination", "import", dir.as_str()],
        vec!["verify", "--against", dir.as_str()],
        vec![
            "determination",
            "vary",
            "31/7421",
            dir.as_str(),
            "--reason",
            "letter",
        ],
    ] {
        let run = l.fails(&args, 2, &["it is a directory"]);
        assert!(!run.stderr.contains("os error"), "{}", run.stderr);
    }
}

#[test]
fn an_unreachable_server_is_said_in_words() {
    // A port nothing listens on: bound, then let go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let run = Run::from(
        bin()
            .args(["--server", &url, "--token", "t", "balances"])
            .output()
            .expect("binary runs"),
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(
        run.stderr.trim_end(),
        format!("error: cannot reach the server at {url}: nothing is listening there (is grant-ledger serve running?)")
    );
}

#[test]
fn the_demo_makes_its_ledger_with_a_signing_key() {
    let l = Ledger::empty();
    l.ok(&["demo"]);
    assert!(l.dir().join("signing.key").is_file());
}

#[test]
fn a_withdrawal_takes_today_from_the_today_flag_and_refuses_dates_after_it() {
    let l = Ledger::with_determination();
    l.fails_line(
        "determination withdraw 31/7421 --reason superseded --date 2024-09-02 --today 2024-09-01",
        1,
        &["withdrawal dated 2024-09-02 is after today (2024-09-01)"],
    );
    // Without --date it takes effect on --today.
    let withdrawn =
        l.json_line("determination withdraw 31/7421 --reason superseded --today 2024-09-01");
    assert_eq!(withdrawn["effective_date"], "2024-09-01");
}

#[test]
fn a_variation_takes_today_from_the_today_flag_and_refuses_dates_after_it() {
    let l = Ledger::with_determination();
    let file = l.file(
        "variation.toml",
        "[[allocation]]\nregion = \"london\"\namount = \"300000\"\n",
    );
    let vary = |extra: &str| {
        let mut args = vec!["determination", "vary", "31/7421", file.as_str()];
        args.extend(["--reason", "letter"]);
        args.extend(words(extra));
        args.iter().map(|a| a.to_string()).collect::<Vec<_>>()
    };
    let refused = vary("--date 2024-09-02 --today 2024-09-01");
    let refused: Vec<&str> = refused.iter().map(String::as_str).collect();
    l.fails(
        &refused,
        1,
        &["variation dated 2024-09-02 is after today (2024-09-01)"],
    );
    let on_today = vary("--today 2024-09-01 --format json");
    let on_today: Vec<&str> = on_today.iter().map(String::as_str).collect();
    let varied = l.ok(&on_today).json();
    assert_eq!(varied["effective_date"], "2024-09-01");
}

#[test]
fn history_matches_an_authority_as_a_region_is_matched() {
    let l = Ledger::paid();
    l.ok(&cmd(
        "spend 31/7421 --region london --amount 100 --date 2024-10-01 --purpose data-coordinator --authority {}",
        &["Hammersmith and Fulham"],
    ));
    let found = l.json_line("history --authority hammersmith-and-fulham");
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
    let found = l.json(&cmd(
        "history --authority {}",
        &["  HAMMERSMITH AND FULHAM "],
    ));
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
}

#[test]
fn a_semicolon_separated_spend_file_with_fewer_columns_is_named_as_such() {
    let l = Ledger::paid();
    let file = l.file(
        "semi.csv",
        "determination;region;amount;date;purpose\n31/7421;London;12.50;2024-10-01;data-coordinator\n",
    );
    l.fails(&["spend-import", &file], 2, &["\";\"-separated", "commas"]);
}

#[test]
fn a_ledger_directory_given_while_a_server_is_set_is_malformed_not_ignored() {
    let l = Ledger::paid();
    let before = l.events();
    for server in [
        &["--server", "http://127.0.0.1:1", "--token", "t"][..],
        &[][..],
    ] {
        let run = Run::from(
            bin()
                .env("GRANT_LEDGER_SERVER", "http://127.0.0.1:1")
                .env("GRANT_LEDGER_TOKEN", "t")
                .args(server)
                .arg("--ledger")
                .arg(l.dir())
                .args(["balances"])
                .output()
                .expect("binary runs"),
        );
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stderr.contains("not both"), "{}", run.stderr);
        assert!(run.stderr.contains("GRANT_LEDGER_SERVER"), "{}", run.stderr);
    }
    assert_eq!(l.events(), before);
}
