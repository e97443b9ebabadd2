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
//! - `verify` against the raw floor (target >= 0.7x): a process of its own that scans the
//!   ledger's `events` tree straight from sled and, for every event, decodes its envelope,
//!   checks its SHA-256 and decodes its payload into the domain's event type, on one
//!   thread. `verify` does all of that and more (the chain's links, stream versions, a
//!   fold of every read model and their comparison) and may use both cores;
//! - the peak resident memory of every command, each process's own (see [`Measured`]), so
//!   that runs at two sizes show whether a query's memory is flat in the number of events
//!   (targets: `verify` and the import under 200 MB).
//!
//! Times are whole processes (spawn, open, work, exit) measured from here; each query is
//! run `GL_SCALE_RUNS` times (default 15), the three `balances`/bare-open processes
//! taking turns, and the median is reported; `verify` and the floor take turns
//! `GL_SCALE_VERIFY_RUNS` times (default 5).
//!
//! Run: `cargo bench --bench ledger_scale` (or `GL_SCALE_EVENTS=200000 cargo bench ...`).

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_grant-ledger");
const DETERMINATION: &str = "31/7421";
/// Halfway through the 200 days the spends are dated over.
const AS_OF: &str = "2024-11-20";
/// The purposes every region has a budget for (data-to-insight is South East's alone).
const PURPOSES: [&str; 4] = [
    "data-coordinator",
    "sector-led-improvement",
    "self-assessment",
    "national-framework",
];

type BenchResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

