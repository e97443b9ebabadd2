//! The audit trail, streamed in chunks, and the parameters that filter it.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use grant_ledger_projections::{input, Api, ErrorKind, HistoryFilter, LedgerError, Session};
use grant_ledger_store::EventStore;
use serde::Deserialize;

use super::{blocking, opt_date, reader, Answer, AppState};
use crate::problem::Problem;

/// How much of a history answer is gathered before it is sent on.
const HISTORY_CHUNK_BYTES: usize = 64 << 10;

#[derive(Deserialize, Default)]
pub struct HistoryParams {
    pub region: Option<String>,
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub limit: Option<String>,
    pub after: Option<String>,
    pub recorded_by: Option<String>,
    pub determination: Option<String>,
    pub key: Option<String>,
    pub purpose: Option<String>,
    pub authority: Option<String>,
    pub newest_first: Option<String>,
}

impl HistoryParams {
    /// The filter these parameters ask for, or the sentence that says which is wrong.
    pub fn filter(self) -> Result<HistoryFilter, Problem> {
        let number = |name: &str, text: Option<String>| -> Result<Option<u64>, Problem> {
            text.map(|t| {
                t.trim().parse::<u64>().map_err(|_| {
                    Problem::malformed(format!("{name} \"{}\" is not a whole number", t.trim()))
                })
            })
            .transpose()
        };
        let event_type = self
            .event_type
            .as_deref()
            .map(|t| input::event_type("type", t))
            .transpose()?;
        let filter = HistoryFilter {
            region: self.region,
            event_type,
            since: opt_date("since", self.since.as_deref())?,
            until: opt_date("until", self.until.as_deref())?,
            limit: number("limit", self.limit)?.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            after: number("after", self.after)?,
            recorded_by: input::non_empty(self.recorded_by),
            determination: input::non_empty(self.determination),
            key: input::non_empty(self.key),
            purpose: input::non_empty(self.purpose),
            authority: input::non_empty(self.authority),
            newest_first: super::flag("newest_first", self.newest_first.as_deref())?,
        };
        if let (Some(since), Some(until)) = (filter.since, filter.until) {
            if since > until {
                return Err(Problem::malformed(format!(
                    "since {since} is after until {until}, so no event could match"
                )));
            }
        }
        Ok(filter)
    }
}

/// The audit trail, oldest first (or `newest_first=true`), as `history`.
#[utoipa::path(get, path = "/api/v1/history", tag = "queries",
    params(("region" = Option<String>, Query), ("type" = Option<String>, Query), ("since" = Option<String>, Query), ("until" = Option<String>, Query), ("limit" = Option<u64>, Query), ("after" = Option<u64>, Query, description = "only events at later positions"), ("recorded_by" = Option<String>, Query, description = "only events recorded by this actor"), ("determination" = Option<String>, Query, description = "only events of this determination"), ("key" = Option<String>, Query, description = "only events recorded with this idempotency key"), ("purpose" = Option<String>, Query, description = "only spend on this purpose, as spend names it"), ("authority" = Option<String>, Query, description = "only spend naming this authority, and payments to it as lead authority"), ("newest_first" = Option<bool>, Query, description = "newest first; after then keeps earlier positions")),
    responses((status = 200, description = "as history")))]
pub async fn history<S: EventStore + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Query(p): Query<HistoryParams>,
) -> Answer {
    let caller = reader(&state, &headers)?;
    let filter = p.filter()?;
    // Checked before the answer starts, so a bad region is a problem document, not a
    // broken stream.
    let check = HistoryFilter {
        limit: Some(0),
        ..filter.clone()
    };
    blocking(&state, caller.clone(), move |s| {
        s.history(&check, &mut |_| Ok(()))
    })
    .await?;
    // Streamed in chunks: the trail may be long, and neither side holds it whole.
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(8);
    let session = Session::new(Arc::clone(&state.ledger), caller);
    tokio::task::spawn_blocking(move || {
        let mut chunk = b"[".to_vec();
        let mut first = true;
        let read = session.history(&filter, &mut |entry| {
            chunk.extend_from_slice(if first { b"\n" } else { b",\n" });
            first = false;
            if let Err(e) = serde_json::to_writer(&mut chunk, &entry) {
                return Err(LedgerError::Reported {
                    kind: ErrorKind::Unavailable,
                    message: format!("an event could not be encoded: {e}"),
                });
            }
            if chunk.len() >= HISTORY_CHUNK_BYTES {
                let full = std::mem::take(&mut chunk);
                if tx.blocking_send(Ok(full)).is_err() {
                    return Err(LedgerError::Reported {
                        kind: ErrorKind::Unavailable,
                        message: "the client went away".to_string(),
                    });
                }
            }
            Ok(())
        });
        match read {
            Ok(()) => {
                chunk.extend_from_slice(if first { b"]" } else { b"\n]" });
                let _ = tx.blocking_send(Ok(chunk));
            }
            // Cut the body short: a client reading it sees an answer that does not parse.
            Err(e) => {
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
        }
    });
    let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    Ok(response)
}
