//! Money: pounds sterling as an exact `Decimal` with two decimal places, the
//! single parser for every input form the CLI contract lists, and the two
//! output forms (plain `318000.00` for JSON/CSV, `£318,000.00` for people).

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::echo::echo;
use crate::limits::MONEY_LIMIT_POUNDS;

/// An amount of pounds, always held at scale 2 so equal amounts compare and
/// hash equal and print identically. Input amounts are strictly positive
/// ([`Money::parse`]); computed figures (differences, balances) may be zero or
/// negative. The absolute value is always below [`MONEY_LIMIT_POUNDS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(Decimal);

/// Why a piece of text or a decimal is not an acceptable amount of money.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amount is empty; give pounds such as 318000 or £318,000.50")]
    Empty,
    #[error("amount \"{0}\" is negative; amounts must be greater than zero")]
    Negative(String),
    #[error("amount \"{0}\" is zero; amounts must be greater than zero")]
    Zero(String),
    #[error("amount \"{0}\" has more than 2 decimal places")]
    TooManyDecimals(String),
    #[error("amount \"{0}\" uses an exponent; write the pounds out in full")]
    Exponent(String),
    #[error("amount \"{0}\" is too large; amounts must be below £1,000,000,000,000")]
    TooLarge(String),
    #[error(
        "amount \"{0}\" has misplaced thousands separators; group digits in threes, as in 318,000"
    )]
    Grouping(String),
    #[error("amount \"{0}\" is not an amount of pounds; give one such as 318000 or £318,000.50")]
    Invalid(String),
}

impl Money {
    /// Nothing.
    pub const ZERO: Money = Money(Decimal::from_parts(0, 0, 0, false, 2));

    /// Parses an amount typed by a person or found in a file: `318000`,
    /// `318000.00`, `318,000`, `£318,000`, `£318,000.50`. Surrounding spaces
    /// are ignored. Refuses empty input, negatives, zero, more than two
    /// decimal places, exponents, misplaced thousands separators, amounts of
    /// £1 trillion or more, and anything else.
    pub fn parse(input: &str) -> Result<Money, MoneyError> {
        let shown = echo(input);
        let text = input.trim();
        if text.is_empty() {
            return Err(MoneyError::Empty);
        }
        if text.starts_with('-') || text.starts_with("£-") || text.starts_with("-£") {
            return Err(MoneyError::Negative(shown));
        }
        let text = text.strip_prefix('£').unwrap_or(text);
        if text.contains(['e', 'E'])
            && text
                .chars()
                .all(|c| c.is_ascii_digit() || ".,eE+-".contains(c))
        {
            return Err(MoneyError::Exponent(shown));
        }
        let (whole, fraction) = match text.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (text, None),
        };
        if let Some(fraction) = fraction {
            if fraction.is_empty() || !fraction.chars().all(|c| c.is_ascii_digit()) {
                return Err(MoneyError::Invalid(shown));
            }
            if fraction.len() > 2 {
                return Err(MoneyError::TooManyDecimals(shown));
            }
        }
        let digits = ungroup(whole).ok_or_else(|| {
            if whole.contains(',') && whole.chars().all(|c| c.is_ascii_digit() || c == ',') {
                MoneyError::Grouping(shown.clone())
            } else {
                MoneyError::Invalid(shown.clone())
            }
        })?;
        // ".50" and a bare "£" are not among the contract's forms: pounds come first.
        if digits.is_empty() {
            return Err(MoneyError::Invalid(shown));
        }
        // Twelve digits already reach the limit; checking length first keeps
        // the Decimal parse below far from its own overflow.
        let significant = digits.trim_start_matches('0');
        if significant.len() > 12 {
            return Err(MoneyError::TooLarge(shown));
        }
        let canonical = format!("{}.{}", digits, fraction.unwrap_or("0"));
        let amount =
            Decimal::from_str(&canonical).map_err(|_| MoneyError::Invalid(shown.clone()))?;
        let money = Money::from_decimal(amount).map_err(|_| MoneyError::TooLarge(shown.clone()))?;
        if money.is_zero() {
            return Err(MoneyError::Zero(shown));
        }
        Ok(money)
    }

    /// Wraps a computed decimal: at most two decimal places, within the
    /// limit, any sign.
    pub fn from_decimal(amount: Decimal) -> Result<Money, MoneyError> {
        let normalized = amount.normalize();
        if normalized.scale() > 2 {
            return Err(MoneyError::TooManyDecimals(amount.to_string()));
        }
        if normalized.abs() >= Decimal::from(MONEY_LIMIT_POUNDS) {
            return Err(MoneyError::TooLarge(amount.to_string()));
        }
        let mut scaled = normalized;
        scaled.rescale(2);
        // -0.00 and 0.00 must be the same amount.
        if scaled.is_zero() {
            return Ok(Money::ZERO);
        }
        Ok(Money(scaled))
    }

    /// Whole pounds, for tests and constants. Fails beyond the limit.
    pub fn from_pounds(pounds: i64) -> Result<Money, MoneyError> {
        Money::from_decimal(Decimal::from(pounds))
    }

    /// The exact amount in pounds, at scale 2.
    pub fn amount(self) -> Decimal {
        self.0
    }

    /// The form for JSON and CSV: `318000.00`, `-5.00`.
    pub fn plain(self) -> String {
        self.0.to_string()
    }

    /// Sum, or `None` if it would reach the limit.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        Money::from_decimal(self.0.checked_add(other.0)?).ok()
    }

    /// Difference, or `None` if it would reach the limit.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        Money::from_decimal(self.0.checked_sub(other.0)?).ok()
    }

    /// Sum clamped to the limit, for folding events already on record: a
    /// stored fact must always fold, even if it was written by a faulty tool.
    pub(crate) fn saturating_add(self, other: Money) -> Money {
        self.checked_add(other).unwrap_or_else(|| {
            if other.is_negative() {
                Money::MIN
            } else {
                Money::MAX
            }
        })
    }

    /// Difference clamped to the limit; see [`Money::saturating_add`].
    pub(crate) fn saturating_sub(self, other: Money) -> Money {
        self.checked_sub(other).unwrap_or_else(|| {
            if other.is_negative() {
                Money::MAX
            } else {
                Money::MIN
            }
        })
    }

    /// The largest representable amount, £999,999,999,999.99.
    pub const MAX: Money = Money(Decimal::from_parts(0x107A_3FFF, 0x5AF3, 0, false, 2));
    /// The most negative representable amount.
    pub const MIN: Money = Money(Decimal::from_parts(0x107A_3FFF, 0x5AF3, 0, true, 2));

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    pub fn is_positive(self) -> bool {
        self.0.is_sign_positive() && !self.0.is_zero()
    }
}

