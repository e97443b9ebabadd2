//! The [`Api`] over HTTP: every command sent to a running `grant-ledger serve`, as the
//! HTTP contract's endpoints, and every answer read back into the same typed values a local
//! ledger returns. A problem document becomes the error it reports (its kind from `code`,
//! its sentence from `detail`), so the command prints the same line and exits the same way.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use grant_ledger_domain::{Determination, FormulaCheck, RegionCheck, Role, WorkingCheck};
use grant_ledger_projections::{
    AccessRow, Api, BalanceRow, BalancesQuery, DeadlineRow, DeadlinesQuery, DeterminationRecord,
    DeterminationSource, DeterminationSummary, ErrorKind, ExportRequest, GrantPackage,
    GrantedAccess, HistoryEntry, HistoryFilter, ImportSummary, LedgerError, PayRequest, Receipt,
    Recorded, RecoverRequest, ReverseRequest, SpendReportQuery, SpendReportRow, SpendRequest,
    VaryRequest, VerifySummary, WithdrawRequest,
};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use crate::error::{CliError, CliResult};

/// Characters left as they are in a path segment: RFC 3986's unreserved ones.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// How long one request may take before the server counts as unreachable. Generous: a
/// spend import of hundreds of thousands of rows is one request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

/// A client of one server, presenting one token.
pub struct Remote {
    agent: ureq::Agent,
    base: String,
    token: Option<String>,
}

/// The fields of a problem document the client needs.
#[derive(Deserialize)]
struct Problem {
    detail: String,
    code: String,
}

impl Remote {
    /// A client of `url` (`http://host:port` or `https://...`). With
    /// `GRANT_LEDGER_CA_CERT` set to a PEM file, HTTPS trusts that certificate authority
    /// (e.g. a department's own) in place of the public ones.
    pub fn new(url: &str, token: Option<&str>) -> CliResult<Remote> {
        let base = url.trim().trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(CliError::malformed(format!(
                "--server \"{base}\" is not an http:// or https:// address"
            )));
        }
        let mut builder = ureq::AgentBuilder::new().timeout(REQUEST_TIMEOUT);
        if let Some(ca) = std::env::var_os("GRANT_LEDGER_CA_CERT") {
            builder = builder.tls_config(Arc::new(tls_trusting(std::path::Path::new(&ca))?));
        }
        Ok(Remote {
            agent: builder.build(),
            base,
            token: token
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string),
        })
    }

    fn request(&self, method: &str, path: &str, key: Option<&str>) -> ureq::Request {
        let mut request = self
            .agent
            .request(method, &format!("{}/api/v1{path}", self.base));
        if let Some(token) = &self.token {
            request = request.set("Authorization", &format!("Bearer {token}"));
        }
        if let Some(key) = key {
            request = request.set("Idempotency-Key", key);
        }
        request
    }

    /// Sends `request` and reads the answer as `T`, or the error it reports.
    fn call<T: DeserializeOwned>(
        &self,
        sent: Result<ureq::Response, ureq::Error>,
    ) -> Result<(T, bool), LedgerError> {
        let response = self.answer(sent)?;
        let hit = response.header("Idempotency-Hit") == Some("true");
        let body = response
            .into_string()
            .map_err(|e| self.unreachable(lost(e.kind())))?;
        let value = serde_json::from_str(&body).map_err(|_| LedgerError::Reported {
            kind: ErrorKind::Unavailable,
            message: format!(
                "the server at {} sent an answer this client cannot read (is it a grant-ledger serve of this version?)",
                self.base
            ),
        })?;
        Ok((value, hit))
    }

    fn answer(
        &self,
        sent: Result<ureq::Response, ureq::Error>,
    ) -> Result<ureq::Response, LedgerError> {
        match sent {
            Ok(response) => Ok(response),
            Err(ureq::Error::Status(status, response)) => {
                let body = response.into_string().unwrap_or_default();
                Err(match serde_json::from_str::<Problem>(&body) {
                    Ok(problem) => LedgerError::Reported {
                        kind: ErrorKind::from_code(&problem.code).unwrap_or(ErrorKind::Unavailable),
                        message: problem.detail,
                    },
                    Err(_) => LedgerError::Reported {
                        kind: ErrorKind::Unavailable,
                        message: format!(
                            "the server at {} answered {status} without a problem document",
                            self.base
                        ),
                    },
                })
            }
            Err(ureq::Error::Transport(t)) => Err(self.unreachable(transport(&t))),
        }
    }

    fn unreachable(&self, why: &str) -> LedgerError {
        LedgerError::Reported {
            kind: ErrorKind::Unavailable,
            message: format!("cannot reach the server at {}: {why}", self.base),
        }
    }

    /// A recording command's answer: the event (or events) appended, and whether it was a
    /// repeat.
    fn recorded(&self, sent: Result<ureq::Response, ureq::Error>) -> Result<Recorded, LedgerError> {
        let (value, hit): (serde_json::Value, bool) = self.call(sent)?;
        let events = match value {
            serde_json::Value::Array(_) => serde_json::from_value(value),
            one => serde_json::from_value(one).map(|e: HistoryEntry| vec![e]),
        }
        .map_err(|e| LedgerError::Reported {
            kind: ErrorKind::Unavailable,
            message: format!(
                "the server at {} sent an event this client cannot read ({e})",
                self.base
            ),
        })?;
        Ok(Recorded {
            duplicate: hit,
            events,
        })
    }

    fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, LedgerError> {
        let mut request = self.request("GET", path, None);
        for (name, value) in query {
            request = request.query(name, value);
        }
        Ok(self.call(request.call())?.0)
    }
}

