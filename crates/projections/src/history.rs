//! The audit trail as `history` streams it: which events a [`HistoryFilter`] keeps, and
//! the two orders it reads the log in (oldest first in one pass; newest first in pages
//! read backwards), each holding at most one page, whatever the log's length.

use grant_ledger_domain::{region_matches, region_slug, stream_for, suggestion, EventData};
use grant_ledger_store::{EventStore, RecordedEvent};

use crate::codec::{decode, history_entry, Logged};
use crate::error::LedgerError;
use crate::ledger::Ledger;
use crate::rows::{HistoryEntry, HistoryFilter};

/// How many events the newest-first order reads (forwards, then hands out backwards) at a
/// time: its memory is one such page, never the log.
const BACKWARD_PAGE: u64 = 1_000;

impl<S: EventStore> Ledger<S> {
    /// Streams the audit trail, filtered: oldest first, or with `newest_first` from the
    /// head down (`after` then keeps the positions *below* it, the ones that follow it in
    /// that order, so the last position of a page is the next page's `after` either way).
    /// Costs one pass over the log (up to the limit-th match), decoding every event; there
    /// is no index.
    pub fn history(
        &self,
        filter: &HistoryFilter,
        each: &mut dyn FnMut(HistoryEntry) -> Result<(), LedgerError>,
    ) -> Result<(), LedgerError> {
        let wanted = self.resolve(filter)?;
        if filter.limit == Some(0) {
            return Ok(());
        }
        let mut emitted = 0usize;
        let mut hand_out = |rec: &RecordedEvent| -> Result<bool, LedgerError> {
            let event = decode(rec)?;
            if wanted.keeps(rec, &event) {
                each(history_entry(rec, &event)?)?;
                emitted += 1;
            }
            Ok(filter.limit.is_some_and(|limit| emitted >= limit))
        };
        if filter.newest_first {
            let head = self.store().head()?.position;
            let mut top = filter
                .after
                .map_or(head, |after| after.saturating_sub(1).min(head));
            while top > 0 {
                let bottom = top.saturating_sub(BACKWARD_PAGE - 1).max(1);
                let page = self
                    .store()
                    .read_all(bottom)
                    .take(usize::try_from(top - bottom + 1).unwrap_or(usize::MAX))
                    .collect::<Result<Vec<_>, _>>()?;
                for rec in page.iter().rev() {
                    if hand_out(rec)? {
                        return Ok(());
                    }
                }
                top = bottom - 1;
            }
        } else {
            let from = filter.after.map_or(1, |after| after.saturating_add(1));
            for rec in self.store().read_all(from) {
                if hand_out(&rec?)? {
                    break;
                }
            }
        }
        Ok(())
    }

    /// The filter with its names checked against the ledger and made canonical, so a typo
    /// is refused in one sentence rather than answered with an empty trail.
    fn resolve(&self, filter: &HistoryFilter) -> Result<Wanted, LedgerError> {
        let determination = self.known_determination(filter.determination.as_deref())?;
        let region = filter
            .region
            .as_deref()
            .map(|r| self.resolve_region(determination.as_deref(), r))
            .transpose()?;
        let models = self.snapshot();
        let determinations: Vec<_> = models
            .states
            .iter()
            .filter(|(id, _)| determination.as_deref().map_or(true, |d| d == id.as_str()))
            .filter_map(|(_, s)| s.determination.as_ref())
            .collect();
        let within = determination
            .as_deref()
            .map_or(String::new(), |d| format!(" in determination {d}"));
        let purpose = match filter.purpose.as_deref() {
            None => None,
            Some(query) => Some(
                determinations
                    .iter()
                    .find_map(|d| d.purpose(query))
                    .map(|c| c.purpose.clone())
                    .ok_or_else(|| {
                        LedgerError::refused(format!(
                            "no determination{within} has a purpose \"{}\"",
                            grant_ledger_domain::echo(query)
                        ))
                    })?,
            ),
        };
        let authority = match filter.authority.as_deref() {
            None => None,
            Some(query) => {
                let allocations: Vec<_> = determinations
                    .iter()
                    .flat_map(|d| d.allocations.iter())
                    .filter(|a| region.as_deref().map_or(true, |r| a.region == r))
                    .collect();
                let found = allocations.iter().find_map(|a| {
                    a.authority(query).or_else(|| {
                        let lead = a.lead_authority.as_str();
                        region_matches(lead, query).then_some(lead)
                    })
                });
                match found {
                    Some(name) => Some(name.to_string()),
                    None => {
                        let names: Vec<String> = allocations
                            .iter()
                            .flat_map(|a| a.authorities.iter().cloned())
                            .collect();
                        let of = region
                            .as_deref()
                            .map_or(String::new(), |r| format!(" of {r}"));
                        return Err(LedgerError::refused(format!(
                            "\"{}\" is not an authority{of}{within}; {}",
                            grant_ledger_domain::echo(query),
                            suggestion(query, &names, determination.as_deref().unwrap_or("ID"))
                        )));
                    }
                }
            }
        };
        Ok(Wanted {
            models: std::sync::Arc::clone(&models),
            filter: filter.clone(),
            stream: determination.as_deref().map(stream_for),
            region,
            purpose,
            authority,
        })
    }
}

/// A filter whose names are the ledger's own.
struct Wanted {
    /// The determinations a withdrawal (which names no region) is looked up in.
    models: std::sync::Arc<crate::projection::Projections>,
    filter: HistoryFilter,
    stream: Option<String>,
    region: Option<String>,
    purpose: Option<String>,
    authority: Option<String>,
}

impl Wanted {
    fn keeps(&self, rec: &RecordedEvent, event: &Logged) -> bool {
        let f = &self.filter;
        if f.recorded_by
            .as_deref()
            .is_some_and(|who| !who.trim().eq_ignore_ascii_case(rec.actor.trim()))
            || f.event_type.as_deref().is_some_and(|t| t != rec.event_type)
            || f.key
                .as_deref()
                .is_some_and(|k| rec.key.as_deref() != Some(k))
            || self.stream.as_deref().is_some_and(|s| s != rec.stream)
        {
            return false;
        }
        let date = event.effective_date();
        if f.since.is_some_and(|since| date < since) || f.until.is_some_and(|until| date > until) {
            return false;
        }
        let data = match event {
            Logged::Grant(e) => &e.data,
            // Access events name no region, purpose or authority.
            Logged::Access(_) => {
                return self.region.is_none() && self.purpose.is_none() && self.authority.is_none()
            }
        };
        // A determination's making, variation and withdrawal concern every region they
        // name (a variation, the regions it changes), so `--region` keeps them too.
        if let Some(region) = self.region.as_deref() {
            let determination = self
                .models
                .states
                .get(data.determination_id())
                .and_then(|s| s.determination.as_ref());
            if !data.concerns_region(region, determination) {
                return false;
            }
        }
        if let Some(purpose) = &self.purpose {
            let EventData::FundsSpent(spend) = data else {
                return false;
            };
            if region_slug(&spend.purpose) != region_slug(purpose) {
                return false;
            }
        }
        if let Some(authority) = &self.authority {
            let named = match data {
                EventData::FundsSpent(spend) => spend.authority.as_deref(),
                EventData::PaymentIssued(payment) => Some(payment.lead_authority.as_str()),
                _ => None,
            };
            if !named.is_some_and(|n| n.trim().eq_ignore_ascii_case(authority)) {
                return false;
            }
        }
        true
    }
}
