//! The pages that read: the overview of each determination, deadlines, one region, the
//! determination check and integrity. Each asks the typed API for exactly what the
//! matching command prints and lays it out; figures are never recomputed here beyond
//! adding up a column for its total row.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::NaiveDate;
use grant_ledger_domain::{region_slug, FormulaCheck, Money};
use grant_ledger_projections::{
    Api, BalanceRow, BalanceStatus, BalancesQuery, DeadlineRow, DeadlineStatus, DeadlinesQuery,
    DeterminationSummary, HistoryEntry, SpendReportQuery, SpendReportRow, VerifySummary,
};
use grant_ledger_store::EventStore;
use maud::{html, Markup};
use serde::Deserialize;

use super::activity::RegionActivity;
use super::chart::{self, Group, Series};
use super::format::{self, date, money, pounds, sum};
use super::layout::{self, raw, tag};
use super::{blocking, error_page, viewer, WebState};

/// Today by the server's clock, as the JSON `deadlines` defaults it.
fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

/// A value for a query string: everything but unreserved characters percent-encoded.
pub fn query_value(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A link to a region's page.
pub fn region_href(determination: &str, region: &str) -> String {
    format!(
        "/regions/{}?determination={}",
        region_slug(region),
        query_value(determination)
    )
}

fn balance_tag(status: BalanceStatus) -> Markup {
    match status {
        BalanceStatus::Unpaid => tag("Unpaid", "tag--grey"),
        BalanceStatus::Paid => tag("Paid", "tag--green"),
        BalanceStatus::PaidLate => tag("Paid late", "tag--yellow"),
    }
}

fn deadline_tag(status: DeadlineStatus) -> Markup {
    match status {
        DeadlineStatus::Paid => tag("Paid", "tag--green"),
        DeadlineStatus::PaidLate => tag("Paid late", "tag--yellow"),
        DeadlineStatus::Due => tag("Due", "tag--grey"),
        DeadlineStatus::Overdue => tag("Overdue", "tag--red"),
    }
}

fn num(m: Money) -> Markup {
    html! { td class="numeric" { (money(m)) } }
}

fn summary_row(key: &str, value: Markup) -> Markup {
    html! {
        div class="summary-list__row" {
            dt class="summary-list__key" { (key) }
            dd class="summary-list__value" { (value) }
        }
    }
}

/// A summary list row of money: right-aligned, as in the tables.
fn money_row(key: &str, m: Money) -> Markup {
    html! {
        div class="summary-list__row" {
            dt class="summary-list__key" { (key) }
            dd class="summary-list__value numeric" { (money(m)) }
        }
    }
}

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
        Some(id) => Ok(s.determination(id.trim())?.id),
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
        let purposes = s.spend_report(&SpendReportQuery {
            determination: determination.clone(),
            region: Some(balance.region.clone()),
        })?;
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
            label: p.purpose.clone(),
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
            (summary_row("Status", html! { (balance_tag(b.status)) @if let Some(on) = b.paid_on { " paid on " (date(on)) } }))
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
                        tr data-purpose=(p.purpose) {
                            th scope="row" { (p.purpose) }
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
fn signed(m: Money) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_determination_id_is_encoded_for_a_query() {
        assert_eq!(query_value("31/7421"), "31%2F7421");
        assert_eq!(
            region_href("31/7421", "South West"),
            "/regions/south-west?determination=31%2F7421"
        );
    }

    #[test]
    fn a_positive_difference_reads_with_a_plus() {
        let m = Money::parse("11400").unwrap_or(Money::ZERO);
        assert_eq!(signed(m), "+£11,400.00");
    }
}
