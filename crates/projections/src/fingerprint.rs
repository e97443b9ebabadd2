//! The fingerprint that makes `--key` idempotent: SHA-256 of a canonical encoding of a
//! command without the id of the event it would create, so the same request made twice
//! (with a fresh id each time) has the same fingerprint, and any other request does not.

use grant_ledger_domain::{region_slug, AccessCommand, Command};
use serde_json::json;
use sha2::{Digest, Sha256};

/// Bumped if the encoding below ever changes, so old keys cannot collide with new meanings.
const DOMAIN_TAG: &[u8] = b"grant-ledger command fingerprint v1\n";

/// The fingerprint of `command`. Names the domain matches without regard to case are
/// compared that way here too: regions and purposes by slug (`South West`, `south-west`;
/// `self assessment`, `Self-Assessment`), authorities lowercased, since both spellings
/// record the identical event. Free text
/// (descriptions, references, reasons) is compared as given (trimmed).
pub(crate) fn fingerprint(command: &Command) -> [u8; 32] {
    let t = |s: &str| s.trim().to_string();
    let o = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let name = |s: &str| s.trim().to_lowercase();
    // serde_json maps are sorted by key, which makes this encoding canonical.
    let value = match command {
        Command::MakeDetermination { determination, .. } => json!({
            "command": "MakeDetermination",
            "determination": determination,
        }),
        Command::IssuePayment {
            determination,
            region,
            amount,
            date,
            reference,
            late_reason,
            ..
        } => json!({
            "command": "IssuePayment",
            "determination": t(determination),
            "region": region_slug(region),
            "amount": amount,
            "date": date,
            "reference": o(reference),
            "late_reason": o(late_reason),
        }),
        Command::SpendFunds {
            determination,
            region,
            amount,
            date,
            purpose,
            authority,
            description,
            reference,
            ..
        } => json!({
            "command": "SpendFunds",
            "determination": t(determination),
            "region": region_slug(region),
            "amount": amount,
            "date": date,
            "purpose": region_slug(purpose),
            "authority": o(authority).map(|a| name(&a)),
            "description": o(description),
            "reference": o(reference),
        }),
        Command::RecoverGrant {
            determination,
            region,
            amount,
            date,
            reason,
            ..
        } => json!({
            "command": "RecoverGrant",
            "determination": t(determination),
            "region": region_slug(region),
            "amount": amount,
            "date": date,
            "reason": t(reason),
        }),
        Command::ReverseEvent {
            determination,
            target,
            reason,
            date,
            ..
        } => json!({
            "command": "ReverseEvent",
            "determination": t(determination),
            "target": target.id,
            "reason": t(reason),
            "date": date,
        }),
        Command::WithdrawDetermination {
            determination,
            date,
            reason,
            ..
        } => json!({
            "command": "WithdrawDetermination",
            "determination": t(determination),
            "date": date,
            "reason": t(reason),
        }),
        Command::VaryDetermination {
            determination,
            date,
            reason,
            allocations,
            ..
        } => json!({
            "command": "VaryDetermination",
            "determination": t(determination),
            "date": date,
            "reason": t(reason),
            "allocations": allocations
                .iter()
                .map(|(region, amount)| json!([region_slug(region), amount]))
                .collect::<Vec<_>>(),
        }),
    };
    let mut hasher = Sha256::new();
    hasher.update(DOMAIN_TAG);
    hasher.update(value.to_string().as_bytes());
    hasher.finalize().into()
}

/// The fingerprint of a whole spend import: its exact bytes.
pub(crate) fn import_fingerprint(bytes: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(DOMAIN_TAG);
    hasher.update(b"spend import\n");
    hasher.update(bytes);
    hasher.finalize().into()
}

/// The fingerprint of an access command: who and which role, never the token (a new one is
/// made for every attempt) nor the time.
pub(crate) fn access_fingerprint(command: &AccessCommand) -> [u8; 32] {
    let value = match command {
        AccessCommand::Grant { name, role, .. } => json!({
            "command": "GrantAccess",
            "name": name.trim(),
            "role": role.to_string(),
        }),
        AccessCommand::Revoke { name, .. } => json!({
            "command": "RevokeAccess",
            "name": name.trim(),
        }),
    };
    let mut hasher = Sha256::new();
    hasher.update(DOMAIN_TAG);
    hasher.update(value.to_string().as_bytes());
    hasher.finalize().into()
}

/// The fingerprint of a rebuild: its reason (as `rebuild_reason` cleaned it), since the
/// models it writes are the log's whatever they were.
pub(crate) fn rebuild_fingerprint(reason: &str) -> [u8; 32] {
    let value = json!({
        "command": "RebuildModels",
        "reason": reason.trim(),
    });
    let mut hasher = Sha256::new();
    hasher.update(DOMAIN_TAG);
    hasher.update(value.to_string().as_bytes());
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use grant_ledger_domain::Money;
    use uuid::Uuid;

    fn pay(id: Uuid, region: &str, pounds: i64) -> Command {
        Command::IssuePayment {
            id,
            determination: "31/7421".into(),
            region: region.into(),
            amount: Money::from_pounds(pounds).unwrap_or(Money::ZERO),
            date: NaiveDate::from_ymd_opt(2024, 8, 20).unwrap_or_default(),
            reference: None,
            late_reason: None,
        }
    }

    #[test]
    fn ignores_the_new_event_id_and_region_spelling() {
        let a = fingerprint(&pay(Uuid::now_v7(), "London", 318_000));
        let b = fingerprint(&pay(Uuid::now_v7(), "london", 318_000));
        assert_eq!(a, b);
        let c = fingerprint(&pay(Uuid::now_v7(), "London", 318_001));
        assert_ne!(a, c);
    }

    fn spend(purpose: &str, authority: &str, description: &str) -> Command {
        Command::SpendFunds {
            id: Uuid::now_v7(),
            determination: "31/7421".into(),
            region: "London".into(),
            amount: Money::from_pounds(100).unwrap_or(Money::ZERO),
            date: NaiveDate::from_ymd_opt(2024, 10, 1).unwrap_or_default(),
            purpose: purpose.into(),
            authority: Some(authority.into()),
            description: Some(description.into()),
            reference: None,
        }
    }

    #[test]
    fn purposes_and_authorities_match_in_any_case_free_text_does_not() {
        let a = fingerprint(&spend("data-coordinator", "Camden", "Q3"));
        assert_eq!(a, fingerprint(&spend("DATA-COORDINATOR", "camden", "Q3")));
        assert_ne!(a, fingerprint(&spend("data-coordinator", "Camden", "q3")));
        assert_ne!(a, fingerprint(&spend("data-coordinator", "Hackney", "Q3")));
    }
}
