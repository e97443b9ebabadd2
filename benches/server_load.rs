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

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader as StdBufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const BIN: &str = env!("CARGO_BIN_EXE_grant-ledger");
const DETERMINATION: &str = "31/7421";
const DETERMINATION_PATH: &str = "31%2F7421";
const PAID_ON: &str = "2024-08-27";
const SPENT_ON: &str = "2024-09-01";
const PURPOSE: &str = "data-coordinator";
/// Size of each raw sled value: about a spend event's stored envelope.
const FLOOR_VALUE_BYTES: usize = 300;
/// How long the reader runs alone, before any write load, for its idle latency.
const IDLE_READ: Duration = Duration::from_secs(1);

type BenchResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() -> BenchResult {
    let seconds = env_number("GL_LOAD_SECONDS", 5).max(1);
    let floor_seconds = env_number("GL_LOAD_FLOOR_SECONDS", 2).max(1);
    let read_pause = Duration::from_millis(env_number("GL_LOAD_READ_PAUSE_MS", 10));
    let levels = env_levels("GL_LOAD_CLIENTS", &[1, 16, 64, 256])?;
    let work = match std::env::var_os("GL_LOAD_DIR") {
        Some(dir) => tempfile::tempdir_in(dir)?,
        None => tempfile::tempdir()?,
    };
    let ledger = work.path().join("ledger");
    println!(
        "server_load: {seconds} s per level, clients {levels:?}, binary {BIN}, in {}; load average {}",
        work.path().display(),
        load_average()
    );

    let admin = first_admin(&ledger)?;
    let mut server = Server::start(&ledger, &work.path().join("server.log"))?;
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

    let raw = work.path().join("raw-sled");
    let mut groups: Vec<usize> = levels_measured
        .iter()
        .flat_map(|l| [l.clients, l.mean_group().round().max(1.0) as usize])
        .collect();
    groups.sort_unstable();
    groups.dedup();
    let floors = raw_sled_floor(&raw, &groups, Duration::from_secs(floor_seconds))?;

    print_table(
        &levels_measured,
        &idle,
        &floors,
        seconds,
        floor_seconds,
        read_pause,
    );
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

/// The first admin token, made locally on the new ledger directory.
fn first_admin(dir: &Path) -> BenchResult<String> {
    let out = run(
        dir,
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
fn verify(dir: &Path) -> BenchResult<u64> {
    let out = run(dir, &["--format", "json", "verify"])?;
    let summary: serde_json::Value = serde_json::from_slice(&out)?;
    summary["events"]
        .as_u64()
        .ok_or_else(|| "verify printed no event count".into())
}

fn run(dir: &Path, args: &[&str]) -> BenchResult<Vec<u8>> {
    let out = Command::new(BIN)
        .arg("--ledger")
        .arg(dir)
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

/// The running `grant-ledger serve`; stopped with SIGTERM (then SIGKILL if it will not
/// stop) when dropped, so an error or a panic here never leaves it behind.
struct Server {
    child: Option<Child>,
    pid: u32,
    addr: SocketAddr,
    log: PathBuf,
    /// Kept open so a late line from the server cannot fail on a closed pipe.
    stdout: StdBufReader<ChildStdout>,
}

impl Server {
    fn start(dir: &Path, log: &Path) -> BenchResult<Server> {
        let mut child = Command::new(BIN)
            .arg("--ledger")
            .arg(dir)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log)?)
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or("the server's stdout was not piped")?;
        // From here on, any failure still stops the child.
        let mut server = Server {
            pid: child.id(),
            child: Some(child),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log: log.to_path_buf(),
            stdout: StdBufReader::new(stdout),
        };
        let mut line = String::new();
        server.stdout.read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .and_then(|a| a.parse().ok());
        match addr {
            Some(addr) => server.addr = addr,
            None => {
                let status = server.stop()?;
                return Err(format!(
                    "the server did not say where it listens (it printed {:?} and exited {status}): {}",
                    line.trim(),
                    server.log_tail()
                )
                .into());
            }
        }
        Ok(server)
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SIGTERM, then up to a minute for the graceful stop, then SIGKILL.
    fn stop(&mut self) -> BenchResult<ExitStatus> {
        let mut child = self.child.take().ok_or("the server was already stopped")?;
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        let pid = libc::pid_t::try_from(child.id())?;
        // SAFETY: kill(2) with a pid this process spawned and has not yet reaped.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill()?;
        let status = child.wait()?;
        Err(
            format!("the server did not stop within a minute of SIGTERM and was killed ({status})")
                .into(),
        )
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.is_some() {
            if let Err(e) = self.stop() {
                eprintln!("server_load: stopping the server: {e}");
            }
        }
    }
}

/// A region's spending token, and the spend body every request of its clients sends.
struct RegionToken {
    token: String,
    body: Vec<u8>,
}

struct Setup {
    finance: String,
    regions: Vec<RegionToken>,
    /// Events in the ledger once it is set up: the baseline for the durability check.
    events: u64,
}

/// 31/7421 imported, a finance token and a token per region, every region paid in full.
async fn prepare(addr: SocketAddr, admin: &str) -> BenchResult<Setup> {
    let mut http = Conn::connect(addr).await?;
    let body = serde_json::json!({ "builtin": DETERMINATION });
    expect_status(
        &http
            .json("POST", "/api/v1/determinations", admin, None, &body)
            .await?,
        &[200, 201],
        "import 31/7421",
    )?;
    let shown = http
        .send(
            "GET",
            &format!("/api/v1/determinations/{DETERMINATION_PATH}"),
            admin,
            None,
            None,
        )
        .await?;
    expect_status(&shown, &[200], "show 31/7421")?;
    let shown: serde_json::Value = serde_json::from_slice(&shown.body)?;
    let allocations = shown["allocations"]
        .as_array()
        .ok_or("determination show has no allocations")?;
    let finance = grant(&mut http, admin, "finance", "finance").await?;
    let mut regions = Vec::with_capacity(allocations.len());
    for allocation in allocations {
        let region = allocation["region"]
            .as_str()
            .ok_or("an allocation without a region")?;
        let amount = allocation["amount"]
            .as_str()
            .ok_or("an allocation without an amount")?;
        let slug = slug(region);
        let token = grant(
            &mut http,
            admin,
            &format!("lead-{slug}"),
            &format!("region:{slug}"),
        )
        .await?;
        let payment = serde_json::json!({
            "determination": DETERMINATION,
            "region": region,
            "amount": amount,
            "date": PAID_ON,
        });
        expect_status(
            &http
                .json("POST", "/api/v1/payments", &finance, None, &payment)
                .await?,
            &[201],
            &format!("pay {region}"),
        )?;
        let body = serde_json::to_vec(&serde_json::json!({
            "determination": DETERMINATION,
            "region": region,
            "amount": "1.00",
            "date": SPENT_ON,
            "purpose": PURPOSE,
        }))?;
        regions.push(RegionToken { token, body });
    }
    if regions.is_empty() {
        return Err("31/7421 has no regions to spend for".into());
    }
    let verified = http
        .send("GET", "/api/v1/verify", admin, None, None)
        .await?;
    expect_status(&verified, &[200], "verify")?;
    let verified: serde_json::Value = serde_json::from_slice(&verified.body)?;
    let events = verified["events"]
        .as_u64()
        .ok_or("GET /verify gave no event count")?;
    Ok(Setup {
        finance,
        regions,
        events,
    })
}

async fn grant(http: &mut Conn, admin: &str, name: &str, role: &str) -> BenchResult<String> {
    let body = serde_json::json!({ "name": name, "role": role });
    let granted = http
        .json("POST", "/api/v1/access", admin, None, &body)
        .await?;
    expect_status(&granted, &[201], &format!("grant {role} to {name}"))?;
    let granted: serde_json::Value = serde_json::from_slice(&granted.body)?;
    Ok(granted["token"]
        .as_str()
        .ok_or("POST /access answered without a token")?
        .to_string())
}

/// A region's slug: lower case, each run of other characters one hyphen.
fn slug(region: &str) -> String {
    let mut out = String::with_capacity(region.len());
    for c in region.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

fn expect_status(response: &Response, allowed: &[u16], what: &str) -> BenchResult {
    if allowed.contains(&response.status) {
        return Ok(());
    }
    Err(format!(
        "{what}: the server answered {}: {}",
        response.status,
        String::from_utf8_lossy(&response.body)
    )
    .into())
}

/// One keep-alive HTTP/1.1 connection: a request written whole, a response read by its
/// `Content-Length` (every answer of this server has one).
struct Conn {
    addr: SocketAddr,
    stream: BufReader<TcpStream>,
    line: String,
    request: Vec<u8>,
    open: bool,
}

struct Response {
    status: u16,
    body: Vec<u8>,
}

impl Conn {
    async fn connect(addr: SocketAddr) -> BenchResult<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            addr,
            stream: BufReader::new(stream),
            line: String::new(),
            request: Vec::with_capacity(1024),
            open: true,
        })
    }

    async fn json(
        &mut self,
        method: &str,
        path: &str,
        token: &str,
        key: Option<&str>,
        body: &serde_json::Value,
    ) -> BenchResult<Response> {
        let body = serde_json::to_vec(body)?;
        self.send(method, path, token, key, Some(&body)).await
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        token: &str,
        key: Option<&str>,
        body: Option<&[u8]>,
    ) -> BenchResult<Response> {
        if !self.open {
            *self = Conn::connect(self.addr).await?;
        }
        use std::io::Write;
        let request = &mut self.request;
        request.clear();
        write!(
            request,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n",
            self.addr
        )?;
        if let Some(key) = key {
            write!(request, "Idempotency-Key: {key}\r\n")?;
        }
        if let Some(body) = body {
            write!(
                request,
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            )?;
        }
        request.extend_from_slice(b"\r\n");
        if let Some(body) = body {
            request.extend_from_slice(body);
        }
        self.stream.get_mut().write_all(&self.request).await?;
        self.read_response().await
    }

    async fn read_response(&mut self) -> BenchResult<Response> {
        let mut status = None;
        let mut length = None;
        loop {
            self.line.clear();
            if self.stream.read_line(&mut self.line).await? == 0 {
                self.open = false;
                return Err("the server closed the connection before it answered".into());
            }
            let line = self.line.trim_end();
            if status.is_none() {
                let code = line
                    .strip_prefix("HTTP/1.1 ")
                    .and_then(|rest| rest.get(..3))
                    .and_then(|code| code.parse::<u16>().ok())
                    .ok_or_else(|| format!("not an HTTP/1.1 status line: {line:?}"))?;
                status = Some(code);
                continue;
            }
            if line.is_empty() {
                break;
            }
            let Some((name, value)) = line.split_once(':') else {
                return Err(format!("not an HTTP header: {line:?}").into());
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(value.parse::<usize>()?);
            } else if name.eq_ignore_ascii_case("connection") && value.eq_ignore_ascii_case("close")
            {
                self.open = false;
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                return Err(format!("a response with Transfer-Encoding {value}: this client reads only Content-Length").into());
            }
        }
        let length = length.ok_or("a response without Content-Length")?;
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await?;
        Ok(Response {
            status: status.ok_or("a response without a status line")?,
            body,
        })
    }
}

/// Percentiles of one set of latencies, in milliseconds.
#[derive(Default)]
struct Latency {
    count: usize,
    p50: f64,
    p99: f64,
    max: f64,
}

impl Latency {
    fn of(mut micros: Vec<u32>) -> Latency {
        if micros.is_empty() {
            return Latency::default();
        }
        micros.sort_unstable();
        let at = |p: f64| {
            let rank = ((p * micros.len() as f64).ceil() as usize).clamp(1, micros.len());
            f64::from(micros[rank - 1]) / 1000.0
        };
        Latency {
            count: micros.len(),
            p50: at(0.50),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// What one writing client did.
struct ClientRun {
    latencies: Vec<u32>,
    acked: u64,
    failed: u64,
    first_failure: Option<String>,
    /// The `recorded_at` of each acknowledged spend: one value per commit.
    commits: Vec<String>,
    /// From each acknowledged spend's `recorded_at` (stamped as its commit began) to the
    /// moment its answer was read here: the commit, the fsync and the hand-back.
    lags: Vec<u32>,
    finished: Instant,
}

/// One level of concurrency, measured.
struct Level {
    clients: usize,
    elapsed: Duration,
    acked: u64,
    failed: u64,
    first_failure: Option<String>,
    latency: Latency,
    commits: usize,
    max_group: usize,
    lag: Latency,
    /// Per commit, its last answer's lag less its first's: all were answered at once.
    spread: Latency,
    reads: Latency,
    /// CPU seconds (user + system) the server and this bench used while the writes ran.
    server_cpu: Option<f64>,
    bench_cpu: Option<f64>,
}

impl Level {
    fn rate(&self) -> f64 {
        self.acked as f64 / self.elapsed.as_secs_f64()
    }

    fn mean_group(&self) -> f64 {
        self.acked as f64 / self.commits.max(1) as f64
    }

    /// CPU microseconds per acknowledged append, and the cores that kept busy.
    fn cpu(&self, seconds: Option<f64>) -> String {
        match seconds {
            Some(s) => format!(
                "{:.0} µs ({:.2} cores)",
                s * 1e6 / self.acked.max(1) as f64,
                s / self.elapsed.as_secs_f64()
            ),
            None => "n/a".to_string(),
        }
    }
}

/// User + system CPU seconds of a process so far (`self` or a pid), from /proc; `None`
/// where there is no /proc.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which may itself hold spaces: state is the first,
    // utime and stime the 12th and 13th.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (per_second > 0).then(|| ticks as f64 / per_second as f64)
}

async fn write_load(
    addr: SocketAddr,
    server_pid: u32,
    setup: &Setup,
    clients: usize,
    duration: Duration,
    read_pause: Duration,
) -> BenchResult<Level> {
    let start_line = Arc::new(tokio::sync::Barrier::new(clients + 1));
    let mut tasks = Vec::with_capacity(clients);
    for client in 0..clients {
        let region = &setup.regions[client % setup.regions.len()];
        let token = region.token.clone();
        let body = region.body.clone();
        let start_line = Arc::clone(&start_line);
        tasks.push(tokio::spawn(async move {
            let mut http = Conn::connect(addr).await?;
            start_line.wait().await;
            spend_until(&mut http, &token, &body, clients, client, duration).await
        }));
    }
    // The reader has a thread and a runtime of its own, so the writers' tasks never
    // delay the answers it times.
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let stop = Arc::clone(&stop);
        let token = setup.finance.clone();
        std::thread::spawn(move || read_until(addr, &token, read_pause, &stop))
    };
    start_line.wait().await;
    let started = Instant::now();
    let cpu_before = (cpu_seconds(&server_pid.to_string()), cpu_seconds("self"));
    let mut runs = Vec::with_capacity(clients);
    for task in tasks {
        runs.push(task.await?);
    }
    stop.store(true, Ordering::Relaxed);
    let cpu_after = (cpu_seconds(&server_pid.to_string()), cpu_seconds("self"));
    let reads = reader
        .join()
        .map_err(|_| "the balances reader panicked")??;
    let runs = runs.into_iter().collect::<BenchResult<Vec<ClientRun>>>()?;

    let finished = runs.iter().map(|r| r.finished).max().unwrap_or(started);
    let mut latencies = Vec::new();
    let mut lags = Vec::new();
    // Per commit: its spends, and the earliest and latest answer after its stamp.
    let mut groups: HashMap<String, (usize, u32, u32)> = HashMap::new();
    let (mut acked, mut failed, mut first_failure) = (0, 0, None);
    for run in runs {
        latencies.extend(run.latencies);
        acked += run.acked;
        failed += run.failed;
        first_failure = first_failure.or(run.first_failure);
        for (commit, lag) in run.commits.into_iter().zip(run.lags) {
            let group = groups.entry(commit).or_insert((0, u32::MAX, 0));
            *group = (group.0 + 1, group.1.min(lag), group.2.max(lag));
            lags.push(lag);
        }
    }
    Ok(Level {
        clients,
        elapsed: finished.duration_since(started),
        acked,
        failed,
        first_failure,
        latency: Latency::of(latencies),
        commits: groups.len(),
        max_group: groups.values().map(|g| g.0).max().unwrap_or(0),
        spread: Latency::of(groups.values().map(|g| g.2 - g.1).collect()),
        lag: Latency::of(lags),
        reads: Latency::of(reads),
        server_cpu: cpu_after.0.zip(cpu_before.0).map(|(a, b)| a - b),
        bench_cpu: cpu_after.1.zip(cpu_before.1).map(|(a, b)| a - b),
    })
}

/// Keyed spends back to back on one connection until `duration` has passed.
async fn spend_until(
    http: &mut Conn,
    token: &str,
    body: &[u8],
    clients: usize,
    client: usize,
    duration: Duration,
) -> BenchResult<ClientRun> {
    let deadline = Instant::now() + duration;
    let mut run = ClientRun {
        latencies: Vec::with_capacity(4096),
        acked: 0,
        failed: 0,
        first_failure: None,
        commits: Vec::with_capacity(4096),
        lags: Vec::with_capacity(4096),
        finished: Instant::now(),
    };
    let mut sequence = 0u64;
    while Instant::now() < deadline {
        sequence += 1;
        let key = format!("load-{clients}-{client}-{sequence}");
        let sent = Instant::now();
        let response = http
            .send("POST", "/api/v1/spends", token, Some(&key), Some(body))
            .await?;
        run.latencies.push(micros(sent.elapsed()));
        if (200..300).contains(&response.status) {
            run.acked += 1;
            let answered = chrono::Utc::now();
            let stamp = recorded_at(&response.body)?;
            let committed = chrono::DateTime::parse_from_rfc3339(stamp)?;
            let lag = (answered - committed.to_utc())
                .num_microseconds()
                .unwrap_or(0);
            run.lags.push(u32::try_from(lag.max(0)).unwrap_or(u32::MAX));
            run.commits.push(stamp.to_string());
        } else {
            run.failed += 1;
            if run.first_failure.is_none() {
                run.first_failure = Some(format!(
                    "{}: {}",
                    response.status,
                    String::from_utf8_lossy(&response.body)
                ));
            }
        }
    }
    run.finished = Instant::now();
    Ok(run)
}

/// The `recorded_at` of an appended event's history object, without parsing it all.
fn recorded_at(body: &[u8]) -> BenchResult<&str> {
    let text = std::str::from_utf8(body)?;
    let field = "\"recorded_at\":\"";
    let start = text
        .find(field)
        .map(|at| at + field.len())
        .ok_or("an acknowledged spend without recorded_at")?;
    let end = text[start..]
        .find('"')
        .ok_or("an unterminated recorded_at")?;
    Ok(&text[start..start + end])
}

/// `GET /api/v1/balances` on its own connection, `pause` apart, until `stop`.
fn read_until(
    addr: SocketAddr,
    token: &str,
    pause: Duration,
    stop: &AtomicBool,
) -> BenchResult<Vec<u32>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut http = Conn::connect(addr).await?;
        let mut latencies = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let sent = Instant::now();
            let response = http
                .send("GET", "/api/v1/balances", token, None, None)
                .await?;
            latencies.push(micros(sent.elapsed()));
            expect_status(&response, &[200], "GET /api/v1/balances")?;
            tokio::time::sleep(pause).await;
        }
        Ok(latencies)
    })
}

