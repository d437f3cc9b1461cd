//! Per-stream counting from RTP headers only: packets, bytes, loss (sequence numbers) and frame
//! timing (RTP timestamp against arrival time).
//!
//! A frame is complete when its marker packet arrives. The stream's schedule is anchored on its
//! *best* frame so far: the anchor is the smallest (arrival − media time) over the frames seen,
//! media time being the RTP timestamp difference at 90 kHz. A frame's due time is the anchor
//! plus its media time. A frame arriving more than one frame interval (its timestamp step)
//! after its due time is *late*. A frame that moves the anchor earlier by more than one
//! interval is *early* (the server ran fast or caught up in a burst, or the earlier frames
//! were all late by more than an interval).
//!
//! Anchoring on the first frame instead would make every later frame look early whenever that
//! first frame is read late (many sessions set up at once). The anchor is a running minimum,
//! O(1) per frame: each frame is judged against the best anchor known when it arrives, so
//! frames before a better anchor was found are judged by the older one (not recounted).

use rtp_core::{RtpPacket, SeqExtender};
use std::time::{Duration, Instant};

/// RTP/JPEG video clock (RFC 2435).
pub const CLOCK_RATE: f64 = 90_000.0;

/// A timestamp jump larger than this (or backwards) restarts the timing reference.
const MAX_TS_STEP: u32 = 10 * 90_000;

/// Counters of one RTP stream.
#[derive(Debug, Clone, Default)]
pub struct StreamCounter {
    /// Packets received (valid RTP v2).
    pub packets: u64,
    /// Bytes of those packets (RTP header included, UDP/IP not).
    pub bytes: u64,
    /// Datagrams that were not RTP v2.
    pub invalid: u64,
    /// Complete frames (marker packets, or frames reported by a depacketizer).
    pub frames: u64,
    /// Frames more than one interval after their due time.
    pub late: u64,
    /// Frames more than one interval before their due time.
    pub early: u64,
    /// Largest lateness seen (arrival − due, due from the running anchor), in seconds.
    pub max_late_s: f64,
    /// How far the anchor moved earlier after the first frame, in seconds (how late the
    /// first frame was against the best schedule seen).
    pub anchor_shift_s: f64,
    /// Timestamp discontinuities (backwards or > 10 s) that restarted the timing reference.
    pub discontinuities: u64,
    /// Arrival of the first and the latest complete frame.
    pub first_frame_at: Option<Instant>,
    /// Arrival of the latest complete frame.
    pub last_frame_at: Option<Instant>,
    /// Extended sequence numbers (RFC 3550 A.1).
    seq: SeqExtender,
    /// Extended sequence number of the first packet.
    first_seq: Option<u64>,
    timing: Option<Timing>,
}

#[derive(Debug, Clone, Copy)]
struct Timing {
    /// Reference instant: arrival of the first frame (after a discontinuity: of that frame).
    anchor_at: Instant,
    anchor_ts_ext: i64,
    /// The anchor: min over frames of (arrival − media time), seconds after `anchor_at`
    /// (0 or negative).
    best_s: f64,
    last_ts: u32,
    last_ts_ext: i64,
    /// Smallest timestamp step seen: the frame interval.
    min_step: u32,
}

impl StreamCounter {
    /// Counts one datagram that arrived at `now`.
    pub fn on_datagram(&mut self, data: &[u8], now: Instant) {
        let Ok(p) = RtpPacket::parse(data) else {
            self.invalid += 1;
            return;
        };
        self.packets += 1;
        self.bytes += data.len() as u64;
        self.on_seq(p.header.sequence);
        if p.header.marker {
            self.on_frame(p.header.timestamp, now);
        }
    }

    /// Counts a sequence number (for loss).
    pub fn on_seq(&mut self, seq: u16) {
        let ext = self.seq.extend(seq);
        self.first_seq.get_or_insert(ext);
    }

