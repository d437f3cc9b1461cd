//! Many clients (120) on one server, each with its own random transport, start time, pauses,
//! seeks and teardown, over a lossless network. Each must get only its own stream (its SSRC,
//! nothing ignored), consecutive frames within each PLAY, exactly as many frames as the server
//! sent to its session; the server's sessions match the clients that still have one; and a
//! teardown (or a 453 for the 101st session at the default limit) disturbs nobody else.

use it::sim::{media, seed, Rng, Setup, Sim};
use rtsp_core::client::{ClientEvent, ClientState, TransportChoice};
use rtsp_core::message::StatusCode;
use rtsp_core::server::ServerConfig;
use std::collections::HashSet;
use std::time::Duration;

const CLIENTS: usize = 120;
const FRAMES: usize = 50;

#[derive(Debug, Clone, Copy)]
enum Act {
    Play,
    Pause,
    Seek(f64),
    Teardown,
}

#[test]
fn sim_many_clients_independent_sessions() {
    let seed = seed(131);
    let mut rng = Rng::new(seed ^ 0xABCD);
    let mut sim = Sim::with_setup(
        seed,
        Setup {
            frames: FRAMES,
            fps: 25.0,
            looping: true,
            server: ServerConfig {
                max_sessions: 200,
                ..ServerConfig::default()
            },
            ..Setup::default()
        },
    );
    // Plans: (time, client, action).
    let mut plan: Vec<(Duration, usize, Act)> = Vec::new();
    for i in 0..CLIENTS {
        let c = sim.add_client(|_| {});
        let tcp = rng.chance(0.5);
        let t = if tcp {
            TransportChoice::Tcp
        } else {
            sim.client(c).udp()
        };
        sim.call(c, |c| c.setup(t).unwrap());
        let mut at = Duration::from_millis(200 + rng.below(2000));
        plan.push((at, i, Act::Play));
        for _ in 0..rng.below(4) {
            at += Duration::from_millis(300 + rng.below(1500));
            let act = match rng.below(3) {
                0 => Act::Pause,
                1 => Act::Seek(rng.below(19) as f64 / 10.0),
                _ => Act::Play,
            };
            plan.push((at, i, act));
        }
        if rng.chance(0.25) {
            plan.push((at + Duration::from_millis(500), i, Act::Teardown));
        }
    }
    plan.sort_by_key(|p| p.0);
    sim.run_for(Duration::from_millis(150));
    assert_eq!(sim.server.session_count(), CLIENTS);
    let ids: HashSet<String> = (0..CLIENTS)
        .map(|i| {
            sim.client(i)
                .machine
                .session_id()
                .expect("session")
                .to_string()
        })
        .collect();
    assert_eq!(ids.len(), CLIENTS, "session ids are unique");

    for (at, i, act) in plan {
        sim.run_until(at);
        let st = sim.client(i).machine.state();
        sim.call(i, |c| {
            let _ = match act {
                Act::Play if st == ClientState::Ready => c.play(None),
                Act::Pause if st == ClientState::Playing => c.pause(),
                Act::Seek(x) if st != ClientState::Init => c.play(Some(Duration::from_secs_f64(x))),
                Act::Teardown => c.teardown(),
                _ => Ok(0),
            };
        });
    }
    sim.run_for(Duration::from_secs(2));
    // Stop everyone still playing, let in-flight media land.
    for i in 0..CLIENTS {
        if sim.client(i).machine.state() == ClientState::Playing {
            sim.call(i, |c| c.pause().unwrap());
        }
    }
    sim.run_for(Duration::from_millis(300));

    let mut alive = 0;
    for i in 0..CLIENTS {
        let c = sim.client(i);
        assert!(
            !c.saw(|e| matches!(
                e,
                ClientEvent::Error(_) | ClientEvent::RequestFailed { .. } | ClientEvent::Closed
            )),
            "client {i}: {:?}",
            c.events
                .iter()
                .filter(|(_, e)| !matches!(e, ClientEvent::Frame { .. }))
                .collect::<Vec<_>>()
        );
        let st = c.machine.stats();
        assert_eq!(st.ignored, 0, "client {i} got someone else's packets");
        assert_eq!(
            (st.lost, st.duplicates, st.frames_dropped),
            (0, 0, 0),
            "client {i}: {st:?}"
        );
        // Consecutive frames within each PLAY (a Playing event starts a new run).
        let mut prev: Option<usize> = None;
        for (_, e) in &c.events {
            match e {
                ClientEvent::Playing { .. } => prev = None,
                ClientEvent::Frame { data, .. } => {
                    let k = media::frame_index(data).expect("source frame");
                    if let Some(p) = prev {
                        assert!(k == (p + 1) % FRAMES, "client {i}: frame {k} after {p}");
                    }
                    prev = Some(k);
                }
                _ => {}
            }
        }
        if let Some(id) = c.machine.session_id() {
            alive += 1;
            let server = sim
                .server
                .session_stats(id)
                .expect("server has the session");
            assert_eq!(
                server.frames, st.frames,
                "client {i}: frames sent vs received"
            );
        }
    }
    assert_eq!(
        sim.server.session_count(),
        alive,
        "server sessions = clients with a session"
    );
    assert!(alive < CLIENTS, "some tore down");
}

