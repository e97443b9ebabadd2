//! Request bodies: read whole within [`MAX_BODY_BYTES`] (413 beyond it), checked against the
//! content type the endpoint takes (415 otherwise), and JSON decoded into the endpoint's
//! body type with one sentence on failure.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use crate::problem::Problem;

/// The largest request body accepted: 16 MiB, as the contract says.
pub const MAX_BODY_BYTES: usize = 16 << 20;

/// The whole body, or 413.
pub async fn read(body: Body) -> Result<Bytes, Problem> {
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            Problem::malformed(format!(
                "the request body is larger than the limit of {} MiB",
                MAX_BODY_BYTES >> 20
            ))
            .with_status(StatusCode::PAYLOAD_TOO_LARGE)
        })
}

/// The media type of the request, lower case, without parameters.
pub fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// 415 unless the request's media type is one of `accepted`.
pub fn require(headers: &HeaderMap, accepted: &[&str]) -> Result<String, Problem> {
    let got = media_type(headers);
    if accepted.contains(&got.as_str()) {
        return Ok(got);
    }
    let got = if got.is_empty() {
        "none".to_string()
    } else {
        got
    };
    Err(Problem::malformed(format!(
        "this endpoint takes a body of type {}, not {got}",
        accepted.join(" or ")
    ))
    .with_status(StatusCode::UNSUPPORTED_MEDIA_TYPE))
}

/// A JSON body decoded as `T`.
pub fn json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    serde_json::from_slice(bytes)
        .map_err(|e| Problem::malformed(format!("the request body is not valid here: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_media_type_ignores_case_and_parameters() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("Application/JSON; charset=utf-8"),
        );
        assert_eq!(
            require(&headers, &["application/json"]).ok().as_deref(),
            Some("application/json")
        );
        assert_eq!(
            require(&headers, &["text/csv"]).err().map(|p| p.status),
            Some(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        );
    }
}
