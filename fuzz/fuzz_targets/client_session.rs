//! The whole RTSP client machine (`rtsp_core::client::Client`, standard or course-lab dialect)
//! driven by a sequence of operations: API calls, server replies built from real servers'
//! headers and SDPs (echoing the CSeq of an outstanding request, so the fuzzer gets through
//! DESCRIBE/SETUP/PLAY), raw control bytes, RTP/JPEG fragments of a test frame and raw
//! datagrams, and a fake clock. After every input and API call `poll_output` is drained until
//! `Output::Timeout`.
//!
//! Invariants:
//! * every request the client writes carries a CSeq, CSeqs increase, and a request whose CSeq
//!   no API call returned is a keepalive (GET_PARAMETER or OPTIONS);
//! * `ClientEvent::Response` only answers a CSeq that was sent, at most once;
//! * frames start with SOI (standard dialect: end with EOI and parse with `mjpeg::parse_jpeg`);
//! * RTCP leaves from `rtcp_local` and parses; interleaved frames it writes are RTCP;
//! * nothing after `ClientEvent::Closed` and nothing written after `Output::Close`;
//! * a drain ends (at most `MAX_OUTPUTS` outputs).
#![no_main]

use arbitrary::Arbitrary;
use bytes::BytesMut;
use core::net::{Ipv4Addr, SocketAddr};
use libfuzzer_sys::fuzz_target;
use rtp_core::rtcp::{write_compound, RtcpPacket, SenderReport};
use rtp_core::{NtpTime, RtpHeader, RtpPacket};
use rtsp_core::client::{Client, ClientConfig, ClientEvent, ClientState, TransportChoice};
use rtsp_core::io::{drain_bounded, ConnId, Dest, Input, Machine, Output};
use rtsp_core::message::{write_interleaved, Decoded, Decoder, Limits, Message, Method};
use rtsp_core::server::Media;
use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

const MAX_OUTPUTS: usize = 200_000;
const CONN: ConnId = ConnId(1);

const STATUS: &[&str] = &[
    "200 OK",
    "200 OK",
    "200 OK",
    "404 Not Found",
    "454 Session Not Found",
    "461 Unsupported Transport",
    "500 Internal Server Error",
    "301 Moved",
    "100 Continue",
];
const SESSIONS: &[&str] = &[
    "_tM3Rk5yk5mNuuDx",
    "8A3F22C1;timeout=65",
    "123456;timeout=4",
    "abc;timeout=0",
    "bad id",
];
const TRANSPORTS: &[&str] = &[
    "RTP/AVP;unicast;client_port=5000-5001;server_port=6970-6971;ssrc=DEADBEEF;mode=\"PLAY\"",
    "RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=DEADBEEF;mode=\"PLAY\"",
    "RTP/AVP;unicast;destination=127.0.0.1;source=127.0.0.1;client_port=5000-5001;server_port=6970-6971",
    "RTP/AVP/UDP;unicast;client_port=5000-5001;server_port=6970-6971;mode=play",
    "RTP/AVP/TCP;unicast;interleaved=4-5",
    "RTP/AVP;unicast;client_port=5000-5001",
    "junk",
];
const BASES: &[&str] = &[
    "rtsp://127.0.0.1:8554/test/",
    "rtsp://127.0.0.1:8554/test",
    "rtsp://[::1]:8554/other/",
    "not a url",
];
const SDPS: &[&str] = &[
    include_str!("../../rtsp-core/testdata/sdp/gst-rtsp-server-1.22.sdp"),
    include_str!("../../rtsp-core/testdata/sdp/vlc-3.0.24-reconstructed.sdp"),
    include_str!("../../rtsp-core/testdata/sdp/live555-2024.06.26-reconstructed.sdp"),
    include_str!("../../rtsp-core/testdata/sdp/ffmpeg-announce-lf-reconstructed.sdp"),
    "v=0\r\nm=audio 0 RTP/AVP 0\r\n",
    "v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n",
    "not sdp",
];
const PUBLIC: &[&str] = &[
    "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER",
    "DESCRIBE,SETUP,TEARDOWN,PLAY,PAUSE",
];

