//! The endpoints of the HTTP contract. Each handler authenticates the caller, turns the
//! request into the application layer's typed request (parsing money and dates with the
//! same parser as the command line), runs it off the async threads (the ledger's calls
//! block on the disk), and serialises the answer exactly as `--format json` prints it.
//!
//! Split by idea: `determinations`, `recording`, `queries`, `history`, `access`; this module holds the router and
//! what every handler shares.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use grant_ledger_projections::{
    input, may_read, Caller, ErrorKind, Ledger, LedgerError, Recorded, Recording, Session,
};
use grant_ledger_store::EventStore;
use serde::Serialize;

use crate::auth;
use crate::body;
use crate::problem::Problem;

mod access;
mod determinations;
mod history;
mod lifecycle;
mod queries;
mod recording;

pub use access::*;
pub use determinations::*;
pub use history::*;
pub use lifecycle::*;
pub use queries::*;
pub use recording::*;

/// What every handler shares.
pub struct AppState<S: EventStore> {
    pub ledger: Arc<Ledger<S>>,
    /// Woken with the new head after every commit, for the event stream.
    pub head: tokio::sync::watch::Receiver<u64>,
    /// Turns true when the server begins to stop, so event streams end at once instead of
    /// holding the stop up for as long as a client listens.
    pub stopping: tokio::sync::watch::Receiver<bool>,
}

impl<S: EventStore> Clone for AppState<S> {
    fn clone(&self) -> Self {
        AppState {
            ledger: Arc::clone(&self.ledger),
            head: self.head.clone(),
            stopping: self.stopping.clone(),
        }
    }
}

type Answer = Result<Response, Problem>;

/// Every endpoint of `/api/v1`, `/healthz`, the web pages (`crate::web`), and the 404 for
/// any other path.
pub fn router<S: EventStore + 'static>(state: AppState<S>) -> Router {
    let api = Router::new()
        .route(
            "/determinations",
            post(import_determination::<S>).get(list_determinations::<S>),
        )
        .route("/determinations/{id}", get(show_determination::<S>))
        .route("/determinations/{id}/check", get(check_determination::<S>))
        .route(
            "/determinations/{id}/withdrawal",
            post(withdraw_determination::<S>),
        )
        .route(
            "/determinations/{id}/variations",
            post(vary_determination::<S>),
        )
        .route("/payments", post(pay::<S>))
        .route("/spends", post(spend::<S>))
        .route("/spends/import", post(import_spends::<S>))
        .route("/recoveries", post(recover::<S>))
        .route("/reversals", post(reverse::<S>))
        .route("/balances", get(balances::<S>))
        .route("/deadlines", get(deadlines::<S>))
        .route("/spend-report", get(spend_report::<S>))
        .route("/history", get(history::<S>))
        .route("/verify", get(verify::<S>))
        .route("/checkpoint", get(checkpoint::<S>))
        .route("/events/stream", get(crate::events::stream::<S>))
        .route("/access", post(grant_access::<S>).get(list_access::<S>))
        .route("/access/{name}", delete(revoke_access::<S>))
        .route("/rebuild", post(rebuild::<S>))
        .route("/export/360giving", get(export_360giving::<S>))
        .route("/openapi.json", get(crate::openapi::document))
        .fallback(no_such_path)
        .method_not_allowed_fallback(no_such_method);
    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(healthz::<S>))
        .fallback(no_such_path)
        .with_state(state.clone())
        .merge(crate::web::router(state.clone()))
        .layer(axum::middleware::from_fn_with_state(
            state,
            crate::damage::refuse_when_damaged::<S>,
        ))
}

async fn no_such_path() -> Problem {
    Problem::new(ErrorKind::NotFound, "there is no such path on this server")
}

async fn no_such_method() -> Problem {
    Problem::new(ErrorKind::NotFound, "this path does not take that method")
        .with_status(StatusCode::METHOD_NOT_ALLOWED)
}

/// Runs `f` with the caller's session on a blocking thread.
async fn blocking<S, T, F>(state: &AppState<S>, caller: Caller, f: F) -> Result<T, Problem>
where
    S: EventStore + 'static,
    T: Send + 'static,
    F: FnOnce(&Session<S>) -> Result<T, LedgerError> + Send + 'static,
{
    let session = Session::new(Arc::clone(&state.ledger), caller);
    tokio::task::spawn_blocking(move || f(&session))
        .await
        .map_err(|_| stopped())?
        .map_err(Problem::from)
}

