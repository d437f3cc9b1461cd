//! The server and client machines on both runtimes, in all four pairings, over loopback:
//! DESCRIBE, SETUP (UDP and TCP interleaved), PLAY, frames, TEARDOWN; plus a graceful server
//! stop that ends a playing session.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::mpsc;
use std::time::Duration;

use bytes::Bytes;
use rtsp_core::client::{Client, ClientConfig, ClientEvent, TransportChoice};
use rtsp_core::server::{Media, MemoryCatalog};
use runtime_std::{bind_udp_pair, Flow, RunningServer, ServerOptions};

const WAIT: Duration = Duration::from_secs(20);
const FRAMES: usize = 12;

fn media_frames() -> Vec<Bytes> {
    mjpeg::testpattern::frames(30, 64, 48)
}

fn options() -> ServerOptions {
    let media = Media::from_jpegs("clip", 100.0, media_frames(), 1400).unwrap();
    let catalog = MemoryCatalog::new().with(media);
    let mut opts = ServerOptions::new((Ipv4Addr::LOCALHOST, 0).into(), Box::new(catalog));
    opts.config.seed = Some(rtsp_core::rng::RngSeed::from_u64(7));
    opts
}

#[derive(Debug)]
enum Done {
    Frames(Vec<Bytes>),
    Failed(String),
}

/// The callback of a client that plays `FRAMES` frames then tears down.
fn player(
    transport: TransportChoice,
    tx: mpsc::Sender<Done>,
) -> impl FnMut(&mut Client, ClientEvent) -> Flow + Send + 'static {
    let mut frames = Vec::new();
    move |c, ev| {
        let fail = |tx: &mpsc::Sender<Done>, why: String| {
            let _ = tx.send(Done::Failed(why));
            Flow::Stop
        };
        match ev {
            ClientEvent::Described { .. } => {
                if let Err(e) = c.setup(transport) {
                    return fail(&tx, format!("setup: {e}"));
                }
            }
            ClientEvent::SetupDone { .. } => {
                if let Err(e) = c.play(None) {
                    return fail(&tx, format!("play: {e}"));
                }
            }
            ClientEvent::Frame { data, .. } if frames.len() < FRAMES => {
                frames.push(data);
                if frames.len() == FRAMES {
                    c.teardown().unwrap();
                }
            }
            ClientEvent::TornDown => {
                let _ = tx.send(Done::Frames(std::mem::take(&mut frames)));
                c.close();
                return Flow::Stop;
            }
            ClientEvent::RequestFailed { method, status } => {
                return fail(&tx, format!("{method} failed: {status}"))
            }
            ClientEvent::Error(e) => return fail(&tx, format!("error: {e}")),
            ClientEvent::Closed => return fail(&tx, "closed".into()),
            _ => {}
        }
        Flow::Continue
    }
}

/// Starts a client for `clip` on the runtime `$rt` (`runtime_std` or `runtime_mio`) and
/// waits (bounded) for its result.
macro_rules! play {
    ($rt:ident, $server:expr, $tcp:expr) => {{
        let server: &RunningServer = $server;
        let client = Client::new(
            ClientConfig::new(server.url("clip")),
            std::time::Instant::now(),
        )
        .unwrap();
        let mut rt = $rt::Runtime::new(client).unwrap();
        let transport = if $tcp {
            TransportChoice::Tcp
        } else {
            let (rtp, rtcp) = bind_udp_pair(Ipv4Addr::LOCALHOST.into()).unwrap();
            TransportChoice::Udp {
                rtp_local: rt.udp_socket(rtp).unwrap(),
                rtcp_local: rt.udp_socket(rtcp).unwrap(),
            }
        };
        rt.connect_tcp(server.connect_addr()).unwrap();
        rt.machine_mut().describe().unwrap();
        let (tx, rx) = mpsc::channel();
        let spawned = rt.spawn(player(transport, tx)).unwrap();
        let done = rx.recv_timeout(WAIT);
        spawned.stop();
        let client = spawned.join().unwrap();
        (done.expect("client finished in time"), client)
    }};
}

