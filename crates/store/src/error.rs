//! The store's error type and the coarse categories the CLI maps to exit codes.

use std::io;
use std::path::PathBuf;

use uuid::Uuid;

/// Coarse category of a [`StoreError`], stable for callers that map errors to exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A stale expected version: reload the stream and retry.
    Conflict,
    /// An idempotency key was reused for a different command.
    KeyReused,
    /// The request itself is malformed or exceeds a limit; retrying will not help.
    Invalid,
    /// The ledger cannot be used: in use, corrupt, too new, tampered, or an I/O failure.
    Unavailable,
}

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The stream is not at the version the caller expected.
    #[error("stream {stream} is at version {actual}, but version {expected} was expected")]
    Conflict {
        stream: String,
        expected: u64,
        actual: u64,
    },

    /// The same idempotency key was already recorded for a different command.
    #[error(
        "idempotency key '{key}' was already used for a different command at position {position}"
    )]
    KeyReused { key: String, position: u64 },

    /// An event id is already in the ledger (or twice in one request).
    #[error("event id {event_id} is already recorded{}", at_position(*.position))]
    DuplicateEventId {
        event_id: Uuid,
        position: Option<u64>,
    },

    /// A field exceeds one of the explicit limits in [`crate::limits`].
    #[error("{what} is {len} bytes, the limit is {max}")]
    LimitExceeded {
        what: &'static str,
        len: usize,
        max: usize,
    },

    /// The request is malformed (empty stream name, payload not a JSON object, ...).
    #[error("invalid request: {0}")]
    Invalid(String),

    /// Another process (or another handle in this process) holds the ledger's lock.
    #[error("the ledger at {} is in use by another process", .path.display())]
    InUse { path: PathBuf },

    /// The database or one of its entries cannot be decoded or is inconsistent.
    #[error("the ledger is corrupt: {reason}")]
    Corrupt { reason: String },

    /// The ledger was written by a newer storage format than this build understands.
    #[error("the ledger uses storage format {found}, this build supports up to {supported}")]
    NewerFormat { found: u32, supported: u32 },

    /// `verify` found the first event that fails a check.
    #[error("the ledger fails verification at position {position}: {reason}")]
    Tampered { position: u64, reason: String },

    /// An operating-system I/O failure.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}

fn at_position(position: Option<u64>) -> String {
    match position {
        Some(p) => format!(" at position {p}"),
        None => " earlier in the same request".to_string(),
    }
}

impl StoreError {
    /// The category the CLI maps to an exit code.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::Conflict { .. } => ErrorKind::Conflict,
            StoreError::KeyReused { .. } => ErrorKind::KeyReused,
            StoreError::DuplicateEventId { .. }
            | StoreError::LimitExceeded { .. }
            | StoreError::Invalid(_) => ErrorKind::Invalid,
            StoreError::InUse { .. }
            | StoreError::Corrupt { .. }
            | StoreError::NewerFormat { .. }
            | StoreError::Tampered { .. }
            | StoreError::Io(_) => ErrorKind::Unavailable,
        }
    }

    pub(crate) fn corrupt(reason: impl Into<String>) -> Self {
        StoreError::Corrupt {
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        StoreError::Invalid(reason.into())
    }
}

/// Maps sled errors deliberately: sled 0.34 reports a held lock only as an
/// `io::Error` whose text says "could not acquire lock", so that text is the
/// only way to tell "in use" apart from a real I/O failure.
pub(crate) fn from_sled(err: sled::Error, path: &std::path::Path) -> StoreError {
    match err {
        sled::Error::Io(e) => {
            let text = e.to_string();
            if text.contains("could not acquire lock") || e.kind() == io::ErrorKind::WouldBlock {
                StoreError::InUse {
                    path: path.to_path_buf(),
                }
            } else {
                StoreError::Io(e)
            }
        }
        sled::Error::Corruption { at, .. } => {
            StoreError::corrupt(format!("sled detected corruption at {at:?}"))
        }
        sled::Error::Unsupported(s) => StoreError::corrupt(format!("sled: unsupported: {s}")),
        sled::Error::ReportableBug(s) => StoreError::corrupt(format!("sled: internal error: {s}")),
        sled::Error::CollectionNotFound(name) => StoreError::corrupt(format!(
            "sled: missing tree {}",
            String::from_utf8_lossy(&name)
        )),
    }
}
