//! One media session: its transport, play state, RTP clock and pacing.

use super::intake::Intake;
use super::lab;
use super::media::{LiveFrame, Media, MediaFrame, RTP_HEADER_LEN};
use super::rtcp::{self, SenderInfo};
use super::{Limit, ServerConfig, ServerEvent, SessionStats};
use crate::io::{ConnId, Dest, Emit, InlineHeader, Output, SharedTransmit, Transmit};
use crate::message::{write_interleaved, Dialect};
use crate::rng::Rng;
use bytes::Bytes;
use core::net::SocketAddr;
use rtp_core::{FixedHeader, NtpTime};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// RTP payload type of JPEG (RFC 3551).
const PT_JPEG: u8 = 26;
/// A late runtime never gets a catch-up burst: a late frame goes at once and the schedule
/// slips (the next frame a frame interval later), as long as the total slip since PLAY stays
/// under this many frame intervals; beyond, pacing returns to the PLAY schedule and skips
/// the frames in between (a stream never lags real time by more than this).
const MAX_SLIP: u64 = 4;
/// First RTCP SR after PLAY.
const SR_FIRST_DELAY: Duration = Duration::from_secs(1);
/// RTCP SR interval: 5 s, randomized by ±1 s (RFC 3550 §6.2 randomizes too).
const SR_INTERVAL_MS: u64 = 4_000;
const SR_JITTER_MS: u64 = 2_000;

/// Where a session's packets go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// RTP/AVP over UDP.
    Udp { rtp: SocketAddr, rtcp: SocketAddr },
    /// `$`-interleaved on a control connection.
    Interleaved {
        conn: ConnId,
        rtp_channel: u8,
        rtcp_channel: u8,
    },
    /// The course-lab client: one whole JPEG per UDP packet, no RTCP.
    Lab { rtp: SocketAddr },
}

/// Whether media flows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlayState {
    /// Set up (or paused, or at the end): nothing is sent.
    Ready,
    /// Frame `k0 + n` is due at `start + n / fps`.
    Playing { start: Instant, k0: u64 },
}

/// Context the server lends a session while it sends.
pub(crate) struct Tx<'a> {
    pub(crate) rtp_local: SocketAddr,
    pub(crate) rtcp_local: SocketAddr,
    /// [`ServerConfig::max_session_rate`](super::ServerConfig::max_session_rate).
    pub(crate) max_rate: u64,
    /// [`ServerConfig::lab_max_packet`](super::ServerConfig::lab_max_packet).
    pub(crate) lab_max_packet: usize,
    /// [`ServerConfig::bye_delay`].
    pub(crate) bye_delay: Duration,
    /// Wall-clock time now, since the UNIX epoch.
    pub(crate) wallclock: Duration,
    pub(crate) rng: &'a mut Rng,
    pub(crate) out: &'a mut VecDeque<Emit<ServerEvent>>,
}

