//! How fast the web pages are served on a large ledger: the overview, deadlines and a
//! region page, each fetched over HTTP with a signed-in session from the real router
//! (API and pages, as `grant-ledger serve` runs it) on a sled ledger holding
//! `GL_WEB_EVENTS` spend events (default 100,000; the figure is 1,000,000).
//!
//! Each page is fetched `GL_WEB_RUNS` times (default 30) and the median and slowest are
//! reported. The region page's spend-by-authority table needs one pass over the log after
//! a start (made in the background); how long after the start it appears is reported on
//! its own line.
//!
//! Run: `cargo bench --bench web_pages` (or `GL_WEB_EVENTS=1000000 cargo bench --bench web_pages`).

use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, Instant};

use grant_ledger_domain::{builtin, Role};
use grant_ledger_projections::{
    Api, BalancesQuery, Caller, DeterminationSource, Ledger, PayRequest, Session,
};
use grant_ledger_server::routes::{router, AppState};
use grant_ledger_store::SystemClock;
use grant_ledger_store_sled::SledStore;

type BenchResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

const DETERMINATION: &str = "31/7421";

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// Spend rows of one penny each, round the regions, generated as they are read.
struct SpendCsv {
    /// Each region with its authorities.
    regions: Vec<(String, Vec<String>)>,
    rows: u64,
    next: u64,
    buffer: Vec<u8>,
    at: usize,
}

impl Read for SpendCsv {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.buffer.len() {
            self.buffer.clear();
            self.at = 0;
            if self.next == 0 {
                self.buffer.extend_from_slice(
                    grant_ledger_projections::SPEND_CSV_HEADER
                        .join(",")
                        .as_bytes(),
                );
                self.buffer.push(b'\n');
            }
            while self.next < self.rows && self.buffer.len() < 64 * 1024 {
                let (region, authorities) =
                    &self.regions[(self.next % self.regions.len() as u64) as usize];
                let purpose = if self.next % 2 == 0 {
                    "data-coordinator"
                } else {
                    "self-assessment"
                };
                let authority =
                    &authorities[(self.next % authorities.len().max(1) as u64) as usize];
                let line = format!(
                    "{DETERMINATION},{region},0.01,2024-10-01,{purpose},\"{authority}\",,,\n"
                );
                self.buffer.extend_from_slice(line.as_bytes());
                self.next += 1;
            }
        }
        let n = out.len().min(self.buffer.len() - self.at);
        out[..n].copy_from_slice(&self.buffer[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn main() -> BenchResult {
    let events = env_number("GL_WEB_EVENTS", 100_000);
    let runs = env_number("GL_WEB_RUNS", 30).max(1) as usize;
    let dir = tempfile::tempdir()?;
    let store = SledStore::open(dir.path(), Arc::new(SystemClock))?;
    let ledger = Arc::new(Ledger::with_store(store)?);
    let owner = Session::new(Arc::clone(&ledger), Caller::owner("bench"));
    let determination = builtin(DETERMINATION).ok_or("no built-in determination")??;
    owner.import_determination(
        None,
        &DeterminationSource::Builtin(DETERMINATION.into()),
        determination,
    )?;
    let finance = owner.grant_access(None, "fiona", Role::Finance)?.token;
    let fin = Session::new(Arc::clone(&ledger), ledger.authenticate(&finance)?);
    let mut regions = Vec::new();
    for row in owner.balances(&BalancesQuery {
        determination: Some(DETERMINATION.into()),
        ..BalancesQuery::default()
    })? {
        fin.pay(
            None,
            PayRequest {
                determination: DETERMINATION.into(),
                region: row.region.clone(),
                amount: row.determined,
                date: chrono::NaiveDate::from_ymd_opt(2024, 8, 28).ok_or("bad date")?,
                reference: None,
                late_reason: None,
            },
        )?;
        let authorities = owner
            .determination(DETERMINATION)?
            .determination
            .allocations
            .into_iter()
            .find(|a| a.region == row.region)
            .map(|a| a.authorities)
            .unwrap_or_default();
        regions.push((row.region, authorities));
    }
    let built = Instant::now();
    let csv = SpendCsv {
        regions,
        rows: events,
        next: 0,
        buffer: Vec::new(),
        at: 0,
    };
    owner.import_spends(None, Box::new(csv), &mut |_| {})?;
    println!(
        "web_pages: {} events on a sled ledger (built in {:.1} s), medians of {runs} runs",
        ledger.head_position(),
        built.elapsed().as_secs_f64()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let url = format!("http://{}", listener.local_addr()?);
    let (_tx, head) = tokio::sync::watch::channel(ledger.head_position());
    let (_stop, stopping) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let app = runtime.block_on(async {
        router(AppState {
            ledger: Arc::clone(&ledger),
            head,
            stopping,
        })
    });
    runtime.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let cookie = sign_in(&agent, &url, &finance)?;
    let fetch = |path: &str| -> BenchResult<(Duration, String)> {
        let t = Instant::now();
        let r = agent
            .get(&format!("{url}{path}"))
            .set("cookie", &cookie)
            .call()?;
        let body = r.into_string()?;
        let took = t.elapsed();
        if !body.contains("</html>") {
            return Err(format!("{path} did not answer a page").into());
        }
        Ok((took, body))
    };
    let region = "/regions/south-west?determination=31%2F7421";
    let (first, _) = fetch(region)?;
    println!("region page, first view after start: {:.2} ms", ms(first));
    // Until the history pass ends, the region page says so instead of waiting for it.
    while fetch(region)?.1.contains("still reading the ledger") {
        std::thread::sleep(Duration::from_millis(100));
    }
    println!(
        "region page shows spend by authority {:.1} s after the server started (the one pass over the history)",
        started.elapsed().as_secs_f64()
    );
    for (name, path) in [
        ("overview", "/"),
        ("deadlines", "/deadlines"),
        ("region", region),
    ] {
        let mut times: Vec<Duration> = (0..runs)
            .map(|_| fetch(path).map(|(t, _)| t))
            .collect::<Result<_, _>>()?;
        times.sort();
        println!(
            "{name:<9} {path:<44} median {:>7.2} ms   slowest {:>7.2} ms",
            ms(times[times.len() / 2]),
            ms(times[times.len() - 1])
        );
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Signs in through the form, as a browser does, and returns the session cookie.
fn sign_in(agent: &ureq::Agent, url: &str, token: &str) -> BenchResult<String> {
    let r = agent.get(&format!("{url}/sign-in")).call()?;
    let cookie = r
        .header("set-cookie")
        .and_then(|c| c.split(';').next())
        .ok_or("no cookie")?
        .to_string();
    let body = r.into_string()?;
    let marker = "name=\"csrf\" value=\"";
    let csrf = body
        .split(marker)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or("no csrf")?
        .to_string();
    let answer = agent
        .post(&format!("{url}/sign-in"))
        .set("cookie", &cookie)
        .send_form(&[("csrf", &csrf), ("token", token)]);
    let r = match answer {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(e.into()),
    };
    Ok(r.header("set-cookie")
        .and_then(|c| c.split(';').next())
        .ok_or("sign-in set no cookie")?
        .to_string())
}
