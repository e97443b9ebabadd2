//! Reading the determination file format of the CLI contract (TOML). Parsing
//! is pure, so it lives here: text in, a validated [`Determination`] or an
//! error naming the offending key out.

use crate::determination::Determination;
use crate::error::DomainError;

/// Parses and validates a determination file.
pub fn parse_determination(toml_text: &str) -> Result<Determination, DomainError> {
    let _ = toml_text;
    Err(DomainError::malformed("not implemented yet"))
}
