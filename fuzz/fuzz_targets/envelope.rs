//! The stored event envelope: decoding arbitrary bytes never panics, and an envelope that
//! decodes re-encodes to the same canonical bytes (and, if its hash matches, to exactly the
//! bytes it came from), so no two byte strings decode to the same event.
//! The property is written once, in `grant_ledger_fuzz_checks::envelope`, which CI also runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| grant_ledger_fuzz_checks::envelope(data));
