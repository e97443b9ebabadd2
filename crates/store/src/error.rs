//! The store's error type and the coarse categories the CLI maps to exit codes.

use std::io;
use std::path::{Path, PathBuf};

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
    /// The ledger cannot be used: not there, cannot be opened, in use, corrupt, too new,
    /// tampered, or an I/O failure.
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

    /// There is no ledger at `path` (the directory is missing or empty), and the caller
    /// asked to open an existing one only ([`crate::SledStore::open_existing`]).
    #[error("there is no ledger at {}", .path.display())]
    NoLedger { path: PathBuf },

    /// The directory cannot hold or give access to a ledger: it is a file, permission is
    /// denied, the file system refuses, and so on. `problem` says which, in words.
    #[error("cannot open the ledger at {}: {problem}", .path.display())]
    CannotOpen { path: PathBuf, problem: String },

    /// The database or one of its entries cannot be decoded or is inconsistent. `path` is
    /// the ledger's directory when the damage was found while opening it.
    #[error("{}", damaged(.path.as_deref(), None, .reason))]
    Corrupt {
        path: Option<PathBuf>,
        reason: String,
    },

    /// The ledger was written by a newer storage format than this build understands.
    #[error(
        "the ledger at {} uses storage format {found}, this build supports up to {supported}",
        .path.display()
    )]
    NewerFormat {
        path: PathBuf,
        found: u32,
        supported: u32,
    },

    /// The ledger's database cannot be reached or refused a request: down, wrong password
    /// or role, no such database, the connection lost. `problem` says which, in words.
    #[error("cannot use the ledger's database: {problem}")]
    Database { problem: String },

    /// The ledger's database schema was migrated by a newer build than this one.
    #[error(
        "the ledger's database has schema version {found}, newer than the {supported} this build knows; use a newer grant-ledger"
    )]
    NewerSchema { found: u32, supported: u32 },

    /// `verify` found the first event that fails a check.
    #[error("{}", damaged(None, Some(*.position), .reason))]
    Tampered { position: u64, reason: String },

    /// Damage was found in this ledger earlier (by this process or, recorded beside the
    /// ledger, by another): it answers nothing but `verify` until it is restored.
    #[error("{}", damaged(None, *.position, .reason))]
    Damaged {
        position: Option<u64>,
        reason: String,
    },

    /// A stored read model no longer matches its seal: it was changed outside the ledger
    /// (or belongs to another log). The log itself is not in question.
    #[error(
        "the stored read model '{name}' does not match its seal, so it was changed outside the ledger; the log is not affected, and an admin rebuilds every model from it with `grant-ledger rebuild --reason TEXT`"
    )]
    ModelDamaged { name: String },

    /// `verify` found a stored read model that does not equal a fresh replay of the log
    /// (the log was rolled back under it, or a faulty build wrote it): damage of the models,
    /// refused as [`StoreError::ModelDamaged`] is, until a rebuild.
    #[error(
        "the stored read model '{name}' {reason}, so the ledger answers nothing from its models until an admin rebuilds every model from the log with `grant-ledger rebuild --reason TEXT`"
    )]
    ModelMismatch { name: String, reason: String },

    /// An operating-system I/O failure.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}

/// The one sentence for a damaged ledger, whichever check found the damage (opening it,
/// `verify`, any read) and whether it was found now or earlier: what is wrong, where, and
/// what to do about it. Damage found by one check and reported by another must read alike,
/// and read as well from `verify`, which found it, as from any other command: the advice is
/// the restore, not another check. `reason` is a clause of our own words (no parentheses
/// of sled's): the sentence adds none around it.
fn damaged(path: Option<&Path>, position: Option<u64>, reason: &str) -> String {
    let at = path.map_or(String::new(), |p| format!(" at {}", p.display()));
    let position = position.map_or(String::new(), |p| format!(" at position {p}"));
    format!(
        "the ledger{at} is damaged{position}: {reason}; it answers nothing until it is restored from a backup"
    )
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
            | StoreError::NoLedger { .. }
            | StoreError::CannotOpen { .. }
            | StoreError::Corrupt { .. }
            | StoreError::NewerFormat { .. }
            | StoreError::Database { .. }
            | StoreError::NewerSchema { .. }
            | StoreError::Tampered { .. }
            | StoreError::Damaged { .. }
            | StoreError::ModelDamaged { .. }
            | StoreError::ModelMismatch { .. }
            | StoreError::Io(_) => ErrorKind::Unavailable,
        }
    }

    pub fn corrupt(reason: impl Into<String>) -> Self {
        StoreError::Corrupt {
            path: None,
            reason: reason.into(),
        }
    }

    /// Names the ledger's directory in an error met while opening it: an OS error becomes
    /// [`StoreError::CannotOpen`] in words, and damage names the ledger it was found in.
    pub fn opening(self, dir: &Path) -> Self {
        match self {
            StoreError::Io(e) => StoreError::CannotOpen {
                path: dir.to_path_buf(),
                problem: describe_io(&e),
            },
            StoreError::Corrupt { path: None, reason } => StoreError::Corrupt {
                path: Some(dir.to_path_buf()),
                reason,
            },
            other => other,
        }
    }

    /// Whether this error means the ledger's contents are damaged (as opposed to a ledger
    /// that is busy, missing or unreachable): what latches it (see `engine/damage.rs`).
    pub fn is_damage(&self) -> bool {
        matches!(
            self,
            StoreError::Corrupt { .. } | StoreError::Tampered { .. } | StoreError::Damaged { .. }
        )
    }

    pub fn invalid(reason: impl Into<String>) -> Self {
        StoreError::Invalid(reason.into())
    }
}

/// An OS error in words, without the "(os error N)" suffix: "permission denied", "the
/// file system is read-only", ...
pub fn describe_io(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        io::ErrorKind::NotFound => {
            "the directory or a file in it cannot be found or created".to_string()
        }
        io::ErrorKind::AlreadyExists => "a file is in the way of a directory".to_string(),
        _ => {
            let text = e.to_string();
            let words = match text.find(" (os error") {
                Some(at) => &text[..at],
                None => text.as_str(),
            };
            let mut chars = words.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => "an unknown I/O error".to_string(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damage_reads_alike_whichever_check_found_it() {
        let advice = "it answers nothing until it is restored from a backup";
        let found = [
            StoreError::corrupt("its last event does not match the head").opening(Path::new("L")),
            StoreError::Tampered {
                position: 3,
                reason: "its hash does not match".into(),
            },
            StoreError::Damaged {
                position: Some(3),
                reason: "its hash does not match".into(),
            },
        ];
        let sentences: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(
            sentences[0],
            format!("the ledger at L is damaged: its last event does not match the head; {advice}")
        );
        assert_eq!(sentences[1], sentences[2]);
        assert_eq!(
            sentences[1],
            format!("the ledger is damaged at position 3: its hash does not match; {advice}")
        );
    }
}
