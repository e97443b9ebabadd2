//! Finding what a request names: an event by id or position, a determination by id, a
//! region by any of the ways a user may write it; each unknown name refused in one sentence
//! that lists what the ledger does hold.

use grant_ledger_domain::{
    check, echo, region_matches, region_slug, Determination, EventType, FormulaCheck,
};
use grant_ledger_store::{EventStore, RecordedEvent};
use uuid::Uuid;

use super::Ledger;
use crate::error::LedgerError;
use crate::rows::{HistoryEntry, HistoryFilter};

impl<S: EventStore> Ledger<S> {
    /// Refuses a region slug no determination in the ledger has.
    pub(crate) fn known_region_slug(&self, slug: &str) -> Result<(), LedgerError> {
        let snapshot = self.snapshot();
        let mut slugs: Vec<String> = snapshot
            .states
            .values()
            .filter_map(|s| s.determination.as_ref())
            .flat_map(|d| d.allocations.iter().map(|a| region_slug(&a.region)))
            .collect();
        if slugs.iter().any(|s| s == slug) {
            return Ok(());
        }
        slugs.sort_unstable();
        slugs.dedup();
        let known = if slugs.is_empty() {
            "the ledger holds no determination yet, so no region can be named".to_string()
        } else {
            format!("the ledger's regions are {}", slugs.join(", "))
        };
        Err(LedgerError::refused(format!(
            "no determination has a region \"{}\"; {known}",
            echo(slug)
        )))
    }

    /// The event named by `target`: an event id, or a log position.
    pub(crate) fn find_event(&self, target: &str) -> Result<RecordedEvent, LedgerError> {
        let text = target.trim();
        if let Ok(id) = Uuid::parse_str(text) {
            return self
                .store
                .event_by_id(id)?
                .ok_or_else(|| LedgerError::not_found(format!("there is no event with id {id}")));
        }
        match text.parse::<u64>() {
            Ok(position) if position > 0 => self.store.event_at(position)?.ok_or_else(|| {
                LedgerError::not_found(format!("there is no event at position {position}"))
            }),
            _ => Err(LedgerError::malformed(format!(
                "\"{}\" is neither an event id nor a position",
                echo(text)
            ))),
        }
    }

    /// The `DeterminationMade` event of determination `id`, if it is in the ledger.
    pub fn determination_made(&self, id: &str) -> Result<Option<HistoryEntry>, LedgerError> {
        let filter = HistoryFilter {
            event_type: Some(EventType::DeterminationMade.as_str().to_string()),
            ..HistoryFilter::default()
        };
        let mut found = None;
        self.history(&filter, &mut |entry: HistoryEntry| {
            let this = entry
                .data
                .get("determination")
                .and_then(|d| d.get("id"))
                .and_then(serde_json::Value::as_str)
                == Some(id);
            if this && found.is_none() {
                found = Some(entry);
            }
            Ok(())
        })?;
        Ok(found)
    }

    /// Every determination, by id.
    pub fn determinations(&self) -> Result<Vec<Determination>, LedgerError> {
        Ok(self
            .snapshot()
            .states
            .values()
            .filter_map(|s| s.determination.clone())
            .collect())
    }

    /// Every determination as `determination list` shows it, by id.
    pub fn summaries(&self) -> Vec<crate::rows::DeterminationSummary> {
        self.snapshot()
            .states
            .values()
            .filter_map(|s| crate::rows::DeterminationSummary::of(s))
            .collect()
    }

    /// One determination with its withdrawal and variations; an unknown id is refused.
    pub fn determination_record(
        &self,
        id: &str,
    ) -> Result<crate::rows::DeterminationRecord, LedgerError> {
        let id = id.trim();
        let snapshot = self.snapshot();
        let state = snapshot.states.get(id);
        let determination = state
            .and_then(|s| s.determination.clone())
            .ok_or_else(|| LedgerError::refused(format!("unknown determination {}", echo(id))))?;
        Ok(crate::rows::DeterminationRecord {
            determination,
            withdrawn: state.and_then(|s| s.withdrawn.clone()),
            variations: state.map(|s| s.variations.clone()).unwrap_or_default(),
        })
    }

    /// One determination; an unknown id is refused.
    pub fn determination(&self, id: &str) -> Result<Determination, LedgerError> {
        let id = id.trim();
        self.snapshot()
            .states
            .get(id)
            .and_then(|s| s.determination.clone())
            .ok_or_else(|| LedgerError::refused(format!("unknown determination {}", echo(id))))
    }

    /// The formula check of a determination.
    pub fn check(&self, id: &str) -> Result<FormulaCheck, LedgerError> {
        Ok(check(&self.determination(id)?))
    }

    /// Resolves a region query to canonical names: within one determination if given, else
    /// across all. Unknown is a refusal naming it.
    pub(crate) fn resolve_region(
        &self,
        determination: Option<&str>,
        region: &str,
    ) -> Result<String, LedgerError> {
        let models = self.snapshot();
        let determinations: Vec<_> = models
            .states
            .iter()
            .filter(|(id, _)| determination.map_or(true, |d| d == id.as_str()))
            .filter_map(|(_, s)| s.determination.as_ref())
            .collect();
        let mut known: Vec<&str> = determinations
            .iter()
            .flat_map(|d| d.allocations.iter())
            .map(|a| a.region.as_str())
            .collect();
        if let Some(name) = known.iter().find(|name| region_matches(name, region)) {
            return Ok(name.to_string());
        }
        // Worded as the domain words it for a recording command, so a user sees one
        // message for one mistake whichever command they typed.
        known.sort_unstable();
        known.dedup();
        let within = determination.map_or(String::new(), |d| format!(" in determination {d}"));
        let listed = match (known.is_empty(), determination) {
            (true, _) => "the ledger holds no determination yet".to_string(),
            (false, Some(_)) => format!("its regions are {}", known.join(", ")),
            (false, None) => format!("the ledger's regions are {}", known.join(", ")),
        };
        Err(LedgerError::refused(format!(
            "unknown region \"{}\"{within}; {listed}",
            echo(region.trim())
        )))
    }

    pub(crate) fn known_determination(
        &self,
        id: Option<&str>,
    ) -> Result<Option<String>, LedgerError> {
        match id {
            None => Ok(None),
            Some(id) => Ok(Some(self.determination(id)?.id)),
        }
    }
}
