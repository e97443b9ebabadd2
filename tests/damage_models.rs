//! A stored read model that `verify` finds not to be a replay of the log (issue 12): the
//! log passes its own checks but a model lags behind it, as when sled recovers an older
//! page of the models than of the log, or a rolled-back copy keeps a later model. That is
//! damage of the models, treated as a seal mismatch is: every command but `verify` and
//! `rebuild` is refused naming `grant-ledger rebuild`, in this process and the next, until
//! a rebuild; and `verify --against` still names each receipt the ledger no longer
//! extends, before the models' failure. Each test damages its own copy with sled alone.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{words, Ledger, Run};

const SPEND: &str =
    "spend 31/7421 --region london --amount 100 --date 2024-09-01 --purpose data-coordinator";

fn models(dir: &Path) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let db = common::sled_open(dir);
    let tree = db.open_tree("models").expect("models tree");
    tree.iter()
        .map(|kv| {
            let (k, v) = kv.expect("model");
            (k.to_vec(), v.to_vec())
        })
        .collect()
}

fn stored_events(dir: &Path) -> usize {
    let db = common::sled_open(dir);
    let events = db.open_tree("events").expect("events tree");
    events.len()
}

fn said(run: &Run) -> String {
    format!(
        "exit {}\nstdout: {}\nstderr: {}",
        run.code, run.stdout, run.stderr
    )
}

/// Takes a receipt of `dir`'s head and keeps it beside the ledgers as `name`.
fn receipt(l: &Ledger, dir: &Path, name: &str) -> String {
    let run = common::run_at(dir, &["checkpoint"]);
    assert_eq!(run.code, 0, "{}", said(&run));
    let file = l.path().join(name);
    std::fs::write(&file, run.stdout).expect("write receipt");
    file.to_str().expect("utf-8 path").to_string()
}

/// A copy of a four-event ledger (receipt `r1.json` at 4) that lost its fifth event
/// (receipt `r2.json` at 5) and whose day model of 2024-09-01 is as it was at position 3,
/// before the spend at 4 it should count: its seal holds (it names position 3, which is
/// still in the log), a fresh replay differs.
fn rolled_back_with_a_lagging_model(l: &Ledger) -> PathBuf {
    l.ok_line("pay 31/7421 --region london --amount 318000 --date 2024-08-20");
    l.ok_line(SPEND);
    let at_three = models(&l.dir());
    l.ok_line(SPEND);
    receipt(l, &l.dir(), "r1.json");
    let copy = l.path().join("rolled-back");
    common::copy_dir(&l.dir(), &copy);
    l.ok_line(SPEND);
    receipt(l, &l.dir(), "r2.json");
    let at_four = models(&copy);
    let (name, old) = at_three
        .iter()
        .find(|(name, old)| name.starts_with(b"asof/") && at_four.get(*name) != Some(*old))
        .expect("a day model the spend at 4 changed");
    let db = common::sled_open(&copy);
    let tree = db.open_tree("models").expect("models tree");
    tree.insert(name.as_slice(), old.as_slice())
        .expect("insert");
    db.flush().expect("flush");
    copy
}

#[test]
fn verify_against_names_the_receipt_no_longer_extended_even_when_the_models_mismatch() {
    let l = Ledger::with_determination();
    let copy = rolled_back_with_a_lagging_model(&l);
    let r1 = l.path().join("r1.json");
    let r2 = l.path().join("r2.json");
    let run = common::run_at(
        &copy,
        &[
            "verify",
            "--against",
            r1.to_str().expect("path"),
            r2.to_str().expect("path"),
        ],
    );
    assert_eq!(run.code, 3, "{}", said(&run));
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", said(&run));
    assert!(
        lines[0].contains("r2.json") && lines[0].contains("no longer extends"),
        "{}",
        said(&run)
    );
    assert!(!run.stderr.contains("r1.json"), "{}", said(&run));
    assert!(
        lines[1].contains("does not match a fresh replay"),
        "{}",
        said(&run)
    );
}

#[test]
fn a_model_verify_finds_stale_is_refused_by_the_next_process_until_a_rebuild() {
    let l = Ledger::with_determination();
    let copy = rolled_back_with_a_lagging_model(&l);
    let found = common::run_at(&copy, &["verify"]);
    assert_eq!(found.code, 3, "{}", said(&found));
    assert!(
        found.stderr.contains("grant-ledger rebuild"),
        "{}",
        said(&found)
    );
    let before = stored_events(&copy);
    for line in ["balances", "history", SPEND] {
        let run = common::run_at(&copy, &words(line));
        assert_eq!(run.code, 3, "{line}: {}", said(&run));
        assert_eq!(run.stderr.trim_end().lines().count(), 1, "{}", said(&run));
        assert!(
            run.stderr.contains("does not match a fresh replay")
                && run.stderr.contains("grant-ledger rebuild"),
            "{line}: {}",
            said(&run)
        );
        assert!(run.stdout.is_empty(), "{line}: {}", said(&run));
    }
    assert_eq!(stored_events(&copy), before, "something was appended");
    let rebuilt = common::run_at(&copy, &["rebuild", "--reason", "models lag the log"]);
    assert_eq!(rebuilt.code, 0, "{}", said(&rebuilt));
    let verified = common::run_at(&copy, &["verify"]);
    assert_eq!(verified.code, 0, "{}", said(&verified));
    let spent = common::run_at(&copy, &words(SPEND));
    assert_eq!(spent.code, 0, "{}", said(&spent));
}
