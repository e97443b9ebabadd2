//! The page shell every page shares, in the GOV.UK pattern: skip link, header with the
//! service name, navigation offering only what the signed-in role may do, the one-time
//! notice, the error summary, and the footer. Also the form pieces (fields with their
//! error messages) so every form reads the same.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use grant_ledger_domain::{permits, Action, Role};
use maud::{html, Markup, PreEscaped, DOCTYPE};

/// Who is looking, for the header and navigation.
pub struct Chrome<'a> {
    pub name: &'a str,
    pub role: Option<&'a Role>,
    pub csrf: &'a str,
    pub notice: Option<&'a str>,
    /// The ledger's head when the page was drawn, for the live-update script.
    pub head: u64,
}

/// One error of a form: the field it belongs to (its element id) and the sentence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// Whether the role may pay, recover and reverse money (the navigation's question; the
/// application layer still decides every POST).
pub fn may_move_money(role: Option<&Role>) -> bool {
    role.map_or(true, |r| permits(r, Action::Pay))
}

/// The region a role may spend for, if any.
pub fn spend_region(role: Option<&Role>) -> Option<&str> {
    role.and_then(Role::region)
}

/// A whole page. `title` is the page's h1 and, with the service name, its `<title>`.
pub fn page(
    status: StatusCode,
    title: &str,
    chrome: Option<&Chrome<'_>>,
    errors: &[FieldError],
    body: Markup,
) -> Response {
    let full_title = if errors.is_empty() {
        format!("{title} – Grant ledger")
    } else {
        format!("Error: {title} – Grant ledger")
    };
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (full_title) }
                link rel="stylesheet" href="/assets/app.css";
                @if let Some(c) = chrome {
                    meta name="ledger-head" content=(c.head);
                    script src="/assets/live.js" defer {}
                }
            }
            body {
                a href="#main-content" class="skip-link" { "Skip to main content" }
                header class="header" {
                    div class="width-container header__inner" {
                        a href="/" class="header__service" { "Grant ledger" }
                        @if let Some(c) = chrome {
                            div class="header__account" {
                                span { "Signed in as " strong { (c.name) } " (" (role_name(c.role)) ")" }
                                form method="post" action="/sign-out" class="inline-form" {
                                    input type="hidden" name="csrf" value=(c.csrf);
                                    button type="submit" class="link-button" { "Sign out" }
                                }
                            }
                        }
                    }
                }
                @if let Some(c) = chrome { (navigation(c.role)) }
                div class="width-container" {
                    main id="main-content" class="main" {
                        @if let Some(notice) = chrome.and_then(|c| c.notice) {
                            div class="notification" role="status" {
                                p class="notification__text" { (notice) }
                            }
                        }
                        (error_summary(errors))
                        h1 class="heading-l" { (title) }
                        (body)
                    }
                }
                footer class="footer" {
                    div class="width-container" {
                        p { "Grant ledger: an event-sourced ledger of section 31 grant determinations. Every figure is derived from the ledger's history." }
                    }
                }
            }
        }
    };
    (status, Html(markup.into_string())).into_response()
}

fn role_name(role: Option<&Role>) -> String {
    role.map_or_else(|| "owner".to_string(), Role::to_string)
}

/// The links of the pages this role may use.
fn navigation(role: Option<&Role>) -> Markup {
    let mut links: Vec<(&str, String)> = vec![
        ("/", "Overview".into()),
        ("/deadlines", "Deadlines".into()),
        ("/history", "History".into()),
        ("/check", "Determination check".into()),
        ("/integrity", "Integrity".into()),
    ];
    if may_move_money(role) {
        links.push(("/payments/new", "Record a payment".into()));
        links.push(("/recoveries/new", "Record a recovery".into()));
        links.push(("/reversals/new", "Reverse an event".into()));
    }
    if spend_region(role).is_some() {
        links.push(("/spends/new", "Record spend".into()));
        links.push(("/spends/upload", "Upload spend".into()));
    }
    html! {
        nav class="navigation" aria-label="Menu" {
            ul class="width-container navigation__list" {
                @for (href, label) in &links {
                    li { a href=(href) class="navigation__link" { (label) } }
                }
            }
        }
    }
}