impl<'a> Tx<'a> {
    /// The sending context of a server with this configuration, at `wallclock`.
    pub(crate) fn new(
        config: &ServerConfig,
        wallclock: Duration,
        rng: &'a mut Rng,
        out: &'a mut VecDeque<Emit<ServerEvent>>,
    ) -> Self {
        Self {
            rtp_local: config.rtp_local,
            rtcp_local: config.rtcp_local,
            max_rate: config.max_session_rate,
            lab_max_packet: config.lab_max_packet,
            bye_delay: config.bye_delay,
            wallclock,
            rng,
            out,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) id: String,
    pub(crate) peer: SocketAddr,
    /// Stream name (catalog path).
    pub(crate) stream: String,
    pub(crate) media: Arc<Media>,
    /// The URL the client used in SETUP (for RTP-Info).
    pub(crate) track_url: String,
    pub(crate) delivery: Delivery,
    /// The control connection that set it up (last): the only one that may touch it while
    /// it is open (see `Server::find_session`).
    pub(crate) control: Option<ConnId>,
    /// The user that set it up, when the server authenticates: only that user may touch it.
    pub(crate) user: Option<String>,
    /// When it was set up.
    pub(crate) created: Instant,
    /// Whether it was ever played (a session never played is reaped early).
    pub(crate) played: bool,
    pub(crate) looping: bool,
    pub(crate) state: PlayState,
    /// The schedule PLAY set (`start`, `k0`), which `state` slips from.
    origin: (Instant, u64),
    /// How far `state`'s schedule has slipped behind `origin`.
    slip: Duration,
    pub(crate) ssrc: u32,
    /// Next RTP sequence number.
    pub(crate) seq: u16,
    ts_base: u32,
    /// Frame counter of the media clock: the next frame's timestamp is `ts(k)`. Keeps
    /// counting across pauses, seeks and loops, so timestamps stay continuous.
    pub(crate) k: u64,
    /// Next media frame index.
    pub(crate) pos: usize,
    pub(crate) at_end: bool,
    /// Live streams: how the source's 90 kHz clock maps to this session's RTP time (the
    /// first frame it sent: its source time and its RTP timestamp), and the last frame sent
    /// (RTP timestamp, when).
    live_anchor: Option<(u64, u32)>,
    live_last: Option<(u32, Instant)>,
    /// When the RTCP BYE of a stream that reached its end goes out (see
    /// [`ServerConfig::bye_delay`]).
    pub(crate) bye_at: Option<Instant>,
    pub(crate) last_seen: Instant,
    pub(crate) next_sr: Option<Instant>,
    pub(crate) stats: SessionStats,
    /// The last receiver report about it: fraction lost (1/256), cumulative lost, jitter.
    pub(crate) last_report: Option<(u8, i32, u32)>,
    /// Its key in the server's timer heap.
    pub(crate) key: u64,
    /// Due time of its live entry in the timer heap.
    pub(crate) timer_at: Option<Instant>,
    cname: String,
    /// Rate cap: bytes that may be sent now (a bucket holding one second), refilled at
    /// `refilled`.
    tokens: f64,
    refilled: Instant,
    /// Limits already reported (once per session each).
    reported_rate: bool,
    reported_lab_size: bool,
    /// A publisher's session (ANNOUNCE, SETUP with `mode=record`): what it sends us. Such a
    /// session never plays; its `stream` is the path it publishes.
    pub(crate) intake: Option<Box<Intake>>,
}

impl Session {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: String,
        peer: SocketAddr,
        stream: String,
        media: Arc<Media>,
        track_url: String,
        delivery: Delivery,
        looping: bool,
        rng: &mut Rng,
        now: Instant,
    ) -> Self {
        let ssrc = rng.next_u32();
        let seq = rng.next_u32() as u16;
        let ts_base = rng.next_u32();
        let cname = format!("rtsp-mjpeg-{ssrc:08x}@server");
        Self {
            id,
            peer,
            stream,
            looping: media.loops(looping),
            media,
            track_url,
            delivery,
            control: None,
            user: None,
            created: now,
            played: false,
            state: PlayState::Ready,
            origin: (now, 0),
            slip: Duration::ZERO,
            ssrc,
            seq,
            ts_base,
            k: 0,
            pos: 0,
            at_end: false,
            live_anchor: None,
            live_last: None,
            bye_at: None,
            last_seen: now,
            next_sr: None,
            stats: SessionStats::default(),
            last_report: None,
            key: 0,
            timer_at: None,
            cname,
            tokens: f64::INFINITY,
            refilled: now,
            reported_rate: false,
            reported_lab_size: false,
            intake: None,
        }
    }

    /// The dialect of its client (see [`super::lab`]).
    pub(crate) fn dialect(&self) -> Dialect {
        self.delivery.dialect()
    }

    pub(crate) fn is_playing(&self) -> bool {
        matches!(self.state, PlayState::Playing { .. })
    }

