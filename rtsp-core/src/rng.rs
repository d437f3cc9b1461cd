//! The one random number generator of the machines: session ids, Digest nonces, SSRCs,
//! initial sequence numbers and timestamps, RTCP interval jitter.
//!
//! [`RngSeed`] is public: a runtime seeds it from the OS (32 bytes), a test from a number
//! ([`RngSeed::from_u64`]), and one seed gives independent streams, e.g. one per event loop
//! ([`RngSeed::derive`]). The generator itself (`Rng`) is crate-private: ChaCha20 (RFC 8439
//! keystream, through the `chacha20` crate's `rand_core` generator), so ids and nonces are
//! unpredictable when the seed is secret, and the machines stay deterministic under a test seed.

// The server and client are wired to it by the next change; until then only the tests use it.

use chacha20::ChaCha20Rng;
use rand_core::{Rng as _, SeedableRng};
use std::time::Duration;

/// 32 bytes that fix every random choice of a machine.
///
/// Keep a production seed secret (it predicts session ids and nonces): take it from the OS.
#[derive(Clone, PartialEq, Eq)]
pub struct RngSeed([u8; 32]);

impl RngSeed {
    /// A seed of these 32 bytes (e.g. read from the OS by a runtime).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A seed expanded from a number: deterministic runs and tests (not secret: 64 bits).
    pub fn from_u64(n: u64) -> Self {
        Self(ChaCha20Rng::seed_from_u64(n).get_seed())
    }

    /// The seed of independent stream `stream` (e.g. event loop `i`): the first 32 bytes of
    /// ChaCha20 keyed with this seed on stream `stream + 1` (stream 0 is what the generator
    /// draws from this seed itself). Different streams give unrelated seeds; the same stream
    /// always the same one.
    pub fn derive(&self, stream: u64) -> Self {
        let mut g = ChaCha20Rng::from_seed(self.0);
        g.set_stream(stream.wrapping_add(1));
        let mut out = [0u8; 32];
        g.fill_bytes(&mut out);
        Self(out)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for RngSeed {
    /// Never prints the bytes: a seed predicts session ids and nonces.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RngSeed(..)")
    }
}

/// A machine's generator: ChaCha20 from an [`RngSeed`].
pub(crate) struct Rng(ChaCha20Rng);

impl Clone for Rng {
    /// The same generator at the same position (it goes on with the same values).
    fn clone(&self) -> Self {
        Self(ChaCha20Rng::deserialize_state(&self.0.serialize_state()))
    }
}

impl std::fmt::Debug for Rng {
    /// Never prints the state: it predicts session ids and nonces.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rng(..)")
    }
}

impl Rng {
    /// The generator of `seed`.
    pub(crate) fn new(seed: &RngSeed) -> Self {
        Self(ChaCha20Rng::from_seed(seed.0))
    }

