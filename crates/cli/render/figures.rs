//! The tables of figures: balances, deadlines with their instalments, and the spend
//! report.

use grant_ledger_projections::{BalanceRow, DeadlineRow, SpendReportBy, SpendReportRow};

use super::sum;
use crate::output::{Cell, Report};

pub fn balances(rows: &[BalanceRow]) -> Report {
    let mut report = Report::new([
        "determination",
        "region",
        "lead_authority",
        "determined",
        "paid",
        "recovered",
        "spent",
        "unpaid",
        "unspent",
        "status",
        "paid_on",
        // Added last, so that a script reading the older columns by position still finds them.
        "outstanding",
        "instalments_paid",
        // The contract fixes the status values, so a withdrawal is said in a column of its
        // own (the day it was withdrawn), last for the same reason as the two before it.
        "withdrawn",
    ]);
    for r in rows {
        report.push(vec![
            Cell::text(&r.determination),
            Cell::text(&r.region),
            Cell::text(&r.lead_authority),
            Cell::Money(r.determined),
            Cell::Money(r.paid),
            Cell::Money(r.recovered),
            Cell::Money(r.spent),
            Cell::Money(r.unpaid),
            Cell::Money(r.unspent),
            Cell::text(r.status.as_str()),
            r.paid_on.map_or(Cell::Null, Cell::Date),
            Cell::Money(r.outstanding),
            Cell::Int(i64::from(r.instalments_paid)),
            r.withdrawn.map_or(Cell::Null, Cell::Date),
        ]);
    }
    report.totals = Some(vec![
        Cell::text("Total"),
        Cell::Null,
        Cell::Null,
        Cell::Money(sum(rows.iter().map(|r| r.determined))),
        Cell::Money(sum(rows.iter().map(|r| r.paid))),
        Cell::Money(sum(rows.iter().map(|r| r.recovered))),
        Cell::Money(sum(rows.iter().map(|r| r.spent))),
        Cell::Money(sum(rows.iter().map(|r| r.unpaid))),
        Cell::Money(sum(rows.iter().map(|r| r.unspent))),
        Cell::Null,
        Cell::Null,
        Cell::Money(sum(rows.iter().map(|r| r.outstanding))),
        Cell::Null,
        Cell::Null,
    ]);
    report
}

pub fn deadlines(rows: &[DeadlineRow]) -> Report {
    let mut report = Report::new([
        "determination",
        "region",
        "deadline",
        "status",
        "days_left",
        "outstanding",
        "instalments_paid",
    ]);
    for r in rows {
        report.push(vec![
            Cell::text(&r.determination),
            Cell::text(&r.region),
            Cell::Date(r.deadline),
            Cell::text(r.status.as_str()),
            r.days_left.map_or(Cell::Null, Cell::Int),
            Cell::Money(r.outstanding),
            Cell::Int(i64::from(r.instalments_paid)),
        ]);
    }
    report
}

/// Each scheduled instalment of `rows`, for the table under `deadlines`; `None` when no
/// row's determination has a schedule.
pub fn instalments(rows: &[DeadlineRow]) -> Option<Report> {
    let mut report = Report::new([
        "determination",
        "region",
        "instalment",
        "due",
        "amount",
        "outstanding",
    ]);
    let mut any = false;
    for r in rows {
        for i in &r.schedule {
            any = true;
            report.push(vec![
                Cell::text(&r.determination),
                Cell::text(&r.region),
                Cell::Int(i64::from(i.instalment)),
                Cell::Date(i.due),
                Cell::Money(i.amount),
                Cell::Money(i.outstanding),
            ]);
        }
    }
    any.then_some(report)
}

pub fn spend_report(by: SpendReportBy, rows: &[SpendReportRow]) -> Report {
    let mut report = Report::new([
        "determination",
        "region",
        by.as_str(),
        "budget",
        "spent",
        "remaining",
        // Last, so that a script reading the older columns by position still finds them.
        "recovered",
    ]);
    for r in rows {
        let name = r
            .purpose
            .as_deref()
            .or(r.authority.as_deref())
            .or(r.line.label());
        report.push(vec![
            Cell::text(&r.determination),
            Cell::text(&r.region),
            Cell::opt_text(name),
            Cell::Money(r.budget),
            Cell::Money(r.spent),
            Cell::Money(r.remaining),
            Cell::Money(r.recovered),
        ]);
    }
    report.totals = Some(vec![
        Cell::text("Total"),
        Cell::Null,
        Cell::Null,
        Cell::Money(sum(rows.iter().map(|r| r.budget))),
        Cell::Money(sum(rows.iter().map(|r| r.spent))),
        Cell::Money(sum(rows.iter().map(|r| r.remaining))),
        Cell::Money(sum(rows.iter().map(|r| r.recovered))),
    ]);
    report
}
