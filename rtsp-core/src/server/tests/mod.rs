//! Machine tests: byte requests in, transmits out, on a simulated clock (no sockets, no sleeps).
//!
//! This file holds the simulated runtime ([`H`]) and the helpers every test file shares; the
//! tests are split by the concern they exercise, as the machine is.

mod auth;
mod conn;
mod fuzz;
mod http;
mod index;
mod interop;
mod lab;
mod live;
mod loading;
mod methods;
mod ownership;
mod publish;
mod requests;
mod rtcp_in;
mod starvation;
mod timers;

use super::*;
use crate::io::{ConnId, Dest, Input, Machine, Output, Transmit};
use crate::message::{Decoded, Decoder, HeaderName, Message, Response};
use bytes::{Bytes, BytesMut};
use std::sync::{Arc, Mutex};
use std::time::Instant;

const FPS: f64 = 10.0;
const FRAMES: u32 = 20;
const MTU: usize = 400;

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn rtp_local() -> SocketAddr {
    addr("10.0.0.1:6970")
}

fn rtcp_local() -> SocketAddr {
    addr("10.0.0.1:6971")
}

const PEER: &str = "192.168.1.7:40000";
const C1: ConnId = ConnId(1);

/// The test-pattern frames, encoded once for all tests.
fn test_frames() -> Vec<Bytes> {
    static FRAMES_CACHE: std::sync::OnceLock<Vec<Bytes>> = std::sync::OnceLock::new();
    FRAMES_CACHE
        .get_or_init(|| mjpeg::testpattern::frames(FRAMES, 64, 48))
        .clone()
}

fn test_media(name: &str) -> Media {
    Media::from_jpegs(name, FPS, test_frames(), MTU).unwrap()
}

/// [`config`] for tests whose sessions are never played and must outlive
/// [`ServerConfig::unplayed_timeout`] (the never-played reaping has tests of its own).
fn config_unplayed_kept() -> ServerConfig {
    ServerConfig {
        unplayed_timeout: Duration::from_secs(3600),
        ..config()
    }
}

fn config() -> ServerConfig {
    ServerConfig {
        rtp_local: rtp_local(),
        rtcp_local: rtcp_local(),
        seed: Some(crate::rng::RngSeed::from_u64(42)),
        wallclock_at_start: Duration::from_secs(1_795_615_705),
        ..ServerConfig::default()
    }
}

/// A catalog that records every name it is asked for.
#[derive(Clone)]
struct Recording {
    inner: MemoryCatalog,
    asked: Arc<Mutex<Vec<String>>>,
}

impl Catalog for Recording {
    fn lookup(&mut self, path: &str) -> Result<Arc<Media>, LookupError> {
        self.asked.lock().unwrap().push(path.to_string());
        match path {
            "broken.mjpeg" => Err(LookupError::Invalid("broken.mjpeg: truncated at 12".into())),
            "444.mjpeg" => Err(LookupError::Unplayable("4:4:4".into())),
            "secret" => Err(LookupError::Forbidden),
            _ => self.inner.lookup(path),
        }
    }

    fn names(&self) -> Vec<String> {
        self.inner.names()
    }
}

#[derive(Debug)]
enum Out {
    Tx(Transmit),
    Close(ConnId),
    Ev(ServerEvent),
}

/// The simulated runtime.
struct H {
    server: Server,
    now: Instant,
    deadline: Option<Instant>,
    outs: Vec<Out>,
    asked: Arc<Mutex<Vec<String>>>,
}

impl H {
    fn new() -> Self {
        Self::with_config(config())
    }

    /// A harness with connection [`C1`] open.
    fn connected() -> Self {
        Self::connected_with(config())
    }

    /// The same with `config`.
    fn connected_with(config: ServerConfig) -> Self {
        let mut h = Self::with_config(config);
        h.connect(C1);
        h
    }

    /// The streams every harness catalog has: `test`, `dir/clip.mjpeg`, `movie.Mjpeg`.
    fn test_catalog() -> MemoryCatalog {
        let mut inner = MemoryCatalog::new();
        inner.insert(test_media("test"));
        inner.insert(test_media("dir/clip.mjpeg"));
        inner.insert(test_media("movie.Mjpeg"));
        inner
    }

    fn with_config(config: ServerConfig) -> Self {
        let asked = Arc::new(Mutex::new(Vec::new()));
        let catalog = Recording {
            inner: Self::test_catalog(),
            asked: Arc::clone(&asked),
        };
        Self::with_catalog(config, Box::new(catalog), asked)
    }

    /// A harness over `catalog` (`asked`: what it records, if it does).
    fn with_catalog(
        config: ServerConfig,
        catalog: Box<dyn Catalog>,
        asked: Arc<Mutex<Vec<String>>>,
    ) -> Self {
        let t0 = Instant::now();
        let mut h = Self {
            server: Server::new(config, catalog, t0),
            now: t0,
            deadline: None,
            outs: Vec::new(),
            asked,
        };
        h.drain();
        h
    }

