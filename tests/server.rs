//! End-to-end: the real `grant-ledger serve` on a free loopback port, against the HTTP
//! contract `docs/reference/http.md`. Every refusal is checked for its status, its problem
//! document, and an audit trail unchanged (length and content).

mod server_common;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use server_common::{
    assert_problem, spend_body, Body, Dir, Resp, Run, Shared, SseStream, ID, ID_PATH,
};

/// The endpoints of http.md, as (method, path) in the OpenAPI document's spelling.
const CONTRACT: [(&str, &str); 22] = [
    ("post", "/api/v1/determinations"),
    ("get", "/api/v1/determinations"),
    ("get", "/api/v1/determinations/{id}"),
    ("get", "/api/v1/determinations/{id}/check"),
    ("post", "/api/v1/determinations/{id}/withdrawal"),
    ("post", "/api/v1/determinations/{id}/variations"),
    ("post", "/api/v1/payments"),
    ("post", "/api/v1/spends"),
    ("post", "/api/v1/spends/import"),
    ("post", "/api/v1/recoveries"),
    ("post", "/api/v1/reversals"),
    ("get", "/api/v1/balances"),
    ("get", "/api/v1/deadlines"),
    ("get", "/api/v1/spend-report"),
    ("get", "/api/v1/history"),
    ("get", "/api/v1/verify"),
    ("get", "/api/v1/checkpoint"),
    ("get", "/api/v1/events/stream"),
    ("post", "/api/v1/access"),
    ("get", "/api/v1/access"),
    ("delete", "/api/v1/access/{name}"),
    ("get", "/api/v1/openapi.json"),
];

const CSV_HEADER: &str =
    "determination,region,amount,date,purpose,authority,description,reference,key\n";

/// A spend-import body of one row per (region, amount).
fn csv(rows: &[(&str, &str)]) -> Body<'static> {
    let mut text = CSV_HEADER.to_string();
    for (region, amount) in rows {
        text.push_str(&format!(
            "{ID},{region},{amount},2024-09-02,data-coordinator,,,,\n"
        ));
    }
    Body {
        content_type: "text/csv",
        bytes: text.into_bytes(),
    }
}

/// A determination file: the built-in 31/7421 under another id.
fn toml_body(id: &str) -> Body<'static> {
    let toml = grant_ledger_domain::builtin_toml(ID).expect("builtin");
    let changed = toml.replace("id = \"31/7421\"", &format!("id = \"{id}\""));
    assert_ne!(toml, changed, "the id line was not found");
    Body {
        content_type: "application/toml",
        bytes: changed.into_bytes(),
    }
}

/// One request of an endpoint, with a body valid for it, so that the only thing wrong
/// with it is what the test sends as the token.
fn every_endpoint(
    reversible: u64,
    import: Body<'static>,
) -> Vec<(&'static str, String, Option<Body<'static>>)> {
    vec![
        ("POST", "/api/v1/determinations".into(), Some(import)),
        ("GET", "/api/v1/determinations".into(), None),
        ("GET", format!("/api/v1/determinations/{ID_PATH}"), None),
        (
            "GET",
            format!("/api/v1/determinations/{ID_PATH}/check?workings=true"),
            None,
        ),
        (
            "POST",
            "/api/v1/payments".into(),
            Some(Body::json(
                &json!({"determination": ID, "region": "north-east", "amount": "239600", "date": "2024-08-27"}),
            )),
        ),
        (
            "POST",
            "/api/v1/spends".into(),
            Some(Body::json(&spend_body("south-west", "100"))),
        ),
        (
            "POST",
            "/api/v1/spends/import".into(),
            Some(csv(&[("south-west", "10")])),
        ),
        (
            "POST",
            "/api/v1/recoveries".into(),
            Some(Body::json(
                &json!({"determination": ID, "region": "south-west", "amount": "50", "date": "2024-09-03", "reason": "unused"}),
            )),
        ),
        (
            "POST",
            "/api/v1/reversals".into(),
            Some(Body::json(
                &json!({"event": reversible, "reason": "entered twice"}),
            )),
        ),
        (
            "GET",
            format!("/api/v1/balances?determination={ID_PATH}&region=south-west&as_of=2024-12-31"),
            None,
        ),
        (
            "GET",
            format!("/api/v1/deadlines?determination={ID_PATH}&today=2024-08-28"),
            None,
        ),
        (
            "GET",
            format!("/api/v1/spend-report?determination={ID_PATH}&region=south-west"),
            None,
        ),
        (
            "GET",
            "/api/v1/history?type=FundsSpent&limit=5&after=1".into(),
            None,
        ),
        ("GET", "/api/v1/verify".into(), None),
        ("GET", "/api/v1/events/stream?after=0".into(), None),
        (
            "POST",
            "/api/v1/access".into(),
            Some(Body::json(&json!({"name": "newcomer", "role": "reader"}))),
        ),
        ("GET", "/api/v1/access".into(), None),
        ("DELETE", "/api/v1/access/reader".into(), None),
    ]
}

/// One request of a test's table of cases.
type Sender<'a> = Box<dyn Fn() -> Resp + 'a>;

// ---------------------------------------------------------------- tokens

#[test]
fn without_a_token_every_api_endpoint_is_401_and_writes_nothing() {
    let s = Shared::paid();
    let spent = s.spend("sw", "south-west", "100");
    let position = spent["position"].as_u64().expect("position");
    let unknown = format!("glt_{}", "0".repeat(64));
    let wrong: [(&str, Vec<(&str, String)>); 4] = [
        ("no Authorization header", vec![]),
        (
            "an unknown token",
            vec![("Authorization", format!("Bearer {unknown}"))],
        ),
        (
            "another scheme",
            vec![("Authorization", format!("Basic {}", s.token("admin")))],
        ),
        (
            "an empty bearer",
            vec![("Authorization", "Bearer ".to_string())],
        ),
    ];
    for (what, headers) in &wrong {
        // The built-in by name, not a determination file: a refused upload larger than a
        // socket buffer can be cut off (see the ignored
        // `a_refused_upload_is_answered_not_cut_off`).
        let import = Body::json(&json!({"builtin": ID}));
        for (method, path, body) in every_endpoint(position, import) {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
            let r = s.unchanged(&format!("{method} {path} with {what}"), || {
                s.http.send(method, &path, None, &headers, body)
            });
            assert_problem(&r, 401, "unauthorized");
        }
    }
}