#[derive(Arbitrary, Debug)]
enum CseqChoice {
    Newest,
    Oldest,
    Raw(u32),
    Missing,
    /// As VLC spells it.
    Lowercase,
}

#[derive(Arbitrary, Debug)]
struct Reply {
    status: u8,
    cseq: CseqChoice,
    session: Option<u8>,
    transport: Option<u8>,
    content_base: Option<u8>,
    sdp: Option<u8>,
    rtp_info: Option<u32>,
    range: bool,
    public: Option<u8>,
    /// Course-lab style: LF only, no final empty line.
    lab: bool,
    split: Option<u8>,
}

#[derive(Arbitrary, Debug)]
enum SeqChoice {
    Next,
    Repeat,
    Skip(u8),
    Raw(u16),
}

#[derive(Arbitrary, Debug)]
enum Api {
    Options,
    Describe,
    SetupUdp,
    SetupTcp,
    Play(Option<u8>),
    Pause,
    Teardown,
    Close,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Connect,
    Closed,
    Call(Api),
    Reply(Reply),
    Raw(Vec<u8>),
    /// One RTP packet of the test stream (fragment `frag` of frame `frame`; the lab dialect
    /// gets the whole JPEG), over UDP or interleaved on channel 0.
    Rtp {
        frame: u8,
        frag: u8,
        seq: SeqChoice,
        announced_ssrc: bool,
        interleaved: bool,
    },
    /// A whole frame's fragments in order.
    Frame {
        frame: u8,
        interleaved: bool,
    },
    SenderReport {
        interleaved: bool,
    },
    Datagram {
        to_rtcp: bool,
        data: Vec<u8>,
    },
    Interleaved {
        channel: u8,
        data: Vec<u8>,
    },
    Advance(u16),
    Step(u8),
}

#[derive(Arbitrary, Debug)]
struct Script {
    lab: bool,
    seed: u64,
    reorder: bool,
    ops: Vec<Op>,
}

fn media() -> Arc<Media> {
    static M: OnceLock<Arc<Media>> = OnceLock::new();
    M.get_or_init(|| {
        let frames = mjpeg::testpattern::frames(3, 64, 48);
        Arc::new(Media::from_jpegs("test", 25.0, frames, 400).expect("test media"))
    })
    .clone()
}