    /// Packets expected from the first to the highest sequence number seen.
    pub fn expected(&self) -> u64 {
        match (self.first_seq, self.seq.highest()) {
            (Some(first), Some(max)) => max.saturating_sub(first) + 1,
            _ => 0,
        }
    }

    /// Packets lost (expected − received, never negative).
    pub fn lost(&self) -> u64 {
        self.expected().saturating_sub(self.packets)
    }

    /// Counts a complete frame with RTP timestamp `ts` arriving at `now`.
    pub fn on_frame(&mut self, ts: u32, now: Instant) {
        self.frames += 1;
        if self.first_frame_at.is_none() {
            self.first_frame_at = Some(now);
        }
        self.last_frame_at = Some(now);
        let Some(t) = &mut self.timing else {
            self.timing = Some(Timing {
                anchor_at: now,
                anchor_ts_ext: 0,
                best_s: 0.0,
                last_ts: ts,
                last_ts_ext: 0,
                min_step: u32::MAX,
            });
            return;
        };
        let step = ts.wrapping_sub(t.last_ts);
        if step == 0 {
            // A second marker with the same timestamp: nothing to time.
            return;
        }
        if step > MAX_TS_STEP {
            self.discontinuities += 1;
            *t = Timing {
                anchor_at: now,
                anchor_ts_ext: 0,
                best_s: 0.0,
                last_ts: ts,
                last_ts_ext: 0,
                min_step: t.min_step,
            };
            return;
        }
        let ts_ext = t.last_ts_ext + i64::from(step);
        t.last_ts = ts;
        t.last_ts_ext = ts_ext;
        t.min_step = t.min_step.min(step);
        let due_s = (ts_ext - t.anchor_ts_ext) as f64 / CLOCK_RATE;
        let arrived_s = now.duration_since(t.anchor_at).as_secs_f64();
        let offset = arrived_s - due_s;
        let interval = f64::from(t.min_step) / CLOCK_RATE;
        if offset < t.best_s {
            // A better anchor: this frame is on time by definition.
            if t.best_s - offset > interval {
                self.early += 1;
            }
            t.best_s = offset;
            self.anchor_shift_s = self.anchor_shift_s.max(-offset);
        }
        let lateness = offset - t.best_s;
        if lateness > interval {
            self.late += 1;
        }
        if self.frames == 2 || lateness > self.max_late_s {
            self.max_late_s = lateness;
        }
    }

    /// Frames per second between the first and the latest complete frame (0 below 2 frames).
    pub fn fps_span(&self) -> f64 {
        match (self.first_frame_at, self.last_frame_at) {
            (Some(a), Some(b)) if b > a && self.frames >= 2 => {
                (self.frames - 1) as f64 / b.duration_since(a).as_secs_f64()
            }
            _ => 0.0,
        }
    }
}

/// Frames counted in a window `[start, end]`, as frames per second, for a stream whose counter
/// read `frames_at_start` at `start`: time before the stream's first frame does not count.
/// `None` when the stream had less than a second of the window (no verdict); `Some(0.0)` when
/// it had no frame at all.
pub fn window_fps(
    c: &StreamCounter,
    frames_at_start: u64,
    start: Instant,
    end: Instant,
) -> Option<f64> {
    rate_in_window(c.frames, c.first_frame_at, frames_at_start, start, end)
}

