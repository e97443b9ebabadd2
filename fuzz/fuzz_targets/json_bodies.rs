//! Every JSON request body of the server, sent through the whole router as a client would
//! (payments, spends, recoveries, reversals, access grants, built-in determinations): any
//! bytes get a 2xx or a 4xx answer, never a 5xx, and every refusal is a problem document
//! whose detail is one sentence. The first input byte picks the endpoint and its caller.
//! The property is written once, in `grant_ledger_fuzz_checks::json_bodies`, which CI also runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| grant_ledger_fuzz_checks::json_bodies(data));
