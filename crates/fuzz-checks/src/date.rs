//! The one date parser: never panics; what it accepts is exactly a YYYY-MM-DD text (less
//! surrounding spaces) of a real day, which prints back as the same text.

use grant_ledger_projections::input;

pub fn date(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match input::date("--date", text) {
        Ok(day) => {
            let printed = day.format("%Y-%m-%d").to_string();
            assert_eq!(printed, text.trim(), "{text:?} is not the day it parsed to");
            assert_eq!(input::date("--date", &printed).ok(), Some(day));
        }
        Err(e) => {
            let message = e.to_string();
            assert!(message.starts_with("--date"), "{message:?}");
            assert!(!message.contains('\n'), "{message:?}");
        }
    }
}
