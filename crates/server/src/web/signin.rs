//! Signing in with an access token, and signing out. The token is checked by the ledger
//! (`Ledger::authenticate`, as for a bearer token) and then kept only in this server's
//! memory; the browser holds a fresh random session id. Signing in replaces the session
//! the visitor had before, so an id seen before sign-in is worth nothing after it.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Form};
use grant_ledger_store::EventStore;
use maud::html;
use serde::Deserialize;

use super::layout::{self, FieldError};
use super::session::{self, WebSession};
use super::{SecureCookies, WebState};

#[derive(Deserialize, Default)]
pub struct SignInParams {
    #[serde(rename = "signed-out")]
    signed_out: Option<String>,
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
}

fn unavailable() -> Response {
    refused_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "the operating system gave no randomness for a session; try again",
    )
}

/// The sign-in page (an anonymous session is made for its CSRF token).
pub async fn form<S: EventStore + 'static>(
    State(state): State<WebState<S>>,
    secure: Option<Extension<SecureCookies>>,
    headers: HeaderMap,
    Query(params): Query<SignInParams>,
) -> Response {
    let (session, fresh) = match state.sessions.get(&headers) {
        Some(s) => (s, false),
        None => match state.sessions.create(None) {
            Ok(s) => (s, true),
            Err(_) => return unavailable(),
        },
    };
    let notice = params
        .signed_out
        .is_some()
        .then_some("You have signed out.");
    let mut response = sign_in_page(StatusCode::OK, &session, &[], notice);
    if fresh {
        set_cookie(&mut response, &session, secure.is_some());
    }
    response
}

/// Checks the token and starts a signed-in session.
pub async fn sign_in<S: EventStore + 'static>(
    State(state): State<WebState<S>>,
    secure: Option<Extension<SecureCookies>>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let Some(anonymous) = state.sessions.get(&headers) else {
        return refused_page(
            StatusCode::FORBIDDEN,
            "the sign-in form has expired; open the sign-in page again",
        );
    };
    if !session::csrf_matches(&anonymous, &form.csrf) {
        return refused_page(
            StatusCode::FORBIDDEN,
            "the form's security token does not match this session; open the page again and resubmit",
        );
    }
    let token = form.token.trim().to_string();
    if token.is_empty() {
        let errors = [FieldError::new("token", "Enter your access token")];
        return sign_in_page(StatusCode::BAD_REQUEST, &anonymous, &errors, None);
    }
    if let Err(e) = state.app.ledger.authenticate(&token) {
        let errors = [FieldError::new("token", e.to_string())];
        return sign_in_page(StatusCode::UNAUTHORIZED, &anonymous, &errors, None);
    }
    state.sessions.end(&anonymous.id);
    let Ok(signed_in) = state.sessions.create(Some(token)) else {
        return unavailable();
    };
    let mut response = super::see_other("/");
    set_cookie(&mut response, &signed_in, secure.is_some());
    response
}

#[derive(Deserialize)]
pub struct SignOutForm {
    #[serde(default)]
    csrf: String,
}

/// Ends the session and clears the cookie.
pub async fn sign_out<S: EventStore + 'static>(
    State(state): State<WebState<S>>,
    secure: Option<Extension<SecureCookies>>,
    headers: HeaderMap,
    Form(form): Form<SignOutForm>,
) -> Response {
    let viewer = match super::viewer(&state, &headers, true) {
        Ok(v) => v,
        Err(refused) => return refused,
    };
    if let Err(refused) = super::check_csrf(&viewer, &form.csrf) {
        return refused;
    }
    state.sessions.end(&viewer.session.id);
    let mut response = super::see_other("/sign-in?signed-out=1");
    if let Ok(value) = session::clear_cookie(secure.is_some()).parse() {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

fn set_cookie(response: &mut Response, session: &WebSession, secure: bool) {
    if let Ok(value) = session::set_cookie(session, secure).parse() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

fn sign_in_page(
    status: StatusCode,
    session: &WebSession,
    errors: &[FieldError],
    notice: Option<&str>,
) -> Response {
    let body = html! {
        @if let Some(n) = notice {
            div class="notification" role="status" { p class="notification__text" { (n) } }
        }
        p class="body" { "Sign in with the access token your ledger's administrator gave you. It starts with glt_." }
        form method="post" action="/sign-in" novalidate {
            input type="hidden" name="csrf" value=(session.csrf);
            @let error = errors.iter().find(|e| e.field == "token");
            div class={ "form-group" @if error.is_some() { " form-group--error" } } {
                label class="label" for="token" { "Access token" }
                @if let Some(e) = error {
                    p class="error-message" id="token-error" { span class="visually-hidden" { "Error: " } (e.message) }
                }
                input class={ "input" @if error.is_some() { " input--error" } } id="token" name="token"
                    type="password" autocomplete="off" spellcheck="false"
                    aria-describedby=[error.map(|_| "token-error")];
            }
            button type="submit" class="button" { "Sign in" }
        }
        p class="body" { "You stay signed in for 8 hours, or until you sign out or the server restarts." }
    };
    layout::page(status, "Sign in", None, errors, body)
}

/// The page that refuses a request that is not signed in, or no longer is.
pub fn refused_page(status: StatusCode, message: &str) -> Response {
    let body = html! {
        p class="body" { "Nothing was recorded." }
        p class="body" { a href="/sign-in" { "Sign in" } }
    };
    layout::page(
        status,
        "You are not signed in",
        None,
        &[FieldError::new("main-content", message)],
        body,
    )
}
