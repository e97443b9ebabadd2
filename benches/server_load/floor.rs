//! The floors the server is compared with, measured in the same run: raw sled's group
//! commit, or on PostgreSQL the plain SQL baseline of one transaction per event.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{self, Db};
use crate::{BenchResult, FLOOR_VALUE_BYTES};

/// Raw sled's durable group commit, per group size.
pub(crate) struct SledFloor {
    /// `apply_batch` + `flush()` + `fsync` of the data file.
    pub(crate) durable: f64,
    /// `apply_batch` + `flush()` alone (sled's own flush, which does not reach the disk).
    pub(crate) flushed: f64,
}

pub(crate) enum Floors {
    /// Per group size.
    Sled(BTreeMap<usize, SledFloor>),
    /// Single-event durable appends/s of plain SQL behind a head-row lock.
    PlainSql(f64),
}

impl Floors {
    /// For each group size: appends/s of one `apply_batch` of that many ~300-byte inserts
    /// followed by a durable flush, repeated for `duration`.
    pub(crate) fn raw_sled(
        dir: &Path,
        groups: &[usize],
        duration: Duration,
    ) -> BenchResult<Floors> {
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
            floors.insert(group, SledFloor { durable, flushed });
        }
        Ok(Floors::Sled(floors))
    }

    /// Plain SQL on a database of its own: as many single-event transactions as fit in
    /// `duration` (at least 200), each locking the head row, inserting one ~300-byte row
    /// and moving the head.
    pub(crate) fn plain_sql(admin: &postgres::Config, duration: Duration) -> BenchResult<Floors> {
        let db = Db::new(admin, "load_baseline")?;
        // Time a first batch, then size the measured run to last about `duration`.
        let probe: Vec<Vec<u8>> = (1..=200).map(floor_value).collect();
        let took = support::baseline_inserts(&db, &probe)?;
        let per_second = probe.len() as f64 / took.as_secs_f64().max(1e-6);
        let n = ((per_second * duration.as_secs_f64()) as u64).max(200);
        drop(db);
        let db = Db::new(admin, "load_baseline")?;
        let envelopes: Vec<Vec<u8>> = (1..=n).map(floor_value).collect();
        let took = support::baseline_inserts(&db, &envelopes)?;
        Ok(Floors::PlainSql(n as f64 / took.as_secs_f64().max(1e-6)))
    }

    /// The floor the server at this concurrency (or with this group) is compared with.
    pub(crate) fn at(&self, group: usize) -> f64 {
        match self {
            Floors::Sled(floors) => floors.get(&group).map_or(f64::NAN, |f| f.durable),
            Floors::PlainSql(rate) => *rate,
        }
    }
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
