//! The web pages over real HTTP without a browser: sessions, CSRF, roles, idempotency,
//! post/redirect/get and the error summary, checked on the wire and in the ledger.

mod common;

use common::{Served, TestResult};

/// A cookie-keeping client that does not follow redirects, so each answer is seen.
struct Client {
    agent: ureq::Agent,
    base: String,
    cookie: Option<String>,
}

struct Answer {
    status: u16,
    location: String,
    set_cookie: String,
    body: String,
}

impl Client {
    fn new(base: &str) -> Client {
        Client {
            agent: ureq::AgentBuilder::new().redirects(0).build(),
            base: base.into(),
            cookie: None,
        }
    }

    fn keep(&mut self, r: &ureq::Response) {
        if let Some(c) = r.header("set-cookie") {
            let pair = c.split(';').next().unwrap_or("").to_string();
            self.cookie = if pair.ends_with('=') {
                None
            } else {
                Some(pair)
            };
        }
    }

    fn answer(&mut self, result: Result<ureq::Response, ureq::Error>) -> TestResult<Answer> {
        let r = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => return Err(e.into()),
        };
        self.keep(&r);
        Ok(Answer {
            status: r.status(),
            location: r.header("location").unwrap_or("").to_string(),
            set_cookie: r.header("set-cookie").unwrap_or("").to_string(),
            body: r.into_string()?,
        })
    }

    fn get(&mut self, path: &str) -> TestResult<Answer> {
        let mut req = self.agent.get(&format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            req = req.set("cookie", c);
        }
        let result = req.call();
        self.answer(result)
    }

    fn post(&mut self, path: &str, form: &[(&str, &str)]) -> TestResult<Answer> {
        let mut req = self.agent.post(&format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            req = req.set("cookie", c);
        }
        let result = req.send_form(form);
        self.answer(result)
    }

    /// Posts `fields` and one file as multipart/form-data, as a browser's upload form does.
    fn upload(&mut self, path: &str, fields: &[(&str, &str)], file: &str) -> TestResult<Answer> {
        let boundary = "glboundary7421";
        let mut body = String::new();
        for (name, value) in fields {
            body.push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"));
        }
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"spend.csv\"\r\nContent-Type: text/csv\r\n\r\n{file}\r\n--{boundary}--\r\n"
        ));
        let mut req = self.agent.post(&format!("{}{path}", self.base)).set(
            "content-type",
            &format!("multipart/form-data; boundary={boundary}"),
        );
        if let Some(c) = &self.cookie {
            req = req.set("cookie", c);
        }
        let result = req.send_string(&body);
        self.answer(result)
    }

    fn sign_in(&mut self, token: &str) -> TestResult<Answer> {
        let page = self.get("/sign-in")?;
        let csrf = hidden(&page.body, "csrf");
        self.post("/sign-in", &[("csrf", &csrf), ("token", token)])
    }
}

/// The value of a hidden input in a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    html.find(&marker)
        .map(|i| &html[i + marker.len()..])
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("")
        .to_string()
}

#[test]
fn signing_in_sets_a_strict_http_only_expiring_cookie_and_lands_on_the_overview() -> TestResult {
    let served = Served::start(false)?;
    let mut c = Client::new(&served.url);
    let signed_in = c.sign_in(&served.finance)?;
    assert_eq!((signed_in.status, signed_in.location.as_str()), (303, "/"));
    for part in ["HttpOnly", "SameSite=Strict", "Max-Age=28800"] {
        assert!(
            signed_in.set_cookie.contains(part),
            "{}",
            signed_in.set_cookie
        );
    }
    assert!(
        !signed_in.set_cookie.contains("Secure"),
        "no TLS, so not Secure"
    );
    let overview = c.get("/")?;
    assert_eq!(overview.status, 200);
    assert!(overview.body.contains("£2,412,000.00") || overview.body.contains("Determined"));
    Ok(())
}

#[test]
fn a_wrong_token_is_refused_with_the_ledgers_sentence() -> TestResult {
    let served = Served::start(false)?;
    let mut c = Client::new(&served.url);
    let refused = c.sign_in("glt_wrong")?;
    assert_eq!(refused.status, 401);
    assert!(refused.body.contains("There is a problem"));
    assert!(refused
        .body
        .contains("the access token is not known to this ledger or has been revoked"));
    Ok(())
}

#[test]
fn a_page_without_a_session_redirects_to_sign_in() -> TestResult {
    let served = Served::start(false)?;
    let answer = Client::new(&served.url).get("/deadlines")?;
    assert_eq!((answer.status, answer.location.as_str()), (303, "/sign-in"));
    Ok(())
}

