//! The stored event envelope: decoding arbitrary bytes never panics, and an envelope that
//! decodes re-encodes to the same canonical bytes (and, if its hash matches, to exactly the
//! bytes it came from), so no two byte strings decode to the same event.

use grant_ledger_store::envelope::{decode, encode, event_hash, event_id_of};

pub fn envelope(data: &[u8]) {
    let Ok(env) = decode(data) else {
        return;
    };
    let (bytes, hash) = encode(&env.fields);
    assert_eq!(&bytes[..bytes.len() - 32], env.canonical);
    assert_eq!(hash, event_hash(env.canonical));
    assert_eq!(env.hash_matches(), bytes == data);
    assert_eq!(event_id_of(data), Some(env.fields.event_id));
    if let Ok(recorded) = env.to_recorded() {
        assert_eq!(recorded.payload.get().as_bytes(), env.fields.payload);
        assert_eq!(recorded.position, env.fields.position);
    }
}
