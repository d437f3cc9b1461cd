//! [`Emitter`]: what one connection attempt of a source hands on (frames within the size
//! limit, the `Streaming` state at the first frame, counters), and [`Ended`], how it ends.

use std::time::Instant;

use bytes::Bytes;

use super::stats::SharedStats;
use super::{Sink, SourceEvent, SourceState};

/// How a connection attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Ended {
    /// The source was asked to stop.
    Stopped,
    /// It failed or was lost, for this reason (reconnect after the backoff).
    Lost(String),
    /// The server ended the stream between frames (the end of the multipart body, or the
    /// connection closed): a loss for a reconnecting source, the normal end for a single one.
    Finished(String),
}

impl Ended {
    /// A loss, for this reason.
    pub(super) fn lost(reason: impl Into<String>) -> Self {
        Self::Lost(reason.into())
    }
}

/// A connection attempt's view of its source: where frames go.
pub(super) struct Emitter<'a> {
    name: &'a str,
    sink: &'a Sink,
    stats: &'a SharedStats,
    max_frame_size: usize,
    /// Frames handed on during this attempt.
    frames: u64,
}

impl<'a> Emitter<'a> {
    pub(super) fn new(
        name: &'a str,
        sink: &'a Sink,
        stats: &'a SharedStats,
        max_frame_size: usize,
    ) -> Self {
        Self {
            name,
            sink,
            stats,
            max_frame_size,
            frames: 0,
        }
    }

    /// The source's name (for logs).
    pub(super) fn name(&self) -> &str {
        self.name
    }

    /// The largest frame handed on.
    pub(super) fn max_frame_size(&self) -> usize {
        self.max_frame_size
    }

    /// Frames handed on during this attempt.
    pub(super) fn frames(&self) -> u64 {
        self.frames
    }

    /// Reports a state change.
    pub(super) fn state(&self, state: SourceState) {
        (self.sink)(SourceEvent::State(state));
    }

    /// Hands on a complete JPEG, unless it is too large or has no SOI (dropped and counted).
    /// The attempt's first frame is preceded by [`SourceState::Streaming`].
    pub(super) fn frame(&mut self, jpeg: Bytes, rtp_timestamp: Option<u32>) {
        if jpeg.len() > self.max_frame_size {
            tracing::debug!(source = %self.name, len = jpeg.len(), max = self.max_frame_size,
                "frame too large; dropped");
            self.dropped(1);
            return;
        }
        if !jpeg.starts_with(&[0xFF, 0xD8]) {
            tracing::debug!(source = %self.name, len = jpeg.len(), "not a JPEG (no SOI); dropped");
            self.dropped(1);
            return;
        }
        if self.frames == 0 {
            tracing::info!(source = %self.name, "streaming");
            self.state(SourceState::Streaming);
        }
        self.frames += 1;
        self.stats.frame(jpeg.len());
        (self.sink)(SourceEvent::Frame {
            jpeg,
            arrival: Instant::now(),
            rtp_timestamp,
        });
    }

    /// Counts `n` frames dropped before they reached [`Emitter::frame`].
    pub(super) fn dropped(&self, n: u64) {
        self.stats.dropped(n);
    }

    /// A frame larger than the limit made the stream unusable: count it, and the loss.
    pub(super) fn too_large(&self, what: impl std::fmt::Display) -> Ended {
        self.dropped(1);
        Ended::Lost(format!(
            "{what} is larger than the maximum frame size ({} bytes)",
            self.max_frame_size
        ))
    }
}
