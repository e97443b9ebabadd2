//! One region: spend by purpose against its formula budget (chart and table), spend by
//! authority, and its payments, recoveries and reversals.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use grant_ledger_domain::{region_slug, Money};
use grant_ledger_projections::{
    Api, BalanceRow, BalanceStatus, BalancesQuery, HistoryEntry, SpendLine, SpendReportQuery,
    SpendReportRow,
};
use grant_ledger_store::EventStore;
use maud::{html, Markup};
use serde::Deserialize;

use super::{balance_tag, money_row, num, query_value, summary_row};
use crate::web::activity::RegionActivity;
use crate::web::chart::{self, Group, Series};
use crate::web::format::{date, money, pounds, sum};
use crate::web::layout::{self, raw};
use crate::web::{blocking, error_page, viewer, WebState};

// ---------------------------------------------------------------- a region

#[derive(Deserialize, Default)]
pub struct DeterminationParam {
    pub determination: Option<String>,
}

struct RegionView {
    determination: String,
    balance: BalanceRow,
    purposes: Vec<SpendReportRow>,
    /// `None` while the history is still being read after a start.
    activity: Option<RegionActivity>,
}

/// The determination a page is about: the one asked for, or the first on record.
pub fn chosen(
    s: &dyn Api,
    asked: Option<String>,
) -> Result<String, grant_ledger_projections::LedgerError> {
    match asked.filter(|d| !d.trim().is_empty()) {
        Some(id) => Ok(s.determination(id.trim())?.determination.id),
        None => match s.determinations()?.into_iter().next() {
            Some(d) => Ok(d.id),
            None => Err(grant_ledger_projections::LedgerError::NotFound(
                "no determination has been imported yet".into(),
            )),
        },
    }
}

/// One region: spend by purpose against its budget, by authority, and its money events.
pub async fn region<S: EventStore + 'static>(
    State(state): State<WebState<S>>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Query(params): Query<DeterminationParam>,
) -> Response {
    let viewer = match viewer(&state, &headers, false) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let activity = std::sync::Arc::clone(&state.activity);
    let read = blocking(&state, viewer.caller.clone(), move |s| {
        let determination = chosen(s, params.determination)?;
        let balance = s
            .balances(&BalancesQuery {
                determination: Some(determination.clone()),
                region: Some(slug.clone()),
                as_of: None,
            })?
            .into_iter()
            .next()
            .ok_or_else(|| {
                grant_ledger_projections::LedgerError::NotFound(format!(
                    "there is no region {slug} in {determination}"
                ))
            })?;
        // The page charts purposes; the region's other lines are in its figures above.
        let purposes = s
            .spend_report(&SpendReportQuery::of(&determination, Some(&balance.region)))?
            .into_iter()
            .filter(|r| r.line == SpendLine::Purpose)
            .collect();
        let activity = activity.region(s, &determination, &balance.region)?;
        Ok(RegionView {
            determination,
            balance,
            purposes,
            activity,
        })
    })
    .await;
    let view = match read {
        Ok(v) => v,
        Err(e) => return error_page(&viewer, &e),
    };
    let own = layout::spend_region(viewer.caller.role.as_ref())
        == Some(region_slug(&view.balance.region).as_str());
    let finance = layout::may_move_money(viewer.caller.role.as_ref());
    let title = view.balance.region.clone();
    let body = region_body(&view, own, finance);
    layout::page(StatusCode::OK, &title, Some(&viewer.chrome()), &[], body)
}

