//! Browser sessions: a signed-in token becomes a random session id in an HttpOnly,
//! SameSite=Strict cookie (Secure under TLS) that expires. Sessions live in this server's
//! memory only, so they all end when the server stops; the token itself never leaves the
//! server again, and is authenticated afresh on every request, so a revoked token is
//! refused at once even mid-session.
//!
//! Each session carries its own CSRF token, put in every form and checked on every POST
//! (in constant time). A visitor who is not signed in still gets an anonymous session, so
//! the sign-in form has a CSRF token too.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap};
use subtle::ConstantTimeEq;

/// The cookie's name.
pub const COOKIE: &str = "grant_ledger_session";

/// How long a session lasts from sign-in: a working day.
pub const LIFETIME: Duration = Duration::from_secs(8 * 60 * 60);

/// At most this many sessions are kept; the oldest go first, so a flood of anonymous
/// visits cannot grow the server's memory without bound.
const MAX_SESSIONS: usize = 10_000;

/// One browser's session.
#[derive(Clone, Debug)]
pub struct WebSession {
    pub id: String,
    pub csrf: String,
    /// The access token signed in with; `None` before sign-in.
    pub token: Option<String>,
    /// A one-time message for the next page shown (after post/redirect/get).
    pub notice: Option<String>,
    pub expires: Instant,
}

/// Every session of this server.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, WebSession>>,
}

/// 128 random bits as hex: a session id, a CSRF token, a form's idempotency key.
pub fn random_id() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl Sessions {
    /// The live session the request's cookie names, if any.
    pub fn get(&self, headers: &HeaderMap) -> Option<WebSession> {
        let id = cookie_value(headers)?;
        let mut map = self.map.lock().ok()?;
        match map.get(&id) {
            Some(s) if s.expires > Instant::now() => Some(s.clone()),
            Some(_) => {
                map.remove(&id);
                None
            }
            None => None,
        }
    }

    /// A new session, anonymous or signed in.
    pub fn create(&self, token: Option<String>) -> Result<WebSession, getrandom::Error> {
        let session = WebSession {
            id: random_id()?,
            csrf: random_id()?,
            token,
            notice: None,
            expires: Instant::now() + LIFETIME,
        };
        if let Ok(mut map) = self.map.lock() {
            let now = Instant::now();
            map.retain(|_, s| s.expires > now);
            if map.len() >= MAX_SESSIONS {
                if let Some(oldest) = map.values().min_by_key(|s| s.expires).map(|s| s.id.clone()) {
                    map.remove(&oldest);
                }
            }
            map.insert(session.id.clone(), session.clone());
        }
        Ok(session)
    }

    /// Ends a session (sign out).
    pub fn end(&self, id: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(id);
        }
    }

    /// Leaves a one-time message for the session's next page.
    pub fn set_notice(&self, id: &str, notice: String) {
        if let Ok(mut map) = self.map.lock() {
            if let Some(s) = map.get_mut(id) {
                s.notice = Some(notice);
            }
        }
    }

    /// Takes the one-time message, so a reload does not show it again.
    pub fn take_notice(&self, id: &str) -> Option<String> {
        self.map.lock().ok()?.get_mut(id)?.notice.take()
    }

    #[cfg(test)]
    fn expire(&self, id: &str) {
        if let Ok(mut map) = self.map.lock() {
            if let Some(s) = map.get_mut(id) {
                s.expires = Instant::now();
            }
        }
    }
}

/// Whether a form's CSRF token is the session's, compared in constant time.
pub fn csrf_matches(session: &WebSession, presented: &str) -> bool {
    !presented.is_empty() && bool::from(session.csrf.as_bytes().ct_eq(presented.as_bytes()))
}

/// The `Set-Cookie` value for a session.
pub fn set_cookie(session: &WebSession, secure: bool) -> String {
    format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        session.id,
        LIFETIME.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that removes the cookie.
pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The session id in the request's cookies.
fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_string())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_cookie(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(header::COOKIE, v);
        }
        headers
    }

    #[test]
    fn a_created_session_is_found_by_its_cookie() {
        let sessions = Sessions::default();
        let Ok(s) = sessions.create(Some("glt_x".into())) else {
            return;
        };
        let found = sessions.get(&with_cookie(&format!("other=1; {COOKIE}={}", s.id)));
        assert_eq!(found.and_then(|f| f.token), Some("glt_x".to_string()));
    }

    #[test]
    fn an_ended_session_is_not_found() {
        let sessions = Sessions::default();
        let Ok(s) = sessions.create(None) else { return };
        sessions.end(&s.id);
        assert!(sessions
            .get(&with_cookie(&format!("{COOKIE}={}", s.id)))
            .is_none());
    }

    #[test]
    fn an_expired_session_is_not_found() {
        let sessions = Sessions::default();
        let Ok(s) = sessions.create(None) else { return };
        sessions.expire(&s.id);
        assert!(sessions
            .get(&with_cookie(&format!("{COOKIE}={}", s.id)))
            .is_none());
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_under_tls() {
        let sessions = Sessions::default();
        let Ok(s) = sessions.create(None) else { return };
        let cookie = set_cookie(&s, true);
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        assert!(cookie.contains("; Secure") && cookie.contains("Max-Age="));
        assert!(!set_cookie(&s, false).contains("Secure"));
    }

    #[test]
    fn only_the_sessions_own_csrf_token_matches() {
        let sessions = Sessions::default();
        let Ok(s) = sessions.create(None) else { return };
        assert!(csrf_matches(&s, &s.csrf.clone()));
        assert!(!csrf_matches(&s, "0000"));
        assert!(!csrf_matches(&s, ""));
    }

    #[test]
    fn a_notice_is_shown_once() {
        let sessions = Sessions::default();
        let Ok(s) = sessions.create(None) else { return };
        sessions.set_notice(&s.id, "Recorded".into());
        assert_eq!(sessions.take_notice(&s.id), Some("Recorded".into()));
        assert_eq!(sessions.take_notice(&s.id), None);
    }
}
