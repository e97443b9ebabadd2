//! `import_spends`: all rows or none, errors naming their line, row keys, and the streamed
//! path for files longer than the in-memory buffer.

mod common;

use common::*;
use grant_ledger_domain::Money;
use grant_ledger_projections::Caller;
use grant_ledger_projections::{ErrorKind, LedgerError, SpendRow, IMPORT_BUFFER_ROWS};
use grant_ledger_store::EventStore;

fn run(
    ledger: &grant_ledger_projections::Ledger<grant_ledger_store::MemoryStore>,
    rows: Vec<SpendRow>,
) -> Result<grant_ledger_projections::ImportSummary, LedgerError> {
    let mut it = rows.into_iter().map(Ok);
    let mut last = 0;
    let result = ledger.import_spends(&Caller::owner("importer"), &mut it, &mut |n| last = n);
    if result.is_ok() {
        assert!(last > 0 || result.as_ref().map(|s| s.recorded + s.skipped).unwrap_or(0) == 0);
    }
    result
}

fn paid_ledger() -> grant_ledger_projections::Ledger<grant_ledger_store::MemoryStore> {
    let ledger = ledger();
    ledger
        .record(
            &Caller::owner("a"),
            None,
            pay("London", "318000", "2024-08-20"),
        )
        .unwrap();
    ledger
        .record(
            &Caller::owner("a"),
            None,
            pay("North East", "239600", "2024-08-20"),
        )
        .unwrap();
    ledger
}

#[test]
fn a_good_file_is_recorded_in_one_append() {
    let ledger = paid_ledger();
    let head = ledger.store().head().unwrap().position;
    let summary = run(
        &ledger,
        vec![
            row(2, "London", "1000", "data-coordinator", None),
            row(3, "north-east", "2000", "self-assessment", None),
            row(4, "London", "3000", "national-framework", None),
        ],
    )
    .unwrap();
    assert_eq!((summary.recorded, summary.skipped), (3, 0));
    assert_eq!(summary.first_position, Some(head + 1));
    assert_eq!(summary.last_position, Some(head + 3));
    let rows = ledger.balances(Some(D), None, None).unwrap();
    let spent = |r: &str| rows.iter().find(|b| b.region == r).unwrap().spent;
    assert_eq!(
        (spent("London"), spent("North East")),
        (money("4000"), money("2000"))
    );
    ledger.verify().unwrap();
}

#[test]
fn a_bad_row_leaves_nothing_written_and_names_its_line() {
    let ledger = paid_ledger();
    let head = ledger.store().head().unwrap();
    let err = run(
        &ledger,
        vec![
            row(2, "London", "1000", "data-coordinator", None),
            row(3, "London", "1000", "data-coordinator", None),
            row(4, "London", "1000", "data-coordinator", None),
            row(5, "London", "1000", "no-such-purpose", None),
            row(6, "London", "1000", "data-coordinator", None),
        ],
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("line 5: "), "{err}");
    assert_eq!(err.kind(), ErrorKind::Refused);
    // Overspend is caught across rows: the region has received £239,600.
    let err = run(
        &ledger,
        vec![
            row(2, "North East", "200000", "data-coordinator", None),
            row(3, "North East", "39600", "data-coordinator", None),
            row(4, "North East", "0.01", "data-coordinator", None),
        ],
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("line 4: "), "{err}");
    // A row the reader could not parse stops the import too.
    let mut rows = vec![
        Ok(row(2, "London", "1", "data-coordinator", None)),
        Err(LedgerError::Malformed("line 3: bad amount".into())),
    ]
    .into_iter();
    let err = ledger
        .import_spends(&Caller::owner("i"), &mut rows, &mut |_| {})
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed);

    assert_eq!(ledger.store().head().unwrap(), head);
    assert!(ledger
        .balances(Some(D), None, None)
        .unwrap()
        .iter()
        .all(|b| b.spent.is_zero()));
}