/// The reader alone for `duration`: its latency with no write load.
fn read_for(
    addr: SocketAddr,
    token: &str,
    duration: Duration,
    pause: Duration,
) -> BenchResult<Latency> {
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let stop = Arc::clone(&stop);
        let token = token.to_string();
        std::thread::spawn(move || read_until(addr, &token, pause, &stop))
    };
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    let latencies = reader
        .join()
        .map_err(|_| "the balances reader panicked")??;
    Ok(Latency::of(latencies))
}

/// Raw sled's durable group commit, per group size.
struct Floor {
    /// `apply_batch` + `flush()` + `fsync` of the data file.
    durable: f64,
    /// `apply_batch` + `flush()` alone (sled's own flush, which does not reach the disk).
    flushed: f64,
}

/// For each group size: appends/s of one `apply_batch` of that many ~300-byte inserts
/// followed by a durable flush, repeated for `duration`.
fn raw_sled_floor(
    dir: &Path,
    groups: &[usize],
    duration: Duration,
) -> BenchResult<BTreeMap<usize, Floor>> {
    let db = sled::open(dir)?;
    let tree = db.open_tree("events")?;
    let data_file = std::fs::File::open(dir.join("db"))?;
    let mut position = 0u64;
    let mut floors = BTreeMap::new();
    for &group in groups {
        let durable = raw_sled_rate(&db, &tree, group, duration, &mut position, || {
            data_file.sync_all().map_err(Into::into)
        })?;
        let flushed = raw_sled_rate(&db, &tree, group, duration, &mut position, || Ok(()))?;
        floors.insert(group, Floor { durable, flushed });
    }
    Ok(floors)
}

