//! Shared support for the integration tests: media fixtures, servers and clients on either
//! runtime, and bounded waits on events (no sleeps).

pub mod live;

pub mod peers;

pub mod multipart;

pub mod prometheus;

pub mod shot;

pub mod sim;

pub mod slow_media;

use bytes::Bytes;
use rtsp_core::client::{Client, ClientConfig, ClientEvent};
use rtsp_core::io::Machine;
use rtsp_core::server::Server;
use runtime_std::media::FsCatalog;
use runtime_std::{Flow, RunningServer, RuntimeHandle, RuntimeStats, ServerOptions};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Which runtime drives a machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerRuntime {
    /// `runtime_std` (blocking threads).
    Std,
    /// `runtime_mio` (event loop).
    Mio,
}

/// Which runtime drives the client.
pub type ClientRuntime = ServerRuntime;

/// A temporary media root holding one generated file; returns (dir, stream name, frames).
pub fn make_media_dir(frames: usize, lab_format: bool) -> (tempfile::TempDir, String, Vec<Bytes>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let jpegs = mjpeg::testpattern::frames(frames as u32, 384, 288);
    let mut file = Vec::new();
    let name = if lab_format {
        mjpeg::write_lab(&jpegs, &mut file).expect("lab format");
        "movie.Mjpeg"
    } else {
        mjpeg::write_concatenated(&jpegs, &mut file);
        "clips/movie.mjpeg"
    };
    let path = dir.path().join(name);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, &file).expect("write media");
    (dir, name.to_string(), jpegs)
}

/// A running server plus helpers for tests.
pub struct TestServer {
    inner: RunningServer,
}

impl TestServer {
    /// The URL of a stream.
    pub fn url(&self, name: &str) -> String {
        self.inner.url(name)
    }

    /// The RTSP address to connect to.
    pub fn addr(&self) -> SocketAddr {
        self.inner.connect_addr()
    }

    /// Runs `f` on the server's thread and returns its result (bounded wait).
    pub fn query<T: Send + 'static>(&self, f: impl FnOnce(&mut Server) -> T + Send + 'static) -> T {
        let (tx, rx) = mpsc::channel();
        assert!(
            self.inner.command(move |s| {
                let _ = tx.send(f(s));
            }),
            "server runtime has ended"
        );
        rx.recv_timeout(Duration::from_secs(10))
            .expect("server answered the query")
    }

    /// The runtime's socket counters.
    pub fn stats(&self) -> RuntimeStats {
        self.inner.stats()
    }

    /// Graceful stop and join.
    pub fn stop(self) {
        self.inner.stop();
        self.inner.join().expect("server thread ends cleanly");
    }
}

/// Starts a server on `rt` over the media root `dir`, files played at `fps`, on an
/// ephemeral loopback port.
pub fn start_server(rt: ServerRuntime, dir: &Path, fps: f64) -> TestServer {
    let catalog = FsCatalog::new(dir).expect("catalog").with_fps(fps);
    let opts = ServerOptions::fs("127.0.0.1:0".parse().expect("addr"), catalog);
    let inner = match rt {
        ServerRuntime::Std => runtime_std::serve(opts),
        ServerRuntime::Mio => runtime_mio::serve(opts),
    }
    .expect("server starts");
    TestServer { inner }
}

/// Client events, simplified for assertions.
#[derive(Debug, Clone)]
pub enum Ev {
    /// DESCRIBE succeeded.
    Described,
    /// SETUP succeeded.
    SetupDone,
    /// PLAY succeeded.
    Playing,
    /// PAUSE succeeded.
    Paused,
    /// TEARDOWN succeeded.
    TornDown,
    /// A frame: RTP timestamp and JPEG.
    Frame(u32, Bytes),
    /// A request failed or an error happened.
    Failed(String),
    /// The connection closed.
    Closed,
    /// Anything else.
    Other,
}

fn simplify(ev: ClientEvent) -> Ev {
    match ev {
        ClientEvent::Described { .. } => Ev::Described,
        ClientEvent::SetupDone { .. } => Ev::SetupDone,
        ClientEvent::Playing { .. } => Ev::Playing,
        ClientEvent::Paused => Ev::Paused,
        ClientEvent::TornDown => Ev::TornDown,
        ClientEvent::Frame { timestamp, data } => Ev::Frame(timestamp, data),
        ClientEvent::RequestFailed { method, status } => Ev::Failed(format!("{method} {status}")),
        ClientEvent::Error(e) => Ev::Failed(e.to_string()),
        ClientEvent::Closed => Ev::Closed,
        _ => Ev::Other,
    }
}

/// A client running on a runtime thread.
pub struct TestClient {
    handle: Box<dyn RuntimeHandle<Client>>,
    join: Option<Box<dyn FnOnce() + Send>>,
    /// Its events.
    pub events: Receiver<Ev>,
    /// Its RTP socket address.
    pub rtp_local: SocketAddr,
    /// Its RTCP socket address.
    pub rtcp_local: SocketAddr,
}

impl TestClient {
    /// Runs `f` with the client machine on its thread.
    pub fn command(&self, f: impl FnOnce(&mut Client) + Send + 'static) {
        assert!(self.handle.command(Box::new(f)), "client runtime has ended");
    }

