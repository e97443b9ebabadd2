//! Our store against raw sled, same number and size of events, in one run.
//!
//! `GL_BENCH_EVENTS` (default 200000) events with ~300-byte JSON payloads:
//! - raw sled: `apply_batch` inserts of a serde_json envelope, 1000 per batch, one flush;
//!   then a full scan decoding each value with serde_json into a typed envelope;
//! - ours: `append_stream_bulk` (one commit and one fsync), `append` with 1000 events per
//!   request (one fsync each), `read_all` (decode into `RecordedEvent`) and `verify`
//!   (decode + chain + SHA-256 per event).
//!
//! Run: `cargo bench -p grant-ledger-store --bench store_vs_sled`

use std::sync::Arc;
use std::time::{Duration, Instant};

use grant_ledger_store::{
    EventStore, ExpectedVersion, NewEvent, SledStore, StreamBatch, SystemClock,
};
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

fn rate(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn line(label: &str, n: u64, d: Duration) -> f64 {
    let r = rate(n, d);
    println!("{label:<44} {:>10.0} events/s  ({:.2?})", r, d);
    r
}

fn main() {
    let n: u64 = std::env::var("GL_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    // GL_BENCH_ONLY=bulk runs only our bulk append, for profiling.
    let only_bulk = std::env::var("GL_BENCH_ONLY").as_deref() == Ok("bulk");
    let dir = tempfile::tempdir().expect("tempdir");
    if only_bulk {
        let events: Vec<NewEvent> = (1..=n).map(event).collect();
        let store = SledStore::open(&dir.path().join("bulk"), Arc::new(SystemClock)).expect("open");
        let t = Instant::now();
        store
            .append_stream_bulk(
                "bench",
                vec![],
                "bench",
                ExpectedVersion::NoStream,
                &mut events.into_iter().map(Ok),
                &mut |_| vec![],
            )
            .expect("bulk");
        line("ours append_stream_bulk (1 fsync)", n, t.elapsed());
        return;
    }
    println!(
        "{n} events, payload {} bytes, chunks of {CHUNK}",
        payload(0).len()
    );

    // --- raw sled --------------------------------------------------------------------
    let raw = sled::open(dir.path().join("raw")).expect("open raw");
    let tree = raw.open_tree("events").expect("tree");
    let now = chrono::Utc::now();
    let values: Vec<Vec<u8>> = (1..=n)
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
        .collect();
    println!("raw value size {} bytes", values[0].len());
    let t = Instant::now();
    for (c, chunk) in values.chunks(CHUNK).enumerate() {
        let mut b = sled::Batch::default();
        for (i, v) in chunk.iter().enumerate() {
            let p = (c * CHUNK + i + 1) as u64;
            b.insert(&p.to_be_bytes(), v.as_slice());
        }
        tree.apply_batch(b).expect("batch");
    }
    raw.flush().expect("flush");
    let raw_insert = line("raw sled apply_batch + 1 flush", n, t.elapsed());
    drop(values);

    let t = Instant::now();
    let mut count = 0u64;
    for item in tree.iter() {
        let (_, v) = item.expect("iter");
        let e: JsonEnvelope = serde_json::from_slice(&v).expect("decode");
        count += e.stream_version.min(1);
    }
    assert_eq!(count, n);
    let raw_scan = line("raw sled scan + serde_json decode", n, t.elapsed());

    // --- ours: bulk ---------------------------------------------------------------------
    // Events are built before timing, as the raw values were: we measure the store only.
    let events: Vec<NewEvent> = (1..=n).map(event).collect();
    let store = SledStore::open(&dir.path().join("bulk"), Arc::new(SystemClock)).expect("open");
    let t = Instant::now();
    store
        .append_stream_bulk(
            "bench",
            vec![],
            "bench",
            ExpectedVersion::NoStream,
            &mut events.into_iter().map(Ok),
            &mut |_| vec![],
        )
        .expect("bulk");
    let bulk = line("ours append_stream_bulk (1 fsync)", n, t.elapsed());

    let t = Instant::now();
    let mut read = 0u64;
    for e in store.read_all(0) {
        read += e.expect("read").position.min(1);
    }
    assert_eq!(read, n);
    let read_all = line("ours read_all (decode to RecordedEvent)", n, t.elapsed());

    let t = Instant::now();
    let report = store.verify().expect("verify");
    assert_eq!(report.events, n);
    let verify = line("ours verify (decode + chain + SHA-256)", n, t.elapsed());
    drop(store);

    // --- ours: batched appends ------------------------------------------------------------
    let store = SledStore::open(&dir.path().join("batched"), Arc::new(SystemClock)).expect("open");
    let mut requests = Vec::new();
    let mut i = 0u64;
    while i < n {
        let m = (n - i).min(CHUNK as u64);
        requests.push(grant_ledger_store::AppendRequest {
            actor: "bench".into(),
            keys: vec![],
            batches: vec![StreamBatch {
                stream: "bench".into(),
                expected: ExpectedVersion::Exact(i),
                events: (i..i + m).map(event).collect(),
            }],
            models: vec![],
        });
        i += m;
    }
    let t = Instant::now();
    for r in requests {
        store.append(r).expect("append");
    }
    let batched = line("ours append, 1000/request (fsync each)", n, t.elapsed());
    // --- single small appends: the cost of durability ---------------------------------------
    let singles = 200u64;
    let t = Instant::now();
    for k in 0..singles {
        store
            .append(grant_ledger_store::AppendRequest {
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
    let per = t.elapsed() / singles as u32;
    println!(
        "{:<44} {:>10.2?} per append",
        "ours single-event append (flush + fsync)", per
    );
    let f = std::fs::File::open(dir.path().join("batched").join("db")).expect("db file");
    let t = Instant::now();
    for _ in 0..50 {
        f.sync_all().expect("fsync");
    }
    println!(
        "{:<44} {:>10.2?} per call",
        "bare fsync of an unchanged db file",
        t.elapsed() / 50
    );

    println!();
    println!(
        "ratio bulk append / raw insert      {:.2}  (target >= 0.6)",
        bulk / raw_insert
    );
    println!(
        "ratio batched append / raw insert   {:.2}",
        batched / raw_insert
    );
    println!(
        "ratio verify / raw scan+decode      {:.2}  (target >= 0.7)",
        verify / raw_scan
    );
    println!(
        "ratio read_all / raw scan+decode    {:.2}",
        read_all / raw_scan
    );
}
