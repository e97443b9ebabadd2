//! Every error the server answers with, as `application/problem+json`: the one place that
//! maps an error's kind to an HTTP status. The `detail` is the very sentence the command
//! line prints for the same error, and `code` its stable kind.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use grant_ledger_projections::{ErrorKind, LedgerError};
use serde::Serialize;

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub status: StatusCode,
    pub kind: ErrorKind,
    pub detail: String,
}

#[derive(Serialize)]
struct Document<'a> {
    #[serde(rename = "type")]
    type_: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    code: &'a str,
}

/// The status of each kind, as the contract's table of errors gives it.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Malformed => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Refused => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

fn title_of(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Malformed => "Malformed request",
        ErrorKind::Unauthorized => "Not signed in",
        ErrorKind::Forbidden => "Not allowed for this role",
        ErrorKind::NotFound => "Not found",
        ErrorKind::Conflict => "Conflict",
        ErrorKind::Refused => "Refused by a ledger rule",
        ErrorKind::Unavailable => "Ledger unavailable",
    }
}

impl Problem {
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Problem {
        // One line, however the library worded it, as the command line prints it.
        let detail: String = detail.into();
        let detail = detail.split_whitespace().collect::<Vec<_>>().join(" ");
        Problem {
            status: status_of(kind),
            kind,
            detail,
        }
    }

    pub fn malformed(detail: impl Into<String>) -> Problem {
        Problem::new(ErrorKind::Malformed, detail)
    }

    /// A body too large (413) or of the wrong type (415): malformed, with its own status.
    pub fn with_status(mut self, status: StatusCode) -> Problem {
        self.status = status;
        self
    }
}

impl From<LedgerError> for Problem {
    fn from(error: LedgerError) -> Problem {
        Problem::new(error.kind(), error.to_string())
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let document = Document {
            type_: format!("urn:grant-ledger:problem:{}", self.kind.code()),
            title: title_of(self.kind),
            status: self.status.as_u16(),
            detail: &self.detail,
            code: self.kind.code(),
        };
        let body = serde_json::to_vec(&document).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_the_contracts_status() {
        let statuses: Vec<u16> = ErrorKind::ALL
            .into_iter()
            .map(|k| status_of(k).as_u16())
            .collect();
        assert_eq!(statuses, vec![400, 401, 403, 404, 409, 422, 503]);
    }

    #[test]
    fn the_detail_is_one_line() {
        let p = Problem::malformed("bad\n   amount");
        assert_eq!(p.detail, "bad amount");
    }
}
