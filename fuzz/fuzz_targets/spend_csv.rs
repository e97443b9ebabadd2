//! The spend import CSV: never panics, stops at the first bad row, and every row or
//! refusal names a line that exists in the input.
//! The property is written once, in `grant_ledger_fuzz_checks::spend_csv`, which CI also runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| grant_ledger_fuzz_checks::spend_csv(data));
