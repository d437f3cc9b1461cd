//! RFC 2435 depacketization (push/pull).
use std::collections::VecDeque;

use bytes::Bytes;

use super::header::{tables_len, write_headers};
use super::tables::make_tables;
use super::{
    has_restart_header, DepacketizeError, MainHeader, MAIN_HEADER_LEN, QTABLE_HEADER_LEN,
    RESTART_HEADER_LEN,
};
use crate::RtpPacket;

/// Frames completed but not yet pulled are capped at this many; older ones are dropped.
const MAX_READY: usize = 16;
/// A packet up to this many sequence numbers behind the last one is a late duplicate; further
/// behind, the sender restarted its sequence.
const STALE_WINDOW: i16 = 100;

/// A reassembled JPEG frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JpegFrameOut {
    /// RTP timestamp shared by the frame's packets.
    pub timestamp: u32,
    /// A complete JFIF file: rebuilt headers, the scan, EOI.
    pub data: Bytes,
    /// Sequence number of the frame's first packet.
    pub first_seq: u16,
}

/// Counters kept by [`JpegDepacketizer`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DepacketizeStats {
    /// Packets pushed.
    pub packets: u64,
    /// Complete frames produced.
    pub frames_emitted: u64,
    /// Frames dropped: lost or reordered fragments, a timestamp change without a marker, a frame
    /// that started without its first fragment, bad headers, scan data with a marker other than
    /// RSTn before the final EOI, oversized frames, unpulled overflow.
    pub frames_dropped: u64,
    /// Packets ignored: duplicates and the rest of a frame already dropped.
    pub packets_ignored: u64,
}

/// The frame being collected.
#[derive(Debug)]
struct Partial {
    timestamp: u32,
    first_seq: u16,
    last_seq: u16,
    header: MainHeader,
    /// Headers followed by the scan so far.
    buf: Vec<u8>,
    /// Where the scan starts in `buf`.
    scan_start: usize,
}

/// What the depacketizer expects next.
#[derive(Debug)]
enum State {
    /// The first fragment (offset 0) of a frame.
    ExpectFirst,
    /// The next fragment of this frame.
    ExpectNext(Partial),
    /// Nothing more of the frame with this timestamp: it was dropped.
    Skip {
        /// Timestamp of the dropped frame.
        timestamp: u32,
        /// Last sequence number seen of it.
        last_seq: u16,
    },
}

/// RFC 2435 depacketizer: push RTP packets, pull complete JFIF frames.
///
/// Fragments are collected per RTP timestamp. A frame is emitted when the packet with the marker
/// bit arrives and all its fragments were contiguous (consecutive sequence numbers and fragment
/// offsets, starting at offset 0). Anything else drops the frame and counts it in
/// [`DepacketizeStats::frames_dropped`]; a corrupt frame is never emitted. Late packets and
/// duplicates (up to 100 sequence numbers behind the newest) are ignored. A newer packet with
/// offset 0 always starts a new frame.
///
/// Quantization tables: Q 1..=99 uses the RFC 2435 Appendix A tables; Q 128..=254 uses in-band
/// tables and caches them per Q for later frames that omit them (length 0); Q 255 needs its
/// tables in every frame.
#[derive(Debug)]
pub struct JpegDepacketizer {
    max_frame_len: usize,
    state: State,
    ready: VecDeque<JpegFrameOut>,
    stats: DepacketizeStats,
    /// Sequence number of the last packet of the last frame completed or skipped, so that late
    /// duplicates of its packets are not taken for the (lost) start of a new frame.
    last_done: Option<u16>,
    /// In-band tables cached per Q (index q - 128; Q = 255 unused): (precision, tables).
    cache: Vec<Option<(u8, Box<[u8]>)>>,
}

impl JpegDepacketizer {
    /// A depacketizer that drops frames longer than `max_frame_len` bytes (complete JFIF).
    pub fn new(max_frame_len: usize) -> Self {
        Self {
            max_frame_len,
            state: State::ExpectFirst,
            ready: VecDeque::new(),
            stats: DepacketizeStats::default(),
            last_done: None,
            cache: vec![None; 127],
        }
    }