fn base() -> Instant {
    static B: OnceLock<Instant> = OnceLock::new();
    *B.get_or_init(Instant::now)
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

struct Harness {
    client: Client,
    lab: bool,
    now: Instant,
    deadline: Option<Instant>,
    connected: bool,
    closed_conn: bool,
    closed_event: bool,
    rx: BytesMut,
    decoder: Decoder,
    /// CSeqs returned by API calls.
    issued: HashSet<u32>,
    /// CSeqs written and not yet answered by a Reply op.
    outstanding: BTreeSet<u32>,
    sent: HashSet<u32>,
    answered: HashSet<u32>,
    last_cseq: Option<u32>,
    seq: u16,
}

impl Harness {
    fn drain(&mut self) {
        let mut outs = Vec::new();
        let deadline = drain_bounded(&mut self.client, MAX_OUTPUTS, |o| outs.push(o))
            .unwrap_or_else(|e| panic!("poll_output did not reach Timeout: {e}"));
        for out in outs {
            match out {
                Output::Transmit(t) => match t.dest {
                    Dest::Stream(conn) => {
                        assert_eq!(conn, CONN);
                        assert!(!self.closed_conn, "written to the connection after Close");
                        assert!(self.connected, "written to a connection never connected");
                        self.on_stream_out(&t.data);
                    }
                    Dest::Udp {
                        local: l,
                        remote: _,
                    } => {
                        if l == local(5001) {
                            RtcpPacket::parse_compound(&t.data).expect("client sent bad RTCP");
                        } else {
                            assert_eq!(l, local(5000), "datagram from an unknown socket");
                        }
                    }
                },
                Output::Close(conn) => {
                    assert_eq!(conn, CONN);
                    self.closed_conn = true;
                }
                Output::Event(e) => {
                    assert!(!self.closed_event, "event after Closed: {e:?}");
                    self.on_event(e);
                }
                Output::Timeout(_) => {}
            }
        }
        self.deadline = deadline;
        if self.closed_event {
            assert_eq!(self.client.state(), ClientState::Closed);
        }
    }

    fn on_event(&mut self, e: ClientEvent) {
        match e {
            ClientEvent::Response { cseq, .. } => {
                assert!(
                    self.sent.contains(&cseq),
                    "response to CSeq {cseq} never sent"
                );
                assert!(self.answered.insert(cseq), "CSeq {cseq} answered twice");
                self.outstanding.remove(&cseq);
            }
            ClientEvent::Frame { data, .. } => {
                assert!(data.starts_with(&[0xFF, 0xD8]), "frame without SOI");
                if !self.lab {
                    assert!(data.ends_with(&[0xFF, 0xD9]), "frame without EOI");
                    mjpeg::parse_jpeg(&data).expect("frame does not parse");
                }
            }
            ClientEvent::Closed => self.closed_event = true,
            _ => {}
        }
    }

    fn on_stream_out(&mut self, data: &[u8]) {
        self.rx.extend_from_slice(data);
        loop {
            match self.decoder.decode(&mut self.rx) {
                Ok(None) => break,
                Ok(Some(Decoded::Message(Message::Request(r)))) => {
                    let cseq = r
                        .cseq()
                        .unwrap_or_else(|| panic!("request without CSeq: {r:?}"));
                    if let Some(last) = self.last_cseq {
                        assert!(cseq > last, "CSeq {cseq} after {last}");
                    }
                    self.last_cseq = Some(cseq);
                    if !self.issued.contains(&cseq) {
                        assert!(
                            matches!(r.method, Method::GetParameter | Method::Options),
                            "unrequested {:?} (CSeq {cseq})",
                            r.method
                        );
                    }
                    self.sent.insert(cseq);
                    self.outstanding.insert(cseq);
                }
                Ok(Some(Decoded::Message(Message::Response(r)))) => {
                    panic!("client wrote a response: {r:?}")
                }
                Ok(Some(Decoded::Interleaved { channel, payload })) => {
                    RtcpPacket::parse_compound(&payload)
                        .unwrap_or_else(|e| panic!("bad interleaved RTCP on {channel}: {e}"));
                }
                Err(e) => {
                    panic!(
                        "client output does not decode: {e}\n{:?}",
                        String::from_utf8_lossy(&self.rx)
                    )
                }
            }
        }
    }

    fn stream(&mut self, data: &[u8]) {
        let now = self.now;
        self.client.handle_input(Input::Stream {
            now,
            conn: CONN,
            data,
        });
        self.drain();
    }

    fn reply_bytes(&self, r: &Reply) -> Vec<u8> {
        let eol = if r.lab { "\n" } else { "\r\n" };
        let status = STATUS[usize::from(r.status) % STATUS.len()];
        let mut s = format!("RTSP/1.0 {status}{eol}");
        let cseq = match r.cseq {
            CseqChoice::Newest => self.outstanding.last().copied(),
            CseqChoice::Oldest => self.outstanding.first().copied(),
            CseqChoice::Raw(c) => Some(c),
            CseqChoice::Missing => None,
            CseqChoice::Lowercase => self.outstanding.last().copied(),
        };
        if let Some(c) = cseq {
            let name = if matches!(r.cseq, CseqChoice::Lowercase) {
                "Cseq"
            } else {
                "CSeq"
            };
            s += &format!("{name}: {c}{eol}");
        }
        if let Some(i) = r.session {
            s += &format!(
                "Session: {}{eol}",
                SESSIONS[usize::from(i) % SESSIONS.len()]
            );
        }
        if let Some(i) = r.transport {
            s += &format!(
                "Transport: {}{eol}",
                TRANSPORTS[usize::from(i) % TRANSPORTS.len()]
            );
        }
        if let Some(i) = r.content_base {
            s += &format!("Content-Base: {}{eol}", BASES[usize::from(i) % BASES.len()]);
        }
        if let Some(i) = r.public {
            s += &format!("Public: {}{eol}", PUBLIC[usize::from(i) % PUBLIC.len()]);
        }
        if let Some(seq) = r.rtp_info {
            s += &format!(
                "RTP-Info: url=rtsp://127.0.0.1:8554/test/stream=0;seq={};rtptime={seq}{eol}",
                seq & 0xffff
            );
        }
        if r.range {
            s += &format!("Range: npt=0.000-{eol}");
        }
        match r.sdp {
            Some(i) => {
                let body = SDPS[usize::from(i) % SDPS.len()];
                s += &format!(
                    "Content-Type: application/sdp{eol}Content-Length: {}{eol}{eol}{body}",
                    body.len()
                );
            }
            None if r.lab => {}
            None => s += eol,
        }
        s.into_bytes()
    }

    fn rtp(&mut self, frame: u8, frag: u8, seq: &SeqChoice, announced: bool, tcp: bool) {
        let m = media();
        let index = usize::from(frame) % m.frame_count();
        let frags = m.fragments(index).expect("frame exists");
        let i = usize::from(frag) % frags.len();
        let payload = if self.lab {
            &m.jpeg(index).expect("frame exists")[..]
        } else {
            &frags[i][..]
        };
        let seq = match seq {
            SeqChoice::Next => {
                self.seq = self.seq.wrapping_add(1);
                self.seq
            }
            SeqChoice::Repeat => self.seq,
            SeqChoice::Skip(n) => {
                self.seq = self.seq.wrapping_add(u16::from(*n));
                self.seq
            }
            SeqChoice::Raw(s) => *s,
        };
        let ssrc = if announced { 0xDEAD_BEEF } else { 0x0102_0304 };
        let mut header = RtpHeader::new(26, seq, u32::from(frame) * 3600, ssrc);
        header.marker = self.lab || i + 1 == frags.len();
        let mut pkt = Vec::new();
        RtpPacket { header, payload }.write(&mut pkt);
        self.media_packet(&pkt, tcp, false);
    }

    fn media_packet(&mut self, pkt: &[u8], tcp: bool, rtcp: bool) {
        let now = self.now;
        if tcp {
            let mut framed = Vec::new();
            write_interleaved(u8::from(rtcp), pkt, &mut framed);
            self.stream(&framed);
        } else {
            self.client.handle_input(Input::Datagram {
                now,
                local: local(if rtcp { 5001 } else { 5000 }),
                remote: local(if rtcp { 6971 } else { 6970 }),
                data: pkt,
            });
            self.drain();
        }
    }

    fn call(&mut self, api: Api) {
        let udp = TransportChoice::Udp {
            rtp_local: local(5000),
            rtcp_local: local(5001),
        };
        let r = match api {
            Api::Options => self.client.options(),
            Api::Describe => self.client.describe(),
            Api::SetupUdp => self.client.setup(udp),
            Api::SetupTcp => self.client.setup(TransportChoice::Tcp),
            Api::Play(seek) => self
                .client
                .play(seek.map(|s| Duration::from_millis(u64::from(s) * 100))),
            Api::Pause => self.client.pause(),
            Api::Teardown => self.client.teardown(),
            Api::Close => {
                self.client.close();
                Err(rtsp_core::client::ApiError::Closed)
            }
        };
        if let Ok(cseq) = r {
            assert!(self.issued.insert(cseq), "CSeq {cseq} returned twice");
        }
        self.drain();
    }

    fn op(&mut self, op: Op) {
        let now = self.now;
        match op {
            Op::Connect => {
                if self.connected {
                    return; // one control connection per client
                }
                self.connected = true;
                let (host, port) = self.client.server();
                let ip = host
                    .parse()
                    .unwrap_or(core::net::IpAddr::V4(Ipv4Addr::LOCALHOST));
                self.client.handle_input(Input::Connected {
                    now,
                    conn: CONN,
                    peer: SocketAddr::new(ip, port),
                });
                self.drain();
            }
            Op::Closed => {
                self.client
                    .handle_input(Input::StreamClosed { now, conn: CONN });
                self.drain();
            }
            Op::Call(api) => self.call(api),
            Op::Reply(r) => {
                let bytes = self.reply_bytes(&r);
                let at = r
                    .split
                    .map_or(bytes.len(), |s| usize::from(s) % bytes.len().max(1));
                let (a, b) = bytes.split_at(at.min(bytes.len()));
                for part in [a, b] {
                    if !part.is_empty() {
                        self.stream(part);
                    }
                }
            }
            Op::Raw(data) => self.stream(&data),
            Op::Rtp {
                frame,
                frag,
                seq,
                announced_ssrc,
                interleaved,
            } => self.rtp(frame, frag, &seq, announced_ssrc, interleaved),
            Op::Frame { frame, interleaved } => {
                let n = media()
                    .fragments(usize::from(frame) % 3)
                    .map_or(0, |f| f.len());
                for i in 0..n.min(64) {
                    self.rtp(frame, i as u8, &SeqChoice::Next, true, interleaved);
                }
            }
            Op::SenderReport { interleaved } => {
                let sr = RtcpPacket::SenderReport(SenderReport {
                    ssrc: 0xDEAD_BEEF,
                    ntp_time: NtpTime::from_parts(3_900_000_000, 0),
                    rtp_timestamp: 3600,
                    packet_count: 10,
                    octet_count: 1000,
                    reports: Vec::new(),
                });
                let mut pkt = Vec::new();
                write_compound(&[sr], &mut pkt);
                self.media_packet(&pkt, interleaved, true);
            }
            Op::Datagram { to_rtcp, data } => self.media_packet(&data, false, to_rtcp),
            Op::Interleaved { channel, data } => {
                let mut framed = Vec::new();
                write_interleaved(channel, &data, &mut framed);
                self.stream(&framed);
            }
            Op::Advance(ms) => {
                self.now += Duration::from_millis(u64::from(ms));
                let now = self.now;
                self.client.handle_input(Input::Timeout(now));
                self.drain();
            }
            Op::Step(n) => {
                for _ in 0..(n % 16) {
                    let Some(t) = self.deadline else { break };
                    self.now = self.now.max(t);
                    let now = self.now;
                    self.client.handle_input(Input::Timeout(now));
                    self.drain();
                }
            }
        }
    }
}

fuzz_target!(|script: Script| {
    let mut config = if script.lab {
        ClientConfig::lab("127.0.0.1:3000", "movie.Mjpeg")
    } else {
        ClientConfig::new("rtsp://127.0.0.1:8554/test")
    };
    config.seed = Some(rtsp_core::rng::RngSeed::from_u64(script.seed));
    config.reorder_window = if script.reorder { 32 } else { 0 };
    config.max_frame_len = 1 << 20;
    let now = base();
    let client = Client::new(config, now).expect("valid config");
    let mut h = Harness {
        client,
        lab: script.lab,
        now,
        deadline: None,
        connected: false,
        closed_conn: false,
        closed_event: false,
        rx: BytesMut::new(),
        decoder: Decoder::new(Limits::default()),
        issued: HashSet::new(),
        outstanding: BTreeSet::new(),
        sent: HashSet::new(),
        answered: HashSet::new(),
        last_cseq: None,
        seq: 1000,
    };
    h.drain();
    for op in script.ops.into_iter().take(64) {
        h.op(op);
    }
});
