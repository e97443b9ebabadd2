//! Signed checkpoints, in the manner of a transparency log's signed tree head: a
//! [`Receipt`] says "this ledger's head was position P with hash H at time T", signed with
//! the ledger's Ed25519 key, so that anyone can keep it outside the ledger and later prove
//! that the ledger still extends it (`verify --against`), or check its signature with no
//! ledger at all (`checkpoint verify`).
//!
//! The signed bytes are a fixed, versioned text (see [`signed_text`] and
//! docs/storage.md), so an auditor can check a receipt with any Ed25519 tool. This module
//! owns the format, the cryptography and `Ledger::checkpoint`; where the key is kept is the
//! binary's business.

use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use grant_ledger_store::EventStore;

use crate::error::LedgerError;
use crate::ledger::Ledger;

/// The first line of the signed text and the `format` of a receipt.
pub const RECEIPT_FORMAT: &str = "grant-ledger checkpoint v1";

/// The first line of a signing key file.
const KEY_FILE_HEADER: &str = "grant-ledger signing key v1";

/// The exact bytes a receipt's signature covers: four lines, each ending in `\n`:
/// the format, the position in decimal, the head hash in lower-case hex, and the time.
pub fn signed_text(position: u64, head_hash: &str, time: &str) -> String {
    format!("{RECEIPT_FORMAT}\n{position}\n{head_hash}\n{time}\n")
}

/// A signed checkpoint, as `grant-ledger checkpoint` prints it and `GET
/// /api/v1/checkpoint` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// Always [`RECEIPT_FORMAT`].
    pub format: String,
    /// The head position signed (at least 1).
    pub position: u64,
    /// The hash of the event at `position`, 64 lower-case hex digits.
    pub head_hash: String,
    /// When the receipt was signed, RFC 3339 in UTC to the second (`2024-08-23T10:00:00Z`).
    pub time: String,
    /// The first 16 hex digits of the SHA-256 of the public key.
    pub public_key_id: String,
    /// The Ed25519 public key, 64 hex digits.
    pub public_key: String,
    /// The Ed25519 signature of [`signed_text`], 128 hex digits.
    pub signature: String,
}

impl Receipt {
    /// Reads a receipt from its JSON; the error is a sentence without the file's name.
    pub fn parse(json: &str) -> Result<Receipt, String> {
        let receipt = Receipt::fields(json)?;
        if receipt.format != RECEIPT_FORMAT {
            return Err(format!(
                "has format \"{}\", not \"{RECEIPT_FORMAT}\"",
                grant_ledger_domain::echo(&receipt.format)
            ));
        }
        if receipt.position == 0 {
            return Err("has position 0; a checkpoint is of position 1 or later".to_string());
        }
        hex_bytes::<32>("head_hash", &receipt.head_hash)?;
        if receipt.head_hash != receipt.head_hash.to_ascii_lowercase() {
            return Err("has a head_hash in upper case; receipts are lower-case hex".to_string());
        }
        DateTime::parse_from_rfc3339(&receipt.time).map_err(|_| {
            format!(
                "has time \"{}\", which is not an RFC 3339 time",
                grant_ledger_domain::echo(&receipt.time)
            )
        })?;
        hex_bytes::<64>("signature", &receipt.signature)?;
        let key = PublicKey::parse(&receipt.public_key)?;
        if receipt.public_key_id != key.id() || receipt.public_key != key.hex() {
            return Err(format!(
                "has public_key_id \"{}\", which is not the id of its public_key ({})",
                grant_ledger_domain::echo(&receipt.public_key_id),
                key.id()
            ));
        }
        Ok(receipt)
    }

