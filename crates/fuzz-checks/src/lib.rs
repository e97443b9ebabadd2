//! The fuzz targets' properties, each a function of the input bytes, written once and run
//! two ways: by cargo-fuzz under libFuzzer (`fuzz/fuzz_targets/*.rs` call these), and for a
//! few seconds in CI by `tests/short_run.rs`, over the committed seed corpus and seeded
//! mutations of it ([`mutate`]).
//!
//! A broken property panics: that is how a fuzzer, and a test, is told. Nothing here is on a
//! path the ledger's users reach; the crate is a test harness, like `tests/`.

pub mod mutate;

mod date;
mod determination_toml;
mod envelope;
mod json_bodies;
mod money;
mod spend_csv;

pub use date::date;
pub use determination_toml::determination_toml;
pub use envelope::envelope;
pub use json_bodies::json_bodies;
pub use money::money;
pub use spend_csv::spend_csv;

/// One fuzz target: its name (the directory of its corpus under `fuzz/corpus`) and its check.
pub struct Target {
    pub name: &'static str,
    pub check: fn(&[u8]),
}

/// Every target, in the order `fuzz/Cargo.toml` lists them.
pub const TARGETS: [Target; 6] = [
    Target {
        name: "money",
        check: money,
    },
    Target {
        name: "date",
        check: date,
    },
    Target {
        name: "determination_toml",
        check: determination_toml,
    },
    Target {
        name: "spend_csv",
        check: spend_csv,
    },
    Target {
        name: "envelope",
        check: envelope,
    },
    Target {
        name: "json_bodies",
        check: json_bodies,
    },
];
