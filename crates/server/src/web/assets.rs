//! What the pages load besides themselves, all from this server: the stylesheet, the
//! live-update script, and the feed that script listens to (a server-sent event named
//! `commit` each time the ledger's head moves past the position the page was drawn at).
//! The feed carries only positions: the page reloads to read what changed, through the
//! same checks as any page.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use grant_ledger_store::EventStore;
use serde::Deserialize;

use super::WebState;

const STYLESHEET: &str = include_str!("../../static/app.css");
const SCRIPT: &str = include_str!("../../static/live.js");

/// Both files change only with the binary, so a browser may keep them for an hour.
const CACHE: &str = "public, max-age=3600";

pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, CACHE),
        ],
        STYLESHEET,
    )
        .into_response()
}

pub async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, CACHE),
        ],
        SCRIPT,
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct LiveParams {
    after: Option<String>,
}

/// The `commit` feed for a signed-in page.
pub async fn live<S: EventStore + 'static>(
    State(state): State<WebState<S>>,
    headers: HeaderMap,
    Query(params): Query<LiveParams>,
) -> Response {
    if super::viewer(&state, &headers, true).is_err() {
        return (StatusCode::UNAUTHORIZED, "not signed in").into_response();
    }
    // A browser reconnecting after the feed ended sends the last position it was told.
    let resumed = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let after = resumed
        .or(params.after)
        .and_then(|a| a.trim().parse::<u64>().ok())
        .unwrap_or_else(|| state.app.ledger.head_position());
    let mut head = state.app.head.clone();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Event, Infallible>>(4);
    tokio::spawn(async move {
        loop {
            let now = *head.borrow_and_update();
            if now > after {
                let event = Event::default()
                    .event("commit")
                    .id(now.to_string())
                    .data(now.to_string());
                let _ = tx.send(Ok(event)).await;
                return;
            }
            if head.changed().await.is_err() {
                return;
            }
        }
    });
    Sse::new(tokio_stream::wrappers::ReceiverStream::new(rx))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}
