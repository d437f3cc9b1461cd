//! The client's playback policy against our server in the simulator: `Client::start` runs
//! DESCRIBE → SETUP → PLAY by itself and frames flow; PLAY carries the policy's seek
//! position; with the TCP fallback, a 461 to SETUP over UDP and RTP that never arrives over
//! UDP both end in playback over TCP interleaved.

use it::sim::netem::Impair;
use it::sim::{media, seed, server_rtp, Setup, Sim};
use rtsp_core::client::{ClientEvent, ClientState, FallbackReason, Policy, TransportChoice};
use rtsp_core::message::headers::{NptTime, Range};
use std::time::Duration;

/// Events except frames, responses and traces, for order checks and messages.
fn outline(sim: &Sim, c: usize) -> Vec<String> {
    sim.client(c)
        .events
        .iter()
        .filter(|(_, e)| {
            !matches!(
                e,
                ClientEvent::Frame { .. }
                    | ClientEvent::Response { .. }
                    | ClientEvent::Trace { .. }
            )
        })
        .map(|(_, e)| {
            let s = format!("{e:?}");
            s.split([' ', '(', '{'])
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// When client `c` first reported an event matching `f`.
fn first(sim: &Sim, c: usize, f: impl Fn(&ClientEvent) -> bool) -> Duration {
    let found = sim.client(c).events.iter().find(|(_, e)| f(e));
    found.expect("the event was reported").0
}

/// Frame indices (of the source) received by client `c`.
fn frame_indices(sim: &Sim, c: usize) -> Vec<usize> {
    sim.client(c)
        .frames()
        .iter()
        .map(|(_, _, data)| media::frame_index(data).expect("a source frame"))
        .collect()
}

/// A client with `policy` (its transport built from the node's UDP sockets by `transport`),
/// started.
fn start(sim: &mut Sim, policy: impl FnOnce(TransportChoice) -> Policy) -> usize {
    let c = sim.add_client(|_| {});
    let policy = policy(sim.client(c).udp());
    sim.call(c, |c| {
        c.set_policy(policy);
        c.start().expect("start")
    });
    c
}

#[test]
fn start_runs_describe_setup_and_play_by_itself() {
    for tcp in [false, true] {
        let mut sim = Sim::new(seed(0x9011_0001));
        let c = start(&mut sim, |udp| {
            Policy::new(if tcp { TransportChoice::Tcp } else { udp })
        });
        sim.run_for(Duration::from_secs(2));
        assert_eq!(
            outline(&sim, c),
            ["Described", "SetupDone", "Playing"],
            "tcp={tcp}"
        );
        assert_eq!(sim.client(c).machine.state(), ClientState::Playing);
        assert_eq!(sim.server.session_count(), 1);
        let frames = frame_indices(&sim, c);
        assert!(frames.len() >= 40, "tcp={tcp}: {} frames", frames.len());
        for (i, f) in frames.iter().enumerate() {
            assert_eq!(*f, i % sim.setup.frames, "tcp={tcp}: frames in order");
        }
        let udp_rtp = sim.rtp_to(sim.client(c).rtp).len();
        assert_eq!(udp_rtp == 0, tcp, "tcp={tcp}: {udp_rtp} RTP datagrams");
    }
}

#[test]
fn the_automatic_play_starts_at_the_seek_position() {
    let mut sim = Sim::with_setup(
        seed(0x9011_0002),
        Setup {
            frames: 100,
            looping: false,
            ..Setup::default()
        },
    );
    let c = start(&mut sim, |udp| Policy {
        seek: Some(Duration::from_secs(2)),
        ..Policy::new(udp)
    });
    sim.run_for(Duration::from_millis(500));
    let range = sim.client(c).events.iter().find_map(|(_, e)| match e {
        ClientEvent::Playing { range, .. } => Some(range.clone()),
        _ => None,
    });
    assert!(
        matches!(
            range,
            Some(Some(Range::Npt { start: NptTime::Seconds(x), .. })) if (x - 2.0).abs() < 1e-6
        ),
        "{range:?}"
    );
    let frames = frame_indices(&sim, c);
    assert_eq!(frames.first(), Some(&50), "2 s at 25 fps: {frames:?}");
}

/// Our server refuses a UDP transport it cannot send to (client port 0) with 461, as a server
/// without UDP does: the client sets up over TCP instead and plays.
#[test]
fn udp_refused_with_461_falls_back_to_tcp() {
    let mut sim = Sim::new(seed(0x9011_0003));
    let c = start(&mut sim, |udp| {
        let TransportChoice::Udp { rtp_local, .. } = udp else {
            unreachable!()
        };
        Policy {
            tcp_fallback: true,
            ..Policy::new(TransportChoice::Udp {
                rtp_local: (rtp_local.ip(), 0).into(),
                rtcp_local: (rtp_local.ip(), 1).into(),
            })
        }
    });
    sim.run_for(Duration::from_secs(2));
    assert_eq!(
        outline(&sim, c),
        ["Described", "TransportFallback", "SetupDone", "Playing"]
    );
    assert!(sim.client(c).saw(|e| matches!(
        e,
        ClientEvent::TransportFallback {
            reason: FallbackReason::UdpRefused
        }
    )));
    let m = &sim.client(c).machine;
    assert_eq!(m.policy().transport, TransportChoice::Tcp);
    assert_eq!(m.state(), ClientState::Playing);
    assert!(frame_indices(&sim, c).len() >= 40);
}

/// Every datagram from the server is lost (a firewall): PLAY succeeds over UDP but no RTP
/// arrives; after the wait the client tears the UDP session down and plays over TCP.
#[test]
fn no_rtp_over_udp_falls_back_to_tcp_after_the_wait() {
    let mut sim = Sim::new(seed(0x9011_0004));
    let wall = sim.net.add(
        "no UDP from the server",
        |m| m.from.ip() == server_rtp().ip(),
        Impair::blackhole(),
    );
    let c = start(&mut sim, |udp| Policy {
        tcp_fallback: true,
        udp_wait: Duration::from_secs(2),
        ..Policy::new(udp)
    });
    sim.run_for(Duration::from_secs(1));
    assert_eq!(outline(&sim, c), ["Described", "SetupDone", "Playing"]);
    assert!(frame_indices(&sim, c).is_empty());
    assert!(
        sim.net.stats(wall).dropped() > 0,
        "the server sent RTP over UDP"
    );

    sim.run_for(Duration::from_secs(3));
    assert_eq!(
        outline(&sim, c),
        [
            "Described",
            "SetupDone",
            "Playing",
            "TransportFallback",
            "TornDown",
            "SetupDone",
            "Playing"
        ]
    );
    let playing_at = first(&sim, c, |e| matches!(e, ClientEvent::Playing { .. }));
    let fell_back_at = first(&sim, c, |e| {
        matches!(
            e,
            ClientEvent::TransportFallback {
                reason: FallbackReason::NoUdpMedia { waited }
            } if *waited == Duration::from_secs(2)
        )
    });
    assert_eq!(fell_back_at, playing_at + Duration::from_secs(2));
    let m = &sim.client(c).machine;
    assert_eq!(m.policy().transport, TransportChoice::Tcp);
    assert_eq!(m.state(), ClientState::Playing);
    assert_eq!(sim.server.session_count(), 1, "the UDP session is gone");
    assert!(frame_indices(&sim, c).len() >= 25, "frames over TCP");
}
