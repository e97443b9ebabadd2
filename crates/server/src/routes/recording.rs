//! The recording endpoints: payments, spends (one or a CSV import), recoveries, reversals.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use grant_ledger_projections::{
    Api, PayRequest, Recording, RecoverRequest, ReverseRequest, SpendRequest,
};
use grant_ledger_store::EventStore;
use serde::Deserialize;

use super::{
    blocking, date, idempotency_key, json_response, json_write, money, opt_date, recorded,
    recording, Answer, AppState,
};
use crate::auth;
use crate::body;
use crate::problem::Problem;

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
    params(crate::openapi::KeyHeader),
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
    let answer = recording(&state, caller, key, Recording::Pay(request)).await?;
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
    params(crate::openapi::KeyHeader),
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
    let answer = recording(&state, caller, key, Recording::Spend(request)).await?;
    Ok(recorded(answer, keyed))
}

/// Record many spends from a CSV body, all rows or none (a region, its own rows only).
#[utoipa::path(post, path = "/api/v1/spends/import", tag = "recording",
    params(crate::openapi::KeyHeader),
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
    params(crate::openapi::KeyHeader),
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
    let answer = recording(&state, caller, key, Recording::Recover(request)).await?;
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
    params(crate::openapi::KeyHeader),
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
