//! Publishing: ANNOUNCE, SETUP with `mode=record`, RECORD; the publisher's RTP (UDP or
//! interleaved) reassembled and fanned out to the readers of the path; one publisher per
//! path; readers that outlive their publisher and see frames resume from the next one.

use super::*;
use rtp_core::jpeg::JpegDepacketizer;
use rtp_core::RtpPacket;

const C2: ConnId = ConnId(2);
const C3: ConnId = ConnId(3);
/// Where the UDP publisher sends from (its client port, at the peer's address).
const PUB_RTP: &str = "192.168.1.7:7000";

fn live_config(replace: bool) -> ServerConfig {
    let live = LivePaths::new();
    live.add("pushed", LiveSource::Publisher { replace });
    live.add("relay", LiveSource::Pulled { on_demand: false });
    ServerConfig { live, ..config() }
}

fn harness(replace: bool) -> H {
    let mut h = H::with_catalog(
        live_config(replace),
        Box::new(H::test_catalog()),
        Arc::default(),
    );
    for c in [C1, C2, C3] {
        h.connect(c);
    }
    h
}

const SDP: &str = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=cam\r\nt=0 0\r\n\
                   m=video 0 RTP/AVP 26\r\na=control:streamid=0\r\na=framerate:25\r\n";

fn announce(h: &mut H, conn: ConnId, path: &str, sdp: &str, content_type: &str) -> Response {
    h.request(
        conn,
        &format!(
            "ANNOUNCE rtsp://h/{path} RTSP/1.0\r\nCSeq: 1\r\nContent-Type: {content_type}\r\n\
             Content-Length: {}\r\n\r\n{sdp}",
            sdp.len()
        ),
    )
}

/// ANNOUNCE and SETUP (`transport`, with `mode=record`) of `pushed` on `conn`: the
/// publisher's session id.
fn announce_and_setup(h: &mut H, conn: ConnId, transport: &str) -> String {
    let r = announce(h, conn, "pushed", SDP, "application/sdp");
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let r = h.setup(
        conn,
        "rtsp://h/pushed/streamid=0",
        2,
        &format!("{transport};mode=record"),
    );
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    assert!(header(&r, "Transport").unwrap().contains("mode=record"));
    session_of(&r)
}

/// The same, then RECORD: the publisher's session id.
fn publish(h: &mut H, conn: ConnId, transport: &str) -> String {
    let sid = announce_and_setup(h, conn, transport);
    let r = h.request(conn, &with_session("RECORD", "rtsp://h/pushed/", 3, &sid));
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    sid
}

/// The RTP packets of test frame `i` as a publisher sends them: RFC 2435 payloads of the
/// one packetization, PT 26, timestamp `ts`, sequence numbers from `seq`.
fn frame_packets(i: usize, ts: u32, seq: u16) -> Vec<Vec<u8>> {
    let media = test_media("src");
    let frags = media.fragments(i % FRAMES as usize).unwrap();
    frags
        .iter()
        .enumerate()
        .map(|(n, payload)| {
            let marker = n + 1 == frags.len();
            let mut p = vec![0x80, if marker { 0x80 | 26 } else { 26 }];
            p.extend_from_slice(&seq.wrapping_add(n as u16).to_be_bytes());
            p.extend_from_slice(&ts.to_be_bytes());
            p.extend_from_slice(&0x1234_5678u32.to_be_bytes());
            p.extend_from_slice(payload);
            p
        })
        .collect()
}

/// Sends test frames `range` from the UDP publisher, 40 ms apart; returns the next sequence
/// number.
fn send_udp_frames(h: &mut H, range: std::ops::Range<usize>, mut seq: u16) -> u16 {
    for i in range {
        for p in frame_packets(i, 1000 + 3600 * i as u32, seq) {
            h.datagram(rtp_local(), addr(PUB_RTP), &p);
            seq = seq.wrapping_add(1);
        }
        h.advance(Duration::from_millis(40));
    }
    seq
}

/// DESCRIBE, SETUP and PLAY of `pushed` on `conn` over UDP to `ports`: the reader's id.
fn read(h: &mut H, conn: ConnId, ports: &str) -> String {
    let r = h.ask(conn, "DESCRIBE", "rtsp://h/pushed", 1, &[]);
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let r = h.setup(
        conn,
        "rtsp://h/pushed/stream=0",
        2,
        &format!("RTP/AVP;unicast;client_port={ports}"),
    );
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    let sid = session_of(&r);
    let r = h.request(conn, &with_session("PLAY", "rtsp://h/pushed/", 3, &sid));
    assert_eq!(r.status, StatusCode::OK, "{r:?}");
    sid
}

