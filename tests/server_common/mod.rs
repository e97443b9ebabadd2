//! Helpers for the end-to-end tests of `grant-ledger serve`: each test makes its own
//! temporary ledger, starts the real binary on a free loopback port, and talks to it over
//! plain HTTP/1.1 (ureq) or through the real command line with `--server`.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tempfile::TempDir;

pub const ID: &str = "31/7421";
/// The determination id as a path segment.
pub const ID_PATH: &str = "31%2F7421";

/// How long a server may take to say it is listening.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The real binary, built by cargo for these tests.
pub fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_grant-ledger")
}

/// The binary with a clean environment: nothing from the caller's shell decides where it
/// goes or who it is.
pub fn bin() -> Command {
    let mut cmd = Command::new(exe());
    for var in [
        "GRANT_LEDGER_DIR",
        "GRANT_LEDGER_ACTOR",
        "GRANT_LEDGER_SERVER",
        "GRANT_LEDGER_TOKEN",
        "GRANT_LEDGER_CA_CERT",
        "GRANT_LEDGER_LOG",
        "GRANT_LEDGER_SIGNING_KEY",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("USER", "tester").env("NO_COLOR", "1");
    cmd
}

/// What one run of the binary did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn of(cmd: &mut Command) -> Run {
        let output = cmd.stdin(Stdio::null()).output().expect("binary runs");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    /// Requires exit `code` and one `error: ` sentence on stderr containing each needle,
    /// nothing on stdout.
    pub fn refused(&self, code: i32, needles: &[&str]) -> &Run {
        assert_eq!(self.code, code, "expected exit {code}: {self:?}");
        assert!(self.stderr.starts_with("error: "), "{self:?}");
        assert_eq!(self.stderr.trim_end().lines().count(), 1, "{self:?}");
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "stderr lacks {needle:?}: {self:?}"
            );
        }
        assert!(self.stdout.is_empty(), "{self:?}");
        self
    }
}

/// A temporary directory holding one ledger directory (`ledger`) and the test's files.
pub struct Dir {
    pub tmp: TempDir,
}

impl Default for Dir {
    fn default() -> Self {
        Dir::new()
    }
}

impl Dir {
    pub fn new() -> Dir {
        Dir {
            tmp: TempDir::new().expect("temp dir"),
        }
    }

    pub fn ledger(&self) -> PathBuf {
        self.tmp.path().join("ledger")
    }

    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// Writes a file beside the ledger and returns its path.
    pub fn file(&self, name: &str, content: &[u8]) -> String {
        let path = self.tmp.path().join(name);
        std::fs::write(&path, content).expect("write test file");
        path.display().to_string()
    }

    /// A local command on the ledger directory as `actor`; a query takes no actor (`""`),
    /// since it records nothing.
    pub fn local(&self, actor: &str, args: &[&str]) -> Run {
        let mut cmd = bin();
        cmd.arg("--ledger").arg(self.ledger());
        if !actor.is_empty() {
            cmd.args(["--actor", actor]);
        }
        Run::of(cmd.args(args))
    }

    /// [`Dir::local`], requiring exit 0.
    pub fn local_ok(&self, actor: &str, args: &[&str]) -> Run {
        let run = self.local(actor, args);
        assert_eq!(run.code, 0, "{args:?}: {run:?}");
        run
    }

    /// Grants access locally on the directory (how the first admin token is made) and
    /// returns the token.
    pub fn grant_local(&self, actor: &str, name: &str, role: &str) -> String {
        let run = self.local_ok(
            actor,
            &[
                "--format", "json", "access", "grant", "--name", name, "--role", role,
            ],
        );
        token_of(&run.json())
    }

    /// Starts `grant-ledger serve` on this ledger, on a free loopback port.
    pub fn serve(&self) -> Server {
        self.serve_with(&[])
    }

    /// [`Dir::serve`] with more arguments (`--tls-cert ...`).
    pub fn serve_with(&self, extra: &[&str]) -> Server {
        Server::start(&self.ledger(), extra, &self.tmp.path().join("server.log"))
    }
}

