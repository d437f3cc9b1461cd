//! The media side of the client: RTP in (SSRC lock, statistics, reordering, depacketizing),
//! RTCP in (sender reports) and RTCP out (receiver reports, SDES, BYE).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rtp_core::jpeg::{lab_frame, DepacketizeError, JpegDepacketizer};
use rtp_core::rtcp::{Bye, ReceiverReport, RtcpPacket, Sdes, SdesChunk, SdesItem};
use rtp_core::{seq_diff, RtpError, RtpPacket, SeqStatus};

use super::config::Dialect;
use super::event::{ClientEvent, ClientStats};
use super::loss::LossStats;
use super::reorder::{Held, Reorder, Verdict};
use crate::io::Output;

/// RTP clock rate of RTP/JPEG (RFC 2435).
const JPEG_CLOCK: u32 = 90_000;
/// Packets from one foreign SSRC, with none from the announced one, before we re-lock to it
/// (servers whose `Transport: ssrc=` does not match what they send).
const RELOCK_AFTER: u32 = 16;
/// How far after PLAY's announced first sequence number the first packet may arrive for the
/// announcement to be believed; farther (or before it), the server's `RTP-Info` is wrong and
/// the first packet that arrived is the start.
const ANNOUNCED_SEQ_SLACK: i16 = 100;

/// Where media and RTCP travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Path {
    /// UDP sockets; `server_rtcp` is where receiver reports go, if known.
    Udp {
        rtp_local: core::net::SocketAddr,
        rtcp_local: core::net::SocketAddr,
        server_rtcp: Option<core::net::SocketAddr>,
    },
    /// Interleaved channels on the control connection.
    Tcp { rtp_channel: u8, rtcp_channel: u8 },
}

/// Options the media receiver is created with.
#[derive(Debug, Clone)]
pub(super) struct MediaOptions {
    /// Whose rules (see `lab.rs`) the media follows.
    pub(super) dialect: Dialect,
    pub(super) max_frame_len: usize,
    pub(super) reorder_window: usize,
    pub(super) reorder_delay: Duration,
}

/// Receive state for the one track.
#[derive(Debug)]
pub(super) struct Media {
    pub(super) path: Path,
    dialect: Dialect,
    max_frame_len: usize,
    /// SSRC packets are accepted from.
    ssrc: Option<u32>,
    /// Whether `ssrc` came from the SETUP reply (and no packet of it arrived yet).
    ssrc_unconfirmed: bool,
    /// A foreign SSRC seen while `ssrc_unconfirmed`, and how many packets of it in a row.
    foreign: Option<(u32, u32)>,
    stats: LossStats,
    /// PLAY's `RTP-Info: seq=`, until the first packet shows whether to believe it.
    announced_seq: Option<u16>,
    /// When the last RTP or RTCP packet of the media source arrived.
    last_heard: Option<Instant>,
    depack: JpegDepacketizer,
    reorder: Option<Reorder>,
    epoch: Instant,
    counters: ClientStats,
    lab_dropped: u64,
    /// Fraction lost (1/256) of the last report block built, once one was.
    last_fraction_lost: Option<u8>,
    /// The media source said BYE.
    bye_seen: bool,
    /// After the BYE over UDP: its SSRC and when the end is reported (RTP still arriving
    /// until then is taken). See [`super::ClientConfig::end_of_stream_grace`].
    end_grace: Option<(u32, Instant)>,
    /// Why the last unparseable packet was refused.
    last_rtp_error: Option<RtpError>,
    /// The depacketizer's (or the lab check's) last complaint.
    last_depacketize_error: Option<DepacketizeError>,
}

impl Media {
    pub(super) fn new(path: Path, opts: &MediaOptions, epoch: Instant) -> Self {
        let reorder = match path {
            Path::Udp { .. } if opts.reorder_window > 0 => {
                Some(Reorder::new(opts.reorder_window, opts.reorder_delay))
            }
            _ => None,
        };
        Self {
            path,
            dialect: opts.dialect,
            max_frame_len: opts.max_frame_len,
            ssrc: None,
            ssrc_unconfirmed: false,
            foreign: None,
            stats: LossStats::new(JPEG_CLOCK),
            announced_seq: None,
            last_heard: None,
            depack: JpegDepacketizer::new(opts.max_frame_len),
            reorder,
            epoch,
            counters: ClientStats::default(),
            lab_dropped: 0,
            last_fraction_lost: None,
            bye_seen: false,
            end_grace: None,
            last_rtp_error: None,
            last_depacketize_error: None,
        }
    }

