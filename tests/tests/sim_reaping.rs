//! Silence reaps a session: once nothing arrives from the client for the session timeout, the
//! server closes the session (reason `Timeout`), stops sending, and frees it
//! (`session_count() == 0`, no timers left once its connection is gone too).

use it::sim::netem::Impair;
use it::sim::{seed, Cut, Scenario, Sim};
use rtsp_core::server::{CloseReason, ServerEvent};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(30);

fn sim(seed: u64) -> Sim {
    Scenario::new(seed)
        .server(|s| s.session_timeout = TIMEOUT)
        .build()
}

fn playing(sim: &mut Sim, tcp: bool) -> usize {
    let c = sim.add_playing_client(tcp, |_| {});
    sim.run_for(Duration::from_secs(2));
    assert_eq!(sim.server.session_count(), 1);
    c
}

fn closed_at(sim: &Sim) -> Option<(Duration, CloseReason)> {
    sim.server_events.iter().find_map(|(t, e)| match e {
        ServerEvent::SessionClosed { reason, .. } => Some((*t, *reason)),
        _ => None,
    })
}

/// A UDP client goes silent (all its traffic is lost; its TCP connection stays up but quiet).
#[test]
fn sim_reaping_silent_udp_client() {
    let mut sim = sim(seed(21));
    let c = playing(&mut sim, false);
    let ip = sim.client(c).ip;
    let wire = sim.client(c).wire.unwrap();
    // From now on nothing from the client reaches the server.
    let silent_from = sim.now();
    sim.net.add(
        "client silent",
        move |m| m.from.ip() == ip,
        Impair::blackhole(),
    );
    sim.cut(wire, Cut::Silent);
    // The last thing heard from the client is before `silent_from`.
    sim.run_for(TIMEOUT - Duration::from_secs(3));
    assert_eq!(sim.server.session_count(), 1, "reaped too early");
    sim.run_for(Duration::from_secs(4));
    assert_eq!(
        sim.server.session_count(),
        0,
        "not reaped after the timeout"
    );
    let (at, reason) = closed_at(&sim).expect("SessionClosed event");
    assert_eq!(reason, CloseReason::Timeout);
    assert!(
        at <= silent_from + TIMEOUT,
        "reaped at {at:?}, silent from {silent_from:?}"
    );
    // Nothing more is sent to it.
    let rtp_after = sim
        .rtp_to(sim.client(c).rtp)
        .iter()
        .filter(|r| r.meta.at > at)
        .count();
    assert_eq!(rtp_after, 0, "RTP after the session was reaped");
    // Its connection is still open (silent); once it goes, no timer is left.
    assert_eq!(sim.server.connection_count(), 1);
    let wire = sim.client(c).wire.unwrap();
    sim.cut(wire, Cut::Reset);
    sim.run_for(Duration::from_secs(1));
    assert_eq!(sim.server.connection_count(), 0);
    assert_eq!(
        sim.server_deadline(),
        None,
        "timers left with nothing to serve"
    );
}

/// A TCP (interleaved) client whose connection stays open but silent is reaped too.
#[test]
fn sim_reaping_silent_tcp_client() {
    let mut sim = sim(seed(22));
    let c = playing(&mut sim, true);
    let wire = sim.client(c).wire.unwrap();
    sim.cut(wire, Cut::Silent);
    let t0 = sim.now();
    sim.run_for(TIMEOUT + Duration::from_secs(1));
    assert_eq!(
        sim.server.session_count(),
        0,
        "interleaved session not reaped"
    );
    let (at, reason) = closed_at(&sim).expect("SessionClosed");
    assert_eq!(reason, CloseReason::Timeout);
    assert!(at <= t0 + TIMEOUT);
}

/// A TCP client whose connection resets: the session ends at once with the connection.
#[test]
fn sim_reaping_tcp_session_dies_with_its_connection() {
    let mut sim = sim(seed(23));
    let c = playing(&mut sim, true);
    let wire = sim.client(c).wire.unwrap();
    sim.cut(wire, Cut::Reset);
    sim.run_for(Duration::from_millis(100));
    assert_eq!(sim.server.session_count(), 0);
    assert_eq!(sim.server.connection_count(), 0);
    assert_eq!(
        closed_at(&sim).map(|x| x.1),
        Some(CloseReason::ConnectionClosed)
    );
    assert_eq!(
        sim.server_deadline(),
        None,
        "timers left with nothing to serve"
    );
}

/// A UDP client whose connection closes without TEARDOWN keeps its session until the timeout
/// (RFC 2326: sessions are independent of connections), then everything is freed.
#[test]
fn sim_reaping_udp_session_outlives_its_connection_until_timeout() {
    let mut sim = sim(seed(24));
    let c = playing(&mut sim, false);
    let ip = sim.client(c).ip;
    sim.net.add(
        "client silent",
        move |m| m.from.ip() == ip,
        Impair::blackhole(),
    );
    let wire = sim.client(c).wire.unwrap();
    sim.cut(wire, Cut::Reset);
    sim.run_for(Duration::from_secs(1));
    assert_eq!(sim.server.connection_count(), 0);
    assert_eq!(sim.server.session_count(), 1);
    sim.run_for(TIMEOUT);
    assert_eq!(sim.server.session_count(), 0);
    assert_eq!(
        sim.server_deadline(),
        None,
        "timers left with nothing to serve"
    );
}