    fn drain(&mut self) {
        for _ in 0..1_000_000 {
            match self.server.poll_output() {
                Output::Timeout(d) => {
                    self.deadline = d;
                    return;
                }
                Output::Transmit(t) => self.outs.push(Out::Tx(t)),
                Output::Close(c) => self.outs.push(Out::Close(c)),
                Output::Event(e) => self.outs.push(Out::Ev(e)),
            }
        }
        panic!("poll_output never returned Timeout");
    }

    fn input(&mut self, input: Input<'_>) {
        self.server.handle_input(input);
        self.drain();
    }

    fn connect(&mut self, conn: ConnId) {
        let now = self.now;
        self.input(Input::Connected {
            now,
            conn,
            peer: addr(PEER),
        });
    }

    fn send(&mut self, conn: ConnId, data: &[u8]) {
        let now = self.now;
        self.input(Input::Stream { now, conn, data });
    }

    fn datagram(&mut self, local: SocketAddr, remote: SocketAddr, data: &[u8]) {
        let now = self.now;
        self.input(Input::Datagram {
            now,
            local,
            remote,
            data,
        });
    }

    /// Fire every deadline up to `t` in order, then move the clock to `t`.
    fn advance_to(&mut self, t: Instant) {
        let mut steps = 0;
        while let Some(d) = self.deadline {
            if d > t {
                break;
            }
            self.now = self.now.max(d);
            let now = self.now;
            self.input(Input::Timeout(now));
            steps += 1;
            assert!(steps < 100_000, "livelock: deadline {d:?} keeps firing");
        }
        self.now = self.now.max(t);
        let now = self.now;
        self.input(Input::Timeout(now));
    }

    fn advance(&mut self, d: Duration) {
        self.advance_to(self.now + d);
    }

    fn take(&mut self) -> Vec<Out> {
        std::mem::take(&mut self.outs)
    }

    /// Send a request and return the single reply on `conn` (all outputs are kept).
    fn request(&mut self, conn: ConnId, text: &str) -> Response {
        let mut before = self.take();
        self.send(conn, text.as_bytes());
        let outs = self.take();
        let replies = responses(&outs, conn);
        assert_eq!(
            replies.len(),
            1,
            "expected one reply to {text:?}, got {:?}",
            String::from_utf8_lossy(&stream_bytes(&outs, conn))
        );
        before.extend(outs);
        self.outs = before;
        replies.into_iter().next().unwrap()
    }

    /// Sends [`req`]`(method, uri, cseq, headers)` on `conn`: its single reply.
    fn ask(
        &mut self,
        conn: ConnId,
        method: &str,
        uri: &str,
        cseq: u32,
        headers: &[&str],
    ) -> Response {
        self.request(conn, &req(method, uri, cseq, headers))
    }

    /// The peer closes `conn`.
    fn close(&mut self, conn: ConnId) {
        let now = self.now;
        self.input(Input::StreamClosed { now, conn });
    }

    /// SETUP of `uri` with one `Transport` header; the reply.
    fn setup(&mut self, conn: ConnId, uri: &str, cseq: u32, transport: &str) -> Response {
        self.request(
            conn,
            &req("SETUP", uri, cseq, &[&format!("Transport: {transport}")]),
        )
    }

    /// A UDP session (client ports 5000-5001) set up on `conn`: its id.
    fn setup_udp(&mut self, conn: ConnId, uri: &str) -> String {
        let r = self.setup(conn, uri, 3, "RTP/AVP;unicast;client_port=5000-5001");
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
        session_of(&r)
    }

    /// PLAY of `rtsp://h/test/` in session `sid` on [`C1`]; the reply.
    fn play(&mut self, sid: &str) -> Response {
        self.request(C1, &with_session("PLAY", "rtsp://h/test/", 4, sid))
    }

    /// A UDP session of `test` set up and playing on [`C1`]: its id.
    fn setup_and_play(&mut self) -> String {
        let sid = self.setup_udp(C1, "rtsp://h/test/stream=0");
        self.play(&sid);
        sid
    }
}

/// A request naming session `sid` (and no other header).
fn with_session(method: &str, uri: &str, cseq: u32, sid: &str) -> String {
    req(method, uri, cseq, &[&format!("Session: {sid}")])
}

