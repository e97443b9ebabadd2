//! The determination check (the formula against Annex A) and integrity (`verify`).

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use grant_ledger_domain::{FormulaCheck, Money};
use grant_ledger_projections::{Api, VerifySummary};
use grant_ledger_store::EventStore;
use maud::{html, Markup};

use super::region::{chosen, DeterminationParam};
use super::{num, summary_row};
use crate::web::format::money;
use crate::web::layout::{self, tag};
use crate::web::{blocking, error_page, viewer, WebState};

// ---------------------------------------------------------------- check

/// The formula against Annex A: the region that does not reconcile highlighted, the
/// workings that do not multiply out, the lead authorities the register names otherwise.
pub async fn check<S: EventStore + 'static>(
    State(state): State<WebState<S>>,
    headers: HeaderMap,
    Query(params): Query<DeterminationParam>,
) -> Response {
    let viewer = match viewer(&state, &headers, false) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let read = blocking(&state, viewer.caller.clone(), move |s| {
        let id = chosen(s, params.determination)?;
        let check = s.check(&id)?;
        Ok((id, check))
    })
    .await;
    let (id, check) = match read {
        Ok(v) => v,
        Err(e) => return error_page(&viewer, &e),
    };
    let body = check_body(&id, &check);
    layout::page(
        StatusCode::OK,
        "Determination check",
        Some(&viewer.chrome()),
        &[],
        body,
    )
}

/// A difference with its sign, so "+£11,400.00" reads as more than the formula.
pub(crate) fn signed(m: Money) -> String {
    if m.is_positive() {
        format!("+{m}")
    } else {
        m.to_string()
    }
}

fn check_body(id: &str, check: &FormulaCheck) -> Markup {
    let differing: Vec<_> = check
        .regions
        .iter()
        .filter(|r| !r.difference.is_zero())
        .collect();
    let renamed: Vec<_> = check.renamed().collect();
    html! {
        p class="body" { "Each region's allocation in determination " (id) " recomputed from the formula's components, against what was determined." }
        @if differing.is_empty() { p class="body" { "Every allocation equals its formula." } }
        @for r in &differing {
            p class="body" { strong { (r.region) } ": the formula gives " (money(r.formula)) " but " (money(r.determined)) " was determined, a difference of " strong { (signed(r.difference)) } "." }
        }
        div class="table-wrap" {
            table class="table" {
                caption class="visually-hidden" { "Formula against determined, by region" }
                thead { tr {
                    th scope="col" { "Region" }
                    th scope="col" class="numeric" { "Authorities" }
                    th scope="col" class="numeric" { "Formula" }
                    th scope="col" class="numeric" { "Determined" }
                    th scope="col" class="numeric" { "Difference" }
                    th scope="col" { "Result" }
                } }
                tbody {
                    @for r in &check.regions {
                        tr class=[(!r.difference.is_zero()).then_some("highlight")] {
                            th scope="row" { (r.region) }
                            td class="numeric" { (r.authorities) }
                            (num(r.formula)) (num(r.determined))
                            td class="numeric" { (signed(r.difference)) }
                            td { @if r.difference.is_zero() { (tag("Reconciles", "tag--green")) } @else { (tag("Does not reconcile", "tag--red")) } }
                        }
                    }
                }
            }
        }
        h2 class="heading-m" { "Stated workings" }
        @if check.workings.is_empty() { p class="body" { "Every stated working equals its amount." } }
        @else {
            p class="body" { "Stated workings that do not equal their amount:" }
            div class="table-wrap" {
                table class="table" {
                    caption class="visually-hidden" { "Stated workings that do not equal their amount" }
                    thead { tr {
                        th scope="col" { "Purpose" }
                        th scope="col" { "Working" }
                        th scope="col" class="numeric" { "Working gives" }
                        th scope="col" class="numeric" { "Amount" }
                        th scope="col" class="numeric" { "Difference" }
                    } }
                    tbody {
                        @for w in &check.workings {
                            tr class="highlight" {
                                th scope="row" { (w.purpose) }
                                td { (w.working) }
                                (num(w.working_amount)) (num(w.amount))
                                td class="numeric" { (signed(w.difference)) }
                            }
                        }
                    }
                }
            }
        }
        h2 class="heading-m" { "Names against the register" }
        @if renamed.is_empty() { p class="body" { "Every lead authority is named as the register names it." } }
        @else {
            div class="table-wrap" {
                table class="table" {
                    caption class="visually-hidden" { "Lead authorities the register names otherwise" }
                    thead { tr {
                        th scope="col" { "Region" }
                        th scope="col" { "The determination names" }
                        th scope="col" { "The register names" }
                        th scope="col" { "Org id" }
                    } }
                    tbody {
                        @for (region, n) in &renamed {
                            tr { th scope="row" { (region) } td { (n.lead_authority) } td { (n.official_name) } td { (n.org_id) } }
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------- integrity

/// The result of `verify`: the chain and every stored model checked against a replay.
pub async fn integrity<S: EventStore + 'static>(
    State(state): State<WebState<S>>,
    headers: HeaderMap,
) -> Response {
    let viewer = match viewer(&state, &headers, false) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let result: Result<VerifySummary, _> =
        blocking(&state, viewer.caller.clone(), |s| s.verify()).await;
    let body = match &result {
        Ok(v) => html! {
            dl class="summary-list" {
                (summary_row("Result", tag("Verified", "tag--green")))
                (summary_row("Events checked", html! { (v.events) }))
                (summary_row("Head position", html! { (v.head_position) }))
                (summary_row("Head hash", html! { span class="mono" { (v.head_hash) } }))
                (summary_row("Read models compared with a replay", html! { (v.models) }))
            }
            p class="body" { "Every event's hash chains to the one before it, and every figure on these pages equals a fresh replay of the log." }
        },
        Err(e) => html! {
            dl class="summary-list" {
                (summary_row("Result", tag("Failed", "tag--red")))
            }
            p class="body" { (e.to_string()) }
        },
    };
    let status = match &result {
        Ok(_) => StatusCode::OK,
        Err(e) => crate::problem::status_of(e.kind()),
    };
    layout::page(status, "Integrity", Some(&viewer.chrome()), &[], body)
}
