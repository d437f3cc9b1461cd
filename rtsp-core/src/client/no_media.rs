//! The no-media watch: while playing, no complete frame for
//! [`ClientConfig::no_media_timeout`](super::ClientConfig::no_media_timeout) is reported once as
//! [`ClientEvent::NoMedia`], with the reason — nothing arrived, nothing of this stream
//! arrived, or RTP came that made no frame (and the depacketizer's last complaint).

use std::time::{Duration, Instant};

use super::event::{ClientEvent, ClientStats, NoMediaReason};
use super::media::Media;
use super::{after, Client, ClientState};

/// One wait for a frame: since when, and the counters then.
#[derive(Debug, Clone, Copy)]
pub(super) struct MediaWatch {
    since: Instant,
    at_start: ClientStats,
}

impl MediaWatch {
    fn new(now: Instant, stats: ClientStats) -> Self {
        Self {
            since: now,
            at_start: stats,
        }
    }

    /// Why no frame came since the watch started, from the counters now.
    fn reason(&self, now: &ClientStats, media: &Media) -> NoMediaReason {
        let packets = now.packets.saturating_sub(self.at_start.packets);
        let ignored = now.ignored.saturating_sub(self.at_start.ignored);
        if packets > 0 {
            NoMediaReason::Undecodable {
                packets,
                frames_dropped: now
                    .frames_dropped
                    .saturating_sub(self.at_start.frames_dropped),
                error: media.last_depacketize_error().cloned(),
            }
        } else if ignored > 0 {
            NoMediaReason::NotOurRtp {
                ignored,
                error: media.last_rtp_error().cloned(),
            }
        } else {
            NoMediaReason::NoPackets
        }
    }
}

impl Client {
    /// The configured no-media timeout, if the watch is on.
    fn no_media_timeout(&self) -> Option<Duration> {
        self.cfg().no_media_timeout.filter(|t| !t.is_zero())
    }

    /// PLAY succeeded: wait for a frame from now on.
    pub(super) fn watch_media(&mut self, now: Instant) {
        self.no_media = match (self.no_media_timeout(), self.media.as_ref()) {
            (Some(_), Some(media)) => Some(MediaWatch::new(now, media.stats())),
            _ => None,
        };
    }

    /// Paused, ended, torn down or closed: no more waiting.
    pub(super) fn unwatch_media(&mut self) {
        self.no_media = None;
    }

    /// When the watch runs out, if it runs.
    pub(super) fn no_media_deadline(&self) -> Option<Instant> {
        let timeout = self.no_media_timeout()?;
        self.no_media.map(|w| after(w.since, timeout))
    }

    /// After every input: a new frame restarts the wait; a wait that ran out is reported (once;
    /// the next PLAY starts another).
    pub(super) fn check_media(&mut self, now: Instant) {
        let (Some(watch), Some(timeout), Some(media)) =
            (self.no_media, self.no_media_timeout(), self.media.as_ref())
        else {
            return;
        };
        if self.state != ClientState::Playing {
            self.no_media = None;
            return;
        }
        let stats = media.stats();
        if stats.frames > watch.at_start.frames {
            self.no_media = Some(MediaWatch::new(now, stats));
            return;
        }
        if after(watch.since, timeout) > now {
            return;
        }
        let reason = watch.reason(&stats, media);
        let frames = watch.at_start.frames;
        self.no_media = None;
        self.emit(ClientEvent::NoMedia {
            waited: now.saturating_duration_since(watch.since),
            frames,
            reason,
        });
    }
}