/// The frames a reader got from its RTP packets (as a player reassembles them):
/// (RTP timestamp, scan data).
fn received(packets: &[Vec<u8>]) -> Vec<(u32, Vec<u8>)> {
    let mut d = JpegDepacketizer::new(1 << 20);
    let mut out = Vec::new();
    for p in packets {
        d.push(&RtpPacket::parse(p).unwrap()).unwrap();
        while let Some(f) = d.pull() {
            let info = mjpeg::parse_jpeg(&f.data).unwrap();
            out.push((f.timestamp, info.scan(&f.data).to_vec()));
        }
    }
    out
}

fn scan_of(i: usize) -> Vec<u8> {
    let jpeg = &test_frames()[i % FRAMES as usize];
    mjpeg::parse_jpeg(jpeg).unwrap().scan(jpeg).to_vec()
}

#[test]
fn a_udp_publisher_feeds_every_reader() {
    let mut h = harness(false);
    // Nobody publishes yet: nothing to read.
    let r = h.ask(C2, "DESCRIBE", "rtsp://h/pushed", 1, &[]);
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let p = publish(&mut h, C1, "RTP/AVP/UDP;unicast;client_port=7000-7001");
    assert!(events(&h.outs)
        .iter()
        .any(|e| matches!(e, ServerEvent::Recording { stream, .. } if stream == "pushed")));
    let seq = send_udp_frames(&mut h, 0..2, 100);
    // The first frame described the path.
    let a = read(&mut h, C2, "5000-5001");
    let b = read(&mut h, C3, "6000-6001");
    h.take();
    send_udp_frames(&mut h, 2..7, seq);
    let outs = h.take();
    for (reader, port) in [(&a, 5000), (&b, 6000)] {
        let got = received(&udp(
            &outs,
            rtp_local(),
            addr(&format!("192.168.1.7:{port}")),
        ));
        assert_eq!(got.len(), 5, "{reader}");
        for (n, (ts, scan)) in got.iter().enumerate() {
            assert_eq!(scan, &scan_of(2 + n), "frame {n} scan data");
            if n > 0 {
                assert_eq!(ts.wrapping_sub(got[n - 1].0), 3600, "the publisher's clock");
            }
        }
    }
    let published = events(&outs)
        .iter()
        .filter(|e| matches!(e, ServerEvent::Published { .. }))
        .count();
    assert_eq!(
        published, 5,
        "one event per frame, for the other event loops"
    );
    let stats = h.server.intake_stats(&p).unwrap();
    assert_eq!((stats.frames, stats.frames_dropped), (7, 0));
    assert_eq!(h.server.live_readers("pushed"), 2);
    assert_eq!(h.server.config().live.readers("pushed"), 2);
}

#[test]
fn an_interleaved_publisher_feeds_readers() {
    let mut h = harness(false);
    publish(&mut h, C1, "RTP/AVP/TCP;unicast;interleaved=0-1");
    let mut wire = Vec::new();
    for p in frame_packets(0, 5000, 1) {
        crate::message::write_interleaved(0, &p, &mut wire);
    }
    h.send(C1, &wire);
    let a = read(&mut h, C2, "5000-5001");
    h.take();
    let mut wire = Vec::new();
    let mut seq = 1 + frame_packets(0, 0, 0).len() as u16;
    for i in 1..4 {
        for p in frame_packets(i, 5000 + 3600 * i as u32, seq) {
            crate::message::write_interleaved(0, &p, &mut wire);
            seq += 1;
        }
    }
    // All at once, split at an awkward place: the decoder reassembles the `$` frames.
    h.send(C1, &wire[..333]);
    h.send(C1, &wire[333..]);
    let got = received(&udp(&h.take(), rtp_local(), addr("192.168.1.7:5000")));
    let scans: Vec<Vec<u8>> = got.into_iter().map(|(_, s)| s).collect();
    assert_eq!(scans, (1..4).map(scan_of).collect::<Vec<_>>(), "{a}");
}

