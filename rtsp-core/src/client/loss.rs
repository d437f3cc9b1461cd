//! RFC 3550 reception statistics whose loss count may start before the first packet that
//! arrived: PLAY's `RTP-Info: seq=` names the first packet, and when a later one overtakes it
//! the packets in between are still expected (received late, or lost).

use std::time::Instant;

use rtp_core::rtcp::ReportBlock;
use rtp_core::{NtpTime, ReceiverStats, SeqStatus};

/// [`ReceiverStats`] plus packets expected before the first arrival.
#[derive(Debug, Clone)]
pub(super) struct LossStats {
    inner: ReceiverStats,
    /// Sequence numbers from the announced first one up to (not including) the first arrival.
    before_first: u64,
    /// Expected and received at the last report block (the fraction-lost interval).
    prior: (u64, u64),
}

impl LossStats {
    pub(super) fn new(clock_rate: u32) -> Self {
        Self {
            inner: ReceiverStats::new(clock_rate),
            before_first: 0,
            prior: (0, 0),
        }
    }

    /// The first packet arrived `n` sequence numbers after the announced first one.
    pub(super) fn set_before_first(&mut self, n: u64) {
        self.before_first = n;
    }

    pub(super) fn update(&mut self, seq: u16, rtp_timestamp: u32, arrival: u32) -> SeqStatus {
        let status = self.inner.update(seq, rtp_timestamp, arrival);
        if status == SeqStatus::Restarted {
            // The source restarted its numbering: the announced start means nothing now.
            self.before_first = 0;
            self.prior = (0, 0);
        }
        status
    }

    pub(super) fn record_sender_report(&mut self, ntp_time: NtpTime, now: Instant) {
        self.inner.record_sender_report(ntp_time, now);
    }

    fn expected(&self) -> u64 {
        match self.inner.expected() {
            0 => 0,
            e => e + self.before_first,
        }
    }

    /// Cumulative packets lost (negative when duplicates outnumber losses).
    pub(super) fn lost(&self) -> i64 {
        self.expected() as i64 - self.inner.received() as i64
    }

    /// Fraction lost (1/256) since the last report block.
    pub(super) fn fraction_lost(&self) -> u8 {
        let expected = self.expected().saturating_sub(self.prior.0);
        let received = self.inner.received().saturating_sub(self.prior.1);
        let lost = expected as i64 - received as i64;
        if expected == 0 || lost <= 0 {
            0
        } else {
            ((lost << 8) / expected as i64).min(255) as u8
        }
    }

    pub(super) fn jitter(&self) -> u32 {
        self.inner.jitter()
    }

    pub(super) fn duplicates(&self) -> u64 {
        self.inner.duplicates()
    }

    pub(super) fn reordered(&self) -> u64 {
        self.inner.reordered()
    }

    /// A report block about `ssrc`; starts a new fraction-lost interval.
    pub(super) fn report_block(&mut self, ssrc: u32, now: Instant) -> ReportBlock {
        let fraction_lost = self.fraction_lost();
        let cumulative_lost = self.lost().clamp(-0x80_0000, 0x7f_ffff) as i32;
        let mut block = self.inner.report_block(ssrc, now);
        block.fraction_lost = fraction_lost;
        block.cumulative_lost = cumulative_lost;
        self.prior = (self.expected(), self.inner.received());
        block
    }
}

#[cfg(test)]
#[allow(
    clippy::disallowed_methods,
    reason = "tests read the clock once, as the epoch of their virtual time"
)]
mod tests {
    use super::*;

    fn feed(s: &mut LossStats, seqs: &[u16]) {
        for &q in seqs {
            s.update(q, 0, 0);
        }
    }

    #[test]
    fn without_an_announced_start_it_is_receiver_stats() {
        let mut s = LossStats::new(90_000);
        let mut r = ReceiverStats::new(90_000);
        for q in [10u16, 12, 11, 11, 15, 16] {
            s.update(q, 0, 0);
            r.update(q, 0, 0);
        }
        assert_eq!((s.lost(), s.fraction_lost()), (r.lost(), r.fraction_lost()));
        let now = Instant::now();
        assert_eq!(s.report_block(1, now), r.report_block(1, now));
    }

    #[test]
    fn packets_before_the_first_arrival_are_expected() {
        // Announced 100; 101 overtook it, then 100 arrived late: nothing lost.
        let mut s = LossStats::new(90_000);
        s.set_before_first(1);
        feed(&mut s, &[101, 100, 102]);
        assert_eq!((s.lost(), s.reordered()), (0, 1));
        // Announced 100; 102 came first and 100 never did: one lost.
        let mut s = LossStats::new(90_000);
        s.set_before_first(2);
        feed(&mut s, &[102, 101, 103]);
        assert_eq!(s.lost(), 1);
        let block = s.report_block(7, Instant::now());
        assert_eq!(block.cumulative_lost, 1);
        assert_eq!(block.fraction_lost, (256 / 4) as u8);
        assert_eq!(s.fraction_lost(), 0, "a new interval");
    }
}
