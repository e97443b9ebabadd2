//! End-to-end: which refusal a request gets, and what it names, against the real
//! `grant-ledger serve`: a bad `Last-Event-ID` is named as the header it is, and on a
//! damaged ledger a request with no token or a bad one is 401 before the 503 of the damage.

mod common;
mod server_common;

use server_common::{assert_problem, Dir, ID_PATH};

#[test]
fn a_bad_last_event_id_is_refused_naming_the_header() {
    let dir = Dir::new();
    let admin = dir.grant_local("root", "admin", "admin");
    let server = dir.serve();
    let http = server.http();
    let r = http.send(
        "GET",
        "/api/v1/events/stream",
        Some(&admin),
        &[("Last-Event-ID", "x")],
        None,
    );
    let problem = assert_problem(&r, 400, "malformed");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("Last-Event-ID"), "{problem}");
    assert!(!detail.starts_with("after"), "{problem}");
    // The parameter, when it is what was sent, is named as the parameter.
    let r = http.get("/api/v1/events/stream?after=y", Some(&admin));
    let problem = assert_problem(&r, 400, "malformed");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("after \"y\"")),
        "{problem}"
    );
}

#[test]
fn on_a_damaged_ledger_no_token_or_a_bad_one_is_401_before_the_503() {
    let dir = Dir::new();
    let admin = dir.grant_local("root", "admin", "admin");
    dir.local_ok(
        "admin",
        &["determination", "import", "--builtin", "31/7421"],
    );
    dir.local_ok(
        "finance",
        &common::words("pay 31/7421 --region london --amount 318000 --date 2024-08-20"),
    );
    dir.local_ok(
        "finance",
        &common::words("pay 31/7421 --region north-east --amount 239600 --date 2024-08-20"),
    );
    // Event 3 is the first payment, in the middle of the log.
    common::flip_event_byte(&dir.ledger(), 3, 60);
    assert_eq!(dir.local("", &["verify"]).code, 3);
    let server = dir.serve();
    let http = server.http();
    let paths = [
        "/api/v1/balances".to_string(),
        format!("/api/v1/determinations/{ID_PATH}"),
        "/api/v1/history".to_string(),
        "/api/v1/verify".to_string(),
    ];
    for path in &paths {
        for token in [None, Some("glt_not-a-token")] {
            let r = http.get(path, token);
            let problem = assert_problem(&r, 401, "unauthorized");
            assert!(
                !problem["detail"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("position"),
                "{path} told a stranger where the damage is: {problem}"
            );
        }
        // With a token, the damage.
        let r = http.get(path, Some(&admin));
        assert_problem(&r, 503, "unavailable");
    }
    let r = http.post(
        "/api/v1/rebuild",
        None,
        &serde_json::json!({"reason": "try"}),
    );
    assert_problem(&r, 401, "unauthorized");
}
