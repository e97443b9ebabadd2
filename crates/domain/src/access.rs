//! Who may do what on a shared ledger: the roles, the one table of what each role may do,
//! and the access events (`AccessGranted`, `AccessRevoked`) that record every grant and
//! revocation in the same hash chain as the money, decided by the rules below.
//!
//! A token itself never appears here: a grant carries only the SHA-256 of its token, made
//! by the caller (the domain has no randomness). Access lives in its own stream,
//! [`ACCESS_STREAM`], so granting never races a payment.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::echo::echo;
use crate::error::DomainError;
use crate::limits::MAX_NAME_LEN;
use crate::rebuild::{ModelsRebuilt, MODELS_REBUILT};
use crate::region::region_slug;

/// The stream every access event belongs to.
pub const ACCESS_STREAM: &str = "access";

/// What a token allows, as the HTTP contract's table of roles names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Imports determinations and manages access; cannot move money.
    Admin,
    /// Pays, recovers and reverses; cannot grant access.
    Finance,
    /// A region's lead authority, by the region's slug: spends for that region only.
    Region(String),
    /// Reads everything.
    Auditor,
    /// Reads everything.
    Reader,
}

const ROLE_FORMS: &str = "admin, finance, region:SLUG (e.g. region:south-west), auditor or reader";

impl Role {
    /// The region slug of a `region:SLUG` role.
    pub fn region(&self) -> Option<&str> {
        match self {
            Role::Region(slug) => Some(slug),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Admin => f.write_str("admin"),
            Role::Finance => f.write_str("finance"),
            Role::Region(slug) => write!(f, "region:{slug}"),
            Role::Auditor => f.write_str("auditor"),
            Role::Reader => f.write_str("reader"),
        }
    }
}

impl FromStr for Role {
    type Err = DomainError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let lower = text.trim().to_lowercase();
        let bad = || {
            DomainError::malformed(format!(
                "role \"{}\" is not one of {ROLE_FORMS}",
                echo(text)
            ))
        };
        Ok(match lower.as_str() {
            "admin" => Role::Admin,
            "finance" => Role::Finance,
            "auditor" => Role::Auditor,
            "reader" => Role::Reader,
            other => {
                let slug = other.strip_prefix("region:").ok_or_else(bad)?.trim();
                // A name typed in place of the slug ("region:South West") is still meant.
                let slug = region_slug(slug);
                if slug.is_empty() || slug.len() > MAX_NAME_LEN {
                    return Err(bad());
                }
                Role::Region(slug)
            }
        })
    }
}

impl Serialize for Role {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Something a caller asks to do, as far as permission is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action<'a> {
    ImportDetermination,
    ManageAccess,
    Pay,
    Recover,
    /// Spend (or a spend import row) for the region of this canonical name.
    Spend {
        region: &'a str,
    },
    /// Reverse a spend of the region of this canonical name.
    ReverseSpend {
        region: &'a str,
    },
    /// Reverse a payment or a recovery.
    ReverseMoney,
    /// Any query, history, the event stream, verify.
    Read,
    /// Rebuild every read model from the log.
    RebuildModels,
}

impl Action<'_> {
    fn describe(&self) -> String {
        match self {
            Action::ImportDetermination => "import, vary or withdraw a determination".to_string(),
            Action::ManageAccess => "grant, list or revoke access".to_string(),
            Action::RebuildModels => "rebuild the read models".to_string(),
            Action::Pay => "record a payment".to_string(),
            Action::Recover => "record a recovery".to_string(),
            Action::Spend { region } => format!("record spend for {region}"),
            Action::ReverseSpend { region } => format!("reverse a spend of {region}"),
            Action::ReverseMoney => "reverse a payment or a recovery".to_string(),
            Action::Read => "read the ledger".to_string(),
        }
    }

    /// Who may, in words, for the refusal.
    fn allowed_to(&self) -> &'static str {
        match self {
            Action::ImportDetermination | Action::ManageAccess | Action::RebuildModels => {
                "only admin may"
            }
            Action::Pay | Action::Recover | Action::ReverseMoney => "only finance may",
            Action::Spend { .. } => "only that region's own role may",
            Action::ReverseSpend { .. } => "only finance or that region's own role may",
            Action::Read => "every role may",
        }
    }
}