    /// The connection the session dies with: the interleaved one, or its control connection
    /// if its dialect says so ([`Dialect::dies_with_control`]).
    pub(crate) fn conn(&self) -> Option<ConnId> {
        match self.delivery {
            Delivery::Interleaved { conn, .. } => Some(conn),
            _ if self.dialect().dies_with_control() => self.control,
            _ => None,
        }
    }

    /// The sequence number of the next packet (in the dialect's numbering).
    pub(crate) fn next_seq(&self) -> u16 {
        self.dialect().rtp_seq(self.k, self.seq)
    }

    /// Whether its stream is live (frames pushed, not paced from a file).
    pub(crate) fn is_live(&self) -> bool {
        self.media.is_live()
    }

    /// Whether it reads a live stream (a session of the stream that is not its publisher).
    pub(crate) fn reads_live(&self) -> bool {
        self.is_live() && self.intake.is_none()
    }

    /// 90 kHz RTP timestamp of media-clock frame `k` (live: of the last frame sent, or the
    /// base before any).
    pub(crate) fn rtp_time(&self, k: u64) -> u32 {
        if self.is_live() {
            return self.live_last.map_or(self.ts_base, |(ts, _)| ts);
        }
        let ticks = (k as f64 * 90_000.0 / self.media.fps()).round() as u64;
        self.ts_base.wrapping_add(ticks as u32)
    }

    /// Nanoseconds after `start` at which frame `n` (counted from `start`) is due.
    fn due_ns(&self, n: u64) -> u64 {
        (n as f64 * 1e9 / self.media.fps()).ceil() as u64
    }

    /// When the next frame is due, if playing.
    pub(crate) fn next_frame_due(&self) -> Option<Instant> {
        if self.is_live() {
            return None;
        }
        match self.state {
            PlayState::Playing { start, k0 } => {
                Some(start + Duration::from_nanos(self.due_ns(self.k - k0)))
            }
            PlayState::Ready => None,
        }
    }

    /// Start (or restart) playing at media frame `pos`, now.
    pub(crate) fn play(&mut self, now: Instant, pos: Option<usize>) {
        if self.is_live() {
            // Joins at the next whole frame pushed.
        } else if let Some(p) = pos {
            self.pos = p.min(self.media.frame_count().saturating_sub(1));
            self.at_end = false;
        } else if self.at_end {
            self.pos = 0;
            self.at_end = false;
        }
        // A PLAY after the end (from the start, or a seek) takes back the pending BYE.
        self.bye_at = None;
        self.played = true;
        self.state = PlayState::Playing {
            start: now,
            k0: self.k,
        };
        self.origin = (now, self.k);
        self.slip = Duration::ZERO;
        if self.next_sr.is_none() && self.dialect().has_rtcp() {
            self.next_sr = Some(now + SR_FIRST_DELAY);
        }
    }

    /// Stop sending at once (position and clocks are kept).
    pub(crate) fn pause(&mut self) {
        self.state = PlayState::Ready;
        self.next_sr = None;
    }

    /// Seconds of media time at the current position.
    pub(crate) fn position_secs(&self) -> f64 {
        if self.is_live() {
            return 0.0;
        }
        self.pos as f64 / self.media.fps()
    }

    /// The index (from `start`) of the last frame due at `now`; `None` before `start`.
    fn last_due(&self, start: Instant, now: Instant) -> Option<u64> {
        if now < start {
            return None;
        }
        let elapsed = u64::try_from((now - start).as_nanos()).unwrap_or(u64::MAX);
        let mut last = (elapsed as f64 * self.media.fps() / 1e9).floor() as u64;
        while self.due_ns(last + 1) <= elapsed {
            last += 1;
        }
        while last > 0 && self.due_ns(last) > elapsed {
            last -= 1;
        }
        Some(last)
    }