fn raw_sled_rate(
    db: &sled::Db,
    tree: &sled::Tree,
    group: usize,
    duration: Duration,
    position: &mut u64,
    sync: impl Fn() -> BenchResult,
) -> BenchResult<f64> {
    let started = Instant::now();
    let mut inserted = 0u64;
    // At least a few commits, however slow the disk.
    while started.elapsed() < duration || inserted < 5 * group as u64 {
        let mut batch = sled::Batch::default();
        for _ in 0..group {
            *position += 1;
            batch.insert(&position.to_be_bytes(), floor_value(*position));
        }
        tree.apply_batch(batch)?;
        db.flush()?;
        sync()?;
        inserted += group as u64;
    }
    Ok(inserted as f64 / started.elapsed().as_secs_f64())
}

/// A spend-like JSON value of exactly [`FLOOR_VALUE_BYTES`].
fn floor_value(position: u64) -> Vec<u8> {
    let mut value = format!(
        "{{\"position\":{position},\"type\":\"FundsSpent\",\"stream\":\"determination/31/7421\",\"actor\":\"lead-london\",\"data\":{{\"amount\":\"1.00\",\"date\":\"2024-09-01\",\"purpose\":\"data-coordinator\",\"region\":\"London\"}},\"pad\":\""
    )
    .into_bytes();
    value.resize(FLOOR_VALUE_BYTES - 2, b'x');
    value.extend_from_slice(b"\"}");
    value
}

