//! Live streams: frames the application pushes (from a publisher or a pulled source), each
//! packetized once ([`LiveFrame`]) and sent to every session of its stream that plays.

use super::Server;
use crate::server::media::LiveFrame;
use crate::server::session::Tx;
use std::time::Instant;

impl Server {
    /// A frame of the live stream `name` (one whose [`Media::is_live`](crate::server::Media::is_live)):
    /// sent at once to each session of the stream that plays; a reader that joined since the
    /// last frame starts with this one, a paused one skips it. The frame's payloads are shared,
    /// never copied: only each session's 12-byte RTP header is its own. Drain
    /// [`Machine::poll_output`](crate::io::Machine::poll_output) after it.
    pub fn push_frame(&mut self, name: &str, frame: &LiveFrame, now: Instant) {
        self.set_now(now);
        // The first frame of a path describes it: requests waiting for that go on.
        self.retry_parked();
        self.push_to_viewers(name, frame.jpeg());
        let Some(readers) = self.live_readers.get(name) else {
            return;
        };
        let wallclock = self.wallclock();
        let mut tx = Tx::new(&self.config, wallclock, &mut self.rng, &mut self.out);
        for key in readers {
            if let Some(s) = self.sessions.get_mut(key) {
                s.send_live(frame, now, &mut tx);
            }
        }
    }

    /// How many sessions read the live stream `name` (playing or not).
    pub fn live_readers(&self, name: &str) -> usize {
        self.live_readers.get(name).map_or(0, Vec::len)
    }
}
