//! Machine tests: byte requests in, transmits out, on a simulated clock (no sockets, no sleeps).

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

fn config() -> ServerConfig {
    ServerConfig {
        rtp_local: rtp_local(),
        rtcp_local: rtcp_local(),
        seed: 42,
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

    fn with_config(config: ServerConfig) -> Self {
        let mut inner = MemoryCatalog::new();
        inner.insert(test_media("test"));
        inner.insert(test_media("dir/clip.mjpeg"));
        inner.insert(test_media("movie.Mjpeg"));
        let asked = Arc::new(Mutex::new(Vec::new()));
        let catalog = Recording {
            inner,
            asked: Arc::clone(&asked),
        };
        let t0 = Instant::now();
        let mut h = Self {
            server: Server::new(config, Box::new(catalog), t0),
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

    fn setup_udp(&mut self, conn: ConnId, uri: &str) -> String {
        let r = self.request(
            conn,
            &req(
                "SETUP",
                uri,
                3,
                &["Transport: RTP/AVP;unicast;client_port=5000-5001"],
            ),
        );
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
        session_of(&r)
    }
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

// ---------------------------------------------------------------------------------------

#[test]
fn media_is_packetized_once_within_the_mtu() {
    let m = test_media("test");
    assert_eq!(m.frame_count(), FRAMES as usize);
    assert_eq!((m.width(), m.height()), (64, 48));
    assert_eq!(m.duration(), Duration::from_secs(2));
    let frags = m.fragments(0).unwrap();
    assert!(frags.len() > 1, "small MTU gives several fragments");
    assert!(frags.iter().all(|f| f.len() + 12 + 8 <= MTU));
    // The first payload: type 1, Q 255, 64/8 x 48/8, then the 128 bytes of tables.
    assert_eq!(&frags[0][4..8], &[1, 255, 8, 6]);
    assert_eq!(m.jpeg(0).unwrap(), &test_frames()[0]);
    assert_eq!(
        Media::from_jpegs("x", 0.0, vec![], 1400).unwrap_err(),
        MediaError::FrameRate(0.0)
    );
    assert_eq!(
        Media::from_jpegs("x", 25.0, vec![], 1400).unwrap_err(),
        MediaError::Empty
    );
    assert!(matches!(
        Media::from_jpegs("x", 25.0, vec![Bytes::from_static(b"nope")], 1400),
        Err(MediaError::Jpeg { index: 0, .. })
    ));
    assert!(matches!(
        Media::from_jpegs("x", 25.0, mjpeg::testpattern::frames(1, 64, 48), 100),
        Err(MediaError::Mtu { .. })
    ));
}

#[test]
fn options_echoes_cseq_and_lists_methods() {
    let mut h = H::new();
    h.connect(C1);
    let r = h.request(C1, &req("OPTIONS", "*", 1, &[]));
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.cseq(), Some(1));
    assert_eq!(
        header(&r, "Public"),
        Some("OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER")
    );
    assert!(header(&r, "Server").unwrap().starts_with("rtsp-mjpeg/"));
    assert_eq!(header(&r, "Date"), Some("Wed, 25 Nov 2026 14:08:25 GMT"));
    // The first header line is CSeq (course-lab clients read line 2).
    assert_eq!(r.headers.iter().next().unwrap().0, &HeaderName::CSEQ);
    // live555 starts at CSeq 2, and any u32 is echoed.
    let r = h.request(C1, &req("OPTIONS", "rtsp://h/test", 4_000_000_000, &[]));
    assert_eq!(r.cseq(), Some(4_000_000_000));
    assert_eq!(header(&r, "Session"), None);
    // OPTIONS as a keepalive names the session in its reply.
    let sid = h.setup_udp(C1, "rtsp://h/test/stream=0");
    let r = h.request(C1, &req("OPTIONS", "*", 5, &[&format!("Session: {sid}")]));
    assert_eq!(
        header(&r, "Session"),
        Some(format!("{sid};timeout=55").as_str())
    );
}

#[test]
fn describe_returns_sdp_and_content_base() {
    let mut h = H::new();
    h.connect(C1);
    for (uri, base) in [
        ("rtsp://127.0.0.1:8554/test", "rtsp://127.0.0.1:8554/test/"),
        ("rtsp://127.0.0.1:8554/test/", "rtsp://127.0.0.1:8554/test/"),
        ("rtsp://h/dir/clip.mjpeg", "rtsp://h/dir/clip.mjpeg/"),
        ("rtsp://h/dir%2Fclip.mjpeg", "rtsp://h/dir%2Fclip.mjpeg/"),
        ("rtsp://h/test/stream=0", "rtsp://h/test/"),
        ("rtsp://h/test?token=1", "rtsp://h/test/"),
    ] {
        let r = h.request(C1, &req("DESCRIBE", uri, 2, &["Accept: application/sdp"]));
        assert_eq!(r.status, StatusCode::OK, "{uri}");
        assert_eq!(header(&r, "Content-Base"), Some(base));
        assert_eq!(header(&r, "Content-Type"), Some("application/sdp"));
        let sdp = std::str::from_utf8(&r.body).unwrap();
        assert!(sdp.starts_with("v=0\r\n"), "{sdp}");
        assert!(sdp.contains("m=video 0 RTP/AVP 26\r\n"), "{sdp}");
        assert!(sdp.contains("a=rtpmap:26 JPEG/90000\r\n"), "{sdp}");
        assert!(sdp.contains("a=control:stream=0\r\n"), "{sdp}");
        assert!(sdp.contains("a=range:npt=0-2"), "{sdp}");
    }
}

#[test]
fn udp_setup_play_pause_play_teardown() {
    let mut h = H::new();
    h.connect(C1);
    let r = h.request(
        C1,
        &req(
            "SETUP",
            "rtsp://127.0.0.1:8554/test/stream=0",
            3,
            &["Transport: RTP/AVP/UDP;unicast;client_port=5000-5001"],
        ),
    );
    assert_eq!(r.status, StatusCode::OK);
    let session_line = header(&r, "Session").unwrap();
    assert!(session_line.ends_with(";timeout=55"), "{session_line}");
    let sid = session_of(&r);
    assert!(sid.len() == 16 && sid.bytes().all(|b| b.is_ascii_digit()));
    let transport = header(&r, "Transport").unwrap();
    assert!(
        transport
            .starts_with("RTP/AVP/UDP;unicast;client_port=5000-5001;server_port=6970-6971;ssrc="),
        "{transport}"
    );
    let ssrc = u32::from_str_radix(transport.rsplit("ssrc=").next().unwrap(), 16).unwrap();
    assert!(events(&h.take())
        .iter()
        .any(|e| matches!(e, ServerEvent::SessionCreated { session, .. } if *session == sid)));
    assert_eq!(h.server.session_count(), 1);
    // Nothing flows before PLAY.
    h.advance(Duration::from_secs(1));
    assert_eq!(any_udp(&h.take()), 0);

    let sess = format!("Session: {sid}");
    let r = h.request(
        C1,
        &req(
            "PLAY",
            "rtsp://127.0.0.1:8554/test/",
            4,
            &[&sess, "Range: npt=0.000-"],
        ),
    );
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(header(&r, "Range"), Some("npt=0.000-2.000"));
    let (seq0, ts0) = rtp_info(&r);
    assert!(header(&r, "RTP-Info")
        .unwrap()
        .starts_with("url=rtsp://127.0.0.1:8554/test/stream=0;"));
    // The first frame leaves at once, right after the reply.
    let outs = h.take();
    let pkts: Vec<Rtp> = udp(&outs, rtp_local(), client_rtp())
        .iter()
        .map(|d| rtp(d))
        .collect();
    let frags = test_media("test").fragments(0).unwrap().to_vec();
    assert_eq!(pkts.len(), frags.len());
    assert_eq!(pkts[0].seq, seq0);
    assert_eq!(pkts[0].ts, ts0);
    for (i, p) in pkts.iter().enumerate() {
        assert_eq!((p.version, p.pt, p.ssrc), (2, 26, ssrc));
        assert_eq!(p.seq, seq0.wrapping_add(i as u16));
        assert_eq!(p.ts, ts0);
        assert_eq!(p.marker, i + 1 == frags.len());
        assert_eq!(p.payload, frags[i].to_vec());
    }

    // 0.45 s later: frames 1..=4 more, timestamps 9000 apart, seq contiguous.
    h.advance(Duration::from_millis(450));
    let outs = h.take();
    let pkts: Vec<Rtp> = udp(&outs, rtp_local(), client_rtp())
        .iter()
        .map(|d| rtp(d))
        .collect();
    let marks: Vec<u32> = pkts.iter().filter(|p| p.marker).map(|p| p.ts).collect();
    assert_eq!(
        marks,
        (1..=4)
            .map(|i| ts0.wrapping_add(9000 * i))
            .collect::<Vec<_>>()
    );
    assert_eq!(pkts[0].seq, seq0.wrapping_add(frags.len() as u16));
    let last = pkts.last().unwrap().clone();

    // PAUSE stops at once: nothing more, not even after seconds.
    let r = h.request(
        C1,
        &req("PAUSE", "rtsp://127.0.0.1:8554/test/", 5, &[&sess]),
    );
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(header(&r, "Range"), Some("npt=0.500-"));
    assert_eq!(any_udp(&h.take()), 0);
    h.advance(Duration::from_secs(10));
    assert_eq!(any_udp(&h.take()), 0);

    // PLAY resumes with continuous seq and timestamps.
    let r = h.request(C1, &req("PLAY", "rtsp://127.0.0.1:8554/test/", 6, &[&sess]));
    let (seq1, ts1) = rtp_info(&r);
    assert_eq!(seq1, last.seq.wrapping_add(1));
    assert_eq!(ts1, last.ts.wrapping_add(9000));
    let outs = h.take();
    let first = rtp(&udp(&outs, rtp_local(), client_rtp())[0]);
    assert_eq!((first.seq, first.ts), (seq1, ts1));
    assert_eq!(
        first.payload,
        test_media("test").fragments(5).unwrap()[0].to_vec()
    );

    // An RTCP SR arrives on the client's RTCP port within ~1 s of PLAY.
    h.advance(Duration::from_millis(1100));
    let outs = h.take();
    let rtcp = udp(&outs, rtcp_local(), client_rtcp());
    assert_eq!(rtcp.len(), 1);
    assert_eq!(rtcp_types(&rtcp[0]), vec![200, 202]);

    let r = h.request(
        C1,
        &req("TEARDOWN", "rtsp://127.0.0.1:8554/test/", 7, &[&sess]),
    );
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(session_of(&r), sid);
    let outs = h.take();
    let rtcp = udp(&outs, rtcp_local(), client_rtcp());
    assert_eq!(rtcp.len(), 1);
    assert_eq!(rtcp_types(&rtcp[0]), vec![200, 202, 203]);
    assert!(events(&outs).iter().any(|e| matches!(
        e,
        ServerEvent::SessionClosed {
            reason: CloseReason::Teardown,
            ..
        }
    )));
    assert_eq!(h.server.session_count(), 0);
    h.advance(Duration::from_secs(5));
    assert_eq!(any_udp(&h.take()), 0);
    // Only the idle timeout of the connection (which holds no session any more) is left.
    assert_eq!(h.deadline, Some(h.now + Duration::from_secs(295)));
}

#[test]
fn tcp_interleaved_session() {
    let mut h = H::new();
    h.connect(C1);
    let r = h.request(
        C1,
        &req(
            "SETUP",
            "rtsp://127.0.0.1:8554/test/stream=0",
            2,
            &["Transport: RTP/AVP/TCP;unicast;interleaved=0-1"],
        ),
    );
    assert_eq!(r.status, StatusCode::OK);
    let transport = header(&r, "Transport").unwrap();
    assert!(
        transport.starts_with("RTP/AVP/TCP;unicast;interleaved=0-1;ssrc="),
        "{transport}"
    );
    let sid = session_of(&r);
    let sess = format!("Session: {sid}");
    h.take();
    h.send(
        C1,
        req("PLAY", "rtsp://127.0.0.1:8554/test/", 3, &[&sess]).as_bytes(),
    );
    h.advance(Duration::from_millis(1050));
    let outs = h.take();
    // The reply comes first on the stream, then $-framed RTP on channel 0.
    let items = stream_items(&outs, C1);
    assert!(matches!(items[0], Decoded::Message(Message::Response(_))));
    let pkts: Vec<Rtp> = interleaved(&outs, C1, 0).iter().map(|d| rtp(d)).collect();
    assert_eq!(pkts.iter().filter(|p| p.marker).count(), 11);
    assert!(pkts
        .windows(2)
        .all(|w| w[1].seq == w[0].seq.wrapping_add(1)));
    assert_eq!(any_udp(&outs), 0);
    let rtcp = interleaved(&outs, C1, 1);
    assert_eq!(rtcp.len(), 1);
    assert_eq!(rtcp_types(&rtcp[0]), vec![200, 202]);

    // Interleaved RTCP from the client (gst sends RR+SDES on channel 1) is accepted at any
    // time, in the middle of requests.
    let ssrc = pkts[0].ssrc;
    let mut rr = vec![b'$', 1, 0, 32, 0x81, 201, 0, 7, 0, 0, 0, 9];
    rr.extend_from_slice(&ssrc.to_be_bytes());
    rr.extend_from_slice(&[0; 20]);
    let mut bytes = rr.clone();
    bytes.extend_from_slice(
        req("GET_PARAMETER", "rtsp://127.0.0.1:8554/test/", 4, &[&sess]).as_bytes(),
    );
    h.send(C1, &bytes);
    let outs = h.take();
    assert_eq!(responses(&outs, C1)[0].status, StatusCode::OK);
    assert!(events(&outs)
        .iter()
        .any(|e| matches!(e, ServerEvent::ReceiverReport { .. })));

    // PAUSE stops the interleaved flow at once; PLAY resumes it seamlessly.
    let last = pkts.last().unwrap().clone();
    let r = h.request(
        C1,
        &req("PAUSE", "rtsp://127.0.0.1:8554/test/", 5, &[&sess]),
    );
    assert_eq!(r.status, StatusCode::OK);
    h.take();
    h.advance(Duration::from_secs(3));
    assert!(interleaved(&h.take(), C1, 0).is_empty());
    let r = h.request(C1, &req("PLAY", "rtsp://127.0.0.1:8554/test/", 6, &[&sess]));
    let (seq, ts) = rtp_info(&r);
    let first = rtp(&interleaved(&h.take(), C1, 0)[0]);
    assert_eq!((first.seq, first.ts), (seq, ts));
    assert_eq!(seq, last.seq.wrapping_add(1));
    assert_eq!(ts, last.ts.wrapping_add(9000));

    let r = h.request(
        C1,
        &req("TEARDOWN", "rtsp://127.0.0.1:8554/test/", 7, &[&sess]),
    );
    assert_eq!(r.status, StatusCode::OK);
    let outs = h.take();
    let bye = interleaved(&outs, C1, 1);
    assert_eq!(rtcp_types(&bye[0]), vec![200, 202, 203]);
    assert_eq!(h.server.session_count(), 0);
}

#[test]
fn closing_the_connection_ends_interleaved_sessions_only() {
    let mut h = H::new();
    h.connect(C1);
    h.request(
        C1,
        &req(
            "SETUP",
            "rtsp://h/test/stream=0",
            1,
            &["Transport: RTP/AVP/TCP;unicast;interleaved=0-1"],
        ),
    );
    h.connect(ConnId(2));
    let udp_sid = h.setup_udp(ConnId(2), "rtsp://h/test/stream=0");
    assert_eq!(h.server.session_count(), 2);
    let now = h.now;
    h.input(Input::StreamClosed { now, conn: C1 });
    let now = h.now;
    h.input(Input::StreamClosed {
        now,
        conn: ConnId(2),
    });
    assert_eq!(h.server.session_ids(), vec![udp_sid]);
    assert_eq!(h.server.connection_count(), 0);
    assert!(events(&h.take()).iter().any(|e| matches!(
        e,
        ServerEvent::SessionClosed {
            reason: CloseReason::ConnectionClosed,
            ..
        }
    )));
}

#[test]
fn tcp_channels_are_chosen_when_not_given_or_taken() {
    let mut h = H::new();
    h.connect(C1);
    let r = h.request(
        C1,
        &req(
            "SETUP",
            "rtsp://h/test",
            1,
            &["Transport: RTP/AVP/TCP;unicast"],
        ),
    );
    assert!(header(&r, "Transport").unwrap().contains("interleaved=0-1"));
    let r = h.request(
        C1,
        &req(
            "SETUP",
            "rtsp://h/test",
            2,
            &["Transport: RTP/AVP/TCP;unicast;interleaved=0-1"],
        ),
    );
    assert!(header(&r, "Transport").unwrap().contains("interleaved=2-3"));
}

#[test]
fn pacing_is_exact_in_virtual_time() {
    let mut h = H::new();
    h.connect(C1);
    let sid = h.setup_udp(C1, "rtsp://h/test/stream=0");
    h.take();
    let start = h.now;
    h.request(
        C1,
        &req("PLAY", "rtsp://h/test/", 4, &[&format!("Session: {sid}")]),
    );
    // N frames in (N-1)/fps seconds: frame n leaves at exactly start + n/fps.
    let mut times = Vec::new();
    for _ in 0..15 {
        let d = h.deadline.unwrap();
        let outs = h.take();
        if !udp(&outs, rtp_local(), client_rtp()).is_empty() {
            times.push(h.now - start);
        }
        h.advance_to(d);
    }
    let frames: Vec<Duration> = times.iter().copied().take(10).collect();
    assert_eq!(
        frames,
        (0..10)
            .map(|n| Duration::from_millis(100 * n))
            .collect::<Vec<_>>()
    );
}

#[test]
fn late_polls_never_burst() {
    let mut h = H::new();
    h.connect(C1);
    let sid = h.setup_udp(C1, "rtsp://h/test/stream=0");
    h.request(
        C1,
        &req("PLAY", "rtsp://h/test/", 4, &[&format!("Session: {sid}")]),
    );
    h.take();
    // The runtime sleeps through 0.8 s (8 frames): one frame now, the rest skipped.
    h.now += Duration::from_millis(800);
    let now = h.now;
    h.input(Input::Timeout(now));
    let outs = h.take();
    let pkts: Vec<Rtp> = udp(&outs, rtp_local(), client_rtp())
        .iter()
        .map(|d| rtp(d))
        .collect();
    let frames: Vec<u32> = pkts.iter().filter(|p| p.marker).map(|p| p.ts).collect();
    assert_eq!(frames.len(), 1);
    let stats = h.server.session_stats(&sid).unwrap();
    assert_eq!((stats.frames, stats.frames_skipped), (2, 7));
    // The frame sent is the current one (frame 8), with its own timestamp.
    let media = test_media("test");
    assert_eq!(pkts[0].payload, media.fragments(8).unwrap()[0].to_vec());
    // A little late (0.25 s = 2 frames due): one frame, no catch-up burst; the schedule
    // slips (nothing skipped) and the next frame is due a frame interval later.
    h.now += Duration::from_millis(250);
    let now = h.now;
    h.input(Input::Timeout(now));
    let outs = h.take();
    let n = udp(&outs, rtp_local(), client_rtp())
        .iter()
        .filter(|d| rtp(d).marker)
        .count();
    assert_eq!(n, 1);
    let stats = h.server.session_stats(&sid).unwrap();
    assert_eq!((stats.frames, stats.frames_skipped), (3, 7));
    assert_eq!(h.deadline, Some(now + Duration::from_millis(100)));
}

#[test]
fn seek_with_range() {
    let mut h = H::new();
    h.connect(C1);
    let sid = h.setup_udp(C1, "rtsp://h/test/stream=0");
    h.take();
    let sess = format!("Session: {sid}");
    let r = h.request(
        C1,
        &req("PLAY", "rtsp://h/test/", 4, &[&sess, "Range: npt=0.55-"]),
    );
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(header(&r, "Range"), Some("npt=0.500-2.000"));
    let outs = h.take();
    let first = rtp(&udp(&outs, rtp_local(), client_rtp())[0]);
    let media = test_media("test");
    assert_eq!(first.payload, media.fragments(5).unwrap()[0].to_vec());
    // npt=now- keeps the position; beyond the end is 457.
    let r = h.request(
        C1,
        &req("PLAY", "rtsp://h/test/", 5, &[&sess, "Range: npt=now-"]),
    );
    assert_eq!(r.status, StatusCode::OK);
    let r = h.request(
        C1,
        &req("PLAY", "rtsp://h/test/", 6, &[&sess, "Range: npt=2.5-"]),
    );
    assert_eq!(r.status, StatusCode::INVALID_RANGE);
    let r = h.request(
        C1,
        &req(
            "PLAY",
            "rtsp://h/test/",
            7,
            &[&sess, "Range: smpte=0:00:01-"],
        ),
    );
    assert_eq!(r.status, StatusCode::INVALID_RANGE);
}

#[test]
fn end_of_stream_sends_bye_or_loops() {
    let mut h = H::new();
    h.connect(C1);
    let sid = h.setup_udp(C1, "rtsp://h/test/stream=0");
    h.request(
        C1,
        &req("PLAY", "rtsp://h/test/", 4, &[&format!("Session: {sid}")]),
    );
    h.advance(Duration::from_secs(5));
    let outs = h.take();
    let frames = udp(&outs, rtp_local(), client_rtp())
        .iter()
        .filter(|d| rtp(d).marker)
        .count();
    assert_eq!(frames, FRAMES as usize);
    let rtcp = udp(&outs, rtcp_local(), client_rtcp());
    assert_eq!(rtcp_types(rtcp.last().unwrap()), vec![200, 202, 203]);
    assert!(events(&outs)
        .iter()
        .any(|e| matches!(e, ServerEvent::EndOfStream { .. })));
    // PLAY again restarts from the beginning.
    let r = h.request(
        C1,
        &req("PLAY", "rtsp://h/test/", 5, &[&format!("Session: {sid}")]),
    );
    assert_eq!(header(&r, "Range"), Some("npt=0.000-2.000"));

    let mut h = H::with_config(ServerConfig {
        loop_media: true,
        ..config()
    });
    h.connect(C1);
    let sid = h.setup_udp(C1, "rtsp://h/test/stream=0");
    let r = h.request(
        C1,
        &req("PLAY", "rtsp://h/test/", 4, &[&format!("Session: {sid}")]),
    );
    assert_eq!(header(&r, "Range"), Some("npt=0.000-"));
    h.advance(Duration::from_millis(4950));
    let outs = h.take();
    let pkts: Vec<Rtp> = udp(&outs, rtp_local(), client_rtp())
        .iter()
        .map(|d| rtp(d))
        .collect();
    let marks: Vec<&Rtp> = pkts.iter().filter(|p| p.marker).collect();
    assert_eq!(marks.len(), 50);
    assert!(marks
        .windows(2)
        .all(|w| w[1].ts == w[0].ts.wrapping_add(9000)));
    assert!(!events(&outs)
        .iter()
        .any(|e| matches!(e, ServerEvent::EndOfStream { .. })));
}

fn status_of(h: &mut H, text: &str) -> StatusCode {
    h.request(C1, text).status
}

#[test]
fn error_codes() {
    let mut h = H::new();
    h.connect(C1);
    // 505 for another RTSP version; the connection stays usable.
    let r = h.request(C1, "OPTIONS * RTSP/2.0\r\nCSeq: 9\r\n\r\n");
    assert_eq!(
        (r.status, r.cseq()),
        (StatusCode::RTSP_VERSION_NOT_SUPPORTED, Some(9))
    );
    // 400 without CSeq (and no CSeq in the reply).
    let r = h.request(C1, "OPTIONS rtsp://h/test RTSP/1.0\r\n\r\n");
    assert_eq!((r.status, r.cseq()), (StatusCode::BAD_REQUEST, None));
    assert_eq!(
        status_of(&mut h, &req("FOO", "rtsp://h/test", 4, &[])),
        StatusCode::NOT_IMPLEMENTED
    );
    let r = h.request(C1, &req("RECORD", "rtsp://h/test", 4, &[]));
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(header(&r, "Allow").is_some());
    let r = h.request(C1, &req("OPTIONS", "*", 5, &["Require: implicit-play"]));
    assert_eq!(r.status, StatusCode::OPTION_NOT_SUPPORTED);
    assert_eq!(header(&r, "Unsupported"), Some("implicit-play"));
    assert_eq!(
        status_of(&mut h, &req("DESCRIBE", "rtsp://h/nope", 6, &[])),
        StatusCode::NOT_FOUND
    );
    let udp = "Transport: RTP/AVP;unicast;client_port=5000-5001";
    assert_eq!(
        status_of(&mut h, &req("SETUP", "rtsp://h/test/stream=9", 7, &[udp])),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        status_of(&mut h, &req("PLAY", "rtsp://h/test/", 8, &[])),
        StatusCode::METHOD_NOT_VALID_IN_THIS_STATE
    );
    assert_eq!(
        status_of(&mut h, &req("PAUSE", "rtsp://h/test/", 8, &[])),
        StatusCode::METHOD_NOT_VALID_IN_THIS_STATE
    );
    assert_eq!(
        status_of(
            &mut h,
            &req("PLAY", "rtsp://h/test/", 9, &["Session: WRONGID"])
        ),
        StatusCode::SESSION_NOT_FOUND
    );
    assert_eq!(
        status_of(
            &mut h,
            &req("TEARDOWN", "rtsp://h/test/", 9, &["Session: 123"])
        ),
        StatusCode::SESSION_NOT_FOUND
    );
    assert_eq!(
        status_of(
            &mut h,
            &req("GET_PARAMETER", "rtsp://h/test/", 9, &["Session: 123"])
        ),
        StatusCode::SESSION_NOT_FOUND
    );
    for t in [
        "Transport: RTP/AVP;multicast",
        "Transport: RAW/RAW/UDP;unicast;client_port=5000-5001",
        "Transport: RTP/AVP;unicast",
        "Transport: RTP/AVP;unicast;client_port=5000-5001;mode=record",
    ] {
        assert_eq!(
            status_of(&mut h, &req("SETUP", "rtsp://h/test/stream=0", 10, &[t])),
            StatusCode::UNSUPPORTED_TRANSPORT,
            "{t}"
        );
    }
    assert_eq!(
        status_of(&mut h, &req("SETUP", "rtsp://h/test/stream=0", 10, &[])),
        StatusCode::UNSUPPORTED_TRANSPORT
    );
    // A list: the first spec we can serve wins.
    let r = h.request(
        C1,
        &req(
            "SETUP",
            "rtsp://h/test/stream=0",
            11,
            &["Transport: RTP/AVP;multicast,RTP/AVP/TCP;unicast;interleaved=4-5"],
        ),
    );
    assert!(header(&r, "Transport").unwrap().contains("interleaved=4-5"));
    let sess = format!("Session: {}", session_of(&r));
    // 459: another stream into the same session; 455: SETUP while playing.
    assert_eq!(
        status_of(
            &mut h,
            &req(
                "SETUP",
                "rtsp://h/dir/clip.mjpeg/stream=0",
                12,
                &[udp, &sess]
            )
        ),
        StatusCode::AGGREGATE_OPERATION_NOT_ALLOWED
    );
    assert_eq!(
        status_of(&mut h, &req("PLAY", "rtsp://h/test", 13, &[&sess])),
        StatusCode::OK
    );
    assert_eq!(
        status_of(
            &mut h,
            &req("SETUP", "rtsp://h/test/stream=0", 14, &[udp, &sess])
        ),
        StatusCode::METHOD_NOT_VALID_IN_THIS_STATE
    );
    // PLAY on another stream's URL: 404.
    assert_eq!(
        status_of(
            &mut h,
            &req("PLAY", "rtsp://h/dir/clip.mjpeg", 15, &[&sess])
        ),
        StatusCode::NOT_FOUND
    );
    // SET_PARAMETER with parameters: 451; empty: 200.
    let mut set = req(
        "SET_PARAMETER",
        "rtsp://h/test",
        16,
        &[&sess, "Content-Length: 9"],
    );
    set.push_str("foo: bar\n");
    assert_eq!(
        status_of(&mut h, &set),
        StatusCode::PARAMETER_NOT_UNDERSTOOD
    );
    assert_eq!(
        status_of(&mut h, &req("SET_PARAMETER", "rtsp://h/test", 17, &[&sess])),
        StatusCode::OK
    );
    // Catalog failures.
    assert_eq!(
        status_of(&mut h, &req("DESCRIBE", "rtsp://h/broken.mjpeg", 18, &[])),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        status_of(&mut h, &req("DESCRIBE", "rtsp://h/444.mjpeg", 19, &[])),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        status_of(&mut h, &req("DESCRIBE", "rtsp://h/secret", 20, &[])),
        StatusCode::FORBIDDEN
    );
    assert!(events(&h.take())
        .iter()
        .any(|e| matches!(e, ServerEvent::LookupFailed { .. })));
    // Nothing closed the connection so far.
    assert_eq!(h.server.connection_count(), 1);
}

#[test]
fn garbage_gets_400_and_a_close() {
    let mut h = H::new();
    h.connect(C1);
    h.send(C1, b"\x16\x03\x01 hello garbage\r\nCSeq: 7\r\n\r\n");
    let outs = h.take();
    let replies = responses(&outs, C1);
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].status, StatusCode::BAD_REQUEST);
    assert!(matches!(
        outs.iter().rev().find(|o| !matches!(o, Out::Ev(_))),
        Some(Out::Close(C1))
    ));
    assert_eq!(h.server.connection_count(), 0);
    // Later bytes on the closed connection are ignored.
    h.send(C1, b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n");
    assert!(h.take().is_empty());

    // Oversized heads are refused, not buffered.
    h.connect(ConnId(2));
    let mut big = b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n".to_vec();
    for i in 0..2000 {
        big.extend_from_slice(format!("X-Pad-{i}: {}\r\n", "a".repeat(20)).as_bytes());
    }
    h.send(ConnId(2), &big);
    let outs = h.take();
    assert_eq!(
        responses(&outs, ConnId(2))[0].status,
        StatusCode::BAD_REQUEST
    );
    assert!(outs.iter().any(|o| matches!(o, Out::Close(ConnId(2)))));
}

#[test]
fn max_sessions_gives_453() {
    let mut h = H::with_config(ServerConfig {
        max_sessions: 2,
        ..config()
    });
    h.connect(C1);
    h.setup_udp(C1, "rtsp://h/test/stream=0");
    h.setup_udp(C1, "rtsp://h/test/stream=0");
    let r = h.request(
        C1,
        &req(
            "SETUP",
            "rtsp://h/test/stream=0",
            3,
            &["Transport: RTP/AVP;unicast;client_port=5000-5001"],
        ),
    );
    assert_eq!(r.status, StatusCode::NOT_ENOUGH_BANDWIDTH);
    assert_eq!(h.server.session_count(), 2);
}

#[test]
fn traversal_never_reaches_the_catalog() {
    let mut h = H::new();
    h.connect(C1);
    for (uri, status) in [
        ("rtsp://h/../etc/passwd", StatusCode::FORBIDDEN),
        ("rtsp://h/%2e%2e/%2e%2e/etc/passwd", StatusCode::FORBIDDEN),
        ("rtsp://h/dir/../../x", StatusCode::FORBIDDEN),
        ("rtsp://h//etc/passwd", StatusCode::FORBIDDEN),
        ("rtsp://h/%2Fetc%2Fpasswd", StatusCode::FORBIDDEN),
        ("rtsp://h/a%5C..%5Cb", StatusCode::FORBIDDEN),
        ("rtsp://h/a%00.mjpeg", StatusCode::FORBIDDEN),
        ("/etc/passwd", StatusCode::FORBIDDEN),
        ("../movie.Mjpeg", StatusCode::FORBIDDEN),
        ("rtsp://h/", StatusCode::NOT_FOUND),
        ("rtsp://h/%zz", StatusCode::BAD_REQUEST),
    ] {
        assert_eq!(
            status_of(&mut h, &req("DESCRIBE", uri, 1, &[])),
            status,
            "{uri}"
        );
        let t = "Transport: RTP/AVP;unicast;client_port=5000-5001";
        assert_eq!(
            status_of(&mut h, &req("SETUP", uri, 2, &[t])),
            status,
            "{uri}"
        );
    }
    assert!(h.asked.lock().unwrap().is_empty(), "{:?}", h.asked);
    // Percent-decoded names reach it.
    assert_eq!(
        status_of(
            &mut h,
            &req("DESCRIBE", "rtsp://h/dir%2fclip.mjpeg", 3, &[])
        ),
        StatusCode::OK
    );
    assert_eq!(*h.asked.lock().unwrap(), vec!["dir/clip.mjpeg".to_string()]);
}

/// The original Python lab client's requests: LF only, no final empty line, no DESCRIBE.
#[test]
fn course_lab_dialect() {
    let mut h = H::new();
    h.connect(C1);
    h.send(
        C1,
        b"SETUP movie.Mjpeg RTSP/1.0\nCSeq: 1\nTransport: RTP/UDP; client_port= 25000",
    );
    // Nothing until the flush timer fires.
    assert!(responses(&h.take(), C1).is_empty());
    assert_eq!(h.deadline, Some(h.now + Duration::from_millis(300)));
    h.advance(Duration::from_millis(299));
    assert!(responses(&h.take(), C1).is_empty());
    h.advance(Duration::from_millis(1));
    let outs = h.take();
    let text = String::from_utf8(stream_bytes(&outs, C1)).unwrap();
    let lines: Vec<&str> = text.split('\n').collect();
    // What the lab client's parseRtspReply reads: status on line 1, CSeq on 2, Session on 3.
    assert_eq!(lines[0].split(' ').nth(1), Some("200"));
    assert_eq!(lines[1].trim_end(), "CSeq: 1");
    let session: u64 = lines[2].split(' ').nth(1).unwrap().trim().parse().unwrap();
    assert!(lines[2].starts_with("Session: "));

    h.send(
        C1,
        format!("PLAY movie.Mjpeg RTSP/1.0\nCSeq: 2\nSession: {session}").as_bytes(),
    );
    h.advance(Duration::from_millis(300));
    let mut outs = h.take();
    let text = String::from_utf8_lossy(&stream_bytes(&outs, C1)).to_string();
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(lines[0].split(' ').nth(1), Some("200"));
    assert_eq!(lines[1].trim_end(), "CSeq: 2");
    assert_eq!(lines[2].trim_end(), format!("Session: {session}"));
    // Whole JPEGs, PT 26, numbered from 1, to the TCP peer's address at the client port.
    h.advance(Duration::from_millis(500));
    outs.extend(h.take());
    let to = addr("192.168.1.7:25000");
    let pkts: Vec<Rtp> = udp(&outs, rtp_local(), to).iter().map(|d| rtp(d)).collect();
    assert_eq!(pkts.len(), 6); // 0.0 .. 0.5 s after the flush
    let media = test_media("movie.Mjpeg");
    for (i, p) in pkts.iter().enumerate() {
        assert_eq!((p.pt, p.marker, p.seq), (26, false, i as u16 + 1));
        assert_eq!(p.payload, media.jpeg(i).unwrap().to_vec());
    }
    // No RTCP for the lab client.
    h.advance(Duration::from_secs(2));
    let outs = h.take();
    assert!(udp(&outs, rtcp_local(), addr("192.168.1.7:25001")).is_empty());

    h.send(
        C1,
        format!("PAUSE movie.Mjpeg RTSP/1.0\nCSeq: 3\nSession: {session}").as_bytes(),
    );
    h.advance(Duration::from_millis(300));
    let outs = h.take();
    assert!(String::from_utf8(stream_bytes(&outs, C1))
        .unwrap()
        .starts_with("RTSP/1.0 200 OK"));
    h.advance(Duration::from_secs(1));
    assert_eq!(any_udp(&h.take()), 0);
    // PLAY again: numbers keep growing.
    h.send(
        C1,
        format!("PLAY movie.Mjpeg RTSP/1.0\nCSeq: 4\nSession: {session}").as_bytes(),
    );
    h.advance(Duration::from_millis(300));
    let outs = h.take();
    let p = rtp(&udp(&outs, rtp_local(), to)[0]);
    assert!(p.seq > 6);

    h.send(
        C1,
        format!("TEARDOWN movie.Mjpeg RTSP/1.0\nCSeq: 5\nSession: {session}").as_bytes(),
    );
    h.advance(Duration::from_millis(300));
    let outs = h.take();
    let text = String::from_utf8(stream_bytes(&outs, C1)).unwrap();
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(lines[1].trim_end(), "CSeq: 5");
    assert_eq!(lines[2].trim_end(), format!("Session: {session}"));
    assert_eq!(h.server.session_count(), 0);
}

#[test]
fn course_lab_errors_keep_the_positional_layout() {
    let mut h = H::new();
    h.connect(C1);
    h.send(
        C1,
        b"SETUP nothere.Mjpeg RTSP/1.0\nCSeq: 1\nTransport: RTP/UDP; client_port= 25000",
    );
    h.advance(Duration::from_millis(300));
    let text = String::from_utf8(stream_bytes(&h.take(), C1)).unwrap();
    let lines: Vec<&str> = text.split('\n').collect();
    assert_eq!(lines[0].split(' ').nth(1), Some("404"));
    assert_eq!(lines[1].trim_end(), "CSeq: 1");
    assert_eq!(lines[2].trim_end(), "Session: 0");
}

#[test]
fn course_lab_sessions_live_as_long_as_their_connection() {
    let mut h = H::new();
    h.connect(C1);
    h.send(
        C1,
        b"SETUP movie.Mjpeg RTSP/1.0\nCSeq: 1\nTransport: RTP/UDP; client_port= 25000",
    );
    h.advance(Duration::from_millis(300));
    let text = String::from_utf8(stream_bytes(&h.take(), C1)).unwrap();
    let session = text
        .lines()
        .nth(2)
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .to_string();
    h.send(
        C1,
        format!("PLAY movie.Mjpeg RTSP/1.0\nCSeq: 2\nSession: {session}").as_bytes(),
    );
    // The lab client sends nothing while it plays: no reaping while it is connected.
    h.advance(Duration::from_secs(300));
    assert_eq!(h.server.session_count(), 1);
    h.take();
    let now = h.now;
    h.input(Input::StreamClosed { now, conn: C1 });
    assert_eq!(h.server.session_count(), 0);
    h.advance(Duration::from_secs(1));
    assert_eq!(any_udp(&h.take()), 0);
}

#[test]
fn bare_name_with_rtp_avp_gets_rfc2435() {
    let mut h = H::new();
    h.connect(C1);
    let r = h.request(
        C1,
        &req(
            "SETUP",
            "movie.Mjpeg",
            1,
            &["Transport: RTP/AVP;unicast;client_port=5000-5001"],
        ),
    );
    assert_eq!(r.status, StatusCode::OK);
    let sid = session_of(&r);
    h.request(
        C1,
        &req("PLAY", "movie.Mjpeg", 2, &[&format!("Session: {sid}")]),
    );
    let outs = h.take();
    let pkts = udp(&outs, rtp_local(), client_rtp());
    assert_eq!(
        rtp(&pkts[0]).payload,
        test_media("x").fragments(0).unwrap()[0].to_vec()
    );
}

#[test]
fn lab_frames_too_large_for_a_datagram_are_skipped() {
    let mut h = H::new();
    h.connect(C1);
    let mut frames = Vec::new();
    for (i, jpeg) in mjpeg::testpattern::frames(3, 64, 48)
        .into_iter()
        .enumerate()
    {
        let mut f = jpeg.to_vec();
        if i == 1 {
            // A COM segment padding frame 1 beyond 65 000 bytes.
            let mut com = vec![0xFF, 0xFE, 0xFF, 0xFF];
            com.resize(4 + 65533, b'x');
            let mut padded = f[..2].to_vec();
            padded.extend_from_slice(&com);
            padded.extend_from_slice(&f[2..]);
            f = padded;
        }
        frames.push(Bytes::from(f));
    }
    let big = Media::from_jpegs("big.Mjpeg", FPS, frames, MTU).unwrap();
    let mut catalog = MemoryCatalog::new();
    catalog.insert(big);
    let mut server = Server::new(config(), Box::new(catalog), h.now);
    std::mem::swap(&mut h.server, &mut server);
    h.connect(C1);
    h.send(
        C1,
        b"SETUP big.Mjpeg RTSP/1.0\nCSeq: 1\nTransport: RTP/UDP; client_port= 25000\n\n",
    );
    let r = responses(&h.take(), C1).remove(0);
    let sid = session_of(&r);
    h.send(
        C1,
        format!("PLAY big.Mjpeg RTSP/1.0\nCSeq: 2\nSession: {sid}\n\n").as_bytes(),
    );
    h.advance(Duration::from_millis(250));
    let outs = h.take();
    let pkts: Vec<Rtp> = udp(&outs, rtp_local(), addr("192.168.1.7:25000"))
        .iter()
        .map(|d| rtp(d))
        .collect();
    assert_eq!(pkts.iter().map(|p| p.seq).collect::<Vec<_>>(), vec![1, 3]);
    assert_eq!(h.server.session_stats(&sid).unwrap().frames_skipped, 1);
}

#[test]
fn sessions_are_reaped_unless_kept_alive() {
    let mut h = H::with_config(ServerConfig {
        session_timeout: Duration::from_secs(10),
        ..config()
    });
    h.connect(C1);
    let r = h.request(
        C1,
        &req(
            "SETUP",
            "rtsp://h/test/stream=0",
            1,
            &["Transport: RTP/AVP;unicast;client_port=5000-5001"],
        ),
    );
    // Advertised a little below the enforced 10 s.
    assert!(header(&r, "Session").unwrap().ends_with(";timeout=9"));
    let sid = session_of(&r);
    let sess = format!("Session: {sid}");
    h.request(C1, &req("PLAY", "rtsp://h/test", 2, &[&sess]));
    // RTCP RR from the client's RTCP port keeps it alive (live555 sends no RTSP keepalive).
    let mut rr = vec![0x81, 201, 0, 7, 0, 0, 0, 9];
    let ssrc = rtp(&udp(&h.take(), rtp_local(), client_rtp())[0]).ssrc;
    rr.extend_from_slice(&ssrc.to_be_bytes());
    rr.extend_from_slice(&[0; 20]);
    for _ in 0..3 {
        h.advance(Duration::from_secs(6));
        h.datagram(rtcp_local(), client_rtcp(), &rr);
    }
    assert_eq!(h.server.session_count(), 1);
    assert!(events(&h.take())
        .iter()
        .any(|e| matches!(e, ServerEvent::ReceiverReport { .. })));
    // A GET_PARAMETER keepalive on a new connection keeps it alive too.
    h.advance(Duration::from_secs(6));
    h.connect(ConnId(2));
    let r = h.request(
        ConnId(2),
        &req("GET_PARAMETER", "rtsp://h/test/", 3, &[&sess]),
    );
    assert_eq!(r.status, StatusCode::OK);
    assert!(header(&r, "Session").unwrap().starts_with(&sid));
    h.advance(Duration::from_secs(9));
    assert_eq!(h.server.session_count(), 1);
    // Junk from elsewhere does not.
    h.datagram(rtcp_local(), addr("192.168.1.8:5001"), &rr);
    h.datagram(
        rtp_local(),
        client_rtp(),
        &[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    );
    // Silent for the full timeout: reaped, and RTP stops.
    h.advance(Duration::from_millis(1001));
    assert_eq!(h.server.session_count(), 0);
    let outs = h.take();
    assert!(events(&outs).iter().any(|e| matches!(
        e,
        ServerEvent::SessionClosed {
            reason: CloseReason::Timeout,
            ..
        }
    )));
    h.advance(Duration::from_secs(1));
    assert_eq!(any_udp(&h.take()), 0);
    let r = h.request(ConnId(2), &req("PLAY", "rtsp://h/test/", 4, &[&sess]));
    assert_eq!(r.status, StatusCode::SESSION_NOT_FOUND);
}

#[test]
fn junk_datagrams_are_ignored() {
    let mut h = H::new();
    h.connect(C1);
    h.setup_udp(C1, "rtsp://h/test/stream=0");
    h.take();
    let from = addr("192.168.1.7:5001");
    for junk in [
        &[0u8; 4][..],
        &[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        &[0xAB; 200],
        &[],
        &[0x81, 201, 0, 200],
    ] {
        h.datagram(rtp_local(), from, junk);
        h.datagram(rtcp_local(), from, junk);
        h.datagram(addr("10.0.0.1:9999"), from, junk);
    }
    assert!(h
        .take()
        .iter()
        .all(|o| !matches!(o, Out::Tx(_) | Out::Close(_))));
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let mut h = H::new();
    h.connect(C1);
    let mut bytes = req("OPTIONS", "*", 1, &[]);
    bytes.push_str(&req("DESCRIBE", "rtsp://h/test", 2, &[]));
    bytes.push_str(&req(
        "SETUP",
        "rtsp://h/test/stream=0",
        3,
        &["Transport: RTP/AVP;unicast;client_port=5000-5001"],
    ));
    bytes.push_str(&req("FOO", "rtsp://h/test", 4, &[]));
    bytes.push_str(&req("DESCRIBE", "rtsp://h/nope", 5, &[]));
    h.send(C1, bytes.as_bytes());
    let rs = responses(&h.take(), C1);
    let got: Vec<(Option<u32>, u16)> = rs.iter().map(|r| (r.cseq(), r.status.0)).collect();
    assert_eq!(
        got,
        vec![
            (Some(1), 200),
            (Some(2), 200),
            (Some(3), 200),
            (Some(4), 501),
            (Some(5), 404)
        ]
    );
}

#[test]
fn a_request_split_at_every_byte() {
    let text = req(
        "SETUP",
        "rtsp://127.0.0.1:8554/test/stream=0",
        3,
        &[
            "Transport: RTP/AVP;unicast;client_port=5000-5001",
            "User-Agent: x",
        ],
    );
    let mut whole = H::new();
    whole.connect(C1);
    let expected = whole.request(C1, &text);
    for split in 1..text.len() {
        let mut h = H::new();
        h.connect(C1);
        h.send(C1, &text.as_bytes()[..split]);
        assert!(responses(&h.take(), C1).is_empty(), "split at {split}");
        h.advance(Duration::from_millis(10));
        h.send(C1, &text.as_bytes()[split..]);
        let r = responses(&h.take(), C1);
        assert_eq!(r, vec![expected.clone()], "split at {split}");
    }
    // And one byte per input.
    let mut h = H::new();
    h.connect(C1);
    for b in text.as_bytes() {
        h.send(C1, std::slice::from_ref(b));
        h.advance(Duration::from_millis(1));
    }
    assert_eq!(responses(&h.take(), C1), vec![expected]);
}

#[test]
fn deterministic_from_the_seed() {
    let run = |seed| {
        let mut h = H::with_config(ServerConfig { seed, ..config() });
        h.connect(C1);
        let r = h.request(
            C1,
            &req(
                "SETUP",
                "rtsp://h/test",
                1,
                &["Transport: RTP/AVP;unicast;client_port=5000-5001"],
            ),
        );
        (session_of(&r), header(&r, "Transport").unwrap().to_string())
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}

#[test]
fn shutdown_says_bye_and_closes() {
    let mut h = H::new();
    h.connect(C1);
    let sid = h.setup_udp(C1, "rtsp://h/test/stream=0");
    h.request(
        C1,
        &req("PLAY", "rtsp://h/test", 4, &[&format!("Session: {sid}")]),
    );
    h.take();
    let now = h.now;
    h.server.shutdown(now);
    h.drain();
    let outs = h.take();
    let rtcp = udp(&outs, rtcp_local(), client_rtcp());
    assert_eq!(rtcp_types(&rtcp[0]), vec![200, 202, 203]);
    assert!(outs.iter().any(|o| matches!(o, Out::Close(C1))));
    assert_eq!(
        (h.server.session_count(), h.server.connection_count()),
        (0, 0)
    );
    assert_eq!(h.deadline, None);
    h.connect(ConnId(2));
    assert!(h.take().iter().any(|o| matches!(o, Out::Close(ConnId(2)))));
}

#[test]
fn timeout_is_the_earliest_deadline() {
    let mut h = H::new();
    assert_eq!(h.deadline, None);
    h.connect(C1);
    let sid = h.setup_udp(C1, "rtsp://h/test/stream=0");
    // Only the session's expiry.
    assert_eq!(h.deadline, Some(h.now + Duration::from_secs(60)));
    h.request(
        C1,
        &req("PLAY", "rtsp://h/test", 4, &[&format!("Session: {sid}")]),
    );
    // Then the next frame.
    assert_eq!(h.deadline, Some(h.now + Duration::from_millis(100)));
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn never_panics(chunks in proptest::collection::vec(
            proptest::collection::vec(any::<u8>(), 0..200), 0..8),
            text in "[A-Z_]{1,12} [ -~]{0,40} RTSP/1\\.[0-9]\r\n(([A-Za-z-]{1,10}): [ -~]{0,30}\r\n){0,4}\r?\n?",
        ) {
            let mut h = H::new();
            h.connect(C1);
            h.send(C1, text.as_bytes());
            for c in &chunks {
                h.send(C1, c);
                h.datagram(rtcp_local(), client_rtcp(), c);
                h.advance(Duration::from_millis(150));
            }
            h.advance(Duration::from_secs(2));
        }

        #[test]
        fn any_session_request_sequence(ops in proptest::collection::vec(0u8..8, 0..20)) {
            let mut h = H::new();
            h.connect(C1);
            let mut sid = String::from("0");
            for (i, op) in ops.iter().enumerate() {
                let cseq = i as u32 + 1;
                let sess = format!("Session: {sid}");
                let text = match op {
                    0 => req("SETUP", "rtsp://h/test/stream=0", cseq, &["Transport: RTP/AVP;unicast;client_port=5000-5001"]),
                    1 => req("SETUP", "rtsp://h/test/stream=0", cseq, &["Transport: RTP/AVP/TCP;unicast;interleaved=0-1", &sess]),
                    2 => req("PLAY", "rtsp://h/test/", cseq, &[&sess]),
                    3 => req("PAUSE", "rtsp://h/test/", cseq, &[&sess]),
                    4 => req("TEARDOWN", "rtsp://h/test/", cseq, &[&sess]),
                    5 => req("PLAY", "rtsp://h/test/", cseq, &[&sess, "Range: npt=1.9-"]),
                    6 => { h.advance(Duration::from_millis(700)); continue; }
                    _ => req("GET_PARAMETER", "rtsp://h/test/", cseq, &[&sess]),
                };
                let r = h.request(C1, &text);
                if let Some(v) = r.headers.get(&HeaderName::SESSION) {
                    sid = v.split(';').next().unwrap().to_string();
                }
            }
            h.advance(Duration::from_secs(70));
            prop_assert_eq!(h.server.session_count(), 0);
        }
    }
}

/// gst rtspsrc over TCP, as captured against gst-rtsp-server (interop transcripts): a `Date`
/// on every request, `Range: npt=now-`, RR+SDES on channel 1, PAUSE before TEARDOWN.
#[test]
fn gst_tcp_exchange() {
    let mut h = H::new();
    h.connect(C1);
    let ua = "User-Agent: GStreamer/1.22.0";
    let date = "Date: Wed, 25 Nov 2026 14:08:19 GMT";
    let base = "rtsp://127.0.0.1:8554/test";
    let r = h.request(C1, &req("OPTIONS", base, 1, &[ua, date]));
    assert_eq!(r.status, StatusCode::OK);
    let r = h.request(
        C1,
        &req("DESCRIBE", base, 2, &[ua, "Accept: application/sdp", date]),
    );
    assert_eq!(
        header(&r, "Content-Base"),
        Some("rtsp://127.0.0.1:8554/test/")
    );
    let r = h.request(
        C1,
        &req(
            "SETUP",
            "rtsp://127.0.0.1:8554/test/stream=0",
            3,
            &[ua, "Transport: RTP/AVP/TCP;unicast;interleaved=0-1", date],
        ),
    );
    let sess = format!("Session: {}", session_of(&r));
    let r = h.request(
        C1,
        &req(
            "PLAY",
            "rtsp://127.0.0.1:8554/test/",
            4,
            &[ua, "Range: npt=now-", &sess, date],
        ),
    );
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(header(&r, "Range"), Some("npt=0.000-2.000"));
    h.advance(Duration::from_millis(2880));
    let mut rr = vec![b'$', 1, 0, 84, 0x81, 201, 0, 7, 0xb5, 0x62, 0x0c, 0x33];
    rr.extend_from_slice(&[0; 24]);
    rr.extend_from_slice(&[0x81, 202, 0, 12]);
    rr.extend_from_slice(&[0; 48]);
    h.send(C1, &rr);
    h.advance(Duration::from_millis(480));
    let r = h.request(
        C1,
        &req(
            "PAUSE",
            "rtsp://127.0.0.1:8554/test/",
            5,
            &[ua, &sess, date],
        ),
    );
    assert_eq!(r.status, StatusCode::OK);
    let r = h.request(
        C1,
        &req(
            "TEARDOWN",
            "rtsp://127.0.0.1:8554/test/",
            6,
            &[ua, &sess, date],
        ),
    );
    assert_eq!(r.status, StatusCode::OK);
    let outs = h.take();
    // Every byte on the stream parses: replies and $-frames interleave cleanly.
    let items = stream_items(&outs, C1);
    let frames = items
        .iter()
        .filter(
            |d| matches!(d, Decoded::Interleaved { channel: 0, payload } if rtp(payload).marker),
        )
        .count();
    assert_eq!(frames, 20); // 2 s of media, then the end (BYE) before the PAUSE
    assert_eq!(h.server.session_count(), 0);
}

/// ffmpeg over UDP: `RTP/AVP/UDP`, hole-punch packets to both server ports before PLAY.
#[test]
fn ffmpeg_udp_exchange() {
    let mut h = H::new();
    h.connect(C1);
    let ua = "User-Agent: Lavf59.27.100";
    h.request(C1, &req("OPTIONS", "rtsp://127.0.0.1:8554/test", 1, &[ua]));
    h.request(
        C1,
        &req(
            "DESCRIBE",
            "rtsp://127.0.0.1:8554/test",
            2,
            &["Accept: application/sdp", ua],
        ),
    );
    let r = h.request(
        C1,
        &req(
            "SETUP",
            "rtsp://127.0.0.1:8554/test/stream=0",
            3,
            &["Transport: RTP/AVP/UDP;unicast;client_port=8924-8925", ua],
        ),
    );
    let sess = format!("Session: {}", session_of(&r));
    let from_rtp = addr("192.168.1.7:8924");
    let from_rtcp = addr("192.168.1.7:8925");
    h.datagram(
        rtp_local(),
        from_rtp,
        &[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    );
    h.datagram(rtcp_local(), from_rtcp, &[0x80, 0xC9, 0, 1, 0, 0, 0, 0]);
    let r = h.request(
        C1,
        &req(
            "PLAY",
            "rtsp://127.0.0.1:8554/test/",
            4,
            &["Range: npt=0.000-", ua, &sess],
        ),
    );
    assert_eq!(r.status, StatusCode::OK);
    h.advance(Duration::from_millis(950));
    let outs = h.take();
    let frames = udp(&outs, rtp_local(), from_rtp)
        .iter()
        .filter(|d| rtp(d).marker)
        .count();
    assert_eq!(frames, 10);
    let r = h.request(
        C1,
        &req("TEARDOWN", "rtsp://127.0.0.1:8554/test/", 5, &[ua, &sess]),
    );
    assert_eq!(r.status, StatusCode::OK);
}

// ---------------------------------------------------------------------------------------
// Limits (issue 6), on the simulated clock.

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

/// Slowloris: one byte every 3 s never completes a request; 10 s after its first byte the
/// connection gets 408 and is closed, while a playing session on another connection keeps
/// getting every frame.
#[test]
fn slow_requests_are_cut_and_others_keep_playing() {
    let mut h = H::with_config(ServerConfig {
        loop_media: true,
        ..config()
    });
    h.connect(C1);
    let sid = h.setup_udp(C1, "rtsp://h/test/stream=0");
    h.request(
        C1,
        &req("PLAY", "rtsp://h/test", 4, &[&format!("Session: {sid}")]),
    );
    h.take();
    let slow = ConnId(2);
    h.connect(slow);
    let text = b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n";
    let mut cut_at = None;
    for (i, b) in text.iter().enumerate() {
        h.send(slow, &[*b]);
        h.advance(Duration::from_secs(3));
        if closed(&h.outs, slow) {
            cut_at = Some(i);
            break;
        }
    }
    // Bytes at 0, 3, 6, 9 s; the cut at 10 s is seen after the 4th byte's 3 s wait.
    assert_eq!(cut_at, Some(3));
    let outs = h.take();
    assert_eq!(
        responses(&outs, slow)[0].status,
        StatusCode::REQUEST_TIMEOUT
    );
    assert_eq!(limit_events(&outs), vec![Limit::RequestTimeout]);
    // 12 s of play at 10 fps, nothing skipped, on the well-behaved session.
    let rtp_count = udp(&outs, rtp_local(), client_rtp())
        .iter()
        .filter(|d| rtp(d).marker)
        .count();
    assert_eq!(rtp_count, 12 * 10);
    assert_eq!(h.server.session_stats(&sid).unwrap().frames_skipped, 0);
    assert_eq!(h.server.connection_count(), 1);
}

/// The 408 for a slow partial request carries its CSeq when a complete `CSeq` line arrived
/// (sniffed as for 400), and none when the line is still incomplete.
#[test]
fn request_timeout_echoes_a_complete_cseq_line() {
    let mut h = H::new();
    for (conn, text, cseq) in [
        (
            C1,
            &b"OPTIONS * RTSP/1.0\r\nCSeq: 17\r\nUser-Agent: slow"[..],
            Some("17"),
        ),
        (ConnId(2), b"OPTIONS * RTSP/1.0\r\nCSeq: 1", None),
        (
            ConnId(3),
            b"\r\nDESCRIBE rtsp://h/test RTSP/1.0\ncseq:  5\n",
            Some("5"),
        ),
        (ConnId(4), b"OPTI", None),
    ] {
        h.connect(conn);
        h.send(conn, text);
        assert!(!closed(&h.take(), conn));
        h.advance(Duration::from_secs(11));
        let outs = h.take();
        assert!(closed(&outs, conn));
        let r = &responses(&outs, conn)[0];
        assert_eq!(r.status, StatusCode::REQUEST_TIMEOUT);
        assert_eq!(r.headers.get(&HeaderName::CSEQ), cseq, "{text:?}");
    }
}

/// A connection without a session is closed after `idle_timeout` without a complete request;
/// bare CRLFs do not count; requests do; a connection holding a session never idles out.
#[test]
fn idle_connections_without_a_session_are_closed() {
    let mut h = H::with_config(ServerConfig {
        idle_timeout: Duration::from_secs(20),
        ..config()
    });
    h.connect(C1);
    h.connect(ConnId(2));
    h.connect(ConnId(3));
    let sid = h.setup_udp(ConnId(3), "rtsp://h/test/stream=0");
    for _ in 0..3 {
        h.advance(Duration::from_secs(9));
        h.send(C1, b"\r\n");
        h.request(ConnId(2), &req("OPTIONS", "*", 1, &[]));
        h.request(
            ConnId(3),
            &req(
                "GET_PARAMETER",
                "rtsp://h/test",
                2,
                &[&format!("Session: {sid}")],
            ),
        );
    }
    let outs = h.take();
    assert!(closed(&outs, C1), "CRLFs alone keep nobody connected");
    assert_eq!(limit_events(&outs), vec![Limit::IdleTimeout]);
    assert!(!closed(&outs, ConnId(2)));
    // Silent for a long time: 2 goes (no session), 3 stays as long as its session does.
    h.advance(Duration::from_secs(21));
    let outs = h.take();
    assert!(closed(&outs, ConnId(2)));
    assert!(!closed(&outs, ConnId(3)));
    assert_eq!(h.server.connection_count(), 1);
}

#[test]
fn connection_limits_total_and_per_address() {
    let mut h = H::with_config(ServerConfig {
        max_connections: 3,
        max_connections_per_ip: 2,
        ..config()
    });
    connect_from(&mut h, ConnId(1), "10.1.1.1:1000");
    connect_from(&mut h, ConnId(2), "10.1.1.1:1001");
    h.take();
    connect_from(&mut h, ConnId(3), "10.1.1.1:1002");
    let outs = h.take();
    assert!(closed(&outs, ConnId(3)));
    assert_eq!(limit_events(&outs), vec![Limit::ConnectionsPerIp]);
    connect_from(&mut h, ConnId(4), "10.1.1.2:1000");
    assert!(!closed(&h.take(), ConnId(4)));
    connect_from(&mut h, ConnId(5), "10.1.1.3:1000");
    let outs = h.take();
    assert!(closed(&outs, ConnId(5)));
    assert_eq!(limit_events(&outs), vec![Limit::Connections]);
    // The refused ones are not tracked; the others still work.
    assert_eq!(h.server.connection_count(), 3);
    assert_eq!(
        h.request(ConnId(1), &req("OPTIONS", "*", 1, &[])).status,
        StatusCode::OK
    );
    // A slot frees up when one closes.
    let now = h.now;
    h.input(Input::StreamClosed {
        now,
        conn: ConnId(2),
    });
    connect_from(&mut h, ConnId(6), "10.1.1.1:1003");
    assert!(!closed(&h.take(), ConnId(6)));
}

#[test]
fn oversized_requests_get_413_414_400_and_a_close() {
    let limits = crate::message::Limits {
        max_line: 256,
        max_headers: 8,
        max_head: 2048,
        max_body: 1024,
    };
    let cases: Vec<(Vec<u8>, StatusCode)> = vec![
        (
            req(
                "SET_PARAMETER",
                "rtsp://h/test",
                1,
                &["Content-Length: 4096"],
            )
            .into_bytes(),
            StatusCode::REQUEST_ENTITY_TOO_LARGE,
        ),
        (
            req("DESCRIBE", &format!("rtsp://h/{}", "a".repeat(300)), 1, &[]).into_bytes(),
            StatusCode::REQUEST_URI_TOO_LARGE,
        ),
        (
            req(
                "OPTIONS",
                "*",
                1,
                &[&format!("X-Long: {}", "b".repeat(300))],
            )
            .into_bytes(),
            StatusCode::BAD_REQUEST,
        ),
        (
            {
                let h: Vec<String> = (0..9).map(|i| format!("X-{i}: y")).collect();
                let h: Vec<&str> = h.iter().map(String::as_str).collect();
                req("OPTIONS", "*", 1, &h).into_bytes()
            },
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (i, (bytes, status)) in cases.into_iter().enumerate() {
        let mut h = H::with_config(ServerConfig { limits, ..config() });
        h.connect(C1);
        h.connect(ConnId(2));
        h.send(C1, &bytes);
        let outs = h.take();
        let r = responses(&outs, C1);
        assert_eq!(r.len(), 1, "case {i}");
        assert_eq!(r[0].status, status, "case {i}");
        assert_eq!(r[0].cseq(), Some(1), "case {i}");
        assert!(closed(&outs, C1), "case {i}");
        assert!(events(&outs)
            .iter()
            .any(|e| matches!(e, ServerEvent::ProtocolError { .. })));
        // The other connection is unaffected.
        assert_eq!(
            h.request(ConnId(2), &req("OPTIONS", "*", 1, &[])).status,
            StatusCode::OK
        );
    }
}

#[test]
fn oversized_interleaved_frames_close_the_connection() {
    let mut h = H::with_config(ServerConfig {
        max_interleaved: 512,
        ..config()
    });
    h.connect(C1);
    // Up to the limit: fine (RTCP from a TCP client).
    let mut ok = vec![b'$', 1, 2, 0];
    ok.resize(4 + 512, 0);
    h.send(C1, &ok);
    assert!(!closed(&h.take(), C1));
    let mut big = vec![b'$', 1, 2, 1];
    big.resize(4 + 513, 0);
    h.send(C1, &big);
    let outs = h.take();
    assert!(closed(&outs, C1));
    assert_eq!(limit_events(&outs), vec![Limit::InterleavedFrame]);
}

#[test]
fn session_rate_is_capped() {
    let frame_bytes: usize = test_media("x")
        .fragments(0)
        .unwrap()
        .iter()
        .map(|f| f.len())
        .sum();
    // Room for about 4 of the 10 frames a second.
    let cap = (frame_bytes * 4) as u64;
    let mut h = H::with_config(ServerConfig {
        max_session_rate: cap,
        loop_media: true,
        ..config()
    });
    h.connect(C1);
    let sid = h.setup_udp(C1, "rtsp://h/test/stream=0");
    h.request(
        C1,
        &req("PLAY", "rtsp://h/test", 4, &[&format!("Session: {sid}")]),
    );
    h.advance(Duration::from_secs(10));
    let outs = h.take();
    let stats = h.server.session_stats(&sid).unwrap();
    // At most one second's budget up front plus the rate over 10 s (frames vary a little).
    assert!(
        stats.octets <= cap * 11 + frame_bytes as u64 * 2,
        "{} octets over a cap of {cap}/s",
        stats.octets
    );
    assert!(stats.frames_skipped > 0);
    assert!(stats.frames > 0);
    assert_eq!(
        limit_events(&outs),
        vec![Limit::SessionRate],
        "reported once"
    );
}

/// The lab client receives into 20480 bytes: larger frames are skipped (default), and sent
/// when the limit is raised.
#[test]
fn lab_frames_larger_than_the_lab_buffer_are_skipped() {
    let mut frames = Vec::new();
    for (i, jpeg) in mjpeg::testpattern::frames(3, 64, 48)
        .into_iter()
        .enumerate()
    {
        let mut f = jpeg.to_vec();
        if i == 1 {
            // COM segments padding frame 1 to about 30 000 bytes.
            let mut padded = f[..2].to_vec();
            for _ in 0..2 {
                let mut com = vec![0xFF, 0xFE, 0x3A, 0x98]; // length 15000
                com.resize(2 + 15000, b'x');
                padded.extend_from_slice(&com);
            }
            padded.extend_from_slice(&f[2..]);
            f = padded;
        }
        frames.push(Bytes::from(f));
    }
    for (max, expect) in [(None, vec![1u16, 3]), (Some(65_507), vec![1, 2, 3])] {
        let mut catalog = MemoryCatalog::new();
        catalog.insert(Media::from_jpegs("big.Mjpeg", FPS, frames.clone(), MTU).unwrap());
        let mut cfg = config();
        if let Some(m) = max {
            cfg.lab_max_packet = m;
        }
        let mut h = H::new();
        h.server = Server::new(cfg, Box::new(catalog), h.now);
        h.connect(C1);
        h.send(
            C1,
            b"SETUP big.Mjpeg RTSP/1.0\nCSeq: 1\nTransport: RTP/UDP; client_port= 25000\n\n",
        );
        let r = responses(&h.take(), C1).remove(0);
        let sid = session_of(&r);
        h.send(
            C1,
            format!("PLAY big.Mjpeg RTSP/1.0\nCSeq: 2\nSession: {sid}\n\n").as_bytes(),
        );
        h.advance(Duration::from_millis(250));
        let outs = h.take();
        let seqs: Vec<u16> = udp(&outs, rtp_local(), addr("192.168.1.7:25000"))
            .iter()
            .map(|d| rtp(d).seq)
            .collect();
        assert_eq!(seqs, expect, "lab_max_packet {max:?}");
        let skipped = limit_events(&outs).contains(&Limit::LabFrameTooLarge);
        assert_eq!(skipped, max.is_none());
    }
}

/// OPTIONS naming the session is a keepalive too (some players use it instead of
/// GET_PARAMETER).
#[test]
fn options_with_a_session_keeps_it_alive() {
    let mut h = H::with_config(ServerConfig {
        session_timeout: Duration::from_secs(10),
        ..config()
    });
    h.connect(C1);
    let sid = h.setup_udp(C1, "rtsp://h/test/stream=0");
    for i in 0..5 {
        h.advance(Duration::from_secs(8));
        let r = h.request(
            C1,
            &req("OPTIONS", "*", 10 + i, &[&format!("Session: {sid}")]),
        );
        assert_eq!(r.status, StatusCode::OK);
        assert!(header(&r, "Session").unwrap().starts_with(&sid));
    }
    assert_eq!(h.server.session_count(), 1);
    // OPTIONS without the session header does not keep it.
    h.advance(Duration::from_secs(8));
    h.request(C1, &req("OPTIONS", "*", 20, &[]));
    h.advance(Duration::from_secs(3));
    assert_eq!(h.server.session_count(), 0);
}

// ---------------------------------------------------------------------------------------
// Authentication.

fn auth_config(basic: bool) -> ServerConfig {
    let mut auth = AuthConfig::new(vec![crate::auth::Credentials::new("alice", "s3cret")]);
    auth.basic = basic;
    auth.nonce_lifetime = Duration::from_secs(30);
    ServerConfig {
        auth: Some(auth),
        ..config()
    }
}

fn challenges(r: &Response) -> Vec<crate::auth::Challenge> {
    crate::auth::Challenge::parse_all(r.headers.get_all(&HeaderName::WWW_AUTHENTICATE))
}

fn with_auth(method: &str, uri: &str, cseq: u32, auth: &str) -> String {
    req(method, uri, cseq, &[&format!("Authorization: {auth}")])
}

#[test]
fn auth_challenges_before_anything_else() {
    let mut h = H::with_config(auth_config(false));
    h.connect(C1);
    // OPTIONS needs nothing.
    assert_eq!(
        status_of(&mut h, &req("OPTIONS", "*", 1, &[])),
        StatusCode::OK
    );
    // Existing or not, forbidden or not: the same 401, and the catalog is never asked.
    let mut shapes = Vec::new();
    for (i, uri) in [
        "rtsp://h/test",
        "rtsp://h/nope",
        "rtsp://h/secret",
        "rtsp://h/../x",
    ]
    .iter()
    .enumerate()
    {
        let r = h.request(C1, &req("DESCRIBE", uri, 2 + i as u32, &[]));
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{uri}");
        let c = challenges(&r);
        let algs: Vec<_> = c.iter().map(|c| (c.scheme.clone(), c.algorithm)).collect();
        assert_eq!(
            algs,
            vec![
                (
                    crate::auth::Scheme::Digest,
                    Some(crate::auth::Algorithm::Sha256)
                ),
                (
                    crate::auth::Scheme::Digest,
                    Some(crate::auth::Algorithm::Md5)
                ),
            ],
            "{uri}"
        );
        assert!(c.iter().all(|c| c.qop == vec!["auth".to_string()]));
        shapes.push((r.status, r.headers.len(), r.body.len()));
    }
    assert!(shapes.windows(2).all(|w| w[0] == w[1]), "{shapes:?}");
    assert!(h.asked.lock().unwrap().is_empty());
    // Wrong password: 401 for an existing and a missing stream alike.
    for uri in ["rtsp://h/test", "rtsp://h/nope"] {
        let r = h.request(C1, &req("DESCRIBE", uri, 9, &[]));
        let c = crate::auth::Challenge::best(&challenges(&r))
            .unwrap()
            .clone();
        let mut st = crate::auth::DigestState::new("abcd");
        let bad = crate::auth::Credentials::new("alice", "wrong");
        let a = c.authorization(&bad, "DESCRIBE", uri, &mut st);
        assert_eq!(
            status_of(&mut h, &with_auth("DESCRIBE", uri, 10, &a)),
            StatusCode::UNAUTHORIZED
        );
    }
    assert!(h.asked.lock().unwrap().is_empty());
}

#[test]
fn digest_md5_and_sha256_with_replay_protection_and_expiry() {
    let good = crate::auth::Credentials::new("alice", "s3cret");
    for alg in [crate::auth::Algorithm::Md5, crate::auth::Algorithm::Sha256] {
        let mut h = H::with_config(auth_config(false));
        h.connect(C1);
        let r = h.request(C1, &req("DESCRIBE", "rtsp://h/test", 1, &[]));
        let c = challenges(&r)
            .into_iter()
            .find(|c| c.algorithm == Some(alg))
            .unwrap();
        let mut st = crate::auth::DigestState::new("0a4f113b");
        let a1 = c.authorization(&good, "DESCRIBE", "rtsp://h/test", &mut st);
        assert_eq!(
            status_of(&mut h, &with_auth("DESCRIBE", "rtsp://h/test", 2, &a1)),
            StatusCode::OK,
            "{alg:?}"
        );
        // The same Authorization again (same nc): a replay.
        assert_eq!(
            status_of(&mut h, &with_auth("DESCRIBE", "rtsp://h/test", 3, &a1)),
            StatusCode::UNAUTHORIZED
        );
        // The next nc works; a digest for another URI does not.
        let a2 = c.authorization(&good, "DESCRIBE", "rtsp://h/test", &mut st);
        assert_eq!(
            status_of(&mut h, &with_auth("DESCRIBE", "rtsp://h/test", 4, &a2)),
            StatusCode::OK
        );
        let a3 = c.authorization(&good, "DESCRIBE", "rtsp://h/other", &mut st);
        assert_eq!(
            status_of(&mut h, &with_auth("DESCRIBE", "rtsp://h/test", 5, &a3)),
            StatusCode::UNAUTHORIZED
        );
        // A whole session with the nonce.
        let a = c.authorization(&good, "SETUP", "rtsp://h/test/stream=0", &mut st);
        let r = h.request(
            C1,
            &req(
                "SETUP",
                "rtsp://h/test/stream=0",
                6,
                &[
                    &format!("Authorization: {a}"),
                    "Transport: RTP/AVP;unicast;client_port=5000-5001",
                ],
            ),
        );
        assert_eq!(r.status, StatusCode::OK);
        // After the nonce lifetime: stale=true, and a fresh nonce works.
        h.advance(Duration::from_secs(31));
        let a = c.authorization(&good, "DESCRIBE", "rtsp://h/test", &mut st);
        let r = h.request(C1, &with_auth("DESCRIBE", "rtsp://h/test", 7, &a));
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let fresh = challenges(&r)
            .into_iter()
            .find(|c| c.algorithm == Some(alg))
            .unwrap();
        assert!(fresh.stale);
        assert_ne!(fresh.nonce, c.nonce);
        let a = fresh.authorization(&good, "DESCRIBE", "rtsp://h/test", &mut st);
        assert_eq!(
            status_of(&mut h, &with_auth("DESCRIBE", "rtsp://h/test", 8, &a)),
            StatusCode::OK
        );
    }
}

#[test]
fn basic_only_when_enabled() {
    let basic = crate::auth::basic_authorization(&crate::auth::Credentials::new("alice", "s3cret"));
    let mut h = H::with_config(auth_config(false));
    h.connect(C1);
    assert_eq!(
        status_of(&mut h, &with_auth("DESCRIBE", "rtsp://h/test", 1, &basic)),
        StatusCode::UNAUTHORIZED
    );
    let mut h = H::with_config(auth_config(true));
    h.connect(C1);
    let r = h.request(C1, &req("DESCRIBE", "rtsp://h/test", 1, &[]));
    assert!(challenges(&r)
        .iter()
        .any(|c| c.scheme == crate::auth::Scheme::Basic));
    assert_eq!(
        status_of(&mut h, &with_auth("DESCRIBE", "rtsp://h/test", 2, &basic)),
        StatusCode::OK
    );
    let wrong = crate::auth::basic_authorization(&crate::auth::Credentials::new("alice", "x"));
    assert_eq!(
        status_of(&mut h, &with_auth("DESCRIBE", "rtsp://h/test", 3, &wrong)),
        StatusCode::UNAUTHORIZED
    );
}

/// Unauthenticated requests naming a session do not keep it alive.
#[test]
fn unauthenticated_keepalives_do_not_count() {
    let good = crate::auth::Credentials::new("alice", "s3cret");
    let mut cfg = auth_config(false);
    cfg.session_timeout = Duration::from_secs(10);
    let mut h = H::with_config(cfg);
    h.connect(C1);
    let r = h.request(C1, &req("DESCRIBE", "rtsp://h/test", 1, &[]));
    let c = crate::auth::Challenge::best(&challenges(&r))
        .unwrap()
        .clone();
    let mut st = crate::auth::DigestState::new("77");
    let a = c.authorization(&good, "SETUP", "rtsp://h/test/stream=0", &mut st);
    let r = h.request(
        C1,
        &req(
            "SETUP",
            "rtsp://h/test/stream=0",
            2,
            &[
                &format!("Authorization: {a}"),
                "Transport: RTP/AVP;unicast;client_port=5000-5001",
            ],
        ),
    );
    let sess = format!("Session: {}", session_of(&r));
    for i in 0..3 {
        h.advance(Duration::from_secs(4));
        let r = h.request(C1, &req("GET_PARAMETER", "rtsp://h/test", 3 + i, &[&sess]));
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        h.server.session_count(),
        0,
        "reaped despite the refused keepalives"
    );
}

/// GStreamer 1.22 answers Digest in the RFC 2069 form (MD5, no qop): accepted once per
/// nonce (a replay gets a stale 401 and a fresh nonce); refused when not allowed.
#[test]
fn rfc2069_digest_is_single_use() {
    let good = crate::auth::Credentials::new("alice", "s3cret");
    for allow in [true, false] {
        let mut cfg = auth_config(false);
        if let Some(a) = cfg.auth.as_mut() {
            a.allow_rfc2069 = allow;
        }
        let mut h = H::with_config(cfg);
        h.connect(C1);
        let r = h.request(C1, &req("DESCRIBE", "rtsp://h/test", 1, &[]));
        let mut c = challenges(&r)
            .into_iter()
            .find(|c| c.algorithm == Some(crate::auth::Algorithm::Md5))
            .unwrap();
        c.qop.clear();
        let mut st = crate::auth::DigestState::new("x");
        let a = c.authorization(&good, "DESCRIBE", "rtsp://h/test", &mut st);
        assert!(!a.contains("qop"));
        let want = if allow {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(
            status_of(&mut h, &with_auth("DESCRIBE", "rtsp://h/test", 2, &a)),
            want
        );
        let r = h.request(C1, &with_auth("DESCRIBE", "rtsp://h/test", 3, &a));
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "replayed");
        assert_eq!(challenges(&r)[0].stale, allow);
        // SHA-256 without qop is never accepted.
        let mut c256 = c.clone();
        c256.algorithm = Some(crate::auth::Algorithm::Sha256);
        let r = h.request(C1, &req("DESCRIBE", "rtsp://h/test", 4, &[]));
        c256.nonce = challenges(&r)[0].nonce.clone();
        let a = c256.authorization(&good, "DESCRIBE", "rtsp://h/test", &mut st);
        assert_eq!(
            status_of(&mut h, &with_auth("DESCRIBE", "rtsp://h/test", 5, &a)),
            StatusCode::UNAUTHORIZED
        );
    }
}

// ---------------------------------------------------------------------------------------
// The per-connection and RTCP indexes (no scan of every session per packet or close).

mod index {
    use super::*;
    use proptest::prelude::*;

    const C2: ConnId = ConnId(2);

    fn setup_tcp(h: &mut H, conn: ConnId, channels: Option<&str>) -> (String, String) {
        let transport = match channels {
            Some(c) => format!("Transport: RTP/AVP/TCP;unicast;interleaved={c}"),
            None => "Transport: RTP/AVP/TCP;unicast".to_string(),
        };
        let r = h.request(
            conn,
            &req("SETUP", "rtsp://h/test/stream=0", 3, &[&transport]),
        );
        assert_eq!(r.status, StatusCode::OK, "{r:?}");
        h.server.assert_indexes();
        let t = header(&r, "Transport").unwrap();
        let at = t.find("interleaved=").unwrap() + "interleaved=".len();
        let chans = t[at..].split(';').next().unwrap().to_string();
        (session_of(&r), chans)
    }

    fn ssrc_of(h: &H, id: &str) -> u32 {
        h.server.session_ssrc(id).unwrap()
    }

    fn rr(ssrc: u32) -> Vec<u8> {
        let mut rr = vec![0x81, 201, 0, 7, 0, 0, 0, 1];
        rr.extend_from_slice(&ssrc.to_be_bytes());
        rr.extend_from_slice(&[0, 0, 0, 3, 0, 0, 0, 100, 0, 0, 0, 7]);
        rr.extend_from_slice(&[0; 8]);
        rr
    }

    fn reports(outs: &[Out]) -> Vec<String> {
        events(outs)
            .into_iter()
            .filter_map(|e| match e {
                ServerEvent::ReceiverReport { session, .. } => Some(session.clone()),
                _ => None,
            })
            .collect()
    }

    fn closed(outs: &[Out]) -> Vec<(String, CloseReason)> {
        events(outs)
            .into_iter()
            .filter_map(|e| match e {
                ServerEvent::SessionClosed { session, reason } => Some((session.clone(), *reason)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn interleaved_sessions_follow_setup_teardown_and_close() {
        let mut h = H::new();
        h.connect(C1);
        h.connect(C2);
        let (a, ca) = setup_tcp(&mut h, C1, None);
        let (b, cb) = setup_tcp(&mut h, C1, Some("2-3"));
        // Taken on this connection: another pair is chosen.
        let (c, cc) = setup_tcp(&mut h, C1, Some("2-3"));
        assert_eq!(
            (ca.as_str(), cb.as_str(), cc.as_str()),
            ("0-1", "2-3", "4-5")
        );
        // Another connection has its own channels.
        let (d, cd) = setup_tcp(&mut h, C2, Some("2-3"));
        assert_eq!(cd, "2-3");
        let key = |h: &H, id: &str| h.server.session_key(id);
        let mine = |h: &H, conn| h.server.conn_sessions(conn);
        let mut want = vec![key(&h, &a), key(&h, &b), key(&h, &c)];
        want.sort_unstable();
        assert_eq!(mine(&h, C1), want);
        assert_eq!(mine(&h, C2), vec![key(&h, &d)]);

        // An RR on C1's channel 3 is about `b` only (not `d`, on channel 3 of C2).
        h.take();
        let mut frame = vec![b'$', 3, 0, 32];
        frame.extend_from_slice(&rr(ssrc_of(&h, &b)));
        h.send(C1, &frame);
        assert_eq!(reports(&h.take()), vec![b.clone()]);

        // TEARDOWN of `b` frees 2-3 on C1.
        let sess = format!("Session: {b}");
        let r = h.request(C1, &req("TEARDOWN", "rtsp://h/test/", 4, &[&sess]));
        assert_eq!(r.status, StatusCode::OK);
        h.server.assert_indexes();
        assert_eq!(mine(&h, C1).len(), 2);
        let (e, ce) = setup_tcp(&mut h, C1, None);
        assert_eq!(ce, "2-3");

        // Closing C1 ends exactly its sessions, in id order; C2's lives on.
        h.take();
        let now = h.now;
        h.input(Input::StreamClosed { now, conn: C1 });
        h.server.assert_indexes();
        let mut want: Vec<String> = vec![a, c, e];
        want.sort();
        let got = closed(&h.take());
        assert_eq!(
            got,
            want.into_iter()
                .map(|s| (s, CloseReason::ConnectionClosed))
                .collect::<Vec<_>>()
        );
        assert_eq!(h.server.session_ids(), vec![d.clone()]);
        assert_eq!(mine(&h, C2), vec![key(&h, &d)]);
    }

    #[test]
    fn silent_interleaved_sessions_are_reaped_and_free_their_channels() {
        let mut h = H::new();
        h.connect(C1);
        let (a, _) = setup_tcp(&mut h, C1, None);
        let (_, cb) = setup_tcp(&mut h, C1, None);
        assert_eq!(cb, "2-3");
        // Bytes on the connection keep both alive ...
        h.advance(Duration::from_secs(50));
        h.send(C1, &[b'$', 1, 0, 0]);
        h.advance(Duration::from_secs(50));
        assert_eq!(h.server.session_count(), 2);
        // ... silence reaps them.
        h.take();
        h.advance(Duration::from_secs(61));
        h.server.assert_indexes();
        assert_eq!(h.server.session_count(), 0);
        assert!(closed(&h.take())
            .iter()
            .all(|(_, r)| *r == CloseReason::Timeout));
        assert!(h.server.conn_sessions(C1).is_empty());
        let (a2, ca) = setup_tcp(&mut h, C1, None);
        assert_ne!(a, a2);
        assert_eq!(ca, "0-1");
    }

    #[test]
    fn udp_sessions_forget_their_closed_control_connection() {
        let mut h = H::new();
        h.connect(C1);
        let id = h.setup_udp(C1, "rtsp://h/test/stream=0");
        h.server.assert_indexes();
        let now = h.now;
        h.input(Input::StreamClosed { now, conn: C1 });
        h.server.assert_indexes();
        assert_eq!(h.server.session_ids(), vec![id.clone()]);
        // A new connection under the same id does not hold the old session.
        h.connect(C1);
        h.server.assert_indexes();
        assert!(h.server.conn_sessions(C1).is_empty());
        // RTCP from the client port keeps it alive; an RR from another port of the same host
        // naming its SSRC is reported too; one from another host is not.
        let ssrc = ssrc_of(&h, &id);
        for _ in 0..3 {
            h.advance(Duration::from_secs(40));
            h.datagram(rtcp_local(), client_rtcp(), &[0x80, 201, 0, 1, 0, 0, 0, 9]);
        }
        assert_eq!(h.server.session_count(), 1);
        h.take();
        h.datagram(rtcp_local(), addr("192.168.1.7:7777"), &rr(ssrc));
        assert_eq!(reports(&h.take()), vec![id.clone()]);
        h.datagram(rtcp_local(), addr("192.168.1.8:5001"), &rr(ssrc));
        assert!(reports(&h.take()).is_empty());
        h.advance(Duration::from_secs(61));
        h.server.assert_indexes();
        assert_eq!(h.server.session_count(), 0);
        assert!(h.server.rtcp_indexes_empty());
    }

    #[test]
    fn resetup_moves_a_session_between_connections() {
        let mut h = H::new();
        h.connect(C1);
        h.connect(C2);
        let (id, _) = setup_tcp(&mut h, C1, None);
        let sess = format!("Session: {id}");
        let r = h.request(
            C2,
            &req(
                "SETUP",
                "rtsp://h/test/stream=0",
                4,
                &["Transport: RTP/AVP/TCP;unicast", &sess],
            ),
        );
        assert_eq!(r.status, StatusCode::OK);
        h.server.assert_indexes();
        assert!(h.server.conn_sessions(C1).is_empty());
        // Closing C1 no longer ends it; closing C2 does.
        let now = h.now;
        h.input(Input::StreamClosed { now, conn: C1 });
        assert_eq!(h.server.session_count(), 1);
        h.input(Input::StreamClosed { now, conn: C2 });
        h.server.assert_indexes();
        assert_eq!(h.server.session_count(), 0);
    }

    /// One step of the randomized sequence.
    #[derive(Debug, Clone)]
    enum Op {
        Connect(u8),
        Close(u8),
        /// SETUP on a connection: transport kind (0 UDP, 1 TCP, 2 TCP with channels, 3 lab),
        /// requested channel, and optionally into an existing session (by index).
        Setup(u8, u8, u8, Option<u8>),
        Teardown(u8, u8),
        Play(u8, u8),
        Advance(u16),
        InterleavedRr(u8, u8, u8),
        DatagramRr(u8, u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..3).prop_map(Op::Connect),
            (0u8..3).prop_map(Op::Close),
            (0u8..3, 0u8..4, 0u8..8, proptest::option::of(0u8..8))
                .prop_map(|(c, k, ch, s)| Op::Setup(c, k, ch, s)),
            (0u8..3, 0u8..8).prop_map(|(c, s)| Op::Teardown(c, s)),
            (0u8..3, 0u8..8).prop_map(|(c, s)| Op::Play(c, s)),
            (0u16..40_000).prop_map(Op::Advance),
            (0u8..3, 0u8..8, 0u8..8).prop_map(|(c, ch, s)| Op::InterleavedRr(c, ch, s)),
            (0u8..8, 0u8..3).prop_map(|(s, p)| Op::DatagramRr(s, p)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn indexes_match_a_full_scan(ops in proptest::collection::vec(op(), 1..40)) {
            let mut h = H::with_config(ServerConfig {
                session_timeout: Duration::from_secs(20),
                ..config()
            });
            let mut open = [false; 3];
            let mut seen: Vec<String> = Vec::new();
            let conn = |i: u8| ConnId(u64::from(i) + 1);
            let pick = |seen: &Vec<String>, i: u8| {
                seen.get(usize::from(i) % seen.len().max(1)).cloned()
            };
            for (n, op) in ops.into_iter().enumerate() {
                let cseq = n as u32 + 1;
                match op {
                    Op::Connect(i) => {
                        let now = h.now;
                        let peer = SocketAddr::new(addr(PEER).ip(), 40_000 + u16::from(i));
                        h.input(Input::Connected { now, conn: conn(i), peer });
                        open[usize::from(i)] = true;
                    }
                    Op::Close(i) => {
                        let now = h.now;
                        h.input(Input::StreamClosed { now, conn: conn(i) });
                        open[usize::from(i)] = false;
                    }
                    Op::Setup(i, kind, ch, into) => {
                        let transport = match kind {
                            0 => "Transport: RTP/AVP;unicast;client_port=5000-5001".to_string(),
                            1 => "Transport: RTP/AVP/TCP;unicast".to_string(),
                            2 => format!("Transport: RTP/AVP/TCP;unicast;interleaved={ch}-{}", ch + 1),
                            _ => "Transport: RTP/UDP;client_port=25000".to_string(),
                        };
                        let uri = if kind == 3 { "test" } else { "rtsp://h/test/stream=0" };
                        let sess = into.and_then(|s| pick(&seen, s)).map(|s| format!("Session: {s}"));
                        let mut headers = vec![transport.as_str()];
                        headers.extend(sess.as_deref());
                        h.take();
                        h.send(conn(i), req("SETUP", uri, cseq, &headers).as_bytes());
                        let outs = h.take();
                        for r in responses(&outs, conn(i)) {
                            if r.status == StatusCode::OK {
                                let id = session_of(&r);
                                if !seen.contains(&id) {
                                    seen.push(id);
                                }
                            }
                        }
                    }
                    Op::Teardown(i, s) | Op::Play(i, s) => {
                        let method = if matches!(op, Op::Play(..)) { "PLAY" } else { "TEARDOWN" };
                        if let Some(id) = pick(&seen, s) {
                            let sess = format!("Session: {id}");
                            h.send(conn(i), req(method, "rtsp://h/test/", cseq, &[&sess]).as_bytes());
                        }
                    }
                    Op::Advance(ms) => h.advance(Duration::from_millis(u64::from(ms))),
                    Op::InterleavedRr(i, ch, s) => {
                        let ssrc = pick(&seen, s)
                            .and_then(|id| h.server.session_ssrc(&id))
                            .unwrap_or(1);
                        let mut frame = vec![b'$', ch, 0, 32];
                        frame.extend_from_slice(&rr(ssrc));
                        h.send(conn(i), &frame);
                    }
                    Op::DatagramRr(s, p) => {
                        let ssrc = pick(&seen, s)
                            .and_then(|id| h.server.session_ssrc(&id))
                            .unwrap_or(1);
                        let remote = [client_rtcp(), addr("192.168.1.7:9999"), addr("10.9.9.9:5001")];
                        h.datagram(rtcp_local(), remote[usize::from(p)], &rr(ssrc));
                    }
                }
                h.server.assert_indexes();
                for (i, &o) in open.iter().enumerate() {
                    prop_assert_eq!(h.server.connection_open(conn(i as u8)), o);
                }
            }
            h.take();
            let now = h.now;
            h.server.shutdown(now);
            h.drain();
            h.server.assert_indexes();
            prop_assert_eq!(h.server.session_count(), 0);
        }
    }
}