    /// The receipt's fields, each of its kind, worded in our own terms rather than the JSON
    /// library's ("invalid value: integer `-1`, expected u64" says nothing to an auditor).
    fn fields(json: &str) -> Result<Receipt, String> {
        let value: serde_json::Value = serde_json::from_str(json)
            .map_err(|_| "is not a checkpoint receipt (it is not JSON)".to_string())?;
        let Some(object) = value.as_object() else {
            return Err("is not a checkpoint receipt (it is not a JSON object)".to_string());
        };
        let text = |field: &str| -> Result<String, String> {
            match object.get(field) {
                None => Err(format!("has no {field}")),
                Some(serde_json::Value::String(t)) => Ok(t.clone()),
                Some(_) => Err(format!("has a {field} that is not a string")),
            }
        };
        let position = match object.get("position") {
            None => return Err("has no position".to_string()),
            Some(p) => p
                .as_u64()
                .ok_or("has a position that is not a whole number of 1 or more")?,
        };
        Ok(Receipt {
            format: text("format")?,
            position,
            head_hash: text("head_hash")?,
            time: text("time")?,
            public_key_id: text("public_key_id")?,
            public_key: text("public_key")?,
            signature: text("signature")?,
        })
    }

    /// The text this receipt's signature covers.
    pub fn signed_text(&self) -> String {
        signed_text(self.position, &self.head_hash, &self.time)
    }

    /// Whether `key` signed this receipt's position, hash and time.
    pub fn signed_by(&self, key: &PublicKey) -> bool {
        let Ok(bytes) = hex_bytes::<64>("signature", &self.signature) else {
            return false;
        };
        key.0
            .verify(
                self.signed_text().as_bytes(),
                &Signature::from_bytes(&bytes),
            )
            .is_ok()
    }
}

/// An Ed25519 public key that receipts are checked with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// From 64 hex digits; the error is a sentence fragment (`is not ...`).
    pub fn parse(text: &str) -> Result<PublicKey, String> {
        let bytes = hex_bytes::<32>("public_key", text.trim())?;
        VerifyingKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|_| "has a public_key that is not an Ed25519 public key".to_string())
    }

    /// 64 lower-case hex digits.
    pub fn hex(&self) -> String {
        hex::encode(self.0.as_bytes())
    }

    /// The first 16 hex digits of the SHA-256 of the key's 32 bytes.
    pub fn id(&self) -> String {
        hex::encode(&Sha256::digest(self.0.as_bytes())[..8])
    }
}

/// The ledger's signing key.
pub struct Signer(SigningKey);

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        write!(f, "Signer({})", self.public_key().id())
    }
}

impl Signer {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<Signer, LedgerError> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).map_err(|e| LedgerError::Reported {
            kind: crate::ErrorKind::Unavailable,
            message: format!("the operating system gave no random bytes for a signing key: {e}"),
        })?;
        Ok(Signer(SigningKey::from_bytes(&seed)))
    }

    /// A key from the text of a key file ([`Signer::to_file_text`]); the error is a sentence
    /// fragment (`is not ...`).
    pub fn from_file_text(text: &str) -> Result<Signer, String> {
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        if lines.next() != Some(KEY_FILE_HEADER) {
            return Err(format!(
                "is not a grant-ledger signing key (its first line is not \"{KEY_FILE_HEADER}\")"
            ));
        }
        let seed = lines
            .next()
            .ok_or_else(|| "holds no key after its first line".to_string())?;
        let seed = hex_bytes::<32>("key", seed)
            .map_err(|_| "does not hold a key of 64 hex digits".to_string())?;
        Ok(Signer(SigningKey::from_bytes(&seed)))
    }

    /// What a key file holds: a header line and the 32-byte secret seed in hex.
    pub fn to_file_text(&self) -> String {
        format!("{KEY_FILE_HEADER}\n{}\n", hex::encode(self.0.to_bytes()))
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Signs `position` with `hash` at `now` (kept to the second).
    pub fn sign(&self, position: u64, hash: &[u8; 32], now: DateTime<Utc>) -> Receipt {
        let head_hash = hex::encode(hash);
        let time = now.to_rfc3339_opts(SecondsFormat::Secs, true);
        let signature = self
            .0
            .sign(signed_text(position, &head_hash, &time).as_bytes());
        let public_key = self.public_key();
        Receipt {
            format: RECEIPT_FORMAT.to_string(),
            position,
            head_hash,
            time,
            public_key_id: public_key.id(),
            public_key: public_key.hex(),
            signature: hex::encode(signature.to_bytes()),
        }
    }
}

