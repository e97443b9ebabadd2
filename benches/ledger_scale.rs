//! The whole program at scale, against the floor raw sled sets, in one run.
//!
//! Builds a ledger of `GL_SCALE_EVENTS` (default 1,000,000) spend events with the real
//! binary's `spend-import`, then measures, on the same machine in the same run:
//! - import events/s against raw sled `apply_batch` inserts of the same count and value
//!   size (target >= 0.5x);
//! - the whole-process time of `balances` on that ledger against a bare process that opens
//!   the same sled database and reads one key (target within 1.5x), and against `balances`
//!   on a ten-event ledger;
//! - `balances --as-of` (and `spend-report --as-of`) against plain `balances` on the same
//!   ledger, taking turns (target within 2x);
//! - a `spend` process on a copy keeping day models (dated on the last day, and back-dated
//!   to the first) against one on a copy without them, and the bytes the day models add;
//! - `verify` events/s against a raw sled scan of the same database decoding every value
//!   with serde_json into a `serde_json::Value` (target >= 0.5x).
//!
//! Times are whole processes (spawn, open, work, exit) measured from here; each query is
//! run `GL_SCALE_RUNS` times (default 15), the three `balances`/bare-open processes
//! taking turns, and the median is reported.
//!
//! Run: `cargo bench --bench ledger_scale` (or `GL_SCALE_EVENTS=100000 cargo bench ...`).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_grant-ledger");
const DETERMINATION: &str = "31/7421";
/// Halfway through the 200 days the spends are dated over.
const AS_OF: &str = "2024-11-20";
// Purposes every region has a budget for (data-to-insight is the South East's alone, and
// spend on it elsewhere is refused).
const PURPOSES: [&str; 4] = [
    "data-coordinator",
    "sector-led-improvement",
    "self-assessment",
    "national-framework",
];

type BenchResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

fn main() -> BenchResult {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--bare-open") {
        let dir = args.get(i + 1).ok_or("--bare-open needs a directory")?;
        return bare_open(Path::new(dir));
    }
    let events = env_number("GL_SCALE_EVENTS", 1_000_000);
    let runs = env_number("GL_SCALE_RUNS", 15).max(1) as usize;
    let work = tempfile::tempdir()?;
    println!("ledger_scale: {events} spend events, medians of {runs} runs, binary {BIN}");

    let big = work.path().join("big");
    let allocations = prepare(&big)?;
    let csv_path = work.path().join("spends.csv");
    write_spends(&csv_path, events, &allocations)?;

    let import = time(|| run_ok(&big, &["spend-import", path_str(&csv_path)?]))?;
    let import_rate = events as f64 / import.as_secs_f64();

    let value_size = mean_event_size(&big)?;
    let samples = history_samples(&big)?;
    let raw_size = samples.iter().map(Vec::len).sum::<usize>() / samples.len().max(1);
    let raw = work.path().join("raw");
    let raw_insert = raw_sled_inserts(&raw, events + 10, &samples)?;
    let raw_insert_rate = events as f64 / raw_insert.as_secs_f64();

    let small = work.path().join("small");
    prepare(&small)?;
    let exe = std::env::current_exe()?;
    let mut bare_open = || -> BenchResult {
        let status = Command::new(&exe)
            .arg("--bare-open")
            .arg(&big)
            .stdout(Stdio::null())
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err("bare open failed".into())
        }
    };
    // The three processes take turns, so a neighbour's burst of load on the shared
    // machine falls on all of them rather than on whichever was being timed.
    let [balances_big, bare, balances_small] = medians_interleaved(
        runs,
        [
            &mut || run_ok(&big, &["balances", "--format", "json"]),
            &mut bare_open,
            &mut || run_ok(&small, &["balances", "--format", "json"]),
        ],
    )?;

    // As of a day in the middle of the spends' dates: read from the day models, it should
    // cost what plain `balances` does (target within 2x), not a replay of the log.
    let [plain, as_of, report_as_of] = medians_interleaved(
        runs,
        [
            &mut || run_ok(&big, &["balances", "--format", "json"]),
            &mut || run_ok(&big, &["balances", "--as-of", AS_OF, "--format", "json"]),
            &mut || {
                run_ok(
                    &big,
                    &[
                        "spend-report",
                        DETERMINATION,
                        "--as-of",
                        AS_OF,
                        "--format",
                        "json",
                    ],
                )
            },
        ],
    )?;
    let appends = append_costs(work.path(), &big, runs)?;

    let total_events = events + 10;
    let verify = time(|| run_ok(&big, &["verify"]))?;
    let verify_rate = total_events as f64 / verify.as_secs_f64();
    let raw_scan = raw_sled_scan(&raw)?;
    let raw_scan_rate = total_events as f64 / raw_scan.as_secs_f64();

    println!();
    println!("import     ours {:>10.0} events/s ({:.2?})   raw sled apply_batch {:>10.0} inserts/s ({:.2?}, {raw_size} B JSON values; ours {value_size} B)   ratio {:.2}x (target >= 0.50x)",
        import_rate, import, raw_insert_rate, raw_insert, import_rate / raw_insert_rate);
    println!("balances   {events}-event ledger {:>8.1} ms   bare open + one read {:>8.1} ms   ratio {:.2}x (target <= 1.50x)   ten-event ledger {:>8.1} ms   ratio {:.2}x",
        ms(balances_big), ms(bare), ms(balances_big) / ms(bare), ms(balances_small), ms(balances_big) / ms(balances_small));
    println!("as-of      balances {:>8.1} ms   balances --as-of {AS_OF} {:>8.1} ms   ratio {:.2}x (target <= 2.00x)   spend-report --as-of {:>8.1} ms   ratio {:.2}x",
        ms(plain), ms(as_of), ms(as_of) / ms(plain), ms(report_as_of), ms(report_as_of) / ms(plain));
    println!("appends    `spend` process with day models: dated on the last day {:>8.1} ms, back-dated to the first {:>8.1} ms   without day models {:>8.1} ms   ratio {:.2}x / {:.2}x   bytes per write: day model {} B + index {} B (balances {} B, spend {} B)",
        ms(appends.last_day), ms(appends.first_day), ms(appends.without), ms(appends.last_day) / ms(appends.without), ms(appends.first_day) / ms(appends.without),
        appends.day_bytes, appends.index_bytes, appends.balances_bytes, appends.spend_bytes);
    println!("verify     ours {:>10.0} events/s ({:.2?})   raw sled scan + serde_json {:>10.0} events/s ({:.2?})   ratio {:.2}x (target >= 0.50x)",
        verify_rate, verify, raw_scan_rate, raw_scan, verify_rate / raw_scan_rate);
    Ok(())
}

