//! Seek: PLAY with `Range: npt=X-` starts at frame ⌊X·fps⌋ — from Ready, while playing, and
//! after PAUSE — with RTP-Info announcing the first packet, the RTP clock continuing (no jump
//! back), and out-of-range seeks refused with 457 without disturbing playback.

use it::sim::{media, seed, Scenario, Sim};
use rtsp_core::client::ClientEvent;
use rtsp_core::message::headers::{NptTime, Range};
use rtsp_core::message::StatusCode;
use std::time::Duration;

const FRAMES: usize = 100;
const FPS: f64 = 25.0;

fn npt(x: f64) -> Option<Duration> {
    Some(Duration::from_secs_f64(x))
}

/// Frames (index, ts) received after event number `from`.
fn frames_after(sim: &Sim, from: usize) -> Vec<(usize, u32)> {
    sim.client(0).events[from..]
        .iter()
        .filter_map(|(_, e)| match e {
            ClientEvent::Frame { timestamp, data } => Some((
                media::frame_index(data).expect("a source frame"),
                *timestamp,
            )),
            _ => None,
        })
        .collect()
}

fn consecutive(f: &[(usize, u32)], first: usize) {
    assert_eq!(
        f.first().map(|x| x.0),
        Some(first),
        "first frame after the seek"
    );
    for w in f.windows(2) {
        assert_eq!(w[1].0, w[0].0 + 1, "frames not consecutive: {f:?}");
        assert_eq!(w[1].1.wrapping_sub(w[0].1), 3600, "timestamp step");
    }
}

fn seek(tcp: bool, seed: u64) {
    let mut sim = Scenario::new(seed).media(FRAMES, FPS, false).build();
    let c = sim.add_client(|_| {});
    sim.request(c, |c| c.describe().unwrap());
    let t = sim.transport(c, tcp);
    sim.request(c, |c| c.setup(t).unwrap());

    // From Ready, at 2.0 s: frame 50.
    let mark = sim.client(c).events.len();
    sim.request(c, |c| c.play(npt(2.0)).unwrap());
    let info = sim.client(c).events[mark..]
        .iter()
        .find_map(|(_, e)| match e {
            ClientEvent::Playing {
                rtp_info, range, ..
            } => Some((rtp_info.clone(), range.clone())),
            _ => None,
        });
    let (rtp_info, range) = info.expect("Playing");
    assert!(
        matches!(range, Some(Range::Npt { start: NptTime::Seconds(x), .. }) if (x - 2.0).abs() < 1e-6),
        "{range:?}"
    );
    sim.run_for(Duration::from_millis(990));
    let f = frames_after(&sim, mark);
    consecutive(&f, 50);
    assert_eq!(
        Some(f[0].1),
        rtp_info[0].rtptime,
        "RTP-Info rtptime is the first frame's"
    );
    let last_ts = f.last().unwrap().1;

    // While playing, back to 0.4 s: frame 10; the RTP clock goes on.
    let mark = sim.client(c).events.len();
    sim.request(c, |c| c.play(npt(0.4)).unwrap());
    sim.run_for(Duration::from_millis(500));
    let f = frames_after(&sim, mark);
    consecutive(&f, 10);
    assert!(
        f[0].1.wrapping_sub(last_ts) < 90_000 && f[0].1 != last_ts,
        "timestamps continue across a seek: {last_ts} then {}",
        f[0].1
    );

    // Beyond the end: 457, playback undisturbed.
    let mark = sim.client(c).events.len();
    sim.request(c, |c| c.play(npt(4.0)).unwrap());
    assert!(sim.client(c).events[mark..].iter().any(|(_, e)| matches!(
        e,
        ClientEvent::RequestFailed { status, .. } if *status == StatusCode::INVALID_RANGE
    )));
    sim.run_for(Duration::from_millis(200));
    let f = frames_after(&sim, mark);
    assert!(!f.is_empty(), "still playing after a refused seek");

    // After PAUSE, at 3.0 s: frame 75.
    sim.request(c, |c| c.pause().unwrap());
    let mark = sim.client(c).events.len();
    sim.request(c, |c| c.play(npt(3.0)).unwrap());
    sim.run_for(Duration::from_millis(300));
    consecutive(&frames_after(&sim, mark), 75);
    let st = sim.client(c).machine.stats();
    assert_eq!((st.lost, st.frames_dropped), (0, 0), "{st:?}");
}

#[test]
fn sim_seek_udp() {
    seek(false, seed(51));
}

#[test]
fn sim_seek_tcp() {
    seek(true, seed(52));
}