fn req(method: &str, uri: &str, cseq: u32, headers: &[&str]) -> String {
    let mut s = format!("{method} {uri} RTSP/1.0\r\nCSeq: {cseq}\r\n");
    for h in headers {
        s.push_str(h);
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    s
}

fn session_of(r: &Response) -> String {
    let v = r.headers.get(&HeaderName::SESSION).expect("Session header");
    v.split(';').next().unwrap().to_string()
}

fn stream_bytes(outs: &[Out], conn: ConnId) -> Vec<u8> {
    let mut bytes = Vec::new();
    for o in outs {
        if let Out::Tx(t) = o {
            if t.dest == Dest::Stream(conn) {
                bytes.extend_from_slice(&t.data);
            }
        }
    }
    bytes
}

fn stream_items(outs: &[Out], conn: ConnId) -> Vec<Decoded> {
    let mut buf = BytesMut::from(&stream_bytes(outs, conn)[..]);
    let mut decoder = Decoder::default();
    let mut items = Vec::new();
    while let Some(item) = decoder.decode(&mut buf).expect("server output parses") {
        items.push(item);
    }
    assert!(buf.is_empty(), "trailing bytes on the control stream");
    items
}

fn responses(outs: &[Out], conn: ConnId) -> Vec<Response> {
    stream_items(outs, conn)
        .into_iter()
        .filter_map(|d| match d {
            Decoded::Message(Message::Response(r)) => Some(r),
            _ => None,
        })
        .collect()
}

fn interleaved(outs: &[Out], conn: ConnId, channel: u8) -> Vec<Bytes> {
    stream_items(outs, conn)
        .into_iter()
        .filter_map(|d| match d {
            Decoded::Interleaved {
                channel: c,
                payload,
            } if c == channel => Some(payload),
            _ => None,
        })
        .collect()
}

fn udp(outs: &[Out], local: SocketAddr, remote: SocketAddr) -> Vec<Vec<u8>> {
    outs.iter()
        .filter_map(|o| match o {
            Out::Tx(Transmit {
                dest:
                    Dest::Udp {
                        local: l,
                        remote: r,
                    },
                data,
            }) if *l == local && *r == remote => Some(data.clone()),
            _ => None,
        })
        .collect()
}

fn any_udp(outs: &[Out]) -> usize {
    outs.iter()
        .filter(|o| {
            matches!(
                o,
                Out::Tx(Transmit {
                    dest: Dest::Udp { .. },
                    ..
                })
            )
        })
        .count()
}

fn events(outs: &[Out]) -> Vec<&ServerEvent> {
    outs.iter()
        .filter_map(|o| match o {
            Out::Ev(e) => Some(e),
            _ => None,
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rtp {
    version: u8,
    marker: bool,
    pt: u8,
    seq: u16,
    ts: u32,
    ssrc: u32,
    payload: Vec<u8>,
}

fn rtp(data: &[u8]) -> Rtp {
    assert!(data.len() >= 12);
    Rtp {
        version: data[0] >> 6,
        marker: data[1] & 0x80 != 0,
        pt: data[1] & 0x7F,
        seq: u16::from_be_bytes([data[2], data[3]]),
        ts: u32::from_be_bytes([data[4], data[5], data[6], data[7]]),
        ssrc: u32::from_be_bytes([data[8], data[9], data[10], data[11]]),
        payload: data[12..].to_vec(),
    }
}

fn rtcp_types(data: &[u8]) -> Vec<u8> {
    let mut types = Vec::new();
    let mut rest = data;
    while rest.len() >= 4 {
        types.push(rest[1]);
        let len = (usize::from(u16::from_be_bytes([rest[2], rest[3]])) + 1) * 4;
        rest = &rest[len.min(rest.len())..];
    }
    types
}

fn header<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
    r.headers.get(&HeaderName::new(name))
}

/// `(seq, rtptime)` from `RTP-Info`.
fn rtp_info(r: &Response) -> (u16, u32) {
    let v = header(r, "RTP-Info").expect("RTP-Info");
    let mut seq = None;
    let mut ts = None;
    for p in v.split(';') {
        if let Some(s) = p.strip_prefix("seq=") {
            seq = s.parse().ok();
        }
        if let Some(s) = p.strip_prefix("rtptime=") {
            ts = s.parse().ok();
        }
    }
    (seq.unwrap(), ts.unwrap())
}

fn client_rtp() -> SocketAddr {
    addr("192.168.1.7:5000")
}

fn client_rtcp() -> SocketAddr {
    addr("192.168.1.7:5001")
}

fn status_of(h: &mut H, text: &str) -> StatusCode {
    h.request(C1, text).status
}

fn limit_events(outs: &[Out]) -> Vec<Limit> {
    events(outs)
        .into_iter()
        .filter_map(|e| match e {
            ServerEvent::LimitExceeded { limit, .. } => Some(*limit),
            _ => None,
        })
        .collect()
}

fn closed(outs: &[Out], conn: ConnId) -> bool {
    outs.iter()
        .any(|o| matches!(o, Out::Close(c) if *c == conn))
}

fn connect_from(h: &mut H, conn: ConnId, peer: &str) {
    let now = h.now;
    h.input(Input::Connected {
        now,
        conn,
        peer: addr(peer),
    });
}
