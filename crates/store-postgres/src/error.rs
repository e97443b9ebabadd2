//! The driver's errors in the store's terms: one sentence, never the driver's own dump.

use std::error::Error as _;

use grant_ledger_store::{describe_io, StoreError};
use postgres::error::SqlState;

/// Maps a driver error met while doing `what` (e.g. "reading the head").
pub(crate) fn db(e: &postgres::Error, what: &str) -> StoreError {
    StoreError::Database {
        problem: describe(e, what),
    }
}

fn describe(e: &postgres::Error, what: &str) -> String {
    if let Some(d) = e.as_db_error() {
        let code = d.code();
        if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            return "it refused the login (wrong password, or no such role)".into();
        }
        if *code == SqlState::INVALID_CATALOG_NAME {
            return "the database does not exist".into();
        }
        if *code == SqlState::INSUFFICIENT_PRIVILEGE {
            return format!("the role may not do this while {what}");
        }
        if *code == SqlState::ADMIN_SHUTDOWN || *code == SqlState::CANNOT_CONNECT_NOW {
            return "the server is shutting down or starting up".into();
        }
        let message = d.message().trim_end_matches('.');
        return format!("it refused {what} ({message})");
    }
    if let Some(tls) = tls_problem(e) {
        return format!("{tls} while {what}");
    }
    if let Some(io) = e.source().and_then(|s| s.downcast_ref::<std::io::Error>()) {
        return format!("cannot reach the server while {what} ({})", describe_io(io));
    }
    if e.is_closed() {
        return format!("the connection was lost while {what}");
    }
    format!("it failed while {what}")
}

/// A TLS failure in words a database administrator acts on, found anywhere in the
/// error's chain; `None` when TLS played no part.
fn tls_problem(e: &postgres::Error) -> Option<String> {
    use rustls::CertificateError as C;
    let mut source: Option<&(dyn std::error::Error + 'static)> = e.source();
    while let Some(s) = source {
        let found = s.downcast_ref::<rustls::Error>().or_else(|| {
            s.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(tls) = found {
            return Some(match tls {
                rustls::Error::InvalidCertificate(C::UnknownIssuer | C::BadSignature) => "the server's TLS certificate is not signed by an authority this ledger trusts (name your CA with sslrootcert=FILE)".into(),
                rustls::Error::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => "the server's TLS certificate does not name the host connected to".into(),
                rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => "the server's TLS certificate has expired".into(),
                other => format!("the TLS handshake failed ({other})"),
            });
        }
        source = s.source();
    }
    // The driver's own TLS refusal: the server answered that it does not do TLS.
    let text = e.to_string();
    (text.contains("server does not support TLS"))
        .then(|| "the server does not offer TLS, which sslmode=require needs".to_string())
}

/// A stored value that does not fit the store's types: damage, not a request error.
pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::corrupt(format!("the database holds {what}"))
}
