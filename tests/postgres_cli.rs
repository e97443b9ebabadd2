//! The end-to-end CLI scenario on sled and on PostgreSQL (`--store`): the same commands
//! give the same answers, the same exit codes and a ledger that verifies; database errors
//! are exit 3 in one sentence. Needs PostgreSQL (see crates/store-postgres/tests/support):
//! skips with one line without it, fails under CI=true.

#[path = "../crates/store-postgres/tests/support/mod.rs"]
mod support;

use std::process::Command;

use serde_json::Value;
use support::TestDatabase;

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_grant-ledger"));
    cmd.env_remove("GRANT_LEDGER_DIR")
        .env_remove("GRANT_LEDGER_SERVER")
        .env_remove("GRANT_LEDGER_STORE")
        .env_remove("GRANT_LEDGER_SIGNING_KEY")
        .env("USER", "tester")
        .env("NO_COLOR", "1");
    cmd
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(place: &[&str], args: &[&str]) -> Run {
    let out = bin()
        .args(place)
        .args(args)
        .output()
        .expect("the binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

const SPENDS: &str = "determination,region,amount,date,purpose,authority,description,reference,key
31/7421,north-east,1000,2024-10-01,data-coordinator,,,,row-1
31/7421,north-east,2500.50,2024-10-02,data-coordinator,,,,row-2
31/7421,london,300,2024-10-03,data-coordinator,,,,row-3
";

/// The scenario; returns what the queries printed (JSON), for comparing backends.
fn scenario(place: &[&str], csv: &str) -> Vec<Value> {
    let ok = |args: &[&str]| {
        let r = run(place, args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        r
    };
    let json = |args: &[&str]| -> Value {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        serde_json::from_str(&ok(&all).stdout).expect("JSON output")
    };
    let refused = |args: &[&str], code: i32| {
        let r = run(place, args);
        assert_eq!(r.code, code, "{args:?}: {}", r.stderr);
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    };
    // A reader finds no ledger yet.
    refused(&["balances"], 3);
    ok(&["determination", "import", "--builtin", "31/7421"]);
    for (region, amount) in [("london", "318000"), ("north-east", "239600")] {
        ok(&[
            "pay",
            "31/7421",
            "--region",
            region,
            "--amount",
            amount,
            "--date",
            "2024-08-23",
            "--key",
            region,
        ]);
    }
    // The same key again: a repeat, nothing appended.
    ok(&[
        "pay",
        "31/7421",
        "--region",
        "london",
        "--amount",
        "318000",
        "--date",
        "2024-08-23",
        "--key",
        "london",
    ]);
    // Already paid: a rule.
    refused(
        &[
            "pay",
            "31/7421",
            "--region",
            "london",
            "--amount",
            "318000",
            "--date",
            "2024-08-23",
        ],
        1,
    );
    refused(
        &[
            "pay",
            "31/7421",
            "--region",
            "london",
            "--amount",
            "1e3",
            "--date",
            "2024-08-23",
        ],
        2,
    );
    ok(&["spend-import", csv]);
    ok(&[
        "spend",
        "31/7421",
        "--region",
        "north-east",
        "--amount",
        "10",
        "--date",
        "2024-10-04",
        "--purpose",
        "data-coordinator",
    ]);
    let verify = run(place, &["verify"]);
    assert_eq!(verify.code, 0, "{}", verify.stderr);
    assert!(
        verify.stdout.starts_with("ok: 7 events verified"),
        "{}",
        verify.stdout
    );
    vec![
        json(&["balances"]),
        json(&["deadlines", "--today", "2024-12-01"]),
        json(&["spend-report", "31/7421"]),
        json(&["determination", "check", "31/7421"]),
    ]
}

#[test]
fn the_scenario_answers_the_same_on_sled_and_postgresql() {
    let Some(db) = TestDatabase::new() else {
        return;
    };
    let tmp = tempfile::TempDir::new().expect("temp dir");
    let csv = tmp.path().join("spends.csv");
    std::fs::write(&csv, SPENDS).expect("write the CSV");
    let csv = csv.to_str().expect("a UTF-8 path");
    let dir = tmp.path().join("ledger");
    let dir = dir.to_str().expect("a UTF-8 path");
    let on_sled = scenario(&["--ledger", dir], csv);
    let on_postgres = scenario(&["--store", &db.url], csv);
    assert_eq!(on_sled, on_postgres);
    // And through the environment variable.
    let r = bin()
        .env("GRANT_LEDGER_STORE", &db.url)
        .args(["--format", "json", "balances"])
        .output()
        .expect("runs");
    assert!(r.status.success());
    let by_env: Value = serde_json::from_slice(&r.stdout).expect("JSON");
    assert_eq!(by_env, on_postgres[0]);
}

fn unavailable(url: &str, needle: &str) {
    let r = run(&["--store", url], &["balances"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains(needle), "{}", r.stderr);
    assert!(
        !r.stderr.contains("os error") && !r.stderr.contains("Error {"),
        "{}",
        r.stderr
    );
}

#[test]
fn the_cli_works_over_tls_verified_against_the_departments_ca() {
    let Some(db) = TestDatabase::new() else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let ca = support::tls_proxy::TestCa::new(dir.path(), &["127.0.0.1"]);
    let proxy = support::tls_proxy::TlsProxy::start(&ca);
    let url = proxy.url(
        &db.url,
        &format!("sslmode=verify-full&sslrootcert={}", ca.ca_file.display()),
    );
    let imported = run(
        &["--store", &url],
        &["determination", "import", "--builtin", "31/7421"],
    );
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    let verified = run(&["--store", &url], &["verify"]);
    assert_eq!(verified.code, 0, "{}", verified.stderr);
    assert!(
        proxy.handshakes.load(std::sync::atomic::Ordering::SeqCst) >= 2,
        "both commands went through the TLS front"
    );
}

#[test]
fn a_tls_certificate_the_ledger_cannot_verify_is_exit_3_in_one_sentence() {
    let Some(db) = TestDatabase::new() else {
        return;
    };
    let dir = tempfile::tempdir().expect("a temporary directory");
    let ca = support::tls_proxy::TestCa::new(dir.path(), &["127.0.0.1"]);
    let proxy = support::tls_proxy::TlsProxy::start(&ca);
    unavailable(
        &proxy.url(&db.url, "sslmode=require"),
        "not signed by an authority this ledger trusts",
    );
}

#[test]
fn a_missing_root_certificate_file_is_exit_3_in_one_sentence() {
    unavailable(
        "postgres://postgres@127.0.0.1:5432/postgres?sslmode=require&sslrootcert=/no/such/ca.pem",
        "/no/such/ca.pem",
    );
}

#[test]
fn a_database_that_is_down_is_exit_3_in_one_sentence() {
    unavailable(
        "postgres://postgres@127.0.0.1:1/none",
        "cannot reach the server",
    );
}

#[test]
fn an_unknown_role_or_database_is_exit_3_in_one_sentence() {
    let Some(db) = TestDatabase::new() else {
        return;
    };
    let url = db.url.replace("postgres@", "no_such_role_here@");
    unavailable(&url, "refused the login");
    let url = format!("{}_missing", db.url);
    unavailable(&url, "does not exist");
}

#[test]
fn a_schema_newer_than_the_program_is_exit_3_in_one_sentence() {
    let Some(db) = TestDatabase::new() else {
        return;
    };
    let r = run(
        &["--store", &db.url],
        &["determination", "import", "--builtin", "31/7421"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut config: postgres::Config = db.url.parse().expect("a URL");
    let mut c = config
        .dbname(&db.name)
        .connect(postgres::NoTls)
        .expect("connect");
    c.batch_execute("INSERT INTO schema_migrations (version) VALUES (999)")
        .expect("bump the schema");
    unavailable(&db.url, "schema version 999");
}

#[test]
fn store_with_server_or_a_directory_is_malformed() {
    let r = run(
        &[
            "--store",
            "postgres://h/db",
            "--server",
            "http://127.0.0.1:1",
        ],
        &["balances"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = run(&["--store", "./ledger"], &["balances"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--ledger"), "{}", r.stderr);
}

#[test]
fn migrate_copies_sled_to_postgresql_and_back_with_every_hash_unchanged() {
    let Some(db) = TestDatabase::new() else {
        return;
    };
    let tmp = tempfile::TempDir::new().expect("temp dir");
    let csv = tmp.path().join("spends.csv");
    std::fs::write(&csv, SPENDS).expect("write the CSV");
    let dir = tmp.path().join("ledger");
    let dir = dir.to_str().expect("a UTF-8 path");
    scenario(&["--ledger", dir], csv.to_str().expect("a UTF-8 path"));
    let history = |place: &[&str]| -> Value {
        let r = run(place, &["--format", "json", "history"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        serde_json::from_str(&r.stdout).expect("JSON")
    };
    let original = history(&["--ledger", dir]);

    let r = run(
        &["--ledger", dir],
        &["--format", "json", "migrate", "--to", &db.url],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).expect("JSON");
    assert_eq!(report["events"], 7);
    assert_eq!(history(&["--store", &db.url]), original);

    let back = tmp.path().join("back");
    let back = back.to_str().expect("a UTF-8 path");
    let r = run(&["--store", &db.url], &["migrate", "--to", back]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("both heads are at position 7"),
        "{}",
        r.stdout
    );
    assert_eq!(history(&["--ledger", back]), original);
    // The copies take new commands, and a key used before is still a repeat there.
    let r = run(
        &["--store", &db.url],
        &[
            "pay",
            "31/7421",
            "--region",
            "london",
            "--amount",
            "318000",
            "--date",
            "2024-08-23",
            "--key",
            "london",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(history(&["--store", &db.url]), original);

    // Into a ledger that is not empty: refused, nothing written.
    let r = run(&["--ledger", dir], &["migrate", "--to", back]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("already holds a ledger"), "{}", r.stderr);
}

#[test]
fn a_ledger_in_postgresql_signs_only_with_the_key_file_it_is_given() {
    let Some(db) = TestDatabase::new() else {
        return;
    };
    let tmp = tempfile::TempDir::new().expect("temp dir");
    let dir = tmp.path().join("ledger");
    let dir = dir.to_str().expect("a UTF-8 path");
    let r = run(
        &["--ledger", dir],
        &["determination", "import", "--builtin", "31/7421"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let receipt = tmp.path().join("receipt.json");
    let r = run(&["--ledger", dir], &["checkpoint"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    std::fs::write(&receipt, &r.stdout).expect("keep the receipt");
    let receipt = receipt.to_str().expect("a UTF-8 path");

    // Moved into the database, the key stays a file: the note names it.
    let r = run(&["--ledger", dir], &["migrate", "--to", &db.url]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let key = format!("{dir}/signing.key");
    assert!(r.stderr.contains(&key), "{}", r.stderr);
    // Without it the database cannot sign, nor check a receipt.
    let r = run(&["--store", &db.url], &["checkpoint"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("--signing-key"), "{}", r.stderr);
    let r = run(&["--store", &db.url], &["verify", "--against", receipt]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    // With it, the receipt taken on the directory verifies against the database.
    let keyed = ["--store", db.url.as_str(), "--signing-key", key.as_str()];
    let r = run(&keyed, &["verify", "--against", receipt]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run(&keyed, &["--format", "json", "checkpoint"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let signed: Value = serde_json::from_str(&r.stdout).expect("JSON");
    assert_eq!(signed["position"], 1);
}
