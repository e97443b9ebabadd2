//! End-to-end: `Idempotency-Key` on the writes that answer something other than one
//! recorded event, against the real `grant-ledger serve`. http.md: "a repeat with the same
//! key and the same body returns the original status and body with `Idempotency-Hit: true`
//! and appends nothing".

mod server_common;

use serde_json::{json, Value};
use server_common::{Body, Resp, Shared, ID};

/// The built-in 31/7421 under another id, as a determination file.
fn toml_body(id: &str) -> Body<'static> {
    let toml = grant_ledger_domain::builtin_toml(ID).expect("builtin");
    let changed = toml.replace("id = \"31/7421\"", &format!("id = \"{id}\""));
    assert_ne!(toml, changed, "the id line was not found");
    Body {
        content_type: "application/toml",
        bytes: changed.into_bytes(),
    }
}

fn import(s: &Shared, key: Option<&str>, body: Body<'static>) -> Resp {
    let headers: Vec<(&str, &str)> = key.map(|k| ("Idempotency-Key", k)).into_iter().collect();
    s.http.send(
        "POST",
        "/api/v1/determinations",
        Some(s.token("admin")),
        &headers,
        Some(body),
    )
}

fn hit(r: &Resp) -> bool {
    r.header("idempotency-hit") == Some("true")
}

#[test]
fn a_keyed_rebuild_repeated_answers_the_original_event_and_rebuilds_nothing() {
    let s = Shared::start();
    let body = json!({"reason": "audit"});
    let rebuild = || {
        s.http
            .post_keyed("/api/v1/rebuild", Some(s.token("admin")), "rb1", &body)
    };
    let first = rebuild().status(201);
    assert!(!hit(&first), "{:?}", first.headers);
    assert_eq!(first.json()["key"], "rb1", "{}", first.body);
    let again = s.unchanged("a keyed rebuild repeated", rebuild);
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.body, first.body);
    assert!(hit(&again), "{:?}", again.headers);
    // The same key for another reason is another request: 409, nothing written.
    let other = s.unchanged("a reused rebuild key", || {
        s.http.post_keyed(
            "/api/v1/rebuild",
            Some(s.token("admin")),
            "rb1",
            &json!({"reason": "another"}),
        )
    });
    server_common::assert_problem(&other, 409, "conflict");
    // Without a key a repeat rebuilds again, as the command line's does.
    let unkeyed = s
        .http
        .post("/api/v1/rebuild", Some(s.token("admin")), &body)
        .status(201);
    assert!(!hit(&unkeyed));
}

#[test]
fn rebuild_key_on_the_command_line_makes_a_repeat_append_nothing() {
    let s = Shared::start();
    let admin = s.token("admin").to_string();
    let args = [
        "--format", "json", "rebuild", "--reason", "audit", "--key", "rb-cli",
    ];
    let first = s.server.cli(&admin, &args);
    assert_eq!(first.code, 0, "{first:?}");
    let before = s.events();
    let again = s.server.cli(&admin, &args);
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(again.json(), first.json());
    assert!(again.stderr.contains("already recorded"), "{again:?}");
    assert_eq!(s.events(), before, "the repeat appended");
}

#[test]
fn a_keyed_determination_import_repeated_answers_201_and_the_original_with_idempotency_hit() {
    let s = Shared::start();
    let first = import(&s, Some("d1"), toml_body("31/9999")).status(201);
    assert!(!hit(&first), "{:?}", first.headers);
    let again = s.unchanged("a keyed import repeated", || {
        import(&s, Some("d1"), toml_body("31/9999"))
    });
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.body, first.body);
    assert!(hit(&again), "{:?}", again.headers);
}

#[test]
fn an_identical_reimport_without_a_key_is_200_and_no_idempotency_hit() {
    let s = Shared::start();
    let first = import(&s, Some("d1"), toml_body("31/9999")).status(201);
    let again = s.unchanged("an identical unkeyed import", || {
        import(&s, None, toml_body("31/9999"))
    });
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.json(), first.json());
    assert!(!hit(&again), "{:?}", again.headers);
}

#[test]
fn a_new_key_on_an_imported_determination_is_200_and_no_idempotency_hit() {
    let s = Shared::start();
    // 31/7421 was imported without a key when the ledger was set up.
    let builtin = || Body::json(&json!({"builtin": ID}));
    let r = s.unchanged("a new key on an imported determination", || {
        import(&s, Some("fresh"), builtin())
    });
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["type"], "DeterminationMade");
    assert!(!hit(&r), "{:?}", r.headers);
}

#[test]
fn a_keyed_spend_import_repeated_answers_the_original_body_skips_and_all() {
    let s = Shared::paid();
    let header = "determination,region,amount,date,purpose,authority,description,reference,key\n";
    // Row key r1 is recorded first, so the import below skips that row.
    let row = |amount: &str, key: &str| {
        format!("{ID},south-west,{amount},2024-09-02,data-coordinator,,,,{key}\n")
    };
    let csv = |text: String| Body {
        content_type: "text/csv",
        bytes: text.into_bytes(),
    };
    let send = |key: Option<&str>, text: String| {
        let headers: Vec<(&str, &str)> = key.map(|k| ("Idempotency-Key", k)).into_iter().collect();
        s.http.send(
            "POST",
            "/api/v1/spends/import",
            Some(s.token("sw")),
            &headers,
            Some(csv(text)),
        )
    };
    send(None, format!("{header}{}", row("10", "r1"))).status(201);
    let file = format!("{header}{}{}", row("10", "r1"), row("20", "r2"));
    let first = send(Some("imp1"), file.clone()).status(201);
    let summary: Value = first.json();
    assert_eq!(summary["imported"], 1, "{summary}");
    assert_eq!(summary["skipped"], 1, "{summary}");
    let again = s.unchanged("a keyed spend import repeated", || {
        send(Some("imp1"), file.clone())
    });
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.json(), summary);
    assert!(hit(&again), "{:?}", again.headers);
}
