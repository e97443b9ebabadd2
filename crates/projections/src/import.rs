//! `spend-import`: many spends recorded atomically, all or none.
//!
//! The first [`IMPORT_BUFFER_ROWS`] rows are read into memory. A file that ends within them
//! is decided row by row and appended as one multi-stream append (any mix of
//! determinations). A longer file must be of one determination: it is streamed through the
//! store's bulk append, each row decided as it is pulled, so a million rows never sit in
//! memory at once (only their keys' hashes, below). Either way an error names its line and nothing is
//! written.
//!
//! Row keys, any number of them, anywhere in the file: each keyed row is looked up in the
//! store as it is read. Recorded for an identical row: the row is skipped. Recorded for a
//! different one: refused. New: the key and the row's fingerprint ride on the row's event,
//! and the store records it as that event's own key in the same commit (or not at all).
//! The same key on two rows of one file is refused naming both lines, even if the rows are
//! identical: a file that repeats a key is more likely wrong than deliberately redundant.
//! To name the earlier line, the import remembers a 128-bit hash and the line of every key
//! it has read (about 32 bytes per keyed row); an unkeyed import stays in constant memory.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use grant_ledger_domain::{decide, stream_for, Action, Command};
use grant_ledger_store::{
    AppendOutcome, AppendRequest, Appended, BulkAppend, EventStore, ExpectedVersion, Idempotency,
    NewEvent, StoreError, StreamBatch,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::access::Caller;
use crate::codec::new_event;
use crate::error::LedgerError;
use crate::fingerprint::fingerprint;
use crate::ledger::Ledger;
use crate::projection::Projections;
use crate::rows::{ImportSummary, SpendRow};
use crate::writer::permit;

/// Rows held in memory before an import must be of a single determination and streamed.
pub const IMPORT_BUFFER_ROWS: usize = 20_000;

/// How often `progress` is called, in rows (and once more at the end).
const PROGRESS_EVERY: u64 = 256;

impl SpendRow {
    /// The command this row asks for; `id` is the new event's id.
    fn command(&self, id: Uuid) -> Command {
        Command::SpendFunds {
            id,
            determination: self.determination.trim().to_string(),
            region: self.region.clone(),
            amount: self.amount,
            date: self.date,
            purpose: self.purpose.clone(),
            authority: self.authority.clone(),
            description: self.description.clone(),
            reference: self.reference.clone(),
        }
    }
}

/// What a row's key means for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RowKey {
    /// No key: always recorded.
    Unkeyed,
    /// Already recorded for an identical row: skipped.
    Repeat,
    /// New: recorded with the row's event, guarding it with this fingerprint.
    New([u8; 32]),
}

fn row_key(row: &SpendRow) -> Option<&str> {
    row.key.as_deref().map(str::trim).filter(|k| !k.is_empty())
}

/// The keys read so far in this file, by hash (a 128-bit prefix of SHA-256: a collision
/// among even billions of keys is out of reach), with the line each was on.
#[derive(Default)]
struct KeyPlan {
    seen: HashMap<u128, u64>,
}

impl KeyPlan {
    fn admit<S: EventStore>(&mut self, store: &S, row: &SpendRow) -> Result<RowKey, LedgerError> {
        let Some(key) = row_key(row) else {
            return Ok(RowKey::Unkeyed);
        };
        let digest = Sha256::digest(key.as_bytes());
        let mut prefix = [0u8; 16];
        prefix.copy_from_slice(&digest[..16]);
        if let Some(first) = self.seen.insert(u128::from_be_bytes(prefix), row.line) {
            return Err(LedgerError::refused(format!(
                "idempotency key '{key}' is also used by line {first}; each row needs its own key"
            ))
            .at_line(row.line));
        }
        let print = fingerprint(&row.command(Uuid::nil()));
        match store.key(key)? {
            Some(rec) if rec.fingerprint == print => Ok(RowKey::Repeat),
            Some(rec) => Err(LedgerError::refused(format!(
                "idempotency key '{key}' was already used for a different command at position {}",
                rec.appended.first_position
            ))
            .at_line(row.line)),
            None => Ok(RowKey::New(print)),
        }
    }
}

