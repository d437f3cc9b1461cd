//! Lifecycle in the simulator: OPTIONS → DESCRIBE → SETUP → PLAY → PAUSE → PLAY → TEARDOWN, over
//! UDP and TCP interleaved, on a clean network and with the control stream split at random bytes
//! and jittered. The same scenario function runs on real runtimes in `sim_real_runtimes.rs`.

use it::sim::driver::{lifecycle, SimDriver};
use it::sim::netem::Split;
use it::sim::{seed, Setup, Sim};
use std::time::Duration;

const FRAMES: usize = 40;
const FPS: f64 = 25.0;

fn sim(seed: u64) -> Sim {
    Sim::with_setup(
        seed,
        Setup {
            frames: FRAMES,
            fps: FPS,
            looping: false,
            ..Setup::default()
        },
    )
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
