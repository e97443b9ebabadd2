//! Parsing what people type, wherever they type it (a flag, a CSV cell, a JSON field):
//! dates strictly as YYYY-MM-DD, money through the domain's one parser. Every failure is
//! one sentence naming the field, so the command line and the server say the same.

use chrono::NaiveDate;
use grant_ledger_domain::{echo, Money};

use crate::error::LedgerError;

/// A date in exactly the form `YYYY-MM-DD` (no single-digit months, no times).
pub fn date(what: &str, text: &str) -> Result<NaiveDate, LedgerError> {
    let text = text.trim();
    let shape_ok = text.len() == 10
        && text.char_indices().all(|(i, c)| match i {
            4 | 7 => c == '-',
            _ => c.is_ascii_digit(),
        });
    if !shape_ok {
        return Err(LedgerError::malformed(format!(
            "{what} \"{}\" is not a date in the form YYYY-MM-DD",
            echo(text)
        )));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        LedgerError::malformed(format!(
            "{what} \"{text}\" is not a real date (that day does not exist)"
        ))
    })
}

/// An optional date flag.
pub fn opt_date(what: &str, text: Option<&str>) -> Result<Option<NaiveDate>, LedgerError> {
    text.map(|t| date(what, t)).transpose()
}

/// A date flag that defaults to today: `text` if given, else the clock's local date. The
/// one place a command's "today" comes from the clock, so `--today` and every date that
/// defaults to today mean the same day on every command.
pub fn date_or_today(what: &str, text: Option<&str>) -> Result<NaiveDate, LedgerError> {
    Ok(opt_date(what, text)?.unwrap_or_else(today))
}

/// Today by this process's clock, in its local time zone: what every command and page
/// means by today when it is not told otherwise.
pub fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

/// An amount of pounds, as the contract lists: 318000, £318,000.50, ...
pub fn money(what: &str, text: &str) -> Result<Money, LedgerError> {
    Money::parse(text).map_err(|e| LedgerError::malformed(format!("{what}: {e}")))
}

/// An event type as a history filter names it, in any case: the canonical name, or a
/// refusal listing every type.
pub fn event_type(what: &str, text: &str) -> Result<String, LedgerError> {
    let names = crate::event_type_names();
    names
        .iter()
        .find(|name| name.eq_ignore_ascii_case(text.trim()))
        .map(|name| name.to_string())
        .ok_or_else(|| {
            LedgerError::malformed(format!(
                "{what} \"{}\" is not an event type; use one of {}",
                echo(text),
                names.join(", ")
            ))
        })
}

/// An idempotency key as given to `--key`, without surrounding spaces. A key of nothing
/// but spaces would be a different key from the same spaces typed again by a script
/// that trims, so it is refused like an empty one.
pub fn key(text: Option<String>) -> Result<Option<String>, LedgerError> {
    match text {
        None => Ok(None),
        Some(k) if k.trim().is_empty() => Err(LedgerError::malformed(
            "--key is empty; give a key such as pay-london-2024 or leave the flag out",
        )),
        Some(k) => Ok(Some(k.trim().to_string())),
    }
}

/// Empty strings mean "not given".
pub fn non_empty(text: Option<String>) -> Option<String> {
    text.filter(|t| !t.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_strict() {
        assert!(date("--date", "2024-08-30").is_ok());
        for bad in [
            "2024-8-30",
            "30/08/2024",
            "2024-02-30",
            "2024-08-30T00:00",
            "",
            "20240830",
        ] {
            assert!(date("--date", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_day_that_does_not_exist_is_not_a_real_date() {
        let e = date("--date", "2024-02-30").err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("--date \"2024-02-30\" is not a real date (that day does not exist)")
        );
        let e = date("--date", "30/02/2024").err().map(|e| e.to_string());
        assert!(e.is_some_and(|m| m.ends_with("is not a date in the form YYYY-MM-DD")));
    }

    #[test]
    fn money_errors_name_the_flag() {
        let e = money("--amount", "1e5").err().map(|e| e.to_string());
        assert!(e.is_some_and(|m| m.starts_with("--amount:")));
    }

    // Found by fuzzing (fuzz/ targets date and spend_csv): a date cell or flag holding a
    // newline was echoed raw, splitting the one-sentence refusal over two lines.
    #[test]
    fn a_refused_date_is_echoed_on_one_line() {
        let e = date("--date", "\0\n24-02m30").err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some(r#"--date "\0\n24-02m30" is not a date in the form YYYY-MM-DD"#)
        );
    }
}
