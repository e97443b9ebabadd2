//! The PostgreSQL backend against plain SQL on the same server, in one run.
//!
//! On a fresh database each (created and dropped here):
//! - `GL_PG_APPENDS` (default 2000) single-event durable appends through
//!   `PostgresStore::append`, one after another, against the plain SQL baseline: the same
//!   envelopes, one transaction per event that locks a one-row head table
//!   (`SELECT ... FOR UPDATE`), `INSERT`s the row and updates the head (goal: the
//!   backend >= 0.8x the baseline's events/s);
//! - `spend-import` of `GL_PG_EVENTS` rows (default 100000; 1000000 for the report) by the
//!   real binary with `--store`, against `COPY` (binary) of as many rows of the same size;
//! - the whole-process time of `balances` on that ledger (median of `GL_PG_RUNS`, default 7).
//!
//! Connects as in the PostgreSQL tests: `GL_TEST_POSTGRES`, else 127.0.0.1:5432 as
//! `postgres`, then `root`. Without a server it says so and exits 0.
//!
//! Run: `cargo bench --bench postgres_scale` (or `GL_PG_EVENTS=1000000 cargo bench ...`).

use std::io::Write;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use grant_ledger_store::{
    AppendRequest, EventStore, ExpectedVersion, NewEvent, StreamBatch, SystemClock,
};
use grant_ledger_store_postgres::PostgresStore;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use postgres::NoTls;

const BIN: &str = env!("CARGO_BIN_EXE_grant-ledger");
const DETERMINATION: &str = "31/7421";

type BenchResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[path = "support/postgres.rs"]
mod support;
use support::{admin, baseline_inserts, Db, BASELINE_SCHEMA};

fn one_event(n: u64) -> AppendRequest {
    let payload = format!(
        r#"{{"determination_id":"31/7421","region":"North East","amount":"1.00","date":"2024-10-01","purpose":"data-coordinator","description":"bench spend {n:07}","reference":"INV-{n:07}","authority":"Durham County Council"}}"#
    );
    AppendRequest {
        actor: "bench".into(),
        keys: vec![],
        batches: vec![StreamBatch {
            stream: "determination/31/7421".into(),
            expected: ExpectedVersion::Any,
            events: vec![NewEvent {
                event_id: uuid::Uuid::now_v7(),
                event_type: "FundsSpent".into(),
                schema_version: 1,
                payload: payload.into_bytes(),
                key: None,
                key_fingerprint: None,
                actor: None,
            }],
        }],
        models: vec![],
    }
}

/// The backend's single appends; returns the time and the envelopes it stored.
fn backend_appends(db: &Db, n: u64) -> BenchResult<(Duration, Vec<Vec<u8>>)> {
    let store = PostgresStore::open(&db.url, Arc::new(SystemClock))?;
    let requests: Vec<_> = (0..n).map(one_event).collect();
    let start = Instant::now();
    for r in requests {
        store.append(r)?;
    }
    let took = start.elapsed();
    let mut c = db.config.connect(NoTls)?;
    let envelopes = c
        .query("SELECT envelope FROM events ORDER BY position", &[])?
        .iter()
        .map(|row| row.try_get::<_, Vec<u8>>(0))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((took, envelopes))
}

/// The same rows by binary COPY, in one transaction.
fn baseline_copy(db: &Db, rows: u64, envelopes: &[Vec<u8>]) -> BenchResult<Duration> {
    let mut c = db.config.connect(NoTls)?;
    c.batch_execute(BASELINE_SCHEMA)?;
    let start = Instant::now();
    let mut tx = c.transaction()?;
    let sink = tx.copy_in("COPY log (position, envelope) FROM STDIN (FORMAT binary)")?;
    let mut writer = BinaryCopyInWriter::new(sink, &[Type::INT8, Type::BYTEA]);
    for i in 0..rows {
        let envelope = &envelopes[(i % envelopes.len() as u64) as usize];
        let position = i64::try_from(i + 1)?;
        writer.write(&[&position, envelope])?;
    }
    writer.finish()?;
    tx.execute("UPDATE head SET position = $1", &[&i64::try_from(rows)?])?;
    tx.commit()?;
    Ok(start.elapsed())
}

