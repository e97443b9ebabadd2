//! The endpoints of the HTTP contract. Each handler authenticates the caller, turns the
//! request into the application layer's typed request (parsing money and dates with the
//! same parser as the command line), runs it off the async threads (the ledger's calls
//! block on the disk), and serialises the answer exactly as `--format json` prints it.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;
use grant_ledger_domain::{builtin, parse_determination, Role, BUILTIN_IDS};
use grant_ledger_projections::{
    event_type_names, input, may_read, Api, BalancesQuery, Caller, DeadlinesQuery,
    DeterminationSource, ErrorKind, ExportRequest, HistoryFilter, Ledger, LedgerError, PayRequest,
    Recorded, RecoverRequest, ReverseRequest, Session, SpendReportQuery, SpendRequest,
    DEFAULT_PREFIX,
};
use grant_ledger_store::EventStore;
use serde::{Deserialize, Serialize};

use crate::auth;
use crate::body;
use crate::problem::Problem;

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

/// How much of a history answer is gathered before it is sent on.
const HISTORY_CHUNK_BYTES: usize = 64 << 10;

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
        .route("/events/stream", get(crate::events::stream::<S>))
        .route("/access", post(grant_access::<S>).get(list_access::<S>))
        .route("/access/{name}", delete(revoke_access::<S>))
        .route("/export/360giving", get(export_360giving::<S>))
        .route("/openapi.json", get(crate::openapi::document))
        .fallback(no_such_path)
        .method_not_allowed_fallback(no_such_method);
    Router::new()
        .nest("/api/v1", api)
        .route("/healthz", get(healthz::<S>))
        .fallback(no_such_path)
        .with_state(state.clone())
        .merge(crate::web::router(state))
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
        .map_err(|_| {
            Problem::new(
                ErrorKind::Unavailable,
                "the server stopped this request on an internal error; nothing more was written",
            )
        })?
        .map_err(Problem::from)
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

// ---------------------------------------------------------------- determinations

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BuiltinBody {
    builtin: String,
}

/// Import a determination file (TOML), or a built-in determination.
#[utoipa::path(post, path = "/api/v1/determinations", tag = "determinations",
    request_body(content_type = "application/toml", description = "a determination file, or JSON {\"builtin\": \"31/7421\"}"),
    responses((status = 201, description = "the DeterminationMade event"), (status = 200, description = "identical to one already imported")))]
pub async fn import_determination<S: EventStore + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    request: Body,
) -> Answer {
    // The body is read before the caller is known, so that a refusal is answered rather than
    // cut off while the client is still sending.
    let bytes = body::read(request).await?;
    let caller = auth::caller(&state.ledger, &headers)?;
    let key = idempotency_key(&headers)?;
    let media = body::require(&headers, &["application/toml", "application/json"])?;
    let (source, determination) = if media == "application/json" {
        let asked: BuiltinBody = body::json(&bytes)?;
        match builtin(&asked.builtin) {
            Some(Ok(d)) => (DeterminationSource::Builtin(asked.builtin), d),
            Some(Err(e)) => {
                return Err(Problem::new(
                    ErrorKind::Unavailable,
                    format!(
                        "the built-in determination {} does not parse: {e}",
                        asked.builtin
                    ),
                ))
            }
            None => {
                return Err(Problem::new(
                    ErrorKind::Refused,
                    format!(
                        "there is no built-in determination {}; the built-in ones are {}",
                        asked.builtin.trim(),
                        BUILTIN_IDS.join(", ")
                    ),
                ))
            }
        }
    } else {
        let text = String::from_utf8(bytes.to_vec())
            .map_err(|_| Problem::malformed("the determination file is not UTF-8 text"))?;
        let parsed = parse_determination(&text).map_err(LedgerError::from)?;
        (DeterminationSource::Toml(text), parsed)
    };
    let answer = blocking(&state, caller, move |s| {
        s.import_determination(key.as_deref(), &source, determination)
    })
    .await?;
    let identical = answer.duplicate;
    let mut response = recorded(answer, true);
    if identical {
        *response.status_mut() = StatusCode::OK;
    }
    Ok(response)
}

