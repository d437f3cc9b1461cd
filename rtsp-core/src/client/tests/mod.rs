//! Scenario tests for the client machine: canned server bytes (from the interop transcripts),
//! generated RTP, simulated time. No sockets, no sleeps. This file holds the harness and the
//! shared helpers; the tests are in files by concern.

mod auth;
mod end_of_stream;
mod lab;
mod media;
mod no_media;
mod policy;
mod requests;
mod robustness;
mod servers;
mod timers;

use super::*;
use crate::io::{ConnId, Dest, Input, Machine, Output};
use crate::message::headers::RtpInfo;
use crate::message::{write_interleaved, Method, StatusCode};
use core::net::SocketAddr;
use rtp_core::jpeg::{packetize, JpegPayload};
use rtp_core::rtcp::{RtcpPacket, SenderReport};
use rtp_core::{NtpTime, RtpHeader};
use std::time::{Duration, Instant};

const CONN: ConnId = ConnId(7);

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn udp() -> TransportChoice {
    TransportChoice::Udp {
        rtp_local: addr("0.0.0.0:45578"),
        rtcp_local: addr("0.0.0.0:45579"),
    }
}

/// LF to CRLF (the transcripts are shown with LF).
fn crlf(s: &str) -> String {
    s.replace('\n', "\r\n")
}

/// Drives a client in virtual time and records what it does.
struct Harness {
    c: Client,
    now: Instant,
    stream: Vec<Vec<u8>>,
    udp: Vec<(SocketAddr, SocketAddr, Vec<u8>)>,
    events: Vec<ClientEvent>,
    closed: bool,
    deadline: Option<Instant>,
}

impl Harness {
    fn new(cfg: ClientConfig) -> Self {
        let now = Instant::now();
        let c = Client::new(cfg, now).expect("valid config");
        let mut h = Self {
            c,
            now,
            stream: Vec::new(),
            udp: Vec::new(),
            events: Vec::new(),
            closed: false,
            deadline: None,
        };
        h.drain();
        h
    }

    /// A client for `url` with its control connection up.
    fn connected(url: &str) -> Self {
        let mut h = Self::new(ClientConfig::new(url));
        h.connect();
        h
    }

    /// [`Harness::connected`] with DESCRIBE sent (as CSeq 1).
    fn describing(url: &str) -> Self {
        let mut h = Self::connected(url);
        assert_eq!(h.c.describe(), Ok(1));
        h.sent();
        h
    }

    fn drain(&mut self) {
        for _ in 0..100_000 {
            match self.c.poll_output() {
                Output::Transmit(t) => match t.dest {
                    Dest::Stream(conn) => {
                        assert_eq!(conn, CONN);
                        self.stream.push(t.data);
                    }
                    Dest::Udp { local, remote } => self.udp.push((local, remote, t.data)),
                },
                Output::Close(conn) => {
                    assert_eq!(conn, CONN);
                    self.closed = true;
                }
                Output::Event(e) => self.events.push(e),
                Output::Timeout(d) => {
                    self.deadline = d;
                    return;
                }
            }
        }
        panic!("poll_output never returned Timeout");
    }

    fn input(&mut self, i: Input<'_>) {
        self.c.handle_input(i);
        self.drain();
    }

    fn connect(&mut self) {
        self.input(Input::Connected {
            now: self.now,
            conn: CONN,
            peer: addr("127.0.0.1:8554"),
        });
    }

    /// The server closed the control connection.
    fn lose_connection(&mut self) {
        self.input(Input::StreamClosed {
            now: self.now,
            conn: CONN,
        });
    }

    /// A reply as the lab server sends it (unterminated), taken once the quiet period
    /// (`lab_reply_delay`, 300 ms) has passed.
    fn lab_reply(&mut self, data: &[u8]) {
        self.recv(data);
        self.advance(Duration::from_millis(300));
    }

    /// Server bytes on the control connection.
    fn recv(&mut self, data: &[u8]) {
        self.input(Input::Stream {
            now: self.now,
            conn: CONN,
            data,
        });
    }

    fn reply(&mut self, text: &str) {
        self.recv(crlf(text).as_bytes());
    }

    fn datagram(&mut self, local: &str, data: &[u8]) {
        self.input(Input::Datagram {
            now: self.now,
            local: addr(local),
            remote: addr("127.0.0.1:60682"),
            data,
        });
    }

    /// Move virtual time forward by `d`, firing every deadline on the way.
    fn advance(&mut self, d: Duration) {
        let target = self.now + d;
        for _ in 0..10_000 {
            match self.deadline {
                Some(t) if t <= target => {
                    self.now = self.now.max(t);
                    self.input(Input::Timeout(self.now));
                }
                _ => {
                    self.now = target;
                    return;
                }
            }
        }
        panic!("livelock: deadlines do not advance");
    }

    /// Control bytes written since the last call, one string per write.
    fn sent(&mut self) -> Vec<String> {
        self.drain();
        std::mem::take(&mut self.stream)
            .into_iter()
            .map(|d| String::from_utf8_lossy(&d).into_owned())
            .collect()
    }

