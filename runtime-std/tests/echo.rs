//! The blocking driver over real loopback sockets, with a tiny echo machine. The tests are
//! shared with runtime-mio (`echo_machine/suite.rs`).

mod echo_machine;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use echo_machine::{Echo, EchoEvent};
use runtime_std::{Flow, Runtime, Spawned};

/// A reader that takes nothing is dropped after this write timeout.
fn limit_slow_reader(rt: &mut Runtime<Echo>) {
    rt.set_write_timeout(Duration::from_millis(200));
}

/// Nothing to raise: blocking writes wait for the reader.
fn allow_large_output(_: &mut Runtime<Echo>) {}

include!("echo_machine/suite.rs");
