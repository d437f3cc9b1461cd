//! [`LiveFanout`]: every event loop's server, reachable from any thread.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use rtsp_core::server::{LiveFrame, Server, ServerEvent};

use crate::handle::Handle;

/// The event loops of one server, for the live paths: a frame of a path goes to every loop
/// (each sends it to its own readers), a publisher replaced on one loop is ended on the loop
/// that holds it. Clones share the loops; they are set once the loops exist
/// ([`LiveFanout::set_loops`]): until then frames go nowhere.
#[derive(Clone, Default)]
pub struct LiveFanout(Arc<OnceLock<Vec<Handle<Server>>>>);

impl std::fmt::Debug for LiveFanout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveFanout")
            .field("loops", &self.0.get().map_or(0, Vec::len))
            .finish()
    }
}

impl LiveFanout {
    /// A fan-out with no loops yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The loops, in order (loop `i` is `origin` `Some(i)` below). Only the first call counts.
    pub fn set_loops(&self, loops: Vec<Handle<Server>>) {
        let _ = self.0.set(loops);
    }

    fn loops(&self, origin: Option<usize>) -> impl Iterator<Item = &Handle<Server>> {
        self.0
            .get()
            .into_iter()
            .flatten()
            .enumerate()
            .filter(move |(i, _)| Some(*i) != origin)
            .map(|(_, h)| h)
    }

    /// A frame of `stream` for every loop but `origin` (which sent it to its readers
    /// already). The frame's payloads are shared, not copied.
    pub fn frame(&self, origin: Option<usize>, stream: &str, frame: &LiveFrame) {
        for h in self.loops(origin) {
            let (stream, frame) = (stream.to_string(), frame.clone());
            h.command(move |s: &mut Server| s.push_frame(&stream, &frame, Instant::now()));
        }
    }

    /// Ends session `session` on whichever loop but `origin` holds it.
    pub fn kick(&self, origin: Option<usize>, session: &str) {
        for h in self.loops(origin) {
            let session = session.to_string();
            h.command(move |s: &mut Server| {
                s.kick(&session, Instant::now());
            });
        }
    }

    /// What loop `origin` does with its server's events for the others: frames published
    /// there go to the other loops, publishers replaced from there end where they live.
    pub fn on_event(&self, origin: usize, ev: &ServerEvent) {
        match ev {
            ServerEvent::Published { stream, frame } => self.frame(Some(origin), stream, frame),
            ServerEvent::PublisherReplaced { session, .. } => self.kick(Some(origin), session),
            // An admin's kick (HTTP) of a session another loop holds.
            ServerEvent::KickRequested { session } => self.kick(Some(origin), session),
            _ => {}
        }
    }
}
