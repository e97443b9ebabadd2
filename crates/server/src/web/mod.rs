//! The web dashboard served at `/`: server-rendered pages in the manner of a GOV.UK
//! service, for people who never open a terminal. Every page reads the same typed
//! application API as the JSON endpoints ([`grant_ledger_projections::Api`] over a
//! [`Session`]), so no rule and no sentence is written twice; the pages only lay out what
//! the API answers, and every POST is decided (and refused) by the application layer.
//!
//! - [`session`]: sign-in sessions, cookies and CSRF tokens;
//! - [`layout`]: the page shell, navigation by role, the error summary, form fields;
//! - [`format`]: dates and money as the pages word them;
//! - [`chart`]: server-rendered SVG bar charts with a text alternative;
//! - [`activity`]: per-region activity folded from the history, kept warm incrementally;
//! - [`signin`]: sign in and sign out;
//! - [`pages`]: overview, deadlines, a region, determination check, integrity;
//! - [`history`]: the audit trail, paged, and its CSV;
//! - [`forms`]: payment, recovery, reversal, spend and spend upload;
//! - [`assets`]: the stylesheet, the live-update script and the event feed for it.
//!
//! Templates are maud: HTML written as Rust, checked and escaped by the compiler, so a
//! page cannot reference a field that does not exist or forget to escape a region name,
//! and there are no template files to find at run time.

// A handler's early answer (a redirect to sign in, a refused form) is a whole `Response`
// either way; boxing it would only add an allocation to a path taken once per request.
#![allow(clippy::result_large_err)]

pub mod activity;
pub mod assets;
pub mod chart;
pub mod format;
pub mod forms;
pub mod history;
pub mod layout;
pub mod pages;
pub mod session;
pub mod signin;

use std::sync::Arc;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use grant_ledger_projections::{Caller, LedgerError, Session};
use grant_ledger_store::EventStore;

use crate::routes::AppState;
use layout::{Chrome, FieldError};
use session::{Sessions, WebSession};

/// Put on every request by the server when it serves TLS, so the session cookie is
/// marked `Secure`.
#[derive(Clone, Copy, Debug)]
pub struct SecureCookies;

/// What the pages share.
pub struct WebState<S: EventStore> {
    pub app: AppState<S>,
    pub sessions: Arc<Sessions>,
    pub activity: Arc<activity::Activity>,
    pub uploads: Arc<forms::spend::Uploads>,
}

impl<S: EventStore> Clone for WebState<S> {
    fn clone(&self) -> Self {
        WebState {
            app: self.app.clone(),
            sessions: Arc::clone(&self.sessions),
            activity: Arc::clone(&self.activity),
            uploads: Arc::clone(&self.uploads),
        }
    }
}

/// Every page, its assets and its forms.
pub fn router<S: EventStore + 'static>(app: AppState<S>) -> Router {
    let state = WebState {
        app,
        sessions: Arc::new(Sessions::default()),
        activity: Arc::new(activity::Activity::default()),
        uploads: Arc::new(forms::spend::Uploads::default()),
    };
    warm(&state);
    Router::new()
        .route("/", get(pages::overview::<S>))
        .route("/deadlines", get(pages::deadlines::<S>))
        .route("/regions/{slug}", get(pages::region::<S>))
        .route("/check", get(pages::check::<S>))
        .route("/integrity", get(pages::integrity::<S>))
        .route("/history", get(history::page::<S>))
        .route("/history.csv", get(history::csv::<S>))
        .route(
            "/sign-in",
            get(signin::form::<S>).post(signin::sign_in::<S>),
        )
        .route("/sign-out", post(signin::sign_out::<S>))
        .route(
            "/payments/new",
            get(forms::pay_form::<S>).post(forms::pay::<S>),
        )
        .route(
            "/recoveries/new",
            get(forms::recover_form::<S>).post(forms::recover::<S>),
        )
        .route(
            "/reversals/new",
            get(forms::reverse_form::<S>).post(forms::reverse::<S>),
        )
        .route(
            "/spends/new",
            get(forms::spend_form::<S>).post(forms::spend::<S>),
        )
        .route(
            "/spends/upload",
            get(forms::upload_form::<S>).post(forms::upload::<S>).layer(
                // As large a file as the API's spend import takes.
                axum::extract::DefaultBodyLimit::max(crate::body::MAX_BODY_BYTES),
            ),
        )
        .route("/assets/app.css", get(assets::stylesheet))
        .route("/assets/live.js", get(assets::script))
        .route("/live", get(assets::live::<S>))
        .with_state(state)
}

