//! `spend-import`: many spends recorded atomically, all or none.
//!
//! The first [`IMPORT_BUFFER_ROWS`] rows are read into memory. A file that ends within them
//! is decided row by row and appended as one multi-stream append (any mix of
//! determinations). A longer file must be of one determination: it is streamed through the
//! store's bulk append in constant memory, each row decided as it is pulled, so a million
//! rows never sit in memory at once. Either way an error names its line and nothing is
//! written.
//!
//! Row keys: the store records idempotency keys up front and at most
//! [`MAX_IMPORT_KEYS`] per append, so new keys may appear only in the buffered rows and
//! only that many per file. A row whose key was already recorded for an identical row is
//! skipped; for a different row it is refused.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};

use grant_ledger_domain::{decide, stream_for, Command};
use grant_ledger_store::{
    limits::MAX_KEYS_PER_APPEND, AppendOutcome, AppendRequest, Appended, EventStore,
    ExpectedVersion, Idempotency, NewEvent, StoreError, StreamBatch,
};
use uuid::Uuid;

use crate::codec::new_event;
use crate::error::LedgerError;
use crate::fingerprint::fingerprint;
use crate::ledger::Ledger;
use crate::projection::Projections;
use crate::rows::{ImportSummary, SpendRow};

/// Rows held in memory before an import must be of a single determination and streamed.
pub const IMPORT_BUFFER_ROWS: usize = 20_000;

/// Most new idempotency keys one import can record (the store's per-append limit).
pub const MAX_IMPORT_KEYS: usize = MAX_KEYS_PER_APPEND;

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

/// Which keyed rows are new, which repeat something already recorded, which conflict.
#[derive(Default)]
struct KeyPlan {
    seen: HashMap<String, [u8; 32]>,
    fresh: Vec<Idempotency>,
    skip: HashSet<u64>,
}

impl KeyPlan {
    fn admit<S: EventStore>(
        &mut self,
        store: &S,
        row: &SpendRow,
        may_add: bool,
    ) -> Result<(), LedgerError> {
        let Some(key) = row.key.as_deref().map(str::trim).filter(|k| !k.is_empty()) else {
            return Ok(());
        };
        let print = fingerprint(&row.command(Uuid::nil()));
        if let Some(seen) = self.seen.get(key) {
            if *seen == print {
                self.skip.insert(row.line);
                return Ok(());
            }
            return Err(LedgerError::refused(format!(
                "idempotency key '{key}' is used by an earlier row for a different spend"
            ))
            .at_line(row.line));
        }
        match store.key(key)? {
            Some(rec) if rec.fingerprint == print => {
                self.seen.insert(key.to_string(), print);
                self.skip.insert(row.line);
                Ok(())
            }
            Some(rec) => Err(LedgerError::refused(format!(
                "idempotency key '{key}' was already used for a different command at position {}",
                rec.appended.first_position
            ))
            .at_line(row.line)),
            None if !may_add => Err(LedgerError::refused(format!(
                "a spend import longer than {IMPORT_BUFFER_ROWS} rows may carry new keys only in its first {IMPORT_BUFFER_ROWS} rows"
            ))
            .at_line(row.line)),
            None if self.fresh.len() >= MAX_IMPORT_KEYS => Err(LedgerError::refused(format!(
                "a spend import may record at most {MAX_IMPORT_KEYS} new keys"
            ))
            .at_line(row.line)),
            None => {
                self.seen.insert(key.to_string(), print);
                self.fresh.push(Idempotency {
                    key: key.to_string(),
                    fingerprint: print,
                });
                Ok(())
            }
        }
    }
}

/// Decides one row against `next` and folds its events in; returns them for the store.
fn decide_row(next: &mut Projections, row: &SpendRow) -> Result<Vec<NewEvent>, LedgerError> {
    let id = row.determination.trim();
    let Some(state) = next.states.get(id).filter(|s| s.determination.is_some()) else {
        return Err(LedgerError::refused(format!("unknown determination {id}")).at_line(row.line));
    };
    let events = decide(state, row.command(Uuid::now_v7()))
        .map_err(|e| LedgerError::from(e).at_line(row.line))?;
    let key = row.key.as_deref().map(str::trim).filter(|k| !k.is_empty());
    let mut out = Vec::with_capacity(events.len());
    for event in &events {
        next.apply(event, None);
        out.push(new_event(event, key));
    }
    Ok(out)
}

