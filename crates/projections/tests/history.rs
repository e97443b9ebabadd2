//! `history` newest first over more events than one backward page (1,000), so that the
//! page boundaries are crossed: every event once, in reverse, and `after` pages downwards.

mod common;

use common::*;
use grant_ledger_projections::{Caller, HistoryFilter, Ledger};
use grant_ledger_store::MemoryStore;

/// 31/7421, London paid, and 2,498 spends: 2,500 events.
fn long_trail() -> Ledger<MemoryStore> {
    let ledger = london_paid();
    let mut rows = (0..2_498u64)
        .map(|n| Ok(row(n + 2, "London", "1", "data-coordinator", None)))
        .collect::<Vec<_>>()
        .into_iter();
    ledger
        .import_spends(&Caller::owner("a"), &mut rows, &mut |_| {})
        .unwrap();
    assert_eq!(ledger.head_position(), 2_500);
    ledger
}

fn positions(ledger: &Ledger<MemoryStore>, filter: HistoryFilter) -> Vec<u64> {
    let mut out = Vec::new();
    ledger
        .history(&filter, &mut |e| {
            out.push(e.position);
            Ok(())
        })
        .unwrap();
    out
}

#[test]
fn newest_first_hands_out_every_event_once_in_reverse_across_pages() {
    let ledger = long_trail();
    let all = positions(
        &ledger,
        HistoryFilter {
            newest_first: true,
            ..Default::default()
        },
    );
    assert_eq!(all, (1..=2_500).rev().collect::<Vec<u64>>());
}

#[test]
fn newest_first_after_a_position_starts_just_below_it() {
    let ledger = long_trail();
    let page = positions(
        &ledger,
        HistoryFilter {
            newest_first: true,
            after: Some(1_501),
            limit: Some(3),
            ..Default::default()
        },
    );
    assert_eq!(page, [1_500, 1_499, 1_498]);
    let beyond = positions(
        &ledger,
        HistoryFilter {
            newest_first: true,
            after: Some(9_999),
            limit: Some(1),
            ..Default::default()
        },
    );
    assert_eq!(beyond, [2_500]);
    let none = positions(
        &ledger,
        HistoryFilter {
            newest_first: true,
            after: Some(1),
            ..Default::default()
        },
    );
    assert!(none.is_empty());
}