#[test]
fn row_keys_skip_identical_repeats_and_refuse_different_rows() {
    let ledger = paid_ledger();
    let first = run(
        &ledger,
        vec![
            row(2, "London", "1000", "data-coordinator", Some("inv-1")),
            row(3, "London", "2000", "data-coordinator", Some("inv-2")),
        ],
    )
    .unwrap();
    assert_eq!(first.recorded, 2);
    // Re-running the same file (plus one new row) records only the new row.
    let again = run(
        &ledger,
        vec![
            row(2, "London", "1000", "data-coordinator", Some("inv-1")),
            row(3, "London", "2000", "data-coordinator", Some("inv-2")),
            row(4, "London", "4000", "data-coordinator", Some("inv-3")),
        ],
    )
    .unwrap();
    assert_eq!((again.recorded, again.skipped), (1, 2));
    let nothing = run(
        &ledger,
        vec![row(2, "London", "1000", "data-coordinator", Some("inv-1"))],
    )
    .unwrap();
    assert_eq!(
        (nothing.recorded, nothing.skipped, nothing.first_position),
        (0, 1, None)
    );
    assert_eq!(
        ledger.balances(Some(D), Some("London"), None).unwrap()[0].spent,
        money("7000")
    );

    let err = run(
        &ledger,
        vec![row(7, "London", "999", "data-coordinator", Some("inv-1"))],
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Refused);
    assert!(
        err.to_string()
            .starts_with("line 7: idempotency key 'inv-1'"),
        "{err}"
    );

    // A row key is the same guard as `spend --key`: repeating it as a single command is a no-op.
    let repeat = ledger
        .record(
            &Caller::owner("a"),
            Some("inv-3"),
            spend("London", "4000", "2024-10-01", "data-coordinator"),
        )
        .unwrap();
    assert!(repeat.duplicate);
    assert_eq!(repeat.events.len(), 1);
    assert_eq!(repeat.events[0].key.as_deref(), Some("inv-3"));
    ledger.verify().unwrap();
}

#[test]
fn a_file_of_exactly_the_buffer_size_is_decided_as_a_whole_like_a_short_one() {
    // Its last row names another determination: a short file may mix determinations, so the
    // refusal must be about that row's determination, not about the file's length.
    let ledger = paid_ledger();
    let n = IMPORT_BUFFER_ROWS as u64;
    let mut rows = (0..n).map(|i| {
        let mut r = row(i + 2, "London", "1", "self-assessment", None);
        if i + 1 == n {
            r.determination = "31/9999".into();
        }
        Ok(r)
    });
    let err = ledger
        .import_spends(&Caller::owner("i"), &mut rows, &mut |_| {})
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("line {}: unknown determination 31/9999", n + 1)),
        "{text}"
    );
}

#[test]
fn a_long_file_streams_through_the_bulk_append() {
    let ledger = paid_ledger();
    let n = IMPORT_BUFFER_ROWS as u64 + 50;
    let rows = |bad_line: Option<u64>| {
        (0..n).map(move |i| {
            let line = i + 2;
            let purpose = if Some(line) == bad_line {
                "nope"
            } else {
                "self-assessment"
            };
            Ok(row(line, "London", "1", purpose, None))
        })
    };
    let head = ledger.store().head().unwrap();
    let bad = IMPORT_BUFFER_ROWS as u64 + 20;
    let err = ledger
        .import_spends(&Caller::owner("i"), &mut rows(Some(bad)), &mut |_| {})
        .unwrap_err();
    assert!(
        err.to_string().starts_with(&format!("line {bad}: ")),
        "{err}"
    );
    assert_eq!(ledger.store().head().unwrap(), head);

    let mut calls = 0;
    let summary = ledger
        .import_spends(&Caller::owner("i"), &mut rows(None), &mut |_| calls += 1)
        .unwrap();
    assert_eq!(summary.recorded, n);
    assert!(calls > 10);
    let london = &ledger.balances(Some(D), Some("London"), None).unwrap()[0];
    assert_eq!(london.spent, Money::from_pounds(n as i64).unwrap());
    // The stored models are exactly current: a fresh open agrees without catching up.
    let head = ledger.store().head().unwrap().position;
    assert_eq!(ledger.store().model("spend").unwrap().unwrap().0, head);

    // A long file must be of one determination.
    let mut mixed = (0..n).map(|i| {
        let mut r = row(i + 2, "London", "1", "self-assessment", None);
        if i == n - 1 {
            r.determination = "31/0001".into();
        }
        Ok(r)
    });
    let err = ledger
        .import_spends(&Caller::owner("i"), &mut mixed, &mut |_| {})
        .unwrap_err();
    assert!(
        err.to_string().starts_with(&format!("line {}: ", n + 1)),
        "{err}"
    );
}