    /// Send the frame due at `now`: one at most, never a catch-up burst. A late frame slips
    /// the schedule (up to [`MAX_SLIP`] frame intervals in all since PLAY); further behind,
    /// pacing returns to the PLAY schedule, skipping frames. Then the RTCP SR if due.
    pub(crate) fn pump(&mut self, now: Instant, tx: &mut Tx<'_>) {
        if self.is_live() {
            // Frames come with [`Session::send_live`]; only the reports are due here.
            self.send_sr_if_due(now, tx);
            return;
        }
        if self.bye_at.is_some_and(|t| t <= now) {
            self.bye_at = None;
            self.send_rtcp_at_end(tx);
            tx.out
                .push_back(Emit::Output(Output::Event(ServerEvent::EndOfStream {
                    session: self.id.clone(),
                    stats: self.stats,
                })));
        }
        if let PlayState::Playing { start, k0 } = self.state {
            if let Some(last) = self.last_due(start, now) {
                let sent = self.k - k0;
                if last > sent {
                    // Late: frame `sent` was due at `due`. Slip the schedule by the lateness
                    // while the total slip stays under MAX_SLIP frame intervals; beyond, go
                    // back to the PLAY schedule and skip to the frame due there.
                    let due = start + Duration::from_nanos(self.due_ns(sent));
                    let slip = self.slip + now.saturating_duration_since(due);
                    let max = Duration::from_secs_f64(MAX_SLIP as f64 / self.media.fps());
                    if slip <= max {
                        self.slip = slip;
                        self.state = PlayState::Playing {
                            start: now,
                            k0: self.k,
                        };
                    } else {
                        let (start, k0) = self.origin;
                        self.slip = Duration::ZERO;
                        self.state = PlayState::Playing { start, k0 };
                        let last = self.last_due(start, now).unwrap_or(0);
                        while self.k - k0 < last {
                            self.stats.frames_skipped += 1;
                            if !self.advance(now, tx) {
                                break;
                            }
                        }
                    }
                }
                if last >= sent && self.is_playing() {
                    self.send_frame(now, tx);
                    self.advance(now, tx);
                }
            }
        }
        self.send_sr_if_due(now, tx);
    }

    /// The RTCP sender report, when its time has come.
    fn send_sr_if_due(&mut self, now: Instant, tx: &mut Tx<'_>) {
        if let Some(t) = self.next_sr {
            if t <= now {
                self.send_rtcp(now, false, tx);
                let next = SR_INTERVAL_MS + tx.rng.below(SR_JITTER_MS + 1);
                self.next_sr = Some(now + Duration::from_millis(next));
            }
        }
    }

    /// Move to the next frame; at the end of a non-looping stream stop, and schedule the
    /// BYE and its report after [`ServerConfig::bye_delay`] (at least one frame interval).
    /// Returns whether still playing.
    fn advance(&mut self, now: Instant, tx: &mut Tx<'_>) -> bool {
        self.k += 1;
        self.pos += 1;
        if self.pos >= self.media.frame_count() {
            if self.looping {
                self.pos = 0;
            } else {
                self.pos = self.media.frame_count().saturating_sub(1);
                self.at_end = true;
                self.pause();
                let frame = Duration::from_secs_f64(1.0 / self.media.fps());
                self.bye_at = Some(now + tx.bye_delay.max(frame));
                return false;
            }
        }
        true
    }

    fn send_rtcp_at_end(&mut self, tx: &mut Tx<'_>) {
        if self.dialect().has_rtcp() {
            let info = self.sender_info(None, tx.wallclock);
            self.emit_rtcp(&info, true, tx);
        }
    }

    /// The 12-byte RTP header of one of this session's packets.
    fn rtp_header(&self, marker: bool, seq: u16, ts: u32) -> [u8; RTP_HEADER_LEN] {
        FixedHeader {
            marker,
            payload_type: PT_JPEG,
            sequence: seq,
            timestamp: ts,
            ssrc: self.ssrc,
        }
        .to_bytes()
    }

