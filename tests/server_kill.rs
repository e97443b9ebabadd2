//! End-to-end: a write acknowledged with a 2xx is never lost, and a retried key never
//! appends twice, even when the server is SIGKILLed at random moments. Four clients send
//! keyed spends to the real `grant-ledger serve`, retrying each key until it gets a 2xx
//! or a definitive 4xx, while the test kills and restarts the server at least 20 times.
//! After each kill the local `verify` passes, and after each restart the server's (while
//! the clients go on writing).
//!
//! The moments are drawn from a seeded generator; the seed is printed, and
//! `KILL_TEST_SEED=N` replays it.

mod server_common;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use server_common::{spend_body, Dir, Http, Server, ID};

const CLIENTS: usize = 4;
const KILLS: usize = 22;

/// xorshift64*: small, seeded, and enough to pick moments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn millis(&mut self, from: u64, to: u64) -> Duration {
        Duration::from_millis(from + self.next() % (to - from))
    }
}

/// What a client learnt of one key.
#[derive(Debug, Clone)]
struct Outcome {
    /// The first 2xx (status, body), or the definitive 4xx.
    status: u16,
    body: String,
    attempts: usize,
    /// Whether that 2xx said `Idempotency-Hit: true` (an earlier try was kept).
    hit: bool,
    /// Deliberate repeats after the 2xx: (status, body, Idempotency-Hit).
    repeats: Vec<(u16, String, Option<String>)>,
}

/// Sends one keyed spend until it gets a 2xx or a 4xx, whatever happens to the server.
fn until_definitive(
    url: &RwLock<String>,
    token: &str,
    key: &str,
    body: &Value,
    deadline: Instant,
) -> (u16, String, Option<String>, usize) {
    let mut attempts = 0;
    loop {
        attempts += 1;
        assert!(
            Instant::now() < deadline,
            "key {key}: no definitive answer after {attempts} attempts"
        );
        let base = url.read().expect("url").clone();
        let sent = Http::new(&base).try_send(
            "POST",
            "/api/v1/spends",
            Some(token),
            &[("Idempotency-Key", key)],
            Some(server_common::Body::json(body)),
        );
        match sent {
            Ok(r) if r.status < 500 => {
                let hit = r.header("idempotency-hit").map(str::to_string);
                return (r.status, r.body, hit, attempts);
            }
            // Refused connection, reset, or 5xx while stopping: the same key again.
            _ => std::thread::sleep(Duration::from_millis(3)),
        }
    }
}

#[test]
fn acknowledged_keyed_spends_survive_sigkill_exactly_once() {
    let seed: u64 = std::env::var("KILL_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(7421)
                | 1
        });
    eprintln!("kill test seed: {seed} (replay with KILL_TEST_SEED={seed})");
    let mut rng = Rng(seed);
    let started = Instant::now();

    let dir = Dir::new();
    let admin = dir.grant_local("root", "admin", "admin");
    dir.local_ok("admin", &["determination", "import", "--builtin", ID]);
    let finance = dir.grant_local("admin", "finance", "finance");
    let region = dir.grant_local("admin", "sw", "region:south-west");
    let mut server: Server = dir.serve();
    server
        .http()
        .post(
            "/api/v1/payments",
            Some(&finance),
            &json!({"determination": ID, "region": "south-west", "amount": "260600", "date": "2024-08-27"}),
        )
        .status(201);
    let setup_events = 5;

    let url = Arc::new(RwLock::new(server.url.clone()));
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let outcomes: Arc<Mutex<BTreeMap<String, Outcome>>> = Arc::default();
    let deadline = started + Duration::from_secs(120);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (url, stop, acknowledged, outcomes, token) = (
                Arc::clone(&url),
                Arc::clone(&stop),
                Arc::clone(&acknowledged),
                Arc::clone(&outcomes),
                region.clone(),
            );
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    n += 1;
                    let key = format!("c{c}-{n}");
                    let mut body = spend_body("south-west", "1");
                    body["reference"] = json!(key);
                    let (status, answer, hit, attempts) =
                        until_definitive(&url, &token, &key, &body, deadline);
                    if attempts == 1 {
                        assert_ne!(hit.as_deref(), Some("true"), "{key}: a first try was a hit");
                    }
                    let mut outcome = Outcome {
                        status,
                        body: answer,
                        attempts,
                        hit: hit.as_deref() == Some("true"),
                        repeats: Vec::new(),
                    };
                    if (200..300).contains(&status) {
                        acknowledged.fetch_add(1, Ordering::SeqCst);
                        // Every other key is sent once more on purpose.
                        if n % 2 == 0 {
                            let (s, b, h, _) =
                                until_definitive(&url, &token, &key, &body, deadline);
                            outcome.repeats.push((s, b, h));
                        }
                    }
                    outcomes.lock().expect("outcomes").insert(key, outcome);
                }
            })
        })
        .collect();

    for kill in 0..KILLS {
        // Let some writes through on this server, then pick a moment.
        let before = acknowledged.load(Ordering::SeqCst);
        let waiting = Instant::now();
        while acknowledged.load(Ordering::SeqCst) < before + 2
            && waiting.elapsed() < Duration::from_secs(5)
        {
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(rng.millis(5, 120));
        server.kill();
        let verified = dir.local("", &["verify"]);
        assert_eq!(
            verified.code, 0,
            "verify after kill {kill} (seed {seed}): {verified:?}"
        );
        std::thread::sleep(rng.millis(0, 30));
        server = dir.serve();
        *url.write().expect("url") = server.url.clone();
        let check = server
            .http()
            .get("/api/v1/verify", Some(&admin))
            .status(200)
            .json();
        assert_eq!(check["ok"], true, "after restart {kill}: {check}");
    }
    // Some more writes on the last server, then the clients finish their keys.
    std::thread::sleep(Duration::from_millis(100));
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.join().expect("a client failed");
    }
    let status = server.terminate(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{status:?}");
    let verified = dir.local("", &["verify"]);
    assert_eq!(verified.code, 0, "final verify: {verified:?}");

    let outcomes = outcomes.lock().expect("outcomes").clone();
    let history = dir.local_ok("", &["--format", "json", "history"]).json();
    let history = history.as_array().expect("history is an array").clone();
    // Positions are gapless from 1.
    let positions: Vec<u64> = history
        .iter()
        .map(|e| e["position"].as_u64().expect("position"))
        .collect();
    assert_eq!(positions, (1..=history.len() as u64).collect::<Vec<_>>());
    // Each key is in the history at most once, and only spends carry one.
    let mut by_key: HashMap<String, Vec<&Value>> = HashMap::new();
    for event in &history {
        if let Some(key) = event["key"].as_str() {
            by_key.entry(key.to_string()).or_default().push(event);
        }
    }
    for (key, events) in &by_key {
        assert_eq!(events.len(), 1, "key {key} appended {} times", events.len());
    }
    let mut acked = 0;
    let mut retried = 0;
    let mut kept_unanswered = 0;
    for (key, outcome) in &outcomes {
        assert!(
            (200..300).contains(&outcome.status),
            "{key} got a definitive {}: {}",
            outcome.status,
            outcome.body
        );
        acked += 1;
        if outcome.attempts > 1 {
            retried += 1;
        }
        if outcome.hit {
            kept_unanswered += 1;
        }
        let answered: Value = serde_json::from_str(&outcome.body).expect("event JSON");
        let recorded = by_key
            .get(key)
            .unwrap_or_else(|| panic!("{key} was acknowledged but is not in the history"))[0];
        assert_eq!(
            &answered, recorded,
            "{key}: the answer is not what was kept"
        );
        for (status, body, hit) in &outcome.repeats {
            assert_eq!(*status, outcome.status, "{key}: a repeat's status");
            assert_eq!(body, &outcome.body, "{key}: a repeat's body");
            assert_eq!(hit.as_deref(), Some("true"), "{key}: a repeat is not a hit");
        }
    }
    assert_eq!(
        by_key.len(),
        outcomes.len(),
        "keys in the history that no client saw acknowledged"
    );
    assert_eq!(
        history.len(),
        setup_events + acked,
        "events beyond one per key"
    );
    let spent = dir
        .local_ok(
            "auditor",
            &["--format", "json", "balances", ID, "--region", "south-west"],
        )
        .json();
    assert_eq!(spent[0]["spent"], format!("{acked}.00"));
    eprintln!(
        "{KILLS} kills, {acked} keys acknowledged ({retried} after a retry, {kept_unanswered} of \
         them kept before the kill and answered as a hit), {} s",
        started.elapsed().as_secs_f32()
    );
    assert!(
        acked >= KILLS * 2,
        "too few writes to prove anything: {acked}"
    );
}

