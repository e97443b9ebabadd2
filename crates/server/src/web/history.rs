//! The audit trail as a page: the filters of `history` (region, type, dates), a page of
//! events at a time (the next page starts `after` the last position shown), and a CSV of
//! exactly the events the page shows. Filters are parsed by the same code as the JSON
//! endpoint's, so a bad date is refused with the same sentence.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use grant_ledger_domain::Money;
use grant_ledger_projections::{event_type_names, Api, HistoryEntry, HistoryFilter};
use grant_ledger_store::EventStore;
use maud::{html, Markup};

use super::format::{date, money, time};
use super::layout::{self, FieldError};
use super::pages::query_value;
use super::{blocking, error_page, viewer, WebState};
use crate::routes::HistoryParams;

/// Events per page.
pub const PAGE: usize = 50;

/// What a page shows: its events, and whether there are more after them.
struct Page {
    entries: Vec<HistoryEntry>,
    more: bool,
}

/// The form's values, echoed back into the filter fields and the links.
#[derive(Clone, Default)]
struct Asked {
    region: String,
    event_type: String,
    since: String,
    until: String,
    after: String,
}

impl Asked {
    fn of(p: &HistoryParams) -> Asked {
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        Asked {
            region: v(&p.region),
            event_type: v(&p.event_type),
            since: v(&p.since),
            until: v(&p.until),
            after: v(&p.after),
        }
    }

    /// The query string of these filters, with `after` as given.
    fn query(&self, after: Option<u64>) -> String {
        let mut parts = Vec::new();
        for (name, value) in [
            ("region", &self.region),
            ("type", &self.event_type),
            ("since", &self.since),
            ("until", &self.until),
        ] {
            if !value.trim().is_empty() {
                parts.push(format!("{name}={}", query_value(value.trim())));
            }
        }
        if let Some(a) = after {
            parts.push(format!("after={a}"));
        }
        parts.join("&")
    }

    fn after(&self) -> Option<u64> {
        self.after.trim().parse().ok()
    }
}

/// Empty fields of the form mean "any".
fn cleaned(mut p: HistoryParams) -> HistoryParams {
    let keep = |o: Option<String>| o.filter(|t| !t.trim().is_empty());
    p.region = keep(p.region);
    p.event_type = keep(p.event_type);
    p.since = keep(p.since);
    p.until = keep(p.until);
    p.after = keep(p.after);
    p.limit = None;
    p
}

/// Which field a filter's error is about (the sentence starts with its name).
fn field_of(message: &str) -> &'static str {
    for (prefix, field) in [
        ("since", "since"),
        ("until", "until"),
        ("type", "type"),
        ("after", "region"),
    ] {
        if message.starts_with(prefix) {
            return field;
        }
    }
    "region"
}

async fn read<S: EventStore + 'static>(
    state: &WebState<S>,
    caller: grant_ledger_projections::Caller,
    filter: HistoryFilter,
) -> Result<Page, grant_ledger_projections::LedgerError> {
    blocking(state, caller, move |s| {
        let mut entries = Vec::with_capacity(PAGE + 1);
        let filter = HistoryFilter {
            limit: Some(PAGE + 1),
            ..filter
        };
        s.history(&filter, &mut |e| {
            entries.push(e);
            Ok(())
        })?;
        let more = entries.len() > PAGE;
        entries.truncate(PAGE);
        Ok(Page { entries, more })
    })
    .await
}

fn amount(e: &HistoryEntry) -> String {
    e.data
        .get("amount")
        .and_then(|a| a.as_str())
        .and_then(|a| Money::parse(a).ok())
        .map(money)
        .unwrap_or_default()
}

fn region(e: &HistoryEntry) -> &str {
    e.data.get("region").and_then(|r| r.as_str()).unwrap_or("")
}

