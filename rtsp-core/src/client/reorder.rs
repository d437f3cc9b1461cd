//! A small reordering buffer for RTP over UDP: packets are released in sequence order; a gap is
//! given up on (declared lost) when the window fills or the oldest held packet waited too long.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rtp_core::seq_diff;

/// Jumps larger than this (either way) restart the sequence instead of being held or dropped
/// (RFC 3550 A.1 `MAX_DROPOUT` / `MAX_MISORDER`).
const MAX_DROPOUT: i16 = 3000;
const MAX_MISORDER: i16 = 100;

/// What to do with an arriving packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// It is the next expected one (or the first): process it now, then [`Reorder::advance`].
    InOrder,
    /// It is ahead of a gap: [`Reorder::hold`] a copy.
    Early,
    /// Its slot has passed (a duplicate or too late): drop it.
    Late,
    /// A big jump: release everything held ([`Reorder::drain_all`]), then process it as the
    /// new start.
    Resync,
}

/// A packet waiting for its predecessors.
#[derive(Debug)]
pub(super) struct Held {
    /// Its 16-bit sequence number.
    pub(super) seq: u16,
    /// The whole datagram / interleaved payload.
    pub(super) data: Vec<u8>,
    /// When it arrived (the receive time, for jitter).
    pub(super) arrived: Instant,
}

/// The buffer. Keys are sequence numbers extended relative to the first packet.
#[derive(Debug)]
pub(super) struct Reorder {
    window: usize,
    delay: Duration,
    /// Next expected sequence number and its extended value.
    next: Option<(u16, u64)>,
    held: BTreeMap<u64, Held>,
}

impl Reorder {
    pub(super) fn new(window: usize, delay: Duration) -> Self {
        Self {
            window: window.max(1),
            delay: delay.min(Duration::from_secs(60)),
            next: None,
            held: BTreeMap::new(),
        }
    }

    pub(super) fn classify(&self, seq: u16) -> Verdict {
        let Some((next, next_ext)) = self.next else {
            return Verdict::InOrder;
        };
        let d = seq_diff(seq, next);
        if d == 0 {
            Verdict::InOrder
        } else if d > 0 && d <= MAX_DROPOUT {
            if self.held.contains_key(&(next_ext + d as u64)) {
                Verdict::Late
            } else {
                Verdict::Early
            }
        } else if (-MAX_MISORDER..0).contains(&d) {
            Verdict::Late
        } else {
            Verdict::Resync
        }
    }

    /// The packet `seq` was processed in order (after `InOrder` or `Resync`).
    pub(super) fn advance(&mut self, seq: u16) {
        let next_ext = match self.next {
            Some((next, next_ext)) => {
                let d = seq_diff(seq, next);
                if (0..=MAX_DROPOUT).contains(&d) {
                    next_ext + d as u64 + 1
                } else {
                    // Resync: the old numbering is gone (held was drained before).
                    self.held.clear();
                    1 << 32
                }
            }
            None => 1 << 32,
        };
        self.next = Some((seq.wrapping_add(1), next_ext));
    }

    /// Keep a copy of an `Early` packet.
    pub(super) fn hold(&mut self, held: Held) {
        let Some((next, next_ext)) = self.next else {
            return;
        };
        let d = seq_diff(held.seq, next);
        if d > 0 {
            self.held.entry(next_ext + d as u64).or_insert(held);
        }
    }

    /// Next packet that may be processed now: the one right after the last processed, or —
    /// when the window is over-full or the oldest packet waited `delay` — the lowest held one
    /// (skipping the gap). Call [`Reorder::advance`] with its `seq` after processing it.
    pub(super) fn pop_ready(&mut self, now: Instant) -> Option<Held> {
        let (&key, _) = self.held.first_key_value()?;
        let in_order = self.next.is_some_and(|(_, ext)| ext == key);
        let overfull = self.held.len() > self.window;
        let expired = self.deadline().is_some_and(|d| d <= now);
        if in_order || overfull || expired {
            let held = self.held.remove(&key)?;
            // Make the popped packet the "previous" one so `advance` lands on key + 1.
            if let Some(next) = self.next.as_mut() {
                let skipped = key.saturating_sub(next.1);
                next.0 = held.seq;
                next.1 += skipped;
            }
            Some(held)
        } else {
            None
        }
    }

