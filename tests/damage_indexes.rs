//! `verify` checks the store's indexes against the log (issue 12): every event's id leads
//! to its position and every key an event was recorded under leads to its append, so an
//! index tree deleted behind the ledger's back is damage at the first event it fails, said
//! in the one sentence and latched, and nothing is appended after it is found. Each test
//! damages its own ledger with sled alone.

mod common;

use std::path::Path;

use common::{words, Ledger, Run};

const KEYED_SPEND: &str = "spend 31/7421 --region london --amount 100 --date 2024-09-01 --purpose data-coordinator --key spend-1";

fn stored_events(dir: &Path) -> usize {
    let db = common::sled_open(dir);
    let events = db.open_tree("events").expect("events tree");
    events.len()
}

fn drop_tree(dir: &Path, name: &str) {
    let db = common::sled_open(dir);
    assert!(db.drop_tree(name).expect("drop the tree"), "no {name} tree");
    db.flush().expect("flush");
}

fn said(run: &Run) -> String {
    format!(
        "exit {}\nstdout: {}\nstderr: {}",
        run.code, run.stdout, run.stderr
    )
}

fn damaged_at(run: &Run, position: u64, index: &str) {
    assert_eq!(run.code, 3, "{}", said(run));
    assert_eq!(run.stderr.trim_end().lines().count(), 1, "{}", said(run));
    assert!(
        run.stderr.contains(&format!(
            "is damaged at position {position}: the {index} index"
        )),
        "{}",
        said(run)
    );
}

/// Four events: the import, two payments and a spend recorded under a key (position 4).
fn keyed() -> Ledger {
    let l = Ledger::with_determination();
    l.ok_line("pay 31/7421 --region london --amount 318000 --date 2024-08-20");
    l.ok_line("pay 31/7421 --region north-east --amount 239600 --date 2024-08-20");
    l.ok_line(KEYED_SPEND);
    l
}

#[test]
fn a_deleted_key_index_is_damage_at_the_keyed_event_and_a_repeat_appends_nothing() {
    let l = keyed();
    drop_tree(&l.dir(), "keys");
    damaged_at(&l.run(&["verify"]), 4, "key");
    let before = stored_events(&l.dir());
    let repeat = l.run(&words(KEYED_SPEND));
    assert_eq!(repeat.code, 3, "{}", said(&repeat));
    assert!(
        repeat.stderr.contains("damaged at position 4"),
        "{}",
        said(&repeat)
    );
    assert_eq!(stored_events(&l.dir()), before, "the repeat was appended");
}

#[test]
fn a_deleted_event_id_index_is_damage_at_the_first_event_not_a_missing_target() {
    let l = keyed();
    l.ok_line("reverse 3 --reason duplicate");
    drop_tree(&l.dir(), "event_ids");
    let found = l.run(&["verify"]);
    damaged_at(&found, 1, "event-id");
    assert!(!found.stderr.contains("not in the log"), "{}", said(&found));
    let before = stored_events(&l.dir());
    let reversal = l.run(&["reverse", "4", "--reason", "duplicate"]);
    assert_eq!(reversal.code, 3, "{}", said(&reversal));
    assert_eq!(stored_events(&l.dir()), before, "the reversal was appended");
}

#[test]
fn a_deleted_id_extent_index_is_damage_at_the_first_imported_event() {
    let l = Ledger::with_determination();
    l.ok_line("pay 31/7421 --region london --amount 318000 --date 2024-08-20");
    // A bulk import indexes its run of increasing ids as one extent.
    let mut csv = String::from(
        "determination,region,amount,date,purpose,authority,description,reference,key\n",
    );
    for _ in 0..40 {
        csv.push_str("31/7421,london,1,2024-10-01,data-coordinator,,,,\n");
    }
    let file = l.path().join("spends.csv");
    std::fs::write(&file, csv).expect("write csv");
    l.ok(&["spend-import", file.to_str().expect("utf-8 path")]);
    assert_eq!(l.run(&["verify"]).code, 0);
    drop_tree(&l.dir(), "event_id_extents");
    damaged_at(&l.run(&["verify"]), 3, "event-id");
    assert_eq!(l.run(&["balances"]).code, 3);
}

#[test]
fn verify_passes_on_an_intact_ledger_of_keyed_and_bulk_appends() {
    let l = keyed();
    let mut csv = String::from(
        "determination,region,amount,date,purpose,authority,description,reference,key\n",
    );
    for i in 0..30 {
        csv.push_str(&format!(
            "31/7421,london,1,2024-10-01,data-coordinator,,,,row-{i}\n"
        ));
    }
    let file = l.path().join("spends.csv");
    std::fs::write(&file, csv).expect("write csv");
    l.ok(&["spend-import", file.to_str().expect("utf-8 path")]);
    l.ok_line(KEYED_SPEND);
    let verified = l.run(&["verify"]);
    assert_eq!(verified.code, 0, "{}", said(&verified));
}
