//! The whole RTSP server machine (`rtsp_core::server::Server` with a `MemoryCatalog`) driven
//! by a sequence of operations: connections, raw control bytes, well-formed requests (so the
//! fuzzer gets past parsing into SETUP/PLAY/PAUSE/TEARDOWN and the lab dialect), datagrams,
//! and a fake clock. After every input, `poll_output` is drained until `Output::Timeout`.
//!
//! Publishing too: the live path `pushed` takes ANNOUNCE (with SDP bodies, good and bad),
//! SETUP with `mode=record` (UDP and interleaved), RECORD, and RTP/JPEG from the publisher
//! (whole frames, frames with packets dropped, from the publisher's port or a stranger's,
//! on its interleaved channel or another), which its readers on the same machine get.
//!
//! Invariants:
//! * every response except 400 and 408 (to unparseable or incomplete requests) carries a CSeq; on a connection that only ever got well-formed
//!   requests, each request gets exactly one response, in order, echoing its CSeq, before the
//!   drain ends;
//! * everything written to a control connection decodes as RTSP responses and `$` frames, and
//!   nothing is written to a connection after the server closed it;
//! * RTP leaves from `rtp_local` and parses, RTCP leaves from `rtcp_local` and parses;
//! * a drain ends (no livelock: at most `MAX_OUTPUTS` outputs per input);
//! * the server's session indexes (per connection, RTCP address, SSRC) match a full scan.
#![no_main]

use arbitrary::Arbitrary;
use bytes::BytesMut;
use core::net::{Ipv4Addr, SocketAddr};
use libfuzzer_sys::fuzz_target;
use rtp_core::rtcp::{write_compound, ReceiverReport, ReportBlock, RtcpPacket};
use rtp_core::RtpPacket;
use rtsp_core::io::{drain_bounded, ConnId, Dest, Input, Machine, Output};
use rtsp_core::message::{Decoded, Decoder, HeaderName, Limits, Message, StatusCode};
use rtsp_core::server::{LiveSource, Media, MemoryCatalog, Server, ServerConfig};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

const MAX_OUTPUTS: usize = 200_000;
const CONNS: u8 = 3;

const METHODS: &[&str] = &[
    "OPTIONS",
    "DESCRIBE",
    "SETUP",
    "PLAY",
    "PAUSE",
    "TEARDOWN",
    "GET_PARAMETER",
    "SET_PARAMETER",
    "ANNOUNCE",
    "RECORD",
    "FOO",
];
const URIS: &[&str] = &[
    "rtsp://127.0.0.1:8554/test",
    "rtsp://127.0.0.1:8554/test/",
    "rtsp://127.0.0.1:8554/test/stream=0",
    "rtsp://127.0.0.1:8554/test/trackID=1",
    "*",
    "movie.Mjpeg",
    "rtsp://127.0.0.1:8554/movie.Mjpeg",
    "rtsp://127.0.0.1:8554/missing",
    "rtsp://127.0.0.1:8554/../etc/passwd",
    "rtsp://127.0.0.1:8554/te%73t/stream=0",
    "rtsp://127.0.0.1:8554/pushed",
    "rtsp://127.0.0.1:8554/pushed/streamid=0",
];
const TRANSPORTS: &[&str] = &[
    "RTP/AVP;unicast;client_port=5000-5001",
    "RTP/AVP/UDP;unicast;client_port=5002-5003",
    "RTP/AVP/TCP;unicast;interleaved=0-1",
    "RTP/AVP/TCP;unicast;interleaved=2-3",
    "RTP/UDP; client_port= 25000",
    "RTP/AVP;multicast",
    "RTP/AVP;unicast;client_port=5000-5001;mode=record",
    "RTP/AVP/TCP;unicast",
    "bogus",
    "RTP/AVP/UDP;unicast;client_port=7000-7001;mode=record",
    "RTP/AVP/TCP;unicast;interleaved=4-5;mode=record",
];
/// ANNOUNCE bodies (as `application/sdp`).
const BODIES: &[&str] = &[
    "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\nm=video 0 RTP/AVP 26\r\na=control:streamid=0\r\n",
    "v=0\r\ns=x\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 JPEG/90000\r\na=framerate:12.5\r\n",
    "v=0\r\ns=x\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n",
    "v=1\r\n",
    "garbage",
];
/// Where a UDP publisher's RTP comes from (its `client_port`), and a stranger.
const PUBLISHER_PORTS: &[u16] = &[7000, 7002];
const RANGES: &[&str] = &[
    "npt=0.000-",
    "npt=now-",
    "npt=0.1-",
    "npt=-0.1",
    "npt=1000-",
    "clock=19961108T142300Z-",
    "npt=abc",
];
/// Client RTCP addresses matching the client_port values above.
const RTCP_PEERS: &[u16] = &[5001, 5003, 25001, 9, 7001];

