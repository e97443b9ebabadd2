//! Crash safety across processes: a child appending in a loop is SIGKILLed at random
//! moments; an interrupted bulk import is aborted mid-way; a ledger held by another
//! process is refused. The child is this test binary re-invoked with `GL_STORE_CHILD`.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use common::*;
use grant_ledger_store::*;
use grant_ledger_store_sled::SledStore;
use tempfile::TempDir;

const CHILD_ENV: &str = "GL_STORE_CHILD";

/// Tiny xorshift: enough randomness for kill timings and batch sizes without a dependency.
struct Rng(u64);
impl Rng {
    fn seeded() -> Self {
        let t = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        Rng(t ^ (u64::from(std::process::id()) << 32) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn spawn_child(mode: &str, dir: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, format!("{mode}:{}", dir.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn tagged_event(batch: uuid::Uuid, n: u64) -> NewEvent {
    NewEvent {
        event_id: uuid::Uuid::now_v7(),
        event_type: "Tick".into(),
        schema_version: 1,
        payload: format!(r#"{{"batch":"{batch}","n":{n}}}"#).into_bytes(),
        key: None,
        key_fingerprint: None,
        actor: None,
    }
}

/// Appends forever, printing `ACK batch first last` after each acknowledged append.
fn append_loop(dir: &Path) {
    let store = SledStore::open(dir, dyn_clock()).unwrap();
    let mut rng = Rng::seeded();
    let mut out = std::io::stdout().lock();
    for i in 0u64.. {
        let batch_id = uuid::Uuid::now_v7();
        let key = vec![key(&format!("k-{batch_id}"), 1)];
        let appended = if i % 6 == 5 {
            let n = 1_000 + rng.below(3_000);
            store
                .append_stream_bulk(
                    BulkAppend {
                        actor: "child".into(),
                        keys: key,
                        stream: format!("bulk-{batch_id}"),
                        expected: ExpectedVersion::NoStream,
                    },
                    &mut (0..n).map(|_| Ok(tagged_event(batch_id, n))),
                    &mut |_| vec![],
                )
                .unwrap()
        } else {
            let streams = 1 + rng.below(3);
            let sizes: Vec<u64> = (0..streams).map(|_| 1 + rng.below(8)).collect();
            let n: u64 = sizes.iter().sum();
            let batches = sizes
                .iter()
                .enumerate()
                .map(|(s, &size)| StreamBatch {
                    stream: format!("s{}", (rng.below(5) + s as u64 * 5)),
                    expected: ExpectedVersion::Any,
                    events: (0..size).map(|_| tagged_event(batch_id, n)).collect(),
                })
                .collect();
            store
                .append(AppendRequest {
                    actor: "child".into(),
                    keys: key,
                    batches,
                    models: vec![ModelWrite {
                        name: "last".into(),
                        bytes: batch_id.to_string().into_bytes(),
                    }],
                })
                .unwrap()
        };
        let a = appended.appended();
        writeln!(
            out,
            "ACK {batch_id} {} {}",
            a.first_position, a.last_position
        )
        .unwrap();
        out.flush().unwrap();
    }
}

/// Starts a bulk import whose events carry per-event keys, lets sled's background flusher
/// persist the staged chunks (and their key entries), then dies without committing.
fn bulk_then_abort(dir: &Path) {
    let store = SledStore::open(dir, dyn_clock()).unwrap();
    let batch = uuid::Uuid::now_v7();
    let mut events = (0..20_000u64).map(|i| {
        if i == 10_000 {
            std::thread::sleep(Duration::from_millis(1_500));
            println!("ABORTING");
            std::process::abort();
        }
        Ok(NewEvent {
            key: Some(format!("row-{i}")),
            key_fingerprint: Some([7; 32]),
            actor: None,
            ..tagged_event(batch, 20_000)
        })
    });
    let _ = store.append_stream_bulk(
        BulkAppend {
            actor: "child".into(),
            keys: vec![key("bulk", 1)],
            stream: "bulk".into(),
            expected: ExpectedVersion::Any,
        },
        &mut events,
        &mut |_| vec![],
    );
}

fn try_open(dir: &Path) {
    match SledStore::open(dir, dyn_clock()) {
        Ok(_) => println!("RESULT opened"),
        Err(e) => println!("RESULT {:?} {e}", e.kind()),
    }
}

/// Not a test of its own: the entry point for child processes, a no-op otherwise.
#[test]
fn child_process_entry() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (mode, dir) = spec.split_once(':').unwrap();
    let dir = Path::new(dir);
    match mode {
        "append-loop" => append_loop(dir),
        "bulk-abort" => bulk_then_abort(dir),
        "try-open" => try_open(dir),
        other => panic!("unknown child mode {other}"),
    }
}

/// The child's output lines, with the test harness's "test ... " prefix cut off so each
/// line starts at one of our markers (ACK, ABORTING, RESULT).
fn collect_stdout(child: &mut Child) -> std::thread::JoinHandle<Vec<String>> {
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| {
                ["ACK ", "ABORTING", "RESULT "]
                    .iter()
                    .filter_map(|m| l.find(m))
                    .min()
                    .map(|i| l[i..].to_string())
            })
            .collect()
    })
}

struct Acked {
    first: u64,
    last: u64,
}

/// Checks the ledger after a crash: every acknowledged append present, no partial batch,
/// gapless and verified.
fn check_ledger(dir: &Path, acked: &HashMap<String, Acked>) -> u64 {
    let store = SledStore::open(dir, dyn_clock()).unwrap();
    let report = store.verify().unwrap();
    let mut batches: HashMap<String, (u64, u64, u64, u64)> = HashMap::new(); // n, count, first, last
    for (i, e) in store.read_all(0).enumerate() {
        let e = e.unwrap();
        assert_eq!(e.position, i as u64 + 1, "gap in the log");
        let v: serde_json::Value = serde_json::from_str(e.payload.get()).unwrap();
        let batch = v["batch"].as_str().unwrap().to_string();
        let n = v["n"].as_u64().unwrap();
        let entry = batches
            .entry(batch)
            .or_insert((n, 0, e.position, e.position));
        entry.1 += 1;
        assert_eq!(
            entry.3 + u64::from(entry.1 > 1),
            e.position,
            "batch not contiguous"
        );
        entry.3 = e.position;
    }
    for (batch, (n, count, _, _)) in &batches {
        assert_eq!(
            n, count,
            "partial batch {batch}: {count} of {n} events present"
        );
    }
    for (batch, a) in acked {
        let (_, _, first, last) = batches
            .get(batch)
            .unwrap_or_else(|| panic!("acknowledged batch {batch} is missing"));
        assert_eq!((*first, *last), (a.first, a.last), "batch {batch} moved");
        assert!(store.key(&format!("k-{batch}")).unwrap().is_some());
    }
    report.events
}

/// Events covered by the stream index (extents of `first_position u64, count u64`).
fn indexed_stream_events(db: &sled::Db) -> u64 {
    db.open_tree("stream_events")
        .unwrap()
        .iter()
        .map(|kv| u64::from_be_bytes(kv.unwrap().1[8..16].try_into().unwrap()))
        .sum()
}

/// Events covered by the event-id index: per-event entries plus extents (value: first
/// position `u64`, count `u64`, last id).
fn indexed_event_ids(db: &sled::Db) -> u64 {
    let extents: u64 = db
        .open_tree("event_id_extents")
        .unwrap()
        .iter()
        .map(|kv| u64::from_be_bytes(kv.unwrap().1[8..16].try_into().unwrap()))
        .sum();
    db.open_tree("event_ids").unwrap().len() as u64 + extents
}

#[test]
fn sigkilled_appenders_lose_nothing_acknowledged_and_leave_no_partial_batch() {
    let dir = TempDir::new().unwrap();
    let mut rng = Rng::seeded();
    let mut acked: HashMap<String, Acked> = HashMap::new();
    let started = Instant::now();
    let rounds = 24;
    let mut last_head = 0;
    // The ledger exists before the first kill: this test is about appends. (A kill during
    // the very first open, before sled has written the format entry, is a different case.)
    drop(SledStore::open(dir.path(), dyn_clock()).unwrap());
    for round in 0..rounds {
        let mut child = spawn_child("append-loop", dir.path());
        let reader = collect_stdout(&mut child);
        let wait = 60 + rng.below(400);
        std::thread::sleep(Duration::from_millis(wait));
        child.kill().unwrap(); // SIGKILL on unix
        child.wait().unwrap();
        for line in reader.join().unwrap() {
            let mut parts = line.split_whitespace();
            if parts.next() != Some("ACK") {
                continue;
            }
            let batch = parts.next().unwrap().to_string();
            let first = parts.next().unwrap().parse().unwrap();
            let last = parts.next().unwrap().parse().unwrap();
            acked.insert(batch, Acked { first, last });
        }
        let head = check_ledger(dir.path(), &acked);
        assert!(head >= last_head, "round {round}: head went back");
        last_head = head;
    }
    assert!(
        acked.len() > rounds,
        "too few acknowledged appends: {}",
        acked.len()
    );
    // No staged leftovers survive an open: every index entry belongs to a committed event.
    let db = raw_db(dir.path());
    let events = db.open_tree("events").unwrap();
    let last_key = events.last().unwrap().map(|(k, _)| k.to_vec());
    assert_eq!(last_key, Some(last_head.to_be_bytes().to_vec()));
    assert_eq!(events.len() as u64, last_head);
    assert_eq!(indexed_event_ids(&db), last_head);
    // The appends' ids come from `now_v7`, so most are indexed as extents: the test covers
    // their discard.
    assert!(!db.open_tree("event_id_extents").unwrap().is_empty());
    assert_eq!(indexed_stream_events(&db), last_head);
    eprintln!(
        "{rounds} kills, {} acknowledged appends, {last_head} events in {:?}",
        acked.len(),
        started.elapsed()
    );
}

#[test]
fn an_interrupted_bulk_import_leaves_no_trace_after_reopen() {
    let dir = TempDir::new().unwrap();
    let before = {
        let s = SledStore::open(dir.path(), dyn_clock()).unwrap();
        s.append(req(vec![batch("a", ExpectedVersion::Any, 3)]))
            .unwrap();
        s.head().unwrap()
    };
    std::thread::sleep(Duration::from_millis(100));
    let mut child = spawn_child("bulk-abort", dir.path());
    let reader = collect_stdout(&mut child);
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert!(reader.join().unwrap().iter().any(|l| l == "ABORTING"));
    {
        // The staged events really reached the disk: the test would prove nothing otherwise.
        let db = raw_db(dir.path());
        let staged = db
            .open_tree("events")
            .unwrap()
            .range(4u64.to_be_bytes()..)
            .count();
        assert!(staged >= 2048, "only {staged} staged events were persisted");
        let keys = db.open_tree("keys").unwrap().len();
        assert!(keys >= 2048, "only {keys} staged event keys were persisted");
        let extents = db.open_tree("event_id_extents").unwrap().len();
        assert!(extents >= 1, "no staged id extent was persisted");
    }
    std::thread::sleep(Duration::from_millis(100));
    let s = SledStore::open(dir.path(), dyn_clock()).unwrap();
    assert_eq!(s.head().unwrap(), before);
    assert_eq!(s.stream_version("bulk").unwrap(), 0);
    assert!(s.key("bulk").unwrap().is_none());
    assert!(s.key("row-0").unwrap().is_none());
    assert_eq!(s.read_all(0).count(), 3);
    s.verify().unwrap();
    let next = s
        .append(req(vec![batch("bulk", ExpectedVersion::NoStream, 1)]))
        .unwrap();
    assert_eq!(next.appended().first_position, 4);
    drop(s);
    std::thread::sleep(Duration::from_millis(100));
    let db = raw_db(dir.path());
    assert_eq!(db.open_tree("events").unwrap().len(), 4);
    assert_eq!(indexed_event_ids(&db), 4);
    assert_eq!(indexed_stream_events(&db), 4);
    assert_eq!(
        db.open_tree("keys").unwrap().len(),
        0,
        "a staged event key survived"
    );
}

#[test]
fn a_ledger_held_by_another_process_is_refused_as_in_use() {
    let dir = TempDir::new().unwrap();
    let held = SledStore::open(dir.path(), dyn_clock()).unwrap();
    let mut child = spawn_child("try-open", dir.path());
    let reader = collect_stdout(&mut child);
    child.wait().unwrap();
    let lines = reader.join().unwrap();
    let result = lines.iter().find(|l| l.starts_with("RESULT")).unwrap();
    assert!(
        result.starts_with("RESULT Unavailable the ledger at")
            && result.ends_with("is in use by another process"),
        "{result}"
    );
    drop(held);
}
