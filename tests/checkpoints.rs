//! End-to-end: signed checkpoints (issue 12). `checkpoint` prints a receipt of the head,
//! `verify --against` proves the ledger still extends each receipt, `checkpoint verify`
//! checks a receipt's signature with no ledger, and the server offers the same receipt at
//! `GET /api/v1/checkpoint`. Every damaged ledger here is made by the test itself, on a
//! copy.

mod common;
mod server_common;

use std::path::Path;

use serde_json::Value;
use server_common::{Dir, Run, ID};

/// A ledger with 31/7421 imported and `payments` regions paid.
fn ledger_with(payments: usize) -> Dir {
    let d = Dir::new();
    d.local_ok("ann", &["determination", "import", "--builtin", ID]);
    pay(&d, payments);
    d
}

const REGIONS: [(&str, &str); 3] = [
    ("london", "318000"),
    ("north-east", "239600"),
    ("south-west", "260600"),
];

/// Pays the next `n` regions not yet paid.
fn pay(d: &Dir, n: usize) {
    let paid = history_len(d).saturating_sub(1);
    for (region, amount) in REGIONS.iter().skip(paid).take(n) {
        d.local_ok(
            "ann",
            &[
                "pay",
                ID,
                "--region",
                region,
                "--amount",
                amount,
                "--date",
                "2024-08-23",
            ],
        );
    }
}

fn history_len(d: &Dir) -> usize {
    let run = d.local_ok("", &["history", "--format", "json"]);
    run.json().as_array().map_or(0, Vec::len)
}

/// Takes a receipt and keeps it beside the ledger as `name`; returns its path and JSON.
fn receipt(d: &Dir, name: &str) -> (String, Value) {
    let run = d.local_ok("", &["checkpoint"]);
    let path = d.file(name, run.stdout.as_bytes());
    (path, run.json())
}

fn on(dir: &Path, args: &[&str]) -> Run {
    Run::of(server_common::bin().arg("--ledger").arg(dir).args(args))
}

fn key_of(receipt: &Value) -> String {
    receipt["public_key"]
        .as_str()
        .expect("public_key")
        .to_string()
}

#[test]
fn a_receipt_names_the_head_and_verifies_with_the_ledgers_public_key() {
    let d = ledger_with(2);
    let (path, r) = receipt(&d, "r.json");
    assert_eq!(r["format"], "grant-ledger checkpoint v1");
    assert_eq!(r["position"], 3);
    let head = d.local_ok("", &["verify", "--format", "json"]).json();
    assert_eq!(r["head_hash"], head["head_hash"]);
    assert_eq!(r["public_key_id"].as_str().map(str::len), Some(16));
    assert_eq!(key_of(&r).len(), 64);
    assert_eq!(r["signature"].as_str().map(str::len), Some(128));
    let ok = Run::of(server_common::bin().args([
        "checkpoint",
        "verify",
        &path,
        "--public-key",
        &key_of(&r),
    ]));
    assert_eq!(ok.code, 0, "{ok:?}");
    assert_eq!(ok.stdout.lines().count(), 1, "{ok:?}");
    assert!(ok.stdout.starts_with("ok: receipt"), "{ok:?}");
}

#[test]
fn taking_a_checkpoint_records_nothing() {
    let d = ledger_with(1);
    let before = d.local_ok("", &["history", "--format", "json"]).stdout;
    receipt(&d, "r.json");
    receipt(&d, "r2.json");
    assert_eq!(
        d.local_ok("", &["history", "--format", "json"]).stdout,
        before
    );
}

#[cfg(unix)]
#[test]
fn the_signing_key_is_a_private_file_in_the_ledger_directory_made_with_the_ledger() {
    use std::os::unix::fs::PermissionsExt;
    let d = ledger_with(0);
    let key = d.ledger().join("signing.key");
    let mode = std::fs::metadata(&key)
        .expect("key made")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    // The same key signs every receipt.
    let (_, a) = receipt(&d, "a.json");
    let (_, b) = receipt(&d, "b.json");
    assert_eq!(a["public_key"], b["public_key"]);
}

#[test]
fn a_ledger_made_without_a_key_gets_one_on_its_first_checkpoint() {
    let d = ledger_with(1);
    std::fs::remove_file(d.ledger().join("signing.key")).expect("key was made");
    let (_, r) = receipt(&d, "r.json");
    assert!(d.ledger().join("signing.key").exists());
    assert_eq!(r["position"], 2);
}