#[test]
fn a_region_lead_posting_spend_for_london_gets_403_and_nothing_is_written() -> TestResult {
    let served = Served::start(true)?;
    let mut c = Client::new(&served.url);
    c.sign_in(&served.south_west)?;
    let form = c.get("/spends/new")?;
    assert!(
        !form.body.contains("London"),
        "the spend form offers no other region"
    );
    let before = served.events();
    let csrf = hidden(&form.body, "csrf");
    let crafted = c.post(
        "/spends/new",
        &[
            ("csrf", &csrf),
            ("key", "k-london"),
            ("determination", "31/7421"),
            ("region", "London"),
            ("purpose", "data-coordinator"),
            ("amount", "100"),
            ("date", "2024-10-01"),
        ],
    )?;
    assert_eq!(crafted.status, 403);
    assert!(
        crafted.body.contains("may not record spend for London"),
        "{}",
        crafted.body
    );
    assert_eq!(served.events(), before);
    Ok(())
}

#[test]
fn a_post_without_the_sessions_csrf_token_is_refused_and_nothing_is_written() -> TestResult {
    let served = Served::start(false)?;
    let mut c = Client::new(&served.url);
    c.sign_in(&served.finance)?;
    let before = served.events();
    let answer = c.post(
        "/payments/new",
        &[
            ("csrf", "forged"),
            ("determination", "31/7421"),
            ("region", "london"),
            ("amount", "318000"),
            ("date", "2024-08-20"),
        ],
    )?;
    assert_eq!(answer.status, 403);
    assert_eq!(served.events(), before);
    Ok(())
}

#[test]
fn a_payment_redirects_to_its_region_and_a_double_submit_records_once() -> TestResult {
    let served = Served::start(false)?;
    let mut c = Client::new(&served.url);
    c.sign_in(&served.finance)?;
    let form = c.get("/payments/new")?;
    let (csrf, key) = (hidden(&form.body, "csrf"), hidden(&form.body, "key"));
    assert!(key.starts_with("web-"));
    let before = served.events();
    let fields = [
        ("csrf", csrf.as_str()),
        ("key", key.as_str()),
        ("determination", "31/7421"),
        ("region", "london"),
        ("amount", "£318,000"),
        ("date", "2024-08-20"),
    ];
    let first = c.post("/payments/new", &fields)?;
    assert_eq!(
        (first.status, first.location.as_str()),
        (303, "/regions/london?determination=31%2F7421")
    );
    let second = c.post("/payments/new", &fields)?;
    assert_eq!(second.status, 303);
    assert_eq!(served.events(), before + 1);
    let page = c.get(&first.location)?;
    assert!(page.body.contains("already recorded"), "the repeat says so");
    Ok(())
}

#[test]
fn a_bad_amount_shows_the_error_summary_with_the_clis_sentence() -> TestResult {
    let served = Served::start(false)?;
    let mut c = Client::new(&served.url);
    c.sign_in(&served.finance)?;
    let form = c.get("/payments/new")?;
    let csrf = hidden(&form.body, "csrf");
    let answer = c.post(
        "/payments/new",
        &[
            ("csrf", &csrf),
            ("key", "k1"),
            ("determination", "31/7421"),
            ("region", "london"),
            ("amount", "lots"),
            ("date", "2024-08-20"),
        ],
    )?;
    assert_eq!(answer.status, 400);
    assert!(answer.body.contains("There is a problem"));
    assert!(answer.body.contains("href=\"#amount\""));
    let cli = grant_ledger_projections::input::money("amount", "lots")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    let escaped = cli.replace('&', "&amp;").replace('"', "&quot;");
    assert!(
        answer.body.contains(&escaped),
        "the same sentence as the command line: {cli}"
    );
    assert!(
        answer.body.contains("value=\"lots\""),
        "what was typed is kept"
    );
    Ok(())
}

#[test]
fn signing_out_ends_the_session_so_the_old_cookie_is_refused() -> TestResult {
    let served = Served::start(false)?;
    let mut c = Client::new(&served.url);
    c.sign_in(&served.finance)?;
    let overview = c.get("/")?;
    let csrf = hidden(&overview.body, "csrf");
    let old = c.cookie.clone();
    let out = c.post("/sign-out", &[("csrf", &csrf)])?;
    assert_eq!(out.status, 303);
    assert!(out.set_cookie.contains("Max-Age=0"));
    c.cookie = old;
    assert_eq!(c.get("/")?.status, 303);
    let posted = c.post("/payments/new", &[("csrf", &csrf), ("amount", "1")])?;
    assert_eq!(posted.status, 401);
    Ok(())
}