#[test]
fn sim_many_clients_session_limit() {
    let mut sim = Sim::new(seed(132));
    for _ in 0..101 {
        let c = sim.add_client(|_| {});
        let udp = sim.client(c).udp();
        sim.call(c, |c| c.setup(udp).unwrap());
    }
    sim.run_for(Duration::from_millis(200));
    assert_eq!(sim.server.session_count(), 100);
    let refused: Vec<usize> = (0..101)
        .filter(|&i| {
            sim.client(i).saw(|e| {
                matches!(e, ClientEvent::RequestFailed { status, .. } if *status == StatusCode::NOT_ENOUGH_BANDWIDTH)
            })
        })
        .collect();
    assert_eq!(refused.len(), 1, "exactly one 453");
    // Everyone else plays undisturbed.
    for i in (0..101).filter(|i| !refused.contains(i)).take(10) {
        sim.call(i, |c| c.play(None).unwrap());
    }
    sim.run_for(Duration::from_secs(1));
    for i in (0..101).filter(|i| !refused.contains(i)).take(10) {
        assert!(sim.client(i).machine.stats().frames >= 24);
    }
}

/// 100 clients over a lossy, jittery, duplicating network, control streams cut at random bytes:
/// nobody fails, nobody gets another's packets or a corrupt frame, each client's loss statistics
/// are its own (the sum of what the emulator did to its packets), and TEARDOWN frees everyone.
#[test]
fn sim_many_clients_lossy_network() {
    use it::sim::netem::{Fate, Impair, Loss, Split};
    let mut sim = Sim::with_setup(
        seed(133),
        Setup {
            frames: FRAMES,
            mtu: 400,
            looping: true,
            ..Setup::default()
        },
    );
    sim.pipe.split = Split::Random { max: 40 };
    sim.net.add(
        "lossy media",
        // Clean before and after (the first and last packets anchor "expected").
        |m| m.rtp.is_some() && m.at >= Duration::from_secs(1) && m.at < Duration::from_secs(4),
        Impair {
            loss: Loss::Bernoulli(0.03),
            duplicate: 0.02,
            ..Impair::default()
        },
    );
    for i in 0..100 {
        let c = sim.add_client(|_| {});
        let t = if i % 3 == 0 {
            TransportChoice::Tcp
        } else {
            sim.client(c).udp()
        };
        sim.call(c, |c| c.setup(t).unwrap());
    }
    sim.run_for(Duration::from_millis(200));
    for c in 0..100 {
        sim.call(c, |c| c.play(None).unwrap());
    }
    sim.run_for(Duration::from_secs(5));
    for c in 0..100 {
        sim.call(c, |c| c.pause().unwrap());
    }
    sim.run_for(Duration::from_millis(300));
    for c in 0..100 {
        let node = sim.client(c);
        assert!(
            !node.saw(|e| matches!(
                e,
                ClientEvent::Error(_) | ClientEvent::RequestFailed { .. } | ClientEvent::Closed
            )),
            "client {c}"
        );
        let st = node.machine.stats();
        assert_eq!(st.ignored, 0, "client {c}");
        for (_, _, d) in node.frames() {
            assert!(
                media::frame_index(&d).is_some(),
                "client {c}: corrupt frame"
            );
        }
        if c % 3 != 0 {
            let mine = sim.rtp_to(node.rtp);
            let dropped = mine
                .iter()
                .filter(|r| matches!(r.fate, Fate::Dropped(_)))
                .count() as i64;
            let dup = mine.iter().filter(|r| r.fate == Fate::Duplicated).count() as i64;
            assert_eq!(st.duplicates as i64, dup, "client {c}");
            assert_eq!(st.lost, dropped - dup, "client {c}: its own losses");
        }
    }
    for c in 0..100 {
        sim.call(c, |c| c.teardown().unwrap());
    }
    sim.run_for(Duration::from_secs(1));
    assert_eq!(sim.server.session_count(), 0);
}
