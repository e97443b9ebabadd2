//! One group decided and committed: each job decided in arrival order against the draft
//! the earlier ones left, the accepted ones' events and the touched models appended at
//! once, and the models installed after the append.

use std::collections::{BTreeMap, HashMap};

use grant_ledger_domain::{decide, decide_access, Command, EventData, ACCESS_STREAM};
use grant_ledger_store::{
    AppendOutcome, AppendRequest, Appended, ErrorKind as StoreKind, EventStore, ExpectedVersion,
    NewEvent, StreamBatch,
};

use super::answers::resolve;
use super::{copy, Job, Op, MAX_WRITE_ATTEMPTS};
use crate::codec::{decode, new_access_event, new_event, Logged};
use crate::error::LedgerError;
use crate::ledger::Ledger;
use crate::projection::{reversed_target, Projections};
use crate::rows::Recorded;

/// What deciding one job of a group came to.
pub(super) enum Decided {
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

impl<S: EventStore> Ledger<S> {
    /// Decides and commits one group; the answers are in the group's order.
    pub(super) fn commit_group(
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

    pub(super) fn try_group(
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
    pub(super) fn decide_job<'a>(
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
    pub(super) fn decide_op(
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
                let state = draft.states.get(id).map_or(&fresh, |s| &**s);
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
                    draft.access_mut().apply(event, &job.actor);
                    out.push(with_actor(new_access_event(event, key)));
                }
                Ok(Some((ACCESS_STREAM.to_string(), out)))
            }
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
