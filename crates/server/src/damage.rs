//! A damaged ledger answers nothing: once the store has found damage (see the store's
//! damage latch), or a stored read model fails its seal, every request but `GET
//! /api/v1/verify` (which names the first bad position) and `POST /api/v1/rebuild` is
//! answered 503 with the store's one sentence, before any handler runs, so no page or
//! figure is served from what may be wrong, and nothing is written.
//!
//! Authentication comes first: a request under `/api/` with no token or a bad one is the
//! 401 it would be on a sound ledger, so the damage (and where it is) is told only to
//! those who hold a token. `/healthz` needs no token and says 503.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use grant_ledger_projections::ErrorKind;
use grant_ledger_store::EventStore;

use crate::problem::Problem;
use crate::routes::AppState;

/// Paths that still answer: the audit that finds (or clears) the damage, the rebuild that
/// mends a damaged read model (it reads only the log, and is refused if that is damaged),
/// and the contract.
const STILL_ANSWERED: &[&str] = &["/api/v1/verify", "/api/v1/rebuild", "/api/v1/openapi.json"];

pub async fn refuse_when_damaged<S: EventStore + 'static>(
    State(state): State<AppState<S>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if STILL_ANSWERED.contains(&path) {
        return next.run(request).await;
    }
    let Some(error) = state.ledger.damaged() else {
        return next.run(request).await;
    };
    if path.starts_with("/api/") {
        if let Err(refused) = crate::auth::caller(&state.ledger, request.headers()) {
            return refused.into_response();
        }
        Problem::new(ErrorKind::Unavailable, error.to_string()).into_response()
    } else if path == "/healthz" {
        Problem::new(ErrorKind::Unavailable, error.to_string()).into_response()
    } else {
        crate::web::damaged_page(&error)
    }
}
