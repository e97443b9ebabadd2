//! The Markdown table and the verdicts on the goals.

use std::time::Duration;

use crate::floor::Floors;
use crate::load::{Latency, Level};

pub(crate) struct RunKnobs {
    pub(crate) seconds: u64,
    pub(crate) floor_seconds: u64,
    pub(crate) read_pause: Duration,
    pub(crate) store: &'static str,
}

pub(crate) fn print_table(levels: &[Level], idle: &Latency, floors: &Floors, knobs: &RunKnobs) {
    println!();
    println!(
        "`{}GL_LOAD_SECONDS={} GL_LOAD_FLOOR_SECONDS={} GL_LOAD_READ_PAUSE_MS={} cargo bench --bench server_load`",
        knobs.store,
        knobs.seconds,
        knobs.floor_seconds,
        knobs.read_pause.as_millis()
    );
    println!();
    let floor_columns = match floors {
        Floors::Sled(_) => {
            "raw sled floor, group = clients | ratio | raw sled floor, group = achieved"
        }
        Floors::PlainSql(_) => "plain SQL baseline, single appends | ratio | ",
    };
    println!("| clients | acked appends/s | p50 ms | p99 ms | max ms | refused | commits/s | mean group | max group | commit stamp to answer p50 / p99 ms | answer spread in a commit p50 / p99 ms | balances p50 / p99 ms (n) | {floor_columns} | server CPU / append | bench CPU / append |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for l in levels {
        let achieved = l.mean_group().round().max(1.0) as usize;
        let at_achieved = match floors {
            Floors::Sled(_) => format!("{:.0} /s (group {achieved})", floors.at(achieved)),
            Floors::PlainSql(_) => String::new(),
        };
        println!(
            "| {} | {:.0} | {:.2} | {:.2} | {:.1} | {} | {:.0} | {:.1} | {} | {:.2} / {:.2} | {:.2} / {:.2} | {:.2} / {:.2} ({}) | {:.0} /s | {:.2}x | {at_achieved} | {} | {} |",
            l.clients,
            l.rate(),
            l.latency.p50,
            l.latency.p99,
            l.latency.max,
            l.failed,
            l.commits as f64 / l.elapsed.as_secs_f64(),
            l.mean_group(),
            l.max_group,
            l.lag.p50,
            l.lag.p99,
            l.spread.p50,
            l.spread.p99,
            l.reads.p50,
            l.reads.p99,
            l.reads.count,
            floors.at(l.clients),
            l.rate() / floors.at(l.clients),
            l.cpu(l.server_cpu),
            l.cpu(l.bench_cpu),
        );
    }
    println!(
        "| idle reader | | | | | | | | | | | {:.2} / {:.2} ({}) | | | | | |",
        idle.p50, idle.p99, idle.count
    );
    println!();
    match floors {
        Floors::Sled(floors) => {
            println!("Raw sled floor: `apply_batch` of N {}-byte inserts, `flush()`, then `fsync` of sled's data file, as the ledger's store commits; without the `fsync` (sled's `flush()` alone):", crate::FLOOR_VALUE_BYTES);
            for (group, f) in floors {
                println!(
                    "- N = {group}: {:.0} appends/s durable, {:.0} appends/s flush only",
                    f.durable, f.flushed
                );
            }
        }
        Floors::PlainSql(rate) => {
            println!("Plain SQL baseline on the same PostgreSQL: one transaction per event (`SELECT ... FOR UPDATE` of a one-row head, one `INSERT` of a {}-byte row, the head updated, `COMMIT` with synchronous_commit on), one after another: {rate:.0} appends/s. Server CPU above is the ledger's process only; PostgreSQL's own backends work beside it on the same cores.", crate::FLOOR_VALUE_BYTES);
        }
    }
    for l in levels {
        if let Some(failure) = &l.first_failure {
            println!(
                "- {} clients: {} spends refused; the first: {failure}",
                l.clients, l.failed
            );
        }
    }
    println!();
    let Some(l) = levels.iter().find(|l| l.clients == 64) else {
        println!("The goals are stated at 64 clients, which this run did not measure.");
        return;
    };
    let verdict = |met: bool| if met { "met" } else { "missed" };
    match floors {
        Floors::Sled(_) => {
            println!("Goals of issue 7 at 64 clients:");
            println!(
                "- acknowledged appends/s >= 10,000: measured {:.0} ({})",
                l.rate(),
                verdict(l.rate() >= 10_000.0)
            );
            println!(
                "- write p99 < 50 ms: measured {:.2} ms ({})",
                l.latency.p99,
                verdict(l.latency.p99 < 50.0)
            );
            println!(
                "- GET /balances p99 < 5 ms under that load: measured {:.2} ms ({})",
                l.reads.p99,
                verdict(l.reads.p99 < 5.0)
            );
        }
        Floors::PlainSql(rate) => {
            let ratio = l.rate() / rate;
            println!("Goal of issue 9 at 64 clients:");
            println!(
                "- the server's grouped commits >= 5x the plain SQL baseline: {:.0} against {rate:.0} appends/s, {ratio:.2}x ({})",
                l.rate(),
                verdict(ratio >= 5.0)
            );
        }
    }
}
