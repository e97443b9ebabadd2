//! The read-only endpoints answered from the read models: balances, deadlines, spend report,
//! verify, the signed checkpoint, the 360Giving export, and the health check.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use grant_ledger_projections::{
    input, Api, BalancesQuery, DeadlinesQuery, ErrorKind, ExportRequest, SpendReportBy,
    SpendReportQuery, DEFAULT_PREFIX,
};
use grant_ledger_store::EventStore;
use serde::Deserialize;

use super::{blocking, date_or_today, json_response, opt_date, reader, Answer, AppState};
use crate::problem::Problem;

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
    let today = date_or_today("today", p.today.as_deref())?;
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
    by: Option<String>,
    as_of: Option<String>,
}

/// Spend per region and purpose (or authority), as `spend-report`; without
/// `determination`, of every determination.
#[utoipa::path(get, path = "/api/v1/spend-report", tag = "queries",
    params(("determination" = Option<String>, Query, description = "one determination; every one when left out"), ("region" = Option<String>, Query), ("by" = Option<String>, Query, description = "purpose (the default) or authority"), ("as_of" = Option<String>, Query, description = "YYYY-MM-DD")),
    responses((status = 200, description = "as spend-report")))]
pub async fn spend_report<S: EventStore + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Query(p): Query<SpendReportParams>,
) -> Answer {
    let caller = reader(&state, &headers)?;
    let query = SpendReportQuery {
        determination: input::non_empty(p.determination),
        region: p.region,
        by: match p.by.as_deref() {
            None => SpendReportBy::default(),
            Some(by) => SpendReportBy::parse("by", by)?,
        },
        as_of: opt_date("as_of", p.as_of.as_deref())?,
    };
    let rows = blocking(&state, caller, move |s| s.spend_report(&query)).await?;
    Ok(json_response(StatusCode::OK, &rows))
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

/// A signed receipt of the ledger's head, as `checkpoint`; nothing is recorded.
#[utoipa::path(get, path = "/api/v1/checkpoint", tag = "queries",
    responses((status = 200, description = "{format, position, head_hash, time, public_key_id, public_key, signature}"), (status = 422, description = "the ledger holds no event yet"), (status = 503, description = "no signing key is configured, or the head does not match its event")))]
pub async fn checkpoint<S: EventStore + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
) -> Answer {
    let caller = reader(&state, &headers)?;
    let receipt = blocking(&state, caller, |s| s.checkpoint()).await?;
    Ok(json_response(StatusCode::OK, &receipt))
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
#[utoipa::path(get, path = "/healthz", tag = "operations", security(()), responses((status = 200, description = "ok")))]
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