    /// The SETUP reply announced the SSRC.
    pub(super) fn expect_ssrc(&mut self, ssrc: u32) {
        if self.ssrc.is_none() {
            self.ssrc = Some(ssrc);
            self.ssrc_unconfirmed = true;
        }
    }

    /// PLAY announced the sequence number of the first packet (`RTP-Info: seq=`). Used only
    /// before any packet arrived: the reordering buffer then waits for that packet even if a
    /// later one overtakes it, and loss counts from it.
    pub(super) fn announce_seq(&mut self, seq: u16) {
        if self.counters.packets > 0 || !self.dialect.takes_rtp_info() {
            return;
        }
        self.announced_seq = Some(seq);
        if let Some(r) = self.reorder.as_mut() {
            r.start_at(seq);
        }
    }

    /// Why the last unparseable RTP packet was refused, if one was.
    pub(super) fn last_rtp_error(&self) -> Option<&RtpError> {
        self.last_rtp_error.as_ref()
    }

    /// The depacketizer's last complaint, if it had one.
    pub(super) fn last_depacketize_error(&self) -> Option<&DepacketizeError> {
        self.last_depacketize_error.as_ref()
    }

    /// When the last RTP or RTCP packet from the media source arrived, if any did.
    pub(super) fn last_heard(&self) -> Option<Instant> {
        self.last_heard
    }

    /// Whether the UDP socket at `local` is our RTP (`Some(true)`) or RTCP (`Some(false)`) one.
    pub(super) fn udp_role(&self, local: core::net::SocketAddr) -> Option<bool> {
        let Path::Udp {
            rtp_local,
            rtcp_local,
            ..
        } = self.path
        else {
            return None;
        };
        let same = |a: core::net::SocketAddr, b: core::net::SocketAddr| {
            a == b || (a.port() == b.port() && (a.ip().is_unspecified() || b.ip().is_unspecified()))
        };
        if same(local, rtp_local) {
            Some(true)
        } else if self.dialect.receives_rtcp() && same(local, rtcp_local) {
            Some(false)
        } else {
            None
        }
    }

    /// Whether interleaved `channel` is our RTP (`Some(true)`) or RTCP (`Some(false)`) one.
    pub(super) fn channel_role(&self, channel: u8) -> Option<bool> {
        match self.path {
            Path::Tcp {
                rtp_channel,
                rtcp_channel,
            } => {
                if channel == rtp_channel {
                    Some(true)
                } else if channel == rtcp_channel {
                    Some(false)
                } else {
                    None
                }
            }
            Path::Udp { .. } => None,
        }
    }

    fn arrival_units(&self, now: Instant) -> u32 {
        let nanos = now.saturating_duration_since(self.epoch).as_nanos();
        (nanos * u128::from(JPEG_CLOCK) / 1_000_000_000) as u32
    }

    /// One RTP packet arrived.
    pub(super) fn handle_rtp(
        &mut self,
        now: Instant,
        data: &[u8],
        out: &mut VecDeque<Output<ClientEvent>>,
    ) {
        let pkt = match self.dialect.parse_rtp(data) {
            Ok(pkt) => pkt,
            Err(e) => {
                self.counters.ignored += 1;
                self.last_rtp_error = Some(e);
                return;
            }
        };
        if !self.accept_ssrc(pkt.header.ssrc) {
            self.counters.ignored += 1;
            return;
        }
        let seq = pkt.header.sequence;
        self.last_heard = Some(now);
        if let Some(first) = self.announced_seq.take() {
            let ahead = seq_diff(seq, first);
            if (0..=ANNOUNCED_SEQ_SLACK).contains(&ahead) {
                self.stats.set_before_first(ahead as u64);
            } else if let Some(r) = self.reorder.as_mut() {
                // A wrong announcement: start from this packet instead of dropping it.
                r.reset();
            }
        }
        self.counters.packets += 1;
        self.counters.bytes += data.len() as u64;
        let arrival = self.arrival_units(now);
        let status = self.stats.update(seq, pkt.header.timestamp, arrival);

        let Some(reorder) = self.reorder.as_mut() else {
            // Arrival order (TCP, or reordering disabled): skip exact duplicates only.
            if status != SeqStatus::Duplicate {
                self.process(&pkt, out);
            }
            return;
        };
        match reorder.classify(seq) {
            Verdict::InOrder => {
                self.process(&pkt, out);
                if let Some(r) = self.reorder.as_mut() {
                    r.advance(seq);
                }
            }
            Verdict::Early => reorder.hold(Held {
                seq,
                data: data.to_vec(),
                arrived: now,
            }),
            Verdict::Late => {}
            Verdict::Resync => {
                let held = reorder.drain_all();
                self.process_held(held, out);
                self.process(&pkt, out);
                if let Some(r) = self.reorder.as_mut() {
                    r.advance(seq);
                }
            }
        }
        self.release_ready(now, out);
    }

