//! Receiver statistics (RFC 3550 A.1 sequence validation, A.3 loss, A.8 jitter).
use std::time::Instant;

use crate::ntp::duration_to_ntp_short;
use crate::rtcp::ReportBlock;
use crate::seq::{MAX_DROPOUT, MAX_MISORDER};
use crate::NtpTime;

const RTP_SEQ_MOD: u32 = 1 << 16;

/// How a packet relates to the sequence seen so far (returned by [`ReceiverStats::update`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SeqStatus {
    /// Newer than every packet so far (possibly after a gap). Counted.
    InOrder,
    /// Older than the highest, not seen before (late/reordered). Counted.
    Reordered,
    /// Already received (detected within the last 128 sequence numbers). Counted, as RFC 3550
    /// does, so the cumulative loss can go negative.
    Duplicate,
    /// The source is still on probation (RFC 3550 A.1 `MIN_SEQUENTIAL`). Not counted.
    Probation,
    /// A large jump in sequence numbers, not (yet) believed. Not counted. If the next packet
    /// follows it, the statistics restart there.
    Jump,
    /// The packet confirmed a jump: the statistics were reset and restarted from it. Counted.
    Restarted,
}

/// Reception statistics of one RTP source (what an RTCP receiver report block carries).
///
/// Feed every RTP packet of the source to [`update`](Self::update) (or
/// [`update_at`](Self::update_at)); call [`record_sender_report`](Self::record_sender_report) when
/// an SR from the source arrives; call [`report_block`](Self::report_block) when sending an RR.
///
/// ```
/// # use rtp_core::ReceiverStats;
/// let mut s = ReceiverStats::new(90_000);
/// for (i, seq) in [10u16, 11, 13, 12, 14].into_iter().enumerate() {
///     s.update(seq, 3000 * i as u32, 3000 * i as u32);
/// }
/// assert_eq!((s.received(), s.expected(), s.lost()), (5, 5, 0));
/// assert_eq!(s.reordered(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct ReceiverStats {
    clock_rate: u32,
    min_sequential: u32,
    started: bool,
    probation: u32,
    base_seq: u32,
    max_seq: u16,
    bad_seq: u32,
    cycles: u64,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    transit: Option<u32>,
    /// Jitter scaled by 16 (A.8 integer form).
    jitter_q4: u32,
    duplicates: u64,
    reordered: u64,
    /// Bit i: `max_seq - i` was received (i < 128).
    window: u128,
    anchor: Option<Instant>,
    last_sr: Option<(u32, Instant)>,
}

impl ReceiverStats {
    /// Statistics for a source with `clock_rate` Hz RTP timestamps (90 000 for JPEG). The first
    /// packet is accepted at once (no probation, as fits a unicast session whose source is known);
    /// see [`with_probation`](Self::with_probation).
    pub fn new(clock_rate: u32) -> Self {
        Self {
            clock_rate,
            min_sequential: 0,
            started: false,
            probation: 0,
            base_seq: 0,
            max_seq: 0,
            bad_seq: RTP_SEQ_MOD + 1,
            cycles: 0,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            transit: None,
            jitter_q4: 0,
            duplicates: 0,
            reordered: 0,
            window: 0,
            anchor: None,
            last_sr: None,
        }
    }

    /// Require `min_sequential` packets in sequence before the source counts (RFC 3550 A.1
    /// suggests 2). Set before the first update.
    pub fn with_probation(mut self, min_sequential: u32) -> Self {
        self.min_sequential = min_sequential;
        self
    }

    /// The clock rate given to [`new`](Self::new).
    pub fn clock_rate(&self) -> u32 {
        self.clock_rate
    }

