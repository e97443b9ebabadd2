//! The store's shared test helpers, plus what only sled tests need.
#![allow(dead_code)]

#[path = "../../../store/tests/common/mod.rs"]
mod shared;

pub use shared::*;

/// Opens the raw sled database (the store must be closed), retrying while sled's
/// background threads of the last handle still hold the lock.
pub fn raw_db(dir: &std::path::Path) -> sled::Db {
    for _ in 0..500 {
        if let Ok(db) = sled::open(dir) {
            return db;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("cannot open raw sled db at {}", dir.display());
}
