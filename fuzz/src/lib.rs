//! Helpers shared by the fuzz targets (not fuzzed themselves).

use chacha20::ChaCha8Rng;
use rand_core::{Rng as _, SeedableRng};

/// Derives chunk sizes and similar choices from a seed taken from the input, so one input
/// always replays the same way: ChaCha8 (the `chacha20` crate's generator, as in the
/// simulator). Test randomness, not security.
pub struct Rng(ChaCha8Rng);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self(ChaCha8Rng::seed_from_u64(seed))
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A value in `1..=max` (`max >= 1`), biased towards small values half of the time.
    pub fn chunk_len(&mut self, max: usize) -> usize {
        let max = max.max(1);
        let r = self.next_u64();
        let bound = if r & 1 == 0 { max.min(8) } else { max };
        1 + ((r >> 1) as usize % bound)
    }
}

/// Splits `data` into consecutive chunks whose sizes come from `seed` (at least one byte each;
/// an empty input gives no chunks).
pub fn chunks(data: &[u8], seed: u64) -> Vec<&[u8]> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let n = rng.chunk_len(rest.len().min(4096));
        let (a, b) = rest.split_at(n);
        out.push(a);
        rest = b;
    }
    out
}

/// Splits the input into its first `N` bytes (zero-padded) and the rest.
pub fn take_prefix<const N: usize>(data: &[u8]) -> ([u8; N], &[u8]) {
    let mut head = [0u8; N];
    let n = data.len().min(N);
    head[..n].copy_from_slice(&data[..n]);
    (head, &data[n..])
}

/// Splits a length-prefixed record stream: each record is a big-endian `u16` length and that
/// many bytes (a short last record takes what is left). Used for packet sequences.
pub fn records(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while data.len() >= 2 {
        let n = usize::from(u16::from_be_bytes([data[0], data[1]]));
        data = &data[2..];
        let n = n.min(data.len());
        out.push(&data[..n]);
        data = &data[n..];
    }
    out
}

/// Encodes packets as [`records`] (for building seed corpora).
pub fn encode_records<'a>(packets: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for p in packets {
        let n = p.len().min(usize::from(u16::MAX));
        out.extend_from_slice(&(n as u16).to_be_bytes());
        out.extend_from_slice(&p[..n]);
    }
    out
}

/// Whether the known issue `tag` should be skipped in this run: `FUZZ_IGNORE` is a
/// comma-separated list of tags (see README.md). Targets check everything by default; a tag
/// lets a long run look past a reported, not yet fixed bug instead of finding it again and again.
pub fn ignored(tag: &str) -> bool {
    use std::sync::OnceLock;
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    TAGS.get_or_init(|| {
        std::env::var("FUZZ_IGNORE")
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    })
    .iter()
    .any(|t| t == tag)
}