    /// Queues one packet: a per-session header in front of a shared payload (no copy).
    fn emit_shared(tx: &mut Tx<'_>, dest: Dest, header: InlineHeader, body: &Bytes, first: bool) {
        tx.out.push_back(Emit::Shared(SharedTransmit {
            dest,
            header,
            body: body.clone(),
            frame_start: first,
        }));
    }

    /// Whether the rate cap lets `bytes` go now; takes them from the bucket if so.
    fn admit(&mut self, now: Instant, bytes: usize, tx: &mut Tx<'_>) -> bool {
        if tx.max_rate == 0 {
            return true;
        }
        let rate = tx.max_rate as f64;
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.tokens = (self.tokens.min(rate) + elapsed * rate).min(rate);
        self.refilled = now;
        if bytes as f64 <= self.tokens {
            self.tokens -= bytes as f64;
            return true;
        }
        self.stats.frames_skipped += 1;
        if !self.reported_rate {
            self.reported_rate = true;
            tx.out
                .push_back(Emit::Output(Output::Event(ServerEvent::LimitExceeded {
                    peer: self.peer,
                    limit: Limit::SessionRate,
                })));
        }
        false
    }

    /// Send media frame `pos` with timestamp `ts(k)`.
    fn send_frame(&mut self, now: Instant, tx: &mut Tx<'_>) {
        let media = Arc::clone(&self.media);
        let Some(frame) = media.frame(self.pos) else {
            return;
        };
        let ts = self.rtp_time(self.k);
        self.send(frame, ts, now, tx);
    }

    /// A frame of its live stream, if it plays: stamped on the source's clock from the first
    /// frame it sent (a source clock that went back starts a new mapping one frame later).
    pub(crate) fn send_live(&mut self, f: &LiveFrame, now: Instant, tx: &mut Tx<'_>) {
        if !self.is_playing() {
            return;
        }
        let (at0, ts0) = match self.live_anchor {
            Some((at0, ts0)) if f.at() >= at0 => (at0, ts0),
            _ => {
                let ts = self
                    .live_last
                    .map_or(self.ts_base, |(ts, _)| ts.wrapping_add(3000));
                self.live_anchor = Some((f.at(), ts));
                (f.at(), ts)
            }
        };
        let ts = ts0.wrapping_add((f.at() - at0) as u32);
        self.send(f.media_frame(), ts, now, tx);
        self.k += 1;
        self.live_last = Some((ts, now));
    }

    /// Sends one frame with RTP timestamp `ts` (within the rate cap and the lab's packet size).
    fn send(&mut self, frame: &MediaFrame, ts: u32, now: Instant, tx: &mut Tx<'_>) {
        let bytes = match self.delivery {
            Delivery::Lab { .. } => frame.jpeg.len(),
            _ => frame.fragments.iter().map(|f| f.len()).sum(),
        };
        if !self.admit(now, bytes, tx) {
            return;
        }
        match self.delivery {
            Delivery::Lab { rtp } => {
                if !lab::fits_lab_packet(frame.jpeg.len(), tx.lab_max_packet) {
                    self.stats.frames_skipped += 1;
                    if !self.reported_lab_size {
                        self.reported_lab_size = true;
                        tx.out
                            .push_back(Emit::Output(Output::Event(ServerEvent::LimitExceeded {
                                peer: self.peer,
                                limit: Limit::LabFrameTooLarge,
                            })));
                    }
                    return;
                }
                let seq = self.next_seq();
                let header =
                    InlineHeader::new(&self.rtp_header(false, seq, ts)).unwrap_or_default();
                self.stats.packets += 1;
                self.stats.octets += frame.jpeg.len() as u64;
                let dest = Dest::Udp {
                    local: tx.rtp_local,
                    remote: rtp,
                };
                Self::emit_shared(tx, dest, header, &frame.jpeg, true);
            }
            Delivery::Udp { rtp, .. } => {
                let dest = Dest::Udp {
                    local: tx.rtp_local,
                    remote: rtp,
                };
                let n = frame.fragments.len();
                for (i, frag) in frame.fragments.iter().enumerate() {
                    let header = InlineHeader::new(&self.rtp_header(i + 1 == n, self.seq, ts))
                        .unwrap_or_default();
                    self.seq = self.seq.wrapping_add(1);
                    self.stats.packets += 1;
                    self.stats.octets += frag.len() as u64;
                    Self::emit_shared(tx, dest, header, frag, i == 0);
                }
            }
            Delivery::Interleaved {
                conn, rtp_channel, ..
            } => {
                // Each packet `$`-framed: `$`, channel, length, RTP header, shared payload.
                let dest = Dest::Stream(conn);
                let n = frame.fragments.len();
                for (i, frag) in frame.fragments.iter().enumerate() {
                    let len = (RTP_HEADER_LEN + frag.len()) as u16;
                    let mut header = InlineHeader::default();
                    let [hi, lo] = len.to_be_bytes();
                    header.push(&[b'$', rtp_channel, hi, lo]);
                    header.push(&self.rtp_header(i + 1 == n, self.seq, ts));
                    self.seq = self.seq.wrapping_add(1);
                    self.stats.packets += 1;
                    self.stats.octets += frag.len() as u64;
                    Self::emit_shared(tx, dest, header, frag, i == 0);
                }
            }
        }
        self.stats.frames += 1;
    }

