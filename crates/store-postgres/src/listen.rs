//! The wake-up for other processes' commits: a thread that LISTENs on the ledger's channel
//! and calls back with each committed head position.
//!
//! A notification is only a hint: it can be lost while the connection is down, so after
//! every reconnect the callback is called once anyway (with position 0, "look"), and the
//! caller re-reads the log, which is the truth.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;
use postgres::Client;

use crate::connect::Connector;

/// How often the thread looks whether its store was dropped.
const POLL: Duration = Duration::from_millis(250);
/// How long to wait before reconnecting after the connection failed.
const RETRY: Duration = Duration::from_secs(1);

/// Stops the listener thread when dropped.
pub(crate) struct Listener {
    stop: Arc<AtomicBool>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// `LISTEN "channel"`, the channel quoted as an identifier.
fn listen_statement(channel: &str) -> String {
    format!("LISTEN \"{}\"", channel.replace('"', "\"\""))
}

fn listening(connector: &Connector, channel: &str) -> Option<Client> {
    let mut client = connector.connect().ok()?;
    client.batch_execute(&listen_statement(channel)).ok()?;
    Some(client)
}

/// Starts the thread. The first connection is made before returning, so a notification
/// of a commit made after `start` returns is not missed.
pub(crate) fn start(
    connector: Connector,
    channel: String,
    wake: Box<dyn Fn(u64) + Send + Sync>,
) -> Result<Listener, grant_ledger_store::StoreError> {
    let mut client = connector.connect()?;
    client
        .batch_execute(&listen_statement(&channel))
        .map_err(|e| crate::error::db(&e, "listening for commits"))?;
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = Arc::clone(&stop);
    std::thread::Builder::new()
        .name("grant-ledger-listen".into())
        .spawn(move || {
            let mut current = Some(client);
            while !stopped.load(Ordering::Relaxed) {
                let Some(client) = current.as_mut() else {
                    std::thread::sleep(RETRY);
                    current = listening(&connector, &channel);
                    if current.is_some() {
                        wake(0);
                    }
                    continue;
                };
                let mut lost = false;
                {
                    let mut notes = client.notifications();
                    let mut iter = notes.timeout_iter(POLL);
                    loop {
                        match iter.next() {
                            Ok(Some(n)) => wake(n.payload().parse().unwrap_or(0)),
                            Ok(None) => break,
                            Err(_) => {
                                lost = true;
                                break;
                            }
                        }
                    }
                }
                if lost || client.is_closed() {
                    current = None;
                }
            }
        })
        .map_err(grant_ledger_store::StoreError::Io)?;
    Ok(Listener { stop })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_is_quoted_as_an_identifier() {
        assert_eq!(listen_statement("a\"b"), "LISTEN \"a\"\"b\"");
    }
}