#[derive(Arbitrary, Debug)]
enum SessionChoice {
    None,
    Last,
    LastWithTimeout,
    Bogus,
}

#[derive(Arbitrary, Debug)]
struct Req {
    method: u8,
    uri: u8,
    cseq: Option<u32>,
    session: SessionChoice,
    transport: Option<u8>,
    range: Option<u8>,
    /// Course-lab style: LF line endings.
    lab: bool,
    /// Write it in two halves (two `Input::Stream`s).
    split: Option<u8>,
    /// A body (one of [`BODIES`]), with `Content-Type: application/sdp`.
    body: Option<u8>,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Connect(u8),
    Close(u8),
    Raw(u8, Vec<u8>),
    Request(u8, Req),
    /// A datagram to the RTCP (or RTP) socket.
    Datagram {
        to_rtcp: bool,
        from: u8,
        data: Vec<u8>,
    },
    /// A well-formed receiver report about the last SSRC seen.
    ReceiverReport {
        from: u8,
        interleaved: Option<u8>,
        conn: u8,
    },
    /// ANNOUNCE (body [`BODIES`]`[body]`), SETUP with `mode=record` (UDP, or interleaved on
    /// channels 4-5) and RECORD of `pushed` on `conn`, as a publisher starts.
    StartPublishing { conn: u8, body: u8, interleaved: bool },
    /// The RTP packets of a test frame, as a publisher sends them: over UDP from one of
    /// [`PUBLISHER_PORTS`], or interleaved on `channel` of `conn`; packet `skip` left out.
    Publish {
        frame: u8,
        seq: u16,
        ts: u32,
        /// 26, 96 (the payload types [`BODIES`] announce), or another.
        payload_type: u8,
        skip: Option<u8>,
        from: u8,
        interleaved: Option<(u8, u8)>,
    },
    /// Jump the clock (a runtime that polls late).
    Advance(u16),
    /// Wake at the next deadlines, one after the other (a punctual runtime).
    Step(u8),
    Shutdown,
}

#[derive(Arbitrary, Debug)]
struct Script {
    seed: u64,
    loop_media: bool,
    replace_publisher: bool,
    ops: Vec<Op>,
}

fn media() -> Arc<Media> {
    static M: OnceLock<Arc<Media>> = OnceLock::new();
    M.get_or_init(|| {
        let frames = mjpeg::testpattern::frames(3, 64, 48);
        // A small MTU so each frame takes a few packets.
        Arc::new(Media::from_jpegs("test", 25.0, frames, 400).expect("test media"))
    })
    .clone()
}

fn base() -> Instant {
    static B: OnceLock<Instant> = OnceLock::new();
    *B.get_or_init(Instant::now)
}

const RTP_LOCAL: SocketAddr = SocketAddr::new(core::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 6970);
const RTCP_LOCAL: SocketAddr = SocketAddr::new(core::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 6971);

fn peer(conn: u8) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 40000 + u16::from(conn)))
}

#[derive(Default)]
struct ConnState {
    open: bool,
    /// Closed by the server: nothing may be written to it until it is connected again.
    closed_by_server: bool,
    /// Only well-formed requests were sent: responses are matched to them.
    clean: bool,
    expected: VecDeque<Option<u32>>,
    rx: BytesMut,
    decoder: Option<Decoder>,
}

struct Harness {
    server: Server,
    now: Instant,
    deadline: Option<Instant>,
    conns: HashMap<u8, ConnState>,
    session: Option<String>,
    ssrcs: HashSet<u32>,
    last_ssrc: u32,
}

impl Harness {
    fn conn(&mut self, c: u8) -> &mut ConnState {
        self.conns.entry(c).or_default()
    }

    fn input(&mut self, input: Input<'_>) {
        self.server.handle_input(input);
        self.drain();
        // The session indexes agree with a full scan (`cfg(fuzzing)` only).
        self.server.assert_indexes();
    }

