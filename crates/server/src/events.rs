//! The event stream: every event after a position as one server-sent event each (`id:` its
//! position, `event:` its type, `data:` its history object), then each new one as it is
//! committed. A client that reconnects with `Last-Event-ID` (or `after`) resumes exactly
//! after the last event it saw: the log is the truth, the commit notice only a wake-up.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::Stream;
use grant_ledger_projections::Api;
use grant_ledger_projections::{HistoryEntry, HistoryFilter, Session};
use grant_ledger_store::EventStore;
use serde::Deserialize;
use std::sync::Arc;

use crate::problem::Problem;
use crate::routes::AppState;

/// Events read from the log per wake-up: bounds what one client holds at once.
const BATCH: usize = 256;

#[derive(Deserialize)]
pub struct StreamParams {
    after: Option<String>,
}

/// Streams the log (see the module).
#[utoipa::path(get, path = "/api/v1/events/stream", tag = "queries",
    params(("after" = Option<u64>, Query, description = "start after this position (or send Last-Event-ID)"),
        ("Last-Event-ID" = Option<u64>, Header, description = "the id of the last event the client saw: resume after it (taken before `after`)")),
    responses((status = 200, description = "text/event-stream, one message per event")))]
pub async fn stream<S: EventStore + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Query(params): Query<StreamParams>,
) -> Result<Response, Problem> {
    let caller = crate::auth::caller(&state.ledger, &headers)?;
    grant_ledger_projections::may_read(&caller)?;
    let after = resume_after(&headers, params.after.as_deref())?;
    let session = Arc::new(Session::new(Arc::clone(&state.ledger), caller));
    let events = follow(session, state.head.clone(), state.stopping.clone(), after);
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

/// The position to resume after: the `Last-Event-ID` header (what a reconnecting client
/// sends) before the `after` parameter, and 0 (the start) with neither. A bad one is
/// refused naming the one that was sent.
fn resume_after(headers: &HeaderMap, after: Option<&str>) -> Result<u64, Problem> {
    let (name, text) = match headers.get("last-event-id") {
        Some(value) => (
            "the Last-Event-ID header",
            value
                .to_str()
                .map_err(|_| Problem::malformed("the Last-Event-ID header is not a position"))?,
        ),
        None => match after {
            Some(text) => ("after", text),
            None => return Ok(0),
        },
    };
    match text.trim() {
        "" => Ok(0),
        text => text.parse::<u64>().map_err(|_| {
            Problem::malformed(format!(
                "{name} \"{}\" is not a position",
                grant_ledger_domain::echo(text)
            ))
        }),
    }
}

/// Every event after `after`, then each new one, for as long as the client listens.
fn follow<S: EventStore + 'static>(
    session: Arc<Session<S>>,
    mut head: tokio::sync::watch::Receiver<u64>,
    mut stopping: tokio::sync::watch::Receiver<bool>,
    after: u64,
) -> impl Stream<Item = Result<Event, Infallible>> {
    async_stream(move |yield_| async move {
        let mut cursor = after;
        loop {
            let from = cursor;
            let reader = Arc::clone(&session);
            let batch = tokio::task::spawn_blocking(move || {
                let filter = HistoryFilter {
                    after: Some(from),
                    limit: Some(BATCH),
                    ..HistoryFilter::default()
                };
                let mut out: Vec<HistoryEntry> = Vec::new();
                let read = reader.history(&filter, &mut |e| {
                    out.push(e);
                    Ok(())
                });
                read.map(|()| out)
            })
            .await;
            let batch = match batch {
                Ok(Ok(batch)) => batch,
                // A damaged or closing ledger ends the stream; the client reconnects.
                _ => return,
            };
            let full = batch.len() == BATCH;
            for entry in batch {
                cursor = entry.position;
                let data = serde_json::to_string(&entry).unwrap_or_default();
                let event = Event::default()
                    .id(entry.position.to_string())
                    .event(entry.event_type.clone())
                    .data(data);
                if !yield_.send(event).await {
                    return;
                }
            }
            if full {
                continue;
            }
            // Nothing more on record: wait until a commit moves the head past us, or the
            // server begins to stop (the client reconnects elsewhere with Last-Event-ID).
            while *head.borrow_and_update() <= cursor {
                if *stopping.borrow_and_update() {
                    return;
                }
                tokio::select! {
                    changed = head.changed() => if changed.is_err() { return },
                    _ = stopping.changed() => return,
                }
            }
        }
    })
}

/// A minimal generator: runs `body` with a sender and streams what it sends.
fn async_stream<F, Fut>(body: F) -> impl Stream<Item = Result<Event, Infallible>>
where
    F: FnOnce(Yield) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(64);
    tokio::spawn(body(Yield(tx)));
    futures_util::StreamExt::map(
        tokio_stream::wrappers::ReceiverStream::new(rx),
        Ok::<Event, Infallible>,
    )
}

/// The sending half of [`async_stream`].
pub struct Yield(tokio::sync::mpsc::Sender<Event>);

impl Yield {
    /// False once the client has gone.
    async fn send(&self, event: Event) -> bool {
        self.0.send(event).await.is_ok()
    }
}
