//! What a region's page shows beyond the read models: spend by authority, and the region's
//! payments, recoveries and reversals, folded from the audit trail (the `history` of the
//! typed API). Reading the whole log on every page view would cost a pass over a million
//! events; instead the fold is kept in memory with the position it reflects, and each view
//! first folds only the events committed since. The one full pass is made in the
//! background when the server starts; until it ends, a region page says that this part is
//! still being read rather than keep its reader waiting.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use grant_ledger_domain::{region_slug, Money};
use grant_ledger_projections::{Api, HistoryEntry, HistoryFilter, LedgerError};
use uuid::Uuid;

/// Entries of one kind kept per region for its page; older ones are counted, not kept,
/// so a region with a long history cannot grow the server's memory without bound.
const KEPT: usize = 200;

/// The name spend without an authority is shown under.
pub const NO_AUTHORITY: &str = "Not given";

/// One region of one determination, as its page shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RegionActivity {
    /// Authority -> net spend (spends less reversed spends).
    pub by_authority: BTreeMap<String, Money>,
    /// Newest first, at most [`KEPT`] of each.
    pub payments: Vec<HistoryEntry>,
    pub recoveries: Vec<HistoryEntry>,
    pub reversals: Vec<HistoryEntry>,
}

#[derive(Default)]
struct Folded {
    /// The last position folded.
    position: u64,
    /// (determination, region slug) -> activity.
    regions: HashMap<(String, String), RegionActivity>,
    /// Each spend's authority, so its reversal is taken off the right one.
    spends: HashMap<Uuid, String>,
}

/// The fold, shared by every request.
#[derive(Default)]
pub struct Activity {
    folded: Mutex<Folded>,
    /// True while the first full pass runs.
    warming: AtomicBool,
}

impl Activity {
    /// Folds what was committed since the last call, then answers for one region;
    /// `None` while the first full pass is still running. Blocks on the log: call from a
    /// blocking thread.
    pub fn region(
        &self,
        api: &dyn Api,
        determination: &str,
        region: &str,
    ) -> Result<Option<RegionActivity>, LedgerError> {
        if self.warming.load(Ordering::Acquire) {
            return Ok(None);
        }
        let mut folded = self.folded.lock().map_err(|_| poisoned())?;
        catch_up(&mut folded, api)?;
        Ok(Some(
            folded
                .regions
                .get(&(determination.to_string(), region_slug(region)))
                .cloned()
                .unwrap_or_default(),
        ))
    }

    /// Marks the first full pass as started: until [`Activity::warm`] ends, views do not
    /// wait for it.
    pub fn start_warming(&self) {
        self.warming.store(true, Ordering::Release);
    }

    /// Folds the whole log now (the server calls this once at start).
    pub fn warm(&self, api: &dyn Api) -> Result<(), LedgerError> {
        let result = self
            .folded
            .lock()
            .map_err(|_| poisoned())
            .and_then(|mut folded| catch_up(&mut folded, api));
        self.warming.store(false, Ordering::Release);
        result
    }
}

fn poisoned() -> LedgerError {
    LedgerError::Reported {
        kind: grant_ledger_projections::ErrorKind::Unavailable,
        message:
            "the region activity could not be read after an earlier failure; restart the server"
                .into(),
    }
}

fn catch_up(folded: &mut Folded, api: &dyn Api) -> Result<(), LedgerError> {
    let filter = HistoryFilter {
        after: Some(folded.position),
        ..HistoryFilter::default()
    };
    api.history(&filter, &mut |entry| {
        folded.position = entry.position;
        fold(folded, entry);
        Ok(())
    })
}

fn text<'a>(entry: &'a HistoryEntry, field: &str) -> Option<&'a str> {
    entry.data.get(field).and_then(serde_json::Value::as_str)
}

fn amount(entry: &HistoryEntry) -> Money {
    text(entry, "amount")
        .and_then(|a| Money::parse(a).ok())
        .unwrap_or(Money::ZERO)
}

fn keep(list: &mut Vec<HistoryEntry>, entry: HistoryEntry) {
    list.insert(0, entry);
    list.truncate(KEPT);
}