    /// Feed one RTP packet (in arrival order). Call [`pull`](Self::pull) afterwards.
    ///
    /// An error means this packet was rejected and the frame it belongs to dropped; the
    /// depacketizer stays usable. Never panics.
    pub fn push(&mut self, pkt: &RtpPacket<'_>) -> Result<(), DepacketizeError> {
        self.stats.packets += 1;
        let seq = pkt.header.sequence;
        let timestamp = pkt.header.timestamp;
        let marker = pkt.header.marker;
        let payload = pkt.payload;

        // Duplicates and late packets (not newer than the last one seen) are ignored, before
        // anything else: a late packet of an older frame must not end the current one.
        let last_seq = match &self.state {
            State::ExpectNext(p) => Some(p.last_seq),
            State::Skip { last_seq, .. } => Some(*last_seq),
            State::ExpectFirst => self.last_done,
        };
        if let Some(last) = last_seq {
            // Not newer, and not so far behind that it must be a sequence restart.
            if (-STALE_WINDOW..=0).contains(&crate::seq_diff(seq, last)) {
                self.stats.packets_ignored += 1;
                return Ok(());
            }
        }

        // A timestamp change ends whatever frame was in progress.
        match &self.state {
            State::ExpectNext(p) if p.timestamp != timestamp => self.drop_partial(),
            State::Skip { timestamp: t, .. } if *t != timestamp => self.state = State::ExpectFirst,
            _ => {}
        }

        let Some(main) = MainHeader::parse(payload) else {
            return Err(self.fail(
                timestamp,
                seq,
                marker,
                DepacketizeError::TooShort {
                    seq,
                    len: payload.len(),
                    needed: MAIN_HEADER_LEN,
                },
            ));
        };

        if main.offset == 0 {
            if matches!(self.state, State::ExpectNext(_)) {
                // A new first fragment with the same timestamp: the previous frame lost its end.
                self.drop_partial();
            }
            return self.start(main, pkt);
        }

        match std::mem::replace(&mut self.state, State::ExpectFirst) {
            State::ExpectFirst => {
                // The first fragment of this frame was lost.
                self.stats.frames_dropped += 1;
                self.stats.packets_ignored += 1;
                self.skip(timestamp, seq, marker);
                Err(DepacketizeError::FragmentGap {
                    seq,
                    offset: main.offset,
                    expected: 0,
                })
            }
            State::Skip { .. } => {
                self.stats.packets_ignored += 1;
                self.skip(timestamp, seq, marker);
                Ok(())
            }
            State::ExpectNext(mut p) => {
                let expected = (p.buf.len() - p.scan_start) as u32;
                if seq != p.last_seq.wrapping_add(1) || main.offset != expected {
                    self.state = State::ExpectNext(p);
                    return Err(self.fail(
                        timestamp,
                        seq,
                        marker,
                        DepacketizeError::FragmentGap {
                            seq,
                            offset: main.offset,
                            expected,
                        },
                    ));
                }
                let h = p.header;
                if (main.type_, main.q, main.width8, main.height8)
                    != (h.type_, h.q, h.width8, h.height8)
                {
                    self.state = State::ExpectNext(p);
                    return Err(self.fail(
                        timestamp,
                        seq,
                        marker,
                        DepacketizeError::InconsistentFragment { seq },
                    ));
                }
                let skip = MAIN_HEADER_LEN
                    + if has_restart_header(main.type_) {
                        RESTART_HEADER_LEN
                    } else {
                        0
                    };
                let Some(data) = payload.get(skip..) else {
                    self.state = State::ExpectNext(p);
                    return Err(self.fail(
                        timestamp,
                        seq,
                        marker,
                        DepacketizeError::TooShort {
                            seq,
                            len: payload.len(),
                            needed: skip,
                        },
                    ));
                };
                p.last_seq = seq;
                self.state = State::ExpectNext(p);
                self.append(data, timestamp, seq, marker)
            }
        }
    }

    /// Take the next complete frame, oldest first.
    pub fn pull(&mut self) -> Option<JpegFrameOut> {
        self.ready.pop_front()
    }

    /// Counters.
    pub fn stats(&self) -> DepacketizeStats {
        self.stats
    }

    /// Frames dropped so far (same as `stats().frames_dropped`).
    pub fn frames_dropped(&self) -> u64 {
        self.stats.frames_dropped
    }

