//! [`SourceStats`]: a source's counters, shared between its thread and its handle.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a source's counters ([`SourceHandle::stats`](super::SourceHandle::stats)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// Frames handed to the sink.
    pub frames: u64,
    /// Bytes of those frames.
    pub bytes: u64,
    /// Frames dropped: larger than [`SourceOptions::max_frame_size`](super::SourceOptions::max_frame_size),
    /// not a JPEG (no SOI), or (RTSP) incomplete frames the depacketizer dropped.
    pub dropped: u64,
    /// Connection attempts after the first one.
    pub reconnects: u64,
}

/// The atomics behind [`SourceStats`].
#[derive(Debug, Default)]
pub(super) struct SharedStats {
    frames: AtomicU64,
    bytes: AtomicU64,
    dropped: AtomicU64,
    reconnects: AtomicU64,
}

impl SharedStats {
    pub(super) fn frame(&self, len: usize) {
        self.frames.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(len as u64, Ordering::Relaxed);
    }

    pub(super) fn dropped(&self, n: u64) {
        if n > 0 {
            self.dropped.fetch_add(n, Ordering::Relaxed);
        }
    }

    pub(super) fn reconnect(&self) {
        self.reconnects.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn snapshot(&self) -> SourceStats {
        SourceStats {
            frames: self.frames.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
        }
    }
}
