//! The OpenAPI 3.1 document of the server, generated from the handlers' own annotations
//! (utoipa), so a route cannot be added without the document knowing it: a test compares
//! the document with the routes the server really answers.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;

use crate::{events, routes};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "grant-ledger",
        description = "The shared ledger of UK section 31 grant determinations. Every request under /api/ needs Authorization: Bearer TOKEN, except this document."
    ),
    paths(
        routes::import_determination,
        routes::list_determinations,
        routes::show_determination,
        routes::check_determination,
        routes::withdraw_determination,
        routes::vary_determination,
        routes::pay,
        routes::spend,
        routes::import_spends,
        routes::recover,
        routes::reverse,
        routes::balances,
        routes::deadlines,
        routes::spend_report,
        routes::history,
        routes::verify,
        routes::checkpoint,
        events::stream,
        routes::grant_access,
        routes::list_access,
        routes::revoke_access,
        routes::rebuild,
        routes::export_360giving,
        document,
        routes::healthz,
    )
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations", responses((status = 200, description = "this OpenAPI 3.1 document")))]
pub async fn document() -> Response {
    match ApiDoc::openapi().to_json() {
        Ok(json) => (
            StatusCode::OK,
            [(
                axum::http::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            )],
            json,
        )
            .into_response(),
        Err(e) => crate::problem::Problem::new(
            grant_ledger_projections::ErrorKind::Unavailable,
            format!("the OpenAPI document could not be encoded: {e}"),
        )
        .into_response(),
    }
}