fn fold(folded: &mut Folded, entry: HistoryEntry) {
    let (Some(determination), Some(region)) =
        (text(&entry, "determination"), text(&entry, "region"))
    else {
        return;
    };
    let key = (determination.to_string(), region_slug(region));
    match entry.event_type.as_str() {
        "FundsSpent" => {
            let authority = text(&entry, "authority")
                .unwrap_or(NO_AUTHORITY)
                .to_string();
            let spent = amount(&entry);
            let region = folded.regions.entry(key).or_default();
            let total = region
                .by_authority
                .entry(authority.clone())
                .or_insert(Money::ZERO);
            *total = total.checked_add(spent).unwrap_or(Money::MAX);
            folded.spends.insert(entry.event_id, authority);
        }
        "PaymentIssued" => keep(&mut folded.regions.entry(key).or_default().payments, entry),
        "GrantRecovered" => keep(
            &mut folded.regions.entry(key).or_default().recoveries,
            entry,
        ),
        "EventReversed" => {
            let reversed_spend = text(&entry, "reversed_type") == Some("FundsSpent");
            let reversed_id =
                text(&entry, "reversed_event_id").and_then(|id| id.parse::<Uuid>().ok());
            let undone = amount(&entry);
            let authority = reversed_id.and_then(|id| folded.spends.remove(&id));
            let region = folded.regions.entry(key).or_default();
            if let (true, Some(authority)) = (reversed_spend, authority) {
                if let Some(total) = region.by_authority.get_mut(&authority) {
                    *total = total.checked_sub(undone).unwrap_or(Money::ZERO);
                }
            }
            keep(&mut region.reversals, entry);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, Utc};

    fn entry(position: u64, id: Uuid, kind: &str, data: serde_json::Value) -> HistoryEntry {
        HistoryEntry {
            position,
            event_id: id,
            event_type: kind.into(),
            stream: "s".into(),
            version: position,
            recorded_at: Utc::now(),
            actor: "a".into(),
            key: None,
            effective_date: NaiveDate::from_ymd_opt(2024, 9, 1).unwrap_or_default(),
            data,
            hash: String::new(),
        }
    }

    fn spend(id: Uuid, authority: &str, amount: &str) -> HistoryEntry {
        entry(
            1,
            id,
            "FundsSpent",
            serde_json::json!({
                "determination": "31/7421", "region": "South West",
                "authority": authority, "amount": amount,
            }),
        )
    }

    fn region(folded: &Folded) -> RegionActivity {
        folded
            .regions
            .get(&("31/7421".to_string(), "south-west".to_string()))
            .cloned()
            .unwrap_or_default()
    }

    #[test]
    fn spend_is_summed_by_authority() {
        let mut folded = Folded::default();
        fold(&mut folded, spend(Uuid::now_v7(), "Bristol", "100.00"));
        fold(&mut folded, spend(Uuid::now_v7(), "Bristol", "50.00"));
        fold(&mut folded, spend(Uuid::now_v7(), "Devon", "5.00"));
        let by = region(&folded).by_authority;
        assert_eq!(
            by.get("Bristol").map(|m| m.to_string()),
            Some("£150.00".into())
        );
        assert_eq!(by.get("Devon").map(|m| m.to_string()), Some("£5.00".into()));
    }

    #[test]
    fn a_reversed_spend_is_taken_off_its_authority() {
        let mut folded = Folded::default();
        let id = Uuid::now_v7();
        fold(&mut folded, spend(id, "Bristol", "100.00"));
        fold(
            &mut folded,
            entry(
                2,
                Uuid::now_v7(),
                "EventReversed",
                serde_json::json!({
                    "determination": "31/7421", "region": "South West", "amount": "100.00",
                    "reversed_type": "FundsSpent", "reversed_event_id": id.to_string(),
                }),
            ),
        );
        let r = region(&folded);
        assert_eq!(r.by_authority.get("Bristol").copied(), Some(Money::ZERO));
        assert_eq!(r.reversals.len(), 1);
    }

    #[test]
    fn a_view_during_the_first_pass_does_not_wait_for_it() {
        let activity = Activity::default();
        activity.start_warming();
        let ledger = std::sync::Arc::new(
            grant_ledger_projections::Ledger::with_store(grant_ledger_store::MemoryStore::new(
                std::sync::Arc::new(grant_ledger_store::SystemClock),
            ))
            .ok(),
        );
        let Some(ledger) = std::sync::Arc::into_inner(ledger).flatten() else {
            return;
        };
        let session = grant_ledger_projections::Session::new(
            std::sync::Arc::new(ledger),
            grant_ledger_projections::Caller::owner("t"),
        );
        assert_eq!(
            activity.region(&session, "31/7421", "London").ok(),
            Some(None)
        );
        assert!(activity.warm(&session).is_ok());
        assert!(matches!(
            activity.region(&session, "31/7421", "London"),
            Ok(Some(_))
        ));
    }

    #[test]
    fn payments_are_kept_newest_first() {
        let mut folded = Folded::default();
        for p in 1..=3 {
            fold(
                &mut folded,
                entry(
                    p,
                    Uuid::now_v7(),
                    "PaymentIssued",
                    serde_json::json!({
                        "determination": "31/7421", "region": "South West", "amount": "1.00",
                    }),
                ),
            );
        }
        let positions: Vec<u64> = region(&folded)
            .payments
            .iter()
            .map(|e| e.position)
            .collect();
        assert_eq!(positions, vec![3, 2, 1]);
    }
}
