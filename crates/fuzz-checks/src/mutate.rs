//! Seeded mutation of corpus entries, for the short run in CI: not coverage-guided like
//! libFuzzer, but the same few kinds of change (flipped bits, inserted and deleted bytes,
//! interesting bytes, splices of two entries), drawn from a seed so that a failing input can
//! be made again from its seed alone.

/// A small, fast, seeded generator (xorshift64*): reproducible on every machine, and enough
/// for choosing mutations; nothing here needs cryptographic randomness.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        // Zero is xorshift's one fixed point; any other constant would do.
        Rng((seed ^ 0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`; `n` must not be zero.
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "below(0) has no answer");
        (self.next_u64() % n as u64) as usize
    }
}

/// Bytes that parsers tend to treat specially: separators, quotes, signs, digits, the edges
/// of ASCII and of UTF-8.
const INTERESTING: &[u8] = b"\0\n\r\t \",;.-+0159eE{}[]:\\\x7f\x80\xc2\xe2\xff";

/// The longest input a mutation makes: the targets bound their own inputs far below this,
/// and a short run should spend its time on many inputs, not a few huge ones.
pub const MAX_LEN: usize = 4096;

/// One input made from `corpus` by one to four mutations, chosen by `rng`. An empty corpus
/// mutates the empty input.
pub fn mutated(corpus: &[Vec<u8>], rng: &mut Rng) -> Vec<u8> {
    let mut data = if corpus.is_empty() {
        Vec::new()
    } else {
        corpus[rng.below(corpus.len())].clone()
    };
    for _ in 0..=rng.below(4) {
        mutate_once(&mut data, corpus, rng);
    }
    data.truncate(MAX_LEN);
    data
}

fn mutate_once(data: &mut Vec<u8>, corpus: &[Vec<u8>], rng: &mut Rng) {
    match rng.below(6) {
        0 if !data.is_empty() => {
            let at = rng.below(data.len());
            data[at] ^= 1 << rng.below(8);
        }
        1 if !data.is_empty() => {
            let at = rng.below(data.len());
            data[at] = INTERESTING[rng.below(INTERESTING.len())];
        }
        2 => {
            let at = rng.below(data.len() + 1);
            data.insert(at, INTERESTING[rng.below(INTERESTING.len())]);
        }
        3 if !data.is_empty() => {
            let from = rng.below(data.len());
            let len = 1 + rng.below((data.len() - from).min(16));
            data.drain(from..from + len);
        }
        4 if !data.is_empty() => {
            // Repeat a run of the input: long numbers, deep nesting, many rows.
            let from = rng.below(data.len());
            let len = 1 + rng.below((data.len() - from).min(64));
            let run = data[from..from + len].to_vec();
            for _ in 0..=rng.below(8) {
                data.splice(from..from, run.iter().copied());
            }
        }
        _ if !corpus.is_empty() => {
            // Splice: this input's head with another entry's tail.
            let other = &corpus[rng.below(corpus.len())];
            let cut = rng.below(data.len() + 1);
            let from = rng.below(other.len() + 1);
            data.truncate(cut);
            data.extend_from_slice(&other[from..]);
        }
        _ => data.push(rng.below(256) as u8),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_makes_the_same_inputs() {
        let corpus = vec![b"1,234.56".to_vec(), b"2024-08-30".to_vec()];
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for _ in 0..100 {
            assert_eq!(mutated(&corpus, &mut a), mutated(&corpus, &mut b));
        }
    }

    #[test]
    fn mutations_change_the_inputs_and_keep_within_the_limit() {
        let corpus = vec![vec![b'x'; MAX_LEN]];
        let mut rng = Rng::new(1);
        let changed = (0..200)
            .map(|_| mutated(&corpus, &mut rng))
            .inspect(|m| assert!(m.len() <= MAX_LEN))
            .filter(|m| m != &corpus[0])
            .count();
        assert!(changed > 150, "only {changed} of 200 inputs changed");
    }

    #[test]
    fn an_empty_corpus_still_makes_inputs() {
        let mut rng = Rng::new(3);
        assert!((0..50).any(|_| !mutated(&[], &mut rng).is_empty()));
    }
}