/// Every determination, as `determination list`.
#[utoipa::path(get, path = "/api/v1/determinations", tag = "determinations", responses((status = 200, description = "as determination list")))]
pub async fn list_determinations<S: EventStore + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
) -> Answer {
    let caller = reader(&state, &headers)?;
    let rows = blocking(&state, caller, |s| s.determinations()).await?;
    Ok(json_response(StatusCode::OK, &rows))
}

/// One determination, as `determination show`.
#[utoipa::path(get, path = "/api/v1/determinations/{id}", tag = "determinations",
    params(("id" = String, Path, description = "the determination id, percent-encoded (31%2F7421)")),
    responses((status = 200, description = "as determination show")))]
pub async fn show_determination<S: EventStore + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    let caller = reader(&state, &headers)?;
    let d = blocking(&state, caller, move |s| s.determination(&id)).await?;
    Ok(json_response(StatusCode::OK, &d))
}

#[derive(Deserialize)]
pub struct CheckParams {
    workings: Option<String>,
}

/// The formula check, as `determination check` (`workings=true`: `--workings`).
#[utoipa::path(get, path = "/api/v1/determinations/{id}/check", tag = "determinations",
    params(("id" = String, Path, description = "the determination id, percent-encoded"), ("workings" = Option<bool>, Query, description = "only the stated workings that do not equal their amount")),
    responses((status = 200, description = "as determination check")))]
pub async fn check_determination<S: EventStore + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(params): Query<CheckParams>,
) -> Answer {
    let caller = reader(&state, &headers)?;
    let workings = match params.workings.as_deref().map(str::trim) {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(Problem::malformed(format!(
                "workings \"{other}\" is not true or false"
            )))
        }
    };
    let check = blocking(&state, caller, move |s| s.check(&id)).await?;
    Ok(if workings {
        json_response(StatusCode::OK, &check.workings)
    } else {
        json_response(StatusCode::OK, &check.regions)
    })
}

// ---------------------------------------------------------------- recording

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PayBody {
    determination: String,
    region: String,
    amount: String,
    date: String,
    reference: Option<String>,
    late_reason: Option<String>,
}

/// Record a payment (finance).
#[utoipa::path(post, path = "/api/v1/payments", tag = "recording",
    request_body(content_type = "application/json", description = "{determination, region, amount, date, reference?, late_reason?}"),
    responses((status = 201, description = "the PaymentIssued event")))]
pub async fn pay<S: EventStore + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    request: Body,
) -> Answer {
    let (caller, key, b) = json_write::<S, PayBody>(&state, &headers, request).await?;
    let request = PayRequest {
        amount: money("amount", &b.amount)?,
        date: date("date", &b.date)?,
        determination: b.determination,
        region: b.region,
        reference: b.reference,
        late_reason: b.late_reason,
    };
    let keyed = key.is_some();
    let answer = blocking(&state, caller, move |s| s.pay(key.as_deref(), request)).await?;
    Ok(recorded(answer, keyed))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpendBody {
    determination: String,
    region: String,
    amount: String,
    date: String,
    purpose: String,
    authority: Option<String>,
    description: Option<String>,
    reference: Option<String>,
}

/// Record spend (a region, for its own region only).
#[utoipa::path(post, path = "/api/v1/spends", tag = "recording",
    request_body(content_type = "application/json", description = "{determination, region, amount, date, purpose, authority?, description?, reference?}"),
    responses((status = 201, description = "the FundsSpent event"), (status = 403, description = "another region's spend")))]
pub async fn spend<S: EventStore + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    request: Body,
) -> Answer {
    let (caller, key, b) = json_write::<S, SpendBody>(&state, &headers, request).await?;
    let request = SpendRequest {
        amount: money("amount", &b.amount)?,
        date: date("date", &b.date)?,
        determination: b.determination,
        region: b.region,
        purpose: b.purpose,
        authority: b.authority,
        description: b.description,
        reference: b.reference,
    };
    let keyed = key.is_some();
    let answer = blocking(&state, caller, move |s| s.spend(key.as_deref(), request)).await?;
    Ok(recorded(answer, keyed))
}