    fn drain(&mut self) {
        let mut outs = Vec::new();
        let deadline = drain_bounded(&mut self.server, MAX_OUTPUTS, |o| outs.push(o))
            .unwrap_or_else(|e| panic!("poll_output did not reach Timeout: {e}"));
        for out in outs {
            match out {
                Output::Transmit(t) => match t.dest {
                    Dest::Stream(ConnId(c)) => self.on_stream_out(c as u8, &t.data),
                    Dest::Udp { local, remote: _ } => {
                        if local == RTP_LOCAL {
                            let p = RtpPacket::parse_lenient(&t.data).expect("server sent bad RTP");
                            self.last_ssrc = p.header.ssrc;
                            self.ssrcs.insert(p.header.ssrc);
                        } else if local == RTCP_LOCAL {
                            RtcpPacket::parse_compound(&t.data).expect("server sent bad RTCP");
                        } else {
                            panic!("datagram from unknown local address {local}");
                        }
                    }
                },
                Output::Close(ConnId(c)) => {
                    let st = self.conn(c as u8);
                    st.open = false;
                    st.closed_by_server = true;
                    st.expected.clear();
                }
                Output::Event(_) | Output::Timeout(_) => {}
            }
        }
        self.deadline = deadline;
        for (c, st) in &self.conns {
            if st.clean && st.open {
                assert!(
                    st.expected.is_empty(),
                    "conn {c}: unanswered {:?}",
                    st.expected
                );
            }
        }
    }

    fn on_stream_out(&mut self, c: u8, data: &[u8]) {
        let mut session = None;
        let mut ssrc = None;
        let st = self.conn(c);
        assert!(
            !st.closed_by_server,
            "conn {c}: written to after Output::Close"
        );
        st.rx.extend_from_slice(data);
        let dec = st.decoder.get_or_insert_with(|| {
            Decoder::new(Limits {
                max_body: 1 << 20,
                ..Limits::default()
            })
        });
        loop {
            match dec.decode(&mut st.rx) {
                Ok(None) => break,
                Ok(Some(Decoded::Message(Message::Response(r)))) => {
                    // 400 (unparseable) and 408 (incomplete request) may have no CSeq to echo.
                    if r.status != StatusCode::BAD_REQUEST && r.status.0 != 408 {
                        assert!(r.cseq().is_some(), "conn {c}: response without CSeq: {r:?}");
                    }
                    if let Some(v) = r.headers.get(&HeaderName::SESSION) {
                        session = Some(v.split(';').next().unwrap_or("").trim().to_string());
                    }
                    if st.clean {
                        let want = st
                            .expected
                            .pop_front()
                            .unwrap_or_else(|| panic!("conn {c}: response to no request: {r:?}"));
                        assert_eq!(r.cseq(), want, "conn {c}: responses out of order: {r:?}");
                        if want.is_none() {
                            assert_eq!(r.status, StatusCode::BAD_REQUEST);
                        }
                    }
                }
                Ok(Some(Decoded::Message(Message::Request(r)))) => {
                    panic!("conn {c}: server wrote a request: {r:?}")
                }
                Ok(Some(Decoded::Interleaved { channel, payload })) => {
                    if channel % 2 == 0 {
                        if let Ok(p) = RtpPacket::parse(&payload) {
                            ssrc = Some(p.header.ssrc);
                            continue;
                        }
                    }
                    RtcpPacket::parse_compound(&payload)
                        .or_else(|_| RtpPacket::parse(&payload).map(|_| Vec::new()))
                        .unwrap_or_else(|e| panic!("conn {c}: bad interleaved ch {channel}: {e}"));
                }
                Err(e) => panic!("conn {c}: server output does not decode: {e}"),
            }
        }
        if let Some(s) = session.filter(|s| !s.is_empty()) {
            self.session = Some(s);
        }
        if let Some(s) = ssrc {
            self.last_ssrc = s;
            self.ssrcs.insert(s);
        }
    }

