//! Deadlines on the simulated clock: frame pacing, session expiry and keepalives, request and
//! idle timeouts, the rate cap.

use super::*;

#[test]
fn pacing_is_exact_in_virtual_time() {
    let mut h = H::connected();
    let sid = h.setup_udp(C1, "rtsp://h/test/stream=0");
    h.take();
    let start = h.now;
    h.play(&sid);
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
    let mut h = H::connected();
    let sid = h.setup_and_play();
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
fn timeout_is_the_earliest_deadline() {
    let mut h = H::new();
    assert_eq!(h.deadline, None);
    h.connect(C1);
    let sid = h.setup_udp(C1, "rtsp://h/test/stream=0");
    // Only the session's expiry: set up and not played, the never-played limit (20 s) comes
    // before the silence limit (60 s).
    assert_eq!(h.deadline, Some(h.now + Duration::from_secs(20)));
    h.play(&sid);
    // Then the next frame.
    assert_eq!(h.deadline, Some(h.now + Duration::from_millis(100)));
}

#[test]
fn sessions_are_reaped_unless_kept_alive() {
    let mut h = H::connected_with(ServerConfig {
        session_timeout: Duration::from_secs(10),
        ..config()
    });
    let r = h.setup(
        C1,
        "rtsp://h/test/stream=0",
        1,
        "RTP/AVP;unicast;client_port=5000-5001",
    );
    // Advertised a little below the enforced 10 s.
    assert!(header(&r, "Session").unwrap().ends_with(";timeout=9"));
    let sid = session_of(&r);
    let sess = format!("Session: {sid}");
    h.ask(C1, "PLAY", "rtsp://h/test", 2, &[&sess]);
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
    // Its control connection closes; a GET_PARAMETER keepalive on a new connection from the
    // same address adopts the session and keeps it alive.
    h.advance(Duration::from_secs(6));
    h.close(C1);
    h.connect(ConnId(2));
    let r = h.ask(ConnId(2), "GET_PARAMETER", "rtsp://h/test/", 3, &[&sess]);
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
    let r = h.ask(ConnId(2), "PLAY", "rtsp://h/test/", 4, &[&sess]);
    assert_eq!(r.status, StatusCode::SESSION_NOT_FOUND);
}

/// OPTIONS naming the session is a keepalive too (some players use it instead of
/// GET_PARAMETER).
#[test]
fn options_with_a_session_keeps_it_alive() {
    let mut h = H::connected_with(ServerConfig {
        session_timeout: Duration::from_secs(10),
        ..config_unplayed_kept()
    });
    let sid = h.setup_udp(C1, "rtsp://h/test/stream=0");
    for i in 0..5 {
        h.advance(Duration::from_secs(8));
        let r = h.request(C1, &with_session("OPTIONS", "*", 10 + i, &sid));
        assert_eq!(r.status, StatusCode::OK);
        assert!(header(&r, "Session").unwrap().starts_with(&sid));
    }
    assert_eq!(h.server.session_count(), 1);
    // OPTIONS without the session header does not keep it.
    h.advance(Duration::from_secs(8));
    h.ask(C1, "OPTIONS", "*", 20, &[]);
    h.advance(Duration::from_secs(3));
    assert_eq!(h.server.session_count(), 0);
}

/// Slowloris: one byte every 3 s never completes a request; 10 s after its first byte the
/// connection gets 408 and is closed, while a playing session on another connection keeps
/// getting every frame.
#[test]
fn slow_requests_are_cut_and_others_keep_playing() {
    let mut h = H::connected_with(ServerConfig {
        loop_media: true,
        ..config()
    });
    let sid = h.setup_and_play();
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
    let mut h = H::connected_with(ServerConfig {
        idle_timeout: Duration::from_secs(20),
        ..config_unplayed_kept()
    });
    h.connect(ConnId(2));
    h.connect(ConnId(3));
    let sid = h.setup_udp(ConnId(3), "rtsp://h/test/stream=0");
    for _ in 0..3 {
        h.advance(Duration::from_secs(9));
        h.send(C1, b"\r\n");
        h.ask(ConnId(2), "OPTIONS", "*", 1, &[]);
        h.request(
            ConnId(3),
            &with_session("GET_PARAMETER", "rtsp://h/test", 2, &sid),
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
fn session_rate_is_capped() {
    let frame_bytes: usize = test_media("x")
        .fragments(0)
        .unwrap()
        .iter()
        .map(|f| f.len())
        .sum();
    // Room for about 4 of the 10 frames a second.
    let cap = (frame_bytes * 4) as u64;
    let mut h = H::connected_with(ServerConfig {
        max_session_rate: cap,
        loop_media: true,
        ..config()
    });
    let sid = h.setup_and_play();
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

/// The BYE of a stream that ends follows its last frame after `bye_delay`, and never sooner
/// than one frame interval (so the last frame's RTP is handled before the BYE ends the
/// reception); a PLAY before it takes it back.
#[test]
fn bye_follows_the_last_frame_after_the_delay() {
    let frame = Duration::from_secs_f64(1.0 / FPS);
    let last_frame = frame * (FRAMES - 1);
    for (delay, expect) in [
        (Duration::from_millis(250), Duration::from_millis(250)),
        (Duration::ZERO, frame),
    ] {
        let mut h = H::connected_with(ServerConfig {
            bye_delay: delay,
            ..config()
        });
        let sid = h.setup_udp(C1, "rtsp://h/test/stream=0");
        let start = h.now;
        h.play(&sid);
        h.advance_to(start + last_frame);
        let outs = h.take();
        let frames = udp(&outs, rtp_local(), client_rtp())
            .iter()
            .filter(|d| rtp(d).marker)
            .count();
        assert_eq!(frames, FRAMES as usize, "every frame sent");
        let byes = |outs: &[Out]| {
            udp(outs, rtcp_local(), client_rtcp())
                .iter()
                .filter(|d| rtcp_types(d).contains(&203))
                .count()
        };
        let ended = |outs: &[Out]| {
            events(outs)
                .iter()
                .any(|e| matches!(e, ServerEvent::EndOfStream { .. }))
        };
        assert_eq!(byes(&outs), 0, "BYE with the last frame ({delay:?})");
        assert!(!ended(&outs));
        h.advance_to(start + last_frame + expect - Duration::from_millis(1));
        let outs = h.take();
        assert_eq!(byes(&outs), 0, "BYE before {expect:?} ({delay:?})");
        assert!(!ended(&outs));
        h.advance_to(start + last_frame + expect);
        let outs = h.take();
        assert_eq!(byes(&outs), 1, "no BYE at {expect:?} ({delay:?})");
        assert!(ended(&outs));
        h.advance(Duration::from_secs(3));
        assert_eq!(byes(&h.take()), 0, "a second BYE");
    }
    // PLAY again between the last frame and the BYE: playing from the start, no BYE.
    let mut h = H::connected_with(ServerConfig {
        bye_delay: Duration::from_millis(500),
        ..config()
    });
    let sid = h.setup_udp(C1, "rtsp://h/test/stream=0");
    let start = h.now;
    h.play(&sid);
    h.advance_to(start + last_frame + Duration::from_millis(200));
    let r = h.request(C1, &with_session("PLAY", "rtsp://h/test/", 9, &sid));
    assert_eq!(header(&r, "Range"), Some("npt=0.000-2.000"));
    h.take();
    h.advance(Duration::from_millis(600));
    let outs = h.take();
    assert!(udp(&outs, rtcp_local(), client_rtcp())
        .iter()
        .all(|d| !rtcp_types(d).contains(&203)));
    assert!(!udp(&outs, rtp_local(), client_rtp()).is_empty());
}
