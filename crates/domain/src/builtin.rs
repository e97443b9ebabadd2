//! Determinations that ship with the program, embedded as their TOML files so
//! the shipped data is reviewable as data and parsed by the same code as any
//! file a user imports.

use crate::determination::Determination;
use crate::determination_file::parse_determination;
use crate::error::DomainError;

/// Ids of the built-in determinations.
pub const BUILTIN_IDS: &[&str] = &["31/7421"];

/// The TOML text of a built-in determination.
pub fn builtin_toml(id: &str) -> Option<&'static str> {
    match id.trim() {
        "31/7421" => Some(include_str!("../determinations/31-7421.toml")),
        _ => None,
    }
}

/// A built-in determination, parsed; `None` if there is none with that id.
pub fn builtin(id: &str) -> Option<Result<Determination, DomainError>> {
    builtin_toml(id).map(parse_determination)
}
