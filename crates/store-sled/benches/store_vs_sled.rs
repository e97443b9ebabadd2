//! Our store against raw sled, same number and size of events, in one run.
//!
//! `GL_BENCH_EVENTS` (default 200000) events with 300-byte JSON payloads, repeated for
//! `GL_BENCH_ROUNDS` (default 3) interleaved rounds on fresh databases; each figure is the
//! best round, because the 2-core machine is shared and a slow round says more about the
//! neighbours than about the code.
//! - raw sled: `apply_batch` of a serde_json envelope (same fields as ours), 1000 per
//!   batch, one flush; the same with plain `insert`s; a full scan decoding each value with
//!   serde_json into a typed envelope;
//! - ours: `append_stream_bulk` (one commit, one fsync), `append` with 1000 events per
//!   request (one fsync each), `read_all` (decode into `RecordedEvent`) and `verify`
//!   (decode, chain link, SHA-256, stream versions, per event).
//!
//! Run: `cargo bench -p grant-ledger-store --bench store_vs_sled`
//! Profile only our bulk append: `GL_BENCH_ONLY=bulk`. A lazily fed million-event import
//! plus read and verify, for peak memory: `GL_BENCH_ONLY=stream GL_BENCH_EVENTS=1000000`.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use grant_ledger_store::{
    AppendRequest, BulkAppend, EventStore, ExpectedVersion, NewEvent, StreamBatch, SystemClock,
};
use grant_ledger_store_sled::SledStore;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

const CHUNK: usize = 1000;

fn payload(i: u64) -> Vec<u8> {
    let mut p = format!(
        r#"{{"determination":"31/{}","recipient":"E0{:07}","amount":"{}.{:02}","period":"2025-26","note":""#,
        i % 997,
        i % 400,
        i * 37 % 100_000,
        i % 100
    );
    while p.len() < 298 {
        p.push('x');
    }
    p.push_str("\"}");
    p.into_bytes()
}

fn event(i: u64) -> NewEvent {
    NewEvent {
        event_id: uuid::Uuid::now_v7(),
        event_type: "PaymentIssued".into(),
        schema_version: 1,
        payload: payload(i),
        key: None,
        key_fingerprint: None,
        actor: None,
    }
}

/// What a naive store would keep: the same fields as our envelope, as serde_json.
#[derive(Serialize, Deserialize)]
struct JsonEnvelope {
    position: u64,
    event_id: uuid::Uuid,
    stream: String,
    stream_version: u64,
    event_type: String,
    schema_version: u32,
    recorded_at: chrono::DateTime<chrono::Utc>,
    actor: String,
    key: Option<String>,
    payload: Box<RawValue>,
    prev_hash: String,
    hash: String,
}

fn raw_values(n: u64) -> Vec<Vec<u8>> {
    let now = chrono::Utc::now();
    (1..=n)
        .map(|p| {
            serde_json::to_vec(&JsonEnvelope {
                position: p,
                event_id: uuid::Uuid::now_v7(),
                stream: "bench".into(),
                stream_version: p,
                event_type: "PaymentIssued".into(),
                schema_version: 1,
                recorded_at: now,
                actor: "bench".into(),
                key: None,
                payload: RawValue::from_string(String::from_utf8(payload(p)).expect("utf8"))
                    .expect("json"),
                prev_hash: hex::encode([7u8; 32]),
                hash: hex::encode([9u8; 32]),
            })
            .expect("encode")
        })
        .collect()
}

fn timed(f: impl FnOnce()) -> Duration {
    let t = Instant::now();
    f();
    t.elapsed()
}

