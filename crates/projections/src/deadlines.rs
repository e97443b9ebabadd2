//! `deadlines`: where each allocation stands on a day against when it is due. Without a
//! schedule that is the determination's one payment deadline; with one, each instalment
//! is judged against its own due date, payments counted towards the instalments in
//! order, and the row's deadline is that of the first instalment not yet paid in full.
//! An allocation withdrawn by the day has no row (the caller leaves it out).

use chrono::NaiveDate;
use grant_ledger_domain::{Determination, Money};

use crate::balances::AllocationBalance;
use crate::money_ops::{minus, plus};
use crate::rows::{DeadlineRow, DeadlineStatus, InstalmentRow};

/// One allocation's row on `today`; payments dated after it have not happened yet.
pub(crate) fn deadline_row(
    d: &Determination,
    allocation: &AllocationBalance,
    today: NaiveDate,
) -> DeadlineRow {
    let counted: Vec<_> = allocation
        .payments
        .iter()
        .filter(|p| p.date <= today)
        .collect();
    let paid = counted
        .iter()
        .fold(Money::ZERO, |sum, p| plus(sum, p.amount));
    // A variation dated after `today` had not happened yet on that day.
    let determined = allocation.determined_on(today);
    let schedule = instalments(d, allocation, today, paid);
    let deadline = schedule
        .iter()
        .find(|i| i.outstanding.is_positive())
        .or(schedule.last())
        .map_or(d.payment_deadline, |i| i.due);
    let (status, days_left) = match allocation.paid_by(today) {
        Some(false) => (DeadlineStatus::Paid, None),
        Some(true) => (DeadlineStatus::PaidLate, None),
        None if today <= deadline => (DeadlineStatus::Due, Some((deadline - today).num_days())),
        None => (DeadlineStatus::Overdue, Some((deadline - today).num_days())),
    };
    DeadlineRow {
        determination: d.id.clone(),
        region: allocation.region.clone(),
        deadline,
        status,
        days_left,
        // Rows are made only for allocations not withdrawn by `today`.
        outstanding: minus(determined, paid),
        instalments_paid: u32::try_from(counted.len()).unwrap_or(u32::MAX),
        schedule,
    }
}

/// Each scheduled instalment of an allocation on `today`, with `paid` counted towards them
/// in order. What each comes to is the domain's rule: a variation dated by `today` changes
/// only the instalments due on or after it.
fn instalments(
    d: &Determination,
    allocation: &AllocationBalance,
    today: NaiveDate,
    paid: Money,
) -> Vec<InstalmentRow> {
    let mut before = Money::ZERO;
    let varied = allocation
        .variations
        .iter()
        .filter(|v| v.date <= today)
        .map(|v| (v.date, v.amount));
    d.instalments_as_varied(&allocation.region, varied)
        .into_iter()
        .zip(&d.schedule)
        .enumerate()
        .map(|(index, (amount, instalment))| {
            let towards = minus(paid, before).max(Money::ZERO).min(amount);
            before = plus(before, amount);
            InstalmentRow {
                instalment: u32::try_from(index + 1).unwrap_or(u32::MAX),
                due: instalment.due,
                amount,
                outstanding: minus(amount, towards),
            }
        })
        .collect()
}
