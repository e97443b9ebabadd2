//! The overview of each determination (totals, the deadline, a chart and the table of
//! regions) and every allocation against its deadline.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::NaiveDate;
use grant_ledger_projections::{
    Api, BalanceRow, BalanceStatus, BalancesQuery, DeadlineRow, DeadlinesQuery,
    DeterminationSummary,
};
use grant_ledger_store::EventStore;
use maud::{html, Markup};

use super::{balance_tag, deadline_tag, money_row, num, region_href, summary_row, today};
use crate::web::chart::{self, Group, Series};
use crate::web::format::{self, date, money, pounds, sum};
use crate::web::layout::{self, raw, tag};
use crate::web::{blocking, error_page, viewer, WebState};

// ---------------------------------------------------------------- overview

struct Overview {
    summary: DeterminationSummary,
    rows: Vec<BalanceRow>,
}

/// Each determination: totals, the deadline, a chart and a table by region.
pub async fn overview<S: EventStore + 'static>(
    State(state): State<WebState<S>>,
    headers: HeaderMap,
) -> Response {
    let viewer = match viewer(&state, &headers, false) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let read = blocking(&state, viewer.caller.clone(), |s| {
        s.determinations()?
            .into_iter()
            .map(|summary| {
                let rows = s.balances(&BalancesQuery {
                    determination: Some(summary.id.clone()),
                    ..BalancesQuery::default()
                })?;
                Ok(Overview { summary, rows })
            })
            .collect::<Result<Vec<_>, _>>()
    })
    .await;
    let overviews = match read {
        Ok(o) => o,
        Err(e) => return error_page(&viewer, &e),
    };
    let today = today();
    let body = html! {
        @if overviews.is_empty() {
            p class="body" { "No determination has been imported yet. An administrator imports one with grant-ledger determination import." }
        }
        @for (i, o) in overviews.iter().enumerate() {
            (overview_section(i, o, today))
        }
    };
    layout::page(
        StatusCode::OK,
        "Overview",
        Some(&viewer.chrome()),
        &[],
        body,
    )
}

fn overview_section(index: usize, o: &Overview, today: NaiveDate) -> Markup {
    let d = &o.summary;
    let rows = &o.rows;
    let all_paid = rows.iter().all(|r| r.status != BalanceStatus::Unpaid);
    let days = (d.payment_deadline - today).num_days();
    let groups: Vec<Group> = rows
        .iter()
        .map(|r| Group {
            label: r.region.clone(),
            values: vec![
                (pounds(r.paid), money(r.paid)),
                (pounds(r.spent), money(r.spent)),
                (pounds(r.unspent), money(r.unspent)),
            ],
        })
        .collect();
    let svg = chart::bars(
        &format!("overview-chart-{index}"),
        &format!("Paid, spent and unspent by region, determination {}", d.id),
        &[
            Series {
                name: "Paid",
                class: "bar-paid",
            },
            Series {
                name: "Spent",
                class: "bar-spent",
            },
            Series {
                name: "Unspent",
                class: "bar-unspent",
            },
        ],
        &groups,
    );
    html! {
        section aria-labelledby={ "determination-" (index) } {
            h2 class="heading-m" id={ "determination-" (index) } {
                span class="caption" { "Determination " (d.id) ", " (d.financial_year) }
                (d.title)
            }
            dl class="summary-list" {
                (money_row("Determined", sum(rows.iter().map(|r| r.determined))))
                (money_row("Paid", sum(rows.iter().map(|r| r.paid))))
                (money_row("Spent", sum(rows.iter().map(|r| r.spent))))
                (money_row("Unspent", sum(rows.iter().map(|r| r.unspent))))
                (money_row("Unpaid", sum(rows.iter().map(|r| r.unpaid))))
                (summary_row("Payment deadline", html! {
                    (date(d.payment_deadline)) " "
                    @if all_paid { (tag("All paid", "tag--green")) }
                    @else if days < 0 { (tag(&format::days_left(days), "tag--red")) }
                    @else { (tag(&format::days_left(days), "tag--grey")) }
                }))
            }
            (raw(svg))
            div class="table-wrap" {
                table class="table" {
                    caption { "Each region's allocation" }
                    thead { tr {
                        th scope="col" { "Region" }
                        th scope="col" { "Lead authority" }
                        th scope="col" class="numeric" { "Determined" }
                        th scope="col" class="numeric" { "Paid" }
                        th scope="col" class="numeric" { "Spent" }
                        th scope="col" class="numeric" { "Unspent" }
                        th scope="col" class="numeric" { "Unpaid" }
                        th scope="col" { "Status" }
                    } }
                    tbody {
                        @for r in rows {
                            tr {
                                th scope="row" { a href=(region_href(&d.id, &r.region)) { (r.region) } }
                                td { (r.lead_authority) }
                                (num(r.determined)) (num(r.paid)) (num(r.spent)) (num(r.unspent)) (num(r.unpaid))
                                td { (balance_tag(r.status)) }
                            }
                        }
                    }
                    tfoot { tr {
                        th scope="row" { "Total" } td {}
                        (num(sum(rows.iter().map(|r| r.determined))))
                        (num(sum(rows.iter().map(|r| r.paid))))
                        (num(sum(rows.iter().map(|r| r.spent))))
                        (num(sum(rows.iter().map(|r| r.unspent))))
                        (num(sum(rows.iter().map(|r| r.unpaid))))
                        td {}
                    } }
                }
            }
        }
    }
}

// ---------------------------------------------------------------- deadlines

/// Every allocation against its deadline, soonest first.
pub async fn deadlines<S: EventStore + 'static>(
    State(state): State<WebState<S>>,
    headers: HeaderMap,
) -> Response {
    let viewer = match viewer(&state, &headers, false) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let query = DeadlinesQuery {
        determination: None,
        today: today(),
    };
    let mut rows: Vec<DeadlineRow> =
        match blocking(&state, viewer.caller.clone(), move |s| s.deadlines(&query)).await {
            Ok(rows) => rows,
            Err(e) => return error_page(&viewer, &e),
        };
    rows.sort_by_key(|r| r.deadline);
    let body = html! {
        p class="body" { "What is due, overdue, paid and paid late, soonest deadline first. Days are counted to " (date(today())) "." }
        div class="table-wrap" {
            table class="table" {
                caption class="visually-hidden" { "Deadlines" }
                thead { tr {
                    th scope="col" { "Determination" }
                    th scope="col" { "Region" }
                    th scope="col" { "Deadline" }
                    th scope="col" { "Status" }
                    th scope="col" class="numeric" { "Days left" }
                } }
                tbody {
                    @for r in &rows {
                        tr {
                            td { (r.determination) }
                            th scope="row" { a href=(region_href(&r.determination, &r.region)) { (r.region) } }
                            td { (date(r.deadline)) }
                            td { (deadline_tag(r.status)) }
                            td class="numeric" { @if let Some(d) = r.days_left { (format::days_left(d)) } @else { "–" } }
                        }
                    }
                }
            }
        }
    };
    layout::page(
        StatusCode::OK,
        "Deadlines",
        Some(&viewer.chrome()),
        &[],
        body,
    )
}