    /// Release packets the reordering buffer no longer needs to hold.
    pub(super) fn release_ready(&mut self, now: Instant, out: &mut VecDeque<Output<ClientEvent>>) {
        while let Some(held) = self.reorder.as_mut().and_then(|r| r.pop_ready(now)) {
            let seq = held.seq;
            self.process_raw(&held.data, out);
            if let Some(r) = self.reorder.as_mut() {
                r.advance(seq);
            }
        }
    }

    fn process_held(&mut self, held: Vec<Held>, out: &mut VecDeque<Output<ClientEvent>>) {
        for h in held {
            self.process_raw(&h.data, out);
        }
    }

    fn process_raw(&mut self, data: &[u8], out: &mut VecDeque<Output<ClientEvent>>) {
        if let Ok(pkt) = self.dialect.parse_rtp(data) {
            self.process(&pkt, out);
        }
    }

    /// When the media receiver wants to be woken up: the reordering buffer's wait, or the end
    /// of the end-of-stream grace.
    pub(super) fn deadline(&self) -> Option<Instant> {
        let reorder = self.reorder.as_ref().and_then(Reorder::deadline);
        let grace = self.end_grace.map(|(_, until)| until);
        match (reorder, grace) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether media travels over UDP (RTP and RTCP on separate sockets).
    pub(super) fn is_udp(&self) -> bool {
        matches!(self.path, Path::Udp { .. })
    }

    /// Report the end of `ssrc`'s stream at `until`, not now (see [`Media::take_end_due`]).
    pub(super) fn start_end_grace(&mut self, ssrc: u32, until: Instant) {
        self.end_grace = Some((ssrc, until));
    }

    /// The end-of-stream grace is over at `now`: its SSRC, once.
    pub(super) fn take_end_due(&mut self, now: Instant) -> Option<u32> {
        let (ssrc, until) = self.end_grace?;
        (until <= now).then(|| {
            self.end_grace = None;
            ssrc
        })
    }

    /// End the end-of-stream grace now, whether it is over or not: its SSRC, if one ran.
    pub(super) fn take_end_grace(&mut self) -> Option<u32> {
        self.end_grace.take().map(|(ssrc, _)| ssrc)
    }

    /// Nothing more will come: release every packet held for reordering (giving up on the
    /// gaps), emitting the frames they complete.
    pub(super) fn flush(&mut self, out: &mut VecDeque<Output<ClientEvent>>) {
        if let Some(held) = self.reorder.as_mut().map(Reorder::drain_all) {
            self.process_held(held, out);
        }
    }

    fn accept_ssrc(&mut self, ssrc: u32) -> bool {
        match self.ssrc {
            None => {
                self.ssrc = Some(ssrc);
                true
            }
            Some(s) if s == ssrc => {
                self.ssrc_unconfirmed = false;
                self.foreign = None;
                true
            }
            Some(_) if self.ssrc_unconfirmed => {
                let count = match self.foreign {
                    Some((f, n)) if f == ssrc => n + 1,
                    _ => 1,
                };
                self.foreign = Some((ssrc, count));
                if count >= RELOCK_AFTER {
                    self.ssrc = Some(ssrc);
                    self.ssrc_unconfirmed = false;
                    self.foreign = None;
                    self.stats = LossStats::new(JPEG_CLOCK);
                    // The announced first packet was of the other numbering.
                    self.announced_seq = None;
                    if let Some(r) = self.reorder.as_mut() {
                        r.reset();
                    }
                    true
                } else {
                    false
                }
            }
            Some(_) => false,
        }
    }

    /// Hand one in-order packet to the depacketizer (or take it as a whole frame, when the
    /// dialect says so).
    fn process(&mut self, pkt: &RtpPacket<'_>, out: &mut VecDeque<Output<ClientEvent>>) {
        if self.dialect.whole_jpeg_packets() {
            let frame = if pkt.payload.len() <= self.max_frame_len {
                lab_frame(pkt.payload, pkt.header.sequence)
            } else {
                Err(DepacketizeError::FrameTooLarge {
                    max: self.max_frame_len,
                })
            };
            match frame
                .map_err(|e| self.last_depacketize_error = Some(e))
                .ok()
            {
                Some(data) => {
                    self.counters.frames += 1;
                    out.push_back(Output::Event(ClientEvent::Frame {
                        timestamp: pkt.header.timestamp,
                        data,
                    }));
                }
                None => self.lab_dropped += 1,
            }
            return;
        }
        // An error means the frame was dropped; the depacketizer counts it.
        if let Err(e) = self.depack.push(pkt) {
            self.last_depacketize_error = Some(e);
        }
        while let Some(frame) = self.depack.pull() {
            self.counters.frames += 1;
            out.push_back(Output::Event(ClientEvent::Frame {
                timestamp: frame.timestamp,
                data: frame.data,
            }));
        }
    }

    /// One RTCP compound packet arrived. Returns the media source's SSRC when the packet
    /// carries a BYE from it (the stream ended), once per media receiver. The caller decides
    /// when to [`Media::flush`] and report the end.
    pub(super) fn handle_rtcp(&mut self, now: Instant, data: &[u8]) -> Option<u32> {
        let Ok(packets) = RtcpPacket::parse_compound(data) else {
            return None;
        };
        self.last_heard = Some(now);
        let mut ended = None;
        for p in packets {
            match p {
                RtcpPacket::SenderReport(sr) => {
                    let ours = match self.ssrc {
                        Some(s) => s == sr.ssrc,
                        None => true,
                    };
                    if ours {
                        self.counters.sender_reports += 1;
                        self.stats.record_sender_report(sr.ntp_time, now);
                    }
                }
                RtcpPacket::Bye(bye) if !self.bye_seen => {
                    // Before any media the SSRC may be unknown: any BYE then counts.
                    let source = match self.ssrc {
                        Some(s) => bye.ssrcs.contains(&s).then_some(s),
                        None => bye.ssrcs.first().copied(),
                    };
                    if let Some(s) = source {
                        self.bye_seen = true;
                        ended = Some(s);
                    }
                }
                _ => {}
            }
        }
        ended
    }

    /// A compound RTCP packet: RR (with a report block once a source is known) + SDES CNAME
    /// [+ BYE].
    pub(super) fn build_rtcp(
        &mut self,
        now: Instant,
        our_ssrc: u32,
        cname: &str,
        bye: bool,
    ) -> Vec<u8> {
        let mut reports = Vec::new();
        if let (Some(ssrc), true) = (self.ssrc, self.counters.packets > 0) {
            let block = self.stats.report_block(ssrc, now);
            self.last_fraction_lost = Some(block.fraction_lost);
            reports.push(block);
        }
        let mut buf = Vec::new();
        RtcpPacket::ReceiverReport(ReceiverReport {
            ssrc: our_ssrc,
            reports,
        })
        .write(&mut buf);
        let mut value = cname.as_bytes().to_vec();
        value.truncate(255);
        RtcpPacket::Sdes(Sdes {
            chunks: vec![SdesChunk {
                ssrc: our_ssrc,
                items: vec![SdesItem { kind: 1, value }],
            }],
        })
        .write(&mut buf);
        if bye {
            RtcpPacket::Bye(Bye {
                ssrcs: vec![our_ssrc],
                reason: None,
            })
            .write(&mut buf);
        }
        buf
    }

    /// Current statistics.
    pub(super) fn stats(&self) -> ClientStats {
        let mut s = self.counters;
        s.frames_dropped = self.depack.frames_dropped() + self.lab_dropped;
        s.ssrc = self.ssrc;
        s.lost = self.stats.lost();
        let fraction = self
            .last_fraction_lost
            .unwrap_or_else(|| self.stats.fraction_lost());
        s.fraction_lost = f64::from(fraction) / 256.0;
        s.duplicates = self.stats.duplicates();
        s.reordered = self.stats.reordered();
        s.jitter_ms = if self.dialect.reports_jitter() {
            f64::from(self.stats.jitter()) * 1000.0 / f64::from(JPEG_CLOCK)
        } else {
            0.0
        };
        s
    }
}
