//! Who holds access to a shared ledger: the read model of the `access` stream (every grant,
//! who made it and when, and when it was revoked), how tokens are made and hashed, and how a
//! presented token becomes a [`Caller`].
//!
//! A token is 256 random bits, shown once; the ledger keeps only its SHA-256, inside the
//! `AccessGranted` event. A presented token is hashed and compared with every grant in force
//! in constant time, so neither timing nor an early exit tells how much of it was right.

use chrono::{DateTime, Utc};
use grant_ledger_domain::{evolve_access, AccessData, AccessEvent, AccessState, Role};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::LedgerError;

/// What a token starts with, so one pasted in the wrong place is recognisable.
const TOKEN_PREFIX: &str = "glt_";

/// Who is asking: the name recorded as the actor of what they write, and their role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    /// `None` for whoever opened the ledger directory itself: they own it and may do
    /// everything (this is how the first admin token is made).
    pub role: Option<Role>,
}

impl Caller {
    /// The owner of a local ledger directory, recorded as `name`.
    pub fn owner(name: impl Into<String>) -> Caller {
        Caller {
            name: name.into(),
            role: None,
        }
    }
}

/// One grant, as `access list` shows it (never the token or its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRow {
    pub name: String,
    pub role: Role,
    pub granted_at: DateTime<Utc>,
    pub granted_by: String,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What `access grant` answers: the token, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantedAccess {
    pub name: String,
    pub role: Role,
    pub token: String,
}

/// The access stream folded, with the audit facts `access list` shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AccessModel {
    pub state: AccessState,
    /// Every grant ever made, oldest first.
    pub grants: Vec<AccessRow>,
}

impl AccessModel {
    /// Folds one access event recorded by `actor`.
    pub fn apply(&mut self, event: &AccessEvent, actor: &str) {
        match &event.data {
            AccessData::Granted(g) => self.grants.push(AccessRow {
                name: g.name.clone(),
                role: g.role.clone(),
                granted_at: g.granted_at,
                granted_by: actor.to_string(),
                revoked_at: None,
            }),
            AccessData::Revoked(r) => {
                if let Some(row) = self
                    .grants
                    .iter_mut()
                    .rev()
                    .find(|row| row.name == r.name && row.revoked_at.is_none())
                {
                    row.revoked_at = Some(r.revoked_at);
                }
            }
            AccessData::ModelsRebuilt(_) => {}
        }
        self.state = evolve_access(std::mem::take(&mut self.state), event);
    }

    /// The caller a presented token belongs to; unknown and revoked tokens are refused.
    pub fn authenticate(&self, token: &str) -> Result<Caller, LedgerError> {
        let presented = token_sha256(token.trim());
        let mut found: Option<(&String, &Role)> = None;
        // Every grant is compared, match or not, so the time taken does not depend on
        // which grant (if any) matched.
        for (name, grant) in &self.state.active {
            let equal: bool = grant
                .token_sha256
                .as_bytes()
                .ct_eq(presented.as_bytes())
                .into();
            if equal {
                found = Some((name, &grant.role));
            }
        }
        match found {
            Some((name, role)) => Ok(Caller {
                name: name.clone(),
                role: Some(role.clone()),
            }),
            None => Err(LedgerError::unauthorized(
                "the access token is not known to this ledger or has been revoked",
            )),
        }
    }
}

/// A new random token: 256 bits from the operating system, as lower-case hex.
pub(crate) fn new_token() -> Result<String, LedgerError> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| {
        LedgerError::corrupt(format!(
            "the operating system gave no randomness for a token ({e})"
        ))
    })?;
    Ok(format!("{TOKEN_PREFIX}{}", hex::encode(bytes)))
}

/// The lower-case hex SHA-256 of a token: all the ledger ever keeps of it.
pub(crate) fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use grant_ledger_domain::{AccessGranted, AccessRevoked};
    use uuid::Uuid;

    fn granted(name: &str, token: &str) -> AccessEvent {
        AccessEvent {
            id: Uuid::nil(),
            data: AccessData::Granted(AccessGranted {
                name: name.into(),
                role: Role::Finance,
                token_sha256: token_sha256(token),
                granted_at: Utc::now(),
            }),
        }
    }

    #[test]
    fn tokens_are_random_and_long() {
        let (a, b) = (
            new_token().unwrap_or_default(),
            new_token().unwrap_or_default(),
        );
        assert_ne!(a, b);
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 64);
    }

    #[test]
    fn a_granted_token_authenticates_as_its_name_and_role() {
        let mut model = AccessModel::default();
        model.apply(&granted("ann", "glt_secret"), "admin");
        let caller = model.authenticate("glt_secret").ok();
        assert_eq!(
            caller.map(|c| (c.name, c.role)),
            Some(("ann".into(), Some(Role::Finance)))
        );
        assert!(model.authenticate("glt_secreT").is_err());
    }

    #[test]
    fn a_revoked_token_is_refused_and_the_row_says_when() {
        let mut model = AccessModel::default();
        model.apply(&granted("ann", "glt_secret"), "admin");
        let revoke = AccessEvent {
            id: Uuid::nil(),
            data: AccessData::Revoked(AccessRevoked {
                name: "ann".into(),
                role: Role::Finance,
                revoked_at: Utc::now(),
            }),
        };
        model.apply(&revoke, "admin");
        assert!(model.authenticate("glt_secret").is_err());
        assert!(model.grants[0].revoked_at.is_some());
    }
}