#[test]
fn one_publisher_per_path() {
    let mut h = harness(false);
    publish(&mut h, C1, "RTP/AVP/UDP;unicast;client_port=7000-7001");
    let r = announce(&mut h, C2, "pushed", SDP, "application/sdp");
    assert_eq!(r.status, StatusCode::METHOD_NOT_VALID_IN_THIS_STATE);
    // Paths nobody may publish: files, pulled paths, unknown names.
    for path in ["test", "relay", "nothing"] {
        let r = announce(&mut h, C2, path, SDP, "application/sdp");
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert!(!header(&r, "Allow").unwrap().contains("ANNOUNCE"));
    }
}

#[test]
fn a_new_publisher_replaces_the_old_where_configured() {
    let mut h = harness(true);
    let first = publish(&mut h, C1, "RTP/AVP/UDP;unicast;client_port=7000-7001");
    let second = publish(&mut h, C2, "RTP/AVP/TCP;unicast;interleaved=0-1");
    assert!(events(&h.outs).iter().any(|e| matches!(e,
        ServerEvent::SessionClosed { session, reason: CloseReason::Kicked } if *session == first)));
    assert_eq!(h.server.config().live.publisher("pushed"), Some(second));
    assert!(h.server.session_stats(&first).is_none());
    // The old one's packets go nowhere now.
    let before = h.server.config().live.status()[0].frames;
    send_udp_frames(&mut h, 0..1, 1);
    assert_eq!(h.server.config().live.status()[0].frames, before);
}

#[test]
fn announce_and_record_are_checked() {
    let mut h = harness(false);
    // Not SDP, or SDP without JPEG video.
    let r = announce(&mut h, C1, "pushed", "hello", "text/plain");
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let h264 = "v=0\r\ns=x\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n";
    let r = announce(&mut h, C1, "pushed", h264, "application/sdp");
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = announce(&mut h, C1, "pushed", "garbage", "application/sdp");
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // SETUP to record without ANNOUNCE on this connection.
    let r = h.setup(
        C2,
        "rtsp://h/pushed/streamid=0",
        2,
        "RTP/AVP/UDP;unicast;client_port=7000-7001;mode=record",
    );
    assert_eq!(r.status, StatusCode::METHOD_NOT_VALID_IN_THIS_STATE);
    // A publisher cannot PLAY, a reader cannot RECORD.
    let p = publish(&mut h, C1, "RTP/AVP/UDP;unicast;client_port=7000-7001");
    let r = h.request(C1, &with_session("PLAY", "rtsp://h/pushed/", 9, &p));
    assert_eq!(r.status, StatusCode::METHOD_NOT_VALID_IN_THIS_STATE);
    let r = h.request(C1, &with_session("PAUSE", "rtsp://h/pushed/", 10, &p));
    assert_eq!(r.status, StatusCode::METHOD_NOT_VALID_IN_THIS_STATE);
    let sid = h.setup_udp(C3, "rtsp://h/test/stream=0");
    let r = h.request(C3, &with_session("RECORD", "rtsp://h/test/", 11, &sid));
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    send_udp_frames(&mut h, 0..1, 1);
    let reader = read(&mut h, C3, "5000-5001");
    let r = h.request(C3, &with_session("RECORD", "rtsp://h/pushed/", 12, &reader));
    assert_eq!(r.status, StatusCode::METHOD_NOT_VALID_IN_THIS_STATE);
    // Another connection cannot RECORD into the publisher's session.
    let r = h.request(C2, &with_session("RECORD", "rtsp://h/pushed/", 13, &p));
    assert_eq!(r.status, StatusCode::SESSION_NOT_FOUND);
    h.server.assert_indexes();
}

#[test]
fn packets_before_record_and_from_strangers_are_dropped() {
    let mut h = harness(false);
    let p = announce_and_setup(&mut h, C1, "RTP/AVP/UDP;unicast;client_port=7000-7001");
    send_udp_frames(&mut h, 0..1, 1);
    let dropped = h.server.intake_stats(&p).unwrap().packets_dropped;
    assert_eq!(dropped, frame_packets(0, 0, 0).len() as u64);
    let r = h.request(C1, &with_session("RECORD", "rtsp://h/pushed/", 3, &p));
    assert_eq!(r.status, StatusCode::OK);
    // Another host's packets, garbage from the publisher, another payload type.
    for pk in frame_packets(1, 0, 50) {
        h.datagram(rtp_local(), addr("192.168.1.99:7000"), &pk);
    }
    h.datagram(rtp_local(), addr(PUB_RTP), b"\x00garbage");
    let mut other_pt = frame_packets(1, 0, 60).remove(0);
    other_pt[1] = 96;
    h.datagram(rtp_local(), addr(PUB_RTP), &other_pt);
    let s = h.server.intake_stats(&p).unwrap();
    assert_eq!((s.frames, s.packets_dropped), (0, dropped + 2));
    send_udp_frames(&mut h, 2..3, 70);
    assert_eq!(h.server.intake_stats(&p).unwrap().frames, 1);
}