#[test]
fn sigterm_under_load_exits_0_and_keeps_every_acknowledged_write() {
    let dir = Dir::new();
    dir.grant_local("root", "admin", "admin");
    dir.local_ok("admin", &["determination", "import", "--builtin", ID]);
    dir.local_ok(
        "finance",
        &[
            "pay",
            ID,
            "--region",
            "south-west",
            "--amount",
            "260600",
            "--date",
            "2024-08-27",
        ],
    );
    let region = dir.grant_local("admin", "sw", "region:south-west");
    let mut server = dir.serve();
    let http = server.http();
    let acknowledged: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (http, token, acknowledged, stop) = (
                http.clone(),
                region.clone(),
                Arc::clone(&acknowledged),
                Arc::clone(&stop),
            );
            std::thread::spawn(move || {
                let mut n = 0;
                // Until the server has gone: a refused connection ends this client.
                while !stop.load(Ordering::SeqCst) {
                    n += 1;
                    let key = format!("t{c}-{n}");
                    let sent = http.try_send(
                        "POST",
                        "/api/v1/spends",
                        Some(&token),
                        &[("Idempotency-Key", &key)],
                        Some(server_common::Body::json(&spend_body("south-west", "1"))),
                    );
                    match sent {
                        Ok(r) if r.status == 201 => {
                            acknowledged.lock().expect("acks").push((key, r.json()));
                        }
                        Ok(r) => assert_eq!(r.status, 503, "{key}: {}", r.body),
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            })
        })
        .collect();
    // Writes under way, then the stop.
    let waiting = Instant::now();
    while acknowledged.lock().expect("acks").len() < 20
        && waiting.elapsed() < Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    let status = server.terminate(Duration::from_secs(30));
    stop.store(true, Ordering::SeqCst);
    for client in clients {
        client.join().expect("a client failed");
    }
    assert_eq!(status.code(), Some(0), "{status:?}\n{}", server.log());
    let verified = dir.local("", &["verify"]);
    assert_eq!(verified.code, 0, "{verified:?}");
    let history = dir.local_ok("", &["--format", "json", "history"]).json();
    let history = history.as_array().expect("history").clone();
    let acknowledged = acknowledged.lock().expect("acks").clone();
    assert!(
        acknowledged.len() >= 20,
        "too few writes: {}",
        acknowledged.len()
    );
    for (key, event) in &acknowledged {
        let kept: Vec<&Value> = history
            .iter()
            .filter(|e| e["key"] == key.as_str())
            .collect();
        assert_eq!(kept.len(), 1, "{key} is kept {} times", kept.len());
        assert_eq!(kept[0], event, "{key}: the answer is not what was kept");
    }
}