/// Record many spends from a CSV body, all rows or none (a region, its own rows only).
#[utoipa::path(post, path = "/api/v1/spends/import", tag = "recording",
    request_body(content_type = "text/csv", description = "the spend-import format"),
    responses((status = 201, description = "{imported, skipped, first_position, last_position}")))]
pub async fn import_spends<S: EventStore + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    request: Body,
) -> Answer {
    let bytes = body::read(request).await?;
    let caller = auth::caller(&state.ledger, &headers)?;
    let key = idempotency_key(&headers)?;
    body::require(&headers, &["text/csv"])?;
    let keyed = key.is_some();
    let summary = blocking(&state, caller, move |s| {
        s.import_spends(
            key.as_deref(),
            Box::new(std::io::Cursor::new(bytes)),
            &mut |_| {},
        )
    })
    .await?;
    let mut response = json_response(StatusCode::CREATED, &summary);
    if keyed && summary.duplicate {
        response
            .headers_mut()
            .insert("idempotency-hit", HeaderValue::from_static("true"));
    }
    Ok(response)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecoverBody {
    determination: String,
    region: String,
    amount: String,
    date: String,
    reason: String,
}

/// Record grant recovered (finance).
#[utoipa::path(post, path = "/api/v1/recoveries", tag = "recording",
    request_body(content_type = "application/json", description = "{determination, region, amount, date, reason}"),
    responses((status = 201, description = "the GrantRecovered event")))]
pub async fn recover<S: EventStore + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    request: Body,
) -> Answer {
    let (caller, key, b) = json_write::<S, RecoverBody>(&state, &headers, request).await?;
    let request = RecoverRequest {
        amount: money("amount", &b.amount)?,
        date: date("date", &b.date)?,
        determination: b.determination,
        region: b.region,
        reason: b.reason,
    };
    let keyed = key.is_some();
    let answer = blocking(&state, caller, move |s| s.recover(key.as_deref(), request)).await?;
    Ok(recorded(answer, keyed))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReverseBody {
    event: serde_json::Value,
    reason: String,
    date: Option<String>,
}

/// Reverse a payment, spend or recovery (finance any; a region its own spends).
#[utoipa::path(post, path = "/api/v1/reversals", tag = "recording",
    request_body(content_type = "application/json", description = "{event (an event id or a position), reason, date?}"),
    responses((status = 201, description = "the EventReversed event"), (status = 404, description = "no such event")))]
pub async fn reverse<S: EventStore + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    request: Body,
) -> Answer {
    let (caller, key, b) = json_write::<S, ReverseBody>(&state, &headers, request).await?;
    let event = match b.event {
        serde_json::Value::String(text) => text,
        serde_json::Value::Number(n) => n.to_string(),
        _ => {
            return Err(Problem::malformed(
                "event must be an event id or a position",
            ))
        }
    };
    let request = ReverseRequest {
        date: opt_date("date", b.date.as_deref())?,
        event,
        reason: b.reason,
    };
    let keyed = key.is_some();
    let answer = blocking(&state, caller, move |s| s.reverse(key.as_deref(), request)).await?;
    Ok(recorded(answer, keyed))
}

// ---------------------------------------------------------------- queries

#[derive(Deserialize)]
pub struct BalancesParams {
    determination: Option<String>,
    region: Option<String>,
    as_of: Option<String>,
}

/// One row per allocation, as `balances`.
#[utoipa::path(get, path = "/api/v1/balances", tag = "queries",
    params(("determination" = Option<String>, Query), ("region" = Option<String>, Query), ("as_of" = Option<String>, Query, description = "YYYY-MM-DD")),
    responses((status = 200, description = "as balances")))]