fn raw_round(dir: &Path, values: &[Vec<u8>], batched: bool) -> (Duration, Duration) {
    let db = sled::open(dir).expect("open raw");
    let tree = db.open_tree("events").expect("tree");
    let insert = timed(|| {
        for (c, chunk) in values.chunks(CHUNK).enumerate() {
            if batched {
                let mut b = sled::Batch::default();
                for (i, v) in chunk.iter().enumerate() {
                    b.insert(&((c * CHUNK + i + 1) as u64).to_be_bytes(), v.as_slice());
                }
                tree.apply_batch(b).expect("batch");
            } else {
                for (i, v) in chunk.iter().enumerate() {
                    tree.insert(((c * CHUNK + i + 1) as u64).to_be_bytes(), v.as_slice())
                        .expect("insert");
                }
            }
        }
        db.flush().expect("flush");
    });
    let scan = timed(|| {
        let mut count = 0u64;
        for item in tree.iter() {
            let (_, v) = item.expect("iter");
            let e: JsonEnvelope = serde_json::from_slice(&v).expect("decode");
            count += e.stream_version.min(1);
        }
        assert_eq!(count, values.len() as u64);
    });
    (insert, scan)
}

fn bulk(dir: &Path, n: u64) -> (SledStore, Duration) {
    // Events are built before timing, as the raw values are: we measure the store only.
    let events: Vec<NewEvent> = (1..=n).map(event).collect();
    let store = SledStore::open(dir, Arc::new(SystemClock)).expect("open");
    let d = timed(|| {
        store
            .append_stream_bulk(
                BulkAppend {
                    actor: "bench".into(),
                    keys: vec![],
                    stream: "bench".into(),
                    expected: ExpectedVersion::NoStream,
                },
                &mut events.into_iter().map(Ok),
                &mut |_| vec![],
            )
            .map(drop)
            .expect("bulk")
    });
    (store, d)
}

fn batched(dir: &Path, n: u64) -> Duration {
    let store = SledStore::open(dir, Arc::new(SystemClock)).expect("open");
    let requests: Vec<AppendRequest> = (0..n)
        .step_by(CHUNK)
        .map(|i| AppendRequest {
            actor: "bench".into(),
            keys: vec![],
            batches: vec![StreamBatch {
                stream: "bench".into(),
                expected: ExpectedVersion::Exact(i),
                events: (i..(i + CHUNK as u64).min(n)).map(event).collect(),
            }],
            models: vec![],
        })
        .collect();
    timed(|| {
        for r in requests {
            store.append(r).expect("append");
        }
    })
}

#[derive(Default)]
struct Best(Option<Duration>);
impl Best {
    fn add(&mut self, d: Duration) {
        self.0 = Some(self.0.map_or(d, |b| b.min(d)));
    }
    fn rate(&self, n: u64) -> f64 {
        n as f64 / self.0.unwrap_or(Duration::MAX).as_secs_f64()
    }
}