/// The history page.
pub async fn page<S: EventStore + 'static>(
    State(state): State<WebState<S>>,
    headers: HeaderMap,
    Query(params): Query<HistoryParams>,
) -> Response {
    let viewer = match viewer(&state, &headers, false) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let params = cleaned(params);
    let asked = Asked::of(&params);
    let (page, errors) = match params.filter() {
        Err(problem) => (
            None,
            vec![FieldError::new(field_of(&problem.detail), problem.detail)],
        ),
        Ok(filter) => match read(&state, viewer.caller.clone(), filter).await {
            Ok(page) => (Some(page), vec![]),
            Err(e)
                if e.kind() == grant_ledger_projections::ErrorKind::Refused
                    || e.kind() == grant_ledger_projections::ErrorKind::NotFound =>
            {
                (None, vec![FieldError::new("region", e.to_string())])
            }
            Err(e) => return error_page(&viewer, &e),
        },
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let reverse = super::layout::may_move_money(viewer.caller.role.as_ref());
    let body = body(&asked, page.as_ref(), &errors, reverse);
    layout::page(status, "History", Some(&viewer.chrome()), &errors, body)
}

/// Whether an event of this type can be reversed from its row.
fn reversible(event_type: &str) -> bool {
    matches!(
        event_type,
        "PaymentIssued" | "FundsSpent" | "GrantRecovered"
    )
}

/// `reverse`: whether the viewer may reverse money, so rows link to the reversal form.
fn body(asked: &Asked, page: Option<&Page>, errors: &[FieldError], reverse: bool) -> Markup {
    let mut types: Vec<(String, String)> = vec![(String::new(), "Any type".into())];
    types.extend(
        event_type_names()
            .into_iter()
            .map(|n| (n.to_string(), n.to_string())),
    );
    html! {
        form method="get" action="/history" class="filters" {
            (layout::text_field("region", "Region", None, &asked.region, errors, "input--width-20"))
            (layout::select_field("type", "Type", &types, &asked.event_type, errors))
            (layout::text_field("since", "From (YYYY-MM-DD)", None, &asked.since, errors, "input--width-10"))
            (layout::text_field("until", "To (YYYY-MM-DD)", None, &asked.until, errors, "input--width-10"))
            div class="form-group" { button type="submit" class="button button--secondary" { "Filter" } }
        }
        @if let Some(p) = page {
            @if p.entries.is_empty() { p class="body" { "No event matches these filters." } }
            @else {
                p class="body" {
                    "Events at positions " (p.entries.first().map_or(0, |e| e.position)) " to " (p.entries.last().map_or(0, |e| e.position)) ", oldest first. "
                    a href={ "/history.csv?" (asked.query(asked.after())) } download="history.csv" { "Download these events as CSV" }
                }
                div class="table-wrap" {
                    table class="table" {
                        caption class="visually-hidden" { "Events" }
                        thead { tr {
                            th scope="col" class="numeric" { "Position" }
                            th scope="col" { "Type" }
                            th scope="col" { "Region" }
                            th scope="col" class="numeric" { "Amount" }
                            th scope="col" { "Actor" }
                            th scope="col" { "Effective date" }
                            th scope="col" { "Recorded" }
                            th scope="col" { "Hash" }
                            @if reverse { th scope="col" { span class="visually-hidden" { "Action" } } }
                        } }
                        tbody {
                            @for e in &p.entries {
                                tr {
                                    td class="numeric" { (e.position) }
                                    td { (e.event_type) }
                                    td { (region(e)) }
                                    td class="numeric" { (amount(e)) }
                                    td { (e.actor) }
                                    td { (date(e.effective_date)) }
                                    td { (time(e.recorded_at)) }
                                    td class="mono" { (e.hash) }
                                    @if reverse {
                                        td { @if reversible(&e.event_type) {
                                            a href={ "/reversals/new?event=" (e.position) } { "Reverse" span class="visually-hidden" { " event " (e.position) } }
                                        } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if p.more {
                p class="body" {
                    a href={ "/history?" (asked.query(p.entries.last().map(|e| e.position))) } { "Next " (PAGE) " events" }
                }
            }
        }
    }
}

/// Exactly the events the page with the same filters shows, as CSV.
pub async fn csv<S: EventStore + 'static>(
    State(state): State<WebState<S>>,
    headers: HeaderMap,
    Query(params): Query<HistoryParams>,
) -> Response {
    let viewer = match viewer(&state, &headers, false) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let filter = match cleaned(params).filter() {
        Ok(f) => f,
        Err(problem) => return problem.into_response(),
    };
    let page = match read(&state, viewer.caller.clone(), filter).await {
        Ok(p) => p,
        Err(e) => return error_page(&viewer, &e),
    };
    match to_csv(&page.entries) {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"history.csv\"",
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(e) => error_page(
            &viewer,
            &grant_ledger_projections::LedgerError::Reported {
                kind: grant_ledger_projections::ErrorKind::Unavailable,
                message: format!("the CSV could not be written: {e}"),
            },
        ),
    }
}

fn to_csv(entries: &[HistoryEntry]) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "position",
        "type",
        "region",
        "amount",
        "actor",
        "effective_date",
        "recorded_at",
        "hash",
    ])?;
    for e in entries {
        let amount = e.data.get("amount").and_then(|a| a.as_str()).unwrap_or("");
        out.write_record([
            e.position.to_string().as_str(),
            &e.event_type,
            region(e),
            amount,
            &e.actor,
            &e.effective_date.to_string(),
            &e.recorded_at.to_rfc3339(),
            &e.hash,
        ])?;
    }
    out.into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_page_keeps_the_filters_and_starts_after_the_last_position() {
        let asked = Asked {
            region: "South West".into(),
            since: "2024-09-01".into(),
            ..Asked::default()
        };
        assert_eq!(
            asked.query(Some(50)),
            "region=South%20West&since=2024-09-01&after=50"
        );
    }

    #[test]
    fn a_filter_error_is_put_on_its_field() {
        assert_eq!(
            field_of("since \"x\" is not a date in the form YYYY-MM-DD"),
            "since"
        );
        assert_eq!(field_of("type \"x\" is not an event type"), "type");
    }

    #[test]
    fn only_money_events_are_offered_for_reversal() {
        assert!(reversible("PaymentIssued") && reversible("FundsSpent"));
        assert!(!reversible("DeterminationMade") && !reversible("EventReversed"));
    }

    #[test]
    fn empty_form_fields_mean_any() {
        let p = cleaned(HistoryParams {
            region: Some(" ".into()),
            ..HistoryParams::default()
        });
        assert!(p.region.is_none());
    }
}
