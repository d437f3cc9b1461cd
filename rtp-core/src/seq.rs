//! Sequence number and timestamp arithmetic with wraparound (RFC 3550 A.1, RFC 1982).

/// Largest forward jump (in packets) still treated as in-order loss (RFC 3550 A.1 `MAX_DROPOUT`).
pub(crate) const MAX_DROPOUT: u16 = 3000;
/// Largest backward distance treated as reordering (RFC 3550 A.1 `MAX_MISORDER`).
pub(crate) const MAX_MISORDER: u16 = 100;
/// Largest backward distance [`SeqExtender`] places in the past. Wider than `MAX_MISORDER`: a
/// late burst must not be mistaken for a sequence restart, which would move it 2^16 ahead.
const EXTENDER_MISORDER: u16 = 1000;

/// `a - b` as a signed distance modulo 2^16: positive when `a` is after `b`.
pub fn seq_diff(a: u16, b: u16) -> i16 {
    a.wrapping_sub(b) as i16
}

/// Whether sequence number `a` is strictly newer than `b`, modulo 2^16.
pub fn seq_newer(a: u16, b: u16) -> bool {
    seq_diff(a, b) > 0
}

/// `a - b` as a signed distance modulo 2^32 (RTP timestamps): positive when `a` is after `b`.
pub fn ts_diff(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

/// Whether RTP timestamp `a` is strictly newer than `b`, modulo 2^32.
pub fn ts_newer(a: u32, b: u32) -> bool {
    ts_diff(a, b) > 0
}

/// Extends 16-bit sequence numbers to 64 bits (RFC 3550 A.1 `cycles + max_seq`).
///
/// The first packet gets its own value (cycle 0). Later packets are placed relative to the highest
/// value seen so far, always keeping `extend(seq) as u16 == seq`:
/// * up to `MAX_DROPOUT` (3000) ahead: in order (possibly after loss), becomes the new highest;
/// * up to 1000 behind: a late/reordered or duplicate packet, placed in the past (wider than A.1's
///   `MAX_MISORDER` of 100, so that a late burst is never taken for a restart);
/// * anything else is a large jump. As in A.1, a jump is only believed when the *next* packet
///   continues from it (`seq + 1`); then the sequence is resynchronised forward. Until then the
///   jumped packet gets its nearest placement and the highest value is left unchanged.
///
/// ```
/// # use rtp_core::SeqExtender;
/// let mut e = SeqExtender::new();
/// assert_eq!(e.extend(65535), 65535);
/// assert_eq!(e.extend(0), 65536);
/// assert_eq!(e.extend(65534), 65534); // reordered
/// ```
#[derive(Debug, Clone, Default)]
pub struct SeqExtender {
    highest: Option<u64>,
    bad_seq: Option<u16>,
}

impl SeqExtender {
    /// An extender that has seen no packet yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Extend `seq` to 64 bits; see the type documentation for the rules.
    pub fn extend(&mut self, seq: u16) -> u64 {
        let Some(highest) = self.highest else {
            self.highest = Some(u64::from(seq));
            return u64::from(seq);
        };
        let delta = seq.wrapping_sub(highest as u16);
        if delta < MAX_DROPOUT {
            self.bad_seq = None;
            let ext = highest + u64::from(delta);
            self.highest = Some(ext);
            return ext;
        }
        let back = 0x1_0000 - u64::from(delta);
        if delta > u16::MAX - EXTENDER_MISORDER {
            // Reordered: placed before highest (or, before the very first cycle, forward).
            return highest
                .checked_sub(back)
                .unwrap_or(highest + u64::from(delta));
        }
        // Large jump.
        if self.bad_seq == Some(seq) {
            self.bad_seq = None;
            let ext = highest + u64::from(delta);
            self.highest = Some(ext);
            return ext;
        }
        self.bad_seq = Some(seq.wrapping_add(1));
        if delta < 0x8000 {
            highest + u64::from(delta)
        } else {
            highest
                .checked_sub(back)
                .unwrap_or(highest + u64::from(delta))
        }
    }

    /// The highest extended sequence number accepted so far, if any.
    pub fn highest(&self) -> Option<u64> {
        self.highest
    }

    /// Forget everything (e.g. after an SSRC change).
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_and_newer_wrap() {
        assert_eq!(seq_diff(1, 65535), 2);
        assert_eq!(seq_diff(65535, 1), -2);
        assert!(seq_newer(0, 65535));
        assert!(!seq_newer(65535, 0));
        assert!(!seq_newer(5, 5));
        assert_eq!(seq_diff(0x8000, 0), i16::MIN);
        assert_eq!(ts_diff(10, u32::MAX - 9), 20);
        assert_eq!(ts_diff(u32::MAX - 9, 10), -20);
        assert!(ts_newer(3000, u32::MAX - 3000));
        assert!(!ts_newer(7, 7));
    }

    #[test]
    fn extender_wraps_and_reorders() {
        let mut e = SeqExtender::new();
        assert_eq!(e.highest(), None);
        assert_eq!(e.extend(65530), 65530);
        for s in 65531..=65535u16 {
            assert_eq!(e.extend(s), u64::from(s));
        }
        assert_eq!(e.extend(2), 65538); // gap across the wrap
        assert_eq!(e.extend(0), 65536); // late
        assert_eq!(e.extend(65533), 65533); // very late, across the wrap
        assert_eq!(e.extend(2), 65538); // duplicate
        assert_eq!(e.highest(), Some(65538));
        // Many wraps.
        let mut s = 2u16;
        for i in 0..200_000u64 {
            s = s.wrapping_add(1);
            assert_eq!(e.extend(s), 65539 + i);
        }
    }

    #[test]
    fn extender_large_jump_needs_confirmation() {
        let mut e = SeqExtender::new();
        e.extend(100);
        e.extend(101);
        // A lone stray packet far away does not move the highest.
        assert_eq!(e.extend(20_000), 20_000);
        assert_eq!(e.highest(), Some(101));
        assert_eq!(e.extend(102), 102);
        // A restart: two consecutive packets far away resynchronise forward.
        assert_eq!(e.extend(40_000), 40_000);
        assert_eq!(e.highest(), Some(102));
        assert_eq!(e.extend(40_001), 40_001);
        assert_eq!(e.highest(), Some(40_001));
        // A backward restart is moved forward (highest never decreases).
        e.extend(10);
        let ext = e.extend(11);
        assert_eq!(ext as u16, 11);
        assert!(ext > 40_001);
        assert_eq!(e.highest(), Some(ext));
    }

    #[test]
    fn extender_reorder_before_first_never_underflows() {
        let mut e = SeqExtender::new();
        assert_eq!(e.extend(3), 3);
        let ext = e.extend(65534);
        assert_eq!(ext as u16, 65534);
        e.reset();
        assert_eq!(e.highest(), None);
    }

    proptest::proptest! {
        #[test]
        fn extender_tracks_a_true_counter(
            start in proptest::prelude::any::<u16>(),
            steps in proptest::collection::vec(-50i64..200, 1..2000),
        ) {
            let mut e = SeqExtender::new();
            let base = u64::from(start) + (1 << 20); // a true position far from zero
            let mut pos = base;
            let mut max = pos;
            proptest::prop_assert_eq!(e.extend(start), u64::from(start));
            for d in steps {
                pos = (pos as i64 + d).max(0) as u64;
                let seq = pos as u16;
                let ext = e.extend(seq);
                proptest::prop_assert_eq!(ext as u16, seq);
                // Offsets from the first packet are preserved exactly (unless they would be
                // negative: packets from before the first one are placed forward).
                if pos + 1000 > max && pos >= base {
                    proptest::prop_assert_eq!(ext as i64 - i64::from(start), pos as i64 - base as i64);
                }
                max = max.max(pos);
            }
        }
    }
}