/// The table of roles of the HTTP contract. Admin cannot pay and finance cannot grant
/// access: segregation of duties is deliberate.
pub fn permits(role: &Role, action: Action<'_>) -> bool {
    let own = |region: &str| role.region() == Some(region_slug(region).as_str());
    match action {
        Action::Read => true,
        Action::ImportDetermination | Action::ManageAccess | Action::RebuildModels => {
            *role == Role::Admin
        }
        Action::Pay | Action::Recover | Action::ReverseMoney => *role == Role::Finance,
        Action::Spend { region } => own(region),
        Action::ReverseSpend { region } => *role == Role::Finance || own(region),
    }
}

/// `Ok` if `role` may do `action`, else the one sentence that says why not.
pub fn authorize(name: &str, role: &Role, action: Action<'_>) -> Result<(), DomainError> {
    if permits(role, action) {
        return Ok(());
    }
    Err(DomainError::forbidden(format!(
        "{} (role {role}) may not {}; {} do that",
        echo(name),
        action.describe(),
        action.allowed_to()
    )))
}

/// A grant of access was recorded. `token_sha256` is the lower-case hex SHA-256 of the
/// token, never the token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessGranted {
    pub name: String,
    pub role: Role,
    pub token_sha256: String,
    /// When it was granted, by the clock of whoever granted it.
    pub granted_at: DateTime<Utc>,
}

/// A grant was revoked: its token is refused from the next request on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRevoked {
    pub name: String,
    /// The role the revoked grant had, so the trail reads on its own.
    pub role: Role,
    /// When it was revoked, by the clock of whoever revoked it.
    pub revoked_at: DateTime<Utc>,
}

/// An access fact, with the id the command chose for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessEvent {
    pub id: Uuid,
    pub data: AccessData,
}

/// What happened to access.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccessData {
    Granted(AccessGranted),
    Revoked(AccessRevoked),
    /// Not a change of access, but administration of the same ledger: see `rebuild.rs`.
    ModelsRebuilt(ModelsRebuilt),
}

/// The stored names of the access event types.
pub const ACCESS_GRANTED: &str = "AccessGranted";
pub const ACCESS_REVOKED: &str = "AccessRevoked";

impl AccessData {
    pub fn event_type(&self) -> &'static str {
        match self {
            AccessData::Granted(_) => ACCESS_GRANTED,
            AccessData::Revoked(_) => ACCESS_REVOKED,
            AccessData::ModelsRebuilt(_) => MODELS_REBUILT,
        }
    }

    pub fn effective_date(&self) -> NaiveDate {
        self.at().date_naive()
    }

    /// When it happened.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            AccessData::Granted(g) => g.granted_at,
            AccessData::Revoked(r) => r.revoked_at,
            AccessData::ModelsRebuilt(m) => m.rebuilt_at,
        }
    }

    /// The token name a grant or revocation is about; none for a rebuild.
    pub fn name(&self) -> &str {
        match self {
            AccessData::Granted(g) => &g.name,
            AccessData::Revoked(r) => &r.name,
            AccessData::ModelsRebuilt(_) => "",
        }
    }

    /// The payload as stored and hashed.
    pub fn to_payload(&self) -> Vec<u8> {
        let encoded = match self {
            AccessData::Granted(g) => serde_json::to_vec(g),
            AccessData::Revoked(r) => serde_json::to_vec(r),
            AccessData::ModelsRebuilt(m) => serde_json::to_vec(m),
        };
        // Plain structs of strings and a date always serialise.
        encoded.unwrap_or_default()
    }

    /// Decodes a stored access event; `None` when `event_type` is not an access type.
    pub fn from_payload(event_type: &str, payload: &[u8]) -> Option<Result<Self, DomainError>> {
        let bad = |e: serde_json::Error| {
            DomainError::malformed(format!("{event_type} payload does not decode: {e}"))
        };
        match event_type {
            ACCESS_GRANTED => Some(
                serde_json::from_slice(payload)
                    .map(AccessData::Granted)
                    .map_err(bad),
            ),
            ACCESS_REVOKED => Some(
                serde_json::from_slice(payload)
                    .map(AccessData::Revoked)
                    .map_err(bad),
            ),
            MODELS_REBUILT => Some(
                serde_json::from_slice(payload)
                    .map(AccessData::ModelsRebuilt)
                    .map_err(bad),
            ),
            _ => None,
        }
    }
}

