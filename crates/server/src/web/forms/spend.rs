//! A region lead's forms: record spend for its own region, and upload a spend CSV (the
//! import format of `spend-import`: every row recorded or none, the bad line named). The
//! region is not a choice on these forms: it is the role's own. A POST naming another
//! region is refused by the application layer (403) and nothing is written.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::{Multipart, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use grant_ledger_domain::{region_slug, Action};
use grant_ledger_projections::{input, Api, SpendReportQuery, SpendRequest, SPEND_CSV_HEADER};
use grant_ledger_store::EventStore;
use maud::{html, Markup};

use super::{
    field_for, hidden, key_of, new_key, notice, optional, status_of, submit, value, Fields,
};
use crate::web::layout::{self, FieldError};
use crate::web::pages::{chosen, region_href};
use crate::web::{blocking, check_csrf, error_page, see_other, viewer, Viewer, WebState};

/// Uploads already handled, by their form's key, with the notice they gave: a double
/// submit of the same upload form is answered with the first one's result.
#[derive(Default)]
pub struct Uploads {
    done: Mutex<HashMap<String, String>>,
}

/// What the spend form offers.
struct Choices {
    determination: String,
    region: String,
    purposes: Vec<(String, String)>,
    authorities: Vec<(String, String)>,
}

/// The region the viewer spends for: its role's, or for the owner the one asked for.
fn own_region(viewer: &Viewer, asked: &str) -> String {
    match viewer.caller.role.as_ref() {
        Some(role) => role.region().unwrap_or("").to_string(),
        None => region_slug(asked),
    }
}

async fn choices<S: EventStore + 'static>(
    state: &WebState<S>,
    viewer: &Viewer,
    determination: Option<String>,
    region: String,
) -> Result<Choices, Response> {
    blocking(state, viewer.caller.clone(), move |s| {
        let determination = chosen(s, determination)?;
        let d = s.determination(&determination)?.determination;
        let allocation = d
            .allocations
            .iter()
            .find(|a| region_slug(&a.region) == region);
        let region_name = allocation.map_or(region.clone(), |a| a.region.clone());
        let purposes = s
            .spend_report(&SpendReportQuery::of(&determination, Some(&region_name)))?
            .into_iter()
            .filter_map(|r| r.purpose)
            .map(|purpose| (purpose.clone(), purpose))
            .collect();
        let mut authorities = vec![(String::new(), "Not given".to_string())];
        if let Some(a) = allocation {
            authorities.extend(a.authorities.iter().map(|x| (x.clone(), x.clone())));
        }
        Ok(Choices {
            determination,
            region: region_name,
            purposes,
            authorities,
        })
    })
    .await
    .map_err(|e| error_page(viewer, &e))
}

fn spend_body(
    viewer: &Viewer,
    c: &Choices,
    f: &Fields,
    errors: &[FieldError],
    key: &str,
) -> Markup {
    html! {
        dl class="summary-list" {
            div class="summary-list__row" { dt class="summary-list__key" { "Region" } dd class="summary-list__value" { (c.region) } }
            div class="summary-list__row" { dt class="summary-list__key" { "Determination" } dd class="summary-list__value" { (c.determination) } }
        }
        form method="post" action="/spends/new" novalidate data-keep {
            (hidden(viewer, key))
            input type="hidden" name="determination" value=(c.determination);
            input type="hidden" name="region" value=(region_slug(&c.region));
            (layout::select_field("purpose", "Purpose", &c.purposes, value(f, "purpose"), errors))
            (layout::text_field("amount", "Amount spent", Some("In pounds, for example 1200 or £1,200.50"), value(f, "amount"), errors, "input--width-10"))
            (layout::text_field("date", "Date spent", Some("As YYYY-MM-DD, for example 2024-10-15"), value(f, "date"), errors, "input--width-10"))
            (layout::select_field("authority", "Authority (optional)", &c.authorities, value(f, "authority"), errors))
            (layout::text_field("description", "Description (optional)", None, value(f, "description"), errors, ""))
            (layout::text_field("reference", "Reference (optional)", None, value(f, "reference"), errors, "input--width-20"))
            (submit("Record spend"))
        }
    }
}

