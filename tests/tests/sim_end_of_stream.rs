//! End of stream: a non-looping stream sends each frame once, then stops with RTCP BYE and an
//! `EndOfStream` event; the session stays (Ready) with no media timer; PLAY starts it over. A
//! looping stream wraps around instead. The client reports the end after the last frame even
//! when the network delivers the last RTP behind the BYE (RTP and RTCP travel separately).

use it::sim::netem::{Impair, RuleId};
use it::sim::{media, seed, server_rtcp, Scenario, Sim};
use rtsp_core::client::{ClientEvent, DEFAULT_END_OF_STREAM_GRACE};
use rtsp_core::server::ServerEvent;
use std::cell::Cell;
use std::time::Duration;

const FRAMES: usize = 30;

fn sim(seed: u64, looping: bool) -> Sim {
    Scenario::new(seed).media(FRAMES, 25.0, looping).build()
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
    sim.setup_and_play(c, tcp);
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
    sim.setup_and_play(c, false);
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

/// Delays the RTP of the stream's last frame to client `c` by 160 ms (everything else takes
/// 5 ms), so the RTCP BYE, which the server sends 100 ms after it (the default
/// `ServerConfig::bye_delay`), overtakes it.
fn hold_last_frame(sim: &mut Sim, c: usize) -> RuleId {
    let rtp = sim.client(c).rtp;
    // Counts the frames (distinct RTP timestamps) the server sent to the client.
    let seen: Cell<(Option<u32>, usize)> = Cell::new((None, 0));
    sim.net.add(
        "last frame late",
        move |m| {
            let Some(r) = m.rtp.filter(|_| m.to == rtp) else {
                return false;
            };
            let (last, n) = seen.get();
            let n = if last == Some(r.ts) { n } else { n + 1 };
            seen.set((Some(r.ts), n));
            n == FRAMES
        },
        Impair::latency(Duration::from_millis(160)),
    )
}

/// The network holds the stream's last frame back (160 ms against 5 ms for everything else),
/// so the RTCP BYE sent 100 ms after it arrives first: every frame is still delivered, with no
/// loss, and `EndOfStream` comes once, after the last frame, when the client's grace is over.
#[test]
fn sim_end_of_stream_udp_last_rtp_behind_the_bye() {
    let mut sim = sim(seed(64), false);
    let c = sim.add_client(|_| {});
    let rule = hold_last_frame(&mut sim, c);
    sim.setup_and_play(c, false);
    sim.run_for(Duration::from_secs(3));
    assert!(
        sim.net.stats(rule).matched > 0,
        "the last frame was held back"
    );

    assert_eq!(
        indexes(&sim),
        (0..FRAMES).collect::<Vec<_>>(),
        "each frame once, in order, the last one included"
    );
    let events = &sim.client(c).events;
    let eos: Vec<_> = events
        .iter()
        .enumerate()
        .filter(|(_, (_, e))| matches!(e, ClientEvent::EndOfStream { .. }))
        .map(|(i, (t, _))| (i, *t))
        .collect();
    assert_eq!(eos.len(), 1, "one EndOfStream");
    let (last_frame, last_frame_at) = events
        .iter()
        .enumerate()
        .filter(|(_, (_, e))| matches!(e, ClientEvent::Frame { .. }))
        .map(|(i, (t, _))| (i, *t))
        .last()
        .expect("frames");
    assert!(
        eos[0].0 > last_frame,
        "EndOfStream at {:?} before the last frame at {last_frame_at:?}",
        eos[0].1
    );
    // The BYE arrived ~55 ms before the last frame; the end follows the BYE by the grace.
    assert!(eos[0].1 <= last_frame_at + DEFAULT_END_OF_STREAM_GRACE);
    let st = sim.call(c, |c| c.stats());
    assert_eq!((st.lost, st.frames_dropped), (0, 0));
}

/// With the grace turned off the same network makes the client report the end before the
/// last frame: the scenario above really puts the BYE first.
#[test]
fn sim_end_of_stream_without_grace_reports_the_end_before_the_late_frame() {
    let mut sim = sim(seed(65), false);
    let c = sim.add_client(|cfg| cfg.end_of_stream_grace = Duration::ZERO);
    hold_last_frame(&mut sim, c);
    sim.setup_and_play(c, false);
    sim.run_for(Duration::from_secs(3));
    let events = &sim.client(c).events;
    let eos = events
        .iter()
        .position(|(_, e)| matches!(e, ClientEvent::EndOfStream { .. }))
        .expect("EndOfStream");
    let last_frame = events
        .iter()
        .rposition(|(_, e)| matches!(e, ClientEvent::Frame { .. }))
        .expect("frames");
    assert!(eos < last_frame, "the BYE overtook the last frame");
}
