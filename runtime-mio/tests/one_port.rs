//! One server per RTSP port (issue 13): `ServerLoops` refuses an address another socket
//! listens on, whatever either side's number of loops, instead of joining its port through
//! `SO_REUSEPORT` (the kernel would split the clients between the two servers). A stopped
//! server's port can be bound again at once.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use rtsp_core::rng::RngSeed;
use rtsp_core::server::MemoryCatalog;
use runtime_mio::{LoopsError, LoopsOptions, ServerLoops, SharedCatalog};

fn options(addr: SocketAddr, loops: usize) -> LoopsOptions {
    let mut opts = LoopsOptions::new(addr);
    opts.loops = loops;
    opts.config.seed = Some(RngSeed::from_u64(13));
    opts
}

fn bind(addr: SocketAddr, loops: usize) -> Result<ServerLoops, LoopsError> {
    ServerLoops::bind(
        &options(addr, loops),
        &SharedCatalog::new(MemoryCatalog::new()),
    )
}

/// A second bind on `addr` fails with `AddrInUse`, and its message names the address.
fn assert_refused(addr: SocketAddr, loops: usize) {
    match bind(addr, loops) {
        Err(e @ LoopsError::Listen { .. }) => {
            let text = e.to_string();
            let LoopsError::Listen { addr: a, source } = e else {
                unreachable!()
            };
            assert_eq!(a, addr);
            assert_eq!(source.kind(), io::ErrorKind::AddrInUse, "{loops} loops");
            assert!(text.contains(&addr.to_string()), "{text}");
        }
        Err(e) => panic!("{loops} loops: {e:?}"),
        Ok(l) => panic!(
            "a second server with {loops} loops bound {} while the first listens",
            l.local_addr()
        ),
    }
}

/// One OPTIONS on a new connection: the reply's status line.
fn options_status(addr: SocketAddr) -> String {
    let mut c = TcpStream::connect(addr).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(c, "OPTIONS rtsp://{addr}/ RTSP/1.0\r\nCSeq: 1\r\n\r\n").expect("write");
    let mut reply = [0u8; 512];
    let n = c.read(&mut reply).expect("reply");
    let text = String::from_utf8_lossy(&reply[..n]);
    text.lines().next().unwrap_or("").to_string()
}

#[test]
fn a_second_server_on_a_held_port_is_refused_whatever_the_loop_counts() {
    for first_loops in [1, 2] {
        let first = bind("127.0.0.1:0".parse().unwrap(), first_loops).expect("first server");
        let addr = first.local_addr();
        assert_ne!(addr.port(), 0);
        for second_loops in [1, 2, 3] {
            assert_refused(addr, second_loops);
        }
        // The unspecified address covers the loopback one: refused too.
        assert_refused(SocketAddr::new([0, 0, 0, 0].into(), addr.port()), 2);
        // The first server still owns the whole port and answers.
        let stop = first.shutdown_handle();
        let t = std::thread::spawn(move || first.run("one-port"));
        for _ in 0..4 {
            assert_eq!(options_status(addr), "RTSP/1.0 200 OK");
        }
        stop.shutdown();
        t.join().expect("loops thread").expect("loops run");
        // Stopped (its connections in TIME_WAIT): the port can be served again at once.
        let again = bind(addr, 2).expect("the port is free again");
        assert_eq!(again.local_addr(), addr);
    }
}

#[test]
fn a_port_held_by_another_program_is_refused() {
    let other = TcpListener::bind("127.0.0.1:0").expect("listener");
    let addr = other.local_addr().expect("addr");
    for loops in [1, 2] {
        assert_refused(addr, loops);
    }
}