#[test]
fn signing_key_keeps_the_key_where_it_says() {
    let d = ledger_with(1);
    std::fs::remove_file(d.ledger().join("signing.key")).expect("key was made");
    let elsewhere = d.path().join("keys.key");
    let file = elsewhere.display().to_string();
    let run = d.local_ok("", &["--signing-key", &file, "checkpoint"]);
    assert!(elsewhere.exists());
    assert!(!d.ledger().join("signing.key").exists());
    let env = Run::of(
        server_common::bin()
            .arg("--ledger")
            .arg(d.ledger())
            .env("GRANT_LEDGER_SIGNING_KEY", &file)
            .arg("checkpoint"),
    );
    assert_eq!(env.code, 0, "{env:?}");
    assert_eq!(env.json()["public_key"], run.json()["public_key"]);
}

#[cfg(unix)]
#[test]
fn a_signing_key_others_may_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let d = ledger_with(1);
    let key = d.ledger().join("signing.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    d.local("", &["checkpoint"])
        .refused(3, &["signing.key", "chmod 600"]);
}

#[test]
fn verify_against_passes_for_every_receipt_the_ledger_still_extends() {
    let d = ledger_with(1);
    let (first, _) = receipt(&d, "after-run-1.json");
    pay(&d, 2);
    let (second, _) = receipt(&d, "after-run-2.json");
    let run = d.local_ok("", &["verify", "--against", &first, &second]);
    assert_eq!(run.stdout.lines().count(), 3, "{run:?}");
    assert!(run.stdout.contains("after-run-1.json"), "{run:?}");
    let json = d
        .local_ok(
            "",
            &["verify", "--format", "json", "--against", &first, &second],
        )
        .json();
    assert_eq!(json["ok"], true);
    assert_eq!(json["receipts"].as_array().map(Vec::len), Some(2));
    assert_eq!(json["receipts"][0]["position"], 2);
}

#[test]
fn a_copy_taken_before_the_last_appends_fails_naming_the_receipt_it_no_longer_extends() {
    let d = ledger_with(1);
    let (early, _) = receipt(&d, "early.json");
    let shorter = d.path().join("shorter");
    common::copy_dir(&d.ledger(), &shorter);
    pay(&d, 2);
    let (late, r) = receipt(&d, "late.json");
    assert_eq!(r["position"], 4);
    // The copy verifies on its own, and still extends the early receipt...
    let plain = on(&shorter, &["verify"]);
    assert_eq!(plain.code, 0, "{plain:?}");
    let still = on(&shorter, &["verify", "--against", &early]);
    assert_eq!(still.code, 0, "{still:?}");
    // ...but not the late one: it ends before the receipt's position.
    on(&shorter, &["verify", "--against", &early, &late])
        .refused(3, &["late.json", "ends at position 2", "position 4"]);
}

#[test]
fn a_copy_rewritten_after_a_receipt_fails_on_the_hash_at_its_position() {
    let d = ledger_with(1);
    let shorter = d.path().join("rewritten");
    common::copy_dir(&d.ledger(), &shorter);
    pay(&d, 1);
    let (receipt_path, r) = receipt(&d, "r.json");
    // The copy goes on with another event at the receipt's position.
    let other = on(
        &shorter,
        &[
            "--actor",
            "mallory",
            "pay",
            ID,
            "--region",
            "south-west",
            "--amount",
            "260600",
            "--date",
            "2024-08-23",
        ],
    );
    assert_eq!(other.code, 0, "{other:?}");
    let p = r["position"].to_string();
    on(&shorter, &["verify", "--against", &receipt_path])
        .refused(3, &["r.json", &format!("at position {p}"), "rewritten"]);
}

#[test]
fn a_receipt_whose_hash_was_edited_fails() {
    let d = ledger_with(1);
    let (_, mut r) = receipt(&d, "r.json");
    r["head_hash"] = Value::String("0".repeat(64));
    let edited = d.file("edited.json", r.to_string().as_bytes());
    d.local("", &["verify", "--against", &edited])
        .refused(3, &["edited.json", "signature"]);
}

#[test]
fn each_receipt_that_fails_is_named_in_a_sentence_of_its_own() {
    let d = ledger_with(1);
    let (_, mut r) = receipt(&d, "r.json");
    r["head_hash"] = Value::String("0".repeat(64));
    let a = d.file("a.json", r.to_string().as_bytes());
    r["time"] = Value::String("2030-01-01T00:00:00Z".into());
    let b = d.file("b.json", r.to_string().as_bytes());
    let run = d.local("", &["verify", "--against", &a, &b]);
    assert_eq!(run.code, 3, "{run:?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{run:?}");
    assert!(lines[0].starts_with("error: receipt ") && lines[0].contains("a.json"));
    assert!(lines[1].starts_with("error: receipt ") && lines[1].contains("b.json"));
    assert!(run.stdout.is_empty());
}

