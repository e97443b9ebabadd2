//! The one error type of the `Ledger` facade and the three outcomes the binary maps to
//! exit codes, so that mapping lives in exactly one place.

use grant_ledger_domain::DomainError;
use grant_ledger_store::{ErrorKind as StoreKind, StoreError};

/// What kind of failure an error is: the stable `code` of the HTTP contract's problem
/// documents. Each front end maps a kind to its own answer in one place (the CLI to an exit
/// code, the server to a status); nothing else decides how an error is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Understood but refused by a ledger rule. Nothing was written.
    Refused,
    /// Input that cannot be understood. Nothing was written.
    Malformed,
    /// The ledger cannot be used: in use, corrupt, unreadable, too new, shutting down.
    Unavailable,
    /// No token, or a token the ledger does not know or has revoked.
    Unauthorized,
    /// The caller's role does not allow what was asked. Nothing was written.
    Forbidden,
    /// No such event (to reverse), or no such path.
    NotFound,
    /// An idempotency key reused for a different request, or a write raced by another.
    Conflict,
}

impl ErrorKind {
    /// Every kind, for tests and documentation that must cover them all.
    pub const ALL: [ErrorKind; 7] = [
        ErrorKind::Malformed,
        ErrorKind::Unauthorized,
        ErrorKind::Forbidden,
        ErrorKind::NotFound,
        ErrorKind::Conflict,
        ErrorKind::Refused,
        ErrorKind::Unavailable,
    ];

    /// The stable code of the contract (`"refused"`, `"not_found"`...).
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::Refused => "refused",
            ErrorKind::Malformed => "malformed",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
        }
    }

    /// The kind of a stable code, as a client reads it back from a problem document.
    pub fn from_code(code: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// Everything the facade can fail with. Each message is one sentence.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// A domain rule refused the command, or the input did not parse.
    #[error("{0}")]
    Domain(#[from] DomainError),

    /// The store refused or failed.
    #[error("{0}")]
    Store(#[from] StoreError),

    /// A ledger-level refusal: unknown determination or region, reused key, stale version.
    #[error("{0}")]
    Refused(String),

    /// Input the facade itself could not understand (e.g. a reversal target that is neither
    /// an event id nor a position).
    #[error("{0}")]
    Malformed(String),

    /// A stored read model does not decode or does not match a replay of the log.
    #[error("{0}")]
    Corrupt(String),

    /// A ledger-level conflict: a key reused for a different command, a stream that kept
    /// changing while a command was decided.
    #[error("{0}")]
    Conflict(String),

    /// No event with the id or position named.
    #[error("{0}")]
    NotFound(String),

    /// No token, or a token the ledger does not know or has revoked.
    #[error("{0}")]
    Unauthorized(String),

    /// An error as another process reported it (a server, to its client): its kind and its
    /// one sentence, unchanged.
    #[error("{message}")]
    Reported { kind: ErrorKind, message: String },

    /// An error attributed to one line of an input file.
    #[error("line {line}: {source}")]
    AtLine {
        line: u64,
        #[source]
        source: Box<LedgerError>,
    },
}

impl LedgerError {
    /// The exit-code category; the binary maps errors here and nowhere else.
    pub fn kind(&self) -> ErrorKind {
        match self {
            LedgerError::Domain(e) if e.is_malformed() => ErrorKind::Malformed,
            LedgerError::Domain(e) if e.is_forbidden() => ErrorKind::Forbidden,
            LedgerError::Domain(_) => ErrorKind::Refused,
            LedgerError::Store(e) => match e.kind() {
                StoreKind::Conflict | StoreKind::KeyReused => ErrorKind::Conflict,
                // A request the store finds invalid was built from input (a duplicate event
                // id, an over-long field), so retrying the same input cannot succeed.
                StoreKind::Invalid => ErrorKind::Malformed,
                StoreKind::Unavailable => ErrorKind::Unavailable,
            },
            LedgerError::Refused(_) => ErrorKind::Refused,
            LedgerError::Malformed(_) => ErrorKind::Malformed,
            LedgerError::Corrupt(_) => ErrorKind::Unavailable,
            LedgerError::Conflict(_) => ErrorKind::Conflict,
            LedgerError::NotFound(_) => ErrorKind::NotFound,
            LedgerError::Unauthorized(_) => ErrorKind::Unauthorized,
            LedgerError::Reported { kind, .. } => *kind,
            LedgerError::AtLine { source, .. } => source.kind(),
        }
    }

    pub(crate) fn refused(message: impl Into<String>) -> Self {
        LedgerError::Refused(message.into())
    }

    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        LedgerError::Malformed(message.into())
    }

    pub(crate) fn corrupt(message: impl Into<String>) -> Self {
        LedgerError::Corrupt(message.into())
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        LedgerError::Conflict(message.into())
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        LedgerError::NotFound(message.into())
    }

    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        LedgerError::Unauthorized(message.into())
    }

    /// Attributes this error to a line of an input file (once: the innermost line wins).
    pub(crate) fn at_line(self, line: u64) -> Self {
        match self {
            LedgerError::AtLine { .. } => self,
            other => LedgerError::AtLine {
                line,
                source: Box::new(other),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_as_its_kind() {
        for kind in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(ErrorKind::from_code("teapot"), None);
    }

    #[test]
    fn library_errors_have_the_contract_kinds() {
        assert_eq!(LedgerError::refused("x").kind(), ErrorKind::Refused);
        assert_eq!(LedgerError::malformed("x").kind(), ErrorKind::Malformed);
        assert_eq!(LedgerError::corrupt("x").kind(), ErrorKind::Unavailable);
        assert_eq!(LedgerError::not_found("x").kind(), ErrorKind::NotFound);
        let raced = StoreError::Conflict {
            stream: "determination/31/7421".into(),
            expected: 1,
            actual: 2,
        };
        assert_eq!(LedgerError::from(raced).kind(), ErrorKind::Conflict);
        let at = LedgerError::malformed("bad amount").at_line(7);
        assert_eq!(at.kind(), ErrorKind::Malformed);
        assert_eq!(at.to_string(), "line 7: bad amount");
    }
}
