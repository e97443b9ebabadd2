//! The write path: every recording command goes through one writer, which groups the
//! commands waiting at that moment into one commit and one fsync.
//!
//! A command is queued. If no thread is leading, its own thread leads: it takes every queued
//! command (up to [`MAX_GROUP`]), decides each in arrival order against the state the
//! earlier ones left (so each is refused or accepted on its own, exactly as if it had run
//! alone), appends the accepted ones' events with the read models in one atomic append,
//! posts every command's answer, steps down and wakes the others: those answered return at
//! once, and one of the rest leads the next group. No thread leads twice in a row while
//! others wait, so no caller's answer waits behind commits it is not in. One writer alone
//! costs nothing extra: a group of one.
//!
//! Readers never take the writer lock: they read the snapshot published after each commit.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Condvar, Mutex, MutexGuard};

use chrono::{DateTime, NaiveDate, Utc};
use grant_ledger_domain::{
    authorize, decide, decide_access, AccessCommand, Action, Command, EventData, EventType, Role,
    ACCESS_STREAM,
};
use grant_ledger_store::{
    AppendOutcome, AppendRequest, Appended, ErrorKind as StoreKind, EventStore, ExpectedVersion,
    NewEvent, StreamBatch,
};
use uuid::Uuid;

use crate::access::{new_token, token_sha256, AccessRow, Caller, GrantedAccess};
use crate::codec::{decode, decode_grant, history_entry, new_access_event, new_event, Logged};
use crate::error::LedgerError;
use crate::fingerprint::{access_fingerprint, fingerprint};
use crate::ledger::Ledger;
use crate::projection::{reversed_target, Projections};
use crate::rows::{HistoryEntry, Recorded};

/// Most commands decided into one commit: bounds a group's memory and its latency.
pub const MAX_GROUP: usize = 512;

/// How often a group is re-decided after another process moved one of its streams first.
const MAX_WRITE_ATTEMPTS: usize = 3;

/// One recording command waiting for the writer.
pub(crate) struct Job {
    actor: String,
    key: Option<String>,
    op: Op,
}

#[derive(Clone)]
enum Op {
    Grant(Command),
    Access(AccessCommand),
}

impl Op {
    fn fingerprint(&self) -> [u8; 32] {
        match self {
            Op::Grant(command) => fingerprint(command),
            Op::Access(command) => access_fingerprint(command),
        }
    }
}

/// The commands waiting for the writer and the answers not yet collected, behind one lock
/// that also says whether a thread is leading.
#[derive(Default)]
pub(crate) struct Queue {
    waiting: Vec<(u64, Job)>,
    answers: HashMap<u64, Result<Recorded, LedgerError>>,
    next_ticket: u64,
    leading: bool,
}

impl Queue {
    pub fn len(&self) -> usize {
        self.waiting.len()
    }
}

/// The queue and the condition its waiters sleep on.
#[derive(Default)]
pub(crate) struct WriteQueue {
    pub state: Mutex<Queue>,
    pub turn: Condvar,
}

/// What deciding one job of a group came to.
enum Decided {
    /// Answered without writing: refused, malformed, or a repeat of a recorded key.
    Done(Result<Recorded, LedgerError>),
    /// A repeat of an earlier job of this group (same key, same command).
    SameAs(usize),
    /// Accepted: its events go into `stream`'s batch, starting at `offset` within it.
    Written {
        stream: String,
        offset: usize,
        count: usize,
    },
}