#[test]
fn a_receipt_of_another_ledger_is_not_signed_by_this_ones_key() {
    let d = ledger_with(1);
    let other = ledger_with(1);
    let (theirs, _) = receipt(&other, "theirs.json");
    d.local("", &["verify", "--against", &theirs])
        .refused(3, &["theirs.json", "not by this ledger's key"]);
}

#[test]
fn a_malformed_receipt_is_exit_2_before_the_ledger_is_read() {
    let d = ledger_with(1);
    let bad = d.file("bad.json", b"{\"format\": \"something else\"}");
    d.local("", &["verify", "--against", &bad])
        .refused(2, &["bad.json"]);
    let missing = d.path().join("missing.json").display().to_string();
    d.local("", &["verify", "--against", &missing])
        .refused(2, &["missing.json", "no such file"]);
}

#[test]
fn checkpoint_verify_needs_no_ledger_and_refuses_a_tampered_receipt() {
    let d = ledger_with(1);
    let (path, r) = receipt(&d, "r.json");
    let key = key_of(&r);
    let check = |receipt: &str, key: &str| {
        Run::of(server_common::bin().args(["checkpoint", "verify", receipt, "--public-key", key]))
    };
    // Good, with the key as hex or in a file, and no ledger anywhere.
    std::fs::remove_dir_all(d.ledger()).expect("ledger removed");
    assert_eq!(check(&path, &key).code, 0);
    let key_file = d.file("ledger.pub", format!("{key}\n").as_bytes());
    let from_file = check(&path, &key_file);
    assert_eq!(from_file.code, 0, "{from_file:?}");
    // Tampered: another position, still well formed.
    let mut edited = r.clone();
    edited["position"] = Value::from(99);
    let tampered = d.file("tampered.json", edited.to_string().as_bytes());
    check(&tampered, &key).refused(1, &["tampered.json", "not signed by key"]);
    // Another key.
    let other_key = "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29";
    check(&path, other_key).refused(1, &["r.json", "not signed by key"]);
    // Malformed receipt, malformed key.
    let broken = d.file("broken.json", b"not json");
    check(&broken, &key).refused(2, &["broken.json"]);
    check(&path, "nonsense").refused(2, &["--public-key"]);
}

#[test]
fn the_server_offers_the_receipt_and_the_cli_through_it_prints_the_same() {
    let d = ledger_with(2);
    let admin = d.grant_local("ann", "admin", "admin");
    let auditor = d.grant_local("ann", "audit", "auditor");
    let (local_path, local) = receipt(&d, "local.json");
    let server = d.serve();
    // The endpoint, for an auditor; not without a token.
    let http = server.http();
    let answer = http.get("/api/v1/checkpoint", Some(&auditor)).status(200);
    let served = answer.json();
    assert_eq!(http.get("/api/v1/checkpoint", None).status, 401);
    // The command line through the server prints the same receipt, but for its time (and
    // so its signature): the same fields, head and key.
    let through = server.cli(&auditor, &["checkpoint"]);
    assert_eq!(through.code, 0, "{through:?}");
    let remote = through.json();
    for r in [&served, &remote] {
        let keys: Vec<&String> = r.as_object().expect("object").keys().collect();
        let local_keys: Vec<&String> = local.as_object().expect("object").keys().collect();
        assert_eq!(keys, local_keys);
        for field in [
            "format",
            "position",
            "head_hash",
            "public_key_id",
            "public_key",
        ] {
            assert_eq!(r[field], local[field], "{field}");
        }
    }
    // A receipt taken through the server verifies locally with the same key, and the
    // local one verifies against the ledger through the server.
    let remote_path = d.file("remote.json", through.stdout.as_bytes());
    let ok = Run::of(server_common::bin().args([
        "checkpoint",
        "verify",
        &remote_path,
        "--public-key",
        &key_of(&local),
    ]));
    assert_eq!(ok.code, 0, "{ok:?}");
    let against = server.cli(&admin, &["verify", "--against", &local_path, &remote_path]);
    assert_eq!(against.code, 0, "{against:?}");
    assert_eq!(against.stdout.lines().count(), 3, "{against:?}");
}

