//! `verify`'s check of the event-id index (see `Backend::misindexed_id`): every event's id
//! must lead to its position, through an extent or a per-event entry, as
//! `event_id_position` would look it up.

use uuid::Uuid;

use grant_ledger_store::StoreError;

use crate::id_extents::IdExtent;
use crate::layout::be_u64;
use crate::sled_backend::SledBackend;

pub(crate) fn misindexed_id(
    b: &SledBackend,
    events: &[(Uuid, u64)],
) -> Result<Option<u64>, StoreError> {
    // An id in an extent is found by a binary search over the extent's envelopes, which
    // finds every one of them exactly when the extent covers its id and position and
    // the ids rise along it: checked here event by event against the one before (the
    // caller repeats the last of its previous call first), with one extent read per
    // extent rather than a search per id. Other ids need their per-event entry.
    let mut extent: Option<IdExtent> = None;
    let mut before: Option<(Uuid, u64)> = None;
    for &(id, position) in events {
        let holds = |e: &IdExtent| {
            e.covers(id) && position >= e.first_position && position - e.first_position < e.count
        };
        if !extent.as_ref().is_some_and(holds) {
            extent = match b.event_id_extents.range(..=*id.as_bytes()).next_back() {
                Some(item) => Some(b.id_extent(item)?),
                None => None,
            };
        }
        let in_extent = match &extent {
            Some(e) if holds(e) => match before {
                Some((prev_id, prev)) if prev + 1 == position && prev >= e.first_position => {
                    prev_id < id
                }
                _ => true,
            },
            _ => false,
        };
        before = Some((id, position));
        if in_extent {
            continue;
        }
        let single = match b.sled(b.event_ids.get(id.as_bytes()))? {
            Some(v) => Some(be_u64(&v, "event id index entry")?),
            None => None,
        };
        if single != Some(position) {
            return Ok(Some(position));
        }
    }
    Ok(None)
}