/// What an append costs with the day models against without them, on copies of `big`.
struct AppendCosts {
    last_day: Duration,
    first_day: Duration,
    without: Duration,
    day_bytes: usize,
    index_bytes: usize,
    balances_bytes: usize,
    spend_bytes: usize,
}

/// One `spend` process at a time on two copies of `big`: one keeping day models (a spend
/// dated on the last day rewrites one day model, one back-dated to the first day rewrites
/// all 200) and one with its day models removed, as a ledger written before they existed
/// (its writes keep none). Medians of `runs`, taking turns.
fn append_costs(work: &Path, big: &Path, runs: usize) -> BenchResult<AppendCosts> {
    let with = work.join("with-days");
    let without = work.join("without-days");
    copy_dir(big, &with)?;
    copy_dir(big, &without)?;
    let (mut day_bytes, mut index_bytes, mut balances_bytes, mut spend_bytes) = (0, 0, 0, 0);
    {
        let db = sled::open(&with)?;
        let models = db.open_tree("models")?;
        for item in models.iter() {
            let (name, value) = item?;
            match &*name {
                b"asof" => index_bytes = value.len(),
                b"balances" => balances_bytes = value.len(),
                b"spend" => spend_bytes = value.len(),
                n if n.starts_with(b"asof/") => day_bytes = day_bytes.max(value.len()),
                _ => {}
            }
        }
        let db = sled::open(&without)?;
        let models = db.open_tree("models")?;
        let days: Vec<_> = models
            .scan_prefix(b"asof")
            .keys()
            .collect::<Result<_, _>>()?;
        for name in days {
            models.remove(name)?;
        }
        db.flush()?;
    }
    let spend = |dir: &Path, date: &str| {
        run_ok(
            dir,
            &[
                "spend",
                DETERMINATION,
                "--region",
                "london",
                "--amount",
                "1.00",
                "--date",
                date,
                "--purpose",
                "data-coordinator",
            ],
        )
    };
    let [last_day, first_day, plain] = medians_interleaved(
        runs,
        [
            &mut || spend(&with, "2025-03-19"),
            &mut || spend(&with, "2024-09-01"),
            &mut || spend(&without, "2025-03-19"),
        ],
    )?;
    Ok(AppendCosts {
        last_day,
        first_day,
        without: plain,
        day_bytes,
        index_bytes,
        balances_bytes,
        spend_bytes,
    })
}

