//! End-to-end: a local command that finds the ledger directory held by another process
//! waits for it up to `--wait SECONDS` (default 5) before exit 3, so that a few people or
//! scripts on one machine queue instead of failing (issue 11). The holder here is this
//! test process itself, opening the directory with sled as any other process would.

mod common;

use std::time::{Duration, Instant};

use common::*;

const PAY_LONDON: &str = "pay 31/7421 --region london --amount 318000 --date 2024-08-20";

/// Holds the ledger for `hold`, from a thread, once it is held.
fn hold_for(l: &Ledger, hold: Duration) -> std::thread::JoinHandle<()> {
    let held = sled::open(l.dir()).expect("hold the ledger");
    std::thread::spawn(move || {
        std::thread::sleep(hold);
        drop(held);
    })
}

#[test]
fn a_command_waits_for_a_ledger_in_use_and_succeeds_once_it_is_free() {
    let l = Ledger::with_determination();
    let holder = hold_for(&l, Duration::from_millis(1_500));
    let started = Instant::now();
    let run = l.run(&[&["--wait", "20"][..], &words(PAY_LONDON)].concat());
    let waited = started.elapsed();
    holder.join().expect("holder");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        waited >= Duration::from_millis(1_000),
        "waited only {waited:?}"
    );
    assert_eq!(l.events(), 2, "the payment was recorded");
}

#[test]
fn the_default_wait_covers_a_short_hold() {
    let l = Ledger::with_determination();
    let holder = hold_for(&l, Duration::from_millis(1_000));
    let run = l.run_line("balances");
    holder.join().expect("holder");
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn wait_zero_fails_at_once_while_the_ledger_is_in_use() {
    let l = Ledger::with_determination();
    let holder = hold_for(&l, Duration::from_secs(4));
    let started = Instant::now();
    let run = l.run(&[&["--wait", "0"][..], &words(PAY_LONDON)].concat());
    let took = started.elapsed();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(
        run.stderr.trim_end(),
        format!(
            "error: the ledger at {} is in use by another process",
            l.dir().display()
        )
    );
    assert!(took < Duration::from_secs(3), "took {took:?}");
    holder.join().expect("holder");
    assert_eq!(l.events(), 1, "nothing was recorded");
}

#[test]
fn a_ledger_still_in_use_after_the_wait_is_exit_3_saying_how_long() {
    let l = Ledger::with_determination();
    let holder = hold_for(&l, Duration::from_secs(4));
    let started = Instant::now();
    let run = l.run(&[&["--wait", "1"][..], &words(PAY_LONDON)].concat());
    let took = started.elapsed();
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("still in use by another process after 1 s of waiting"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.trim_end().lines().count(), 1);
    assert!(took >= Duration::from_secs(1), "took {took:?}");
    holder.join().expect("holder");
}

#[test]
fn a_wait_that_is_not_a_number_of_seconds_is_malformed() {
    let l = Ledger::with_determination();
    let run = l.run_line("--wait soon balances");
    assert_eq!(run.code, 2, "{}", run.stderr);
    let run = l.run_line("--wait 86401 balances");
    assert_eq!(run.code, 2, "{}", run.stderr);
}
