//! The OpenAPI 3.1 document of the server, generated from the handlers' own annotations
//! (utoipa), so a route cannot be added without the document knowing it: a test compares
//! the document with the routes the server really answers. The bearer scheme is declared
//! once for every operation (the two that need no token say so), and every write documents
//! the `Idempotency-Key` header it takes.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi};

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
    ),
    modifiers(&BearerScheme),
    security(("bearer" = []))
)]
pub struct ApiDoc;

/// The name the bearer scheme has in the document's `components`.
const BEARER: &str = "bearer";

/// Adds the bearer token scheme every operation but two requires.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "a token made by `grant-ledger access grant` or POST /api/v1/access",
            ))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(BEARER, SecurityScheme::Http(scheme));
    }
}

/// The `Idempotency-Key` header of every write, for the document only (handlers read it
/// from the headers themselves).
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct KeyHeader {
    /// The command line's --key: a repeat with the same key and body answers the original
    /// status and body with Idempotency-Hit: true and appends nothing; the same key with a
    /// different request is 409.
    #[param(rename = "Idempotency-Key")]
    idempotency_key: Option<String>,
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations", security(()), responses((status = 200, description = "this OpenAPI 3.1 document")))]
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
