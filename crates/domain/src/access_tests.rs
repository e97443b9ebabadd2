//! The role table and the access rules, given/when/then.

use super::*;

fn date() -> DateTime<Utc> {
    DateTime::<Utc>::default()
}

fn grant(name: &str, role: Role) -> AccessCommand {
    AccessCommand::Grant {
        id: Uuid::nil(),
        name: name.to_string(),
        role,
        token_sha256: "ab".repeat(32),
        at: date(),
    }
}

fn given(commands: Vec<AccessCommand>) -> AccessState {
    commands.into_iter().fold(AccessState::default(), |s, c| {
        let events = decide_access(&s, c).unwrap_or_default();
        events.iter().fold(s, evolve_access)
    })
}

#[test]
fn roles_parse_in_every_contract_form() {
    for (text, role) in [
        ("admin", Role::Admin),
        ("finance", Role::Finance),
        ("auditor", Role::Auditor),
        ("reader", Role::Reader),
        ("region:south-west", Role::Region("south-west".into())),
        ("Region:South West", Role::Region("south-west".into())),
    ] {
        assert_eq!(text.parse::<Role>().ok(), Some(role.clone()), "{text}");
        assert_eq!(role.to_string().parse::<Role>().ok(), Some(role));
    }
}

#[test]
fn an_unknown_role_is_malformed_naming_the_forms() {
    let e = "boss".parse::<Role>().err().map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some("role \"boss\" is not one of admin, finance, region:SLUG (e.g. region:south-west), auditor or reader")
    );
    assert!("region:".parse::<Role>().is_err());
}

#[test]
fn admin_imports_and_manages_access_but_cannot_move_money() {
    assert!(permits(&Role::Admin, Action::ImportDetermination));
    assert!(permits(&Role::Admin, Action::ManageAccess));
    assert!(!permits(&Role::Admin, Action::Pay));
    assert!(!permits(&Role::Admin, Action::Recover));
    assert!(!permits(&Role::Admin, Action::Spend { region: "London" }));
    assert!(!permits(&Role::Admin, Action::ReverseMoney));
}

#[test]
fn finance_pays_recovers_and_reverses_anything_but_cannot_grant() {
    assert!(permits(&Role::Finance, Action::Pay));
    assert!(permits(&Role::Finance, Action::Recover));
    assert!(permits(&Role::Finance, Action::ReverseMoney));
    assert!(permits(
        &Role::Finance,
        Action::ReverseSpend { region: "London" }
    ));
    assert!(!permits(&Role::Finance, Action::ManageAccess));
    assert!(!permits(&Role::Finance, Action::ImportDetermination));
    assert!(!permits(&Role::Finance, Action::Spend { region: "London" }));
}

#[test]
fn a_region_spends_and_reverses_spend_for_its_own_region_only() {
    let sw = Role::Region("south-west".into());
    assert!(permits(
        &sw,
        Action::Spend {
            region: "South West"
        }
    ));
    assert!(permits(
        &sw,
        Action::ReverseSpend {
            region: "South West"
        }
    ));
    assert!(!permits(&sw, Action::Spend { region: "London" }));
    assert!(!permits(&sw, Action::ReverseSpend { region: "London" }));
    assert!(!permits(&sw, Action::ReverseMoney));
    assert!(!permits(&sw, Action::Pay));
}

#[test]
fn readers_and_auditors_only_read() {
    for role in [Role::Auditor, Role::Reader] {
        assert!(permits(&role, Action::Read));
        assert!(!permits(&role, Action::Pay));
        assert!(!permits(&role, Action::Spend { region: "London" }));
        assert!(!permits(&role, Action::ManageAccess));
    }
}

#[test]
fn a_refusal_names_the_caller_the_action_and_who_may() {
    let e = authorize(
        "sw-lead",
        &Role::Region("south-west".into()),
        Action::Spend { region: "London" },
    )
    .err()
    .map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some("sw-lead (role region:south-west) may not record spend for London; only that region's own role may do that")
    );
}

#[test]
fn given_a_grant_in_force_when_the_name_is_granted_again_then_it_is_refused() {
    let state = given(vec![grant("ann", Role::Finance)]);
    let e = decide_access(&state, grant("ann", Role::Reader)).err();
    assert!(e.is_some_and(|e| e.is_refusal()));
}

#[test]
fn given_a_revoked_grant_when_the_name_is_granted_again_then_it_is_accepted() {
    let state = given(vec![
        grant("ann", Role::Finance),
        AccessCommand::Revoke {
            id: Uuid::nil(),
            name: "ann".into(),
            at: date(),
        },
    ]);
    assert!(state.active.is_empty());
    assert!(decide_access(&state, grant("ann", Role::Reader)).is_ok());
}

#[test]
fn given_no_such_grant_when_revoked_then_it_is_refused() {
    let e = decide_access(
        &AccessState::default(),
        AccessCommand::Revoke {
            id: Uuid::nil(),
            name: "nobody".into(),
            at: date(),
        },
    )
    .err();
    assert!(e.is_some_and(|e| e.is_refusal()));
}

#[test]
fn a_grant_without_a_token_hash_or_with_an_empty_name_is_malformed() {
    let mut bad_hash = grant("ann", Role::Finance);
    if let AccessCommand::Grant { token_sha256, .. } = &mut bad_hash {
        *token_sha256 = "secret".into();
    }
    assert!(decide_access(&AccessState::default(), bad_hash)
        .err()
        .is_some_and(|e| e.is_malformed()));
    assert!(
        decide_access(&AccessState::default(), grant("  ", Role::Finance))
            .err()
            .is_some_and(|e| e.is_malformed())
    );
}

#[test]
fn access_payloads_round_trip() {
    let data = AccessData::Granted(AccessGranted {
        name: "ann".into(),
        role: Role::Region("london".into()),
        token_sha256: "ab".repeat(32),
        granted_at: date(),
    });
    let back = AccessData::from_payload(data.event_type(), &data.to_payload());
    assert_eq!(back.and_then(Result::ok), Some(data));
    assert!(AccessData::from_payload("PaymentIssued", b"{}").is_none());
}