fn page(
    viewer: &Viewer,
    status: StatusCode,
    title: &str,
    errors: &[FieldError],
    body: Markup,
) -> Response {
    layout::page(status, title, Some(&viewer.chrome()), errors, body)
}

/// The spend form, for the viewer's own region.
pub async fn spend_form<S: EventStore + 'static>(
    State(state): State<WebState<S>>,
    headers: HeaderMap,
    Query(asked): Query<Fields>,
) -> Response {
    let viewer = match viewer(&state, &headers, false) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let region = own_region(&viewer, value(&asked, "region"));
    if let Err(r) = super::permitted(&viewer, Action::Spend { region: &region }) {
        return r;
    }
    let c = match choices(&state, &viewer, optional(&asked, "determination"), region).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut f = asked;
    f.insert(
        "date".into(),
        grant_ledger_projections::input::today().to_string(),
    );
    page(
        &viewer,
        StatusCode::OK,
        "Record spend",
        &[],
        spend_body(&viewer, &c, &f, &[], &new_key()),
    )
}

/// Records spend, or draws the form again with what was wrong.
pub async fn spend<S: EventStore + 'static>(
    State(state): State<WebState<S>>,
    headers: HeaderMap,
    Form(f): Form<Fields>,
) -> Response {
    let viewer = match viewer(&state, &headers, true) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Err(r) = check_csrf(&viewer, value(&f, "csrf")) {
        return r;
    }
    let key = key_of(&f);
    let mut errors = Vec::new();
    let amount = input::money("amount", value(&f, "amount"))
        .map_err(|e| errors.push(FieldError::new("amount", e.to_string())))
        .ok();
    let date = input::date("date", value(&f, "date"))
        .map_err(|e| errors.push(FieldError::new("date", e.to_string())))
        .ok();
    let status = match amount.zip(date) {
        None => StatusCode::BAD_REQUEST,
        Some((amount, date)) => {
            let request = SpendRequest {
                determination: value(&f, "determination").to_string(),
                region: value(&f, "region").to_string(),
                amount,
                date,
                purpose: value(&f, "purpose").to_string(),
                authority: optional(&f, "authority"),
                description: optional(&f, "description"),
                reference: optional(&f, "reference"),
            };
            let k = key.clone();
            match blocking(&state, viewer.caller.clone(), move |s| {
                s.spend(k.as_deref(), request)
            })
            .await
            {
                Ok(recorded) => {
                    state
                        .sessions
                        .set_notice(&viewer.session.id, notice("spend", &recorded));
                    return see_other(&region_href(
                        value(&f, "determination"),
                        value(&f, "region"),
                    ));
                }
                Err(e) => {
                    errors.push(FieldError::new(
                        &field_for(&e, &["amount", "date", "purpose", "authority"]),
                        e.to_string(),
                    ));
                    status_of(&e)
                }
            }
        }
    };
    // The form is drawn for the viewer's own region, whatever region the POST named.
    let region = own_region(&viewer, value(&f, "region"));
    let c = match choices(&state, &viewer, optional(&f, "determination"), region).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    page(
        &viewer,
        status,
        "Record spend",
        &errors,
        spend_body(&viewer, &c, &f, &errors, key.as_deref().unwrap_or("")),
    )
}

