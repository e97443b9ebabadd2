//! A damaged ledger answers nothing (issue 12): once a read finds damage, every command but
//! `verify` exits 3 with one sentence naming the first bad position, nothing is appended,
//! and the same holds in the next process and through the server (503), until a `verify`
//! that passes clears it. Each test damages its own copy of a ledger with sled alone.

mod common;
mod server_common;

use std::path::Path;

use common::{words, Ledger};
use server_common::{assert_problem, spend_body, Dir};

const PAY_LONDON: &str = "pay 31/7421 --region london --amount 318000 --date 2024-08-20";
const PAY_NORTH_EAST: &str = "pay 31/7421 --region north-east --amount 239600 --date 2024-08-20";
const SPEND: &str =
    "spend 31/7421 --region london --amount 100 --date 2024-09-01 --purpose data-coordinator";

/// Flips one bit of the stored envelope at `position`; returns the byte's offset.
fn flip_event_byte(dir: &Path, position: u64, at: usize) {
    let db = sled::open(dir).expect("sled opens the closed ledger");
    let events = db.open_tree("events").expect("events tree");
    let key = position.to_be_bytes();
    let mut bytes = events.get(key).expect("get").expect("event").to_vec();
    bytes[at] ^= 0x01;
    events.insert(key, bytes).expect("insert");
    db.flush().expect("flush");
}

/// The number of stored events, read with sled alone.
fn stored_events(dir: &Path) -> usize {
    let db = sled::open(dir).expect("sled opens the closed ledger");
    let events = db.open_tree("events").expect("events tree");
    events.len()
}

/// A ledger of four events (import, two payments, a spend) whose second event, in the
/// middle of the log, has one flipped bit: opening does not see it (open checks the last
/// event only), reading the log does.
fn damaged_in_the_middle() -> Ledger {
    let l = Ledger::with_determination();
    l.ok_line(PAY_LONDON);
    l.ok_line(PAY_NORTH_EAST);
    l.ok_line(SPEND);
    flip_event_byte(&l.dir(), 2, 60);
    l
}

fn refused_as_damaged(l: &Ledger, args: &[&str]) {
    let run = l.run(args);
    assert_eq!(run.code, 3, "{args:?}: {}", run.stderr);
    assert_eq!(
        run.stderr.trim_end().lines().count(),
        1,
        "{args:?}: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("damaged at position 2"),
        "{args:?}: {}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
}

#[test]
fn after_verify_finds_damage_every_command_is_refused_and_nothing_is_appended() {
    let l = damaged_in_the_middle();
    // Before anything reads the log, a query answers from the stored models.
    assert_eq!(l.run(&["balances"]).code, 0);
    let found = l.run(&["verify"]);
    assert_eq!(found.code, 3, "{}", found.stderr);
    assert!(found.stderr.contains("position 2"), "{}", found.stderr);
    let before = stored_events(&l.dir());
    for line in [
        "balances",
        "deadlines --today 2024-08-25",
        "spend-report 31/7421",
        "history",
        "determination list",
        SPEND,
        PAY_LONDON,
    ] {
        refused_as_damaged(&l, &words(line));
    }
    assert_eq!(stored_events(&l.dir()), before, "something was appended");
}

#[test]
fn any_read_that_finds_damage_latches_it_for_the_next_command() {
    let l = damaged_in_the_middle();
    // history reads the whole log and so meets the bad event.
    let history = l.run(&["history"]);
    assert_eq!(history.code, 3, "{}", history.stderr);
    refused_as_damaged(&l, &["balances"]);
}

#[test]
fn verify_still_names_the_first_bad_position_while_damage_is_latched() {
    let l = damaged_in_the_middle();
    assert_eq!(l.run(&["verify"]).code, 3);
    let again = l.run(&["verify"]);
    assert_eq!(again.code, 3, "{}", again.stderr);
    assert!(again.stderr.contains("position 2"), "{}", again.stderr);
}

#[test]
fn a_verify_that_passes_after_a_restore_clears_the_latch() {
    let l = damaged_in_the_middle();
    assert_eq!(l.run(&["verify"]).code, 3);
    // Put the bit back, as a restore from backup would.
    flip_event_byte(&l.dir(), 2, 60);
    let verified = l.run(&["verify"]);
    assert_eq!(verified.code, 0, "{}", verified.stderr);
    assert_eq!(l.run(&["balances"]).code, 0);
    l.ok_line(SPEND);
}

#[test]
fn no_sled_internal_text_reaches_a_user() {
    let l = damaged_in_the_middle();
    for args in [&["verify"][..], &["balances"][..], &words(SPEND)[..]] {
        let run = l.run(args);
        for internal in ["sled", "Inline(", "Some(", "DiskPtr"] {
            assert!(!run.stderr.contains(internal), "{args:?}: {}", run.stderr);
        }
    }
}

#[test]
fn a_server_on_a_ledger_found_damaged_answers_503_to_all_but_verify() {
    let dir = Dir::new();
    let admin = dir.grant_local("root", "admin", "admin");
    dir.local_ok(
        "admin",
        &["determination", "import", "--builtin", "31/7421"],
    );
    let lead = dir.grant_local("root", "lead-london", "region:london");
    dir.local_ok("finance", &words(PAY_LONDON));
    dir.local_ok("finance", &words(PAY_NORTH_EAST));
    // Event 4 is the first payment, in the middle of the log.
    flip_event_byte(&dir.ledger(), 4, 60);
    assert_eq!(dir.local("", &["verify"]).code, 3);
    let before = stored_events(&dir.ledger());

    let server = dir.serve();
    let http = server.http();
    for path in [
        "/api/v1/balances",
        "/api/v1/deadlines",
        "/api/v1/determinations",
        "/healthz",
    ] {
        let problem = assert_problem(&http.get(path, Some(&admin)), 503, "unavailable");
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(
            detail.contains("damaged at position 4"),
            "{path}: {problem}"
        );
    }
    let spent = http.post("/api/v1/spends", Some(&lead), &spend_body("London", "10"));
    assert_problem(&spent, 503, "unavailable");
    let page = http.get("/", None);
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(page.body.contains("damaged at position 4"), "{}", page.body);
    // verify still answers, and names the position.
    let verified = assert_problem(
        &http.get("/api/v1/verify", Some(&admin)),
        503,
        "unavailable",
    );
    assert!(
        verified["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("position 4"),
        "{verified}"
    );
    drop(server);
    assert_eq!(
        stored_events(&dir.ledger()),
        before,
        "something was appended"
    );
}