/// A grant in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveGrant {
    pub role: Role,
    pub token_sha256: String,
}

/// The access stream folded: every grant in force, by name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessState {
    pub active: BTreeMap<String, ActiveGrant>,
    /// Events folded: the stream version a writer expects.
    pub version: u64,
}

/// Asks to change who has access.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccessCommand {
    Grant {
        id: Uuid,
        name: String,
        role: Role,
        token_sha256: String,
        at: DateTime<Utc>,
    },
    Revoke {
        id: Uuid,
        name: String,
        at: DateTime<Utc>,
    },
}

/// Decides an access command: names are unique among grants in force, and only a grant in
/// force can be revoked.
pub fn decide_access(
    state: &AccessState,
    command: AccessCommand,
) -> Result<Vec<AccessEvent>, DomainError> {
    match command {
        AccessCommand::Grant {
            id,
            name,
            role,
            token_sha256,
            at,
        } => {
            let name = access_name(&name)?;
            if token_sha256.len() != 64 || !token_sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(DomainError::malformed(
                    "a grant must carry the 64-digit hex SHA-256 of its token",
                ));
            }
            if let Some(held) = state.active.get(&name) {
                return Err(DomainError::refused(format!(
                    "access \"{name}\" is already granted (role {}); revoke it first or choose another name",
                    held.role
                )));
            }
            Ok(vec![AccessEvent {
                id,
                data: AccessData::Granted(AccessGranted {
                    name,
                    role,
                    token_sha256: token_sha256.to_lowercase(),
                    granted_at: at,
                }),
            }])
        }
        AccessCommand::Revoke { id, name, at } => {
            let name = access_name(&name)?;
            let Some(held) = state.active.get(&name) else {
                return Err(DomainError::refused(format!(
                    "there is no access named \"{name}\" in force to revoke"
                )));
            };
            Ok(vec![AccessEvent {
                id,
                data: AccessData::Revoked(AccessRevoked {
                    name,
                    role: held.role.clone(),
                    revoked_at: at,
                }),
            }])
        }
    }
}

/// Folds one access event. Total, like `evolve`: a fact on record always replays.
pub fn evolve_access(mut state: AccessState, event: &AccessEvent) -> AccessState {
    state.version = state.version.saturating_add(1);
    match &event.data {
        AccessData::Granted(g) => {
            state.active.insert(
                g.name.clone(),
                ActiveGrant {
                    role: g.role.clone(),
                    token_sha256: g.token_sha256.clone(),
                },
            );
        }
        AccessData::Revoked(r) => {
            state.active.remove(&r.name);
        }
        AccessData::ModelsRebuilt(_) => {}
    }
    state
}

/// A token's name: trimmed, one line, not empty, bounded.
fn access_name(name: &str) -> Result<String, DomainError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(DomainError::malformed("an access name must not be empty"));
    }
    if name.chars().count() > MAX_NAME_LEN {
        return Err(DomainError::malformed(format!(
            "an access name may be at most {MAX_NAME_LEN} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(DomainError::malformed(
            "an access name must be one line of text",
        ));
    }
    Ok(name.to_string())
}

#[cfg(test)]
#[path = "access_tests.rs"]
mod tests;
