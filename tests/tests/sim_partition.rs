//! A silent partition between a playing client and the server: nothing arrives either way and
//! nobody is told (the control connection is cut with [`Cut::Silent`], UDP to and from the
//! client is blackholed). The client reports each unanswered keepalive; once two in a row went
//! unanswered and no RTP/RTCP arrived for the session timeout, it gives up with
//! `ClientError::ServerSilent` and closes — instead of staying Playing forever. A partition
//! that heals in time, or one that spares the media, is not fatal.

use it::sim::netem::{Impair, RuleId};
use it::sim::{seed, Cut, Scenario, Sim};
use rtsp_core::client::{ClientError, ClientEvent, ClientState};
use std::time::Duration;

fn playing(seed: u64, tcp: bool) -> (Sim, Duration) {
    let (mut sim, c) = Scenario::new(seed).playing(tcp);
    sim.run_for(Duration::from_secs(2));
    assert!(sim.client(c).machine.stats().frames > 40);
    let timeout = sim
        .client(c)
        .events
        .iter()
        .find_map(|(_, e)| match e {
            ClientEvent::SetupDone { timeout, .. } => Some(*timeout),
            _ => None,
        })
        .expect("SetupDone");
    (sim, timeout)
}

/// Blackhole every datagram to or from client 0 (a disabled rule lets them through again).
fn partition_udp(sim: &mut Sim) -> RuleId {
    let ip = sim.client(0).ip;
    sim.net.add(
        "partition",
        move |m| m.from.ip() == ip || m.to.ip() == ip,
        Impair::blackhole(),
    )
}

fn wire(sim: &Sim) -> u64 {
    sim.client(0).wire.expect("control connection")
}

/// Events after `t0` other than frames and responses.
fn trouble(sim: &Sim, t0: Duration) -> Vec<(Duration, ClientEvent)> {
    sim.client(0)
        .events
        .iter()
        .filter(|(t, e)| {
            *t >= t0 && !matches!(e, ClientEvent::Frame { .. } | ClientEvent::Response { .. })
        })
        .cloned()
        .collect()
}

fn fatal(sim: &Sim, t0: Duration) -> bool {
    trouble(sim, t0)
        .iter()
        .any(|(_, e)| matches!(e, ClientEvent::Error(_) | ClientEvent::Closed))
}

#[test]
fn sim_partition_silent_gives_up_after_the_session_timeout() {
    for tcp in [false, true] {
        let (mut sim, timeout) = playing(seed(151), tcp);
        let t0 = sim.now();
        partition_udp(&mut sim);
        let w = wire(&sim);
        sim.cut(w, Cut::Silent);
        sim.run_for(timeout * 3);

        let ev = trouble(&sim, t0);
        let ctx = format!("tcp={tcp}: {ev:?}");
        // Two unanswered keepalives, then the error, then Closed (the last event).
        let kinds: Vec<&ClientEvent> = ev.iter().map(|(_, e)| e).collect();
        match &kinds[..] {
            [failed @ .., ClientEvent::Error(ClientError::ServerSilent {
                keepalives,
                silent_for,
            }), ClientEvent::Closed] => {
                assert!(*keepalives >= 2, "{ctx}");
                assert!(*silent_for >= timeout, "{ctx}");
                assert!(failed.len() >= 2, "{ctx}");
                assert!(
                    failed
                        .iter()
                        .all(|e| matches!(e, ClientEvent::KeepaliveFailed { status: None })),
                    "{ctx}"
                );
            }
            _ => panic!("no ServerSilent then Closed; {ctx}"),
        }
        // Not before the session timeout; soon after the second unanswered keepalive
        // (keepalives every min(T/2, T-5), 10 s request timeout).
        let closed = ev.last().expect("Closed").0 - t0;
        assert!(closed >= timeout, "{ctx}: closed after {closed:?}");
        assert!(
            closed <= timeout + timeout / 2 + Duration::from_secs(11),
            "{ctx}: closed after {closed:?}"
        );
        assert_eq!(sim.client(0).machine.state(), ClientState::Closed);
        // No timer left: the client is not spinning.
        let steps = sim.steps;
        sim.run_for(Duration::from_secs(600));
        assert!(
            sim.steps - steps < 200,
            "tcp={tcp}: still busy after Closed"
        );
    }
}

/// The network comes back before the session timeout: the client may report an unanswered
/// keepalive, but keeps playing.
#[test]
fn sim_partition_that_heals_is_not_fatal() {
    for tcp in [false, true] {
        let (mut sim, timeout) = playing(seed(152), tcp);
        let t0 = sim.now();
        let heal = t0 + timeout / 2 + Duration::from_secs(10);
        let rule = partition_udp(&mut sim);
        // TCP keeps retransmitting: what was written arrives when the partition heals.
        let w = wire(&sim);
        let (up, down) = sim.wire_pipes(w);
        up.stalled_until = heal;
        down.stalled_until = heal;
        sim.run_until(heal);
        sim.net.set_enabled(rule, false);
        let frames_before = sim.client(0).machine.stats().frames;
        sim.run_for(timeout * 3);
        let ctx = format!("tcp={tcp}: {:?}", trouble(&sim, t0));
        assert!(!fatal(&sim, t0), "{ctx}");
        assert_eq!(sim.client(0).machine.state(), ClientState::Playing, "{ctx}");
        assert!(
            sim.client(0).machine.stats().frames > frames_before + 100,
            "{ctx}: media resumed"
        );
    }
}

/// Only the control connection is partitioned: keepalives go unanswered forever, but media and
/// RTCP flow (the receiver reports keep the server's session alive), so the client keeps
/// playing and only reports the failed keepalives.
#[test]
fn sim_partition_of_the_control_connection_alone_is_not_fatal() {
    let (mut sim, timeout) = playing(seed(153), false);
    let t0 = sim.now();
    let w = wire(&sim);
    sim.cut(w, Cut::Silent);
    sim.run_for(timeout * 4);
    let ev = trouble(&sim, t0);
    assert!(!fatal(&sim, t0), "{ev:?}");
    assert!(
        ev.iter()
            .filter(|(_, e)| matches!(e, ClientEvent::KeepaliveFailed { status: None }))
            .count()
            >= 4,
        "{ev:?}"
    );
    assert_eq!(sim.client(0).machine.state(), ClientState::Playing);
}
