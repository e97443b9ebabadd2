//! Sealed read models: every model the engine stores carries a SHA-256 binding its name,
//! its checkpoint position and the hash of the event at that position (and so the whole
//! chain up to it) to its bytes, checked on every read. A model edited outside the ledger,
//! or left from another log, no longer matches: that is damage of the model, not of the log
//! ([`StoreError::ModelDamaged`]), and a rebuild from the log mends it.
//!
//! Stored form (the backend sees opaque bytes): `MAGIC`, the 32-byte seal, then the model's
//! document. A model written before seals existed has no `MAGIC` (documents are JSON, which
//! never starts with a NUL) and is read as it is; it is sealed when it is next written.

use sha2::{Digest, Sha256};

use super::Engine;
use crate::backend::Backend;
use crate::envelope;
use crate::error::StoreError;

const MAGIC: &[u8; 4] = b"\0GS1";
const SEAL_LEN: usize = 32;

fn seal_of(name: &str, position: u64, event_hash: &[u8; 32], doc: &[u8]) -> [u8; SEAL_LEN] {
    let mut h = Sha256::new();
    h.update(b"grant-ledger model seal v1\n");
    h.update((name.len() as u64).to_be_bytes());
    h.update(name.as_bytes());
    h.update(position.to_be_bytes());
    h.update(event_hash);
    h.update(doc);
    h.finalize().into()
}

/// The stored form of `doc`, sealed to the event at `position` whose hash is `event_hash`.
pub(crate) fn sealed(name: &str, position: u64, event_hash: &[u8; 32], doc: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(MAGIC.len() + SEAL_LEN + doc.len());
    v.extend_from_slice(MAGIC);
    v.extend_from_slice(&seal_of(name, position, event_hash, doc));
    v.extend_from_slice(doc);
    v
}

/// The document of a stored model, once its seal is checked; an unsealed (older) one as is.
pub(crate) fn unsealed(
    name: &str,
    position: u64,
    event_hash: &[u8; 32],
    mut stored: Vec<u8>,
) -> Result<Vec<u8>, StoreError> {
    if !stored.starts_with(MAGIC) {
        return Ok(stored);
    }
    let damaged = || StoreError::ModelDamaged {
        name: name.to_string(),
    };
    let header = MAGIC.len() + SEAL_LEN;
    if stored.len() < header {
        return Err(damaged());
    }
    let doc = stored.split_off(header);
    if stored[MAGIC.len()..] != seal_of(name, position, event_hash, &doc) {
        return Err(damaged());
    }
    Ok(doc)
}

impl<B: Backend> Engine<B> {
    /// The stored hash of the event at `position` (zeros before the first), which a model
    /// checkpointed there is sealed to. A missing or unreadable event seals nothing: the
    /// model read against it will not match.
    pub(crate) fn seal_hash(&self, position: u64) -> Result<[u8; 32], StoreError> {
        if position == 0 {
            return Ok([0; 32]);
        }
        let Some(raw) = self.backend.raw_event(position)? else {
            return Ok([0xff; 32]);
        };
        Ok(envelope::decode(raw.as_ref()).map_or([0xff; 32], |e| e.hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: [u8; 32] = [7; 32];

    #[test]
    fn a_sealed_model_reads_back_whole() {
        let stored = sealed("balances", 9, &HASH, br#"{"a":1}"#);
        assert_eq!(
            unsealed("balances", 9, &HASH, stored).unwrap(),
            br#"{"a":1}"#
        );
    }

    #[test]
    fn a_changed_byte_breaks_the_seal() {
        let mut stored = sealed("balances", 9, &HASH, br#"{"a":1}"#);
        let last = stored.len() - 2;
        stored[last] = b'2';
        let err = unsealed("balances", 9, &HASH, stored).unwrap_err();
        assert!(matches!(err, StoreError::ModelDamaged { .. }), "{err}");
    }

    #[test]
    fn the_seal_binds_the_name_the_position_and_the_event() {
        let stored = sealed("balances", 9, &HASH, b"{}");
        assert!(unsealed("spend", 9, &HASH, stored.clone()).is_err());
        assert!(unsealed("balances", 8, &HASH, stored.clone()).is_err());
        assert!(unsealed("balances", 9, &[8; 32], stored).is_err());
    }

    #[test]
    fn a_model_from_before_seals_is_read_as_it_is() {
        assert_eq!(unsealed("m", 1, &HASH, b"{}".to_vec()).unwrap(), b"{}");
    }

    #[test]
    fn a_truncated_seal_is_damage() {
        assert!(unsealed("m", 1, &HASH, MAGIC.to_vec()).is_err());
    }
}
