//! Extents of the event-id index: one entry for a run of events whose ids strictly increase
//! at consecutive positions, instead of one entry per event.
//!
//! Why: the per-event `event_ids` insert was about 30% of an append's time, and new ids
//! (`Uuid::now_v7`, which the uuid crate guarantees to be ordered by creation within a
//! process) nearly always increase, so a staged chunk is usually one run. An extent records
//! the run's first and last id and its positions; an id inside it is found by a binary
//! search over the envelopes' ids (`envelope::event_id_of`, about log2(count) reads).
//!
//! Correctness does not depend on ids increasing: a run that is too short, or whose id range
//! overlaps any existing index entry, is indexed per event as before. The backend keeps two
//! invariants that make a lookup complete:
//! - extents are pairwise disjoint (each is written only if its range overlaps no existing
//!   extent, stale ones included, and extents are never changed, only removed), so the only
//!   extent that can hold an id is the last one starting at or before it;
//! - when an extent is written no per-event entry lies in its range, so a per-event entry
//!   for one of its ids can only appear later for an id that was not live (see the backend).

use uuid::Uuid;

use grant_ledger_store::StoreError;

/// Runs shorter than this are indexed per event: an extent costs a binary search per
/// lookup, which only pays for itself over several events.
pub(crate) const MIN_EXTENT_EVENTS: usize = 8;
/// The longest extent written: bounds a lookup to about 13 envelope reads.
pub(crate) const MAX_EXTENT_EVENTS: usize = 4096;
/// First position `u64`, count `u64`, last id (16 bytes). The first position comes first so
/// that discarding a staged event can tell "this extent starts at me" from 8 bytes.
pub(crate) const EXTENT_VALUE_LEN: usize = 8 + 8 + 16;

/// One extent: ids `first_id < ... < last_id` at positions `first_position ..` (`count`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IdExtent {
    pub first_id: Uuid,
    pub first_position: u64,
    pub count: u64,
    pub last_id: Uuid,
}

impl IdExtent {
    pub(crate) fn value(&self) -> [u8; EXTENT_VALUE_LEN] {
        let mut v = [0u8; EXTENT_VALUE_LEN];
        v[..8].copy_from_slice(&self.first_position.to_be_bytes());
        v[8..16].copy_from_slice(&self.count.to_be_bytes());
        v[16..].copy_from_slice(self.last_id.as_bytes());
        v
    }

    /// Decodes a stored entry, refusing what this code never writes (so a damaged entry is
    /// `Corrupt`, not a wrong answer).
    pub(crate) fn decode(key: &[u8], value: &[u8]) -> Result<Self, StoreError> {
        let bad = |why: &str| StoreError::corrupt(format!("event id extent: {why}"));
        let first_id = Uuid::from_slice(key).map_err(|_| bad("key is not 16 bytes"))?;
        if value.len() != EXTENT_VALUE_LEN {
            return Err(bad(&format!(
                "value is {} bytes, not {EXTENT_VALUE_LEN}",
                value.len()
            )));
        }
        let u64_at = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&value[at..at + 8]);
            u64::from_be_bytes(b)
        };
        let extent = IdExtent {
            first_id,
            first_position: u64_at(0),
            count: u64_at(8),
            last_id: Uuid::from_slice(&value[16..]).map_err(|_| bad("last id"))?,
        };
        if extent.count < 2 || extent.first_position == 0 || extent.last_id <= first_id {
            return Err(bad("empty, at position 0 or with its ids out of order"));
        }
        if extent.first_position.checked_add(extent.count).is_none() {
            return Err(bad("its positions overflow"));
        }
        Ok(extent)
    }

    pub(crate) fn covers(&self, id: Uuid) -> bool {
        self.first_id <= id && id <= self.last_id
    }

    /// Position of `id` if one of this extent's events has it, found by binary search over
    /// the ids that `id_at` reads from the stored envelopes. `None` also when an envelope is
    /// missing or the ids are not in order: that extent is a stale leftover of a discarded
    /// append whose positions were reused, and holds nothing live.
    pub(crate) fn search<E>(
        &self,
        id: Uuid,
        mut id_at: impl FnMut(u64) -> Result<Option<Uuid>, E>,
    ) -> Result<Option<u64>, E> {
        if !self.covers(id) {
            return Ok(None);
        }
        let (mut lo, mut hi) = (0u64, self.count);
        // Halves every round: at most 64 rounds whatever a damaged count says.
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let position = self.first_position + mid;
            let Some(found) = id_at(position)? else {
                return Ok(None);
            };
            match found.cmp(&id) {
                std::cmp::Ordering::Equal => return Ok(Some(position)),
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
            }
        }
        Ok(None)
    }
}

