//! The short run of every fuzz target that CI makes: each target's committed seed corpus
//! (`fuzz/corpus/TARGET`), then a fixed number of seeded mutations of it. It finds what a
//! property test over hand-written cases would miss without the sanitizer build that takes
//! cargo-fuzz ten minutes; the long, coverage-guided runs stay with `cargo fuzz`.
//!
//! A failing input prints its target and seed, and `GL_FUZZ_SEED=N` makes exactly that input
//! again (`GL_FUZZ_RUNS=1`); `GL_FUZZ_RUNS=K` runs K mutations per target instead of the
//! default.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use grant_ledger_fuzz_checks::mutate::{mutated, Rng};
use grant_ledger_fuzz_checks::TARGETS;

/// The first seed of the default run. Fixed, so that CI's run is the same on every machine
/// and a failure in CI fails again here.
const DEFAULT_SEED: u64 = 31_7421;

fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    match text.trim().parse() {
        Ok(n) => Some(n),
        Err(_) => panic!("{name}={text:?} is not a whole number"),
    }
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the seed corpus {} cannot be read: {e}", dir.display()))
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("the seed corpus {} cannot be listed: {e}", dir.display()));
    // Sorted, so that the same seed picks the same entries on every file system.
    entries.sort();
    let corpus: Vec<Vec<u8>> = entries
        .iter()
        .map(|path| {
            std::fs::read(path).unwrap_or_else(|e| panic!("{} cannot be read: {e}", path.display()))
        })
        .collect();
    assert!(
        !corpus.is_empty(),
        "the seed corpus {} is empty",
        dir.display()
    );
    corpus
}

/// Runs `target` on its corpus and on `runs` mutations, the i-th made from seed `first + i`.
fn short_run(name: &str, runs: u64) {
    let target = TARGETS
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no fuzz target named {name}"));
    let corpus = corpus(name);
    let replay = env_number("GL_FUZZ_SEED");
    if replay.is_none() {
        for (i, entry) in corpus.iter().enumerate() {
            if catch_unwind(AssertUnwindSafe(|| (target.check)(entry))).is_err() {
                panic!("{name}: seed corpus entry {i} breaks the property (see the panic above)");
            }
        }
    }
    let first = replay.unwrap_or(DEFAULT_SEED);
    let runs = env_number("GL_FUZZ_RUNS").unwrap_or(runs);
    for seed in first..first.saturating_add(runs) {
        let input = mutated(&corpus, &mut Rng::new(seed));
        if catch_unwind(AssertUnwindSafe(|| (target.check)(&input))).is_err() {
            panic!(
                "{name}: the input made from seed {seed} breaks the property (see the panic \
                 above): {:?}\nreplay it with GL_FUZZ_SEED={seed} GL_FUZZ_RUNS=1 cargo test -p \
                 grant-ledger-fuzz-checks --test short_run {name}",
                String::from_utf8_lossy(&input)
            );
        }
    }
}

#[test]
fn money() {
    short_run("money", 20_000);
}

#[test]
fn date() {
    short_run("date", 20_000);
}

#[test]
fn determination_toml() {
    short_run("determination_toml", 3_000);
}

#[test]
fn spend_csv() {
    short_run("spend_csv", 3_000);
}

#[test]
fn envelope() {
    short_run("envelope", 20_000);
}

#[test]
fn json_bodies() {
    short_run("json_bodies", 2_000);
}

#[test]
fn every_target_has_a_short_run() {
    let source = include_str!("short_run.rs");
    for target in &TARGETS {
        assert!(
            source.contains(&format!("fn {}() {{", target.name)),
            "{} has no test in short_run.rs",
            target.name
        );
    }
}
