//! Publishers' media: RTP from their client port or interleaved channel, reassembled into
//! frames that go to this server's readers at once and out as [`ServerEvent::Published`]
//! for the other event loops.

use super::Server;
use crate::io::ConnId;
use crate::server::media::{LiveFrame, Media};
use crate::server::session::Delivery;
use crate::server::{CloseReason, IntakeStats, ServerEvent};
use core::net::SocketAddr;

impl Server {
    /// The publisher session sending RTP from `remote` to our RTP socket, if any.
    pub(super) fn publisher_by_rtp(&self, remote: SocketAddr) -> Option<u64> {
        self.by_rtp_source.get(&remote).copied()
    }

    /// The publisher session of `conn` whose RTP comes on interleaved `channel`, if any.
    pub(super) fn publisher_on_channel(&self, conn: ConnId, channel: u8) -> Option<u64> {
        let c = self.conns.get(&conn)?;
        c.sessions.iter().copied().find(|k| {
            self.sessions.get(k).is_some_and(|s| {
                s.intake.is_some()
                    && matches!(s.delivery, Delivery::Interleaved { conn: c, rtp_channel, .. }
                        if c == conn && rtp_channel == channel)
            })
        })
    }

    /// Largest interleaved frame `conn` may send: publishers send RTP on theirs.
    pub(super) fn max_interleaved(&self, conn: ConnId) -> usize {
        let publishes = self.conns.get(&conn).is_some_and(|c| {
            c.sessions
                .iter()
                .any(|k| self.sessions.get(k).is_some_and(|s| s.intake.is_some()))
        });
        if publishes {
            usize::from(u16::MAX)
        } else {
            self.config.max_interleaved
        }
    }

    /// One RTP packet of publisher session `key`: keeps it alive; a frame it completes goes
    /// to the readers.
    pub(super) fn on_published_rtp(&mut self, key: u64, data: &[u8]) {
        let now = self.now;
        let Some(s) = self.sessions.get_mut(&key) else {
            return;
        };
        s.last_seen = now;
        let Some(intake) = s.intake.as_mut() else {
            return;
        };
        let Some(frame) = intake.push(data) else {
            return;
        };
        let (epoch, fps) = (intake.epoch, intake.fps);
        let stream = s.stream.clone();
        let live = self.config.live.clone();
        let at = live.stamp(&stream, epoch, Some(frame.timestamp), now);
        let Ok(frame) = LiveFrame::from_jpeg(frame.data, at, self.config.mtu) else {
            // The depacketizer builds carriable JPEG: this cannot happen but is counted.
            if let Some(i) = self.sessions.get_mut(&key).and_then(|s| s.intake.as_mut()) {
                i.stats.frames_dropped += 1;
            }
            return;
        };
        let size = (frame.width(), frame.height());
        let fps = fps.unwrap_or(25.0);
        live.frame(&stream, size, || Media::live(&stream, fps, &frame).ok());
        self.push_frame(&stream, &frame, now);
        self.event(ServerEvent::Published { stream, frame });
    }

    /// Counters of a publisher session's intake (`None` for other sessions).
    pub fn intake_stats(&self, session: &str) -> Option<IntakeStats> {
        self.session(session)?.intake.as_ref().map(|i| i.stats)
    }

    /// Ends the session `session` (a publisher replaced on another event loop, or one the
    /// operator kicks), or the HTTP viewer of that id: its client gets nothing more. Returns
    /// whether it was live here.
    pub fn kick(&mut self, session: &str, now: std::time::Instant) -> bool {
        self.set_now(now);
        let kicked = match self.ids.get(session).copied() {
            Some(key) => {
                self.close_session(key, CloseReason::Kicked, true);
                true
            }
            None => self.kick_viewer(session),
        };
        self.refresh_report();
        kicked
    }
}
