//! The determination file (TOML): never panics; a refusal is one sentence; an accepted
//! determination survives the JSON it is stored as in the log, and its formula check runs.
//! The property is written once, in `grant_ledger_fuzz_checks::determination_toml`, which CI also runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| grant_ledger_fuzz_checks::determination_toml(data));