/// Decides one row against `next` and folds its events in; returns them for the store. A
/// new row key becomes the first event's own key (the guard of the row); every event of the
/// row carries the key for audit.
fn decide_row(
    next: &mut Projections,
    row: &SpendRow,
    guard: RowKey,
) -> Result<Vec<NewEvent>, LedgerError> {
    let id = row.determination.trim();
    let Some(state) = next.states.get(id).filter(|s| s.determination.is_some()) else {
        return Err(LedgerError::refused(format!("unknown determination {id}")).at_line(row.line));
    };
    let events = decide(state, row.command(Uuid::now_v7()))
        .map_err(|e| LedgerError::from(e).at_line(row.line))?;
    let key = row_key(row);
    let mut out = Vec::with_capacity(events.len());
    for event in &events {
        next.apply(event, None);
        out.push(new_event(event, key));
    }
    if let (RowKey::New(print), Some(first)) = (guard, out.first_mut()) {
        first.key_fingerprint = Some(print);
    }
    Ok(out)
}

fn summary(recorded: u64, skipped: u64, appended: Option<&Appended>) -> ImportSummary {
    ImportSummary {
        duplicate: false,
        imported: recorded,
        recorded,
        skipped,
        first_position: appended.map(|a| a.first_position),
        last_position: appended.map(|a| a.last_position),
    }
}