/// The token of an `access grant` answer.
pub fn token_of(granted: &Value) -> String {
    granted["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token in {granted}"))
        .to_string()
}

/// A running `grant-ledger serve`, stopped (SIGKILL) when dropped.
pub struct Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT` (or `https://`), as the server printed it.
    pub url: String,
    log: PathBuf,
}

impl Server {
    /// Starts the server and waits for its `listening on URL` line.
    pub fn start(ledger: &Path, extra: &[&str], log: &Path) -> Server {
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("server log");
        let mut child = bin()
            .arg("--ledger")
            .arg(ledger)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .expect("server starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            // The first line is the announcement; the rest is drained so the server never
            // blocks on a full pipe.
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    // Nobody listens any more: keep draining.
                }
            }
        });
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                let status = child.wait();
                panic!(
                    "the server did not say it was listening within {START_TIMEOUT:?} ({status:?}); log:\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
        };
        let url = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from serve: {line:?}"))
            .trim()
            .to_string();
        Server {
            child: Some(child),
            url,
            log: log.to_path_buf(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// The server's log (stderr) so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL, and waits for the process to be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM (the server goes on running until it has stopped gracefully).
    pub fn send_sigterm(&self) {
        let child = self.child.as_ref().expect("running");
        // The server this test started and still owns (not yet waited for, so its pid
        // cannot have been reused).
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "SIGTERM could not be sent");
    }

    /// Waits at most `within` for the server to exit, and returns how it did.
    pub fn wait(&mut self, within: Duration) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the server did not stop within {within:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM, and the exit status, waited for at most `within`.
    pub fn terminate(&mut self, within: Duration) -> ExitStatus {
        self.send_sigterm();
        self.wait(within)
    }

    pub fn http(&self) -> Http {
        Http::new(&self.url)
    }

    /// The command line as a client of this server with `token`.
    pub fn cli(&self, token: &str, args: &[&str]) -> Run {
        Run::of(
            bin()
                .args(["--server", &self.url, "--token", token])
                .args(args),
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------------------------------------------------------------- HTTP

/// One HTTP answer, whatever its status.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    /// The value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {self:?}"))
    }

    /// Requires a 2xx.
    pub fn ok(self) -> Resp {
        assert!(
            (200..300).contains(&self.status),
            "expected a 2xx: {} {}",
            self.status,
            self.body
        );
        self
    }

    /// Requires `status`.
    pub fn status(self, status: u16) -> Resp {
        assert_eq!(self.status, status, "{}", self.body);
        self
    }
}

/// A body to send: its content type and bytes.
pub struct Body<'a> {
    pub content_type: &'a str,
    pub bytes: Vec<u8>,
}

impl Body<'_> {
    pub fn json(value: &Value) -> Body<'static> {
        Body {
            content_type: "application/json",
            bytes: serde_json::to_vec(value).expect("json"),
        }
    }
}

/// A blocking HTTP/1.1 client of one server.
#[derive(Clone)]
pub struct Http {
    agent: ureq::Agent,
    pub base: String,
}

impl Http {
    pub fn new(base: &str) -> Http {
        Http {
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(30))
                .build(),
            base: base.trim_end_matches('/').to_string(),
        }
    }

    /// One request: `path` is under the server's root (`/api/v1/...`, `/healthz`).
    /// Transport failures (refused connection, reset) are `Err`.
    pub fn try_send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Body>,
    ) -> Result<Resp, String> {
        let mut request = self.agent.request(method, &format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.set("Authorization", &format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.set(name, value);
        }
        let sent = match body {
            Some(body) => request
                .set("Content-Type", body.content_type)
                .send_bytes(&body.bytes),
            None => request.call(),
        };
        let response = match sent {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => return Err(t.to_string()),
        };
        let status = response.status();
        let headers = response
            .headers_names()
            .into_iter()
            .map(|n| {
                let v = response.header(&n).unwrap_or("").to_string();
                (n, v)
            })
            .collect();
        let mut body = String::new();
        response
            .into_reader()
            .take(64 << 20)
            .read_to_string(&mut body)
            .map_err(|e| e.to_string())?;
        Ok(Resp {
            status,
            headers,
            body,
        })
    }

    pub fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Body>,
    ) -> Resp {
        self.try_send(method, path, token, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.send("GET", path, token, &[], None)
    }

    pub fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        self.send("POST", path, token, &[], Some(Body::json(body)))
    }

    pub fn post_keyed(&self, path: &str, token: Option<&str>, key: &str, body: &Value) -> Resp {
        self.send(
            "POST",
            path,
            token,
            &[("Idempotency-Key", key)],
            Some(Body::json(body)),
        )
    }

    pub fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        self.send("DELETE", path, token, &[], None)
    }
}