/// A path segment, percent-encoded (`31/7421` is `31%2F7421`).
fn segment(text: &str) -> String {
    utf8_percent_encode(text.trim(), SEGMENT).to_string()
}

fn opt(name: &'static str, value: Option<impl ToString>) -> Option<(&'static str, String)> {
    value.map(|v| (name, v.to_string()))
}

impl Api for Remote {
    fn import_determination(
        &self,
        key: Option<&str>,
        source: &DeterminationSource,
        _determination: Determination,
    ) -> Result<Recorded, LedgerError> {
        let request = self.request("POST", "/determinations", key);
        let sent = match source {
            DeterminationSource::Builtin(id) => request.send_json(json!({ "builtin": id })),
            DeterminationSource::Toml(text) => request
                .set("Content-Type", "application/toml")
                .send_string(text),
        };
        let status_200 =
            |r: &Result<ureq::Response, ureq::Error>| matches!(r, Ok(resp) if resp.status() == 200);
        let identical = status_200(&sent);
        let mut recorded = self.recorded(sent)?;
        recorded.duplicate |= identical;
        Ok(recorded)
    }

    fn pay(&self, key: Option<&str>, request: PayRequest) -> Result<Recorded, LedgerError> {
        self.recorded(self.request("POST", "/payments", key).send_json(request))
    }

    fn spend(&self, key: Option<&str>, request: SpendRequest) -> Result<Recorded, LedgerError> {
        self.recorded(self.request("POST", "/spends", key).send_json(request))
    }

    fn recover(&self, key: Option<&str>, request: RecoverRequest) -> Result<Recorded, LedgerError> {
        self.recorded(self.request("POST", "/recoveries", key).send_json(request))
    }

    fn reverse(&self, key: Option<&str>, request: ReverseRequest) -> Result<Recorded, LedgerError> {
        self.recorded(self.request("POST", "/reversals", key).send_json(request))
    }

    fn withdraw(
        &self,
        key: Option<&str>,
        determination: &str,
        request: WithdrawRequest,
    ) -> Result<Recorded, LedgerError> {
        let path = format!("/determinations/{}/withdrawal", segment(determination));
        self.recorded(self.request("POST", &path, key).send_json(request))
    }

    fn vary(
        &self,
        key: Option<&str>,
        determination: &str,
        request: VaryRequest,
    ) -> Result<Recorded, LedgerError> {
        let path = format!("/determinations/{}/variations", segment(determination));
        self.recorded(self.request("POST", &path, key).send_json(request))
    }