#[test]
fn a_ledger_migrated_to_another_directory_keeps_its_key_so_old_receipts_verify() {
    let d = ledger_with(1);
    let (early, _) = receipt(&d, "early.json");
    let moved = d.path().join("moved");
    let run = d.local_ok("", &["migrate", "--to", &moved.display().to_string()]);
    assert!(run.stderr.is_empty(), "{run:?}");
    let against = on(&moved, &["verify", "--against", &early]);
    assert_eq!(against.code, 0, "{against:?}");
}

#[test]
fn a_replaced_signing_key_fails_every_receipt_of_the_old_one() {
    let d = ledger_with(1);
    let (before, _) = receipt(&d, "before.json");
    // Someone who can write the directory makes a new key and signs with it...
    std::fs::remove_file(d.ledger().join("signing.key")).expect("key was made");
    let (after, _) = receipt(&d, "after.json");
    // ...so the receipts of the old key no longer verify, and say whose key they name.
    d.local("", &["verify", "--against", &before, &after])
        .refused(3, &["before.json", "not by this ledger's key"]);
}

#[test]
fn a_ledger_that_lost_its_key_proves_no_receipt() {
    let d = ledger_with(1);
    let (kept, _) = receipt(&d, "kept.json");
    std::fs::remove_file(d.ledger().join("signing.key")).expect("key was made");
    d.local("", &["verify", "--against", &kept])
        .refused(3, &["kept.json", "has no signing key"]);
    // Proving makes no key: only signing does.
    assert!(!d.ledger().join("signing.key").exists());
}

#[test]
fn a_ledger_found_damaged_signs_no_checkpoint_and_proves_no_receipt() {
    let d = ledger_with(2);
    let (kept, _) = receipt(&d, "kept.json");
    {
        // One bit of the second event flipped, with sled alone.
        let db = sled::open(d.ledger()).expect("sled opens the closed ledger");
        let events = db.open_tree("events").expect("events tree");
        let key = 2u64.to_be_bytes();
        let mut bytes = events.get(key).expect("get").expect("event").to_vec();
        bytes[60] ^= 0x01;
        events.insert(key, bytes).expect("insert");
        db.flush().expect("flush");
    }
    let found = d.local("", &["verify"]);
    assert_eq!(found.code, 3, "{found:?}");
    d.local("", &["checkpoint"]).refused(3, &["position 2"]);
    d.local("", &["verify", "--against", &kept])
        .refused(3, &["position 2"]);
}

/// The auditor's first case of issue 12: a copy whose `db` file was cut short (sled then
/// opens an earlier, consistent state, and plain `verify` passes on it), with and without
/// its snapshot files. The receipt taken before is what proves the copy short.
fn truncated_copy_fails_against_the_receipt(delete_snapshots: bool) {
    let d = ledger_with(3);
    // Enough spends that the last commits lie well past the first third of the file.
    let mut csv = String::from(
        "determination,region,amount,date,purpose,authority,description,reference,key\n",
    );
    for i in 0..3000 {
        csv.push_str(&format!(
            "{ID},london,1,2024-10-01,data-coordinator,,,,cut-{i}\n"
        ));
    }
    let spends = d.file("spends.csv", csv.as_bytes());
    d.local_ok("ann", &["spend-import", &spends]);
    let (file, _) = receipt(&d, "before.json");
    let copy = d.path().join(if delete_snapshots {
        "cut-nosnap"
    } else {
        "cut"
    });
    common::copy_dir(&d.ledger(), &copy);
    let db = copy.join("db");
    let len = std::fs::metadata(&db).expect("db file").len();
    let cut = std::fs::OpenOptions::new()
        .write(true)
        .open(&db)
        .expect("open db");
    cut.set_len(len / 3).expect("truncate");
    drop(cut);
    if delete_snapshots {
        for entry in std::fs::read_dir(&copy).expect("read dir") {
            let entry = entry.expect("entry");
            if entry.file_name().to_string_lossy().starts_with("snap.") {
                std::fs::remove_file(entry.path()).expect("remove snapshot");
            }
        }
    }
    let run = on(&copy, &["verify", "--against", &file]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(!run.stdout.contains("ok"), "{run:?}");
    for line in run.stderr.lines() {
        assert!(line.starts_with("error: "), "{run:?}");
        assert!(
            !line.contains("Inline(") && !line.contains("sled detected"),
            "{run:?}"
        );
    }
}

#[test]
fn a_copy_whose_db_file_was_truncated_fails_verify_against_its_receipt() {
    truncated_copy_fails_against_the_receipt(false);
}

#[test]
fn a_copy_truncated_with_its_snapshot_deleted_fails_verify_against_its_receipt() {
    truncated_copy_fails_against_the_receipt(true);
}
