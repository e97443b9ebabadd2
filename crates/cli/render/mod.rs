//! How each kind of row looks in a table or CSV file, one module per family of tables;
//! this one holds what they share: sums and moments as people read them.

mod check;
mod determination;
mod events;
mod figures;

pub use check::{strict_outcome, write_check};
pub use determination::{allocations, components};
pub use events::{
    history_csv_row, history_csv_writer, history_report, history_row, write_event_summary,
    HISTORY_TABLE_PAGE,
};
pub use figures::{balances, deadlines, instalments, spend_report};

use grant_ledger_domain::Money;

/// A sum for display; saturates rather than fails (figures on record are bounded).
pub fn sum(amounts: impl IntoIterator<Item = Money>) -> Money {
    amounts.into_iter().fold(Money::ZERO, |total, amount| {
        total.checked_add(amount).unwrap_or(Money::MAX)
    })
}

/// A moment for people, to the second, in UTC (and saying so).
pub fn timestamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}
