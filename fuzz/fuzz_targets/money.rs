//! The one money parser: never panics, and whatever it accepts is a positive amount below
//! the limit that prints (plainly and for people) as text it parses back to the same amount.
//! The property is written once, in `grant_ledger_fuzz_checks::money`, which CI also runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| grant_ledger_fuzz_checks::money(data));
