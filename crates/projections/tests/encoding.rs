//! The stored encoding of a determination without a schedule is what it always was: the
//! built-in 31/7421's `DeterminationMade` payload, and the envelope (and so the hash) it is
//! stored in, byte for byte as before instalment schedules existed.

use chrono::{TimeZone, Utc};
use grant_ledger_domain::{builtin, DeterminationMade, EventData};
use grant_ledger_store::envelope::{encode, Fields};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// SHA-256 of the payload, and the envelope hash, as written before schedules existed
/// (computed with the code of commit 3f0be1e).
const PAYLOAD_SHA256: &str = "c6bef9c9efe5a7badf9d837a0945d91a55b99b680060fd39ecb71eb9a6217e91";
const ENVELOPE_HASH: &str = "60381a845b0f43e7e7d64b396b494ae1b5efca5c41ae63484016e23c394e85fa";

#[test]
fn the_builtin_determination_encodes_and_hashes_as_it_always_did() {
    let determination = builtin("31/7421").unwrap().unwrap();
    let data = EventData::DeterminationMade(DeterminationMade { determination });
    let payload = data.to_payload();
    assert_eq!(hex::encode(Sha256::digest(&payload)), PAYLOAD_SHA256);
    let (_, hash) = encode(&Fields {
        position: 1,
        event_id: Uuid::from_u128(0x0191_0000_0000_7000_8000_0000_0000_0001),
        stream: "determination/31/7421",
        stream_version: 1,
        event_type: "DeterminationMade",
        schema_version: 1,
        recorded_at: Utc.with_ymd_and_hms(2024, 8, 16, 9, 0, 0).unwrap(),
        actor: "finance",
        key: None,
        payload: &payload,
        prev_hash: [0; 32],
    });
    assert_eq!(hex::encode(hash), ENVELOPE_HASH);
    // And it reads back to the same bytes.
    let read = EventData::from_payload("DeterminationMade", 1, &payload).unwrap();
    assert_eq!(read.to_payload(), payload);
}
