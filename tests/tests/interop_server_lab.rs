//! Our server over raw sockets (mio runtime, loopback): the original course-lab client's
//! dialect byte for byte, and the headers/SDP a standards-following player relies on.

use it::make_media_dir;
use it::peers::{recv_datagrams, req, udp_pair, EventServer, RawRtsp};
use rtsp_core::server::ServerConfig;
use std::net::UdpSocket;
use std::time::Duration;

const FPS: f64 = 50.0;

/// RTP fields of one packet: (pt, marker, seq, ts, payload).
fn rtp(d: &[u8]) -> (u8, bool, u16, u32, &[u8]) {
    assert!(d.len() >= 12, "short RTP packet");
    (
        d[1] & 0x7F,
        d[1] & 0x80 != 0,
        u16::from_be_bytes([d[2], d[3]]),
        u32::from_be_bytes([d[4], d[5], d[6], d[7]]),
        &d[12..],
    )
}

/// What the Python lab client's `parseRtspReply` reads: status on line 1, `CSeq: N` on
/// line 2, `Session: <integer>` on line 3.
fn lab_reply(conn: &mut RawRtsp, cseq: u32) -> u128 {
    let r = conn.read_response().expect("reply");
    assert_eq!(r.status, 200, "{:?}", r.lines);
    assert_eq!(r.lines[1], format!("CSeq: {cseq}"), "{:?}", r.lines);
    let (name, value) = r.lines[2].split_once(' ').expect("line 3");
    assert_eq!(name, "Session:", "{:?}", r.lines);
    value.parse().expect("numeric session id")
}

/// The lab client: LF-only lines, no final empty line, a bare file name,
/// `Transport: RTP/UDP; client_port= N`; it gets one whole JPEG per RTP packet (PT 26, no
/// RFC 2435 header), numbered 1, 2, 3, ...
#[test]
fn course_lab_client_over_raw_sockets() {
    let (dir, name, frames) = make_media_dir(30, true);
    assert_eq!(name, "movie.Mjpeg");
    let server = EventServer::start(dir.path(), FPS, ServerConfig::default());
    let rtp_sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let port = rtp_sock.local_addr().expect("addr").port();
    let mut c = RawRtsp::connect(server.addr()).expect("connect");

    c.send(
        format!("SETUP {name} RTSP/1.0\nCSeq: 1\nTransport: RTP/UDP; client_port= {port}")
            .as_bytes(),
    )
    .expect("send");
    let session = lab_reply(&mut c, 1);
    c.send(format!("PLAY {name} RTSP/1.0\nCSeq: 2\nSession: {session}").as_bytes())
        .expect("send");
    assert_eq!(lab_reply(&mut c, 2), session);
    let got = recv_datagrams(&rtp_sock, 15, Duration::from_secs(10));
    assert_eq!(got.len(), 15, "whole-frame RTP packets");
    for (i, d) in got.iter().enumerate() {
        let (pt, _, seq, _, payload) = rtp(d);
        assert_eq!(pt, 26);
        assert_eq!(seq, i as u16 + 1, "lab numbering from 1, growing");
        assert!(d.len() <= 20_480, "fits the lab client's receive buffer");
        assert_eq!(
            payload,
            &frames[i][..],
            "packet {i} is the whole JPEG of frame {i}"
        );
    }
    c.send(format!("PAUSE {name} RTSP/1.0\nCSeq: 3\nSession: {session}").as_bytes())
        .expect("send");
    assert_eq!(lab_reply(&mut c, 3), session);
    c.send(format!("PLAY {name} RTSP/1.0\nCSeq: 4\nSession: {session}").as_bytes())
        .expect("send");
    assert_eq!(lab_reply(&mut c, 4), session);
    // After the pause, numbers keep growing (packets sent before the PAUSE reply may still
    // be queued; skip them).
    let more = recv_datagrams(&rtp_sock, 30, Duration::from_secs(10));
    let seqs: Vec<u16> = more.iter().map(|d| rtp(d).2).collect();
    assert!(seqs.windows(2).all(|w| w[1] > w[0]), "{seqs:?}");
    assert!(seqs.iter().all(|&s| s > 15), "{seqs:?}");
    c.send(format!("TEARDOWN {name} RTSP/1.0\nCSeq: 5\nSession: {session}").as_bytes())
        .expect("send");
    assert_eq!(lab_reply(&mut c, 5), session);
}

