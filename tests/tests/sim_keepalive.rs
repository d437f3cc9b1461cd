//! A client's keepalive alone holds a session for an hour of virtual time: its RTCP receiver
//! reports to the server are dropped by the network, so only the keepalive requests refresh the
//! session (server timeout 60 s). Paused (no media) and playing (5 fps, UDP). (A session that
//! was never played is reaped after 20 s whatever the keepalives: the paused ones here played
//! first.)

use it::sim::netem::Impair;
use it::sim::{seed, Setup, Sim};
use rtsp_core::client::{ClientEvent, ClientState};
use rtsp_core::message::Method;
use rtsp_core::server::ServerEvent;
use std::time::Duration;

const HOUR: Duration = Duration::from_secs(3600);

fn setup_session(seed: u64, fps: f64) -> Sim {
    let mut sim = Sim::with_setup(
        seed,
        Setup {
            frames: 20,
            fps,
            looping: true,
            ..Setup::default()
        },
    );
    // Receiver reports never reach the server: only requests keep the session alive.
    sim.net.add(
        "no RTCP to server",
        |m| m.to_server_rtcp,
        Impair::blackhole(),
    );
    let c = sim.add_client(|_| {});
    sim.request(c, |c| c.options().unwrap());
    sim.request(c, |c| c.describe().unwrap());
    let udp = sim.client(c).udp();
    sim.request(c, |c| c.setup(udp).unwrap());
    assert_eq!(sim.server.session_count(), 1);
    sim
}

fn no_trouble(sim: &Sim) {
    let c = sim.client(0);
    assert!(
        !c.saw(|e| matches!(
            e,
            ClientEvent::Error(_) | ClientEvent::KeepaliveFailed { .. } | ClientEvent::Closed
        )),
        "client trouble: {:?}",
        c.events
            .iter()
            .filter(|(_, e)| !matches!(e, ClientEvent::Frame { .. }))
            .collect::<Vec<_>>()
    );
    assert!(
        !sim.server_events
            .iter()
            .any(|(_, e)| matches!(e, ServerEvent::SessionClosed { .. })),
        "the server closed the session"
    );
}

fn keepalives(sim: &Sim) -> usize {
    sim.client(0)
        .events
        .iter()
        .filter(|(_, e)| {
            matches!(
                e,
                ClientEvent::Response {
                    method: Method::GetParameter | Method::Options,
                    ..
                }
            )
        })
        .count()
}

/// Played, then paused: a Ready session with no media held by keepalives alone.
fn pause_after_play(sim: &mut Sim) {
    sim.request(0, |c| c.play(None).unwrap());
    sim.request(0, |c| c.pause().unwrap());
}

#[test]
fn sim_keepalive_holds_a_ready_session_for_an_hour() {
    let mut sim = setup_session(seed(11), 25.0);
    pause_after_play(&mut sim);
    sim.run_for(HOUR);
    no_trouble(&sim);
    assert_eq!(
        sim.server.session_count(),
        1,
        "session reaped despite keepalives"
    );
    assert_eq!(sim.client(0).machine.state(), ClientState::Ready);
    // min(T/2, T-5) with T = 55 s advertised: every 27.5 s.
    let n = keepalives(&sim);
    assert!((120..=140).contains(&n), "{n} keepalives in an hour");
    sim.request(0, |c| c.teardown().unwrap());
    assert_eq!(sim.server.session_count(), 0);
}

#[test]
fn sim_keepalive_holds_a_playing_session_for_an_hour() {
    let mut sim = setup_session(seed(12), 5.0);
    sim.request(0, |c| c.play(None).unwrap());
    sim.run_for(HOUR);
    no_trouble(&sim);
    assert_eq!(
        sim.server.session_count(),
        1,
        "session reaped despite keepalives"
    );
    let frames = sim.client(0).machine.stats().frames;
    assert!(
        frames >= 3600 * 5 - 5,
        "{frames} frames in an hour at 5 fps"
    );
}

/// Over TCP interleaved, RTCP on the connection is bytes on it too; the keepalive must still
/// go out and the session live.
#[test]
fn sim_keepalive_holds_a_tcp_session_for_an_hour() {
    let mut sim = setup_session_tcp(seed(13));
    pause_after_play(&mut sim);
    sim.run_for(HOUR);
    no_trouble(&sim);
    assert_eq!(sim.server.session_count(), 1);
    assert!(keepalives(&sim) >= 120);
}

fn setup_session_tcp(seed: u64) -> Sim {
    let mut sim = Sim::with_setup(seed, Setup::default());
    let c = sim.add_client(|_| {});
    sim.request(c, |c| c.options().unwrap());
    sim.request(c, |c| c.describe().unwrap());
    sim.request(c, |c| {
        c.setup(rtsp_core::client::TransportChoice::Tcp).unwrap()
    });
    sim
}
