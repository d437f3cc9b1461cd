//! The mio event loop over real loopback sockets, with a tiny echo machine. The tests are
//! shared with runtime-std (`runtime-std/tests/echo_machine/suite.rs`).

#[path = "../../runtime-std/tests/echo_machine/mod.rs"]
mod echo_machine;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use echo_machine::{Echo, EchoEvent};
use runtime_mio::{Flow, Runtime, Spawned};

/// A reader that takes nothing is dropped once 1 MiB is queued for it.
fn limit_slow_reader(rt: &mut Runtime<Echo>) {
    rt.set_max_queue(1024 * 1024);
}

/// Room for the 64 MiB the flood test queues.
fn allow_large_output(rt: &mut Runtime<Echo>) {
    rt.set_max_queue(128 * 1024 * 1024);
}

include!("../../runtime-std/tests/echo_machine/suite.rs");
