//! Finance's forms: record a payment, a recovery, a reversal. The pages offer them only to
//! finance (and the ledger's owner); the application layer refuses anyone else's POST.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use grant_ledger_domain::Action;
use grant_ledger_projections::{input, Api, PayRequest, RecoverRequest, ReverseRequest};
use grant_ledger_store::EventStore;
use maud::{html, Markup};

use super::{
    determination_options, field_for, hidden, key_of, new_key, notice, optional, permitted,
    region_options, status_of, submit, value, Fields,
};
use crate::web::layout::{self, FieldError};
use crate::web::pages::region_href;
use crate::web::{blocking, check_csrf, error_page, see_other, viewer, Viewer, WebState};

type Options = (Vec<(String, String)>, Vec<(String, String)>);

async fn options<S: EventStore + 'static>(
    state: &WebState<S>,
    viewer: &Viewer,
) -> Result<Options, Response> {
    blocking(state, viewer.caller.clone(), |s| {
        Ok((determination_options(s)?, region_options(s)?))
    })
    .await
    .map_err(|e| error_page(viewer, &e))
}

/// A form's date field, filled in with today as every command defaults it.
fn today() -> String {
    grant_ledger_projections::input::today().to_string()
}

/// The amount and date every money form has, parsed with the command line's parser.
fn amount_and_date(
    fields: &Fields,
    errors: &mut Vec<FieldError>,
) -> Option<(grant_ledger_domain::Money, chrono::NaiveDate)> {
    let amount = input::money("amount", value(fields, "amount"))
        .map_err(|e| errors.push(FieldError::new("amount", e.to_string())))
        .ok();
    let date = input::date("date", value(fields, "date"))
        .map_err(|e| errors.push(FieldError::new("date", e.to_string())))
        .ok();
    amount.zip(date)
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

// ---------------------------------------------------------------- payment

fn pay_body(viewer: &Viewer, o: &Options, f: &Fields, errors: &[FieldError], key: &str) -> Markup {
    html! {
        form method="post" action="/payments/new" novalidate data-keep {
            (hidden(viewer, key))
            (layout::select_field("determination", "Determination", &o.0, value(f, "determination"), errors))
            (layout::select_field("region", "Region", &o.1, value(f, "region"), errors))
            (layout::text_field("amount", "Amount paid", Some("In pounds, for example 318000 or £318,000.50"), value(f, "amount"), errors, "input--width-10"))
            (layout::text_field("date", "Date paid", Some("As YYYY-MM-DD, for example 2024-09-30"), value(f, "date"), errors, "input--width-10"))
            (layout::text_field("reference", "Reference (optional)", None, value(f, "reference"), errors, "input--width-20"))
            (layout::text_field("late_reason", "Reason it is late (only if paid after the deadline)", None, value(f, "late_reason"), errors, ""))
            (submit("Record payment"))
        }
    }
}

/// The payment form.
pub async fn pay_form<S: EventStore + 'static>(
    State(state): State<WebState<S>>,
    headers: HeaderMap,
    Query(asked): Query<Fields>,
) -> Response {
    let viewer = match viewer(&state, &headers, false) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Err(r) = permitted(&viewer, Action::Pay) {
        return r;
    }
    let o = match options(&state, &viewer).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let mut f = asked;
    f.insert("date".into(), today());
    page(
        &viewer,
        StatusCode::OK,
        "Record a payment",
        &[],
        pay_body(&viewer, &o, &f, &[], &new_key()),
    )
}

/// Records a payment, or draws the form again with what was wrong.
pub async fn pay<S: EventStore + 'static>(
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
    let parsed = amount_and_date(&f, &mut errors);
    let (status, errors) = match parsed {
        None => (StatusCode::BAD_REQUEST, errors),
        Some((amount, date)) => {
            let request = PayRequest {
                determination: value(&f, "determination").to_string(),
                region: value(&f, "region").to_string(),
                amount,
                date,
                reference: optional(&f, "reference"),
                late_reason: optional(&f, "late_reason"),
            };
            let k = key.clone();
            match blocking(&state, viewer.caller.clone(), move |s| {
                s.pay(k.as_deref(), request)
            })
            .await
            {
                Ok(recorded) => {
                    state
                        .sessions
                        .set_notice(&viewer.session.id, notice("payment", &recorded));
                    return see_other(&region_href(
                        value(&f, "determination"),
                        value(&f, "region"),
                    ));
                }
                Err(e) => (
                    status_of(&e),
                    vec![FieldError::new(
                        &field_for(
                            &e,
                            &["amount", "date", "region", "determination", "late_reason"],
                        ),
                        e.to_string(),
                    )],
                ),
            }
        }
    };
    let o = match options(&state, &viewer).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    page(
        &viewer,
        status,
        "Record a payment",
        &errors,
        pay_body(&viewer, &o, &f, &errors, key.as_deref().unwrap_or("")),
    )
}

// ---------------------------------------------------------------- recovery

fn recover_body(
    viewer: &Viewer,
    o: &Options,
    f: &Fields,
    errors: &[FieldError],
    key: &str,
) -> Markup {
    html! {
        form method="post" action="/recoveries/new" novalidate data-keep {
            (hidden(viewer, key))
            (layout::select_field("determination", "Determination", &o.0, value(f, "determination"), errors))
            (layout::select_field("region", "Region", &o.1, value(f, "region"), errors))
            (layout::text_field("amount", "Amount recovered", Some("In pounds, for example 5000"), value(f, "amount"), errors, "input--width-10"))
            (layout::text_field("date", "Date recovered", Some("As YYYY-MM-DD, for example 2025-04-30"), value(f, "date"), errors, "input--width-10"))
            (layout::text_field("reason", "Reason", None, value(f, "reason"), errors, ""))
            (submit("Record recovery"))
        }
    }
}