#[test]
fn with_a_token_of_the_right_role_every_endpoint_answers() {
    let s = Shared::paid();
    let spent = s.spend("sw", "south-west", "100");
    let position = spent["position"].as_u64().expect("position");
    let role_of = |method: &str, path: &str| match (method, path) {
        ("POST", p) if p.starts_with("/api/v1/determinations") => "admin",
        (_, p) if p.starts_with("/api/v1/access") => "admin",
        ("POST", "/api/v1/payments" | "/api/v1/recoveries" | "/api/v1/reversals") => "finance",
        ("POST", _) => "sw",
        _ => "reader",
    };
    for (method, path, body) in every_endpoint(position, toml_body("31/9999")) {
        let token = s.token(role_of(method, &path)).to_string();
        if path.starts_with("/api/v1/events/stream") {
            let mut stream = SseStream::open(&s.http.base, &token, None);
            assert!(stream.content_type.starts_with("text/event-stream"));
            assert_eq!(stream.next().id.as_deref(), Some("1"));
            continue;
        }
        let before = s.events();
        let r = s.http.send(method, &path, Some(&token), &[], body);
        assert!(
            (200..300).contains(&r.status),
            "{method} {path}: {} {}",
            r.status,
            r.body
        );
        assert!(
            r.header("content-type")
                .is_some_and(|t| t.starts_with("application/json")),
            "{method} {path}: {:?}",
            r.headers
        );
        let answer = r.json();
        let appended = s.events() - before;
        match method {
            "GET" => assert_eq!(appended, 0, "{method} {path} wrote"),
            _ => assert!(appended >= 1, "{method} {path} appended nothing: {answer}"),
        }
    }
    // The identical built-in again: 200, nothing new.
    let again = s.unchanged("an identical import", || {
        s.http.post(
            "/api/v1/determinations",
            Some(s.token("admin")),
            &json!({"builtin": ID}),
        )
    });
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.json()["type"], "DeterminationMade");
    let open = s.http.get("/api/v1/openapi.json", None).status(200);
    assert!(open.json()["paths"].is_object());
    assert_eq!(s.http.get("/healthz", None).status(200).body, "ok");
}

#[test]
fn a_revoked_token_is_refused_on_its_next_request() {
    let s = Shared::paid();
    let sw = s.token("sw").to_string();
    s.http.get("/api/v1/balances", Some(&sw)).status(200);
    s.http
        .post(
            "/api/v1/spends",
            Some(&sw),
            &spend_body("south-west", "100"),
        )
        .status(201);
    let revoked = s
        .http
        .delete("/api/v1/access/sw", Some(s.token("admin")))
        .status(200)
        .json();
    assert_eq!(revoked["type"], "AccessRevoked");
    assert_eq!(revoked["actor"], "admin");
    let r = s.http.get("/api/v1/balances", Some(&sw));
    assert_problem(&r, 401, "unauthorized");
    let r = s.unchanged("a revoked token's spend", || {
        s.http.post(
            "/api/v1/spends",
            Some(&sw),
            &spend_body("south-west", "100"),
        )
    });
    assert_problem(&r, 401, "unauthorized");
    // The command line says so with exit 4.
    s.server.cli(&sw, &["balances"]).refused(4, &[]);
    let rows = s
        .http
        .get("/api/v1/access", Some(s.token("admin")))
        .status(200)
        .json();
    let row = rows
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["name"] == "sw"))
        .cloned()
        .expect("sw is listed");
    assert!(row["revoked_at"].is_string(), "{row}");
    assert!(!rows.to_string().contains(&sw), "a token is listed: {rows}");
}

// ---------------------------------------------------------------- roles

/// Requires 403 `forbidden` for each of `tokens` and that nothing was written.
fn forbidden_for(s: &Shared, tokens: &[&str], what: &str, send: impl Fn(&str) -> Resp) {
    for name in tokens {
        let r = s.unchanged(&format!("{what} by {name}"), || send(s.token(name)));
        assert_problem(&r, 403, "forbidden");
    }
}

#[test]
fn only_admin_imports_a_determination() {
    let s = Shared::start();
    let import = |token: &str| {
        s.http.send(
            "POST",
            "/api/v1/determinations",
            Some(token),
            &[],
            Some(toml_body("31/9999")),
        )
    };
    forbidden_for(
        &s,
        &["finance", "sw", "auditor", "reader"],
        "an import",
        import,
    );
    forbidden_for(
        &s,
        &["finance", "sw", "auditor", "reader"],
        "a built-in import",
        |t| {
            s.http
                .post("/api/v1/determinations", Some(t), &json!({"builtin": ID}))
        },
    );
    let made = import(s.token("admin")).status(201).json();
    assert_eq!(made["type"], "DeterminationMade");
    assert_eq!(made["actor"], "admin");
}

#[test]
fn only_admin_varies_and_withdraws_a_determination() {
    let s = Shared::paid();
    let vary_path = format!("/api/v1/determinations/{ID_PATH}/variations");
    let variation = json!({
        "allocations": [{"region": "north-east", "amount": "£200,000"}],
        "reason": "letter of 1 September",
        "date": "2024-09-01",
    });
    forbidden_for(
        &s,
        &["finance", "sw", "auditor", "reader"],
        "a variation",
        |t| s.http.post(&vary_path, Some(t), &variation),
    );
    let varied = s
        .http
        .post(&vary_path, Some(s.token("admin")), &variation)
        .status(201)
        .json();
    assert_eq!(varied["type"], "DeterminationVaried");
    assert_eq!(varied["data"]["allocations"][0]["amount"], "200000.00");
    // Below what London was paid: refused with the figures, nothing written.
    let below = s.unchanged("a variation below paid", || {
        s.http.post(
            &vary_path,
            Some(s.token("admin")),
            &json!({"allocations": [{"region": "london", "amount": "1000"}], "reason": "cut"}),
        )
    });
    assert_problem(&below, 422, "refused");
    assert!(
        below
            .body
            .contains("would leave its paid of £318,000.00 above it"),
        "{}",
        below.body
    );
    let bad = s.unchanged("a variation with a bad amount", || {
        s.http.post(
            &vary_path,
            Some(s.token("admin")),
            &json!({"allocations": [{"region": "london", "amount": "-5"}], "reason": "cut"}),
        )
    });
    assert_problem(&bad, 400, "malformed");

    // 31/7421 has payments, so it cannot be withdrawn; a new one can.
    let withdraw = |id: &str, t: &str| {
        s.http.post(
            &format!("/api/v1/determinations/{id}/withdrawal"),
            Some(t),
            &json!({"reason": "superseded", "date": "2024-09-01"}),
        )
    };
    let paid_on = s.unchanged("withdrawing a paid determination", || {
        withdraw(ID_PATH, s.token("admin"))
    });
    assert_problem(&paid_on, 422, "refused");
    s.http
        .send(
            "POST",
            "/api/v1/determinations",
            Some(s.token("admin")),
            &[],
            Some(toml_body("31/9999")),
        )
        .status(201);
    forbidden_for(
        &s,
        &["finance", "sw", "auditor", "reader"],
        "a withdrawal",
        |t| withdraw("31%2F9999", t),
    );
    let withdrawn = withdraw("31%2F9999", s.token("admin")).status(201).json();
    assert_eq!(withdrawn["type"], "DeterminationWithdrawn");
    let shown = s
        .http
        .get("/api/v1/determinations/31%2F9999", Some(s.token("reader")))
        .status(200)
        .json();
    assert_eq!(shown["withdrawn"]["date"], "2024-09-01");
}