/// Requires a problem document of `status` and `code`, shaped as the contract says, and
/// returns it.
pub fn assert_problem(r: &Resp, status: u16, code: &str) -> Value {
    assert_eq!(r.status, status, "expected {status} {code}: {}", r.body);
    let media = r.header("content-type").unwrap_or("");
    assert!(
        media.starts_with("application/problem+json"),
        "content type {media:?}: {}",
        r.body
    );
    let problem = r.json();
    for field in ["type", "title", "status", "detail", "code"] {
        assert!(problem.get(field).is_some(), "no {field} in {problem}");
    }
    assert!(
        problem["type"].as_str().is_some_and(|t| !t.is_empty()),
        "{problem}"
    );
    assert!(
        problem["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{problem}"
    );
    assert_eq!(problem["status"], status, "{problem}");
    assert_eq!(problem["code"], code, "{problem}");
    let detail = problem["detail"].as_str().expect("detail is text");
    assert!(!detail.trim().is_empty(), "{problem}");
    assert_eq!(
        detail.lines().count(),
        1,
        "detail is one sentence: {problem}"
    );
    for alarming in ["panicked", "backtrace", "RUST_BACKTRACE", "src/"] {
        assert!(!detail.contains(alarming), "{problem}");
    }
    problem
}

// ---------------------------------------------------------------- a shared ledger

/// The tokens of [`Shared`]: their names are also the actors recorded.
pub const ROLES: [(&str, &str); 6] = [
    ("finance", "finance"),
    ("sw", "region:south-west"),
    ("london", "region:london"),
    ("auditor", "auditor"),
    ("reader", "reader"),
    ("admin2", "admin"),
];

/// A served ledger holding 31/7421, an admin token made locally, and a token for every
/// role granted through the server.
pub struct Shared {
    pub dir: Dir,
    pub server: Server,
    pub http: Http,
    pub tokens: HashMap<String, String>,
}

impl Shared {
    pub fn start() -> Shared {
        let dir = Dir::new();
        let admin = dir.grant_local("root", "admin", "admin");
        let server = dir.serve();
        let http = server.http();
        let mut tokens = HashMap::new();
        tokens.insert("admin".to_string(), admin.clone());
        http.post(
            "/api/v1/determinations",
            Some(&admin),
            &json!({"builtin": ID}),
        )
        .status(201);
        for (name, role) in ROLES {
            let granted = http
                .post(
                    "/api/v1/access",
                    Some(&admin),
                    &json!({"name": name, "role": role}),
                )
                .status(201)
                .json();
            tokens.insert(name.to_string(), token_of(&granted));
        }
        Shared {
            dir,
            server,
            http,
            tokens,
        }
    }

    /// [`Shared::start`] with South West paid 260600 and London 318000 (on time).
    pub fn paid() -> Shared {
        let s = Shared::start();
        s.pay("south-west", "260600");
        s.pay("london", "318000");
        s
    }

    pub fn token(&self, name: &str) -> &str {
        self.tokens
            .get(name)
            .unwrap_or_else(|| panic!("no token {name}"))
    }

    pub fn pay(&self, region: &str, amount: &str) -> Value {
        self.http
            .post(
                "/api/v1/payments",
                Some(self.token("finance")),
                &json!({"determination": ID, "region": region, "amount": amount, "date": "2024-08-27"}),
            )
            .status(201)
            .json()
    }

    /// A spend by the region's own token (`sw` or `london`).
    pub fn spend(&self, token: &str, region: &str, amount: &str) -> Value {
        self.http
            .post(
                "/api/v1/spends",
                Some(self.token(token)),
                &spend_body(region, amount),
            )
            .status(201)
            .json()
    }

    /// The whole audit trail as the server gives it, to compare before and after.
    pub fn history(&self) -> String {
        self.http
            .get("/api/v1/history", Some(self.token("auditor")))
            .status(200)
            .body
    }

    pub fn events(&self) -> usize {
        serde_json::from_str::<Value>(&self.history())
            .expect("history is JSON")
            .as_array()
            .expect("history is an array")
            .len()
    }

    /// Runs `f` and requires that the audit trail is the same afterwards, length and all.
    pub fn unchanged<T>(&self, what: &str, f: impl FnOnce() -> T) -> T {
        let count = |history: &str| {
            serde_json::from_str::<Value>(history)
                .ok()
                .and_then(|v| v.as_array().map(Vec::len))
        };
        let before = self.history();
        let out = f();
        let after = self.history();
        assert_eq!(
            count(&before),
            count(&after),
            "{what} changed the number of events"
        );
        assert_eq!(before, after, "{what} changed the audit trail");
        out
    }
}

/// A valid spend body for `region` on 2024-09-01.
pub fn spend_body(region: &str, amount: &str) -> Value {
    json!({
        "determination": ID,
        "region": region,
        "amount": amount,
        "date": "2024-09-01",
        "purpose": "data-coordinator",
    })
}

// ---------------------------------------------------------------- server-sent events

/// One server-sent event.
#[derive(Debug, Clone)]
pub struct Sse {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
}

/// A connection to `/api/v1/events/stream`, every read bounded by a timeout.
pub struct SseStream {
    reader: BufReader<Box<dyn Read + Send + Sync>>,
    pub content_type: String,
}

impl SseStream {
    /// Opens the stream; `last_event_id` is sent as the `Last-Event-ID` header.
    pub fn open(base: &str, token: &str, last_event_id: Option<&str>) -> SseStream {
        SseStream::open_url(
            &format!("{base}/api/v1/events/stream"),
            token,
            last_event_id,
        )
    }

    /// Opens the stream with the `after` parameter in place of the header.
    pub fn open_after(base: &str, token: &str, after: u64) -> SseStream {
        SseStream::open_url(
            &format!("{base}/api/v1/events/stream?after={after}"),
            token,
            None,
        )
    }

    fn open_url(url: &str, token: &str, last_event_id: Option<&str>) -> SseStream {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(5))
            .timeout_read(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .build();
        let mut request = agent
            .get(url)
            .set("Authorization", &format!("Bearer {token}"))
            .set("Accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.set("Last-Event-ID", id);
        }
        let response = request.call().expect("the event stream opens");
        assert_eq!(response.status(), 200);
        let content_type = response.header("content-type").unwrap_or("").to_string();
        SseStream {
            reader: BufReader::new(response.into_reader()),
            content_type,
        }
    }

    /// The next event (comments and keep-alives skipped); panics when none comes within
    /// the read timeout.
    pub fn next(&mut self) -> Sse {
        let mut event = Sse {
            id: None,
            event: None,
            data: String::new(),
        };
        let mut any = false;
        loop {
            let mut line = String::new();
            let n = self
                .reader
                .read_line(&mut line)
                .unwrap_or_else(|e| panic!("no event within the read timeout: {e}"));
            assert!(n > 0, "the event stream ended");
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if any {
                    return event;
                }
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            any = true;
            match field {
                "id" => event.id = Some(value.to_string()),
                "event" => event.event = Some(value.to_string()),
                "data" => {
                    if !event.data.is_empty() {
                        event.data.push('\n');
                    }
                    event.data.push_str(value);
                }
                _ => {}
            }
        }
    }
}
