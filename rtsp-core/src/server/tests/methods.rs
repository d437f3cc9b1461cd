//! Method handlers over the wire: OPTIONS, DESCRIBE, SETUP (UDP and interleaved), PLAY, PAUSE,
//! TEARDOWN.

use super::*;

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
    let mut h = H::connected();
    let r = h.ask(C1, "OPTIONS", "*", 1, &[]);
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.cseq(), Some(1));
    assert_eq!(
        header(&r, "Public"),
        Some(
            "OPTIONS, DESCRIBE, ANNOUNCE, SETUP, PLAY, PAUSE, RECORD, TEARDOWN, GET_PARAMETER, \
             SET_PARAMETER"
        )
    );
    assert!(header(&r, "Server").unwrap().starts_with("rtsp-mjpeg/"));
    assert_eq!(header(&r, "Date"), Some("Wed, 25 Nov 2026 14:08:25 GMT"));
    // The first header line is CSeq (course-lab clients read line 2).
    assert_eq!(r.headers.iter().next().unwrap().0, &HeaderName::CSEQ);
    // live555 starts at CSeq 2, and any u32 is echoed.
    let r = h.ask(C1, "OPTIONS", "rtsp://h/test", 4_000_000_000, &[]);
    assert_eq!(r.cseq(), Some(4_000_000_000));
    assert_eq!(header(&r, "Session"), None);
    // OPTIONS as a keepalive names the session in its reply.
    let sid = h.setup_udp(C1, "rtsp://h/test/stream=0");
    let r = h.request(C1, &with_session("OPTIONS", "*", 5, &sid));
    assert_eq!(
        header(&r, "Session"),
        Some(format!("{sid};timeout=55").as_str())
    );
}

