//! Importing, listing, showing and checking determinations.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use grant_ledger_domain::{builtin, parse_determination, BUILTIN_IDS};
use grant_ledger_projections::{Api, ErrorKind, Imported, LedgerError};
use grant_ledger_store::EventStore;
use serde::Deserialize;

use super::{blocking, idempotency_key, json_response, reader, recorded, Answer, AppState};
use crate::auth;
use crate::body;
use crate::problem::Problem;

// ---------------------------------------------------------------- determinations

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BuiltinBody {
    builtin: String,
}

/// Import a determination file (TOML), or a built-in determination.
#[utoipa::path(post, path = "/api/v1/determinations", tag = "determinations",
    params(crate::openapi::KeyHeader),
    request_body(description = "a determination file (TOML), or JSON {\"builtin\": \"31/7421\"}",
        content(("application/toml"), ("application/json", example = json!({"builtin": "31/7421"})))),
    responses((status = 201, description = "the DeterminationMade event (a repeat of its Idempotency-Key too, with Idempotency-Hit: true)"), (status = 200, description = "identical to one already imported")))]
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
    let determination = if media == "application/json" {
        let asked: BuiltinBody = body::json(&bytes)?;
        match builtin(&asked.builtin) {
            Some(Ok(d)) => d,
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
        parse_determination(&text).map_err(LedgerError::from)?
    };
    let (answer, imported) = blocking(&state, caller, move |s| {
        s.ledger
            .import_determination(&s.caller, key.as_deref(), determination)
    })
    .await?;
    // Only a key's repeat is a hit, and it answers as the original did (201); an identical
    // re-import is the contract's 200 whether or not it came with a key.
    let mut response = recorded(answer, imported == Imported::KeyRepeat);
    if imported == Imported::Identical {
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
    let workings = super::flag("workings", params.workings.as_deref())?;
    let check = blocking(&state, caller, move |s| s.check(&id)).await?;
    Ok(if workings {
        json_response(StatusCode::OK, &check.workings)
    } else {
        json_response(StatusCode::OK, &check.regions)
    })
}