/// Records a payment, spend or recovery without holding a thread while it waits: the
/// ledger's writer answers once the command is committed and fsynced.
async fn recording<S: EventStore + 'static>(
    state: &AppState<S>,
    caller: Caller,
    key: Option<String>,
    request: Recording,
) -> Result<Recorded, Problem> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    Session::new(Arc::clone(&state.ledger), caller).record_then(
        key.as_deref(),
        request,
        move |answer| {
            // The request may have been given up meanwhile; its answer is then unread.
            let _ = tx.send(answer);
        },
    );
    rx.await.map_err(|_| stopped())?.map_err(Problem::from)
}

/// A request whose ledger call ended without an answer (an internal error).
fn stopped() -> Problem {
    Problem::new(
        ErrorKind::Unavailable,
        "the server stopped this request on an internal error; nothing more was written",
    )
}

/// The caller of a query: any role may read.
fn reader<S: EventStore>(state: &AppState<S>, headers: &HeaderMap) -> Result<Caller, Problem> {
    let caller = auth::caller(&state.ledger, headers)?;
    may_read(&caller)?;
    Ok(caller)
}

/// The `Idempotency-Key` of a request, trimmed; empty is malformed.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Problem> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(value) => {
            let key = value.to_str().map(str::trim).unwrap_or("");
            if key.is_empty() {
                return Err(Problem::malformed(
                    "the Idempotency-Key header is empty; give a key or leave the header out",
                ));
            }
            Ok(Some(key.to_string()))
        }
    }
}

/// What a JSON write needs: its body, read first (so that a refusal is answered rather
/// than cut off while the client is still sending), its caller, its idempotency key, and the
/// body decoded as `T`.
async fn json_write<S: EventStore + 'static, T: serde::de::DeserializeOwned>(
    state: &AppState<S>,
    headers: &HeaderMap,
    request: Body,
) -> Result<(Caller, Option<String>, T), Problem> {
    let bytes = body::read(request).await?;
    let caller = auth::caller(&state.ledger, headers)?;
    let key = idempotency_key(headers)?;
    body::require(headers, &["application/json"])?;
    Ok((caller, key, body::json(&bytes)?))
}

/// JSON with the contract's content type.
fn json_response(status: StatusCode, value: &impl Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => {
            let mut response = (status, bytes).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
            response
        }
        Err(e) => Problem::new(
            ErrorKind::Unavailable,
            format!("the answer could not be encoded: {e}"),
        )
        .into_response(),
    }
}

/// A recording command's answer: 201 and the event (as the history object), marked as a
/// repeat when the key was already recorded.
fn recorded(recorded: Recorded, keyed: bool) -> Response {
    let mut response = match recorded.events.as_slice() {
        [one] => json_response(StatusCode::CREATED, one),
        many => json_response(StatusCode::CREATED, &many),
    };
    if recorded.duplicate && keyed {
        response
            .headers_mut()
            .insert("idempotency-hit", HeaderValue::from_static("true"));
    }
    response
}

fn money(field: &str, text: &str) -> Result<grant_ledger_domain::Money, Problem> {
    Ok(input::money(field, text)?)
}

fn date(field: &str, text: &str) -> Result<chrono::NaiveDate, Problem> {
    Ok(input::date(field, text)?)
}

fn opt_date(field: &str, text: Option<&str>) -> Result<Option<chrono::NaiveDate>, Problem> {
    Ok(input::opt_date(field, text)?)
}

/// A date parameter that defaults to the server's today, as the command line's do.
fn date_or_today(field: &str, text: Option<&str>) -> Result<chrono::NaiveDate, Problem> {
    Ok(input::date_or_today(field, text)?)
}

/// A true-or-false query parameter; absent is false.
fn flag(field: &str, text: Option<&str>) -> Result<bool, Problem> {
    match text.map(str::trim) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(Problem::malformed(format!(
            "{field} \"{}\" is not true or false",
            grant_ledger_domain::echo(other)
        ))),
    }
}