#[test]
fn readers_outlive_their_publisher_and_frames_resume() {
    let mut h = harness(false);
    let p = publish(&mut h, C1, "RTP/AVP/UDP;unicast;client_port=7000-7001");
    let seq = send_udp_frames(&mut h, 0..1, 1);
    let a = read(&mut h, C2, "5000-5001");
    send_udp_frames(&mut h, 1..3, seq);
    let r = h.request(C1, &with_session("TEARDOWN", "rtsp://h/pushed/", 9, &p));
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(h.server.config().live.publisher("pushed"), None);
    // Two seconds without a publisher: the reader keeps its session, and the path stays
    // described.
    h.advance(Duration::from_secs(2));
    assert!(h.server.session_stats(&a).is_some());
    let r = h.ask(C3, "DESCRIBE", "rtsp://h/pushed", 1, &[]);
    assert_eq!(r.status, StatusCode::OK);
    // A new publisher, with its own clock and sequence numbers.
    publish(&mut h, C3, "RTP/AVP/TCP;unicast;interleaved=0-1");
    let mut wire = Vec::new();
    let mut seq = 40_000u16;
    for i in 5..7 {
        for pk in frame_packets(i, 7_777_777 + 3600 * i as u32, seq) {
            crate::message::write_interleaved(0, &pk, &mut wire);
            seq = seq.wrapping_add(1);
        }
    }
    h.send(C3, &wire);
    let got = received(&udp(&h.take(), rtp_local(), addr("192.168.1.7:5000")));
    assert_eq!(got.len(), 4);
    assert_eq!(got[2].1, scan_of(5));
    assert_eq!(got[3].1, scan_of(6));
    // The reader's timeline went on: the pause, not the new publisher's clock.
    let gap = got[2].0.wrapping_sub(got[1].0);
    assert!((180_000..200_000).contains(&gap), "gap {gap}");
    assert_eq!(got[3].0.wrapping_sub(got[2].0), 3600);
}

#[test]
fn a_silent_publisher_times_out_and_frees_the_path() {
    let mut h = harness(false);
    let p = publish(&mut h, C1, "RTP/AVP/UDP;unicast;client_port=7000-7001");
    // Packets keep it alive past the timeout.
    let mut seq = 1;
    for _ in 0..5 {
        seq = send_udp_frames(&mut h, 0..1, seq);
        h.advance(Duration::from_secs(15));
    }
    assert!(h.server.intake_stats(&p).is_some());
    h.advance(Duration::from_secs(61));
    assert!(h.server.intake_stats(&p).is_none());
    assert_eq!(h.server.config().live.publisher("pushed"), None);
    let r = announce(&mut h, C2, "pushed", SDP, "application/sdp");
    assert_eq!(r.status, StatusCode::OK);
}

#[test]
fn closing_the_connection_ends_an_interleaved_publisher() {
    let mut h = harness(false);
    let p = publish(&mut h, C1, "RTP/AVP/TCP;unicast;interleaved=0-1");
    h.close(C1);
    assert!(h.server.intake_stats(&p).is_none());
    assert_eq!(h.server.config().live.publisher("pushed"), None);
    h.server.assert_indexes();
}