    /// 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// 32 random bits (the high half of a 64-bit draw).
    pub(crate) fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform in `0..n` (0 when `n == 0`), without modulo bias.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Reject the top partial range so every residue is equally likely.
        let zone = u64::MAX - (u64::MAX - n + 1) % n;
        loop {
            let v = self.next_u64();
            if v <= zone {
                return v % n;
            }
        }
    }

    /// Uniform in `[0, 1)` (53 bits).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `base` (at most a day) times a factor uniform in `[0.5, 1.5)`: randomized report
    /// intervals (RFC 3550 §6.2).
    pub(crate) fn jittered(&mut self, base: Duration) -> Duration {
        base.min(Duration::from_secs(86_400))
            .mul_f64(0.5 + self.unit())
    }

    /// `bytes` random bytes as lowercase hex (`2 * bytes` characters): Digest nonces and
    /// client nonces.
    pub(crate) fn hex(&mut self, bytes: usize) -> String {
        use std::fmt::Write as _;
        let mut raw = vec![0u8; bytes];
        self.0.fill_bytes(&mut raw);
        let mut s = String::with_capacity(2 * bytes);
        for b in raw {
            let _ = write!(s, "{b:02x}");
        }
        s
    }

    /// A fresh Digest nonce: 128 random bits, 32 hex characters.
    pub(crate) fn nonce(&mut self) -> String {
        self.hex(16)
    }

    /// A session id: 20 decimal digits, never starting with 0 (66 random bits). Decimal,
    /// because the course-lab client reads the id as a number.
    pub(crate) fn session_id(&mut self) -> String {
        const LOW: u128 = 10_000_000_000_000_000_000;
        let wide = (u128::from(self.next_u64()) << 64) | u128::from(self.next_u64());
        // 2^128 / (9 * 10^19) is about 3.8 * 10^18: the modulo bias is below 10^-18.
        (LOW + wide % (9 * LOW)).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_replays_and_seeds_differ() {
        let mut a = Rng::new(&RngSeed::from_u64(7));
        let mut b = Rng::new(&RngSeed::from_u64(7));
        let xs: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..8).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        let mut c = Rng::new(&RngSeed::from_u64(8));
        assert_ne!(xs[0], c.next_u64());
        assert_eq!(RngSeed::from_u64(7), RngSeed::from_u64(7));
        assert_ne!(RngSeed::from_u64(7), RngSeed::from_u64(8));
    }

    #[test]
    fn is_chacha20_of_the_seed_bytes() {
        // RFC 8439 §2.3.2 test vector is for one block with a nonce; with key 0 and nonce 0
        // the ChaCha20 keystream starts 76 b8 e0 ad a0 f1 3d 90 (RFC 7539 A.1, test 1).
        let mut r = Rng::new(&RngSeed::from_bytes([0; 32]));
        assert_eq!(
            r.next_u64().to_le_bytes(),
            [0x76, 0xb8, 0xe0, 0xad, 0xa0, 0xf1, 0x3d, 0x90]
        );
        assert_eq!(RngSeed::from_bytes([3; 32]).as_bytes(), &[3; 32]);
    }

    #[test]
    fn derived_streams_are_independent_and_stable() {
        let root = RngSeed::from_u64(42);
        let s0 = root.derive(0);
        let s1 = root.derive(1);
        assert_eq!(s0, root.derive(0));
        assert_ne!(s0, s1);
        assert_ne!(&s0, &root);
        let first = |s: &RngSeed| Rng::new(s).next_u64();
        assert_ne!(first(&s0), first(&s1));
        assert_ne!(first(&s0), first(&root));
        // A derived stream does not replay the root generator's output.
        let mut r = Rng::new(&root);
        let root_bytes: Vec<u8> = (0..4).flat_map(|_| r.next_u64().to_le_bytes()).collect();
        assert_ne!(s0.as_bytes().as_slice(), root_bytes.as_slice());
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut r = Rng::new(&RngSeed::from_u64(1));
        assert_eq!(r.below(0), 0);
        assert_eq!(r.below(1), 0);
        let mut seen = [0u32; 7];
        for _ in 0..7000 {
            let v = r.below(7) as usize;
            seen[v] += 1;
        }
        assert!(seen.iter().all(|&n| (800..1200).contains(&n)), "{seen:?}");
        for n in [2, 3, u64::MAX / 2 + 1, u64::MAX] {
            for _ in 0..100 {
                assert!(r.below(n) < n);
            }
        }
    }

    #[test]
    fn jittered_is_half_to_one_and_a_half_of_base() {
        let mut r = Rng::new(&RngSeed::from_u64(2));
        let base = Duration::from_secs(5);
        let (mut lo, mut hi) = (Duration::MAX, Duration::ZERO);
        for _ in 0..2000 {
            let d = r.jittered(base);
            assert!(d >= base / 2 && d < base * 3 / 2, "{d:?}");
            lo = lo.min(d);
            hi = hi.max(d);
        }
        assert!(lo < Duration::from_millis(2600) && hi > Duration::from_millis(7400));
        assert_eq!(r.jittered(Duration::ZERO), Duration::ZERO);
        assert!(r.jittered(Duration::MAX) < Duration::from_secs(86_400 * 3 / 2));
    }

    #[test]
    fn strings_have_their_shape() {
        let mut r = Rng::new(&RngSeed::from_u64(3));
        let n = r.nonce();
        assert_eq!(n.len(), 32);
        assert!(n
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_ne!(n, r.nonce());
        assert_eq!(r.hex(3).len(), 6);
        assert_eq!(r.hex(0), "");
        for _ in 0..100 {
            let id = r.session_id();
            assert_eq!(id.len(), 20, "{id}");
            assert!(id.bytes().all(|b| b.is_ascii_digit()) && !id.starts_with('0'));
        }
    }

    #[test]
    fn next_u32_is_the_high_half() {
        let mut a = Rng::new(&RngSeed::from_u64(9));
        let mut b = a.clone();
        assert_eq!(u64::from(a.next_u32()), b.next_u64() >> 32);
        let u = a.unit();
        assert!((0.0..1.0).contains(&u));
    }

    #[test]
    fn debug_hides_the_seed() {
        assert_eq!(format!("{:?}", RngSeed::from_bytes([7; 32])), "RngSeed(..)");
    }
}