#[test]
fn describe_returns_sdp_and_content_base() {
    let mut h = H::connected();
    for (uri, base) in [
        ("rtsp://127.0.0.1:8554/test", "rtsp://127.0.0.1:8554/test/"),
        ("rtsp://127.0.0.1:8554/test/", "rtsp://127.0.0.1:8554/test/"),
        ("rtsp://h/dir/clip.mjpeg", "rtsp://h/dir/clip.mjpeg/"),
        ("rtsp://h/dir%2Fclip.mjpeg", "rtsp://h/dir%2Fclip.mjpeg/"),
        ("rtsp://h/test/stream=0", "rtsp://h/test/"),
        ("rtsp://h/test?token=1", "rtsp://h/test/"),
    ] {
        let r = h.ask(C1, "DESCRIBE", uri, 2, &["Accept: application/sdp"]);
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
    let mut h = H::connected();
    let r = h.setup(
        C1,
        "rtsp://127.0.0.1:8554/test/stream=0",
        3,
        "RTP/AVP/UDP;unicast;client_port=5000-5001",
    );
    assert_eq!(r.status, StatusCode::OK);
    let session_line = header(&r, "Session").unwrap();
    assert!(session_line.ends_with(";timeout=55"), "{session_line}");
    let sid = session_of(&r);
    assert!(sid.len() == 20 && sid.bytes().all(|b| b.is_ascii_digit()));
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
    let r = h.ask(
        C1,
        "PLAY",
        "rtsp://127.0.0.1:8554/test/",
        4,
        &[&sess, "Range: npt=0.000-"],
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
    let r = h.ask(C1, "PAUSE", "rtsp://127.0.0.1:8554/test/", 5, &[&sess]);
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(header(&r, "Range"), Some("npt=0.500-"));
    assert_eq!(any_udp(&h.take()), 0);
    h.advance(Duration::from_secs(10));
    assert_eq!(any_udp(&h.take()), 0);

    // PLAY resumes with continuous seq and timestamps.
    let r = h.ask(C1, "PLAY", "rtsp://127.0.0.1:8554/test/", 6, &[&sess]);
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

    let r = h.ask(C1, "TEARDOWN", "rtsp://127.0.0.1:8554/test/", 7, &[&sess]);
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
    let mut h = H::connected();
    let r = h.setup(
        C1,
        "rtsp://127.0.0.1:8554/test/stream=0",
        2,
        "RTP/AVP/TCP;unicast;interleaved=0-1",
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
    let r = h.ask(C1, "PAUSE", "rtsp://127.0.0.1:8554/test/", 5, &[&sess]);
    assert_eq!(r.status, StatusCode::OK);
    h.take();
    h.advance(Duration::from_secs(3));
    assert!(interleaved(&h.take(), C1, 0).is_empty());
    let r = h.ask(C1, "PLAY", "rtsp://127.0.0.1:8554/test/", 6, &[&sess]);
    let (seq, ts) = rtp_info(&r);
    let first = rtp(&interleaved(&h.take(), C1, 0)[0]);
    assert_eq!((first.seq, first.ts), (seq, ts));
    assert_eq!(seq, last.seq.wrapping_add(1));
    assert_eq!(ts, last.ts.wrapping_add(9000));

    let r = h.ask(C1, "TEARDOWN", "rtsp://127.0.0.1:8554/test/", 7, &[&sess]);
    assert_eq!(r.status, StatusCode::OK);
    let outs = h.take();
    let bye = interleaved(&outs, C1, 1);
    assert_eq!(rtcp_types(&bye[0]), vec![200, 202, 203]);
    assert_eq!(h.server.session_count(), 0);
}

#[test]
fn closing_the_connection_ends_interleaved_sessions_only() {
    let mut h = H::connected();
    h.setup(
        C1,
        "rtsp://h/test/stream=0",
        1,
        "RTP/AVP/TCP;unicast;interleaved=0-1",
    );
    h.connect(ConnId(2));
    let udp_sid = h.setup_udp(ConnId(2), "rtsp://h/test/stream=0");
    assert_eq!(h.server.session_count(), 2);
    h.close(C1);
    h.close(ConnId(2));
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
    let mut h = H::connected();
    let r = h.setup(C1, "rtsp://h/test", 1, "RTP/AVP/TCP;unicast");
    assert!(header(&r, "Transport").unwrap().contains("interleaved=0-1"));
    let r = h.setup(
        C1,
        "rtsp://h/test",
        2,
        "RTP/AVP/TCP;unicast;interleaved=0-1",
    );
    assert!(header(&r, "Transport").unwrap().contains("interleaved=2-3"));
}

#[test]
fn seek_with_range() {
    let mut h = H::connected();
    let sid = h.setup_udp(C1, "rtsp://h/test/stream=0");
    h.take();
    let sess = format!("Session: {sid}");
    let r = h.ask(
        C1,
        "PLAY",
        "rtsp://h/test/",
        4,
        &[&sess, "Range: npt=0.55-"],
    );
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(header(&r, "Range"), Some("npt=0.500-2.000"));
    let outs = h.take();
    let first = rtp(&udp(&outs, rtp_local(), client_rtp())[0]);
    let media = test_media("test");
    assert_eq!(first.payload, media.fragments(5).unwrap()[0].to_vec());
    // npt=now- keeps the position; beyond the end is 457.
    let r = h.ask(C1, "PLAY", "rtsp://h/test/", 5, &[&sess, "Range: npt=now-"]);
    assert_eq!(r.status, StatusCode::OK);
    let r = h.ask(C1, "PLAY", "rtsp://h/test/", 6, &[&sess, "Range: npt=2.5-"]);
    assert_eq!(r.status, StatusCode::INVALID_RANGE);
    let r = h.ask(
        C1,
        "PLAY",
        "rtsp://h/test/",
        7,
        &[&sess, "Range: smpte=0:00:01-"],
    );
    assert_eq!(r.status, StatusCode::INVALID_RANGE);
}

#[test]
fn end_of_stream_sends_bye_or_loops() {
    let mut h = H::connected();
    let sid = h.setup_and_play();
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
    let r = h.request(C1, &with_session("PLAY", "rtsp://h/test/", 5, &sid));
    assert_eq!(header(&r, "Range"), Some("npt=0.000-2.000"));

    let mut h = H::connected_with(ServerConfig {
        loop_media: true,
        ..config()
    });
    let sid = h.setup_udp(C1, "rtsp://h/test/stream=0");
    let r = h.play(&sid);
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

#[test]
fn max_sessions_gives_453() {
    let mut h = H::connected_with(ServerConfig {
        max_sessions: 2,
        ..config()
    });
    h.setup_udp(C1, "rtsp://h/test/stream=0");
    h.setup_udp(C1, "rtsp://h/test/stream=0");
    let r = h.setup(
        C1,
        "rtsp://h/test/stream=0",
        3,
        "RTP/AVP;unicast;client_port=5000-5001",
    );
    assert_eq!(r.status, StatusCode::NOT_ENOUGH_BANDWIDTH);
    assert_eq!(h.server.session_count(), 2);
}