fn main() -> BenchResult {
    let args: Vec<String> = std::env::args().collect();
    // First: the measured process's own arguments may be this bench's other modes.
    if let (Some(report), Some(i)) = (
        args.iter().position(|a| a == "--measured-into"),
        args.iter().position(|a| a == "--"),
    ) {
        let report = args.get(report + 1).ok_or("--measured-into needs a file")?;
        let program = args.get(i + 1).ok_or("-- needs a program")?;
        return measured_child(Path::new(report), program, &args[i + 2..]);
    }
    if let Some(i) = args.iter().position(|a| a == "--bare-open") {
        let dir = args.get(i + 1).ok_or("--bare-open needs a directory")?;
        return bare_open(Path::new(dir));
    }
    if let Some(i) = args.iter().position(|a| a == "--raw-floor") {
        let dir = args.get(i + 1).ok_or("--raw-floor needs a directory")?;
        return raw_floor(Path::new(dir));
    }
    let events = env_number("GL_SCALE_EVENTS", 1_000_000);
    let runs = env_number("GL_SCALE_RUNS", 15).max(1) as usize;
    let work = tempfile::tempdir()?;
    println!("ledger_scale: {events} spend events, medians of {runs} runs, binary {BIN}");

    let big = work.path().join("big");
    let allocations = prepare(&big)?;
    let csv_path = work.path().join("spends.csv");
    write_spends(&csv_path, events, &allocations)?;

    let import_run = measure(&big, &["spend-import", path_str(&csv_path)?], Keep::No)?;
    let import = import_run.time;
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
    let mut bare_runs = Runs::default();
    let mut bare_open = || {
        bare_runs.record(measure_process(
            Command::new(&exe).arg("--bare-open").arg(&big),
            Keep::No,
        )?)
    };
    // The three processes take turns, so a neighbour's burst of load on the shared
    // machine falls on all of them rather than on whichever was being timed.
    let [balances_big, bare, balances_small] = medians_interleaved(
        runs,
        [
            &mut || timed(&big, &["balances", "--format", "json"]),
            &mut bare_open,
            &mut || timed(&small, &["balances", "--format", "json"]),
        ],
    )?;

    // As of a day in the middle of the spends' dates: read from the day models, it should
    // cost what plain `balances` does (target within 2x), not a replay of the log.
    let [plain, as_of, report_as_of] = medians_interleaved(
        runs,
        [
            &mut || timed(&big, &["balances", "--format", "json"]),
            &mut || timed(&big, &["balances", "--as-of", AS_OF, "--format", "json"]),
            &mut || {
                timed(
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
    let verify_runs = env_number("GL_SCALE_VERIFY_RUNS", 5).max(1) as usize;
    let mut verify_all = Runs::default();
    let mut floor_all = Runs::default();
    let [verify, floor] = medians_interleaved(
        verify_runs,
        [
            &mut || verify_all.record(measure(&big, &["verify"], Keep::No)?),
            &mut || {
                floor_all.record(measure_process(
                    Command::new(&exe).arg("--raw-floor").arg(&big),
                    Keep::No,
                )?)
            },
        ],
    )?;
    let verify_rate = total_events as f64 / verify.as_secs_f64();
    let floor_rate = total_events as f64 / floor.as_secs_f64();

    // Every query once, for its peak memory (and its times, for the record).
    let queries: [&[&str]; 8] = [
        &["balances"],
        &["balances", "--as-of", "2024-12-31"],
        &["spend-report"],
        &["deadlines", "--today", "2025-03-01"],
        &["history"],
        &["history", "--format", "json"],
        &["history", "--newest-first", "--limit", "100"],
        &["export", "360giving", "--format", "json"],
    ];
    let mut memory = vec![
        (
            "spend-import".to_string(),
            import,
            import_run.cpu,
            import_run.peak_kib,
        ),
        (
            "verify".to_string(),
            verify,
            verify_all.cpu(),
            verify_all.peak_kib,
        ),
        (
            "raw floor".to_string(),
            floor,
            floor_all.cpu(),
            floor_all.peak_kib,
        ),
        // What sled itself costs to open this ledger, below which no query can go.
        (
            "bare sled open + one read".to_string(),
            bare,
            bare_runs.cpu(),
            bare_runs.peak_kib,
        ),
    ];
    for args in queries {
        let m = measure(&big, args, Keep::No)?;
        memory.push((args.join(" "), m.time, m.cpu, m.peak_kib));
    }

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
    println!("verify     ours {:>10.0} events/s ({:.2?})   raw floor (sled scan + envelope decode + SHA-256 + payload decode, one thread) {:>10.0} events/s ({:.2?})   ratio {:.2}x (target >= 0.70x), medians of {verify_runs}",
        verify_rate, verify, floor_rate, floor, verify_rate / floor_rate);
    println!();
    println!("each process on the {total_events}-event ledger: peak RSS (targets: verify and spend-import < 200 MB), wall time, CPU time (user + system)");
    for (command, time, cpu, kib) in memory {
        println!(
            "  {command:<44} {:>9.1} MB   {:>10.2?} wall   {:>10.2?} CPU",
            kib as f64 / 1024.0,
            time,
            cpu
        );
    }
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
        timed(
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

/// The floor `verify` is measured against, run as a process of its own (so that its
/// memory is its own, and its time is a whole process's, as `verify`'s is): every event
/// straight from sled's `events` tree, its envelope decoded, its SHA-256 checked and its
/// payload decoded into the domain's event, on one thread; no chain, versions or models.
fn raw_floor(dir: &Path) -> BenchResult {
    let db = sled::open(dir)?;
    let tree = db.open_tree("events")?;
    let mut decoded = 0u64;
    for item in tree.iter() {
        let (_, value) = item?;
        let env = grant_ledger_store::envelope::decode(&value)?;
        if !env.hash_matches() {
            return Err(format!("event {} fails its hash", env.fields.position).into());
        }
        let f = &env.fields;
        let ok = match grant_ledger_domain::AccessData::from_payload(f.event_type, f.payload) {
            Some(access) => access.is_ok(),
            None => grant_ledger_domain::EventData::from_payload(
                f.event_type,
                f.schema_version,
                f.payload,
            )
            .is_ok(),
        };
        if !ok {
            return Err(format!("event {} does not decode", f.position).into());
        }
        decoded += 1;
    }
    println!("{}", std::hint::black_box(decoded));
    Ok(())
}

/// What to do with a measured process's standard output.
#[derive(Clone, Copy, PartialEq)]
enum Keep {
    Yes,
    /// Read and dropped: `history` of a million events is hundreds of MB.
    No,
}

/// One process run to its end: its wall time from spawn to exit, its own peak resident
/// set and what it wrote.
///
/// Each is run by a fresh copy of this bench (`--measured-into`), which spawns it, times
/// it and reaps it with `wait4`, whose `ru_maxrss` is that one child's. Not from here:
/// Linux counts into a child's `ru_maxrss` the peak of the process it was spawned from
/// (taken over at `exec`), and this process has had sled open with its 1 GiB cache, so
/// every child would report this process's peak; the fresh copy is a few MB, below any
/// command's own. Nor `getrusage(RUSAGE_CHILDREN)`, the largest of every child reaped so
/// far, nor polling `/proc/PID/status`, which can miss a peak just before exit.
struct Measured {
    time: Duration,
    /// User plus system CPU time: on a shared machine, steadier than the wall time.
    cpu: Duration,
    peak_kib: u64,
    stdout: Vec<u8>,
}

fn measure(dir: &Path, args: &[&str], keep: Keep) -> BenchResult<Measured> {
    let mut command = Command::new(BIN);
    command
        .arg("--ledger")
        .arg(dir)
        .args(args)
        .env("GRANT_LEDGER_ACTOR", "bench");
    measure_process(&mut command, keep)
        .map_err(|e| format!("grant-ledger {}: {e}", args.join(" ")).into())
}

fn measure_process(command: &mut Command, keep: Keep) -> BenchResult<Measured> {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let report =
        std::env::temp_dir().join(format!("ledger_scale-{}-{n}.measured", std::process::id()));
    let mut through = Command::new(std::env::current_exe()?);
    through
        .arg("--measured-into")
        .arg(&report)
        .arg("--")
        .arg(command.get_program())
        .args(command.get_args());
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => through.env(name, value),
            None => through.env_remove(name),
        };
    }
    let mut child = through
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let mut stderr = child.stderr.take().ok_or("no stderr")?;
    let errors = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stderr.read_to_end(&mut text);
        text
    });
    let mut out = Vec::new();
    if keep == Keep::Yes {
        stdout.read_to_end(&mut out)?;
    } else {
        std::io::copy(&mut stdout, &mut std::io::sink())?;
    }
    let status = child.wait()?;
    let errors = errors.join().unwrap_or_default();
    let measured = std::fs::read_to_string(&report);
    let _ = std::fs::remove_file(&report);
    if !status.success() {
        return Err(format!("failed ({status}): {}", String::from_utf8_lossy(&errors)).into());
    }
    let measured = measured?;
    let mut fields = measured.split_whitespace().map(str::parse::<u64>);
    let (Some(Ok(nanos)), Some(Ok(peak_kib)), Some(Ok(cpu_micros))) =
        (fields.next(), fields.next(), fields.next())
    else {
        return Err(format!("unreadable measurement {measured:?}").into());
    };
    Ok(Measured {
        time: Duration::from_nanos(nanos),
        cpu: Duration::from_micros(cpu_micros),
        peak_kib,
        stdout: out,
    })
}

/// The fresh copy of the bench that runs one measured process (see [`Measured`]): its
/// standard streams are the process's, its wall time and peak go to `report`, and it
/// exits as the process did.
fn measured_child(report: &Path, program: &str, args: &[String]) -> BenchResult {
    let started = Instant::now();
    let child = Command::new(program).args(args).spawn()?;
    let (status, peak_kib, cpu) = wait_with_peak(&child)?;
    let nanos = started.elapsed().as_nanos();
    let cpu_micros = cpu.as_micros();
    std::fs::write(report, format!("{nanos} {peak_kib} {cpu_micros}\n"))?;
    std::process::exit(status.code().unwrap_or(1))
}

/// Reaps `child` with `wait4`, which reports the resource use of that child alone.
/// Returns its exit status, its peak resident set in KiB and its CPU time.
fn wait_with_peak(child: &Child) -> BenchResult<(ExitStatus, u64, Duration)> {
    let pid = libc::pid_t::try_from(child.id())?;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain old data, for which all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to live, writable locals; `pid` is our own child,
        // not yet reaped (std's `Child` reaps only in `wait`, which is not called).
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            break;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error.into());
        }
    }
    let time = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    // Linux reports ru_maxrss in KiB.
    Ok((
        ExitStatus::from_raw(status),
        u64::try_from(usage.ru_maxrss).unwrap_or(0),
        time(usage.ru_utime) + time(usage.ru_stime),
    ))
}

