//! Scenario tests for the client machine: canned server bytes (from the interop transcripts),
//! generated RTP, simulated time. No sockets, no sleeps.

use super::*;
use crate::io::{ConnId, Dest, Input, Machine, Output};
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

    fn url(url: &str) -> Self {
        Self::new(ClientConfig::new(url))
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
    h.recv(describe_reply(2, "rtsp://127.0.0.1:8554/test/", GST_SDP, "CSeq").as_bytes());
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
    h.reply(&format!("RTSP/1.0 200 OK\nCSeq: 3\nTransport: RTP/AVP;unicast;client_port=45578-45579;server_port=60682-60683;ssrc=4E2C7C52;mode=\"PLAY\"\nServer: GStreamer RTSP server\nSession: _tM3Rk5yk5mNuuDx{session_suffix}\nDate: Wed, 25 Nov 2026 14:08:12 GMT\n\n"));
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
    h.reply("RTSP/1.0 200 OK\nCSeq: 4\nRTP-Info: url=rtsp://127.0.0.1:8554/test/stream=0;seq=25069;rtptime=2040804391\nRange: npt=now-\nServer: GStreamer RTSP server\nSession: _tM3Rk5yk5mNuuDx\nDate: Wed, 25 Nov 2026 14:08:12 GMT\n\n");
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

#[test]
fn gst_udp_full_session() {
    let mut h = gst_playing("");
    // Three frames of three packets each.
    let mut seq = 25069u16;
    for f in 0..3u8 {
        let s = scan(f, 3000);
        for pkt in jpeg_packets(seq, 2040804391 + 3000 * u32::from(f), GST_SSRC, &s) {
            h.datagram("0.0.0.0:45578", &pkt);
            seq = seq.wrapping_add(1);
        }
        h.advance(Duration::from_millis(33));
    }
    let frames = h.frames();
    assert_eq!(frames.len(), 3);
    for (f, (ts, data)) in frames.iter().enumerate() {
        assert_eq!(*ts, 2040804391 + 3000 * f as u32);
        assert_frame(data, &scan(f as u8, 3000));
    }
    let st = h.c.stats();
    assert_eq!(
        (st.packets, st.frames, st.frames_dropped, st.lost),
        (9, 3, 0, 0)
    );
    assert_eq!(st.ssrc, Some(GST_SSRC));

    assert_eq!(h.c.pause(), Ok(5));
    assert!(h
        .one_sent()
        .starts_with("PAUSE rtsp://127.0.0.1:8554/test/ RTSP/1.0\r\nCSeq: 5\r\n"));
    h.reply(
        "RTSP/1.0 200 OK\nCSeq: 5\nServer: GStreamer RTSP server\nSession: _tM3Rk5yk5mNuuDx\n\n",
    );
    assert!(matches!(&h.outcomes()[..], [ClientEvent::Paused]));
    assert_eq!(h.c.state(), ClientState::Ready);

    h.udp.clear();
    assert_eq!(h.c.teardown(), Ok(6));
    let t = h.one_sent();
    assert!(t.starts_with("TEARDOWN rtsp://127.0.0.1:8554/test/ RTSP/1.0\r\nCSeq: 6\r\n"));
    assert!(t.contains("\r\nSession: _tM3Rk5yk5mNuuDx\r\n"));
    // RR + SDES + BYE to the server's RTCP port at the RTSP peer's address.
    let (local, remote, data) = h.udp.pop().expect("RTCP BYE");
    assert_eq!(
        (local, remote),
        (addr("0.0.0.0:45579"), addr("127.0.0.1:60683"))
    );
    let pkts = RtcpPacket::parse_compound(&data).unwrap();
    assert!(matches!(pkts.last(), Some(RtcpPacket::Bye(_))), "{pkts:?}");
    h.reply("RTSP/1.0 200 OK\nCSeq: 6\nServer: GStreamer RTSP server\nSession: _tM3Rk5yk5mNuuDx\nConnection: close\n\n");
    assert!(matches!(&h.outcomes()[..], [ClientEvent::TornDown]));
    assert_eq!(h.c.state(), ClientState::Init);
    assert_eq!(h.c.session_id(), None);
    assert_eq!(h.c.stats().frames, 3, "stats survive TEARDOWN");
    assert_eq!(h.deadline, None, "no timers after teardown");
    h.c.close();
    h.drain();
    assert!(h.closed);
    assert!(matches!(&h.events()[..], [ClientEvent::Closed]));
    assert_eq!(h.c.state(), ClientState::Closed);
    assert_eq!(h.c.play(None), Err(ApiError::Closed));
}

#[test]
fn rtcp_receiver_reports_over_udp_with_lsr() {
    let mut h = gst_playing("");
    for pkt in jpeg_packets(25069, 1000, GST_SSRC, &scan(1, 2000)) {
        h.datagram("0.0.0.0:45578", &pkt);
    }
    // An SR from the source on the RTCP socket.
    let sr = SenderReport {
        ssrc: GST_SSRC,
        ntp_time: NtpTime::from_parts(4_004_604_494, 0x0f6c_7a7c),
        rtp_timestamp: 1000,
        packet_count: 2,
        octet_count: 2000,
        reports: vec![],
    };
    let mut buf = Vec::new();
    RtcpPacket::SenderReport(sr).write(&mut buf);
    h.datagram("0.0.0.0:45579", &buf);
    assert_eq!(h.c.stats().sender_reports, 1);
    h.udp.clear();
    // The first report comes within 1.5 × 5 s.
    h.advance(Duration::from_millis(7_500));
    let (local, remote, data) = h.udp.first().cloned().expect("an RR");
    assert_eq!(
        (local, remote),
        (addr("0.0.0.0:45579"), addr("127.0.0.1:60683"))
    );
    let pkts = RtcpPacket::parse_compound(&data).unwrap();
    let RtcpPacket::ReceiverReport(rr) = &pkts[0] else {
        panic!("{pkts:?}")
    };
    assert_eq!(rr.reports.len(), 1);
    let block = rr.reports[0];
    assert_eq!(block.ssrc, GST_SSRC);
    assert_eq!(
        block.last_sr,
        NtpTime::from_parts(4_004_604_494, 0x0f6c_7a7c).middle32()
    );
    assert!(block.delay_since_last_sr > 0);
    assert!(matches!(&pkts[1], RtcpPacket::Sdes(_)), "{pkts:?}");
    // And again, every ~5 s.
    h.udp.clear();
    h.advance(Duration::from_secs(15));
    assert!((2..=6).contains(&h.udp.len()), "{}", h.udp.len());
}

#[test]
fn loss_drops_partial_frame_and_counts() {
    let mut h = gst_playing("");
    let mut seq = 100u16;
    for f in 0..3u8 {
        let pkts = jpeg_packets(seq, 9000 * u32::from(f), GST_SSRC, &scan(f, 3000));
        assert_eq!(pkts.len(), 3);
        for (i, pkt) in pkts.iter().enumerate() {
            if !(f == 1 && i == 1) {
                h.datagram("0.0.0.0:45578", pkt);
            }
        }
        seq += 3;
    }
    // The gap waits in the reordering buffer for at most reorder_delay.
    h.advance(Duration::from_millis(60));
    let frames = h.frames();
    assert_eq!(frames.len(), 2);
    assert_frame(&frames[0].1, &scan(0, 3000));
    assert_frame(&frames[1].1, &scan(2, 3000));
    let st = h.c.stats();
    assert_eq!(
        (st.packets, st.lost, st.frames, st.frames_dropped),
        (8, 1, 2, 1)
    );
    // The late packet arrives after all: ignored, no corrupt frame.
    let late = jpeg_packets(103, 9000, GST_SSRC, &scan(1, 3000));
    h.datagram("0.0.0.0:45578", &late[1]);
    assert!(h.frames().is_empty());
}

#[test]
fn mild_reordering_and_duplicates_are_repaired() {
    let mut h = gst_playing("");
    let a = jpeg_packets(500, 0, GST_SSRC, &scan(7, 4000));
    assert_eq!(a.len(), 3);
    let b = jpeg_packets(503, 3000, GST_SSRC, &scan(8, 2000));
    for pkt in [&a[0], &a[2], &a[1], &a[1], &b[1], &b[0], &b[0]] {
        h.datagram("0.0.0.0:45578", pkt);
    }
    let frames = h.frames();
    assert_eq!(frames.len(), 2, "both frames complete without waiting");
    assert_frame(&frames[0].1, &scan(7, 4000));
    assert_frame(&frames[1].1, &scan(8, 2000));
    let st = h.c.stats();
    assert_eq!((st.frames_dropped, st.duplicates, st.reordered), (0, 2, 2));
    assert_eq!(h.deadline.map(|d| d > h.now), Some(true), "nothing held");
}

/// PLAY's `RTP-Info: seq=25069` names the first packet: when 25070 overtakes it, 25070 waits
/// for it instead of becoming the start (which would drop 25069 as late and lose the frame).
#[test]
fn rtp_info_seq_puts_an_overtaken_first_packet_back() {
    let mut h = gst_playing("");
    let a = jpeg_packets(25069, 0, GST_SSRC, &scan(1, 3000));
    let b = jpeg_packets(25072, 3000, GST_SSRC, &scan(2, 3000));
    for pkt in [&a[1], &a[0], &a[2], &b[0], &b[1], &b[2]] {
        h.datagram("0.0.0.0:45578", pkt);
    }
    let frames = h.frames();
    assert_eq!(frames.len(), 2);
    assert_frame(&frames[0].1, &scan(1, 3000));
    let st = h.c.stats();
    assert_eq!(
        (st.lost, st.reordered, st.frames_dropped),
        (0, 1, 0),
        "{st:?}"
    );
    // The receiver report agrees.
    h.udp.clear();
    h.advance(Duration::from_secs(8));
    let (_, _, rr) = h.udp.first().expect("a receiver report");
    match &RtcpPacket::parse_compound(rr).unwrap()[0] {
        RtcpPacket::ReceiverReport(r) => {
            assert_eq!(
                (r.reports[0].cumulative_lost, r.reports[0].fraction_lost),
                (0, 0)
            )
        }
        other => panic!("{other:?}"),
    }
}

/// The announced first packet never comes: it is lost (and counted), its frame dropped.
#[test]
fn rtp_info_seq_counts_a_lost_first_packet() {
    let mut h = gst_playing("");
    let a = jpeg_packets(25069, 0, GST_SSRC, &scan(1, 3000));
    let b = jpeg_packets(25072, 3000, GST_SSRC, &scan(2, 3000));
    for pkt in [&a[1], &a[2], &b[0], &b[1], &b[2]] {
        h.datagram("0.0.0.0:45578", pkt);
    }
    h.advance(Duration::from_millis(60));
    let frames = h.frames();
    assert_eq!(frames.len(), 1);
    assert_frame(&frames[0].1, &scan(2, 3000));
    let st = h.c.stats();
    assert_eq!((st.lost, st.frames_dropped), (1, 1), "{st:?}");
}

/// A server whose `RTP-Info: seq=` is far from what it sends (either way): the first packet
/// that arrives is the start, nothing is held or dropped for the announcement.
#[test]
fn wrong_rtp_info_seq_falls_back_to_the_first_packet() {
    for first in [25069u16 + 101, 25069 - 1, 7] {
        let mut h = gst_playing("");
        let a = jpeg_packets(first, 0, GST_SSRC, &scan(1, 3000));
        for pkt in &a {
            h.datagram("0.0.0.0:45578", pkt);
        }
        let frames = h.frames();
        assert_eq!(frames.len(), 1, "first={first}: not held");
        let st = h.c.stats();
        assert_eq!(
            (st.lost, st.frames_dropped),
            (0, 0),
            "first={first}: {st:?}"
        );
    }
    // Within the slack the announcement is believed: the packets before count as lost.
    let mut h = gst_playing("");
    for pkt in &jpeg_packets(25069 + 100, 0, GST_SSRC, &scan(1, 3000)) {
        h.datagram("0.0.0.0:45578", pkt);
    }
    h.advance(Duration::from_millis(60));
    assert_eq!(h.frames().len(), 1);
    assert_eq!(h.c.stats().lost, 100);
}

#[test]
fn rtp_info_entry_is_picked_by_track_url() {
    let info = |url: &str, seq: u16| RtpInfo {
        url: url.to_string(),
        seq: Some(seq),
        rtptime: None,
    };
    let track = "rtsp://h/test/stream=1";
    let list = [
        info("rtsp://h/test/stream=0", 1),
        info("rtsp://h/test/stream=1", 2),
    ];
    assert_eq!(track_seq(&list, track), Some(2));
    let list = [info("stream=0", 1), info("stream=1", 2)];
    assert_eq!(track_seq(&list, track), Some(2), "relative URLs");
    assert_eq!(track_seq(&list[..1], track), Some(1), "the only entry");
    let list = [info("rtsp://h/a", 1), info("rtsp://h/b", 2)];
    assert_eq!(track_seq(&list, track), None);
    assert_eq!(track_seq(&[], track), None);
}

/// Behind a partition no keepalive is answered and no media arrives: after two unanswered
/// keepalives and the session timeout without RTP/RTCP the client gives up.
#[test]
fn silent_server_is_given_up() {
    let mut h = gst_playing(";timeout=30");
    for pkt in &jpeg_packets(25069, 0, GST_SSRC, &scan(1, 3000)) {
        h.datagram("0.0.0.0:45578", pkt);
    }
    let start = h.now;
    // Keepalives at 15 s and 30 s (request timeout 10 s), never answered.
    h.advance(Duration::from_secs(39));
    let ev = h.outcomes();
    assert_eq!(
        ev.iter()
            .filter(|e| matches!(e, ClientEvent::KeepaliveFailed { status: None }))
            .count(),
        1,
        "{ev:?}"
    );
    assert_eq!(h.c.state(), ClientState::Playing);
    h.advance(Duration::from_secs(1));
    let ev = h.outcomes();
    assert!(
        matches!(
            &ev[..],
            [
                ClientEvent::Frame { .. },
                ClientEvent::KeepaliveFailed { status: None },
                ClientEvent::Error(ClientError::ServerSilent { keepalives: 2, silent_for }),
                ClientEvent::Closed,
            ] | [
                ClientEvent::KeepaliveFailed { status: None },
                ClientEvent::Error(ClientError::ServerSilent { keepalives: 2, silent_for }),
                ClientEvent::Closed,
            ] if *silent_for == Duration::from_secs(40)
        ),
        "{ev:?}"
    );
    assert_eq!(h.now - start, Duration::from_secs(40));
    assert!(h.closed, "the connection is closed");
    assert_eq!(h.deadline, None);
}

/// Unanswered keepalives alone are not fatal while media flows; nor is silence while the
/// server answers (even with an error).
#[test]
fn silence_needs_both_unanswered_keepalives_and_no_media() {
    let mut h = gst_playing(";timeout=30");
    let mut seq = 25069u16;
    for i in 0..200u32 {
        for pkt in &jpeg_packets(seq, 3000 * i, GST_SSRC, &scan(1, 3000)) {
            h.datagram("0.0.0.0:45578", pkt);
            seq = seq.wrapping_add(1);
        }
        h.advance(Duration::from_millis(500));
    }
    let ev = h.outcomes();
    assert!(
        ev.iter()
            .filter(|e| matches!(e, ClientEvent::KeepaliveFailed { status: None }))
            .count()
            >= 5
    );
    assert!(!ev
        .iter()
        .any(|e| matches!(e, ClientEvent::Error(_) | ClientEvent::Closed)));
    assert_eq!(h.c.state(), ClientState::Playing);

    // No media, but every other keepalive answered (454): never two misses in a row.
    let mut h = gst_playing(";timeout=30");
    for i in 0..8 {
        h.advance(Duration::from_secs(15));
        let k = h.one_sent();
        if i % 2 == 0 {
            let cseq = k.lines().find_map(|l| l.strip_prefix("CSeq: ")).unwrap();
            h.reply(&format!("RTSP/1.0 454 Session Not Found\nCSeq: {cseq}\n\n"));
        }
    }
    assert_eq!(h.c.state(), ClientState::Playing);
    assert!(!h
        .outcomes()
        .iter()
        .any(|e| matches!(e, ClientEvent::Error(_) | ClientEvent::Closed)));
}

#[test]
fn packets_from_other_ssrc_are_ignored() {
    let mut h = gst_playing("");
    for pkt in jpeg_packets(1, 0, 0xdead_beef, &scan(1, 1000)) {
        h.datagram("0.0.0.0:45578", &pkt);
    }
    // Junk and RTP on an unknown local port.
    h.datagram("0.0.0.0:45578", b"\x80\x00");
    for pkt in jpeg_packets(1, 0, GST_SSRC, &scan(1, 1000)) {
        h.datagram("0.0.0.0:9999", &pkt);
    }
    assert!(h.frames().is_empty());
    let st = h.c.stats();
    assert_eq!((st.packets, st.ignored), (0, 2));
    for pkt in jpeg_packets(1, 0, GST_SSRC, &scan(1, 1000)) {
        h.datagram("0.0.0.0:45578", &pkt);
    }
    assert_eq!(h.frames().len(), 1);
}

#[test]
fn keepalive_with_get_parameter_and_failures_are_not_fatal() {
    let mut h = gst_playing(";timeout=30");
    // T = 30: every min(15, 25) = 15 s.
    h.advance(Duration::from_millis(14_900));
    assert!(h.sent().is_empty());
    h.advance(Duration::from_millis(100));
    let k = h.one_sent();
    assert!(
        k.starts_with("GET_PARAMETER rtsp://127.0.0.1:8554/test/ RTSP/1.0\r\nCSeq: 5\r\n"),
        "{k}"
    );
    assert!(k.contains("\r\nSession: _tM3Rk5yk5mNuuDx\r\n"));
    h.reply("RTSP/1.0 200 OK\nCSeq: 5\nServer: GStreamer RTSP server\n\n");
    assert!(h.outcomes().is_empty());

    h.advance(Duration::from_secs(15));
    assert!(h.one_sent().starts_with("GET_PARAMETER "));
    h.reply("RTSP/1.0 454 Session Not Found\nCSeq: 6\n\n");
    assert!(matches!(
        &h.outcomes()[..],
        [ClientEvent::KeepaliveFailed {
            status: Some(StatusCode::SESSION_NOT_FOUND)
        }]
    ));

    h.advance(Duration::from_secs(15));
    assert!(h.one_sent().starts_with("GET_PARAMETER "));
    h.advance(Duration::from_secs(10)); // request_timeout, no reply
    let ev = h.outcomes();
    assert!(
        ev.iter()
            .any(|e| matches!(e, ClientEvent::KeepaliveFailed { status: None })),
        "{ev:?}"
    );
    assert!(!ev
        .iter()
        .any(|e| matches!(e, ClientEvent::Error(_) | ClientEvent::Closed)));
    assert_eq!(h.c.state(), ClientState::Playing);
    assert!(!h.closed);
}

#[test]
fn keepalive_interval_rule() {
    let s = Duration::from_secs;
    assert_eq!(keepalive_interval(s(60)), s(30));
    assert_eq!(keepalive_interval(s(6)), s(1));
    assert_eq!(keepalive_interval(s(8)), s(3));
    assert_eq!(keepalive_interval(s(65)), Duration::from_millis(32_500));
    assert_eq!(keepalive_interval(s(4)), s(2));
    assert_eq!(keepalive_interval(s(0)), Duration::from_millis(500));
}

/// live555: no rtpmap for PT 26, relative control, `Session: id;timeout=65` on SETUP only, no
/// ssrc in Transport, odd Date; no OPTIONS done, so the keepalive is OPTIONS.
#[test]
fn live555_quirks() {
    let mut h = Harness::url("rtsp://127.0.0.1:8554/proxyStream");
    h.connect();
    h.c.describe().unwrap();
    h.sent();
    let sdp = "v=0\no=- 1764079467 1 IN IP4 127.0.0.1\ns=Session streamed by LIVE555\nt=0 0\na=control:*\na=range:npt=0-\nm=video 0 RTP/AVP 26\nc=IN IP4 0.0.0.0\nb=AS:50\na=control:track1\n";
    let body = crlf(sdp);
    h.recv(format!("RTSP/1.0 200 OK\r\nCSeq: 1\r\nDate: Wed, Nov 25 2026 14:04:27 GMT\r\nContent-Base: rtsp://127.0.0.1:8554/proxyStream/\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    assert!(matches!(&h.outcomes()[..], [ClientEvent::Described { .. }]));
    h.c.setup(udp()).unwrap();
    assert!(h
        .one_sent()
        .starts_with("SETUP rtsp://127.0.0.1:8554/proxyStream/track1 RTSP/1.0\r\n"));
    h.reply("RTSP/1.0 200 OK\nCSeq: 2\nDate: Wed, Nov 25 2026 14:04:27 GMT\nTransport: RTP/AVP;unicast;destination=127.0.0.1;source=127.0.0.1;client_port=45578-45579;server_port=6970-6971\nSession: 8A3F00B1;timeout=65\n\n");
    match &h.outcomes()[..] {
        [ClientEvent::SetupDone { timeout, ssrc, .. }] => {
            assert_eq!(*timeout, Duration::from_secs(65));
            assert_eq!(*ssrc, None);
        }
        other => panic!("{other:?}"),
    }
    h.c.play(None).unwrap();
    assert!(h
        .one_sent()
        .starts_with("PLAY rtsp://127.0.0.1:8554/proxyStream/ RTSP/1.0\r\n"));
    h.reply("RTSP/1.0 200 OK\nCSeq: 3\nRange: npt=0.000-\nSession: 8A3F00B1\nRTP-Info: url=rtsp://127.0.0.1:8554/proxyStream/track1;seq=11;rtptime=22\n\n");
    assert!(matches!(&h.outcomes()[..], [ClientEvent::Playing { .. }]));
    // No ssrc announced: lock to the first packet's.
    for pkt in jpeg_packets(11, 22, 0x1234, &scan(3, 500)) {
        h.datagram("0.0.0.0:45578", &pkt);
    }
    for pkt in jpeg_packets(12, 22, 0x9999, &scan(3, 500)) {
        h.datagram("0.0.0.0:45578", &pkt);
    }
    assert_eq!(h.frames().len(), 1);
    assert_eq!(h.c.stats().ssrc, Some(0x1234));
    // Keepalive: OPTIONS (no Public known) after min(32.5, 60) s.
    h.advance(Duration::from_millis(32_400));
    assert!(h.sent().iter().all(|s| !s.starts_with("OPTIONS")));
    h.advance(Duration::from_millis(100));
    let k = h.sent();
    let k = k
        .iter()
        .find(|s| s.starts_with("OPTIONS"))
        .expect("keepalive");
    assert!(k.starts_with("OPTIONS rtsp://127.0.0.1:8554/proxyStream/ RTSP/1.0\r\nCSeq: 4\r\n"));
    assert!(k.contains("\r\nSession: 8A3F00B1\r\n"));
    // TEARDOWN reply without Session.
    h.reply("RTSP/1.0 200 OK\nCSeq: 4\nPublic: OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE, GET_PARAMETER, SET_PARAMETER\n\n");
    h.c.teardown().unwrap();
    h.sent();
    h.reply("RTSP/1.0 200 OK\nCSeq: 5\nDate: Wed, Nov 25 2026 14:04:37 GMT\n\n");
    assert!(matches!(&h.outcomes()[..], [ClientEvent::TornDown]));
}

/// VLC: `Cseq:` spelling placed last, Content-Base without a trailing slash, absolute control
/// URL, `Session: ...;timeout=60` on every reply, Transport keeps `RTP/AVP/UDP`.
#[test]
fn vlc_quirks() {
    let mut h = Harness::url("rtsp://127.0.0.1:8554/x");
    h.connect();
    h.c.options().unwrap();
    h.sent();
    h.reply("RTSP/1.0 200 OK\nServer: VLC/3.0.24\nContent-Length: 0\nPublic: DESCRIBE,SETUP,TEARDOWN,PLAY,PAUSE,GET_PARAMETER\nCache-Control: no-cache\nCseq: 1\n\n");
    assert!(matches!(
        &h.events()[..],
        [ClientEvent::Response { cseq: 1, .. }]
    ));
    h.c.describe().unwrap();
    h.sent();
    let sdp = "v=0\no=- 16000 16000 IN IP4 myhost\ns=Unnamed\ni=N/A\nc=IN IP4 0.0.0.0\nt=0 0\na=tool:vlc 3.0.24\na=recvonly\na=type:broadcast\na=charset:UTF-8\na=control:rtsp://127.0.0.1:8554/x\nm=video 0 RTP/AVP 26\nb=RR:0\na=rtpmap:26 JPEG/90000\na=control:rtsp://127.0.0.1:8554/x/trackID=0\n";
    h.recv(describe_reply(2, "rtsp://127.0.0.1:8554/x", sdp, "Cseq").as_bytes());
    let p = match &h.outcomes()[..] {
        [ClientEvent::Described { presentation, .. }] => presentation.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(p.aggregate_url, "rtsp://127.0.0.1:8554/x");
    h.c.setup(udp()).unwrap();
    assert!(h
        .one_sent()
        .starts_with("SETUP rtsp://127.0.0.1:8554/x/trackID=0 RTSP/1.0\r\n"));
    h.reply("RTSP/1.0 200 OK\nServer: VLC/3.0.24\nContent-Length: 0\nTransport: RTP/AVP/UDP;unicast;client_port=45578-45579;server_port=50000-50001;ssrc=0A0B0C0D;mode=play\nSession: 0123456789abcdef;timeout=60\nCache-Control: no-cache\nCseq: 3\n\n");
    match &h.outcomes()[..] {
        [ClientEvent::SetupDone {
            session_id,
            timeout,
            ssrc,
            ..
        }] => {
            assert_eq!(session_id, "0123456789abcdef");
            assert_eq!(*timeout, Duration::from_secs(60));
            assert_eq!(*ssrc, Some(0x0A0B_0C0D));
        }
        other => panic!("{other:?}"),
    }
    h.c.play(Some(Range::parse("npt=0.000-").unwrap())).unwrap();
    let play = h.one_sent();
    assert!(play.starts_with("PLAY rtsp://127.0.0.1:8554/x RTSP/1.0\r\n"));
    assert!(play.contains("\r\nRange: npt=0"), "{play}");
    h.reply("RTSP/1.0 200 OK\nServer: VLC/3.0.24\nContent-Length: 0\nRange: npt=12.477960-\nRTP-Info: url=rtsp://127.0.0.1:8554/x/trackID=0;seq=1;rtptime=2\nSession: 0123456789abcdef;timeout=60\nCache-Control: no-cache\nCseq: 4\n\n");
    assert!(matches!(
        &h.outcomes()[..],
        [ClientEvent::Playing { range: Some(_), .. }]
    ));
    // Keepalive is GET_PARAMETER (VLC's Public lists it) at 30 s.
    h.advance(Duration::from_secs(30));
    assert!(h
        .sent()
        .iter()
        .any(|s| s.starts_with("GET_PARAMETER rtsp://127.0.0.1:8554/x RTSP/1.0\r\n")));
}

#[test]
fn tcp_interleaved_with_split_frames_and_rtcp_on_channel_1() {
    let mut h = Harness::url("rtsp://127.0.0.1:8554/test");
    h.connect();
    h.c.setup(TransportChoice::Tcp).unwrap();
    let s = h.one_sent();
    // No DESCRIBE: SETUP goes to the URL itself.
    assert!(s.starts_with("SETUP rtsp://127.0.0.1:8554/test RTSP/1.0\r\n"));
    assert!(s.contains("\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n"));
    h.reply("RTSP/1.0 200 OK\nCSeq: 1\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=B88C0421;mode=\"PLAY\"\nServer: GStreamer RTSP server\nSession: FuwPDmtYuh5MymUd\n\n");
    assert!(matches!(&h.outcomes()[..], [ClientEvent::SetupDone { .. }]));
    h.c.play(None).unwrap();
    assert!(h
        .one_sent()
        .starts_with("PLAY rtsp://127.0.0.1:8554/test RTSP/1.0\r\n"));
    // The PLAY reply and the first interleaved frames in one read.
    let mut bytes = crlf("RTSP/1.0 200 OK\nCSeq: 2\nRTP-Info: url=rtsp://127.0.0.1:8554/test/stream=0;seq=24334;rtptime=1099277083\nRange: npt=now-\nSession: FuwPDmtYuh5MymUd\n\n").into_bytes();
    let pkts = jpeg_packets(24334, 1099277083, 0xB88C_0421, &scan(9, 3500));
    let mut framed = Vec::new();
    for p in &pkts {
        let mut one = Vec::new();
        write_interleaved(0, p, &mut one);
        framed.push(one);
    }
    bytes.extend_from_slice(&framed[0]);
    h.recv(&bytes);
    assert!(matches!(&h.outcomes()[..], [ClientEvent::Playing { .. }]));
    // live555 writes the `$` header and the packet as separate segments; split further.
    for f in &framed[1..] {
        h.recv(&f[..4]);
        h.recv(&f[4..10]);
        h.recv(&f[10..]);
    }
    let frames = h.frames();
    assert_eq!(frames.len(), 1);
    assert_frame(&frames[0].1, &scan(9, 3500));
    // SR on channel 1, then our RR on channel 1.
    let mut sr = Vec::new();
    RtcpPacket::SenderReport(SenderReport {
        ssrc: 0xB88C_0421,
        ntp_time: NtpTime::from_parts(10, 0),
        ..SenderReport::default()
    })
    .write(&mut sr);
    let mut f = Vec::new();
    write_interleaved(1, &sr, &mut f);
    h.recv(&f);
    assert_eq!(h.c.stats().sender_reports, 1);
    h.advance(Duration::from_millis(7_500));
    let rr = std::mem::take(&mut h.stream)
        .into_iter()
        .find(|d| d.first() == Some(&b'$'))
        .expect("interleaved RR");
    assert_eq!(rr[1], 1);
    let len = usize::from(u16::from_be_bytes([rr[2], rr[3]]));
    assert_eq!(len, rr.len() - 4);
    let pkts = RtcpPacket::parse_compound(&rr[4..]).unwrap();
    assert!(matches!(&pkts[0], RtcpPacket::ReceiverReport(r) if r.reports[0].ssrc == 0xB88C_0421));
    assert!(h.udp.is_empty());
}

#[test]
fn request_timeout_reports_error() {
    let mut h = Harness::url("rtsp://127.0.0.1:8554/test");
    h.connect();
    h.advance(Duration::from_secs(100)); // idle for a long time: no timers
    assert_eq!(h.c.describe(), Ok(1));
    h.sent();
    h.advance(Duration::from_millis(9_990));
    assert!(h.events().is_empty());
    h.advance(Duration::from_millis(20));
    match &h.events()[..] {
        [ClientEvent::Error(ClientError::RequestTimeout {
            cseq: 1,
            method: Method::Describe,
        })] => {}
        other => panic!("{other:?}"),
    }
    // A late reply is ignored; the client can go on.
    h.recv(describe_reply(1, "rtsp://127.0.0.1:8554/test/", GST_SDP, "CSeq").as_bytes());
    assert!(h.events().is_empty());
    assert_eq!(h.c.describe(), Ok(2));
}

#[test]
fn api_errors_send_nothing() {
    let mut h = Harness::url("rtsp://127.0.0.1:8554/test");
    h.connect();
    assert_eq!(
        h.c.play(None),
        Err(ApiError::InvalidState {
            method: Method::Play,
            state: ClientState::Init
        })
    );
    assert!(matches!(h.c.pause(), Err(ApiError::InvalidState { .. })));
    assert!(matches!(h.c.teardown(), Err(ApiError::InvalidState { .. })));
    h.c.setup(udp()).unwrap();
    assert_eq!(
        h.c.setup(udp()),
        Err(ApiError::Busy {
            method: Method::Setup,
            pending: Method::Setup
        })
    );
    assert!(matches!(h.c.describe(), Err(ApiError::Busy { .. })));
    h.drain();
    assert_eq!(h.sent().len(), 1);
    // A failed SETUP leaves the state alone.
    h.reply("RTSP/1.0 461 Unsupported Transport\nCSeq: 1\n\n");
    assert!(matches!(
        &h.outcomes()[..],
        [ClientEvent::RequestFailed {
            method: Method::Setup,
            status: StatusCode::UNSUPPORTED_TRANSPORT
        }]
    ));
    assert_eq!(h.c.state(), ClientState::Init);
    assert_eq!(h.c.setup(TransportChoice::Tcp), Ok(2));
}

#[test]
fn bad_urls_are_rejected() {
    let now = Instant::now();
    for url in ["http://x/y", "rtsp://", "rtsp://h/a b", "x"] {
        assert!(matches!(
            Client::new(ClientConfig::new(url), now),
            Err(ClientError::InvalidUrl { .. })
        ));
    }
}

#[test]
fn garbage_on_the_control_stream_is_fatal() {
    let mut h = Harness::url("rtsp://127.0.0.1:8554/test");
    h.connect();
    h.c.options().unwrap();
    h.recv(b"\x00\x01\x02 garbage\r\n\r\n");
    let ev = h.events();
    assert!(
        matches!(
            &ev[..],
            [
                ClientEvent::Error(ClientError::Parse(_)),
                ClientEvent::Closed
            ]
        ),
        "{ev:?}"
    );
    assert!(h.closed);
    assert_eq!(h.deadline, None);
}

#[test]
fn connection_loss_closes() {
    let mut h = Harness::url("rtsp://127.0.0.1:8554/test");
    h.connect();
    h.c.describe().unwrap();
    h.input(Input::StreamClosed {
        now: h.now,
        conn: CONN,
    });
    let ev = h.events();
    assert!(matches!(
        &ev[..],
        [
            ClientEvent::Error(ClientError::ConnectionLost { pending: 1 }),
            ClientEvent::Closed
        ]
    ));
    assert!(!h.closed, "no Close for a connection already gone");
    assert_eq!(h.c.options(), Err(ApiError::Closed));
}

#[test]
fn connection_loss_with_a_session_and_nothing_outstanding_is_an_error() {
    let mut h = gst_playing("");
    h.input(Input::StreamClosed {
        now: h.now,
        conn: CONN,
    });
    let ev = h.outcomes();
    assert!(
        matches!(
            &ev[..],
            [
                ClientEvent::Error(ClientError::ConnectionLost { pending: 0 }),
                ClientEvent::Closed
            ]
        ),
        "{ev:?}"
    );
    assert_eq!(h.c.state(), ClientState::Closed);
    // Without a session (after TEARDOWN) a close is no error.
    let mut h = gst_playing("");
    h.c.teardown().unwrap();
    h.sent();
    h.reply("RTSP/1.0 200 OK\nCSeq: 5\nSession: _tM3Rk5yk5mNuuDx\n\n");
    assert!(matches!(&h.outcomes()[..], [ClientEvent::TornDown]));
    h.input(Input::StreamClosed {
        now: h.now,
        conn: CONN,
    });
    assert!(matches!(&h.outcomes()[..], [ClientEvent::Closed]));
}

#[test]
fn server_requests_get_501() {
    let mut h = Harness::url("rtsp://127.0.0.1:8554/test");
    h.connect();
    h.reply("OPTIONS * RTSP/1.0\nCSeq: 9\n\n");
    let r = h.one_sent();
    assert!(r.starts_with("RTSP/1.0 501 "), "{r}");
    assert!(r.contains("\r\nCSeq: 9\r\n"));
}

// ------------------------------------------------------------------------------------------
// Lab dialect

fn lab() -> Harness {
    let mut h = Harness::new(ClientConfig::lab("127.0.0.1:8554", "movie.Mjpeg"));
    h.connect();
    h
}

fn lab_udp() -> TransportChoice {
    TransportChoice::Udp {
        rtp_local: addr("0.0.0.0:25000"),
        rtcp_local: addr("0.0.0.0:25001"),
    }
}

/// What the lab server sends: version 0, PT 26, seq = frame number, SSRC 0, the whole JPEG.
fn lab_packet(frame: u16, jpeg: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    RtpHeader::new(26, frame, 1_764_079_467, 0).write_with_version(0, &mut v);
    v.extend_from_slice(jpeg);
    v
}

fn fake_jpeg(tag: u8) -> Vec<u8> {
    let mut v = vec![0xff, 0xd8, 0xff, 0xe0];
    v.extend(scan(tag, 5000));
    v.extend([0xff, 0xd9]);
    v
}

#[test]
fn lab_exchange_with_unterminated_replies() {
    let mut h = lab();
    assert_eq!(h.c.server(), ("127.0.0.1", 8554));
    assert!(matches!(h.c.options(), Err(ApiError::NotSupported { .. })));
    assert!(matches!(h.c.describe(), Err(ApiError::NotSupported { .. })));
    assert!(matches!(
        h.c.setup(TransportChoice::Tcp),
        Err(ApiError::NotSupported { .. })
    ));
    assert_eq!(h.c.setup(lab_udp()), Ok(1));
    assert_eq!(
        h.one_sent(),
        "SETUP movie.Mjpeg RTSP/1.0\nCSeq: 1\nTransport: RTP/UDP; client_port= 25000\n\n"
    );
    // The lab server's reply has no final line ending at all.
    h.recv(b"RTSP/1.0 200 OK\nCSeq: 1\nSession: 123456");
    assert!(h.events().is_empty());
    h.advance(Duration::from_millis(299));
    assert!(h.events().is_empty());
    h.advance(Duration::from_millis(1));
    match &h.outcomes()[..] {
        [ClientEvent::SetupDone { session_id, .. }] => assert_eq!(session_id, "123456"),
        other => panic!("{other:?}"),
    }
    assert_eq!(h.c.state(), ClientState::Ready);
    assert_eq!(h.deadline, None, "no keepalive or RTCP in the lab dialect");

    assert_eq!(h.c.play(None), Ok(2));
    assert_eq!(
        h.one_sent(),
        "PLAY movie.Mjpeg RTSP/1.0\nCSeq: 2\nSession: 123456\n\n"
    );
    // A reply in two pieces: the quiet period restarts with each.
    h.recv(b"RTSP/1.0 200 OK\nCSeq: 2\n");
    h.advance(Duration::from_millis(200));
    h.recv(b"Session: 123456");
    h.advance(Duration::from_millis(200));
    assert!(h.events().is_empty());
    h.advance(Duration::from_millis(100));
    assert!(matches!(&h.outcomes()[..], [ClientEvent::Playing { .. }]));

    // Lab RTP: version 0, one JPEG per packet; frame 3 lost; one non-JPEG.
    h.datagram("0.0.0.0:25000", &lab_packet(1, &fake_jpeg(1)));
    h.datagram("0.0.0.0:25000", &lab_packet(2, &fake_jpeg(2)));
    h.datagram("0.0.0.0:25000", &lab_packet(4, &fake_jpeg(4)));
    h.advance(Duration::from_millis(50));
    h.datagram("0.0.0.0:25000", &lab_packet(5, b"not a jpeg"));
    let frames = h.frames();
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[0].1.as_ref(), &fake_jpeg(1)[..]);
    assert_eq!(frames[2].1.as_ref(), &fake_jpeg(4)[..]);
    let st = h.c.stats();
    assert_eq!(
        (st.packets, st.frames, st.frames_dropped, st.lost),
        (4, 3, 1, 1)
    );
    assert!(h.udp.is_empty(), "no RTCP in the lab dialect");

    // One request at a time: TEARDOWN waits for the PAUSE reply.
    assert_eq!(h.c.pause(), Ok(3));
    assert_eq!(h.c.teardown(), Ok(4));
    assert_eq!(
        h.one_sent(),
        "PAUSE movie.Mjpeg RTSP/1.0\nCSeq: 3\nSession: 123456\n\n"
    );
    h.recv(b"RTSP/1.0 200 OK\nCSeq: 3\nSession: 123456");
    h.advance(Duration::from_millis(300));
    assert!(matches!(&h.outcomes()[..], [ClientEvent::Paused]));
    assert_eq!(
        h.one_sent(),
        "TEARDOWN movie.Mjpeg RTSP/1.0\nCSeq: 4\nSession: 123456\n\n"
    );
    h.recv(b"RTSP/1.0 200 OK\nCSeq: 4\nSession: 123456");
    h.advance(Duration::from_millis(300));
    assert!(matches!(&h.outcomes()[..], [ClientEvent::TornDown]));
}

#[test]
fn lab_reply_with_extra_lines_and_terminated_replies() {
    let mut h = lab();
    h.c.setup(lab_udp()).unwrap();
    h.sent();
    // A list of files in the reply, then a properly terminated one (our own server).
    h.recv(b"RTSP/1.0 200 OK\nCSeq: 1\nSession: 42\nmovie.Mjpeg\nother.Mjpeg");
    h.advance(Duration::from_millis(300));
    assert!(matches!(&h.outcomes()[..], [ClientEvent::SetupDone { .. }]));
    h.c.play(None).unwrap();
    h.sent();
    h.recv(b"RTSP/1.0 200 OK\r\nCSeq: 2\r\nSession: 42\r\n\r\n");
    assert!(
        matches!(&h.outcomes()[..], [ClientEvent::Playing { .. }]),
        "no wait when terminated"
    );
    // The connection closing flushes an unterminated reply first.
    h.c.pause().unwrap();
    h.sent();
    h.recv(b"RTSP/1.0 200 OK\nCSeq: 3\nSession: 42");
    h.input(Input::StreamClosed {
        now: h.now,
        conn: CONN,
    });
    let ev = h.outcomes();
    assert!(
        matches!(
            &ev[..],
            [
                ClientEvent::Paused,
                ClientEvent::Error(ClientError::ConnectionLost { pending: 0 }),
                ClientEvent::Closed
            ]
        ),
        "the session is lost: {ev:?}"
    );
}

// ------------------------------------------------------------------------------------------
// Robustness

/// xorshift64* for the fuzz-style tests.
struct Prng(u64);
impl Prng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn random_input_never_panics() {
    let mut rng = Prng(0x1234_5678_9abc_def1);
    let pieces: [&[u8]; 8] = [
        b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n",
        b"Session: abc;timeout=",
        b"Transport: RTP/AVP;unicast;server_port=1-",
        b"Content-Length: 99999999\r\n",
        b"\r\n\r\n",
        b"$\x00\x10\x00",
        b"RTP-Info: url=;seq=;rtptime=\r\n",
        b"\n\n\n",
    ];
    for round in 0..300 {
        let mut cfg = if round % 3 < 1 {
            ClientConfig::lab("h:1", "f")
        } else {
            ClientConfig::new("rtsp://h/s")
        };
        cfg.seed = rng.next();
        let mut h = Harness::new(cfg);
        h.connect();
        let _ = h.c.setup(if round & 1 == 0 {
            udp()
        } else {
            TransportChoice::Tcp
        });
        h.drain();
        for _ in 0..40 {
            match rng.next() % 6 {
                0 => {
                    let n = (rng.next() % 64) as usize;
                    let b = rng.bytes(n);
                    h.recv(&b);
                }
                1 => {
                    let p = pieces[(rng.next() % 8) as usize];
                    h.recv(p);
                }
                2 => {
                    let n = (rng.next() % 1500) as usize;
                    let mut b = rng.bytes(n);
                    if let Some(first) = b.first_mut() {
                        *first = 0x80;
                    }
                    let local = if rng.next() & 1 == 0 {
                        "0.0.0.0:45578"
                    } else {
                        "0.0.0.0:45579"
                    };
                    h.datagram(local, &b);
                }
                3 => h.advance(Duration::from_millis(rng.next() % 20_000)),
                4 => {
                    let _ = h.c.play(None);
                    let _ = h.c.pause();
                    h.drain();
                }
                _ => {
                    h.recv(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nSession: s1\r\nTransport: RTP/AVP/TCP;interleaved=0-1\r\n\r\n");
                    let pkts =
                        jpeg_packets(rng.next() as u16, 0, rng.next() as u32, &scan(1, 3000));
                    for p in &pkts {
                        let mut f = Vec::new();
                        write_interleaved(0, p, &mut f);
                        h.recv(&f);
                        h.datagram("0.0.0.0:45578", p);
                    }
                }
            }
            h.events();
            h.sent();
            h.udp.clear();
        }
    }
}

#[test]
fn client_is_send_and_absurd_durations_do_not_panic() {
    fn assert_send<T: Send>() {}
    assert_send::<Client>();
    assert_send::<ClientEvent>();

    let mut cfg = ClientConfig::new("rtsp://h/s");
    cfg.request_timeout = Duration::MAX;
    cfg.rtcp_interval = Duration::MAX;
    cfg.reorder_delay = Duration::MAX;
    cfg.end_of_stream_grace = Duration::MAX;
    let mut h = Harness::new(cfg);
    h.connect();
    h.c.setup(udp()).unwrap();
    h.reply("RTSP/1.0 200 OK\nCSeq: 1\nSession: x;timeout=4294967295\nTransport: RTP/AVP;unicast;server_port=1-2\n\n");
    assert!(matches!(&h.outcomes()[..], [ClientEvent::SetupDone { .. }]));
    for pkt in jpeg_packets(1, 0, 5, &scan(1, 3000)).iter().rev() {
        h.datagram("0.0.0.0:45578", pkt);
    }
    h.datagram("0.0.0.0:45579", &bye(5));
    h.advance(Duration::from_secs(3600));
    assert_eq!(h.c.state(), ClientState::Ready);
}

// ------------------------------------------------------------------------------------------
// End of stream, message trace, authentication, redirects

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

/// Frames and end-of-stream events, in order (`None` for the end).
fn media_events(h: &mut Harness) -> Vec<Option<bytes::Bytes>> {
    h.events()
        .into_iter()
        .filter_map(|e| match e {
            ClientEvent::Frame { data, .. } => Some(Some(data)),
            ClientEvent::EndOfStream { ssrc } => {
                assert_eq!(ssrc, GST_SSRC);
                Some(None)
            }
            _ => None,
        })
        .collect()
}

fn eos_count(events: &[ClientEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, ClientEvent::EndOfStream { .. }))
        .count()
}

#[test]
fn rtcp_bye_from_the_source_is_end_of_stream_once() {
    let mut h = gst_playing("");
    let grace = ClientConfig::new("rtsp://h/").end_of_stream_grace;
    assert_eq!(grace, DEFAULT_END_OF_STREAM_GRACE);
    // The last frame's packets arrive out of order: the held one is released before the event.
    let pkts = jpeg_packets(25069, 1000, GST_SSRC, &scan(1, 3000));
    h.datagram(RTP, &pkts[0]);
    h.datagram(RTP, &pkts[2]);
    h.datagram(RTP, &pkts[1]);
    // A BYE from someone else is not the end.
    h.datagram(RTCP, &bye(0x1234));
    assert!(h
        .outcomes()
        .iter()
        .all(|e| matches!(e, ClientEvent::Frame { .. })));
    h.datagram(RTCP, &bye(GST_SSRC));
    assert!(h.outcomes().is_empty(), "not before the grace is over");
    h.advance(grace);
    let ev = h.outcomes();
    assert!(
        matches!(&ev[..], [ClientEvent::EndOfStream { ssrc }] if *ssrc == GST_SSRC),
        "{ev:?}"
    );
    h.datagram(RTCP, &bye(GST_SSRC));
    h.advance(grace * 2);
    assert!(h.outcomes().is_empty(), "reported once");
    assert_eq!(h.c.stats().frames, 1);

    // The BYE a server sends in answer to our TEARDOWN is not an end of stream.
    let mut h = gst_playing("");
    h.c.teardown().unwrap();
    h.datagram(RTCP, &bye(GST_SSRC));
    h.advance(grace * 2);
    assert!(h.outcomes().is_empty());
}

/// RTP and RTCP come through different sockets (and reader threads): the last frame's RTP
/// may be handled after the BYE. It still becomes a frame, and the end comes after it, when
/// the grace is over — once, however many BYEs.
#[test]
fn rtcp_bye_over_udp_waits_for_the_last_rtp_still_on_its_way() {
    let mut h = gst_playing("");
    let grace = DEFAULT_END_OF_STREAM_GRACE;
    let (s1, s2) = (scan(1, 3000), scan(2, 3000));
    let first = jpeg_packets(25069, 1000, GST_SSRC, &s1);
    let last = jpeg_packets(25072, 4000, GST_SSRC, &s2);
    for p in &first {
        h.datagram(RTP, p);
    }
    h.datagram(RTP, &last[0]);
    h.advance(Duration::from_millis(1));
    h.datagram(RTCP, &bye(GST_SSRC));
    let bye_at = h.now;
    assert_eq!(h.deadline, Some(bye_at + grace), "the grace is a deadline");
    // The rest of the last frame, well inside the grace; a second BYE changes nothing.
    h.advance(Duration::from_millis(30));
    h.datagram(RTP, &last[1]);
    h.datagram(RTCP, &bye(GST_SSRC));
    assert_eq!(
        h.deadline,
        Some(bye_at + grace),
        "a second BYE does not extend it"
    );
    h.advance(Duration::from_millis(30));
    h.datagram(RTP, &last[2]);
    let ev = media_events(&mut h);
    assert_eq!(ev.len(), 2, "both frames, no end yet");
    assert_frame(ev[0].as_ref().unwrap(), &s1);
    assert_frame(ev[1].as_ref().unwrap(), &s2);
    // Not a moment early.
    h.advance(bye_at + grace - h.now - Duration::from_nanos(1));
    assert!(media_events(&mut h).is_empty());
    h.advance(Duration::from_nanos(1));
    assert_eq!(media_events(&mut h), vec![None]);
    assert!(h.deadline.is_some_and(|d| d > bye_at + grace));
    h.datagram(RTCP, &bye(GST_SSRC));
    h.advance(grace * 3);
    assert_eq!(eos_count(&h.events()), 0, "exactly once");
    assert_eq!(h.c.stats().frames, 2);
    assert_eq!(h.c.state(), ClientState::Playing, "the session stays");
}

/// When the grace is over, packets still waiting in the reordering buffer are released (the
/// frames they complete come out) before the end.
#[test]
fn end_of_stream_grace_releases_frames_held_for_reordering_first() {
    let mut cfg = ClientConfig::new("rtsp://127.0.0.1:8554/test");
    cfg.reorder_delay = Duration::from_secs(10);
    cfg.end_of_stream_grace = Duration::from_millis(100);
    let mut h = gst_playing_with(cfg, "");
    let (s1, s2) = (scan(1, 3000), scan(2, 3000));
    let a = jpeg_packets(25069, 1000, GST_SSRC, &s1);
    let b = jpeg_packets(25072, 4000, GST_SSRC, &s2);
    // a[1] is lost: a[2] and all of b wait behind the gap.
    h.datagram(RTP, &a[0]);
    for p in std::iter::once(&a[2]).chain(&b) {
        h.datagram(RTP, p);
    }
    h.datagram(RTCP, &bye(GST_SSRC));
    h.advance(Duration::from_millis(99));
    assert!(media_events(&mut h).is_empty());
    h.advance(Duration::from_millis(1));
    let ev = media_events(&mut h);
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert_frame(ev[0].as_ref().unwrap(), &s2);
    assert!(ev[1].is_none(), "the end after the frame");
    assert_eq!(h.c.stats().frames_dropped, 1);
}

/// With no grace the end is reported at once, still after the frames the reordering buffer
/// can complete.
#[test]
fn zero_grace_reports_the_end_at_once_after_held_frames() {
    let mut cfg = ClientConfig::new("rtsp://127.0.0.1:8554/test");
    cfg.reorder_delay = Duration::from_secs(10);
    cfg.end_of_stream_grace = Duration::ZERO;
    let mut h = gst_playing_with(cfg, "");
    let s2 = scan(2, 3000);
    let a = jpeg_packets(25069, 1000, GST_SSRC, &scan(1, 3000));
    h.datagram(RTP, &a[0]);
    for p in &jpeg_packets(25072, 4000, GST_SSRC, &s2) {
        h.datagram(RTP, p);
    }
    h.datagram(RTCP, &bye(GST_SSRC));
    let ev = media_events(&mut h);
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert_frame(ev[0].as_ref().unwrap(), &s2);
    assert!(ev[1].is_none());
}

#[test]
fn teardown_or_close_during_the_grace_cancels_the_end_of_stream() {
    let grace = DEFAULT_END_OF_STREAM_GRACE;
    // TEARDOWN sent during the grace, answered after it.
    let mut h = gst_playing("");
    h.datagram(RTCP, &bye(GST_SSRC));
    h.advance(grace / 2);
    h.c.teardown().unwrap();
    h.drain();
    // The request's timeout is armed at the next input.
    h.advance(Duration::ZERO);
    assert!(
        h.deadline.is_none_or(|d| d > h.now + grace),
        "no grace deadline left: {:?}",
        h.deadline
    );
    h.sent();
    h.advance(grace);
    h.reply("RTSP/1.0 200 OK\nCSeq: 5\nSession: _tM3Rk5yk5mNuuDx\n\n");
    h.advance(grace * 2);
    let ev = h.outcomes();
    assert_eq!(eos_count(&ev), 0, "{ev:?}");
    assert!(matches!(&ev[..], [ClientEvent::TornDown]), "{ev:?}");

    // TEARDOWN answered within the grace.
    let mut h = gst_playing("");
    h.datagram(RTCP, &bye(GST_SSRC));
    h.c.teardown().unwrap();
    h.reply("RTSP/1.0 200 OK\nCSeq: 5\nSession: _tM3Rk5yk5mNuuDx\n\n");
    h.advance(grace * 2);
    assert_eq!(eos_count(&h.events()), 0);

    // Closing during the grace.
    let mut h = gst_playing("");
    h.datagram(RTCP, &bye(GST_SSRC));
    h.advance(grace / 2);
    h.c.close();
    h.drain();
    assert_eq!(h.deadline, None);
    h.advance(grace * 2);
    let ev = h.events();
    assert!(matches!(&ev[..], [ClientEvent::Closed]), "{ev:?}");

    // The connection lost during the grace.
    let mut h = gst_playing("");
    h.datagram(RTCP, &bye(GST_SSRC));
    h.input(Input::StreamClosed {
        now: h.now,
        conn: CONN,
    });
    h.advance(grace * 2);
    assert_eq!(eos_count(&h.events()), 0);
}

/// A PLAY reply during the grace (a seek or restart sent before the BYE was handled): the old
/// stream's end is reported first, not in the middle of the new one.
#[test]
fn play_reply_during_the_grace_reports_the_end_first() {
    let mut h = gst_playing("");
    h.datagram(RTCP, &bye(GST_SSRC));
    h.c.play(None).unwrap();
    h.sent();
    h.reply("RTSP/1.0 200 OK\nCSeq: 5\nSession: _tM3Rk5yk5mNuuDx\n\n");
    let ev = h.outcomes();
    assert!(
        matches!(
            &ev[..],
            [ClientEvent::EndOfStream { .. }, ClientEvent::Playing { .. }]
        ),
        "{ev:?}"
    );
    h.advance(DEFAULT_END_OF_STREAM_GRACE * 2);
    assert_eq!(eos_count(&h.events()), 0);
}

/// Over TCP one ordered stream carries RTP and RTCP: no grace, and the frames received before
/// the BYE come before the end.
#[test]
fn rtcp_bye_on_the_interleaved_channel_is_end_of_stream() {
    let mut h = Harness::url("rtsp://127.0.0.1:8554/test");
    h.connect();
    h.c.setup(TransportChoice::Tcp).unwrap();
    h.sent();
    h.reply("RTSP/1.0 200 OK\nCSeq: 1\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=4E2C7C52\nSession: abc\n\n");
    h.c.play(None).unwrap();
    h.reply("RTSP/1.0 200 OK\nCSeq: 2\nSession: abc\n\n");
    h.events();
    let s1 = scan(1, 3000);
    let mut framed = Vec::new();
    for p in jpeg_packets(7, 1000, GST_SSRC, &s1) {
        write_interleaved(0, &p, &mut framed);
    }
    write_interleaved(1, &bye(GST_SSRC), &mut framed);
    h.recv(&framed);
    let ev = media_events(&mut h);
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert_frame(ev[0].as_ref().unwrap(), &s1);
    assert!(ev[1].is_none());
    h.recv(&framed);
    h.advance(Duration::from_secs(1));
    assert_eq!(eos_count(&h.events()), 0, "once");
}

#[test]
fn trace_reports_the_exchange_when_enabled() {
    let mut cfg = ClientConfig::new("rtsp://127.0.0.1:8554/test");
    cfg.trace_messages = true;
    let mut h = Harness::new(cfg);
    h.connect();
    h.c.options().unwrap();
    h.reply(GST_OPTIONS_REPLY);
    let traces: Vec<(bool, String)> = h
        .events()
        .into_iter()
        .filter_map(|e| match e {
            ClientEvent::Trace { outgoing, text } => Some((outgoing, text)),
            _ => None,
        })
        .collect();
    assert_eq!(traces.len(), 2, "{traces:?}");
    assert!(
        traces[0].0
            && traces[0]
                .1
                .starts_with("OPTIONS rtsp://127.0.0.1:8554/test RTSP/1.0")
    );
    assert!(!traces[1].0 && traces[1].1.starts_with("RTSP/1.0 200 OK"));
    assert!(traces[1].1.contains("GET_PARAMETER"));
    // Off by default.
    let mut h = Harness::url("rtsp://127.0.0.1:8554/test");
    h.connect();
    h.c.options().unwrap();
    h.reply(GST_OPTIONS_REPLY);
    assert!(!h
        .events()
        .iter()
        .any(|e| matches!(e, ClientEvent::Trace { .. })));
}

/// The `Authorization` header of a request, if any.
fn authorization(req: &str) -> Option<String> {
    req.split("\r\n")
        .find_map(|l| l.strip_prefix("Authorization: "))
        .map(str::to_string)
}

#[test]
fn digest_auth_from_url_credentials_retries_once_and_signs_later_requests() {
    use crate::auth::{verify_digest, Algorithm, Authorization, Challenge, Credentials};
    let mut h = Harness::url("rtsp://admin:se%3Acret@127.0.0.1:8554/test");
    h.connect();
    h.c.describe().unwrap();
    let first = h.one_sent();
    assert!(first.starts_with("DESCRIBE rtsp://127.0.0.1:8554/test RTSP/1.0"));
    assert!(
        authorization(&first).is_none(),
        "no credentials before a challenge"
    );
    let challenge = Challenge::digest("cam", "n0nce", Algorithm::Sha256);
    h.reply(&format!(
        "RTSP/1.0 401 Unauthorized\nCSeq: 1\nWWW-Authenticate: Basic realm=\"cam\"\nWWW-Authenticate: {}\n\n",
        challenge.to_header()
    ));
    // No failure reported: the request went out again with an answer to the Digest challenge.
    assert!(h.outcomes().is_empty());
    let retry = h.one_sent();
    assert!(retry.starts_with("DESCRIBE rtsp://127.0.0.1:8554/test RTSP/1.0\r\nCSeq: 2\r\n"));
    let creds = Credentials::new("admin", "se:cret");
    let auth = Authorization::parse(&authorization(&retry).unwrap()).unwrap();
    assert!(verify_digest(&auth, &challenge, "DESCRIBE", &creds));
    h.recv(describe_reply(2, "rtsp://127.0.0.1:8554/test/", GST_SDP, "CSeq").as_bytes());
    assert!(matches!(&h.outcomes()[..], [ClientEvent::Described { .. }]));
    // Later requests carry fresh answers (method, URI and nonce count change).
    h.c.setup(TransportChoice::Tcp).unwrap();
    let setup = h.one_sent();
    let auth = Authorization::parse(&authorization(&setup).unwrap()).unwrap();
    assert!(verify_digest(&auth, &challenge, "SETUP", &creds));
    assert!(authorization(&setup).unwrap().contains("nc=00000002"));
    // A second 401 for the retried request is final (wrong password).
    h.reply(&format!(
        "RTSP/1.0 401 Unauthorized\nCSeq: 3\nWWW-Authenticate: {}\n\n",
        challenge.to_header()
    ));
    assert!(
        h.one_sent().starts_with("SETUP "),
        "the first 401 of SETUP is retried"
    );
    h.reply(&format!(
        "RTSP/1.0 401 Unauthorized\nCSeq: 4\nWWW-Authenticate: {}\n\n",
        challenge.to_header()
    ));
    assert!(matches!(
        &h.outcomes()[..],
        [ClientEvent::RequestFailed { method: Method::Setup, status }] if *status == StatusCode::UNAUTHORIZED
    ));
    assert!(h.sent().is_empty());
}

#[test]
fn basic_auth_and_no_credentials() {
    let mut h = Harness::url("rtsp://Aladdin:open%20sesame@127.0.0.1:8554/test");
    h.connect();
    h.c.describe().unwrap();
    h.sent();
    h.reply("RTSP/1.0 401 Unauthorized\nCSeq: 1\nWWW-Authenticate: Basic realm=\"x\"\n\n");
    let retry = h.one_sent();
    assert_eq!(
        authorization(&retry).as_deref(),
        Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
    );
    // Without credentials a 401 is simply a failure.
    let mut h = Harness::url("rtsp://127.0.0.1:8554/test");
    h.connect();
    h.c.describe().unwrap();
    h.sent();
    h.reply("RTSP/1.0 401 Unauthorized\nCSeq: 1\nWWW-Authenticate: Basic realm=\"x\"\n\n");
    assert!(matches!(
        &h.outcomes()[..],
        [ClientEvent::RequestFailed {
            method: Method::Describe,
            ..
        }]
    ));
    assert!(h.sent().is_empty());
}

#[test]
fn redirect_is_reported_with_the_resolved_location() {
    let mut h = Harness::url("rtsp://127.0.0.1:8554/old");
    h.connect();
    h.c.describe().unwrap();
    h.sent();
    h.reply("RTSP/1.0 302 Found\nCSeq: 1\nLocation: rtsp://10.0.0.2:9554/new\n\n");
    match &h.outcomes()[..] {
        [ClientEvent::Redirected {
            method: Method::Describe,
            status,
            location,
        }] => {
            assert_eq!(*status, StatusCode::FOUND);
            assert_eq!(location, "rtsp://10.0.0.2:9554/new");
        }
        other => panic!("{other:?}"),
    }
    // A relative Location resolves against the request-URI; 301 too.
    let mut h = Harness::url("rtsp://127.0.0.1:8554/old");
    h.connect();
    h.c.describe().unwrap();
    h.sent();
    h.reply("RTSP/1.0 301 Moved Permanently\nCSeq: 1\nLocation: /moved/here\n\n");
    assert!(matches!(
        &h.outcomes()[..],
        [ClientEvent::Redirected { location, .. }] if location == "rtsp://127.0.0.1:8554/moved/here"
    ));
    // A 3xx without Location is a failure.
    let mut h = Harness::url("rtsp://127.0.0.1:8554/old");
    h.connect();
    h.c.describe().unwrap();
    h.sent();
    h.reply("RTSP/1.0 302 Found\nCSeq: 1\n\n");
    assert!(matches!(
        &h.outcomes()[..],
        [ClientEvent::RequestFailed { .. }]
    ));
}

/// Fuzz `client-bad-uri` (fuzz/artifacts/client_session/crash-328326a4…): a DESCRIBE reply with
/// `Content-Base: not a url` made the client send `SETUP not a url/track1 RTSP/1.0`. Bad
/// Content-Base / Content-Location / control URLs are ignored; the request URL is used instead.
#[test]
fn invalid_content_base_and_controls_fall_back_to_valid_urls() {
    let request_line_ok = |req: &str| {
        let line = req.lines().next().unwrap();
        assert_eq!(line.split(' ').count(), 3, "{line:?}");
        crate::message::Decoder::default()
            .decode(&mut bytes::BytesMut::from(req.as_bytes()))
            .unwrap_or_else(|e| panic!("{req:?}: {e}"))
            .expect("a whole request");
    };
    let sdp = "v=0\no=- 1 1 IN IP4 1.2.3.4\ns=x\nt=0 0\na=control:*\nm=video 0 RTP/AVP 26\na=control:track1\n";
    let setup_uri = |headers: &str, sdp: &str| {
        let mut h = Harness::url("rtsp://127.0.0.1:8554/test");
        h.connect();
        h.c.describe().unwrap();
        h.sent();
        let body = crlf(sdp);
        h.recv(
            format!(
                "RTSP/1.0 200 OK\r\nCSeq: 1\r\n{headers}Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
        assert!(matches!(&h.outcomes()[..], [ClientEvent::Described { .. }]));
        h.c.setup(udp()).unwrap();
        let s = h.one_sent();
        request_line_ok(&s);
        let uri = s.split(' ').nth(1).unwrap().to_string();
        h.reply("RTSP/1.0 200 OK\nCSeq: 2\nTransport: RTP/AVP;unicast;client_port=45578-45579;server_port=60682-60683\nSession: 1234\n\n");
        h.c.play(None).unwrap();
        let p = h.one_sent();
        request_line_ok(&p);
        (uri, p.split(' ').nth(1).unwrap().to_string())
    };
    // The artifact's case: Content-Base with blanks → the request URL is the base.
    assert_eq!(
        setup_uri("Content-Base: not a url\r\n", sdp),
        (
            "rtsp://127.0.0.1:8554/test/track1".into(),
            "rtsp://127.0.0.1:8554/test".into()
        )
    );
    // Not an rtsp:// URL, or with Unicode blanks / control characters.
    for bad in [
        "http://h/x/",
        "rtsp://h/a\u{2005}b/",
        "rtsp://h/\u{85}/",
        "track1",
    ] {
        let (setup, _) = setup_uri(&format!("Content-Base: {bad}\r\n"), sdp);
        assert_eq!(setup, "rtsp://127.0.0.1:8554/test/track1", "{bad:?}");
    }
    // A bad Content-Base falls back to a good Content-Location.
    assert_eq!(
        setup_uri(
            "Content-Base: not a url\r\nContent-Location: rtsp://127.0.0.1:8554/loc/\r\n",
            sdp
        )
        .0,
        "rtsp://127.0.0.1:8554/loc/track1"
    );
    // Controls that do not resolve to a valid URL are replaced by the base.
    let bad_controls = sdp
        .replace("a=control:*", "a=control:rtsp://h/a b")
        .replace("a=control:track1", "a=control:tr ack1");
    assert_eq!(
        setup_uri("Content-Base: rtsp://127.0.0.1:8554/b/\r\n", &bad_controls),
        (
            "rtsp://127.0.0.1:8554/b/".into(),
            "rtsp://127.0.0.1:8554/b/".into()
        )
    );
}
