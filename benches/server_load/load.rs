//! One level of concurrent writers and the balances reader beside them, measured.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::http::{expect_status, Conn};
use crate::setup::Setup;
use crate::BenchResult;

/// Percentiles of one set of latencies, in milliseconds.
#[derive(Default)]
pub(crate) struct Latency {
    pub(crate) count: usize,
    pub(crate) p50: f64,
    pub(crate) p99: f64,
    pub(crate) max: f64,
}

impl Latency {
    pub(crate) fn of(mut micros: Vec<u32>) -> Latency {
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

pub(crate) fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// What one writing client did.
pub(crate) struct ClientRun {
    pub(crate) latencies: Vec<u32>,
    pub(crate) acked: u64,
    pub(crate) failed: u64,
    pub(crate) first_failure: Option<String>,
    /// The `recorded_at` of each acknowledged spend: one value per commit.
    pub(crate) commits: Vec<String>,
    /// From each acknowledged spend's `recorded_at` (stamped as its commit began) to the
    /// moment its answer was read here: the commit, the fsync and the hand-back.
    pub(crate) lags: Vec<u32>,
    pub(crate) finished: Instant,
}

/// One level of concurrency, measured.
pub(crate) struct Level {
    pub(crate) clients: usize,
    pub(crate) elapsed: Duration,
    pub(crate) acked: u64,
    pub(crate) failed: u64,
    pub(crate) first_failure: Option<String>,
    pub(crate) latency: Latency,
    pub(crate) commits: usize,
    pub(crate) max_group: usize,
    pub(crate) lag: Latency,
    /// Per commit, its last answer's lag less its first's: all were answered at once.
    pub(crate) spread: Latency,
    pub(crate) reads: Latency,
    /// CPU seconds (user + system) the server and this bench used while the writes ran.
    pub(crate) server_cpu: Option<f64>,
    pub(crate) bench_cpu: Option<f64>,
}

impl Level {
    pub(crate) fn rate(&self) -> f64 {
        self.acked as f64 / self.elapsed.as_secs_f64()
    }

    pub(crate) fn mean_group(&self) -> f64 {
        self.acked as f64 / self.commits.max(1) as f64
    }

    /// CPU microseconds per acknowledged append, and the cores that kept busy.
    pub(crate) fn cpu(&self, seconds: Option<f64>) -> String {
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
pub(crate) fn cpu_seconds(pid: &str) -> Option<f64> {
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

pub(crate) async fn write_load(
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
pub(crate) async fn spend_until(
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
pub(crate) fn recorded_at(body: &[u8]) -> BenchResult<&str> {
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
pub(crate) fn read_until(
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
pub(crate) fn read_for(
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