/// The recovery form.
pub async fn recover_form<S: EventStore + 'static>(
    State(state): State<WebState<S>>,
    headers: HeaderMap,
    Query(asked): Query<Fields>,
) -> Response {
    let viewer = match viewer(&state, &headers, false) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Err(r) = permitted(&viewer, Action::Recover) {
        return r;
    }
    let o = match options(&state, &viewer).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    let mut f = asked;
    f.insert("date".into(), today());
    page(
        &viewer,
        StatusCode::OK,
        "Record a recovery",
        &[],
        recover_body(&viewer, &o, &f, &[], &new_key()),
    )
}

/// Records a recovery, or draws the form again with what was wrong.
pub async fn recover<S: EventStore + 'static>(
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
    let parsed = amount_and_date(&f, &mut errors);
    let (status, errors) = match parsed {
        None => (StatusCode::BAD_REQUEST, errors),
        Some((amount, date)) => {
            let request = RecoverRequest {
                determination: value(&f, "determination").to_string(),
                region: value(&f, "region").to_string(),
                amount,
                date,
                reason: value(&f, "reason").trim().to_string(),
            };
            let k = key.clone();
            match blocking(&state, viewer.caller.clone(), move |s| {
                s.recover(k.as_deref(), request)
            })
            .await
            {
                Ok(recorded) => {
                    state
                        .sessions
                        .set_notice(&viewer.session.id, notice("recovery", &recorded));
                    return see_other(&region_href(
                        value(&f, "determination"),
                        value(&f, "region"),
                    ));
                }
                Err(e) => (
                    status_of(&e),
                    vec![FieldError::new(
                        &field_for(&e, &["amount", "date", "reason", "region", "determination"]),
                        e.to_string(),
                    )],
                ),
            }
        }
    };
    let o = match options(&state, &viewer).await {
        Ok(o) => o,
        Err(r) => return r,
    };
    page(
        &viewer,
        status,
        "Record a recovery",
        &errors,
        recover_body(&viewer, &o, &f, &errors, key.as_deref().unwrap_or("")),
    )
}

// ---------------------------------------------------------------- reversal

fn reverse_body(viewer: &Viewer, f: &Fields, errors: &[FieldError], key: &str) -> Markup {
    html! {
        p class="body" { "A reversal records that an earlier payment, spend or recovery should not have happened. The earlier event stays in the history; its amount is taken back out of every figure." }
        form method="post" action="/reversals/new" novalidate data-keep {
            (hidden(viewer, key))
            (layout::text_field("event", "Event to reverse", Some("Its position in the history (for example 12) or its event id"), value(f, "event"), errors, "input--width-20"))
            (layout::text_field("reason", "Reason", None, value(f, "reason"), errors, ""))
            (layout::text_field("date", "Date of the reversal (optional)", Some("As YYYY-MM-DD; leave empty for the reversed event's own date"), value(f, "date"), errors, "input--width-10"))
            (submit("Record reversal"))
        }
    }
}

/// The reversal form.
pub async fn reverse_form<S: EventStore + 'static>(
    State(state): State<WebState<S>>,
    headers: HeaderMap,
    Query(asked): Query<Fields>,
) -> Response {
    let viewer = match viewer(&state, &headers, false) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Err(r) = permitted(&viewer, Action::ReverseMoney) {
        return r;
    }
    page(
        &viewer,
        StatusCode::OK,
        "Reverse an event",
        &[],
        reverse_body(&viewer, &asked, &[], &new_key()),
    )
}

/// Records a reversal, or draws the form again with what was wrong.
pub async fn reverse<S: EventStore + 'static>(
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
    let date = match input::opt_date("date", optional(&f, "date").as_deref()) {
        Ok(d) => d,
        Err(e) => {
            let errors = [FieldError::new("date", e.to_string())];
            return page(
                &viewer,
                StatusCode::BAD_REQUEST,
                "Reverse an event",
                &errors,
                reverse_body(&viewer, &f, &errors, key.as_deref().unwrap_or("")),
            );
        }
    };
    let request = ReverseRequest {
        event: value(&f, "event").trim().to_string(),
        reason: value(&f, "reason").trim().to_string(),
        date,
    };
    let k = key.clone();
    match blocking(&state, viewer.caller.clone(), move |s| {
        s.reverse(k.as_deref(), request)
    })
    .await
    {
        Ok(recorded) => {
            state
                .sessions
                .set_notice(&viewer.session.id, notice("reversal", &recorded));
            let to = recorded.events.first().map_or_else(
                || "/history".to_string(),
                |e| {
                    let d = e
                        .data
                        .get("determination")
                        .and_then(|v| v.as_str())
                        .unwrap_or("");
                    let r = e.data.get("region").and_then(|v| v.as_str()).unwrap_or("");
                    region_href(d, r)
                },
            );
            see_other(&to)
        }
        Err(e) => {
            let errors = [FieldError::new(
                &field_for(&e, &["event", "reason", "date"]),
                e.to_string(),
            )];
            page(
                &viewer,
                status_of(&e),
                "Reverse an event",
                &errors,
                reverse_body(&viewer, &f, &errors, key.as_deref().unwrap_or("")),
            )
        }
    }
}
