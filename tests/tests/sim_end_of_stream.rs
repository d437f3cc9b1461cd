//! End of stream: a non-looping stream sends each frame once, then stops with RTCP BYE and an
//! `EndOfStream` event; the session stays (Ready) with no media timer; PLAY starts it over. A
//! looping stream wraps around instead.

use it::sim::{media, seed, server_rtcp, Setup, Sim};
use rtsp_core::client::TransportChoice;
use rtsp_core::server::ServerEvent;
use std::time::Duration;

const FRAMES: usize = 30;

fn sim(seed: u64, looping: bool) -> Sim {
    Sim::with_setup(
        seed,
        Setup {
            frames: FRAMES,
            fps: 25.0,
            looping,
            ..Setup::default()
        },
    )
}

fn indexes(sim: &Sim) -> Vec<usize> {
    sim.client(0)
        .frames()
        .iter()
        .map(|(_, _, d)| media::frame_index(d).expect("source frame"))
        .collect()
}

fn end_of_stream(tcp: bool, seed: u64) {
    let mut sim = sim(seed, false);
    let c = sim.add_client(|_| {});
    let t = if tcp {
        TransportChoice::Tcp
    } else {
        sim.client(c).udp()
    };
    sim.request(c, |c| c.setup(t).unwrap());
    sim.request(c, |c| c.play(None).unwrap());
    sim.run_for(Duration::from_secs(3));
    assert_eq!(
        indexes(&sim),
        (0..FRAMES).collect::<Vec<_>>(),
        "each frame once, in order"
    );
    let eos = sim
        .server_events
        .iter()
        .filter(|(_, e)| matches!(e, ServerEvent::EndOfStream { .. }))
        .count();
    assert_eq!(eos, 1, "one EndOfStream");
    if !tcp {
        // RTCP BYE (PT 203) went to the client's RTCP port.
        let rtcp = sim.client(c).rtcp;
        assert!(
            sim.udp_log
                .iter()
                .any(|r| r.meta.from == server_rtcp() && r.meta.to == rtcp),
            "RTCP to the client"
        );
    }
    let sent = sim.udp_log.len();
    sim.run_for(Duration::from_secs(2));
    assert!(
        sim.udp_log[sent..].iter().all(|r| r.meta.rtp.is_none()),
        "RTP after the end"
    );
    assert_eq!(
        sim.server.session_count(),
        1,
        "the session stays after the end"
    );
    // Only the expiry timer is left (no frame due).
    let d = sim.server_deadline().expect("expiry");
    assert!(
        d > sim.now() + Duration::from_secs(50),
        "next deadline {d:?} at {:?}",
        sim.now()
    );

    // PLAY again: from the start.
    sim.request(c, |c| c.play(None).unwrap());
    sim.run_for(Duration::from_secs(2));
    let all = indexes(&sim);
    assert_eq!(all.len(), 2 * FRAMES);
    assert_eq!(&all[FRAMES..], &(0..FRAMES).collect::<Vec<_>>()[..]);
    sim.request(c, |c| c.teardown().unwrap());
    assert_eq!(sim.server.session_count(), 0);
}

#[test]
fn sim_end_of_stream_udp() {
    end_of_stream(false, seed(61));
}

#[test]
fn sim_end_of_stream_tcp() {
    end_of_stream(true, seed(62));
}

#[test]
fn sim_end_of_stream_looping_wraps() {
    let mut sim = sim(seed(63), true);
    let c = sim.add_client(|_| {});
    let t = sim.client(c).udp();
    sim.request(c, |c| c.setup(t).unwrap());
    sim.request(c, |c| c.play(None).unwrap());
    sim.run_for(Duration::from_secs(3));
    let f = indexes(&sim);
    assert!(f.len() >= 70, "{}", f.len());
    for (i, x) in f.iter().enumerate() {
        assert_eq!(*x, i % FRAMES);
    }
    assert!(!sim
        .server_events
        .iter()
        .any(|(_, e)| matches!(e, ServerEvent::EndOfStream { .. })));
}
