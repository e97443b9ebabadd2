//! The bounds on kept days, tested where they are reached.

use super::*;
use grant_ledger_domain::{builtin, evolve, DeterminationMade, FundsSpent};
use uuid::Uuid;

fn spend_on(date: NaiveDate) -> Event {
    Event {
        id: Uuid::now_v7(),
        data: EventData::FundsSpent(FundsSpent {
            determination: "31/7421".into(),
            region: "London".into(),
            amount: Money::from_pounds(1).unwrap_or(Money::ZERO),
            date,
            purpose: "data-coordinator".into(),
            authority: None,
            description: None,
            reference: None,
        }),
    }
}

/// Days kept from the start, with 31/7421 made, and spends on `days` days.
fn with_spends_on(days: usize) -> (Days, BTreeMap<String, Arc<State>>) {
    let d = builtin("31/7421").unwrap().unwrap();
    let made = Event {
        id: Uuid::now_v7(),
        data: EventData::DeterminationMade(DeterminationMade { determination: d }),
    };
    let states = BTreeMap::from([(
        "31/7421".to_string(),
        Arc::new(evolve(State::default(), &made)),
    )]);
    let mut kept = Days::from_start();
    let first = NaiveDate::from_ymd_opt(2024, 8, 20).unwrap();
    for n in 0..days {
        kept.record(&spend_on(first + chrono::Days::new(n as u64)), None);
    }
    kept.flush(&states, &mut |_| Ok(None)).unwrap();
    (kept, states)
}

#[test]
fn given_the_most_days_kept_when_a_spend_falls_on_one_more_then_no_day_models_are_kept() {
    let (mut days, states) = with_spends_on(MAX_AS_OF_DAYS);
    assert!(days.kept());
    assert_eq!(days.index.days.len(), MAX_AS_OF_DAYS);

    let after = days.index.days.last().copied().unwrap() + chrono::Days::new(1);
    days.record(&spend_on(after), None);
    days.flush(&states, &mut |_| Ok(None)).unwrap();

    assert!(!days.kept());
    assert!(days.index.off.is_some());
    let writes = days.writes().unwrap();
    assert_eq!(
        writes.iter().map(|w| w.name.as_str()).collect::<Vec<_>>(),
        [DAYS_INDEX],
        "only the index saying why is written"
    );
}

#[test]
fn one_write_never_stores_more_models_than_an_append_may_carry() {
    let (mut days, _) = with_spends_on(MAX_AS_OF_DAYS);
    assert!(days.writes().unwrap().len() + MODELS_BESIDE_DAYS <= MAX_MODELS_PER_APPEND);
}
