//! Who a request comes from: the bearer token of its `Authorization` header, looked up in
//! the ledger's access model as of the last commit (so a revoked token is refused from the
//! very next request). The token is never logged or echoed.

use axum::http::{header, HeaderMap};
use grant_ledger_projections::{Caller, ErrorKind, Ledger};
use grant_ledger_store::EventStore;

use crate::problem::Problem;

/// The caller of a request, or the 401 that refuses it.
pub fn caller<S: EventStore>(ledger: &Ledger<S>, headers: &HeaderMap) -> Result<Caller, Problem> {
    let missing = || {
        Problem::new(
            ErrorKind::Unauthorized,
            "no access token was given; send it as Authorization: Bearer TOKEN (with the command line, --token or GRANT_LEDGER_TOKEN)",
        )
    };
    let value = headers.get(header::AUTHORIZATION).ok_or_else(missing)?;
    let text = value.to_str().map_err(|_| missing())?.trim();
    let token = match text.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => return Err(missing()),
    };
    if token.is_empty() {
        return Err(missing());
    }
    Ok(ledger.authenticate(token)?)
}
