//! The one date parser: never panics; what it accepts is exactly a YYYY-MM-DD text (less
//! surrounding spaces) of a real day, which prints back as the same text.
//! The property is written once, in `grant_ledger_fuzz_checks::date`, which CI also runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| grant_ledger_fuzz_checks::date(data));