fn upload_body(viewer: &Viewer, errors: &[FieldError], key: &str) -> Markup {
    let error = errors.iter().find(|e| e.field == "file");
    html! {
        p class="body" { "Upload a CSV file of spend for your region. Every row is recorded, or, if any row is wrong, none is: the error names the line to fix." }
        p class="body" { "The first line must be the header: " code { (SPEND_CSV_HEADER.join(",")) } "." }
        form method="post" action="/spends/upload" enctype="multipart/form-data" novalidate {
            (hidden(viewer, key))
            div class={ "form-group" @if error.is_some() { " form-group--error" } } {
                label class="label" for="file" { "Spend CSV file" }
                @if let Some(e) = error {
                    p class="error-message" id="file-error" { span class="visually-hidden" { "Error: " } (e.message) }
                }
                input class="file" id="file" name="file" type="file" accept=".csv,text/csv" aria-describedby=[error.map(|_| "file-error")];
            }
            (submit("Upload spend"))
        }
    }
}

/// The upload form.
pub async fn upload_form<S: EventStore + 'static>(
    State(state): State<WebState<S>>,
    headers: HeaderMap,
) -> Response {
    let viewer = match viewer(&state, &headers, false) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let region = own_region(&viewer, "");
    if viewer.caller.role.is_some() {
        if let Err(r) = super::permitted(&viewer, Action::Spend { region: &region }) {
            return r;
        }
    }
    page(
        &viewer,
        StatusCode::OK,
        "Upload spend",
        &[],
        upload_body(&viewer, &[], &new_key()),
    )
}

/// Records every row of the uploaded file, or none.
pub async fn upload<S: EventStore + 'static>(
    State(state): State<WebState<S>>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Response {
    let viewer = match viewer(&state, &headers, true) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut fields = Fields::new();
    let mut file: Option<Vec<u8>> = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_string();
                match field.bytes().await {
                    Ok(bytes) if name == "file" => file = Some(bytes.to_vec()),
                    Ok(bytes) => {
                        fields.insert(name, String::from_utf8_lossy(&bytes).into_owned());
                    }
                    Err(e) => {
                        return upload_error(
                            &viewer,
                            &fields,
                            StatusCode::BAD_REQUEST,
                            format!("the upload could not be read: {e}"),
                        )
                    }
                }
            }
            Ok(None) => break,
            Err(e) => {
                return upload_error(
                    &viewer,
                    &fields,
                    StatusCode::BAD_REQUEST,
                    format!("the upload could not be read: {e}"),
                )
            }
        }
    }
    if let Err(r) = check_csrf(&viewer, value(&fields, "csrf")) {
        return r;
    }
    let key = key_of(&fields);
    let done = key.as_ref().and_then(|k| {
        state
            .uploads
            .done
            .lock()
            .ok()
            .and_then(|d| d.get(k).cloned())
    });
    if let Some(earlier) = done {
        state.sessions.set_notice(
            &viewer.session.id,
            format!("This upload was already recorded: {earlier}"),
        );
        return see_other("/");
    }
    let Some(bytes) = file.filter(|b| !b.is_empty()) else {
        return upload_error(
            &viewer,
            &fields,
            StatusCode::BAD_REQUEST,
            "Select a spend CSV file to upload".into(),
        );
    };
    let answer = blocking(&state, viewer.caller.clone(), move |s| {
        s.import_spends(None, Box::new(std::io::Cursor::new(bytes)), &mut |_| {})
    })
    .await;
    match answer {
        Ok(summary) => {
            let text = format!(
                "{} rows recorded, {} already on record.",
                summary.imported, summary.skipped
            );
            if let (Some(k), Ok(mut d)) = (key, state.uploads.done.lock()) {
                d.insert(k, text.clone());
            }
            state.sessions.set_notice(
                &viewer.session.id,
                format!("The upload was recorded: {text}"),
            );
            let region = own_region(&viewer, "");
            if region.is_empty() {
                see_other("/")
            } else {
                see_other(&format!("/regions/{region}"))
            }
        }
        Err(e) => upload_error(&viewer, &fields, status_of(&e), e.to_string()),
    }
}

fn upload_error(viewer: &Viewer, fields: &Fields, status: StatusCode, message: String) -> Response {
    let errors = [FieldError::new("file", message)];
    page(
        viewer,
        status,
        "Upload spend",
        &errors,
        upload_body(viewer, &errors, value(fields, "key")),
    )
}