    /// Forget the frame in progress (not counted as dropped) and any cached tables, e.g. after a
    /// seek or SSRC change. Frames waiting in `pull` are kept.
    pub fn reset(&mut self) {
        self.state = State::ExpectFirst;
        self.cache.iter_mut().for_each(|c| *c = None);
    }

    /// Start a frame with its first fragment (offset 0).
    fn start(&mut self, main: MainHeader, pkt: &RtpPacket<'_>) -> Result<(), DepacketizeError> {
        let (seq, timestamp, marker) =
            (pkt.header.sequence, pkt.header.timestamp, pkt.header.marker);
        match self.first_fragment(main, pkt) {
            Ok(partial) => {
                self.state = State::ExpectNext(partial);
                self.check_len(timestamp, seq, marker)?;
                if marker {
                    self.finish();
                }
                Ok(())
            }
            Err(e) => {
                self.stats.frames_dropped += 1;
                self.skip(timestamp, seq, marker);
                Err(e)
            }
        }
    }

    /// Parse the headers of a first fragment and write the JFIF headers.
    fn first_fragment(
        &mut self,
        main: MainHeader,
        pkt: &RtpPacket<'_>,
    ) -> Result<Partial, DepacketizeError> {
        let payload = pkt.payload;
        let seq = pkt.header.sequence;
        let too_short = |needed| DepacketizeError::TooShort {
            seq,
            len: payload.len(),
            needed,
        };
        if !matches!(main.type_, 0 | 1 | 64 | 65) {
            return Err(DepacketizeError::UnsupportedType { type_: main.type_ });
        }
        if main.q == 0 || (100..128).contains(&main.q) {
            return Err(DepacketizeError::ReservedQ { q: main.q });
        }
        if main.width8 == 0 || main.height8 == 0 {
            return Err(DepacketizeError::ZeroDimension);
        }
        let mut pos = MAIN_HEADER_LEN;
        let mut restart_interval = 0;
        if has_restart_header(main.type_) {
            //  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
            //  |       Restart Interval        |F|L|       Restart Count       |
            //  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
            // Only the interval matters: fragments are reassembled in full before decoding.
            let r = payload
                .get(pos..pos + RESTART_HEADER_LEN)
                .ok_or(too_short(pos + RESTART_HEADER_LEN))?;
            restart_interval = u16::from_be_bytes([r[0], r[1]]);
            pos += RESTART_HEADER_LEN;
        }
        let (precision, tables): (u8, Vec<u8>) = if main.q < 128 {
            (0, make_tables(main.q).to_vec())
        } else {
            //  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
            //  |      MBZ      |   Precision   |             Length            |
            //  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
            //  |                    Quantization Table Data                    |
            //  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
            // Precision bit i set: table i has 16-bit entries (128 bytes instead of 64).
            let h = payload
                .get(pos..pos + QTABLE_HEADER_LEN)
                .ok_or(too_short(pos + QTABLE_HEADER_LEN))?;
            let (precision, length) = (h[1], u16::from_be_bytes([h[2], h[3]]));
            pos += QTABLE_HEADER_LEN;
            let len = usize::from(length);
            let data = payload.get(pos..pos + len).ok_or(too_short(pos + len))?;
            pos += len;
            let slot = usize::from(main.q - 128);
            if len == 0 {
                // Tables omitted: only allowed for Q 128..=254 once they were sent.
                match self.cache.get(slot).and_then(|c| c.as_ref()) {
                    Some((p, t)) if main.q != 255 => (*p, t.to_vec()),
                    _ => return Err(DepacketizeError::MissingQTables { q: main.q }),
                }
            } else {
                let need = tables_len(precision);
                let data = if len >= need {
                    &data[..need]
                } else if precision == 0 && len == 64 {
                    data // a single table, used for both components
                } else {
                    return Err(DepacketizeError::BadQTable { precision, length });
                };
                if main.q != 255 {
                    if let Some(c) = self.cache.get_mut(slot) {
                        *c = Some((precision, data.into()));
                    }
                }
                (precision, data.to_vec())
            }
        };
        let data = &payload[pos..];
        let mut buf = Vec::with_capacity(1024 + data.len());
        write_headers(
            main.type_,
            u16::from(main.width8) * 8,
            u16::from(main.height8) * 8,
            precision,
            &tables,
            restart_interval,
            &mut buf,
        );
        let scan_start = buf.len();
        buf.extend_from_slice(data);
        Ok(Partial {
            timestamp: pkt.header.timestamp,
            first_seq: seq,
            last_seq: seq,
            header: main,
            buf,
            scan_start,
        })
    }

