//! The forms that record: what every form shares. Each form carries the session's CSRF
//! token and its own idempotency key (a hidden field made when the form is drawn, passed
//! to the ledger as the command's key), so a double submit records once. A POST that
//! records redirects to a page (post/redirect/get) with a one-time notice; one that is
//! refused draws the form again with the GOV.UK error summary, carrying the very sentence
//! the command line prints, and the status the JSON API would answer.
//!
//! - [`money`]: payment, recovery and reversal (finance);
//! - [`spend`]: spend and the spend CSV upload (a region's lead, for its own region).

pub mod money;
pub mod spend;

pub use money::{pay, pay_form, recover, recover_form, reverse, reverse_form};
pub use spend::{spend, spend_form, upload, upload_form};

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::Response;
use grant_ledger_domain::{authorize, Action};
use grant_ledger_projections::{Api, ErrorKind, LedgerError, Recorded};
use maud::{html, Markup};

use super::layout::{self, FieldError};
use super::session::random_id;
use super::Viewer;

/// A submitted form's fields.
pub type Fields = HashMap<String, String>;

/// A field's value, or empty.
pub fn value<'a>(fields: &'a Fields, name: &str) -> &'a str {
    fields.get(name).map_or("", String::as_str)
}

/// A field as an optional value: empty means not given.
pub fn optional(fields: &Fields, name: &str) -> Option<String> {
    Some(value(fields, name).trim().to_string()).filter(|v| !v.is_empty())
}

/// A fresh idempotency key for a form being drawn.
pub fn new_key() -> String {
    random_id().map_or_else(|_| String::new(), |id| format!("web-{id}"))
}

/// The key a submitted form carries; a form without one records without a key.
pub fn key_of(fields: &Fields) -> Option<String> {
    optional(fields, "key")
}

/// The hidden fields every form carries.
pub fn hidden(viewer: &Viewer, key: &str) -> Markup {
    html! {
        input type="hidden" name="csrf" value=(viewer.session.csrf);
        input type="hidden" name="key" value=(key);
    }
}

/// The field a ledger's refusal is about: the first of `fields` its sentence names,
/// else the first field.
pub fn field_for(error: &LedgerError, fields: &[&str]) -> String {
    let message = error.to_string().to_lowercase();
    let named = fields.iter().find(|f| {
        let word = f.replace('_', " ");
        message.contains(word.as_str())
    });
    named
        .or(fields.first())
        .map_or_else(String::new, |f| f.to_string())
}

/// The status a refusal is answered with: the JSON API's for the same error.
pub fn status_of(error: &LedgerError) -> StatusCode {
    crate::problem::status_of(error.kind())
}

/// The one-time notice after a recording POST.
pub fn notice(what: &str, recorded: &Recorded) -> String {
    let position = recorded.events.first().map_or(0, |e| e.position);
    if recorded.duplicate {
        format!("This {what} was already recorded at position {position}; nothing new was written.")
    } else {
        format!("The {what} was recorded at position {position}.")
    }
}

/// Refuses a form to a role that may not use it, with the domain's own sentence.
pub fn permitted(viewer: &Viewer, action: Action<'_>) -> Result<(), Response> {
    let Some(role) = viewer.caller.role.as_ref() else {
        return Ok(());
    };
    authorize(&viewer.caller.name, role, action).map_err(|e| {
        layout::page(
            StatusCode::FORBIDDEN,
            "You cannot use this form",
            Some(&viewer.chrome()),
            &[FieldError::new("main-content", e.message())],
            html! { p class="body" { a href="/" { "Back to the overview" } } },
        )
    })
}

/// Every determination's id, for a select.
pub fn determination_options(api: &dyn Api) -> Result<Vec<(String, String)>, LedgerError> {
    Ok(api
        .determinations()?
        .into_iter()
        .map(|d| (d.id.clone(), format!("{} ({})", d.id, d.financial_year)))
        .collect())
}

/// Every region of every determination, by slug, for a select.
pub fn region_options(api: &dyn Api) -> Result<Vec<(String, String)>, LedgerError> {
    let mut regions: Vec<(String, String)> = Vec::new();
    for d in api.determinations()? {
        for a in api.determination(&d.id)?.determination.allocations {
            let slug = grant_ledger_domain::region_slug(&a.region);
            if !regions.iter().any(|(s, _)| *s == slug) {
                regions.push((slug, a.region));
            }
        }
    }
    Ok(regions)
}

/// An error that is not about one field (the ledger unavailable, say).
pub fn is_general(error: &LedgerError) -> bool {
    matches!(error.kind(), ErrorKind::Unavailable | ErrorKind::Conflict)
}

/// The submit button and the note the live script shows when figures change under a
/// form being filled in.
pub fn submit(label: &str) -> Markup {
    html! {
        p class="body" id="live-note" hidden { "The ledger has changed since this page was opened. Your entries are kept; the ledger checks them again when you submit." }
        button type="submit" class="button" { (label) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_goes_on_the_field_it_names() {
        let e = LedgerError::Malformed("date \"x\" is not a date".into());
        assert_eq!(field_for(&e, &["amount", "date"]), "date");
        let e = LedgerError::Malformed("something else".into());
        assert_eq!(field_for(&e, &["amount", "date"]), "amount");
    }

    #[test]
    fn each_form_gets_its_own_key() {
        assert_ne!(new_key(), new_key());
        assert!(new_key().starts_with("web-"));
    }

    #[test]
    fn an_empty_field_is_not_given() {
        let mut fields = Fields::new();
        fields.insert("reference".into(), "  ".into());
        assert_eq!(optional(&fields, "reference"), None);
    }
}