    fn import_spends(
        &self,
        key: Option<&str>,
        csv: Box<dyn Read + '_>,
        _progress: &mut dyn FnMut(u64),
    ) -> Result<ImportSummary, LedgerError> {
        let sent = self
            .request("POST", "/spends/import", key)
            .set("Content-Type", "text/csv")
            .send(csv);
        Ok(self.call(sent)?.0)
    }

    fn determinations(&self) -> Result<Vec<DeterminationSummary>, LedgerError> {
        self.get("/determinations", &[])
    }

    fn determination(&self, id: &str) -> Result<DeterminationRecord, LedgerError> {
        self.get(&format!("/determinations/{}", segment(id)), &[])
    }

    fn check(&self, id: &str) -> Result<FormulaCheck, LedgerError> {
        let path = format!("/determinations/{}/check", segment(id));
        let regions: Vec<RegionCheck> = self.get(&path, &[])?;
        let workings: Vec<WorkingCheck> = self.get(&path, &[("workings", "true".to_string())])?;
        Ok(FormulaCheck { regions, workings })
    }

    fn balances(&self, q: &BalancesQuery) -> Result<Vec<BalanceRow>, LedgerError> {
        let query: Vec<_> = [
            opt("determination", q.determination.as_deref()),
            opt("region", q.region.as_deref()),
            opt("as_of", q.as_of),
        ]
        .into_iter()
        .flatten()
        .collect();
        self.get("/balances", &query)
    }

    fn deadlines(&self, q: &DeadlinesQuery) -> Result<Vec<DeadlineRow>, LedgerError> {
        let query: Vec<_> = [
            opt("determination", q.determination.as_deref()),
            opt("today", Some(q.today)),
        ]
        .into_iter()
        .flatten()
        .collect();
        self.get("/deadlines", &query)
    }

    fn spend_report(&self, q: &SpendReportQuery) -> Result<Vec<SpendReportRow>, LedgerError> {
        let query: Vec<_> = [
            opt("determination", q.determination.as_deref()),
            opt("region", q.region.as_deref()),
            opt("by", Some(q.by.as_str())),
            opt("as_of", q.as_of),
        ]
        .into_iter()
        .flatten()
        .collect();
        self.get("/spend-report", &query)
    }

    fn history(
        &self,
        f: &HistoryFilter,
        each: &mut dyn FnMut(HistoryEntry) -> Result<(), LedgerError>,
    ) -> Result<(), LedgerError> {
        let query: Vec<_> = [
            opt("region", f.region.as_deref()),
            opt("type", f.event_type.as_deref()),
            opt("since", f.since),
            opt("until", f.until),
            opt("limit", f.limit),
            opt("after", f.after),
            opt("recorded_by", f.recorded_by.as_deref()),
            opt("determination", f.determination.as_deref()),
            opt("key", f.key.as_deref()),
            opt("purpose", f.purpose.as_deref()),
            opt("authority", f.authority.as_deref()),
            opt("newest_first", f.newest_first.then_some(true)),
        ]
        .into_iter()
        .flatten()
        .collect();
        let mut request = self.request("GET", "/history", None);
        for (name, value) in &query {
            request = request.query(name, value);
        }
        let response = self.answer(request.call())?;
        // Streamed: the trail may be long, so entries are handed on as they are parsed.
        let reader = std::io::BufReader::new(response.into_reader());
        let mut de = serde_json::Deserializer::from_reader(reader);
        crate::stream_json::each_in_array(&mut de, each).map_err(|e| match e {
            crate::stream_json::Stop::Caller(e) => e,
            crate::stream_json::Stop::Json(e) => LedgerError::Reported {
                kind: ErrorKind::Unavailable,
                message: format!(
                    "the server at {} sent a history this client cannot read ({e})",
                    self.base
                ),
            },
        })
    }

    fn verify(&self) -> Result<VerifySummary, LedgerError> {
        self.get("/verify", &[])
    }

    fn checkpoint(&self) -> Result<Receipt, LedgerError> {
        self.get("/checkpoint", &[])
    }

    fn grant_access(
        &self,
        key: Option<&str>,
        name: &str,
        role: Role,
    ) -> Result<GrantedAccess, LedgerError> {
        let sent = self
            .request("POST", "/access", key)
            .send_json(json!({ "name": name, "role": role.to_string() }));
        Ok(self.call(sent)?.0)
    }

