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

/// The number of stored events, read with sled alone.
fn stored_events(dir: &Path) -> usize {
    let db = common::sled_open(dir);
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
    common::flip_event_byte(&l.dir(), 2, 60);
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
    common::flip_event_byte(&l.dir(), 2, 60);
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

/// A ledger directory with 31/7421 imported, and tokens for an admin and London's lead.
fn admin_and_london() -> (Dir, String, String) {
    let dir = Dir::new();
    let admin = dir.grant_local("root", "admin", "admin");
    dir.local_ok(
        "admin",
        &["determination", "import", "--builtin", "31/7421"],
    );
    let lead = dir.grant_local("root", "lead-london", "region:london");
    (dir, admin, lead)
}

#[test]
fn a_server_on_a_ledger_found_damaged_answers_503_to_all_but_verify() {
    let (dir, admin, lead) = admin_and_london();
    dir.local_ok("finance", &words(PAY_LONDON));
    dir.local_ok("finance", &words(PAY_NORTH_EAST));
    // Event 4 is the first payment, in the middle of the log.
    common::flip_event_byte(&dir.ledger(), 4, 60);
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

/// Changes the first `from` in the stored model `name` to `to` (same length), with sled
/// alone, as someone editing the database behind the ledger's back would.
fn edit_model(dir: &Path, name: &str, from: &[u8], to: &[u8]) {
    let db = common::sled_open(dir);
    let models = db.open_tree("models").expect("models tree");
    let mut bytes = models.get(name).expect("get").expect("the model").to_vec();
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .unwrap_or_else(|| panic!("{name} holds no {:?}", String::from_utf8_lossy(from)));
    bytes[at..at + to.len()].copy_from_slice(to);
    models.insert(name, bytes).expect("insert");
    db.flush().expect("flush");
}

/// A paid ledger whose balances model says London was paid £218,000, not £318,000.
fn edited_model() -> Ledger {
    let l = Ledger::with_determination();
    l.ok_line(PAY_LONDON);
    edit_model(&l.dir(), "balances", b"318000", b"218000");
    l
}

#[test]
fn a_model_changed_outside_the_ledger_is_refused_naming_rebuild() {
    let l = edited_model();
    let before = stored_events(&l.dir());
    for line in ["balances", "deadlines --today 2024-08-25", SPEND] {
        let run = l.run(&words(line));
        assert_eq!(run.code, 3, "{line}: {}", run.stderr);
        assert_eq!(run.stderr.trim_end().lines().count(), 1, "{}", run.stderr);
        assert!(
            run.stderr.contains("read model 'balances'"),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("grant-ledger rebuild"),
            "{}",
            run.stderr
        );
        assert!(
            !run.stdout.contains("218"),
            "{line} showed the edited figure"
        );
    }
    assert_eq!(stored_events(&l.dir()), before, "something was appended");
    let verify = l.run(&["verify"]);
    assert_eq!(verify.code, 3, "{}", verify.stderr);
}

#[test]
fn rebuild_mends_a_changed_model_and_is_itself_in_the_history() {
    let l = edited_model();
    let rebuilt = l.run(&[
        "--actor",
        "ann",
        "--format",
        "json",
        "rebuild",
        "--reason",
        "balances edited",
    ]);
    assert_eq!(rebuilt.code, 0, "{}", rebuilt.stderr);
    let event = rebuilt.json();
    assert_eq!(event["type"], "ModelsRebuilt", "{event}");
    assert_eq!(event["actor"], "ann");
    assert_eq!(event["data"]["reason"], "balances edited");
    let balances = l.json(&["balances", "--region", "london"]);
    assert_eq!(
        common::money(&balances[0]["paid"]),
        "318000.00",
        "{balances}"
    );
    assert_eq!(l.run(&["verify"]).code, 0);
    let history = l.json(&["history", "--type", "ModelsRebuilt"]);
    assert_eq!(history.as_array().map(Vec::len), Some(1), "{history}");
    l.ok_line(SPEND);
}

#[test]
fn rebuild_needs_a_reason() {
    let l = Ledger::with_determination();
    let run = l.run(&["rebuild", "--reason", " "]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("reason"), "{}", run.stderr);
}

#[test]
fn rebuild_is_refused_while_the_log_itself_is_damaged() {
    let l = damaged_in_the_middle();
    assert_eq!(l.run(&["verify"]).code, 3);
    refused_as_damaged(&l, &["rebuild", "--reason", "try"]);
}

#[test]
fn only_admin_may_rebuild_through_the_server() {
    let (dir, admin, lead) = admin_and_london();
    let server = dir.serve();
    let http = server.http();
    let body = serde_json::json!({ "reason": "routine" });
    let refused = http.post("/api/v1/rebuild", Some(&lead), &body);
    assert_problem(&refused, 403, "forbidden");
    let rebuilt = http
        .post("/api/v1/rebuild", Some(&admin), &body)
        .status(201);
    assert_eq!(rebuilt.json()["type"], "ModelsRebuilt");
    let cli = server.cli(&admin, &["rebuild", "--reason", "routine again"]);
    assert_eq!(cli.code, 0, "{cli:?}");
    assert!(cli.stdout.contains("ModelsRebuilt"), "{cli:?}");
}

#[test]
fn a_flipped_byte_in_the_head_is_refused_by_every_command_and_nothing_is_appended() {
    let l = Ledger::with_determination();
    l.ok_line(PAY_LONDON);
    {
        let db = common::sled_open(&l.dir());
        let meta = db.open_tree("meta").expect("meta tree");
        let mut head = meta.get("head").expect("get").expect("the head").to_vec();
        let last = head.len() - 1;
        head[last] ^= 0x01;
        meta.insert("head", head).expect("insert");
        db.flush().expect("flush");
    }
    let before = stored_events(&l.dir());
    for line in ["balances", "verify", SPEND] {
        let run = l.run(&words(line));
        assert_eq!(run.code, 3, "{line}: {}", run.stderr);
        assert_eq!(run.stderr.trim_end().lines().count(), 1, "{}", run.stderr);
        assert!(run.stderr.contains("position 2"), "{line}: {}", run.stderr);
    }
    assert_eq!(stored_events(&l.dir()), before, "something was appended");
}

#[test]
fn a_deleted_events_tree_is_refused_by_every_command_and_nothing_is_appended() {
    let l = Ledger::with_determination();
    l.ok_line(PAY_LONDON);
    {
        let db = common::sled_open(&l.dir());
        db.drop_tree("events").expect("drop the events tree");
        db.flush().expect("flush");
    }
    for line in ["balances", "verify", SPEND] {
        let run = l.run(&words(line));
        assert_eq!(run.code, 3, "{line}: {}", run.stderr);
        assert_eq!(run.stderr.trim_end().lines().count(), 1, "{}", run.stderr);
    }
    assert_eq!(stored_events(&l.dir()), 0, "something was appended");
}
