//! Scenarios written once, run on the simulator and on real sockets: the [`Driver`] trait and
//! its simulator implementation [`SimDriver`] (the real-socket one is
//! [`super::real::RealDriver`]).

use super::{media, Sim};
use bytes::Bytes;
use rtsp_core::client::{Client, ClientEvent, TransportChoice};
use rtsp_core::message::{Method, StatusCode};
use rtsp_core::server::Server;
use std::time::Duration;

/// Runs one client against one server, whatever drives them.
pub trait Driver {
    /// For messages.
    fn name(&self) -> String;
    /// The transport SETUP should ask for (UDP with the driver's bound ports, or TCP).
    fn transport(&self, tcp: bool) -> TransportChoice;
    /// Run `f` with the client machine (between inputs; outputs are drained after it).
    fn client<T: Send + 'static>(&mut self, f: impl FnOnce(&mut Client) -> T + Send + 'static)
        -> T;
    /// Run `f` with the server machine.
    fn server<T: Send + 'static>(&mut self, f: impl FnOnce(&mut Server) -> T + Send + 'static)
        -> T;
    /// Collect client events until `done` accepts one (`Ok`) or `within` passes (`Err`); both
    /// return every event collected, the accepted one last.
    fn wait(
        &mut self,
        within: Duration,
        done: &mut dyn FnMut(&ClientEvent) -> bool,
    ) -> Result<Vec<ClientEvent>, Vec<ClientEvent>>;
}

/// [`Driver`] over a [`Sim`] with one client (index 0).
#[derive(Debug)]
pub struct SimDriver {
    /// The simulation.
    pub sim: Sim,
    seen: usize,
}

impl SimDriver {
    /// Wrap a simulation and add its client.
    pub fn new(mut sim: Sim) -> Self {
        if sim.clients.is_empty() {
            sim.add_client(|_| {});
        }
        Self { sim, seen: 0 }
    }
}

impl Driver for SimDriver {
    fn name(&self) -> String {
        format!("simulator (seed {})", self.sim.seed)
    }

    fn transport(&self, tcp: bool) -> TransportChoice {
        if tcp {
            TransportChoice::Tcp
        } else {
            self.sim.clients[0].udp()
        }
    }

    fn client<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut Client) -> T + Send + 'static,
    ) -> T {
        self.sim.call(0, f)
    }

    fn server<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut Server) -> T + Send + 'static,
    ) -> T {
        self.sim.call_server(|s, _| f(s))
    }

    fn wait(
        &mut self,
        within: Duration,
        done: &mut dyn FnMut(&ClientEvent) -> bool,
    ) -> Result<Vec<ClientEvent>, Vec<ClientEvent>> {
        let mut pos = self.seen;
        let mut hit = None;
        self.sim.run_while_not(within, |s| {
            let ev = &s.clients[0].events;
            while pos < ev.len() {
                pos += 1;
                if done(&ev[pos - 1].1) {
                    hit = Some(pos);
                    return true;
                }
            }
            false
        });
        let end = hit.unwrap_or(pos);
        let out: Vec<ClientEvent> = self.sim.clients[0].events[self.seen..end]
            .iter()
            .map(|(_, e)| e.clone())
            .collect();
        self.seen = end;
        if hit.is_some() {
            Ok(out)
        } else {
            Err(out)
        }
    }
}

fn fail(d: &impl Driver, what: &str, ev: &[ClientEvent]) -> ! {
    let ev: Vec<_> = ev
        .iter()
        .filter(|e| !matches!(e, ClientEvent::Frame { .. }))
        .collect();
    panic!("{}: {what}; events: {ev:?}", d.name())
}

fn no_errors(d: &impl Driver, ev: &[ClientEvent]) {
    if ev.iter().any(|e| {
        matches!(
            e,
            ClientEvent::Error(_) | ClientEvent::RequestFailed { .. } | ClientEvent::Closed
        )
    }) {
        fail(d, "unexpected failure", ev);
    }
}

fn take_frames(ev: &[ClientEvent], into: &mut Vec<(u32, Bytes)>) {
    for e in ev {
        if let ClientEvent::Frame { timestamp, data } = e {
            into.push((*timestamp, data.clone()));
        }
    }
}

/// Bound for one request/response step.
const STEP: Duration = Duration::from_secs(10);

