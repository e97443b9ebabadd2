//! The binary's one error type and the one function that turns any failure
//! into the contract's exit code and its one-sentence message.

use std::fmt;
use std::io;

use grant_ledger_projections::{ErrorKind, LedgerError};

/// Why a command did not complete.
#[derive(Debug)]
pub enum CliError {
    /// Anything the ledger libraries said no with.
    Ledger(LedgerError),
    /// Input the binary itself could not understand (amount, date, CSV file...).
    Malformed(String),
    /// A rule the binary itself enforces (e.g. `check --strict`).
    Refused(String),
    /// The ledger (or its directory) cannot be used.
    Unavailable(String),
    /// Writing the output failed (a closed pipe is not reported).
    Output(io::Error),
}

impl CliError {
    pub fn malformed(message: impl Into<String>) -> Self {
        CliError::Malformed(message.into())
    }

    pub fn refused(message: impl Into<String>) -> Self {
        CliError::Refused(message.into())
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        CliError::Unavailable(message.into())
    }

    fn kind(&self) -> ErrorKind {
        match self {
            CliError::Ledger(error) => error.kind(),
            CliError::Malformed(_) => ErrorKind::Malformed,
            CliError::Refused(_) => ErrorKind::Refused,
            CliError::Unavailable(_) | CliError::Output(_) => ErrorKind::Unavailable,
        }
    }

    /// True when the reader of our output went away (`| head`): not an error
    /// worth a message, and nothing was left half-done.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, CliError::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// The single mapping from any failure to the contract's exit code: 1 refused by a ledger
/// rule (a conflict or a missing event is a refusal too), 2 malformed input, 3 ledger
/// unavailable, 4 not allowed.
pub fn exit_code(error: &CliError) -> i32 {
    match error.kind() {
        ErrorKind::Refused | ErrorKind::Conflict | ErrorKind::NotFound => 1,
        ErrorKind::Malformed => 2,
        ErrorKind::Unavailable => 3,
        ErrorKind::Unauthorized | ErrorKind::Forbidden => 4,
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = match self {
            CliError::Ledger(error) => error.to_string(),
            CliError::Malformed(m) | CliError::Refused(m) | CliError::Unavailable(m) => m.clone(),
            CliError::Output(error) => format!("could not write the output: {error}"),
        };
        // One sentence on one line, whatever the library said.
        let one_line = message.split_whitespace().collect::<Vec<_>>().join(" ");
        f.write_str(&one_line)
    }
}

impl From<LedgerError> for CliError {
    fn from(error: LedgerError) -> Self {
        CliError::Ledger(error)
    }
}

impl From<io::Error> for CliError {
    fn from(error: io::Error) -> Self {
        CliError::Output(error)
    }
}

impl From<csv::Error> for CliError {
    fn from(error: csv::Error) -> Self {
        match error.into_kind() {
            csv::ErrorKind::Io(io) => CliError::Output(io),
            other => CliError::Output(io::Error::other(format!("{other:?}"))),
        }
    }
}

impl From<serde_json::Error> for CliError {
    fn from(error: serde_json::Error) -> Self {
        CliError::Output(io::Error::from(error))
    }
}

pub type CliResult<T = ()> = Result<T, CliError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_contract() {
        assert_eq!(exit_code(&CliError::refused("x")), 1);
        assert_eq!(exit_code(&CliError::malformed("x")), 2);
        assert_eq!(exit_code(&CliError::unavailable("x")), 3);
    }

    #[test]
    fn messages_are_one_line() {
        let e = CliError::malformed("bad\n  thing");
        assert_eq!(e.to_string(), "bad thing");
    }
}