#[test]
fn only_admin_grants_lists_and_revokes_access() {
    let s = Shared::start();
    let others = ["finance", "sw", "auditor", "reader"];
    forbidden_for(&s, &others, "a grant", |t| {
        s.http.post(
            "/api/v1/access",
            Some(t),
            &json!({"name": "intruder", "role": "admin"}),
        )
    });
    for name in others {
        let r = s.http.get("/api/v1/access", Some(s.token(name)));
        assert_problem(&r, 403, "forbidden");
    }
    forbidden_for(&s, &others, "a revocation", |t| {
        s.http.delete("/api/v1/access/admin2", Some(t))
    });
    let granted = s
        .http
        .post(
            "/api/v1/access",
            Some(s.token("admin")),
            &json!({"name": "analyst", "role": "reader"}),
        )
        .status(201)
        .json();
    assert_eq!(granted["name"], "analyst");
    assert_eq!(granted["role"], "reader");
    assert!(granted["token"].as_str().is_some_and(|t| t.len() >= 32));
    let listed = s
        .http
        .get("/api/v1/access", Some(s.token("admin")))
        .status(200);
    assert!(listed.body.contains("analyst"));
    s.http
        .delete("/api/v1/access/analyst", Some(s.token("admin")))
        .status(200);
}

#[test]
fn only_finance_pays_and_recovers() {
    let s = Shared::start();
    let pay = |t: &str| {
        s.http.post(
            "/api/v1/payments",
            Some(t),
            &json!({"determination": ID, "region": "south-west", "amount": "260600", "date": "2024-08-27"}),
        )
    };
    let recover = |t: &str| {
        s.http.post(
            "/api/v1/recoveries",
            Some(t),
            &json!({"determination": ID, "region": "south-west", "amount": "100", "date": "2024-09-03", "reason": "unused"}),
        )
    };
    let not_finance = ["admin", "sw", "auditor", "reader"];
    forbidden_for(&s, &not_finance, "a payment", pay);
    let paid = pay(s.token("finance")).status(201).json();
    assert_eq!(paid["type"], "PaymentIssued");
    assert_eq!(paid["actor"], "finance");
    forbidden_for(&s, &not_finance, "a recovery", recover);
    let recovered = recover(s.token("finance")).status(201).json();
    assert_eq!(recovered["type"], "GrantRecovered");
}

#[test]
fn only_a_region_token_spends_and_imports_spends() {
    let s = Shared::paid();
    let spend = |t: &str| {
        s.http
            .post("/api/v1/spends", Some(t), &spend_body("south-west", "100"))
    };
    let import = |t: &str| {
        s.http.send(
            "POST",
            "/api/v1/spends/import",
            Some(t),
            &[],
            Some(csv(&[("south-west", "10"), ("south-west", "20")])),
        )
    };
    let not_region = ["admin", "finance", "auditor", "reader"];
    forbidden_for(&s, &not_region, "a spend", spend);
    forbidden_for(&s, &not_region, "a spend import", import);
    let spent = spend(s.token("sw")).status(201).json();
    assert_eq!(spent["type"], "FundsSpent");
    assert_eq!(spent["actor"], "sw");
    let imported = import(s.token("sw")).status(201).json();
    assert_eq!(imported["imported"], 2, "{imported}");
}

#[test]
fn reversal_is_for_finance_and_for_a_region_on_its_own_spends() {
    let s = Shared::paid();
    let first = s.spend("sw", "south-west", "100")["position"].clone();
    let second = s.spend("sw", "south-west", "200")["position"].clone();
    let payment = s.pay("north-east", "239600")["position"].clone();
    let http = &s.http;
    let reverse = |event: &Value| {
        let event = event.clone();
        move |t: &str| {
            http.post(
                "/api/v1/reversals",
                Some(t),
                &json!({"event": event, "reason": "entered twice"}),
            )
        }
    };
    forbidden_for(
        &s,
        &["admin", "auditor", "reader", "london"],
        "a spend's reversal",
        reverse(&first),
    );
    // A region may not reverse a payment, even its own region's.
    forbidden_for(&s, &["sw"], "a payment's reversal", reverse(&payment));
    let by_region = reverse(&first)(s.token("sw")).status(201).json();
    assert_eq!(by_region["type"], "EventReversed");
    assert_eq!(by_region["actor"], "sw");
    reverse(&second)(s.token("finance")).status(201);
    reverse(&payment)(s.token("finance")).status(201);
}

#[test]
fn every_role_may_run_every_query_history_the_stream_and_verify() {
    let s = Shared::paid();
    s.spend("sw", "south-west", "100");
    let queries = [
        "/api/v1/determinations".to_string(),
        format!("/api/v1/determinations/{ID_PATH}"),
        format!("/api/v1/determinations/{ID_PATH}/check"),
        format!("/api/v1/determinations/{ID_PATH}/check?workings=true"),
        "/api/v1/balances".to_string(),
        "/api/v1/deadlines?today=2024-08-28".to_string(),
        format!("/api/v1/spend-report?determination={ID_PATH}"),
        "/api/v1/history".to_string(),
        "/api/v1/verify".to_string(),
    ];
    for name in ["admin", "finance", "sw", "auditor", "reader"] {
        let token = s.token(name);
        for path in &queries {
            let r = s.unchanged(&format!("{path} by {name}"), || {
                s.http.get(path, Some(token))
            });
            assert_eq!(r.status, 200, "{path} by {name}: {}", r.body);
        }
        let mut stream = SseStream::open(&s.http.base, token, None);
        assert_eq!(stream.next().id.as_deref(), Some("1"), "{name}");
    }
}