pub async fn balances<S: EventStore + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Query(p): Query<BalancesParams>,
) -> Answer {
    let caller = reader(&state, &headers)?;
    let query = BalancesQuery {
        as_of: opt_date("as_of", p.as_of.as_deref())?,
        determination: p.determination,
        region: p.region,
    };
    let rows = blocking(&state, caller, move |s| s.balances(&query)).await?;
    Ok(json_response(StatusCode::OK, &rows))
}

#[derive(Deserialize)]
pub struct DeadlinesParams {
    determination: Option<String>,
    today: Option<String>,
}

/// Each allocation against its deadline, as `deadlines` (`today` defaults to the
/// server's date).
#[utoipa::path(get, path = "/api/v1/deadlines", tag = "queries",
    params(("determination" = Option<String>, Query), ("today" = Option<String>, Query, description = "YYYY-MM-DD")),
    responses((status = 200, description = "as deadlines")))]
pub async fn deadlines<S: EventStore + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Query(p): Query<DeadlinesParams>,
) -> Answer {
    let caller = reader(&state, &headers)?;
    let today =
        opt_date("today", p.today.as_deref())?.unwrap_or_else(|| chrono::Local::now().date_naive());
    let query = DeadlinesQuery {
        determination: p.determination,
        today,
    };
    let rows = blocking(&state, caller, move |s| s.deadlines(&query)).await?;
    Ok(json_response(StatusCode::OK, &rows))
}

#[derive(Deserialize)]
pub struct SpendReportParams {
    determination: Option<String>,
    region: Option<String>,
}

/// Spend per region and purpose, as `spend-report`.
#[utoipa::path(get, path = "/api/v1/spend-report", tag = "queries",
    params(("determination" = String, Query), ("region" = Option<String>, Query)),
    responses((status = 200, description = "as spend-report")))]
pub async fn spend_report<S: EventStore + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Query(p): Query<SpendReportParams>,
) -> Answer {
    let caller = reader(&state, &headers)?;
    let Some(determination) = p.determination.filter(|d| !d.trim().is_empty()) else {
        return Err(Problem::malformed(
            "spend-report needs the determination parameter",
        ));
    };
    let query = SpendReportQuery {
        determination,
        region: p.region,
    };
    let rows = blocking(&state, caller, move |s| s.spend_report(&query)).await?;
    Ok(json_response(StatusCode::OK, &rows))
}

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
        let names = event_type_names();
        let event_type = match self.event_type {
            None => None,
            Some(t) => Some(
                names
                    .iter()
                    .find(|n| n.eq_ignore_ascii_case(t.trim()))
                    .map(|n| n.to_string())
                    .ok_or_else(|| {
                        Problem::malformed(format!(
                            "type \"{}\" is not an event type; use one of {}",
                            t.trim(),
                            names.join(", ")
                        ))
                    })?,
            ),
        };
        let filter = HistoryFilter {
            region: self.region,
            event_type,
            since: opt_date("since", self.since.as_deref())?,
            until: opt_date("until", self.until.as_deref())?,
            limit: number("limit", self.limit)?.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            after: number("after", self.after)?,
            recorded_by: input::non_empty(self.recorded_by),
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

/// The audit trail, oldest first, as `history`.
#[utoipa::path(get, path = "/api/v1/history", tag = "queries",
    params(("region" = Option<String>, Query), ("type" = Option<String>, Query), ("since" = Option<String>, Query), ("until" = Option<String>, Query), ("limit" = Option<u64>, Query), ("after" = Option<u64>, Query, description = "only events at later positions"), ("recorded_by" = Option<String>, Query, description = "only events recorded by this actor")),
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

/// Re-reads every event and checks the chain and the stored models, as `verify`.
#[utoipa::path(get, path = "/api/v1/verify", tag = "queries",
    responses((status = 200, description = "{ok, events, head_position, head_hash, models}"), (status = 503, description = "names the first bad position")))]