fn print_table(
    levels: &[Level],
    idle: &Latency,
    floors: &BTreeMap<usize, Floor>,
    seconds: u64,
    floor_seconds: u64,
    read_pause: Duration,
) {
    let floor = |group: usize| floors.get(&group).map_or(f64::NAN, |f| f.durable);
    println!();
    println!(
        "`GL_LOAD_SECONDS={seconds} GL_LOAD_FLOOR_SECONDS={floor_seconds} GL_LOAD_READ_PAUSE_MS={} cargo bench --bench server_load`",
        read_pause.as_millis()
    );
    println!();
    println!("| clients | acked appends/s | p50 ms | p99 ms | max ms | refused | commits/s | mean group | max group | commit stamp to answer p50 / p99 ms | answer spread in a commit p50 / p99 ms | balances p50 / p99 ms (n) | raw sled floor, group = clients | ratio | raw sled floor, group = achieved | server CPU / append | bench CPU / append |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for l in levels {
        let achieved = l.mean_group().round().max(1.0) as usize;
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.1} | {} | {:.0} | {:.1} | {} | {:.2} / {:.2} | {:.2} / {:.2} | {:.2} / {:.2} ({}) | {:.0} /s | {:.2}x | {:.0} /s (group {achieved}) | {} | {} |",
            l.clients,
            l.rate(),
            l.latency.p50,
            l.latency.p99,
            l.latency.max,
            l.failed,
            l.commits as f64 / l.elapsed.as_secs_f64(),
            l.mean_group(),
            l.max_group,
            l.lag.p50,
            l.lag.p99,
            l.spread.p50,
            l.spread.p99,
            l.reads.p50,
            l.reads.p99,
            l.reads.count,
            floor(l.clients),
            l.rate() / floor(l.clients),
            floor(achieved),
            l.cpu(l.server_cpu),
            l.cpu(l.bench_cpu),
        );
    }
    println!(
        "| idle reader | | | | | | | | | | | {:.2} / {:.2} ({}) | | | | | |",
        idle.p50, idle.p99, idle.count
    );
    println!();
    println!("Raw sled floor: `apply_batch` of N {FLOOR_VALUE_BYTES}-byte inserts, `flush()`, then `fsync` of sled's data file, as the ledger's store commits; without the `fsync` (sled's `flush()` alone):");
    for (group, f) in floors {
        println!(
            "- N = {group}: {:.0} appends/s durable, {:.0} appends/s flush only",
            f.durable, f.flushed
        );
    }
    for l in levels {
        if let Some(failure) = &l.first_failure {
            println!(
                "- {} clients: {} spends refused; the first: {failure}",
                l.clients, l.failed
            );
        }
    }
    println!();
    match levels.iter().find(|l| l.clients == 64) {
        Some(l) => {
            let verdict = |met: bool| if met { "met" } else { "missed" };
            println!("Goals of issue 7 at 64 clients:");
            println!(
                "- acknowledged appends/s >= 10,000: measured {:.0} ({})",
                l.rate(),
                verdict(l.rate() >= 10_000.0)
            );
            println!(
                "- write p99 < 50 ms: measured {:.2} ms ({})",
                l.latency.p99,
                verdict(l.latency.p99 < 50.0)
            );
            println!(
                "- GET /balances p99 < 5 ms under that load: measured {:.2} ms ({})",
                l.reads.p99,
                verdict(l.reads.p99 < 5.0)
            );
        }
        None => {
            println!("Goals of issue 7 are stated at 64 clients, which this run did not measure.")
        }
    }
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
