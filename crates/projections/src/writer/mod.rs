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
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::thread::{self, Thread};

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

/// Where a job's answer goes.
pub(crate) enum Reply {
    /// A caller blocked in `submit`: the answer is posted in the queue and the thread woken.
    Parked(Thread),
    /// A caller that does not wait (see [`Ledger::record_then`]): handed the answer.
    Then(Box<dyn FnOnce(Result<Recorded, LedgerError>) + Send>),
}

/// The commands waiting for the writer and the answers not yet collected, behind one lock
/// that also says whether a thread is leading.
#[derive(Default)]
pub(crate) struct Queue {
    waiting: Vec<(u64, Job, Reply)>,
    answers: HashMap<u64, Result<Recorded, LedgerError>>,
    next_ticket: u64,
    leading: bool,
    /// The writer thread that leads for callers that do not wait, once one has come.
    writer: Option<Thread>,
}

impl Queue {
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    fn ticket(&mut self) -> u64 {
        let ticket = self.next_ticket;
        self.next_ticket = self.next_ticket.wrapping_add(1);
        ticket
    }
}

/// The queue. Its waiters are woken one by one (`Thread::unpark`), never all at once: a
/// group's leader wakes the threads it answered and whoever leads next, so the others sleep
/// through commits they are not in.
#[derive(Default)]
pub(crate) struct WriteQueue {
    pub state: Mutex<Queue>,
}

impl Drop for WriteQueue {
    fn drop(&mut self) {
        // The ledger is gone: its writer thread wakes, finds no ledger and ends.
        if let Some(writer) = &lock(&self.state).writer {
            writer.unpark();
        }
    }
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
        let ticket = queue.ticket();
        queue
            .waiting
            .push((ticket, job, Reply::Parked(thread::current())));
        loop {
            if let Some(answer) = queue.answers.remove(&ticket) {
                return answer;
            }
            if !queue.leading {
                queue.leading = true;
                queue = self.lead(queue);
                continue;
            }
            // A wake-up (or a spurious return) only means: look again.
            drop(queue);
            thread::park();
            queue = lock(&self.writes.state);
        }
    }

    /// Queues `job` without waiting: `done` is called with its answer, on the thread that
    /// led its group. A writer thread, started with the first such job, leads whenever one
    /// waits and nobody else leads.
    fn submit_then(
        self: &Arc<Self>,
        job: Job,
        done: Box<dyn FnOnce(Result<Recorded, LedgerError>) + Send>,
    ) where
        S: 'static,
    {
        let mut queue = lock(&self.writes.state);
        let writer = match &queue.writer {
            Some(writer) => writer.clone(),
            None => {
                let ledger = Arc::downgrade(self);
                match thread::Builder::new()
                    .name("ledger-writer".into())
                    .spawn(move || writer_thread(ledger))
                {
                    Ok(handle) => {
                        queue.writer = Some(handle.thread().clone());
                        handle.thread().clone()
                    }
                    Err(e) => {
                        drop(queue);
                        return done(Err(LedgerError::corrupt(format!(
                            "the ledger's writer thread could not start ({e})"
                        ))));
                    }
                }
            }
        };
        let ticket = queue.ticket();
        queue.waiting.push((ticket, job, Reply::Then(done)));
        let idle = !queue.leading;
        drop(queue);
        if idle {
            writer.unpark();
        }
    }

    /// Leads one group: takes the queued jobs (up to [`MAX_GROUP`]), commits them, posts or
    /// hands over every answer, steps down and wakes whoever leads next. Called with
    /// `leading` just set; returns the queue locked again.
    fn lead<'q>(&'q self, mut queue: MutexGuard<'q, Queue>) -> MutexGuard<'q, Queue> {
        let n = queue.waiting.len().min(MAX_GROUP);
        let mut group = Vec::with_capacity(n);
        let mut replies = Vec::with_capacity(n);
        for (ticket, job, reply) in queue.waiting.drain(..n) {
            group.push((ticket, job));
            replies.push(reply);
        }
        drop(queue);
        let answers = {
            let mut models = self.lock();
            self.commit_group(&mut models, &group)
        };
        let mut wake = Vec::with_capacity(n + 1);
        let mut handed = Vec::new();
        let mut queue = lock(&self.writes.state);
        for (((ticket, _), reply), answer) in group.iter().zip(replies).zip(answers) {
            match reply {
                Reply::Parked(thread) => {
                    queue.answers.insert(*ticket, answer);
                    wake.push(thread);
                }
                Reply::Then(done) => handed.push((done, answer)),
            }
        }
        queue.leading = false;
        // Those answered return; the oldest of the rest (if any) leads next, or the writer
        // thread for it if it does not wait.
        match queue.waiting.first() {
            Some((_, _, Reply::Parked(thread))) => wake.push(thread.clone()),
            Some((_, _, Reply::Then(_))) => wake.extend(queue.writer.clone()),
            None => {}
        }
        drop(queue);
        let me = thread::current().id();
        for thread in wake.iter().filter(|t| t.id() != me) {
            thread.unpark();
        }
        for (done, answer) in handed {
            done(answer);
        }
        lock(&self.writes.state)
    }
}

/// The writer thread: leads while jobs wait and nobody else leads, sleeps otherwise, and
/// ends once its ledger is gone (it holds the ledger only while it leads).
fn writer_thread<S: EventStore + 'static>(ledger: Weak<Ledger<S>>) {
    while let Some(ledger) = ledger.upgrade() {
        let mut queue = lock(&ledger.writes.state);
        while !queue.leading && !queue.waiting.is_empty() {
            queue.leading = true;
            queue = ledger.lead(queue);
        }
        drop(queue);
        drop(ledger);
        thread::park();
    }
}