pub async fn verify<S: EventStore + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
) -> Answer {
    let caller = reader(&state, &headers)?;
    let summary = blocking(&state, caller, |s| s.verify()).await?;
    Ok(json_response(StatusCode::OK, &summary))
}

// ---------------------------------------------------------------- access

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantBody {
    name: String,
    role: String,
}

/// Create an access token (admin); the token is shown only here.
#[utoipa::path(post, path = "/api/v1/access", tag = "access",
    request_body(content_type = "application/json", description = "{name, role}"),
    responses((status = 201, description = "{name, role, token}")))]
pub async fn grant_access<S: EventStore + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    request: Body,
) -> Answer {
    let (caller, key, b) = json_write::<S, GrantBody>(&state, &headers, request).await?;
    let role: Role = b
        .role
        .parse()
        .map_err(|e: grant_ledger_domain::DomainError| Problem::malformed(e.message()))?;
    let granted = blocking(&state, caller, move |s| {
        s.grant_access(key.as_deref(), &b.name, role)
    })
    .await?;
    Ok(json_response(StatusCode::CREATED, &granted))
}

/// Every grant (admin), never a token.
#[utoipa::path(get, path = "/api/v1/access", tag = "access",
    responses((status = 200, description = "[{name, role, granted_at, granted_by, revoked_at}]")))]
pub async fn list_access<S: EventStore + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
) -> Answer {
    let caller = auth::caller(&state.ledger, &headers)?;
    let rows = blocking(&state, caller, |s| s.list_access()).await?;
    Ok(json_response(StatusCode::OK, &rows))
}

/// Revoke a token (admin): it is refused from the next request on.
#[utoipa::path(delete, path = "/api/v1/access/{name}", tag = "access",
    params(("name" = String, Path)),
    responses((status = 200, description = "the AccessRevoked event")))]
pub async fn revoke_access<S: EventStore + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Answer {
    let caller = auth::caller(&state.ledger, &headers)?;
    let key = idempotency_key(&headers)?;
    let keyed = key.is_some();
    let answer = blocking(&state, caller, move |s| {
        s.revoke_access(key.as_deref(), &name)
    })
    .await?;
    let mut response = recorded(answer, keyed);
    *response.status_mut() = StatusCode::OK;
    Ok(response)
}

#[derive(Deserialize)]
pub struct ExportParams {
    determination: Option<String>,
    as_of: Option<String>,
    prefix: Option<String>,
    data_source: Option<String>,
}

/// The grants as 360Giving open data, as `export 360giving --format json`.
#[utoipa::path(get, path = "/api/v1/export/360giving", tag = "queries",
    params(("determination" = Option<String>, Query), ("as_of" = Option<String>, Query), ("prefix" = Option<String>, Query), ("data_source" = Option<String>, Query)),
    responses((status = 200, description = "a 360Giving 1.4 data package")))]
pub async fn export_360giving<S: EventStore + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Query(p): Query<ExportParams>,
) -> Answer {
    let caller = reader(&state, &headers)?;
    let request = ExportRequest {
        determination: p.determination,
        as_of: opt_date("as_of", p.as_of.as_deref())?,
        prefix: p
            .prefix
            .map(|p| p.trim().to_string())
            .unwrap_or_else(|| DEFAULT_PREFIX.to_string()),
        data_source: input::non_empty(p.data_source),
    };
    let package = blocking(&state, caller, move |s| s.export_360giving(&request)).await?;
    Ok(json_response(StatusCode::OK, &package))
}

/// `ok` while the ledger is open and readable.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "ok")))]
pub async fn healthz<S: EventStore + 'static>(State(state): State<AppState<S>>) -> Answer {
    let ledger = Arc::clone(&state.ledger);
    let readable = tokio::task::spawn_blocking(move || ledger.store().head().is_ok())
        .await
        .unwrap_or(false);
    if readable {
        Ok((StatusCode::OK, "ok").into_response())
    } else {
        Err(Problem::new(
            ErrorKind::Unavailable,
            "the ledger cannot be read",
        ))
    }
}
