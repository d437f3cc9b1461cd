//! [`Scenario`]: the setup most simulation scenarios start with, in one place — media and
//! server configuration, then clients described, set up and playing.
//!
//! ```no_run
//! # use it::sim::Scenario;
//! # use std::time::Duration;
//! let (mut sim, c) = Scenario::new(7).media(40, 25.0, false).playing(false);
//! sim.run_for(Duration::from_secs(1));
//! assert!(sim.client(c).machine.stats().frames > 0);
//! ```

use rtsp_core::client::{ClientConfig, TransportChoice};
use rtsp_core::server::ServerConfig;

use super::{Setup, Sim};

/// A simulation to build: its seed and [`Setup`], changed step by step.
#[derive(Debug, Clone)]
#[must_use]
pub struct Scenario {
    seed: u64,
    setup: Setup,
}

impl Scenario {
    /// The default [`Setup`] with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            setup: Setup::default(),
        }
    }

    /// `frames` frames at `fps` frames per second, looping at the end or not.
    pub fn media(mut self, frames: usize, fps: f64, looping: bool) -> Self {
        self.setup.frames = frames;
        self.setup.fps = fps;
        self.setup.looping = looping;
        self
    }

    /// Media packetized for `mtu`.
    pub fn mtu(mut self, mtu: usize) -> Self {
        self.setup.mtu = mtu;
        self
    }

    /// The server configuration, changed by `f`.
    pub fn server(mut self, f: impl FnOnce(&mut ServerConfig)) -> Self {
        f(&mut self.setup.server);
        self
    }

    /// The simulation.
    pub fn build(self) -> Sim {
        Sim::with_setup(self.seed, self.setup)
    }

    /// The simulation with one client (default configuration) that has described, set up
    /// (over TCP interleaved when `tcp`, else UDP) and started playing. Returns its index.
    pub fn playing(self, tcp: bool) -> (Sim, usize) {
        let mut sim = self.build();
        let c = sim.add_client(|_| {});
        sim.describe_setup_play(c, tcp);
        (sim, c)
    }
}

impl Sim {
    /// Client `c`'s transport: TCP interleaved when `tcp`, else UDP on its sockets.
    pub fn transport(&self, c: usize, tcp: bool) -> TransportChoice {
        if tcp {
            TransportChoice::Tcp
        } else {
            self.client(c).udp()
        }
    }

    /// Client `c` sends SETUP (see [`Sim::transport`]) and then PLAY from the start, each
    /// answered.
    pub fn setup_and_play(&mut self, c: usize, tcp: bool) {
        let t = self.transport(c, tcp);
        self.request(c, |c| c.setup(t).expect("setup"));
        self.request(c, |c| c.play(None).expect("play"));
    }

    /// Client `c` sends DESCRIBE, then [`Sim::setup_and_play`].
    pub fn describe_setup_play(&mut self, c: usize, tcp: bool) {
        self.request(c, |c| c.describe().expect("describe"));
        self.setup_and_play(c, tcp);
    }

    /// Adds a client (config changed by `f`) and plays it as in [`Scenario::playing`].
    pub fn add_playing_client(&mut self, tcp: bool, f: impl FnOnce(&mut ClientConfig)) -> usize {
        let c = self.add_client(f);
        self.describe_setup_play(c, tcp);
        c
    }
}
