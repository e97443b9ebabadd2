//! The one error type of the `Ledger` facade and the three outcomes the binary maps to
//! exit codes, so that mapping lives in exactly one place.

use grant_ledger_domain::DomainError;
use grant_ledger_store::{ErrorKind as StoreKind, StoreError};

/// How the CLI must answer an error: the contract's exit codes 1, 2 and 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Understood but refused by a ledger rule (exit 1). Nothing was written.
    Refused,
    /// Input that cannot be understood (exit 2). Nothing was written.
    Malformed,
    /// The ledger cannot be used: in use, corrupt, unreadable, too new (exit 3).
    Unavailable,
}

impl ErrorKind {
    /// The exit code the CLI contract gives this outcome.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::Refused => 1,
            ErrorKind::Malformed => 2,
            ErrorKind::Unavailable => 3,
        }
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
            LedgerError::Domain(_) => ErrorKind::Refused,
            LedgerError::Store(e) => match e.kind() {
                StoreKind::Conflict | StoreKind::KeyReused => ErrorKind::Refused,
                // A request the store finds invalid was built from input (a duplicate event
                // id, an over-long field), so retrying the same input cannot succeed.
                StoreKind::Invalid => ErrorKind::Malformed,
                StoreKind::Unavailable => ErrorKind::Unavailable,
            },
            LedgerError::Refused(_) => ErrorKind::Refused,
            LedgerError::Malformed(_) => ErrorKind::Malformed,
            LedgerError::Corrupt(_) => ErrorKind::Unavailable,
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
    fn kinds_map_to_contract_exit_codes() {
        assert_eq!(LedgerError::refused("x").kind().exit_code(), 1);
        assert_eq!(LedgerError::malformed("x").kind().exit_code(), 2);
        assert_eq!(LedgerError::corrupt("x").kind().exit_code(), 3);
        let conflict = StoreError::Conflict {
            stream: "determination/31/7421".into(),
            expected: 1,
            actual: 2,
        };
        assert_eq!(LedgerError::from(conflict).kind(), ErrorKind::Refused);
        let at = LedgerError::malformed("bad amount").at_line(7);
        assert_eq!(at.kind(), ErrorKind::Malformed);
        assert_eq!(at.to_string(), "line 7: bad amount");
    }
}
