//! Conversions between the store's values and the database's columns.

use grant_ledger_store::{Appended, Head, KeyEntry, KeyRecord, StoreError};
use postgres::Row;
use uuid::Uuid;

use crate::error::corrupt;

/// A position, version or checkpoint as a bigint. Beyond `i64::MAX` is refused, not wrapped.
pub(crate) fn to_i64(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v)
        .map_err(|_| StoreError::invalid(format!("{v} is beyond what the database stores")))
}

pub(crate) fn to_u64(v: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| corrupt(&format!("a negative {what}")))
}

pub(crate) fn hash32(bytes: &[u8], what: &str) -> Result<[u8; 32], StoreError> {
    bytes
        .try_into()
        .map_err(|_| corrupt(&format!("a {what} of {} bytes, not 32", bytes.len())))
}

/// Reads column `i` of `row`, a type mismatch being damage to the schema.
pub(crate) fn get<'a, T: postgres::types::FromSql<'a>>(
    row: &'a Row,
    i: usize,
    what: &str,
) -> Result<T, StoreError> {
    row.try_get(i)
        .map_err(|_| corrupt(&format!("a {what} column of an unexpected type")))
}

pub(crate) fn head(row: &Row) -> Result<Head, StoreError> {
    let position: i64 = get(row, 0, "head position")?;
    let hash: &[u8] = get(row, 1, "head hash")?;
    Ok(Head {
        position: to_u64(position, "head position")?,
        hash: hash32(hash, "head hash")?,
    })
}

/// The JSON of a whole append's streams: `[["stream", version], ...]`.
pub(crate) fn streams_json(streams: &[(String, u64)]) -> Result<String, StoreError> {
    serde_json::to_string(streams)
        .map_err(|e| StoreError::invalid(format!("cannot encode a key record: {e}")))
}

/// A row of `idempotency_keys` (key, fingerprint, event_id, first, last, streams).
pub(crate) fn key_entry(row: &Row) -> Result<KeyEntry, StoreError> {
    let fingerprint = hash32(get(row, 1, "key fingerprint")?, "key fingerprint")?;
    let event_id: Option<Uuid> = get(row, 2, "key event id")?;
    let first = to_u64(get(row, 3, "key position")?, "key position")?;
    let last = to_u64(get(row, 4, "key position")?, "key position")?;
    match event_id {
        Some(event_id) => Ok(KeyEntry::Event {
            position: first,
            event_id,
            fingerprint,
        }),
        None => {
            let text: Option<&str> = get(row, 5, "key streams")?;
            let streams: Vec<(String, u64)> = serde_json::from_str(text.unwrap_or("[]"))
                .map_err(|_| corrupt("a key record whose streams are not JSON"))?;
            Ok(KeyEntry::Append(KeyRecord {
                fingerprint,
                appended: Appended {
                    first_position: first,
                    last_position: last,
                    streams,
                },
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_beyond_a_bigint_is_refused_not_wrapped() {
        assert!(to_i64(u64::MAX).is_err());
        assert_eq!(to_i64(7).unwrap(), 7);
    }

    #[test]
    fn a_negative_stored_position_is_damage() {
        let err = to_u64(-1, "position").unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    }

    #[test]
    fn a_hash_must_be_32_bytes() {
        assert!(hash32(&[0; 31], "hash").is_err());
        assert_eq!(hash32(&[1; 32], "hash").unwrap(), [1; 32]);
    }

    #[test]
    fn streams_round_trip_as_json_pairs() {
        let s = streams_json(&[("a".into(), 2)]).unwrap();
        assert_eq!(s, r#"[["a",2]]"#);
    }
}
