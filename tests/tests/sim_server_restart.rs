//! Server restart mid-session: the server machine is replaced by a fresh one (no sessions). The
//! client must report it and not hang: its control connection ends, it says so, it reaches
//! `Closed` with no deadline left; the new server keeps nothing of the old sessions.
//!
//! How the restart shows on the wire varies: the connection is reset at once (the process died,
//! the kernel sent RST/FIN); or the host rebooted silently and the client learns it on its next
//! write (the keepalive) with a reset; or a partition swallows everything.

use it::sim::{seed, Cut, Scenario, Sim};
use rtsp_core::client::{ClientError, ClientEvent, ClientState};
use std::time::Duration;

fn playing(seed: u64, tcp: bool) -> Sim {
    let (mut sim, c) = Scenario::new(seed).playing(tcp);
    sim.run_for(Duration::from_secs(2));
    assert!(sim.client(c).machine.stats().frames > 40);
    sim
}

fn closed_at(sim: &Sim) -> Option<Duration> {
    sim.client(0)
        .events
        .iter()
        .find_map(|(t, e)| matches!(e, ClientEvent::Closed).then_some(*t))
}

fn errors(sim: &Sim) -> Vec<ClientError> {
    sim.client(0)
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            ClientEvent::Error(err) => Some(err.clone()),
            _ => None,
        })
        .collect()
}

fn ended_cleanly(sim: &mut Sim) {
    assert_eq!(sim.client(0).machine.state(), ClientState::Closed);
    // No timer left: the client is not spinning.
    let steps = sim.steps;
    sim.run_for(Duration::from_secs(600));
    assert!(sim.steps - steps < 200, "client still busy after Closed");
    assert_eq!(
        sim.server.session_count(),
        0,
        "the new server has no sessions"
    );
}

/// Reset right away, with a request outstanding: `ConnectionLost` and `Closed` at once.
#[test]
fn sim_server_restart_with_request_outstanding() {
    for tcp in [false, true] {
        let mut sim = playing(seed(141), tcp);
        sim.call(0, |c| c.pause().unwrap());
        sim.restart_server(99, Cut::Reset);
        sim.run_for(Duration::from_secs(1));
        let t = closed_at(&sim).expect("client closed");
        assert!(t < Duration::from_secs(3), "closed at {t:?}");
        assert!(
            errors(&sim)
                .iter()
                .any(|e| matches!(e, ClientError::ConnectionLost { pending: 1 })),
            "{:?}",
            errors(&sim)
        );
        ended_cleanly(&mut sim);
    }
}

/// The host rebooted: nothing tells the client until it writes and gets a reset. Over UDP its
/// first write on the connection is the keepalive — within one keepalive interval (27.5 s for
/// the 55 s advertised timeout), with that request lost; over TCP it is the first interleaved
/// RTCP receiver report (every ~5 s).
#[test]
fn sim_server_restart_noticed_on_next_write() {
    for tcp in [false, true] {
        let mut sim = playing(seed(142), tcp);
        let t0 = sim.now();
        sim.restart_server(99, Cut::ResetOnWrite);
        sim.run_for(Duration::from_secs(40));
        let t = closed_at(&sim).expect("client noticed the restart");
        let bound = if tcp { 8 } else { 28 };
        assert!(
            t - t0 <= Duration::from_secs(bound),
            "tcp={tcp}: noticed after {:?}",
            t - t0
        );
        // Over TCP no request is outstanding when the RR write meets the reset: the session
        // is lost all the same.
        assert!(
            errors(&sim)
                .iter()
                .any(|e| matches!(e, ClientError::ConnectionLost { .. })),
            "tcp={tcp}: {:?}",
            errors(&sim)
        );
        ended_cleanly(&mut sim);
    }
}

/// A partition: the client's keepalive goes unanswered and it reports that (not fatal at first:
/// the network may come back; see sim_partition.rs for when it gives up). It does not
/// busy-loop meanwhile.
#[test]
fn sim_server_restart_behind_a_partition_reports_keepalive_failure() {
    let mut sim = playing(seed(143), false);
    let ip = sim.client(0).ip;
    sim.net.add(
        "partition",
        move |m| m.from.ip() == ip || m.to.ip() == ip,
        it::sim::netem::Impair::blackhole(),
    );
    let t0 = sim.now();
    let steps = sim.steps;
    sim.restart_server(99, Cut::Silent);
    sim.run_for(Duration::from_secs(60));
    let failed = sim
        .client(0)
        .events
        .iter()
        .find_map(|(t, e)| matches!(e, ClientEvent::KeepaliveFailed { .. }).then_some(*t))
        .expect("keepalive failure reported");
    assert!(
        failed - t0 <= Duration::from_secs(28 + 10),
        "reported after {:?}",
        failed - t0
    );
    assert!(
        sim.steps - steps < 2_000,
        "{} steps in 60 s of silence",
        sim.steps - steps
    );
}

/// Reset while playing with no request outstanding: the client closes at once — and says why
/// (`ConnectionLost`), since its session is gone without a TEARDOWN.
#[test]
fn sim_server_restart_reset_while_idle_reports_an_error() {
    for tcp in [false, true] {
        let mut sim = playing(seed(144), tcp);
        sim.restart_server(99, Cut::Reset);
        sim.run_for(Duration::from_secs(1));
        assert!(closed_at(&sim).is_some(), "client closed");
        assert!(
            errors(&sim)
                .iter()
                .any(|e| matches!(e, ClientError::ConnectionLost { pending: 0 })),
            "tcp={tcp}: no error reported for the lost session: {:?}",
            errors(&sim)
        );
        ended_cleanly(&mut sim);
    }
}

/// Reset while playing: the client closes at once (the error: see the test above).
#[test]
fn sim_server_restart_reset_while_idle_closes() {
    for tcp in [false, true] {
        let mut sim = playing(seed(145), tcp);
        sim.restart_server(99, Cut::Reset);
        sim.run_for(Duration::from_secs(1));
        let t = closed_at(&sim).expect("client closed");
        assert!(t < Duration::from_secs(3));
        ended_cleanly(&mut sim);
    }
}
