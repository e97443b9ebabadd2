//! The pages that read: the overview of each determination, deadlines, one region, the
//! determination check and integrity. Each asks the typed API for exactly what the
//! matching command prints and lays it out; figures are never recomputed here beyond
//! adding up a column for its total row.
//!
//! - [`overview`]: the overview and deadlines;
//! - [`region`]: one region's page;
//! - [`check`]: the determination check and integrity.
//!
//! This module holds what they share: links, tags and summary-list rows.

pub mod check;
pub mod overview;
pub mod region;

pub use check::{check, integrity};
pub use overview::{deadlines, overview};
pub use region::{chosen, region, DeterminationParam};

use chrono::NaiveDate;
use grant_ledger_domain::{region_slug, Money};
use grant_ledger_projections::{BalanceStatus, DeadlineStatus};
use maud::{html, Markup};

use super::format::money;
use super::layout::tag;

/// Today by the server's clock, as the JSON `deadlines` defaults it.
pub(crate) fn today() -> NaiveDate {
    grant_ledger_projections::input::today()
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

pub(crate) fn balance_tag(status: BalanceStatus) -> Markup {
    match status {
        BalanceStatus::Unpaid => tag("Unpaid", "tag--grey"),
        BalanceStatus::Paid => tag("Paid", "tag--green"),
        BalanceStatus::PaidLate => tag("Paid late", "tag--yellow"),
    }
}

pub(crate) fn deadline_tag(status: DeadlineStatus) -> Markup {
    match status {
        DeadlineStatus::Paid => tag("Paid", "tag--green"),
        DeadlineStatus::PaidLate => tag("Paid late", "tag--yellow"),
        DeadlineStatus::Due => tag("Due", "tag--grey"),
        DeadlineStatus::Overdue => tag("Overdue", "tag--red"),
    }
}

pub(crate) fn num(m: Money) -> Markup {
    html! { td class="numeric" { (money(m)) } }
}

pub(crate) fn summary_row(key: &str, value: Markup) -> Markup {
    html! {
        div class="summary-list__row" {
            dt class="summary-list__key" { (key) }
            dd class="summary-list__value" { (value) }
        }
    }
}

/// A summary list row of money: right-aligned, as in the tables.
pub(crate) fn money_row(key: &str, m: Money) -> Markup {
    html! {
        div class="summary-list__row" {
            dt class="summary-list__key" { (key) }
            dd class="summary-list__value numeric" { (money(m)) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check::signed;
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
