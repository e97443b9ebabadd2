//! The one error type of the domain, split the way the CLI's exit codes are:
//! input that cannot be understood (exit 2) versus input that is understood but
//! refused by a ledger rule (exit 1).

use crate::money::MoneyError;

/// Everything the domain can say no with. Each message is one sentence that
/// names what was wrong and, for refusals, carries the figures involved.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The input could not be understood: a bad amount, a malformed
    /// determination file, an empty reason, an over-long text field.
    #[error("{0}")]
    Malformed(String),
    /// The input was understood but a ledger rule refuses it.
    #[error("{0}")]
    Refused(String),
    /// The caller's role does not allow what was asked (HTTP 403, CLI exit 4).
    #[error("{0}")]
    Forbidden(String),
}

impl DomainError {
    /// True for input that could not be understood (CLI exit code 2).
    pub fn is_malformed(&self) -> bool {
        matches!(self, DomainError::Malformed(_))
    }

    /// True for a ledger rule refusing understood input (CLI exit code 1).
    pub fn is_refusal(&self) -> bool {
        matches!(self, DomainError::Refused(_))
    }

    /// True when the caller's role does not permit the action.
    pub fn is_forbidden(&self) -> bool {
        matches!(self, DomainError::Forbidden(_))
    }

    /// The sentence without the kind, for callers that add their own context.
    pub fn message(&self) -> &str {
        match self {
            DomainError::Malformed(m) | DomainError::Refused(m) | DomainError::Forbidden(m) => m,
        }
    }

    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        DomainError::Malformed(message.into())
    }

    pub(crate) fn refused(message: impl Into<String>) -> Self {
        DomainError::Refused(message.into())
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        DomainError::Forbidden(message.into())
    }
}

impl From<MoneyError> for DomainError {
    fn from(error: MoneyError) -> Self {
        DomainError::Malformed(error.to_string())
    }
}