/// The lifecycle scenario: OPTIONS → DESCRIBE → SETUP → PLAY → PAUSE → PLAY → TEARDOWN over a
/// non-looping stream of `frames` frames at `fps`.
///
/// Checks: every request succeeds with its own CSeq; the server has one session after SETUP and
/// none after TEARDOWN; while paused the server sends nothing and the client gets nothing new;
/// the client receives every frame exactly once, in order, with the source's scan data byte for
/// byte and timestamps 90000/fps apart.
pub fn lifecycle<D: Driver>(d: &mut D, tcp: bool, frames: usize, fps: f64) {
    let frame_iv = Duration::from_secs_f64(1.0 / fps);
    let mut got: Vec<(u32, Bytes)> = Vec::new();

    let cseq = d.client(|c| c.options().expect("options"));
    let ev = d
        .wait(
            STEP,
            &mut |e| matches!(e, ClientEvent::Response { cseq: c, .. } if *c == cseq),
        )
        .unwrap_or_else(|ev| fail(d, "no OPTIONS reply", &ev));
    no_errors(d, &ev);
    assert!(
        matches!(ev.last(), Some(ClientEvent::Response { method: Method::Options, status, .. }) if *status == StatusCode::OK),
        "{}: OPTIONS {ev:?}",
        d.name()
    );

    d.client(|c| c.describe().expect("describe"));
    let ev = d
        .wait(STEP, &mut |e| matches!(e, ClientEvent::Described { .. }))
        .unwrap_or_else(|ev| fail(d, "no DESCRIBE reply", &ev));
    no_errors(d, &ev);
    if let Some(ClientEvent::Described { presentation, .. }) = ev.last() {
        let track = &presentation.tracks[presentation.selected.expect("a JPEG track")];
        assert!(track.is_jpeg(), "{}: {track:?}", d.name());
        assert_eq!(track.framerate, Some(fps), "{}: SDP framerate", d.name());
    }

    let choice = d.transport(tcp);
    d.client(move |c| c.setup(choice).expect("setup"));
    let ev = d
        .wait(STEP, &mut |e| matches!(e, ClientEvent::SetupDone { .. }))
        .unwrap_or_else(|ev| fail(d, "no SETUP reply", &ev));
    no_errors(d, &ev);
    let sid = d
        .client(|c| c.session_id().map(str::to_string))
        .expect("session id");
    assert_eq!(
        d.server(|s| s.session_count()),
        1,
        "{}: sessions after SETUP",
        d.name()
    );

    // PLAY until half the frames are in.
    d.client(|c| c.play(None).expect("play"));
    let half = frames / 2;
    let mut n = 0;
    let ev = d
        .wait(STEP, &mut |e| {
            n += usize::from(matches!(e, ClientEvent::Frame { .. }));
            n >= half
        })
        .unwrap_or_else(|ev| fail(d, "first half of the frames", &ev));
    no_errors(d, &ev);
    assert!(
        ev.iter().any(|e| matches!(e, ClientEvent::Playing { .. })),
        "{}: no Playing",
        d.name()
    );
    take_frames(&ev, &mut got);

    // PAUSE: nothing more is sent.
    d.client(|c| c.pause().expect("pause"));
    let ev = d
        .wait(STEP, &mut |e| matches!(e, ClientEvent::Paused))
        .unwrap_or_else(|ev| fail(d, "no PAUSE reply", &ev));
    no_errors(d, &ev);
    take_frames(&ev, &mut got);
    let s = sid.clone();
    let at_pause = d
        .server(move |srv| srv.session_stats(&s))
        .expect("session while paused");
    let ev = d
        .wait(frame_iv * 10, &mut |_| false)
        .expect_err("no event expected while paused");
    take_frames(&ev, &mut got);
    let s = sid.clone();
    let after = d.server(move |srv| srv.session_stats(&s)).expect("session");
    assert_eq!(
        at_pause.packets,
        after.packets,
        "{}: RTP sent while paused",
        d.name()
    );
    assert!(
        got.len() as u64 <= at_pause.frames,
        "{}: {} frames received, {} sent before PAUSE",
        d.name(),
        got.len(),
        at_pause.frames
    );

    // PLAY again: to the end of the stream.
    d.client(|c| c.play(None).expect("play again"));
    let mut have = got.len();
    let ev = d
        .wait(STEP + frame_iv * frames as u32, &mut |e| {
            have += usize::from(matches!(e, ClientEvent::Frame { .. }));
            have >= frames
        })
        .unwrap_or_else(|ev| fail(d, "the rest of the frames", &ev));
    no_errors(d, &ev);
    take_frames(&ev, &mut got);

    d.client(|c| c.teardown().expect("teardown"));
    let ev = d
        .wait(STEP, &mut |e| matches!(e, ClientEvent::TornDown))
        .unwrap_or_else(|ev| fail(d, "no TEARDOWN reply", &ev));
    no_errors(d, &ev);
    take_frames(&ev, &mut got);
    assert_eq!(
        d.server(|s| s.session_count()),
        0,
        "{}: sessions after TEARDOWN",
        d.name()
    );

    assert_eq!(got.len(), frames, "{}: frame count", d.name());
    let step = (90_000.0 / fps).round() as u32;
    for (i, (ts, data)) in got.iter().enumerate() {
        assert_eq!(
            media::frame_index(data),
            Some(i),
            "{}: frame {i} has other scan data",
            d.name()
        );
        if i > 0 {
            assert_eq!(
                ts.wrapping_sub(got[i - 1].0),
                step,
                "{}: frame {i} timestamp",
                d.name()
            );
        }
    }
}
