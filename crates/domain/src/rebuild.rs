//! The record of a rebuild of the read models: who rebuilt them from the log, when and why.
//! It is an event of the access stream (the stream of the ledger's administration), so it
//! is in the hash chain like every grant, and it changes no figure.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::echo::echo;
use crate::error::DomainError;
use crate::limits::MAX_TEXT_LEN;

/// The stored name of the event type.
pub const MODELS_REBUILT: &str = "ModelsRebuilt";

/// Every read model was rebuilt from the log and stored again, sealed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelsRebuilt {
    /// Why, in the admin's words.
    pub reason: String,
    /// The models written, by name.
    pub models: Vec<String>,
    /// When, by the clock of whoever rebuilt them.
    pub rebuilt_at: DateTime<Utc>,
}

/// A rebuild's reason: trimmed, one line, not empty, bounded.
pub fn rebuild_reason(reason: &str) -> Result<String, DomainError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(DomainError::malformed(
            "a rebuild needs a reason (--reason TEXT), for the audit trail",
        ));
    }
    if reason.len() > MAX_TEXT_LEN || reason.contains(['\n', '\r']) {
        return Err(DomainError::malformed(format!(
            "the reason \"{}\" must be one line of at most {MAX_TEXT_LEN} bytes",
            echo(reason)
        )));
    }
    Ok(reason.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_no_reason_when_rebuilding_then_it_is_refused() {
        assert!(rebuild_reason("  ").is_err());
    }

    #[test]
    fn given_a_reason_when_rebuilding_then_it_is_kept_trimmed() {
        assert_eq!(rebuild_reason(" model edited ").unwrap(), "model edited");
    }

    #[test]
    fn given_a_two_line_reason_when_rebuilding_then_it_is_refused() {
        assert!(rebuild_reason("a\nb").is_err());
    }
}

#[cfg(test)]
mod role_tests {
    use crate::access::{permits, Action, Role};

    #[test]
    fn only_admin_may_rebuild_the_read_models() {
        assert!(permits(&Role::Admin, Action::RebuildModels));
        for role in [
            Role::Finance,
            Role::Auditor,
            Role::Reader,
            Role::Region("london".into()),
        ] {
            assert!(!permits(&role, Action::RebuildModels), "{role}");
        }
    }
}