    fn request_bytes(&self, r: &Req) -> Vec<u8> {
        let eol = if r.lab { "\n" } else { "\r\n" };
        let method = METHODS[usize::from(r.method) % METHODS.len()];
        let uri = URIS[usize::from(r.uri) % URIS.len()];
        let mut s = format!("{method} {uri} RTSP/1.0{eol}");
        if let Some(c) = r.cseq {
            s += &format!("CSeq: {c}{eol}");
        }
        if let Some(t) = r.transport {
            s += &format!(
                "Transport: {}{eol}",
                TRANSPORTS[usize::from(t) % TRANSPORTS.len()]
            );
        }
        let last = self.session.clone().unwrap_or_else(|| "123456".into());
        match r.session {
            SessionChoice::None => {}
            SessionChoice::Last => s += &format!("Session: {last}{eol}"),
            SessionChoice::LastWithTimeout => s += &format!("Session: {last};timeout=60{eol}"),
            SessionChoice::Bogus => s += &format!("Session: nosuchsession{eol}"),
        }
        if let Some(rg) = r.range {
            s += &format!("Range: {}{eol}", RANGES[usize::from(rg) % RANGES.len()]);
        }
        let body = r.body.map_or("", |b| BODIES[usize::from(b) % BODIES.len()]);
        if !body.is_empty() {
            s += &format!(
                "Content-Type: application/sdp{eol}Content-Length: {}{eol}",
                body.len()
            );
        }
        s += eol;
        s += body;
        s.into_bytes()
    }