/// 30,000 rows (more than the buffer, so streamed), every one keyed.
fn keyed_rows(changed_line: Option<u64>) -> impl Iterator<Item = Result<SpendRow, LedgerError>> {
    (0..30_000u64).map(move |i| {
        let line = i + 2;
        let amount = if Some(line) == changed_line { "2" } else { "1" };
        let key = format!("inv-{i}");
        Ok(row(line, "London", amount, "self-assessment", Some(&key)))
    })
}

#[test]
fn a_long_file_with_every_row_keyed_records_each_key_once() {
    let ledger = paid_ledger();
    let before = ledger.store().head().unwrap().position;
    let first = ledger
        .import_spends(&Caller::owner("i"), &mut keyed_rows(None), &mut |_| {})
        .unwrap();
    assert_eq!((first.recorded, first.skipped), (30_000, 0));
    let head = ledger.store().head().unwrap();
    assert_eq!(head.position, before + 30_000);
    let rec = ledger.store().key("inv-29999").unwrap().unwrap();
    assert_eq!(rec.appended.first_position, head.position);

    // The same file again: every row is a repeat, nothing is written.
    let again = ledger
        .import_spends(&Caller::owner("i"), &mut keyed_rows(None), &mut |_| {})
        .unwrap();
    assert_eq!(
        (again.recorded, again.skipped, again.first_position),
        (0, 30_000, None)
    );
    assert_eq!(ledger.store().head().unwrap(), head);

    // One row changed under its key, late in the streamed part: refused, naming its line.
    let changed = 25_002;
    let err = ledger
        .import_spends(
            &Caller::owner("i"),
            &mut keyed_rows(Some(changed)),
            &mut |_| {},
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Refused);
    assert!(
        err.to_string().starts_with(&format!(
            "line {changed}: idempotency key 'inv-25000' was already used"
        )),
        "{err}"
    );
    assert_eq!(ledger.store().head().unwrap(), head);
    let london = &ledger.balances(Some(D), Some("London"), None).unwrap()[0];
    assert_eq!(london.spent, money("30000"));
    ledger.verify().unwrap();
}

#[test]
fn a_key_on_two_rows_of_one_file_is_refused_naming_both_lines() {
    let ledger = paid_ledger();
    let head = ledger.store().head().unwrap();
    // Short (buffered) and long (streamed, the repeat far past the buffer) alike.
    let short = vec![
        row(2, "London", "1", "self-assessment", Some("a")),
        row(3, "London", "1", "self-assessment", Some("b")),
        row(4, "London", "1", "self-assessment", Some("a")),
    ];
    let err = run(&ledger, short).unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 4: idempotency key 'a' is also used by line 2; each row needs its own key"
    );
    let mut long = (0..25_000u64).map(|i| {
        let k = if i == 24_000 { 7 } else { i };
        Ok(row(
            i + 2,
            "London",
            "1",
            "self-assessment",
            Some(&format!("k{k}")),
        ))
    });
    let err = ledger
        .import_spends(&Caller::owner("i"), &mut long, &mut |_| {})
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("line 24002: idempotency key 'k7' is also used by line 9;"),
        "{err}"
    );
    assert_eq!(ledger.store().head().unwrap(), head);
    assert!(ledger.store().key("k0").unwrap().is_none());
}