impl<S: EventStore> Ledger<S> {
    /// Records many spends atomically: all rows or none. An error names the 1-based line of
    /// the row it came from. `progress` is called with the number of rows processed so far
    /// (every few hundred rows, and at the end).
    pub fn import_spends(
        &self,
        caller: &Caller,
        rows: &mut dyn Iterator<Item = Result<SpendRow, LedgerError>>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<ImportSummary, LedgerError> {
        self.import_spends_keyed(caller, None, rows, progress)
    }

    /// [`Ledger::import_spends`] guarded by a key for the whole import (the HTTP
    /// `Idempotency-Key`): the same key with the same file again reports what the first
    /// import recorded and appends nothing; with another file it is refused.
    pub fn import_spends_keyed(
        &self,
        caller: &Caller,
        guard: Option<Idempotency>,
        rows: &mut dyn Iterator<Item = Result<SpendRow, LedgerError>>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<ImportSummary, LedgerError> {
        if let Some(guard) = &guard {
            match self.store().key(&guard.key)? {
                None => {}
                Some(rec) if rec.fingerprint == guard.fingerprint => {
                    // The same bytes as the first import, which recorded one event per row
                    // and skipped the rest (all or none): its rows less its events is what
                    // it skipped, so the repeat answers exactly what the first one did.
                    let a = &rec.appended;
                    let n = a.last_position.saturating_sub(a.first_position) + 1;
                    let rows = rows.count() as u64;
                    return Ok(ImportSummary {
                        duplicate: true,
                        ..summary(n, rows.saturating_sub(n), Some(a))
                    });
                }
                Some(rec) => {
                    return Err(LedgerError::conflict(format!(
                    "idempotency key '{}' was already used for a different command at position {}",
                    guard.key, rec.appended.first_position
                )))
                }
            }
        }
        let keys: Vec<Idempotency> = guard.into_iter().collect();
        let mut buffer = Vec::new();
        let mut ended = false;
        while buffer.len() < IMPORT_BUFFER_ROWS {
            match rows.next() {
                None => {
                    ended = true;
                    break;
                }
                Some(row) => buffer.push(row?),
            }
        }
        // A file of exactly IMPORT_BUFFER_ROWS rows has ended too: look one row further, and
        // hand that row on to the streamed path if there is one.
        let next = if ended { None } else { rows.next() };
        ended = ended || next.is_none();
        let mut rows = next.into_iter().chain(rows);
        let mut plan = KeyPlan::default();
        let buffer = buffer
            .into_iter()
            .map(|row| {
                permit_row(caller, &row)?;
                Ok((plan.admit(self.store(), &row)?, row))
            })
            .collect::<Result<Vec<_>, LedgerError>>()?;
        let actor = caller.name.as_str();
        let mut models = self.lock();
        models.refresh(self.store())?;
        let summary = if ended {
            self.import_buffered(&mut models, actor, keys, buffer, progress)
        } else {
            self.import_streamed(&mut models, caller, keys, buffer, &mut rows, plan, progress)
        };
        if summary.as_ref().is_ok_and(|s| s.recorded > 0) {
            self.publish(&models);
        }
        summary
    }

    fn import_buffered(
        &self,
        models: &mut Projections,
        actor: &str,
        keys: Vec<Idempotency>,
        buffer: Vec<(RowKey, SpendRow)>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<ImportSummary, LedgerError> {
        let ids: std::collections::BTreeSet<&str> =
            buffer.iter().map(|(_, r)| r.determination.trim()).collect();
        let mut next = models.draft(ids.iter().copied());
        let mut batches: BTreeMap<String, StreamBatch> = BTreeMap::new();
        let (mut recorded, mut skipped) = (0u64, 0u64);
        for (guard, row) in &buffer {
            if *guard == RowKey::Repeat {
                skipped += 1;
            } else {
                let base = next
                    .states
                    .get(row.determination.trim())
                    .map_or(0, |s| s.version);
                let events = decide_row(&mut next, row, *guard)?;
                let stream = stream_for(row.determination.trim());
                batches
                    .entry(stream.clone())
                    .or_insert_with(|| StreamBatch {
                        stream,
                        expected: ExpectedVersion::Exact(base),
                        events: Vec::new(),
                    })
                    .events
                    .extend(events);
                recorded += 1;
            }
            if (recorded + skipped) % PROGRESS_EVERY == 0 {
                progress(recorded + skipped);
            }
        }
        progress(recorded + skipped);
        if batches.is_empty() {
            return Ok(summary(0, skipped, None));
        }
        let touched: Vec<String> = buffer
            .iter()
            .map(|(_, r)| r.determination.trim().to_string())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let request = AppendRequest {
            actor: actor.to_string(),
            keys,
            batches: batches.into_values().collect(),
            models: next.writes(self.store(), touched.iter().map(String::as_str))?,
        };
        let appended = written(self.store().append(request))?;
        self.settle(models, next, &appended, touched.iter().map(String::as_str))?;
        Ok(summary(recorded, skipped, Some(&appended)))
    }

    #[allow(clippy::too_many_arguments)]
    fn import_streamed(
        &self,
        models: &mut Projections,
        caller: &Caller,
        keys: Vec<Idempotency>,
        buffer: Vec<(RowKey, SpendRow)>,
        rest: &mut dyn Iterator<Item = Result<SpendRow, LedgerError>>,
        plan: KeyPlan,
        progress: &mut dyn FnMut(u64),
    ) -> Result<ImportSummary, LedgerError> {
        let Some((_, first)) = buffer.first() else {
            return Ok(ImportSummary::default());
        };
        let id = first.determination.trim().to_string();
        let base = match models.states.get(&id) {
            Some(s) if s.determination.is_some() => s.version,
            _ => {
                return Err(
                    LedgerError::refused(format!("unknown determination {id}")).at_line(first.line)
                )
            }
        };
        let ctx = RefCell::new(Streamed {
            next: models.draft([id.as_str()]),
            plan,
            error: None,
            recorded: 0,
            skipped: 0,
        });
        let actor = caller.name.as_str();
        let mut events = StreamedRows {
            caller,
            id: &id,
            buffered: buffer.into_iter(),
            rest,
            ctx: &ctx,
            store: self.store(),
            progress,
            pending: Vec::new(),
            all_pulled: false,
        };
        let store = self.store();
        let mut model_writes = |_head: u64| {
            let mut c = ctx.borrow_mut();
            match c.next.writes(store, [id.as_str()]) {
                Ok(writes) => writes,
                Err(e) => {
                    c.error = Some(e);
                    Vec::new()
                }
            }
        };
        let outcome = self.store().append_stream_bulk(
            BulkAppend {
                actor: actor.to_owned(),
                keys,
                stream: stream_for(&id),
                expected: ExpectedVersion::Exact(base),
            },
            &mut events,
            &mut model_writes,
        );
        let done = {
            let c = ctx.borrow();
            c.recorded + c.skipped
        };
        (events.progress)(done);
        let all_pulled = events.all_pulled;
        drop(events);
        let Streamed {
            next,
            error,
            recorded,
            skipped,
            ..
        } = ctx.into_inner();
        if let Some(error) = error {
            return Err(error);
        }
        let appended = match outcome {
            // Every row was a repeat: the store refuses the empty bulk append, and that is
            // fine. Any other refusal (a bad actor, say) is the import's answer.
            Err(_) if recorded == 0 && skipped > 0 && all_pulled => {
                return Ok(summary(0, skipped, None))
            }
            other => written(other)?,
        };
        self.settle(models, next, &appended, [id.as_str()])?;
        Ok(summary(recorded, skipped, Some(&appended)))
    }
}

/// A row may be recorded only by a caller allowed to spend for its region.
fn permit_row(caller: &Caller, row: &SpendRow) -> Result<(), LedgerError> {
    permit(
        caller,
        Action::Spend {
            region: &row.region,
        },
    )
    .map_err(|e| e.at_line(row.line))
}

/// A fresh append's position, or the refusal that stopped it.
fn written(outcome: Result<AppendOutcome, StoreError>) -> Result<Appended, LedgerError> {
    match outcome {
        Ok(AppendOutcome::Written(appended)) => Ok(appended),
        // A whole-import key was checked before the import began, under no lock; a repeat
        // that raced it here is refused rather than reported as recorded.
        Ok(AppendOutcome::Duplicate(_)) => Err(LedgerError::refused(
            "the store reported this import as a repeat; run the import again",
        )),
        Err(e) => Err(e.into()),
    }
}

/// What a streamed import accumulates while the store pulls rows.
struct Streamed {
    next: Projections,
    plan: KeyPlan,
    error: Option<LedgerError>,
    recorded: u64,
    skipped: u64,
}

/// The rows of a streamed import as the store's bulk append pulls them: each decided on the
/// way through, so memory stays at one row's events.
struct StreamedRows<'a, S> {
    caller: &'a Caller,
    id: &'a str,
    buffered: std::vec::IntoIter<(RowKey, SpendRow)>,
    rest: &'a mut dyn Iterator<Item = Result<SpendRow, LedgerError>>,
    ctx: &'a RefCell<Streamed>,
    store: &'a S,
    progress: &'a mut dyn FnMut(u64),
    pending: Vec<NewEvent>,
    /// Whether the store pulled every row: only then can an empty append mean "all repeats".
    all_pulled: bool,
}

impl<S: EventStore> StreamedRows<'_, S> {
    /// Stops the import: the real error waits in the context, the store sees only that the
    /// iterator failed (and so writes nothing).
    fn fail(&self, error: LedgerError) -> Option<Result<NewEvent, StoreError>> {
        self.ctx.borrow_mut().error = Some(error);
        Some(Err(StoreError::Invalid(
            "the spend import stopped".to_string(),
        )))
    }

    fn take(&mut self, row: &SpendRow, admitted: Option<RowKey>) -> Result<(), LedgerError> {
        if row.determination.trim() != self.id {
            return Err(LedgerError::refused(format!(
                "a spend import longer than {IMPORT_BUFFER_ROWS} rows must be of one determination, but this row is of {} and the first of {}",
                row.determination.trim(),
                self.id
            ))
            .at_line(row.line));
        }
        permit_row(self.caller, row)?;
        let mut ctx = self.ctx.borrow_mut();
        let guard = match admitted {
            Some(guard) => guard,
            None => ctx.plan.admit(self.store, row)?,
        };
        if guard == RowKey::Repeat {
            ctx.skipped += 1;
        } else {
            self.pending = decide_row(&mut ctx.next, row, guard)?;
            self.pending.reverse();
            ctx.recorded += 1;
        }
        let done = ctx.recorded + ctx.skipped;
        drop(ctx);
        if done % PROGRESS_EVERY == 0 {
            (self.progress)(done);
        }
        Ok(())
    }
}

impl<S: EventStore> Iterator for StreamedRows<'_, S> {
    type Item = Result<NewEvent, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(event) = self.pending.pop() {
                return Some(Ok(event));
            }
            let (row, admitted) = match self.buffered.next() {
                Some((guard, row)) => (row, Some(guard)),
                None => match self.rest.next() {
                    None => {
                        self.all_pulled = true;
                        return None;
                    }
                    Some(Err(e)) => return self.fail(e),
                    Some(Ok(row)) => (row, None),
                },
            };
            if let Err(e) = self.take(&row, admitted) {
                return self.fail(e);
            }
        }
    }
}