    fn list_access(&self) -> Result<Vec<AccessRow>, LedgerError> {
        self.get("/access", &[])
    }

    fn export_360giving(&self, r: &ExportRequest) -> Result<GrantPackage, LedgerError> {
        let query: Vec<_> = [
            opt("determination", r.determination.as_deref()),
            opt("as_of", r.as_of),
            opt("prefix", Some(r.prefix.as_str())),
            opt("data_source", r.data_source.as_deref()),
        ]
        .into_iter()
        .flatten()
        .collect();
        self.get("/export/360giving", &query)
    }

    fn revoke_access(&self, key: Option<&str>, name: &str) -> Result<Recorded, LedgerError> {
        self.recorded(
            self.request("DELETE", &format!("/access/{}", segment(name)), key)
                .call(),
        )
    }

    fn rebuild(&self, key: Option<&str>, reason: &str) -> Result<Recorded, LedgerError> {
        self.recorded(
            self.request("POST", "/rebuild", key)
                .send_json(serde_json::json!({ "reason": reason })),
        )
    }
}

/// Why a request got no answer, in our words (ureq's say "Connection Failed: Connect error:
/// Connection refused (os error 111)").
fn transport(t: &ureq::Transport) -> &'static str {
    use ureq::ErrorKind as Kind;
    let io = std::error::Error::source(t).and_then(|e| e.downcast_ref::<std::io::Error>());
    match t.kind() {
        Kind::Dns => "its host name cannot be found",
        // TLS refusing the server's certificate comes as an I/O error carrying rustls's.
        Kind::ConnectionFailed
            if io
                .and_then(std::io::Error::get_ref)
                .is_some_and(|inner| inner.is::<rustls::Error>()) =>
        {
            "a secure connection could not be made (is its certificate trusted? GRANT_LEDGER_CA_CERT names a PEM file of authorities to trust)"
        }
        Kind::ConnectionFailed => match io.map(std::io::Error::kind) {
            Some(std::io::ErrorKind::ConnectionRefused) => {
                "nothing is listening there (is grant-ledger serve running?)"
            }
            Some(std::io::ErrorKind::TimedOut) => "it did not answer in time",
            _ => "the connection could not be made",
        },
        Kind::Io => io.map_or("the connection was lost", |e| lost(e.kind())),
        Kind::InvalidUrl | Kind::UnknownScheme => "its address is not a URL this client can use",
        Kind::BadStatus | Kind::BadHeader => {
            "what answered there does not speak HTTP as grant-ledger serve does"
        }
        Kind::TooManyRedirects => "it redirected the request too many times",
        Kind::InvalidProxyUrl | Kind::ProxyConnect | Kind::ProxyUnauthorized => {
            "the proxy in the environment could not be used"
        }
        Kind::InsecureRequestHttpsOnly | Kind::HTTP => "the request could not be sent",
    }
}

/// A connection that broke while a request or its answer was under way.
fn lost(kind: std::io::ErrorKind) -> &'static str {
    match kind {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
            "it did not answer in time"
        }
        std::io::ErrorKind::InvalidData => {
            "what answered there does not speak HTTP as grant-ledger serve does"
        }
        _ => "the connection was lost",
    }
}

/// A TLS configuration that trusts only the certificate authorities in the PEM file `path`.
fn tls_trusting(path: &std::path::Path) -> CliResult<rustls::ClientConfig> {
    let cannot = |why: String| {
        CliError::malformed(format!("GRANT_LEDGER_CA_CERT {}: {why}", path.display()))
    };
    let pem = crate::files::read_bytes(path).map_err(cannot)?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        let cert = cert.map_err(|_| cannot("it is not a PEM certificate".to_string()))?;
        roots
            .add(cert)
            .map_err(|_| cannot("it holds a certificate TLS cannot use".to_string()))?;
    }
    if roots.is_empty() {
        return Err(cannot("it holds no certificate".to_string()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
        .map_err(|_| cannot("TLS could not be set up with it".to_string()))
}
