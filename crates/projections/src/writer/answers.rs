//! Each command's answer: the appended events read back as history entries, laid out per
//! job, and the original answer of a key already recorded.

use std::collections::HashMap;

use grant_ledger_store::{Appended, EventStore};

use super::group::Decided;
use crate::codec::{decode, history_entry};
use crate::error::LedgerError;
use crate::ledger::Ledger;
use crate::rows::{HistoryEntry, Recorded};

impl<S: EventStore> Ledger<S> {
    /// If `key` is already recorded: the original events for the same command, or a
    /// refusal for a different one.
    pub(crate) fn recorded_under(
        &self,
        key: &str,
        print: [u8; 32],
    ) -> Result<Option<Recorded>, LedgerError> {
        match self.store().key(key)? {
            None => Ok(None),
            Some(rec) if rec.fingerprint == print => Ok(Some(Recorded {
                duplicate: true,
                events: self.entries(&rec.appended, Some(key))?,
            })),
            Some(rec) => Err(LedgerError::conflict(format!(
                "idempotency key '{key}' was already used for a different command at position {}",
                rec.appended.first_position
            ))),
        }
    }

    /// History entries for an append's positions; with `key`, only events recorded under it
    /// (a spend import appends many rows' events under one range).
    pub(crate) fn entries(
        &self,
        appended: &Appended,
        key: Option<&str>,
    ) -> Result<Vec<HistoryEntry>, LedgerError> {
        let mut out = Vec::new();
        for rec in self.store().read_all(appended.first_position) {
            let rec = rec?;
            if rec.position > appended.last_position {
                break;
            }
            if key.is_some() && rec.key.as_deref() != key {
                continue;
            }
            out.push(history_entry(&rec, &decode(&rec)?)?);
        }
        Ok(out)
    }
}

/// Each job's answer once the group's append (if any) is done: `entries` are the appended
/// events in position order, laid out as `order` (stream, events) says.
pub(super) fn resolve(
    decided: Vec<Decided>,
    entries: Option<&[HistoryEntry]>,
    order: &[(String, usize)],
) -> Vec<Result<Recorded, LedgerError>> {
    let mut starts: HashMap<&str, usize> = HashMap::new();
    let mut at = 0;
    for (stream, count) in order {
        starts.insert(stream.as_str(), at);
        at += count;
    }
    let written = |stream: &str, offset: usize, count: usize| -> Result<Recorded, LedgerError> {
        let start = starts.get(stream).copied().unwrap_or(0) + offset;
        match entries.and_then(|e| e.get(start..start + count)) {
            Some(events) => Ok(Recorded {
                duplicate: false,
                events: events.to_vec(),
            }),
            None => Err(LedgerError::corrupt(
                "the appended events could not be read back",
            )),
        }
    };
    // Where each written job's events are, so a repeat later in the group can share them.
    let spans: Vec<Option<(String, usize, usize)>> = decided
        .iter()
        .map(|d| match d {
            Decided::Written {
                stream,
                offset,
                count,
            } => Some((stream.clone(), *offset, *count)),
            _ => None,
        })
        .collect();
    decided
        .into_iter()
        .map(|outcome| match outcome {
            Decided::Done(answer) => answer,
            Decided::Written {
                stream,
                offset,
                count,
            } => written(&stream, offset, count),
            Decided::SameAs(first) => match spans.get(first) {
                Some(Some((stream, offset, count))) => {
                    written(stream, *offset, *count).map(|r| Recorded {
                        duplicate: true,
                        ..r
                    })
                }
                _ => Err(LedgerError::corrupt("a repeated command lost its original")),
            },
        })
        .collect()
}