    /// The single request written since the last call.
    fn one_sent(&mut self) -> String {
        let mut s = self.sent();
        assert_eq!(s.len(), 1, "expected one request, got {s:?}");
        s.pop().unwrap()
    }

    fn events(&mut self) -> Vec<ClientEvent> {
        self.drain();
        std::mem::take(&mut self.events)
    }

    /// Events except `Response` (reported for every reply).
    fn outcomes(&mut self) -> Vec<ClientEvent> {
        self.events()
            .into_iter()
            .filter(|e| !matches!(e, ClientEvent::Response { .. }))
            .collect()
    }

    fn frames(&mut self) -> Vec<(u32, bytes::Bytes)> {
        let mut frames = Vec::new();
        self.events.retain(|e| match e {
            ClientEvent::Frame { timestamp, data } => {
                frames.push((*timestamp, data.clone()));
                false
            }
            _ => true,
        });
        frames
    }
}

/// A lab client for `movie.Mjpeg` at 127.0.0.1:8554, connected.
fn lab() -> Harness {
    let mut h = Harness::new(ClientConfig::lab("127.0.0.1:8554", "movie.Mjpeg"));
    h.connect();
    h
}

/// The lab's UDP ports.
fn lab_udp() -> TransportChoice {
    TransportChoice::Udp {
        rtp_local: addr("0.0.0.0:25000"),
        rtcp_local: addr("0.0.0.0:25001"),
    }
}

/// A recognisable scan without 0xFF bytes.
fn scan(tag: u8, len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i as u8) ^ tag) & 0x7f).collect()
}

/// RTP/JPEG packets of one frame: type 1, Q 50, 64x48, payloads ≤ 1388 bytes.
fn jpeg_packets(first_seq: u16, ts: u32, ssrc: u32, scan: &[u8]) -> Vec<Vec<u8>> {
    let p = JpegPayload {
        type_: 1,
        q: 50,
        width: 64,
        height: 48,
        restart_interval: 0,
        qtables: &[],
        scan,
    };
    let payloads = packetize(&p, 1388).unwrap();
    let n = payloads.len();
    payloads
        .iter()
        .enumerate()
        .map(|(i, payload)| {
            let mut h = RtpHeader::new(26, first_seq.wrapping_add(i as u16), ts, ssrc);
            h.marker = i + 1 == n;
            let mut v = Vec::new();
            h.write(&mut v);
            v.extend_from_slice(payload);
            v
        })
        .collect()
}

fn assert_frame(data: &[u8], scan: &[u8]) {
    assert!(data.starts_with(&[0xff, 0xd8]), "no SOI");
    assert!(data.ends_with(&[0xff, 0xd9]), "no EOI");
    assert!(data[..data.len() - 2].ends_with(scan), "scan differs");
}

const GST_OPTIONS_REPLY: &str = "RTSP/1.0 200 OK\nCSeq: 1\nPublic: OPTIONS, DESCRIBE, ANNOUNCE, GET_PARAMETER, PAUSE, PLAY, RECORD, SETUP, SET_PARAMETER, TEARDOWN\nServer: GStreamer RTSP server\nDate: Wed, 25 Nov 2026 14:08:12 GMT\n\n";

const GST_SDP: &str = "v=0\no=- 5213681658906216674 1 IN IP4 127.0.0.1\ns=Session streamed with GStreamer\ni=rtsp-server\nt=0 0\na=tool:GStreamer\na=type:broadcast\na=control:*\na=range:npt=now-\nm=video 0 RTP/AVP 26\nc=IN IP4 0.0.0.0\na=rtpmap:26 JPEG/90000\na=framerate:30.000000\na=control:stream=0\na=ts-refclk:local\na=mediaclk:sender\na=ssrc:1311538258 cname:user80125802@host-377701b9\n";