impl<S: EventStore> Ledger<S> {
    /// The public key of this ledger's signing key, if it has one.
    pub fn public_key(&self) -> Option<PublicKey> {
        self.signer.as_ref().map(Signer::public_key)
    }

    /// A receipt for the committed head, signed at `now`. It records nothing: a checkpoint
    /// is a statement about the log, and an event would move the head past what it signs.
    /// The head is signed only if the event stored at its position has its hash.
    pub fn checkpoint(&self, now: DateTime<Utc>) -> Result<Receipt, LedgerError> {
        let signer = self.signer.as_ref().ok_or_else(|| LedgerError::Reported {
            kind: crate::ErrorKind::Unavailable,
            message: "this ledger has no signing key, so it can neither sign a checkpoint nor prove one (a ledger directory keeps its key in signing.key; a ledger in PostgreSQL needs --signing-key FILE or GRANT_LEDGER_SIGNING_KEY=FILE, for serve too)".to_string(),
        })?;
        let head = self.store().head()?;
        if head.position == 0 {
            return Err(LedgerError::refused(
                "the ledger holds no event yet, so there is no head to sign",
            ));
        }
        match self.store().event_at(head.position)? {
            Some(event) if event.hash == head.hash => {}
            _ => {
                return Err(LedgerError::corrupt(format!(
                    "the head at position {} does not match the event stored there, so no checkpoint is signed; run grant-ledger verify",
                    head.position
                )))
            }
        }
        Ok(signer.sign(head.position, &head.hash, now))
    }
}

