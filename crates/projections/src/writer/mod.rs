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
//!
//! This module holds the queue and who leads; `commands` the recording commands callers
//! make (each checks its permission and queues one job), `group` how a group is decided and
//! committed, `answers` how each job's answer is read back.

mod answers;
mod commands;
mod group;

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};

use grant_ledger_domain::{AccessCommand, Command};
use grant_ledger_store::EventStore;

use crate::error::LedgerError;
use crate::fingerprint::{access_fingerprint, fingerprint};
use crate::ledger::Ledger;
use crate::rows::Recorded;

pub use commands::event_type_names;
pub(crate) use commands::permit;

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
}