fn describe_reply(cseq: u32, base: &str, sdp: &str, cseq_name: &str) -> String {
    let body = crlf(sdp);
    format!(
        "RTSP/1.0 200 OK\r\n{cseq_name}: {cseq}\r\nContent-Type: application/sdp\r\nContent-Base: {base}\r\nServer: GStreamer RTSP server\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

const GST_SSRC: u32 = 0x4E2C_7C52;

/// gst-rtsp-server's DESCRIBE reply to CSeq `cseq`.
fn gst_describe_reply(cseq: u32) -> String {
    describe_reply(cseq, "rtsp://127.0.0.1:8554/test/", GST_SDP, "CSeq")
}

/// gst-rtsp-server's reply to SETUP over UDP (CSeq `cseq`), its `Session` header ending in
/// `session_suffix` (e.g. `;timeout=30`).
fn gst_setup_reply(cseq: u32, session_suffix: &str) -> String {
    format!("RTSP/1.0 200 OK\nCSeq: {cseq}\nTransport: RTP/AVP;unicast;client_port=45578-45579;server_port=60682-60683;ssrc=4E2C7C52;mode=\"PLAY\"\nServer: GStreamer RTSP server\nSession: _tM3Rk5yk5mNuuDx{session_suffix}\nDate: Wed, 25 Nov 2026 14:08:12 GMT\n\n")
}

/// gst-rtsp-server's PLAY reply (CSeq `cseq`): the first packet is 25069.
fn gst_play_reply(cseq: u32) -> String {
    format!("RTSP/1.0 200 OK\nCSeq: {cseq}\nRTP-Info: url=rtsp://127.0.0.1:8554/test/stream=0;seq=25069;rtptime=2040804391\nRange: npt=now-\nServer: GStreamer RTSP server\nSession: _tM3Rk5yk5mNuuDx\nDate: Wed, 25 Nov 2026 14:08:12 GMT\n\n")
}

/// OPTIONS, DESCRIBE, SETUP (UDP) and PLAY against gst-rtsp-server, as in exchange-gst-udp.txt.
fn gst_playing(session_suffix: &str) -> Harness {
    gst_playing_with(
        ClientConfig::new("rtsp://127.0.0.1:8554/test"),
        session_suffix,
    )
}

/// [`gst_playing`] with a client configured by `cfg` (its URL must be the gst one).
fn gst_playing_with(cfg: ClientConfig, session_suffix: &str) -> Harness {
    let mut h = Harness::new(cfg);
    assert_eq!(h.c.server(), ("127.0.0.1", 8554));
    // Requests before the connection are queued.
    assert_eq!(h.c.options(), Ok(1));
    assert!(h.sent().is_empty());
    h.connect();
    let opt = h.one_sent();
    assert!(
        opt.starts_with("OPTIONS rtsp://127.0.0.1:8554/test RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: ")
    );
    assert!(opt.ends_with("\r\n\r\n"));
    h.reply(GST_OPTIONS_REPLY);
    assert_eq!(h.events().len(), 1, "OPTIONS gives only a Response event");

    assert_eq!(h.c.describe(), Ok(2));
    let d = h.one_sent();
    assert!(d.starts_with("DESCRIBE rtsp://127.0.0.1:8554/test RTSP/1.0\r\nCSeq: 2\r\n"));
    assert!(d.contains("\r\nAccept: application/sdp\r\n"));
    h.recv(gst_describe_reply(2).as_bytes());
    let ev = h.outcomes();
    match &ev[..] {
        [ClientEvent::Described {
            cseq: 2,
            presentation,
        }] => {
            assert_eq!(presentation.aggregate_url, "rtsp://127.0.0.1:8554/test/");
            assert_eq!(
                presentation.tracks[0].control_url,
                "rtsp://127.0.0.1:8554/test/stream=0"
            );
            assert_eq!(presentation.tracks[0].framerate, Some(30.0));
        }
        other => panic!("{other:?}"),
    }

    assert_eq!(h.c.setup(udp()), Ok(3));
    let s = h.one_sent();
    assert!(s.starts_with("SETUP rtsp://127.0.0.1:8554/test/stream=0 RTSP/1.0\r\nCSeq: 3\r\n"));
    assert!(s.contains("\r\nTransport: RTP/AVP;unicast;client_port=45578-45579\r\n"));
    assert!(!s.contains("Session"));
    h.reply(&gst_setup_reply(3, session_suffix));
    match &h.outcomes()[..] {
        [ClientEvent::SetupDone {
            cseq: 3,
            session_id,
            ssrc,
            transport,
            ..
        }] => {
            assert_eq!(session_id, "_tM3Rk5yk5mNuuDx");
            assert_eq!(*ssrc, Some(GST_SSRC));
            assert_eq!(
                transport.as_ref().unwrap().server_port,
                Some((60682, Some(60683)))
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(h.c.state(), ClientState::Ready);
    assert_eq!(h.c.session_id(), Some("_tM3Rk5yk5mNuuDx"));

    assert_eq!(h.c.play(None), Ok(4));
    let p = h.one_sent();
    assert!(p.starts_with("PLAY rtsp://127.0.0.1:8554/test/ RTSP/1.0\r\nCSeq: 4\r\n"));
    assert!(p.contains("\r\nSession: _tM3Rk5yk5mNuuDx\r\n"));
    h.reply(&gst_play_reply(4));
    match &h.outcomes()[..] {
        [ClientEvent::Playing {
            cseq: 4, rtp_info, ..
        }] => {
            assert_eq!(rtp_info.len(), 1);
            assert_eq!(rtp_info[0].seq, Some(25069));
            assert_eq!(rtp_info[0].rtptime, Some(2040804391));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(h.c.state(), ClientState::Playing);
    h
}

fn bye(ssrc: u32) -> Vec<u8> {
    let mut buf = Vec::new();
    RtcpPacket::Bye(rtp_core::rtcp::Bye {
        ssrcs: vec![ssrc],
        reason: None,
    })
    .write(&mut buf);
    buf
}

const RTP: &str = "0.0.0.0:45578";
const RTCP: &str = "0.0.0.0:45579";
