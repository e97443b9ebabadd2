//! Money: the one parser for every input form, and the two output forms.

use grant_ledger_domain::{Money, MoneyError};
use rust_decimal::Decimal;
use std::str::FromStr;

fn pounds(text: &str) -> Money {
    Money::parse(text).unwrap()
}

#[test]
fn accepts_every_form_the_contract_lists() {
    for input in [
        "318000",
        "318000.00",
        "318,000",
        "£318,000",
        "£318000",
        " 318000 ",
        "318000.0",
    ] {
        assert_eq!(pounds(input).plain(), "318000.00", "{input}");
    }
    assert_eq!(pounds("£318,000.50").plain(), "318000.50");
    assert_eq!(pounds("1,234,567.89").plain(), "1234567.89");
    assert_eq!(pounds("0.01").plain(), "0.01");
    assert_eq!(pounds("999999999999.99").plain(), "999999999999.99");
}

#[test]
fn refuses_everything_else_with_a_message_naming_the_input() {
    type Expect = fn(&MoneyError) -> bool;
    let cases: &[(&str, Expect)] = &[
        ("", |e| matches!(e, MoneyError::Empty)),
        ("   ", |e| matches!(e, MoneyError::Empty)),
        ("-5", |e| matches!(e, MoneyError::Negative(_))),
        ("£-5", |e| matches!(e, MoneyError::Negative(_))),
        ("-£5", |e| matches!(e, MoneyError::Negative(_))),
        ("0", |e| matches!(e, MoneyError::Zero(_))),
        ("0.00", |e| matches!(e, MoneyError::Zero(_))),
        ("£0", |e| matches!(e, MoneyError::Zero(_))),
        ("1.234", |e| matches!(e, MoneyError::TooManyDecimals(_))),
        ("1e5", |e| matches!(e, MoneyError::Exponent(_))),
        ("1.5E3", |e| matches!(e, MoneyError::Exponent(_))),
        ("1000000000000", |e| matches!(e, MoneyError::TooLarge(_))),
        ("99999999999999999999999999999999", |e| {
            matches!(e, MoneyError::TooLarge(_))
        }),
        ("31,8000", |e| matches!(e, MoneyError::Grouping(_))),
        ("3180,00", |e| matches!(e, MoneyError::Grouping(_))),
        (",318", |e| matches!(e, MoneyError::Grouping(_))),
        ("318,000,", |e| matches!(e, MoneyError::Grouping(_))),
        ("abc", |e| matches!(e, MoneyError::Invalid(_))),
        (".5", |e| matches!(e, MoneyError::Invalid(_))),
        ("£.50", |e| matches!(e, MoneyError::Invalid(_))),
        ("£", |e| matches!(e, MoneyError::Invalid(_))),
        ("12.", |e| matches!(e, MoneyError::Invalid(_))),
        ("1.2.3", |e| matches!(e, MoneyError::Invalid(_))),
        ("+5", |e| matches!(e, MoneyError::Invalid(_))),
        ("££5", |e| matches!(e, MoneyError::Invalid(_))),
        ("$5", |e| matches!(e, MoneyError::Invalid(_))),
        ("5 000", |e| matches!(e, MoneyError::Invalid(_))),
        ("NaN", |e| matches!(e, MoneyError::Invalid(_))),
        ("٣", |e| matches!(e, MoneyError::Invalid(_))),
    ];
    for (input, expected) in cases {
        let error = Money::parse(input).unwrap_err();
        assert!(expected(&error), "{input:?} gave {error:?}");
        let message = error.to_string();
        if !input.trim().is_empty() {
            assert!(
                message.contains(input.trim()),
                "{message} should name {input}"
            );
        }
        assert!(!message.contains('\n'));
    }
}

#[test]
fn displays_for_people_and_plainly_for_machines() {
    assert_eq!(pounds("318000").to_string(), "£318,000.00");
    assert_eq!(pounds("5").to_string(), "£5.00");
    assert_eq!(pounds("1234567.8").to_string(), "£1,234,567.80");
    assert_eq!(pounds("999").to_string(), "£999.00");
    let minus_five = Money::ZERO.checked_sub(pounds("5")).unwrap();
    assert_eq!(minus_five.to_string(), "-£5.00");
    assert_eq!(minus_five.plain(), "-5.00");
    assert_eq!(Money::ZERO.plain(), "0.00");
    assert_eq!(Money::ZERO.to_string(), "£0.00");
}

#[test]
fn arithmetic_stays_exact_and_bounded() {
    let a = pounds("0.10");
    let b = pounds("0.20");
    assert_eq!(a.checked_add(b).unwrap(), pounds("0.30"));
    assert!(a.checked_sub(b).unwrap().is_negative());
    assert!(a.checked_sub(a).unwrap().is_zero());
    assert_eq!(a.checked_sub(a).unwrap(), Money::ZERO);
    assert!(pounds("999999999999").checked_add(pounds("1")).is_none());
    assert!(Money::MAX.is_positive() && Money::MIN.is_negative());
}

#[test]
fn from_decimal_allows_any_sign_but_not_pennies_fractions() {
    assert_eq!(
        Money::from_decimal(Decimal::from_str("-5").unwrap())
            .unwrap()
            .plain(),
        "-5.00"
    );
    assert_eq!(
        Money::from_decimal(Decimal::from_str("0.000").unwrap()).unwrap(),
        Money::ZERO
    );
    assert!(Money::from_decimal(Decimal::from_str("1.005").unwrap()).is_err());
    assert!(Money::from_decimal(Decimal::from(1_000_000_000_000_i64)).is_err());
}

#[test]
fn serde_uses_the_plain_string_and_reads_only_that() {
    let money = pounds("£318,000.50");
    assert_eq!(serde_json::to_string(&money).unwrap(), "\"318000.50\"");
    assert_eq!(
        serde_json::from_str::<Money>("\"318000.50\"").unwrap(),
        money
    );
    assert_eq!(
        serde_json::from_str::<Money>("\"-5.00\"").unwrap().plain(),
        "-5.00"
    );
    for bad in [
        "\"318000\"",
        "\"318,000.00\"",
        "\"£5.00\"",
        "318000.5",
        "\"1e5\"",
        "\"5.0\"",
        "\"5.000\"",
        "\"\"",
    ] {
        assert!(serde_json::from_str::<Money>(bad).is_err(), "{bad}");
    }
}

#[test]
fn equal_amounts_are_equal_whatever_their_input_form() {
    assert_eq!(pounds("5"), pounds("5.00"));
    assert_eq!(pounds("5").amount().scale(), 2);
    assert!(pounds("5") < pounds("5.01"));
}

#[test]
fn the_default_is_zero_in_the_plain_form() {
    assert_eq!(Money::default().plain(), "0.00");
    assert_eq!(Money::default(), Money::ZERO);
}