/// [`window_fps`] of any frame count: `frames` now, `frames_at_start` at `start`, the first
/// frame at `first_frame_at`.
pub fn rate_in_window(
    frames: u64,
    first_frame_at: Option<Instant>,
    frames_at_start: u64,
    start: Instant,
    end: Instant,
) -> Option<f64> {
    let Some(first) = first_frame_at else {
        return Some(0.0);
    };
    let from = start.max(first);
    let span = end.saturating_duration_since(from);
    if span < Duration::from_secs(1) {
        return None;
    }
    Some(frames.saturating_sub(frames_at_start) as f64 / span.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(seq: u16, ts: u32, marker: bool) -> Vec<u8> {
        let mut v = rtp_core::FixedHeader {
            marker,
            payload_type: 26,
            sequence: seq,
            timestamp: ts,
            ssrc: 7,
        }
        .to_bytes()
        .to_vec();
        v.extend_from_slice(&[0u8; 100]);
        v
    }

    #[test]
    fn loss_across_wrap() {
        let mut c = StreamCounter::default();
        let t = Instant::now();
        for s in [65530u16, 65531, 65533, 65535, 0, 1, 3] {
            c.on_datagram(&pkt(s, 0, false), t);
        }
        assert_eq!(c.packets, 7);
        assert_eq!(c.expected(), 10);
        assert_eq!(c.lost(), 3);
        // A late (reordered) packet fills a hole.
        c.on_datagram(&pkt(2, 0, false), t);
        assert_eq!(c.lost(), 2);
        // One before the first packet does not move the start.
        c.on_datagram(&pkt(65_529, 0, false), t);
        assert_eq!((c.expected(), c.lost()), (10, 1));
    }

    #[test]
    fn a_long_gap_counts_as_loss() {
        let mut c = StreamCounter::default();
        let t = Instant::now();
        for s in [100u16, 101, 5000, 5001, 5002] {
            c.on_datagram(&pkt(s, 0, false), t);
        }
        assert_eq!(c.expected(), 4903);
        assert_eq!(c.lost(), 4898);
    }

    #[test]
    fn frame_timing() {
        let mut c = StreamCounter::default();
        let t0 = Instant::now();
        // 25 fps: 3600 ticks, 40 ms.
        for k in 0..10u32 {
            c.on_frame(k * 3600, t0 + Duration::from_millis(u64::from(k) * 40 + 3));
        }
        assert_eq!((c.frames, c.late, c.early), (10, 0, 0));
        assert!((c.fps_span() - 25.0).abs() < 0.01);
        // A frame 100 ms late, then one on time again.
        c.on_frame(10 * 3600, t0 + Duration::from_millis(500));
        c.on_frame(11 * 3600, t0 + Duration::from_millis(440));
        assert_eq!((c.late, c.early), (1, 0));
        // A server running fast: frame 20 arrives at 500 ms instead of 800 ms.
        c.on_frame(20 * 3600, t0 + Duration::from_millis(500));
        assert_eq!(c.early, 1);
        // Backwards timestamp: new reference, no verdict.
        c.on_frame(5, t0 + Duration::from_millis(900));
        assert_eq!(c.discontinuities, 1);
    }

    #[test]
    fn a_first_frame_read_late_does_not_make_later_frames_early() {
        let mut c = StreamCounter::default();
        let t0 = Instant::now();
        // Frames 0..8 sat in the socket buffer and are read together at 300 ms.
        for k in 0..8u32 {
            c.on_frame(
                k * 3600,
                t0 + Duration::from_micros(300_000 + u64::from(k) * 50),
            );
        }
        // Then every frame on time against the server's schedule (frame k at k * 40 ms).
        for k in 8..100u32 {
            c.on_frame(k * 3600, t0 + Duration::from_millis(u64::from(k) * 40 + 1));
        }
        assert_eq!((c.frames, c.late, c.early), (100, 0, 0));
        assert!(
            (c.anchor_shift_s - 0.299).abs() < 0.001,
            "{}",
            c.anchor_shift_s
        );
        // Against that anchor a frame 100 ms behind is late.
        c.on_frame(100 * 3600, t0 + Duration::from_millis(4101));
        assert_eq!((c.late, c.early), (1, 0));
    }

    #[test]
    fn rejects_non_rtp() {
        let mut c = StreamCounter::default();
        c.on_datagram(&[0u8; 4], Instant::now());
        c.on_datagram(&[0u8; 20], Instant::now());
        assert_eq!((c.packets, c.invalid), (0, 2));
    }
}
