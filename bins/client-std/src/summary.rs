//! The end of a run, for either kind of stream: the frame-rate line and the `--stats` JSON.

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::window;

/// `N frame(s) in S s (F fps)`.
pub fn rate(frames: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    let fps = if secs > 0.0 {
        frames as f64 / secs
    } else {
        0.0
    };
    format!("{frames} frame(s) in {secs:.1} s ({fps:.1} fps)")
}

/// Kilobits per second of `bytes` over `over` (0 for no time).
pub fn kbps(bytes: u64, over: Duration) -> f64 {
    let secs = over.as_secs_f64();
    if secs > 0.0 {
        bytes as f64 * 8.0 / secs / 1000.0
    } else {
        0.0
    }
}

/// The `--stats` line: one JSON object on stdout.
#[derive(Debug, Clone, Default)]
pub struct StatsJson {
    pub frames_shown: u64,
    pub frames_received: u64,
    pub frames_dropped: u64,
    pub frames_dropped_display: u64,
    pub packets_received: u64,
    pub bytes_received: u64,
    pub lost: i64,
    pub duplicates: u64,
    pub reordered: u64,
    pub jitter_ms: f64,
    pub socket_drops: u64,
    pub mean_bitrate_kbps: f64,
    pub duration_s: f64,
    /// `udp`, `tcp` or `http`.
    pub transport: &'static str,
    pub end_of_stream: bool,
    pub exit_code: u8,
}

impl StatsJson {
    /// Frames shown and dropped by the display: the window's counts, or (headless) every
    /// frame received and none.
    pub fn display(&mut self, window: Option<&Arc<window::Shared>>) {
        (self.frames_shown, self.frames_dropped_display) = match window {
            Some(w) => (
                w.shown.load(Ordering::Relaxed),
                w.display_dropped.load(Ordering::Relaxed),
            ),
            None => (self.frames_received, 0),
        };
    }
}

impl fmt::Display for StatsJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{{\"frames_shown\":{},\"frames_received\":{},\"frames_dropped\":{},\"frames_dropped_display\":{},\"packets_received\":{},\"bytes_received\":{},\"lost\":{},\"duplicates\":{},\"reordered\":{},\"jitter_ms\":{:.3},\"socket_drops\":{},\"mean_bitrate_kbps\":{:.1},\"duration_s\":{:.3},\"transport\":\"{}\",\"end_of_stream\":{},\"exit_code\":{}}}",
            self.frames_shown,
            self.frames_received,
            self.frames_dropped,
            self.frames_dropped_display,
            self.packets_received,
            self.bytes_received,
            self.lost,
            self.duplicates,
            self.reordered,
            self.jitter_ms,
            self.socket_drops,
            self.mean_bitrate_kbps,
            self.duration_s,
            self.transport,
            self.end_of_stream,
            self.exit_code,
        )
    }
}