    /// Release everything held, lowest first (before a resync or when media stops).
    pub(super) fn drain_all(&mut self) -> Vec<Held> {
        let held = std::mem::take(&mut self.held);
        let out: Vec<Held> = held.into_values().collect();
        if let (Some(last), Some(next)) = (out.last(), self.next.as_mut()) {
            // Continue numbering after the last released packet.
            let d = seq_diff(last.seq, next.0).max(0) as u64;
            next.0 = last.seq.wrapping_add(1);
            next.1 += d + 1;
        }
        out
    }

    /// When the oldest held packet stops waiting.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.held
            .values()
            .map(|h| h.arrived)
            .min()
            .map(|t| t + self.delay)
    }

    /// Expect `seq` first (announced by PLAY's `RTP-Info`): a later packet that arrives
    /// before it is held for it, not taken as the start.
    pub(super) fn start_at(&mut self, seq: u16) {
        self.held.clear();
        self.next = Some((seq, 1 << 32));
    }

    /// Forget the expected sequence number (e.g. when the announced one proved wrong).
    pub(super) fn reset(&mut self) {
        self.next = None;
        self.held.clear();
    }
}

#[cfg(test)]
#[allow(
    clippy::disallowed_methods,
    reason = "tests read the clock once, as the epoch of their virtual time"
)]
mod tests {
    use super::*;

    fn held(seq: u16, t: Instant) -> Held {
        Held {
            seq,
            data: vec![seq as u8],
            arrived: t,
        }
    }

    /// Feed `seqs` at time `t`, return the processing order.
    fn run(r: &mut Reorder, seqs: &[u16], t: Instant) -> Vec<u16> {
        let mut out = Vec::new();
        for &s in seqs {
            match r.classify(s) {
                Verdict::InOrder => {
                    out.push(s);
                    r.advance(s);
                }
                Verdict::Early => r.hold(held(s, t)),
                Verdict::Late => {}
                Verdict::Resync => {
                    for h in r.drain_all() {
                        out.push(h.seq);
                    }
                    out.push(s);
                    r.advance(s);
                }
            }
            while let Some(h) = r.pop_ready(t) {
                out.push(h.seq);
                r.advance(h.seq);
            }
        }
        out
    }

    #[test]
    fn in_order_passes_through() {
        let t = Instant::now();
        let mut r = Reorder::new(8, Duration::from_millis(50));
        assert_eq!(run(&mut r, &[10, 11, 12], t), vec![10, 11, 12]);
        assert_eq!(r.deadline(), None);
    }

    #[test]
    fn swaps_are_fixed_and_duplicates_dropped() {
        let t = Instant::now();
        let mut r = Reorder::new(8, Duration::from_millis(50));
        assert_eq!(
            run(&mut r, &[1, 3, 2, 2, 5, 4, 4, 6], t),
            vec![1, 2, 3, 4, 5, 6]
        );
    }

    #[test]
    fn wraparound() {
        let t = Instant::now();
        let mut r = Reorder::new(8, Duration::from_millis(50));
        assert_eq!(
            run(&mut r, &[65534, 0, 65535, 1], t),
            vec![65534, 65535, 0, 1]
        );
    }

    #[test]
    fn gap_released_by_window_or_deadline() {
        let t = Instant::now();
        let mut r = Reorder::new(2, Duration::from_millis(50));
        // 2 is lost: 3 and 4 wait, 5 overfills the window of 2.
        assert_eq!(run(&mut r, &[1, 3, 4, 5], t), vec![1, 3, 4, 5]);
        // 7 waits for 6 until the deadline.
        assert_eq!(run(&mut r, &[7], t), Vec::<u16>::new());
        assert_eq!(r.deadline(), Some(t + Duration::from_millis(50)));
        assert!(r.pop_ready(t + Duration::from_millis(49)).is_none());
        let h = r.pop_ready(t + Duration::from_millis(50)).unwrap();
        assert_eq!(h.seq, 7);
        r.advance(7);
        // The late 6 is dropped, 8 flows.
        assert_eq!(run(&mut r, &[6, 8], t), vec![8]);
    }

    #[test]
    fn announced_start_waits_for_the_first_packet() {
        let t = Instant::now();
        let mut r = Reorder::new(8, Duration::from_millis(50));
        r.start_at(65535);
        // 0 overtook 65535: held until it arrives.
        assert_eq!(run(&mut r, &[0], t), Vec::<u16>::new());
        assert_eq!(run(&mut r, &[65535, 1], t), vec![65535, 0, 1]);
    }

    #[test]
    fn big_jump_resyncs() {
        let t = Instant::now();
        let mut r = Reorder::new(8, Duration::from_millis(50));
        assert_eq!(
            run(&mut r, &[100, 102, 40000, 40001], t),
            vec![100, 102, 40000, 40001]
        );
    }
}
