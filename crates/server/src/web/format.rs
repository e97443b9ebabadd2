//! How the pages word figures: dates as GOV.UK writes them ("30 August 2024"), money with
//! the domain's own `Display` (£ and separators), days left in words. Kept in one place so
//! every page and the CSV download say the same.

use chrono::{DateTime, NaiveDate, Utc};
use grant_ledger_domain::Money;

/// "30 August 2024": the GOV.UK style, no leading zero, month in full.
pub fn date(d: NaiveDate) -> String {
    d.format("%-d %B %Y").to_string()
}

/// "30 August 2024 at 14:05 UTC": when something was recorded.
pub fn time(t: DateTime<Utc>) -> String {
    t.format("%-d %B %Y at %H:%M UTC").to_string()
}

/// The domain's form: `£318,000.00`, `-£5.00`.
pub fn money(m: Money) -> String {
    m.to_string()
}

/// "12 days left", "due today", "3 days overdue".
pub fn days_left(days: i64) -> String {
    match days {
        0 => "due today".to_string(),
        1 => "1 day left".to_string(),
        -1 => "1 day overdue".to_string(),
        d if d > 0 => format!("{d} days left"),
        d => format!("{} days overdue", d.unsigned_abs()),
    }
}

/// A sum for display; saturates rather than fails (figures on record are bounded).
pub fn sum(amounts: impl IntoIterator<Item = Money>) -> Money {
    amounts.into_iter().fold(Money::ZERO, |total, amount| {
        total.checked_add(amount).unwrap_or(Money::MAX)
    })
}

/// A pound figure as a float, for drawing only (never for sums).
pub fn pounds(m: Money) -> f64 {
    m.amount().to_string().parse::<f64>().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_gov_uk_writes_them() {
        let d = NaiveDate::from_ymd_opt(2024, 8, 30).unwrap_or_default();
        assert_eq!(date(d), "30 August 2024");
        let d = NaiveDate::from_ymd_opt(2024, 9, 3).unwrap_or_default();
        assert_eq!(date(d), "3 September 2024");
    }

    #[test]
    fn money_has_a_pound_sign_and_separators() {
        let m = Money::parse("1234567.5").unwrap_or(Money::ZERO);
        assert_eq!(money(m), "£1,234,567.50");
    }

    #[test]
    fn days_left_reads_in_words_either_side_of_the_deadline() {
        assert_eq!(days_left(12), "12 days left");
        assert_eq!(days_left(0), "due today");
        assert_eq!(days_left(-3), "3 days overdue");
    }

    #[test]
    fn a_sum_saturates_instead_of_failing() {
        assert_eq!(sum([Money::MAX, Money::MAX]), Money::MAX);
    }
}