fn run(dir: &Path, args: &[&str]) -> BenchResult<Vec<u8>> {
    measure(dir, args, Keep::Yes).map(|m| m.stdout)
}

/// Repeated runs of one process: the largest peak and each run's CPU time.
#[derive(Default)]
struct Runs {
    peak_kib: u64,
    cpus: Vec<Duration>,
}

impl Runs {
    /// Keeps `m`'s figures; returns its wall time, for [`medians_interleaved`].
    fn record(&mut self, m: Measured) -> BenchResult<Duration> {
        self.peak_kib = self.peak_kib.max(m.peak_kib);
        self.cpus.push(m.cpu);
        Ok(m.time)
    }

    /// The median CPU time.
    fn cpu(&self) -> Duration {
        let mut cpus = self.cpus.clone();
        cpus.sort();
        cpus.get(cpus.len() / 2).copied().unwrap_or_default()
    }
}

fn timed(dir: &Path, args: &[&str]) -> BenchResult<Duration> {
    measure(dir, args, Keep::No).map(|m| m.time)
}

fn run_ok(dir: &Path, args: &[&str]) -> BenchResult {
    run(dir, args).map(drop)
}

/// Runs each of `jobs` once per round, in turn, for `runs` rounds; the median of the
/// times each reports.
fn medians_interleaved<const N: usize>(
    runs: usize,
    mut jobs: [&mut dyn FnMut() -> BenchResult<Duration>; N],
) -> BenchResult<[Duration; N]> {
    let mut times: [Vec<Duration>; N] = std::array::from_fn(|_| Vec::with_capacity(runs));
    for _ in 0..runs {
        for (job, times) in jobs.iter_mut().zip(times.iter_mut()) {
            times.push(job()?);
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