#[test]
fn a_region_token_cannot_spend_import_or_reverse_for_another_region() {
    let s = Shared::paid();
    let london_spend = s.spend("london", "london", "100")["position"].clone();
    let sw = s.token("sw").to_string();
    let cases: Vec<(&str, Sender)> = vec![
        (
            "a spend for London",
            Box::new(|| {
                s.http
                    .post("/api/v1/spends", Some(&sw), &spend_body("london", "100"))
            }),
        ),
        (
            "an import of London's spend",
            Box::new(|| {
                s.http.send(
                    "POST",
                    "/api/v1/spends/import",
                    Some(&sw),
                    &[],
                    Some(csv(&[("london", "10")])),
                )
            }),
        ),
        (
            "an import with one London row among its own",
            Box::new(|| {
                s.http.send(
                    "POST",
                    "/api/v1/spends/import",
                    Some(&sw),
                    &[],
                    Some(csv(&[
                        ("south-west", "10"),
                        ("London", "10"),
                        ("south-west", "10"),
                    ])),
                )
            }),
        ),
        (
            "a reversal of London's spend",
            Box::new(|| {
                s.http.post(
                    "/api/v1/reversals",
                    Some(&sw),
                    &json!({"event": london_spend, "reason": "not ours"}),
                )
            }),
        ),
    ];
    for (what, send) in cases {
        let r = s.unchanged(what, send);
        let problem = assert_problem(&r, 403, "forbidden");
        assert!(
            problem["detail"].as_str().is_some_and(
                |d| d.to_lowercase().contains("london") || d.to_lowercase().contains("south")
            ),
            "{what}: the sentence names no region: {problem}"
        );
    }
    // Through the command line: exit 4, nothing written.
    let r = s.unchanged("the command line's spend for London", || {
        s.server.cli(
            &sw,
            &[
                "spend",
                ID,
                "--region",
                "london",
                "--amount",
                "100",
                "--date",
                "2024-09-01",
                "--purpose",
                "data-coordinator",
            ],
        )
    });
    r.refused(4, &[]);
}

// ---------------------------------------------------------------- errors

#[test]
fn each_error_class_is_a_problem_document_with_its_status_and_code() {
    let s = Shared::paid();
    let spent = s.spend("sw", "south-west", "100");
    let sw = s.token("sw").to_string();
    let finance = s.token("finance").to_string();
    let keyed = spend_body("south-west", "5");
    s.http
        .post_keyed("/api/v1/spends", Some(&sw), "k-problem", &keyed)
        .status(201);
    let cases: Vec<(u16, &str, &str, Sender)> = vec![
        (
            400,
            "malformed",
            "amount",
            Box::new(|| {
                s.http.post(
                    "/api/v1/spends",
                    Some(&sw),
                    &spend_body("south-west", "12.345"),
                )
            }),
        ),
        (
            400,
            "malformed",
            "date",
            Box::new(|| {
                let mut b = spend_body("south-west", "1");
                b["date"] = json!("2024-13-45");
                s.http.post("/api/v1/spends", Some(&sw), &b)
            }),
        ),
        (
            400,
            "malformed",
            "",
            Box::new(|| {
                s.http.send(
                    "POST",
                    "/api/v1/spends",
                    Some(&sw),
                    &[],
                    Some(Body {
                        content_type: "application/json",
                        bytes: b"{\"determination\": ".to_vec(),
                    }),
                )
            }),
        ),
        (
            400,
            "malformed",
            "limit",
            Box::new(|| s.http.get("/api/v1/history?limit=many", Some(&sw))),
        ),
        (
            401,
            "unauthorized",
            "token",
            Box::new(|| {
                s.http
                    .post("/api/v1/spends", None, &spend_body("south-west", "1"))
            }),
        ),
        (
            403,
            "forbidden",
            "",
            Box::new(|| {
                s.http.post(
                    "/api/v1/spends",
                    Some(&finance),
                    &spend_body("south-west", "1"),
                )
            }),
        ),
        (
            404,
            "not_found",
            "",
            Box::new(|| s.http.get("/api/v1/no-such-thing", Some(&sw))),
        ),
        (
            404,
            "not_found",
            "999",
            Box::new(|| {
                s.http.post(
                    "/api/v1/reversals",
                    Some(&finance),
                    &json!({"event": 999, "reason": "typo"}),
                )
            }),
        ),
        (
            409,
            "conflict",
            "k-problem",
            Box::new(|| {
                s.http.post_keyed(
                    "/api/v1/spends",
                    Some(&sw),
                    "k-problem",
                    &spend_body("south-west", "6"),
                )
            }),
        ),
        (
            415,
            "malformed",
            "text/plain",
            Box::new(|| {
                s.http.send(
                    "POST",
                    "/api/v1/spends",
                    Some(&sw),
                    &[],
                    Some(Body {
                        content_type: "text/plain",
                        bytes: serde_json::to_vec(&spend_body("south-west", "1")).expect("json"),
                    }),
                )
            }),
        ),
        (
            422,
            "refused",
            "£",
            Box::new(|| {
                s.http.post(
                    "/api/v1/spends",
                    Some(&sw),
                    &spend_body("south-west", "999999"),
                )
            }),
        ),
        (
            422,
            "refused",
            "biscuits",
            Box::new(|| {
                let mut b = spend_body("south-west", "1");
                b["purpose"] = json!("biscuits");
                s.http.post("/api/v1/spends", Some(&sw), &b)
            }),
        ),
        (
            422,
            "refused",
            "99/1",
            Box::new(|| {
                let mut b = spend_body("south-west", "1");
                b["determination"] = json!("99/1");
                s.http.post("/api/v1/spends", Some(&sw), &b)
            }),
        ),
    ];
    for (status, code, needle, send) in cases {
        let r = s.unchanged(&format!("the {status} case"), send);
        let problem = assert_problem(&r, status, code);
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains(needle)),
            "{status}: detail lacks {needle:?}: {problem}"
        );
    }
    assert!(spent["position"].is_u64());
}

#[test]
fn a_body_over_16_mib_is_413_and_writes_nothing() {
    let s = Shared::paid();
    let mut big = CSV_HEADER.as_bytes().to_vec();
    let row = format!("{ID},south-west,1,2024-09-02,data-coordinator,,,,\n");
    while big.len() <= (16 << 20) + 1024 {
        big.extend_from_slice(row.as_bytes());
    }
    let r = s.unchanged("a 16 MiB import", || {
        s.http.try_send(
            "POST",
            "/api/v1/spends/import",
            Some(s.token("sw")),
            &[],
            Some(Body {
                content_type: "text/csv",
                bytes: big,
            }),
        )
    });
    // The server may close the connection while the client is still sending; if it
    // answered, the answer is the contract's.
    match r {
        Ok(r) => {
            assert_problem(&r, 413, "malformed");
        }
        Err(e) => panic!("no answer: {e}"),
    }
}

// ---------------------------------------------------------------- idempotency