    fn op(&mut self, op: Op) {
        let now = self.now;
        match op {
            Op::Connect(c) => {
                let c = c % CONNS;
                *self.conn(c) = ConnState {
                    open: true,
                    clean: true,
                    ..ConnState::default()
                };
                self.input(Input::Connected {
                    now,
                    conn: ConnId(c.into()),
                    peer: peer(c),
                });
            }
            Op::Close(c) => {
                let c = c % CONNS;
                let st = self.conn(c);
                st.open = false;
                st.expected.clear();
                self.input(Input::StreamClosed {
                    now,
                    conn: ConnId(c.into()),
                });
            }
            Op::Raw(c, data) => {
                let c = c % CONNS;
                self.conn(c).clean = false;
                self.input(Input::Stream {
                    now,
                    conn: ConnId(c.into()),
                    data: &data,
                });
            }
            Op::Request(c, r) => {
                let c = c % CONNS;
                let bytes = self.request_bytes(&r);
                // A reader's DESCRIBE or SETUP of the live path waits for its first frame
                // (answered later, or 503 after the load timeout): no strict matching there.
                let method = METHODS[usize::from(r.method) % METHODS.len()];
                let uri = URIS[usize::from(r.uri) % URIS.len()];
                if uri.contains("/pushed") && matches!(method, "DESCRIBE" | "SETUP") {
                    self.conn(c).clean = false;
                }
                let at = r
                    .split
                    .map_or(bytes.len(), |s| usize::from(s) % bytes.len());
                let (a, b) = bytes.split_at(at);
                let last = usize::from(!b.is_empty());
                for (i, part) in [a, b].into_iter().enumerate() {
                    // The request is complete with the last part: it must be answered then.
                    let st = self.conn(c);
                    if i == last && st.open && st.clean {
                        st.expected.push_back(r.cseq);
                    }
                    if !part.is_empty() {
                        self.input(Input::Stream {
                            now,
                            conn: ConnId(c.into()),
                            data: part,
                        });
                    }
                }
            }
            Op::Datagram {
                to_rtcp,
                from,
                data,
            } => {
                let port = RTCP_PEERS[usize::from(from) % RTCP_PEERS.len()];
                self.input(Input::Datagram {
                    now,
                    local: if to_rtcp { RTCP_LOCAL } else { RTP_LOCAL },
                    remote: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
                    data: &data,
                });
            }
            Op::ReceiverReport {
                from,
                interleaved,
                conn,
            } => {
                let rr = RtcpPacket::ReceiverReport(ReceiverReport {
                    ssrc: 0x1234_5678,
                    reports: vec![ReportBlock {
                        ssrc: self.last_ssrc,
                        fraction_lost: from,
                        cumulative_lost: i32::from(from),
                        extended_highest_seq: 1000,
                        jitter: 10,
                        ..ReportBlock::default()
                    }],
                });
                let mut pkt = Vec::new();
                write_compound(&[rr], &mut pkt);
                match interleaved {
                    Some(ch) => {
                        let c = conn % CONNS;
                        let mut framed = Vec::new();
                        rtsp_core::message::write_interleaved(ch % 4, &pkt, &mut framed);
                        self.input(Input::Stream {
                            now,
                            conn: ConnId(c.into()),
                            data: &framed,
                        });
                    }
                    None => {
                        let port = RTCP_PEERS[usize::from(from) % RTCP_PEERS.len()];
                        self.input(Input::Datagram {
                            now,
                            local: RTCP_LOCAL,
                            remote: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
                            data: &pkt,
                        });
                    }
                }
            }
            Op::StartPublishing {
                conn,
                body,
                interleaved,
            } => {
                let transport = if interleaved { 10 } else { 9 };
                let req = |method: u8, uri: u8, session, transport, body| Req {
                    method,
                    uri,
                    cseq: Some(u32::from(method) + 100),
                    session,
                    transport,
                    range: None,
                    lab: false,
                    split: None,
                    body,
                };
                for r in [
                    req(8, 10, SessionChoice::None, None, Some(body)),
                    req(2, 11, SessionChoice::None, Some(transport), None),
                    req(9, 10, SessionChoice::Last, None, None),
                ] {
                    self.op(Op::Request(conn, r));
                }
            }
            Op::Publish {
                frame,
                seq,
                ts,
                payload_type,
                skip,
                from,
                interleaved,
            } => {
                let m = media();
                let frags = m.fragments(usize::from(frame) % m.frame_count()).unwrap_or(&[]);
                let mut packets = Vec::new();
                for (i, payload) in frags.iter().enumerate() {
                    if skip.is_some_and(|k| usize::from(k) == i) {
                        continue;
                    }
                    let marker = if i + 1 == frags.len() { 0x80 } else { 0 };
                    let pt = [26, 96, payload_type & 0x7f][usize::from(payload_type % 3)];
                    let mut p = vec![0x80, marker | pt];
                    p.extend_from_slice(&seq.wrapping_add(i as u16).to_be_bytes());
                    p.extend_from_slice(&ts.to_be_bytes());
                    p.extend_from_slice(&0xfeed_f00du32.to_be_bytes());
                    p.extend_from_slice(payload);
                    packets.push(p);
                }
                for p in packets {
                    match interleaved {
                        Some((conn, channel)) => {
                            let mut framed = Vec::new();
                            rtsp_core::message::write_interleaved(channel % 8, &p, &mut framed);
                            self.input(Input::Stream {
                                now,
                                conn: ConnId((conn % CONNS).into()),
                                data: &framed,
                            });
                        }
                        None => {
                            let port = PUBLISHER_PORTS[usize::from(from) % PUBLISHER_PORTS.len()];
                            self.input(Input::Datagram {
                                now,
                                local: RTP_LOCAL,
                                remote: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
                                data: &p,
                            });
                        }
                    }
                }
            }
            Op::Advance(ms) => {
                self.now += Duration::from_millis(u64::from(ms));
                let now = self.now;
                self.input(Input::Timeout(now));
            }
            Op::Step(n) => {
                for _ in 0..(n % 16) {
                    let Some(t) = self.deadline else { break };
                    self.now = self.now.max(t);
                    let now = self.now;
                    self.input(Input::Timeout(now));
                }
            }
            Op::Shutdown => {
                self.server.shutdown(now);
                self.drain();
            }
        }
    }
}

fuzz_target!(|script: Script| {
    let config = ServerConfig {
        rtp_local: RTP_LOCAL,
        rtcp_local: RTCP_LOCAL,
        session_timeout: Duration::from_secs(10),
        seed: Some(rtsp_core::rng::RngSeed::from_u64(script.seed)),
        max_sessions: 4,
        loop_media: script.loop_media,
        wallclock_at_start: Duration::from_secs(1_700_000_000),
        ..ServerConfig::default()
    };
    config.live.add(
        "pushed",
        LiveSource::Publisher {
            replace: script.replace_publisher,
        },
    );
    let mut catalog = MemoryCatalog::new();
    catalog.insert_arc("test", media());
    catalog.insert_arc("movie.Mjpeg", media());
    let now = base();
    let mut h = Harness {
        server: Server::new(config, Box::new(catalog), now),
        now,
        deadline: None,
        conns: HashMap::new(),
        session: None,
        ssrcs: HashSet::new(),
        last_ssrc: 0,
    };
    h.drain();
    for op in script.ops.into_iter().take(64) {
        h.op(op);
    }
});