fn check_frames(done: Done) {
    let frames = match done {
        Done::Frames(f) => f,
        Done::Failed(why) => panic!("client failed: {why}"),
    };
    assert_eq!(frames.len(), FRAMES);
    let expected = media_frames();
    // RFC 2435 rebuilds the headers: compare the entropy-coded scans, in order from frame 0.
    for (i, got) in frames.iter().enumerate() {
        let gi = mjpeg::parse_jpeg(got).unwrap();
        let ei = mjpeg::parse_jpeg(&expected[i]).unwrap();
        assert_eq!(gi.scan(got), ei.scan(&expected[i]), "frame {i}");
    }
}

#[test]
fn mio_server_mio_client_udp() {
    let server = runtime_mio::serve(options()).unwrap();
    let (done, _) = play!(runtime_mio, &server, false);
    check_frames(done);
    assert!(server.stats().udp_sent >= FRAMES as u64);
}

#[test]
fn mio_server_std_client_tcp() {
    let server = runtime_mio::serve(options()).unwrap();
    let (done, _) = play!(runtime_std, &server, true);
    check_frames(done);
}

#[test]
fn std_server_std_client_udp() {
    let server = runtime_std::serve(options()).unwrap();
    let (done, _) = play!(runtime_std, &server, false);
    check_frames(done);
}

#[test]
fn std_server_mio_client_tcp() {
    let server = runtime_std::serve(options()).unwrap();
    let (done, _) = play!(runtime_mio, &server, true);
    check_frames(done);
}

#[test]
fn rtp_pair_is_even_odd_on_the_bind_address() {
    for server in [
        runtime_mio::serve(options()).unwrap(),
        runtime_std::serve(options()).unwrap(),
    ] {
        assert_eq!(server.rtp_addr.port() % 2, 0);
        assert_eq!(server.rtcp_addr.port(), server.rtp_addr.port() + 1);
        assert_eq!(server.rtp_addr.ip(), server.local_addr.ip());
        server.stop();
        server.join().unwrap();
    }
}

#[test]
fn second_server_on_same_port_fails_with_addr_in_use() {
    let a = runtime_mio::serve(options()).unwrap();
    let mut opts = options();
    opts.addr = a.local_addr;
    let err = runtime_mio::serve(opts).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
}

/// A graceful stop ends a playing session: the client sees its connection close.
fn graceful_stop(server: RunningServer) {
    let addr: SocketAddr = server.connect_addr();
    let client = Client::new(
        ClientConfig::new(format!("rtsp://{addr}/clip")),
        std::time::Instant::now(),
    )
    .unwrap();
    let mut rt = runtime_std::Runtime::new(client).unwrap();
    rt.connect_tcp(addr).unwrap();
    rt.machine_mut().describe().unwrap();
    let (tx, rx) = mpsc::channel();
    let spawned = rt
        .spawn(move |c: &mut Client, ev| {
            match ev {
                ClientEvent::Described { .. } => {
                    c.setup(TransportChoice::Tcp).unwrap();
                }
                ClientEvent::SetupDone { .. } => {
                    c.play(None).unwrap();
                }
                ClientEvent::Frame { .. } => {
                    let _ = tx.send("frame");
                }
                ClientEvent::Closed => {
                    let _ = tx.send("closed");
                    return Flow::Stop;
                }
                _ => {}
            }
            Flow::Continue
        })
        .unwrap();
    assert_eq!(rx.recv_timeout(WAIT).unwrap(), "frame");
    server.stop();
    server.join().unwrap();
    loop {
        match rx.recv_timeout(WAIT).expect("client saw the server go") {
            "closed" => break,
            _ => continue,
        }
    }
    spawned.join().unwrap();
}

#[test]
fn graceful_stop_mio() {
    graceful_stop(runtime_mio::serve(options()).unwrap());
}

#[test]
fn graceful_stop_std() {
    graceful_stop(runtime_std::serve(options()).unwrap());
}