fn region_body(v: &RegionView, own: bool, finance: bool) -> Markup {
    let b = &v.balance;
    let groups: Vec<Group> = v
        .purposes
        .iter()
        .map(|p| Group {
            label: p.purpose.clone().unwrap_or_default(),
            values: vec![
                (pounds(p.budget), money(p.budget)),
                (pounds(p.spent), money(p.spent)),
            ],
        })
        .collect();
    let svg = chart::bars(
        "purpose-chart",
        &format!("Spend by purpose against the formula budget, {}", b.region),
        &[
            Series {
                name: "Budget",
                class: "bar-budget",
            },
            Series {
                name: "Spent",
                class: "bar-spent",
            },
        ],
        &groups,
    );
    let spend_href = format!(
        "/spends/new?determination={}",
        query_value(&v.determination)
    );
    let pay_href = format!(
        "/payments/new?determination={}&region={}",
        query_value(&v.determination),
        region_slug(&b.region)
    );
    html! {
        span class="caption" { "Determination " (v.determination) ", lead authority " (b.lead_authority) }
        dl class="summary-list" {
            (money_row("Determined", b.determined))
            (money_row("Paid", b.paid))
            (summary_row("Status", html! { (balance_tag(b.status)) @if let Some(on) = b.paid_on { " on " (date(on)) } }))
            (money_row("Recovered", b.recovered))
            (money_row("Spent", b.spent))
            (money_row("Unspent", b.unspent))
            (money_row("Unpaid", b.unpaid))
        }
        @if own { p class="body" { a href=(spend_href) class="button" { "Record spend for " (b.region) } } }
        @if finance && b.status == BalanceStatus::Unpaid { p class="body" { a href=(pay_href) class="button" { "Record a payment to " (b.region) } } }
        h2 class="heading-m" { "Spend by purpose" }
        (raw(svg))
        div class="table-wrap" {
            table class="table" id="purposes" {
                caption class="visually-hidden" { "Spend by purpose against the formula budget" }
                thead { tr {
                    th scope="col" { "Purpose" }
                    th scope="col" class="numeric" { "Budget" }
                    th scope="col" class="numeric" { "Spent" }
                    th scope="col" class="numeric" { "Remaining" }
                } }
                tbody {
                    @for p in &v.purposes {
                        tr data-purpose=(p.purpose.as_deref().unwrap_or_default()) {
                            th scope="row" { (p.purpose.as_deref().unwrap_or_default()) }
                            (num(p.budget)) (num(p.spent))
                            td class="numeric remaining" { (money(p.remaining)) }
                        }
                    }
                }
                tfoot { tr {
                    th scope="row" { "Total" }
                    (num(sum(v.purposes.iter().map(|p| p.budget))))
                    (num(sum(v.purposes.iter().map(|p| p.spent))))
                    (num(sum(v.purposes.iter().map(|p| p.remaining))))
                } }
            }
        }
        @match &v.activity {
            None => {
                h2 class="heading-m" { "Spend by authority, payments, recoveries and reversals" }
                p class="body" { "The server is still reading the ledger's history since it started. Reload this page in a moment to see them." }
            }
            Some(activity) => { (activity_body(activity)) }
        }
        p class="body" { a href={ "/history?region=" (region_slug(&b.region)) } { "All of this region's history" } }
    }
}

fn activity_body(activity: &RegionActivity) -> Markup {
    html! {
        h2 class="heading-m" { "Spend by authority" }
        @if activity.by_authority.is_empty() { p class="body" { "No spend has been recorded for this region." } }
        @else {
            div class="table-wrap" {
                table class="table" {
                    caption class="visually-hidden" { "Spend by authority" }
                    thead { tr { th scope="col" { "Authority" } th scope="col" class="numeric" { "Spent" } } }
                    tbody {
                        @for (authority, spent) in &activity.by_authority {
                            tr { th scope="row" { (authority) } (num(*spent)) }
                        }
                    }
                }
            }
        }
        (events_table("Payments", "No payment has been recorded for this region.", &activity.payments, "reference"))
        (events_table("Recoveries", "No recovery has been recorded for this region.", &activity.recoveries, "reason"))
        (events_table("Reversals", "No event of this region has been reversed.", &activity.reversals, "reason"))
    }
}

fn events_table(title: &str, none: &str, entries: &[HistoryEntry], note: &str) -> Markup {
    html! {
        h2 class="heading-m" { (title) }
        @if entries.is_empty() { p class="body" { (none) } }
        @else {
            div class="table-wrap" {
                table class="table" {
                    caption class="visually-hidden" { (title) }
                    thead { tr {
                        th scope="col" class="numeric" { "Position" }
                        th scope="col" { "Date" }
                        th scope="col" class="numeric" { "Amount" }
                        th scope="col" { "By" }
                        th scope="col" { @if note == "reason" { "Reason" } @else { "Reference" } }
                    } }
                    tbody {
                        @for e in entries {
                            tr {
                                td class="numeric" { (e.position) }
                                td { (date(e.effective_date)) }
                                td class="numeric" { (e.data.get("amount").and_then(|a| a.as_str()).and_then(|a| Money::parse(a).ok()).map(money).unwrap_or_default()) }
                                td { (e.actor) }
                                td { (e.data.get(note).and_then(|n| n.as_str()).unwrap_or("")) }
                            }
                        }
                    }
                }
            }
        }
    }
}
