//! A determination's life after it is made: withdrawing it, and varying its allocations.
//! Both are the department's acts, so they take the role that imports a determination.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use grant_ledger_projections::{Api, VariedAmount, VaryRequest, WithdrawRequest};
use grant_ledger_store::EventStore;
use serde::Deserialize;

use super::{blocking, date_or_today, json_write, money, recorded, Answer, AppState};
use crate::problem::Problem;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WithdrawBody {
    reason: String,
    date: Option<String>,
}

/// The day a withdrawal or variation takes effect: `date`, else the server's local date.
fn effective(date: Option<&str>) -> Result<chrono::NaiveDate, Problem> {
    date_or_today("date", date)
}

/// Withdraw a determination nothing is paid on (admin).
#[utoipa::path(post, path = "/api/v1/determinations/{id}/withdrawal", tag = "determinations",
    params(("id" = String, Path, description = "the determination id, percent-encoded (31%2F7421)"), crate::openapi::KeyHeader),
    request_body(content_type = "application/json", description = "{reason, date?} (date: the server's local date when left out)"),
    responses((status = 201, description = "the DeterminationWithdrawn event")))]
pub async fn withdraw_determination<S: EventStore + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    request: Body,
) -> Answer {
    let (caller, key, b) = json_write::<S, WithdrawBody>(&state, &headers, request).await?;
    let request = WithdrawRequest {
        date: effective(b.date.as_deref())?,
        reason: b.reason,
    };
    let keyed = key.is_some();
    let answer = blocking(&state, caller, move |s| {
        s.withdraw(key.as_deref(), &id, request)
    })
    .await?;
    Ok(recorded(answer, keyed))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VariedBody {
    region: String,
    amount: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VaryBody {
    allocations: Vec<VariedBody>,
    reason: String,
    date: Option<String>,
}

/// Vary a determination's allocations (admin).
#[utoipa::path(post, path = "/api/v1/determinations/{id}/variations", tag = "determinations",
    params(("id" = String, Path, description = "the determination id, percent-encoded (31%2F7421)"), crate::openapi::KeyHeader),
    request_body(content_type = "application/json", description = "{allocations: [{region, amount}], reason, date?}: the regions that change; the others keep their allocation"),
    responses((status = 201, description = "the DeterminationVaried event")))]
pub async fn vary_determination<S: EventStore + 'static>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    request: Body,
) -> Answer {
    let (caller, key, b) = json_write::<S, VaryBody>(&state, &headers, request).await?;
    let allocations = b
        .allocations
        .into_iter()
        .enumerate()
        .map(|(index, a)| {
            Ok(VariedAmount {
                amount: money(&format!("allocations[{}].amount", index + 1), &a.amount)?,
                region: a.region,
            })
        })
        .collect::<Result<Vec<_>, Problem>>()?;
    let request = VaryRequest {
        allocations,
        date: effective(b.date.as_deref())?,
        reason: b.reason,
    };
    let keyed = key.is_some();
    let answer = blocking(&state, caller, move |s| {
        s.vary(key.as_deref(), &id, request)
    })
    .await?;
    Ok(recorded(answer, keyed))
}
