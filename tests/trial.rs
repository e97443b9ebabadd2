//! End-to-end tests for what a new user's trial found after issue 11's lifecycle work:
//! each test names the rule and fails without its fix.

mod common;

use common::*;

const BACKUP_ADVICE: &str = "so it answers nothing until it is restored from a backup; `grant-ledger verify` checks it again";

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