/// The GOV.UK error summary: a heading and a link to each field in error.
pub fn error_summary(errors: &[FieldError]) -> Markup {
    html! {
        @if !errors.is_empty() {
            div class="error-summary" role="alert" tabindex="-1" aria-labelledby="error-summary-title" data-module="error-summary" {
                h2 class="error-summary__title" id="error-summary-title" { "There is a problem" }
                ul class="error-summary__list" {
                    @for e in errors {
                        li { a href={ "#" (e.field) } { (e.message) } }
                    }
                }
            }
        }
    }
}

/// A labelled text input, with its error message when it has one.
pub fn text_field(
    id: &str,
    label: &str,
    hint: Option<&str>,
    value: &str,
    errors: &[FieldError],
    class: &str,
) -> Markup {
    let error = errors.iter().find(|e| e.field == id);
    let described = describedby(id, hint.is_some(), error.is_some());
    html! {
        div class={ "form-group" @if error.is_some() { " form-group--error" } } {
            label class="label" for=(id) { (label) }
            @if let Some(h) = hint { div class="hint" id={ (id) "-hint" } { (h) } }
            @if let Some(e) = error {
                p class="error-message" id={ (id) "-error" } {
                    span class="visually-hidden" { "Error: " } (e.message)
                }
            }
            input class={ "input " (class) @if error.is_some() { " input--error" } }
                id=(id) name=(id) type="text" value=(value)
                aria-describedby=[described];
        }
    }
}

/// A labelled select of `(value, label)` options.
pub fn select_field(
    id: &str,
    label: &str,
    options: &[(String, String)],
    selected: &str,
    errors: &[FieldError],
) -> Markup {
    let error = errors.iter().find(|e| e.field == id);
    html! {
        div class={ "form-group" @if error.is_some() { " form-group--error" } } {
            label class="label" for=(id) { (label) }
            @if let Some(e) = error {
                p class="error-message" id={ (id) "-error" } {
                    span class="visually-hidden" { "Error: " } (e.message)
                }
            }
            select class="select" id=(id) name=(id)
                aria-describedby=[error.map(|_| format!("{id}-error"))] {
                @for (value, text) in options {
                    option value=(value) selected[value == selected] { (text) }
                }
            }
        }
    }
}

fn describedby(id: &str, hint: bool, error: bool) -> Option<String> {
    let parts: Vec<String> = [(hint, "hint"), (error, "error")]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, what)| format!("{id}-{what}"))
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// A status tag: `class` picks its colour.
pub fn tag(text: &str, class: &str) -> Markup {
    html! { strong class={ "tag " (class) } { (text) } }
}

/// Raw markup already escaped (the SVG chart).
pub fn raw(s: String) -> Markup {
    PreEscaped(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_finance_and_the_owner_are_offered_the_money_forms() {
        assert!(may_move_money(Some(&Role::Finance)));
        assert!(may_move_money(None));
        assert!(!may_move_money(Some(&Role::Region("london".into()))));
        assert!(!may_move_money(Some(&Role::Auditor)));
    }

    #[test]
    fn the_error_summary_links_each_message_to_its_field() {
        let html = error_summary(&[FieldError::new("amount", "amount: bad")]).into_string();
        assert!(html.contains("There is a problem"));
        assert!(html.contains("href=\"#amount\""));
    }

    #[test]
    fn a_field_in_error_names_its_message_for_screen_readers() {
        let errors = [FieldError::new("amount", "amount: bad")];
        let html = text_field("amount", "Amount", None, "x", &errors, "").into_string();
        assert!(html.contains("aria-describedby=\"amount-error\""));
        assert!(html.contains("form-group--error"));
    }

    #[test]
    fn text_is_escaped() {
        let html = tag("<script>", "").into_string();
        assert!(!html.contains("<script>"));
    }
}