#[test]
fn a_keyed_repeat_returns_the_same_status_and_body_with_idempotency_hit_and_appends_nothing() {
    let s = Shared::paid();
    let reversible = s.spend("sw", "south-west", "300")["position"].clone();
    let cases: [(&str, &str, Value); 4] = [
        ("sw", "/api/v1/spends", spend_body("south-west", "100")),
        (
            "finance",
            "/api/v1/payments",
            json!({"determination": ID, "region": "north-east", "amount": "239600", "date": "2024-08-27"}),
        ),
        (
            "finance",
            "/api/v1/recoveries",
            json!({"determination": ID, "region": "london", "amount": "10", "date": "2024-09-03", "reason": "unused"}),
        ),
        (
            "finance",
            "/api/v1/reversals",
            json!({"event": reversible, "reason": "entered twice"}),
        ),
    ];
    for (n, (token, path, body)) in cases.iter().enumerate() {
        let key = format!("key-{n}");
        let first = s
            .http
            .post_keyed(path, Some(s.token(token)), &key, body)
            .status(201);
        assert_ne!(first.header("idempotency-hit"), Some("true"), "{path}");
        for _ in 0..2 {
            let again = s.unchanged(&format!("a repeat of {path}"), || {
                s.http.post_keyed(path, Some(s.token(token)), &key, body)
            });
            assert_eq!(again.status, first.status, "{path}: {}", again.body);
            assert_eq!(again.body, first.body, "{path}");
            assert_eq!(again.header("idempotency-hit"), Some("true"), "{path}");
        }
    }
}

/// http.md: `Idempotency-Key` on *any* POST, `/spends/import` included: the whole file is
/// guarded by the key, so a repeat imports no row a second time (its body, skips and all:
/// tests/server_replays.rs).
#[test]
fn a_keyed_repeat_of_a_spend_import_appends_nothing() {
    let s = Shared::paid();
    let import = || {
        s.http.send(
            "POST",
            "/api/v1/spends/import",
            Some(s.token("sw")),
            &[("Idempotency-Key", "import-1")],
            Some(csv(&[("south-west", "10"), ("south-west", "20")])),
        )
    };
    let first = import().status(201);
    let again = s.unchanged("a repeated import", import);
    assert_eq!(again.status, first.status, "{}", again.body);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header("idempotency-hit"), Some("true"));
}

#[test]
fn a_keyed_repeat_by_a_token_not_allowed_is_403_not_a_replay() {
    let s = Shared::start();
    let body =
        json!({"determination": ID, "region": "london", "amount": "318000", "date": "2024-08-27"});
    s.http
        .post_keyed(
            "/api/v1/payments",
            Some(s.token("finance")),
            "pay-london",
            &body,
        )
        .status(201);
    for name in ["reader", "london", "admin"] {
        let r = s.unchanged(&format!("{name}'s replay of finance's key"), || {
            s.http
                .post_keyed("/api/v1/payments", Some(s.token(name)), "pay-london", &body)
        });
        assert_problem(&r, 403, "forbidden");
        assert_ne!(r.header("idempotency-hit"), Some("true"));
    }
}

#[test]
fn the_same_key_with_a_different_request_is_409_and_writes_nothing() {
    let s = Shared::paid();
    let sw = s.token("sw").to_string();
    s.http
        .post_keyed(
            "/api/v1/spends",
            Some(&sw),
            "once",
            &spend_body("south-west", "100"),
        )
        .status(201);
    let mut other_purpose = spend_body("south-west", "100");
    other_purpose["purpose"] = json!("self-assessment");
    let changed: [(&str, &str, Value); 3] = [
        ("sw", "/api/v1/spends", spend_body("south-west", "101")),
        ("sw", "/api/v1/spends", other_purpose),
        (
            "finance",
            "/api/v1/payments",
            json!({"determination": ID, "region": "north-east", "amount": "239600", "date": "2024-08-27"}),
        ),
    ];
    for (token, path, body) in changed {
        let r = s.unchanged(&format!("a reused key on {path}"), || {
            s.http.post_keyed(path, Some(s.token(token)), "once", &body)
        });
        assert_problem(&r, 409, "conflict");
    }
}

// ---------------------------------------------------------------- operations

#[test]
fn healthz_answers_ok_without_a_token() {
    let s = Shared::start();
    let r = s.http.get("/healthz", None).status(200);
    assert_eq!(r.body, "ok");
}

#[test]
fn openapi_lists_every_endpoint_of_the_contract_and_each_is_a_real_route() {
    let s = Shared::start();
    let r = s.http.get("/api/v1/openapi.json", None).status(200);
    let doc = r.json();
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "not OpenAPI 3.1: {}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().expect("paths");
    let listed: Vec<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("path item")
                .keys()
                .filter(|m| ["get", "post", "put", "patch", "delete"].contains(&m.as_str()))
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect();
    for (method, path) in CONTRACT {
        assert!(
            listed.iter().any(|(m, p)| m == method && p == path),
            "the document lacks {method} {path}: {listed:?}"
        );
    }
    // Everything the document lists is a route the server really answers: not the 404 of
    // an unknown path nor a 405 of an unknown method (without a token: 401, or 200 where
    // no token is needed).
    for (method, path) in &listed {
        let concrete = path.replace("{id}", ID_PATH).replace("{name}", "nobody");
        let r = s
            .http
            .send(&method.to_uppercase(), &concrete, None, &[], None);
        assert!(
            r.status != 404 && r.status != 405,
            "{method} {path} is listed but not served: {} {}",
            r.status,
            r.body
        );
        let open = concrete == "/api/v1/openapi.json" || concrete == "/healthz";
        assert_eq!(
            r.status,
            if open { 200 } else { 401 },
            "{method} {path}: {}",
            r.body
        );
    }
    // And a path the document does not list is the contract's 404.
    let r = s.http.get("/api/v1/nothing-here", Some(s.token("reader")));
    assert_problem(&r, 404, "not_found");
}

