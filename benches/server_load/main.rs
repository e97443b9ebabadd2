//! The shared ledger under write load, against the floor raw sled sets, in one run.
//!
//! Builds a ledger with the real binary (the first admin token locally, then over HTTP:
//! 31/7421 imported, a finance token and one token per region granted, every region paid
//! its full allocation), starts the real `grant-ledger serve` on a free loopback port, and
//! drives it over keep-alive HTTP/1.1 with 1, 16, 64 and 256 concurrent clients, each its
//! own TCP connection, doing keyed spends of £1.00 (`POST /api/v1/spends` with a unique
//! `Idempotency-Key`, each client for the region of its token). For each level it reports
//! acknowledged (2xx) appends/s, p50 and p99 latency, the commits the server made (every
//! event of one commit carries the same `recorded_at`, so the answers themselves say how
//! the writer grouped them), and the p99 of a separate reader doing `GET /api/v1/balances`
//! while the writes run. To say where the time goes it also reports, per level, how long
//! after its commit's `recorded_at` each answer arrived and how far apart the answers of
//! one commit arrived (the writer answers a whole group at once), and the CPU the server
//! and this bench used per acknowledged append (from /proc).
//!
//! Beside it, in the same run and on the same file system, raw sled 0.34's group-commit
//! floor: `apply_batch` of N ~300-byte inserts, then `flush()` and `fsync` of sled's data
//! file (the durable commit the ledger's store makes, see crates/store-sled/src/sled_backend.rs),
//! for N = the clients of each level and N = the group the server achieved there. The
//! server's appends/s is given as a ratio to the floor at the same concurrency.
//!
//! After the load the server is stopped with SIGTERM (it must exit 0), and `verify` on the
//! ledger must find every acknowledged spend: counts, not times, so they are the only
//! things this checks.
//!
//! Run: `cargo bench --bench server_load`. Knobs: `GL_LOAD_SECONDS` (default 5) per level,
//! `GL_LOAD_CLIENTS` (default `1,16,64,256`), `GL_LOAD_FLOOR_SECONDS` (default 2) per floor
//! measurement, `GL_LOAD_READ_PAUSE_MS` (default 10) between the reader's requests,
//! `GL_LOAD_DIR` (default the system temporary directory) for the ledger and the raw sled
//! database, and the server's own `GRANT_LEDGER_LOG` (default info: one log line per
//! request, as a deployed server writes them).
//!
//! `GL_LOAD_STORE=postgres` runs the same load on PostgreSQL instead (issue 9): the ledger
//! is a database of this run's own on the server the PostgreSQL tests use (`GL_TEST_POSTGRES`,
//! else 127.0.0.1:5432 as `postgres`, then `root`), created and dropped here, and the floor
//! is the plain SQL baseline measured in the same run on the same server: one transaction
//! per event that locks a one-row head table, `INSERT`s a row of the same size and updates
//! the head, one after another. The server's grouped commits are given as a ratio to it.

mod floor;
mod http;
mod load;
mod report;
mod server;
mod setup;
#[path = "../support/postgres.rs"]
mod support;

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use floor::Floors;
use load::{read_for, write_load};
use report::{print_table, RunKnobs};
use server::Server;
use setup::prepare;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_grant-ledger");
pub(crate) const DETERMINATION: &str = "31/7421";
pub(crate) const DETERMINATION_PATH: &str = "31%2F7421";
pub(crate) const PAID_ON: &str = "2024-08-27";
pub(crate) const SPENT_ON: &str = "2024-09-01";
pub(crate) const PURPOSE: &str = "data-coordinator";
/// Size of each raw sled value: about a spend event's stored envelope.
pub(crate) const FLOOR_VALUE_BYTES: usize = 300;
/// How long the reader runs alone, before any write load, for its idle latency.
pub(crate) const IDLE_READ: Duration = Duration::from_secs(1);

