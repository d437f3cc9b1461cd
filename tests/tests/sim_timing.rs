//! Timing in virtual time: frame `n` after PLAY leaves the server exactly at
//! `play + ceil(n / fps)`; PAUSE stops the flow at once (within one frame interval of the server
//! receiving it); the client sees frames at the frame rate; a resumed stream keeps the pace.

use it::sim::{seed, Setup, Sim};
use rtsp_core::message::Method;
use rtsp_core::server::ServerEvent;
use std::time::Duration;

fn first_packet_times(sim: &Sim, to: core::net::SocketAddr) -> Vec<(Duration, u32)> {
    let mut out: Vec<(Duration, u32)> = Vec::new();
    for r in sim.rtp_to(to) {
        let ts = r.meta.rtp.unwrap().ts;
        if out.last().map(|x| x.1) != Some(ts) {
            out.push((r.meta.at, ts));
        }
    }
    out
}

fn request_times(sim: &Sim, m: Method) -> Vec<Duration> {
    sim.server_events
        .iter()
        .filter_map(|(t, e)| match e {
            ServerEvent::Request { method, .. } if *method == m => Some(*t),
            _ => None,
        })
        .collect()
}

fn due(n: u64, fps: f64) -> Duration {
    Duration::from_nanos((n as f64 * 1e9 / fps).ceil() as u64)
}

fn pace(fps: f64, seed: u64) {
    let mut sim = Sim::with_setup(
        seed,
        Setup {
            frames: 50,
            fps,
            mtu: 400,
            looping: true,
            ..Setup::default()
        },
    );
    let c = sim.add_client(|_| {});
    let udp = sim.client(c).udp();
    sim.request(c, |c| c.setup(udp).unwrap());
    sim.request(c, |c| c.play(None).unwrap());
    sim.run_for(Duration::from_secs(4) + Duration::from_micros(123_457));
    let frame_iv = Duration::from_secs_f64(1.0 / fps);
    // PAUSE at an arbitrary instant.
    sim.call(c, |c| c.pause().unwrap());
    sim.run_for(Duration::from_secs(2));
    sim.request(c, |c| c.play(None).unwrap());
    sim.run_for(Duration::from_secs(2));
    // Stop, and let what is in flight arrive.
    sim.request(c, |c| c.pause().unwrap());
    sim.run_for(Duration::from_millis(100));

    let play = request_times(&sim, Method::Play);
    let pause = request_times(&sim, Method::Pause)[0];
    let rtp = sim.client(c).rtp;
    let sent = first_packet_times(&sim, rtp);
    let (before, after): (Vec<_>, Vec<_>) = sent.iter().partition(|x| x.0 <= pause);
    for (n, (t, _)) in before.iter().enumerate() {
        assert_eq!(
            *t,
            play[0] + due(n as u64, fps),
            "frame {n} left off pace (fps {fps})"
        );
    }
    // The last frame before PAUSE left less than one interval before it; none after it until
    // the next PLAY.
    let last = before.last().unwrap().0;
    assert!(
        pause - last < frame_iv,
        "flow stopped early: last {last:?}, PAUSE {pause:?}"
    );
    assert!(
        after.iter().all(|x| x.0 >= play[1]),
        "RTP between PAUSE and PLAY"
    );
    for (n, (t, _)) in after.iter().enumerate() {
        assert_eq!(
            *t,
            play[1] + due(n as u64, fps),
            "frame {n} after resume off pace"
        );
    }
    // The client sees them at the same pace (constant latency).
    let got: Vec<Duration> = sim.client(c).frames().iter().map(|f| f.0).collect();
    assert_eq!(got.len(), sent.len(), "every frame arrives");
    for (g, s) in got.iter().zip(&sent) {
        assert_eq!(*g - s.0, Duration::from_millis(5), "latency is constant");
    }
    // RTP timestamps: 90 kHz, continuous across the pause.
    for w in sent.windows(2) {
        let step = w[1].1.wrapping_sub(w[0].1);
        assert!(
            (step as f64 - 90_000.0 / fps).abs() <= 1.0,
            "ts step {step}"
        );
    }
}

#[test]
fn sim_timing_25_fps() {
    pace(25.0, seed(71));
}

#[test]
fn sim_timing_odd_rates() {
    pace(7.5, seed(72));
    pace(29.97, seed(73));
}

/// The client's RFC 3550 interarrival jitter matches the network: 0 on a constant-latency path
/// (25 fps: timestamps and send times both exact); about J/3 with delays uniform in [0, J]
/// (the mean |difference| of two such delays), within the wobble of the 1/16-gain estimator.
#[test]
fn sim_timing_jitter_estimate() {
    use it::sim::netem::Impair;
    for (jitter_ms, lo, hi) in [(0u64, 0.0, 0.0), (30, 6.0, 15.0), (90, 18.0, 45.0)] {
        let mut sim = Sim::with_setup(
            seed(74),
            Setup {
                mtu: 400,
                ..Setup::default()
            },
        );
        let c = sim.add_client(|cfg| cfg.reorder_window = 0);
        let rtp = sim.client(c).rtp;
        sim.net.add(
            "jitter",
            move |m| m.to == rtp,
            Impair {
                jitter: Duration::from_millis(jitter_ms),
                ..Impair::default()
            },
        );
        let udp = sim.client(c).udp();
        sim.request(c, |c| c.setup(udp).unwrap());
        sim.request(c, |c| c.play(None).unwrap());
        sim.run_for(Duration::from_secs(20));
        let j = sim.client(c).machine.stats().jitter_ms;
        assert!(
            (lo..=hi).contains(&j),
            "jitter {jitter_ms} ms: client estimates {j} ms, expected {lo}..={hi}"
        );
    }
}