/// The names of the header parameters an operation of the document lists.
fn header_params(operation: &Value) -> Vec<String> {
    operation["parameters"]
        .as_array()
        .map(|params| {
            params
                .iter()
                .filter(|p| p["in"] == "header")
                .filter_map(|p| p["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn openapi_documents_the_bearer_scheme_and_every_header_the_contract_names() {
    let s = Shared::start();
    let doc = s.http.get("/api/v1/openapi.json", None).status(200).json();
    // Bearer tokens: a scheme in components, required by default.
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("components.securitySchemes");
    let bearer = schemes
        .iter()
        .find(|(_, scheme)| scheme["type"] == "http" && scheme["scheme"] == "bearer")
        .map(|(name, _)| name.clone())
        .unwrap_or_else(|| panic!("no bearer scheme: {schemes:?}"));
    let required = doc["security"].as_array().expect("top-level security");
    assert!(
        required.iter().any(|r| r.get(&bearer).is_some()),
        "bearer is not required by default: {required:?}"
    );
    // Every POST documents Idempotency-Key.
    let paths = doc["paths"].as_object().expect("paths");
    let mut posts = 0;
    for (path, item) in paths {
        if let Some(post) = item.get("post") {
            posts += 1;
            assert!(
                header_params(post).iter().any(|n| n == "Idempotency-Key"),
                "POST {path} does not document Idempotency-Key"
            );
        }
    }
    assert!(posts >= 10, "only {posts} POSTs listed");
    // The event stream documents Last-Event-ID.
    let stream = &paths["/api/v1/events/stream"]["get"];
    assert!(
        header_params(stream).iter().any(|n| n == "Last-Event-ID"),
        "the stream does not document Last-Event-ID: {stream}"
    );
    // A determination is imported as TOML or as JSON naming a built-in one.
    let content = &paths["/api/v1/determinations"]["post"]["requestBody"]["content"];
    for media in ["application/toml", "application/json"] {
        assert!(
            content.get(media).is_some(),
            "{media} not listed: {content}"
        );
    }
}

#[test]
fn the_event_stream_resumes_after_last_event_id_with_no_gap_or_repeat() {
    let s = Shared::paid();
    let reader = s.token("reader").to_string();
    let started = Instant::now();
    let mut seen: Vec<(u64, String, Value)> = Vec::new();
    let take = |stream: &mut SseStream, n: usize, seen: &mut Vec<(u64, String, Value)>| {
        for _ in 0..n {
            let e = stream.next();
            let id: u64 = e.id.as_deref().expect("id").parse().expect("numeric id");
            let data: Value = serde_json::from_str(&e.data).expect("data is JSON");
            let event = e.event.expect("event");
            assert_eq!(data["position"], id, "{data}");
            assert_eq!(data["type"], event.as_str(), "{data}");
            seen.push((id, event, data));
        }
    };
    let head = s.events();
    // Everything on record, then three spends appended while connected.
    let mut stream = SseStream::open(&s.http.base, &reader, None);
    take(&mut stream, head, &mut seen);
    for n in 0..3 {
        s.spend("sw", "south-west", &format!("{}", 10 + n));
    }
    take(&mut stream, 3, &mut seen);
    drop(stream);
    // Written while disconnected.
    for n in 0..4 {
        s.spend("london", "london", &format!("{}", 20 + n));
    }
    let last = seen.last().expect("events").0.to_string();
    let mut stream = SseStream::open(&s.http.base, &reader, Some(&last));
    take(&mut stream, 4, &mut seen);
    // And more after the reconnect.
    for n in 0..2 {
        s.spend("sw", "south-west", &format!("{}", 30 + n));
    }
    take(&mut stream, 2, &mut seen);
    drop(stream);
    let total = s.events();
    // A resume by the `after` parameter, from the middle, gives exactly the rest.
    let middle = (total / 2) as u64;
    let mut stream = SseStream::open_after(&s.http.base, &reader, middle);
    let mut rest = Vec::new();
    take(&mut stream, total - middle as usize, &mut rest);
    let rest: Vec<u64> = rest.iter().map(|(id, _, _)| *id).collect();
    assert_eq!(rest, (middle + 1..=total as u64).collect::<Vec<_>>());
    drop(stream);
    let ids: Vec<u64> = seen.iter().map(|(id, _, _)| *id).collect();
    assert_eq!(
        ids,
        (1..=total as u64).collect::<Vec<_>>(),
        "a gap or a repeat"
    );
    let history: Value = serde_json::from_str(&s.history()).expect("history");
    for ((_, _, data), entry) in seen.iter().zip(history.as_array().expect("array")) {
        assert_eq!(data, entry, "an event differs from its history object");
    }
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn over_tls_the_server_says_https_and_the_cli_trusts_the_given_ca() {
    let dir = Dir::new();
    let admin = dir.grant_local("root", "admin", "admin");
    // A certificate authority of the test's own, and a server certificate it signs.
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "grant-ledger test CA");
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let ca = ca_params.self_signed(&ca_key).expect("CA");
    let server_key = rcgen::KeyPair::generate().expect("key");
    let server_cert =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("params")
            .signed_by(&server_key, &ca, &ca_key)
            .expect("server certificate");
    let ca_pem = dir.file("ca.pem", ca.pem().as_bytes());
    let cert = dir.file("server.pem", server_cert.pem().as_bytes());
    let key = dir.file("server.key", server_key.serialize_pem().as_bytes());

    let server = dir.serve_with(&["--tls-cert", &cert, "--tls-key", &key]);
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    let port = server.url.rsplit(':').next().expect("port").to_string();
    let client = |url: &str, ca: Option<&str>, args: &[&str]| {
        let mut cmd = server_common::bin();
        cmd.args(["--server", url, "--token", &admin]).args(args);
        if let Some(ca) = ca {
            cmd.env("GRANT_LEDGER_CA_CERT", ca);
        }
        Run::of(&mut cmd)
    };
    for url in [server.url.clone(), format!("https://localhost:{port}")] {
        let r = client(&url, Some(&ca_pem), &["--format", "json", "access", "list"]);
        assert_eq!(r.code, 0, "{url}: {r:?}");
        assert_eq!(r.json()[0]["name"], "admin");
    }
    let imported = client(
        &server.url,
        Some(&ca_pem),
        &[
            "--format",
            "json",
            "determination",
            "import",
            "--builtin",
            ID,
        ],
    );
    assert_eq!(imported.code, 0, "{imported:?}");
    assert_eq!(imported.json()["actor"], "admin");
    // Without the CA the certificate is not trusted: unreachable, exit 3, nothing written.
    client(&server.url, None, &["verify"]).refused(3, &[]);
    // It speaks HTTPS only.
    client(&format!("http://127.0.0.1:{port}"), None, &["verify"]).refused(3, &[]);
    let verified = client(&server.url, Some(&ca_pem), &["--format", "json", "verify"]);
    assert_eq!(verified.code, 0, "{verified:?}");
    assert_eq!(verified.json()["events"], 2);
}

#[test]
fn a_local_command_on_a_served_directory_exits_3_and_names_the_server() {
    let s = Shared::start();
    let before = s.history();
    let r = s.dir.local(
        "finance",
        &[
            "pay",
            ID,
            "--region",
            "london",
            "--amount",
            "318000",
            "--date",
            "2024-08-27",
        ],
    );
    r.refused(3, &[&s.server.url, "--server"]);
    s.dir.local("", &["balances"]).refused(3, &["--server"]);
    assert_eq!(before, s.history());
}

#[test]
fn sigterm_stops_the_server_with_exit_0_keeping_every_acknowledged_write() {
    let mut s = Shared::paid();
    for n in 0..5 {
        s.spend("sw", "south-west", &format!("{}", n + 1));
    }
    let acknowledged = s.history();
    let asked = Instant::now();
    let status = s.server.terminate(Duration::from_secs(20));
    eprintln!("stopped {:?} after SIGTERM", asked.elapsed());
    assert_eq!(status.code(), Some(0), "{status:?}\n{}", s.server.log());
    // The directory is free again and holds everything that was acknowledged.
    let local = s.dir.local_ok("", &["--format", "json", "history"]).json();
    let served: Value = serde_json::from_str(&acknowledged).expect("json");
    assert_eq!(local, served);
    s.dir.local_ok("", &["verify"]);
    let log = s.server.log();
    for token in s.tokens.values() {
        assert!(
            !log.contains(token.as_str()),
            "a token is in the server's log"
        );
    }
}

#[test]
fn every_query_body_is_exactly_the_json_the_cli_prints() {
    let mut s = Shared::paid();
    s.spend("sw", "south-west", "100");
    let reader = s.token("reader").to_string();
    let pairs: [(String, Vec<&str>); 9] = [
        (
            "/api/v1/determinations".into(),
            vec!["determination", "list"],
        ),
        (
            format!("/api/v1/determinations/{ID_PATH}"),
            vec!["determination", "show", ID],
        ),
        (
            format!("/api/v1/determinations/{ID_PATH}/check"),
            vec!["determination", "check", ID],
        ),
        (
            format!("/api/v1/determinations/{ID_PATH}/check?workings=true"),
            vec!["determination", "check", ID, "--workings"],
        ),
        (
            "/api/v1/balances?region=south-west&as_of=2024-12-31".into(),
            vec![
                "balances",
                "--region",
                "south-west",
                "--as-of",
                "2024-12-31",
            ],
        ),
        (
            "/api/v1/deadlines?today=2024-08-28".into(),
            vec!["deadlines", "--today", "2024-08-28"],
        ),
        (
            format!("/api/v1/spend-report?determination={ID_PATH}"),
            vec!["spend-report", ID],
        ),
        (
            "/api/v1/history?type=FundsSpent".into(),
            vec!["history", "--type", "FundsSpent"],
        ),
        ("/api/v1/history".into(), vec!["history"]),
    ];
    let served: Vec<Value> = pairs
        .iter()
        .map(|(path, _)| s.http.get(path, Some(&reader)).status(200).json())
        .collect();
    let verify = s
        .http
        .get("/api/v1/verify", Some(&reader))
        .status(200)
        .json();
    assert_eq!(verify["ok"], true, "{verify}");
    s.server.terminate(Duration::from_secs(20));
    for ((path, args), served) in pairs.iter().zip(served) {
        let mut all = vec!["--format", "json"];
        all.extend(args);
        let local = s.dir.local_ok("", &all).json();
        assert_eq!(served, local, "{path} differs from {args:?}");
    }
    let local = s.dir.local_ok("", &["--format", "json", "verify"]).json();
    assert_eq!(local["events"], verify["events"]);
    assert_eq!(local["head_hash"], verify["head_hash"]);
}

/// `GET /verify` while other clients write never reports a sound ledger as corrupt: it
/// compares the stored models with a replay of one and the same head.
#[test]
fn verify_under_concurrent_writes_reports_no_corruption() {
    let s = Shared::paid();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    s.spend("sw", "south-west", "1");
                }
            });
        }
        let mut failures = Vec::new();
        for _ in 0..40 {
            let r = s.http.get("/api/v1/verify", Some(s.token("auditor")));
            if r.status != 200 {
                failures.push(r.body);
            }
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(
            failures.is_empty(),
            "{} of 40 verifies failed: {failures:#?}",
            failures.len()
        );
    });
}