/// Exactly `N` bytes from `2N` hex digits, or why not.
fn hex_bytes<const N: usize>(field: &str, text: &str) -> Result<[u8; N], String> {
    let bytes = hex::decode(text).ok().filter(|b| b.len() == N);
    bytes
        .and_then(|b| <[u8; N]>::try_from(b).ok())
        .ok_or_else(|| format!("has a {field} that is not {} hex digits", 2 * N))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn signer() -> Signer {
        Signer::from_file_text(&format!("{KEY_FILE_HEADER}\n{}\n", "07".repeat(32))).unwrap()
    }

    fn noon() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 8, 23, 12, 0, 0).unwrap()
    }

    #[test]
    fn the_signed_text_is_four_lines_format_position_hash_time() {
        assert_eq!(
            signed_text(12, "ab".repeat(32).as_str(), "2024-08-23T12:00:00Z"),
            format!(
                "grant-ledger checkpoint v1\n12\n{}\n2024-08-23T12:00:00Z\n",
                "ab".repeat(32)
            )
        );
    }

    #[test]
    fn a_receipt_that_does_not_parse_is_refused_in_our_own_words() {
        let good = serde_json::to_value(signer().sign(12, &[0xab; 32], noon())).unwrap();
        let with = |field: &str, value: serde_json::Value| {
            let mut v = good.clone();
            v[field] = value;
            Receipt::parse(&v.to_string()).unwrap_err()
        };
        assert_eq!(
            with("position", (-1).into()),
            "has a position that is not a whole number of 1 or more"
        );
        assert_eq!(with("time", 5.into()), "has a time that is not a string");
        let mut missing = good.clone();
        missing.as_object_mut().unwrap().remove("signature");
        assert_eq!(
            Receipt::parse(&missing.to_string()).unwrap_err(),
            "has no signature"
        );
        assert_eq!(
            Receipt::parse("{").unwrap_err(),
            "is not a checkpoint receipt (it is not JSON)"
        );
        assert_eq!(
            Receipt::parse("[1]").unwrap_err(),
            "is not a checkpoint receipt (it is not a JSON object)"
        );
    }

    #[test]
    fn a_receipt_signs_exactly_the_documented_text() {
        let r = signer().sign(12, &[0xab; 32], noon());
        assert_eq!(r.time, "2024-08-23T12:00:00Z");
        assert_eq!(r.head_hash, "ab".repeat(32));
        let text = format!(
            "grant-ledger checkpoint v1\n12\n{}\n2024-08-23T12:00:00Z\n",
            "ab".repeat(32)
        );
        let key = VerifyingKey::from_bytes(&hex_bytes::<32>("k", &r.public_key).unwrap()).unwrap();
        let sig = Signature::from_bytes(&hex_bytes::<64>("s", &r.signature).unwrap());
        assert!(key.verify(text.as_bytes(), &sig).is_ok());
    }

    #[test]
    fn the_key_id_is_the_first_16_hex_of_the_sha256_of_the_public_key() {
        let key = signer().public_key();
        let digest = hex::encode(Sha256::digest(hex::decode(key.hex()).unwrap()));
        assert_eq!(key.id(), digest[..16]);
        assert_eq!(signer().sign(1, &[0; 32], noon()).public_key_id, key.id());
    }

    #[test]
    fn a_receipt_round_trips_through_its_json() {
        let r = signer().sign(3, &[1; 32], noon());
        let back = Receipt::parse(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        assert!(back.signed_by(&signer().public_key()));
    }

    #[test]
    fn an_edited_field_breaks_the_signature() {
        let key = signer().public_key();
        let r = signer().sign(3, &[1; 32], noon());
        let edits: [fn(&mut Receipt); 3] = [
            |r| r.position += 1,
            |r| r.head_hash = "02".repeat(32),
            |r| r.time = "2024-08-24T12:00:00Z".to_string(),
        ];
        for edit in edits {
            let mut edited = r.clone();
            edit(&mut edited);
            assert!(!edited.signed_by(&key), "{edited:?}");
        }
    }

    #[test]
    fn another_key_does_not_verify() {
        let r = signer().sign(3, &[1; 32], noon());
        let other = Signer::generate().unwrap().public_key();
        assert!(!r.signed_by(&other));
    }

    #[test]
    fn a_malformed_receipt_is_named_for_what_is_wrong() {
        let good = serde_json::to_value(signer().sign(3, &[1; 32], noon())).unwrap();
        let with = |field: &str, value: serde_json::Value| {
            let mut v = good.clone();
            v[field] = value;
            Receipt::parse(&v.to_string()).unwrap_err()
        };
        assert!(with("format", "v2".into()).contains("format"));
        assert!(with("position", 0.into()).contains("position 0"));
        assert!(with("head_hash", "xyz".into()).contains("head_hash"));
        assert!(with("time", "noon".into()).contains("RFC 3339"));
        assert!(with("signature", "00".into()).contains("signature"));
        assert!(with("public_key", "00".into()).contains("public_key"));
        assert!(with("public_key_id", "0000000000000000".into()).contains("not the id"));
        assert!(Receipt::parse("{")
            .unwrap_err()
            .contains("not a checkpoint receipt"));
    }

    #[test]
    fn an_empty_ledger_has_no_head_to_sign_and_a_ledger_without_a_key_signs_nothing() {
        use grant_ledger_store::{FixedClock, MemoryStore};
        let store = || MemoryStore::new(std::sync::Arc::new(FixedClock::new(noon())));
        let keyed = crate::Ledger::with_store(store())
            .unwrap()
            .with_signer(signer());
        let e = keyed.checkpoint(noon()).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Refused, "{e}");
        let unkeyed = crate::Ledger::with_store(store()).unwrap();
        let e = unkeyed.checkpoint(noon()).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Unavailable, "{e}");
        assert!(e.to_string().contains("--signing-key"), "{e}");
    }

    #[test]
    fn a_key_file_round_trips_and_anything_else_is_refused() {
        let s = Signer::generate().unwrap();
        let back = Signer::from_file_text(&s.to_file_text()).unwrap();
        assert_eq!(back.public_key(), s.public_key());
        assert!(Signer::from_file_text("hello").is_err());
        assert!(Signer::from_file_text(&format!("{KEY_FILE_HEADER}\nzz\n")).is_err());
        assert!(!format!("{s:?}").contains(&hex::encode(s.0.to_bytes())));
    }
}
