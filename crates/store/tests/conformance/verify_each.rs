//! The conformance suite, part three: `verify_each`, the one-pass verify that hands every
//! checked event to its caller, hands over exactly what `read_all` reads and reports
//! exactly what `verify` reports, for every backend. (How it refuses a damaged log is
//! tested where a test can damage one: store-sled's `sled_disk.rs`.)

use crate::common::*;
use crate::semantics::{bulk, each};
use grant_ledger_store::*;

#[test]
fn verify_each_hands_over_every_event_in_order_as_read_all_has_them() {
    each(|s| {
        // More events than one of the scan's hand-overs holds, in two streams.
        s.append(req(vec![batch("a", ExpectedVersion::NoStream, 3)]))
            .unwrap();
        bulk(
            s,
            "b",
            ExpectedVersion::NoStream,
            &mut (0..2_500).map(|n| Ok(event(n))),
        )
        .unwrap();
        let mut seen = Vec::new();
        let report = s
            .verify_each(&mut |ev| {
                let f = &ev.fields;
                seen.push((
                    f.position,
                    f.event_id,
                    f.stream.to_owned(),
                    f.stream_version,
                    f.actor.to_owned(),
                    f.payload.to_vec(),
                    f.prev_hash,
                    ev.hash,
                ));
                true
            })
            .unwrap();
        assert_eq!(report, s.verify().unwrap());
        let read: Vec<_> = s
            .read_all(1)
            .map(|e| {
                let e = e.unwrap();
                (
                    e.position,
                    e.event_id,
                    e.stream,
                    e.stream_version,
                    e.actor,
                    e.payload.get().as_bytes().to_vec(),
                    e.prev_hash,
                    e.hash,
                )
            })
            .collect();
        assert_eq!(read.len(), 2_503);
        assert_eq!(seen, read);
    });
}

#[test]
fn verify_each_checks_the_whole_log_when_the_caller_stops_early() {
    each(|s| {
        s.append(req(vec![batch("a", ExpectedVersion::NoStream, 1_500)]))
            .unwrap();
        let mut seen = 0;
        let report = s
            .verify_each(&mut |_| {
                seen += 1;
                seen < 2
            })
            .unwrap();
        assert_eq!(seen, 2);
        assert_eq!(report.events, 1_500);
        assert_eq!(report.head, s.head().unwrap());
    });
}

#[test]
fn verify_each_of_an_empty_log_hands_over_nothing() {
    each(|s| {
        let report = s.verify_each(&mut |_| panic!("no event")).unwrap();
        assert_eq!(report, s.verify().unwrap());
        assert_eq!(report.events, 0);
    });
}