/// A refused upload must be answered with its status, not cut off: the server refuses a
/// determination file or a spend import with a bad token before reading the body and
/// closes the connection while the client is still sending it, so the command line
/// (crates/cli/remote.rs maps the broken pipe to "cannot reach the server") exits 3
/// instead of 4, about one time in three for the built-in TOML (11 KB). Ignored until
/// that is fixed.
#[test]
fn a_refused_upload_is_answered_not_cut_off() {
    let s = Shared::start();
    let toml = toml_body("31/9999");
    let file = s.dir.file("d.toml", &toml.bytes);
    let mut exits = Vec::new();
    for _ in 0..10 {
        let r = s
            .server
            .cli("glt_not-a-token", &["determination", "import", &file]);
        exits.push((r.code, r.stderr));
    }
    assert!(
        exits.iter().all(|(code, _)| *code == 4),
        "expected exit 4 every time: {exits:#?}"
    );
}

#[test]
fn every_answer_carries_a_request_id_that_the_log_names_and_no_token_is_logged() {
    let s = Shared::paid();
    let unknown = format!("glt_{}", "1".repeat(64));
    let answers = [
        s.http.get("/api/v1/balances", Some(s.token("reader"))),
        s.http.get("/api/v1/balances", Some(&unknown)),
        s.http.post(
            "/api/v1/spends",
            Some(s.token("sw")),
            &spend_body("south-west", "100"),
        ),
        s.http.get("/healthz", None),
    ];
    let ids: Vec<&str> = answers
        .iter()
        .map(|r| {
            r.header("x-request-id")
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| panic!("no x-request-id: {:?}", r.headers))
        })
        .collect();
    // The log line is written as the answer goes out: wait for it to reach the file.
    let waiting = Instant::now();
    let mut log = s.server.log();
    while !ids.iter().all(|id| log.contains(id)) && waiting.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
        log = s.server.log();
    }
    for id in &ids {
        assert!(
            log.contains(id),
            "the log does not name request {id}:\n{log}"
        );
    }
    assert!(!log.contains(&unknown), "a token is in the server's log");
    for token in s.tokens.values() {
        assert!(
            !log.contains(token.as_str()),
            "a token is in the server's log"
        );
    }
}

#[test]
fn the_cli_without_a_token_exits_4_and_writes_nothing() {
    let s = Shared::paid();
    let r = s.unchanged("a spend without a token", || {
        Run::of(server_common::bin().args([
            "--server",
            &s.server.url,
            "spend",
            ID,
            "--region",
            "south-west",
            "--amount",
            "1",
            "--date",
            "2024-09-01",
            "--purpose",
            "data-coordinator",
        ]))
    });
    r.refused(4, &["token"]);
}

#[test]
fn the_cli_with_an_unreachable_server_exits_3() {
    // A port that was free a moment ago: nothing listens there now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let r = Run::of(server_common::bin().args(["--server", &url, "--token", "glt_x", "balances"]));
    r.refused(3, &[&url]);
}