    /// Runs `f` on the client's thread and returns its result (bounded wait).
    pub fn query<T: Send + 'static>(&self, f: impl FnOnce(&mut Client) -> T + Send + 'static) -> T {
        let (tx, rx) = mpsc::channel();
        self.command(move |c| {
            let _ = tx.send(f(c));
        });
        rx.recv_timeout(Duration::from_secs(10))
            .expect("client answered the query")
    }

    /// Stops the runtime and joins its thread.
    pub fn stop(mut self) {
        self.handle.stop();
        if let Some(j) = self.join.take() {
            j();
        }
    }
}

/// Spawns a client for `url` on `rt`, with a UDP pair bound (used when `tcp` is false) and the
/// control connection open. Nothing is requested yet.
pub fn spawn_client(rt: ClientRuntime, url: &str, tcp: bool) -> TestClient {
    let _ = tcp;
    let (rtp, rtcp) =
        runtime_std::bind_udp_pair("127.0.0.1".parse().expect("ip")).expect("udp pair");
    let rtp_local = rtp.local_addr().expect("addr");
    let rtcp_local = rtcp.local_addr().expect("addr");
    let client = Client::new(ClientConfig::new(url), Instant::now()).expect("client");
    let server: SocketAddr = {
        let u = rtsp_core::url::RtspUrl::parse(url).expect("url");
        format!("{}:{}", u.host(), u.port())
            .parse()
            .expect("numeric host in test URL")
    };
    let (tx, events) = mpsc::channel();
    let on_event = move |_: &mut Client, ev: ClientEvent| {
        let _ = tx.send(simplify(ev));
        Flow::Continue
    };
    let (handle, join) = spawn_client_on(rt, client, rtp, rtcp, server, on_event);
    TestClient {
        handle,
        join: Some(join),
        events,
        rtp_local,
        rtcp_local,
    }
}

/// A boxed handle to a client runtime, and a call that joins its thread.
pub type SpawnedClient = (Box<dyn RuntimeHandle<Client>>, Box<dyn FnOnce() + Send>);

/// Runs `client` on runtime `rt` (std or mio) with its RTP/RTCP sockets and a control
/// connection to `server`, on its own thread.
pub fn spawn_client_on(
    rt: ServerRuntime,
    client: Client,
    rtp: std::net::UdpSocket,
    rtcp: std::net::UdpSocket,
    server: SocketAddr,
    on_event: impl FnMut(&mut Client, ClientEvent) -> Flow + Send + 'static,
) -> SpawnedClient {
    macro_rules! spawn_on {
        ($rt:ident) => {{
            let mut r = $rt::Runtime::new(client).expect("runtime");
            r.udp_socket(rtp).expect("rtp socket");
            r.udp_socket(rtcp).expect("rtcp socket");
            r.connect_tcp(server).expect("connect");
            let spawned = r.spawn(on_event).expect("spawn");
            let handle: Box<dyn RuntimeHandle<Client>> = Box::new(spawned.handle().clone());
            let join: Box<dyn FnOnce() + Send> = Box::new(move || {
                let _ = spawned.join();
            });
            (handle, join)
        }};
    }
    match rt {
        ServerRuntime::Std => spawn_on!(runtime_std),
        ServerRuntime::Mio => spawn_on!(runtime_mio),
    }
}

/// Receives events until `done` returns true (Ok) or `within` passes (Err). A
/// [`Ev::Failed`] or [`Ev::Closed`] event fails at once, with the event.
pub fn recv_until(
    rx: &Receiver<Ev>,
    within: Duration,
    mut done: impl FnMut(&Ev) -> bool,
) -> Result<(), String> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(ev) => {
                if let Ev::Failed(_) | Ev::Closed = ev {
                    panic!("unexpected client event: {ev:?}");
                }
                if done(&ev) {
                    return Ok(());
                }
            }
            Err(RecvTimeoutError::Timeout) => return Err(format!("nothing within {within:?}")),
            Err(RecvTimeoutError::Disconnected) => panic!("client runtime ended"),
        }
    }
}

/// The entropy-coded scan data of a JPEG.
pub fn scan_of(jpeg: &[u8]) -> Vec<u8> {
    let info = mjpeg::parse_jpeg(jpeg).expect("valid JPEG");
    info.scan(jpeg).to_vec()
}

/// Decoded pixels of a JPEG.
pub fn decode_pixels(jpeg: &[u8]) -> Vec<u8> {
    let mut d = zune_jpeg::JpegDecoder::new(zune_jpeg::zune_core::bytestream::ZCursor::new(jpeg));
    d.decode().expect("decodes")
}

/// Drains a machine's outputs (for in-process tests), returning them in order.
pub fn drain<M: Machine>(m: &mut M) -> Vec<rtsp_core::io::Output<M::Event>> {
    let mut out = Vec::new();
    for _ in 0..100_000 {
        let o = m.poll_output();
        let last = matches!(o, rtsp_core::io::Output::Timeout(_));
        out.push(o);
        if last {
            return out;
        }
    }
    panic!("poll_output never returned Timeout");
}
