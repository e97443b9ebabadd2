//! The one money parser: never panics, and whatever it accepts is a positive amount below
//! the limit that prints (plainly and for people) as text it parses back to the same amount.

use grant_ledger_domain::Money;

pub fn money(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Money::parse(text) {
        Ok(money) => {
            assert!(money.is_positive(), "{text:?} parsed to {money}");
            assert!(money <= Money::MAX, "{text:?} parsed above the limit");
            assert_eq!(money.amount().scale(), 2, "{text:?} not held at scale 2");
            assert_eq!(Money::parse(&money.plain()), Ok(money), "plain of {text:?}");
            assert_eq!(
                Money::parse(&money.to_string()),
                Ok(money),
                "display of {text:?}"
            );
        }
        Err(e) => {
            // Refusals are one line, and short however long the input (40 echoed
            // characters, each at most a six-character escape).
            let message = e.to_string();
            assert!(!message.contains('\n'), "{message:?}");
            assert!(message.chars().count() < 400, "{message:?}");
        }
    }
}