/// Changes the first stored event holding `from` (same length as `to`) behind the ledger's
/// back, and returns its position.
fn tamper(dir: &std::path::Path, from: &[u8], to: &[u8]) -> u64 {
    let db = sled::open(dir).expect("sled opens the closed ledger");
    let events = db.open_tree("events").expect("events tree");
    let mut tampered = 0;
    for item in events.iter() {
        let (key, value) = item.expect("entry");
        if let Some(at) = value.windows(from.len()).position(|w| w == from) {
            let mut bytes = value.to_vec();
            bytes[at..at + to.len()].copy_from_slice(to);
            events.insert(&key, bytes).expect("insert");
            let mut position = [0u8; 8];
            position.copy_from_slice(&key[..8]);
            tampered = u64::from_be_bytes(position);
            break;
        }
    }
    db.flush().expect("flush");
    assert!(tampered > 0, "nothing to tamper with");
    tampered
}

#[test]
fn a_tampered_ledger_answers_verify_with_503_naming_the_first_bad_position() {
    let dir = Dir::new();
    let admin = dir.grant_local("root", "admin", "admin");
    dir.local_ok("admin", &["determination", "import", "--builtin", ID]);
    dir.local_ok(
        "finance",
        &[
            "pay",
            ID,
            "--region",
            "london",
            "--amount",
            "318000",
            "--date",
            "2024-08-20",
            "--reference",
            "REF-TAMPER",
        ],
    );
    dir.local_ok(
        "finance",
        &[
            "pay",
            ID,
            "--region",
            "north-east",
            "--amount",
            "239600",
            "--date",
            "2024-08-20",
        ],
    );
    let position = tamper(&dir.ledger(), b"REF-TAMPER", b"REF-TAMPEX");
    let local = dir.local("", &["verify"]);
    local.refused(3, &[&position.to_string()]);
    let server = dir.serve();
    let r = server.http().get("/api/v1/verify", Some(&admin));
    let problem = assert_problem(&r, 503, "unavailable");
    assert_eq!(
        format!("error: {}\n", problem["detail"].as_str().expect("detail")),
        local.stderr,
        "the server's sentence is not the command line's"
    );
    let remote = server.cli(&admin, &["verify"]);
    assert_eq!(
        remote, local,
        "verify through the server differs from the local one"
    );
}

#[test]
fn sigterm_finishes_a_request_in_flight_before_exiting_0() {
    use std::io::{Read, Write};
    let mut s = Shared::paid();
    let mut body = CSV_HEADER.to_string();
    for n in 0..200 {
        body.push_str(&format!(
            "{ID},south-west,1,2024-09-02,data-coordinator,,,,inflight-{n}\n"
        ));
    }
    let before = s.events();
    let addr = s.server.url.trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let head = format!(
        "POST /api/v1/spends/import HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: text/csv\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        s.token("sw"),
        body.len()
    );
    let (first, rest) = body.as_bytes().split_at(body.len() / 2);
    stream.write_all(head.as_bytes()).expect("send the head");
    stream.write_all(first).expect("send half the body");
    stream.flush().expect("flush");
    // The request is in flight: the server has it and waits for the rest of its body.
    std::thread::sleep(Duration::from_millis(300));
    s.server.send_sigterm();
    std::thread::sleep(Duration::from_millis(300));
    stream.write_all(rest).expect("send the rest of the body");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("an answer");
    assert!(
        answer.starts_with("HTTP/1.1 201"),
        "the request in flight was not finished: {answer}"
    );
    let status = s.server.wait(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{status:?}");
    let history = s.dir.local_ok("", &["--format", "json", "history"]).json();
    assert_eq!(history.as_array().map(Vec::len), Some(before + 200));
}

#[test]
fn a_revoked_name_granted_again_gets_a_new_token_and_the_old_one_stays_refused() {
    let mut s = Shared::start();
    let admin = s.token("admin").to_string();
    let grant = |http: &server_common::Http, role: &str| {
        let granted = http
            .post(
                "/api/v1/access",
                Some(&admin),
                &json!({"name": "bob", "role": role}),
            )
            .status(201)
            .json();
        granted["token"].as_str().expect("token").to_string()
    };
    let old = grant(&s.http, "reader");
    // A name is unique among tokens not revoked.
    let r = s.unchanged("a second bob", || {
        s.http.post(
            "/api/v1/access",
            Some(&admin),
            &json!({"name": "bob", "role": "finance"}),
        )
    });
    assert!(
        r.status == 409 || r.status == 422,
        "{} {}",
        r.status,
        r.body
    );
    s.http
        .delete("/api/v1/access/bob", Some(&admin))
        .status(200);
    let new = grant(&s.http, "finance");
    assert_ne!(old, new);
    // Across a restart too: the old token refused, the new one with its new role.
    s.server.terminate(Duration::from_secs(20));
    s.server = s.dir.serve();
    let http = s.server.http();
    assert_problem(
        &http.get("/api/v1/balances", Some(&old)),
        401,
        "unauthorized",
    );
    http.get("/api/v1/balances", Some(&new)).status(200);
    let paid = http
        .post(
            "/api/v1/payments",
            Some(&new),
            &json!({"determination": ID, "region": "london", "amount": "318000", "date": "2024-08-27"}),
        )
        .status(201)
        .json();
    assert_eq!(paid["actor"], "bob");
}

#[test]
fn the_event_stream_crosses_its_read_batches_with_no_gap() {
    let s = Shared::paid();
    let rows: Vec<(&str, &str)> = (0..600).map(|_| ("south-west", "1")).collect();
    s.http
        .send(
            "POST",
            "/api/v1/spends/import",
            Some(s.token("sw")),
            &[],
            Some(csv(&rows)),
        )
        .status(201);
    let total = s.events();
    let mut stream = SseStream::open(&s.http.base, s.token("reader"), None);
    for expected in 1..=total as u64 {
        let e = stream.next();
        assert_eq!(e.id, Some(expected.to_string()), "after {}", expected - 1);
    }
}

#[test]
fn money_in_a_request_takes_every_form_the_cli_accepts_and_nothing_else() {
    let s = Shared::start();
    let pay = |amount: &str| {
        s.http.post(
            "/api/v1/payments",
            Some(s.token("finance")),
            &json!({"determination": ID, "region": "london", "amount": amount, "date": "2024-08-27"}),
        )
    };
    for bad in ["1e3", "-318000", "0", "318000.001", "£-5", "three", ""] {
        let r = s.unchanged(&format!("amount {bad:?}"), || pay(bad));
        assert_problem(&r, 400, "malformed");
    }
    let paid = pay("£318,000").status(201).json();
    assert_eq!(paid["data"]["amount"], "318000.00");
    for (sent, kept) in [
        ("£1,234.50", "1234.50"),
        ("1,000", "1000.00"),
        ("12.5", "12.50"),
    ] {
        let spent = s
            .http
            .post(
                "/api/v1/spends",
                Some(s.token("london")),
                &spend_body("london", sent),
            )
            .status(201)
            .json();
        assert_eq!(spent["data"]["amount"], kept, "{sent}");
    }
}
