//! The lifecycle scenario of `sim_lifecycle.rs`, unchanged (the same function over the
//! [`Driver`](it::sim::driver::Driver) trait), over real loopback sockets: server and client each
//! on runtime-std and runtime-mio, UDP and TCP. Passing here and in the simulator shows the
//! adapters behave like the simulator.

use it::sim::driver::{lifecycle, SimDriver};
use it::sim::real::RealDriver;
use it::sim::{media, seed, Setup, Sim, STREAM};
use it::{ClientRuntime, ServerRuntime};

const FRAMES: usize = 30;
const FPS: f64 = 25.0;

fn real(server: ServerRuntime, client: ClientRuntime, tcp: bool) {
    let catalog = media::catalog(FRAMES, FPS, 1400, false);
    let mut d = RealDriver::start(server, client, catalog, STREAM);
    lifecycle(&mut d, tcp, FRAMES, FPS);
}

#[test]
fn sim_driver_lifecycle_both_transports() {
    for tcp in [false, true] {
        let sim = Sim::with_setup(
            seed(3),
            Setup {
                frames: FRAMES,
                fps: FPS,
                looping: false,
                ..Setup::default()
            },
        );
        lifecycle(&mut SimDriver::new(sim), tcp, FRAMES, FPS);
    }
}

#[test]
fn real_std_server_std_client_udp() {
    real(ServerRuntime::Std, ClientRuntime::Std, false);
}

#[test]
fn real_std_server_std_client_tcp() {
    real(ServerRuntime::Std, ClientRuntime::Std, true);
}

#[test]
fn real_mio_server_mio_client_udp() {
    real(ServerRuntime::Mio, ClientRuntime::Mio, false);
}

#[test]
fn real_mio_server_mio_client_tcp() {
    real(ServerRuntime::Mio, ClientRuntime::Mio, true);
}

#[test]
fn real_std_server_mio_client_udp() {
    real(ServerRuntime::Std, ClientRuntime::Mio, false);
}

#[test]
fn real_mio_server_std_client_tcp() {
    real(ServerRuntime::Mio, ClientRuntime::Std, true);
}

#[test]
fn real_std_server_mio_client_tcp() {
    real(ServerRuntime::Std, ClientRuntime::Mio, true);
}

#[test]
fn real_mio_server_std_client_udp() {
    real(ServerRuntime::Mio, ClientRuntime::Std, false);
}