    /// Sender info for an SR at wall-clock `wallclock`. `now` maps the RTP clock while playing;
    /// otherwise the timestamp of the next frame is used.
    fn sender_info(&self, now: Option<Instant>, wallclock: Duration) -> SenderInfo {
        let rtp_time = match (self.state, now, self.live_last) {
            (PlayState::Playing { .. }, Some(now), Some((ts, at))) if self.is_live() => {
                let ticks = (now.saturating_duration_since(at).as_secs_f64() * 90_000.0) as u64;
                ts.wrapping_add(ticks as u32)
            }
            _ => self.file_rtp_time_at(now),
        };
        SenderInfo {
            ssrc: self.ssrc,
            ntp: NtpTime::from_unix(wallclock).into(),
            rtp_time,
            packets: self.stats.packets as u32,
            octets: self.stats.octets as u32,
        }
    }

    /// The RTP time at `now` of a file stream (or of the next frame when not playing).
    fn file_rtp_time_at(&self, now: Option<Instant>) -> u32 {
        match (self.state, now) {
            (PlayState::Playing { start, k0 }, Some(now)) if now >= start => {
                let ticks = ((now - start).as_secs_f64() * 90_000.0) as u64;
                self.rtp_time(k0).wrapping_add(ticks as u32)
            }
            _ => self.rtp_time(self.k),
        }
    }

    /// Send SR + SDES (+ BYE).
    pub(crate) fn send_rtcp(&mut self, now: Instant, bye: bool, tx: &mut Tx<'_>) {
        if !self.dialect().has_rtcp() {
            return;
        }
        let info = self.sender_info(Some(now), tx.wallclock);
        self.emit_rtcp(&info, bye, tx);
    }

    fn emit_rtcp(&self, info: &SenderInfo, bye: bool, tx: &mut Tx<'_>) {
        let mut packet = Vec::with_capacity(64);
        rtcp::write_report(info, &self.cname, bye, &mut packet);
        let transmit = match self.delivery {
            Delivery::Udp { rtcp, .. } => Transmit {
                dest: Dest::Udp {
                    local: tx.rtcp_local,
                    remote: rtcp,
                },
                data: packet,
            },
            Delivery::Interleaved {
                conn, rtcp_channel, ..
            } => {
                let mut data = Vec::with_capacity(packet.len() + 4);
                write_interleaved(rtcp_channel, &packet, &mut data);
                Transmit {
                    dest: Dest::Stream(conn),
                    data,
                }
            }
            Delivery::Lab { .. } => return,
        };
        tx.out.push_back(Emit::Output(Output::Transmit(transmit)));
    }
}