fn summary(recorded: u64, skipped: u64, appended: Option<&Appended>) -> ImportSummary {
    ImportSummary {
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
        actor: &str,
        rows: &mut dyn Iterator<Item = Result<SpendRow, LedgerError>>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<ImportSummary, LedgerError> {
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
        let mut plan = KeyPlan::default();
        for row in &buffer {
            plan.admit(self.store(), row, true)?;
        }
        let mut models = self.lock();
        models.refresh(self.store())?;
        if ended {
            self.import_buffered(&mut models, actor, buffer, plan, progress)
        } else {
            self.import_streamed(&mut models, actor, buffer, rows, plan, progress)
        }
    }

    fn import_buffered(
        &self,
        models: &mut Projections,
        actor: &str,
        buffer: Vec<SpendRow>,
        plan: KeyPlan,
        progress: &mut dyn FnMut(u64),
    ) -> Result<ImportSummary, LedgerError> {
        let ids: std::collections::BTreeSet<&str> =
            buffer.iter().map(|r| r.determination.trim()).collect();
        let mut next = models.draft(ids.iter().copied());
        let mut batches: BTreeMap<String, StreamBatch> = BTreeMap::new();
        let (mut recorded, mut skipped) = (0u64, 0u64);
        for row in &buffer {
            if plan.skip.contains(&row.line) {
                skipped += 1;
            } else {
                let base = next
                    .states
                    .get(row.determination.trim())
                    .map_or(0, |s| s.version);
                let events = decide_row(&mut next, row)?;
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
            .map(|r| r.determination.trim().to_string())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let request = AppendRequest {
            actor: actor.to_string(),
            keys: plan.fresh,
            batches: batches.into_values().collect(),
            models: next.writes(touched.iter().map(String::as_str))?,
        };
        let appended = written(self.store().append(request))?;
        self.settle(models, next, &appended, touched.iter().map(String::as_str))?;
        Ok(summary(recorded, skipped, Some(&appended)))
    }

    fn import_streamed(
        &self,
        models: &mut Projections,
        actor: &str,
        buffer: Vec<SpendRow>,
        rest: &mut dyn Iterator<Item = Result<SpendRow, LedgerError>>,
        plan: KeyPlan,
        progress: &mut dyn FnMut(u64),
    ) -> Result<ImportSummary, LedgerError> {
        let Some(first) = buffer.first() else {
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
        // Taken out before the append: a borrow of `ctx` held across the call would collide
        // with the iterator's.
        let keys = plan.fresh.clone();
        let ctx = RefCell::new(Streamed {
            next: models.draft([id.as_str()]),
            plan,
            error: None,
            recorded: 0,
            skipped: 0,
        });
        let mut events = StreamedRows {
            id: &id,
            buffered: buffer.into_iter(),
            rest,
            ctx: &ctx,
            store: self.store(),
            progress,
            pending: Vec::new(),
        };
        let mut model_writes = |_head: u64| {
            let mut c = ctx.borrow_mut();
            match c.next.writes([id.as_str()]) {
                Ok(writes) => writes,
                Err(e) => {
                    c.error = Some(e);
                    Vec::new()
                }
            }
        };
        let outcome = self.store().append_stream_bulk(
            actor,
            keys,
            &stream_for(&id),
            ExpectedVersion::Exact(base),
            &mut events,
            &mut model_writes,
        );
        let done = {
            let c = ctx.borrow();
            c.recorded + c.skipped
        };
        (events.progress)(done);
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
            // Every row was a repeat: the store refuses an empty bulk append, and that is fine.
            Err(_) if recorded == 0 => return Ok(summary(0, skipped, None)),
            other => written(other)?,
        };
        self.settle(models, next, &appended, [id.as_str()])?;
        Ok(summary(recorded, skipped, Some(&appended)))
    }
}

/// A fresh append's position, or the refusal that stopped it.
fn written(outcome: Result<AppendOutcome, StoreError>) -> Result<Appended, LedgerError> {
    match outcome {
        Ok(AppendOutcome::Written(appended)) => Ok(appended),
        // Only possible if every new key was recorded by someone else meanwhile.
        Ok(AppendOutcome::Duplicate(_)) => Err(LedgerError::refused(
            "the keys of this import were recorded by another writer meanwhile; run the import again",
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
    id: &'a str,
    buffered: std::vec::IntoIter<SpendRow>,
    rest: &'a mut dyn Iterator<Item = Result<SpendRow, LedgerError>>,
    ctx: &'a RefCell<Streamed>,
    store: &'a S,
    progress: &'a mut dyn FnMut(u64),
    pending: Vec<NewEvent>,
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

    fn take(&mut self, row: &SpendRow, from_buffer: bool) -> Result<(), LedgerError> {
        if row.determination.trim() != self.id {
            return Err(LedgerError::refused(format!(
                "a spend import longer than {IMPORT_BUFFER_ROWS} rows must be of one determination, but this row is of {} and the first of {}",
                row.determination.trim(),
                self.id
            ))
            .at_line(row.line));
        }
        let mut ctx = self.ctx.borrow_mut();
        if !from_buffer {
            ctx.plan.admit(self.store, row, false)?;
        }
        if ctx.plan.skip.contains(&row.line) {
            ctx.skipped += 1;
        } else {
            self.pending = decide_row(&mut ctx.next, row)?;
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
            let (row, from_buffer) = match self.buffered.next() {
                Some(row) => (row, true),
                None => match self.rest.next() {
                    None => return None,
                    Some(Err(e)) => return self.fail(e),
                    Some(Ok(row)) => (row, false),
                },
            };
            if let Err(e) = self.take(&row, from_buffer) {
                return self.fail(e);
            }
        }
    }
}