pub(crate) type BenchResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() -> BenchResult {
    let seconds = env_number("GL_LOAD_SECONDS", 5).max(1);
    let floor_seconds = env_number("GL_LOAD_FLOOR_SECONDS", 2).max(1);
    let read_pause = Duration::from_millis(env_number("GL_LOAD_READ_PAUSE_MS", 10));
    let levels = env_levels("GL_LOAD_CLIENTS", &[1, 16, 64, 256])?;
    let work = match std::env::var_os("GL_LOAD_DIR") {
        Some(dir) => tempfile::tempdir_in(dir)?,
        None => tempfile::tempdir()?,
    };
    let ledger = Ledger::chosen(work.path())?;
    println!(
        "server_load: {seconds} s per level, clients {levels:?}, binary {BIN}, on {}, in {}; load average {}",
        ledger.describe(),
        work.path().display(),
        load_average()
    );

    let admin = first_admin(&ledger)?;
    let mut server = Server::start(&ledger.args(), &work.path().join("server.log"))?;
    println!("server: {} (pid {})", server.url(), server.pid);
    let addr = server.addr;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let setup = runtime.block_on(prepare(addr, &admin))?;
    println!(
        "ledger: 31/7421, {} regions paid in full, {} events before the load",
        setup.regions.len(),
        setup.events
    );

    let idle = read_for(addr, &setup.finance, IDLE_READ, read_pause)?;
    let mut levels_measured = Vec::with_capacity(levels.len());
    for &clients in &levels {
        let level = runtime.block_on(write_load(
            addr,
            server.pid,
            &setup,
            clients,
            Duration::from_secs(seconds),
            read_pause,
        ))?;
        println!(
            "  {clients:>3} clients: {:>8.0} appends/s, p99 {:>7.2} ms, mean group {:.1}, balances p99 {:.2} ms",
            level.rate(),
            level.latency.p99,
            level.mean_group(),
            level.reads.p99
        );
        levels_measured.push(level);
    }
    drop(runtime);

    let status = server.stop()?;
    let acked: u64 = levels_measured.iter().map(|l| l.acked).sum();
    let verified = verify(&ledger)?;
    let durable = verified == setup.events + acked;
    println!(
        "server stopped with {status}; verify: {verified} events = {} before the load + {acked} acknowledged spends: {}",
        setup.events,
        if durable { "every acknowledged spend is there" } else { "MISMATCH" }
    );

    let floor_time = Duration::from_secs(floor_seconds);
    let floors = match &ledger {
        Ledger::Sled(_) => {
            let mut groups: Vec<usize> = levels_measured
                .iter()
                .flat_map(|l| [l.clients, l.mean_group().round().max(1.0) as usize])
                .collect();
            groups.sort_unstable();
            groups.dedup();
            Floors::raw_sled(&work.path().join("raw-sled"), &groups, floor_time)?
        }
        Ledger::Postgres(db) => Floors::plain_sql(&db.admin, floor_time)?,
    };

    let knobs = RunKnobs {
        seconds,
        floor_seconds,
        read_pause,
        store: match ledger {
            Ledger::Sled(_) => "",
            Ledger::Postgres(_) => "GL_LOAD_STORE=postgres ",
        },
    };
    print_table(&levels_measured, &idle, &floors, &knobs);
    if !status.success() {
        return Err(
            format!("the server exited {status} on SIGTERM; a graceful stop exits 0").into(),
        );
    }
    if !durable {
        return Err(format!(
            "the ledger holds {verified} events after the load, but {} were there before it and {acked} spends were acknowledged",
            setup.events
        )
        .into());
    }
    Ok(())
}

/// Where the ledger lives: a sled directory, or a PostgreSQL database of this run's own.
enum Ledger {
    Sled(std::path::PathBuf),
    /// Boxed: a database's configuration is far larger than a path.
    Postgres(Box<support::Db>),
}

impl Ledger {
    /// `GL_LOAD_STORE`: unset (or `sled`) for a directory under `work`, `postgres` for a
    /// database on the tests' PostgreSQL.
    fn chosen(work: &Path) -> BenchResult<Ledger> {
        match std::env::var("GL_LOAD_STORE").as_deref() {
            Err(_) | Ok("") | Ok("sled") => Ok(Ledger::Sled(work.join("ledger"))),
            Ok("postgres") => {
                let admin = support::admin().ok_or(
                    "GL_LOAD_STORE=postgres, but no PostgreSQL answers (GL_TEST_POSTGRES, or 127.0.0.1:5432 as postgres or root)",
                )?;
                Ok(Ledger::Postgres(Box::new(support::Db::new(
                    &admin, "load",
                )?)))
            }
            Ok(other) => {
                Err(format!("GL_LOAD_STORE must be sled or postgres, not {other:?}").into())
            }
        }
    }

    /// The global options that point the binary at this ledger.
    fn args(&self) -> Vec<OsString> {
        match self {
            Ledger::Sled(dir) => vec!["--ledger".into(), dir.into()],
            Ledger::Postgres(db) => vec!["--store".into(), db.url.as_str().into()],
        }
    }

    fn describe(&self) -> String {
        match self {
            Ledger::Sled(_) => "sled".to_string(),
            Ledger::Postgres(db) => format!("PostgreSQL database {}", db.name),
        }
    }
}

/// The first admin token, made locally on the new ledger.
fn first_admin(ledger: &Ledger) -> BenchResult<String> {
    let out = run(
        ledger,
        &[
            "--actor", "root", "--format", "json", "access", "grant", "--name", "admin", "--role",
            "admin",
        ],
    )?;
    let granted: serde_json::Value = serde_json::from_slice(&out)?;
    Ok(granted["token"]
        .as_str()
        .ok_or("access grant printed no token")?
        .to_string())
}

/// `verify` on the stopped server's ledger: the number of events it checked.
fn verify(ledger: &Ledger) -> BenchResult<u64> {
    let out = run(ledger, &["--format", "json", "verify"])?;
    let summary: serde_json::Value = serde_json::from_slice(&out)?;
    summary["events"]
        .as_u64()
        .ok_or_else(|| "verify printed no event count".into())
}

fn run(ledger: &Ledger, args: &[&str]) -> BenchResult<Vec<u8>> {
    let out = Command::new(BIN)
        .args(ledger.args())
        .args(args)
        .stdin(Stdio::null())
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "grant-ledger {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    Ok(out.stdout)
}

/// The machine's 1, 5 and 15 minute load averages: what else was running beside this.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_string())
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn env_levels(name: &str, default: &[usize]) -> BenchResult<Vec<usize>> {
    let Ok(text) = std::env::var(name) else {
        return Ok(default.to_vec());
    };
    let levels = text
        .split(',')
        .map(|n| n.trim().parse::<usize>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{name} must be numbers separated by commas ({e})"))?;
    if levels.is_empty() || levels.contains(&0) {
        return Err(
            format!("{name} must list at least one number of clients, none of them 0").into(),
        );
    }
    Ok(levels)
}