/// DESCRIBE/SETUP/PLAY headers and SDP against the list: Content-Base, Date, Server,
/// `Session: id;timeout=T` below the enforced timeout, a=range, a=framerate, x-dimensions,
/// RTP-Info equal to the first packet, Range on PLAY, seeking.
#[test]
fn standard_headers_and_sdp() {
    let (dir, name, _) = make_media_dir(50, false);
    let server = EventServer::start(dir.path(), FPS, ServerConfig::default());
    let url = server.url(&name);
    let mut c = RawRtsp::connect(server.addr()).expect("connect");

    let r = c
        .request(&req("DESCRIBE", &url, 1, &["Accept: application/sdp"]))
        .expect("DESCRIBE");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("CSeq"), Some("1"));
    assert_eq!(r.header("Content-Base"), Some(format!("{url}/").as_str()));
    assert_eq!(r.header("Content-Type"), Some("application/sdp"));
    let date = r.header("Date").expect("Date");
    assert!(
        date.ends_with(" GMT") && date.len() == 29,
        "RFC 1123 date: {date}"
    );
    assert!(r.header("Server").is_some());
    let sdp = String::from_utf8(r.body.clone()).expect("SDP text");
    for needle in [
        "v=0",
        "m=video 0 RTP/AVP 26",
        "a=rtpmap:26 JPEG/90000",
        "a=control:stream=0",
        "a=range:npt=0-1",
        "a=framerate:50",
        "a=x-dimensions:384,288",
    ] {
        assert!(sdp.contains(needle), "SDP lacks {needle:?}:\n{sdp}");
    }

    let (rtp_sock, _rtcp) = udp_pair();
    let port = rtp_sock.local_addr().expect("addr").port();
    let r = c
        .request(&req(
            "SETUP",
            &format!("{url}/stream=0"),
            2,
            &[&format!(
                "Transport: RTP/AVP;unicast;client_port={port}-{}",
                port + 1
            )],
        ))
        .expect("SETUP");
    assert_eq!(r.status, 200);
    let session = r.header("Session").expect("Session");
    let (sid, timeout) = session.split_once(";timeout=").expect("timeout parameter");
    let timeout: u64 = timeout.parse().expect("seconds");
    assert!(
        (50..60).contains(&timeout),
        "advertised {timeout} s, enforced 60 s"
    );
    let transport = r.header("Transport").expect("Transport");
    assert!(transport.contains("server_port="), "{transport}");
    assert!(transport.contains("ssrc="), "{transport}");

    let sess = format!("Session: {sid}");
    let r = c
        .request(&req(
            "PLAY",
            &format!("{url}/"),
            3,
            &[&sess, "Range: npt=0.000-"],
        ))
        .expect("PLAY");
    assert_eq!(r.status, 200);
    assert!(
        r.header("Range").expect("Range").starts_with("npt=0"),
        "{:?}",
        r.lines
    );
    let (seq, rtptime) = rtp_info(r.header("RTP-Info").expect("RTP-Info"));
    let first = recv_datagrams(&rtp_sock, 1, Duration::from_secs(10));
    let (pt, _, s, ts, _) = rtp(&first[0]);
    assert_eq!((pt, s, ts), (26, seq, rtptime), "RTP-Info = first packet");

    // PAUSE, then seek to 0.5 s: RTP-Info again names the first packet after the seek.
    let r = c.request(&req("PAUSE", &url, 4, &[&sess])).expect("PAUSE");
    assert_eq!(r.status, 200);
    let r = c
        .request(&req("PLAY", &url, 5, &[&sess, "Range: npt=0.5-"]))
        .expect("PLAY");
    assert_eq!(r.status, 200);
    assert!(
        r.header("Range").expect("Range").starts_with("npt=0.5"),
        "{:?}",
        r.lines
    );
    let (seq, rtptime) = rtp_info(r.header("RTP-Info").expect("RTP-Info"));
    // Drain until the packet with that sequence number (earlier ones were in flight).
    let pkts = recv_datagrams(&rtp_sock, 400, Duration::from_secs(2));
    let p = pkts
        .iter()
        .map(|d| rtp(d))
        .find(|p| p.2 == seq)
        .expect("the packet RTP-Info announced");
    assert_eq!(p.3, rtptime);
    // Seeking past the end: 457.
    let r = c
        .request(&req("PLAY", &url, 6, &[&sess, "Range: npt=99-"]))
        .expect("PLAY");
    assert_eq!(r.status, 457);
    let r = c
        .request(&req("TEARDOWN", &url, 7, &[&sess]))
        .expect("TEARDOWN");
    assert_eq!(r.status, 200);
}

fn rtp_info(v: &str) -> (u16, u32) {
    let mut seq = None;
    let mut ts = None;
    for p in v.split(';') {
        if let Some(s) = p.trim().strip_prefix("seq=") {
            seq = s.parse().ok();
        }
        if let Some(s) = p.trim().strip_prefix("rtptime=") {
            ts = s.parse().ok();
        }
    }
    (seq.expect("seq"), ts.expect("rtptime"))
}