    /// Append scan data of a later fragment to the frame in progress.
    fn append(
        &mut self,
        data: &[u8],
        timestamp: u32,
        seq: u16,
        marker: bool,
    ) -> Result<(), DepacketizeError> {
        if let State::ExpectNext(p) = &mut self.state {
            if p.buf.len() + data.len() + 2 <= self.max_frame_len {
                p.buf.extend_from_slice(data);
            } else {
                return Err(self.fail(
                    timestamp,
                    seq,
                    marker,
                    DepacketizeError::FrameTooLarge {
                        max: self.max_frame_len,
                    },
                ));
            }
        }
        if marker {
            self.finish();
        }
        Ok(())
    }

    /// Drop the frame in progress if it is already too large.
    fn check_len(
        &mut self,
        timestamp: u32,
        seq: u16,
        marker: bool,
    ) -> Result<(), DepacketizeError> {
        match &self.state {
            State::ExpectNext(p) if p.buf.len() + 2 > self.max_frame_len => Err(self.fail(
                timestamp,
                seq,
                marker,
                DepacketizeError::FrameTooLarge {
                    max: self.max_frame_len,
                },
            )),
            _ => Ok(()),
        }
    }

    /// The marker arrived: emit the frame in progress.
    fn finish(&mut self) {
        let State::ExpectNext(mut p) = std::mem::replace(&mut self.state, State::ExpectFirst)
        else {
            return;
        };
        self.last_done = Some(p.last_seq);
        let scan = &p.buf[p.scan_start..];
        if scan.is_empty() {
            self.stats.frames_dropped += 1;
            return;
        }
        if !scan.ends_with(&[0xff, 0xd9]) {
            p.buf.extend_from_slice(&[0xff, 0xd9]); // EOI (ffmpeg leaves it out; gst and VLC send it)
        }
        if !scan_markers_ok(&p.buf[p.scan_start..]) {
            // Corrupt or hostile scan data: the frame would not parse as a JPEG.
            self.stats.frames_dropped += 1;
            return;
        }
        if self.ready.len() >= MAX_READY {
            self.ready.pop_front();
            self.stats.frames_dropped += 1;
        }
        self.stats.frames_emitted += 1;
        self.ready.push_back(JpegFrameOut {
            timestamp: p.timestamp,
            data: Bytes::from(p.buf),
            first_seq: p.first_seq,
        });
    }

    /// Drop the frame in progress (if any), counting it.
    fn drop_partial(&mut self) {
        if let State::ExpectNext(_) = std::mem::replace(&mut self.state, State::ExpectFirst) {
            self.stats.frames_dropped += 1;
        }
    }

    /// Drop the frame in progress because of this packet and skip the rest of it.
    fn fail(
        &mut self,
        timestamp: u32,
        seq: u16,
        marker: bool,
        err: DepacketizeError,
    ) -> DepacketizeError {
        self.drop_partial();
        self.skip(timestamp, seq, marker);
        err
    }

    /// Ignore the rest of the frame with this timestamp (until its marker).
    fn skip(&mut self, timestamp: u32, seq: u16, marker: bool) {
        self.state = if marker {
            self.last_done = Some(seq);
            State::ExpectFirst
        } else {
            State::Skip {
                timestamp,
                last_seq: seq,
            }
        };
    }
}

/// Whether entropy-coded data followed by EOI (`scan` ends with `FF D9`) has a valid marker
/// structure, so that the rebuilt frame parses: every `FF` is followed by `00` (stuffing), a
/// restart marker RST0–7, another `FF` (fill), or is the final EOI.
pub(super) fn scan_markers_ok(scan: &[u8]) -> bool {
    let mut i = 0;
    while let Some(k) = scan[i..].iter().position(|&b| b == 0xFF) {
        i += k;
        match scan.get(i + 1) {
            Some(0x00 | 0xD0..=0xD7) => i += 2,
            Some(0xFF) => i += 1,
            Some(0xD9) => return i + 2 == scan.len(),
            _ => return false,
        }
    }
    false // no EOI
}
