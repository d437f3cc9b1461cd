//! A publisher's media, coming in: RTP/JPEG packets (any RFC 2435 type and Q) reassembled
//! into JPEG frames.

use rtp_core::jpeg::{JpegDepacketizer, JpegFrameOut};
use rtp_core::RtpPacket;

/// Largest JPEG a publisher may send (a frame beyond it is dropped and counted).
pub(crate) const MAX_PUBLISHED_FRAME: usize = 8 << 20;

/// Counters of one publisher's intake.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IntakeStats {
    /// RTP packets taken in.
    pub packets: u64,
    /// Payload bytes taken in.
    pub octets: u64,
    /// Packets dropped: not RTP, another payload type, another SSRC than the first, or sent
    /// before RECORD.
    pub packets_dropped: u64,
    /// Complete frames.
    pub frames: u64,
    /// Frames lost or dropped by the depacketizer (missing fragments, bad headers, too big).
    pub frames_dropped: u64,
}

/// What ANNOUNCE told about a stream (kept on its connection until SETUP).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Announced {
    /// The path published.
    pub(crate) path: String,
    /// RTP payload type of the JPEG video.
    pub(crate) payload_type: u8,
    /// `a=framerate`, if given.
    pub(crate) fps: Option<f64>,
}

/// The intake of one publisher session.
#[derive(Debug)]
pub(crate) struct Intake {
    pub(crate) payload_type: u8,
    pub(crate) fps: Option<f64>,
    /// Whether RECORD was received: packets before it are dropped.
    pub(crate) recording: bool,
    /// The source run on the path's timeline ([`LivePaths::new_epoch`](super::LivePaths::new_epoch)).
    pub(crate) epoch: u64,
    ssrc: Option<u32>,
    depacketizer: JpegDepacketizer,
    pub(crate) stats: IntakeStats,
}

impl Intake {
    pub(crate) fn new(announced: &Announced, epoch: u64) -> Self {
        Self {
            payload_type: announced.payload_type,
            fps: announced.fps,
            recording: false,
            epoch,
            ssrc: None,
            depacketizer: JpegDepacketizer::new(MAX_PUBLISHED_FRAME),
            stats: IntakeStats::default(),
        }
    }

    /// Takes one RTP packet; returns the frame it completed, if any.
    pub(crate) fn push(&mut self, data: &[u8]) -> Option<JpegFrameOut> {
        let pkt = match RtpPacket::parse(data) {
            Ok(p) if self.recording && p.header.payload_type == self.payload_type => p,
            _ => {
                self.stats.packets_dropped += 1;
                return None;
            }
        };
        // One source per publisher: the first SSRC seen.
        if *self.ssrc.get_or_insert(pkt.header.ssrc) != pkt.header.ssrc {
            self.stats.packets_dropped += 1;
            return None;
        }
        self.stats.packets += 1;
        self.stats.octets += pkt.payload.len() as u64;
        // A rejected packet is counted by the depacketizer (its frame is dropped).
        let _ = self.depacketizer.push(&pkt);
        self.stats.frames_dropped = self.depacketizer.frames_dropped();
        let frame = self.depacketizer.pull()?;
        self.stats.frames += 1;
        Some(frame)
    }
}