#[test]
fn an_auditor_is_offered_no_form_and_refused_the_payment_page() -> TestResult {
    let served = Served::start(false)?;
    let mut c = Client::new(&served.url);
    c.sign_in(&served.auditor)?;
    let overview = c.get("/")?;
    assert!(!overview.body.contains("/payments/new") && !overview.body.contains("/spends/new"));
    let form = c.get("/payments/new")?;
    assert_eq!(form.status, 403);
    assert!(form.body.contains("only finance may"));
    Ok(())
}

#[test]
fn the_history_csv_holds_exactly_the_events_the_page_shows() -> TestResult {
    let served = Served::start(true)?;
    let mut c = Client::new(&served.url);
    c.sign_in(&served.auditor)?;
    let page = c.get("/history?type=PaymentIssued")?;
    let csv = c.get("/history.csv?type=PaymentIssued")?;
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 2, "a header and the one payment: {}", csv.body);
    let hash = lines[1].rsplit(',').next().unwrap_or("");
    assert!(!hash.is_empty() && page.body.contains(hash));
    Ok(())
}

#[test]
fn a_bad_history_date_is_put_on_its_field() -> TestResult {
    let served = Served::start(false)?;
    let mut c = Client::new(&served.url);
    c.sign_in(&served.auditor)?;
    let page = c.get("/history?since=yesterday")?;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("href=\"#since\""));
    assert!(page.body.contains("is not a date in the form YYYY-MM-DD"));
    Ok(())
}

#[test]
fn a_revoked_token_ends_its_session_at_the_next_page() -> TestResult {
    let served = Served::start(false)?;
    let mut c = Client::new(&served.url);
    c.sign_in(&served.finance)?;
    let owner = grant_ledger_projections::Session::new(
        std::sync::Arc::clone(&served.ledger),
        grant_ledger_projections::Caller::owner("owner"),
    );
    grant_ledger_projections::Api::revoke_access(&owner, None, "fiona")?;
    let page = c.get("/")?;
    assert_eq!(page.status, 401);
    assert!(page.body.contains("has been revoked"));
    Ok(())
}

#[test]
fn the_check_highlights_south_west_by_11400() -> TestResult {
    let served = Served::start(false)?;
    let mut c = Client::new(&served.url);
    c.sign_in(&served.auditor)?;
    let page = c.get("/check")?;
    assert!(page.body.contains("+£11,400.00"));
    assert!(
        page.body
            .contains("<tr class=\"highlight\"><th scope=\"row\">South West</th>"),
        "{}",
        page.body
    );
    Ok(())
}

const HEADER: &str = "determination,region,amount,date,purpose,authority,description,reference,key";

#[test]
fn an_upload_with_a_bad_line_records_no_row_and_names_the_line() -> TestResult {
    let served = Served::start(true)?;
    let mut c = Client::new(&served.url);
    c.sign_in(&served.south_west)?;
    let form = c.get("/spends/upload")?;
    let (csrf, key) = (hidden(&form.body, "csrf"), hidden(&form.body, "key"));
    let before = served.events();
    let file = format!(
        "{HEADER}\n31/7421,South West,100,2024-10-01,data-coordinator,,,,\n31/7421,South West,lots,2024-10-01,data-coordinator,,,,\n"
    );
    let answer = c.upload("/spends/upload", &[("csrf", &csrf), ("key", &key)], &file)?;
    assert_eq!(answer.status, 400);
    assert!(
        answer.body.contains("There is a problem") && answer.body.contains("line 3"),
        "{}",
        answer.body
    );
    assert_eq!(served.events(), before, "no row was recorded");
    Ok(())
}

#[test]
fn a_good_upload_records_every_row_once_even_if_submitted_twice() -> TestResult {
    let served = Served::start(true)?;
    let mut c = Client::new(&served.url);
    c.sign_in(&served.south_west)?;
    let form = c.get("/spends/upload")?;
    let (csrf, key) = (hidden(&form.body, "csrf"), hidden(&form.body, "key"));
    let before = served.events();
    let file = format!(
        "{HEADER}\n31/7421,South West,100,2024-10-01,data-coordinator,,,,\n31/7421,South West,50,2024-10-02,self-assessment,,,,\n"
    );
    let first = c.upload("/spends/upload", &[("csrf", &csrf), ("key", &key)], &file)?;
    assert_eq!(first.status, 303);
    let second = c.upload("/spends/upload", &[("csrf", &csrf), ("key", &key)], &file)?;
    assert_eq!(second.status, 303);
    assert_eq!(served.events(), before + 2);
    Ok(())
}
