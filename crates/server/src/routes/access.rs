//! Administration (admin): access tokens granted, listed and revoked, and the read models
//! rebuilt from the log.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use grant_ledger_domain::Role;
use grant_ledger_projections::Api;
use grant_ledger_store::EventStore;
use serde::Deserialize;

use super::{blocking, idempotency_key, json_response, json_write, recorded, Answer, AppState};
use crate::auth;
use crate::problem::Problem;

// ---------------------------------------------------------------- access

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantBody {
    name: String,
    role: String,
}

/// Create an access token (admin); the token is shown only here.
#[utoipa::path(post, path = "/api/v1/access", tag = "access",
    params(crate::openapi::KeyHeader),
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
    params(("name" = String, Path), crate::openapi::KeyHeader),
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
#[serde(deny_unknown_fields)]
struct RebuildBody {
    reason: String,
}

/// Rebuild every read model from the log (admin), recorded as a `ModelsRebuilt` event.
#[utoipa::path(post, path = "/api/v1/rebuild", tag = "access",
    params(crate::openapi::KeyHeader),
    request_body(content_type = "application/json", description = "{reason}"),
    responses((status = 201, description = "the ModelsRebuilt event")))]
pub async fn rebuild<S: EventStore + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    request: Body,
) -> Answer {
    let (caller, key, b) = json_write::<S, RebuildBody>(&state, &headers, request).await?;
    let keyed = key.is_some();
    let rebuilt = blocking(&state, caller, move |s| {
        s.rebuild(key.as_deref(), &b.reason)
    })
    .await?;
    Ok(recorded(rebuilt, keyed))
}