fn copy_dir(from: &Path, to: &Path) -> BenchResult {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// A process that opens the ledger's sled database and reads one key: the floor for any
/// query, since every query must open the database.
fn bare_open(dir: &Path) -> BenchResult {
    let db = sled::open(dir)?;
    let events = db.open_tree("events")?;
    let first = events.get(1u64.to_be_bytes())?;
    println!("{}", first.map_or(0, |v| v.len()));
    Ok(())
}

/// A ledger holding 31/7421 and its nine on-time payments: ten events.
/// Returns each region's slug.
fn prepare(dir: &Path) -> BenchResult<Vec<String>> {
    run_ok(
        dir,
        &["determination", "import", "--builtin", DETERMINATION],
    )?;
    let out = run(dir, &["balances", DETERMINATION, "--format", "json"])?;
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out)?;
    let mut regions = Vec::new();
    for row in rows {
        let region = row["region"]
            .as_str()
            .ok_or("balances row without region")?;
        let amount = row["determined"]
            .as_str()
            .ok_or("balances row without amount")?;
        run_ok(
            dir,
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

/// `events` rows of £1.00 each spread over the regions, purposes and the grant period:
/// at most ~£111,112 per region for a million rows, well inside every allocation.
fn write_spends(path: &Path, events: u64, regions: &[String]) -> BenchResult {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(
        out,
        "determination,region,amount,date,purpose,authority,description,reference,key"
    )?;
    let start = chrono::NaiveDate::from_ymd_opt(2024, 9, 1).ok_or("bad date")?;
    for i in 0..events {
        let region = &regions[(i % regions.len() as u64) as usize];
        let purpose = PURPOSES[(i / 9 % PURPOSES.len() as u64) as usize];
        let date = start + chrono::Days::new(i % 200);
        writeln!(
            out,
            "{DETERMINATION},{region},1.00,{date},{purpose},,bench spend {i},INV-{i:07},"
        )?;
    }
    out.flush()?;
    Ok(())
}

fn mean_event_size(dir: &Path) -> BenchResult<usize> {
    let db = sled::open(dir)?;
    let events = db.open_tree("events")?;
    let (mut count, mut bytes) = (0usize, 0usize);
    for item in events.iter().take(10_000) {
        let (_, value) = item?;
        count += 1;
        bytes += value.len();
    }
    Ok(bytes / count.max(1))
}

/// What a naive JSON event store would keep: the ledger's own events as `history` prints
/// them (envelope fields, the event's data and its hash), one JSON object each.
fn history_samples(dir: &Path) -> BenchResult<Vec<Vec<u8>>> {
    let out = run(
        dir,
        &[
            "history",
            "--type",
            "FundsSpent",
            "--limit",
            "1000",
            "--format",
            "json",
        ],
    )?;
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out)?;
    let samples = rows
        .iter()
        .map(serde_json::to_vec)
        .collect::<Result<Vec<_>, _>>()?;
    if samples.is_empty() {
        return Err("the ledger has no spend to sample".into());
    }
    Ok(samples)
}

/// Raw sled `apply_batch` inserts (10,000 per batch, one flush) of `events` JSON values.
fn raw_sled_inserts(dir: &Path, events: u64, samples: &[Vec<u8>]) -> BenchResult<Duration> {
    let db = sled::open(dir)?;
    let tree = db.open_tree("events")?;
    let started = Instant::now();
    let mut batch = sled::Batch::default();
    for position in 1..=events {
        let value = &samples[(position % samples.len() as u64) as usize];
        batch.insert(&position.to_be_bytes(), value.as_slice());
        if position % 10_000 == 0 {
            tree.apply_batch(std::mem::take(&mut batch))?;
        }
    }
    tree.apply_batch(batch)?;
    db.flush()?;
    Ok(started.elapsed())
}

fn raw_sled_scan(dir: &Path) -> BenchResult<Duration> {
    let started = Instant::now();
    let db = sled::open(dir)?;
    let tree = db.open_tree("events")?;
    let mut decoded = 0u64;
    for item in tree.iter() {
        let (_, value) = item?;
        let v: serde_json::Value = serde_json::from_slice(&value)?;
        decoded += u64::from(!v.is_null());
    }
    let elapsed = started.elapsed();
    std::hint::black_box(decoded);
    Ok(elapsed)
}

fn run(dir: &Path, args: &[&str]) -> BenchResult<Vec<u8>> {
    let out = Command::new(BIN)
        .arg("--ledger")
        .arg(dir)
        .args(args)
        .env("GRANT_LEDGER_ACTOR", "bench")
        .stdin(Stdio::null())
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "grant-ledger {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(out.stdout)
}

fn run_ok(dir: &Path, args: &[&str]) -> BenchResult {
    run(dir, args).map(drop)
}

fn time(f: impl FnOnce() -> BenchResult) -> BenchResult<Duration> {
    let started = Instant::now();
    f()?;
    Ok(started.elapsed())
}

/// Runs each of `jobs` once per round, in turn, for `runs` rounds; the median of each.
fn medians_interleaved<const N: usize>(
    runs: usize,
    mut jobs: [&mut dyn FnMut() -> BenchResult; N],
) -> BenchResult<[Duration; N]> {
    let mut times: [Vec<Duration>; N] = std::array::from_fn(|_| Vec::with_capacity(runs));
    for _ in 0..runs {
        for (job, times) in jobs.iter_mut().zip(times.iter_mut()) {
            let started = Instant::now();
            job()?;
            times.push(started.elapsed());
        }
    }
    Ok(times.map(|mut t| {
        t.sort();
        t[t.len() / 2]
    }))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn path_str(path: &Path) -> BenchResult<&str> {
    path.to_str()
        .ok_or_else(|| "temporary path is not UTF-8".into())
}