    /// RFC 3550 A.1 `init_seq`.
    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.bad_seq = RTP_SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
        self.window = 1;
        self.transit = None;
    }

    /// Record a packet: its sequence number, RTP timestamp, and arrival time in the same clock
    /// units as the timestamp (any origin; only differences matter, modulo 2^32).
    pub fn update(&mut self, seq: u16, rtp_timestamp: u32, arrival: u32) -> SeqStatus {
        if !self.started {
            self.started = true;
            self.init_seq(seq);
            self.max_seq = seq.wrapping_sub(1);
            self.probation = self.min_sequential;
            self.window = 0;
        }
        let udelta = seq.wrapping_sub(self.max_seq);
        let status = if self.probation > 0 {
            // Source not valid until min_sequential packets in sequence have been received.
            if udelta == 1 {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    SeqStatus::InOrder
                } else {
                    return SeqStatus::Probation;
                }
            } else {
                self.probation = self.min_sequential.saturating_sub(1);
                self.max_seq = seq;
                return SeqStatus::Probation;
            }
        } else if !self.counted_yet() {
            self.init_seq(seq);
            SeqStatus::InOrder
        } else if udelta == 0 {
            self.duplicates += 1;
            SeqStatus::Duplicate
        } else if udelta < MAX_DROPOUT {
            // In order, with a permissible gap.
            if seq < self.max_seq {
                self.cycles += u64::from(RTP_SEQ_MOD); // wrapped
            }
            self.max_seq = seq;
            self.window = if udelta >= 128 {
                0
            } else {
                self.window << udelta
            };
            self.window |= 1;
            SeqStatus::InOrder
        } else if u32::from(udelta) <= RTP_SEQ_MOD - u32::from(MAX_MISORDER) {
            // A very large jump.
            if u32::from(seq) == self.bad_seq {
                // Two sequential packets: assume the other side restarted without telling us.
                self.init_seq(seq);
                SeqStatus::Restarted
            } else {
                self.bad_seq = (u32::from(seq) + 1) & (RTP_SEQ_MOD - 1);
                return SeqStatus::Jump;
            }
        } else {
            // Duplicate or reordered packet, up to MAX_MISORDER behind.
            let back = self.max_seq.wrapping_sub(seq);
            let bit = 1u128.checked_shl(u32::from(back)).unwrap_or(0);
            if self.window & bit != 0 {
                self.duplicates += 1;
                SeqStatus::Duplicate
            } else {
                self.window |= bit;
                self.reordered += 1;
                SeqStatus::Reordered
            }
        };
        self.received += 1;
        self.update_jitter(rtp_timestamp, arrival);
        status
    }

    /// Whether a packet was counted since the last `init_seq` (false only before the first one).
    fn counted_yet(&self) -> bool {
        self.received > 0 || self.window != 0
    }

    /// RFC 3550 A.8.
    fn update_jitter(&mut self, rtp_timestamp: u32, arrival: u32) {
        let transit = arrival.wrapping_sub(rtp_timestamp);
        if let Some(prev) = self.transit {
            let d = (transit.wrapping_sub(prev) as i32).unsigned_abs();
            // J += (|D| - J) / 16, kept scaled by 16.
            self.jitter_q4 = self
                .jitter_q4
                .wrapping_add(d)
                .wrapping_sub((self.jitter_q4 + 8) >> 4);
        }
        self.transit = Some(transit);
    }

    /// Like [`update`](Self::update), with the arrival time as an `Instant` (converted to clock
    /// units from the first instant given here; instants must not go backwards).
    pub fn update_at(&mut self, seq: u16, rtp_timestamp: u32, now: Instant) -> SeqStatus {
        let anchor = *self.anchor.get_or_insert(now);
        let ticks = now.saturating_duration_since(anchor).as_nanos() * u128::from(self.clock_rate)
            / 1_000_000_000;
        self.update(seq, rtp_timestamp, ticks as u32)
    }

    /// Remember the last SR of this source (for LSR/DLSR of the next report block).
    pub fn record_sender_report(&mut self, ntp_time: NtpTime, now: Instant) {
        self.last_sr = Some((ntp_time.middle32(), now));
    }

    /// Packets counted (including duplicates), since the start or the last restart.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Extended highest sequence number (`cycles + max_seq`), 0 before the first counted packet.
    pub fn extended_highest(&self) -> u64 {
        if self.counted_yet() {
            self.cycles + u64::from(self.max_seq)
        } else {
            0
        }
    }

    /// Packets expected: extended highest - base + 1 (0 before the first counted packet).
    pub fn expected(&self) -> u64 {
        if self.counted_yet() {
            (self.cycles + u64::from(self.max_seq) + 1).saturating_sub(u64::from(self.base_seq))
        } else {
            0
        }
    }

    /// Cumulative packets lost: expected - received. Negative when duplicates outnumber losses.
    pub fn lost(&self) -> i64 {
        self.expected() as i64 - self.received as i64
    }

    /// [`lost`](Self::lost) clamped at 0, for display.
    pub fn lost_clamped(&self) -> u64 {
        self.lost().max(0) as u64
    }

    /// Fraction lost (in 1/256) since the last [`report_block`](Self::report_block), without
    /// starting a new interval.
    pub fn fraction_lost(&self) -> u8 {
        let expected_interval = self.expected().saturating_sub(self.expected_prior);
        let received_interval = self.received.saturating_sub(self.received_prior);
        let lost_interval = expected_interval as i64 - received_interval as i64;
        if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        }
    }

    /// Interarrival jitter in RTP timestamp units.
    pub fn jitter(&self) -> u32 {
        self.jitter_q4 >> 4
    }

    /// Duplicates seen.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Late (reordered) packets seen.
    pub fn reordered(&self) -> u64 {
        self.reordered
    }

    /// Build a report block about source `ssrc` and start a new interval for the fraction lost.
    /// `now` gives the delay since the last SR recorded with
    /// [`record_sender_report`](Self::record_sender_report).
    pub fn report_block(&mut self, ssrc: u32, now: Instant) -> ReportBlock {
        let fraction_lost = self.fraction_lost();
        self.expected_prior = self.expected();
        self.received_prior = self.received;
        let (last_sr, delay_since_last_sr) = match self.last_sr {
            Some((lsr, at)) => (
                lsr,
                duration_to_ntp_short(now.saturating_duration_since(at)),
            ),
            None => (0, 0),
        };
        ReportBlock {
            ssrc,
            fraction_lost,
            cumulative_lost: self.lost().clamp(-0x80_0000, 0x7f_ffff) as i32,
            extended_highest_seq: self.extended_highest() as u32,
            jitter: self.jitter(),
            last_sr,
            delay_since_last_sr,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    /// The one clock read of these tests: an arbitrary epoch; everything else is offsets from it.
    #[allow(
        clippy::disallowed_methods,
        reason = "one arbitrary epoch; the tests only add offsets to it"
    )]
    fn epoch() -> Instant {
        Instant::now()
    }

    fn feed(s: &mut ReceiverStats, seqs: &[u16]) -> Vec<SeqStatus> {
        seqs.iter().map(|&q| s.update(q, 0, 0)).collect()
    }

    #[test]
    fn in_order() {
        let mut s = ReceiverStats::new(90_000);
        assert_eq!(
            (s.received(), s.expected(), s.extended_highest()),
            (0, 0, 0)
        );
        assert!(feed(&mut s, &[100, 101, 102])
            .iter()
            .all(|&x| x == SeqStatus::InOrder));
        assert_eq!(
            (s.received(), s.expected(), s.lost(), s.extended_highest()),
            (3, 3, 0, 102)
        );
    }

    #[test]
    fn loss_and_fraction_lost() {
        let mut s = ReceiverStats::new(90_000);
        feed(&mut s, &[1, 2, 4, 5]); // 3 lost
        assert_eq!((s.received(), s.expected(), s.lost()), (4, 5, 1));
        assert_eq!(s.fraction_lost(), 51); // 1/5 * 256
        let t = epoch();
        let b = s.report_block(0xabc, t);
        assert_eq!(
            (
                b.ssrc,
                b.fraction_lost,
                b.cumulative_lost,
                b.extended_highest_seq
            ),
            (0xabc, 51, 1, 5)
        );
        assert_eq!(s.fraction_lost(), 0, "new interval");
        feed(&mut s, &[6, 7, 8, 9]);
        assert_eq!(s.report_block(0xabc, t).fraction_lost, 0);
        feed(&mut s, &[12]); // 10, 11 lost out of 3
        assert_eq!(s.fraction_lost(), (2 * 256 / 3) as u8);
        assert_eq!(s.report_block(0xabc, t).cumulative_lost, 3);
    }

    #[test]
    fn wraparound_extends_highest() {
        let mut s = ReceiverStats::new(90_000);
        feed(&mut s, &[65534, 65535, 0, 1]);
        assert_eq!(s.extended_highest(), 65_537);
        assert_eq!((s.received(), s.expected(), s.lost()), (4, 4, 0));
        assert_eq!(s.report_block(1, epoch()).extended_highest_seq, 65_537);
    }

    #[test]
    fn duplicates_make_loss_negative() {
        let mut s = ReceiverStats::new(90_000);
        let st = feed(&mut s, &[10, 11, 11, 12, 10]);
        assert_eq!(st[2], SeqStatus::Duplicate);
        assert_eq!(st[4], SeqStatus::Duplicate);
        assert_eq!(s.duplicates(), 2);
        assert_eq!(s.lost(), -2);
        assert_eq!(s.lost_clamped(), 0);
        assert_eq!(s.report_block(1, epoch()).cumulative_lost, -2);
    }

    #[test]
    fn reordered_packets() {
        let mut s = ReceiverStats::new(90_000);
        let st = feed(&mut s, &[10, 12, 11, 13]);
        assert_eq!(
            st,
            vec![
                SeqStatus::InOrder,
                SeqStatus::InOrder,
                SeqStatus::Reordered,
                SeqStatus::InOrder
            ]
        );
        assert_eq!((s.reordered(), s.duplicates(), s.lost()), (1, 0, 0));
    }

    #[test]
    fn probation() {
        let mut s = ReceiverStats::new(90_000).with_probation(2);
        assert_eq!(s.update(50, 0, 0), SeqStatus::Probation);
        assert_eq!(
            s.update(52, 0, 0),
            SeqStatus::Probation,
            "not sequential: probation restarts"
        );
        assert_eq!(s.update(53, 0, 0), SeqStatus::InOrder);
        assert_eq!((s.received(), s.expected()), (1, 1));
        assert_eq!(s.update(54, 0, 0), SeqStatus::InOrder);
        assert_eq!((s.received(), s.expected()), (2, 2));
    }

    #[test]
    fn large_jump_then_restart() {
        let mut s = ReceiverStats::new(90_000);
        feed(&mut s, &[1000, 1001]);
        assert_eq!(s.update(30_000, 0, 0), SeqStatus::Jump);
        assert_eq!(s.received(), 2, "a lone jump is not counted");
        assert_eq!(s.update(1002, 0, 0), SeqStatus::InOrder);
        assert_eq!(s.update(40_000, 0, 0), SeqStatus::Jump);
        assert_eq!(s.update(40_001, 0, 0), SeqStatus::Restarted);
        assert_eq!(
            (s.received(), s.expected(), s.extended_highest()),
            (1, 1, 40_001)
        );
    }

    #[test]
    fn jitter_per_a8() {
        let mut s = ReceiverStats::new(90_000);
        // Constant transit: no jitter.
        for i in 0..50u32 {
            s.update(i as u16, i * 3000, i * 3000 + 777);
        }
        assert_eq!(s.jitter(), 0);
        // Transit alternating by 160: |D| = 160 each packet, J converges to 160.
        for i in 50..400u32 {
            s.update(i as u16, i * 3000, i * 3000 + (i % 2) * 160);
        }
        assert!((155..=160).contains(&s.jitter()), "{}", s.jitter());
        // One step from J = 0: J = |D| / 16.
        let mut s = ReceiverStats::new(90_000);
        s.update(0, 0, 0);
        s.update(1, 3000, 3000 + 1600);
        assert_eq!(s.jitter(), 100);
        // Wrapping timestamps and arrival times.
        let mut s = ReceiverStats::new(90_000);
        s.update(0, u32::MAX - 100, u32::MAX);
        s.update(1, 100, 200 + 1600);
        assert_eq!(s.jitter(), 100);
    }

    #[test]
    fn update_at_converts_instants() {
        let t0 = epoch();
        let mut s = ReceiverStats::new(90_000);
        s.update_at(0, 0, t0);
        // Arrives 1/30 s later but its timestamp says 2/30 s: |D| = 3000.
        s.update_at(
            1,
            6000,
            t0 + Duration::from_millis(1000 / 30) + Duration::from_nanos(333_334),
        );
        assert_eq!(s.jitter(), 3000 / 16);
    }

    #[test]
    fn lsr_and_dlsr() {
        let t0 = epoch();
        let mut s = ReceiverStats::new(90_000);
        s.update(1, 0, 0);
        assert_eq!(s.report_block(1, t0).last_sr, 0);
        let ntp = NtpTime::from_parts(0x1234_5678, 0x9abc_def0);
        s.record_sender_report(ntp, t0);
        let b = s.report_block(1, t0 + Duration::from_millis(1500));
        assert_eq!(b.last_sr, 0x5678_9abc);
        assert_eq!(b.delay_since_last_sr, 0x0001_8000);
        assert_eq!(b.jitter, 0);
    }

    proptest! {
        #[test]
        fn random_sequences_keep_invariants(
            seqs in prop::collection::vec(any::<u16>(), 0..300),
            start in any::<u16>(),
            steps in prop::collection::vec(-5i16..10, 0..300),
        ) {
            let mut s = ReceiverStats::new(90_000).with_probation(1);
            for q in seqs {
                s.update(q, q.into(), 0);
            }
            let mut s2 = ReceiverStats::new(90_000);
            let mut q = start;
            for d in steps {
                q = q.wrapping_add(d as u16);
                s2.update(q, 0, u32::from(q));
                prop_assert_eq!(s2.lost(), s2.expected() as i64 - s2.received() as i64);
                prop_assert_eq!(s2.extended_highest() as u16, s2.max_seq);
            }
            let _ = s.report_block(0, epoch());
            let _ = s2.report_block(0, epoch());
        }
    }
}
