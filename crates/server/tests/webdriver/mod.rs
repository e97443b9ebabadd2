//! A small WebDriver client of our own (the W3C protocol over HTTP, with ureq): enough to
//! start headless Chromium through chromedriver, load pages, find, click and type, press
//! keys, run scripts and take screenshots. Finding the browser is here too: the tests run
//! when `chromium` and `chromedriver` are installed, must run under `CI=true`, and are
//! skipped (saying so on one line) otherwise.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub type WdResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// The key WebDriver names an element reference by.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub const TAB: &str = "\u{E004}";
pub const ENTER: &str = "\u{E007}";

/// The browser and its driver, if both are on this machine.
pub fn find_browser() -> Option<(PathBuf, PathBuf)> {
    let which = |names: &[&str]| -> Option<PathBuf> {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
            .find(|p| p.is_file())
    };
    let browser = std::env::var_os("GL_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| which(&["chromium", "chromium-browser"]))?;
    let driver = std::env::var_os("GL_CHROMEDRIVER")
        .map(PathBuf::from)
        .or_else(|| which(&["chromedriver"]))?;
    Some((browser, driver))
}

/// chromedriver running on a free port of 127.0.0.1; stopped when dropped.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Driver {
    pub fn start(driver: &Path) -> WdResult<Driver> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let url = format!("http://127.0.0.1:{port}");
        let driver = Driver { child, url };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = ureq::get(&format!("{}/status", driver.url)).call() {
                let v: Value = r.into_json()?;
                if v["value"]["ready"] == json!(true) {
                    return Ok(driver);
                }
            }
            if Instant::now() > deadline {
                return Err("chromedriver did not become ready in 20 s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session.
pub struct Browser {
    base: String,
    _profile: tempfile::TempDir,
}

/// An element found on the page.
#[derive(Clone, Debug)]
pub struct Element(String);

impl Browser {
    /// A fresh headless Chromium with a profile of its own and no network of its own.
    pub fn start(driver: &Driver, binary: &Path) -> WdResult<Browser> {
        let profile = tempfile::tempdir()?;
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            "--hide-scrollbars".into(),
            format!("--user-data-dir={}", profile.path().display()),
            "--window-size=1280,900".into(),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": binary.display().to_string(), "args": args}
        }}});
        let answer = post(&format!("{}/session", driver.url), &caps)?;
        let id = answer["sessionId"]
            .as_str()
            .ok_or("no session id from chromedriver")?;
        Ok(Browser {
            base: format!("{}/session/{id}", driver.url),
            _profile: profile,
        })
    }

    fn post(&self, path: &str, body: Value) -> WdResult<Value> {
        post(&format!("{}{path}", self.base), &body)
    }

    fn get(&self, path: &str) -> WdResult<Value> {
        let r = match ureq::get(&format!("{}{path}", self.base)).call() {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => return Err(e.into()),
        };
        let v: Value = r.into_json()?;
        failed(&v)?;
        Ok(v["value"].clone())
    }

    pub fn goto(&self, url: &str) -> WdResult {
        self.post("/url", json!({"url": url}))?;
        Ok(())
    }

    pub fn url(&self) -> WdResult<String> {
        Ok(self.get("/url")?.as_str().unwrap_or("").to_string())
    }

    pub fn title(&self) -> WdResult<String> {
        Ok(self.get("/title")?.as_str().unwrap_or("").to_string())
    }

    pub fn source(&self) -> WdResult<String> {
        Ok(self.get("/source")?.as_str().unwrap_or("").to_string())
    }

    pub fn find(&self, css: &str) -> WdResult<Element> {
        let v = self.post("/element", json!({"using": "css selector", "value": css}))?;
        let id = v[ELEMENT]
            .as_str()
            .ok_or_else(|| format!("no element {css}"))?;
        Ok(Element(id.to_string()))
    }

    pub fn find_all(&self, css: &str) -> WdResult<Vec<Element>> {
        let v = self.post("/elements", json!({"using": "css selector", "value": css}))?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT].as_str())
                    .map(|s| Element(s.to_string()))
                    .collect()
            })
            .unwrap_or_default())
    }

    pub fn click(&self, e: &Element) -> WdResult {
        self.post(&format!("/element/{}/click", e.0), json!({}))?;
        Ok(())
    }

    pub fn clear(&self, e: &Element) -> WdResult {
        self.post(&format!("/element/{}/clear", e.0), json!({}))?;
        Ok(())
    }

    pub fn type_into(&self, e: &Element, text: &str) -> WdResult {
        self.post(&format!("/element/{}/value", e.0), json!({"text": text}))?;
        Ok(())
    }

    pub fn text(&self, e: &Element) -> WdResult<String> {
        Ok(self
            .get(&format!("/element/{}/text", e.0))?
            .as_str()
            .unwrap_or("")
            .to_string())
    }

    /// Presses keys on whatever has focus, one after another.
    pub fn keys(&self, keys: &str) -> WdResult {
        let mut actions = Vec::new();
        for c in keys.chars() {
            actions.push(json!({"type": "keyDown", "value": c.to_string()}));
            actions.push(json!({"type": "keyUp", "value": c.to_string()}));
        }
        self.post(
            "/actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}),
        )?;
        Ok(())
    }

    pub fn script(&self, script: &str, args: Value) -> WdResult<Value> {
        self.post("/execute/sync", json!({"script": script, "args": args}))
    }

    pub fn script_async(&self, script: &str, args: Value) -> WdResult<Value> {
        self.post("/execute/async", json!({"script": script, "args": args}))
    }

    pub fn set_size(&self, width: u32, height: u32) -> WdResult {
        self.post("/window/rect", json!({"width": width, "height": height}))?;
        Ok(())
    }

    /// A PNG of the whole page at `width`: the window is made as tall as the page first.
    pub fn screenshot(&self, width: u32, to: &Path) -> WdResult {
        self.set_size(width, 900)?;
        let height = self
            .script("return document.documentElement.scrollHeight;", json!([]))?
            .as_u64()
            .unwrap_or(900);
        self.set_size(
            width,
            u32::try_from(height.clamp(600, 8000)).unwrap_or(900) + 120,
        )?;
        self.script("window.scrollTo(0, 0);", json!([]))?;
        let b64 = self.get("/screenshot")?;
        let png = base64_decode(b64.as_str().unwrap_or(""))?;
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(to, png)?;
        self.set_size(1280, 900)?;
        Ok(())
    }

    /// Waits until `css` matches, up to 10 s.
    pub fn wait_for(&self, css: &str) -> WdResult<Element> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.find(css) {
                Ok(e) => return Ok(e),
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                Err(e) => return Err(e),
            }
        }
    }

    pub fn quit(&self) {
        let _ = ureq::delete(&self.base).call();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.quit();
    }
}

fn post(url: &str, body: &Value) -> WdResult<Value> {
    let r = match ureq::post(url).send_json(body.clone()) {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(e.into()),
    };
    let v: Value = r.into_json()?;
    failed(&v)?;
    Ok(v["value"].clone())
}

fn failed(v: &Value) -> WdResult {
    match v["value"]["error"].as_str() {
        Some(error) => Err(format!(
            "webdriver: {error}: {}",
            v["value"]["message"].as_str().unwrap_or("")
        )
        .into()),
        None => Ok(()),
    }
}

/// Standard base64, as WebDriver sends screenshots.
pub fn base64_decode(text: &str) -> WdResult<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let clean: Vec<u8> = text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= value(*c).ok_or("not base64")? << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Ok(out)
}

#[test]
fn base64_decodes_padded_and_unpadded_text() {
    assert_eq!(base64_decode("aGk=").ok(), Some(b"hi".to_vec()));
    assert_eq!(base64_decode("aGVsbG8").ok(), Some(b"hello".to_vec()));
}