fn run(url: &str, args: &[&str]) -> BenchResult<Vec<u8>> {
    let out = Command::new(BIN)
        .args(["--store", url, "--actor", "bench"])
        .args(args)
        .env("NO_COLOR", "1")
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "grant-ledger {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    Ok(out.stdout)
}

/// 31/7421 imported and every region paid, so that it can take spends.
fn prepare(url: &str) -> BenchResult<Vec<String>> {
    run(
        url,
        &["determination", "import", "--builtin", DETERMINATION],
    )?;
    let out = run(url, &["balances", DETERMINATION, "--format", "json"])?;
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out)?;
    let mut regions = Vec::new();
    for row in rows {
        let region = row["region"].as_str().ok_or("a row without region")?;
        let amount = row["determined"].as_str().ok_or("a row without amount")?;
        run(
            url,
            &[
                "pay",
                DETERMINATION,
                "--region",
                region,
                "--amount",
                amount,
                "--date",
                "2024-08-28",
            ],
        )?;
        regions.push(region.to_string());
    }
    Ok(regions)
}

fn write_spends(path: &std::path::Path, events: u64, regions: &[String]) -> BenchResult {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(
        out,
        "determination,region,amount,date,purpose,authority,description,reference,key"
    )?;
    for i in 0..events {
        let region = &regions[(i % regions.len() as u64) as usize];
        writeln!(
            out,
            "{DETERMINATION},{region},1.00,2024-10-01,data-coordinator,,bench spend {i},INV-{i:07},"
        )?;
    }
    out.flush()?;
    Ok(())
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn per_s(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

fn main() -> BenchResult {
    let Some(admin) = admin() else {
        println!("postgres_scale: PostgreSQL does not answer at 127.0.0.1:5432; nothing measured");
        return Ok(());
    };
    let appends = env_number("GL_PG_APPENDS", 2000);
    let events = env_number("GL_PG_EVENTS", 100_000);
    let runs = env_number("GL_PG_RUNS", 7);

    let ours_db = Db::new(&admin, "appends")?;
    let (ours, envelopes) = backend_appends(&ours_db, appends)?;
    let plain_db = Db::new(&admin, "plain")?;
    let plain = baseline_inserts(&plain_db, &envelopes)?;
    let (ours_rate, plain_rate) = (per_s(appends, ours), per_s(appends, plain));
    println!(
        "single appends: backend {ours_rate:.0} events/s, plain SQL (head-row lock, one INSERT per event) {plain_rate:.0} events/s: {:.2}x (goal >= 0.8x)",
        ours_rate / plain_rate
    );

    let copy_db = Db::new(&admin, "copy")?;
    let copy = baseline_copy(&copy_db, events, &envelopes)?;
    let ledger = Db::new(&admin, "import")?;
    let regions = prepare(&ledger.url)?;
    let tmp = tempfile::TempDir::new()?;
    let csv = tmp.path().join("spends.csv");
    write_spends(&csv, events, &regions)?;
    let csv = csv.to_str().ok_or("a temporary path that is not UTF-8")?;
    let start = Instant::now();
    run(&ledger.url, &["spend-import", csv])?;
    let import = start.elapsed();
    let (import_rate, copy_rate) = (per_s(events, import), per_s(events, copy));
    println!(
        "spend-import of {events} rows: {import_rate:.0} events/s ({:.1} s), COPY of as many rows {copy_rate:.0} rows/s: {:.2}x",
        import.as_secs_f64(),
        import_rate / copy_rate
    );

    let mut times = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        run(&ledger.url, &["balances", "--format", "json"])?;
        times.push(start.elapsed());
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "balances on {} events: median {:.1} ms of {runs} whole-process runs",
        events + 10,
        median.as_secs_f64() * 1000.0
    );
    Ok(())
}