/// Folds the history for the region pages in the background, so the first region page
/// viewed after a start does not pay for the whole log.
fn warm<S: EventStore + 'static>(state: &WebState<S>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let activity = Arc::clone(&state.activity);
    let session = Session::new(Arc::clone(&state.app.ledger), Caller::owner("web"));
    activity.start_warming();
    runtime.spawn_blocking(move || {
        if let Err(e) = activity.warm(&session) {
            tracing::warn!("the region pages' history could not be read: {e}");
        }
    });
}

/// A signed-in visitor: their session and who their token says they are.
pub struct Viewer {
    pub session: WebSession,
    pub caller: Caller,
    pub notice: Option<String>,
    pub head: u64,
}

impl Viewer {
    pub fn chrome(&self) -> Chrome<'_> {
        Chrome {
            name: &self.caller.name,
            role: self.caller.role.as_ref(),
            csrf: &self.session.csrf,
            notice: self.notice.as_deref(),
            head: self.head,
        }
    }
}

/// The signed-in visitor of a request, or the answer that sends them to sign in: a
/// redirect for a page, a 401 page for a form sent without a session.
pub fn viewer<S: EventStore>(
    state: &WebState<S>,
    headers: &HeaderMap,
    posting: bool,
) -> Result<Viewer, Response> {
    let refused = |message: &str| -> Response {
        if posting {
            signin::refused_page(StatusCode::UNAUTHORIZED, message)
        } else {
            Redirect::to("/sign-in").into_response()
        }
    };
    let Some(session) = state.sessions.get(headers) else {
        return Err(refused(
            "You are not signed in. Sign in with your access token.",
        ));
    };
    let Some(token) = session.token.clone() else {
        return Err(refused(
            "You are not signed in. Sign in with your access token.",
        ));
    };
    match state.app.ledger.authenticate(&token) {
        Ok(caller) => {
            let notice = if posting {
                None
            } else {
                state.sessions.take_notice(&session.id)
            };
            Ok(Viewer {
                session,
                caller,
                notice,
                head: state.app.ledger.head_position(),
            })
        }
        Err(e) => {
            // A revoked token ends the session at once.
            state.sessions.end(&session.id);
            Err(signin::refused_page(
                StatusCode::UNAUTHORIZED,
                &e.to_string(),
            ))
        }
    }
}

/// Runs `f` with the viewer's session of the ledger on a blocking thread (ledger calls
/// may block on the disk).
pub async fn blocking<S, T, F>(state: &WebState<S>, caller: Caller, f: F) -> Result<T, LedgerError>
where
    S: EventStore + 'static,
    T: Send + 'static,
    F: FnOnce(&Session<S>) -> Result<T, LedgerError> + Send + 'static,
{
    let session = Session::new(Arc::clone(&state.app.ledger), caller);
    tokio::task::spawn_blocking(move || f(&session))
        .await
        .map_err(|_| LedgerError::Reported {
            kind: grant_ledger_projections::ErrorKind::Unavailable,
            message:
                "the server stopped this request on an internal error; nothing more was written"
                    .into(),
        })?
}

/// A page that could not be read: the error's own sentence, with its status.
pub fn error_page(viewer: &Viewer, error: &LedgerError) -> Response {
    let status = crate::problem::status_of(error.kind());
    let message = crate::problem::Problem::new(error.kind(), error.to_string()).detail;
    layout::page(
        status,
        "Sorry, there is a problem",
        Some(&viewer.chrome()),
        &[],
        maud::html! { p class="body" { (message) } },
    )
}

/// The page every path shows while the ledger is damaged: its sentence and nothing else,
/// with no chrome (no figures, no forms).
pub fn damaged_page(error: &LedgerError) -> Response {
    let status = crate::problem::status_of(error.kind());
    let message = crate::problem::Problem::new(error.kind(), error.to_string()).detail;
    layout::page(
        status,
        "Sorry, there is a problem",
        None,
        &[],
        maud::html! { p class="body" { (message) } },
    )
}

/// Whether the request reached us over TLS.
pub fn secure(extension: Option<&SecureCookies>) -> bool {
    extension.is_some()
}

/// A `303 See Other` to `to` (post/redirect/get).
pub fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

/// Checks a form's CSRF token against the viewer's session.
pub fn check_csrf(viewer: &Viewer, presented: &str) -> Result<(), Response> {
    if session::csrf_matches(&viewer.session, presented) {
        Ok(())
    } else {
        Err(layout::page(
            StatusCode::FORBIDDEN,
            "This form has expired",
            Some(&viewer.chrome()),
            &[FieldError::new(
                "main-content",
                "the form's security token does not match this session; open the page again and resubmit",
            )],
            maud::html! { p class="body" { "Nothing was recorded." } },
        ))
    }
}