/// Splits a staged chunk into maximal runs of strictly increasing ids at consecutive
/// positions, each at most [`MAX_EXTENT_EVENTS`] long, as `(start index, length)`.
pub(crate) fn runs(ids: &[(Uuid, u64)]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=ids.len() {
        let continues = i < ids.len()
            && i - start < MAX_EXTENT_EVENTS
            && ids[i - 1].0 < ids[i].0
            && ids[i - 1].1.checked_add(1) == Some(ids[i].1);
        if !continues {
            out.push((start, i - start));
            start = i;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn runs_break_at_decreasing_ids_position_gaps_and_the_cap() {
        assert!(runs(&[]).is_empty());
        let ids = [
            (id(1), 10),
            (id(2), 11),
            (id(3), 12),
            (id(2), 13),
            (id(9), 14),
            (id(10), 16),
        ];
        assert_eq!(runs(&ids), vec![(0, 3), (3, 2), (5, 1)]);
        let long: Vec<_> = (0..MAX_EXTENT_EVENTS as u128 + 5)
            .map(|i| (id(i + 1), i as u64 + 1))
            .collect();
        assert_eq!(
            runs(&long),
            vec![(0, MAX_EXTENT_EVENTS), (MAX_EXTENT_EVENTS, 5)]
        );
    }

    #[test]
    fn values_round_trip_and_damage_is_corrupt() {
        let e = IdExtent {
            first_id: id(5),
            first_position: 7,
            count: 3,
            last_id: id(9),
        };
        assert_eq!(
            IdExtent::decode(e.first_id.as_bytes(), &e.value()).unwrap(),
            e
        );
        assert!(IdExtent::decode(&[0; 15], &e.value()).is_err());
        assert!(IdExtent::decode(e.first_id.as_bytes(), &e.value()[..31]).is_err());
        for bad in [
            IdExtent { count: 1, ..e },
            IdExtent {
                first_position: 0,
                ..e
            },
            IdExtent {
                last_id: id(5),
                ..e
            },
            IdExtent {
                first_position: u64::MAX,
                ..e
            },
        ] {
            let err = IdExtent::decode(bad.first_id.as_bytes(), &bad.value()).unwrap_err();
            assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
        }
    }

    #[test]
    fn search_finds_every_member_and_nothing_else() {
        // Ids 10, 20, ..., 1000 at positions 101..=200.
        let e = IdExtent {
            first_id: id(10),
            first_position: 101,
            count: 100,
            last_id: id(1000),
        };
        let stored =
            |p: u64| Ok::<_, ()>((101..=200).contains(&p).then(|| id((p as u128 - 100) * 10)));
        for k in 1..=100u128 {
            assert_eq!(e.search(id(k * 10), stored), Ok(Some(100 + k as u64)));
            assert_eq!(e.search(id(k * 10 + 1), stored), Ok(None));
        }
        assert_eq!(e.search(id(5), stored), Ok(None));
        let mut reads = 0;
        e.search(id(730), |p| {
            reads += 1;
            stored(p)
        })
        .unwrap();
        assert!(reads <= 8, "{reads} reads for 100 events");
        // Missing envelopes (a stale extent) find nothing rather than fail.
        assert_eq!(e.search(id(500), |_| Ok::<_, ()>(None)), Ok(None));
    }
}