/// The digits of a whole-pounds part, either ungrouped (`318000`) or grouped
/// in threes (`318,000`, `1,318,000`); `None` for anything else.
fn ungroup(whole: &str) -> Option<String> {
    if whole.is_empty() {
        // The caller refuses this: ".50" is not one of the contract's forms.
        return Some(String::new());
    }
    if !whole.contains(',') {
        return whole
            .chars()
            .all(|c| c.is_ascii_digit())
            .then(|| whole.to_string());
    }
    let mut groups = whole.split(',');
    let first = groups.next()?;
    if first.is_empty()
        || first.len() > 3
        || !first.chars().all(|c| c.is_ascii_digit())
        || first.starts_with('0')
    {
        return None;
    }
    let mut digits = first.to_string();
    for group in groups {
        if group.len() != 3 || !group.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        digits.push_str(group);
    }
    Some(digits)
}

impl Default for Money {
    /// [`Money::ZERO`]; written out because a derived default would be a
    /// scale-0 zero that prints as `0` rather than `0.00`.
    fn default() -> Money {
        Money::ZERO
    }
}

impl fmt::Display for Money {
    /// The form for tables and messages: `£318,000.00`, `-£5.00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plain = self.0.abs().to_string();
        let (whole, fraction) = plain.split_once('.').unwrap_or((plain.as_str(), "00"));
        let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
        for (i, digit) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        let sign = if self.is_negative() { "-" } else { "" };
        write!(f, "{sign}£{grouped}.{fraction}")
    }
}

impl FromStr for Money {
    type Err = MoneyError;

    fn from_str(input: &str) -> Result<Money, MoneyError> {
        Money::parse(input)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.plain())
    }
}

impl<'de> Deserialize<'de> for Money {
    /// Only the plain form `-?digits.dd` is accepted: stored data is written
    /// by [`Money::plain`], so anything else means it was not.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Money, D::Error> {
        let text = String::deserialize(deserializer)?;
        let unsigned = text.strip_prefix('-').unwrap_or(&text);
        let well_formed = matches!(unsigned.split_once('.'), Some((whole, fraction))
            if !whole.is_empty()
                && whole.len() <= 12
                && whole.chars().all(|c| c.is_ascii_digit())
                && fraction.len() == 2
                && fraction.chars().all(|c| c.is_ascii_digit()));
        if !well_formed {
            return Err(serde::de::Error::custom(format!(
                "money \"{}\" is not in the stored form such as \"318000.00\"",
                echo(&text)
            )));
        }
        let amount = Decimal::from_str(&text).map_err(serde::de::Error::custom)?;
        Money::from_decimal(amount).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Found by fuzzing (fuzz/ target money): the refused input was echoed raw, so a
    // newline in it split the one-sentence message over two lines.
    #[test]
    fn a_refusal_echoes_control_characters_escaped_on_one_line() {
        let message = Money::parse("12.3\0\0\n\0").unwrap_err().to_string();
        assert!(
            !message.contains('\n') && !message.contains('\0'),
            "{message:?}"
        );
        assert!(message.contains(r#""12.3\0\0\n\0""#), "{message:?}");
    }
}