#[test]
fn path_users_say_who_reads_and_who_publishes() {
    use crate::auth::{basic_authorization, Credentials};
    let users = ["alice", "cam"].map(|u| Credentials::new(u, "pw"));
    let mut auth = AuthConfig::new(users.to_vec());
    auth.basic = true;
    auth.paths.insert(
        "pushed".into(),
        PathUsers {
            read: Some(vec!["alice".into()]),
            publish: Some(vec!["cam".into()]),
        },
    );
    let mut h = H::with_catalog(
        ServerConfig {
            auth: Some(auth),
            ..live_config(false)
        },
        Box::new(H::test_catalog()),
        Arc::default(),
    );
    h.connect(C1);
    let [alice, cam] = users.map(|u| format!("Authorization: {}", basic_authorization(&u)));
    let sdp_request = |who: &str, cseq: u32| {
        format!(
            "ANNOUNCE rtsp://h/pushed RTSP/1.0\r\nCSeq: {cseq}\r\n{who}\r\n\
             Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{SDP}",
            SDP.len()
        )
    };
    // Anonymous: 401; the reader may not publish: 403; the camera may.
    assert_eq!(
        status_of(&mut h, &sdp_request("X-No: auth", 1)),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status_of(&mut h, &sdp_request(&alice, 2)),
        StatusCode::FORBIDDEN
    );
    assert_eq!(status_of(&mut h, &sdp_request(&cam, 3)), StatusCode::OK);
    let setup = |who: &str, cseq: u32| {
        req(
            "SETUP",
            "rtsp://h/pushed/streamid=0",
            cseq,
            &[
                who,
                "Transport: RTP/AVP/UDP;unicast;client_port=7000-7001;mode=record",
            ],
        )
    };
    assert_eq!(status_of(&mut h, &setup(&alice, 4)), StatusCode::FORBIDDEN);
    let r = h.request(C1, &setup(&cam, 5));
    assert_eq!(r.status, StatusCode::OK);
    let p = session_of(&r);
    let record = req(
        "RECORD",
        "rtsp://h/pushed/",
        6,
        &[&cam, &format!("Session: {p}")],
    );
    assert_eq!(status_of(&mut h, &record), StatusCode::OK);
    send_udp_frames(&mut h, 0..1, 1);
    // Reading: alice may, the camera may not; files are anyone's.
    let describe = |who: &str, uri: &str, cseq: u32| req("DESCRIBE", uri, cseq, &[who]);
    assert_eq!(
        status_of(&mut h, &describe(&cam, "rtsp://h/pushed", 7)),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        status_of(&mut h, &describe(&alice, "rtsp://h/pushed", 8)),
        StatusCode::OK
    );
    assert_eq!(
        status_of(&mut h, &describe(&cam, "rtsp://h/test", 9)),
        StatusCode::OK
    );
    let read_setup = req(
        "SETUP",
        "rtsp://h/pushed/stream=0",
        10,
        &[&cam, "Transport: RTP/AVP;unicast;client_port=5000-5001"],
    );
    assert_eq!(status_of(&mut h, &read_setup), StatusCode::FORBIDDEN);
}

/// A reader whose PLAY lands while a frame is half received gets that frame whole (it is
/// complete only after the PLAY) or not at all — never a part of one.
#[test]
fn a_reader_joining_mid_frame_gets_whole_frames() {
    let mut h = harness(false);
    publish(&mut h, C1, "RTP/AVP/UDP;unicast;client_port=7000-7001");
    let mut seq = send_udp_frames(&mut h, 0..1, 1);
    let r = h.ask(C2, "DESCRIBE", "rtsp://h/pushed", 1, &[]);
    assert_eq!(r.status, StatusCode::OK);
    let r = h.setup(
        C2,
        "rtsp://h/pushed/stream=0",
        2,
        "RTP/AVP;unicast;client_port=5000-5001",
    );
    let sid = session_of(&r);
    // Half of frame 1 arrives, then the reader's PLAY, then the rest.
    let packets = frame_packets(1, 1000 + 3600, seq);
    assert!(packets.len() >= 2, "test frames take several packets");
    let half = packets.len() / 2;
    for p in &packets[..half] {
        h.datagram(rtp_local(), addr(PUB_RTP), p);
    }
    h.take();
    let r = h.request(C2, &with_session("PLAY", "rtsp://h/pushed/", 3, &sid));
    assert_eq!(r.status, StatusCode::OK);
    for p in &packets[half..] {
        h.datagram(rtp_local(), addr(PUB_RTP), p);
    }
    seq = seq.wrapping_add(packets.len() as u16);
    send_udp_frames(&mut h, 2..4, seq);
    let to_reader = udp(&h.take(), rtp_local(), addr("192.168.1.7:5000"));
    // Every packet the reader got belongs to a whole frame: the first starts one (RFC 2435
    // fragment offset 0) and the frames reassemble without a drop.
    let first = RtpPacket::parse(&to_reader[0]).unwrap();
    assert_eq!(&first.payload[1..4], &[0, 0, 0], "starts at offset 0");
    let got = received(&to_reader);
    let scans: Vec<Vec<u8>> = got.into_iter().map(|(_, s)| s).collect();
    assert_eq!(scans, (1..4).map(scan_of).collect::<Vec<_>>());
}