/// A copy of an error for each job that shares it (a failed commit fails them all).
fn copy(error: &LedgerError) -> LedgerError {
    LedgerError::Reported {
        kind: error.kind(),
        message: error.to_string(),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Each guarded value is only replaced whole, so a panic elsewhere cannot leave it
    // half-updated.
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl<S: EventStore> Ledger<S> {
    /// Records one command (import, pay, spend, recover) made by `caller`.
    ///
    /// With a key: the same key and the same command again returns the originally appended
    /// events with `duplicate: true`; the same key with a different command is refused.
    /// Importing an identical determination again returns `duplicate: true` and no events.
    pub fn record(
        &self,
        caller: &Caller,
        key: Option<&str>,
        command: Command,
    ) -> Result<Recorded, LedgerError> {
        let action = match &command {
            // Varying or withdrawing a determination is the department's act, as making it is.
            Command::MakeDetermination { .. }
            | Command::WithdrawDetermination { .. }
            | Command::VaryDetermination { .. } => Action::ImportDetermination,
            Command::IssuePayment { .. } => Action::Pay,
            Command::RecoverGrant { .. } => Action::Recover,
            Command::SpendFunds { region, .. } => Action::Spend { region },
            Command::ReverseEvent { target, .. } => reversal_action(&target.data),
        };
        permit(caller, action)?;
        self.submit(Job {
            actor: caller.name.clone(),
            key: key.map(str::to_string),
            op: Op::Grant(command),
        })
    }

    /// Reverses the event named by `target` (an event id, or a log position), then records
    /// the reversal like any other command.
    pub fn reverse(
        &self,
        caller: &Caller,
        key: Option<&str>,
        target: &str,
        reason: &str,
        date: Option<NaiveDate>,
    ) -> Result<Recorded, LedgerError> {
        let rec = self.find_event(target)?;
        let event = decode_grant(&rec).map_err(|_| {
            LedgerError::refused(format!(
                "the event at position {} is an access event; only a payment, spend or recovery can be reversed",
                rec.position
            ))
        })?;
        let command = Command::ReverseEvent {
            id: Uuid::now_v7(),
            determination: event.data.determination_id().to_string(),
            target: event,
            reason: reason.to_string(),
            date,
        };
        self.record(caller, key, command)
    }

    /// Creates an access token for `name` with `role`, shown only in the answer.
    pub fn grant_access(
        &self,
        caller: &Caller,
        key: Option<&str>,
        name: &str,
        role: Role,
        at: DateTime<Utc>,
    ) -> Result<GrantedAccess, LedgerError> {
        permit(caller, Action::ManageAccess)?;
        if let Role::Region(slug) = &role {
            self.known_region_slug(slug)?;
        }
        let token = new_token()?;
        let recorded = self.submit(Job {
            actor: caller.name.clone(),
            key: key.map(str::to_string),
            op: Op::Access(AccessCommand::Grant {
                id: Uuid::now_v7(),
                name: name.to_string(),
                role: role.clone(),
                token_sha256: token_sha256(&token),
                at,
            }),
        })?;
        if recorded.duplicate {
            return Err(LedgerError::conflict(format!(
                "access \"{}\" was already granted under this key; its token was shown only then, so revoke it and grant it again",
                name.trim()
            )));
        }
        Ok(GrantedAccess {
            name: name.trim().to_string(),
            role,
            token,
        })
    }

    /// Revokes the grant named `name`: its token is refused from the next request on.
    pub fn revoke_access(
        &self,
        caller: &Caller,
        key: Option<&str>,
        name: &str,
        at: DateTime<Utc>,
    ) -> Result<Recorded, LedgerError> {
        permit(caller, Action::ManageAccess)?;
        self.submit(Job {
            actor: caller.name.clone(),
            key: key.map(str::to_string),
            op: Op::Access(AccessCommand::Revoke {
                id: Uuid::now_v7(),
                name: name.to_string(),
                at,
            }),
        })
    }

    /// Every grant ever made, oldest first (never a token).
    pub fn access_list(&self, caller: &Caller) -> Result<Vec<AccessRow>, LedgerError> {
        permit(caller, Action::ManageAccess)?;
        Ok(self.snapshot().access.grants.clone())
    }

    /// Queues `job` and returns its answer, leading a group itself when nobody else is.
    fn submit(&self, job: Job) -> Result<Recorded, LedgerError> {
        let mut queue = lock(&self.writes.state);
        let ticket = queue.next_ticket;
        queue.next_ticket = queue.next_ticket.wrapping_add(1);
        queue.waiting.push((ticket, job));
        loop {
            if let Some(answer) = queue.answers.remove(&ticket) {
                return answer;
            }
            if !queue.leading {
                queue.leading = true;
                let n = queue.waiting.len().min(MAX_GROUP);
                let group: Vec<(u64, Job)> = queue.waiting.drain(..n).collect();
                drop(queue);
                let answers = {
                    let mut models = self.lock();
                    self.commit_group(&mut models, &group)
                };
                queue = lock(&self.writes.state);
                for ((ticket, _), answer) in group.iter().zip(answers) {
                    queue.answers.insert(*ticket, answer);
                }
                queue.leading = false;
                // Everyone answered returns; one of the rest (if any) leads next.
                self.writes.turn.notify_all();
                continue;
            }
            queue = self
                .writes
                .turn
                .wait(queue)
                .unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Decides and commits one group; the answers are in the group's order.
    fn commit_group(
        &self,
        models: &mut Projections,
        group: &[(u64, Job)],
    ) -> Vec<Result<Recorded, LedgerError>> {
        let answers = self.try_group(models, group);
        // A group that wrote nothing may still have caught the models up with another
        // writer's events: readers must see what the refusals were decided against.
        if self.snapshot().position != models.position {
            self.publish(models);
        }
        answers
    }

    fn try_group(
        &self,
        models: &mut Projections,
        group: &[(u64, Job)],
    ) -> Vec<Result<Recorded, LedgerError>> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            if let Err(e) = models.refresh(self.store()) {
                return group.iter().map(|_| Err(copy(&e))).collect();
            }
            let touched = touched(group);
            let mut draft = models.draft(touched.iter().map(String::as_str));
            let mut batches: BTreeMap<String, StreamBatch> = BTreeMap::new();
            let mut seen: HashMap<&str, ([u8; 32], usize)> = HashMap::new();
            let mut decided = Vec::with_capacity(group.len());
            for (index, (_, job)) in group.iter().enumerate() {
                let outcome = self.decide_job(&mut draft, &mut batches, &mut seen, index, job);
                decided.push(outcome);
            }
            if batches.is_empty() {
                return resolve(decided, None, &[]);
            }
            let request = match draft.writes(self.store(), touched.iter().map(String::as_str)) {
                Ok(models) => AppendRequest {
                    actor: group[0].1.actor.clone(),
                    keys: Vec::new(),
                    batches: batches.into_values().collect(),
                    models,
                },
                Err(e) => return group.iter().map(|_| Err(copy(&e))).collect(),
            };
            let order: Vec<(String, usize)> = request
                .batches
                .iter()
                .map(|b| (b.stream.clone(), b.events.len()))
                .collect();
            match self.store().append(request) {
                Ok(AppendOutcome::Written(appended)) => {
                    let settled =
                        self.settle(models, draft, &appended, touched.iter().map(String::as_str));
                    let entries = settled.and_then(|()| self.entries(&appended, None));
                    self.publish(models);
                    return match entries {
                        Ok(entries) => resolve(decided, Some(&entries), &order),
                        Err(e) => group.iter().map(|_| Err(copy(&e))).collect(),
                    };
                }
                // The group carried no whole-append keys, so the store has nothing to call
                // a repeat; never report events as written that were not.
                Ok(AppendOutcome::Duplicate(_)) => {
                    let e = LedgerError::corrupt(
                        "the store reported a new group of commands as a repeat",
                    );
                    return group.iter().map(|_| Err(copy(&e))).collect();
                }
                Err(e) if e.kind() == StoreKind::Conflict && attempt < MAX_WRITE_ATTEMPTS => {
                    continue
                }
                Err(e) if e.kind() == StoreKind::Conflict => {
                    let e = LedgerError::conflict(format!(
                        "the ledger kept changing while these commands were decided ({e}); try again"
                    ));
                    return group.iter().map(|_| Err(copy(&e))).collect();
                }
                Err(e) if group.len() > 1 && e.kind() == StoreKind::Invalid => {
                    // One command the store refuses must not fail the others: each runs
                    // alone, so each gets its own answer.
                    return group
                        .iter()
                        .flat_map(|job| self.try_group(models, std::slice::from_ref(job)))
                        .collect();
                }
                Err(e) => {
                    let e = LedgerError::from(e);
                    return group.iter().map(|_| Err(copy(&e))).collect();
                }
            }
        }
    }

    /// Decides one job against `draft`, folding its events into it and into `batches`.
    fn decide_job<'a>(
        &self,
        draft: &mut Projections,
        batches: &mut BTreeMap<String, StreamBatch>,
        seen: &mut HashMap<&'a str, ([u8; 32], usize)>,
        index: usize,
        job: &'a Job,
    ) -> Decided {
        let print = job.op.fingerprint();
        if let Some(key) = job.key.as_deref() {
            if let Some((earlier, at)) = seen.get(key) {
                return if *earlier == print {
                    Decided::SameAs(*at)
                } else {
                    Decided::Done(Err(LedgerError::conflict(format!(
                        "idempotency key '{key}' was already used for a different command"
                    ))))
                };
            }
            match self.recorded_under(key, print) {
                Ok(None) => {}
                Ok(Some(original)) => return Decided::Done(Ok(original)),
                Err(e) => return Decided::Done(Err(e)),
            }
        }
        let base = match &job.op {
            Op::Grant(command) => draft
                .states
                .get(command.determination_id().trim())
                .map_or(0, |s| s.version),
            Op::Access(_) => draft.access.state.version,
        };
        let (stream, events) = match self.decide_op(draft, job) {
            Ok(Some(decided)) => decided,
            Ok(None) => {
                return Decided::Done(Ok(Recorded {
                    duplicate: true,
                    events: Vec::new(),
                }))
            }
            Err(e) => return Decided::Done(Err(e)),
        };
        if let Some(key) = job.key.as_deref() {
            seen.insert(key, (print, index));
        }
        // The first job of a stream in this group sets the version the stream must still be
        // at; later jobs of the same stream were decided against the draft that follows it.
        let batch = batches
            .entry(stream.clone())
            .or_insert_with(|| StreamBatch {
                stream: stream.clone(),
                expected: ExpectedVersion::Exact(base),
                events: Vec::new(),
            });
        let offset = batch.events.len();
        let count = events.len();
        let mut events = events;
        if let (Some(first), Some(_)) = (events.first_mut(), job.key.as_deref()) {
            first.key_fingerprint = Some(print);
        }
        batch.events.extend(events);
        Decided::Written {
            stream,
            offset,
            count,
        }
    }

    /// The events `job` decides to against `draft` (folded into it), and their stream;
    /// `None` when it changes nothing (an identical re-import).
    fn decide_op(
        &self,
        draft: &mut Projections,
        job: &Job,
    ) -> Result<Option<(String, Vec<NewEvent>)>, LedgerError> {
        let key = job.key.as_deref();
        let with_actor = |mut event: NewEvent| {
            event.actor = Some(job.actor.clone());
            event
        };
        match &job.op {
            Op::Grant(command) => {
                let id = command.determination_id().trim();
                // Decided against the draft's state by reference: a clone of a whole
                // determination per command is what a busy writer cannot afford.
                let fresh = grant_ledger_domain::State::default();
                let state = draft.states.get(id).unwrap_or(&fresh);
                if state.determination.is_none()
                    && !matches!(command, Command::MakeDetermination { .. })
                {
                    return Err(LedgerError::refused(format!("unknown determination {id}")));
                }
                let events = decide(state, command.clone())?;
                if events.is_empty() {
                    return Ok(None);
                }
                let target = match command {
                    Command::ReverseEvent { target, .. } => Some(target.data.clone()),
                    _ => None,
                };
                let mut out = Vec::with_capacity(events.len());
                for event in &events {
                    let reversed = match &event.data {
                        EventData::EventReversed(_) => target.as_ref(),
                        _ => None,
                    };
                    draft.apply(event, reversed);
                    out.push(with_actor(new_event(event, key)));
                }
                Ok(Some((command.stream(), out)))
            }
            Op::Access(command) => {
                let events = decide_access(&draft.access.state, command.clone())?;
                let mut out = Vec::with_capacity(events.len());
                for event in &events {
                    draft.access.apply(event, &job.actor);
                    out.push(with_actor(new_access_event(event, key)));
                }
                Ok(Some((ACCESS_STREAM.to_string(), out)))
            }
        }
    }

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

    /// Installs the models of a successful append (`next` holds the touched states only).
    /// If another writer appended between our refresh and our append (other streams only:
    /// ours were guarded by their versions), its events are folded in and the models saved
    /// again, so the stored ones stay exact.
    pub(crate) fn settle<'a>(
        &self,
        models: &mut Projections,
        next: Projections,
        appended: &Appended,
        touched: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), LedgerError> {
        let expected_first = models.position.saturating_add(1);
        models.balances = next.balances;
        models.spend = next.spend;
        models.access = next.access;
        models.states.extend(next.states);
        models.days = next.days;
        models.position = appended.last_position;
        if appended.first_position == expected_first {
            return Ok(());
        }
        // The day models just stored were folded from days read before the other writer's
        // events, which they may lack: as-of replays the log until a rebuild.
        if models.days.kept() {
            models
                .days
                .stop("another process appended while this one was deciding");
        }
        let mut moved: Vec<String> = touched.into_iter().map(str::to_string).collect();
        for rec in self.store().read_all(expected_first) {
            let rec = rec?;
            if rec.position >= appended.first_position {
                break;
            }
            let logged = decode(&rec)?;
            let reversed = match &logged {
                Logged::Grant(event) => {
                    moved.push(event.data.determination_id().to_string());
                    reversed_target(self.store(), event)?
                }
                Logged::Access(_) => None,
            };
            models.apply_logged(&rec.actor, &logged, reversed.as_ref());
        }
        for write in models.writes(self.store(), moved.iter().map(String::as_str))? {
            self.store()
                .save_model(&write.name, appended.last_position, write.bytes)?;
        }
        Ok(())
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

/// The determinations a group's jobs touch.
fn touched(group: &[(u64, Job)]) -> Vec<String> {
    let mut ids: Vec<String> = group
        .iter()
        .filter_map(|(_, job)| match &job.op {
            Op::Grant(command) => Some(command.determination_id().trim().to_string()),
            Op::Access(_) => None,
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Each job's answer once the group's append (if any) is done: `entries` are the appended
/// events in position order, laid out as `order` (stream, events) says.
fn resolve(
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

/// What reversing an event of this kind needs permission for.
fn reversal_action(target: &EventData) -> Action<'_> {
    match target {
        EventData::FundsSpent(spent) => Action::ReverseSpend {
            region: &spent.region,
        },
        // Reversing a reversal or a determination is refused by the rules; finance may ask.
        _ => Action::ReverseMoney,
    }
}

/// `Ok` when `caller` may do `action`; the owner of a local ledger may do everything.
pub(crate) fn permit(caller: &Caller, action: Action<'_>) -> Result<(), LedgerError> {
    match &caller.role {
        None => Ok(()),
        Some(role) => Ok(authorize(&caller.name, role, action)?),
    }
}

/// The event type names of both families, for `history --type`.
pub fn event_type_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
    names.extend([
        grant_ledger_domain::ACCESS_GRANTED,
        grant_ledger_domain::ACCESS_REVOKED,
        grant_ledger_domain::MODELS_REBUILT,
    ]);
    names
}