fn main() {
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let n = env("GL_BENCH_EVENTS", 200_000);
    let rounds = env("GL_BENCH_ROUNDS", 3);
    let root = tempfile::tempdir().expect("tempdir");
    if std::env::var("GL_BENCH_ONLY").as_deref() == Ok("stream") {
        // A bulk import fed lazily, then a full read and verify: shows that memory stays
        // flat however many events (run under `/usr/bin/time -v` for the peak RSS).
        let store =
            SledStore::open(&root.path().join("stream"), Arc::new(SystemClock)).expect("open");
        let d = timed(|| {
            store
                .append_stream_bulk(
                    BulkAppend {
                        actor: "bench".into(),
                        keys: vec![],
                        stream: "bench".into(),
                        expected: ExpectedVersion::NoStream,
                    },
                    &mut (1..=n).map(|i| Ok(event(i))),
                    &mut |_| vec![],
                )
                .map(drop)
                .expect("bulk")
        });
        println!("streamed bulk append: {n} events in {d:.2?}");
        let d = timed(|| {
            let mut count = 0u64;
            for e in store.read_all(0) {
                count += e.expect("read").position.min(1);
            }
            assert_eq!(count, n);
        });
        println!("read_all: {d:.2?}");
        let d = timed(|| assert_eq!(store.verify().expect("verify").events, n));
        println!("verify: {d:.2?}");
        return;
    }
    if std::env::var("GL_BENCH_ONLY").as_deref() == Ok("bulk") {
        let (_, d) = bulk(&root.path().join("bulk"), n);
        println!(
            "ours append_stream_bulk: {:.0} events/s",
            n as f64 / d.as_secs_f64()
        );
        return;
    }
    let values = raw_values(n);
    println!(
        "{n} events, payload {} bytes, raw JSON value {} bytes, {rounds} rounds, best of each",
        payload(0).len(),
        values[0].len()
    );
    let (mut raw_batch, mut raw_insert, mut raw_scan) = (Best(None), Best(None), Best(None));
    let (mut our_bulk, mut our_batched, mut our_read, mut our_verify) =
        (Best(None), Best(None), Best(None), Best(None));
    for r in 0..rounds {
        let dir = |name: &str| root.path().join(format!("{name}-{r}"));
        let (i, s) = raw_round(&dir("raw-batch"), &values, true);
        raw_batch.add(i);
        raw_scan.add(s);
        let (i, _) = raw_round(&dir("raw-insert"), &values, false);
        raw_insert.add(i);
        let (store, d) = bulk(&dir("bulk"), n);
        our_bulk.add(d);
        our_read.add(timed(|| {
            let read = store
                .read_all(0)
                .map(|e| e.expect("read").position.min(1))
                .sum::<u64>();
            assert_eq!(read, n);
        }));
        our_verify.add(timed(|| {
            assert_eq!(store.verify().expect("verify").events, n)
        }));
        drop(store);
        our_batched.add(batched(&dir("batched"), n));
        for name in ["raw-batch", "raw-insert", "bulk", "batched"] {
            let _ = std::fs::remove_dir_all(dir(name));
        }
    }
    let line = |label: &str, b: &Best| {
        let r = b.rate(n);
        println!("{label:<48} {r:>10.0} events/s");
        r
    };
    let rb = line("raw sled apply_batch (1000/batch) + flush", &raw_batch);
    let ri = line("raw sled insert + flush", &raw_insert);
    let rs = line("raw sled scan + serde_json decode", &raw_scan);
    let ob = line("ours append_stream_bulk (1 commit, 1 fsync)", &our_bulk);
    let oa = line(
        "ours append, 1000 events/request (fsync each)",
        &our_batched,
    );
    let or = line("ours read_all (decode to RecordedEvent)", &our_read);
    let ov = line("ours verify (decode + chain + SHA-256)", &our_verify);

    // The price of durability: single-event appends, each flushed and fsynced.
    let store = SledStore::open(&root.path().join("single"), Arc::new(SystemClock)).expect("open");
    let singles = 200u64;
    let d = timed(|| {
        for k in 0..singles {
            store
                .append(AppendRequest {
                    actor: "bench".into(),
                    keys: vec![],
                    batches: vec![StreamBatch {
                        stream: "single".into(),
                        expected: ExpectedVersion::Exact(k),
                        events: vec![event(k)],
                    }],
                    models: vec![],
                })
                .expect("append");
        }
    });
    println!(
        "{:<48} {:>10.2?} per append",
        "ours single-event append (flush + fsync)",
        d / singles as u32
    );
    let f = std::fs::File::open(root.path().join("single").join("db")).expect("db file");
    let d = timed(|| {
        for _ in 0..50 {
            f.sync_all().expect("fsync");
        }
    });
    println!(
        "{:<48} {:>10.2?} per call",
        "fsync of the (unchanged) db file",
        d / 50
    );

    println!();
    println!(
        "bulk append    / raw apply_batch   {:.2}  (target >= 0.6)",
        ob / rb
    );
    println!(
        "batched append / raw apply_batch   {:.2}  (target >= 0.6)",
        oa / rb
    );
    println!("bulk append    / raw insert        {:.2}", ob / ri);
    println!(
        "verify         / raw scan+decode   {:.2}  (target >= 0.7)",
        ov / rs
    );
    println!(
        "read_all       / raw scan+decode   {:.2}  (target >= 0.7)",
        or / rs
    );
}
