//! Lifecycle in the simulator: OPTIONS → DESCRIBE → SETUP → PLAY → PAUSE → PLAY → TEARDOWN, over
//! UDP and TCP interleaved, on a clean network and with the control stream split at random bytes
//! and jittered. The same scenario function runs on real runtimes in `sim_real_runtimes.rs`.

use it::sim::driver::{lifecycle, SimDriver};
use it::sim::netem::Split;
use it::sim::{seed, Scenario, Sim};
use std::time::Duration;

const FRAMES: usize = 40;
const FPS: f64 = 25.0;

fn sim(seed: u64) -> Sim {
    Scenario::new(seed).media(FRAMES, FPS, false).build()
}

#[test]
fn sim_lifecycle_udp() {
    let mut d = SimDriver::new(sim(seed(1)));
    lifecycle(&mut d, false, FRAMES, FPS);
    assert_eq!(d.sim.server.session_count(), 0);
}

#[test]
fn sim_lifecycle_tcp() {
    let mut d = SimDriver::new(sim(seed(2)));
    lifecycle(&mut d, true, FRAMES, FPS);
}

/// The control stream arrives in random pieces (1..=7 bytes) with jitter: same outcome.
#[test]
fn sim_lifecycle_split_stream() {
    for tcp in [false, true] {
        for s in 0..4 {
            let mut sim = sim(seed(100 + s));
            sim.pipe.split = Split::Random { max: 7 };
            sim.pipe.jitter = Duration::from_millis(3);
            let mut d = SimDriver::new(sim);
            lifecycle(&mut d, tcp, FRAMES, FPS);
        }
    }
}

/// The control connection stalls (TCP delayed, nothing lost): a reply 5 s late is still taken;
/// one later than the request timeout (10 s) is reported as `RequestTimeout`, not waited for
/// forever.
#[test]
fn sim_lifecycle_stalled_control_connection() {
    use rtsp_core::client::{ClientError, ClientEvent};
    let mut sim = sim(seed(4));
    let c = sim.add_client(|_| {});
    sim.request(c, |c| c.describe().unwrap());
    let wire = sim.client(c).wire.unwrap();
    let until = sim.now() + Duration::from_secs(5);
    sim.wire_pipes(wire).1.stalled_until = until;
    let udp = sim.client(c).udp();
    sim.request(c, |c| c.setup(udp).unwrap());
    let done = sim
        .client(c)
        .events
        .iter()
        .find_map(|(t, e)| matches!(e, ClientEvent::SetupDone { .. }).then_some(*t))
        .expect("SETUP done after the stall");
    assert!(done >= until, "reply arrived during the stall");
    let until = sim.now() + Duration::from_secs(15);
    sim.wire_pipes(wire).1.stalled_until = until;
    sim.call(c, |c| c.play(None).unwrap());
    sim.run_for(Duration::from_secs(11));
    assert!(sim
        .client(c)
        .saw(|e| matches!(e, ClientEvent::Error(ClientError::RequestTimeout { .. }))));
}

/// The course-lab dialect (LF-only requests, unterminated replies, whole JPEGs per packet),
/// with the control stream cut at random bytes: SETUP → PLAY → PAUSE → PLAY → TEARDOWN, every
/// frame the original file's, in order.
#[test]
fn sim_lifecycle_lab_dialect() {
    use rtsp_core::client::{ClientEvent, Dialect};
    for s in 0..3 {
        let mut sim = sim(seed(200 + s));
        sim.pipe.split = Split::Random { max: 9 };
        let c = sim.add_client(|cfg| cfg.dialect = Dialect::Lab);
        let udp = sim.client(c).udp();
        sim.request(c, |c| c.setup(udp).unwrap());
        sim.run_for(Duration::from_millis(400));
        assert!(sim.client(c).machine.session_id().is_some(), "lab SETUP");
        sim.request(c, |c| c.play(None).unwrap());
        sim.run_for(Duration::from_millis(800));
        sim.request(c, |c| c.pause().unwrap());
        sim.run_for(Duration::from_millis(800));
        sim.request(c, |c| c.play(None).unwrap());
        sim.run_for(Duration::from_secs(2));
        sim.request(c, |c| c.teardown().unwrap());
        sim.run_for(Duration::from_millis(400));
        let node = sim.client(c);
        assert!(
            node.saw(|e| matches!(e, ClientEvent::TornDown)),
            "{:?}",
            node.events
                .iter()
                .filter(|(_, e)| !matches!(e, ClientEvent::Frame { .. }))
                .collect::<Vec<_>>()
        );
        let frames = node.frames();
        assert_eq!(frames.len(), FRAMES, "every frame once");
        let source = it::sim::media::frames(FRAMES);
        for (i, (_, _, data)) in frames.iter().enumerate() {
            assert_eq!(*data, source[i], "frame {i} is the file's JPEG");
        }
        assert_eq!(sim.server.session_count(), 0);
    }
}
